/* fuzz_socks: libFuzzer harness for the SOCKS5 reply parsers (common/socks.c,
 * RFC 1928 method selection and CONNECT reply, RFC 1929 username/password
 * status), the parts that read what a proxy sends; and for utf8.c's
 * escaping of peer text.
 *
 * Input: byte 0 selects the parser (0 method, 1 auth, 2 connect, 3 utf8);
 * the rest is the proxy's bytes, also fed as every prefix, so that the
 * incomplete paths are covered. Invariants: a prefix of a complete reply is
 * incomplete or already decided the same way; a CONNECT reply's length is
 * known once complete and never beyond the bytes given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "socks.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int which = data[0] & 3;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	if (which == 3) {
		char *z = malloc(n + 1);
		if (!z)
			return 0;
		memcpy(z, p, n);
		z[n] = '\0';
		char *e = utf8_escape(z, 1);
		for (size_t i = 0; e && e[i];) { /* the result is valid UTF-8 */
			size_t l = utf8_seq_len((const unsigned char *)e + i, strlen(e + i));
			if (!l)
				abort();
			i += l;
		}
		char cut[64];
		utf8_copy_cut(cut, sizeof(cut), (const char *)p, n);
		if (strlen(cut) >= sizeof(cut))
			abort();
		free(e);
		free(z);
		return 0;
	}
	enum socks_result last = SOCKS_INCOMPLETE;
	for (size_t k = 0; k <= n; k++) {
		enum socks_result r;
		int rep = -1;
		size_t len = 0;
		if (which == 0)
			r = socks_parse_method(p, k, data[0] >> 2 & 3);
		else if (which == 1)
			r = socks_parse_auth(p, k);
		else {
			r = socks_parse_connect(p, k, &rep, &len);
			if (r == SOCKS_OK && (len == 0 || len > k))
				abort();
			if (r == SOCKS_TARGET_REFUSED && (rep < 1 || rep > 8))
				abort();
		}
		if (last != SOCKS_INCOMPLETE && r != last)
			abort(); /* more bytes never change a decision */
		if (r != SOCKS_OK && r != SOCKS_INCOMPLETE && r != SOCKS_NOT_SOCKS && r != SOCKS_METHOD_REFUSED
				&& r != SOCKS_AUTH_REFUSED && r != SOCKS_TARGET_REFUSED)
			abort();
		last = r;
	}
	return 0;
}
