/* test_ws: the WebSocket codec (common/ws.c): the upgrade request, every
 * verdict of the upgrade-response check, frame headers and masking, and
 * the incremental decoder (fragments, control frames, every protocol
 * error), fed whole and one byte at a time. */
#include "test_common.h"

#include "ws.h"
#include "utf8.h"

static const char *KEY = "dGhlIHNhbXBsZSBub25jZQ==";   /* RFC 6455, 1.3 */

static void test_accept_rfc_example(void **state)
{
	(void)state;
	char out[29];
	ws_accept_for(KEY, out);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	char k1[WS_KEY_LEN], k2[WS_KEY_LEN];
	assert_true(ws_make_key(k1));
	assert_true(ws_make_key(k2));
	assert_int_equal(strlen(k1), 24);
	assert_string_not_equal(k1, k2);
}

static void test_request(void **state)
{
	(void)state;
	char *r = ws_request("broker.lan", 8080, false, "/mqtt", KEY);
	assert_string_equal(r, "GET /mqtt HTTP/1.1\r\nHost: broker.lan:8080\r\nUpgrade: websocket\r\n"
			"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			"Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Version: 13\r\n\r\n");
	free(r);
	r = ws_request("::1", 443, true, "/ws", KEY);
	assert_non_null(strstr(r, "GET /ws HTTP/1.1\r\nHost: [::1]\r\n"));
	free(r);
}

struct hcase {
	const char *name;
	const char *resp;
	enum ws_head_result want;
	int status;
	const char *detail; /* location, or subprotocol */
};

#define OK101 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"

static const struct hcase hcases[] = {
	{"101 ok", OK101 "Sec-WebSocket-Protocol: mqtt\r\n\r\n", WS_HEAD_OK, 101, "mqtt"},
	{"101 ok, any case, lists", "HTTP/1.1 101 x\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n"
		"SEC-WEBSOCKET-ACCEPT:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  \r\nsec-websocket-protocol: MQTT\r\n\r\n", WS_HEAD_OK, 101, "MQTT"},
	{"incomplete", OK101, WS_HEAD_INCOMPLETE, 0, NULL},
	{"incomplete prefix", "HTTP/", WS_HEAD_INCOMPLETE, 0, NULL},
	{"not http: mqtt connack", "\x20\x02\x00\x00", WS_HEAD_NOT_HTTP, 0, NULL},
	{"not http: tls alert", "\x15\x03\x03\x00\x02\x02\x46", WS_HEAD_NOT_HTTP, 0, NULL},
	{"bad status line", "HTTP/1.1 abc\r\n\r\n", WS_HEAD_NOT_HTTP, 0, NULL},
	{"404", "HTTP/1.1 404 Not Found\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n", WS_HEAD_STATUS, 404, ""},
	{"401", "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n\r\n", WS_HEAD_STATUS, 401, ""},
	{"301 location", "HTTP/1.1 301 Moved Permanently\r\nLocation: https://b.lan/mqtt\r\n\r\n", WS_HEAD_STATUS, 301,
		"https://b.lan/mqtt"},
	{"200", "HTTP/1.0 200 OK\r\n\r\n", WS_HEAD_STATUS, 200, ""},
	{"101 without upgrade", "HTTP/1.1 101 x\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
		"Sec-WebSocket-Protocol: mqtt\r\n\r\n", WS_HEAD_NO_UPGRADE, 101, NULL},
	{"101 wrong accept", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n", WS_HEAD_BAD_ACCEPT, 101, NULL},
	{"101 no accept", "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n",
		WS_HEAD_BAD_ACCEPT, 101, NULL},
	{"101 no subprotocol", OK101 "\r\n", WS_HEAD_NO_SUBPROTOCOL, 101, NULL},
	{"101 other subprotocol", OK101 "Sec-WebSocket-Protocol: mqttv3.1\r\n\r\n", WS_HEAD_WRONG_SUBPROTOCOL, 101, "mqttv3.1"},
	/* no extension is offered, so any agreed to fails the upgrade (RFC 6455 4.1) */
	{"101 permessage-deflate not asked for", OK101 "Sec-WebSocket-Protocol: mqtt\r\n"
		"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n", WS_HEAD_EXTENSION, 101, "mqtt"},
	{"101 empty extensions header", OK101 "sec-websocket-extensions:\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n",
		WS_HEAD_EXTENSION, 101, "mqtt"},
	{"404 with extensions is a 404", "HTTP/1.1 404 x\r\nSec-WebSocket-Extensions: x\r\n\r\n", WS_HEAD_STATUS, 404, ""},
};

static void test_extension_named(void **state)
{
	(void)state;
	static const char r[] = OK101 "Sec-WebSocket-Protocol: mqtt\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"
		"Sec-WebSocket-Extensions: x-other\r\n\r\n";
	struct ws_head h;
	assert_int_equal(ws_parse_head((const uint8_t *)r, strlen(r), KEY, &h), WS_HEAD_EXTENSION);
	assert_string_equal(h.extensions, "permessage-deflate");
}

static void check_stream(const uint8_t *in, size_t n, uint64_t max, const char *want_log, const char *want_data,
		size_t want_dlen);

/* Peer text is kept valid UTF-8: bytes that are not become the text \xNN,
 * controls '?', and a cut never splits a character (issue 24). */
static void test_peer_text_utf8(void **state)
{
	(void)state;
	static const char r[] = "HTTP/1.1 404 Not\xff Found \xc3\xa9t\xc3\r\nServer: a\x01" "b\xe2\x82\r\n\r\n";
	struct ws_head h;
	assert_int_equal(ws_parse_head((const uint8_t *)r, strlen(r), KEY, &h), WS_HEAD_STATUS);
	assert_string_equal(h.reason, "Not\\xff Found \xc3\xa9t\\xc3");
	assert_string_equal(h.server, "a?b\\xe2\\x82");
	char out[8];
	utf8_copy_cut(out, sizeof(out), "abcdef\xc3\xa9", 8); /* 7 bytes fit: not the 2-byte character */
	assert_string_equal(out, "abcdef");
	utf8_copy_cut(out, sizeof(out), "ab\xff", 3);
	assert_string_equal(out, "ab\\xff");
	utf8_copy_cut(out, sizeof(out), "abcd\xff", 5); /* no room for the whole escape */
	assert_string_equal(out, "abcd");
	/* overlong, surrogate, above U+10FFFF, truncated; valid 4-byte */
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xc0\xaf", 2), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xe0\x80\xaf", 3), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xed\xa0\x80", 3), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xe2\x82", 2), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	char *j = utf8_escape("{\"r\":\"a\xff\xc3\xa9\"}", 1);
	assert_string_equal(j, "{\"r\":\"a\\\\xff\xc3\xa9\"}");
	free(j);
	/* a close reason */
	static const uint8_t c[] = {0x88, 6, 0x03, 0xe8, 'b', 0xff, 0xfe, 'y'};
	check_stream(c, sizeof(c), 1000, "close(1000,b\\xff\\xfey)", "", 0);
}

