/* smqtt_sub: subscribe to topics and print what arrives; a drop-in
 * replacement for mosquitto_sub. */
#include "check.h"
#include "cli.h"
#include "diag.h"
#include "options.h"
#include "sub.h"

int main(int argc, char *argv[])
{
	struct config cfg;
	struct diag diag;
	int status;

	cli_lib_init();
	cfg_init(&cfg, TOOL_SUB);
	diag_init(&diag, TOOL_SUB, argv[0]);

	if (cli_configure(&cfg, &diag, argc, argv, &status) == CLI_RUN) {
		if (cfg.check) {
			status = check_run(&cfg, &diag);
		} else if (cfg.no_retain && cfg.retained_only) {
			diag_always(&diag, "\nError: Combining '-R' and '--retained-only' makes no sense.\n");
			status = 1;
		} else {
			status = sub_run(&cfg, &diag);
		}
	}

	cli_lib_cleanup(&cfg);
	cfg_free(&cfg);
	return cli_finish(status);
}
