/* pktgate: bounds on the packets a broker sends after the CONNACK (see
 * pktgate.h). */
#include "pktgate.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <mqtt_protocol.h>

#include "explain.h"

/* MemAvailable from /proc/meminfo, in bytes; 0 when it cannot be read. */
static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return 0;
	char line[128];
	unsigned long long kb = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

static void take(struct pktgate *g, uint64_t bytes, enum pktgate_source source)
{
	if (bytes == 0)
		return;
	uint64_t share = bytes / 4;
	if (!g->source || share < g->publish_max) {
		g->publish_max = share;
		g->source = source;
	}
}

void pktgate_init(struct pktgate *g, int protocol, const mosquitto_property *props)
{
	memset(g, 0, sizeof(*g));
	g->control_max = MQTT_FIRST_REPLY_MAX;
	uint32_t max = 0;
	if (protocol == MQTT_PROTOCOL_V5 && props
			&& mosquitto_property_read_int32(props, MQTT_PROP_MAXIMUM_PACKET_SIZE, &max, false) && max > 0) {
		/* MQTT 5 3.1.2.11.4: a larger packet is a protocol error */
		g->publish_max = max;
		g->source = PKTGATE_MAX_PACKET_SIZE;
		return;
	}
	take(g, mem_available(), PKTGATE_MEMORY);
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		take(g, (uint64_t)rl.rlim_cur, PKTGATE_RLIMIT_AS);
	if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		take(g, (uint64_t)rl.rlim_cur, PKTGATE_RLIMIT_DATA);
	if (!g->source) {
		g->publish_max = PKTGATE_DEFAULT_MAX;
		g->source = PKTGATE_DEFAULT;
	}
	if (g->publish_max < g->control_max)
		g->publish_max = g->control_max;
}

void pktgate_start(struct pktgate *g)
{
	g->active = true;
	g->pos = 0;
	g->hdr_len = 0;
	g->body_left = 0;
	g->lost = false;
	g->mark = 0;
	g->until_connack = false;
	g->fed = 0;
	g->refused = false; /* a new connection */
}

void pktgate_stop(struct pktgate *g)
{
	g->active = false;
}

bool pktgate_at_header(const struct pktgate *g)
{
	return g->body_left == 0;
}

const char *pktgate_type_name(unsigned char first)
{
	static const char *const names[16] = {"reserved (0)", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC",
		"PUBREL", "PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP",
		"DISCONNECT", "AUTH"};
	return names[first >> 4];
}

bool pktgate_reached(const struct pktgate *g, uint64_t consumed)
{
	return g->refused && consumed >= g->refused_at;
}

void pktgate_refuse_size(struct pktgate *g, uint64_t bytes)
{
	g->refused = true;
	g->unknown_type = true;
	g->type = 0;
	g->announced = bytes;
	g->limit = g->publish_max;
	g->refused_at = 0; /* reached already */
}

/* A whole fixed header: judge it. */
static bool judge(struct pktgate *g, uint64_t remaining)
{
	uint64_t total = (uint64_t)g->hdr_len + remaining;
	if (g->until_connack) {
		g->until_connack = (g->hdr[0] & 0xf0) != CMD_CONNACK;
		g->body_left = remaining;
		g->hdr_len = 0;
		return true;
	}
	bool publish = (g->hdr[0] & 0xf0) == CMD_PUBLISH;
	/* as before the CONNACK, the remaining length against 1 MB; a v5
	 * maximum packet size counts the whole packet */
	uint64_t limit = publish || remaining <= g->control_max ? g->publish_max : g->control_max;
	bool over = publish || g->source == PKTGATE_MAX_PACKET_SIZE ? total > g->publish_max : false;
	if (!publish && remaining > g->control_max)
		over = true;
	g->packets++;
	if (over) {
		g->refused = true;
		g->unknown_type = false;
		g->type = g->hdr[0];
		g->announced = remaining;
		g->limit = limit;
		g->refused_at = g->pos - (uint64_t)g->hdr_len;
		return false;
	}
	g->body_left = remaining;
	g->hdr_len = 0;
	return true;
}

bool pktgate_feed(struct pktgate *g, const unsigned char *p, size_t n)
{
	if (g->refused)
		return false;
	if (!g->active)
		return true;
	while (n) {
		if (g->body_left) {
			uint64_t k = g->body_left < n ? g->body_left : n;
			g->body_left -= k;
			g->pos += k;
			p += k;
			n -= (size_t)k;
			continue;
		}
		g->hdr[g->hdr_len++] = *p++;
		n--;
		g->pos++;
		if (g->hdr_len < 2)
			continue;
		unsigned char last = g->hdr[g->hdr_len - 1];
		if (last & 0x80) {
			if (g->hdr_len == 5) {
				/* a fifth length byte: malformed; libmosquitto says so
				 * itself, after at most these bytes */
				g->hdr_len = 0;
				g->packets++;
			}
			continue;
		}
		uint64_t remaining = 0, mult = 1;
		for (int i = 1; i < g->hdr_len; i++, mult *= 128)
			remaining += (uint64_t)(g->hdr[i] & 127) * mult;
		if (!judge(g, remaining))
			return false;
	}
	return true;
}
