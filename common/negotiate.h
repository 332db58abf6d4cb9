/* negotiate: the TLS version policy. A pure step-down function (the
 * evidence of a failed attempt + the range it offered -> the next range, or
 * stop) and the per-broker cache of the version that worked. The cache can
 * only raise where a run starts, never lower the requested minimum. */
#ifndef SMQTT_NEGOTIATE_H
#define SMQTT_NEGOTIATE_H

#include <stdbool.h>
#include "explain.h"
#include "tls.h"

/* Was this failure caused by the protocol version (and so worth a retry
 * at a lower one)? */
bool negotiate_is_version_failure(const struct evidence *ev);

/* The first range: the highest version OpenSSL has down to
 * max(requested minimum, TLS 1.2); or, with a remembered version, exactly
 * that version (never below the requested minimum). */
struct tls_range negotiate_first(int requested_min, int remembered);

/* After a failed attempt with range cur: the next range to try (one
 * version lower, with the fallback SCSV), or false to stop. */
bool negotiate_next(const struct evidence *ev, const struct tls_range *cur, int requested_min,
		struct tls_range *next);

/* The cache: $XDG_CACHE_HOME/smqtt/tls-versions, "host:port version". */
int negotiate_cache_get(const char *host, int port);
int negotiate_cache_put(const char *host, int port, int version);
int negotiate_cache_forget(const char *host, int port);

#endif