static void run_hcase(void **state)
{
	const struct hcase *c = *state;
	struct ws_head h;
	enum ws_head_result r = ws_parse_head((const uint8_t *)c->resp, strlen(c->resp), KEY, &h);
	assert_int_equal(r, c->want);
	assert_int_equal(h.status, c->status);
	if (c->detail && c->want == WS_HEAD_STATUS)
		assert_string_equal(h.location, c->detail);
	else if (c->detail)
		assert_string_equal(h.subprotocol, c->detail);
	if (r == WS_HEAD_OK)
		assert_int_equal(h.head_len, strlen(c->resp));
}

static void test_head_too_large(void **state)
{
	(void)state;
	size_t n = WS_MAX_HEAD + 10;
	char *big = malloc(n);
	memset(big, 'a', n);
	memcpy(big, "HTTP/1.1 101 x\r\nX: ", 19);
	struct ws_head h;
	assert_int_equal(ws_parse_head((const uint8_t *)big, n, KEY, &h), WS_HEAD_TOO_LARGE);
	assert_int_equal(ws_parse_head((const uint8_t *)big, 100, KEY, &h), WS_HEAD_INCOMPLETE);
	free(big);
}

static void test_frame_header(void **state)
{
	(void)state;
	uint8_t h[14], m[4] = {1, 2, 3, 4};
	assert_int_equal(ws_frame_header(h, WS_OP_BINARY, true, 5, m), 6);
	assert_int_equal(h[0], 0x82);
	assert_int_equal(h[1], 0x85);
	assert_memory_equal(h + 2, m, 4);
	assert_int_equal(ws_frame_header(h, WS_OP_BINARY, false, 300, m), 8);
	assert_int_equal(h[0], 0x02);
	assert_int_equal(h[1], 0xfe);
	assert_int_equal(h[2] << 8 | h[3], 300);
	assert_int_equal(ws_frame_header(h, WS_OP_CONT, true, 70000, m), 14);
	assert_int_equal(h[1], 0xff);
	assert_int_equal(h[7] << 16 | h[8] << 8 | h[9], 70000);
	uint8_t d[6] = "abcdef";
	ws_mask(d, 6, m, 0);
	ws_mask(d, 3, m, 0);
	ws_mask(d + 3, 3, m, 3);
	assert_memory_equal(d, "abcdef", 6);
}

