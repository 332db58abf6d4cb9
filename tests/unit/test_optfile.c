/* test_optfile: mosquitto's per-user options file (common/optfile.c):
 * optfile_parse on in-memory files (fmemopen) - comments, empty lines, CRLF,
 * leading spaces, an argument containing spaces, "-t " with no argument,
 * unknown options, flags - and optfile_path / optfile_load with
 * XDG_CONFIG_HOME and HOME set and unset. */
#include "test_common.h"

#include <sys/stat.h>
#include <unistd.h>

#include "optfile.h"

struct fcase {
	const char *name;
	enum tool tool;
	const char *text;
	size_t len; /* 0: strlen(text) */
	enum opt_status st;
	const char *err;
	/* expectations; NULL / -1 = don't care */
	const char *host;
	const char *topic;   /* pub: cfg.topic; sub: cfg.topics[0] */
	const char *message;
	const char *username;
	int qos;
	int topic_count;
	int debug; /* -1 don't care, else 0/1 */
};

#define DC -1, -1, -1

static const struct fcase fcases[] = {
	{"empty file", TOOL_PUB, "", 0, OPT_OK, NULL, NULL, NULL, NULL, NULL, 0, -1, 0},
	{"one option", TOOL_PUB, "-h broker\n", 0, OPT_OK, NULL, "broker", NULL, NULL, NULL, DC},
	{"no final newline", TOOL_PUB, "-d\n-h last", 0, OPT_OK, NULL, "last", NULL, NULL, NULL, -1, -1, 1},
	{"comment lines", TOOL_PUB, "# a comment\n#-h nothere\n-h here\n# -q 2\n", 0, OPT_OK, NULL,
		"here", NULL, NULL, NULL, 0, -1, -1},
	{"comment only", TOOL_SUB, "#-h x\n", 0, OPT_OK, NULL, NULL, NULL, NULL, NULL, DC},
	{"empty lines", TOOL_PUB, "\n\n-d\n\n\n-q 1\n\n", 0, OPT_OK, NULL, NULL, NULL, NULL, NULL, 1, -1, 1},
	{"blank-only lines", TOOL_PUB, "   \n \r\n-d\n", 0, OPT_OK, NULL, NULL, NULL, NULL, NULL, -1, -1, 1},
	{"CRLF endings", TOOL_PUB, "-h broker\r\n-u me\r\n-q 2\r\n", 0, OPT_OK, NULL,
		"broker", NULL, NULL, "me", 2, -1, -1},
	{"CR CR LF", TOOL_PUB, "-h broker\r\r\n", 0, OPT_OK, NULL, "broker", NULL, NULL, NULL, DC},
	{"CRLF comment", TOOL_PUB, "#c\r\n-d\r\n", 0, OPT_OK, NULL, NULL, NULL, NULL, NULL, -1, -1, 1},
	{"leading spaces", TOOL_PUB, "   -h broker\n  -d\n", 0, OPT_OK, NULL, "broker", NULL, NULL, NULL, -1, -1, 1},
	{"argument with spaces", TOOL_PUB, "-m hello world\n", 0, OPT_OK, NULL, NULL, NULL, "hello world", NULL, DC},
	{"argument with spaces CRLF", TOOL_PUB, "-m hello  big world \r\n", 0, OPT_OK, NULL,
		NULL, NULL, "hello  big world ", NULL, DC},
	{"two spaces keep the second", TOOL_PUB, "-h  broker\n", 0, OPT_OK, NULL, " broker", NULL, NULL, NULL, DC},
	{"long option", TOOL_PUB, "--username someone\n--topic a/b\n", 0, OPT_OK, NULL,
		NULL, "a/b", NULL, "someone", DC},
	{"sub topics", TOOL_SUB, "-t a/#\n-t b\n", 0, OPT_OK, NULL, NULL, "a/#", NULL, NULL, -1, 2, -1},
	{"sub topic with space", TOOL_SUB, "-t a b/+\n", 0, OPT_OK, NULL, NULL, "a b/+", NULL, NULL, -1, 1, -1},
	{"flags", TOOL_SUB, "-d\n-v\n--quiet\n-N\n", 0, OPT_OK, NULL, NULL, NULL, NULL, NULL, -1, -1, 1},
	{"flag with trailing space", TOOL_PUB, "-d \n", 0, OPT_OK, NULL, NULL, NULL, NULL, NULL, -1, -1, 1},
	{"trailing space no argument", TOOL_PUB, "-t \n", 0, OPT_ERROR,
		"Error: -t argument given but no topic specified.\n\n", NULL, NULL, NULL, NULL, DC},
	{"no argument", TOOL_SUB, "-h\n", 0, OPT_ERROR,
		"Error: -h argument given but no host specified.\n\n", NULL, NULL, NULL, NULL, DC},
	{"no argument CRLF", TOOL_PUB, "-t\r\n", 0, OPT_ERROR,
		"Error: -t argument given but no topic specified.\n\n", NULL, NULL, NULL, NULL, DC},
	{"unknown option", TOOL_PUB, "-d\n--bogus 1\n-h notreached\n", 0, OPT_ERROR,
		"Error: Unknown option '--bogus'.\n", NULL, NULL, NULL, NULL, -1, -1, 1},
	{"option of the other tool", TOOL_PUB, "-C 3\n", 0, OPT_ERROR, "Error: Unknown option '-C'.\n",
		NULL, NULL, NULL, NULL, DC},
	{"option of the other tool sub", TOOL_SUB, "-m hi\n", 0, OPT_ERROR, "Error: Unknown option '-m'.\n",
		NULL, NULL, NULL, NULL, DC},
	{"indented comment is an option", TOOL_PUB, " # comment\n", 0, OPT_ERROR, "Error: Unknown option '#'.\n",
		NULL, NULL, NULL, NULL, DC},
	{"option and argument in one word", TOOL_PUB, "-q1\n", 0, OPT_ERROR, "Error: Unknown option '-q1'.\n",
		NULL, NULL, NULL, NULL, DC},
	{"range error", TOOL_PUB, "-q 3\n", 0, OPT_ERROR, "Error: Invalid QoS given: 3\n", NULL, NULL, NULL, NULL, DC},
	/* Trailing blanks after a number are accepted, as mosquitto's atoi()
	 * does; other trailing junk is not. */
	{"number with trailing space", TOOL_PUB, "-q 1 \n", 0, OPT_OK, NULL,
		NULL, NULL, NULL, NULL, DC},
	{"number with trailing comment", TOOL_PUB, "-q 1 # one\n", 0, OPT_ERROR, "Error: Invalid QoS given: 1 # one\n",
		NULL, NULL, NULL, NULL, DC},
	{"one argument only", TOOL_PUB, "-h a b\n", 0, OPT_OK, NULL, "a b", NULL, NULL, NULL, DC},
	{"later line wins", TOOL_PUB, "-h a\n-h b\n", 0, OPT_OK, NULL, "b", NULL, NULL, NULL, DC},
	{"help in file", TOOL_PUB, "--help\n-h x\n", 0, OPT_HELP, NULL, NULL, NULL, NULL, NULL, DC},
	{"-D needs more than one line allows", TOOL_PUB, "-D publish user-property k v\n", 0, OPT_ERROR,
		"Error: --property argument given but not enough arguments specified.\n\n", NULL, NULL, NULL, NULL, DC},
	{"NUL byte ends the line", TOOL_PUB, "-h ab\0cd\n-d\n", 12, OPT_OK, NULL, "ab", NULL, NULL, NULL, -1, -1, 1},
	{"message mode conflict across lines", TOOL_PUB, "-m a\n-n\n", 0, OPT_ERROR,
		"Error: Only one type of message can be sent at once.\n\n", NULL, NULL, "a", NULL, DC},
};

