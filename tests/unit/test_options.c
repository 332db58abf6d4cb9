/* test_options: the option table and the pure parser in common/options.c.
 * Table-driven: argv -> status, exact error text (mosquitto 2.0.11 wording)
 * and resulting config fields, for smqtt_pub and smqtt_sub; plus invariants
 * of the option table itself, option_find, config_set_str, options_usage,
 * and a repeated-option test meant to be run under ASan/valgrind. */
#include "test_common.h"

#include <ctype.h>
#include <limits.h>
#include <mqtt_protocol.h>

#include "options.h"

#define OFF(f) offsetof(struct config, f)

/* ---- expected config fields ------------------------------------------- */

enum fk { FK_END = 0, FK_STR, FK_NULL, FK_INT, FK_BOOL, FK_LL, FK_DBL, FK_SZ, FK_LIST, FK_PROPS };

struct fx {
	enum fk kind;
	size_t off;
	const char *name;
	const char *s;
	long long n;
	double d;
};

#define X_STR(f, v)     {FK_STR, OFF(f), #f, v, 0, 0}
#define X_NULL(f)       {FK_NULL, OFF(f), #f, NULL, 0, 0}
#define X_INT(f, v)     {FK_INT, OFF(f), #f, NULL, v, 0}
#define X_BOOL(f, v)    {FK_BOOL, OFF(f), #f, NULL, v, 0}
#define X_LL(f, v)      {FK_LL, OFF(f), #f, NULL, v, 0}
#define X_DBL(f, v)     {FK_DBL, OFF(f), #f, NULL, 0, v}
#define X_SZ(f, v)      {FK_SZ, OFF(f), #f, NULL, v, 0}
/* element i of a char ** list */
#define X_LIST(f, i, v) {FK_LIST, OFF(f), #f, v, i, 0}
/* a property list rendered as "name=value;name=k:v;..." ("" when empty) */
#define X_PROPS(f, v)   {FK_PROPS, OFF(f), #f, v, 0, 0}

/* Render a property list for comparison. */
static void render_props(const mosquitto_property *props, char *buf, size_t len)
{
	buf[0] = '\0';
	size_t used = 0;
	for (const mosquitto_property *p = props; p; p = mosquitto_property_next(p)) {
		int id = mosquitto_property_identifier(p), id2, type;
		const char *name = mosquitto_property_identifier_to_string(id);
		char val[512] = "";
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		char *s = NULL, *k = NULL;
		void *bin = NULL;
		assert_int_equal(mosquitto_string_to_property_info(name, &id2, &type), 0);
		switch (type) {
		case MQTT_PROP_TYPE_BYTE:
			mosquitto_property_read_byte(p, id, &u8, false);
			snprintf(val, sizeof(val), "%u", u8);
			break;
		case MQTT_PROP_TYPE_INT16:
			mosquitto_property_read_int16(p, id, &u16, false);
			snprintf(val, sizeof(val), "%u", u16);
			break;
		case MQTT_PROP_TYPE_INT32:
			mosquitto_property_read_int32(p, id, &u32, false);
			snprintf(val, sizeof(val), "%u", u32);
			break;
		case MQTT_PROP_TYPE_VARINT:
			mosquitto_property_read_varint(p, id, &u32, false);
			snprintf(val, sizeof(val), "%u", u32);
			break;
		case MQTT_PROP_TYPE_BINARY:
			mosquitto_property_read_binary(p, id, &bin, &u16, false);
			snprintf(val, sizeof(val), "%.*s", (int)u16, bin ? (char *)bin : "");
			free(bin);
			break;
		case MQTT_PROP_TYPE_STRING:
			mosquitto_property_read_string(p, id, &s, false);
			snprintf(val, sizeof(val), "%s", s ? s : "");
			free(s);
			break;
		case MQTT_PROP_TYPE_STRING_PAIR:
			mosquitto_property_read_string_pair(p, id, &k, &s, false);
			snprintf(val, sizeof(val), "%s:%s", k ? k : "", s ? s : "");
			free(k);
			free(s);
			break;
		default:
			snprintf(val, sizeof(val), "?");
		}
		int n = snprintf(buf + used, len - used, "%s%s=%s", used ? ";" : "", name, val);
		assert_true(n > 0 && (size_t)n < len - used);
		used += (size_t)n;
	}
}

static void check_fields(const struct config *cfg, const struct fx *fx)
{
	const char *base = (const char *)cfg;
	for (; fx->kind != FK_END; fx++) {
		const void *at = base + fx->off;
		switch (fx->kind) {
		case FK_STR: {
			const char *v = *(char *const *)at;
			if (!v)
				fail_msg("%s: expected \"%s\", got NULL", fx->name, fx->s);
			if (strcmp(v, fx->s))
				fail_msg("%s: expected \"%s\", got \"%s\"", fx->name, fx->s, v);
			break;
		}
		case FK_NULL: {
			const char *v = *(char *const *)at;
			if (v)
				fail_msg("%s: expected NULL, got \"%s\"", fx->name, v);
			break;
		}
		case FK_INT:
			if (*(const int *)at != fx->n)
				fail_msg("%s: expected %lld, got %d", fx->name, fx->n, *(const int *)at);
			break;
		case FK_BOOL:
			if (*(const bool *)at != (fx->n != 0))
				fail_msg("%s: expected %s", fx->name, fx->n ? "true" : "false");
			break;
		case FK_LL:
			if (*(const long long *)at != fx->n)
				fail_msg("%s: expected %lld, got %lld", fx->name, fx->n, *(const long long *)at);
			break;
		case FK_DBL:
			if (*(const double *)at != fx->d)
				fail_msg("%s: expected %g, got %g", fx->name, fx->d, *(const double *)at);
			break;
		case FK_SZ:
			if (*(const size_t *)at != (size_t)fx->n)
				fail_msg("%s: expected %lld, got %zu", fx->name, fx->n, *(const size_t *)at);
			break;
		case FK_LIST: {
			char *const *list = *(char **const *)at;
			if (!list || !list[fx->n] || strcmp(list[fx->n], fx->s))
				fail_msg("%s[%lld]: expected \"%s\", got \"%s\"", fx->name, fx->n, fx->s,
						list && list[fx->n] ? list[fx->n] : "(null)");
			break;
		}
		case FK_PROPS: {
			char buf[4096];
			render_props(*(mosquitto_property *const *)at, buf, sizeof(buf));
			if (strcmp(buf, fx->s))
				fail_msg("%s: expected \"%s\", got \"%s\"", fx->name, fx->s, buf);
			break;
		}
		default:
			fail_msg("bad fx kind");
		}
	}
}

/* ---- the main table ----------------------------------------------------- */

struct ocase {
	const char *name;
	enum tool tool;
	const char *argv[24]; /* words after the program name; NULL-terminated */
	enum opt_status st;   /* final status */
	const char *err;      /* exact error text, or NULL for none */
	bool finish;          /* also run options_finish when parsing succeeded */
	struct fx fx[12];
};

#define PUB TOOL_PUB
#define SUB TOOL_SUB
#define RR TOOL_RR
#define A(...) {__VA_ARGS__, NULL}
#define OK OPT_OK
#define ERR OPT_ERROR

