/* profile: saved per-host connection/TLS profiles in libconfig files. A
 * profile key is a long option name from the option table; a profile turns
 * into argv-style words that go through the same parser as the command line. */
#ifndef SMQTT_PROFILE_H
#define SMQTT_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include "options.h"

struct profile_kv {
	const struct option_def *def;
	char *value;   /* NULL for a flag set to true */
	int line;
};

struct profile {
	char *name;
	char *file;
	int line;
	char **hosts;
	size_t nhosts;
	struct profile_kv *kv;
	size_t nkv;
	char **warnings; /* permission problems worth a warning when it is used */
	size_t nwarnings;
};

struct profiles {
	struct profile *v;
	size_t n;
};

void profiles_init(struct profiles *ps);
void profiles_free(struct profiles *ps);

/* Read $SMQTT_PROFILES alone when set; else the user's profiles.conf, then
 * profiles.d/ *.conf in name order, then /etc/smqtt/profiles.conf. Missing
 * files are skipped. On error returns -1 with *cause = "file:line: what". */
int profiles_load(struct profiles *ps, char **cause);

/* Read one file (must exist when must_exist). */
int profiles_load_file(struct profiles *ps, const char *path, bool must_exist, char **cause);

const struct profile *profiles_find(const struct profiles *ps, const char *name);

/* The first profile with a hosts entry matching host (exact, or a shell
 * glob; case-insensitive) whose port is port: a profile with a port key
 * applies only to that port when port is given (>= 0); one without a port
 * applies to every port of its hosts. port < 0: not given, any. */
const struct profile *profiles_match(const struct profiles *ps, const char *host, int port);

/* The profile's port key, or 0 when it has none. */
int profile_port(const struct profile *p);
bool profile_host_matches(const char *pattern, const char *host);

/* Comma-separated names of all profiles, for "does not exist" messages. */
char *profiles_names(const struct profiles *ps);

/* argv-style words for the parser: words[0] is a placeholder, then
 * "--key" [value] pairs (keys of options the tool has not are left out). Free with profile_words_free. */
char **profile_words(const struct profile *p, enum tool tool, int *argc);
void profile_words_free(char **words, int argc);

/* The directory --save-profile writes to (allocated). */
char *profiles_save_dir(void);

bool profile_name_valid(const char *name);

struct profile_save_req {
	const char *name;
	const struct config *cfg;
	const char *host;
	int port;                 /* 0: none (unix socket) */
};

/* Write profile r->name atomically (temp file + rename, mode 0600) into
 * profiles_save_dir(): the host, the port and r->cfg's connection options
 * that are not at their defaults; nothing the connection negotiated.
 * Refuses to replace a file smqtt did not write. */
int profile_save(const struct profile_save_req *r, char **path_out, char **cause);

#endif
