/* report: the findings of one run (every problem found, not just the first),
 * each tied to a cause from the catalogue, plus the evidence behind them as
 * a JSON object. diag prints it as text or JSON. */
#ifndef SMQTT_REPORT_H
#define SMQTT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "explain.h"
#include "options.h"

enum severity { SEV_FATAL, SEV_WARNING, SEV_PASS };

struct finding {
	enum cause cause;
	enum severity sev;
	char *summary;  /* English: the JSON report */
	char *why;
	char *fix;
	char *lsummary; /* the same in the user's language (text on stderr and --check); NULL: the English */
	char *lwhy;
	char *lfix;
};

struct report {
	char *host;
	int port;
	struct finding *v;
	size_t n;
	cJSON *evidence; /* an object; modules add what they saw */
	const char *empty_slot; /* a slot a template used but given as "": a bug (tests look) */
	const struct config *origins; /* whose file_origin the findings name, or NULL */
};

void report_init(struct report *r, const char *host, int port);
void report_free(struct report *r);

/* From now on, a finding (or pass) whose summary names a file of
 * --cafile, --capath, --cert or --key that came from a profile or the
 * options file says so after the name ("(from profile 'home', F:12)"),
 * and when from a profile its fix offers --no-profile, naming the profile
 * and what it supplied; the JSON's evidence.files say it too. cfg must
 * outlive r. */
void report_origins(struct report *r, const struct config *cfg);

/* Add a finding for cause with the table's templates filled from slots,
 * in English and, when a catalogue is in use, in the user's language (the
 * translated template filled with each slot's local value). A finding with
 * the same cause and summary as an earlier one is dropped. */
void report_add(struct report *r, enum cause c, enum severity sev, const struct slot *slots, size_t nslots);

/* Record a check that passed (shown by --check); summary is plain text,
 * local the same in the user's language (NULL: the same). */
void report_pass(struct report *r, const char *summary, const char *local);

size_t report_count(const struct report *r, enum severity sev);

/* The first fatal finding, or NULL. */
const struct finding *report_primary(const struct report *r);

/* The single-line JSON object for --diag-format json (allocated). */
char *report_json(const struct report *r, enum stage stage);

#endif
