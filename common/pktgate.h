/* pktgate: after the CONNACK, every MQTT packet the broker sends is judged
 * by its fixed header before libmosquitto reads it. libmosquitto allocates
 * a packet's whole announced length (up to 256 MB) and fills it as bytes
 * come, so a broker (or anything in front of it) could make a client hold
 * 256 MB per packet. The gate refuses: a packet other than PUBLISH that
 * announces more than MQTT_FIRST_REPLY_MAX (no SUBACK, PUBACK, PINGRESP,
 * DISCONNECT or AUTH needs 1 MB), and a PUBLISH larger than the v5
 * maximum-packet-size this run announced, or than a share of the memory
 * the run may use. The caller feeds the stream as libmosquitto will see
 * it: the WebSocket relay (what it hands on), the TLS record gate
 * (tlsgate.h: each record's plaintext before it is read) and, on plain
 * MQTT, what a peek at the socket shows. */
#ifndef SMQTT_PKTGATE_H
#define SMQTT_PKTGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <mosquitto.h>

/* Where the PUBLISH bound comes from. */
enum pktgate_source {
	PKTGATE_MAX_PACKET_SIZE = 1, /* -D connect maximum-packet-size */
	PKTGATE_MEMORY,              /* a quarter of MemAvailable at start */
	PKTGATE_RLIMIT_AS,           /* a quarter of RLIMIT_AS */
	PKTGATE_RLIMIT_DATA,         /* a quarter of RLIMIT_DATA */
	PKTGATE_DEFAULT,             /* none of those could be read: PKTGATE_DEFAULT_MAX */
};

#define PKTGATE_DEFAULT_MAX (64ULL * 1024 * 1024)

struct pktgate {
	bool active;                 /* after the CONNACK: judging */
	uint64_t control_max;        /* packets other than PUBLISH */
	uint64_t publish_max;
	enum pktgate_source source;
	/* the parse */
	uint64_t pos;                /* stream bytes fed since pktgate_start */
	unsigned char hdr[5];
	int hdr_len;                 /* bytes of the current fixed header seen */
	uint64_t body_left;          /* bytes of the current packet still to come */
	uint64_t packets;            /* headers judged */
	bool until_connack;          /* WebSocket relay: the stream from its start; the
	                              * packets up to the CONNACK are judged elsewhere */
	/* plain MQTT (readgate.c): the socket's byte count at pktgate_start */
	uint64_t base;
	bool lost;                   /* libmosquitto read a header before it was judged */
	uint64_t mark;               /* lost: where its packet began, at the latest */
	uint64_t completed;          /* lost: packets libmosquitto reported read */
	/* the verdict */
	bool refused;
	bool unknown_type;           /* judged by size alone (the type was not seen) */
	unsigned char type;          /* the refused packet's first byte */
	uint64_t announced;          /* its remaining length (unknown type: bytes read) */
	uint64_t limit;              /* the bound it broke */
	uint64_t refused_at;         /* where its header begins in the stream: the packets
	                              * before it are libmosquitto's to read (and to
	                              * find malformed, as it would without the gate) */
	uint64_t fed;                /* mqtts: plaintext bytes fed (whole records) */
};

/* The bounds for this run: protocol is the MQTT version, props the
 * CONNECT properties given (-D connect ...). */
void pktgate_init(struct pktgate *g, int protocol, const mosquitto_property *props);

/* Judge from here on: the stream is at a packet boundary. */
void pktgate_start(struct pktgate *g);

/* Stop judging (the connection ended). */
void pktgate_stop(struct pktgate *g);

/* The next n bytes of the stream, in order. false once a packet is refused
 * (the verdict fields say which). */
bool pktgate_feed(struct pktgate *g, const unsigned char *p, size_t n);

/* Is the parse at a packet boundary, or inside a fixed header? (the next
 * header has not been judged yet) */
bool pktgate_at_header(const struct pktgate *g);

/* Has libmosquitto reached (or read into) the refused packet? consumed:
 * the stream bytes it has read since pktgate_start. */
bool pktgate_reached(const struct pktgate *g, uint64_t consumed);

/* Refuse with a size alone, the type unknown (a bound proven on bytes read). */
void pktgate_refuse_size(struct pktgate *g, uint64_t bytes);

/* "SUBACK", "PUBLISH", ... for a first byte. */
const char *pktgate_type_name(unsigned char first);

#endif
