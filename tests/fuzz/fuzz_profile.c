/* fuzz_profile: libFuzzer harness for saved profiles (common/profile.c):
 * libconfig text through profiles_load (parse, key and value validation,
 * path resolution, permission checks), then every profile turned into
 * options with profile_words + options_parse + options_finish as
 * cli_configure does, host matching, and optionally a --save-profile round
 * trip (profile_save, then the saved file must load again).
 *
 * Everything happens in a private temporary directory made once (under
 * /dev/shm when possible, so the per-input writes stay in memory): HOME,
 * XDG_CONFIG_HOME and SMQTT_SYSCONFDIR point into it, so no real profile is
 * read, and it is removed at exit (or, after a crash, by the next run).
 * Nothing is printed.
 *
 * Input: byte 0 holds flags: bit 0 parses the profiles for smqtt_sub (else
 * smqtt_pub); bit 1 makes the file mode 0644 (else 0600: the permission
 * warnings); bit 2 puts the file in profiles.d/ instead of profiles.conf;
 * bit 3 saves the first profile with --save-profile and reloads it. The
 * rest is the profile file. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "profile.h"

static char root[256];
static char conf_file[320], dropin_file[320], saved_file[320];

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	if (root[0])
		nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_profile: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A crash or leak report ends the process without atexit handlers, so a
 * later run removes the folders of runs that are gone: their names hold
 * the pid. */
static void remove_stale(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[512];
		struct stat st;
		long pid;
		if (sscanf(e->d_name, "smqtt-fuzz-profile-%ld-", &pid) != 1 || pid <= 0
				|| (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid())
			nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	if (d)
		closedir(d);
}

static void setup(void)
{
	const char *bases[] = {"/dev/shm", getenv("TMPDIR"), "/tmp"};
	for (size_t i = 0; i < 3 && !root[0]; i++) {
		if (!bases[i] || !*bases[i])
			continue;
		remove_stale(bases[i]);
		snprintf(root, sizeof(root), "%s/smqtt-fuzz-profile-%ld-XXXXXX", bases[i], (long)getpid());
		if (!mkdtemp(root))
			root[0] = '\0';
	}
	if (!root[0])
		die("mkdtemp");
	atexit(cleanup);
	char dir[320];
	snprintf(dir, sizeof(dir), "%s/xdg", root);
	if (mkdir(dir, 0700))
		die(dir);
	snprintf(dir, sizeof(dir), "%s/xdg/smqtt", root);
	if (mkdir(dir, 0700))
		die(dir);
	snprintf(dir, sizeof(dir), "%s/xdg/smqtt/profiles.d", root);
	if (mkdir(dir, 0700))
		die(dir);
	snprintf(conf_file, sizeof(conf_file), "%s/xdg/smqtt/profiles.conf", root);
	snprintf(dropin_file, sizeof(dropin_file), "%s/xdg/smqtt/profiles.d/50-fuzz.conf", root);
	snprintf(saved_file, sizeof(saved_file), "%s/xdg/smqtt/profiles.d/fuzzsaved.conf", root);
	snprintf(dir, sizeof(dir), "%s/xdg", root);
	setenv("HOME", root, 1);
	setenv("XDG_CONFIG_HOME", dir, 1);
	snprintf(dir, sizeof(dir), "%s/etc", root); /* never created: no system file */
	setenv("SMQTT_SYSCONFDIR", dir, 1);
	unsetenv("SMQTT_PROFILES");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setup();
	return 0;
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_profile: %s\n", what);
		abort();
	}
}

/* --save-profile of p's options, then the saved file must load again and
 * hold the same host. */
