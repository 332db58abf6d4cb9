/* check: the --check report (local checks, then one probe connection). */
#ifndef SMQTT_CHECK_H
#define SMQTT_CHECK_H

#include "diag.h"
#include "options.h"

/* Print the report on stdout; returns the exit status (0: all passed). */
int check_run(struct config *cfg, const struct diag *d);

#endif
