/* cli: shared front half of both mains (see cli.h): the options file, the
 * profile and the command line, in that order of increasing precedence. */
#include "cli.h"
#include "l10n.h"

#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

/* NAME<TAB>HOSTS<TAB>PORT<TAB>FILE, PORT "any" for a profile without one. */
static void list_profiles(struct profiles *ps, const struct diag *d)
{
	bool portless = false;
	qsort(ps->v, ps->n, sizeof(ps->v[0]), cmp_profile);
	for (size_t i = 0; i < ps->n; i++) {
		const struct profile *p = &ps->v[i];
		int port = profile_port(p);
		fputs(p->name, stdout);
		putchar('\t');
		for (size_t h = 0; h < p->nhosts; h++)
			printf("%s%s", h ? "," : "", p->hosts[h]);
		if (port)
			printf("\t%d", port);
		else
			fputs("\tany", stdout);
		printf("\t%s\n", p->file);
		portless |= port == 0 && p->nhosts > 0;
	}
	if (portless)
		diag_info(d, "note: a profile without a port (port 'any') applies to its hosts on every port, as before; "
				"add port = N; to it to keep it to that port (see smqtt-profiles(5))\n");
}

/* Does name resolve to one of the addresses in a (a getaddrinfo list)? */
static bool resolves_into(const char *name, const struct addrinfo *a)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *b = NULL;
	if (getaddrinfo(name, NULL, &hints, &b) != 0)
		return false;
	bool same = false;
	for (const struct addrinfo *x = a; x && !same; x = x->ai_next)
		for (const struct addrinfo *y = b; y && !same; y = y->ai_next)
			same = x->ai_family == y->ai_family && x->ai_addrlen == y->ai_addrlen
				&& !memcmp(x->ai_addr, y->ai_addr, x->ai_addrlen);
	freeaddrinfo(b);
	return same;
}

/* No profile matched host: is one saved for another name (not a pattern)
 * of the same address? One hint line for the trace and --check (resolving
 * costs time, so only then). */
static void same_address_hint(const struct profiles *ps, const char *host, struct config *cfg)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG}, *a = NULL;
	if (!host || getaddrinfo(host, NULL, &hints, &a) != 0)
		return;
	for (size_t i = 0; i < ps->n && !cfg->profile_hint; i++)
		for (size_t h = 0; h < ps->v[i].nhosts && !cfg->profile_hint; h++) {
			const char *name = ps->v[i].hosts[h];
			if (strpbrk(name, "*?[") || !strcasecmp(name, host) || !resolves_into(name, a))
				continue;
			char *hint = NULL;
			if (asprintf(&hint, _("no profile is for %s, but profile '%s' is for %s, the same address; "
					"--profile %s uses it, or add \"%s\" to its hosts"), host, ps->v[i].name, name,
					ps->v[i].name, host) >= 0)
				cfg->profile_hint = hint;
		}
	freeaddrinfo(a);
}

/* Pick the profile for this run from the trial parse. Returns 0 and sets
 * *chosen (possibly NULL), or the exit status after reporting. */
static int choose_profile(const struct config *trial, int port, const struct diag *d, struct profiles *ps,
		const struct profile **chosen, const struct profile **skipped)
{
	char *cause = NULL;
	*chosen = NULL;
	*skipped = NULL;
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
	*chosen = profiles_match(ps, trial->host ? trial->host : "localhost", port);
	if (!*chosen && port != PORT_UNDEFINED)
		*skipped = profiles_match(ps, trial->host ? trial->host : "localhost", PORT_UNDEFINED);
	return 0;
}

/* An option as the trace names it: "-p" or "--cafile". */
static void option_name(const struct option_def *def, char *buf, size_t len)
{
	if (def->shortname)
		snprintf(buf, len, "-%c", def->shortname);
	else
		snprintf(buf, len, "--%s", def->longname);
}

/* A URL value (--proxy) with its password shown as ****, in buf; other
 * values as they are. */
static const char *url_masked(const struct option_def *def, const char *v, char *buf, size_t len)
{
	size_t off, n;
	if (!v || !option_url_password(def, v, &off, &n))
		return v;
	if (strlen(v) - n + 5 > len)
		return "****";
	snprintf(buf, len, "%.*s****%s", (int)off, v, v + off + n);
	return buf;
}

/* Did this source (a parse of the command line, or of the options file
 * and the command line) set the option? */
static bool source_sets(const struct config *src, const struct option_def *def)
{
	if (!strcmp(def->longname, "port"))
		return src->port != PORT_UNDEFINED;
	char *v = config_value_text(src, def);
	bool set = v != NULL;
	free(v);
	return set;
}

/* What the profile supplied, key by key, naming where each option in
 * effect came from; and cfg->profile_supplied for the explanations. cli:
 * the command line alone; trial: the options file and the command line. */
