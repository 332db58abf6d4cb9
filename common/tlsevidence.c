/* tlsevidence: the instrumentation of our SSL_CTX: OpenSSL's callbacks
 * record what happens during a handshake (verify errors with depth, alerts
 * both ways, handshake progress, error reasons, the broker's chain) into
 * the evidence, and our own host name check; plus the names of alerts. */
#include "tls.h"
#include "tlsparts.h"

#include <arpa/inet.h>

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

static void info_cb(const SSL *ssl, int where, int ret)
{
	struct tls *t = tls_of_ssl((SSL *)ssl);
	if (!t)
		return;
	if ((where & SSL_CB_HANDSHAKE_START) && t->session_file && !t->session_offered && !SSL_session_reused(ssl))
		tls_resume_offer(t, (SSL *)ssl);
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


void tls_evidence_install(SSL_CTX *ctx)
{
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_msg_callback(ctx, msg_cb);
	SSL_CTX_set_info_callback(ctx, info_cb);
}
