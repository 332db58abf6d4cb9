/* profile: loading, validating and matching saved profiles (see profile.h).
 * Validation feeds every key through the option parser, so a profile accepts
 * exactly what the command line accepts, and errors name file:line. */
#include "profile.h"

#include "atomicfile.h"
#include "tls.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

void profiles_init(struct profiles *ps)
{
	memset(ps, 0, sizeof(*ps));
}

static void profile_free(struct profile *p)
{
	free(p->name);
	free(p->file);
	for (size_t i = 0; i < p->nhosts; i++)
		free(p->hosts[i]);
	free(p->hosts);
	for (size_t i = 0; i < p->nkv; i++)
		cfg_set_str(&p->kv[i].value, NULL); /* wipes secrets */
	free(p->kv);
	for (size_t i = 0; i < p->nwarnings; i++)
		free(p->warnings[i]);
	free(p->warnings);
	memset(p, 0, sizeof(*p));
}

void profiles_free(struct profiles *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		profile_free(&ps->v[i]);
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

static void add_warning(struct profile *p, char *w)
{
	char **g = w ? realloc(p->warnings, (p->nwarnings + 1) * sizeof(char *)) : NULL;
	if (!g) {
		free(w);
		return;
	}
	p->warnings = g;
	g[p->nwarnings++] = w;
}

const struct profile *profiles_find(const struct profiles *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->v[i].name, name))
			return &ps->v[i];
	return NULL;
}

bool profile_host_matches(const char *pattern, const char *host)
{
	if (strpbrk(pattern, "*?["))
		return fnmatch(pattern, host, FNM_CASEFOLD) == 0;
	return strcasecmp(pattern, host) == 0;
}

int profile_port(const struct profile *p)
{
	for (size_t i = 0; i < p->nkv; i++)
		if (!strcmp(p->kv[i].def->longname, "port") && p->kv[i].value) {
			char *end = NULL;
			long v = strtol(p->kv[i].value, &end, 10);
			return end && !*end && v >= 0 && v <= 65535 ? (int)v : 0;
		}
	return 0;
}

const struct profile *profiles_match(const struct profiles *ps, const char *host, int port)
{
	if (!host)
		return NULL;
	for (size_t i = 0; i < ps->n; i++) {
		int pp = profile_port(&ps->v[i]);
		if (port >= 0 && pp && pp != port)
			continue; /* saved for another port of this host */
		for (size_t h = 0; h < ps->v[i].nhosts; h++)
			if (profile_host_matches(ps->v[i].hosts[h], host))
				return &ps->v[i];
	}
	return NULL;
}

char *profiles_names(const struct profiles *ps)
{
	size_t len = 1;
	for (size_t i = 0; i < ps->n; i++)
		len += strlen(ps->v[i].name) + 2;
	char *s = calloc(1, len);
	if (!s)
		return NULL;
	for (size_t i = 0; i < ps->n; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, ps->v[i].name);
	}
	return s;
}

/* "~/x" → $HOME/x; a relative path → relative to the profile's folder. */
static char *resolve_path(const char *value, const char *file)
{
	const char *home = getenv("HOME");
	if ((value[0] == '~' && (value[1] == '/' || value[1] == '\0')) && home)
		return xasprintf("%s%s", home, value + 1);
	if (value[0] == '/')
		return strdup(value);
	const char *slash = strrchr(file, '/');
	if (!slash)
		return strdup(value);
	return xasprintf("%.*s/%s", (int)(slash - file), file, value);
}

static bool is_path_option(const struct option_def *def)
{
	return def->argname && (!strcmp(def->argname, "file") || !strcmp(def->argname, "dir")
			|| !strcmp(def->argname, "path"));
}

static bool is_secret_option(const struct option_def *def)
{
	return option_secret(def) == SECRET_VALUE;
}

