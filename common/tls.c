/* tls: the instrumented SSL_CTX (see tls.h). Callbacks only record; what the
 * records mean is decided by the classifier in explain.c. */
#include "tls.h"

#include <dirent.h>

#include "atomicfile.h"
#include "readgate.h"
#include "tlssession.h"
#include "l10n.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/x509v3.h>

static const struct { int code; const char *name; } alerts[] = {
	{0, "close_notify"}, {10, "unexpected_message"}, {20, "bad_record_mac"}, {22, "record_overflow"},
	{40, "handshake_failure"}, {42, "bad_certificate"}, {43, "unsupported_certificate"},
	{44, "certificate_revoked"}, {45, "certificate_expired"}, {46, "certificate_unknown"},
	{47, "illegal_parameter"}, {48, "unknown_ca"}, {49, "access_denied"}, {50, "decode_error"},
	{51, "decrypt_error"}, {70, "protocol_version"}, {71, "insufficient_security"},
	{80, "internal_error"}, {86, "inappropriate_fallback"}, {90, "user_canceled"},
	{100, "no_renegotiation"}, {109, "missing_extension"}, {110, "unsupported_extension"},
	{112, "unrecognized_name"}, {113, "bad_certificate_status_response"},
	{115, "unknown_psk_identity"}, {116, "certificate_required"}, {120, "no_application_protocol"},
};

const char *tls_alert_name(int alert)
{
	for (size_t i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++)
		if (alerts[i].code == alert)
			return alerts[i].name;
	return "unknown";
}

int tls_version_from_name(const char *name)
{
	if (!name)
		return 0;
	if (!strcmp(name, "tlsv1.3"))
		return TLS1_3_VERSION;
	if (!strcmp(name, "tlsv1.2"))
		return TLS1_2_VERSION;
	if (!strcmp(name, "tlsv1.1"))
		return TLS1_1_VERSION;
	if (!strcmp(name, "tlsv1"))
		return TLS1_VERSION;
	return 0;
}

const char *tls_version_name(int version)
{
	switch (version) {
	case TLS1_3_VERSION: return "tlsv1.3";
	case TLS1_2_VERSION: return "tlsv1.2";
	case TLS1_1_VERSION: return "tlsv1.1";
	case TLS1_VERSION: return "tlsv1";
	default: return "unknown";
	}
}

bool tls_wanted(const struct config *cfg, int port)
{
	if (cfg->no_tls)
		return false;
	return cfg->cafile || cfg->capath || cfg->psk || cfg->tls_use_os_certs || port == 8883;
}

/* mosquitto's wildcard rule: "*.rest" matches any host whose part after the
 * first dot equals "rest". */
static bool name_matches(const char *certname, const char *host)
{
	if (certname[0] == '*') {
		if (certname[1] != '.')
			return false;
		const char *dot = strchr(host, '.');
		return dot && dot[1] && !strcasecmp(certname + 2, dot + 1);
	}
	return !strcasecmp(certname, host);
}

/* A name from a certificate as text: bytes outside printable ASCII (an
 * embedded NUL above all) shown as \xNN, so that what is listed is what
 * the certificate holds. */
static void printable(const unsigned char *b, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < outlen; i++)
		if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\\')
			out[o++] = (char)b[i];
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", b[i]);
	out[o] = '\0';
}

static void add_name(char *names, size_t len, const char *prefix, const char *name)
{
	size_t used = strlen(names);
	if (used + 1 < len)
		snprintf(names + used, len - used, "%s%s%s", used ? ", " : "", prefix, name);
}