static void run_fcase(void **state)
{
	const struct fcase *c = *state;
	size_t len = c->len ? c->len : strlen(c->text);
	/* fmemopen of a zero-length buffer is not portable: use a 1-byte copy */
	char *buf = malloc(len + 1);
	assert_non_null(buf);
	memcpy(buf, c->text, len);
	buf[len] = '\0';
	FILE *fp = len ? fmemopen(buf, len, "r") : fopen("/dev/null", "r");
	assert_non_null(fp);

	struct config cfg;
	struct opt_error err = {0};
	cfg_init(&cfg, c->tool);
	enum opt_status st = optfile_parse(&cfg, fp, &err);
	fclose(fp);
	free(buf);

	if (c->err) {
		if (!err.text)
			fail_msg("expected error \"%s\", got none", c->err);
		assert_string_equal(err.text, c->err);
	} else if (err.text) {
		fail_msg("unexpected error \"%s\"", err.text);
	}
	assert_int_equal(st, c->st);
	if (c->host)
		assert_string_equal(cfg.host ? cfg.host : "(null)", c->host);
	if (c->topic) {
		if (c->tool == TOOL_PUB)
			assert_string_equal(cfg.topic ? cfg.topic : "(null)", c->topic);
		else {
			assert_true(cfg.topic_count > 0);
			assert_string_equal(cfg.topics[0], c->topic);
		}
	}
	if (c->message)
		assert_string_equal(cfg.message ? cfg.message : "(null)", c->message);
	if (c->username)
		assert_string_equal(cfg.username ? cfg.username : "(null)", c->username);
	if (c->qos != -1)
		assert_int_equal(cfg.qos, c->qos);
	if (c->topic_count != -1)
		assert_int_equal(cfg.topic_count, c->topic_count);
	if (c->debug != -1)
		assert_int_equal(cfg.debug, c->debug);
	cfg_free(&cfg);
	opt_error_free(&err);
}

