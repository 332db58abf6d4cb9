/* cli: the steps both mains share: read the options file and argv into a
 * config, print help/version/errors the way mosquitto does, and finish
 * stdout cleanly at exit. */
#ifndef SMQTT_CLI_H
#define SMQTT_CLI_H

#include "diag.h"
#include "options.h"

enum cli_next { CLI_RUN, CLI_EXIT };

/* Parse the options file then argv. On CLI_EXIT, *status is the exit code
 * and everything has been printed. */
enum cli_next cli_configure(struct config *cfg, struct diag *d, int argc, char *argv[], int *status);

/* Print mosquitto's usage text for the tool to stdout. */
void cli_print_usage(const struct diag *d);

/* Start OpenSSL and libmosquitto; first thing in main. OpenSSL is told not
 * to free its global state from an atexit handler. The process becomes
 * non-dumpable (no core dump: it holds secrets). */
void cli_lib_init(void);

/* Stop libmosquitto; OpenSSL's state is freed only if an engine was used
 * (--tls-engine), so that the engine is finished properly. Call before
 * cfg_free. */
void cli_lib_cleanup(const struct config *cfg);

/* Flush stdout; returns status, or 1 if stdout could not be written for a
 * reason other than a closed pipe. */
int cli_finish(int status);

#endif