char **profile_words(const struct profile *p, enum tool tool, int *argc)
{
	char **w = calloc(p->nkv * 2 + 2, sizeof(char *));
	int n = 0;
	if (!w)
		return NULL;
	w[n++] = strdup("profile");
	for (size_t i = 0; i < p->nkv; i++) {
		if (!option_for_tool(p->kv[i].def, tool))
			continue; /* persist: smqtt_pub's alone */
		w[n++] = xasprintf("--%s", p->kv[i].def->longname);
		if (p->kv[i].value)
			w[n++] = strdup(p->kv[i].value);
	}
	for (int i = 0; i < n; i++) {
		if (!w[i]) {
			profile_words_free(w, n);
			return NULL;
		}
	}
	*argc = n;
	return w;
}

void profile_words_free(char **words, int argc)
{
	if (!words)
		return;
	for (int i = 0; i < argc; i++)
		cfg_set_str(&words[i], NULL);
	free(words);
}

/* Strip mosquitto's "Error: " and trailing newlines from a parser message. */
static char *short_error(const char *text)
{
	if (!text)
		return strdup("out of memory");
	if (!strncmp(text, "Error: ", 7))
		text += 7;
	size_t len = strlen(text);
	while (len && text[len - 1] == '\n')
		len--;
	return strndup(text, len);
}

/* Turn one libconfig setting into a validated key/value. */
static int read_kv(struct profile *p, config_setting_t *s, const char *file, char **cause)
{
	const char *key = config_setting_name(s);
	int line = (int)config_setting_source_line(s);
	const struct option_def *def = option_find_long(key);
	int type = config_setting_type(s);

	if (!def) {
		*cause = xasprintf("%s:%d: unknown key '%s' in profile '%s' (a profile key is a long option name, e.g. cafile, port, tls-version)",
				file, line, key, p->name);
		return -1;
	}
	if (def->scope != SCOPE_CONN) {
		*cause = xasprintf("%s:%d: '%s' describes a single run and cannot be saved in a profile; give --%s on the command line",
				file, line, key, key);
		return -1;
	}
	struct profile_kv kv = {def, NULL, line};
	switch (def->kind) {
	case ARG_NONE:
		if (type != CONFIG_TYPE_BOOL) {
			*cause = xasprintf("%s:%d: '%s' must be true or false", file, line, key);
			return -1;
		}
		if (!config_setting_get_bool(s))
			return 0; /* false: leave the default */
		break;
	case ARG_INT:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
			/* an example that is a sensible value, not just the lower bound (port = 0) */
			long long eg = !strcmp(key, "port") ? 8883 : def->min < 1 && def->max >= 1 ? 1 : def->min;
			*cause = xasprintf("%s:%d: '%s' must be an integer, e.g. %s = %lld;", file, line, key, key, eg);
			return -1;
		}
		kv.value = xasprintf("%lld", config_setting_get_int64(s));
		break;
	case ARG_REAL:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64 && type != CONFIG_TYPE_FLOAT) {
			*cause = xasprintf("%s:%d: '%s' must be a number", file, line, key);
			return -1;
		}
		kv.value = xasprintf("%.17g", type == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
				: (double)config_setting_get_int64(s));
		break;
	default:
		if (type != CONFIG_TYPE_STRING) {
			*cause = xasprintf("%s:%d: '%s' must be a string in double quotes, e.g. %s = \"...\";", file, line, key, key);
			return -1;
		}
		kv.value = is_path_option(def) ? resolve_path(config_setting_get_string(s), file)
			: strdup(config_setting_get_string(s));
		break;
	}
	if (def->kind != ARG_NONE && !kv.value) {
		*cause = strdup("out of memory");
		return -1;
	}

	if (!strcmp(key, "tls-version") && !tls_version_from_name(kv.value)) {
		*cause = xasprintf("%s:%d: bad value for 'tls-version': '%s' (use tlsv1.3, tlsv1.2, tlsv1.1 or tlsv1)", file, line, kv.value);
		cfg_set_str(&kv.value, NULL);
		return -1;
	}
	/* Validate the value with the real parser. */
	struct config scratch;
	struct opt_error err = {0};
	char *words[3] = {"profile", NULL, kv.value};
	words[1] = xasprintf("--%s", key);
	cfg_init(&scratch, TOOL_PUB);
	enum opt_status rc = words[1] ? options_parse(&scratch, kv.value ? 3 : 2, words, &err) : OPT_ERROR;
	cfg_free(&scratch);
	free(words[1]);
	if (rc != OPT_OK) {
		char *why = short_error(err.text);
		*cause = xasprintf("%s:%d: bad value for '%s': %s", file, line, key, why ? why : "");
		free(why);
		opt_error_free(&err);
		cfg_set_str(&kv.value, NULL);
		return -1;
	}
	struct profile_kv *g = realloc(p->kv, (p->nkv + 1) * sizeof(*g));
	if (!g) {
		cfg_set_str(&kv.value, NULL);
		*cause = strdup("out of memory");
		return -1;
	}
	p->kv = g;
	p->kv[p->nkv++] = kv;
	return 0;
}

