/* loop: the event loop both tools run on (see client.h): one ppoll over
 * libmosquitto's socket, the caller's extra descriptor (stdin) and the
 * transport's own, with SIGINT/SIGTERM let in only while it waits; the
 * reads, with smqtt_sub's bulk reads and the check of the broker's first
 * reply; and the one global, the signal flag. */
#include "client.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <mqtt_protocol.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "transport.h"

/* Packets read from what OpenSSL read ahead, at most, in one loop step. */
#define TLS_DRAIN_MAX 1024

/* The one global: set by the signal handler, read by the loops. */
static volatile sig_atomic_t caught_signal;

static void on_signal(int signum)
{
	caught_signal = signum;
}

void client_signals_block(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGTERM);
}

int client_signal_caught(void)
{
	return caught_signal;
}

/* Until the CONNACK, ACK what arrived at once: a broker that sent TLS
 * session tickets holds its small CONNACK back (Nagle) until they are
 * ACKed, and a delayed ACK costs ~40 ms. Setting TCP_QUICKACK after data
 * arrived also sends the ACK that is pending. */
static void ack_now(const struct client *c, int sock)
{
	if (c->connack_seen || c->port == 0 || c->ws_on)
		return;
	int one = 1;
	setsockopt(sock, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* Before the first CONNACK: peek at (do not consume) the first bytes the
 * broker sends, on the socket or, over TLS, what OpenSSL decrypted. A reply
 * that cannot start a CONNACK, or announces more than MQTT_FIRST_REPLY_MAX
 * bytes, ends the connection at once, where libmosquitto would wait for
 * (and allocate) up to 256 MB. The bytes are evidence for the explanation. */
static bool first_reply_refused(struct client *c, int sock, SSL *ssl)
{
	struct evidence *ev = &c->ev;
	size_t room = sizeof(ev->reply) - (size_t)ev->reply_len;
	ssize_t n;
	if (ssl) {
		/* a record read here is what libmosquitto's SSL_read returns next;
		 * an error or an alert is left for it to meet */
		ERR_clear_error();
		n = SSL_peek(ssl, ev->reply + ev->reply_len, (int)room);
		ERR_clear_error();
	} else {
		n = recv(sock, ev->reply + ev->reply_len, room, MSG_PEEK | MSG_DONTWAIT);
	}
	if (n <= 0)
		return false;
	ev->reply_len += (int)n;
	enum reply_kind k = mqtt_reply_kind(ev->reply, (size_t)ev->reply_len, NULL);
	/* a partial header is consumed by libmosquitto: the next peek continues it */
	ev->reply_checked = k != REPLY_PARTIAL || ev->reply_len >= (int)sizeof(ev->reply);
	return k != REPLY_PARTIAL && k != REPLY_CONNACK;
}

/* The fast path: QoS 0 messages from bulk reads, the other packets (whole)
 * through libmosquitto, until nothing more is there. */
static int bulk_read(struct client *c, int sock)
{
	for (int turn = 0; turn < 64; turn++) {
		enum bulk_next next = bulkread_step(&c->bulk, c->mosq, sock, c->cfg->protocol_version, c->bulk_fn, c->bulk_obj);
		if (next != BULK_LIBRARY)
			return MOSQ_ERR_SUCCESS;
		int rc = mosquitto_loop_read(c->mosq, 1);
		if (rc || mosquitto_socket(c->mosq) != sock || c->bulk.off)
			return rc;
	}
	return MOSQ_ERR_SUCCESS;
}

int client_loop_step(struct client *c, int timeout_ms, int extra_fd, bool *extra_ready,
		const sigset_t *sigmask)
{
	struct mosquitto *m = c->mosq;
	struct pollfd pfd[4];
	nfds_t n = 0;
	int sock = mosquitto_socket(m);

	if (extra_ready)
		*extra_ready = false;
	if (sock < 0)
		return MOSQ_ERR_NO_CONN;
	if (!c->connack_seen && c->ev.connack < 0 && c->deadline_ms) {
		long long left = c->deadline_ms - mono_ms();
		if (left <= 0) {
			c->ev.timed_out = true;
			return MOSQ_ERR_TIMEOUT;
		}
		if (timeout_ms < 0 || left < timeout_ms)
			timeout_ms = (int)left;
	}
	pfd[n].fd = sock;
	pfd[n].events = POLLIN | (mosquitto_want_write(m) ? POLLOUT : 0);
	pfd[n].revents = 0;
	n++;
	if (extra_fd >= 0) {
		pfd[n].fd = extra_fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	nfds_t own = n;
	c->transport->pollfds(c, pfd, &n);
	if (timeout_ms < 0 || timeout_ms > 1000)
		timeout_ms = 1000;
	/* Records OpenSSL already holds (read ahead) do not wake poll: read
	 * them now. (libmosquitto's socket is plain over WebSockets.) */
	SSL *ssl = c->have_tls && !c->ws_on ? mosquitto_ssl_get(m) : NULL;
	bool buffered = tls_input_buffered(ssl) || c->transport->pending(c);
	bool coalescing = c->bulk_fn && bulkread_busy(&c->bulk, sock);
	if (coalescing && timeout_ms > BULK_BUSY_MS)
		timeout_ms = BULK_BUSY_MS;
	struct timespec ts = {buffered ? 0 : timeout_ms / 1000, buffered ? 0 : (long)(timeout_ms % 1000) * 1000000L};
	int ready = net_ppoll(pfd, n, &ts, sigmask);
	if (ready < 0)
		return errno == EINTR ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ERRNO;
	if (buffered || (coalescing && ready == 0))
		pfd[0].revents |= POLLIN; /* look without being woken */
	if ((n > own || buffered) && c->transport->pump(c))
		pfd[0].revents |= POLLIN;
	bool plain = !c->have_tls || c->ws_on; /* MQTT in the clear on libmosquitto's socket */
	int rc;
	if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		ack_now(c, sock);
		/* (through libmosquitto's SOCKS5, the proxy answers first in the clear) */
		bool peekable = plain ? !c->cfg->socks5_host || c->ws_on : ssl && c->ev.handshake_done;
		if (!c->connack_seen && peekable && !c->ev.reply_checked && c->ev.connack < 0
				&& first_reply_refused(c, sock, plain ? NULL : ssl))
			return MOSQ_ERR_PROTOCOL;
		rc = c->bulk_fn && c->connack_seen && plain ? bulk_read(c, sock) : mosquitto_loop_read(m, 1);
		if (rc || mosquitto_socket(m) < 0)
			return rc;
		/* Then every packet already read ahead, so that a burst costs one
		 * step (and one write of the output) instead of one per message. */
		for (int i = 0; i < TLS_DRAIN_MAX && tls_input_buffered(ssl); i++) {
			rc = mosquitto_loop_read(m, 1);
			if (rc || mosquitto_socket(m) < 0)
				return rc;
		}
	}
	if (pfd[0].revents & POLLOUT) {
		rc = mosquitto_loop_write(m, 1);
		if (rc || mosquitto_socket(m) < 0)
			return rc;
		c->transport->pump(c); /* on to the broker now, not at the next turn */
	}
	if (own > 1 && extra_ready && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
		*extra_ready = true;
	return mosquitto_loop_misc(m);
}