bool tls_host_matches(X509 *cert, const char *host, bool *used_cn, char *names, size_t names_len)
{
	unsigned char ip6[16], ip4[4];
	bool is6 = inet_pton(AF_INET6, host, ip6) == 1;
	bool is4 = inet_pton(AF_INET, host, ip4) == 1;
	bool have_san_dns = false, match = false;
	*used_cn = false;
	if (names_len)
		names[0] = '\0';
	GENERAL_NAMES *san = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; san && i < sk_GENERAL_NAME_num(san); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
		if (g->type == GEN_DNS) {
			const char *dns = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
			size_t dlen = (size_t)ASN1_STRING_length(g->d.dNSName);
			char shown[300];
			printable((const unsigned char *)dns, dlen, shown, sizeof(shown));
			have_san_dns = true;
			add_name(names, names_len, "DNS:", shown);
			if (!match && dlen == strlen(dns) && name_matches(dns, host))
				match = true;
		} else if (g->type == GEN_IPADD) {
			const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
			int alen = ASN1_STRING_length(g->d.iPAddress);
			char txt[INET6_ADDRSTRLEN] = "?";
			inet_ntop(alen == 16 ? AF_INET6 : AF_INET, a, txt, sizeof(txt));
			add_name(names, names_len, "IP:", txt);
			if ((alen == 4 && is4 && !memcmp(a, ip4, 4)) || (alen == 16 && is6 && !memcmp(a, ip6, 16)))
				match = true;
		}
	}
	GENERAL_NAMES_free(san);
	char cn[256];
	int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
	if (n > 0 && (size_t)n < sizeof(cn)) {
		/* a NUL inside the CN ("localhost\0.attacker.example") would make
		 * it compare as its first part: such a name matches nothing */
		bool has_nul = strlen(cn) != (size_t)n;
		char shown[300], label[400];
		printable((const unsigned char *)cn, (size_t)n, shown, sizeof(shown));
		snprintf(label, sizeof(label), "%s%s", shown, have_san_dns ? " (ignored: the certificate has DNS names)"
				: has_nul ? " (ignored: it holds a NUL byte)" : "");
		add_name(names, names_len, "CN=", label);
		if (!match && !have_san_dns && !has_nul && name_matches(cn, host)) {
			match = true;
			*used_cn = true;
		}
	}
	return match;
}

static struct tls *tls_of_ssl(SSL *ssl)
{
	return ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
}

static void keep_chain(struct tls *t, X509_STORE_CTX *sctx)
{
	if (t->peer_chain)
		return;
	STACK_OF(X509) *untrusted = X509_STORE_CTX_get0_untrusted(sctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(sctx);
	t->peer_chain = sk_X509_new_null();
	if (!t->peer_chain)
		return;
	if (leaf && X509_up_ref(leaf))
		sk_X509_push(t->peer_chain, leaf);
	for (int i = 0; untrusted && i < sk_X509_num(untrusted); i++) {
		X509 *x = sk_X509_value(untrusted, i);
		if (x != leaf && X509_cmp(x, leaf) != 0 && X509_up_ref(x))
			sk_X509_push(t->peer_chain, x);
	}
}

static int verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls *t = tls_of_ssl(ssl);
	if (!t)
		return ok;
	keep_chain(t, sctx);
	int depth = X509_STORE_CTX_get_error_depth(sctx);
	X509 *cert = X509_STORE_CTX_get_current_cert(sctx);
	if (!ok) {
		if (t->ev->verify_error < 0) {
			t->ev->verify_error = X509_STORE_CTX_get_error(sctx);
			t->ev->verify_depth = depth;
			X509 *leaf = X509_STORE_CTX_get0_cert(sctx);
			t->ev->leaf_self_issued = leaf && (X509_get_extension_flags(leaf) & EXFLAG_SI)
				&& X509_self_signed(leaf, 1) != 1;
		}
		return 0;
	}
	if (depth == 0 && t->check_host && cert) {
		if (!tls_host_matches(cert, t->host, &t->used_cn, t->cert_names, sizeof(t->cert_names))) {
			t->ev->hostname_mismatch = true;
			X509_STORE_CTX_set_error(sctx, X509_V_ERR_HOSTNAME_MISMATCH);
			if (t->ev->verify_error < 0) {
				t->ev->verify_error = X509_V_ERR_HOSTNAME_MISMATCH;
				t->ev->verify_depth = 0;
			}
			return 0;
		}
	}
	return 1;
}

/* RFC 8879's CompressedCertificate: OpenSSL 3.2 and later (3.5 on Debian 13,
 * built with zlib and zstd) send the client certificate this way in TLS 1.3
 * when the broker's OpenSSL offers it; 3.0's headers lack the name. */
#ifndef SSL3_MT_COMPRESSED_CERTIFICATE
#define SSL3_MT_COMPRESSED_CERTIFICATE 25
#endif

