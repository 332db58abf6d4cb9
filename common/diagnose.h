/* diagnose: turns the evidence of a failed connection (and what the TLS
 * layer saw) into a report: the classified cause with its concrete names,
 * DNs, dates and the fix, plus the evidence as JSON. */
#ifndef SMQTT_DIAGNOSE_H
#define SMQTT_DIAGNOSE_H

#include "explain.h"
#include "options.h"
#include "report.h"
#include "tls.h"

/* Classify ev and add the finding (with evidence) to r. t may be NULL when
 * TLS was not in use. seconds: the connect timeout in force. Returns the
 * cause. */
enum cause diagnose(const struct evidence *ev, const struct tls *t, const struct config *cfg,
		int seconds, struct report *r);

#endif
