/* bulkread: QoS 0 PUBLISH packets read in bulk for smqtt_sub (see
 * bulkread.h). Only well-formed packets that libmosquitto would turn into
 * exactly the same message are delivered here; anything else, malformed
 * ones included, is left to libmosquitto, which reports it as it always
 * does. */
#include "bulkread.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <mqtt_protocol.h>

#define BULK_CAP (256 * 1024)

void bulkread_init(struct bulkread *b)
{
	memset(b, 0, sizeof(*b));
	b->sock = -1;
}

void bulkread_free(struct bulkread *b)
{
	unsigned long long max_part = b->max_part;
	free(b->buf);
	free(b->topic);
	free(b->part);
	bulkread_init(b);
	b->max_part = max_part;
}

/* MQTT's remaining length: 1 decoded, 0 more bytes needed, -1 malformed. */
static int varint(const unsigned char *p, size_t n, size_t *used, size_t *value)
{
	size_t v = 0, mult = 1;
	for (size_t i = 0; i < 4; i++) {
		if (i >= n)
			return 0;
		v += (size_t)(p[i] & 127) * mult;
		if (!(p[i] & 128)) {
			*used = i + 1;
			*value = v;
			return 1;
		}
		mult *= 128;
	}
	return -1;
}

/* Is the packet p (total bytes, of which `have` are here) a QoS 0 PUBLISH
 * that libmosquitto would deliver with no properties? 1 yes (the topic and
 * payload offsets are set), 0 no, -1 cannot tell yet (too few bytes). */
static int plain_publish(const unsigned char *p, size_t hdr, size_t have, size_t total, int protocol,
		size_t *topic_off, size_t *topic_len, size_t *payload_off)
{
	if (p[0] != CMD_PUBLISH && p[0] != (CMD_PUBLISH | 1))
		return 0; /* QoS > 0, or a DUP flag: libmosquitto's */
	size_t o = hdr;
	if (total - o < 2)
		return 0;
	if (have - o < 2)
		return -1;
	size_t tl = (size_t)p[o] << 8 | p[o + 1];
	o += 2;
	if (tl == 0 || total - o < tl)
		return 0;
	size_t need = o + tl + (protocol == MQTT_PROTOCOL_V5 ? 1 : 0);
	if (need > total)
		return 0;
	if (need > have)
		return -1;
	if (mosquitto_validate_utf8((const char *)p + o, (int)tl) != MOSQ_ERR_SUCCESS)
		return 0;
	o += tl;
	if (protocol == MQTT_PROTOCOL_V5) {
		if (p[o] != 0)
			return 0; /* properties: libmosquitto parses them */
		o++;
	}
	*topic_off = hdr + 2;
	*topic_len = tl;
	*payload_off = o;
	return 1;
}

bool bulkread_busy(const struct bulkread *b, int sock)
{
	return b->busy && !b->off && b->sock == sock;
}

/* poll wakes when `bytes` are there (1: any data). */
static bool set_lowat(struct bulkread *b, int sock, int bytes)
{
	int current = b->lowat ? b->lowat : 1;
	if (bytes == current)
		return true;
	if (setsockopt(sock, SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof(bytes)) != 0)
		return false;
	b->lowat = bytes == 1 ? 0 : bytes;
	return true;
}

/* Hand the rest of this connection to libmosquitto. */
static enum bulk_next give_up(struct bulkread *b, int sock)
{
	set_lowat(b, sock, 1);
	b->off = true;
	b->busy = false;
	return BULK_LIBRARY;
}

/* The front packet is incomplete and not ours to read in parts: have poll
 * wake us when `need` bytes are there (small packets only: a low-water mark
 * beyond what the window lets in would never be reached). Woken without
 * more bytes, or for a big packet, leave this connection to libmosquitto,
 * which copes with partial packets. */
static enum bulk_next wait_for(struct bulkread *b, int sock, size_t have, size_t need)
{
	if (need > BULK_BUSY_BYTES)
		return give_up(b, sock);
	if (b->busy)
		return BULK_IDLE; /* the timer looks again within BULK_BUSY_MS */
	if (b->waited_for == have || !set_lowat(b, sock, (int)need))
		return give_up(b, sock);
	b->waited_for = have;
	return BULK_IDLE;
}

static bool deliver(struct bulkread *b, struct mosquitto *mosq, unsigned char *p, size_t total,
		size_t topic_off, size_t topic_len, size_t payload_off, bulk_message_fn fn, void *obj)
{
	if (topic_len + 1 > b->topic_cap) {
		char *t = realloc(b->topic, topic_len + 1);
		if (!t)
			return false;
		b->topic = t;
		b->topic_cap = topic_len + 1;
	}
	memcpy(b->topic, p + topic_off, topic_len);
	b->topic[topic_len] = '\0';
	size_t plen = total - payload_off;
	unsigned char saved = p[total];
	p[total] = '\0'; /* libmosquitto's payloads end with a NUL too */
	struct mosquitto_message m = {
		.mid = 0,
		.topic = b->topic,
		.payload = plen ? p + payload_off : NULL,
		.payloadlen = (int)plen,
		.qos = 0,
		.retain = p[0] & 1,
	};
	fn(mosq, obj, &m, NULL);
	p[total] = saved;
	return true;
}

/* Go on reading the QoS 0 PUBLISH in b->part; deliver it once whole.
 * Returns BULK_LIBRARY to go on with the stream, or what to return. */