static int read_hosts(struct profile *p, config_setting_t *s, const char *file, char **cause)
{
	int line = (int)config_setting_source_line(s);
	int type = config_setting_type(s);
	int n = type == CONFIG_TYPE_STRING ? 1 : config_setting_length(s);
	if (type != CONFIG_TYPE_STRING && type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
		*cause = xasprintf("%s:%d: 'hosts' must be a list of names, e.g. hosts = [\"broker.lan\", \"*.factory.lan\"];", file, line);
		return -1;
	}
	p->hosts = calloc((size_t)n + 1, sizeof(char *));
	if (!p->hosts)
		return -1;
	for (int i = 0; i < n; i++) {
		config_setting_t *e = type == CONFIG_TYPE_STRING ? s : config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING || !*config_setting_get_string(e)) {
			*cause = xasprintf("%s:%d: every entry of 'hosts' must be a non-empty string", file, line);
			return -1;
		}
		p->hosts[p->nhosts++] = strdup(config_setting_get_string(e));
	}
	return 0;
}

static void check_permissions(struct profile *p, const char *file,
		const struct stat *st)
{
	for (size_t i = 0; i < p->nkv; i++) {
		const struct option_def *def = p->kv[i].def;
		size_t off, len;
		bool url_pw = p->kv[i].value && option_url_password(def, p->kv[i].value, &off, &len);
		if ((is_secret_option(def) || url_pw) && (st->st_mode & 077))
			add_warning(p, xasprintf("%s:%d: profile '%s' holds a %s and other users can read this file (mode %04o); fix: chmod 600 %s",
					file, p->kv[i].line, p->name, option_secret_name(def),
					(unsigned)(st->st_mode & 07777), file));
		struct stat kst;
		if (!strcmp(def->longname, "key") && p->kv[i].value && stat(p->kv[i].value, &kst) == 0
				&& (kst.st_mode & 077))
			add_warning(p, xasprintf("%s: private key of profile '%s' can be read by other users (mode %04o); fix: chmod 600 %s",
					p->kv[i].value, p->name, (unsigned)(kst.st_mode & 07777), p->kv[i].value));
	}
}

