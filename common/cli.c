/* cli: shared front half of both mains (see cli.h): the options file, the
 * profile and the command line, in that order of increasing precedence. */
#include "cli.h"
#include "l10n.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <mosquitto.h>
#include <openssl/crypto.h>

#include "optfile.h"
#include "profile.h"
#include "secret.h"

void cli_print_usage(const struct diag *d)
{
	char *text = options_usage(d->tool, d->prog);
	if (text)
		fputs(text, stdout);
	free(text);
}

static void print_version(const struct diag *d)
{
	int major, minor, rev;
	mosquitto_lib_version(&major, &minor, &rev);
	printf("%s version %s running on libmosquitto %d.%d.%d.\n", d->prog, SMQTT_VERSION, major, minor, rev);
}

/* Report an option problem as mosquitto does; returns the exit status. */
static int report_status(const struct diag *d, enum opt_status rc, struct opt_error *err)
{
	switch (rc) {
	case OPT_HELP: cli_print_usage(d); break;
	case OPT_VERSION: print_version(d); break;
	case OPT_ERROR: diag_usage_error(d, err->local ? err->local : err->text); break;
	case OPT_OK: break;
	}
	opt_error_free(err);
	return 1;
}

static int cmp_profile(const void *a, const void *b)
{
	return strcmp(((const struct profile *)a)->name, ((const struct profile *)b)->name);
}

static void list_profiles(struct profiles *ps)
{
	qsort(ps->v, ps->n, sizeof(ps->v[0]), cmp_profile);
	for (size_t i = 0; i < ps->n; i++) {
		const struct profile *p = &ps->v[i];
		fputs(p->name, stdout);
		putchar('\t');
		for (size_t h = 0; h < p->nhosts; h++)
			printf("%s%s", h ? "," : "", p->hosts[h]);
		printf("\t%s\n", p->file);
	}
}

/* Pick the profile for this run from the trial parse. Returns 0 and sets
 * *chosen (possibly NULL), or the exit status after reporting. */
static int choose_profile(const struct config *trial, const struct diag *d, struct profiles *ps,
		const struct profile **chosen)
{
	char *cause = NULL;
	*chosen = NULL;
	if (trial->no_profile && !trial->list_profiles)
		return 0;
	if (profiles_load(ps, &cause)) {
		diag_report(d, cause, N_("the profile file could not be used, so nothing was sent"),
				N_("correct the line named above, or run with --no-profile"));
		free(cause);
		return 1;
	}
	if (trial->list_profiles)
		return 0;
	if (trial->profile_name) {
		*chosen = profiles_find(ps, trial->profile_name);
		if (!*chosen) {
			char *names = profiles_names(ps);
			char *what = NULL, *why = NULL;
			if (asprintf(&what, _("--profile %s: no such profile"), trial->profile_name) < 0)
				what = NULL;
			if (ps->n ? asprintf(&why, _("the saved profiles are: %s"), names) < 0
					: !(why = strdup(_("there are no saved profiles"))))
				why = NULL;
			char fix[400];
			snprintf(fix, sizeof(fix), _("run '%s --list-profiles' to see them, or save one with --save-profile NAME"), d->prog);
			diag_report(d, what ? what : "no such profile", why, fix);
			free(names);
			free(what);
			free(why);
			return 1;
		}
		return 0;
	}
	*chosen = profiles_match(ps, trial->host ? trial->host : "localhost");
	return 0;
}

static void trace_profile(const struct diag *d, const struct profile *p, const struct config *trial)
{
	if (!d->trace)
		return;
	if (!p) {
		diag_trace(d, "profile: none applies%s", trial->no_profile ? " (--no-profile)" : "");
		return;
	}
	diag_trace(d, trial->profile_name ? N_("profile: '%s' from %s:%d (chosen by --profile)")
			: N_("profile: '%s' from %s:%d (its hosts match the host)"), p->name, p->file, p->line);
	for (size_t i = 0; i < p->nkv; i++) {
		char mask[64];
		const char *v = p->kv[i].value;
		const char *name = p->kv[i].def->longname;
		if (option_secret(p->kv[i].def) == SECRET_VALUE)
			v = diag_mask(v, mask, sizeof(mask));
		diag_trace(d, "profile:   %s = %s (line %d)", name, v ? v : "true", p->kv[i].line);
	}
}

