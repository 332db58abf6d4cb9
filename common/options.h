/* options: the one declarative option table of smqtt_pub / smqtt_sub / smqtt_rr, the
 * configuration struct it fills, and a pure parser (no printing, no exit). */
#ifndef SMQTT_OPTIONS_H
#define SMQTT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <mosquitto.h>

/* A bit each; an option row's tools is a set of them. */
enum tool { TOOL_PUB = 1, TOOL_SUB = 2, TOOL_BOTH = 3, TOOL_RR = 4, TOOL_ALL = 7 };

enum msg_mode { MSG_NONE, MSG_CMD, MSG_STDIN_LINE, MSG_STDIN_FILE, MSG_FILE, MSG_NULL };

#define PORT_UNDEFINED (-1)

/* Where an option may be given besides the command line. */
enum opt_scope {
	SCOPE_RUN = 0,   /* describes one run: topic, message, output ... */
	SCOPE_CONN = 1,  /* a connection or TLS setting: allowed as a profile key */
};

enum arg_kind {
	ARG_NONE,    /* a flag */
	ARG_STR,     /* any string */
	ARG_INT,     /* a decimal integer within [min, max] */
	ARG_REAL,    /* a decimal number within [min, max] */
	ARG_SPECIAL, /* parsed by the option's own handler */
};

struct config;
struct option_def;
struct opt_error;

typedef int (*opt_handler)(struct config *cfg, const struct option_def *def,
		int argc, char *const argv[], int *idx, struct opt_error *err);

struct option_def {
	char shortname;          /* 0 when none */
	const char *longname;    /* without the leading "--"; NULL when none */
	enum arg_kind kind;
	unsigned tools;          /* TOOL_PUB | TOOL_SUB | TOOL_RR */
	enum opt_scope scope;
	long long min, max;      /* ARG_INT / ARG_REAL range */
	size_t offset;           /* field in struct config for generic kinds */
	const char *argname;     /* for help and completion, e.g. "file" */
	const char *missing;     /* text after "Error: " when the argument is missing */
	const char *invalid;     /* printf format (one %s: the value) when out of range */
	opt_handler handler;     /* NULL: generic store */
	const char *help;        /* help text; lines separated by '\n' */
	const char *help_pub;    /* smqtt_pub's help when the option means something else there */
};

enum opt_status {
	OPT_OK = 0,
	OPT_HELP,       /* --help given */
	OPT_VERSION,    /* --version given */
	OPT_ERROR,      /* an error; see struct opt_error */
};

/* One parse error. text is the complete message as mosquitto words it,
 * including trailing newlines; allocated, freed by opt_error_free. */
struct opt_error {
	const struct option_def *def; /* option involved, or NULL */
	char *text;
	char *local; /* smqtt's own errors: text in the user's language; NULL otherwise */
};

/* Which mosquitto the tools mimic where 2.0 and 2.1 disagree. */
enum compat { COMPAT_20 = 20, COMPAT_21 = 21 };

