/* test_sha256: common/sha256.c against FIPS 180-4's examples and against
 * OpenSSL for every length from 0 to 300 bytes, fed whole and in pieces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "sha256.h"

static void hex(const unsigned char *md, char *out)
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void test_vectors(void **state)
{
	(void)state;
	struct { const char *in; const char *out; } v[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
			"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sha256 s;
		unsigned char md[32];
		char text[65];
		sha256_init(&s);
		sha256_update(&s, v[i].in, strlen(v[i].in));
		sha256_final(&s, md);
		hex(md, text);
		assert_string_equal(text, v[i].out);
	}
}

static void test_against_openssl(void **state)
{
	(void)state;
	unsigned char data[300];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof(data); len++) {
		unsigned char want[32], got[32], pieces[32];
		unsigned int n = 0;
		assert_true(EVP_Digest(data, len, want, &n, EVP_sha256(), NULL));
		struct sha256 s;
		sha256_init(&s);
		sha256_update(&s, data, len);
		sha256_final(&s, got);
		assert_memory_equal(got, want, 32);
		sha256_init(&s);
		for (size_t off = 0; off < len; off += 13)
			sha256_update(&s, data + off, len - off < 13 ? len - off : 13);
		sha256_final(&s, pieces);
		assert_memory_equal(pieces, want, 32);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_against_openssl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
