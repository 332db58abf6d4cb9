/* test_socks: the SOCKS5 reply parsers of common/socks.c (RFC 1928 method
 * selection and CONNECT reply, RFC 1929 status), table-driven, each reply
 * also fed as every prefix (incomplete until decided, then decided the
 * same way). */
#include "test_common.h"
#include "socks.h"

struct scase {
	const char *name;
	int which; /* 0 method (offered method in arg), 1 auth, 2 connect */
	const char *b;
	size_t n;
	int arg;
	enum socks_result want;
	int rep;     /* connect: the reply code (-1: none) */
	size_t len;  /* connect OK: the reply's length */
};

static const struct scase scases[] = {
	{"method none accepted", 0, "\x05\x00", 2, 0, SOCKS_OK, -1, 0},
	{"method username accepted", 0, "\x05\x02", 2, 2, SOCKS_OK, -1, 0},
	{"method: no acceptable (0xff)", 0, "\x05\xff", 2, 2, SOCKS_METHOD_REFUSED, -1, 0},
	{"method: one not offered", 0, "\x05\x02", 2, 0, SOCKS_METHOD_REFUSED, -1, 0},
	{"method: SOCKS4 answer", 0, "\x00\x5a", 2, 0, SOCKS_NOT_SOCKS, -1, 0},
	{"method: HTTP", 0, "HTTP/1.1 400", 12, 0, SOCKS_NOT_SOCKS, -1, 0},
	{"auth ok", 1, "\x01\x00", 2, 0, SOCKS_OK, -1, 0},
	{"auth ok, version 5 (lenient)", 1, "\x05\x00", 2, 0, SOCKS_OK, -1, 0},
	{"auth refused (status 1)", 1, "\x01\x01", 2, 0, SOCKS_AUTH_REFUSED, -1, 0},
	{"auth refused (status 0xff)", 1, "\x01\xff", 2, 0, SOCKS_AUTH_REFUSED, -1, 0},
	{"auth: not SOCKS", 1, "\x48\x54", 2, 0, SOCKS_NOT_SOCKS, -1, 0},
	{"connect ok, IPv4", 2, "\x05\x00\x00\x01\x7f\x00\x00\x01\x04\x38", 10, 0, SOCKS_OK, 0, 10},
	{"connect ok, IPv6", 2, "\x05\x00\x00\x04" "0123456789abcdef" "\x04\x38", 22, 0, SOCKS_OK, 0, 22},
	{"connect ok, name", 2, "\x05\x00\x00\x03\x09localhost\x07\x5b", 16, 0, SOCKS_OK, 0, 16},
	{"connect: general failure", 2, "\x05\x01\x00\x01\0\0\0\0\0\0", 10, 0, SOCKS_TARGET_REFUSED, 1, 0},
	{"connect: not allowed by ruleset", 2, "\x05\x02", 2, 0, SOCKS_TARGET_REFUSED, 2, 0},
	{"connect: network unreachable", 2, "\x05\x03", 2, 0, SOCKS_TARGET_REFUSED, 3, 0},
	{"connect: host unreachable", 2, "\x05\x04", 2, 0, SOCKS_TARGET_REFUSED, 4, 0},
	{"connect: connection refused", 2, "\x05\x05\x00\x01\0\0\0\0\0\0", 10, 0, SOCKS_TARGET_REFUSED, 5, 0},
	{"connect: TTL expired", 2, "\x05\x06", 2, 0, SOCKS_TARGET_REFUSED, 6, 0},
	{"connect: command not supported", 2, "\x05\x07", 2, 0, SOCKS_TARGET_REFUSED, 7, 0},
	{"connect: address type not supported", 2, "\x05\x08", 2, 0, SOCKS_TARGET_REFUSED, 8, 0},
	{"connect: unassigned code 9", 2, "\x05\x09", 2, 0, SOCKS_NOT_SOCKS, 9, 0},
	{"connect: RSV set", 2, "\x05\x00\x01\x01", 4, 0, SOCKS_NOT_SOCKS, 0, 0},
	{"connect: address type 2", 2, "\x05\x00\x00\x02\0\0", 6, 0, SOCKS_NOT_SOCKS, 0, 0},
	{"connect: HTTP", 2, "HTTP/1.0 200 OK\r\n", 17, 0, SOCKS_NOT_SOCKS, -1, 0},
};

static enum socks_result parse(const struct scase *c, size_t n, int *rep, size_t *len)
{
	*rep = -1;
	*len = 0;
	const uint8_t *b = (const uint8_t *)c->b;
	return c->which == 0 ? socks_parse_method(b, n, (uint8_t)c->arg)
		: c->which == 1 ? socks_parse_auth(b, n) : socks_parse_connect(b, n, rep, len);
}

static void run_scase(void **state)
{
	const struct scase *c = *state;
	int rep;
	size_t len;
	assert_int_equal(parse(c, c->n, &rep, &len), c->want);
	if (c->which == 2) {
		assert_int_equal(rep, c->rep);
		if (c->want == SOCKS_OK)
			assert_int_equal(len, c->len);
	}
	enum socks_result last = SOCKS_INCOMPLETE;
	for (size_t k = 0; k < c->n; k++) {
		enum socks_result r = parse(c, k, &rep, &len);
		assert_true(r == SOCKS_INCOMPLETE || r == c->want);
		assert_true(last == SOCKS_INCOMPLETE || r == last);
		last = r;
	}
	if (c->want == SOCKS_OK && c->which == 2)
		assert_int_equal(parse(c, c->n - 1, &rep, &len), SOCKS_INCOMPLETE);
}

static void test_rep_text(void **state)
{
	(void)state;
	assert_string_equal(socks_rep_text(5), "connection refused");
	assert_string_equal(socks_rep_text(2), "connection not allowed by ruleset");
	assert_string_equal(socks_rep_text(9), "an unassigned reply code");
	assert_string_equal(socks_rep_text(-1), "an unassigned reply code");
}

int main(void)
{
	struct test_list l = {0};
	for (size_t i = 0; i < sizeof(scases) / sizeof(scases[0]); i++)
		test_list_add(&l, scases[i].name, run_scase, (void *)&scases[i]);
	int failed = test_list_run(&l, "socks replies");
	const struct CMUnitTest misc[] = {
		cmocka_unit_test(test_rep_text),
	};
	failed += cmocka_run_group_tests_name("socks", misc, NULL, NULL);
	return failed ? 1 : 0;
}