struct config {
	enum tool tool;
	enum compat compat;       /* --compat, $SMQTT_COMPAT, profile key compat */
	/* connection */
	char *host;
	int port;
	char *bind_address;
	char *id;
	char *id_prefix;
	int keepalive;
	bool clean_session;
	int protocol_version;
	long long session_expiry_interval; /* -1: unset */
	char *username;
	char *password;
	char *password_file;      /* --password-file as given; read by cli */
	bool tcp_nodelay;
	bool ws;                  /* --ws, ws://, wss://: MQTT over WebSockets */
	char *ws_path;            /* --ws-path: the upgrade's request path (NULL: /mqtt) */
	int max_inflight;
	bool debug;
	bool quiet;
	/* will */
	char *will_topic;
	char *will_payload;
	int will_qos;
	bool will_retain;
	/* tls */
	char *cafile;
	char *capath;
	char *certfile;
	char *keyfile;
	char *keyform;
	char *ciphers;
	char *tls_alpn;
	char *tls_version;
	char *tls_engine;
	char *tls_engine_kpass_sha1;
	char *psk;
	char *psk_identity;
	bool insecure;
	bool tls_use_os_certs;
	bool no_tls;              /* --no-tls: every TLS option is dropped */
	char *no_tls_dropped;     /* which ones were, for the trace ("--cafile, --cert") */
	char *tls_keylog;         /* --tls-keylog */
	/* proxy */
	char *socks5_host;
	int socks5_port;
	char *socks5_username;
	char *socks5_password;
	char *proxy_url;          /* --proxy as given */
	/* publish */
	enum msg_mode pub_mode;
	char *topic;
	char *response_topic;     /* smqtt_rr -e */
	bool measure_latency;     /* smqtt_rr --latency (mosquitto 2.1) */
	char *message;
	size_t msglen;
	char *file_input;
	int qos;
	bool retain;
	int repeat_count;
	double repeat_delay;
	bool have_topic_alias;
	/* subscribe */
	char **topics;
	int topic_count;
	char **filter_outs;
	int filter_out_count;
	char **unsub_topics;
	int unsub_topic_count;
	int msg_count;
	bool exit_after_sub;
	bool verbose;
	bool eol;
	char *format;
	bool pretty;
	double random_filter_pct; /* as given */
	int random_filter;        /* per ten thousand */
	bool remove_retained;
	bool retained_only;
	bool no_retain;
	int sub_opts;
	int timeout;
	bool watch;               /* -w: each topic on its own terminal line */
	bool message_rate;        /* --message-rate */
	/* the order -x and -V were parsed in (2.1: -x switches to v5 at that point) */
	unsigned parse_seq, x_seq, v_seq;
	/* MQTT v5 properties */
	mosquitto_property *connect_props;
	mosquitto_property *publish_props;
	mosquitto_property *subscribe_props;
	mosquitto_property *unsubscribe_props;
	mosquitto_property *disconnect_props;
	mosquitto_property *will_props;
	/* diagnosis */
	bool check;               /* --check */
	bool trace;               /* --trace, or smqtt_pub -v */
	bool tls_resume;          /* --tls-resume */
	int persist;              /* smqtt_pub --persist: seconds a keeper holds the connection (0: none) */
	bool persist_stop;        /* smqtt_pub --persist-stop */
	int connect_timeout;      /* --connect-timeout, seconds */
	bool diag_json;           /* --diag-format json */
	/* profiles */
	char *profile_name;       /* --profile */
	bool no_profile;          /* --no-profile */
	bool list_profiles;       /* --list-profiles */
	char *save_profile;       /* --save-profile */
	char *applied_profile;    /* name of the profile in use, or NULL */
	char *applied_profile_from; /* its file:line */
	char *profile_supplied;   /* the options it supplied that are in effect: "--cafile, --cert", or NULL */
	char *profile_hint;       /* no profile, but one is for another name of the same address (trace, --check) */
	/* Where --cafile, --capath, --cert and --key (FILE_ORIGIN_*) came
	 * from when not from the command line, for the findings that name
	 * them (cli.c fills it, report.c shows it): profile = its name, or
	 * NULL for the options file; where = "file:line". Both NULL: the
	 * command line, or not set. */
	struct file_origin { char *profile; char *where; } file_origin[4];
	/* Which source is being parsed, and which one set id / id_prefix: a
	 * profile's id-prefix gives way to a -i on the command line. */
	enum opt_layer { LAYER_OPTFILE, LAYER_PROFILE, LAYER_CLI } layer, id_layer;
	enum opt_layer pw_layer;  /* the source that set password or password_file */
	/* Command-line words that hold a secret (recorded while layer is
	 * LAYER_CLI), for secret_scrub_argv. */
	struct argv_secret { int idx; const struct option_def *def; } *argv_secrets;
	int argv_secret_count;
};

enum { FILE_ORIGIN_CAFILE, FILE_ORIGIN_CAPATH, FILE_ORIGIN_CERT, FILE_ORIGIN_KEY };

/* The option (long name, e.g. "cert") and value of file_origin[i]. */
const char *cfg_origin_option(int i);
const char *cfg_origin_value(const struct config *cfg, int i);

void cfg_init(struct config *cfg, enum tool tool);
void cfg_free(struct config *cfg);

/* Replace *slot by a copy of value (the old value is freed; secrets wiped). */
int cfg_set_str(char **slot, const char *value);

/* The table, terminated by an entry with neither short nor long name. */
extern const struct option_def option_table[];

const struct option_def *option_find(const char *arg);

/* Whether an option's value is a secret: the whole value (-P, --psk,
 * --tls-engine-kpass-sha1), or a password inside a URL (-L, --proxy). */
enum secret_kind { SECRET_NONE, SECRET_VALUE, SECRET_URL };
enum secret_kind option_secret(const struct option_def *def);

/* What a secret option holds, for messages: "password", "PSK", ... */
const char *option_secret_name(const struct option_def *def);

/* For a SECRET_URL option's value: where the password is (byte offset and
 * length). false when the value holds no password. */
bool option_url_password(const struct option_def *def, const char *value, size_t *off, size_t *len);
const struct option_def *option_find_long(const char *longname);
bool option_for_tool(const struct option_def *def, enum tool tool);

/* The mosquitto client a tool stands in for: "mosquitto_pub", "mosquitto_sub"
 * or "mosquitto_rr" (its alias, options file and messages use the name). */
const char *tool_mosquitto_name(enum tool tool);

/* "2.0" / "2.1" (also "20", "21") as enum compat; 0 when neither. */
int options_compat_from_name(const char *name);

/* The running libmosquitto's version as major * 10000 + minor * 100 +
 * revision (2.0.21 is 20021): where mosquitto's clients changed between
 * Debian 12's 2.0.11 and Debian 13's 2.0.21, 2.0 mode follows the one
 * installed. */
int options_libmosquitto_version(void);

/* Parse argv[1..argc-1]; stops at the first error. Pure: never prints. */
enum opt_status options_parse(struct config *cfg, int argc, char *const argv[],
		struct opt_error *err);

/* Checks done after all sources were parsed (mosquitto's order). */
enum opt_status options_finish(struct config *cfg, struct opt_error *err);

void opt_error_free(struct opt_error *err);

/* The value of a connection option in this config as text for a profile
 * (allocated), or NULL when it is unset or at its default. */
char *config_value_text(const struct config *cfg, const struct option_def *def);

/* The help text of row d in tool's --help (untranslated). */
const char *option_help(const struct option_def *d, enum tool tool);

/* Write the --help text for tool, as prog, into a newly allocated string. */
char *options_usage(enum tool tool, const char *prog);

#endif
