/* diag: every user-facing line on stderr goes through here: mosquitto-compatible
 * messages, smqtt's "Error / why / fix" reports, warnings. Respects --quiet. */
#ifndef SMQTT_DIAG_H
#define SMQTT_DIAG_H

#include <stdbool.h>
#include <stdio.h>
#include "options.h"
#include "report.h"

struct diag {
	char prog[64];  /* the name messages use: smqtt_pub, or the alias invoked */
	enum tool tool;
	bool quiet;
	bool trace;     /* the -v / --trace connection trace is on */
	bool color;     /* stderr is a terminal and NO_COLOR is unset */
	long long t0_ms;
	FILE *err;
};

/* Pick the program name from argv[0]: mosquitto_pub/_sub when invoked under
 * the alias name, smqtt_pub/_sub otherwise. */
void diag_init(struct diag *d, enum tool tool, const char *argv0);

/* Text worded exactly as mosquitto words it; suppressed by --quiet. */
void diag_compat(const struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like diag_compat, but printed even with --quiet (mosquitto prints its
 * argument errors that way). */
void diag_always(const struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* An argument error followed by mosquitto's "Use '... --help'" hint. */
void diag_usage_error(const struct diag *d, const char *text);

/* The smqtt report form: "Error: what\n  why: ...\n  fix: ...". why and fix
 * may be NULL. */
void diag_report(const struct diag *d, const char *what, const char *why, const char *fix);

/* "prog: ..." informational line (e.g. a saved profile). */
void diag_info(const struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print a report on stderr: every fatal finding as "Error: / why: / fix:",
 * every warning as "Warning: ...", then with json the single-line JSON
 * object as the last line. */
void diag_print_report(const struct diag *d, const struct report *r, bool json, enum stage stage);

/* Only the single-line JSON object of a report (--check's, on success). */
void diag_report_json(const struct diag *d, const struct report *r, enum stage stage);

/* --check output on stdout: one line per check, with why/fix for problems. */
void diag_check_line(const struct diag *d, const struct finding *f);
void diag_check_note(const struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Turn the trace on or off (colour when stderr is a terminal and NO_COLOR
 * is unset). */
void diag_set_trace(struct diag *d, bool on);

/* One line of the connection trace: "prog: [  12.3 ms] text". Never pass a
 * secret: use diag_mask for those. */
void diag_trace(const struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "****" for a secret in the trace, without its length (into buf). */
const char *diag_mask(const char *secret, char *buf, size_t len);

/* "Warning: ..." line. */
void diag_warn(const struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
