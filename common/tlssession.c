/* tlssession: the trust record of a saved TLS session (see tlssession.h). */
#include "tlssession.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "l10n.h"

/* One item of the record: its key in the line and what the trace calls it. */
static const struct {
	const char *key;
	const char *why;
} items[] = {
	{"host", N_("the saved session is for another broker address")},
	{"port", N_("the saved session is for another port")},
	{"profile", N_("the saved session was made with another profile")},
	{"checked", N_("the host name checked against the certificate differs from the run that saved the session")},
	{"insecure", N_("--insecure differs from the run that saved the session")},
	{"ca", N_("the CA (--cafile, --capath or the system store, or their contents) differs from the run that saved the session")},
	{"cert", N_("the client certificate (--cert) differs from the run that saved the session")},
	{"versions", N_("--tls-version differs from the run that saved the session")},
	{"ciphers", N_("--ciphers differs from the run that saved the session")},
	{"psk", N_("--psk-identity differs from the run that saved the session")},
};
enum { N_ITEMS = sizeof(items) / sizeof(items[0]) };

static int put(char *out, size_t len, size_t *used, const char *key, const char *val)
{
	static const char hexd[] = "0123456789abcdef";
	size_t u = *used;
	size_t kl = strlen(key);
	if (u + kl + 2 >= len)
		return -1;
	out[u++] = ' ';
	memcpy(out + u, key, kl);
	u += kl;
	out[u++] = '=';
	for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
		if (*p <= ' ' || *p >= 0x7f || *p == '%') {
			if (u + 3 >= len)
				return -1;
			out[u++] = '%';
			out[u++] = hexd[*p >> 4];
			out[u++] = hexd[*p & 15];
		} else {
			if (u + 1 >= len)
				return -1;
			out[u++] = (char)*p;
		}
	}
	out[u] = '\0';
	*used = u;
	return 0;
}

int session_trust_line(const struct session_trust *st, char *out, size_t len)
{
	char port[16];
	snprintf(port, sizeof(port), "%d", st->port);
	const char *vals[N_ITEMS] = {st->host, port, st->profile, st->checked_host ? st->checked_host : "",
		st->insecure ? "yes" : "no", st->ca, st->client_cert, st->versions, st->ciphers, st->psk_identity};
	size_t used = strlen(SESSION_TRUST_PREFIX);
	if (len <= used)
		return -1;
	memcpy(out, SESSION_TRUST_PREFIX, used + 1);
	for (size_t i = 0; i < N_ITEMS; i++)
		if (put(out, len, &used, items[i].key, vals[i] ? vals[i] : ""))
			return -1;
	return 0;
}

const char *session_trust_refused(const struct session_trust *st)
{
	if (st->insecure)
		return N_("--insecure skips the host name check that a saved session would stand for");
	return NULL;
}

/* The value of key in a record line (pointing into it) and its length. */
static const char *find_item(const char *line, const char *key, size_t *vlen)
{
	size_t kl = strlen(key);
	for (const char *p = strchr(line, ' '); p; p = strchr(p + 1, ' '))
		if (!strncmp(p + 1, key, kl) && p[1 + kl] == '=') {
			const char *v = p + 2 + kl;
			*vlen = strcspn(v, " \r\n");
			return v;
		}
	return NULL;
}

const char *session_trust_differs(const char *saved, const char *now)
{
	size_t pl = strlen(SESSION_TRUST_PREFIX);
	if (!saved || strncmp(saved, SESSION_TRUST_PREFIX, pl) || (saved[pl] != ' ' && saved[pl] != '\0'))
		return N_("the saved session has no record of the checks made when it was saved (an older smqtt saved it)");
	for (size_t i = 0; i < N_ITEMS; i++) {
		size_t sl = 0, nl = 0;
		const char *s = find_item(saved, items[i].key, &sl);
		const char *n = find_item(now, items[i].key, &nl);
		if (!s || !n || sl != nl || memcmp(s, n, sl))
			return items[i].why;
	}
	/* every item the same, but something else (an item this version does
	 * not know): not the same record */
	if (strcspn(saved, "\r\n") != strlen(now))
		return N_("the saved session's record holds items this smqtt does not know");
	return NULL;
}

static void to_hex(const unsigned char *md, unsigned int n, char *hex, size_t len)
{
	hex[0] = '\0';
	for (unsigned int i = 0; i < n && i * 2 + 2 < len; i++)
		snprintf(hex + i * 2, len - i * 2, "%02x", md[i]);
}

/* Feed a file's contents to ctx; -1 when it cannot be read. */
static int digest_contents(EVP_MD_CTX *ctx, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	unsigned char buf[16384];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	close(fd);
	return n < 0 ? -1 : 0;
}

void session_digest_file(const char *path, char *hex, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && digest_contents(ctx, path) == 0
			&& EVP_DigestFinal_ex(ctx, md, &n))
		to_hex(md, n, hex, len);
	else
		snprintf(hex, len, "unreadable");
	EVP_MD_CTX_free(ctx);
}

void session_digest_dir(const char *path, char *hex, size_t len)
{
	struct dirent **list = NULL;
	int k = scandir(path, &list, NULL, alphasort);
	EVP_MD_CTX *ctx = k >= 0 ? EVP_MD_CTX_new() : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (int i = 0; i < k; i++) {
		char *full = NULL;
		struct stat sb;
		if (ok && list[i]->d_name[0] != '.' && asprintf(&full, "%s/%s", path, list[i]->d_name) >= 0
				&& stat(full, &sb) == 0 && S_ISREG(sb.st_mode)) {
			EVP_DigestUpdate(ctx, list[i]->d_name, strlen(list[i]->d_name) + 1);
			if (digest_contents(ctx, full))
				EVP_DigestUpdate(ctx, "?", 1);
		}
		free(full);
		free(list[i]);
	}
	free(list);
	if (ok && EVP_DigestFinal_ex(ctx, md, &n))
		to_hex(md, n, hex, len);
	else
		snprintf(hex, len, "unreadable");
	EVP_MD_CTX_free(ctx);
}
