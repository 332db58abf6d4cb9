/* readgate: hold libmosquitto's reads until the packet gate has judged
 * the header they would begin (see readgate.h). */
#include "readgate.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>

/* ---- mqtts: the record filter ---- */

/* Bytes read ahead from the socket: a whole record (at most 5 + 65535) and
 * what came after it. */
#define READGATE_BUF (72 * 1024)
#define TLS_HEADER 5

struct recfilter {
	unsigned char buf[READGATE_BUF];
	size_t off, len;       /* unread bytes: buf[off..len) */
	size_t rec_left;       /* bytes of the current record still to hand out (0: at a record boundary) */
	bool granting;         /* after the CONNACK: a record passes only when granted */
	int grants;            /* records that may start */
	bool eof;              /* the socket said EOF (or failed) */
	BIO_METHOD *method;    /* this BIO's own (freed with it) */
};

#define FILTER_NAME "smqtt record gate"

static int filter_create(BIO *b)
{
	struct recfilter *f = calloc(1, sizeof(*f));
	if (!f)
		return 0;
	BIO_set_data(b, f);
	BIO_set_init(b, 1);
	return 1;
}

static int filter_destroy(BIO *b)
{
	struct recfilter *f = BIO_get_data(b);
	if (f) {
		/* BIO_free uses the method no more after this */
		BIO_meth_free(f->method);
		free(f);
	}
	BIO_set_data(b, NULL);
	return 1;
}

/* Read more from the socket into the buffer, at most want bytes (0: as
 * many as fit): > 0 bytes, 0 EOF, < 0 retry or error (the retry flags are
 * copied). Before the CONNACK nothing past the current record is read:
 * poll must see what OpenSSL has not taken. */
static int fill(BIO *b, struct recfilter *f, size_t want)
{
	if (f->off) {
		memmove(f->buf, f->buf + f->off, f->len - f->off);
		f->len -= f->off;
		f->off = 0;
	}
	size_t room = sizeof(f->buf) - f->len;
	if (want && want < room)
		room = want;
	if (room == 0)
		return -1;
	int n = BIO_read(BIO_next(b), f->buf + f->len, (int)room);
	if (n > 0)
		f->len += (size_t)n;
	else if (n == 0 || !BIO_should_retry(BIO_next(b)))
		f->eof = true;
	BIO_copy_next_retry(b);
	return n;
}

/* Can a record start: is its header here? */
static bool header_here(const struct recfilter *f)
{
	return f->len - f->off >= TLS_HEADER;
}

static int filter_read(BIO *b, char *out, int outl)
{
	struct recfilter *f = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (outl <= 0)
		return 0;
	if (f->rec_left == 0) {
		if (f->granting && f->grants == 0) {
			BIO_set_retry_read(b);
			return -1;
		}
		while (!header_here(f) && !f->eof) {
			int n = fill(b, f, f->granting ? 0 : TLS_HEADER - (f->len - f->off));
			if (n < 0)
				return -1;
		}
		BIO_clear_retry_flags(b);
		if (!header_here(f)) {
			if (f->len == f->off)
				return 0; /* EOF */
			f->rec_left = f->len - f->off; /* a piece of a header, then EOF: OpenSSL says so */
		} else {
			const unsigned char *h = f->buf + f->off;
			f->rec_left = TLS_HEADER + ((size_t)h[3] << 8 | h[4]);
		}
		if (f->granting)
			f->grants--;
	}
	if (f->off == f->len) {
		int n = fill(b, f, f->granting ? 0 : f->rec_left);
		if (n <= 0)
			return n;
		BIO_clear_retry_flags(b);
	}
	size_t k = f->len - f->off;
	if (k > f->rec_left)
		k = f->rec_left;
	if (k > (size_t)outl)
		k = (size_t)outl;
	memcpy(out, f->buf + f->off, k);
	f->off += k;
	f->rec_left -= k;
	return (int)k;
}

static int filter_write(BIO *b, const char *in, int inl)
{
	int n = BIO_write(BIO_next(b), in, inl);
	BIO_clear_retry_flags(b);
	BIO_copy_next_retry(b);
	return n;
}

static long filter_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct recfilter *f = BIO_get_data(b);
	switch (cmd) {
	case BIO_CTRL_PENDING:
		return (long)(f->len - f->off) + BIO_ctrl(BIO_next(b), cmd, num, ptr);
	case BIO_CTRL_EOF: /* OpenSSL tells an unexpected EOF from an error by it */
		return f->eof && f->off == f->len;
	case BIO_CTRL_DUP:
		return 0;
	default:
		return BIO_next(b) ? BIO_ctrl(BIO_next(b), cmd, num, ptr) : 0;
	}
}

