/* optfile: reads mosquitto's per-user options file
 * ($XDG_CONFIG_HOME/mosquitto_pub or ~/.config/mosquitto_pub) into a config. */
#ifndef SMQTT_OPTFILE_H
#define SMQTT_OPTFILE_H

#include <stdio.h>
#include "options.h"

/* The path mosquitto would read for this tool, allocated; NULL when neither
 * XDG_CONFIG_HOME nor HOME is set. */
char *optfile_path(enum tool tool);

/* Parse an options file stream: '#' lines are comments, every other line is
 * split at its first space into an option and one argument. */
enum opt_status optfile_parse(struct config *cfg, FILE *fp, struct opt_error *err);

/* Read the tool's options file if it exists. */
enum opt_status optfile_load(struct config *cfg, struct opt_error *err);

/* Read the options file named by -o (mosquitto 2.1) instead of the default
 * one. A file that cannot be read is skipped, as mosquitto 2.1 skips it;
 * *warning (allocated) then says why, naming it. */
enum opt_status optfile_load_named(struct config *cfg, const char *path, char **warning,
		struct opt_error *err);

/* The number of the last line of the options file path that sets def
 * (as --long or -s), for "where did this option come from"; 0: none. */
int optfile_line(const char *path, const struct option_def *def);

#endif