static const struct ocase cases[] = {
	/* -- nothing, help, version, unknown options -- */
	{"empty pub", PUB, {NULL}, OK, NULL, false,
		{X_NULL(host), X_INT(port, PORT_UNDEFINED), X_INT(keepalive, 60), X_INT(max_inflight, 20),
		 X_BOOL(clean_session, 1), X_INT(protocol_version, MQTT_PROTOCOL_V311), X_BOOL(eol, 1),
		 X_INT(repeat_count, 1), X_LL(session_expiry_interval, -1), X_INT(pub_mode, MSG_NONE)}},
	{"empty sub", SUB, {NULL}, OK, NULL, false,
		{X_INT(random_filter, 10000), X_DBL(random_filter_pct, 100.0), X_INT(topic_count, 0), X_INT(qos, 0)}},
	{"--help", PUB, A("--help"), OPT_HELP, NULL, false, {{0}}},
	{"--help sub", SUB, A("--help"), OPT_HELP, NULL, false, {{0}}},
	{"--version", PUB, A("--version"), OPT_VERSION, NULL, false, {{0}}},
	{"--version sub", SUB, A("--version"), OPT_VERSION, NULL, false, {{0}}},
	{"--help after a good option", PUB, A("-q", "1", "--help"), OPT_HELP, NULL, false, {X_INT(qos, 1)}},
	{"--help stops parsing", PUB, A("--help", "-q", "5"), OPT_HELP, NULL, false, {X_INT(qos, 0)}},
	{"error before --help wins", PUB, A("-q", "5", "--help"), ERR, "Error: Invalid QoS given: 5\n", false, {{0}}},
	{"unknown long", PUB, A("--bogus"), ERR, "Error: Unknown option '--bogus'.\n", false, {{0}}},
	{"unknown short", SUB, A("-Z"), ERR, "Error: Unknown option '-Z'.\n", false, {{0}}},
	{"bare word", PUB, A("topic"), ERR, "Error: Unknown option 'topic'.\n", false, {{0}}},
	{"lone dash", PUB, A("-"), ERR, "Error: Unknown option '-'.\n", false, {{0}}},
	{"double dash", SUB, A("--"), ERR, "Error: Unknown option '--'.\n", false, {{0}}},
	{"glued short arg", PUB, A("-q1"), ERR, "Error: Unknown option '-q1'.\n", false, {{0}}},
	{"long name with =", PUB, A("--qos=1"), ERR, "Error: Unknown option '--qos=1'.\n", false, {{0}}},
	{"single-dash long name", PUB, A("-qos", "1"), ERR, "Error: Unknown option '-qos'.\n", false, {{0}}},
	{"rr-only -e", PUB, A("-e", "t"), ERR, "Error: Unknown option '-e'.\n", false, {{0}}},
	{"rr-only -e sub", SUB, A("-e", "t"), ERR, "Error: Unknown option '-e'.\n", false, {{0}}},

	/* -- smqtt_rr: mosquitto_rr's options (pub's message, sub's output) -- */
	{"empty rr", RR, {NULL}, OK, NULL, false,
		{X_INT(protocol_version, MQTT_PROTOCOL_V5), X_NULL(response_topic), X_INT(pub_mode, MSG_NONE)}},
	{"rr -e", RR, A("-e", "resp/a", "-t", "req", "-m", "x"), OK, NULL, false,
		{X_STR(response_topic, "resp/a"), X_STR(topic, "req"), X_INT(pub_mode, MSG_CMD)}},
	{"rr -e twice", RR, A("-e", "a", "-e", "b"), OK, NULL, false, {X_STR(response_topic, "b")}},
	{"rr -e missing", RR, A("-e"), ERR, "Error: -e argument given but no response topic specified.\n\n", false, {{0}}},
	{"rr -e wildcard", RR, A("-e", "a/#"), ERR, "Error: Invalid response topic 'a/#', does it contain '+' or '#'?\n", false, {{0}}},
	{"rr -e plus", RR, A("-e", "+"), ERR, "Error: Invalid response topic '+', does it contain '+' or '#'?\n", false, {{0}}},
	{"rr -e bad utf8", RR, A("-e", "\xff"), ERR, "Error: Malformed UTF-8 in -e argument.\n\n", false, {{0}}},
	{"rr -t is a publish topic", RR, A("-t", "a/#"), ERR, "Error: Invalid publish topic 'a/#', does it contain '+' or '#'?\n", false, {{0}}},
	{"rr -t twice", RR, A("-t", "a", "-t", "b"), OK, NULL, false, {X_STR(topic, "b"), X_INT(topic_count, 0)}},
	{"rr -L", RR, A("-L", "mqtt://h:1884/req"), OK, NULL, false, {X_STR(topic, "req"), X_STR(host, "h"), X_INT(port, 1884)}},
	{"rr -v prints", RR, A("-v"), OK, NULL, false, {X_BOOL(verbose, 1), X_BOOL(trace, 0)}},
	{"rr -F", RR, A("-F", "%t %p"), OK, NULL, false, {X_STR(format, "%t %p")}},
	{"rr -W", RR, A("-W", "3"), OK, NULL, false, {X_INT(timeout, 3)}},
	{"rr -n", RR, A("-n"), OK, NULL, false, {X_INT(pub_mode, MSG_NULL)}},
	{"rr -s", RR, A("-s"), OK, NULL, false, {X_INT(pub_mode, MSG_STDIN_FILE)}},
	{"rr -f", RR, A("-f", "x"), OK, NULL, false, {X_INT(pub_mode, MSG_FILE), X_STR(file_input, "x")}},
	{"rr -V 311", RR, A("-V", "311"), OK, NULL, false, {X_INT(protocol_version, MQTT_PROTOCOL_V311)}},
	{"rr -l", RR, A("-l"), ERR, "Error: Unknown option '-l'.\n", false, {{0}}},
	{"rr -r", RR, A("-r"), ERR, "Error: Unknown option '-r'.\n", false, {{0}}},
	{"rr -C", RR, A("-C", "1"), ERR, "Error: Unknown option '-C'.\n", false, {{0}}},
	{"rr -E", RR, A("-E"), ERR, "Error: Unknown option '-E'.\n", false, {{0}}},
	{"rr -T", RR, A("-T", "a"), ERR, "Error: Unknown option '-T'.\n", false, {{0}}},
	{"rr -U", RR, A("-U", "a"), ERR, "Error: Unknown option '-U'.\n", false, {{0}}},
	{"rr --repeat", RR, A("--repeat", "2"), ERR, "Error: Unknown option '--repeat'.\n", false, {{0}}},
	{"rr --retained-only", RR, A("--retained-only"), ERR, "Error: Unknown option '--retained-only'.\n", false, {{0}}},
	{"--latency", RR, A("--latency"), OK, NULL, false, {X_BOOL(measure_latency, 1)}},
	{"pub --latency", PUB, A("--latency"), ERR, "Error: Unknown option '--latency'.\n", false, {{0}}},
	{"sub --latency", SUB, A("--latency"), ERR, "Error: Unknown option '--latency'.\n", false, {{0}}},
	{"value after unknown is not parsed", PUB, A("-h", "a", "--nope", "-h", "b"), ERR,
		"Error: Unknown option '--nope'.\n", false, {X_STR(host, "a")}},

	/* -- options of the other tool: -C etc. are unknown to smqtt_pub -- */
	{"pub -C", PUB, A("-C", "1"), ERR, "Error: Unknown option '-C'.\n", false, {{0}}},
	{"pub -C no arg", PUB, A("-C"), ERR, "Error: Unknown option '-C'.\n", false, {{0}}},
	{"pub -E", PUB, A("-E"), ERR, "Error: Unknown option '-E'.\n", false, {{0}}},
	{"pub -F", PUB, A("-F", "%p"), ERR, "Error: Unknown option '-F'.\n", false, {{0}}},
	{"pub -N", PUB, A("-N"), ERR, "Error: Unknown option '-N'.\n", false, {{0}}},
	{"pub -R", PUB, A("-R"), ERR, "Error: Unknown option '-R'.\n", false, {{0}}},
	{"pub -T", PUB, A("-T", "a"), ERR, "Error: Unknown option '-T'.\n", false, {{0}}},
	{"pub --filter-out", PUB, A("--filter-out", "a"), ERR, "Error: Unknown option '--filter-out'.\n", false, {{0}}},
	{"pub -U", PUB, A("-U", "a"), ERR, "Error: Unknown option '-U'.\n", false, {{0}}},
	{"pub --unsubscribe", PUB, A("--unsubscribe", "a"), ERR, "Error: Unknown option '--unsubscribe'.\n", false, {{0}}},
	/* smqtt_pub -v is an smqtt extension: the connection trace */
	{"pub -v", PUB, A("-v"), OK, NULL, false, {X_BOOL(trace, 1), X_BOOL(verbose, 0)}},
	{"pub --verbose", PUB, A("--verbose"), OK, NULL, false, {X_BOOL(trace, 1)}},
	{"--trace", SUB, A("--trace"), OK, NULL, false, {X_BOOL(trace, 1), X_BOOL(verbose, 0)}},
	{"pub -W", PUB, A("-W", "1"), ERR, "Error: Unknown option '-W'.\n", false, {{0}}},
	{"pub --pretty", PUB, A("--pretty"), ERR, "Error: Unknown option '--pretty'.\n", false, {{0}}},
	{"pub --random-filter", PUB, A("--random-filter", "5"), ERR, "Error: Unknown option '--random-filter'.\n", false, {{0}}},
	{"pub --remove-retained", PUB, A("--remove-retained"), ERR, "Error: Unknown option '--remove-retained'.\n", false, {{0}}},
	{"pub --retain-as-published", PUB, A("--retain-as-published"), ERR, "Error: Unknown option '--retain-as-published'.\n", false, {{0}}},
	{"pub --retained-only", PUB, A("--retained-only"), ERR, "Error: Unknown option '--retained-only'.\n", false, {{0}}},
	{"sub -f", SUB, A("-f", "x"), ERR, "Error: Unknown option '-f'.\n", false, {{0}}},
	{"sub --file", SUB, A("--file", "x"), ERR, "Error: Unknown option '--file'.\n", false, {{0}}},
	{"sub -l", SUB, A("-l"), ERR, "Error: Unknown option '-l'.\n", false, {{0}}},
	{"sub --stdin-line", SUB, A("--stdin-line"), ERR, "Error: Unknown option '--stdin-line'.\n", false, {{0}}},
	{"sub -m", SUB, A("-m", "x"), ERR, "Error: Unknown option '-m'.\n", false, {{0}}},
	{"sub --message", SUB, A("--message", "x"), ERR, "Error: Unknown option '--message'.\n", false, {{0}}},
	{"sub -n", SUB, A("-n"), ERR, "Error: Unknown option '-n'.\n", false, {{0}}},
	{"sub --null-message", SUB, A("--null-message"), ERR, "Error: Unknown option '--null-message'.\n", false, {{0}}},
	{"sub -r", SUB, A("-r"), ERR, "Error: Unknown option '-r'.\n", false, {{0}}},
	{"sub --retain", SUB, A("--retain"), ERR, "Error: Unknown option '--retain'.\n", false, {{0}}},
	{"sub -s", SUB, A("-s"), ERR, "Error: Unknown option '-s'.\n", false, {{0}}},
	{"sub --stdin-file", SUB, A("--stdin-file"), ERR, "Error: Unknown option '--stdin-file'.\n", false, {{0}}},
	{"sub --repeat", SUB, A("--repeat", "2"), ERR, "Error: Unknown option '--repeat'.\n", false, {{0}}},
	{"sub --repeat-delay", SUB, A("--repeat-delay", "1"), ERR, "Error: Unknown option '--repeat-delay'.\n", false, {{0}}},

	/* -- every option, accepted, with the field it sets -- */
	{"-A", PUB, A("-A", "10.0.0.1"), OK, NULL, false, {X_STR(bind_address, "10.0.0.1")}},
	{"-c", SUB, A("-c"), OK, NULL, false, {X_BOOL(clean_session, 0)}},
	{"--disable-clean-session", PUB, A("--disable-clean-session"), OK, NULL, false, {X_BOOL(clean_session, 0)}},
	{"-C", SUB, A("-C", "3"), OK, NULL, false, {X_INT(msg_count, 3)}},
	{"-C leading blank", SUB, A("-C", " 3"), OK, NULL, false, {X_INT(msg_count, 3)}},
	{"-d", PUB, A("-d"), OK, NULL, false, {X_BOOL(debug, 1)}},
	{"--debug", SUB, A("--debug"), OK, NULL, false, {X_BOOL(debug, 1)}},
	{"-E", SUB, A("-E"), OK, NULL, false, {X_BOOL(exit_after_sub, 1)}},
	{"-f", PUB, A("-f", "/tmp/x"), OK, NULL, false, {X_INT(pub_mode, MSG_FILE), X_STR(file_input, "/tmp/x")}},
	{"--file", PUB, A("--file", "in.bin"), OK, NULL, false, {X_INT(pub_mode, MSG_FILE), X_STR(file_input, "in.bin")}},
	{"-F", SUB, A("-F", "%t %p"), OK, NULL, false, {X_STR(format, "%t %p")}},
	{"-h", PUB, A("-h", "broker"), OK, NULL, false, {X_STR(host, "broker")}},
	{"--host", SUB, A("--host", "broker"), OK, NULL, false, {X_STR(host, "broker")}},
	{"-i", PUB, A("-i", "cid"), OK, NULL, false, {X_STR(id, "cid"), X_NULL(id_prefix)}},
	{"--id", SUB, A("--id", "cid"), OK, NULL, false, {X_STR(id, "cid")}},
	{"-I", PUB, A("-I", "pfx"), OK, NULL, false, {X_STR(id_prefix, "pfx"), X_NULL(id)}},
	{"--id-prefix", SUB, A("--id-prefix", "pfx"), OK, NULL, false, {X_STR(id_prefix, "pfx")}},
	{"-k 5", PUB, A("-k", "5"), OK, NULL, false, {X_INT(keepalive, 5)}},
	{"--keepalive 65535", SUB, A("--keepalive", "65535"), OK, NULL, false, {X_INT(keepalive, 65535)}},
	{"-l", PUB, A("-l"), OK, NULL, false, {X_INT(pub_mode, MSG_STDIN_LINE)}},
	{"--stdin-line", PUB, A("--stdin-line"), OK, NULL, false, {X_INT(pub_mode, MSG_STDIN_LINE)}},
	{"-m", PUB, A("-m", "hello world"), OK, NULL, false,
		{X_INT(pub_mode, MSG_CMD), X_STR(message, "hello world"), X_SZ(msglen, 11)}},
	{"--message empty", PUB, A("--message", ""), OK, NULL, false,
		{X_INT(pub_mode, MSG_CMD), X_STR(message, ""), X_SZ(msglen, 0)}},
	{"-M", SUB, A("-M", "1"), OK, NULL, false, {X_INT(max_inflight, 1)}},
	{"-n", PUB, A("-n"), OK, NULL, false, {X_INT(pub_mode, MSG_NULL)}},
	{"--null-message", PUB, A("--null-message"), OK, NULL, false, {X_INT(pub_mode, MSG_NULL)}},
	{"-N", SUB, A("-N"), OK, NULL, false, {X_BOOL(eol, 0)}},
	{"-p 0", PUB, A("-p", "0"), OK, NULL, false, {X_INT(port, 0)}},
	{"--port 65535", SUB, A("--port", "65535"), OK, NULL, false, {X_INT(port, 65535)}},
	{"-P", PUB, A("-P", "secret"), OK, NULL, false, {X_STR(password, "secret")}},
	{"--pw", SUB, A("--pw", "secret"), OK, NULL, false, {X_STR(password, "secret")}},
	{"--password-file", PUB, A("--password-file", "/run/pw"), OK, NULL, false, {X_STR(password_file, "/run/pw")}},
	{"--password-file then -P", SUB, A("--password-file", "f", "-P", "x"), ERR,
		"Error: Use either -P (or a password in the -L URL) or --password-file, not both.\n", false, {{0}}},
	{"-q 2", PUB, A("-q", "2"), OK, NULL, false, {X_INT(qos, 2)}},
	{"--qos 1", SUB, A("--qos", "1"), OK, NULL, false, {X_INT(qos, 1)}},
	{"-r", PUB, A("-r"), OK, NULL, false, {X_BOOL(retain, 1)}},
	{"--retain", PUB, A("--retain"), OK, NULL, false, {X_BOOL(retain, 1)}},
	{"-R", SUB, A("-R"), OK, NULL, false, {X_BOOL(no_retain, 1), X_INT(sub_opts, MQTT_SUB_OPT_SEND_RETAIN_NEVER)}},
	{"-s", PUB, A("-s"), OK, NULL, false, {X_INT(pub_mode, MSG_STDIN_FILE)}},
	{"--stdin-file", PUB, A("--stdin-file"), OK, NULL, false, {X_INT(pub_mode, MSG_STDIN_FILE)}},
	{"-t pub", PUB, A("-t", "a/b"), OK, NULL, false, {X_STR(topic, "a/b"), X_INT(topic_count, 0)}},
	{"--topic sub", SUB, A("--topic", "a/+/#"), OK, NULL, false, {X_INT(topic_count, 1), X_LIST(topics, 0, "a/+/#"), X_NULL(topic)}},
	{"-t sub repeated", SUB, A("-t", "a", "-t", "b/#", "-t", "a"), OK, NULL, false,
		{X_INT(topic_count, 3), X_LIST(topics, 0, "a"), X_LIST(topics, 1, "b/#"), X_LIST(topics, 2, "a")}},
	{"-t pub repeated replaces", PUB, A("-t", "a", "-t", "b"), OK, NULL, false, {X_STR(topic, "b")}},
	{"-T", SUB, A("-T", "a/#", "--filter-out", "b"), OK, NULL, false,
		{X_INT(filter_out_count, 2), X_LIST(filter_outs, 0, "a/#"), X_LIST(filter_outs, 1, "b")}},
	{"-u", PUB, A("-u", "user"), OK, NULL, false, {X_STR(username, "user")}},
	{"--username", SUB, A("--username", "user"), OK, NULL, false, {X_STR(username, "user")}},
	{"-U", SUB, A("-U", "a/+", "--unsubscribe", "#"), OK, NULL, false,
		{X_INT(unsub_topic_count, 2), X_LIST(unsub_topics, 0, "a/+"), X_LIST(unsub_topics, 1, "#")}},
	{"-v", SUB, A("-v"), OK, NULL, false, {X_BOOL(verbose, 1)}},
	{"--verbose", SUB, A("--verbose"), OK, NULL, false, {X_BOOL(verbose, 1)}},
	{"-V mqttv31", PUB, A("-V", "mqttv31"), OK, NULL, false, {X_INT(protocol_version, MQTT_PROTOCOL_V31)}},
	{"-V 31", PUB, A("-V", "31"), OK, NULL, false, {X_INT(protocol_version, MQTT_PROTOCOL_V31)}},
	{"-V mqttv311", SUB, A("-V", "5", "-V", "mqttv311"), OK, NULL, false, {X_INT(protocol_version, MQTT_PROTOCOL_V311)}},
	{"-V 311", SUB, A("-V", "5", "-V", "311"), OK, NULL, false, {X_INT(protocol_version, MQTT_PROTOCOL_V311)}},
	{"-V mqttv5", PUB, A("-V", "mqttv5"), OK, NULL, false, {X_INT(protocol_version, MQTT_PROTOCOL_V5)}},
	{"--protocol-version 5", SUB, A("--protocol-version", "5"), OK, NULL, false, {X_INT(protocol_version, MQTT_PROTOCOL_V5)}},
	{"-W", SUB, A("-W", "10"), OK, NULL, false, {X_INT(timeout, 10)}},
	{"-x 0", PUB, A("-x", "0"), OK, NULL, false, {X_LL(session_expiry_interval, 0)}},
	{"--nodelay", PUB, A("--nodelay"), OK, NULL, false, {X_BOOL(tcp_nodelay, 1)}},
	{"--pretty", SUB, A("--pretty"), OK, NULL, false, {X_BOOL(pretty, 1)}},
	{"--quiet", PUB, A("--quiet"), OK, NULL, false, {X_BOOL(quiet, 1)}},
	{"--random-filter 50", SUB, A("--random-filter", "50"), OK, NULL, false,
		{X_DBL(random_filter_pct, 50.0), X_INT(random_filter, 5000)}},
	{"--random-filter 0.1", SUB, A("--random-filter", "0.1"), OK, NULL, false, {X_INT(random_filter, 10)}},
	{"--random-filter 100", SUB, A("--random-filter", "100"), OK, NULL, false, {X_INT(random_filter, 10000)}},
	{"--remove-retained", SUB, A("--remove-retained"), OK, NULL, false, {X_BOOL(remove_retained, 1)}},
	{"--repeat", PUB, A("--repeat", "5"), OK, NULL, false, {X_INT(repeat_count, 5)}},
	{"--repeat-delay", PUB, A("--repeat-delay", "0.5"), OK, NULL, false, {X_DBL(repeat_delay, 0.5)}},
	{"--repeat-delay 0", PUB, A("--repeat-delay", "0"), OK, NULL, false, {X_DBL(repeat_delay, 0.0)}},
	{"--retain-as-published", SUB, A("--retain-as-published", "-R"), OK, NULL, false,
		{X_INT(sub_opts, MQTT_SUB_OPT_RETAIN_AS_PUBLISHED | MQTT_SUB_OPT_SEND_RETAIN_NEVER)}},
	{"--retained-only", SUB, A("--retained-only"), OK, NULL, false, {X_BOOL(retained_only, 1)}},
	{"--unix", PUB, A("-p", "1883", "--unix", "/run/mq.sock"), OK, NULL, false,
		{X_STR(host, "/run/mq.sock"), X_INT(port, 0)}},
	{"--unix then -p", SUB, A("--unix", "/run/mq.sock", "-p", "1883"), OK, NULL, false,
		{X_STR(host, "/run/mq.sock"), X_INT(port, 1883)}},
	{"--unix then -h", PUB, A("--unix", "/run/mq.sock", "-h", "broker"), OK, NULL, false,
		{X_STR(host, "broker"), X_INT(port, 0)}},
	{"--will-payload", PUB, A("--will-payload", "bye"), OK, NULL, false, {X_STR(will_payload, "bye")}},
	{"--ws", SUB, A("--ws", "-p", "8080"), OK, NULL, false, {X_BOOL(ws, 1), X_INT(port, 8080), X_NULL(ws_path)}},
	{"--ws-path", PUB, A("--ws-path", "/broker/mqtt?x=1"), OK, NULL, false, {X_BOOL(ws, 1), X_STR(ws_path, "/broker/mqtt?x=1")}},
	{"--ws-path missing", SUB, A("--ws-path"), ERR, "Error: --ws-path argument given but no path specified.\n\n", false, {{0}}},
	{"--ws-path relative", PUB, A("--ws-path", "mqtt"), ERR,
		"Error: Invalid --ws-path 'mqtt': give an HTTP path that starts with / and has no spaces, at most 255 bytes, e.g. /mqtt.\n", false, {{0}}},
	{"--ws-path with a space", SUB, A("--ws-path", "/a b"), ERR,
		"Error: Invalid --ws-path '/a b': give an HTTP path that starts with / and has no spaces, at most 255 bytes, e.g. /mqtt.\n", false, {{0}}},
	/* a host with control characters, for every transport (issue 24) */
	{"-h with CR LF", PUB, A("-h", "broker\r\nX-Injected: yes"), ERR,
		"Error: Invalid host 'broker\\x0d\\x0aX-Injected: yes' in -h: a host name or address has no control characters (CR, LF, tab, ...).\n\n", false, {{0}}},
	{"-h with LF, ws", SUB, A("--ws", "-h", "b\nX: y"), ERR,
		"Error: Invalid host 'b\\x0aX: y' in -h: a host name or address has no control characters (CR, LF, tab, ...).\n\n", false, {{0}}},
	{"--host with a tab", PUB, A("--host", "b\tc"), ERR,
		"Error: Invalid host 'b\\x09c' in -h: a host name or address has no control characters (CR, LF, tab, ...).\n\n", false, {{0}}},
	{"-h with DEL", SUB, A("-h", "b\x7f"), ERR,
		"Error: Invalid host 'b\\x7f' in -h: a host name or address has no control characters (CR, LF, tab, ...).\n\n", false, {{0}}},
	{"-h with ESC", SUB, A("-h", "\x1b[31mb"), ERR,
		"Error: Invalid host '\\x1b[31mb' in -h: a host name or address has no control characters (CR, LF, tab, ...).\n\n", false, {{0}}},
	{"-h UTF-8 name", PUB, A("-h", "br\xc3\xb6ker"), OK, NULL, false, {X_STR(host, "br\xc3\xb6ker")}},
	{"-L mqtt host with CR", PUB, A("-L", "mqtt://b\rX/t"), ERR,
		"Error: Invalid host 'b\\x0dX' in -L: a host name or address has no control characters (CR, LF, tab, ...).\n\n", false, {{0}}},
	{"-L ws host with LF", SUB, A("-L", "ws://u@b\nX-y:9001/t"), ERR,
		"Error: Invalid host 'b\\x0aX-y' in -L: a host name or address has no control characters (CR, LF, tab, ...).\n\n", false, {{0}}},
	{"-L wss host with NUL's neighbour", SUB, A("-L", "wss://b\x01/t"), ERR,
		"Error: Invalid host 'b\\x01' in -L: a host name or address has no control characters (CR, LF, tab, ...).\n\n", false, {{0}}},
	{"--proxy host with CR LF", PUB, A("--proxy", "socks5h://p\r\nx:1080"), ERR,
		"Error: Invalid host 'p\\x0d\\x0ax' in --proxy: a host name or address has no control characters (CR, LF, tab, ...).\n\n", false, {{0}}},
	{"--ws-path with CR LF", SUB, A("--ws-path", "/a\r\nX: y"), ERR,
		"Error: Invalid --ws-path '/a\r\nX: y': give an HTTP path that starts with / and has no spaces, at most 255 bytes, e.g. /mqtt.\n", false, {{0}}},
	{"--will-qos", SUB, A("--will-qos", "2"), OK, NULL, false, {X_INT(will_qos, 2)}},
	{"--will-retain", PUB, A("--will-retain"), OK, NULL, false, {X_BOOL(will_retain, 1)}},
	{"--will-topic", SUB, A("--will-topic", "w/t"), OK, NULL, false, {X_STR(will_topic, "w/t")}},
	{"--cafile", PUB, A("--cafile", "ca.pem"), OK, NULL, false, {X_STR(cafile, "ca.pem")}},
	{"--capath", SUB, A("--capath", "/etc/ssl/certs"), OK, NULL, false, {X_STR(capath, "/etc/ssl/certs")}},
	{"--cert", PUB, A("--cert", "c.pem"), OK, NULL, false, {X_STR(certfile, "c.pem")}},
	{"--key", SUB, A("--key", "k.pem"), OK, NULL, false, {X_STR(keyfile, "k.pem")}},
	{"--keyform", PUB, A("--keyform", "engine"), OK, NULL, false, {X_STR(keyform, "engine")}},
	{"--ciphers", SUB, A("--ciphers", "HIGH"), OK, NULL, false, {X_STR(ciphers, "HIGH")}},
	{"--tls-version", PUB, A("--tls-version", "tlsv1.3"), OK, NULL, false, {X_STR(tls_version, "tlsv1.3")}},
	{"--insecure", SUB, A("--insecure"), OK, NULL, false, {X_BOOL(insecure, 1)}},
	{"--tls-alpn", PUB, A("--tls-alpn", "mqtt"), OK, NULL, false, {X_STR(tls_alpn, "mqtt")}},
	{"--tls-engine", SUB, A("--tls-engine", "pkcs11"), OK, NULL, false, {X_STR(tls_engine, "pkcs11")}},
	{"--tls-engine-kpass-sha1", PUB, A("--tls-engine-kpass-sha1", "abcd"), OK, NULL, false,
		{X_STR(tls_engine_kpass_sha1, "abcd")}},
	{"--tls-use-os-certs", SUB, A("--tls-use-os-certs"), OK, NULL, false, {X_BOOL(tls_use_os_certs, 1)}},
	{"--psk", PUB, A("--psk", "deadbeef"), OK, NULL, false, {X_STR(psk, "deadbeef")}},
	{"--psk-identity", SUB, A("--psk-identity", "me"), OK, NULL, false, {X_STR(psk_identity, "me")}},
	/* smqtt extensions: profiles */
	{"--profile", PUB, A("--profile", "lab"), OK, NULL, false, {X_STR(profile_name, "lab")}},
	{"--profile sub", SUB, A("--profile", "a", "--profile", "b"), OK, NULL, false, {X_STR(profile_name, "b")}},
	{"--no-profile", SUB, A("--no-profile"), OK, NULL, false, {X_BOOL(no_profile, 1)}},
	{"--list-profiles", PUB, A("--list-profiles"), OK, NULL, false, {X_BOOL(list_profiles, 1)}},
	{"--save-profile", SUB, A("--save-profile", "lab"), OK, NULL, false, {X_STR(save_profile, "lab")}},
	{"--proxy keeps the URL", PUB, A("--proxy", "socks5h://u:p@px:99"), OK, NULL, false,
		{X_STR(proxy_url, "socks5h://u:p@px:99")}},
	{"--check", PUB, A("--check"), OK, NULL, false, {X_BOOL(check, 1)}},
	{"--tls-resume", SUB, A("--tls-resume"), OK, NULL, false, {X_BOOL(tls_resume, 1)}},
	{"--check sub", SUB, A("--check"), OK, NULL, false, {X_BOOL(check, 1)}},
	{"--connect-timeout", PUB, A("--connect-timeout", "5"), OK, NULL, false, {X_INT(connect_timeout, 5)}},
	{"--connect-timeout max", SUB, A("--connect-timeout", "86400"), OK, NULL, false, {X_INT(connect_timeout, 86400)}},
	{"--diag-format json", PUB, A("--diag-format", "json"), OK, NULL, false, {X_BOOL(diag_json, 1)}},
	{"--diag-format text", SUB, A("--diag-format", "json", "--diag-format", "text"), OK, NULL, false, {X_BOOL(diag_json, 0)}},
	{"--connect-timeout missing", PUB, A("--connect-timeout"), ERR,
		"Error: --connect-timeout argument given but no time specified.\n\n", false, {{0}}},
	{"--connect-timeout 0", PUB, A("--connect-timeout", "0"), ERR,
		"Error: Invalid --connect-timeout '0': give whole seconds from 1 to 86400.\n\n", false, {{0}}},
	{"--connect-timeout junk", SUB, A("--connect-timeout", "5s"), ERR,
		"Error: Invalid --connect-timeout '5s': give whole seconds from 1 to 86400.\n\n", false, {{0}}},
	{"--persist", PUB, A("--persist", "30"), OK, NULL, false, {X_INT(persist, 30)}},
	{"--persist max", PUB, A("--persist", "86400"), OK, NULL, false, {X_INT(persist, 86400)}},
	{"--persist-stop", PUB, A("--persist-stop"), OK, NULL, false, {X_BOOL(persist_stop, 1)}},
	{"--persist missing", PUB, A("--persist"), ERR,
		"Error: --persist argument given but no time specified.\n\n", false, {{0}}},
	{"--persist 0", PUB, A("--persist", "0"), ERR,
		"Error: Invalid --persist '0': give whole seconds from 1 to 86400.\n\n", false, {{0}}},
	{"--persist too long", PUB, A("--persist", "86401"), ERR,
		"Error: Invalid --persist '86401': give whole seconds from 1 to 86400.\n\n", false, {{0}}},
	{"--persist junk", PUB, A("--persist", "30s"), ERR,
		"Error: Invalid --persist '30s': give whole seconds from 1 to 86400.\n\n", false, {{0}}},
	{"--persist is smqtt_pub's", SUB, A("--persist", "30"), ERR, "Error: Unknown option '--persist'.\n", false, {{0}}},
	{"--diag-format missing", PUB, A("--diag-format"), ERR,
		"Error: --diag-format argument given but no format specified.\n\n", false, {{0}}},
	{"--diag-format bad", SUB, A("--diag-format", "xml"), ERR,
		"Error: Invalid --diag-format 'xml': use text or json.\n\n", false, {{0}}},
	{"a flag given twice", PUB, A("-d", "-d", "-r", "-r"), OK, NULL, false, {X_BOOL(debug, 1), X_BOOL(retain, 1)}},

	/* -- missing arguments (mosquitto's exact texts) -- */
	{"-A missing", PUB, A("-A"), ERR, "Error: -A argument given but no address specified.\n\n", false, {{0}}},
	{"--cafile missing", SUB, A("--cafile"), ERR, "Error: --cafile argument given but no file specified.\n\n", false, {{0}}},
	{"--capath missing", PUB, A("--capath"), ERR, "Error: --capath argument given but no directory specified.\n\n", false, {{0}}},
	{"--cert missing", SUB, A("--cert"), ERR, "Error: --cert argument given but no file specified.\n\n", false, {{0}}},
	{"--ciphers missing", PUB, A("--ciphers"), ERR, "Error: --ciphers argument given but no ciphers specified.\n\n", false, {{0}}},
	{"-C missing", SUB, A("-C"), ERR, "Error: -C argument given but no count specified.\n\n", false, {{0}}},
	{"-f missing", PUB, A("-f"), ERR, "Error: -f argument given but no file specified.\n\n", false, {{0}}},
	{"--file missing", PUB, A("--file"), ERR, "Error: -f argument given but no file specified.\n\n", false, {{0}}},
	{"-F missing", SUB, A("-F"), ERR, "Error: -F argument given but no format specified.\n\n", false, {{0}}},
	{"-h missing", PUB, A("-h"), ERR, "Error: -h argument given but no host specified.\n\n", false, {{0}}},
	{"--host missing", SUB, A("--host"), ERR, "Error: -h argument given but no host specified.\n\n", false, {{0}}},
	{"-i missing", PUB, A("-i"), ERR, "Error: -i argument given but no id specified.\n\n", false, {{0}}},
	{"-I missing", SUB, A("-I"), ERR, "Error: -I argument given but no id prefix specified.\n\n", false, {{0}}},
	{"-k missing", PUB, A("-k"), ERR, "Error: -k argument given but no keepalive specified.\n\n", false, {{0}}},
	{"--key missing", SUB, A("--key"), ERR, "Error: --key argument given but no file specified.\n\n", false, {{0}}},
	{"--keyform missing", PUB, A("--keyform"), ERR, "Error: --keyform argument given but no keyform specified.\n\n", false, {{0}}},
	{"-L missing", SUB, A("-L"), ERR, "Error: -L argument given but no URL specified.\n\n", false, {{0}}},
	{"-m missing", PUB, A("-m"), ERR, "Error: -m argument given but no message specified.\n\n", false, {{0}}},
	{"-M missing", SUB, A("-M"), ERR, "Error: -M argument given but max_inflight not specified.\n\n", false, {{0}}},
	{"-p missing", PUB, A("-p"), ERR, "Error: -p argument given but no port specified.\n\n", false, {{0}}},
	{"-P missing", SUB, A("-P"), ERR, "Error: -P argument given but no password specified.\n\n", false, {{0}}},
	{"--password-file missing", PUB, A("--password-file"), ERR,
		"Error: --password-file argument given but no file specified.\n\n", false, {{0}}},
	{"--proxy missing", PUB, A("--proxy"), ERR, "Error: --proxy argument given but no proxy url specified.\n\n", false, {{0}}},
	{"--psk missing", SUB, A("--psk"), ERR, "Error: --psk argument given but no key specified.\n\n", false, {{0}}},
	{"--psk-identity missing", PUB, A("--psk-identity"), ERR,
		"Error: --psk-identity argument given but no identity specified.\n\n", false, {{0}}},
	{"-q missing", SUB, A("-q"), ERR, "Error: -q argument given but no QoS specified.\n\n", false, {{0}}},
	{"--random-filter missing", SUB, A("--random-filter"), ERR,
		"Error: --random-filter argument given but no chance specified.\n\n", false, {{0}}},
	{"--repeat missing", PUB, A("--repeat"), ERR, "Error: --repeat argument given but no count specified.\n\n", false, {{0}}},
	{"--repeat-delay missing", PUB, A("--repeat-delay"), ERR,
		"Error: --repeat-delay argument given but no time specified.\n\n", false, {{0}}},
	{"-t missing", PUB, A("-t"), ERR, "Error: -t argument given but no topic specified.\n\n", false, {{0}}},
	{"--topic missing sub", SUB, A("--topic"), ERR, "Error: -t argument given but no topic specified.\n\n", false, {{0}}},
	{"-T missing", SUB, A("-T"), ERR, "Error: -T argument given but no topic filter specified.\n\n", false, {{0}}},
	{"--tls-alpn missing", PUB, A("--tls-alpn"), ERR, "Error: --tls-alpn argument given but no protocol specified.\n\n", false, {{0}}},
	{"--tls-engine missing", SUB, A("--tls-engine"), ERR,
		"Error: --tls-engine argument given but no engine_id specified.\n\n", false, {{0}}},
	{"--tls-engine-kpass-sha1 missing", PUB, A("--tls-engine-kpass-sha1"), ERR,
		"Error: --tls-engine-kpass-sha1 argument given but no kpass sha1 specified.\n\n", false, {{0}}},
	{"--tls-version missing", SUB, A("--tls-version"), ERR,
		"Error: --tls-version argument given but no version specified.\n\n", false, {{0}}},
	{"-U missing", SUB, A("-U"), ERR, "Error: -U argument given but no unsubscribe topic specified.\n\n", false, {{0}}},
	{"-u missing", PUB, A("-u"), ERR, "Error: -u argument given but no username specified.\n\n", false, {{0}}},
	{"--unix missing", SUB, A("--unix"), ERR, "Error: --unix argument given but no socket path specified.\n\n", false, {{0}}},
	{"-V missing", PUB, A("-V"), ERR, "Error: --protocol-version argument given but no version specified.\n\n", false, {{0}}},
	{"-W missing", SUB, A("-W"), ERR, "Error: -W argument given but no timeout specified.\n\n", false, {{0}}},
	{"--will-payload missing", PUB, A("--will-payload"), ERR,
		"Error: --will-payload argument given but no will payload specified.\n\n", false, {{0}}},
	{"--will-qos missing", SUB, A("--will-qos"), ERR,
		"Error: --will-qos argument given but no will QoS specified.\n\n", false, {{0}}},
	{"--will-topic missing", PUB, A("--will-topic"), ERR,
		"Error: --will-topic argument given but no will topic specified.\n\n", false, {{0}}},
	{"-x missing", SUB, A("-x"), ERR, "Error: -x argument given but no session expiry interval specified.\n\n", false, {{0}}},
	{"--profile missing", PUB, A("--profile"), ERR, "Error: --profile argument given but no profile name specified.\n\n", false, {{0}}},
	{"--save-profile missing", SUB, A("--save-profile"), ERR,
		"Error: --save-profile argument given but no profile name specified.\n\n", false, {{0}}},
	{"missing after good options", PUB, A("-h", "x", "-q", "1", "-t"), ERR,
		"Error: -t argument given but no topic specified.\n\n", false, {X_STR(host, "x"), X_INT(qos, 1)}},

	/* -- range and number errors -- */
	{"-q 3", PUB, A("-q", "3"), ERR, "Error: Invalid QoS given: 3\n", false, {{0}}},
	{"-q -1", SUB, A("-q", "-1"), ERR, "Error: Invalid QoS given: -1\n", false, {{0}}},
	{"-q not a number (strict)", PUB, A("-q", "one"), ERR, "Error: Invalid QoS given: one\n", false, {{0}}},
	{"-q trailing junk (strict)", PUB, A("-q", "1x"), ERR, "Error: Invalid QoS given: 1x\n", false, {{0}}},
	{"-q empty (strict)", PUB, A("-q", ""), ERR, "Error: Invalid QoS given: \n", false, {{0}}},
	{"-q huge", PUB, A("-q", "99999999999999999999"), ERR, "Error: Invalid QoS given: 99999999999999999999\n", false, {{0}}},
	{"-p -1", PUB, A("-p", "-1"), ERR, "Error: Invalid port given: -1\n", false, {{0}}},
	{"-p 65536", SUB, A("-p", "65536"), ERR, "Error: Invalid port given: 65536\n", false, {{0}}},
	{"-p trailing junk (strict)", PUB, A("-p", "1883abc"), ERR, "Error: Invalid port given: 1883abc\n", false, {{0}}},
	{"-k 4", PUB, A("-k", "4"), ERR, "Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.\n\n", false, {{0}}},
	{"-k 65536", SUB, A("-k", "65536"), ERR, "Error: Invalid keepalive given, it must be between 5 and 65535 inclusive.\n\n", false, {{0}}},
	{"-M 0", PUB, A("-M", "0"), ERR, "Error: Maximum inflight messages must be greater than 0.\n\n", false, {{0}}},
	{"-C 0", SUB, A("-C", "0"), ERR, "Error: Invalid message count \"0\".\n\n", false, {{0}}},
	{"-C -3", SUB, A("-C", "-3"), ERR, "Error: Invalid message count \"-3\".\n\n", false, {{0}}},
	{"-C abc (strict)", SUB, A("-C", "abc"), ERR, "Error: Invalid message count \"abc\".\n\n", false, {{0}}},
	{"-W 0", SUB, A("-W", "0"), ERR, "Error: Invalid timeout \"0\".\n\n", false, {{0}}},
	{"-W abc (strict)", SUB, A("-W", "abc"), ERR, "Error: Invalid timeout \"abc\".\n\n", false, {{0}}},
	{"--will-qos 3", PUB, A("--will-qos", "3"), ERR, "Error: Invalid will QoS 3.\n\n", false, {{0}}},
	{"--will-qos -1", SUB, A("--will-qos", "-1"), ERR, "Error: Invalid will QoS -1.\n\n", false, {{0}}},
	{"--repeat 0", PUB, A("--repeat", "0"), ERR, "Error: --repeat argument must be >0.\n\n", false, {{0}}},
	{"--repeat-delay -1", PUB, A("--repeat-delay", "-1"), ERR, "Error: --repeat-delay argument must be >=0.0.\n\n", false, {{0}}},
	{"--repeat-delay nan", PUB, A("--repeat-delay", "nan"), ERR, "Error: --repeat-delay argument must be >=0.0.\n\n", false, {{0}}},
	{"--random-filter 0.05", SUB, A("--random-filter", "0.05"), ERR,
		"Error: --random-filter chance must be between 0.1-100.0\n\n", false, {{0}}},
	{"--random-filter 100.1", SUB, A("--random-filter", "100.1"), ERR,
		"Error: --random-filter chance must be between 0.1-100.0\n\n", false, {{0}}},
	{"--random-filter abc", SUB, A("--random-filter", "abc"), ERR,
		"Error: --random-filter chance must be between 0.1-100.0\n\n", false, {{0}}},
	{"-V bogus", PUB, A("-V", "mqttv4"), ERR, "Error: Invalid protocol version argument given.\n\n", false, {{0}}},
	{"-V empty", SUB, A("-V", ""), ERR, "Error: Invalid protocol version argument given.\n\n", false, {{0}}},

	/* -- topics -- */
	{"-t pub wildcard +", PUB, A("-t", "a/+"), ERR, "Error: Invalid publish topic 'a/+', does it contain '+' or '#'?\n", false, {{0}}},
	{"-t pub wildcard #", PUB, A("-t", "#"), ERR, "Error: Invalid publish topic '#', does it contain '+' or '#'?\n", false, {{0}}},
	{"-t sub bad #", SUB, A("-t", "a/#/b"), ERR,
		"Error: Invalid subscription topic 'a/#/b', are all '+' and '#' wildcards correct?\n", false, {{0}}},
	{"-t sub bad +", SUB, A("-t", "a+"), ERR,
		"Error: Invalid subscription topic 'a+', are all '+' and '#' wildcards correct?\n", false, {{0}}},
	{"-t bad utf-8 pub", PUB, A("-t", "a\xff"), ERR, "Error: Malformed UTF-8 in -t argument.\n\n", false, {{0}}},
	{"-t bad utf-8 sub", SUB, A("-t", "\xc3"), ERR, "Error: Malformed UTF-8 in -t argument.\n\n", false, {{0}}},
	{"-t utf-8 ok", SUB, A("-t", "caf\xc3\xa9/+"), OK, NULL, false, {X_LIST(topics, 0, "caf\xc3\xa9/+")}},
	{"-T bad", SUB, A("-T", "a#"), ERR, "Error: Invalid filter topic 'a#', are all '+' and '#' wildcards correct?\n", false, {{0}}},
	{"-T bad utf-8", SUB, A("-T", "\xff"), ERR, "Error: Malformed UTF-8 in -T argument.\n\n", false, {{0}}},
	{"-U bad", SUB, A("-U", "+a"), ERR, "Error: Invalid unsubscribe topic '+a', are all '+' and '#' wildcards correct?\n", false, {{0}}},
	{"-U bad utf-8", SUB, A("-U", "\xff"), ERR, "Error: Malformed UTF-8 in -U argument.\n\n", false, {{0}}},
	{"--will-topic wildcard", PUB, A("--will-topic", "w/#"), ERR,
		"Error: Invalid will topic 'w/#', does it contain '+' or '#'?\n", false, {{0}}},
	{"--will-topic wildcard sub", SUB, A("--will-topic", "+"), ERR,
		"Error: Invalid will topic '+', does it contain '+' or '#'?\n", false, {{0}}},
	{"--will-topic bad utf-8", PUB, A("--will-topic", "\xfe"), ERR, "Error: Malformed UTF-8 in --will-topic argument.\n\n", false, {{0}}},

	/* -- -i / -I -- */
	{"-i then -I", PUB, A("-i", "a", "-I", "b"), ERR, "Error: -i and -I argument cannot be used together.\n\n", false, {{0}}},
	{"-I then -i", SUB, A("-I", "a", "-i", "b"), ERR, "Error: -i and -I argument cannot be used together.\n\n", false, {{0}}},
	{"--id then --id-prefix", SUB, A("--id", "a", "--id-prefix", "b"), ERR,
		"Error: -i and -I argument cannot be used together.\n\n", false, {{0}}},
	{"-i then -I without arg: conflict first", PUB, A("-i", "a", "-I"), ERR,
		"Error: -i and -I argument cannot be used together.\n\n", false, {{0}}},
	{"-i twice", PUB, A("-i", "a", "-i", "b"), OK, NULL, false, {X_STR(id, "b")}},
	{"-I twice", SUB, A("-I", "a", "-I", "b"), OK, NULL, false, {X_STR(id_prefix, "b")}},

	/* -- message modes -- */
	{"-m -m", PUB, A("-m", "a", "-m", "b"), ERR, "Error: Only one type of message can be sent at once.\n\n", false, {{0}}},
	{"-m -f", PUB, A("-m", "a", "-f", "b"), ERR, "Error: Only one type of message can be sent at once.\n\n", false, {{0}}},
	{"-f -m", PUB, A("-f", "a", "-m", "b"), ERR, "Error: Only one type of message can be sent at once.\n\n", false, {{0}}},
	{"-l -n", PUB, A("-l", "-n"), ERR, "Error: Only one type of message can be sent at once.\n\n", false, {{0}}},
	{"-n -s", PUB, A("-n", "-s"), ERR, "Error: Only one type of message can be sent at once.\n\n", false, {{0}}},
	{"-s -l", PUB, A("-s", "-l"), ERR, "Error: Only one type of message can be sent at once.\n\n", false, {{0}}},
	{"-s -f", PUB, A("--stdin-file", "--file", "x"), ERR, "Error: Only one type of message can be sent at once.\n\n", false, {{0}}},
	{"-l -m", PUB, A("--stdin-line", "--message", "x"), ERR, "Error: Only one type of message can be sent at once.\n\n", false, {{0}}},
	{"-n -n", PUB, A("-n", "--null-message"), ERR, "Error: Only one type of message can be sent at once.\n\n", false, {{0}}},
	{"-m then -f without arg: conflict first", PUB, A("-m", "a", "-f"), ERR,
		"Error: Only one type of message can be sent at once.\n\n", false, {{0}}},

	/* -- -L URLs -- */
	{"-L mqtt", PUB, A("-L", "mqtt://broker/a/b"), OK, NULL, false,
		{X_STR(host, "broker"), X_INT(port, 1883), X_STR(topic, "a/b"), X_NULL(username), X_NULL(password),
		 X_BOOL(tls_use_os_certs, 0)}},
	{"-L mqtts", SUB, A("-L", "mqtts://broker/a/#"), OK, NULL, false,
		{X_STR(host, "broker"), X_INT(port, 8883), X_BOOL(tls_use_os_certs, 1), X_INT(topic_count, 1),
		 X_LIST(topics, 0, "a/#")}},
	{"-L upper-case scheme", PUB, A("--url", "MQTT://h/t"), OK, NULL, false, {X_STR(host, "h"), X_INT(port, 1883), X_STR(topic, "t")}},
	{"-L mixed-case mqtts", PUB, A("-L", "MqTtS://h/t"), OK, NULL, false, {X_INT(port, 8883), X_BOOL(tls_use_os_certs, 1)}},
	{"-L user:pass@host:port", PUB, A("-L", "mqtt://me:pw@h:1884/x/y"), OK, NULL, false,
		{X_STR(username, "me"), X_STR(password, "pw"), X_STR(host, "h"), X_INT(port, 1884), X_STR(topic, "x/y")}},
	{"-L user@host", SUB, A("-L", "mqtt://me@h/x"), OK, NULL, false,
		{X_STR(username, "me"), X_NULL(password), X_STR(host, "h"), X_INT(port, 1883)}},
	{"-L password with colon", PUB, A("-L", "mqtt://me:p:w@h/x"), OK, NULL, false,
		{X_STR(username, "me"), X_STR(password, "p:w"), X_STR(host, "h")}},
	{"-L host:port", SUB, A("-L", "mqtts://h:9999/x"), OK, NULL, false, {X_STR(host, "h"), X_INT(port, 9999)}},
	{"-L port overrides -p", PUB, A("-p", "1", "-L", "mqtt://h:2/x"), OK, NULL, false, {X_INT(port, 2)}},
	{"-L scheme port overrides -p", PUB, A("-p", "1", "-L", "mqtt://h/x"), OK, NULL, false, {X_INT(port, 1883)}},
	{"-p after -L overrides", PUB, A("-L", "mqtt://h/x", "-p", "7"), OK, NULL, false, {X_INT(port, 7)}},
	{"-L plus -t sub", SUB, A("-L", "mqtt://h/a", "-t", "b"), OK, NULL, false,
		{X_INT(topic_count, 2), X_LIST(topics, 0, "a"), X_LIST(topics, 1, "b")}},
	{"-L topic with slash sub", SUB, A("-L", "mqtt://h/a/+/c"), OK, NULL, false, {X_LIST(topics, 0, "a/+/c")}},
	{"-L no topic", PUB, A("-L", "mqtt://h"), ERR, "Error: Invalid URL for -L argument specified - topic missing.\n", false, {{0}}},
	{"-L no topic with port", SUB, A("-L", "mqtt://h:1883"), ERR,
		"Error: Invalid URL for -L argument specified - topic missing.\n", false, {{0}}},
	{"-L bad scheme", PUB, A("-L", "http://h/t"), ERR, "Error: unsupported URL scheme.\n\n", false, {{0}}},
	{"-L no scheme", SUB, A("-L", "h/t"), ERR, "Error: unsupported URL scheme.\n\n", false, {{0}}},
	{"-L ws scheme", SUB, A("-L", "ws://h/t"), OK, NULL, false,
		{X_BOOL(ws, 1), X_INT(port, 1883), X_STR(host, "h"), X_LIST(topics, 0, "t"), X_BOOL(tls_use_os_certs, 0)}},
	{"-L wss scheme", PUB, A("-L", "WSS://u:pw@h:9001/a/b"), OK, NULL, false,
		{X_BOOL(ws, 1), X_INT(port, 9001), X_STR(host, "h"), X_STR(topic, "a/b"), X_BOOL(tls_use_os_certs, 1),
		 X_STR(username, "u"), X_STR(password, "pw")}},
	{"-L wss default port", SUB, A("-L", "wss://h/t"), OK, NULL, false, {X_BOOL(ws, 1), X_INT(port, 8883)}},
	{"-L ws no topic", PUB, A("-L", "ws://h:80"), ERR, "Error: Invalid URL for -L argument specified - topic missing.\n", false, {{0}}},
	{"-L wss bad port", PUB, A("-L", "wss://h:99999/t"), ERR, "Error: Invalid port given: 99999\n", false, {{0}}},
	{"-L pub wildcard topic", PUB, A("-L", "mqtt://h/a/#"), ERR,
		"Error: Invalid publish topic 'a/#', does it contain '+' or '#'?\n", false, {{0}}},
	{"-L sub bad topic", SUB, A("-L", "mqtt://h/a#"), ERR,
		"Error: Invalid subscription topic 'a#', are all '+' and '#' wildcards correct?\n", false, {{0}}},
	{"-L bad utf-8 topic", PUB, A("-L", "mqtt://h/\xff"), ERR, "Error: Malformed UTF-8 in -L topic argument.\n\n", false, {{0}}},
	{"-L port out of range (strict)", PUB, A("-L", "mqtt://h:70000/t"), ERR, "Error: Invalid port given: 70000\n", false, {{0}}},
	{"-L port not a number (strict)", SUB, A("-L", "mqtt://h:x/t"), ERR, "Error: Invalid port given: x\n", false, {{0}}},

	/* -- -D properties -- */
	{"-D publish content-type", PUB, A("-D", "publish", "content-type", "text/plain"), OK, NULL, false,
		{X_PROPS(publish_props, "content-type=text/plain"), X_INT(protocol_version, MQTT_PROTOCOL_V5)}},
	{"--property user-property", PUB, A("--property", "publish", "user-property", "k", "v", "-D", "PUBLISH", "user-property", "k", "w"),
		OK, NULL, false, {X_PROPS(publish_props, "user-property=k:v;user-property=k:w")}},
	{"-D byte", PUB, A("-D", "publish", "payload-format-indicator", "1"), OK, NULL, false,
		{X_PROPS(publish_props, "payload-format-indicator=1")}},
	{"-D int16 topic-alias", PUB, A("-D", "publish", "topic-alias", "65535"), OK, NULL, false,
		{X_PROPS(publish_props, "topic-alias=65535"), X_BOOL(have_topic_alias, 1)}},
	{"-D int32", PUB, A("-D", "publish", "message-expiry-interval", "4294967295"), OK, NULL, false,
		{X_PROPS(publish_props, "message-expiry-interval=4294967295")}},
	{"-D varint", SUB, A("-D", "subscribe", "subscription-identifier", "268435455"), OK, NULL, false,
		{X_PROPS(subscribe_props, "subscription-identifier=268435455")}},
	{"-D binary", PUB, A("-D", "publish", "correlation-data", "abc def"), OK, NULL, false,
		{X_PROPS(publish_props, "correlation-data=abc def")}},
	{"-D string response-topic", PUB, A("-D", "publish", "response-topic", "r/t"), OK, NULL, false,
		{X_PROPS(publish_props, "response-topic=r/t")}},
	{"-D connect", SUB, A("-D", "connect", "receive-maximum", "10", "-D", "connect", "user-property", "a", "b"), OK, NULL, false,
		{X_PROPS(connect_props, "receive-maximum=10;user-property=a:b"), X_PROPS(publish_props, "")}},
	{"-D subscribe user-property", SUB, A("-D", "subscribe", "user-property", "a", "b"), OK, NULL, false,
		{X_PROPS(subscribe_props, "user-property=a:b")}},
	{"-D unsubscribe", SUB, A("-D", "unsubscribe", "user-property", "a", "b"), OK, NULL, false,
		{X_PROPS(unsubscribe_props, "user-property=a:b")}},
	{"-D disconnect", PUB, A("-D", "disconnect", "session-expiry-interval", "5"), OK, NULL, false,
		{X_PROPS(disconnect_props, "session-expiry-interval=5")}},
	{"-D will", PUB, A("-D", "will", "will-delay-interval", "30", "-D", "will", "content-type", "c"), OK, NULL, false,
		{X_PROPS(will_props, "will-delay-interval=30;content-type=c")}},
	{"-D byte 0", PUB, A("-D", "publish", "payload-format-indicator", "0"), OK, NULL, false,
		{X_PROPS(publish_props, "payload-format-indicator=0")}},
	{"-D then -V 311: last wins", PUB, A("-D", "publish", "content-type", "x", "-V", "311"), OK, NULL, false,
		{X_INT(protocol_version, MQTT_PROTOCOL_V311)}},
	{"-V 311 then -D", PUB, A("-V", "311", "-D", "publish", "content-type", "x"), OK, NULL, false,
		{X_INT(protocol_version, MQTT_PROTOCOL_V5)}},
	{"-D parsing continues after", PUB, A("-D", "publish", "content-type", "x", "-q", "1"), OK, NULL, false, {X_INT(qos, 1)}},
	{"-D no args", PUB, A("-D"), ERR, "Error: --property argument given but not enough arguments specified.\n\n", false, {{0}}},
	{"-D command only", PUB, A("-D", "publish"), ERR,
		"Error: --property argument given but not enough arguments specified.\n\n", false, {{0}}},
	{"-D no value", SUB, A("--property", "publish", "content-type"), ERR,
		"Error: --property argument given but not enough arguments specified.\n\n", false, {{0}}},
	{"-D user-property no value", PUB, A("-D", "publish", "user-property", "k"), ERR,
		"Error: --property argument given but not enough arguments specified.\n\n", false, {{0}}},
	{"-D bad command", PUB, A("-D", "publsh", "content-type", "x"), ERR,
		"Error: Invalid command given in --property argument.\n\n", false, {{0}}},
	{"-D bad property", PUB, A("-D", "publish", "content-typ", "x"), ERR,
		"Error: Invalid property name given in --property argument.\n\n", false, {{0}}},
	{"-D not allowed", PUB, A("-D", "connect", "content-type", "x"), ERR,
		"Error: content-type property not allowed for connect in --property argument.\n\n", false, {{0}}},
	{"-D not allowed subscribe", SUB, A("-D", "subscribe", "topic-alias", "1"), ERR,
		"Error: topic-alias property not allowed for subscribe in --property argument.\n\n", false, {{0}}},
	{"-D publish subscription-identifier", PUB, A("-D", "publish", "subscription-identifier", "1"), ERR,
		"Error: subscription-identifier property not supported for publish in --property argument.\n\n", false, {{0}}},
	{"-D auth", PUB, A("-D", "auth", "authentication-method", "m"), ERR,
		"Error: authentication-method property not supported for auth in --property argument.\n\n", false, {{0}}},
	{"-D puback", SUB, A("-D", "puback", "reason-string", "r"), ERR,
		"Error: reason-string property not supported for puback in --property argument.\n\n", false, {{0}}},
	{"-D pubrec", SUB, A("-D", "pubrec", "reason-string", "r"), ERR,
		"Error: reason-string property not supported for pubrec in --property argument.\n\n", false, {{0}}},
	{"-D pubrel", SUB, A("-D", "pubrel", "reason-string", "r"), ERR,
		"Error: reason-string property not supported for pubrel in --property argument.\n\n", false, {{0}}},
	{"-D pubcomp", SUB, A("-D", "pubcomp", "reason-string", "r"), ERR,
		"Error: reason-string property not supported for pubcomp in --property argument.\n\n", false, {{0}}},
	/* libmosquitto 2.0.11 does not know "suback" / "unsuback" as names */
	{"-D suback", SUB, A("-D", "suback", "reason-string", "r"), ERR,
		"Error: Invalid command given in --property argument.\n\n", false, {{0}}},
	{"-D unsuback", SUB, A("-D", "unsuback", "reason-string", "r"), ERR,
		"Error: Invalid command given in --property argument.\n\n", false, {{0}}},
	/* mosquitto 2.0.11 fails here without any message (its switch has no
	 * CMD_CONNACK case); smqtt names the problem. */
	{"-D connack", SUB, A("-D", "connack", "assigned-client-identifier", "x"), ERR,
		"Error: assigned-client-identifier property not supported for connack in --property argument.\n\n", false, {{0}}},
	{"-D byte out of range", PUB, A("-D", "publish", "payload-format-indicator", "256"), ERR,
		"Error: Property value (256) out of range for property payload-format-indicator.\n\n", false, {{0}}},
	{"-D byte negative", PUB, A("-D", "publish", "payload-format-indicator", "-1"), ERR,
		"Error: Property value (-1) out of range for property payload-format-indicator.\n\n", false, {{0}}},
	{"-D int16 out of range", PUB, A("-D", "publish", "topic-alias", "65536"), ERR,
		"Error: Property value (65536) out of range for property topic-alias.\n\n", false, {{0}}},
	{"-D int32 out of range", PUB, A("-D", "publish", "message-expiry-interval", "4294967296"), ERR,
		"Error: Property value (4294967296) out of range for property message-expiry-interval.\n\n", false, {{0}}},
	{"-D varint out of range", SUB, A("-D", "subscribe", "subscription-identifier", "4294967296"), ERR,
		"Error: Property value (4294967296) out of range for property subscription-identifier.\n\n", false, {{0}}},
	{"-D varint too big for a varint", SUB, A("-D", "subscribe", "subscription-identifier", "268435456"), ERR,
		"Error adding property subscription-identifier 4\n", false, {{0}}},
	{"-D not a number (strict)", PUB, A("-D", "publish", "message-expiry-interval", "soon"), ERR,
		"Error: Property value (soon) is not a number for property message-expiry-interval.\n\n", false, {{0}}},

	/* -- -x session expiry -- */
	{"-x infinity sign", PUB, A("-x", "\xe2\x88\x9e"), OK, NULL, false, {X_LL(session_expiry_interval, 4294967295LL)}},
	{"-x -1", SUB, A("-x", "-1"), OK, NULL, false, {X_LL(session_expiry_interval, 4294967295LL)}},
	{"-x max", PUB, A("-x", "4294967295"), OK, NULL, false, {X_LL(session_expiry_interval, 4294967295LL)}},
	{"-x 4294967294", PUB, A("-x", "4294967294"), OK, NULL, false, {X_LL(session_expiry_interval, 4294967294LL)}},
	{"-x hex", SUB, A("-x", "0x10"), OK, NULL, false, {X_LL(session_expiry_interval, 16)}},
	{"-x octal", PUB, A("-x", "010"), OK, NULL, false, {X_LL(session_expiry_interval, 8)}},
	{"-x leading blank", PUB, A("-x", " 60"), OK, NULL, false, {X_LL(session_expiry_interval, 60)}},
	{"-x 4294967296", PUB, A("-x", "4294967296"), ERR, "Error: session-expiry-interval out of range.\n\n", false, {{0}}},
	{"-x -2", SUB, A("-x", "-2"), ERR, "Error: session-expiry-interval out of range.\n\n", false, {{0}}},
	{"-x overflow", PUB, A("-x", "99999999999999999999"), ERR, "Error: session-expiry-interval out of range.\n\n", false, {{0}}},
	{"-x negative overflow", PUB, A("-x", "-99999999999999999999"), ERR, "Error: session-expiry-interval out of range.\n\n", false, {{0}}},
	{"-x hex out of range", PUB, A("-x", "0x100000000"), ERR, "Error: session-expiry-interval out of range.\n\n", false, {{0}}},
	{"-x not a number", SUB, A("-x", "forever"), ERR, "Error: session-expiry-interval not a number.\n\n", false, {{0}}},
	{"-x trailing junk", PUB, A("-x", "10s"), ERR, "Error: session-expiry-interval not a number.\n\n", false, {{0}}},
	{"-x empty", PUB, A("-x", ""), ERR, "Error: session-expiry-interval not a number.\n\n", false, {{0}}},
	{"-x bad octal", PUB, A("-x", "09"), ERR, "Error: session-expiry-interval not a number.\n\n", false, {{0}}},

	/* -- --proxy -- */
	{"--proxy host", PUB, A("--proxy", "socks5h://px"), OK, NULL, false,
		{X_STR(socks5_host, "px"), X_INT(socks5_port, 1080), X_NULL(socks5_username), X_NULL(socks5_password)}},
	{"--proxy host:port", SUB, A("--proxy", "socks5h://px:1234"), OK, NULL, false,
		{X_STR(socks5_host, "px"), X_INT(socks5_port, 1234)}},
	{"--proxy user@host", PUB, A("--proxy", "socks5h://me@px"), OK, NULL, false,
		{X_STR(socks5_username, "me"), X_NULL(socks5_password), X_STR(socks5_host, "px"), X_INT(socks5_port, 1080)}},
	{"--proxy user:pass@host:port", SUB, A("--proxy", "socks5h://me:pw@px:99"), OK, NULL, false,
		{X_STR(socks5_username, "me"), X_STR(socks5_password, "pw"), X_STR(socks5_host, "px"), X_INT(socks5_port, 99)}},
	/* mosquitto 2.0.11 decodes %40 to ':' (a bug); smqtt decodes it to '@' */
	{"--proxy urlencoded", PUB, A("--proxy", "socks5h://m%40e%3A:p%3as%25@px"), OK, NULL, false,
		{X_STR(socks5_username, "m@e:"), X_STR(socks5_password, "p:s%"), X_STR(socks5_host, "px")}},
	{"--proxy port 65535", PUB, A("--proxy", "socks5h://px:65535"), OK, NULL, false, {X_INT(socks5_port, 65535)}},
	{"--proxy twice replaces user", PUB, A("--proxy", "socks5h://a:b@px", "--proxy", "socks5h://py"), OK, NULL, false,
		{X_STR(socks5_host, "py"), X_NULL(socks5_username), X_NULL(socks5_password)}},
	{"--proxy socks5", PUB, A("--proxy", "socks5://px"), ERR, "Error: Unsupported proxy protocol: socks5://px\n", false, {{0}}},
	{"--proxy http", SUB, A("--proxy", "http://px:3128"), ERR, "Error: Unsupported proxy protocol: http://px:3128\n", false, {{0}}},
	{"--proxy upper-case scheme", PUB, A("--proxy", "SOCKS5H://px"), ERR, "Error: Unsupported proxy protocol: SOCKS5H://px\n", false, {{0}}},
	{"--proxy empty host", PUB, A("--proxy", "socks5h://"), ERR, "Error: Invalid proxy.\n", false, {{0}}},
	{"--proxy port 0", SUB, A("--proxy", "socks5h://px:0"), ERR, "Error: Invalid proxy port 0\n", false, {{0}}},
	{"--proxy port 65536", PUB, A("--proxy", "socks5h://px:65536"), ERR, "Error: Invalid proxy port 65536\n", false, {{0}}},
	{"--proxy port not a number (strict)", PUB, A("--proxy", "socks5h://px:http"), ERR, "Error: Invalid proxy port http\n", false, {{0}}},
	{"--proxy empty host after auth", PUB, A("--proxy", "socks5h://me:pw@"), ERR, "Error: Invalid proxy.\n", false, {{0}}},
	/* mosquitto 2.0.11 exits without any message for an empty user or
	 * password, a second '@' and a bad %-escape, and takes "px:1:2" as
	 * port 1; smqtt says "Invalid proxy" for all of them. */
	{"--proxy empty user", PUB, A("--proxy", "socks5h://@px"), ERR, "Error: Invalid proxy.\n", false, {{0}}},
	{"--proxy empty password", SUB, A("--proxy", "socks5h://me:@px"), ERR, "Error: Invalid proxy.\n", false, {{0}}},
	{"--proxy two colons", PUB, A("--proxy", "socks5h://px:1:2"), ERR, "Error: Invalid proxy.\n", false, {{0}}},
	{"--proxy two @", PUB, A("--proxy", "socks5h://a@b@px"), ERR, "Error: Invalid proxy.\n", false, {{0}}},
	{"--proxy bad escape", PUB, A("--proxy", "socks5h://m%41@px"), ERR, "Error: Invalid proxy.\n", false, {{0}}},
	{"--proxy truncated escape", SUB, A("--proxy", "socks5h://me:p%4@px"), ERR, "Error: Invalid proxy.\n", false, {{0}}},

	/* -- -F format validation -- */
	{"-F all specifiers", SUB, A("-F", "%% %A %C %D %E %F %I %l %m %P %p %q %R %S %r %t %j %J %U %x %X"), OK, NULL, false,
		{X_STR(format, "%% %A %C %D %E %F %I %l %m %P %p %q %R %S %r %t %j %J %U %x %X")}},
	{"-F flags width precision", SUB, A("-F", "%-10.3t %010p %5.2x %-X"), OK, NULL, false, {{0}}},
	{"-F escapes", SUB, A("-F", "\\\\\\0\\a\\e\\n\\r\\t\\v"), OK, NULL, false, {{0}}},
	{"-F time", SUB, A("-F", "@Y-@m-@d @@ @N @z"), OK, NULL, false, {{0}}},
	{"-F empty", SUB, A("-F", ""), OK, NULL, false, {X_STR(format, "")}},
	{"-F lone %", SUB, A("-F", "%"), ERR, "Error: Incomplete format specifier.\n", false, {{0}}},
	{"-F trailing %", SUB, A("-F", "%t %"), ERR, "Error: Incomplete format specifier.\n", false, {{0}}},
	{"-F %-", SUB, A("-F", "%-"), ERR, "Error: Incomplete format specifier.\n", false, {{0}}},
	{"-F %0", SUB, A("-F", "%0"), ERR, "Error: Incomplete format specifier.\n", false, {{0}}},
	{"-F %10", SUB, A("-F", "%10"), ERR, "Error: Incomplete format specifier.\n", false, {{0}}},
	{"-F %5.", SUB, A("-F", "%5."), ERR, "Error: Incomplete format specifier.\n", false, {{0}}},
	{"-F %5.3", SUB, A("-F", "%5.3"), ERR, "Error: Incomplete format specifier.\n", false, {{0}}},
	{"-F trailing @", SUB, A("-F", "x@"), ERR, "Error: Incomplete format specifier.\n", false, {{0}}},
	{"-F bad specifier", SUB, A("-F", "%k"), ERR, "Error: Invalid format specifier 'k'.\n", false, {{0}}},
	{"-F bad specifier after width", SUB, A("-F", "%-5.2y"), ERR, "Error: Invalid format specifier 'y'.\n", false, {{0}}},
	/* '-' after the flags is a hex separator (mosquitto 2.1), accepted in both modes */
	{"-F two flags", SUB, A("-F", "%-0-t"), OK, NULL, false, {X_STR(format, "%-0-t")}},
	{"-F separator", SUB, A("-F", "%.2:x %f %08.3d"), OK, NULL, false, {X_STR(format, "%.2:x %f %08.3d")}},
	{"-F separator then nothing", SUB, A("-F", "%.2:"), ERR, "Error: Incomplete format specifier.\n", false, {{0}}},
	{"-o", PUB, A("-o", "/some/file"), OK, NULL, false, {{0}}},
	{"-o missing", SUB, A("-o"), ERR, "Error: -o argument given but no options file specified.\n\n", false, {{0}}},
	{"-w", SUB, A("-w"), OK, NULL, false, {X_BOOL(watch, true)}},
	{"--watch", SUB, A("--watch"), OK, NULL, false, {X_BOOL(watch, true)}},
	{"-w pub", PUB, A("-w"), ERR, "Error: Unknown option '-w'.\n", false, {{0}}},
	{"--message-rate", SUB, A("--message-rate"), OK, NULL, false, {X_BOOL(message_rate, true)}},
	{"--retain-handling never", SUB, A("--retain-handling", "never"), OK, NULL, false, {X_INT(sub_opts, 0x20)}},
	{"--retain-handling new", SUB, A("--retain-handling", "new"), OK, NULL, false, {X_INT(sub_opts, 0x10)}},
	{"--retain-handling always after -R", SUB, A("-R", "--retain-handling", "always"), OK, NULL, false,
		{X_INT(sub_opts, 0), X_BOOL(no_retain, true)}},
	{"--retain-handling bad", SUB, A("--retain-handling", "sometimes"), ERR,
		"Error: Unknown value 'sometimes' for --retain-handling.\n\n", false, {{0}}},
	{"--retain-handling missing", SUB, A("--retain-handling"), ERR,
		"Error: --retain-handling argument given but no option specified.\n\n", false, {{0}}},
	{"--no-tls", PUB, A("--no-tls"), OK, NULL, false, {X_BOOL(no_tls, true)}},
	{"--tls-keylog", SUB, A("--tls-keylog", "k.log"), OK, NULL, false, {X_STR(tls_keylog, "k.log")}},
	{"--tls-keylog missing", PUB, A("--tls-keylog"), ERR,
		"Error: --tls-keylog argument given but no file specified.\n\n", false, {{0}}},
	{"--compat 2.1", PUB, A("--compat", "2.1"), OK, NULL, false, {X_INT(compat, 21)}},
	{"--compat 2.0", SUB, A("--compat", "2.0", "-t", "x"), OK, NULL, false, {X_INT(compat, 20)}},
	{"--compat 3", PUB, A("--compat", "3"), ERR,
		"Error: Invalid --compat '3': give 2.0 (mosquitto 2.0, the default) or 2.1.\n\n", false, {{0}}},
	{"--compat missing", PUB, A("--compat"), ERR, "Error: --compat argument given but no version specified.\n\n", false, {{0}}},
	{"-F trailing backslash", SUB, A("-F", "%t\\"), ERR, "Error: Incomplete escape specifier.\n", false, {{0}}},
	{"-F bad escape", SUB, A("-F", "\\q"), ERR, "Error: Invalid escape specifier 'q'.\n", false, {{0}}},
	{"-F bad escape \\x", SUB, A("-F", "%p\\x41"), ERR, "Error: Invalid escape specifier 'x'.\n", false, {{0}}},
	{"-F unknown @ is fine", SUB, A("-F", "@Q"), OK, NULL, false, {{0}}},

	/* -- options_finish -- */
	{"finish: default host", PUB, A("-t", "t"), OK, NULL, true, {X_STR(host, "localhost")}},
	{"finish: -h kept", SUB, A("-t", "t", "-h", "h"), OK, NULL, true, {X_STR(host, "h")}},
	{"finish: --unix kept", SUB, A("-t", "t", "--unix", "/s"), OK, NULL, true, {X_STR(host, "/s"), X_INT(port, 0)}},
	{"finish: pub without topic is fine here", PUB, {NULL}, OK, NULL, true, {{0}}},
	{"finish: sub without topic", SUB, A("-v"), ERR, "Error: You must specify a topic to subscribe to.\n", true, {{0}}},
	{"finish: sub with only -T", SUB, A("-T", "a"), ERR, "Error: You must specify a topic to subscribe to.\n", true, {{0}}},
	{"finish: sub with only -U", SUB, A("-U", "a"), ERR, "Error: You must specify a topic to subscribe to.\n", true, {{0}}},
	{"finish: sub -L gives a topic", SUB, A("-L", "mqtt://h/t"), OK, NULL, true, {{0}}},
	{"finish: will payload without topic", PUB, A("--will-payload", "x"), ERR,
		"Error: Will payload given, but no will topic given.\n", true, {{0}}},
	{"finish: will retain without topic", SUB, A("-t", "t", "--will-retain"), ERR,
		"Error: Will retain given, but no will topic given.\n", true, {{0}}},
	{"finish: will ok", PUB, A("--will-topic", "w", "--will-payload", "x", "--will-retain", "--will-qos", "1"), OK, NULL, true,
		{X_STR(will_topic, "w"), X_STR(will_payload, "x"), X_BOOL(will_retain, 1), X_INT(will_qos, 1)}},
	{"finish: cert without key", PUB, A("--cert", "c"), ERR,
		"Error: Both certfile and keyfile must be provided if one of them is set.\n", true, {{0}}},
	{"finish: key without cert", SUB, A("-t", "t", "--key", "k"), ERR,
		"Error: Both certfile and keyfile must be provided if one of them is set.\n", true, {{0}}},
	{"finish: cert and key", PUB, A("--cert", "c", "--key", "k", "--keyform", "pem"), OK, NULL, true, {{0}}},
	{"finish: keyform without key", PUB, A("--keyform", "pem"), ERR,
		"Error: If keyform is set, keyfile must be also specified.\n", true, {{0}}},
	{"finish: kpass without engine", PUB, A("--cert", "c", "--key", "k", "--keyform", "engine", "--tls-engine-kpass-sha1", "x"), ERR,
		"Error: when using tls-engine-kpass-sha1, both tls-engine and keyform must also be provided.\n", true, {{0}}},
	{"finish: kpass without keyform", PUB, A("--tls-engine", "e", "--tls-engine-kpass-sha1", "x"), ERR,
		"Error: when using tls-engine-kpass-sha1, both tls-engine and keyform must also be provided.\n", true, {{0}}},
	{"finish: kpass ok", PUB, A("--cert", "c", "--key", "k", "--keyform", "engine", "--tls-engine", "e",
		"--tls-engine-kpass-sha1", "x"), OK, NULL, true, {{0}}},
	{"finish: psk with cafile", PUB, A("--psk", "00", "--psk-identity", "i", "--cafile", "ca"), ERR,
		"Error: Only one of --psk or --cafile/--capath may be used at once.\n", true, {{0}}},
	{"finish: psk with capath", SUB, A("-t", "t", "--psk", "00", "--capath", "d"), ERR,
		"Error: Only one of --psk or --cafile/--capath may be used at once.\n", true, {{0}}},
	{"finish: psk without identity", PUB, A("--psk", "00"), ERR, "Error: --psk-identity required if --psk used.\n", true, {{0}}},
	{"finish: psk ok", SUB, A("-t", "t", "--psk", "00", "--psk-identity", "i"), OK, NULL, true, {{0}}},
	{"finish: will checked before tls", PUB, A("--cert", "c", "--will-retain"), ERR,
		"Error: Will retain given, but no will topic given.\n", true, {{0}}},
	{"finish: -c without -i v311", PUB, A("-c"), ERR,
		"Error: You must provide a client id if you are using the -c option.\n", true, {{0}}},
	{"finish: -c without -i v31", SUB, A("-t", "t", "-c", "-V", "31"), ERR,
		"Error: You must provide a client id if you are using the -c option.\n", true, {{0}}},
	{"finish: -c with -I v311", PUB, A("-c", "-I", "p"), ERR,
		"Error: You must provide a client id if you are using the -c option.\n", true, {{0}}},
	{"finish: -c with -i v311", SUB, A("-t", "t", "-c", "-i", "me"), OK, NULL, true, {X_PROPS(connect_props, "")}},
	{"finish: -c without -i v5", PUB, A("-c", "-V", "5"), ERR,
		"Error: You must provide a client id if you are using an infinite session expiry interval.\n", true, {{0}}},
	{"finish: -c with -I v5", SUB, A("-t", "t", "-c", "-V", "mqttv5", "-I", "p"), ERR,
		"Error: You must provide a client id if you are using an infinite session expiry interval.\n", true, {{0}}},
	{"finish: -c with -i v5", PUB, A("-c", "-V", "5", "-i", "me"), OK, NULL, true,
		{X_LL(session_expiry_interval, 4294967295LL), X_PROPS(connect_props, "session-expiry-interval=4294967295")}},
	{"finish: -c -x 60 v5 without id", PUB, A("-c", "-x", "60", "-V", "5"), OK, NULL, true,
		{X_PROPS(connect_props, "session-expiry-interval=60")}},
	{"finish: -x 60 v5", SUB, A("-t", "t", "-x", "60", "-V", "5"), OK, NULL, true,
		{X_PROPS(connect_props, "session-expiry-interval=60")}},
	{"finish: -x 0 v5", PUB, A("-x", "0", "-c", "-V", "5"), OK, NULL, true, {X_PROPS(connect_props, "")}},
	{"finish: -x -1 v5 without id", PUB, A("-x", "-1", "-V", "5"), ERR,
		"Error: You must provide a client id if you are using an infinite session expiry interval.\n", true, {{0}}},
	{"finish: -x ignored on v311", PUB, A("-x", "60"), OK, NULL, true, {X_PROPS(connect_props, "")}},
	{"finish: -x -1 on v311 without id", PUB, A("-x", "-1"), OK, NULL, true, {X_PROPS(connect_props, "")}},
	{"finish: -D connect property appended after", PUB, A("-D", "connect", "receive-maximum", "5", "-x", "7"), OK, NULL, true,
		{X_PROPS(connect_props, "receive-maximum=5;session-expiry-interval=7")}},
	{"finish: -D duplicate property", PUB, A("-D", "publish", "content-type", "a", "-D", "publish", "content-type", "b"), ERR,
		"Error in PUBLISH properties: Duplicate property in property list\n", true, {{0}}},
	{"finish: -D connect session-expiry duplicate with -x", PUB,
		A("-D", "connect", "session-expiry-interval", "5", "-x", "7"), ERR,
		"Error in CONNECT properties: Duplicate property in property list\n", true, {{0}}},
	{"finish: -D receive-maximum 0", PUB, A("-D", "connect", "receive-maximum", "0"), ERR,
		"Error in CONNECT properties: A network protocol error occurred when communicating with the broker.\n", true, {{0}}},
	{"finish: -D subscribe duplicate", SUB, A("-t", "t", "-D", "subscribe", "subscription-identifier", "1",
		"-D", "subscribe", "subscription-identifier", "2"), ERR,
		"Error in SUBSCRIBE properties: Duplicate property in property list\n", true, {{0}}},
	{"finish: -D unsubscribe ok", SUB, A("-t", "t", "-D", "unsubscribe", "user-property", "a", "b"), OK, NULL, true, {{0}}},
	{"finish: -D disconnect duplicate", PUB, A("-D", "disconnect", "reason-string", "a", "-D", "disconnect", "reason-string", "b"), ERR,
		"Error in DISCONNECT properties: Duplicate property in property list\n", true, {{0}}},
	{"finish: -D will duplicate", PUB, A("-D", "will", "content-type", "a", "-D", "will", "content-type", "b"), ERR,
		"Error in Will properties: Duplicate property in property list\n", true, {{0}}},
	{"finish: -D topic-alias 0", PUB, A("-D", "publish", "topic-alias", "0"), ERR,
		"Error in PUBLISH properties: A network protocol error occurred when communicating with the broker.\n", true, {{0}}},
};

