/* bulkread: smqtt_sub's fast path for plain MQTT. libmosquitto reads every
 * packet with three read() calls, so a busy subscriber spends most of its
 * time in the kernel. Here the socket is peeked in large chunks: the QoS 0
 * PUBLISH packets without properties at the front are delivered straight
 * from the buffer and consumed with one read(); one that has not fully
 * arrived is read in parts into a buffer of its own. Any other packet is left
 * whole in the socket for libmosquitto to read: it is only asked to read
 * complete packets, so it never holds half of one and the stream stays in
 * step with it. */
#ifndef SMQTT_BULKREAD_H
#define SMQTT_BULKREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <mosquitto.h>

typedef void (*bulk_message_fn)(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
		const mosquitto_property *props);

struct bulkread {
	unsigned char *buf;     /* peeked bytes (cap + 1: room for a NUL) */
	size_t cap;
	char *topic;            /* NUL-terminated copy of the current topic */
	size_t topic_cap;
	int sock;               /* the connection this state belongs to */
	int lowat;              /* SO_RCVLOWAT we set (0: the default) */
	size_t waited_for;      /* bytes peeked when we last waited for more */
	unsigned char *part;    /* a QoS 0 PUBLISH being read (consumed) in parts */
	size_t part_total, part_have, part_hdr;
	bool off;               /* libmosquitto holds half a packet: all its own */
	bool busy;              /* messages come in bursts: coalesce wake-ups */
	unsigned long long max_part; /* a larger PUBLISH is left to libmosquitto (and the packet gate), 0: none */
};

/* While messages arrive in bursts, poll should wake when BULK_BUSY_BYTES
 * are there or after BULK_BUSY_MS, whichever is first (the socket's receive
 * low-water mark is set to that size), and then call bulkread_step even if
 * poll saw nothing: a flood costs a wake-up per millisecond instead of one
 * per few messages, and no message waits longer than that. The first
 * wake-up that finds nothing ends it. */
#define BULK_BUSY_MS 1
#define BULK_BUSY_BYTES (16 * 1024)

/* Is sock in that mode? */
bool bulkread_busy(const struct bulkread *b, int sock);

enum bulk_next {
	BULK_IDLE,     /* nothing to read now */
	BULK_LIBRARY,  /* let libmosquitto read one packet (complete), or see EOF / an error */
	BULK_CLOSED,   /* a callback closed the connection */
};

void bulkread_init(struct bulkread *b);
void bulkread_free(struct bulkread *b);

/* Deliver the QoS 0 PUBLISH packets at the front of sock to fn (as
 * libmosquitto's message callback would be called); protocol is the MQTT
 * version in use. */
enum bulk_next bulkread_step(struct bulkread *b, struct mosquitto *mosq, int sock, int protocol,
		bulk_message_fn fn, void *obj);

#endif
