/* report: findings + evidence of one run (see report.h). */
#include "report.h"
#include "l10n.h"
#include "utf8.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

void report_init(struct report *r, const char *host, int port)
{
	memset(r, 0, sizeof(*r));
	r->host = host ? strdup(host) : NULL;
	r->port = port;
	r->evidence = cJSON_CreateObject();
}

void report_free(struct report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].summary);
		free(r->v[i].why);
		free(r->v[i].fix);
		free(r->v[i].lsummary);
		free(r->v[i].lwhy);
		free(r->v[i].lfix);
	}
	free(r->v);
	free(r->host);
	cJSON_Delete(r->evidence);
	memset(r, 0, sizeof(*r));
}

static struct finding *grow(struct report *r)
{
	struct finding *g = realloc(r->v, (r->n + 1) * sizeof(*g));
	if (!g)
		return NULL;
	r->v = g;
	memset(&g[r->n], 0, sizeof(g[0]));
	return &g[r->n++];
}

/* The code point of the UTF-8 character that starts at p (0 if it is not
 * a lead byte of a 3-byte sequence: only those hold CJK and fullwidth forms). */
static unsigned cp3(const unsigned char *p)
{
	if ((p[0] & 0xf0) != 0xe0 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
		return 0;
	return ((unsigned)(p[0] & 0x0f) << 12) | ((unsigned)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
}

static bool wide(unsigned cp)
{
	return cp >= 0x2e80; /* CJK radicals and ideographs, kana, fullwidth forms */
}

/* Chinese (and Japanese) text has no spaces between its characters: a space
 * that a template put around a slot whose value turned out to be a phrase
 * in the same script ("不受 系统的 CA 证书库 信任") is dropped. */
static void tidy_wide_spaces(char *s)
{
	if (!s)
		return;
	size_t n = strlen(s), w = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ' && w >= 3 && i + 3 < n + 1 && wide(cp3((unsigned char *)s + w - 3))
				&& wide(cp3((unsigned char *)s + i + 1)))
			continue;
		s[w++] = s[i];
	}
	s[w] = '\0';
}

void report_origins(struct report *r, const struct config *cfg)
{
	r->origins = cfg;
}

static bool path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' || c == '.'
		|| c == '-' || c == '_';
}

/* *text with " note" after the first mention of path (a whole word),
 * once; true when it was added. */
static bool annotate(char **text, const char *path, const char *note)
{
	size_t pl = path ? strlen(path) : 0, nl = strlen(note);
	for (char *p = *text && pl ? strstr(*text, path) : NULL; p; p = strstr(p + 1, path)) {
		if ((p > *text && path_char(p[-1])) || path_char(p[pl]))
			continue;
		if (p[pl] == ' ' && !strncmp(p + pl + 1, note, nl))
			return false; /* --cert and --key the same file */
		char *out = NULL;
		if (asprintf(&out, "%.*s %s%s", (int)(p - *text + pl), *text, note, p + pl) < 0)
			return false;
		free(*text);
		*text = out;
		return true;
	}
	return false;
}

/* The note for file_origin[i] in language l (allocated), or NULL. */
static char *origin_note(const struct config *cfg, int i, int l)
{
	const struct file_origin *o = &cfg->file_origin[i];
	char *s = NULL;
	if (!o->where || !cfg_origin_value(cfg, i))
		return NULL;
	if ((o->profile ? asprintf(&s, L_(l, N_("(from profile '%s', %s)")), o->profile, o->where)
			: asprintf(&s, L_(l, N_("(from the options file %s)")), o->where)) < 0)
		return NULL;
	return s;
}

/* Name where the files mentioned in *text (in language l) came from;
 * true when one came from a profile. hint: the FILE_ORIGIN_* the finding
 * is about, or -1. */
static bool name_in(const struct config *cfg, char **text, int l, int hint)
{
	bool from_profile = false;
	for (int i = 0; cfg && *text && i < 4; i++) {
		const char *v = cfg_origin_value(cfg, i);
		bool seen = false;
		for (int j = 0; v && j < i; j++)
			seen |= cfg_origin_value(cfg, j) && !strcmp(cfg_origin_value(cfg, j), v);
		if (!v || seen)
			continue;
		/* one file given to two options (a key with its certificate):
		 * the option the finding is about, or the one the text names;
		 * else only when both came from the same place */
		int pick = -1;
		bool same = true;
		for (int j = i; j < 4; j++) {
			const char *w = cfg_origin_value(cfg, j);
			if (!w || strcmp(w, v))
				continue;
			char opt[16];
			snprintf(opt, sizeof(opt), "--%s ", cfg_origin_option(j));
			if (j == hint || (pick < 0 && hint < 0 && strstr(*text, opt)))
				pick = j;
			const char *a = cfg->file_origin[i].where, *b = cfg->file_origin[j].where;
			same &= (!a && !b) || (a && b && !strcmp(a, b));
		}
		if (pick < 0 && same)
			pick = i;
		char *note = pick >= 0 ? origin_note(cfg, pick, l) : NULL;
		if (note && annotate(text, v, note))
			from_profile |= cfg->file_origin[pick].profile != NULL;
		free(note);
	}
	return from_profile;
}