/* A file's lines then the command line: the same config accumulates. */
static void test_file_then_argv(void **state)
{
	(void)state;
	static char text[] = "-h filehost\n-q 1\n-t from/file\n";
	FILE *fp = fmemopen(text, strlen(text), "r");
	assert_non_null(fp);
	struct config cfg;
	struct opt_error err = {0};
	cfg_init(&cfg, TOOL_SUB);
	assert_int_equal(optfile_parse(&cfg, fp, &err), OPT_OK);
	fclose(fp);
	char *argv[] = {"prog", "-h", "cmdhost", "-t", "from/argv", NULL};
	assert_int_equal(options_parse(&cfg, 5, argv, &err), OPT_OK);
	assert_string_equal(cfg.host, "cmdhost");
	assert_int_equal(cfg.qos, 1);
	assert_int_equal(cfg.topic_count, 2);
	assert_string_equal(cfg.topics[0], "from/file");
	assert_string_equal(cfg.topics[1], "from/argv");
	cfg_free(&cfg);
}

/* A long line (longer than mosquitto's 1024-byte fgets buffer) is read
 * whole. */
static void test_long_line(void **state)
{
	(void)state;
	size_t n = 5000;
	char *text = malloc(n + 16);
	assert_non_null(text);
	strcpy(text, "-m ");
	memset(text + 3, 'x', n);
	strcpy(text + 3 + n, "\n");
	FILE *fp = fmemopen(text, strlen(text), "r");
	assert_non_null(fp);
	struct config cfg;
	struct opt_error err = {0};
	cfg_init(&cfg, TOOL_PUB);
	assert_int_equal(optfile_parse(&cfg, fp, &err), OPT_OK);
	fclose(fp);
	assert_int_equal(cfg.msglen, n);
	cfg_free(&cfg);
	free(text);
}

/* ---- optfile_path / optfile_load ------------------------------------ */

struct env_saved {
	char *xdg, *home;
};

static int save_env(void **state)
{
	struct env_saved *e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");
	e->xdg = x ? strdup(x) : NULL;
	e->home = h ? strdup(h) : NULL;
	*state = e;
	return 0;
}

static int restore_env(void **state)
{
	struct env_saved *e = *state;
	if (e->xdg)
		setenv("XDG_CONFIG_HOME", e->xdg, 1);
	else
		unsetenv("XDG_CONFIG_HOME");
	if (e->home)
		setenv("HOME", e->home, 1);
	else
		unsetenv("HOME");
	free(e->xdg);
	free(e->home);
	free(e);
	return 0;
}

static void expect_path(enum tool tool, const char *want)
{
	char *p = optfile_path(tool);
	if (!want) {
		if (p)
			fail_msg("expected no path, got \"%s\"", p);
		return;
	}
	if (!p)
		fail_msg("expected \"%s\", got NULL", want);
	assert_string_equal(p, want);
	free(p);
}

static void test_path_xdg(void **state)
{
	(void)state;
	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	setenv("HOME", "/home/u", 1);
	expect_path(TOOL_PUB, "/x/cfg/mosquitto_pub");
	expect_path(TOOL_SUB, "/x/cfg/mosquitto_sub");
	unsetenv("HOME");
	expect_path(TOOL_PUB, "/x/cfg/mosquitto_pub");
	/* set but empty: still used, as mosquitto does */
	setenv("XDG_CONFIG_HOME", "", 1);
	expect_path(TOOL_SUB, "/mosquitto_sub");
}