static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
	struct tls *t = tls_of_ssl(ssl);
	const unsigned char *b = buf;
	(void)version;
	(void)arg;
	if (!t || len < 1)
		return;
	if (content_type == SSL3_RT_ALERT && len >= 2) {
		if (write_p)
			t->ev->alert_sent = b[1];
		else
			t->ev->alert_received = b[1];
	} else if (content_type == SSL3_RT_HANDSHAKE) {
		if (write_p && b[0] == SSL3_MT_CLIENT_HELLO)
			t->ev->client_hello_sent = true;
		else if (!write_p && b[0] == SSL3_MT_SERVER_HELLO)
			t->ev->server_hello_seen = true;
		else if (write_p && b[0] == SSL3_MT_CERTIFICATE) {
			/* TLS 1.3 has a one-byte context length before the list */
			t->ev->cert_requested = true;
			size_t off = SSL_version(ssl) >= TLS1_3_VERSION ? 5 : 4;
			if (len >= off + 3)
				t->ev->sent_client_cert = (b[off] | b[off + 1] | b[off + 2]) != 0;
		} else if (write_p && b[0] == SSL3_MT_COMPRESSED_CERTIFICATE) {
			/* only a certificate is compressed, never an empty list */
			t->ev->cert_requested = true;
			t->ev->sent_client_cert = true;
		}
	}
}

/* ---- --tls-resume ------------------------------------------------------ */

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

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
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
static void offer_session(struct tls *t, SSL *ssl)
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

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct tls *t = tls_of_ssl((SSL *)ssl);
	if (!t)
		return;
	if ((where & SSL_CB_HANDSHAKE_START) && t->gate_reads)
		readgate_tls_install((SSL *)ssl);
	if ((where & SSL_CB_HANDSHAKE_START) && t->session_file && !t->session_offered && !SSL_session_reused(ssl))
		offer_session(t, (SSL *)ssl);
	if ((where & SSL_CB_EXIT) && ret <= 0 && !t->ev->ssl_reason) {
		unsigned long e = ERR_peek_error();
		if (e && ERR_GET_LIB(e) == ERR_LIB_SSL)
			t->ev->ssl_reason = ERR_GET_REASON(e);
		else if (e)
			t->ev->ssl_reason = ERR_GET_REASON(e) | 0x1000000;
		if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			t->ev->peer_closed = true;
		if (ERR_GET_REASON(e) == SSL_R_WRONG_VERSION_NUMBER)
			t->ev->non_tls_reply = true;
		switch (ERR_GET_REASON(e)) {
		case SSL_R_UNSUPPORTED_PROTOCOL: case SSL_R_NO_PROTOCOLS_AVAILABLE: case SSL_R_VERSION_TOO_LOW:
		case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
			t->ev->ssl_reason_is_version = ERR_GET_LIB(e) == ERR_LIB_SSL;
			break;
		default:
			break;
		}
	}
	if (where & SSL_CB_HANDSHAKE_DONE)
		t->ev->handshake_done = true;
}

static unsigned int psk_cb(SSL *ssl, const char *hint, char *identity, unsigned int max_identity_len,
		unsigned char *psk, unsigned int max_psk_len)
{
	struct tls *t = tls_of_ssl(ssl);
	(void)hint;
	if (!t || !t->psk || !t->psk_identity || strlen(t->psk_identity) + 1 > max_identity_len
			|| (unsigned long)t->psk_len > max_psk_len)
		return 0;
	snprintf(identity, max_identity_len, "%s", t->psk_identity);
	memcpy(psk, t->psk, (size_t)t->psk_len);
	return (unsigned int)t->psk_len;
}

/* ---- the TLS files, parsed once per run ------------------------------- */

void tls_files_init(struct tls_files *f)
{
	memset(f, 0, sizeof(*f));
}

int tls_keylog_open(struct tls_files *f, const char *path, char **cause)
{
	/* appended to, as mosquitto 2.1 does; created private; never through
	 * a symbolic link (someone else's link could point at a file of ours) */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		int e = errno;
		if (asprintf(cause, _("--tls-keylog %s: the key log cannot be written: %s"), path,
					e == ELOOP ? _("it is a symbolic link, which smqtt does not follow") : strerror(e)) < 0)
			*cause = NULL;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		if (asprintf(cause, _("--tls-keylog %s: the key log cannot be written: not a regular file"), path) < 0)
			*cause = NULL;
		return -1;
	}
	/* the file that was opened (fstat, not the path): one another user
	 * owns or can write could be read by that user, who would then
	 * decrypt the connection */
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		bool other = st.st_uid != geteuid();
		char what[64];
		snprintf(what, sizeof(what), other ? _("user id %u") : _("mode %04o"),
				other ? (unsigned)st.st_uid : (unsigned)(st.st_mode & 07777));
		if (asprintf(cause, other
				? _("--tls-keylog %s: the key log is not used: the file belongs to another user (%s), who could read "
					"this connection's secrets from it; fix: give a path in a directory of your own")
				: _("--tls-keylog %s: the key log is not used: group or others can write the file (%s), and so read "
					"this connection's secrets from it; fix: chmod 600 %s, or give a new path"),
				path, what, path) < 0)
			*cause = NULL;
		return -1;
	}
	f->keylog_fd = fd;
	f->keylog_open = true;
	return 0;
}