static void save_round_trip(const struct profile *p, const struct config *cfg)
{
	if (!p->nhosts)
		return;
	struct profile_save_req req = {
		.name = "fuzzsaved", .cfg = cfg, .host = p->hosts[0],
		.port = cfg->port > 0 ? cfg->port : 0,
	};
	char *path = NULL, *cause = NULL;
	if (profile_save(&req, &path, &cause) == 0) {
		struct profiles back;
		char *lcause = NULL;
		profiles_init(&back);
		int rc = profiles_load_file(&back, path, true, &lcause);
		if (rc)
			fprintf(stderr, "fuzz_profile: the saved profile does not load: %s\n", lcause ? lcause : "?");
		check(rc == 0, "a profile written by profile_save must load again");
		const struct profile *q = profiles_find(&back, "fuzzsaved");
		check(q && q->nhosts == 1 && !strcmp(q->hosts[0], p->hosts[0]), "the saved profile keeps its host");
		free(lcause);
		profiles_free(&back);
	}
	free(path);
	free(cause);
	unlink(saved_file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	data++;
	size--;

	const char *file = (flags & 4) ? dropin_file : conf_file;
	unlink((flags & 4) ? conf_file : dropin_file);
	FILE *fp = fopen(file, "w");
	if (!fp)
		die(file);
	if (size && fwrite(data, 1, size, fp) != size)
		die(file);
	if (fclose(fp))
		die(file);
	if (chmod(file, (flags & 2) ? 0644 : 0600))
		die(file);

	struct profiles ps;
	char *cause = NULL;
	profiles_init(&ps);
	int rc = profiles_load(&ps, &cause);
	/* cli_configure prints cause for every failure: it must be there. */
	check(rc == 0 || cause != NULL, "profiles_load failed without a cause");
	free(cause);

	enum tool tool = (flags & 1) ? TOOL_SUB : TOOL_PUB;
	for (size_t i = 0; rc == 0 && i < ps.n; i++) {
		const struct profile *p = &ps.v[i];
		check(profiles_find(&ps, p->name) == p, "profiles_find finds each profile (names are unique)");
		/* an exact host name (no glob characters) matches its profile or
		 * an earlier one */
		for (size_t h = 0; h < p->nhosts; h++) {
			const struct profile *m = profiles_match(&ps, p->hosts[h], -1);
			check(strpbrk(p->hosts[h], "*?[") || (m && m <= p), "an exact host matches its profile");
			/* its own port (or any port, for a profile without one) too */
			m = profiles_match(&ps, p->hosts[h], profile_port(p) > 0 ? profile_port(p) : 1883);
			check(strpbrk(p->hosts[h], "*?[") || (m && m <= p), "an exact host matches its profile on its port");
		}

		struct config cfg;
		struct opt_error err = {0};
		int argc = 0;
		cfg_init(&cfg, tool);
		char **words = profile_words(p, tool, &argc);
		check(words != NULL, "profile_words");
		cfg.layer = LAYER_PROFILE;
		enum opt_status orc = options_parse(&cfg, argc, words, &err);
		/* every key was validated on its own when the file was loaded, so
		 * the profile as a whole must parse too */
		if (orc != OPT_OK)
			fprintf(stderr, "fuzz_profile: profile '%s' loaded but does not parse: %s", p->name,
					err.text ? err.text : "?\n");
		check(orc == OPT_OK, "a loaded profile parses");
		profile_words_free(words, argc);
		cfg.layer = LAYER_CLI;
		(void)options_finish(&cfg, &err);
		for (const struct option_def *d = option_table; d->shortname || d->longname; d++)
			free(config_value_text(&cfg, d));
		if ((flags & 8) && i == 0)
			save_round_trip(p, &cfg);
		opt_error_free(&err);
		cfg_free(&cfg);
	}
	static const char *hosts[] = {"localhost", "broker.lan", "a.factory.lan", "172.32.100.10", "::1", ""};
	for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++)
		for (int port = -1; port <= 8883; port += 8884 / 2)
			(void)profiles_match(&ps, hosts[h], port);
	free(profiles_names(&ps));
	profiles_free(&ps);
	return 0;
}
