/* net: the monotonic clock, and non-blocking TCP connects and waits with a
 * deadline, shared by the connect code, the post-mortem probes and the
 * WebSocket relay. */
#ifndef SMQTT_NET_H
#define SMQTT_NET_H

#include <poll.h>
#include <signal.h>
#include <time.h>

/* Milliseconds on the monotonic clock. */
long long mono_ms(void);

/* ppoll(), except that a signal sigmask lets through ends it even when
 * descriptors are ready: the kernel reports ready descriptors first and
 * keeps the signal pending, so a peer that keeps a socket readable would
 * keep SIGINT/SIGTERM out for ever. Then the handler has run, and it
 * returns -1 with errno EINTR. sigmask NULL: plain ppoll with the current
 * mask. */
int net_ppoll(struct pollfd *p, nfds_t n, const struct timespec *ts, const sigset_t *sigmask);

/* Wait for events on fd until deadline (mono_ms): 1 ready, 0 timed out,
 * -1 error. sigmask NULL keeps the signal mask; otherwise it is the mask
 * during the wait, and a signal it lets through ends the wait with -1 and
 * errno EINTR. */
int net_wait(int fd, short events, long long deadline, const sigset_t *sigmask);

/* A non-blocking TCP connection to host:port (any address family, tried in
 * order), bound to bind_address when not NULL, made before deadline.
 * Returns the socket, or -1 with errno (ETIMEDOUT at the deadline,
 * EHOSTUNREACH when the name does not resolve). */
int net_dial(const char *host, int port, const char *bind_address, long long deadline, const sigset_t *sigmask);

#endif
