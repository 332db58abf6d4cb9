/* socks: SOCKS5 client handshake (RFC 1928, 1929): reply parsers and the
 * exchange over a socket. */
#include "socks.h"
#include "net.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

enum socks_result socks_parse_method(const uint8_t *b, size_t n, uint8_t offered)
{
	if (n >= 1 && b[0] != 5)
		return SOCKS_NOT_SOCKS;
	if (n < 2)
		return SOCKS_INCOMPLETE;
	return b[1] == offered ? SOCKS_OK : SOCKS_METHOD_REFUSED;
}

enum socks_result socks_parse_auth(const uint8_t *b, size_t n)
{
	if (n >= 1 && b[0] != 1 && b[0] != 5)
		return SOCKS_NOT_SOCKS;
	if (n < 2)
		return SOCKS_INCOMPLETE;
	return b[1] == 0 ? SOCKS_OK : SOCKS_AUTH_REFUSED;
}

enum socks_result socks_parse_connect(const uint8_t *b, size_t n, int *rep, size_t *len)
{
	*rep = -1;
	*len = 0;
	if (n >= 1 && b[0] != 5)
		return SOCKS_NOT_SOCKS;
	if (n < 2)
		return SOCKS_INCOMPLETE;
	*rep = b[1];
	if (b[1] > 8)
		return SOCKS_NOT_SOCKS; /* no such reply code */
	if (b[1])
		return SOCKS_TARGET_REFUSED; /* what follows does not matter */
	if (n >= 3 && b[2] != 0)
		return SOCKS_NOT_SOCKS; /* RSV */
	if (n < 5)
		return SOCKS_INCOMPLETE;
	switch (b[3]) {
	case 1: *len = 4 + 4 + 2; break;
	case 4: *len = 4 + 16 + 2; break;
	case 3: *len = 4 + 1 + (size_t)b[4] + 2; break;
	default: return SOCKS_NOT_SOCKS;
	}
	return n < *len ? SOCKS_INCOMPLETE : SOCKS_OK;
}

const char *socks_rep_text(int rep)
{
	static const char *const t[] = {"succeeded", "general SOCKS server failure", "connection not allowed by ruleset",
		"network unreachable", "host unreachable", "connection refused", "TTL expired", "command not supported",
		"address type not supported"};
	return rep >= 0 && rep < (int)(sizeof(t) / sizeof(t[0])) ? t[rep] : "an unassigned reply code";
}

static enum socks_result send_all(int fd, const uint8_t *b, size_t n, long long deadline, const sigset_t *mask,
		struct socks_outcome *o)
{
	while (n) {
		ssize_t s = send(fd, b, n, MSG_NOSIGNAL);
		if (s > 0) {
			b += s;
			n -= (size_t)s;
			continue;
		}
		if (s < 0 && errno == EINTR)
			continue;
		if (s < 0 && errno == EAGAIN) {
			int ready = net_wait(fd, POLLOUT, deadline, mask);
			if (ready == 1)
				continue;
			if (ready == 0)
				return SOCKS_NO_ANSWER;
		}
		o->sys_errno = errno;
		return SOCKS_IO;
	}
	return SOCKS_OK;
}

/* Read one reply into b (cap bytes) until parse says it is complete. */
static enum socks_result read_reply(int fd, uint8_t *b, size_t cap, long long deadline, const sigset_t *mask,
		struct socks_outcome *o, int step, uint8_t offered)
{
	size_t have = 0;
	for (;;) {
		enum socks_result r;
		int rep = -1;
		size_t len = 0;
		if (step == 0)
			r = socks_parse_method(b, have, offered);
		else if (step == 1)
			r = socks_parse_auth(b, have);
		else
			r = socks_parse_connect(b, have, &rep, &len);
		o->rep = rep;
		if (r != SOCKS_INCOMPLETE)
			return r;
		if (have == cap)
			return SOCKS_NOT_SOCKS;
		ssize_t got = recv(fd, b + have, step == 2 && len ? len - have : 1, 0);
		if (got > 0) {
			if (o->first_len < sizeof(o->first)) {
				size_t k = (size_t)got < sizeof(o->first) - o->first_len ? (size_t)got : sizeof(o->first) - o->first_len;
				memcpy(o->first + o->first_len, b + have, k);
				o->first_len += k;
			}
			have += (size_t)got;
			continue;
		}
		if (got == 0)
			return SOCKS_CLOSED;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			o->sys_errno = errno;
			return errno == ECONNRESET ? SOCKS_CLOSED : SOCKS_IO;
		}
		int ready = net_wait(fd, POLLIN, deadline, mask);
		if (ready == 0)
			return SOCKS_NO_ANSWER;
		if (ready < 0) {
			o->sys_errno = errno;
			return SOCKS_IO;
		}
	}
}

enum socks_result socks_handshake(int fd, const char *host, int port, const char *user, const char *password,
		long long deadline, const sigset_t *sigmask, struct socks_outcome *o)
{
	uint8_t req[600], ans[300];
	memset(o, 0, sizeof(*o));
	o->rep = -1;
	uint8_t method = user ? 2 : 0;
	size_t hl = strlen(host), ul = user ? strlen(user) : 0, pl = password ? strlen(password) : 0;
	if (hl > 255 || ul > 255 || pl > 255)
		return o->result = SOCKS_TOO_LONG;
	req[0] = 5;
	req[1] = 1;
	req[2] = method;
	enum socks_result r = send_all(fd, req, 3, deadline, sigmask, o);
	if (r == SOCKS_OK)
		r = read_reply(fd, ans, sizeof(ans), deadline, sigmask, o, 0, method);
	if (r == SOCKS_OK && user) {
		size_t n = 0;
		req[n++] = 1;
		req[n++] = (uint8_t)ul;
		memcpy(req + n, user, ul);
		n += ul;
		req[n++] = (uint8_t)pl;
		if (pl)
			memcpy(req + n, password, pl);
		n += pl;
		r = send_all(fd, req, n, deadline, sigmask, o);
		explicit_bzero(req, sizeof(req));
		if (r == SOCKS_OK)
			r = read_reply(fd, ans, sizeof(ans), deadline, sigmask, o, 1, 0);
	}
	if (r == SOCKS_OK) {
		size_t n = 0;
		req[n++] = 5;
		req[n++] = 1; /* CONNECT */
		req[n++] = 0;
		req[n++] = 3; /* a domain name: the proxy resolves it (socks5h) */
		req[n++] = (uint8_t)hl;
		memcpy(req + n, host, hl);
		n += hl;
		req[n++] = (uint8_t)(port >> 8);
		req[n++] = (uint8_t)port;
		r = send_all(fd, req, n, deadline, sigmask, o);
		if (r == SOCKS_OK)
			r = read_reply(fd, ans, sizeof(ans), deadline, sigmask, o, 2, 0);
	}
	return o->result = r;
}
