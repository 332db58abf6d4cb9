/* probe: post-mortem probes that tell what a port speaks after a failure
 * that alone is ambiguous. A probe never sends credentials or a client
 * certificate, and is bounded in time. */
#ifndef SMQTT_PROBE_H
#define SMQTT_PROBE_H

#include <stdbool.h>
#include <openssl/ssl.h>

/* Does host:port answer a TLS ClientHello (no certificate, no verification)
 * with a ServerHello? */
bool probe_speaks_tls(const char *host, int port, int timeout_ms);

/* The same, offering at most TLS version max (to tell TLS 1.3 intolerance). */
bool probe_speaks_tls_upto(const char *host, int port, int max, int timeout_ms);

/* The highest TLS version host:port answers with (TLS1_x_VERSION), from
 * the ServerHello of one probe offering TLS 1.0 to 1.3 at security level 0
 * (no certificate, no verification); 0 when there is no ServerHello. */
int probe_tls_max_version(const char *host, int port, int timeout_ms);

/* Repeat a TLS handshake with the run's own context (its callbacks record
 * what happens) and read until the broker's first record, alert or EOF.
 * Sends no application data. */
void probe_tls_verdict(const char *host, int port, SSL_CTX *ctx, int timeout_ms);

/* Does host:port answer a bare MQTT CONNECT (no credentials) with a CONNACK? */
bool probe_speaks_mqtt(const char *host, int port, int timeout_ms);

/* The certificate chain host:port presents to a TLS handshake without
 * client certificate and without verification (nothing else is sent), or
 * NULL. The caller frees it with sk_X509_pop_free(chain, X509_free). */
STACK_OF(X509) *probe_tls_chain(const char *host, int port, int timeout_ms);

/* Does host:port answer a WebSocket upgrade request (GET /mqtt, subprotocol
 * mqtt; over TLS without verification or certificate when tls) with an HTTP
 * status line?
 * line: that line (without CR LF), "" when not. */
bool probe_speaks_http(const char *host, int port, bool tls, int timeout_ms, char *line, size_t len);

#endif
