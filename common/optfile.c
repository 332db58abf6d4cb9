/* optfile: mosquitto's options file, read line by line exactly as
 * mosquitto_pub/sub/rr 2.0 read it, and fed through the same option parser. */
#include "optfile.h"
#include "l10n.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *optfile_path(enum tool tool)
{
	const char *name = tool_mosquitto_name(tool);
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *path = NULL;
	int n;
	if (xdg)
		n = asprintf(&path, "%s/%s", xdg, name);
	else if (home)
		n = asprintf(&path, "%s/.config/%s", home, name);
	else
		return NULL;
	return n < 0 ? NULL : path;
}

enum opt_status optfile_parse(struct config *cfg, FILE *fp, struct opt_error *err)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	enum opt_status rc = OPT_OK;

	while (rc == OPT_OK && (len = getline(&line, &cap, fp)) != -1) {
		if (line[0] == '#')
			continue;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		/* Like strtok(line, " ") then strtok(NULL, ""): skip leading
		 * spaces, the option runs to the next space, the argument is the
		 * rest after that one space (absent when empty). */
		char *opt = line + strspn(line, " ");
		if (!*opt)
			continue;
		char *args[3] = {NULL, opt, NULL};
		int count = 2;
		char *sp = strchr(opt, ' ');
		if (sp) {
			*sp = '\0';
			if (sp[1]) {
				args[2] = sp + 1;
				count = 3;
			}
		}
		rc = options_parse(cfg, count, args, err);
	}
	free(line);
	return rc;
}

enum opt_status optfile_load(struct config *cfg, struct opt_error *err)
{
	char *path = optfile_path(cfg->tool);
	if (!path)
		return OPT_OK;
	FILE *fp = fopen(path, "r");
	free(path);
	if (!fp)
		return OPT_OK;
	enum opt_status rc = optfile_parse(cfg, fp, err);
	fclose(fp);
	return rc;
}

enum opt_status optfile_load_named(struct config *cfg, const char *path, char **warning,
		struct opt_error *err)
{
	struct stat st;
	const char *why = NULL;
	*warning = NULL;
	FILE *fp = fopen(path, "r");
	if (!fp || fstat(fileno(fp), &st) != 0)
		why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		why = _("it is a directory");
	if (why) {
		if (asprintf(warning, _("-o %s: the options file cannot be read (%s), so no options were read from it, "
					"as mosquitto 2.1 does\n"), path, why) < 0)
			*warning = NULL;
		if (fp)
			fclose(fp);
		return OPT_OK;
	}
	enum opt_status rc = optfile_parse(cfg, fp, err);
	fclose(fp);
	return rc;
}

int optfile_line(const char *path, const struct option_def *def)
{
	FILE *fp = path && def ? fopen(path, "r") : NULL;
	if (!fp)
		return 0;
	char *line = NULL;
	size_t cap = 0;
	int n = 0, found = 0;
	while (getline(&line, &cap, fp) != -1) {
		n++;
		if (line[0] == '#')
			continue;
		char *opt = line + strspn(line, " ");
		size_t len = strcspn(opt, " \r\n");
		if (len > 2 && opt[0] == '-' && opt[1] == '-' && def->longname && strlen(def->longname) == len - 2
				&& !strncmp(opt + 2, def->longname, len - 2))
			found = n;
		else if (len == 2 && opt[0] == '-' && def->shortname && opt[1] == def->shortname)
			found = n;
	}
	free(line);
	fclose(fp);
	return found;
}
