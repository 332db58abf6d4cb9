/* format: mosquitto_sub's output formats, byte for byte (see format.h).
 * The field width / precision quirks of mosquitto 2.0 are kept on purpose:
 * scripts parse this output. */
#include "format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <mqtt_protocol.h>

struct spec {
	char align; /* '-' or 0 */
	char pad;   /* ' ' or '0' */
	int width;
	int precision; /* -1: none */
	char sep;      /* hex separator given (%.2:x), 0: none */
};

/* The characters mosquitto 2.1 takes as a hex separator after the
 * precision (any printable ASCII punctuation, and space). */
static const char hexseps[] = "!\"#$&'()*+,-./:;<=>?@[\\]^_`{|}~ ";

/* Append text to *cause: mosquitto reports each failing %J. */
static void set_cause(char **cause, char *text)
{
	if (!cause || !text) {
		free(text);
		return;
	}
	if (!*cause) {
		*cause = text;
		return;
	}
	char *both = NULL;
	if (asprintf(&both, "%s%s", *cause, text) >= 0) {
		free(*cause);
		*cause = both;
	}
	free(text);
}

/* mosquitto's write_payload: width truncates as well as pads. For hex,
 * mosquitto 2.0 counts the width in digits (%6x: 3 bytes), 2.1 in bytes
 * (%6x: 6 bytes, and the padding goes negative); 2.1 puts a separator after
 * every `precision` characters, padding included (%.2x: "de ad be ef"). */
static void put_payload(struct outbuf *o, const unsigned char *p, int len, int hex,
		const struct spec *s, bool compat21)
{
	int padlen;
	if (s->width > 0) {
		if (len > s->width)
			len = s->width;
		if (hex > 0) {
			if (!compat21)
				len /= 2;
			padlen = s->width - len * 2;
		} else {
			padlen = s->width - len;
		}
	} else {
		padlen = s->width - len;
	}
	char sep = s->sep ? s->sep : (compat21 ? ' ' : 0);
	int every = hex > 0 && sep && s->precision > 0 ? s->precision : 0;
	int xpos = 0;
	if (s->align != '-') {
		for (int i = 0; i < padlen; i++, xpos++) {
			outbuf_putc(o, s->pad);
			if (every && xpos % every == every - 1)
				outbuf_putc(o, sep);
		}
	}
	if (hex == 0) {
		outbuf_write(o, p, (size_t)len);
	} else {
		static const char lo[] = "0123456789abcdef", up[] = "0123456789ABCDEF";
		const char *digits = hex == 1 ? lo : up;
		for (int i = 0; i < len; i++) {
			outbuf_putc(o, digits[p[i] >> 4]);
			if (every && xpos % every == every - 1)
				outbuf_putc(o, sep);
			xpos++;
			outbuf_putc(o, digits[p[i] & 0xf]);
			if (i < len - 1) {
				if (every && xpos % every == every - 1)
					outbuf_putc(o, sep);
				xpos++;
			}
		}
	}
	if (s->align == '-')
		outbuf_pad(o, ' ', padlen);
}

/* %f (4-byte float) and %d (8-byte double) of the payload, as mosquitto
 * 2.1 prints them. false when the payload has another size. */
static bool put_float(struct outbuf *o, const struct fmt_msg *m, char c, const struct spec *s)
{
	double v;
	if (c == 'f') {
		float f;
		if (m->payloadlen != (int)sizeof(f))
			return false;
		memcpy(&f, m->payload, sizeof(f));
		v = f;
	} else {
		if (m->payloadlen != (int)sizeof(v))
			return false;
		memcpy(&v, m->payload, sizeof(v));
	}
	if (s->width == 0)
		outbuf_printf(o, "%.*f", s->precision, v);
	else if (s->align == '-')
		outbuf_printf(o, "%-*.*f", s->width, s->precision, v);
	else if (s->pad == '0')
		outbuf_printf(o, "%0*.*f", s->width, s->precision, v);
	else
		outbuf_printf(o, "%*.*f", s->width, s->precision, v);
	return true;
}

static void put_int(struct outbuf *o, long long v, const struct spec *s)
{
	if (s->width == 0)
		outbuf_printf(o, "%lld", v);
	else if (s->align == '-')
		outbuf_printf(o, "%-*lld", s->width, v);
	else if (s->pad == '0')
		outbuf_printf(o, "%0*lld", s->width, v);
	else
		outbuf_printf(o, "%*lld", s->width, v);
}

