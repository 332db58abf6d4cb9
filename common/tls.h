/* tls: builds the SSL_CTX that libmosquitto uses for one connection attempt
 * (version range, security level, fallback SCSV, CA, certificate, key,
 * PSK, ALPN, our own hostname check) and records what happens during the
 * handshake from OpenSSL's callbacks: verify errors with depth, alerts both
 * ways, handshake progress, error reasons, the broker's chain. */
#ifndef SMQTT_TLS_H
#define SMQTT_TLS_H

#include <stdbool.h>
#include <openssl/ssl.h>
#include <openssl/pem.h>
#include "explain.h"
#include "options.h"

struct tls_range {
	int min_version;   /* TLS1_x_VERSION */
	int max_version;   /* 0: the highest OpenSSL has */
	bool fallback_scsv;
};

/* The TLS files of a run, parsed once and shared by every attempt's
 * context. Preflight hands over what it parsed while checking; the rest is
 * read from the files when first needed: when the context is built, or,
 * with a saved session to resume, only if the handshake asks for it (a
 * resumed session needs neither the CA nor the client certificate). */
struct tls_files {
	STACK_OF(X509) *cas;       /* --cafile certificates */
	STACK_OF(X509_CRL) *crls;  /* and CRLs (as SSL_CTX_load_verify_locations) */
	X509 *cert;                /* --cert: the leaf */
	STACK_OF(X509) *chain;     /* --cert: the certificates after it */
	EVP_PKEY *key;             /* --key */
	SSL_CTX *spare_ctx;        /* a fresh context, made by preflight */
	char *session_file;        /* --tls-resume: this run's session file (tls_session_prepare) */
	char *session_trust;       /* and the trust record a session must have been saved with */
	bool keylog_open;          /* --tls-keylog: keylog_fd is open for appending */
	int keylog_fd;
};
void tls_files_init(struct tls_files *f);
void tls_files_free(struct tls_files *f);

/* --tls-keylog: open path for appending (created 0600, never through a
 * symbolic link); every context built with f then writes its key log
 * lines there. On failure returns -1 with *cause allocated. */
int tls_keylog_open(struct tls_files *f, const char *path, char **cause);

/* Read a PEM private key, trying first the key type of the certificate
 * it belongs to (cert may be NULL): OpenSSL then tries one decoder instead
 * of all of them, a third of the work. cb: passphrase callback (NULL:
 * OpenSSL's terminal prompt). */
EVP_PKEY *tls_read_key(const char *pem, size_t len, X509 *cert, pem_password_cb *cb);

struct tls {
	SSL_CTX *ctx;
	const struct config *cfg;  /* not owned */
	struct tls_files *files;   /* not owned */
	bool lazy;                 /* load files only when the handshake needs them */
	struct evidence *ev;       /* where observations go (not owned) */
	char host[256];
	bool check_host;           /* false with --insecure or a unix socket */
	STACK_OF(X509) *peer_chain;/* what the broker sent (owned copy) */
	char cert_names[1024];     /* names the broker certificate holds */
	bool used_cn;              /* the host matched only the legacy CN */
	int version;               /* negotiated */
	char cipher[96];
	const char *session_file;  /* --tls-resume: where the session is kept (files's) */
	bool session_offered;      /* a saved session was offered */
	bool session_saved;
	unsigned char *psk;        /* decoded --psk, wiped at free */
	long psk_len;
	char *psk_identity;
	bool gate_reads;           /* libmosquitto's connection: put the record gate in (readgate.h) */
};

/* Does this configuration make libmosquitto use TLS? */
bool tls_wanted(const struct config *cfg, int port);

/* Parse a --tls-version value; returns 0 when it is not one. */
int tls_version_from_name(const char *name);
const char *tls_version_name(int version);

/* Build the context, using (and filling) files; with --tls-resume it keeps
 * the session in files->session_file (named by the caller). lazy: a saved
 * session is about to be offered, so read the files only if the handshake
 * needs them.
 * On failure returns -1 with *cause allocated text. */
int tls_init(struct tls *t, const struct config *cfg, int port, const struct tls_range *range,
		struct tls_files *files, bool lazy, struct evidence *ev, char **cause);

/* --tls-resume: names this run's session file and trust record in f
 * (tlssession.h); with --insecure neither, so nothing is saved or offered.
 * Returns true when a saved session will be offered. *why (allocated,
 * translated, for the trace) says why a saved session is not, or why
 * none is kept at all; NULL when there is nothing to say. */
bool tls_session_prepare(struct tls_files *f, const struct config *cfg, int port, char **why);
void tls_free(struct tls *t);

/* --tls-resume: was the saved session resumed? Deletes a session that
 * failed to resume. Call after the handshake. */
bool tls_session_check(struct tls *t, SSL *ssl);

/* True when OpenSSL holds input that may be read without the socket
 * becoming readable (contexts read ahead): decrypted data, or raw records
 * that its last socket read did not leave incomplete. poll() would not wake
 * for it, so read on; false when only part of a record is held, which
 * needs the socket, so polling cannot spin on it. */
bool tls_input_buffered(SSL *ssl);

/* After a successful handshake: copy version, cipher and chain from ssl. */
void tls_note_established(struct tls *t, SSL *ssl);

/* libmosquitto 2.0's host check, rewritten: SAN DNS (with "*." wildcards),
 * SAN IP, then the CN only when there is no SAN DNS. Returns true on a
 * match; *used_cn tells that only the CN matched; names lists what the
 * certificate holds. */
bool tls_host_matches(X509 *cert, const char *host, bool *used_cn, char *names, size_t names_len);

/* Our own name for a TLS alert (OpenSSL says "unknown" for some). */
const char *tls_alert_name(int alert);

#endif
