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
	for (size_t i = 0; summary && i < r->n; i++) {
		if (r->v[i].cause == c && r->v[i].summary && !strcmp(r->v[i].summary, summary)) {
			free(summary);
			return;
		}
	}
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
	cJSON_AddItemToObject(o, "evidence", r->evidence ? cJSON_Duplicate(r->evidence, 1) : cJSON_CreateObject());
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