/* Where libmosquitto's own checks (which smqtt calls, as mosquitto_pub and
 * mosquitto_sub do) changed between Debian 12's 2.0.11 and Debian 13's
 * 2.0.21, a row comes in two versions and the one for the running library
 * runs. */
enum { LIB_BEFORE_2_0_21, LIB_2_0_21 };

struct lib_ocase {
	int lib;
	struct ocase c;
};

static const struct lib_ocase lib_cases[] = {
	{LIB_BEFORE_2_0_21,
		{"-L empty topic", PUB, A("-L", "mqtt://h/"), OK, NULL, false, {X_STR(topic, ""), X_STR(host, "h")}}},
	/* 2.0.21's mosquitto_pub_topic_check refuses an empty topic */
	{LIB_2_0_21,
		{"-L empty topic (libmosquitto 2.0.21)", PUB, A("-L", "mqtt://h/"), ERR,
			"Error: Invalid publish topic '', does it contain '+' or '#'?\n", false, {{0}}}},
	/* 2.0.11's mosquitto_property_check_all does not check the response
	 * topic; 2.0.21's refuses a wildcard in it */
	{LIB_BEFORE_2_0_21,
		{"finish: -D publish response-topic wildcard", PUB, A("-D", "publish", "response-topic", "a/#"), OK, NULL, true,
			{X_PROPS(publish_props, "response-topic=a/#")}}},
	{LIB_2_0_21,
		{"finish: -D publish response-topic wildcard (libmosquitto 2.0.21)", PUB,
			A("-D", "publish", "response-topic", "a/#"), ERR,
			"Error in PUBLISH properties: A network protocol error occurred when communicating with the broker.\n",
			true, {{0}}}},
};