static void put_str(struct outbuf *o, const char *v, const struct spec *s)
{
	int w = s->width;
	if (s->align == '-')
		w = -w;
	if (s->precision == -1)
		outbuf_printf(o, "%*s", w, v);
	else
		outbuf_printf(o, "%*.*s", w, s->precision, v);
}

static void put_blank(struct outbuf *o, char pad, int width)
{
	outbuf_pad(o, pad, width);
}

/* "2020-05-06T21:48:00.123456Z+0000": mosquitto 2.0's tst, quirks
 * included; 2.1 leaves out the 'Z'. */
static void json_tst(char *buf, size_t len, const struct tm *ti, long ns, bool compat21)
{
	char tail[32];
	strftime(buf, len, compat21 ? "%Y-%m-%dT%H:%M:%S.000000%z" : "%Y-%m-%dT%H:%M:%S.000000Z%z", ti);
	if (strlen(buf) < 27)
		return;
	snprintf(tail, sizeof(tail), "%06ld", ns / 1000);
	memcpy(buf + 20, tail, 6);
}

static cJSON *json_properties(const mosquitto_property *props, bool compat21)
{
	cJSON *obj = cJSON_CreateObject(), *user = NULL;
	if (!obj)
		return NULL;
	for (const mosquitto_property *p = props; p; p = mosquitto_property_next(p)) {
		int id = mosquitto_property_identifier(p);
		cJSON *item = NULL;
		uint8_t u8 = 0;
		uint16_t u16 = 0;
		uint32_t u32 = 0;
		char *s = NULL, *name = NULL;
		void *bin = NULL;
		switch (id) {
		case MQTT_PROP_PAYLOAD_FORMAT_INDICATOR:
			mosquitto_property_read_byte(p, id, &u8, false);
			item = cJSON_CreateNumber(u8);
			break;
		case MQTT_PROP_MESSAGE_EXPIRY_INTERVAL:
			mosquitto_property_read_int32(p, id, &u32, false);
			item = cJSON_CreateNumber(u32);
			break;
		case MQTT_PROP_CONTENT_TYPE:
		case MQTT_PROP_RESPONSE_TOPIC:
			mosquitto_property_read_string(p, id, &s, false);
			item = cJSON_CreateString(s ? s : "");
			free(s);
			break;
		case MQTT_PROP_CORRELATION_DATA:
			mosquitto_property_read_binary(p, id, &bin, &u16, false);
			item = cJSON_CreateString(bin ? (char *)bin : "");
			free(bin);
			break;
		case MQTT_PROP_SUBSCRIPTION_IDENTIFIER:
			mosquitto_property_read_varint(p, id, &u32, false);
			item = cJSON_CreateNumber(u32);
			break;
		case MQTT_PROP_TOPIC_ALIAS:
			/* mosquitto 2.0 reads this with the wrong identifier and so
			 * always prints 0; 2.1 prints it. */
			if (compat21)
				mosquitto_property_read_int16(p, id, &u16, false);
			item = cJSON_CreateNumber(u16);
			break;
		case MQTT_PROP_USER_PROPERTY:
			/* 2.0: {"name": "value", ...}; 2.1: [{"name": "value"}, ...] */
			if (!user) {
				user = compat21 ? cJSON_CreateArray() : cJSON_CreateObject();
				cJSON_AddItemToObject(obj, "user-properties", user);
			}
			mosquitto_property_read_string_pair(p, id, &name, &s, false);
			if (name && s && compat21) {
				cJSON *pair = cJSON_CreateObject();
				cJSON_AddItemToObject(pair, name, cJSON_CreateString(s));
				cJSON_AddItemToArray(user, pair);
			} else if (name && s) {
				cJSON_AddItemToObject(user, name, cJSON_CreateString(s));
			}
			free(name);
			free(s);
			break;
		default:
			break;
		}
		if (item)
			cJSON_AddItemToObject(obj, mosquitto_property_identifier_to_string(id), item);
	}
	return obj;
}

/* %j (escaped payload) and %J (payload parsed as JSON). Returns false when
 * the payload is not JSON for %J. */
