/* fuzz_format: libFuzzer harness for mosquitto_sub's output rendering
 * (common/format.c format_message): a -F format string x a payload, with
 * the -v / -N / --pretty modes, the message's topic, QoS, retain flag and
 * MQTT v5 properties. Pure code: output goes into an outbuf; nothing is
 * printed. TZ is fixed to UTC so runs are reproducible.
 *
 * Input: byte 0: bit 0 use the -F format (else the default / -v output),
 * bit 1 -v, bit 2 -N, bit 3 --pretty, bit 4 retain, bits 5-6 QoS, bit 7 add
 * properties. Byte 1: which v5 properties to add (one bit each). Bytes 2-5:
 * the time in seconds, byte 6: the message id (its top bit also selects
 * mosquitto 2.1's output, --compat 2.1). Then NUL-separated parts: the
 * -F format, the topic, and everything after that is the payload (NULs
 * included). Property values are cut from the topic and the payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mqtt_protocol.h>

#include "format.h"
#include "outbuf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

/* The next NUL-terminated part of [*p, end), or the rest when there is no
 * NUL; returned as an allocated string. */
static char *next_part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
	size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
	char *s = malloc(n + 1);
	if (s) {
		memcpy(s, *p, n);
		s[n] = '\0';
	}
	*p += nul ? n + 1 : n;
	return s;
}

/* mosquitto_sub asks printf for the widths as given, so "%999999999p" is a
 * GB of padding per message by design; keep widths small enough that the
 * fuzzer explores the formatter instead of running out of memory. */
static bool width_ok(const char *f)
{
	size_t run = 0;
	for (; *f; f++) {
		run = (*f >= '0' && *f <= '9') ? run + 1 : 0;
		if (run > 4)
			return false;
	}
	return true;
}

static mosquitto_property *make_props(uint8_t which, const char *topic, const uint8_t *payload, size_t plen)
{
	mosquitto_property *props = NULL;
	uint16_t blen = (uint16_t)(plen > 64 ? 64 : plen);
	uint32_t num = 0;
	for (size_t i = 0; i < 4 && i < plen; i++)
		num = num << 8 | payload[i];
	if (which & 0x01)
		mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, topic);
	if (which & 0x02)
		mosquitto_property_add_string(&props, MQTT_PROP_RESPONSE_TOPIC, topic);
	if (which & 0x04)
		mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, payload, blen);
	if (which & 0x08)
		mosquitto_property_add_int32(&props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, num);
	if (which & 0x10)
		mosquitto_property_add_byte(&props, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, (uint8_t)num);
	if (which & 0x20)
		mosquitto_property_add_int16(&props, MQTT_PROP_TOPIC_ALIAS, (uint16_t)num);
	if (which & 0x40)
		mosquitto_property_add_varint(&props, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, num & 0x0fffffff);
	if (which & 0x80) {
		mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, topic, "v");
		mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, "k", topic);
	}
	return props;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 7)
		return 0;
	uint8_t flags = data[0], which = data[1];
	uint32_t sec = (uint32_t)data[2] << 24 | (uint32_t)data[3] << 16 | (uint32_t)data[4] << 8 | data[5];
	int mid = data[6];
	const uint8_t *p = data + 7, *end = data + size;

	char *format = next_part(&p, end);
	char *topic = next_part(&p, end);
	if (!format || !topic || !width_ok(format)) {
		free(format);
		free(topic);
		return 0;
	}
	/* libmosquitto's payload: NUL-terminated after payloadlen, NULL when
	 * empty */
	size_t plen = (size_t)(end - p);
	char *payload = NULL;
	if (plen) {
		payload = malloc(plen + 1);
		if (!payload) {
			free(format);
			free(topic);
			return 0;
		}
		memcpy(payload, p, plen);
		payload[plen] = '\0';
	}
	mosquitto_property *props = (flags & 0x80) ? make_props(which, topic, p, plen) : NULL;

	struct fmt_opts opts = {
		.format = (flags & 1) ? format : NULL,
		.verbose = flags & 2,
		.eol = !(flags & 4),
		.pretty = flags & 8,
		.compat21 = mid & 0x80,
	};
	struct fmt_msg msg = {
		.topic = topic, .payload = payload, .payloadlen = (int)plen,
		.qos = (flags >> 5) & 3, .retain = flags & 0x10, .mid = mid, .props = props,
	};
	if (msg.qos > 2)
		msg.qos = 2;
	struct timespec now = {.tv_sec = (time_t)sec, .tv_nsec = (long)(sec % 1000000000u)};
	struct outbuf out;
	char *cause = NULL;
	outbuf_init(&out);
	format_message(&out, &opts, &msg, &now, &cause);
	free(cause);
	outbuf_free(&out);

	mosquitto_property_free_all(&props);
	free(payload);
	free(topic);
	free(format);
	return 0;
}