/* NSS key log lines (CLIENT_RANDOM for TLS 1.2, the *_TRAFFIC_SECRET lines
 * for TLS 1.3), one write each so that lines never interleave. */
static void keylog_cb(const SSL *ssl, const char *line)
{
	const struct tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (!t || !t->files || !t->files->keylog_open)
		return;
	struct iovec iov[2] = {{(void *)line, strlen(line)}, {"\n", 1}};
	ssize_t n = writev(t->files->keylog_fd, iov, 2);
	(void)n; /* a lost key log line must not fail the connection */
}

void tls_files_free(struct tls_files *f)
{
	sk_X509_pop_free(f->cas, X509_free);
	sk_X509_CRL_pop_free(f->crls, X509_CRL_free);
	X509_free(f->cert);
	sk_X509_pop_free(f->chain, X509_free);
	EVP_PKEY_free(f->key);
	SSL_CTX_free(f->spare_ctx);
	free(f->session_file);
	free(f->session_trust);
	if (f->keylog_open)
		close(f->keylog_fd);
	memset(f, 0, sizeof(*f));
}

EVP_PKEY *tls_read_key(const char *pem, size_t len, X509 *cert, pem_password_cb *cb)
{
	EVP_PKEY *key = NULL;
	EVP_PKEY *pub = cert ? X509_get0_pubkey(cert) : NULL;
	const char *type = pub ? EVP_PKEY_get0_type_name(pub) : NULL;
	if (type && len <= INT_MAX) {
		BIO *b = BIO_new_mem_buf(pem, (int)len);
		OSSL_DECODER_CTX *d = b ? OSSL_DECODER_CTX_new_for_pkey(&key, "PEM", NULL, type,
				OSSL_KEYMGMT_SELECT_KEYPAIR, NULL, NULL) : NULL;
		if (d && OSSL_DECODER_CTX_get_num_decoders(d) > 0) {
			if (cb)
				OSSL_DECODER_CTX_set_pem_password_cb(d, cb, NULL);
			if (!OSSL_DECODER_from_bio(d, b)) {
				EVP_PKEY_free(key);
				key = NULL;
			}
		}
		OSSL_DECODER_CTX_free(d);
		BIO_free(b);
	}
	if (!key && len <= INT_MAX) {
		/* not that type, or no type known: let OpenSSL find out */
		BIO *b = BIO_new_mem_buf(pem, (int)len);
		key = b ? PEM_read_bio_PrivateKey(b, NULL, cb, NULL) : NULL;
		BIO_free(b);
	}
	ERR_clear_error();
	return key;
}

/* --cafile, read as SSL_CTX_load_verify_locations reads it: every
 * certificate and CRL in the file. */
static bool load_cas(struct tls_files *f, const char *path)
{
	if (f->cas)
		return true;
	BIO *b = BIO_new_file(path, "r");
	STACK_OF(X509_INFO) *info = b ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	f->cas = sk_X509_new_null();
	f->crls = sk_X509_CRL_new_null();
	for (int i = 0; info && f->cas && f->crls && i < sk_X509_INFO_num(info); i++) {
		X509_INFO *xi = sk_X509_INFO_value(info, i);
		if (xi->x509 && X509_up_ref(xi->x509) && !sk_X509_push(f->cas, xi->x509))
			X509_free(xi->x509);
		if (xi->crl && X509_CRL_up_ref(xi->crl) && !sk_X509_CRL_push(f->crls, xi->crl))
			X509_CRL_free(xi->crl);
	}
	sk_X509_INFO_pop_free(info, X509_INFO_free);
	ERR_clear_error();
	if (f->cas && f->crls && sk_X509_num(f->cas) + sk_X509_CRL_num(f->crls) > 0)
		return true;
	sk_X509_pop_free(f->cas, X509_free);
	sk_X509_CRL_pop_free(f->crls, X509_CRL_free);
	f->cas = NULL;
	f->crls = NULL;
	return false;
}

