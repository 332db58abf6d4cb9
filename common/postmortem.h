/* postmortem: after a connection failed before its CONNACK, the probes
 * that tell ambiguous failures apart (probe.h does the network part) and
 * what they add to the evidence. Probes never send credentials, go only
 * through the proxy when the run used one, and stay within what is left of
 * the attempt's --connect-timeout. */
#ifndef SMQTT_POSTMORTEM_H
#define SMQTT_POSTMORTEM_H

#include "explain.h"
#include "socks.h"

struct client;

/* Where a connection that never reached CONNACK stopped (c->ev.stage), and
 * the probes for it. */
void postmortem_settle(struct client *c);

/* A TLS attempt failed: before the step-down policy decides, whether the
 * port answers a ClientHello of at most TLS 1.2 (not through a proxy). */
void postmortem_tls_attempt(struct client *c);

/* A WebSocket server that closed without answering the upgrade: does the
 * port speak TLS, or plain MQTT? */
void postmortem_ws(struct client *c);

/* How a SOCKS5 handshake ended, as evidence. */
void postmortem_note_socks(struct evidence *ev, const struct socks_outcome *o);

#endif