/* The FILE_ORIGIN_* a finding is about, from its option or role slot; -1. */
static int slots_origin(const struct slot *slots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!slots[i].value)
			continue;
		if (!strcmp(slots[i].name, "option"))
			for (int k = 0; k < 4; k++)
				if (!strncmp(slots[i].value, "--", 2) && !strcmp(slots[i].value + 2, cfg_origin_option(k)))
					return k;
		if (!strcmp(slots[i].name, "role"))
			return !strcmp(slots[i].value, "CA") ? FILE_ORIGIN_CAFILE : !strcmp(slots[i].value, "client") ? FILE_ORIGIN_CERT : -1;
	}
	return -1;
}

/* Name where the files in f's summary came from (see report_origins). */
static void name_origins(const struct report *r, struct finding *f, int hint)
{
	const struct config *cfg = r->origins;
	bool from_profile = false;
	EACH_LANG(l)
		from_profile |= name_in(cfg, l ? &f->lsummary : &f->summary, l, hint);
	if (!from_profile || !cfg->applied_profile || !cfg->profile_supplied)
		return;
	EACH_LANG(l) {
		char **fix = l ? &f->lfix : &f->fix;
		char *out = NULL;
		if (!*fix || asprintf(&out, L_(l, N_("; or, if profile '%s' (%s) should not apply to this broker, run with --no-profile "
				"(the profile supplied %s)")), cfg->applied_profile, cfg->applied_profile_from ? cfg->applied_profile_from : "",
				cfg->profile_supplied) < 0)
			continue;
		char *joined = NULL;
		if (asprintf(&joined, "%s%s", *fix, out) >= 0) {
			free(*fix);
			*fix = joined;
		}
		free(out);
	}
}

void report_add(struct report *r, enum cause c, enum severity sev, const struct slot *slots, size_t nslots)
{
	const struct cause_info *ci = cause_info(c);
	char port[16];
	struct slot all[32];
	size_t n = 0;
	snprintf(port, sizeof(port), "%d", r->port);
	for (size_t i = 0; i < nslots && n < 30; i++)
		all[n++] = slots[i];
	char where[2][600];
	EACH_LANG(l) {
		if (r->port == 0)
			snprintf(where[l], sizeof(where[l]), L_(l, N_("unix socket %s")), r->host ? r->host : "?");
		else
			snprintf(where[l], sizeof(where[l]), "%s:%d", r->host ? r->host : "localhost", r->port);
	}
	all[n++] = (struct slot){"host", r->host ? r->host : "localhost", NULL};
	all[n++] = (struct slot){"port", port, NULL};
	all[n++] = (struct slot){"where", where[0], where[1]};
	for (size_t i = 0; i < n && !r->empty_slot; i++) {
		char used[80];
		snprintf(used, sizeof(used), "{%s}", all[i].name);
		if (((all[i].value && !all[i].value[0]) || (all[i].local && !all[i].local[0]))
				&& (strstr(ci->summary, used) || strstr(ci->why, used) || strstr(ci->fix, used)))
			r->empty_slot = all[i].name;
	}
	char *summary = explain_expand(ci->summary, all, n);
	/* the same cause and summary as an earlier finding: dropped */
	char *named = summary && r->origins ? strdup(summary) : NULL;
	int hint = slots_origin(slots, nslots);
	name_in(r->origins, &named, 0, hint);
	for (size_t i = 0; summary && i < r->n; i++) {
		if (r->v[i].cause == c && r->v[i].summary && !strcmp(r->v[i].summary, named ? named : summary)) {
			free(named);
			free(summary);
			return;
		}
	}
	free(named);
	struct finding *f = grow(r);
	if (!f) {
		free(summary);
		return;
	}
	f->cause = c;
	f->sev = sev;
	f->summary = summary;
	f->why = explain_expand(ci->why, all, n);
	f->fix = explain_expand(ci->fix, all, n);
	if (l10n_active()) {
		f->lsummary = explain_expand_local(_(ci->summary), all, n);
		f->lwhy = explain_expand_local(_(ci->why), all, n);
		f->lfix = explain_expand_local(_(ci->fix), all, n);
		tidy_wide_spaces(f->lsummary);
		tidy_wide_spaces(f->lwhy);
		tidy_wide_spaces(f->lfix);
	}
	name_origins(r, f, hint);
}

void report_pass(struct report *r, const char *summary, const char *local)
{
	struct finding *f = grow(r);
	if (!f)
		return;
	f->cause = CAUSE_COUNT;
	f->sev = SEV_PASS;
	f->summary = strdup(summary);
	if (local && strcmp(local, summary))
		f->lsummary = strdup(local);
	name_origins(r, f, -1);
}

size_t report_count(const struct report *r, enum severity sev)
{
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++)
		k += r->v[i].sev == sev;
	return k;
}

const struct finding *report_primary(const struct report *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].sev == SEV_FATAL)
			return &r->v[i];
	return NULL;
}

