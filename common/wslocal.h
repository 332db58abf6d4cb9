/* wslocal: the WebSocket relay's local end: the private Unix socket
 * libmosquitto connects to (libmosquitto 2.0 cannot be handed a
 * descriptor). It lives in a 0700 directory made in $TMPDIR or /tmp, is
 * bound and connected to through /proc/self/fd/N/s (N: the directory as
 * opened, which no rename can swap), and exists only between listen and
 * accept; a reconnect makes it again under the same N. */
#ifndef SMQTT_WSLOCAL_H
#define SMQTT_WSLOCAL_H

#include <signal.h>
#include <stdbool.h>

struct wslocal {
	char dir[80];              /* private 0700 directory, only between listen and accept */
	char path[100];            /* its socket, through /proc/self/fd/<dir_fd>/ */
	int dir_fd;                /* the directory as opened (and checked) */
	int listen_fd;
	sigset_t held_from;        /* the signal mask before SIGINT/SIGTERM/SIGHUP were held */
	bool holding;              /* held while the directory exists (wslocal.c) */
};

void wslocal_init(struct wslocal *l);

/* Close the socket and remove the directory (its number released). */
void wslocal_free(struct wslocal *l);

/* Make the directory and listen on its socket (nothing when listening
 * already). SIGINT, SIGTERM and SIGHUP are held from here until the
 * directory is gone. On failure *cause is allocated. */
int wslocal_listen(struct wslocal *l, char **cause);

/* Accept libmosquitto's connection (made before this call), checking that
 * it comes from this process; then close the socket and remove the
 * directory. Returns the accepted (non-blocking) descriptor, or -1 with
 * *cause allocated (errno EINTR: a stop signal came since the listen; the
 * directory is gone and the signal was let in). */
int wslocal_accept(struct wslocal *l, char **cause);

/* Remove the directory and its socket; the descriptor's number stays
 * reserved unless release (see wslocal.c). */
void wslocal_remove(struct wslocal *l, bool release);

#endif
