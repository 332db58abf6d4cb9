/* secret: keeping secrets off the process list: the password read from
 * --password-file, and the secret values of the command line overwritten in
 * the process's argument memory once they are parsed. */
#ifndef SMQTT_SECRET_H
#define SMQTT_SECRET_H

#include <stdbool.h>
#include "options.h"

/* The longest password MQTT can carry (a two-byte length). */
#define SECRET_PASSWORD_MAX 65535

/* Read the password from path: the whole content without one trailing LF or
 * CRLF. On success returns 0, sets *password (allocated; wipe before
 * freeing) and *group_readable (the file is a regular file that group or
 * others may access). On failure returns -1 and sets *cause (allocated):
 * what is wrong with the file, naming it. Regular files, pipes and
 * /dev/fd/N (process substitution) are read. */
int secret_read_password_file(const char *path, char **password, bool *group_readable, char **cause);

/* Overwrite the secrets that cfg->argv_secrets names in argv: each secret
 * becomes "*" and the words after it move up, so /proc/PID/cmdline shows
 * neither the secret nor its length. argv[i] pointers are updated; argv[0]
 * never moves. When argv's words are not one contiguous block (not the
 * kernel's layout), each secret is overwritten in place with '*'. */
void secret_scrub_argv(int argc, char *argv[], const struct config *cfg);

#endif