static void add_cas(const struct tls_files *f, X509_STORE *store)
{
	for (int i = 0; f->cas && i < sk_X509_num(f->cas); i++)
		X509_STORE_add_cert(store, sk_X509_value(f->cas, i));
	for (int i = 0; f->crls && i < sk_X509_CRL_num(f->crls); i++)
		X509_STORE_add_crl(store, sk_X509_CRL_value(f->crls, i));
	ERR_clear_error();
}

/* --cert and --key, read as SSL_CTX_use_certificate_chain_file and
 * SSL_CTX_use_PrivateKey_file read them (an encrypted key asks for its
 * passphrase on the terminal). Returns the option that failed, or NULL. */
static const char *load_client(struct tls_files *f, const char *certfile, const char *keyfile)
{
	if (!f->cert) {
		BIO *b = BIO_new_file(certfile, "r");
		f->cert = b ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
		X509 *x;
		sk_X509_pop_free(f->chain, X509_free);
		f->chain = sk_X509_new_null();
		while (b && f->cert && f->chain && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
			if (!sk_X509_push(f->chain, x))
				X509_free(x);
		BIO_free(b);
		ERR_clear_error();
		if (!f->cert)
			return "--cert";
	}
	if (!f->key) {
		BIO *b = BIO_new_file(keyfile, "r");
		BIO *mem = BIO_new(BIO_s_secmem());
		char chunk[4096];
		int n;
		while (b && mem && (n = BIO_read(b, chunk, sizeof(chunk))) > 0 && BIO_write(mem, chunk, n) == n)
			;
		OPENSSL_cleanse(chunk, sizeof(chunk));
		char *pem = NULL;
		long len = mem ? BIO_get_mem_data(mem, &pem) : 0;
		f->key = len > 0 ? tls_read_key(pem, (size_t)len, f->cert, NULL) : NULL;
		BIO_free(b);
		BIO_free(mem); /* secure memory: wiped */
		ERR_clear_error();
		if (!f->key)
			return "--key";
	}
	return NULL;
}

/* The broker's chain is about to be verified: the CAs go into the store
 * now if the context was built without them (lazy). */
static int app_verify_cb(X509_STORE_CTX *sctx, void *arg)
{
	(void)arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls *t = tls_of_ssl(ssl);
	if (t && t->lazy && t->cfg->cafile && !t->files->cas && load_cas(t->files, t->cfg->cafile))
		add_cas(t->files, SSL_CTX_get_cert_store(t->ctx));
	return X509_verify_cert(sctx);
}

/* The broker asked for a client certificate and the context was built
 * without it (lazy): read it now. If it cannot be read, none is sent. */
static int cert_cb(SSL *ssl, void *arg)
{
	(void)arg;
	struct tls *t = tls_of_ssl(ssl);
	if (!t || !t->lazy || !t->cfg->certfile || load_client(t->files, t->cfg->certfile, t->cfg->keyfile))
		return 1;
	struct tls_files *f = t->files;
	if (SSL_use_certificate(ssl, f->cert) != 1 || SSL_use_PrivateKey(ssl, f->key) != 1
			|| (sk_X509_num(f->chain) > 0 && SSL_set1_chain(ssl, f->chain) != 1) || SSL_check_private_key(ssl) != 1)
		SSL_certs_clear(ssl);
	ERR_clear_error();
	return 1;
}

/* Does dir hold OpenSSL's hashed names (e.g. 002c0b4f.0)? */
static bool hashed_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	for (struct dirent *e; !found && (e = readdir(d)); ) {
		const char *n = e->d_name;
		found = strlen(n) >= 10 && strspn(n, "0123456789abcdef") == 8 && n[8] == '.'
			&& strspn(n + 9, "0123456789") == strlen(n + 9);
	}
	closedir(d);
	return found;
}

/* A lookup that reads a CA bundle file only when a chain needs an issuer
 * the store does not hold yet: with --cafile the broker's CA is there, and
 * the ~140 certificates of the system bundle are never parsed (17 ms). */
