/* wsrelay: the MQTT-over-WebSocket relay between libmosquitto's Unix
 * socket and the broker (see wsrelay.h). Non-blocking sockets, poll()
 * deadlines; the framing is ws.c's. */
#include "wsrelay.h"
#include "socks.h"
#include "net.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <limits.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/rand.h>

/* The most bytes held for one direction before reading stops until they
 * are written: reading from libmosquitto stops when the broker-bound
 * buffer is full; reading from the broker stops when either buffer is,
 * since its pings (and close) queue frames for the broker too: a server
 * that floods pings and reads nothing fills its own socket, not our
 * memory. */
#define WSR_HIGH_WATER (512 * 1024)
/* The largest MQTT packet (256 MB) and its fixed header: the bound on one
 * WebSocket message from the broker. */
#define WSR_MAX_MESSAGE (268435455ULL + 5)
#define WSR_CHUNK 65536

/* ACK what arrived at once while the connection starts: a broker that
 * sent TLS session tickets or its 101 in pieces holds the next small
 * write back (Nagle) until they are ACKed, and a delayed ACK costs ~40 ms. */
static void quick_ack(struct wsrelay *r)
{
	if (r->quick_acks >= 16 || r->fd < 0)
		return;
	r->quick_acks++;
	int one = 1;
	setsockopt(r->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* Wait for events on fd until deadline: 1 ready, 0 timed out, -1 error
 * (errno EINTR: a signal came; SIGINT and SIGTERM, which the tools block
 * while they run, are let through here, so that they stop a slow upgrade). */
static int wait_fd(int fd, short events, long long deadline)
{
	sigset_t none;
	sigemptyset(&none);
	return net_wait(fd, events, deadline, &none);
}

static void buf_free(struct wsr_buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap); /* may hold credentials (CONNECT) */
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static size_t buf_pending(const struct wsr_buf *b)
{
	return b->len - b->off;
}

static bool buf_add(struct wsr_buf *b, const void *p, size_t n)
{
	if (b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap) {
		if (b->off) {
			memmove(b->data, b->data + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		if (b->len + n > b->cap) {
			size_t cap = b->cap ? b->cap : 16384;
			while (cap < b->len + n)
				cap *= 2;
			uint8_t *d = realloc(b->data, cap);
			if (!d)
				return false;
			b->data = d;
			b->cap = cap;
		}
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return true;
}

void wsrelay_init(struct wsrelay *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->listen_fd = -1;
	r->local_fd = -1;
	r->dir_fd = -1;
	r->close_code = -1;
	ws_decoder_init(&r->dec, WSR_MAX_MESSAGE);
}

/* Drop the broker connection and its per-connection state. */
static void close_broker(struct wsrelay *r)
{
	if (r->ssl) {
		SSL_free(r->ssl);
		r->ssl = NULL;
	}
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	ERR_clear_error();
}

static void reset_connection(struct wsrelay *r)
{
	close_broker(r);
	if (r->local_fd >= 0)
		close(r->local_fd);
	buf_free(&r->to_broker);
	buf_free(&r->to_local);
	buf_free(&r->early);
	/* what outlives a connection: the private directory and its socket */
	int listen_fd = r->listen_fd, dir_fd = r->dir_fd;
	char dir[sizeof(r->dir)], path[sizeof(r->path)];
	memcpy(dir, r->dir, sizeof(dir));
	memcpy(path, r->path, sizeof(path));
	wsrelay_init(r);
	r->listen_fd = listen_fd;
	r->dir_fd = dir_fd;
	memcpy(r->dir, dir, sizeof(dir));
	memcpy(r->path, path, sizeof(path));
}

/* Remove the private directory and its socket, through the directory as
 * opened: the name is removed only while it is still that directory (in a
 * $TMPDIR others can write, it may have been renamed and replaced). The
 * descriptor's number stays reserved (on "/", O_PATH) unless release:
 * libmosquitto keeps the socket path /proc/self/fd/N/s for its reconnects,
 * so the next directory is put under the same N. */
static void remove_dir(struct wsrelay *r, bool release)
{
	if (r->dir_fd >= 0 && r->dir[0]) {
		struct stat mine, now;
		unlinkat(r->dir_fd, "s", 0);
		if (fstat(r->dir_fd, &mine) == 0 && lstat(r->dir, &now) == 0
				&& mine.st_dev == now.st_dev && mine.st_ino == now.st_ino)
			rmdir(r->dir);
	}
	r->dir[0] = '\0';
	if (r->dir_fd < 0)
		return;
	int root = release ? -1 : open("/", O_PATH | O_CLOEXEC);
	if (root >= 0 && dup3(root, r->dir_fd, O_CLOEXEC) >= 0) {
		close(root);
		return;
	}
	if (root >= 0)
		close(root);
	close(r->dir_fd);
	r->dir_fd = -1;
}

void wsrelay_free(struct wsrelay *r)
{
	reset_connection(r);
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	remove_dir(r, true);
	wsrelay_init(r);
}

/* TCP to host:port before deadline, with Nagle off (every write is whole
 * frames); -1 with errno. */
static int dial(const char *host, int port, const char *bind_address, long long deadline)
{
	sigset_t none;
	sigemptyset(&none);
	int fd = net_dial(host, port, bind_address, deadline, &none);
	if (fd >= 0) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

/* Blocking-style I/O on the non-blocking broker socket, before the relay
 * runs (proxy, upgrade): all of p, or false (errno; ETIMEDOUT). */
static bool send_all(struct wsrelay *r, const void *p, size_t n, long long deadline)
{
	const uint8_t *b = p;
	while (n) {
		int w;
		if (r->ssl) {
			ERR_clear_error();
			w = SSL_write(r->ssl, b, (int)n);
			if (w <= 0) {
				int e = SSL_get_error(r->ssl, w);
				int ready = e == SSL_ERROR_WANT_READ ? wait_fd(r->fd, POLLIN, deadline)
					: e == SSL_ERROR_WANT_WRITE ? wait_fd(r->fd, POLLOUT, deadline) : -1;
				if (ready == 1)
					continue;
				errno = ready == 0 ? ETIMEDOUT : EPIPE;
				return false;
			}
		} else {
			ssize_t s = send(r->fd, b, n, MSG_NOSIGNAL);
			if (s < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN)
					return false;
				int ready = wait_fd(r->fd, POLLOUT, deadline);
				if (ready == 1)
					continue;
				errno = ready == 0 ? ETIMEDOUT : errno;
				return false;
			}
			w = (int)s;
		}
		b += w;
		n -= (size_t)w;
	}
	return true;
}

/* Read what is there (up to n) before deadline: >0 bytes, 0 EOF, -1 error
 * (errno; ETIMEDOUT). */
static ssize_t recv_some(struct wsrelay *r, void *p, size_t n, long long deadline)
{
	for (;;) {
		if (r->ssl) {
			ERR_clear_error();
			int got = SSL_read(r->ssl, p, (int)n);
			quick_ack(r); /* also for a session ticket SSL_read took in */
			if (got > 0)
				return got;
			int e = SSL_get_error(r->ssl, got);
			if (e == SSL_ERROR_ZERO_RETURN)
				return 0;
			int ready = e == SSL_ERROR_WANT_READ ? wait_fd(r->fd, POLLIN, deadline)
				: e == SSL_ERROR_WANT_WRITE ? wait_fd(r->fd, POLLOUT, deadline) : -1;
			if (ready == 1)
				continue;
			if (ready == 0) {
				errno = ETIMEDOUT;
				return -1;
			}
			if (e == SSL_ERROR_SYSCALL && errno == 0)
				return 0; /* EOF without close_notify */
			errno = e == SSL_ERROR_SSL ? EPROTO : errno ? errno : ECONNRESET;
			return -1;
		}
		ssize_t got = recv(r->fd, p, n, 0);
		quick_ack(r);
		if (got >= 0)
			return got;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		int ready = wait_fd(r->fd, POLLIN, deadline);
		if (ready == 1)
			continue;
		if (ready == 0)
			errno = ETIMEDOUT;
		return -1;
	}
}

/* SOCKS5 (RFC 1928, 1929): CONNECT to host:port by name. */
static enum wsr_result socks5(struct wsrelay *r, const struct wsr_target *t, long long deadline)
{
	sigset_t none;
	sigemptyset(&none);
	struct socks_outcome *o = &r->socks;
	enum socks_result s = socks_handshake(r->fd, t->host, t->port, t->socks5_username, t->socks5_password, deadline,
			&none, o);
	switch (s) {
	case SOCKS_OK: return WSR_OK;
	case SOCKS_METHOD_REFUSED:
		snprintf(r->proxy_error, sizeof(r->proxy_error), "the proxy refused the %s authentication method",
				t->socks5_username ? "username" : "\"none\"");
		break;
	case SOCKS_AUTH_REFUSED:
		snprintf(r->proxy_error, sizeof(r->proxy_error), "the proxy rejected the user name and password");
		break;
	case SOCKS_TARGET_REFUSED:
		snprintf(r->proxy_error, sizeof(r->proxy_error), "the proxy answered: %s", socks_rep_text(o->rep));
		r->sys_errno = o->rep == 5 ? ECONNREFUSED : o->rep == 3 ? ENETUNREACH : o->rep == 4 ? EHOSTUNREACH : 0;
		break;
	case SOCKS_NOT_SOCKS: case SOCKS_CLOSED:
		snprintf(r->proxy_error, sizeof(r->proxy_error), "the proxy does not speak SOCKS5");
		break;
	case SOCKS_NO_ANSWER:
		snprintf(r->proxy_error, sizeof(r->proxy_error), "the proxy did not answer");
		r->sys_errno = ETIMEDOUT;
		return WSR_TIMEOUT;
	case SOCKS_TOO_LONG:
		snprintf(r->proxy_error, sizeof(r->proxy_error), "the host name, proxy user name or password is over 255 bytes");
		break;
	default:
		r->sys_errno = o->sys_errno;
		errno = o->sys_errno;
		return WSR_TCP;
	}
	return WSR_TCP;
}

static enum wsr_result tls_handshake(struct wsrelay *r, const struct wsr_target *t, long long deadline)
{
	r->stage = WSR_AT_TLS;
	r->ssl = SSL_new(t->ctx);
	if (!r->ssl)
		return WSR_NOMEM;
	SSL_set_fd(r->ssl, r->fd);
	SSL_set_tlsext_host_name(r->ssl, t->host);
	SSL_set_mode(r->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int rc = SSL_connect(r->ssl);
		if (rc == 1)
			return WSR_OK;
		int e = SSL_get_error(r->ssl, rc);
		int ready = e == SSL_ERROR_WANT_READ ? wait_fd(r->fd, POLLIN, deadline)
			: e == SSL_ERROR_WANT_WRITE ? wait_fd(r->fd, POLLOUT, deadline) : -1;
		if (ready == 1) {
			quick_ack(r);
			continue;
		}
		r->sys_errno = errno;
		return ready == 0 ? WSR_TIMEOUT : WSR_TLS;
	}
}

static enum wsr_result upgrade(struct wsrelay *r, const struct wsr_target *t, long long deadline)
{
	r->stage = WSR_AT_UPGRADE;
	if (!ws_make_key(r->key))
		return WSR_NOMEM;
	char *req = ws_request(t->host, t->port, t->ctx != NULL, t->path, r->key);
	if (!req)
		return WSR_NOMEM;
	snprintf(r->request_line, sizeof(r->request_line), "%.*s", (int)strcspn(req, "\r"), req);
	const char *host = strstr(req, "\r\nHost: ");
	if (host) {
		host += 8;
		snprintf(r->host_header, sizeof(r->host_header), "%.*s", (int)strcspn(host, "\r"), host);
	}
	bool sent = send_all(r, req, strlen(req), deadline);
	free(req);
	if (!sent) {
		r->sys_errno = errno;
		return errno == ETIMEDOUT ? WSR_TIMEOUT : WSR_CLOSED;
	}
	/* read the head; what follows it is the first frames */
	uint8_t *buf = malloc(WS_MAX_HEAD + WSR_CHUNK);
	if (!buf)
		return WSR_NOMEM;
	size_t have = 0;
	enum wsr_result res;
	for (;;) {
		ssize_t got = recv_some(r, buf + have, WS_MAX_HEAD + WSR_CHUNK - have, deadline);
		quick_ack(r);
		if (got <= 0) {
			r->sys_errno = got == 0 ? 0 : errno;
			res = got < 0 && errno == ETIMEDOUT ? WSR_TIMEOUT : got < 0 && r->ssl && errno == EPROTO ? WSR_TLS : WSR_CLOSED;
			break;
		}
		if (r->first_len < sizeof(r->first)) {
			size_t k = sizeof(r->first) - r->first_len;
			if (k > (size_t)got)
				k = (size_t)got;
			memcpy(r->first + r->first_len, buf + have, k);
			r->first_len += k;
		}
		have += (size_t)got;
		r->head_result = ws_parse_head(buf, have, r->key, &r->head);
		if (r->head_result == WS_HEAD_INCOMPLETE) {
			if (have >= WS_MAX_HEAD + WSR_CHUNK) { /* cannot happen: the parser says too large first */
				r->head_result = WS_HEAD_TOO_LARGE;
				res = WSR_UPGRADE;
				break;
			}
			continue;
		}
		if (r->head_result != WS_HEAD_OK) {
			res = WSR_UPGRADE;
			break;
		}
		/* frames that came with the head are the broker's first bytes */
		res = WSR_OK;
		r->open = true;
		r->stage = WSR_AT_OPEN;
		if (have > r->head.head_len) {
			/* decoded in wsrelay_accept, once libmosquitto's end exists */
			if (!buf_add(&r->early, buf + r->head.head_len, have - r->head.head_len))
				res = WSR_NOMEM;
		}
		break;
	}
	explicit_bzero(buf, have);
	free(buf);
	return res;
}

enum wsr_result wsrelay_open(struct wsrelay *r, const struct wsr_target *t, long long deadline_ms)
{
	reset_connection(r);
	bool proxy = t->socks5_host != NULL;
	r->fd = dial(proxy ? t->socks5_host : t->host, proxy ? t->socks5_port : t->port, t->bind_address, deadline_ms);
	if (r->fd < 0) {
		r->sys_errno = errno;
		return errno == ETIMEDOUT ? WSR_TIMEOUT : WSR_TCP;
	}
	if (proxy) {
		r->stage = WSR_AT_PROXY;
		enum wsr_result p = socks5(r, t, deadline_ms);
		if (p != WSR_OK)
			return p;
	}
	if (t->ctx) {
		enum wsr_result s = tls_handshake(r, t, deadline_ms);
		if (s != WSR_OK)
			return s;
	}
	return upgrade(r, t, deadline_ms);
}

/* Open the directory just made, never through a link, and check that it
 * is still ours and private: in a $TMPDIR others can write, it could have
 * been renamed away and replaced between mkdtemp and here. */
static int open_private_dir(struct wsrelay *r, const char *tmp, char **cause)
{
	struct stat st;
	int fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 07777) == 0700) {
		if (r->dir_fd < 0) {
			r->dir_fd = fd;
			return 0;
		}
		/* the number libmosquitto already knows (reserved by remove_dir) */
		if (dup3(fd, r->dir_fd, O_CLOEXEC) >= 0) {
			close(fd);
			return 0;
		}
	}
	if (fd >= 0)
		close(fd);
	if (asprintf(cause, "the WebSocket relay's private directory %s was replaced before it could be used "
				"(another local user can write to %s)",
				r->dir, tmp) < 0)
		*cause = NULL;
	r->dir[0] = '\0'; /* not ours: never removed */
	return -1;
}

int wsrelay_listen(struct wsrelay *r, char **cause)
{
	if (r->listen_fd >= 0)
		return 0;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	/* a fresh directory for every connection: the last one was removed
	 * once libmosquitto connected (or by a /tmp cleaner) */
	remove_dir(r, false);
	snprintf(r->dir, sizeof(r->dir), "%s/smqtt-ws-XXXXXX", tmp);
	if (!mkdtemp(r->dir)) {
		if (asprintf(cause, "cannot make a private directory for the WebSocket relay in %s: %s", tmp,
					strerror(errno)) < 0)
			*cause = NULL;
		r->dir[0] = '\0';
		return -1;
	}
	if (open_private_dir(r, tmp, cause))
		return -1;
	/* bound and connected to through the open directory, which no rename
	 * can swap; the name only where /proc is missing */
	snprintf(r->path, sizeof(r->path), "/proc/self/fd/%d/s", r->dir_fd);
	struct stat st;
	if (stat("/proc/self/fd", &st) != 0)
		snprintf(r->path, sizeof(r->path), "%s/s", r->dir);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->path);
	r->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->listen_fd < 0 || bind(r->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0
			|| listen(r->listen_fd, 1) != 0) {
		if (asprintf(cause, "cannot make the WebSocket relay's socket %s/s: %s", r->dir, strerror(errno)) < 0)
			*cause = NULL;
		return -1;
	}
	return 0;
}

/* Frames that arrived together with the upgrade response were kept raw in
 * early; decoded once libmosquitto's end exists, as later input is. */
static bool take_input(struct wsrelay *r, const uint8_t *p, size_t n);

int wsrelay_accept(struct wsrelay *r, char **cause)
{
	struct pollfd p = {r->listen_fd, POLLIN, 0};
	if (poll(&p, 1, 1000) != 1) {
		if (asprintf(cause, "libmosquitto did not connect to the WebSocket relay's socket %s", r->path) < 0)
			*cause = NULL;
		return -1;
	}
	int fd = accept4(r->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid != getpid()
			|| cred.uid != geteuid()) {
		if (asprintf(cause, "the WebSocket relay's socket %s was connected to by another process", r->path) < 0)
			*cause = NULL;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	r->local_fd = fd;
	/* nothing else may connect: the socket and its directory go until a
	 * reconnect makes them again */
	close(r->listen_fd);
	r->listen_fd = -1;
	remove_dir(r, false);
	if (buf_pending(&r->early)) {
		bool ok = take_input(r, r->early.data + r->early.off, buf_pending(&r->early));
		buf_free(&r->early);
		if (!ok) {
			*cause = strdup("out of memory");
			return -1;
		}
	}
	return 0;
}

/* Room for what reading the broker may queue: its data for libmosquitto,
 * and the pongs (or the close) its frames ask for. */
static bool broker_readable(const struct wsrelay *r)
{
	return buf_pending(&r->to_local) < WSR_HIGH_WATER && buf_pending(&r->to_broker) < WSR_HIGH_WATER;
}

void wsrelay_pollfds(const struct wsrelay *r, struct pollfd *p, nfds_t *n)
{
	if (!r->open)
		return;
	if (r->fd >= 0 && !r->broker_eof) {
		short ev = 0;
		if (broker_readable(r))
			ev |= POLLIN;
		if (buf_pending(&r->to_broker))
			ev |= POLLOUT;
		p[*n] = (struct pollfd){r->fd, ev, 0};
		(*n)++;
	}
	if (r->local_fd >= 0) {
		short ev = 0;
		if (!r->local_eof && buf_pending(&r->to_broker) < WSR_HIGH_WATER && !r->broker_eof)
			ev |= POLLIN;
		if (buf_pending(&r->to_local))
			ev |= POLLOUT;
		p[*n] = (struct pollfd){r->local_fd, ev, 0};
		(*n)++;
	}
}

bool wsrelay_pending(const struct wsrelay *r)
{
	return r->open && r->ssl && !r->broker_eof && broker_readable(r) && tls_input_buffered(r->ssl);
}

/* A fresh random mask: from a pool that one RAND_bytes call fills for 1024
 * frames, so that answering a flood of pings costs no call per pong. */
static bool next_mask(struct wsrelay *r, uint8_t mask[4])
{
	if (r->masks_left < 4) {
		if (RAND_bytes(r->masks, sizeof(r->masks)) != 1)
			return false;
		r->masks_left = sizeof(r->masks);
	}
	memcpy(mask, r->masks + sizeof(r->masks) - r->masks_left, 4);
	r->masks_left -= 4;
	return true;
}

static bool queue_frame(struct wsrelay *r, enum ws_opcode op, const uint8_t *p, size_t n)
{
	uint8_t hdr[14], mask[4];
	if (!next_mask(r, mask))
		return false;
	size_t hl = ws_frame_header(hdr, op, true, n, mask);
	if (!buf_add(&r->to_broker, hdr, hl) || !buf_add(&r->to_broker, p, n))
		return false;
	/* buf_add may have moved the data down: the payload is the last n bytes */
	ws_mask(r->to_broker.data + r->to_broker.len - n, n, mask, 0);
	return true;
}

static void send_close(struct wsrelay *r, int code)
{
	if (r->close_sent)
		return;
	uint8_t p[2] = {(uint8_t)(code >> 8), (uint8_t)code};
	r->close_sent = queue_frame(r, WS_OP_CLOSE, p, code >= 0 ? 2 : 0);
}

/* Decode broker input: data for libmosquitto, pings answered, a close or a
 * protocol error ends the broker side. */
static bool take_input(struct wsrelay *r, const uint8_t *p, size_t n)
{
	while (n && !r->broker_eof) {
		struct ws_event ev;
		size_t used = ws_decode(&r->dec, p, n, &ev);
		p += used;
		n -= used;
		switch (ev.kind) {
		case WS_EV_DATA:
			if (r->gate && !pktgate_feed(r->gate, ev.data, ev.len)) {
				/* a packet over its bound: libmosquitto never gets it */
				send_close(r, 1009);
				r->broker_eof = true;
				break;
			}
			if (ev.len && !buf_add(&r->to_local, ev.data, ev.len))
				return false;
			break;
		case WS_EV_PING:
			if (!queue_frame(r, WS_OP_PONG, ev.data, ev.len))
				return false;
			break;
		case WS_EV_CLOSE:
			r->close_received = true;
			r->close_code = ev.code;
			snprintf(r->close_reason, sizeof(r->close_reason), "%s", ev.reason);
			send_close(r, ev.code == 1005 ? -1 : ev.code);
			r->broker_eof = true;
			break;
		case WS_EV_ERROR:
			r->error = ev.error;
			send_close(r, ws_error_close_code(ev.error));
			r->broker_eof = true;
			break;
		default:
			break;
		}
	}
	return true;
}

/* Write what is queued for the broker: true while the connection lives. */
static bool flush_broker(struct wsrelay *r)
{
	while (buf_pending(&r->to_broker)) {
		size_t n = buf_pending(&r->to_broker);
		const uint8_t *p = r->to_broker.data + r->to_broker.off;
		if (r->ssl) {
			ERR_clear_error();
			int w = SSL_write(r->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
			if (w <= 0) {
				int e = SSL_get_error(r->ssl, w);
				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					return true;
				r->sys_errno = errno ? errno : EPIPE;
				return false;
			}
			r->to_broker.off += (size_t)w;
		} else {
			ssize_t w = send(r->fd, p, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return true;
				r->sys_errno = errno;
				return false;
			}
			r->to_broker.off += (size_t)w;
		}
	}
	return true;
}

/* Read from the broker what is there: false once it has ended. */
static bool read_broker(struct wsrelay *r)
{
	uint8_t buf[WSR_CHUNK];
	for (int turn = 0; turn < 16 && broker_readable(r) && !r->broker_eof; turn++) {
		ssize_t got;
		if (r->ssl) {
			ERR_clear_error();
			int n = SSL_read(r->ssl, buf, sizeof(buf));
			if (n <= 0) {
				int e = SSL_get_error(r->ssl, n);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return true;
				if (e != SSL_ERROR_ZERO_RETURN)
					r->sys_errno = errno ? errno : ECONNRESET;
				return false;
			}
			got = n;
		} else {
			got = recv(r->fd, buf, sizeof(buf), 0);
			if (got < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return true;
				r->sys_errno = errno;
				return false;
			}
			if (got == 0)
				return false;
		}
		quick_ack(r);
		if (!take_input(r, buf, (size_t)got))
			return false;
		if ((size_t)got < sizeof(buf) && !(r->ssl && tls_input_buffered(r->ssl)))
			break;
	}
	return true;
}

/* libmosquitto's bytes, framed for the broker; returns how many were read. */
static size_t read_local(struct wsrelay *r)
{
	uint8_t buf[WSR_CHUNK];
	size_t total = 0;
	while (!r->local_eof && buf_pending(&r->to_broker) < WSR_HIGH_WATER) {
		ssize_t got = recv(r->local_fd, buf, sizeof(buf), 0);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (got <= 0) {
			r->local_eof = true;
			break;
		}
		bool ok = queue_frame(r, WS_OP_BINARY, buf, (size_t)got);
		explicit_bzero(buf, (size_t)got);
		if (!ok) {
			r->local_eof = true;
			break;
		}
		total += (size_t)got;
		if ((size_t)got < sizeof(buf))
			break;
	}
	return total;
}

static long write_local(struct wsrelay *r)
{
	long moved = 0;
	while (buf_pending(&r->to_local)) {
		ssize_t w = send(r->local_fd, r->to_local.data + r->to_local.off, buf_pending(&r->to_local), MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			r->to_local.off = r->to_local.len; /* libmosquitto is gone */
			break;
		}
		r->to_local.off += (size_t)w;
		moved += w;
	}
	return moved;
}

long wsrelay_pump(struct wsrelay *r)
{
	if (!r->open || r->local_fd < 0)
		return -1;
	if (!r->broker_eof && r->fd >= 0) {
		if (!flush_broker(r) || !read_broker(r)) {
			r->broker_eof = true;
			if (r->dec.left || r->dec.hdr_have)
				r->error = WS_ERR_TRUNCATED;
		}
	}
	if (!r->broker_eof) {
		read_local(r);
		if (!flush_broker(r))
			r->broker_eof = true;
		else if (r->local_eof && !buf_pending(&r->to_broker) && !r->close_sent) {
			/* libmosquitto closed (after DISCONNECT): say goodbye */
			send_close(r, 1000);
			flush_broker(r);
		}
	} else if (r->fd >= 0) {
		flush_broker(r); /* our close frame, best effort */
	}
	long moved = write_local(r);
	if (r->broker_eof && !buf_pending(&r->to_local)) {
		shutdown(r->local_fd, SHUT_WR); /* libmosquitto reads EOF */
		return moved ? moved : -1;
	}
	return moved;
}

void wsrelay_shutdown(struct wsrelay *r, int wait_ms)
{
	if (!r->open || r->fd < 0) {
		reset_connection(r);
		return;
	}
	long long deadline = mono_ms() + wait_ms;
	/* what libmosquitto wrote last (its DISCONNECT) */
	if (r->local_fd >= 0 && !r->broker_eof) {
		r->local_eof = false;
		while (!r->local_eof && read_local(r) > 0)
			; /* until EOF, or nothing more with the socket still open */
	}
	if (!r->broker_eof)
		send_close(r, 1000);
	/* one write at least (wait_ms 0: what the socket takes now) */
	while (flush_broker(r) && buf_pending(&r->to_broker) && mono_ms() < deadline
			&& wait_fd(r->fd, POLLOUT, deadline) == 1)
		;
	/* What the broker sent that is here already is read, so that the
	 * close sends a FIN and not a reset (which could cost the broker our
	 * last bytes). Its own close frame is not waited for: that costs a
	 * round trip on every run, and neither mosquitto_pub 2.1.2 over ws nor
	 * either client over plain MQTT waits for the broker's end. */
	for (int turn = 0; turn < 4 && !r->broker_eof && broker_readable(r); turn++)
		if (!read_broker(r))
			break;
	if (r->ssl && r->fd >= 0)
		SSL_shutdown(r->ssl);
	reset_connection(r);
}

const char *wsrelay_result_text(enum ws_head_result h)
{
	switch (h) {
	case WS_HEAD_OK: return "101 Switching Protocols, subprotocol mqtt";
	case WS_HEAD_NOT_HTTP: return "not an HTTP response";
	case WS_HEAD_TOO_LARGE: return "a response head over 16 kB";
	case WS_HEAD_STATUS: return "an HTTP status other than 101";
	case WS_HEAD_NO_UPGRADE: return "101 without Upgrade: websocket";
	case WS_HEAD_BAD_ACCEPT: return "a wrong Sec-WebSocket-Accept";
	case WS_HEAD_NO_SUBPROTOCOL: return "no Sec-WebSocket-Protocol";
	case WS_HEAD_WRONG_SUBPROTOCOL: return "another subprotocol than mqtt";
	case WS_HEAD_EXTENSION: return "an extension not asked for";
	default: return "incomplete";
	}
}