static int running_lib(void)
{
	int major, minor, rev;
	mosquitto_lib_version(&major, &minor, &rev);
	return major * 10000 + minor * 100 + rev >= 20021 ? LIB_2_0_21 : LIB_BEFORE_2_0_21;
}

static void run_case(void **state)
{
	const struct ocase *c = *state;
	struct config cfg;
	struct opt_error err = {0};
	struct argv_buf a;
	cfg_init(&cfg, c->tool);
	argv_build(&a, c->argv);
	enum opt_status st = options_parse(&cfg, a.argc, a.argv, &err);
	if (st == OPT_OK && c->finish)
		st = options_finish(&cfg, &err);
	if (c->err) {
		if (!err.text)
			fail_msg("expected error \"%s\", got none (status %d)", c->err, st);
		assert_string_equal(err.text, c->err);
	} else if (err.text) {
		fail_msg("unexpected error \"%s\"", err.text);
	}
	assert_int_equal(st, c->st);
	check_fields(&cfg, c->fx);
	cfg_free(&cfg);
	opt_error_free(&err);
	argv_free(&a);
}

/* ---- tests generated from the option table -------------------------- */

struct gen {
	const struct option_def *def;
	enum tool tool;
	bool use_long;
};

static char *opt_word(const struct option_def *d, bool use_long)
{
	char *s = NULL;
	if (use_long)
		assert_true(asprintf(&s, "--%s", d->longname) > 0);
	else
		assert_true(asprintf(&s, "-%c", d->shortname) > 0);
	return s;
}