static void warn_profile(const struct diag *d, const struct profile *p)
{
	for (size_t i = 0; p && i < p->nwarnings; i++)
		diag_warn(d, "%s\n", p->warnings[i]);
}

/* --password-file: the password becomes the file's content. */
static int read_password_file(struct config *cfg, const struct diag *d)
{
	char *pw = NULL, *cause = NULL;
	bool loose = false;
	if (secret_read_password_file(cfg->password_file, &pw, &loose, &cause) != 0) {
		diag_report(d, cause ? cause : "--password-file: out of memory",
				N_("the password for this run comes from that file, so nothing was sent"),
				N_("point --password-file at a readable file that holds the password and nothing else"));
		free(cause);
		return -1;
	}
	if (loose)
		diag_warn(d, "%s: the password file can be read by other users; fix: chmod 600 %s\n",
				cfg->password_file, cfg->password_file);
	diag_trace(d, "password: read from --password-file %s", cfg->password_file);
	int rc = cfg_set_str(&cfg->password, pw);
	explicit_bzero(pw, strlen(pw));
	free(pw);
	return rc;
}

/* Before any parsing, as mosquitto 2.1 does: -o found by a scan of argv
 * (any word "-o"), and the compat mode from $SMQTT_COMPAT, then from a
 * --compat on the command line, so that every source is parsed in it. */
static int early_settings(struct config *cfg, const struct diag *d, int argc, char *argv[],
		const char **optfile)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-o"))
			continue;
		if (*optfile) {
			diag_usage_error(d, "Error: Duplicate -o argument given.\n\n");
			return -1;
		}
		if (i == argc - 1) {
			diag_usage_error(d, "Error: -o argument given but no options file specified.\n\n");
			return -1;
		}
		*optfile = argv[i + 1];
	}
	const char *env = getenv("SMQTT_COMPAT");
	if (env && *env) {
		int c = options_compat_from_name(env);
		if (!c) {
			char what[160];
			snprintf(what, sizeof(what), "SMQTT_COMPAT=%.100s: not a mosquitto version smqtt mimics", env);
			diag_report(d, what, N_("smqtt behaves as mosquitto 2.0 or as 2.1 where the two disagree"),
					N_("set SMQTT_COMPAT to 2.0 or 2.1, or unset it"));
			return -1;
		}
		cfg->compat = (enum compat)c;
	}
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--compat") && options_compat_from_name(argv[i + 1]))
			cfg->compat = (enum compat)options_compat_from_name(argv[i + 1]);
	return 0;
}

enum cli_next cli_configure(struct config *cfg, struct diag *d, int argc, char *argv[], int *status)
{
	struct opt_error err = {0};
	struct config trial;
	struct profiles ps;
	const struct profile *prof = NULL;
	enum cli_next next = CLI_EXIT;

	/* A closed stdout must end the run through ferror(), not SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	*status = 1;
	profiles_init(&ps);

	const char *optfile = NULL;
	if (early_settings(cfg, d, argc, argv, &optfile) != 0)
		goto out_early;

	/* Pass 1: the options file and the command line alone, to learn the
	 * host and the profile options. */
	cfg_init(&trial, cfg->tool);
	trial.compat = cfg->compat;
	char *warning = NULL;
	enum opt_status rc = optfile ? optfile_load_named(&trial, optfile, &warning, &err) : optfile_load(&trial, &err);
	free(warning);
	trial.layer = LAYER_CLI;
	if (rc == OPT_OK)
		rc = options_parse(&trial, argc, argv, &err);
	d->quiet = trial.quiet;
	if (rc != OPT_OK) {
		*status = report_status(d, rc, &err);
		goto out;
	}
	if (trial.save_profile && !profile_name_valid(trial.save_profile)) {
		char *what = NULL;
		if (asprintf(&what, "--save-profile %s: not a valid profile name", trial.save_profile) < 0)
			what = NULL;
		diag_report(d, what ? what : "--save-profile: not a valid profile name",
				N_("a profile name is also a libconfig group name"),
				N_("use letters, digits, '-' and '_', starting with a letter"));
		free(what);
		goto out;
	}
	if ((*status = choose_profile(&trial, d, &ps, &prof)) != 0)
		goto out;
	if (trial.list_profiles) {
		list_profiles(&ps);
		*status = 0;
		goto out;
	}

