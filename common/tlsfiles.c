/* tlsfiles: the TLS files of a run, parsed once and shared by every
 * attempt's context: the CA file, the client certificate and key (read
 * when the context is built, or lazily from the handshake's callbacks),
 * the system's CA store read on demand, and the --tls-keylog file. */
#include "tls.h"
#include "tlsparts.h"
#include "l10n.h"

#include <dirent.h>
#include <sys/uio.h>
#include <openssl/decoder.h>

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
void tls_files_keylog_cb(const SSL *ssl, const char *line)
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
bool tls_files_load_cas(struct tls_files *f, const char *path)
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

void tls_files_add_cas(const struct tls_files *f, X509_STORE *store)
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
const char *tls_files_load_client(struct tls_files *f, const char *certfile, const char *keyfile)
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
int tls_files_verify_cb(X509_STORE_CTX *sctx, void *arg)
{
	(void)arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls *t = tls_of_ssl(ssl);
	if (t && t->lazy && t->cfg->cafile && !t->files->cas && tls_files_load_cas(t->files, t->cfg->cafile))
		tls_files_add_cas(t->files, SSL_CTX_get_cert_store(t->ctx));
	return X509_verify_cert(sctx);
}

/* The broker asked for a client certificate and the context was built
 * without it (lazy): read it now. If it cannot be read, none is sent. */
int tls_files_cert_cb(SSL *ssl, void *arg)
{
	(void)arg;
	struct tls *t = tls_of_ssl(ssl);
	if (!t || !t->lazy || !t->cfg->certfile || tls_files_load_client(t->files, t->cfg->certfile, t->cfg->keyfile))
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
void tls_files_use_os_store(SSL_CTX *ctx)
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