/* An option of the other tool is unknown, by either name, with or without
 * an argument; an option of this tool with its argument missing gives the
 * row's "missing" text; a flag of this tool is accepted. */
static void run_generated(void **state)
{
	const struct gen *g = *state;
	const struct option_def *d = g->def;
	struct config cfg;
	struct opt_error err = {0};
	char *word = opt_word(d, g->use_long);
	char *argv[] = {"prog", word, NULL};
	cfg_init(&cfg, g->tool);
	enum opt_status st = options_parse(&cfg, 2, argv, &err);
	if (!option_for_tool(d, g->tool)) {
		char *want = NULL;
		assert_true(asprintf(&want, "Error: Unknown option '%s'.\n", word) > 0);
		assert_int_equal(st, OPT_ERROR);
		assert_non_null(err.text);
		assert_string_equal(err.text, want);
		assert_null(err.def);
		free(want);
	} else if (d->kind == ARG_SPECIAL) {
		assert_int_equal(st, OPT_ERROR);
		assert_string_equal(err.text, "Error: --property argument given but not enough arguments specified.\n\n");
		assert_ptr_equal(err.def, d);
	} else if (d->kind != ARG_NONE) {
		char *want = NULL;
		assert_true(asprintf(&want, "Error: %s\n\n", d->missing) > 0);
		assert_int_equal(st, OPT_ERROR);
		assert_non_null(err.text);
		assert_string_equal(err.text, want);
		assert_ptr_equal(err.def, d);
		free(want);
	} else if (d->longname && !strcmp(d->longname, "help")) {
		assert_int_equal(st, OPT_HELP);
	} else if (d->longname && !strcmp(d->longname, "version")) {
		assert_int_equal(st, OPT_VERSION);
	} else {
		assert_int_equal(st, OPT_OK);
		assert_null(err.text);
	}
	cfg_free(&cfg);
	opt_error_free(&err);
	free(word);
}

