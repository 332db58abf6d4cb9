/* tlsresume: --tls-resume: naming a run's session file and trust record,
 * offering a saved session when the handshake starts, saving a new one
 * (without the broker's certificate), and forgetting one that did not
 * resume. The trust record itself is tlssession.c's. */
#include "tls.h"
#include "tlsparts.h"
#include "atomicfile.h"
#include "tlssession.h"
#include "l10n.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* SHA-256 of the first certificate in a PEM file, over its DER bytes (what
 * X509_digest gives), without parsing the certificate. */
static void cert_fingerprint(const char *path, char *hex, size_t len)
{
	FILE *fp = fopen(path, "r");
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL, md[EVP_MAX_MD_SIZE];
	long n = 0;
	unsigned int mdlen = 0;
	while (fp && PEM_read(fp, &name, &header, &data, &n) == 1) {
		bool is_cert = strstr(name, "CERTIFICATE") != NULL;
		if (is_cert && EVP_Digest(data, (size_t)n, md, &mdlen, EVP_sha256(), NULL))
			for (unsigned int i = 0; i < mdlen && i * 2 + 2 < len; i++)
				snprintf(hex + i * 2, len - i * 2, "%02x", md[i]);
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
		name = header = NULL;
		data = NULL;
		if (is_cert)
			break;
	}
	if (fp)
		fclose(fp);
	ERR_clear_error();
}

/* The session file is named by host:port, the profile and the client
 * certificate's fingerprint, so that a session never crosses identities;
 * its first line is the trust record (tlssession.h). */
static char *session_path(const struct config *cfg, int port, const char *fp)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char base[512], key[1200];
	if (xdg && *xdg)
		snprintf(base, sizeof(base), "%s/smqtt/sessions", xdg);
	else if (home)
		snprintf(base, sizeof(base), "%s/.cache/smqtt/sessions", home);
	else
		return NULL;
	snprintf(key, sizeof(key), "%s:%d|%s|%s", cfg->host ? cfg->host : "localhost", port,
			cfg->applied_profile ? cfg->applied_profile : "", fp);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[EVP_MAX_MD_SIZE * 2 + 1];
	if (!EVP_Digest(key, strlen(key), md, &n, EVP_sha256(), NULL))
		return NULL;
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + i * 2, sizeof(hex) - i * 2, "%02x", md[i]);
	char *path = NULL;
	if (asprintf(&path, "%s/%s", base, hex) < 0)
		return NULL;
	return path;
}

/* The CA this run trusts, as tls_init loads it, by the digest of its
 * contents: "cafile:HEX capath:HEX os:HEX/HEX" (the parts that apply). */
static void trust_ca(const struct config *cfg, char *out, size_t len)
{
	char hex[EVP_MAX_MD_SIZE * 2 + 1], hex2[EVP_MAX_MD_SIZE * 2 + 1];
	out[0] = '\0';
	if (cfg->cafile) {
		session_digest_file(cfg->cafile, hex, sizeof(hex));
		snprintf(out + strlen(out), len - strlen(out), "cafile:%s ", hex);
	}
	if (cfg->capath) {
		session_digest_dir(cfg->capath, hex, sizeof(hex));
		snprintf(out + strlen(out), len - strlen(out), "capath:%s ", hex);
	}
	if (cfg->tls_use_os_certs || (!cfg->cafile && !cfg->capath && !cfg->psk)) {
		const char *dir = getenv(X509_get_default_cert_dir_env());
		const char *file = getenv(X509_get_default_cert_file_env());
		session_digest_dir(dir && *dir ? dir : X509_get_default_cert_dir(), hex, sizeof(hex));
		session_digest_file(file && *file ? file : X509_get_default_cert_file(), hex2, sizeof(hex2));
		snprintf(out + strlen(out), len - strlen(out), "os:%s/%s ", hex, hex2);
	}
	size_t n = strlen(out);
	if (n)
		out[n - 1] = '\0';
	else
		snprintf(out, len, "none");
}

