/* test_profile: saved profiles, table-driven: host glob matching, the
 * precedence of command line > profile > mosquitto options file > defaults
 * (through cli_configure, as the tools run it), relative and ~ paths, every
 * kind of file error with its line number, permission warnings, and the
 * profiles.d folder (name order; empty). */
#include "test_common.h"

#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "options.h"
#include "profile.h"

static char tmpdir[256];

static char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	chmod(path, mode);
	return path;
}

/* ---- glob matching ---------------------------------------------------- */

static const struct { const char *pattern, *host; bool match; } globs[] = {
	{"broker.lan", "broker.lan", true},
	{"broker.lan", "BROKER.LAN", true},
	{"broker.lan", "broker.lan.evil", false},
	{"*.factory.lan", "a.factory.lan", true},
	{"*.factory.lan", "a.b.factory.lan", true},
	{"*.factory.lan", "factory.lan", false},
	{"172.32.100.10", "172.32.100.10", true},
	{"172.32.100.1", "172.32.100.10", false},
	{"172.32.100.*", "172.32.100.10", true},
	{"172.32.?00.10", "172.32.100.10", true},
	{"plc[0-9]", "plc7", true},
	{"plc[0-9]", "plcx", false},
	{"*", "anything", true},
	{"localhost", "localhost", true},
	{"::1", "::1", true},
};

static void test_glob(void **state)
{
	const size_t i = (size_t)(uintptr_t)*state;
	if (profile_host_matches(globs[i].pattern, globs[i].host) != globs[i].match)
		fail_msg("%s vs %s: expected %s", globs[i].pattern, globs[i].host, globs[i].match ? "match" : "no match");
}

/* ---- file errors ------------------------------------------------------- */

static const struct { const char *name, *text; int line; const char *want; } errors[] = {
	{"syntax", "a: {\n  port = = 1;\n};\n", 2, "syntax error"},
	{"unknown key", "a: {\n  hosts = [\"x\"];\n  colour = \"red\";\n};\n", 3, "unknown key 'colour'"},
	{"int as string", "a: {\n  port = \"8883\";\n};\n", 2, "must be an integer"},
	{"string as int", "a: {\n\n  cafile = 3;\n};\n", 3, "must be a string"},
	{"bool as string", "a: {\n  insecure = \"yes\";\n};\n", 2, "must be true or false"},
	{"port out of range", "a: {\n  port = 70000;\n};\n", 2, "Invalid port given: 70000"},
	{"keepalive too small", "a: {\n  keepalive = 2;\n};\n", 2, "Invalid keepalive"},
	{"bad protocol", "a: {\n  protocol-version = \"mqttv4\";\n};\n", 2, "Invalid protocol version"},
	{"bad tls version", "a: {\n  tls-version = \"tlsv9\";\n};\n", 2, "'tls-version'"},
	{"per-run key", "a: {\n  topic = \"t\";\n};\n", 2, "describes a single run"},
	{"per-run qos", "a: {\n  hosts = [\"x\"];\n  qos = 1;\n};\n", 3, "describes a single run"},
	{"not a group", "a = 1;\n", 1, "not a profile"},
	{"hosts not strings", "a: {\n  hosts = [1, 2];\n};\n", 2, "hosts"},
	{"hosts empty string", "a: {\n  hosts = [\"\"];\n};\n", 2, "non-empty"},
	{"bad diag-format", "a: {\n  diag-format = \"xml\";\n};\n", 2, "Invalid --diag-format"},
};

static void test_file_error(void **state)
{
	const size_t i = (size_t)(uintptr_t)*state;
	char name[64];
	snprintf(name, sizeof(name), "err%zu.conf", i);
	char *path = strdup(write_file(name, errors[i].text, 0600));
	struct profiles ps;
	char *cause = NULL;
	profiles_init(&ps);
	assert_int_equal(profiles_load_file(&ps, path, true, &cause), -1);
	assert_non_null(cause);
	char prefix[600];
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, errors[i].line);
	if (strncmp(cause, prefix, strlen(prefix)) || !strstr(cause, errors[i].want))
		fail_msg("%s: got '%s', expected '%s...%s'", errors[i].name, cause, prefix, errors[i].want);
	free(cause);
	free(path);
	profiles_free(&ps);
}

