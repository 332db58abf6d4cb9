/* diag: the single writer of stderr (see diag.h). smqtt's own sentences are
 * looked up in the catalogue here, where they are rendered: the formats of
 * the trace, warnings, info lines and --check notes, and the what/why/fix of
 * diag_report. Texts mosquitto's clients print identically (diag_compat,
 * diag_always, diag_usage_error) and the markers ("Error:", "Warning:",
 * "why:", "fix:", FAIL/warn/pass) stay as they are in every locale. */
#include "diag.h"
#include "l10n.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void diag_init(struct diag *d, enum tool tool, const char *argv0)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;
	base = base ? base + 1 : argv0;
	const char *alias = tool_mosquitto_name(tool);
	char def[32];
	snprintf(def, sizeof(def), "smqtt_%s", alias + strlen("mosquitto_"));
	memset(d, 0, sizeof(*d));
	l10n_init();
	d->t0_ms = now_ms();
	d->tool = tool;
	d->err = stderr;
	snprintf(d->prog, sizeof(d->prog), "%s", (base && !strcmp(base, alias)) ? alias : def);
}

static void vout(const struct diag *d, const char *fmt, va_list ap)
{
	vfprintf(d->err, fmt, ap);
	fflush(d->err);
}

void diag_compat(const struct diag *d, const char *fmt, ...)
{
	if (d->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vout(d, fmt, ap);
	va_end(ap);
}

void diag_always(const struct diag *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vout(d, fmt, ap);
	va_end(ap);
}

void diag_usage_error(const struct diag *d, const char *text)
{
	diag_always(d, "%s\nUse '%s --help' to see usage.\n", text ? text : "Error: Out of memory.\n", d->prog);
}

void diag_report(const struct diag *d, const char *what, const char *why, const char *fix)
{
	if (d->quiet)
		return;
	fprintf(d->err, "Error: %s\n", _(what));
	if (why)
		fprintf(d->err, "  why: %s\n", _(why));
	if (fix)
		fprintf(d->err, "  fix: %s\n", _(fix));
	fflush(d->err);
}

void diag_warn(const struct diag *d, const char *fmt, ...)
{
	if (d->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("Warning: ", d->err);
	vout(d, _(fmt), ap);
	va_end(ap);
}

void diag_info(const struct diag *d, const char *fmt, ...)
{
	if (d->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(d->err, "%s: ", d->prog);
	vout(d, _(fmt), ap);
	va_end(ap);
}

/* A finding's text in the user's language, or in English. */
static const char *local(const char *l, const char *en)
{
	return l ? l : en;
}

static void print_finding(FILE *fp, const char *prefix, const struct finding *f)
{
	const char *summary = local(f->lsummary, f->summary), *why = local(f->lwhy, f->why), *fix = local(f->lfix, f->fix);
	fprintf(fp, "%s%s\n", prefix, summary ? summary : "");
	if (why && *why)
		fprintf(fp, "  why: %s\n", why);
	if (fix && *fix)
		fprintf(fp, "  fix: %s\n", fix);
}

void diag_print_report(const struct diag *d, const struct report *r, bool json, enum stage stage)
{
	if (d->quiet)
		return;
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].sev == SEV_FATAL)
			print_finding(d->err, "Error: ", &r->v[i]);
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].sev == SEV_WARNING)
			print_finding(d->err, "Warning: ", &r->v[i]);
	if (json)
		diag_report_json(d, r, stage);
	fflush(d->err);
}

void diag_report_json(const struct diag *d, const struct report *r, enum stage stage)
{
	if (d->quiet)
		return;
	char *s = report_json(r, stage);
	if (s)
		fprintf(d->err, "%s\n", s);
	free(s);
	fflush(d->err);
}

void diag_check_line(const struct diag *d, const struct finding *f)
{
	(void)d;
	static const char *tag[] = {"FAIL", "warn", "pass"};
	const char *summary = local(f->lsummary, f->summary), *why = local(f->lwhy, f->why), *fix = local(f->lfix, f->fix);
	printf("  %s  %s\n", tag[f->sev], summary ? summary : "");
	if (f->sev != SEV_PASS) {
		if (why && *why)
			printf("        why: %s\n", why);
		if (fix && *fix)
			printf("        fix: %s\n", fix);
	}
}

void diag_check_note(const struct diag *d, const char *fmt, ...)
{
	(void)d;
	va_list ap;
	va_start(ap, fmt);
	vprintf(_(fmt), ap);
	va_end(ap);
}

void diag_set_trace(struct diag *d, bool on)
{
	d->trace = on;
	d->color = on && isatty(fileno(d->err)) && !getenv("NO_COLOR");
	if (!d->t0_ms)
		d->t0_ms = now_ms();
}

void diag_trace(const struct diag *d, const char *fmt, ...)
{
	if (!d->trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	long long ms = now_ms() - d->t0_ms;
	if (d->color)
		fprintf(d->err, "\033[2m%s: [%6lld ms]\033[0m ", d->prog, ms);
	else
		fprintf(d->err, "%s: [%6lld ms] ", d->prog, ms);
	vfprintf(d->err, _(fmt), ap);
	fputc('\n', d->err);
	fflush(d->err);
	va_end(ap);
}

const char *diag_mask(const char *secret, char *buf, size_t len)
{
	/* not even its length: that narrows a guess */
	(void)secret;
	snprintf(buf, len, "****");
	return buf;
}