int profiles_load_file(struct profiles *ps, const char *path, bool must_exist, char **cause)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		if (!must_exist && errno == ENOENT)
			return 0;
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		*cause = xasprintf("%s: is a directory, not a profile file", path);
		return -1;
	}
	config_t cf;
	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			*cause = xasprintf("%s: cannot read: %s", path, strerror(errno ? errno : EIO));
		else
			*cause = xasprintf("%s:%d: %s", config_error_file(&cf) ? config_error_file(&cf) : path,
					config_error_line(&cf), config_error_text(&cf));
		config_destroy(&cf);
		return -1;
	}
	int rc = 0;
	config_setting_t *root = config_root_setting(&cf);
	int n = config_setting_length(root);
	for (int i = 0; i < n && rc == 0; i++) {
		config_setting_t *g = config_setting_get_elem(root, (unsigned)i);
		int line = (int)config_setting_source_line(g);
		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			*cause = xasprintf("%s:%d: '%s' is not a profile: each top-level entry must be a group, e.g. %s: { hosts = [\"...\"]; };",
					path, line, config_setting_name(g), config_setting_name(g));
			rc = -1;
			break;
		}
		struct profile p = {0};
		p.name = strdup(config_setting_name(g));
		p.file = strdup(path);
		p.line = line;
		int m = config_setting_length(g);
		for (int k = 0; k < m && rc == 0; k++) {
			config_setting_t *s = config_setting_get_elem(g, (unsigned)k);
			if (!strcmp(config_setting_name(s), "hosts"))
				rc = read_hosts(&p, s, path, cause);
			else
				rc = read_kv(&p, s, path, cause);
		}
		if (rc == 0 && (!p.name || !p.file))
			rc = -1;
		const struct profile *dup = rc == 0 ? profiles_find(ps, p.name) : NULL;
		if (rc || dup) {
			/* a later definition of a name is shadowed by the first */
			profile_free(&p);
			continue;
		}
		struct profile *grown = realloc(ps->v, (ps->n + 1) * sizeof(*grown));
		if (!grown) {
			profile_free(&p);
			rc = -1;
			break;
		}
		ps->v = grown;
		check_permissions(&p, path, &st);
		ps->v[ps->n++] = p;
	}
	if (rc && !*cause)
		*cause = strdup("out of memory");
	config_destroy(&cf);
	return rc;
}

static char *config_home(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	if (xdg && *xdg)
		return xasprintf("%s/smqtt", xdg);
	if (home)
		return xasprintf("%s/.config/smqtt", home);
	return NULL;
}