static const char *sev_name(enum severity s)
{
	return s == SEV_FATAL ? "fatal" : s == SEV_WARNING ? "warning" : "pass";
}

/* evidence.files[] of a file from a profile or the options file: "from";
 * evidence.file_origins: every such option; evidence.profile when a
 * profile supplied one. */
static void origins_json(const struct report *r, cJSON *ev)
{
	const struct config *cfg = r->origins;
	bool any_profile = false;
	cJSON *f, *files = cfg ? cJSON_GetObjectItemCaseSensitive(ev, "files") : NULL;
	cJSON_ArrayForEach(f, files) {
		const char *opt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "option"));
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "path"));
		for (int i = 0; opt && path && i < 4; i++) {
			const struct file_origin *o = &cfg->file_origin[i];
			const char *v = cfg_origin_value(cfg, i);
			if (!o->where || !v || strncmp(opt, "--", 2) || strcmp(opt + 2, cfg_origin_option(i)) || strcmp(path, v))
				continue;
			cJSON *from = cJSON_AddObjectToObject(f, "from");
			cJSON_AddStringToObject(from, "kind", o->profile ? "profile" : "options-file");
			if (o->profile)
				cJSON_AddStringToObject(from, "profile", o->profile);
			cJSON_AddStringToObject(from, "where", o->where);
			any_profile |= o->profile != NULL;
		}
	}
	cJSON *all = NULL;
	for (int i = 0; cfg && i < 4; i++) {
		const struct file_origin *o = &cfg->file_origin[i];
		if (!o->where || !cfg_origin_value(cfg, i) || (!all && !(all = cJSON_AddArrayToObject(ev, "file_origins"))))
			continue;
		cJSON *e = cJSON_CreateObject();
		char opt[16];
		snprintf(opt, sizeof(opt), "--%s", cfg_origin_option(i));
		cJSON_AddStringToObject(e, "option", opt);
		cJSON_AddStringToObject(e, "path", cfg_origin_value(cfg, i));
		cJSON_AddStringToObject(e, "kind", o->profile ? "profile" : "options-file");
		if (o->profile)
			cJSON_AddStringToObject(e, "profile", o->profile);
		cJSON_AddStringToObject(e, "where", o->where);
		cJSON_AddItemToArray(all, e);
		any_profile |= o->profile != NULL;
	}
	if (any_profile && cfg->applied_profile && !cJSON_HasObjectItem(ev, "profile")) {
		cJSON *p = cJSON_AddObjectToObject(ev, "profile");
		cJSON_AddStringToObject(p, "name", cfg->applied_profile);
		cJSON_AddStringToObject(p, "from", cfg->applied_profile_from ? cfg->applied_profile_from : "");
		cJSON_AddStringToObject(p, "supplied", cfg->profile_supplied ? cfg->profile_supplied : "");
	}
}

char *report_json(const struct report *r, enum stage stage)
{
	const struct finding *p = report_primary(r);
	cJSON *o = cJSON_CreateObject();
	if (!o)
		return NULL;
	const struct cause_info *ci = p ? cause_info(p->cause) : NULL;
	cJSON_AddStringToObject(o, "cause", ci ? ci->id : "none");
	/* a cause listed under preflight (weak-crypto) can also be met on the
	 * wire: then the run's own stage is the truth */
	enum stage st = ci ? ci->stage : stage;
	if (ci && ci->cause == CAUSE_WEAK_CRYPTO && stage > STAGE_PREFLIGHT)
		st = stage;
	/* a TLS-stage cause (a timeout) met on a run without TLS: the run's stage */
	if (st == STAGE_TLS && stage > STAGE_TLS && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r->evidence, "tls")))
		st = stage;
	cJSON_AddStringToObject(o, "stage", stage_name(st));
	cJSON_AddStringToObject(o, "summary", p && p->summary ? p->summary : "");
	cJSON_AddStringToObject(o, "why", p && p->why ? p->why : "");
	cJSON_AddStringToObject(o, "fix", p && p->fix ? p->fix : "");
	cJSON_AddStringToObject(o, "host", r->host ? r->host : "");
	cJSON_AddNumberToObject(o, "port", r->port);
	cJSON *ev = r->evidence ? cJSON_Duplicate(r->evidence, 1) : cJSON_CreateObject();
	if (ev)
		origins_json(r, ev);
	cJSON_AddItemToObject(o, "evidence", ev);
	cJSON *arr = cJSON_AddArrayToObject(o, "problems");
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].sev == SEV_PASS)
			continue;
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "cause", cause_info(r->v[i].cause)->id);
		cJSON_AddStringToObject(e, "severity", sev_name(r->v[i].sev));
		cJSON_AddStringToObject(e, "summary", r->v[i].summary ? r->v[i].summary : "");
		cJSON_AddItemToArray(arr, e);
	}
	char *s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	/* JSON is UTF-8: bytes that are not (from a peer, or a host given in
	 * another encoding) become the text \xNN */
	char *clean = s ? utf8_escape(s, 1) : NULL;
	free(s);
	return clean;
}
