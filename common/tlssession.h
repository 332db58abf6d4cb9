/* tlssession: what a saved TLS session (--tls-resume) is bound to. A
 * resumed handshake skips the certificate and host name checks, so a
 * session may only be offered by a run whose checks would be the same as
 * those of the run that saved it: the same broker, profile, client
 * certificate, CA (by the digest of its contents), host name checked, TLS
 * version range and ciphers. The session file starts with one line that
 * records these ("the trust record"); a session is offered only when this
 * run's record is the same, byte for byte. Nothing is saved or offered
 * under --insecure. The record and its comparison are pure functions. */
#ifndef SMQTT_TLSSESSION_H
#define SMQTT_TLSSESSION_H

#include <stdbool.h>
#include <stddef.h>

/* Everything that decided trust on a run. Strings are never NULL except
 * checked_host. */
struct session_trust {
	const char *host;         /* the broker's host name or address */
	int port;
	const char *profile;      /* the applied profile's name, "" for none */
	const char *checked_host; /* the name checked against the certificate; NULL: not checked */
	bool insecure;            /* --insecure */
	const char *ca;           /* "cafile:HEX", "capath:HEX", "os:HEX", "none", a combination */
	const char *client_cert;  /* SHA-256 of --cert's leaf (hex), or "none" */
	const char *versions;     /* --tls-version (the lowest allowed), or "default" */
	const char *ciphers;      /* --ciphers, or "default" */
	const char *psk_identity; /* --psk-identity, or "none" */
};

/* The prefix of the record line in a session file. */
#define SESSION_TRUST_PREFIX "smqtt-session-trust: v1"

/* The record of st, one line without its newline, into out. Values are
 * escaped (%XX for bytes outside printable ASCII, space and '%'). Returns
 * 0, or -1 when it does not fit. */
int session_trust_line(const struct session_trust *st, char *out, size_t len);

/* NULL when a session may be saved and offered under st, otherwise why not
 * (untranslated text for the trace, N_() marked). */
const char *session_trust_refused(const struct session_trust *st);

/* Compare the record a session was saved with (saved, its first line; NULL
 * when the file has none) with this run's (now). NULL when they are the
 * same; otherwise why the session is not offered (untranslated, N_()
 * marked), naming the first item that differs. */
const char *session_trust_differs(const char *saved, const char *now);

/* Hex SHA-256 of a file's contents into hex (65 bytes), or "unreadable". */
void session_digest_file(const char *path, char *hex, size_t len);
/* Hex SHA-256 over a folder's entries (names and contents, sorted by
 * name), or "unreadable". */
void session_digest_dir(const char *path, char *hex, size_t len);

#endif
