/* rr: smqtt_rr's request/response run: check and load the request, connect,
 * subscribe to the response topic, publish the request once the SUBACK
 * grants it, print the first response as mosquitto_rr does, and stop on it,
 * on -W or on a signal. */
#ifndef SMQTT_RR_H
#define SMQTT_RR_H

#include "diag.h"
#include "options.h"

/* What mosquitto_rr checks before it connects: the request's payload
 * (-f / -s, through pub's loader), that topic, message and response topic
 * were given, and the response topic as a PUBLISH property. Returns 0, or
 * the exit status after reporting. */
int rr_prepare(struct config *cfg, const struct diag *d);

/* How far a request got when -W ran out. */
enum rr_step { RR_STEP_CONNACK, RR_STEP_SUBACK, RR_STEP_CONFIRM, RR_STEP_ANSWER };

struct rr_outcome {
	enum rr_step step;
	int granted;        /* the SUBACK's QoS for the response topic */
	long skipped;       /* answers to other requests passed over */
	int port;           /* the port connected to */
};

/* Add the explanation of an expired -W (cause rr-no-response) to r. Pure:
 * the text comes from the cause table and the outcome. */
void rr_explain_timeout(const struct config *cfg, const struct rr_outcome *o, struct report *r);

/* Connect, ask and print the answer. Returns the process exit status; a
 * SIGINT or SIGTERM ends the process by that signal, as it ends
 * mosquitto_rr. */
int rr_run(struct config *cfg, const struct diag *d);

#endif