/* ---- relative paths and permissions ------------------------------------ */

static void test_relative_paths(void **state)
{
	(void)state;
	char *path = strdup(write_file("rel.conf",
			"r: {\n  hosts = [\"h\"];\n  cafile = \"certs/ca.crt\";\n  cert = \"/abs/c.crt\";\n"
			"  key = \"~/keys/c.key\";\n  capath = \"../cas\";\n};\n", 0600));
	struct profiles ps;
	char *cause = NULL, want[600];
	profiles_init(&ps);
	setenv("HOME", "/home/tester", 1);
	assert_int_equal(profiles_load_file(&ps, path, true, &cause), 0);
	const struct profile *p = profiles_find(&ps, "r");
	assert_non_null(p);
	for (size_t i = 0; i < p->nkv; i++) {
		const char *k = p->kv[i].def->longname, *v = p->kv[i].value;
		if (!strcmp(k, "cafile")) {
			snprintf(want, sizeof(want), "%s/certs/ca.crt", tmpdir);
			assert_string_equal(v, want);
		} else if (!strcmp(k, "cert")) {
			assert_string_equal(v, "/abs/c.crt");
		} else if (!strcmp(k, "key")) {
			assert_string_equal(v, "/home/tester/keys/c.key");
		} else if (!strcmp(k, "capath")) {
			snprintf(want, sizeof(want), "%s/../cas", tmpdir);
			assert_string_equal(v, want);
		}
	}
	assert_int_equal(p->nkv, 4);
	profiles_free(&ps);
	free(path);
}

static const struct { const char *name, *text; mode_t mode; bool warn; const char *want; } perms[] = {
	{"password, readable", "s: {\n  hosts = [\"h\"];\n  pw = \"x\";\n};\n", 0644, true, "password"},
	{"password, group readable", "s: {\n  hosts = [\"h\"];\n  pw = \"x\";\n};\n", 0640, true, "chmod 600"},
	{"password, private", "s: {\n  hosts = [\"h\"];\n  pw = \"x\";\n};\n", 0600, false, NULL},
	{"psk, readable", "s: {\n  hosts = [\"h\"];\n  psk = \"abcd\";\n  psk-identity = \"i\";\n};\n", 0644, true, "PSK"},
	{"no secret, readable", "s: {\n  hosts = [\"h\"];\n  port = 1;\n};\n", 0644, false, NULL},
};

static void test_permissions(void **state)
{
	const size_t i = (size_t)(uintptr_t)*state;
	char name[64];
	snprintf(name, sizeof(name), "perm%zu.conf", i);
	char *path = strdup(write_file(name, perms[i].text, perms[i].mode));
	struct profiles ps;
	char *cause = NULL;
	profiles_init(&ps);
	assert_int_equal(profiles_load_file(&ps, path, true, &cause), 0);
	const struct profile *p = profiles_find(&ps, "s");
	assert_non_null(p);
	assert_int_equal(p->nwarnings > 0, perms[i].warn);
	if (perms[i].warn && !strstr(p->warnings[0], perms[i].want))
		fail_msg("%s: warning '%s' lacks '%s'", perms[i].name, p->warnings[0], perms[i].want);
	for (size_t w = 0; w < p->nwarnings; w++)
		assert_null(strstr(p->warnings[w], "\"x\""));
	profiles_free(&ps);
	free(path);
}