/* Does the file at path start with the trust record now? NULL: yes, or
 * why not (untranslated). */
static const char *session_file_differs(const char *path, const char *now)
{
	char saved[2048];
	FILE *fp = fopen(path, "r");
	if (!fp)
		return N_("no saved session");
	bool got = fgets(saved, sizeof(saved), fp) != NULL;
	fclose(fp);
	return session_trust_differs(got ? saved : NULL, now);
}

bool tls_session_prepare(struct tls_files *f, const struct config *cfg, int port, char **why)
{
	char fp[EVP_MAX_MD_SIZE * 2 + 1] = "none", ca[3 * (EVP_MAX_MD_SIZE * 2 + 16)];
	char *trust = malloc(4096);
	*why = NULL;
	if (!trust)
		return false;
	if (cfg->certfile)
		cert_fingerprint(cfg->certfile, fp, sizeof(fp));
	trust_ca(cfg, ca, sizeof(ca));
	const char *host = cfg->host ? cfg->host : "localhost";
	struct session_trust st = {
		.host = host, .port = port, .profile = cfg->applied_profile ? cfg->applied_profile : "",
		.checked_host = cfg->insecure || port == 0 ? NULL : host, .insecure = cfg->insecure,
		.ca = ca, .client_cert = fp, .versions = cfg->tls_version ? cfg->tls_version : "default",
		.ciphers = cfg->ciphers ? cfg->ciphers : "default",
		.psk_identity = cfg->psk ? (cfg->psk_identity ? cfg->psk_identity : "") : "none",
	};
	const char *no = session_trust_refused(&st);
	if (no || session_trust_line(&st, trust, 4096)) {
		free(trust);
		if (asprintf(why, _("no session is offered or saved: %s"),
				no ? _(no) : _("the record of this run's checks is too long")) < 0)
			*why = NULL;
		return false;
	}
	free(f->session_file);
	free(f->session_trust);
	f->session_trust = trust;
	f->session_file = session_path(cfg, port, fp);
	if (!f->session_file)
		return false;
	if (access(f->session_file, F_OK) != 0)
		return false;
	const char *differs = session_file_differs(f->session_file, trust);
	if (differs && asprintf(why, _("the saved session is not offered (a full handshake checks the broker): %s"),
			_(differs)) < 0)
		*why = NULL;
	return !differs;
}

/* One DER tag and length at p, n bytes left: the header size, or 0 when it
 * is not a single-byte tag with a definite length that fits in n. */
static size_t der_header(const unsigned char *p, size_t n, unsigned char *tag, size_t *len)
{
	if (n < 2 || (p[0] & 0x1f) == 0x1f)
		return 0;
	size_t h = 2, l = p[1];
	if (l & 0x80) {
		size_t k = l & 0x7f;
		if (k == 0 || k > 3 || n < 2 + k)
			return 0;
		l = 0;
		for (size_t i = 0; i < k; i++)
			l = l << 8 | p[2 + i];
		h += k;
	}
	if (l > n - h)
		return 0;
	*tag = p[0];
	*len = l;
	return h;
}

/* The session as it is saved: without the broker's certificate. OpenSSL
 * keeps the peer's leaf certificate in the session (element [3] of its DER
 * form), and decoding it again on every resumed run costs about 2.5 M
 * instructions (a public-key decoder is set up), an eighth of such a run. A
 * resumed handshake never looks at it: the certificate and the host name were
 * verified when the session was made. The element is cut out of the DER and
 * the rest decoded again, so OpenSSL itself validates the result; on any
 * surprise NULL is returned and the session is saved whole. */