char *profiles_save_dir(void)
{
	char *base = config_home();
	char *dir = base ? xasprintf("%s/profiles.d", base) : NULL;
	free(base);
	return dir;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct profiles *ps, const char *dir, char **cause)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".conf"))
			continue;
		char **g = realloc(names, (n + 1) * sizeof(char *));
		if (!g)
			break;
		names = g;
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	/* names is NULL when the folder holds no .conf file, and qsort's
	 * pointer must not be NULL even for 0 elements (UBSan) */
	if (n > 1)
		qsort(names, n, sizeof(char *), cmp_str);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && names[i]) {
			char *path = xasprintf("%s/%s", dir, names[i]);
			rc = path ? profiles_load_file(ps, path, false, cause) : -1;
			free(path);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int profiles_load(struct profiles *ps, char **cause)
{
	*cause = NULL;
	const char *only = getenv("SMQTT_PROFILES");
	if (only)
		return *only ? profiles_load_file(ps, only, true, cause) : 0;
	char *base = config_home();
	int rc = 0;
	if (base) {
		char *main_file = xasprintf("%s/profiles.conf", base);
		char *dir = xasprintf("%s/profiles.d", base);
		if (main_file)
			rc = profiles_load_file(ps, main_file, false, cause);
		if (rc == 0 && dir)
			rc = load_dir(ps, dir, cause);
		free(main_file);
		free(dir);
		free(base);
	}
	if (rc == 0) {
		/* SMQTT_SYSCONFDIR lets tests stand in for /etc/smqtt. */
		const char *sys = getenv("SMQTT_SYSCONFDIR");
		char *sysfile = xasprintf("%s/profiles.conf", sys && *sys ? sys : SMQTT_SYSCONFDIR);
		rc = sysfile ? profiles_load_file(ps, sysfile, false, cause) : -1;
		free(sysfile);
	}
	return rc;
}

/* ---- --save-profile --------------------------------------------------- */

static const char save_marker[] = "# Written by smqtt --save-profile.";

bool profile_name_valid(const char *name)
{
	if (!name || !((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z')))
		return false;
	for (const char *c = name; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')
				|| *c == '-' || *c == '_'))
			return false;
	return strlen(name) <= 64;
}

static bool written_by_us(const char *path)
{
	char line[128] = "";
	FILE *fp = fopen(path, "r");
	if (!fp)
		return errno == ENOENT;
	bool ours = fgets(line, sizeof(line), fp) && !strncmp(line, save_marker, strlen(save_marker));
	fclose(fp);
	return ours;
}

static void put_quoted(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(fp, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(fp, "\\x%02x", *c);
		else
			fputc(*c, fp);
	}
	fputc('"', fp);
}

static void write_profile(FILE *fp, const struct profile_save_req *r)
{
	const struct config *cfg = r->cfg;
	fprintf(fp, "%s Saving a profile of the same name\n", save_marker);
	fprintf(fp, "# again replaces this file; to keep changes, copy it to another name.\n");
	fprintf(fp, "%s: {\n  hosts = [", r->name);
	put_quoted(fp, r->host);
	fprintf(fp, "];\n");
	if (r->port > 0)
		fprintf(fp, "  port = %d;\n", r->port);
	for (const struct option_def *d = option_table; d->shortname || d->longname; d++) {
		if (d->scope != SCOPE_CONN || !d->longname || !strcmp(d->longname, "host")
				|| !strcmp(d->longname, "port"))
			continue;
		/* Only what the user chose (command line, options file, another
		 * profile): never what negotiation found, which would become a
		 * minimum for every later run (issue 23). */
		char *v = config_value_text(cfg, d);
		if (!v)
			continue;
		if (is_path_option(d) && v[0] != '/') {
			char *abs = realpath(v, NULL);
			if (abs) {
				free(v);
				v = abs;
			}
		}
		fprintf(fp, "  %s = ", d->longname);
		if (d->kind == ARG_NONE)
			fputs("true", fp);
		else if (d->kind == ARG_INT)
			fputs(v, fp);
		else
			put_quoted(fp, v);
		fputs(";\n", fp);
		cfg_set_str(&v, NULL);
	}
	fprintf(fp, "};\n");
}

static int write_profile_cb(FILE *fp, void *arg)
{
	write_profile(fp, arg);
	return 0;
}

int profile_save(const struct profile_save_req *r, char **path_out, char **cause)
{
	*path_out = NULL;
	*cause = NULL;
	if (!profile_name_valid(r->name)) {
		*cause = xasprintf("'%s' is not a valid profile name: use letters, digits, '-' and '_', starting with a letter", r->name);
		return -1;
	}
	char *dir = profiles_save_dir();
	char *path = dir ? xasprintf("%s/%s.conf", dir, r->name) : NULL;
	int rc = -1;
	if (!path) {
		*cause = strdup("cannot tell where to save profiles: set HOME or XDG_CONFIG_HOME");
		goto out;
	}
	/* Never rewrite a profile the user wrote by hand. */
	struct profiles existing;
	char *lcause = NULL;
	profiles_init(&existing);
	if (profiles_load(&existing, &lcause) == 0) {
		const struct profile *p = profiles_find(&existing, r->name);
		if (p && strcmp(p->file, path)) {
			*cause = xasprintf("profile '%s' is already defined in %s:%d; smqtt never rewrites a file you wrote; choose another name",
					r->name, p->file, p->line);
		}
	}
	free(lcause);
	profiles_free(&existing);
	if (*cause)
		goto out;
	if (!written_by_us(path)) {
		*cause = xasprintf("%s exists and was not written by smqtt; smqtt never rewrites a file you wrote; choose another name", path);
		goto out;
	}
	char *wcause = NULL;
	if (atomic_write(path, write_profile_cb, (void *)r, ATOMIC_SYNC, &wcause)) {
		*cause = wcause ? wcause : strdup("cannot write the profile");
		goto out;
	}
	*path_out = path;
	path = NULL;
	rc = 0;
out:
	free(dir);
	free(path);
	return rc;
}