static void test_key_permission_warning(void **state)
{
	(void)state;
	char *key = strdup(write_file("loose.key", "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n", 0644));
	char text[800];
	snprintf(text, sizeof(text), "k: {\n  hosts = [\"h\"];\n  key = \"%s\";\n  cert = \"%s\";\n};\n", key, key);
	char *path = strdup(write_file("keyperm.conf", text, 0600));
	struct profiles ps;
	char *cause = NULL;
	profiles_init(&ps);
	assert_int_equal(profiles_load_file(&ps, path, true, &cause), 0);
	const struct profile *p = profiles_find(&ps, "k");
	assert_non_null(p);
	assert_true(p->nwarnings >= 1);
	assert_non_null(strstr(p->warnings[0], "private key"));
	profiles_free(&ps);
	free(path);
	free(key);
}

/* ---- precedence: command line > profile > options file > defaults ------ */

struct prec_row {
	const char *name;
	const char *optfile;    /* mosquitto_pub options file, or NULL */
	const char *profile;    /* body of profile "p" (hosts = ["localhost"]), or NULL */
	const char *argv[8];
	int port, keepalive;
	const char *username;
};

static const struct prec_row prec[] = {
	{"defaults", NULL, NULL, {NULL}, PORT_UNDEFINED, 60, NULL},
	{"options file", "-p 1001\n-k 11\n", NULL, {NULL}, 1001, 11, NULL},
	{"profile", NULL, "port = 2002; keepalive = 22;", {NULL}, 2002, 22, NULL},
	{"profile over options file", "-p 1001\n-k 11\n-u fileuser\n", "port = 2002;", {NULL}, 2002, 11, "fileuser"},
	{"command line over profile", NULL, "port = 2002; keepalive = 22;", {"--profile", "p", "-p", "3003", NULL},
		3003, 22, NULL},
	{"-p other than the profile's port: no automatic profile", NULL, "port = 2002; keepalive = 22;",
		{"-p", "3003", NULL}, 3003, 60, NULL},
	{"-p the profile's port: it applies", NULL, "port = 2002; keepalive = 22;", {"-p", "2002", NULL}, 2002, 22, NULL},
	{"a profile without a port applies on any -p", NULL, "keepalive = 22;", {"-p", "3003", NULL}, 3003, 22, NULL},
	{"the options file's -p does not choose", "-p 1001\n", "port = 2002; keepalive = 22;", {NULL}, 2002, 22, NULL},
	{"command line over both", "-p 1001\n-u fileuser\n", "port = 2002; username = \"profuser\";",
		{"-p", "3003", "-u", "cliuser", NULL}, 3003, 60, "cliuser"},
	{"profile username over file", "-u fileuser\n", "username = \"profuser\";", {NULL}, PORT_UNDEFINED, 60, "profuser"},
	{"--no-profile keeps the file", "-p 1001\n", "port = 2002;", {"--no-profile", NULL}, 1001, 60, NULL},
	{"profile not matching the host", "-p 1001\n", "port = 2002;", {"-h", "elsewhere", NULL}, 1001, 60, NULL},
	{"--profile by name for another host", NULL, "port = 2002;", {"-h", "elsewhere", "--profile", "p", NULL},
		2002, 60, NULL},
};

