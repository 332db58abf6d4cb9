/* secret: --password-file and scrubbing secrets from the process's argument
 * memory (see secret.h). */
#include "secret.h"
#include "l10n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

int secret_read_password_file(const char *path, char **password, bool *group_readable, char **cause)
{
	/* One byte more than the longest content that can still be valid
	 * (65535 + CRLF), to tell "too long" from "just fits". */
	enum { CAP = SECRET_PASSWORD_MAX + 3 };
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int rc = -1;

	*password = NULL;
	*group_readable = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*cause = xasprintf(_("--password-file %s: the file cannot be opened: %s"), path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		*cause = xasprintf(_("--password-file %s: %s"), path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		*cause = xasprintf(_("--password-file %s: is a directory, not a file holding the password"), path);
		goto out;
	}
	if (S_ISREG(st.st_mode) && st.st_size >= CAP) {
		*cause = xasprintf(_("--password-file %s: the file has %lld bytes; an MQTT password is at most %d bytes"),
				path, (long long)st.st_size, SECRET_PASSWORD_MAX);
		goto out;
	}
	*group_readable = S_ISREG(st.st_mode) && (st.st_mode & 077);
	buf = malloc(CAP);
	if (!buf) {
		*cause = xasprintf(_("--password-file %s: out of memory"), path);
		goto out;
	}
	while (n < CAP) {
		ssize_t got = read(fd, buf + n, CAP - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			*cause = xasprintf(_("--password-file %s: the file cannot be read: %s"), path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	size_t len = n;
	if (len && buf[len - 1] == '\n' && --len && buf[len - 1] == '\r')
		len--;
	if (n == CAP || len > SECRET_PASSWORD_MAX) {
		*cause = xasprintf(_("--password-file %s: the password is longer than %d bytes, the most MQTT can carry"),
				path, SECRET_PASSWORD_MAX);
		goto out;
	}
	if (len == 0) {
		*cause = xasprintf(_("--password-file %s: the file is empty; it must hold the password"), path);
		goto out;
	}
	if (memchr(buf, '\0', len)) {
		*cause = xasprintf(_("--password-file %s: the file holds a NUL byte; a password cannot contain one"), path);
		goto out;
	}
	*password = strndup(buf, len);
	if (!*password) {
		*cause = xasprintf(_("--password-file %s: out of memory"), path);
		goto out;
	}
	rc = 0;
out:
	if (buf) {
		explicit_bzero(buf, CAP);
		free(buf);
	}
	close(fd);
	return rc;
}

/* Where the secret in argv[idx] is, if any. */
static bool secret_span(const struct config *cfg, int idx, const char *word, size_t *off, size_t *len)
{
	for (int k = 0; k < cfg->argv_secret_count; k++) {
		const struct argv_secret *s = &cfg->argv_secrets[k];
		if (s->idx != idx)
			continue;
		if (option_secret(s->def) == SECRET_URL)
			return option_url_password(s->def, word, off, len);
		*off = 0;
		*len = strlen(word);
		return *len > 0;
	}
	return false;
}

static bool contiguous(int argc, char *argv[])
{
	for (int i = 0; i + 1 < argc; i++)
		if (argv[i] + strlen(argv[i]) + 1 != argv[i + 1])
			return false;
	return true;
}

void secret_scrub_argv(int argc, char *argv[], const struct config *cfg)
{
	size_t off, len;
	if (cfg->argv_secret_count == 0 || argc < 2)
		return;
	if (!contiguous(argc, argv)) {
		for (int i = 1; i < argc; i++)
			if (secret_span(cfg, i, argv[i], &off, &len))
				memset(argv[i] + off, '*', len);
		return;
	}
	/* Compact the block in place: every write lands at or before the byte
	 * it replaces, and each word is measured before it is moved. */
	char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
	char *w = argv[1];
	for (int i = 1; i < argc; i++) {
		char *r = argv[i];
		size_t wlen = strlen(r);
		argv[i] = w;
		if (secret_span(cfg, i, r, &off, &len)) {
			memmove(w, r, off);
			w[off] = '*';
			memmove(w + off + 1, r + off + len, wlen - off - len + 1);
			w += wlen - len + 2;
		} else {
			memmove(w, r, wlen + 1);
			w += wlen + 1;
		}
	}
	explicit_bzero(w, (size_t)(end - w));
}
