/* probe: post-mortem probes that tell what a port speaks after a failure
 * that alone is ambiguous. A probe never sends credentials or a client
 * certificate, and is bounded in time. */
#ifndef SMQTT_PROBE_H
#define SMQTT_PROBE_H

#include <stdbool.h>

/* Does host:port answer a TLS ClientHello (no certificate, no verification)
 * with a ServerHello? */
bool probe_speaks_tls(const char *host, int port, int timeout_ms);

/* The same, offering at most TLS version max (to tell TLS 1.3 intolerance). */
bool probe_speaks_tls_upto(const char *host, int port, int max, int timeout_ms);

/* Which TLS versions does host:port answer with a ServerHello? One probe
 * per version (no certificate, dropped after ServerHello); bit (v & 0xf)
 * is set for each TLS1_x_VERSION v that worked. */
unsigned probe_tls_versions(const char *host, int port, int timeout_ms);

/* Does host:port answer a bare MQTT CONNECT (no credentials) with a CONNACK? */
bool probe_speaks_mqtt(const char *host, int port, int timeout_ms);

#endif
