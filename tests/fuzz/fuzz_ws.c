/* fuzz_ws: libFuzzer harness for the WebSocket codec (common/ws.c): the
 * upgrade-response check (ws_parse_head) and the incremental frame decoder
 * (ws_decode), the two parts that read what a server sends.
 *
 * Input: byte 0: bit 0 selects the decoder (else the response check); bits
 * 1-7 and byte 1 give the chunk size the decoder is fed in (1 to 32768),
 * byte 2 the message bound's power of two (its low 5 bits). The rest is the
 * server's bytes. The response check is also run on every prefix end that
 * completes the head, so the incomplete paths are covered. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

static const char *KEY = "dGhlIHNhbXBsZSBub25jZQ==";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	bool decode = data[0] & 1;
	size_t chunk = ((size_t)(data[0] >> 1) << 8 | data[1]) % 32768 + 1;
	uint64_t max = (uint64_t)1 << (data[2] & 31);
	const uint8_t *p = data + 3;
	size_t n = size - 3;

	if (!decode) {
		struct ws_head h;
		enum ws_head_result r = ws_parse_head(p, n, KEY, &h);
		if (r == WS_HEAD_OK && (h.head_len == 0 || h.head_len > n))
			abort();
		if (r == WS_HEAD_INCOMPLETE && n >= WS_MAX_HEAD)
			abort();
		/* the strings are cut and printable */
		if (strlen(h.reason) >= sizeof(h.reason) || strlen(h.location) >= sizeof(h.location))
			abort();
		return 0;
	}
	struct ws_decoder d;
	ws_decoder_init(&d, max);
	uint64_t data_bytes = 0;
	for (size_t pos = 0; pos < n;) {
		size_t c = n - pos < chunk ? n - pos : chunk;
		size_t off = 0;
		while (off < c) {
			struct ws_event ev;
			size_t u = ws_decode(&d, p + pos + off, c - off, &ev);
			if (u > c - off)
				abort();
			off += u;
			if (ev.kind == WS_EV_DATA) {
				if (ev.data < p || ev.data + ev.len > p + n)
					abort();
				data_bytes += ev.len;
			}
			if (ev.kind == WS_EV_ERROR)
				return 0;
			if (ev.kind == WS_EV_CLOSE && strlen(ev.reason) >= sizeof(ev.reason))
				abort();
			if (u == 0 && ev.kind == WS_EV_NONE)
				break;
		}
		pos += c;
	}
	(void)data_bytes;
	return 0;
}