enum { PART_DONE = -1 };
static int read_part(struct bulkread *b, struct mosquitto *mosq, int sock, int protocol,
		bulk_message_fn fn, void *obj)
{
	while (b->part_have < b->part_total) {
		ssize_t r = recv(sock, b->part + b->part_have, b->part_total - b->part_have, MSG_DONTWAIT);
		if (r > 0) {
			b->part_have += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return BULK_IDLE;
		/* closed or failed mid-packet: libmosquitto reads the end */
		free(b->part);
		b->part = NULL;
		return give_up(b, sock);
	}
	size_t topic_off = 0, topic_len = 0, payload_off = 0;
	int ok = plain_publish(b->part, b->part_hdr, b->part_total, b->part_total, protocol, &topic_off, &topic_len,
			&payload_off);
	if (ok != 1 || !deliver(b, mosq, b->part, b->part_total, topic_off, topic_len, payload_off, fn, obj)) {
		/* checked before it was read: cannot happen; the packet is lost */
		free(b->part);
		b->part = NULL;
		return give_up(b, sock);
	}
	free(b->part);
	b->part = NULL;
	return mosquitto_socket(mosq) != sock ? BULK_CLOSED : PART_DONE;
}

/* The front packet p is a QoS 0 PUBLISH not here in full: read it in parts. */
static int start_part(struct bulkread *b, struct mosquitto *mosq, int sock, int protocol,
		bulk_message_fn fn, void *obj, size_t hdr, size_t total)
{
	if (b->max_part && total > b->max_part)
		return give_up(b, sock); /* libmosquitto's, after the packet gate refuses it */
	b->part = malloc(total + 1); /* + 1: the payload's NUL */
	if (!b->part)
		return give_up(b, sock);
	b->part_total = total;
	b->part_have = 0;
	b->part_hdr = hdr;
	return read_part(b, mosq, sock, protocol, fn, obj);
}

enum bulk_next bulkread_step(struct bulkread *b, struct mosquitto *mosq, int sock, int protocol,
		bulk_message_fn fn, void *obj)
{
	if (b->sock != sock) { /* a new connection */
		b->sock = sock;
		b->lowat = 0;
		b->waited_for = (size_t)-1;
		b->off = false;
		b->busy = false;
		free(b->part); /* half a packet of a lost connection */
		b->part = NULL;
	}
	if (b->off)
		return BULK_LIBRARY;
	if (b->part) {
		int r = read_part(b, mosq, sock, protocol, fn, obj);
		if (r != PART_DONE)
			return (enum bulk_next)r;
	}
	if (!b->buf) {
		b->buf = malloc(BULK_CAP + 1);
		if (!b->buf) {
			b->off = true;
			return BULK_LIBRARY;
		}
		b->cap = BULK_CAP;
	}
	ssize_t n = recv(sock, b->buf, b->cap, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		if (b->busy && errno != EINTR) { /* the burst is over */
			b->busy = false;
			if (!set_lowat(b, sock, 1))
				return give_up(b, sock);
		}
		return BULK_IDLE;
	}
	if (n <= 0)
		return give_up(b, sock); /* end of stream or an error: libmosquitto sees it */
	if (!b->busy && b->lowat && !set_lowat(b, sock, 1)) /* it waited for a partial packet */
		return give_up(b, sock);
	size_t len = (size_t)n, pos = 0;
	int delivered = 0;
	enum bulk_next next = BULK_IDLE;
	while (pos < len) {
		unsigned char *p = b->buf + pos;
		size_t avail = len - pos, used = 0, rl = 0;
		int v = avail >= 2 ? varint(p + 1, avail - 1, &used, &rl) : 0;
		if (v < 0) {
			next = BULK_LIBRARY; /* malformed: libmosquitto says so */
			break;
		}
		size_t total = v ? 1 + used + rl : avail + 1;
		size_t topic_off = 0, topic_len = 0, payload_off = 0;
		if (total > avail) {
			if (pos > 0)
				break; /* consume what was delivered; the rest next time */
			int kind = v ? plain_publish(p, 1 + used, avail, total, protocol, &topic_off, &topic_len, &payload_off) : -1;
			if (kind == 1) {
				int r = start_part(b, mosq, sock, protocol, fn, obj, 1 + used, total);
				return r == PART_DONE ? BULK_IDLE : (enum bulk_next)r;
			}
			return wait_for(b, sock, len, kind == 0 ? total : avail + 1);
		}
		if (plain_publish(p, 1 + used, total, total, protocol, &topic_off, &topic_len, &payload_off) != 1
				|| !deliver(b, mosq, p, total, topic_off, topic_len, payload_off, fn, obj)) {
			next = BULK_LIBRARY;
			break;
		}
		pos += total;
		delivered++;
		if (mosquitto_socket(mosq) != sock)
			return BULK_CLOSED; /* a callback disconnected */
	}
	b->waited_for = (size_t)-1;
	if (delivered >= 2 && !b->busy) {
		if (!set_lowat(b, sock, BULK_BUSY_BYTES))
			return give_up(b, sock);
		b->busy = true;
	}
	while (pos > 0) { /* consume what was delivered: it is in the socket */
		ssize_t r = recv(sock, b->buf, pos, MSG_DONTWAIT);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			b->off = true; /* cannot happen: peeked bytes are there */
			return BULK_LIBRARY;
		}
		pos -= (size_t)r;
	}
	return next;
}
