/* sub: smqtt_sub's run: connect, subscribe, print each message as
 * mosquitto_sub does, and stop on -C, -E, -W, --retained-only or a signal. */
#ifndef SMQTT_SUB_H
#define SMQTT_SUB_H

#include "diag.h"
#include "options.h"

/* Returns the process exit status. */
int sub_run(struct config *cfg, const struct diag *d);

#endif
