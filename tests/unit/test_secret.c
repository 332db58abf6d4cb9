/* test_secret: the command-line scrubber (secret_scrub_argv) on argv blocks
 * laid out as the kernel lays them out and otherwise, the URL password span,
 * and the one-password-source-per-layer rule of -P / --password-file. */
#include "test_common.h"

#include "options.h"
#include "secret.h"

/* Build a kernel-style argv: the words back to back in one block. */
struct block {
	char mem[512];
	char *argv[32];
	int argc;
	size_t used;
};

static void block_init(struct block *b, const char *const *words)
{
	memset(b, 0, sizeof(*b));
	for (; *words; words++) {
		size_t n = strlen(*words) + 1;
		assert_true(b->used + n <= sizeof(b->mem));
		memcpy(b->mem + b->used, *words, n);
		b->argv[b->argc++] = b->mem + b->used;
		b->used += n;
	}
}

/* The block as /proc/PID/cmdline would show it (NULs as '|'). */
static void block_text(const struct block *b, char *out)
{
	for (size_t i = 0; i < b->used; i++)
		out[i] = b->mem[i] ? b->mem[i] : '|';
	out[b->used] = '\0';
}

static void parse_scrub(struct block *b, enum tool tool, struct config *cfg)
{
	struct opt_error err = {0};
	cfg_init(cfg, tool);
	cfg->layer = LAYER_CLI;
	assert_int_equal(options_parse(cfg, b->argc, b->argv, &err), OPT_OK);
	secret_scrub_argv(b->argc, b->argv, cfg);
}

static void test_scrub_contiguous(void **state)
{
	(void)state;
	static const char *const words[] = {"smqtt_sub", "-h", "h", "-P", "hunter2", "-t", "a/b",
		"--psk", "abcd", "--psk-identity", "me", "-L", "mqtt://u:pa:ss@h:1/t", "--proxy",
		"socks5h://x:y%40z@p:1080", "--tls-engine-kpass-sha1", "0123", "-C", "1", NULL};
	struct block b;
	struct config cfg;
	char text[600];
	block_init(&b, words);
	parse_scrub(&b, TOOL_SUB, &cfg);
	block_text(&b, text);
	assert_string_equal(text, "smqtt_sub|-h|h|-P|*|-t|a/b|--psk|*|--psk-identity|me|-L|mqtt://u:*@h:1/t|"
			"--proxy|socks5h://x:*@p:1080|--tls-engine-kpass-sha1|*|-C|1|"
			/* the 20 bytes the secrets gave up, now NULs */
			"||||||||||||||||||||");
	/* argv[] follows the moved words; the parsed copies are intact */
	assert_string_equal(b.argv[5], "-t");
	assert_string_equal(b.argv[18], "1");
	assert_string_equal(cfg.password, "pa:ss");
	assert_string_equal(cfg.psk, "abcd");
	assert_string_equal(cfg.socks5_password, "y@z");
	assert_null(memmem(b.mem, sizeof(b.mem), "hunter2", 7));
	cfg_free(&cfg);
}

static void test_scrub_not_contiguous(void **state)
{
	(void)state;
	char a0[] = "smqtt_pub", a1[] = "-P", a2[] = "topsecret", a3[] = "-t", a4[] = "x";
	char *argv[] = {a3, a0, a1, a2, a4}; /* shuffled: not the kernel's block */
	char *args[] = {argv[1], argv[2], argv[3], argv[0], argv[4]};
	struct opt_error err = {0};
	struct config cfg;
	cfg_init(&cfg, TOOL_PUB);
	cfg.layer = LAYER_CLI;
	assert_int_equal(options_parse(&cfg, 5, args, &err), OPT_OK);
	secret_scrub_argv(5, args, &cfg);
	assert_string_equal(a2, "*********");
	assert_string_equal(args[4], "x");
	cfg_free(&cfg);
}

static void test_scrub_nothing_to_do(void **state)
{
	(void)state;
	static const char *const words[] = {"smqtt_pub", "-P", "", "-L", "mqtt://u@h/t", "-m", "m", NULL};
	struct block b, before;
	struct config cfg;
	block_init(&b, words);
	before = b;
	parse_scrub(&b, TOOL_PUB, &cfg);
	assert_memory_equal(b.mem, before.mem, sizeof(b.mem));
	cfg_free(&cfg);
}

static void test_url_password_span(void **state)
{
	(void)state;
	const struct option_def *url = option_find_long("url"), *proxy = option_find_long("proxy");
	size_t off, len;
	assert_true(option_url_password(url, "mqtts://me:pw@host/a@b", &off, &len));
	assert_int_equal(off, 11);
	assert_int_equal(len, 2);
	assert_false(option_url_password(url, "mqtt://host/u:p@x", &off, &len));
	assert_false(option_url_password(url, "mqtt://me@host/t", &off, &len));
	assert_false(option_url_password(url, "mqtt://me:@host/t", &off, &len));
	assert_true(option_url_password(proxy, "socks5h://a:b@c@d:1", &off, &len));
	assert_int_equal(off, 12);
	assert_int_equal(len, 3);
	assert_false(option_url_password(option_find_long("pw"), "mqtt://a:b@c/t", &off, &len));
	assert_int_equal(option_secret(option_find_long("tls-engine-kpass-sha1")), SECRET_VALUE);
	assert_int_equal(option_secret(option_find_long("password-file")), SECRET_NONE);
}

static enum opt_status parse_layer(struct config *cfg, enum opt_layer layer, const char *const *words,
		struct opt_error *err)
{
	int argc = 0;
	while (words[argc])
		argc++;
	cfg->layer = layer;
	return options_parse(cfg, argc, (char *const *)words, err);
}

static void test_password_sources(void **state)
{
	(void)state;
	struct opt_error err = {0};
	struct config cfg;
	static const char *const pw[] = {"x", "-P", "one", NULL};
	static const char *const file[] = {"x", "--password-file", "f", NULL};
	static const char *const both[] = {"x", "--password-file", "f", "-P", "one", NULL};
	static const char *const url[] = {"x", "-L", "mqtt://u:p@h/t", "--password-file", "f", NULL};

	cfg_init(&cfg, TOOL_PUB);
	assert_int_equal(parse_layer(&cfg, LAYER_CLI, both, &err), OPT_ERROR);
	assert_string_equal(err.text, "Error: Use either -P (or a password in the -L URL) or --password-file, not both.\n");
	opt_error_free(&err);
	cfg_free(&cfg);

	cfg_init(&cfg, TOOL_PUB);
	assert_int_equal(parse_layer(&cfg, LAYER_CLI, url, &err), OPT_ERROR);
	opt_error_free(&err);
	cfg_free(&cfg);

	/* a later source replaces the other kind from an earlier one */
	cfg_init(&cfg, TOOL_PUB);
	assert_int_equal(parse_layer(&cfg, LAYER_OPTFILE, pw, &err), OPT_OK);
	assert_int_equal(parse_layer(&cfg, LAYER_PROFILE, file, &err), OPT_OK);
	assert_null(cfg.password);
	assert_string_equal(cfg.password_file, "f");
	assert_int_equal(parse_layer(&cfg, LAYER_CLI, pw, &err), OPT_OK);
	assert_null(cfg.password_file);
	assert_string_equal(cfg.password, "one");
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scrub_contiguous),
		cmocka_unit_test(test_scrub_not_contiguous),
		cmocka_unit_test(test_scrub_nothing_to_do),
		cmocka_unit_test(test_url_password_span),
		cmocka_unit_test(test_password_sources),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
