/* tls: the instrumented SSL_CTX (see tls.h): building one context per
 * attempt from the run's options. Its callbacks only record (tlsevidence.c);
 * what the records mean is decided by the classifier in explain.c. The
 * files it uses are read by tlsfiles.c, saved sessions handled by
 * tlsresume.c. */
#include "tls.h"
#include "tlsparts.h"

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

struct tls *tls_of_ssl(SSL *ssl)
{
	return ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;
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
	 * a flood of small messages took two read() calls each. The event loop
	 * (loop.c) reads on while tls_input_buffered() says so. */
	SSL_CTX_set_read_ahead(ctx, 1);
	/* No session tickets: a one-shot client never uses them, and a broker
	 * that sends them holds back the CONNACK behind them (Nagle) until our
	 * delayed ACK, ~40 ms later. */
	if (cfg->tls_resume && (t->session_file = files->session_file) != NULL) {
		SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, tls_resume_new_session);
	} else {
		SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	tls_evidence_install(ctx);
	if (files->keylog_open)
		SSL_CTX_set_keylog_callback(ctx, tls_files_keylog_cb);
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
	SSL_CTX_set_cert_verify_callback(ctx, tls_files_verify_cb, NULL);
	SSL_CTX_set_cert_cb(ctx, tls_files_cert_cb, NULL);
	if (cfg->cafile && !lazy) {
		if (!tls_files_load_cas(files, cfg->cafile))
			return fail_with(cause, "cannot load the CA certificates from %s", cfg->cafile);
		tls_files_add_cas(files, SSL_CTX_get_cert_store(ctx));
	}
	if (cfg->capath && !SSL_CTX_load_verify_locations(ctx, NULL, cfg->capath))
		return fail_with(cause, "cannot load the CA certificates from %s", cfg->capath);
	if (cfg->tls_use_os_certs || (!cfg->cafile && !cfg->capath && !cfg->psk))
		tls_files_use_os_store(ctx);
	if (cfg->certfile && !lazy) {
		const char *bad = tls_files_load_client(files, cfg->certfile, cfg->keyfile);
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