	/* Pass 2: options file < profile < command line. */
	cfg->layer = LAYER_OPTFILE;
	rc = optfile ? optfile_load_named(cfg, optfile, &warning, &err) : optfile_load(cfg, &err);
	if (rc == OPT_OK && prof) {
		int pargc = 0;
		char **pargv = profile_words(prof, &pargc);
		cfg->layer = LAYER_PROFILE;
		rc = pargv ? options_parse(cfg, pargc, pargv, &err) : OPT_ERROR;
		profile_words_free(pargv, pargc);
		if (cfg_set_str(&cfg->applied_profile, prof->name) || asprintf(&cfg->applied_profile_from, "%s:%d", prof->file, prof->line) < 0)
			rc = OPT_ERROR;
	}
	cfg->layer = LAYER_CLI;
	if (rc == OPT_OK) {
		rc = options_parse(cfg, argc, argv, &err);
		secret_scrub_argv(argc, argv, cfg);
	}
	if (rc == OPT_OK)
		rc = options_finish(cfg, &err);
	d->quiet = cfg->quiet;
	if (rc != OPT_OK) {
		*status = report_status(d, rc, &err);
		goto out;
	}
	/* smqtt_sub -v traces on a terminal, unless SMQTT_SUB_TRACE=0 (errors stay) */
	const char *st = getenv("SMQTT_SUB_TRACE");
	bool sub_trace_off = st && (!strcmp(st, "0") || !strcasecmp(st, "off") || !strcasecmp(st, "no") || !strcasecmp(st, "false"));
	diag_set_trace(d, !cfg->quiet && (cfg->trace || (cfg->tool == TOOL_SUB && cfg->verbose && !sub_trace_off
			&& isatty(STDERR_FILENO))));
	if (warning)
		diag_warn(d, "%s", warning);
	if (cfg->compat == COMPAT_21)
		diag_trace(d, "compat: mosquitto 2.1 behaviour");
	else
		diag_trace(d, "compat: mosquitto 2.0 behaviour (the default; --compat 2.1 or SMQTT_COMPAT=2.1 for 2.1)");
	if (optfile)
		diag_trace(d, warning ? N_("options file: %s (-o), not read") : N_("options file: %s (-o)"), optfile);
	trace_profile(d, prof, &trial);
	warn_profile(d, prof);
	if (cfg->no_tls && cfg->no_tls_dropped)
		diag_trace(d, "tls: off (--no-tls); ignored: %s", cfg->no_tls_dropped);
	else if (cfg->no_tls)
		diag_trace(d, "tls: off (--no-tls)");
	if (cfg->password_file && read_password_file(cfg, d) != 0) {
		*status = 1;
		goto out;
	}
	if (prof && cfg->debug)
		printf("smqtt: using profile '%s' from %s (matched %s)\n", prof->name, cfg->applied_profile_from,
				trial.profile_name ? "by --profile" : "by host");
	next = CLI_RUN;
out:
	free(warning);
	cfg_free(&trial);
	profiles_free(&ps);
out_early:
	return next;
}

/* OpenSSL frees its method stores, providers and tables at exit unless told
 * not to: 1.3 M instructions, 7% of a resumed --tls-resume publish, spent
 * just before the kernel takes the whole address space back. What stays
 * allocated is still referenced from OpenSSL's globals (valgrind: "still
 * reachable"). */
void cli_lib_init(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	mosquitto_lib_init();
}

void cli_lib_cleanup(const struct config *cfg)
{
	mosquitto_lib_cleanup();
	if (cfg->tls_engine)
		OPENSSL_cleanup();
}

int cli_finish(int status)
{
	/* Earlier write errors were handled where they happened. */
	clearerr(stdout);
	errno = 0;
	if (fflush(stdout) == EOF && errno != EPIPE)
		return status ? status : 1;
	return status;
}
