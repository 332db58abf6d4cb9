/* fuzz_optfile: libFuzzer harness for mosquitto's options-file reader
 * (common/optfile.c optfile_parse), which splits each line into an option
 * and its argument and feeds them through the option parser. The input is
 * read through fmemopen: no file is opened and nothing is printed.
 *
 * Input: byte 0 holds flags: bit 0 picks smqtt_sub (else smqtt_pub); bit 1
 * also runs options_finish after a clean parse. The rest is the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t flags = data[0];
	data++;
	size--;

	char *text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data, size);
	FILE *fp = fmemopen(text, size, "r");
	if (!fp) {
		free(text);
		return 0;
	}

	struct config cfg;
	struct opt_error err = {0};
	cfg_init(&cfg, (flags & 1) ? TOOL_SUB : TOOL_PUB);
	enum opt_status rc = optfile_parse(&cfg, fp, &err);
	if (rc == OPT_OK && (flags & 2))
		rc = options_finish(&cfg, &err);
	if (rc == OPT_ERROR && !err.text) {
		fprintf(stderr, "fuzz_optfile: OPT_ERROR without an error text\n");
		abort();
	}
	for (const struct option_def *d = option_table; d->shortname || d->longname; d++)
		free(config_value_text(&cfg, d));

	opt_error_free(&err);
	cfg_free(&cfg);
	fclose(fp);
	free(text);
	return 0;
}
