/* socks: the client side of SOCKS5 (RFC 1928) with username/password
 * authentication (RFC 1929), CONNECT by domain name (socks5h): pure parsers
 * of the proxy's three replies (fuzzing and cmocka targets), and the
 * handshake over a connected non-blocking socket, used by the WebSocket
 * relay and, after a failure through libmosquitto's own SOCKS5 code, to
 * tell which step the proxy refused. */
#ifndef SMQTT_SOCKS_H
#define SMQTT_SOCKS_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a SOCKS5 handshake ended. */
enum socks_result {
	SOCKS_OK = 0,
	SOCKS_INCOMPLETE,      /* (parsers) read more */
	SOCKS_NOT_SOCKS,       /* the reply is not SOCKS5 (a wrong version, a bad address type) */
	SOCKS_METHOD_REFUSED,  /* no acceptable authentication method (0xff, or one not offered) */
	SOCKS_AUTH_REFUSED,    /* RFC 1929 status other than 0: user name or password refused */
	SOCKS_TARGET_REFUSED,  /* RFC 1928 reply code other than 0 to CONNECT (see rep) */
	SOCKS_NO_ANSWER,       /* the proxy said nothing before the deadline */
	SOCKS_CLOSED,          /* the proxy closed the connection mid-handshake */
	SOCKS_IO,              /* a socket error (errno) */
	SOCKS_TOO_LONG,        /* host, user name or password over 255 bytes */
};

/* The method selection reply (VER METHOD) to an offer of one method. */
enum socks_result socks_parse_method(const uint8_t *b, size_t n, uint8_t offered);

/* The username/password reply (VER STATUS); VER is 1 (some proxies send 5). */
enum socks_result socks_parse_auth(const uint8_t *b, size_t n);

/* The CONNECT reply: VER REP RSV ATYP BND.ADDR BND.PORT. *rep is the
 * reply code once known; *len the reply's whole length once known. */
enum socks_result socks_parse_connect(const uint8_t *b, size_t n, int *rep, size_t *len);

/* RFC 1928's meaning of a reply code ("connection refused"), English. */
const char *socks_rep_text(int rep);

/* What a handshake found. */
struct socks_outcome {
	enum socks_result result;
	int rep;        /* SOCKS_TARGET_REFUSED: the reply code */
	int sys_errno;  /* SOCKS_IO */
	uint8_t first[8]; /* the first bytes the proxy sent (not SOCKS: what it was) */
	size_t first_len;
};

/* The handshake on fd (connected to the proxy): offer "no authentication"
 * or, with user, username/password; CONNECT host:port by name. Waits end
 * at deadline (mono_ms), with sigmask during the waits (NULL: as it is).
 * Returns o->result; the password is wiped from the stack. */
enum socks_result socks_handshake(int fd, const char *host, int port, const char *user, const char *password,
		long long deadline, const sigset_t *sigmask, struct socks_outcome *o);

#endif