/* ---- table invariants ----------------------------------------------- */

static size_t table_len(void)
{
	size_t n = 0;
	while (option_table[n].shortname || option_table[n].longname)
		n++;
	return n;
}

static const char *row_name(const struct option_def *d, char *buf, size_t len)
{
	if (d->shortname)
		snprintf(buf, len, "-%c", d->shortname);
	else
		snprintf(buf, len, "--%s", d->longname);
	return buf;
}

static void test_table_help_texts(void **state)
{
	(void)state;
	char nb[64];
	for (size_t i = 0; i < table_len(); i++) {
		const struct option_def *d = &option_table[i];
		if (!d->help || !*d->help)
			fail_msg("%s has no help text", row_name(d, nb, sizeof(nb)));
		if (d->help[strlen(d->help) - 1] == '\n')
			fail_msg("%s help text ends in a newline", row_name(d, nb, sizeof(nb)));
		if (d->tools == 0 || (d->tools & ~(unsigned)TOOL_ALL))
			fail_msg("%s has bad tools %u", row_name(d, nb, sizeof(nb)), d->tools);
	}
}

static void test_table_missing_texts(void **state)
{
	(void)state;
	char nb[64];
	for (size_t i = 0; i < table_len(); i++) {
		const struct option_def *d = &option_table[i];
		bool takes_arg = d->kind == ARG_STR || d->kind == ARG_INT || d->kind == ARG_REAL;
		if (takes_arg && (!d->missing || !*d->missing))
			fail_msg("%s takes an argument but has no missing text", row_name(d, nb, sizeof(nb)));
		if (d->missing && strstr(d->missing, "Error"))
			fail_msg("%s missing text must not include \"Error: \"", row_name(d, nb, sizeof(nb)));
		if (d->missing && strchr(d->missing, '%'))
			fail_msg("%s missing text contains '%%'", row_name(d, nb, sizeof(nb)));
		if (d->kind == ARG_NONE && d->missing)
			fail_msg("%s is a flag but has a missing text", row_name(d, nb, sizeof(nb)));
		if (takes_arg && !d->argname)
			fail_msg("%s takes an argument but has no argname", row_name(d, nb, sizeof(nb)));
	}
}

