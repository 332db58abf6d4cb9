/* net: see net.h. */
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

long long mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int net_ppoll(struct pollfd *p, nfds_t n, const struct timespec *ts, const sigset_t *sigmask)
{
	int ready = ppoll(p, n, ts, sigmask);
	if (ready <= 0 || !sigmask)
		return ready;
	sigset_t pending, old;
	if (sigpending(&pending) != 0)
		return ready;
	static const int stop[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++) {
		if (sigismember(&pending, stop[i]) == 1 && sigismember(sigmask, stop[i]) == 0) {
			/* let it in: its handler runs as the mask opens */
			sigprocmask(SIG_SETMASK, sigmask, &old);
			sigprocmask(SIG_SETMASK, &old, NULL);
			errno = EINTR;
			return -1;
		}
	}
	return ready;
}

int net_wait(int fd, short events, long long deadline, const sigset_t *sigmask)
{
	for (;;) {
		long long left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		if (left > 1000)
			left = 1000;
		struct pollfd p = {fd, events, 0};
		struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
		int n = net_ppoll(&p, 1, &ts, sigmask);
		if (n > 0)
			return 1;
		if (n < 0 && (errno != EINTR || sigmask))
			return -1;
	}
}

/* Bind fd to bind_address (of family), or -1 with errno. */
static int bind_to(int fd, int family, const char *bind_address)
{
	struct addrinfo hints, *b = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(bind_address, NULL, &hints, &b) != 0) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	int rc = bind(fd, b->ai_addr, b->ai_addrlen);
	int err = errno;
	freeaddrinfo(b);
	errno = err;
	return rc;
}

int net_dial(const char *host, int port, const char *bind_address, long long deadline, const sigset_t *sigmask)
{
	struct addrinfo hints, *res = NULL;
	char ps[16];
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ps, sizeof(ps), "%d", port);
	int g = getaddrinfo(host, ps, &hints, &res);
	if (g != 0) {
		errno = g == EAI_SYSTEM ? errno : EHOSTUNREACH;
		return -1;
	}
	int fd = -1, err = ECONNREFUSED;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (bind_address && bind_to(fd, a->ai_family, bind_address) != 0) {
			err = errno;
		} else if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			break;
		} else if ((err = errno) == EINPROGRESS) {
			int w = net_wait(fd, POLLOUT, deadline, sigmask);
			socklen_t len = sizeof(err);
			if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
				break;
			if (w == 0)
				err = ETIMEDOUT;
			else if (w < 0)
				err = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	errno = err;
	return fd;
}