static BIO *filter_new(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_TYPE_FILTER, FILTER_NAME);
	if (!m)
		return NULL;
	BIO_meth_set_create(m, filter_create);
	BIO_meth_set_destroy(m, filter_destroy);
	BIO_meth_set_read(m, filter_read);
	BIO_meth_set_write(m, filter_write);
	BIO_meth_set_ctrl(m, filter_ctrl);
	BIO *b = BIO_new(m);
	if (!b) {
		BIO_meth_free(m);
		return NULL;
	}
	((struct recfilter *)BIO_get_data(b))->method = m;
	return b;
}

static struct recfilter *filter_of(SSL *ssl)
{
	BIO *rb = ssl ? SSL_get_rbio(ssl) : NULL;
	if (!rb || BIO_method_type(rb) != BIO_TYPE_FILTER || strcmp(BIO_method_name(rb), FILTER_NAME) != 0)
		return NULL;
	return BIO_get_data(rb);
}

void readgate_tls_install(SSL *ssl)
{
	BIO *rb = SSL_get_rbio(ssl);
	if (!rb || filter_of(ssl))
		return;
	BIO *f = filter_new();
	if (!f)
		return; /* readgate_tls_start then finds no filter: refused there */
	BIO_up_ref(rb); /* the chain's reference; SSL_set0_rbio drops the SSL's */
	BIO_push(f, rb);
	SSL_set0_rbio(ssl, f);
}

bool readgate_tls_ready(SSL *ssl)
{
	struct recfilter *f = filter_of(ssl);
	if (!f || !f->granting || f->off == f->len)
		return false;
	if (f->rec_left || !f->granting)
		return true;
	/* a record waits for its grant: whole, or what it lacks is to be read */
	const unsigned char *h = f->buf + f->off;
	return header_here(f) && f->len - f->off >= TLS_HEADER + ((size_t)h[3] << 8 | h[4]);
}

/* Plaintext of one record at most: what SSL_peek shows. */
#define PEEK_MAX (16 * 1024 + 256)

bool readgate_tls_start(SSL *ssl, struct pktgate *g)
{
	struct recfilter *f = filter_of(ssl);
	if (!f)
		return false; /* (it could not be made) */
	pktgate_start(g);
	f->granting = true;
	f->grants = 0;
	int pending = SSL_pending(ssl);
	if (pending > 0) {
		/* what followed the CONNACK in its record: not seen yet */
		unsigned char buf[PEEK_MAX];
		ERR_clear_error();
		int n = SSL_peek(ssl, buf, pending < (int)sizeof(buf) ? pending : (int)sizeof(buf));
		ERR_clear_error();
		if (n > 0) {
			g->fed += (uint64_t)n;
			pktgate_feed(g, buf, (size_t)n);
		}
	}
	return true;
}

enum readgate_next readgate_tls_step(SSL *ssl, struct pktgate *g)
{
	struct recfilter *f = filter_of(ssl);
	if (!f || !g->active)
		return g->refused ? READGATE_REFUSED : READGATE_READ;
	if (g->refused) /* what came before the refused header in its record is read first */
		return pktgate_reached(g, g->fed - (uint64_t)SSL_pending(ssl)) ? READGATE_REFUSED : READGATE_READ;
	/* a few records that carry no data (a TLS 1.3 ticket, a key update) */
	for (int turn = 0; turn < 8; turn++) {
		if (SSL_pending(ssl) > 0)
			return READGATE_READ; /* its record was judged whole */
		if (f->rec_left == 0 && f->grants == 0)
			f->grants = 1;
		unsigned char buf[PEEK_MAX];
		ERR_clear_error();
		int n = SSL_peek(ssl, buf, sizeof(buf));
		if (n > 0) {
			ERR_clear_error();
			g->fed += (uint64_t)n;
			if (pktgate_feed(g, buf, (size_t)n))
				return READGATE_READ;
			return pktgate_reached(g, g->fed - (uint64_t)n) ? READGATE_REFUSED : READGATE_READ;
		}
		int e = SSL_get_error(ssl, n);
		ERR_clear_error();
		if (e != SSL_ERROR_WANT_READ)
			return READGATE_READ; /* EOF, an alert, an error: libmosquitto meets it */
		if (f->rec_left || f->grants)
			return READGATE_WAIT; /* the record is not all here yet */
		/* a whole record without data went by: grant the next */
	}
	return READGATE_WAIT;
}

/* ---- plain MQTT: the socket's byte counts ---- */

/* Bytes libmosquitto (or bulkread) has read from sock since it opened,
 * exactly: bytes received less bytes waiting. *open: the peer may send
 * more. false when the counts cannot be had. */