static bool put_json(struct outbuf *o, const struct fmt_opts *opts, const struct fmt_msg *m,
		const struct tm *ti, long ns, bool escaped)
{
	char tst[100];
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return true;
	json_tst(tst, sizeof(tst), ti, ns, opts->compat21);
	cJSON_AddItemToObject(root, "tst", cJSON_CreateString(tst));
	cJSON_AddItemToObject(root, "topic", cJSON_CreateString(m->topic));
	cJSON_AddItemToObject(root, "qos", cJSON_CreateNumber(m->qos));
	cJSON_AddItemToObject(root, "retain", opts->compat21 ? cJSON_CreateBool(m->retain)
			: cJSON_CreateNumber(m->retain));
	cJSON_AddItemToObject(root, "payloadlen", cJSON_CreateNumber(m->payloadlen));
	if (m->qos > 0)
		cJSON_AddItemToObject(root, "mid", cJSON_CreateNumber(m->mid));
	if (m->props)
		cJSON_AddItemToObject(root, "properties", json_properties(m->props, opts->compat21));
	cJSON *payload;
	if (!m->payload) {
		payload = cJSON_CreateNull();
	} else if (escaped) {
		payload = cJSON_CreateString(m->payload);
	} else {
		const char *end = NULL;
		payload = cJSON_ParseWithOpts(m->payload, &end, true);
		if (!payload || end != (const char *)m->payload + m->payloadlen) {
			cJSON_Delete(payload);
			cJSON_Delete(root);
			return false;
		}
	}
	cJSON_AddItemToObject(root, "payload", payload);
	char *text = opts->pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (text)
		outbuf_puts(o, text);
	free(text);
	return true;
}

static void put_percent(struct outbuf *o, const struct fmt_opts *opts, const struct fmt_msg *m,
		char c, const struct spec *s, const struct tm *ti, long ns, char **cause)
{
	const mosquitto_property *pr = m->props;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	char *str = NULL, *name = NULL;
	void *bin = NULL;
	char buf[100];

	switch (c) {
	case '%': outbuf_putc(o, '%'); break;
	case 'A':
		if (mosquitto_property_read_int16(pr, MQTT_PROP_TOPIC_ALIAS, &u16, false))
			put_int(o, u16, s);
		else
			put_blank(o, s->pad, s->width);
		break;
	case 'C':
		if (mosquitto_property_read_string(pr, MQTT_PROP_CONTENT_TYPE, &str, false)) {
			put_str(o, str, s);
			free(str);
		} else {
			put_blank(o, ' ', s->width);
		}
		break;
	case 'D':
		if (mosquitto_property_read_binary(pr, MQTT_PROP_CORRELATION_DATA, &bin, &u16, false)) {
			outbuf_write(o, bin, u16);
			free(bin);
		}
		break;
	case 'E':
		if (mosquitto_property_read_int32(pr, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL, &u32, false))
			put_int(o, (int)u32, s);
		else
			put_blank(o, s->pad, s->width);
		break;
	case 'F':
		if (mosquitto_property_read_byte(pr, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR, &u8, false))
			put_int(o, u8, s);
		else
			put_blank(o, s->pad, s->width);
		break;
	case 'I':
		if (strftime(buf, sizeof(buf), "%FT%T%z", ti))
			put_str(o, buf, s);
		else
			put_blank(o, ' ', s->width);
		break;
	case 'j':
		put_json(o, opts, m, ti, ns, true);
		break;
	case 'J':
		if (!put_json(o, opts, m, ti, ns, false)) {
			char *t = NULL;
			if (asprintf(&t, "Error: Message payload is not valid JSON on topic %s.\n", m->topic) < 0)
				t = NULL;
			set_cause(cause, t);
		}
		break;
	case 'l': put_int(o, m->payloadlen, s); break;
	case 'm': put_int(o, m->mid, s); break;
	case 'P': {
		const mosquitto_property *p = mosquitto_property_read_string_pair(pr, MQTT_PROP_USER_PROPERTY, &name, &str, false);
		while (p) {
			outbuf_printf(o, "%s:%s", name, str);
			free(name);
			free(str);
			name = str = NULL;
			p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &name, &str, true);
			if (p)
				outbuf_putc(o, ' ');
		}
		free(name);
		free(str);
		break;
	}
	case 'p': put_payload(o, m->payload, m->payloadlen, 0, s, opts->compat21); break;
	case 'q': outbuf_putc(o, (char)('0' + m->qos)); break;
	case 'R':
		if (mosquitto_property_read_string(pr, MQTT_PROP_RESPONSE_TOPIC, &str, false)) {
			put_str(o, str, s);
			free(str);
		}
		break;
	case 'r': outbuf_putc(o, m->retain ? '1' : '0'); break;
	case 'S':
		if (mosquitto_property_read_varint(pr, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, &u32, false))
			put_int(o, (int)u32, s);
		else
			put_blank(o, s->pad, s->width);
		break;
	case 't': put_str(o, m->topic, s); break;
	case 'U':
		if (strftime(buf, sizeof(buf), "%s", ti))
			outbuf_printf(o, "%s.%09ld", buf, ns);
		break;
	case 'x': put_payload(o, m->payload, m->payloadlen, 1, s, opts->compat21); break;
	case 'X': put_payload(o, m->payload, m->payloadlen, 2, s, opts->compat21); break;
	case 'f':
	case 'd':
		if (!put_float(o, m, c, s))
			set_cause(cause, strdup(c == 'f' ? "requested float printing, but non-float data received"
					: "requested double printing, but non-double data received"));
		break;
	default: break;
	}
}

