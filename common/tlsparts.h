/* tlsparts: what the files of the tls module (tls.c, tlsevidence.c,
 * tlsfiles.c, tlsresume.c) share with each other. Other modules use tls.h
 * only. */
#ifndef SMQTT_TLSPARTS_H
#define SMQTT_TLSPARTS_H

#include <stdbool.h>
#include <openssl/ssl.h>
#include "tls.h"

/* The struct tls whose context made ssl (its app data), or NULL. (tls.c) */
struct tls *tls_of_ssl(SSL *ssl);

/* Install the callbacks that record the handshake into the evidence:
 * verification, messages, state changes. (tlsevidence.c) */
void tls_evidence_install(SSL_CTX *ctx);

/* --tls-resume (tlsresume.c): offer the saved session as the handshake
 * starts; save a new session the broker sent (OpenSSL's new-session
 * callback). */
void tls_resume_offer(struct tls *t, SSL *ssl);
int tls_resume_new_session(SSL *ssl, SSL_SESSION *sess);

/* The files (tlsfiles.c): --cafile's certificates and CRLs, into f once
 * and from f into a store; --cert and --key (returns the option that
 * failed, or NULL); the callbacks that load them lazily, for a context
 * built without them; the system's CA store read on demand; the key log
 * callback. */
bool tls_files_load_cas(struct tls_files *f, const char *path);
void tls_files_add_cas(const struct tls_files *f, X509_STORE *store);
const char *tls_files_load_client(struct tls_files *f, const char *certfile, const char *keyfile);
int tls_files_verify_cb(X509_STORE_CTX *sctx, void *arg);
int tls_files_cert_cb(SSL *ssl, void *arg);
void tls_files_use_os_store(SSL_CTX *ctx);
void tls_files_keylog_cb(const SSL *ssl, const char *line);

#endif