/* The invalid text is a printf format given the value as its one
 * argument: at most one conversion, and that one a %s (several rows, like
 * -k, name no value because mosquitto's text names none). */
static void test_table_invalid_formats(void **state)
{
	(void)state;
	char nb[64];
	for (size_t i = 0; i < table_len(); i++) {
		const struct option_def *d = &option_table[i];
		if (d->kind != ARG_INT && d->kind != ARG_REAL) {
			if (d->invalid)
				fail_msg("%s: invalid text on a non-number row", row_name(d, nb, sizeof(nb)));
			continue;
		}
		if (!d->invalid)
			fail_msg("%s: number row without an invalid text", row_name(d, nb, sizeof(nb)));
		if (strncmp(d->invalid, "Error: ", 7))
			fail_msg("%s: invalid text does not start with \"Error: \"", row_name(d, nb, sizeof(nb)));
		if (d->invalid[strlen(d->invalid) - 1] != '\n')
			fail_msg("%s: invalid text does not end in a newline", row_name(d, nb, sizeof(nb)));
		int conversions = 0;
		for (const char *p = d->invalid; (p = strchr(p, '%')); p += 2) {
			if (p[1] != 's')
				fail_msg("%s: invalid text has a conversion other than %%s", row_name(d, nb, sizeof(nb)));
			conversions++;
		}
		if (conversions > 1)
			fail_msg("%s: invalid text has %d conversions", row_name(d, nb, sizeof(nb)), conversions);
		if (d->kind == ARG_INT && d->min > d->max)
			fail_msg("%s: min > max", row_name(d, nb, sizeof(nb)));
	}
}

static void test_table_unique_names(void **state)
{
	(void)state;
	size_t n = table_len();
	for (size_t i = 0; i < n; i++) {
		const struct option_def *a = &option_table[i];
		if (a->longname && (!*a->longname || a->longname[0] == '-'))
			fail_msg("row %zu: bad long name \"%s\"", i, a->longname);
		for (size_t j = i + 1; j < n; j++) {
			const struct option_def *b = &option_table[j];
			if (a->shortname && a->shortname == b->shortname)
				fail_msg("short name -%c used twice", a->shortname);
			if (a->longname && b->longname && !strcmp(a->longname, b->longname))
				fail_msg("long name --%s used twice", a->longname);
		}
	}
}

/* Every generic row (no handler) stores into a field of the right kind. */
static void test_table_generic_rows(void **state)
{
	(void)state;
	char nb[64];
	for (size_t i = 0; i < table_len(); i++) {
		const struct option_def *d = &option_table[i];
		if (d->handler)
			continue;
		if (d->kind == ARG_SPECIAL)
			fail_msg("%s: special row without a handler", row_name(d, nb, sizeof(nb)));
		if (d->offset == 0)
			fail_msg("%s: generic row without a field", row_name(d, nb, sizeof(nb)));
		if (d->offset >= sizeof(struct config))
			fail_msg("%s: field offset outside struct config", row_name(d, nb, sizeof(nb)));
	}
}

/* The hand-written tables above name every option of the table. */
static void test_cases_cover_table(void **state)
{
	(void)state;
	char nb[64];
	for (size_t i = 0; i < table_len(); i++) {
		const struct option_def *d = &option_table[i];
		bool seen_ok = false, seen_missing = false;
		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			const struct ocase *c = &cases[k];
			if (!c->argv[0] || option_find(c->argv[0]) != d)
				continue;
			if (c->st != OPT_ERROR)
				seen_ok = true;
			if (c->st == OPT_ERROR && !c->argv[1])
				seen_missing = true;
		}
		if (!seen_ok)
			fail_msg("no accepting case starts with %s", row_name(d, nb, sizeof(nb)));
		if (d->kind != ARG_NONE && !seen_missing)
			fail_msg("no missing-argument case for %s", row_name(d, nb, sizeof(nb)));
	}
}