/* Decode all of in, one event after the other, feeding step bytes at a time;
 * the DATA bytes are gathered in data, the other events described in log. */
static void decode_all(const uint8_t *in, size_t n, size_t step, uint64_t max, char *log, uint8_t *data, size_t *dlen)
{
	struct ws_decoder d;
	ws_decoder_init(&d, max);
	*dlen = 0;
	log[0] = '\0';
	size_t pos = 0;
	while (pos < n) {
		size_t chunk = n - pos < step ? n - pos : step;
		size_t off = 0;
		while (off < chunk) {
			struct ws_event ev;
			size_t u = ws_decode(&d, in + pos + off, chunk - off, &ev);
			off += u;
			switch (ev.kind) {
			case WS_EV_DATA: memcpy(data + *dlen, ev.data, ev.len); *dlen += ev.len; break;
			case WS_EV_PING: sprintf(log + strlen(log), "ping(%zu)", ev.len); break;
			case WS_EV_PONG: sprintf(log + strlen(log), "pong(%zu)", ev.len); break;
			case WS_EV_CLOSE: sprintf(log + strlen(log), "close(%d,%s)", ev.code, ev.reason); break;
			case WS_EV_ERROR: sprintf(log + strlen(log), "error(%d)", ev.error); return;
			case WS_EV_NONE: break;
			}
			if (u == 0 && ev.kind == WS_EV_NONE)
				break;
		}
		pos += chunk;
	}
}

static void check_stream(const uint8_t *in, size_t n, uint64_t max, const char *want_log, const char *want_data,
		size_t want_dlen)
{
	for (size_t step = 1; step <= n + 1; step += (step < 20 ? 1 : step)) {
		char log[256];
		uint8_t data[1024];
		size_t dlen;
		decode_all(in, n, step, max, log, data, &dlen);
		assert_string_equal(log, want_log);
		assert_int_equal(dlen, want_dlen);
		assert_memory_equal(data, want_data, want_dlen);
	}
}

static void test_decode_fragments_and_control(void **state)
{
	(void)state;
	/* "hel" (not fin), ping "x" in between, "lo" (cont, fin), pong, close 1000 "bye" */
	static const uint8_t s[] = {0x02, 3, 'h', 'e', 'l', 0x89, 1, 'x', 0x80, 2, 'l', 'o', 0x8a, 0,
		0x82, 0, 0x88, 5, 0x03, 0xe8, 'b', 'y', 'e'};
	check_stream(s, sizeof(s), 1000, "ping(1)pong(0)close(1000,bye)", "hello", 5);
	static const uint8_t c0[] = {0x88, 0};
	check_stream(c0, sizeof(c0), 1000, "close(1005,)", "", 0);
	/* 16-bit length */
	uint8_t mid[4 + 200] = {0x82, 126, 0, 200};
	memset(mid + 4, 'z', 200);
	char z[200];
	memset(z, 'z', 200);
	check_stream(mid, sizeof(mid), 1000, "", z, 200);
}

struct ecase {
	const char *name;
	uint8_t in[16];
	size_t n;
	uint64_t max;
	enum ws_error want;
};

