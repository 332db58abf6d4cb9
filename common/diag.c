/* diag: the single writer of stderr (see diag.h). */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_init(struct diag *d, enum tool tool, const char *argv0)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;
	base = base ? base + 1 : argv0;
	const char *def = tool == TOOL_PUB ? "smqtt_pub" : "smqtt_sub";
	const char *alias = tool == TOOL_PUB ? "mosquitto_pub" : "mosquitto_sub";
	memset(d, 0, sizeof(*d));
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
	fprintf(d->err, "Error: %s\n", what);
	if (why)
		fprintf(d->err, "  why: %s\n", why);
	if (fix)
		fprintf(d->err, "  fix: %s\n", fix);
	fflush(d->err);
}

void diag_warn(const struct diag *d, const char *fmt, ...)
{
	if (d->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("Warning: ", d->err);
	vout(d, fmt, ap);
	va_end(ap);
}

void diag_info(const struct diag *d, const char *fmt, ...)
{
	if (d->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(d->err, "%s: ", d->prog);
	vout(d, fmt, ap);
	va_end(ap);
}

static void print_finding(FILE *fp, const char *prefix, const struct finding *f)
{
	fprintf(fp, "%s%s\n", prefix, f->summary ? f->summary : "");
	if (f->why && *f->why)
		fprintf(fp, "  why: %s\n", f->why);
	if (f->fix && *f->fix)
		fprintf(fp, "  fix: %s\n", f->fix);
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
	if (json) {
		char *s = report_json(r, stage);
		if (s)
			fprintf(d->err, "%s\n", s);
		free(s);
	}
	fflush(d->err);
}

void diag_check_line(const struct diag *d, const struct finding *f)
{
	(void)d;
	static const char *tag[] = {"FAIL", "warn", "pass"};
	printf("  %s  %s\n", tag[f->sev], f->summary ? f->summary : "");
	if (f->sev != SEV_PASS) {
		if (f->why && *f->why)
			printf("        why: %s\n", f->why);
		if (f->fix && *f->fix)
			printf("        fix: %s\n", f->fix);
	}
}

void diag_check_note(const struct diag *d, const char *fmt, ...)
{
	(void)d;
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}
