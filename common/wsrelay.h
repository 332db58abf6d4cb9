/* wsrelay: MQTT over WebSockets (ws://, wss://) for libmosquitto 2.0,
 * which has no WebSocket code. smqtt opens the broker connection itself
 * (TCP, optionally through a SOCKS5 proxy; for wss, TLS from the run's own
 * instrumented context), makes the HTTP upgrade, and then relays: a private
 * Unix socket carries libmosquitto's MQTT bytes, and the relay frames them
 * (masked binary frames) to the broker and unframes the broker's frames
 * back, inside the client's own poll loop. */
#ifndef SMQTT_WSRELAY_H
#define SMQTT_WSRELAY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include "ws.h"
#include "socks.h"
#include "pktgate.h"

/* How an open (TCP, TLS, upgrade) ended. */
enum wsr_result {
	WSR_OK = 0,
	WSR_TCP,        /* the TCP connect (or the proxy) failed: sys_errno */
	WSR_TLS,        /* the TLS handshake failed: the context's callbacks hold the evidence */
	WSR_TIMEOUT,    /* the deadline passed; stage says where */
	WSR_UPGRADE,    /* the upgrade response was refused: head_result, head */
	WSR_CLOSED,     /* the server closed before a whole response: got bytes of it */
	WSR_NOMEM,
};

enum wsr_stage { WSR_AT_TCP, WSR_AT_PROXY, WSR_AT_TLS, WSR_AT_UPGRADE, WSR_AT_OPEN };

/* Bytes waiting to go one way. */
struct wsr_buf {
	uint8_t *data;
	size_t off, len, cap;
};

struct wsrelay {
	/* the broker side */
	int fd;                    /* TCP to the broker, -1 */
	SSL *ssl;                  /* wss: TLS over fd; NULL for ws */
	enum wsr_stage stage;
	int sys_errno;
	char proxy_error[128];     /* what a SOCKS5 proxy said, "" */
	struct socks_outcome socks; /* how its handshake ended */
	/* the upgrade */
	char key[WS_KEY_LEN];
	char request_line[300];    /* "GET /mqtt HTTP/1.1", for the trace */
	char host_header[300];     /* the Host it sent */
	struct ws_head head;
	enum ws_head_result head_result;
	uint8_t first[8];          /* the first bytes the server answered with */
	size_t first_len;
	/* libmosquitto's side */
	char dir[80];              /* private 0700 directory, only between listen and accept */
	char path[100];            /* its socket, through /proc/self/fd/<dir_fd>/ */
	int dir_fd;                /* the directory as opened (and checked) */
	int listen_fd;
	int local_fd;              /* accepted: the other end of libmosquitto's socket */
	/* frames */
	struct ws_decoder dec;
	struct wsr_buf to_broker;  /* framed, masked: for the broker */
	struct wsr_buf to_local;   /* unframed MQTT: for libmosquitto */
	struct wsr_buf early;      /* frames that came with the upgrade response */
	bool open;                 /* upgraded and relaying */
	bool broker_eof;           /* the broker side ended (EOF, error, close frame) */
	bool local_eof;            /* libmosquitto closed its socket */
	bool close_sent;
	bool close_received;
	int close_code;            /* the broker's close status, -1 */
	char close_reason[124];
	enum ws_error error;       /* a protocol error in the broker's frames */
	int quick_acks;            /* TCP_QUICKACKs given while the connection starts */
	struct pktgate *gate;      /* judges the MQTT stream before libmosquitto gets it (not owned), NULL */
	uint8_t masks[4096];       /* random bytes for frame masks, from one RAND_bytes */
	size_t masks_left;         /* unused bytes at the end of masks */
};

void wsrelay_init(struct wsrelay *r);
void wsrelay_free(struct wsrelay *r);

/* Connect to host:port (through socks5_host when not NULL), then TLS with
 * ctx when not NULL (sni: the name to send), then the upgrade for path;
 * all before deadline_ms (CLOCK_MONOTONIC ms). bind_address: NULL or the
 * local address to bind. nodelay is always set: frames are whole writes. */
struct wsr_target {
	const char *host;
	int port;
	const char *bind_address;
	const char *path;
	SSL_CTX *ctx;
	const char *socks5_host;
	int socks5_port;
	const char *socks5_username;
	const char *socks5_password;
};
enum wsr_result wsrelay_open(struct wsrelay *r, const struct wsr_target *t, long long deadline_ms);

/* The private Unix socket libmosquitto connects to, in a 0700 directory
 * made once per run in $TMPDIR or /tmp; it exists only until
 * wsrelay_accept, and is made again for a reconnect. On failure *cause is
 * allocated. */
int wsrelay_listen(struct wsrelay *r, char **cause);

/* Accept libmosquitto's connection (made before this call), checking that
 * it comes from this process. */
int wsrelay_accept(struct wsrelay *r, char **cause);

/* The descriptors to poll while relaying, appended at p[*n]. */
void wsrelay_pollfds(const struct wsrelay *r, struct pollfd *p, nfds_t *n);

/* True when TLS holds input that poll() would not report. */
bool wsrelay_pending(const struct wsrelay *r);

/* Move what can be moved, both ways, without blocking. Returns the bytes
 * handed to libmosquitto (its socket has input), or -1 once the broker
 * side has ended and everything for libmosquitto was passed on (its
 * socket then reads EOF). */
long wsrelay_pump(struct wsrelay *r);

/* Close the broker side: libmosquitto's remaining bytes and a close frame
 * (1000), written within wait_ms (0: only what the socket takes at once),
 * then the connection, without waiting for the broker's close frame (what
 * has arrived is read first, so that the close is a FIN). The Unix socket
 * stays for a reconnect. */
void wsrelay_shutdown(struct wsrelay *r, int wait_ms);

/* A short English name of the upgrade failure, for the trace. */
const char *wsrelay_result_text(enum ws_head_result h);

#endif
