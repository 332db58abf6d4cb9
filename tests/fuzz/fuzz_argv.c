/* fuzz_argv: libFuzzer harness for the command-line parser (common/options.c):
 * options_parse on arbitrary argv words, options_finish on what parsed, and
 * config_value_text (what --save-profile would write) for every option.
 * Pure code: it opens no file and prints nothing.
 *
 * Input: byte 0 holds flags: bit 0 picks smqtt_sub (else smqtt_pub); with
 * bit 1 the words up to the first empty word are parsed as a profile layer
 * and the rest as the command line, as cli_configure does (a profile's -I
 * gives way to a command-line -i). The rest of the input is argv[1..], one
 * word per NUL-terminated part. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

/* Parse words[0..n-1] as argv[1..n] in the given layer. */
static enum opt_status parse_layer(struct config *cfg, enum opt_layer layer, const char *argv0,
		char **words, int n, struct opt_error *err)
{
	char **argv = calloc((size_t)n + 2, sizeof(char *));
	if (!argv)
		return OPT_ERROR;
	argv[0] = (char *)argv0;
	for (int i = 0; i < n; i++)
		argv[i + 1] = words[i];
	cfg->layer = layer;
	enum opt_status rc = options_parse(cfg, n + 1, argv, err);
	free(argv);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	data++;
	size--;

	/* The words: data with a NUL appended, split at every NUL. */
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	size_t nwords = 1;
	for (size_t i = 0; i < size; i++)
		nwords += buf[i] == '\0';
	if (size > 0 && buf[size - 1] == '\0')
		nwords--; /* a trailing NUL ends the last word, it does not start one */
	char **words = calloc(nwords + 1, sizeof(char *));
	if (!words) {
		free(buf);
		return 0;
	}
	int n = 0;
	for (char *w = buf; size > 0 && (size_t)n < nwords; w += strlen(w) + 1)
		words[n++] = w;

	enum tool tool = (flags & 1) ? TOOL_SUB : TOOL_PUB;
	const char *argv0 = tool == TOOL_SUB ? "smqtt_sub" : "smqtt_pub";
	struct config cfg;
	struct opt_error err = {0};
	cfg_init(&cfg, tool);

	enum opt_status rc;
	int split = n;
	if (flags & 2) {
		for (int i = 0; i < n; i++) {
			if (!words[i][0]) {
				split = i;
				break;
			}
		}
	}
	if (split < n) {
		rc = parse_layer(&cfg, LAYER_PROFILE, "profile", words, split, &err);
		if (rc == OPT_OK)
			rc = parse_layer(&cfg, LAYER_CLI, argv0, words + split + 1, n - split - 1, &err);
	} else {
		rc = parse_layer(&cfg, LAYER_CLI, argv0, words, n, &err);
	}
	if (rc == OPT_OK)
		rc = options_finish(&cfg, &err);
	/* cli_configure prints err.text for every error: it must be there. */
	if (rc == OPT_ERROR && !err.text) {
		fprintf(stderr, "fuzz_argv: OPT_ERROR without an error text\n");
		abort();
	}

	for (const struct option_def *d = option_table; d->shortname || d->longname; d++)
		free(config_value_text(&cfg, d));

	opt_error_free(&err);
	cfg_free(&cfg);
	free(words);
	free(buf);
	return 0;
}
