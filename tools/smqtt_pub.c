/* smqtt_pub: publish one message, a file, stdin, or stdin line by line;
 * a drop-in replacement for mosquitto_pub. */
#include "check.h"
#include "cli.h"
#include "diag.h"
#include "keeper.h"
#include "options.h"
#include "pub.h"

int main(int argc, char *argv[])
{
	struct config cfg;
	struct diag diag;
	int status;

	cli_lib_init();
	cfg_init(&cfg, TOOL_PUB);
	diag_init(&diag, TOOL_PUB, argv[0]);

	if (cli_configure(&cfg, &diag, argc, argv, &status) == CLI_RUN) {
		status = 1;
		if (cfg.persist_stop) {
			status = keeper_stop(&cfg, &diag);
		} else if (cfg.check) {
			status = check_run(&cfg, &diag);
		} else if (pub_load_input(&cfg, &diag) == 0) {
			if (!cfg.topic || cfg.pub_mode == MSG_NONE) {
				diag_always(&diag, "Error: Both topic and message must be supplied.\n");
				cli_print_usage(&diag);
			} else {
				status = pub_run(&cfg, &diag);
			}
		}
	}

	cli_lib_cleanup(&cfg);
	cfg_free(&cfg);
	return cli_finish(status);
}