static int lazy_file_by_subject(X509_LOOKUP *lu, X509_LOOKUP_TYPE type, const X509_NAME *name, X509_OBJECT *ret)
{
	const char *file = X509_LOOKUP_get_method_data(lu);
	X509_STORE *store = X509_LOOKUP_get_store(lu);
	if (!file || !store || type != X509_LU_X509)
		return 0;
	X509_LOOKUP_set_method_data(lu, NULL); /* once */
	X509_STORE_load_file(store, file);
	ERR_clear_error();
	X509_OBJECT *o = X509_OBJECT_retrieve_by_subject(X509_STORE_get0_objects(store), type, (X509_NAME *)name);
	return o && X509_OBJECT_set1_X509(ret, X509_OBJECT_get0_X509(o));
}

static X509_LOOKUP_METHOD *lazy_file_method(void)
{
	static X509_LOOKUP_METHOD *m;
	if (!m && (m = X509_LOOKUP_meth_new("smqtt lazy file")) != NULL)
		X509_LOOKUP_meth_set_get_by_subject(m, lazy_file_by_subject);
	return m;
}

/* The system's CA store, as SSL_CTX_set_default_verify_paths gives it (the
 * directory and the bundle file, $SSL_CERT_DIR and $SSL_CERT_FILE
 * honoured), read on demand: the hashed directory file by file, the
 * bundle only if the directory does not have the issuer. */
static void use_os_store(SSL_CTX *ctx)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	const char *dir = getenv(X509_get_default_cert_dir_env());
	if (!dir || !*dir)
		dir = X509_get_default_cert_dir();
	const char *file = getenv(X509_get_default_cert_file_env());
	if (!file || !*file)
		file = X509_get_default_cert_file();
	if (hashed_dir(dir))
		X509_STORE_load_path(store, dir);
	X509_LOOKUP_METHOD *m = lazy_file_method();
	X509_LOOKUP *lu = m ? X509_STORE_add_lookup(store, m) : NULL;
	/* the path lives as long as the process: getenv's, or OpenSSL's constant */
	if (!lu || !X509_LOOKUP_set_method_data(lu, (void *)file))
		SSL_CTX_set_default_verify_paths(ctx);
	ERR_clear_error();
}

static int fail_with(char **cause, const char *fmt, const char *arg)
{
	char *s = NULL;
	if (asprintf(&s, fmt, arg ? arg : "") < 0)
		s = NULL;
	*cause = s;
	ERR_clear_error();
	return -1;
}

