/* readgate: libmosquitto reads the broker's packets itself (a byte for the
 * type, the remaining length byte by byte, then the body into a buffer of
 * the announced size). These gates show each fixed header to the packet
 * gate (pktgate.h) before libmosquitto reads it, and hold libmosquitto back
 * while a header is not judged yet.
 * - mqtts: a filter BIO in front of libmosquitto's socket hands OpenSSL
 *   whole TLS records, at most one record beyond what was judged: after the
 *   CONNACK each record is granted, decrypted with SSL_peek and fed to the
 *   gate before libmosquitto's SSL_read may take its bytes. Its own
 *   read-ahead is bounded (READGATE_BUF).
 * - plain MQTT: the socket's byte counts (TCP_INFO's bytes received less
 *   the bytes not yet read) say exactly how far libmosquitto has read; a
 *   peek shows what follows. libmosquitto reads one packet per call unless
 *   QoS > 0 messages are in flight (then it reads on unless errno is EAGAIN
 *   after a packet: client_log sets it when libmosquitto logs a packet read);
 *   when a call still read a header that arrived after the peek, the gate
 *   is "lost" for the connection and falls back to
 *   the bound the byte counts prove: no packet in progress may exceed the
 *   PUBLISH bound, counted from the last packet libmosquitto reported
 *   complete (readgate_sock_packet_read).
 * (MQTT over WebSockets is judged by the relay, which sees the stream.) */
#ifndef SMQTT_READGATE_H
#define SMQTT_READGATE_H

#include <stdbool.h>
#include <openssl/ssl.h>
#include "pktgate.h"

enum readgate_next {
	READGATE_READ,    /* libmosquitto may read now */
	READGATE_WAIT,    /* a header is incomplete: wait for more bytes */
	READGATE_REFUSED, /* a packet broke its bound: end the connection */
};

/* mqtts: put the record filter in front of ssl's read side (once; whole
 * records pass freely until readgate_tls_start). */
void readgate_tls_install(SSL *ssl);

/* Does the filter hold bytes OpenSSL may take now (poll cannot see them)? */
bool readgate_tls_ready(SSL *ssl);

/* At the CONNACK (in its callback): judge what is left of the current
 * record, then grant records one by one. false: ssl has no filter (the
 * caller falls back to the socket's byte counts, an upper bound). */
bool readgate_tls_start(SSL *ssl, struct pktgate *g);

/* Before libmosquitto reads. */
enum readgate_next readgate_tls_step(SSL *ssl, struct pktgate *g);

/* plain MQTT, at the CONNACK (in its callback: libmosquitto has read
 * exactly up to its end). false: the byte counts cannot be had; the gate
 * is then lost from the start. (Also mqtts without the record filter:
 * lost from the start, on the encrypted byte counts, which bound the
 * plaintext ones from above.) */
bool readgate_sock_start(int sock, struct pktgate *g);

/* Before libmosquitto reads; *unjudged receives where the first header
 * not judged yet begins (for readgate_sock_after). */
enum readgate_next readgate_sock_step(int sock, struct pktgate *g, uint64_t *unjudged);

/* Bytes read from sock since pktgate_start (0 when unknown). */
uint64_t readgate_sock_position(int sock, const struct pktgate *g);

/* After libmosquitto read; false when the bound is broken. */
bool readgate_sock_after(int sock, struct pktgate *g, uint64_t before, uint64_t unjudged, uint64_t completed_before);

/* After bytes were consumed by someone who reads whole packets
 * (bulkread.h): go on from the socket's position. */
void readgate_sock_resync(int sock, struct pktgate *g);

/* Is it a log line libmosquitto writes when it has read a whole packet? */
bool readgate_packet_line(int level, const char *line);

#endif
