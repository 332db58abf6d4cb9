/* clientgate: the packet gate in the client's loop (see pktgate.h and
 * readgate.h): started at the CONNACK, asked before each libmosquitto read,
 * and the refusal that ends the run. Part of client.c's module. */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>

#include "readgate.h"

void client_route_log(struct client *c, void (*fn)(struct mosquitto *, void *, int, const char *))
{
	c->log_fn = fn;
	if (c->cfg->debug)
		mosquitto_log_callback_set(c->mosq, fn);
}

void client_log(struct client *c, int level, const char *line)
{
	if (readgate_packet_line(level, line)) {
		c->gate.completed++;
		/* plain MQTT: libmosquitto reads on while QoS > 0 messages are in
		 * flight, unless errno says EAGAIN after a packet (loop.c, 2.0 and
		 * 2.1): one packet per read, so that the next header is judged
		 * before it is read */
		if (c->gate.active && c->gate_plain)
			errno = EAGAIN;
	}
	if (c->cfg->debug)
		printf("%s\n", line); /* -d: as mosquitto's clients print them */
}

/* The gate counts the packets libmosquitto reports read (readgate.h). */
static void gate_lost(struct client *c)
{
	if (c->log_fn)
		mosquitto_log_callback_set(c->mosq, c->log_fn);
	if (c->log_fn)
		diag_trace(c->diag, "mqtt: packets judged by size alone from here on (at most %llu bytes each), as libmosquitto reports them read",
				(unsigned long long)c->gate.publish_max);
	else {
		pktgate_stop(&c->gate);
		diag_trace(c->diag, "mqtt: the broker's packets cannot be judged on this connection: its reads are not bounded");
	}
}

/* After the CONNACK, in its callback: libmosquitto has read exactly up to
 * its end. (Over WebSockets the relay judges the stream from its start.) */
void client_gate_start(struct client *c)
{
	int sock = mosquitto_socket(c->mosq);
	SSL *ssl = c->have_tls ? mosquitto_ssl_get(c->mosq) : NULL;
	c->gate_plain = false;
	if (ssl && readgate_tls_start(ssl, &c->gate))
		diag_trace(c->diag, "mqtt: each packet's header judged before it is read, record by record (PUBLISH up to %llu bytes, others up to %llu)",
				(unsigned long long)c->gate.publish_max, (unsigned long long)c->gate.control_max);
	else if (readgate_sock_start(sock, &c->gate) && !ssl) {
		c->gate_plain = true;
		if (c->log_fn)
			mosquitto_log_callback_set(c->mosq, c->log_fn);
		diag_trace(c->diag, "mqtt: each packet's header judged before it is read (PUBLISH up to %llu bytes, others up to %llu)",
				(unsigned long long)c->gate.publish_max, (unsigned long long)c->gate.control_max);
		errno = EAGAIN; /* the CONNACK's read ends here (see client_log) */
	} else if (!ssl) {
		/* a Unix socket: no byte counts */
		pktgate_stop(&c->gate);
		diag_trace(c->diag, "mqtt: the broker's packets cannot be judged on this connection: its reads are not bounded");
	} else {
		c->gate.lost = true; /* on the encrypted byte counts, which bound the plaintext ones */
		gate_lost(c);
	}
}

/* Before libmosquitto reads (after the CONNACK, not over WebSockets). */
static enum readgate_next gate_before(struct client *c, int sock, SSL *ssl, uint64_t *unjudged)
{
	*unjudged = UINT64_MAX;
	if (!c->gate.active || c->ws_on)
		return READGATE_READ;
	if (ssl && !c->gate.lost)
		return readgate_tls_step(ssl, &c->gate);
	return readgate_sock_step(sock, &c->gate, unjudged);
}

/* One read by libmosquitto, after the gate let it. */
int client_gated_read(struct client *c, int sock, SSL *ssl)
{
	uint64_t unjudged;
	enum readgate_next next = gate_before(c, sock, ssl, &unjudged);
	if (next == READGATE_REFUSED) {
		c->gate_enforce = true;
		return MOSQ_ERR_PROTOCOL;
	}
	if (next == READGATE_WAIT) {
		/* plain: the bytes there wake poll at once; TLS: the socket is drained */
		c->gate_wait = !ssl || c->gate.lost;
		return MOSQ_ERR_SUCCESS;
	}
	bool counted = c->gate.active && !c->ws_on && (!ssl || c->gate.lost);
	uint64_t before = 0, completed = c->gate.completed;
	bool was_lost = c->gate.lost;
	if (counted && c->gate.lost)
		before = readgate_sock_position(sock, &c->gate);
	int rc = mosquitto_loop_read(c->mosq, 1);
	if (counted && (!c->gate.lost || c->log_fn) && mosquitto_socket(c->mosq) == sock) {
		if (!readgate_sock_after(sock, &c->gate, before, unjudged, completed)) {
			c->gate_enforce = true;
			return MOSQ_ERR_PROTOCOL;
		}
		if (c->gate.lost && !was_lost)
			gate_lost(c);
	}
	return rc;
}

/* Does the run end on the gate's refusal now? (over WebSockets the relay
 * has stopped at the refused packet) */
bool client_gate_enforced(const struct client *c)
{
	return c->gate.refused && (c->gate_enforce || c->ws_on);
}

/* What the explanation needs of a refusal. */
void client_gate_evidence(struct client *c)
{
	const struct pktgate *g = &c->gate;
	struct evidence *ev = &c->ev;
	ev->stage = STAGE_MQTT;
	ev->gate_refused = true;
	ev->gate_type = g->unknown_type ? -1 : g->type;
	ev->gate_announced = g->announced;
	ev->gate_limit = g->limit;
	ev->gate_source = (int)g->source;
}

/* The broker sent a packet over its bound: say so to it (MQTT 5: 0x95
 * Packet too large), end the connection. */
int client_gate_refused(struct client *c)
{
	struct pktgate *g = &c->gate;
	if (g->unknown_type)
		diag_trace(c->diag, "mqtt: refused: %llu bytes of one packet read, more than %llu", (unsigned long long)g->announced,
				(unsigned long long)g->limit);
	else
		diag_trace(c->diag, "mqtt: refused: a %s announcing %llu bytes, more than %llu", pktgate_type_name(g->type),
				(unsigned long long)g->announced, (unsigned long long)g->limit);
	if (mosquitto_socket(c->mosq) >= 0) {
		if (c->cfg->protocol_version == MQTT_PROTOCOL_V5)
			mosquitto_disconnect_v5(c->mosq, MQTT_RC_PACKET_TOO_LARGE, NULL);
		else
			mosquitto_disconnect(c->mosq);
		mosquitto_loop_write(c->mosq, 1);
		if (c->ws_on)
			wsrelay_pump(&c->ws);
	}
	return MOSQ_ERR_PROTOCOL;
}

