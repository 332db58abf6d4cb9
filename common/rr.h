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

/* Connect, ask and print the answer. Returns the process exit status; a
 * SIGINT or SIGTERM ends the process by that signal, as it ends
 * mosquitto_rr. */
int rr_run(struct config *cfg, const struct diag *d);

#endif