static const struct ecase ecases[] = {
	{"masked server frame", {0x82, 0x81, 1, 2, 3, 4, 'x'}, 7, 100, WS_ERR_MASKED},
	{"reserved bits", {0xc2, 0}, 2, 100, WS_ERR_RESERVED},
	{"unknown opcode", {0x83, 0}, 2, 100, WS_ERR_OPCODE},
	{"text frame", {0x81, 1, 'a'}, 3, 100, WS_ERR_TEXT},
	{"fragmented ping", {0x09, 0}, 2, 100, WS_ERR_CONTROL},
	{"ping of 126", {0x89, 126, 0, 126}, 4, 1000, WS_ERR_CONTROL},
	{"continuation first", {0x80, 0}, 2, 100, WS_ERR_CONTINUATION},
	{"binary inside a message", {0x02, 0, 0x82, 0}, 4, 100, WS_ERR_CONTINUATION},
	{"2^63 bytes", {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, 1 << 20, WS_ERR_LENGTH},
	{"2^62 bytes", {0x82, 127, 0x40, 0, 0, 0, 0, 0, 0, 0}, 10, 1 << 20, WS_ERR_TOO_BIG},
	{"non-minimal 16-bit length", {0x82, 126, 0, 5}, 4, 100, WS_ERR_LENGTH},
	{"non-minimal 64-bit length", {0x82, 127, 0, 0, 0, 0, 0, 0, 1, 0}, 10, 100000, WS_ERR_LENGTH},
	{"message over the bound in fragments", {0x02, 60, }, 2, 100, WS_ERR_NONE},
	{"close of one byte", {0x88, 1, 3}, 3, 100, WS_ERR_CLOSE_PAYLOAD},
	{"close code 1006", {0x88, 2, 0x03, 0xee}, 4, 100, WS_ERR_CLOSE_PAYLOAD},
};

static void run_ecase(void **state)
{
	const struct ecase *c = *state;
	struct ws_decoder d;
	ws_decoder_init(&d, c->max);
	struct ws_event ev = {0};
	size_t off = 0;
	while (off < c->n) {
		off += ws_decode(&d, c->in + off, c->n - off, &ev);
		if (ev.kind == WS_EV_ERROR)
			break;
	}
	if (c->want == WS_ERR_NONE) {
		assert_int_not_equal(ev.kind, WS_EV_ERROR);
		return;
	}
	assert_int_equal(ev.kind, WS_EV_ERROR);
	assert_int_equal(ev.error, c->want);
	assert_true(ws_error_close_code(ev.error) >= 1002);
	assert_non_null(ws_error_text(ev.error));
}

static void test_message_bound_across_fragments(void **state)
{
	(void)state;
	uint8_t s[2 + 60 + 2 + 60];
	s[0] = 0x02;
	s[1] = 60;
	memset(s + 2, 'a', 60);
	s[62] = 0x80;
	s[63] = 60;
	memset(s + 64, 'b', 60);
	struct ws_decoder d;
	ws_decoder_init(&d, 100);
	struct ws_event ev;
	size_t off = 0;
	enum ws_event_kind last = WS_EV_NONE;
	while (off < sizeof(s)) {
		off += ws_decode(&d, s + off, sizeof(s) - off, &ev);
		last = ev.kind;
		if (last == WS_EV_ERROR)
			break;
	}
	assert_int_equal(last, WS_EV_ERROR);
	assert_int_equal(ev.error, WS_ERR_TOO_BIG);
	assert_int_equal(ws_error_close_code(ev.error), 1009);
}

int main(void)
{
	int failed = 0;
	struct test_list l = {0};
	for (size_t i = 0; i < sizeof(hcases) / sizeof(hcases[0]); i++)
		test_list_add(&l, hcases[i].name, run_hcase, (void *)&hcases[i]);
	for (size_t i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++)
		test_list_add(&l, ecases[i].name, run_ecase, (void *)&ecases[i]);
	failed += test_list_run(&l, "ws tables");
	const struct CMUnitTest misc[] = {
		cmocka_unit_test(test_accept_rfc_example),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_head_too_large),
		cmocka_unit_test(test_extension_named),
		cmocka_unit_test(test_peer_text_utf8),
		cmocka_unit_test(test_frame_header),
		cmocka_unit_test(test_decode_fragments_and_control),
		cmocka_unit_test(test_message_bound_across_fragments),
	};
	failed += cmocka_run_group_tests_name("ws", misc, NULL, NULL);
	return failed ? 1 : 0;
}
