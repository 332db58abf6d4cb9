/* ws: RFC 6455 for MQTT over WebSockets, pure functions (see ws.h). */
#include "ws.h"
#include "utf8.h"
#include "l10n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

static const char GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool ws_make_key(char key[WS_KEY_LEN])
{
	unsigned char raw[16];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return false;
	EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
	return true;
}

void ws_accept_for(const char *key, char out[29])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%s%s", key, GUID);
	if (n < 0 || (size_t)n >= sizeof(buf) || !EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20) {
		out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, md, 20);
}

char *ws_request(const char *host, int port, bool tls, const char *path, const char *key)
{
	char *s = NULL;
	bool v6 = strchr(host, ':') != NULL;
	char hostport[300];
	if (port == (tls ? 443 : 80))
		snprintf(hostport, sizeof(hostport), v6 ? "[%s]" : "%s", host);
	else
		snprintf(hostport, sizeof(hostport), v6 ? "[%s]:%d" : "%s:%d", host, port);
	if (asprintf(&s, "GET %s HTTP/1.1\r\n"
				"Host: %s\r\n"
				"Upgrade: websocket\r\n"
				"Connection: Upgrade\r\n"
				"Sec-WebSocket-Key: %s\r\n"
				"Sec-WebSocket-Protocol: mqtt\r\n"
				"Sec-WebSocket-Version: 13\r\n"
				"\r\n", path, hostport, key) < 0)
		return NULL;
	return s;
}

/* Copy [v, v+n) into out (cut to its size), NUL-terminated. */
/* Does the comma-separated list [v, v+n) hold token (any case)? */
static bool has_token(const char *v, size_t n, const char *token)
{
	size_t tl = strlen(token);
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t start = i;
		while (i < n && v[i] != ',')
			i++;
		size_t end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == tl && !strncasecmp(v + start, token, tl))
			return true;
	}
	return false;
}

enum ws_head_result ws_parse_head(const uint8_t *buf, size_t len, const char *key, struct ws_head *h)
{
	memset(h, 0, sizeof(*h));
	const char *b = (const char *)buf;
	/* "HTTP/1.x NNN": decide early, so that a peer speaking something
	 * else (MQTT, TLS) is told at once */
	static const char proto[] = "HTTP/1.";
	size_t cmp = len < 7 ? len : 7;
	if (memcmp(b, proto, cmp))
		return WS_HEAD_NOT_HTTP;
	size_t end = 0;
	for (size_t i = 3; i < len; i++)
		if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') {
			end = i + 1;
			break;
		}
	if (!end)
		return len >= WS_MAX_HEAD ? WS_HEAD_TOO_LARGE : WS_HEAD_INCOMPLETE;
	if (end > WS_MAX_HEAD)
		return WS_HEAD_TOO_LARGE;
	h->head_len = end;
	/* status line */
	const char *p = b, *eol = memchr(p, '\r', end);
	if (!eol || eol - p < 12 || p[8] != ' ' || p[7] < '0' || p[7] > '9')
		return WS_HEAD_NOT_HTTP;
	for (int i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return WS_HEAD_NOT_HTTP;
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (eol - p > 13 && p[12] == ' ')
		utf8_copy_cut(h->reason, sizeof(h->reason), p + 13, (size_t)(eol - p - 13));
	bool upgrade = false, connection = false, accept_ok = false, have_proto = false, have_ext = false;
	char want[29];
	ws_accept_for(key, want);
	for (p = eol + 2; p < b + end - 2; p = eol + 2) {
		eol = memchr(p, '\r', (size_t)(b + end - p));
		if (!eol)
			break;
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon)
			continue;
		size_t nlen = (size_t)(colon - p);
		const char *v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		size_t vlen = (size_t)(eol - v);
		while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
#define IS(name) (nlen == sizeof(name) - 1 && !strncasecmp(p, name, nlen))
		if (IS("Upgrade"))
			upgrade = has_token(v, vlen, "websocket");
		else if (IS("Connection"))
			connection = has_token(v, vlen, "Upgrade");
		else if (IS("Sec-WebSocket-Accept"))
			accept_ok = vlen == 28 && want[0] && !memcmp(v, want, 28);
		else if (IS("Sec-WebSocket-Protocol")) {
			have_proto = true;
			utf8_copy_cut(h->subprotocol, sizeof(h->subprotocol), v, vlen);
		} else if (IS("Location"))
			utf8_copy_cut(h->location, sizeof(h->location), v, vlen);
		else if (IS("Server"))
			utf8_copy_cut(h->server, sizeof(h->server), v, vlen);
		else if (IS("Sec-WebSocket-Extensions")) {
			have_ext = true;
			if (!h->extensions[0])
				utf8_copy_cut(h->extensions, sizeof(h->extensions), v, vlen);
		}
#undef IS
	}
	if (h->status != 101)
		return WS_HEAD_STATUS;
	if (!upgrade || !connection)
		return WS_HEAD_NO_UPGRADE;
	if (!accept_ok)
		return WS_HEAD_BAD_ACCEPT;
	if (!have_proto)
		return WS_HEAD_NO_SUBPROTOCOL;
	if (strcasecmp(h->subprotocol, "mqtt"))
		return WS_HEAD_WRONG_SUBPROTOCOL;
	/* the request offers no extension, so a 101 that names one (even an
	 * empty header) agreed to something not asked for: fail (RFC 6455 4.1) */
	if (have_ext)
		return WS_HEAD_EXTENSION;
	return WS_HEAD_OK;
}