static char escape_char(char c)
{
	switch (c) {
	case '\\': return '\\';
	case '0': return '\0';
	case 'a': return '\a';
	case 'e': return '\033';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'v': return '\v';
	default: return -1;
	}
}

static void render_format(struct outbuf *o, const struct fmt_opts *opts, const struct fmt_msg *m,
		const struct tm *ti, long ns, char **cause)
{
	const char *f = opts->format;
	size_t len = strlen(f);
	for (size_t i = 0; i < len; i++) {
		if (f[i] == '%') {
			struct spec s = {0, ' ', 0, -1, 0};
			if (i >= len - 1)
				continue;
			i++;
			if (f[i] == '-') {
				s.align = '-';
				if (i < len - 1)
					i++;
			}
			if (f[i] == '0') {
				s.pad = '0';
				if (i < len - 1)
					i++;
			}
			while (i < len - 1 && f[i] >= '0' && f[i] <= '9') {
				if (s.width < 100000000)
					s.width = s.width * 10 + (f[i] - '0');
				i++;
			}
			if (f[i] == '.' && i < len - 1) {
				i++;
				s.precision = 0;
				while (i < len - 1 && f[i] >= '0' && f[i] <= '9') {
					if (s.precision < 100000000)
						s.precision = s.precision * 10 + (f[i] - '0');
					i++;
				}
			}
			if (f[i] && strchr(hexseps, f[i])) {
				s.sep = f[i];
				if (++i >= len)
					continue;
			}
			put_percent(o, opts, m, f[i], &s, ti, ns, cause);
		} else if (f[i] == '@') {
			if (i >= len - 1)
				continue;
			i++;
			if (f[i] == '@') {
				outbuf_putc(o, '@');
			} else if (f[i] == 'N') {
				outbuf_printf(o, "%09ld", ns);
			} else {
				char strf[3] = {'%', f[i], '\0'};
				char buf[100];
				size_t n = strftime(buf, sizeof(buf), strf, ti);
				if (n)
					outbuf_write(o, buf, n);
			}
		} else if (f[i] == '\\') {
			if (i >= len - 1)
				continue;
			i++;
			char c = escape_char(f[i]);
			if (c != -1)
				outbuf_putc(o, c);
		} else {
			outbuf_putc(o, f[i]);
		}
	}
	if (opts->eol)
		outbuf_putc(o, '\n');
}

void format_message(struct outbuf *out, const struct fmt_opts *opts,
		const struct fmt_msg *msg, const struct timespec *now, char **cause)
{
	if (opts->format) {
		struct tm tm;
		time_t sec = now->tv_sec;
		if (!localtime_r(&sec, &tm))
			memset(&tm, 0, sizeof(tm));
		render_format(out, opts, msg, &tm, now->tv_nsec, cause);
		return;
	}
	static const struct spec plain = {0, 0, 0, 0, 0};
	if (opts->verbose) {
		if (msg->payloadlen) {
			outbuf_printf(out, "%s ", msg->topic);
			put_payload(out, msg->payload, msg->payloadlen, 0, &plain, false);
			if (opts->eol)
				outbuf_putc(out, '\n');
		} else if (opts->eol) {
			outbuf_printf(out, "%s (null)\n", msg->topic);
		}
		return;
	}
	if (msg->payloadlen) {
		put_payload(out, msg->payload, msg->payloadlen, 0, &plain, false);
		if (opts->eol)
			outbuf_putc(out, '\n');
	}
}
