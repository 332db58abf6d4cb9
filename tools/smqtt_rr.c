/* smqtt_rr: publish a request, wait for the response and print it; a
 * drop-in replacement for mosquitto_rr (MQTT v5 request/response). */
#include "check.h"
#include "cli.h"
#include "diag.h"
#include "options.h"
#include "rr.h"

int main(int argc, char *argv[])
{
	struct config cfg;
	struct diag diag;
	int status;

	cli_lib_init();
	cfg_init(&cfg, TOOL_RR);
	diag_init(&diag, TOOL_RR, argv[0]);

	if (cli_configure(&cfg, &diag, argc, argv, &status) == CLI_RUN) {
		if (cfg.check)
			status = check_run(&cfg, &diag);
		else if ((status = rr_prepare(&cfg, &diag)) == 0)
			status = rr_run(&cfg, &diag);
	}

	cli_lib_cleanup(&cfg);
	cfg_free(&cfg);
	return cli_finish(status);
}