static SSL_SESSION *session_without_peer(SSL_SESSION *sess)
{
	int n = i2d_SSL_SESSION(sess, NULL);
	if (n <= 0 || n > 1 << 20)
		return NULL;
	unsigned char *der = malloc((size_t)n), *out = malloc((size_t)n + 4), *q = der;
	SSL_SESSION *cut = NULL;
	unsigned char tag;
	size_t len, h;
	if (!der || !out || i2d_SSL_SESSION(sess, &q) != n)
		goto done;
	h = der_header(der, (size_t)n, &tag, &len);
	if (!h || tag != 0x30 || h + len != (size_t)n)
		goto done;
	size_t used = 0, off = h;
	bool found = false;
	while (off < (size_t)n) {
		size_t el, eh = der_header(der + off, (size_t)n - off, &tag, &el);
		if (!eh)
			goto done;
		if (tag == 0xa3)
			found = true;
		else {
			memcpy(out + 4 + used, der + off, eh + el);
			used += eh + el;
		}
		off += eh + el;
	}
	if (!found || used > 0xffff)
		goto done;
	/* the SEQUENCE header, right-aligned in the 4 bytes kept free */
	unsigned char *start = out + 4;
	*--start = (unsigned char)(used & 0xff);
	if (used >= 0x80) {
		if (used > 0xff)
			*--start = (unsigned char)(used >> 8);
		*--start = (unsigned char)(used > 0xff ? 0x82 : 0x81);
	}
	*--start = 0x30;
	const unsigned char *cp = start;
	long total = (long)(out + 4 + used - start);
	cut = d2i_SSL_SESSION(NULL, &cp, total);
	if (cut && (cp != start + total || !SSL_SESSION_is_resumable(cut))) {
		SSL_SESSION_free(cut);
		cut = NULL;
	}
done:
	free(der);
	free(out);
	ERR_clear_error();
	return cut;
}

struct saving {
	SSL_SESSION *sess;
	const char *trust;
};

/* The trust record, then the session in PEM (which readers find after it). */
static int write_session_cb(FILE *fp, void *arg)
{
	struct saving *sv = arg;
	SSL_SESSION *cut = session_without_peer(sv->sess);
	int rc = fprintf(fp, "%s\n", sv->trust) > 0 && PEM_write_SSL_SESSION(fp, cut ? cut : sv->sess) == 1 ? 0 : -1;
	SSL_SESSION_free(cut);
	return rc;
}

int tls_resume_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tls *t = tls_of_ssl(ssl);
	struct saving sv = {sess, t ? t->files->session_trust : NULL};
	if (t && t->session_file && sv.trust && SSL_SESSION_is_resumable(sess)
			&& atomic_write(t->session_file, write_session_cb, &sv, ATOMIC_CACHE, NULL) == 0)
		t->session_saved = true;
	ERR_clear_error();
	return 0; /* we did not keep a reference */
}

/* Offer the saved session: libmosquitto creates the SSL itself, so this is
 * done as the handshake starts, before the ClientHello is written. */
void tls_resume_offer(struct tls *t, SSL *ssl)
{
	const char *trust = t->files->session_trust;
	FILE *fp = trust ? fopen(t->session_file, "r") : NULL;
	if (!fp)
		return;
	/* only a session saved under this run's very checks (read again here:
	 * another run may have replaced the file since tls_session_prepare) */
	char saved[2048];
	if (!fgets(saved, sizeof(saved), fp) || session_trust_differs(saved, trust)) {
		fclose(fp);
		return;
	}
	SSL_SESSION *sess = PEM_read_SSL_SESSION(fp, NULL, NULL, NULL);
	fclose(fp);
	if (sess && SSL_SESSION_is_resumable(sess) && SSL_set_session(ssl, sess) == 1)
		t->session_offered = true;
	else
		unlink(t->session_file);
	SSL_SESSION_free(sess);
	ERR_clear_error();
}

bool tls_session_check(struct tls *t, SSL *ssl)
{
	if (!ssl || !t->session_offered)
		return false;
	if (SSL_session_reused(ssl))
		return true;
	unlink(t->session_file); /* failed to resume: full handshake, forget it */
	return false;
}