static void test_precedence(void **state)
{
	const struct prec_row *r = *state;
	char xdg[300], optfile[400], profile[400];
	snprintf(xdg, sizeof(xdg), "%s/xdg-%p", tmpdir, (const void *)r);
	mkdir(xdg, 0700);
	snprintf(optfile, sizeof(optfile), "%s/mosquitto_pub", xdg);
	unlink(optfile);
	if (r->optfile) {
		FILE *fp = fopen(optfile, "w");
		fputs(r->optfile, fp);
		fclose(fp);
	}
	snprintf(profile, sizeof(profile), "%s/profiles.conf", xdg);
	FILE *fp = fopen(profile, "w");
	if (r->profile)
		fprintf(fp, "p: {\n  hosts = [\"localhost\"];\n  %s\n};\n", r->profile);
	fclose(fp);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	setenv("SMQTT_PROFILES", profile, 1);

	const char *words[16] = {"smqtt_pub"};
	int argc = 1;
	for (int i = 0; r->argv[i]; i++)
		words[argc++] = r->argv[i];
	words[argc++] = "-t";
	words[argc++] = "t";
	words[argc++] = "-m";
	words[argc++] = "m";
	struct config cfg;
	struct diag d;
	int status = -1;
	cfg_init(&cfg, TOOL_PUB);
	diag_init(&d, TOOL_PUB, "smqtt_pub");
	enum cli_next next = cli_configure(&cfg, &d, argc, (char **)words, &status);
	assert_int_equal(next, CLI_RUN);
	assert_int_equal(cfg.port, r->port);
	assert_int_equal(cfg.keepalive, r->keepalive);
	if (r->username)
		assert_string_equal(cfg.username, r->username);
	else
		assert_null(cfg.username);
	cfg_free(&cfg);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("SMQTT_PROFILES");
}

/* profiles.d: read in name order; an empty one (or one without a .conf
 * file) is no error. Found by fuzz_profile: qsort was handed a NULL list. */
static void test_profiles_dir(void **state)
{
	(void)state;
	char xdg[300], dir[400], path[500];
	snprintf(xdg, sizeof(xdg), "%s/xdg-dropin", tmpdir);
	snprintf(dir, sizeof(dir), "%s/smqtt", xdg);
	mkdir(xdg, 0700);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/smqtt/profiles.d", xdg);
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/README", dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("not a profile\n", fp);
	fclose(fp);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	setenv("SMQTT_SYSCONFDIR", dir, 1); /* no profiles.conf there */
	unsetenv("SMQTT_PROFILES");

	struct profiles ps;
	char *cause = NULL;
	profiles_init(&ps);
	assert_int_equal(profiles_load(&ps, &cause), 0);
	assert_null(cause);
	assert_int_equal(ps.n, 0);
	profiles_free(&ps);

	static const struct { const char *name, *text; } files[] = {
		{"20-b.conf", "p: { hosts = [\"from-b\"]; };\nb: { hosts = [\"b\"]; };\n"},
		{"10-a.conf", "p: { hosts = [\"from-a\"]; };\n"},
	};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].name);
		fp = fopen(path, "w");
		assert_non_null(fp);
		fputs(files[i].text, fp);
		fclose(fp);
	}
	profiles_init(&ps);
	assert_int_equal(profiles_load(&ps, &cause), 0);
	assert_int_equal(ps.n, 2);
	const struct profile *p = profiles_find(&ps, "p");
	assert_non_null(p);
	assert_string_equal(p->hosts[0], "from-a"); /* 10-a.conf is read first */
	profiles_free(&ps);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("SMQTT_SYSCONFDIR");
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/smqtt-unit-profile-XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	struct test_list l = {0};
	for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++)
		test_list_addf(&l, test_glob, (void *)(uintptr_t)i, "glob %s vs %s", globs[i].pattern, globs[i].host);
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		test_list_addf(&l, test_file_error, (void *)(uintptr_t)i, "file error: %s", errors[i].name);
	for (size_t i = 0; i < sizeof(perms) / sizeof(perms[0]); i++)
		test_list_addf(&l, test_permissions, (void *)(uintptr_t)i, "permissions: %s", perms[i].name);
	for (size_t i = 0; i < sizeof(prec) / sizeof(prec[0]); i++)
		test_list_addf(&l, test_precedence, (void *)&prec[i], "precedence: %s", prec[i].name);
	test_list_add(&l, "relative and ~ paths", test_relative_paths, NULL);
	test_list_add(&l, "readable private key", test_key_permission_warning, NULL);
	test_list_add(&l, "profiles.d: empty, then name order", test_profiles_dir, NULL);
	int rc = test_list_run(&l, "profile");
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
