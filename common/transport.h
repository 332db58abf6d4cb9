/* transport: how libmosquitto's MQTT bytes reach the broker. The attempt
 * loop (connect.c) and the event loop (loop.c) know a transport only
 * through this table; client.c picks one when the client is set up.
 *
 * Two exist:
 * - libmosquitto's own socket (transportmosq.c): libmosquitto connects,
 *   runs TLS over our instrumented context and the SOCKS5 proxy itself;
 * - the WebSocket relay (transportws.c): smqtt connects to the broker
 *   (TCP, proxy, TLS for wss, the upgrade) and libmosquitto talks plain
 *   MQTT to a private Unix socket that the relay frames (wsrelay.h).
 *
 * A third (for instance the client end of a connection keeper, which
 * hands libmosquitto's bytes to another process over a Unix socket) adds
 * a file with one such table and a line in client.c that chooses it. Its
 * state then lives in struct client next to the relay's. */
#ifndef SMQTT_TRANSPORT_H
#define SMQTT_TRANSPORT_H

#include <poll.h>
#include <stdbool.h>
#include <openssl/ssl.h>

struct client;

struct transport {
	/* The first connection of a run, within c->deadline_ms: for TLS
	 * through the end of the handshake. Returns a MOSQ_ERR_* code;
	 * *err: the errno that goes with it. Evidence goes to c->ev. */
	int (*connect)(struct client *c, int *err);
	/* A new connection after one was lost (smqtt_sub's retries). */
	int (*reconnect)(struct client *c);
	/* The TLS connection to the broker, or NULL. */
	SSL *(*ssl)(const struct client *c);
	/* The descriptors the event loop polls besides libmosquitto's socket
	 * (at most two), appended at p[*n]. */
	void (*pollfds)(const struct client *c, struct pollfd *p, nfds_t *n);
	/* True when input is held that poll() would not report. */
	bool (*pending)(const struct client *c);
	/* Move what can be moved; true when libmosquitto's socket has input
	 * (or EOF) to read. */
	bool (*pump)(struct client *c);
	/* The end of the run: the last bytes within wait_ms, then the close. */
	void (*close)(struct client *c, int wait_ms);
};

/* libmosquitto's own socket: TCP (or a Unix socket), its SOCKS5, its TLS. */
const struct transport *transport_mosquitto(void);

/* MQTT over WebSockets through the relay. */
const struct transport *transport_ws(void);

#endif