static void trace_profile(const struct diag *d, const struct profile *p, const struct profile *skipped,
		const struct config *trial, const struct config *cli, struct config *cfg)
{
	if (!p) {
		if (skipped)
			diag_trace(d, N_("profile: none applies: '%s' (%s:%d) is for %s port %d, and %s %d on the command line differs "
					"(--profile %s would force it)"), skipped->name, skipped->file, skipped->line,
					trial->host ? trial->host : "localhost", profile_port(skipped),
					"-p", cli->port, skipped->name);
		else
			diag_trace(d, "profile: none applies%s", trial->no_profile ? " (--no-profile)" : "");
		return;
	}
	diag_trace(d, trial->profile_name ? N_("profile: '%s' from %s:%d (chosen by --profile)")
			: N_("profile: '%s' from %s:%d (its hosts match the host)"), p->name, p->file, p->line);
	char supplied[512] = "";
	for (size_t i = 0; i < p->nkv; i++) {
		char mask[64], name[64];
		const struct option_def *def = p->kv[i].def;
		const char *v = p->kv[i].value;
		bool secret = option_secret(def) == SECRET_VALUE;
		char url[512], url2[512];
		if (secret)
			v = diag_mask(v, mask, sizeof(mask));
		else
			v = url_masked(def, v, url, sizeof(url));
		option_name(def, name, sizeof(name));
		if (!source_sets(cli, def)) {
			diag_trace(d, N_("profile:   %s %s (profile '%s', line %d)"), name, v ? v : "", p->name, p->kv[i].line);
			if (strlen(supplied) + strlen(def->longname) + 5 < sizeof(supplied))
				snprintf(supplied + strlen(supplied), sizeof(supplied) - strlen(supplied), "%s--%s",
						supplied[0] ? ", " : "", def->longname);
			continue;
		}
		char *now = !strcmp(def->longname, "port") ? NULL : config_value_text(cfg, def);
		char port[16], mask2[64];
		snprintf(port, sizeof(port), "%d", cfg->port);
		const char *shown = !strcmp(def->longname, "port") ? port : now;
		if (secret && shown)
			shown = diag_mask(shown, mask2, sizeof(mask2));
		else
			shown = url_masked(def, shown, url2, sizeof(url2));
		diag_trace(d, N_("profile:   %s %s (command line; the profile's %s %s is not used)"),
				name, shown ? shown : "", def->longname, v ? v : "true");
		free(now);
	}
	if (supplied[0])
		cfg_set_str(&cfg->profile_supplied, supplied);
}

/* Where each file option in effect came from when not from the command
 * line (cli: the command line alone; trial: the options file and the
 * command line), for the findings that name the file. */
static void note_origins(struct config *cfg, const struct profile *p, const struct config *trial,
		const struct config *cli, const char *optfile)
{
	for (int i = 0; i < 4; i++) {
		const struct option_def *def = option_find_long(cfg_origin_option(i));
		struct file_origin *o = &cfg->file_origin[i];
		if (!def || !cfg_origin_value(cfg, i) || source_sets(cli, def))
			continue;
		for (size_t k = 0; p && k < p->nkv && !o->where; k++)
			if (p->kv[k].def == def && (cfg_set_str(&o->profile, p->name)
					|| asprintf(&o->where, "%s:%d", p->file, p->kv[k].line) < 0))
				o->where = NULL;
		if (o->where || !source_sets(trial, def))
			continue;
		char *path = optfile ? strdup(optfile) : optfile_path(cfg->tool);
		int line = optfile_line(path, def);
		if (path && (line > 0 ? asprintf(&o->where, "%s:%d", path, line) : asprintf(&o->where, "%s", path)) < 0)
			o->where = NULL;
		free(path);
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
	const struct profile *prof = NULL, *skipped = NULL;
	struct config cli;
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
	cfg_init(&cli, cfg->tool);
	cli.compat = cfg->compat;
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
	/* the command line alone: what it sets overrides the profile, and its
	 * -p (or -L URL's port) chooses among the profiles of a host */
	struct opt_error ignored = {0};
	cli.layer = LAYER_CLI;
	options_parse(&cli, argc, argv, &ignored);
	opt_error_free(&ignored);
	if ((*status = choose_profile(&trial, cli.port, d, &ps, &prof, &skipped)) != 0)
		goto out;
	if (trial.list_profiles) {
		list_profiles(&ps, d);
		*status = 0;
		goto out;
	}

	/* Pass 2: options file < profile < command line. */
	cfg->layer = LAYER_OPTFILE;
	rc = optfile ? optfile_load_named(cfg, optfile, &warning, &err) : optfile_load(cfg, &err);
	if (rc == OPT_OK && prof) {
		int pargc = 0;
		char **pargv = profile_words(prof, cfg->tool, &pargc);
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
	diag_set_trace(d, !cfg->quiet && (cfg->trace || (cfg->tool != TOOL_PUB && cfg->verbose && !sub_trace_off
			&& isatty(STDERR_FILENO))));
	if (warning)
		diag_warn(d, "%s", warning);
	if (cfg->compat == COMPAT_21)
		diag_trace(d, "compat: mosquitto 2.1 behaviour");
	else
		diag_trace(d, "compat: mosquitto 2.0 behaviour (the default; --compat 2.1 or SMQTT_COMPAT=2.1 for 2.1)");
	if (optfile)
		diag_trace(d, warning ? N_("options file: %s (-o), not read") : N_("options file: %s (-o)"), optfile);
	trace_profile(d, prof, skipped, &trial, &cli, cfg);
	note_origins(cfg, prof, &trial, &cli, optfile);
	if (!prof && !skipped && !trial.no_profile && (d->trace || cfg->check)) {
		same_address_hint(&ps, cfg->host ? cfg->host : "localhost", cfg);
		if (cfg->profile_hint)
			diag_trace(d, "profile: %s", cfg->profile_hint);
	}
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
	cfg_free(&cli);
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
	/* No core dump, and no ptrace or /proc/PID/mem by other processes of
	 * the user, as ssh-agent: from here on the process may hold a password,
	 * a PSK, a proxy password, a private key or TLS session keys (argv has
	 * held them since exec). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
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