size_t ws_frame_header(uint8_t out[14], enum ws_opcode op, bool fin, uint64_t len, const uint8_t mask[4])
{
	size_t n = 0;
	out[n++] = (uint8_t)((fin ? 0x80 : 0) | (op & 0x0f));
	if (len < 126) {
		out[n++] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		out[n++] = 0x80 | 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			out[n++] = (uint8_t)(len >> (8 * i));
	}
	memcpy(out + n, mask, 4);
	return n + 4;
}

void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		data[i] ^= mask[(off + i) & 3];
}

void ws_decoder_init(struct ws_decoder *d, uint64_t max_message)
{
	memset(d, 0, sizeof(*d));
	d->max_message = max_message;
}

static size_t fail(struct ws_event *ev, enum ws_error e, size_t used)
{
	ev->kind = WS_EV_ERROR;
	ev->error = e;
	return used;
}

/* How many header bytes the frame needs, from its first two. */
static size_t header_need(const uint8_t *hdr)
{
	uint8_t l = hdr[1] & 0x7f;
	size_t n = 2 + (l == 126 ? 2 : l == 127 ? 8 : 0);
	return n + ((hdr[1] & 0x80) ? 4 : 0);
}

static bool close_code_valid(int c)
{
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

/* Check a complete frame header in d->hdr and start the frame. Returns
 * WS_ERR_NONE, or the error. */
static enum ws_error start_frame(struct ws_decoder *d)
{
	uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
	if (b1 & 0x80)
		return WS_ERR_MASKED;
	if (b0 & 0x70)
		return WS_ERR_RESERVED;
	uint8_t op = b0 & 0x0f;
	bool fin = b0 & 0x80;
	uint64_t flen = b1 & 0x7f;
	if (flen == 126) {
		flen = (uint64_t)d->hdr[2] << 8 | d->hdr[3];
		if (flen < 126)
			return WS_ERR_LENGTH;
	} else if (flen == 127) {
		flen = 0;
		for (int i = 0; i < 8; i++)
			flen = flen << 8 | d->hdr[2 + i];
		if (flen >> 63 || flen <= 0xffff)
			return WS_ERR_LENGTH;
	}
	switch (op) {
	case WS_OP_CLOSE: case WS_OP_PING: case WS_OP_PONG:
		if (!fin || flen > 125)
			return WS_ERR_CONTROL;
		break;
	case WS_OP_TEXT:
		return WS_ERR_TEXT;
	case WS_OP_BINARY:
		if (d->in_message)
			return WS_ERR_CONTINUATION;
		d->message_len = 0;
		d->in_message = !fin;
		break;
	case WS_OP_CONT:
		if (!d->in_message)
			return WS_ERR_CONTINUATION;
		d->in_message = !fin;
		break;
	default:
		return WS_ERR_OPCODE;
	}
	if (op == WS_OP_BINARY || op == WS_OP_CONT) {
		if (flen > d->max_message - d->message_len)
			return WS_ERR_TOO_BIG;
		d->message_len += flen;
	}
	d->op = op;
	d->fin = fin;
	d->left = flen;
	d->ctl_have = 0;
	return WS_ERR_NONE;
}

/* The event of a complete control frame. */
static void control_event(struct ws_decoder *d, struct ws_event *ev)
{
	if (d->op == WS_OP_PING || d->op == WS_OP_PONG) {
		ev->kind = d->op == WS_OP_PING ? WS_EV_PING : WS_EV_PONG;
		ev->data = d->ctl;
		ev->len = d->ctl_have;
		return;
	}
	if (d->ctl_have == 1) {
		ev->kind = WS_EV_ERROR;
		ev->error = WS_ERR_CLOSE_PAYLOAD;
		return;
	}
	ev->kind = WS_EV_CLOSE;
	ev->code = 1005;
	if (d->ctl_have >= 2) {
		ev->code = d->ctl[0] << 8 | d->ctl[1];
		if (!close_code_valid(ev->code)) {
			ev->kind = WS_EV_ERROR;
			ev->error = WS_ERR_CLOSE_PAYLOAD;
			return;
		}
		utf8_copy_cut(ev->reason, sizeof(ev->reason), (const char *)d->ctl + 2, d->ctl_have - 2);
	}
}

size_t ws_decode(struct ws_decoder *d, const uint8_t *buf, size_t len, struct ws_event *ev)
{
	size_t used = 0;
	memset(ev, 0, sizeof(*ev));
	while (used < len) {
		if (d->left == 0) {
			/* a header, one byte at a time (at most 14) */
			d->hdr[d->hdr_have++] = buf[used++];
			if (d->hdr_have < 2 || d->hdr_have < header_need(d->hdr))
				continue;
			d->hdr_have = 0;
			enum ws_error e = start_frame(d);
			if (e != WS_ERR_NONE)
				return fail(ev, e, used);
			if (d->left == 0 && d->op >= WS_OP_CLOSE) {
				control_event(d, ev);
				return used;
			}
			continue;
		}
		size_t take = len - used;
		if (take > d->left)
			take = (size_t)d->left;
		d->left -= take;
		if (d->op == WS_OP_BINARY || d->op == WS_OP_CONT) {
			ev->kind = WS_EV_DATA;
			ev->data = buf + used;
			ev->len = take;
			return used + take;
		}
		memcpy(d->ctl + d->ctl_have, buf + used, take);
		d->ctl_have += take;
		used += take;
		if (d->left == 0) {
			control_event(d, ev);
			return used;
		}
	}
	return used;
}

int ws_error_close_code(enum ws_error e)
{
	switch (e) {
	case WS_ERR_TEXT: return 1003;
	case WS_ERR_TOO_BIG: return 1009;
	default: return 1002;
	}
}

const char *ws_error_text(enum ws_error e)
{
	switch (e) {
	case WS_ERR_MASKED: return N_("the server sent a masked frame, which RFC 6455 forbids");
	case WS_ERR_RESERVED: return N_("the server set reserved bits (an extension smqtt did not ask for)");
	case WS_ERR_OPCODE: return N_("the server sent a frame with an unknown opcode");
	case WS_ERR_TEXT: return N_("the server sent a text frame; MQTT over WebSockets is binary");
	case WS_ERR_CONTROL: return N_("the server sent a fragmented or over-long control frame");
	case WS_ERR_CONTINUATION: return N_("the server's fragments do not make up messages");
	case WS_ERR_TOO_BIG: return N_("the server announced a message over smqtt's bound");
	case WS_ERR_LENGTH: return N_("the server sent a frame length that is not valid");
	case WS_ERR_CLOSE_PAYLOAD: return N_("the server sent a malformed close frame");
	case WS_ERR_TRUNCATED: return N_("the server closed the connection in the middle of a frame, without a close frame");
	default: return "no error";
	}
}

const char *ws_close_code_text(int code)
{
	switch (code) {
	case 1000: return N_("normal closure");
	case 1001: return N_("going away");
	case 1002: return N_("protocol error");
	case 1003: return N_("unsupported data");
	case 1005: return N_("no status");
	case 1007: return N_("invalid payload data");
	case 1008: return N_("policy violation");
	case 1009: return N_("message too big");
	case 1010: return N_("a required extension is missing");
	case 1011: return N_("internal server error");
	case 1012: return N_("service restart");
	case 1013: return N_("try again later");
	default: return code >= 4000 ? N_("an application's own status") : N_("an unknown status");
	}
}
