/* cli: shared front half of both mains (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "optfile.h"

void cli_print_usage(const struct diag *d)
{
	char *text = options_usage(d->tool, d->prog);
	if (text)
		fputs(text, stdout);
	free(text);
}

static void print_version(const struct diag *d)
{
	int major, minor, rev;
	mosquitto_lib_version(&major, &minor, &rev);
	printf("%s version %s running on libmosquitto %d.%d.%d.\n", d->prog, SMQTT_VERSION, major, minor, rev);
}

enum cli_next cli_configure(struct config *cfg, struct diag *d, int argc, char *argv[], int *status)
{
	struct opt_error err = {0};
	/* A closed stdout must end the run through ferror(), not SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	enum opt_status rc = optfile_load(cfg, &err);
	if (rc == OPT_OK)
		rc = options_parse(cfg, argc, argv, &err);
	if (rc == OPT_OK)
		rc = options_finish(cfg, &err);
	d->quiet = cfg->quiet;
	*status = 1;
	switch (rc) {
	case OPT_OK:
		return CLI_RUN;
	case OPT_HELP:
		cli_print_usage(d);
		break;
	case OPT_VERSION:
		print_version(d);
		break;
	case OPT_ERROR:
		diag_usage_error(d, err.text);
		break;
	}
	opt_error_free(&err);
	return CLI_EXIT;
}

int cli_finish(int status)
{
	/* Earlier write errors were handled where they happened. */
	clearerr(stdout);
	errno = 0;
	if (fflush(stdout) == EOF && errno != EPIPE)
		return status ? status : 1;
	return status;
}
