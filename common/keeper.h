/* keeper: smqtt_pub --persist (issue 27), like ssh's ControlPersist. After a
 * successful run the connection is not closed: a forked keeper process
 * holds it and serves later runs with the same connection settings over a
 * Unix socket in a private directory of the user's; it ends after SECONDS
 * without use, on SIGTERM, on --persist-stop, or when its connection ends.
 * Any trouble with a keeper and the run connects directly, as without it. */
#ifndef SMQTT_KEEPER_H
#define SMQTT_KEEPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "diag.h"
#include "options.h"

struct client;

struct keeper {
	const struct config *cfg;
	const struct diag *d;
	const char *why_not;  /* why this run does not use a keeper (N_ text), or NULL */
	bool keyed;           /* key and directory are set (also for --persist-stop, --check) */
	char key[33];         /* 128 bits of SHA-256 over the connection settings, in hex */
	int dir_fd;           /* the private directory, opened without following links */
	char path[108];       /* the socket: /proc/self/fd/N/KEY */
	pid_t pid;            /* the keeper started or found */
	time_t since;         /* when its connection was made */
};

/* Decide whether this run may use a keeper and, when the settings can be
 * keyed, compute the key and open the directory. keeper_init never prints. */
void keeper_init(struct keeper *k, const struct config *cfg, const struct diag *d);
void keeper_free(struct keeper *k);

/* Hand the message (cfg's topic, qos, retain; payload) to a running keeper.
 * true: the keeper confirmed it as a direct run would have (exit status 0);
 * false: nothing was confirmed and the caller publishes directly (said in
 * the trace). */
bool keeper_hand(struct keeper *k, const void *payload, size_t len);

/* After a successful run whose connection c is still up: fork the keeper,
 * which takes the connection. true in the parent when it runs (the parent
 * must then not send DISCONNECT); false when it could not start. */
bool keeper_start(struct keeper *k, struct client *c);

/* smqtt_pub --persist-stop: end the keeper of these settings. Returns the
 * exit status (0: one was ended; 1: none runs, explained). */
int keeper_stop(const struct config *cfg, const struct diag *d);

/* --check: a line about a keeper running for these settings into buf
 * (empty when none). */
void keeper_describe(const struct config *cfg, const struct diag *d, char *buf, size_t len);

#endif