static bool consumed(int sock, uint64_t *out, bool *open)
{
	for (int turn = 0; turn < 16; turn++) {
		struct tcp_info a, b;
		socklen_t la = sizeof(a), lb = sizeof(b);
		int waiting = 0;
		if (getsockopt(sock, IPPROTO_TCP, TCP_INFO, &a, &la) != 0
				|| la < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(a.tcpi_bytes_received))
			return false;
		if (ioctl(sock, SIOCINQ, &waiting) != 0 || waiting < 0)
			return false;
		if (getsockopt(sock, IPPROTO_TCP, TCP_INFO, &b, &lb) != 0)
			return false;
		if (a.tcpi_bytes_received != b.tcpi_bytes_received)
			continue; /* bytes came in between: again */
		*open = b.tcpi_state == 1; /* TCP_ESTABLISHED: no FIN yet */
		*out = b.tcpi_bytes_received - (uint64_t)waiting;
		return true;
	}
	return false;
}

bool readgate_sock_start(int sock, struct pktgate *g)
{
	uint64_t c = 0;
	bool open = false;
	pktgate_start(g);
	if (!consumed(sock, &c, &open)) {
		g->lost = true;
		g->mark = 0;
		return false;
	}
	g->base = c;
	return true;
}

void readgate_sock_resync(int sock, struct pktgate *g)
{
	uint64_t c = 0;
	bool open = false;
	if (!g->active || g->lost || g->refused || !consumed(sock, &c, &open))
		return;
	c -= g->base;
	if (c > g->pos) {
		/* whole packets were read past the judged ones: on from there */
		g->pos = c;
		g->hdr_len = 0;
		g->body_left = 0;
	}
}

/* Where the first header not judged begins. */
static uint64_t unjudged_at(const struct pktgate *g)
{
	return g->body_left ? g->pos + g->body_left : g->pos - (uint64_t)g->hdr_len;
}

enum readgate_next readgate_sock_step(int sock, struct pktgate *g, uint64_t *unjudged)
{
	*unjudged = UINT64_MAX;
	if (!g->active || (g->lost && !g->refused))
		return READGATE_READ;
	uint64_t c = 0;
	bool open = false;
	if (!consumed(sock, &c, &open))
		return g->refused ? READGATE_REFUSED : READGATE_WAIT; /* (counts that moved 16 times over: look again) */
	c -= g->base;
	if (g->refused) {
		/* the packets before the refused one are libmosquitto's */
		*unjudged = g->refused_at;
		return pktgate_reached(g, c) ? READGATE_REFUSED : READGATE_READ;
	}
	if (!open)
		return READGATE_READ; /* the peer has ended: what is left is in the receive buffer */
	if (c > g->pos) {
		if (!g->body_left || c - g->pos > g->body_left) {
			g->lost = true; /* cannot happen: read_after saw it */
			g->mark = unjudged_at(g);
			return READGATE_READ;
		}
		g->body_left -= c - g->pos; /* read in a body already judged */
		g->pos = c;
	}
	uint64_t need = unjudged_at(g);
	if (need - c < 64 * 1024) {
		unsigned char buf[64 * 1024];
		size_t want = (size_t)(need - c) + 8;
		ssize_t n = recv(sock, buf, want, MSG_PEEK | MSG_DONTWAIT);
		size_t skip = (size_t)(g->pos - c);
		if (n > 0 && (size_t)n > skip && !pktgate_feed(g, buf + skip, (size_t)n - skip)) {
			*unjudged = g->refused_at;
			return pktgate_reached(g, c) ? READGATE_REFUSED : READGATE_READ;
		}
		need = unjudged_at(g);
	}
	*unjudged = need;
	return c < need ? READGATE_READ : READGATE_WAIT;
}

uint64_t readgate_sock_position(int sock, const struct pktgate *g)
{
	uint64_t c = 0;
	bool open = false;
	return consumed(sock, &c, &open) ? c - g->base : 0;
}

bool readgate_sock_after(int sock, struct pktgate *g, uint64_t before, uint64_t unjudged, uint64_t completed_before)
{
	if (!g->active)
		return !g->refused;
	uint64_t c = 0;
	bool open = false;
	if (!consumed(sock, &c, &open))
		return !g->refused; /* looked at again before the next read */
	c -= g->base;
	if (g->refused)
		return c <= g->refused_at; /* read into it: now */
	if (!g->lost && c > unjudged) {
		/* several packets in one call, and a header came after the peek */
		g->lost = true;
		g->mark = unjudged;
	}
	if (!g->lost)
		return true;
	/* the packet in progress began after the last one reported read */
	if (g->completed != completed_before && before > g->mark)
		g->mark = before;
	if (c - g->mark > g->publish_max + 5) {
		pktgate_refuse_size(g, c - g->mark);
		return false;
	}
	return true;
}

bool readgate_packet_line(int level, const char *line)
{
	/* "Client X received SUBACK", "Received PUBACK from X (...)", ...:
	 * 2.0 and 2.1 log each packet read at MOSQ_LOG_DEBUG */
	return level == MOSQ_LOG_DEBUG && line && (strncmp(line, "Received ", 9) == 0 || strstr(line, " received ") != NULL);
}
