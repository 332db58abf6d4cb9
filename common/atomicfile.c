/* atomicfile: see atomicfile.h. */
#include "atomicfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int make_private_dirs(const char *dir)
{
	char *tmp = strdup(dir);
	if (!tmp)
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST) {
			free(tmp);
			return -1;
		}
		*p = '/';
	}
	int rc = (mkdir(tmp, 0700) && errno != EEXIST) ? -1 : 0;
	free(tmp);
	return rc;
}

static int fail(char **cause, const char *what, const char *path)
{
	if (cause && asprintf(cause, "%s %s: %s", what, path, strerror(errno)) < 0)
		*cause = NULL;
	return -1;
}

int atomic_write(const char *path, atomic_writer writer, void *arg, int flags, char **cause)
{
	char *dir = strdup(path), *tmp = NULL;
	char *slash = dir ? strrchr(dir, '/') : NULL;
	int rc = -1;
	if (cause)
		*cause = NULL;
	if (!slash) {
		free(dir);
		errno = EINVAL;
		return fail(cause, "cannot write", path);
	}
	*slash = '\0';
	if (make_private_dirs(dir)) {
		rc = fail(cause, "cannot create", dir);
		goto out;
	}
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, slash + 1) < 0) {
		tmp = NULL;
		goto out;
	}
	int fd = mkstemp(tmp); /* O_EXCL, mode 0600: never follows a link */
	if (fd < 0) {
		rc = fail(cause, "cannot create a file in", dir);
		goto out;
	}
	FILE *fp = fdopen(fd, "w");
	if (!fp) {
		close(fd);
		unlink(tmp);
		rc = fail(cause, "cannot write", tmp);
		goto out;
	}
	bool bad = writer(fp, arg) != 0;
	bad = fflush(fp) != 0 || ferror(fp) || ((flags & ATOMIC_SYNC) && fsync(fd) != 0) || bad;
	if (!bad && !(flags & ATOMIC_SYNC))
		(void)unlink(path); /* see atomicfile.h */
	if (fclose(fp) != 0 || bad || rename(tmp, path) != 0) {
		rc = fail(cause, "cannot write", path);
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(dir);
	free(tmp);
	return rc;
}