/* ---- option_find, config_set_str ------------------------------------ */

static void test_option_find(void **state)
{
	(void)state;
	static const struct { const char *arg; char shortname; const char *longname; } rows[] = {
		{"-t", 't', "topic"},
		{"--topic", 't', "topic"},
		{"-C", 'C', NULL},
		{"-c", 'c', "disable-clean-session"},
		{"--disable-clean-session", 'c', "disable-clean-session"},
		{"--help", 0, "help"},
		{"--version", 0, "version"},
		{"--will-topic", 0, "will-topic"},
		{"-V", 'V', "protocol-version"},
		{"-x", 'x', NULL},
		{"-D", 'D', "property"},
		{"--property", 'D', "property"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct option_def *d = option_find(rows[i].arg);
		if (!d)
			fail_msg("%s not found", rows[i].arg);
		assert_int_equal(d->shortname, rows[i].shortname);
		if (rows[i].longname)
			assert_string_equal(d->longname, rows[i].longname);
		else
			assert_null(d->longname);
	}
	static const char *const none[] = {
		"", "-", "--", "t", "topic", "-tt", "--t", "---topic", "--Topic", "--topic ", "-h ",
		"--he", "--nope", "-S", "--C", "-?", "--url=", "-\xe2",
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		if (option_find(none[i]))
			fail_msg("\"%s\" should not be found", none[i]);
	assert_ptr_equal(option_find_long("pretty"), option_find("--pretty"));
	assert_null(option_find_long("-pretty"));
	assert_null(option_find_long(""));
	assert_true(option_for_tool(option_find("-C"), TOOL_SUB));
	assert_false(option_for_tool(option_find("-C"), TOOL_PUB));
	assert_true(option_for_tool(option_find("-m"), TOOL_PUB));
	assert_false(option_for_tool(option_find("-m"), TOOL_SUB));
	assert_true(option_for_tool(option_find("-h"), TOOL_PUB));
	assert_true(option_for_tool(option_find("-h"), TOOL_SUB));
	assert_true(option_for_tool(option_find("-h"), TOOL_RR));
	assert_true(option_for_tool(option_find("-e"), TOOL_RR));
	assert_false(option_for_tool(option_find("-e"), TOOL_PUB));
	assert_true(option_for_tool(option_find("-m"), TOOL_RR));
	assert_true(option_for_tool(option_find("-F"), TOOL_RR));
	assert_false(option_for_tool(option_find("-l"), TOOL_RR));
	/* Every row can be found by each of its names. */
	for (size_t i = 0; i < table_len(); i++) {
		const struct option_def *d = &option_table[i];
		char w[64];
		if (d->shortname) {
			snprintf(w, sizeof(w), "-%c", d->shortname);
			assert_ptr_equal(option_find(w), d);
		}
		if (d->longname) {
			snprintf(w, sizeof(w), "--%s", d->longname);
			assert_ptr_equal(option_find(w), d);
		}
	}
}

static void test_config_set_str(void **state)
{
	(void)state;
	char *slot = NULL;
	assert_int_equal(cfg_set_str(&slot, "one"), 0);
	assert_string_equal(slot, "one");
	assert_int_equal(cfg_set_str(&slot, "two"), 0);
	assert_string_equal(slot, "two");
	/* setting a slot to its own value must copy before freeing */
	assert_int_equal(cfg_set_str(&slot, slot), 0);
	assert_string_equal(slot, "two");
	assert_int_equal(cfg_set_str(&slot, ""), 0);
	assert_string_equal(slot, "");
	assert_int_equal(cfg_set_str(&slot, NULL), 0);
	assert_null(slot);
	assert_int_equal(cfg_set_str(&slot, NULL), 0);
	assert_null(slot);
}

/* ---- repeated options free the old value ---------------------------- */

/* Run under ASan (LeakSanitizer) or valgrind: every option given twice
 * must free what the first one stored, and config_free must free all. */
static void test_repeated_options_free(void **state)
{
	(void)state;
	for (size_t i = 0; i < table_len(); i++) {
		const struct option_def *d = &option_table[i];
		if (d->kind != ARG_STR || d->handler)
			continue;
		for (int t = TOOL_PUB; t <= TOOL_RR; t <<= 1) {
			if (!option_for_tool(d, (enum tool)t))
				continue;
			char *w = opt_word(d, d->shortname == 0);
			char *argv[] = {"prog", w, "first-value", w, "second", NULL};
			struct config cfg;
			struct opt_error err = {0};
			cfg_init(&cfg, (enum tool)t);
			assert_int_equal(options_parse(&cfg, 5, argv, &err), OPT_OK);
			assert_string_equal(*(char **)((char *)&cfg + d->offset), "second");
			cfg_free(&cfg);
			free(w);
		}
	}
	/* handler rows that store strings */
	static const char *const pub_twice[][16] = {
		{"-i", "a", "-i", "b", NULL},
		{"-I", "a", "-I", "b", NULL},
		{"-t", "a", "-t", "b", NULL},
		{"--will-topic", "a", "--will-topic", "b", NULL},
		{"--unix", "/a", "--unix", "/b", "-h", "c", NULL},
		{"-L", "mqtt://u:p@h/t", "-L", "mqtt://v:q@g:1/s", NULL},
		{"-L", "mqtt://u:p@h/t", "-h", "x", "-u", "y", "-P", "z", NULL},
		{"--proxy", "socks5h://u:p@h", "--proxy", "socks5h://v:q@g:1", NULL},
		{"-D", "publish", "user-property", "a", "b", "-D", "publish", "user-property", "a", "b", NULL},
		{"-m", "a", "-f", "b", NULL},   /* error path: nothing leaks */
		{"-f", "a", "-m", "b", NULL},
		{"-h", "a", "-q", "9", NULL},
	};
	for (size_t i = 0; i < sizeof(pub_twice) / sizeof(pub_twice[0]); i++) {
		struct argv_buf a;
		struct config cfg;
		struct opt_error err = {0};
		argv_build(&a, pub_twice[i]);
		cfg_init(&cfg, TOOL_PUB);
		options_parse(&cfg, a.argc, a.argv, &err);
		options_finish(&cfg, &err); /* may fail; must not leak either way */
		cfg_free(&cfg);
		opt_error_free(&err);
		argv_free(&a);
	}
	static const char *const sub_twice[][16] = {
		{"-F", "%p", "-F", "%t", NULL},
		{"-F", "%k", "-F", "%t", NULL}, /* the first one is an error */
		{"-t", "a", "-t", "b", "-T", "c", "-T", "d", "-U", "e", "-U", "f", NULL},
		{"-L", "mqtt://h/t", "-L", "mqtts://g/s", NULL},
		{"-t", "a", "-c", "-V", "5", "-i", "x", "-x", "5", NULL},
	};
	for (size_t i = 0; i < sizeof(sub_twice) / sizeof(sub_twice[0]); i++) {
		struct argv_buf a;
		struct config cfg;
		struct opt_error err = {0};
		argv_build(&a, sub_twice[i]);
		cfg_init(&cfg, TOOL_SUB);
		options_parse(&cfg, a.argc, a.argv, &err);
		options_parse(&cfg, a.argc, a.argv, &err); /* the same again, on top */
		options_finish(&cfg, &err);
		options_finish(&cfg, &err);
		cfg_free(&cfg);
		opt_error_free(&err);
		argv_free(&a);
	}
	/* config_free leaves a config that can be freed again */
	struct config cfg;
	cfg_init(&cfg, TOOL_SUB);
	cfg_free(&cfg);
	cfg_free(&cfg);
}

/* A binary property longer than 65535 bytes. */
static void test_property_too_long(void **state)
{
	(void)state;
	char *big = malloc(65537);
	assert_non_null(big);
	memset(big, 'x', 65536);
	big[65536] = '\0';
	char *argv[] = {"prog", "-D", "publish", "correlation-data", big, NULL};
	struct config cfg;
	struct opt_error err = {0};
	cfg_init(&cfg, TOOL_PUB);
	assert_int_equal(options_parse(&cfg, 5, argv, &err), OPT_ERROR);
	assert_string_equal(err.text, "Error: Property value too long for property correlation-data.\n\n");
	big[65535] = '\0';
	opt_error_free(&err);
	assert_int_equal(options_parse(&cfg, 5, argv, &err), OPT_OK);
	assert_null(err.text);
	cfg_free(&cfg);
	free(big);
}

/* ---- options_usage --------------------------------------------------- */

/* Is "--name" present as a whole option word (not a prefix of another)? */
static bool has_long(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; (p = strstr(p, "--")); p += 2) {
		if (strncmp(p + 2, name, n))
			continue;
		char c = p[2 + n];
		if (!(isalnum((unsigned char)c) || c == '-' || c == '_'))
			return true;
	}
	return false;
}

static bool has_short_label(const char *text, char c)
{
	char pat[8];
	snprintf(pat, sizeof(pat), "\n -%c : ", c);
	return strstr(text, pat) != NULL;
}

static void check_usage(enum tool tool, const char *prog)
{
	char *u = options_usage(tool, prog);
	char nb[64];
	unsigned others = (unsigned)TOOL_ALL & ~(unsigned)tool;
	assert_non_null(u);
	assert_non_null(strstr(u, prog));
	assert_non_null(strstr(u, "Usage: "));
	assert_non_null(strstr(u, SMQTT_VERSION));
	assert_true(strlen(u) > 2 && !strcmp(u + strlen(u) - 2, "\n\n"));
	for (size_t i = 0; i < table_len(); i++) {
		const struct option_def *d = &option_table[i];
		bool mine = option_for_tool(d, tool);
		if (mine) {
			if (d->shortname && !has_short_label(u, d->shortname))
				fail_msg("usage for %d lacks -%c", tool, d->shortname);
			if (d->longname && !has_long(u, d->longname))
				fail_msg("usage for %d lacks --%s", tool, d->longname);
			/* the first line of the help text is there */
			const char *help = option_help(d, tool);
			const char *nl = strchr(help, '\n');
			size_t n = nl ? (size_t)(nl - help) : strlen(help);
			char *first = strndup(help, n);
			if (!strstr(u, first))
				fail_msg("usage for %d lacks the help of %s", tool, row_name(d, nb, sizeof(nb)));
			free(first);
		} else {
			assert_true((d->tools & others) != 0);
			if (d->shortname && has_short_label(u, d->shortname))
				fail_msg("usage for %d lists -%c", tool, d->shortname);
			if (d->longname && has_long(u, d->longname))
				fail_msg("usage for %d mentions --%s", tool, d->longname);
		}
	}
	free(u);
}

static void test_usage_pub(void **state)
{
	(void)state;
	check_usage(TOOL_PUB, "smqtt_pub");
	char *u = options_usage(TOOL_PUB, "mosquitto_pub");
	assert_non_null(strstr(u, "mosquitto_pub is a simple mqtt client that will publish a message on a single topic and exit.\n"));
	assert_non_null(strstr(u, "{-f file | -l | -n | -m message}"));
	free(u);
}

static void test_usage_rr(void **state)
{
	(void)state;
	check_usage(TOOL_RR, "smqtt_rr");
	char *u = options_usage(TOOL_RR, "mosquitto_rr");
	assert_non_null(strstr(u, "mosquitto_rr is an mqtt client that can be used to publish a request message and wait for a response.\n"));
	assert_non_null(strstr(u, "-e response-topic"));
	assert_null(strstr(u, " -l : "));
	free(u);
}

static void test_usage_sub(void **state)
{
	(void)state;
	check_usage(TOOL_SUB, "smqtt_sub");
	char *u = options_usage(TOOL_SUB, "mosquitto_sub");
	assert_non_null(strstr(u, "mosquitto_sub is a simple mqtt client that will subscribe to a set of topics and print all messages it receives.\n"));
	assert_null(strstr(u, "-m message"));
	free(u);
}

int main(void)
{
	int failed = 0;
	struct test_list l = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_list_add(&l, cases[i].name, run_case, (void *)&cases[i]);
	for (size_t i = 0; i < sizeof(lib_cases) / sizeof(lib_cases[0]); i++)
		if (lib_cases[i].lib == running_lib())
			test_list_add(&l, lib_cases[i].c.name, run_case, (void *)&lib_cases[i].c);
	failed += test_list_run(&l, "options_parse table");

	size_t n = table_len();
	struct gen *gens = calloc(n * 6, sizeof(*gens));
	size_t ng = 0;
	for (size_t i = 0; i < n; i++) {
		const struct option_def *d = &option_table[i];
		for (int t = TOOL_PUB; t <= TOOL_RR; t <<= 1) {
			for (int lng = 0; lng <= 1; lng++) {
				if (lng ? !d->longname : !d->shortname)
					continue;
				struct gen *g = &gens[ng++];
				*g = (struct gen){d, (enum tool)t, lng};
				char nb[64];
				test_list_addf(&l, run_generated, g, "%s %s alone",
						t == TOOL_PUB ? "pub" : t == TOOL_SUB ? "sub" : "rr",
						lng ? (snprintf(nb, sizeof(nb), "--%s", d->longname), nb)
						    : (snprintf(nb, sizeof(nb), "-%c", d->shortname), nb));
			}
		}
	}
	failed += test_list_run(&l, "options_parse per table row");
	free(gens);

	const struct CMUnitTest misc[] = {
		cmocka_unit_test(test_table_help_texts),
		cmocka_unit_test(test_table_missing_texts),
		cmocka_unit_test(test_table_invalid_formats),
		cmocka_unit_test(test_table_unique_names),
		cmocka_unit_test(test_table_generic_rows),
		cmocka_unit_test(test_cases_cover_table),
		cmocka_unit_test(test_option_find),
		cmocka_unit_test(test_config_set_str),
		cmocka_unit_test(test_repeated_options_free),
		cmocka_unit_test(test_property_too_long),
		cmocka_unit_test(test_usage_pub),
		cmocka_unit_test(test_usage_sub),
		cmocka_unit_test(test_usage_rr),
	};
	failed += cmocka_run_group_tests_name("options misc", misc, NULL, NULL);
	return failed ? 1 : 0;
}
