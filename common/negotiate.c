/* negotiate: TLS version step-down policy and cache (see negotiate.h). */
#include "negotiate.h"

#include "atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/ssl.h>

bool negotiate_is_version_failure(const struct evidence *ev)
{
	if (ev->timed_out || ev->verify_error >= 0 || ev->hostname_mismatch)
		return false;
	if (ev->alert_received == SSL_AD_PROTOCOL_VERSION)
		return true;
	if (ev->alert_received >= 0)
		return false; /* any other alert is explained, never retried */
	if (ev->ssl_reason_is_version)
		return true;
	switch (ev->ssl_reason) {
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		return true;
	default:
		break;
	}
	/* TLS 1.3 intolerance: the peer hangs up right after our ClientHello */
	return ev->client_hello_sent && !ev->server_hello_seen && ev->peer_closed && !ev->non_tls_reply
		&& ev->probe_tls_answered;
}

static const int ladder[] = {TLS1_3_VERSION, TLS1_2_VERSION, TLS1_1_VERSION, TLS1_VERSION};

struct tls_range negotiate_first(int requested_min)
{
	struct tls_range r = {requested_min > TLS1_2_VERSION ? requested_min : TLS1_2_VERSION, TLS1_3_VERSION, false};
	if (r.min_version > r.max_version)
		r.min_version = r.max_version;
	return r;
}

int negotiate_hint(int requested_min, int remembered)
{
	if (remembered < TLS1_VERSION || remembered >= TLS1_2_VERSION || remembered < requested_min)
		return 0;
	return remembered;
}

bool negotiate_next(const struct evidence *ev, const struct tls_range *cur, int requested_min, int remembered,
		struct tls_range *next)
{
	if (!negotiate_is_version_failure(ev))
		return false;
	bool intolerant = ev->alert_received < 0 && !ev->ssl_reason_is_version && ev->client_hello_sent
		&& !ev->server_hello_seen && ev->peer_closed;
	/* intolerance of the highest version offered: cap the range one
	 * version lower; otherwise the broker speaks nothing in the range:
	 * go one version below the lowest offered */
	int from = intolerant ? (cur->max_version ? cur->max_version : TLS1_3_VERSION) : cur->min_version;
	int below = 0;
	for (size_t i = 0; i + 1 < sizeof(ladder) / sizeof(ladder[0]); i++)
		if (ladder[i] == from)
			below = ladder[i + 1];
	if (!below || below < requested_min)
		return false;
	next->max_version = below;
	next->min_version = intolerant && cur->min_version < below ? cur->min_version : below;
	/* the remembered version (a hint the user's minimum allows) widens the
	 * step down to it, from one version below: the broker still picks its
	 * highest, and the SCSV still stops a downgrade */
	int hint = negotiate_hint(requested_min, remembered);
	if (!intolerant && hint && hint < next->min_version)
		next->min_version = hint;
	if (next->min_version < requested_min)
		next->min_version = requested_min;
	next->fallback_scsv = true;
	return true;
}

/* ---- cache ------------------------------------------------------------ */

static char *cache_path(char **dir_out)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char *dir = NULL, *path = NULL;
	if (xdg && *xdg) {
		if (asprintf(&dir, "%s/smqtt", xdg) < 0)
			dir = NULL;
	} else if (home) {
		if (asprintf(&dir, "%s/.cache/smqtt", home) < 0)
			dir = NULL;
	}
	if (dir && asprintf(&path, "%s/tls-versions", dir) < 0)
		path = NULL;
	if (dir_out)
		*dir_out = dir;
	else
		free(dir);
	return path;
}

/* Read every line except the one for key into *rest; return key's version. */
static int read_cache(const char *path, const char *key, char **rest)
{
	FILE *fp = fopen(path, "r");
	char line[600];
	int found = 0;
	size_t len = 0, cap = 0;
	if (rest)
		*rest = NULL;
	while (fp && fgets(line, sizeof(line), fp)) {
		char name[520], ver[32];
		if (sscanf(line, "%519s %31s", name, ver) != 2)
			continue;
		if (!strcmp(name, key)) {
			found = tls_version_from_name(ver);
			continue;
		}
		if (rest) {
			size_t n = strlen(line);
			if (len + n + 1 > cap) {
				cap = (len + n + 1) * 2;
				char *g = realloc(*rest, cap);
				if (!g)
					break;
				*rest = g;
			}
			memcpy(*rest + len, line, n + 1);
			len += n;
		}
	}
	if (fp)
		fclose(fp);
	return found;
}

int negotiate_cache_get(const char *host, int port)
{
	char key[520];
	char *path = cache_path(NULL);
	snprintf(key, sizeof(key), "%s:%d", host, port);
	int v = path ? read_cache(path, key, NULL) : 0;
	free(path);
	return v;
}

struct cache_update {
	const char *rest;   /* the other brokers' lines */
	const char *key;
	int version;        /* 0: drop key */
};

static int write_cache_cb(FILE *fp, void *arg)
{
	const struct cache_update *u = arg;
	if (u->rest)
		fputs(u->rest, fp);
	if (u->version)
		fprintf(fp, "%s %s\n", u->key, tls_version_name(u->version));
	return 0;
}

static int write_cache(const char *host, int port, int version)
{
	char key[520];
	char *path = cache_path(NULL);
	char *rest = NULL;
	int rc = -1;
	snprintf(key, sizeof(key), "%s:%d", host, port);
	if (path && !strchr(host, ' ') && !strchr(host, '\n')) {
		read_cache(path, key, &rest);
		struct cache_update u = {rest, key, version};
		rc = atomic_write(path, write_cache_cb, &u, ATOMIC_CACHE, NULL);
	}
	free(rest);
	free(path);
	return rc;
}

int negotiate_cache_put(const char *host, int port, int version)
{
	return write_cache(host, port, version);
}

int negotiate_cache_forget(const char *host, int port)
{
	return write_cache(host, port, 0);
}
