/* pub: smqtt_pub's run: load the message, connect, publish (-m/-f/-s/-n with
 * --repeat, or -l line by line with a bounded in-flight window), disconnect. */
#ifndef SMQTT_PUB_H
#define SMQTT_PUB_H

#include "diag.h"
#include "options.h"

/* Load -f / -s input into cfg->message. Returns 0, or 1 after reporting. */
int pub_load_input(struct config *cfg, const struct diag *d);

/* Connect and publish. Returns the process exit status. */
int pub_run(struct config *cfg, const struct diag *d);

#endif
