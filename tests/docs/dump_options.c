/* dump_options: print smqtt's option table (common/options.c) as TSV, one
 * line per tool an option applies to, for the documentation checks:
 *
 *   tool  short  long  kind  argname  first-line-of-help
 *
 * tool is "pub", "sub" or "rr"; short is "-h", long is "--host" (empty when the
 * option has none); kind is NONE, STR, INT, REAL or SPECIAL. With --full,
 * three columns go before the help text: scope (RUN or CONN), min and max. */
#include <stdio.h>
#include <string.h>

#include "options.h"

static const char *kind_name(enum arg_kind k)
{
	switch (k) {
	case ARG_NONE: return "NONE";
	case ARG_STR: return "STR";
	case ARG_INT: return "INT";
	case ARG_REAL: return "REAL";
	case ARG_SPECIAL: return "SPECIAL";
	}
	return "?";
}

int main(int argc, char *argv[])
{
	int full = argc > 1 && !strcmp(argv[1], "--full");
	if (argc > 2 || (argc == 2 && !full)) {
		fprintf(stderr, "usage: %s [--full]\n", argv[0]);
		return 2;
	}
	static const struct { enum tool tool; const char *name; } tools[] = {
		{TOOL_PUB, "pub"}, {TOOL_SUB, "sub"}, {TOOL_RR, "rr"},
	};
	for (size_t t = 0; t < sizeof(tools) / sizeof(tools[0]); t++) {
		for (const struct option_def *d = option_table; d->shortname || d->longname; d++) {
			if (!option_for_tool(d, tools[t].tool))
				continue;
			const char *help = d->help ? d->help : "";
			int hlen = (int)strcspn(help, "\n");
			printf("%s\t", tools[t].name);
			if (d->shortname)
				printf("-%c", d->shortname);
			printf("\t%s%s\t%s\t%s\t", d->longname ? "--" : "", d->longname ? d->longname : "",
					kind_name(d->kind), d->argname ? d->argname : "");
			if (full)
				printf("%s\t%lld\t%lld\t", d->scope == SCOPE_CONN ? "CONN" : "RUN", d->min, d->max);
			printf("%.*s\n", hlen, help);
		}
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
