/* probe: post-mortem probes that tell what a port speaks after a failure
 * that alone is ambiguous. A probe never sends credentials or a client
 * certificate, and is bounded in time. */
#ifndef SMQTT_PROBE_H
#define SMQTT_PROBE_H

#include <stdbool.h>

/* Does host:port answer a TLS ClientHello (no certificate, no verification)
 * with a ServerHello? */
bool probe_speaks_tls(const char *host, int port, int timeout_ms);

/* Does host:port answer a bare MQTT CONNECT (no credentials) with a CONNACK? */
bool probe_speaks_mqtt(const char *host, int port, int timeout_ms);

#endif