int tls_init(struct tls *t, const struct config *cfg, int port, const struct tls_range *range,
		struct tls_files *files, bool lazy, struct evidence *ev, char **cause)
{
	memset(t, 0, sizeof(*t));
	t->ev = ev;
	t->cfg = cfg;
	t->files = files;
	t->lazy = lazy;
	*cause = NULL;
	snprintf(t->host, sizeof(t->host), "%s", cfg->host ? cfg->host : "localhost");
	t->check_host = !cfg->insecure && port != 0;
	SSL_CTX *ctx = t->ctx = files->spare_ctx ? files->spare_ctx : SSL_CTX_new(TLS_client_method());
	files->spare_ctx = NULL;
	if (!ctx)
		return fail_with(cause, "cannot create a TLS context%s", NULL);
	SSL_CTX_set_app_data(ctx, t);
	SSL_CTX_set_min_proto_version(ctx, range->min_version);
	SSL_CTX_set_max_proto_version(ctx, range->max_version);
	if (range->min_version && range->min_version < TLS1_2_VERSION)
		SSL_CTX_set_security_level(ctx, 0); /* TLS 1.0/1.1 need it, this connection only */
	if (range->fallback_scsv)
		SSL_CTX_set_mode(ctx, SSL_MODE_SEND_FALLBACK_SCSV);
	/* Read whatever the socket has, not one record header then one body:
	 * a flood of small messages took two read() calls each. The loop in
	 * client.c reads on while tls_input_buffered() says so. */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* No session tickets: a one-shot client never uses them, and a broker
	 * that sends them holds back the CONNACK behind them (Nagle) until our
	 * delayed ACK, ~40 ms later. */
	if (cfg->tls_resume && (t->session_file = files->session_file) != NULL) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
	} else {
		SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_msg_callback(ctx, msg_cb);
	SSL_CTX_set_info_callback(ctx, info_cb);
	if (files->keylog_open)
		SSL_CTX_set_keylog_callback(ctx, keylog_cb);
	ev->used_tls = true;
	ev->fallback_scsv = range->fallback_scsv;
	ev->tls_version_max = range->max_version ? range->max_version : TLS1_3_VERSION;

	if (cfg->ciphers && !SSL_CTX_set_cipher_list(ctx, cfg->ciphers))
		return fail_with(cause, "--ciphers '%s' names no cipher this OpenSSL has", cfg->ciphers);
	if (cfg->tls_alpn) {
		size_t n = strlen(cfg->tls_alpn);
		unsigned char wire[256];
		if (n == 0 || n > 255)
			return fail_with(cause, "--tls-alpn '%s' must be 1 to 255 characters", cfg->tls_alpn);
		wire[0] = (unsigned char)n;
		memcpy(wire + 1, cfg->tls_alpn, n);
		if (SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)n + 1))
			return fail_with(cause, "--tls-alpn '%s' was refused by OpenSSL", cfg->tls_alpn);
	}
	SSL_CTX_set_cert_verify_callback(ctx, app_verify_cb, NULL);
	SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
	if (cfg->cafile && !lazy) {
		if (!load_cas(files, cfg->cafile))
			return fail_with(cause, "cannot load the CA certificates from %s", cfg->cafile);
		add_cas(files, SSL_CTX_get_cert_store(ctx));
	}
	if (cfg->capath && !SSL_CTX_load_verify_locations(ctx, NULL, cfg->capath))
		return fail_with(cause, "cannot load the CA certificates from %s", cfg->capath);
	if (cfg->tls_use_os_certs || (!cfg->cafile && !cfg->capath && !cfg->psk))
		use_os_store(ctx);
	if (cfg->certfile && !lazy) {
		const char *bad = load_client(files, cfg->certfile, cfg->keyfile);
		if (bad)
			return fail_with(cause, !strcmp(bad, "--cert") ? "cannot use --cert %s" : "cannot use --key %s",
					!strcmp(bad, "--cert") ? cfg->certfile : cfg->keyfile);
		if (SSL_CTX_use_certificate(ctx, files->cert) != 1
				|| (sk_X509_num(files->chain) > 0 && SSL_CTX_set1_chain(ctx, files->chain) != 1))
			return fail_with(cause, "cannot use --cert %s", cfg->certfile);
		if (SSL_CTX_use_PrivateKey(ctx, files->key) != 1)
			return fail_with(cause, "cannot use --key %s", cfg->keyfile);
		if (SSL_CTX_check_private_key(ctx) != 1)
			return fail_with(cause, "--key %s does not match --cert", cfg->keyfile);
	}
	if (cfg->psk) {
		t->psk = OPENSSL_hexstr2buf(cfg->psk, &t->psk_len);
		if (!t->psk || t->psk_len <= 0 || t->psk_len > 64)
			return fail_with(cause, "--psk must be a key in hexadecimal (no leading 0x), up to 64 bytes%s", NULL);
		t->psk_identity = strdup(cfg->psk_identity ? cfg->psk_identity : "");
		SSL_CTX_set_psk_client_callback(ctx, psk_cb);
		ev->used_psk = true;
	}
	ERR_clear_error();
	return 0;
}

bool tls_input_buffered(SSL *ssl)
{
	if (readgate_tls_ready(ssl))
		return true;
	if (!ssl || !SSL_has_pending(ssl))
		return false;
	if (SSL_pending(ssl) > 0)
		return true;
	BIO *rb = SSL_get_rbio(ssl);
	return !(rb && BIO_should_read(rb)); /* the last read ran dry: partial record */
}

void tls_note_established(struct tls *t, SSL *ssl)
{
	if (!ssl)
		return;
	t->version = SSL_version(ssl);
	snprintf(t->cipher, sizeof(t->cipher), "%s", SSL_get_cipher_name(ssl));
	if (!t->peer_chain) {
		STACK_OF(X509) *c = SSL_get_peer_cert_chain(ssl);
		t->peer_chain = c ? X509_chain_up_ref(c) : NULL;
	}
}

void tls_free(struct tls *t)
{
	SSL_CTX_free(t->ctx);
	sk_X509_pop_free(t->peer_chain, X509_free);
	if (t->psk) {
		OPENSSL_cleanse(t->psk, (size_t)t->psk_len);
		OPENSSL_free(t->psk);
	}
	free(t->psk_identity);
	memset(t, 0, sizeof(*t));
}