static void test_path_home(void **state)
{
	(void)state;
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/u", 1);
	expect_path(TOOL_PUB, "/home/u/.config/mosquitto_pub");
	expect_path(TOOL_SUB, "/home/u/.config/mosquitto_sub");
	setenv("HOME", "", 1);
	expect_path(TOOL_PUB, "/.config/mosquitto_pub");
}

static void test_path_none(void **state)
{
	(void)state;
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("HOME");
	expect_path(TOOL_PUB, NULL);
	expect_path(TOOL_SUB, NULL);
	struct config cfg;
	struct opt_error err = {0};
	cfg_init(&cfg, TOOL_SUB);
	assert_int_equal(optfile_load(&cfg, &err), OPT_OK);
	assert_null(err.text);
	cfg_free(&cfg);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_load(void **state)
{
	(void)state;
	char dir[] = "/tmp/smqtt_optfile_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char pubf[128], subf[128], cfgdir[128], homepub[160];
	snprintf(pubf, sizeof(pubf), "%s/mosquitto_pub", dir);
	snprintf(subf, sizeof(subf), "%s/mosquitto_sub", dir);
	snprintf(cfgdir, sizeof(cfgdir), "%s/.config", dir);
	snprintf(homepub, sizeof(homepub), "%s/mosquitto_pub", cfgdir);
	write_file(pubf, "# pub options\n-h xdghost\r\n-q 1\n");
	write_file(subf, "-v\n--bogus\n");
	assert_int_equal(mkdir(cfgdir, 0700), 0);
	write_file(homepub, "-h homehost\n");

	struct config cfg;
	struct opt_error err = {0};

	setenv("XDG_CONFIG_HOME", dir, 1);
	setenv("HOME", dir, 1);
	cfg_init(&cfg, TOOL_PUB);
	assert_int_equal(optfile_load(&cfg, &err), OPT_OK);
	assert_string_equal(cfg.host, "xdghost");
	assert_int_equal(cfg.qos, 1);
	cfg_free(&cfg);

	cfg_init(&cfg, TOOL_SUB);
	assert_int_equal(optfile_load(&cfg, &err), OPT_ERROR);
	assert_string_equal(err.text, "Error: Unknown option '--bogus'.\n");
	assert_true(cfg.verbose);
	cfg_free(&cfg);
	opt_error_free(&err);

	/* HOME fallback reads $HOME/.config/mosquitto_pub */
	unsetenv("XDG_CONFIG_HOME");
	cfg_init(&cfg, TOOL_PUB);
	assert_int_equal(optfile_load(&cfg, &err), OPT_OK);
	assert_string_equal(cfg.host, "homehost");
	cfg_free(&cfg);

	/* no file: nothing happens */
	cfg_init(&cfg, TOOL_SUB);
	assert_int_equal(optfile_load(&cfg, &err), OPT_OK);
	assert_null(cfg.host);
	assert_null(err.text);
	cfg_free(&cfg);

	/* XDG set but without the file: HOME is not tried */
	char empty[160];
	snprintf(empty, sizeof(empty), "%s/none", dir);
	setenv("XDG_CONFIG_HOME", empty, 1);
	cfg_init(&cfg, TOOL_PUB);
	assert_int_equal(optfile_load(&cfg, &err), OPT_OK);
	assert_null(cfg.host);
	cfg_free(&cfg);

	unlink(homepub);
	rmdir(cfgdir);
	unlink(pubf);
	unlink(subf);
	rmdir(dir);
}

int main(void)
{
	int failed = 0;
	struct test_list l = {0};
	for (size_t i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++)
		test_list_add(&l, fcases[i].name, run_fcase, (void *)&fcases[i]);
	failed += test_list_run(&l, "optfile_parse table");

	const struct CMUnitTest misc[] = {
		cmocka_unit_test(test_file_then_argv),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test_setup_teardown(test_path_xdg, save_env, restore_env),
		cmocka_unit_test_setup_teardown(test_path_home, save_env, restore_env),
		cmocka_unit_test_setup_teardown(test_path_none, save_env, restore_env),
		cmocka_unit_test_setup_teardown(test_load, save_env, restore_env),
	};
	failed += cmocka_run_group_tests_name("optfile misc", misc, NULL, NULL);
	return failed ? 1 : 0;
}
