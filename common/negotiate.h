/* negotiate: the TLS version policy. A pure step-down function (the
 * evidence of a failed attempt + the range it offered -> the next range, or
 * stop) and the per-broker cache of the version that worked. The cache
 * never caps a run: it only shortens a step-down below TLS 1.2 that the
 * requested minimum allows anyway, and follows the broker up again. */
#ifndef SMQTT_NEGOTIATE_H
#define SMQTT_NEGOTIATE_H

#include <stdbool.h>
#include "explain.h"
#include "tls.h"

/* Was this failure caused by the protocol version (and so worth a retry
 * at a lower one)? */
bool negotiate_is_version_failure(const struct evidence *ev);

/* The first range: the highest version OpenSSL has down to
 * max(requested minimum, TLS 1.2), without the SCSV. Whatever is
 * remembered, every run starts here: a remembered version is a hint, never
 * a ceiling (smqtt-tls(7), WHAT SMQTT REMEMBERS). */
struct tls_range negotiate_first(int requested_min);

/* The remembered version as a hint for a step-down: only a version below
 * TLS 1.2 that the requested minimum allows (the user's --tls-version or
 * the profile's key); otherwise 0. A hint of TLS 1.2 or more changes
 * nothing, as the first range already offers it. */
int negotiate_hint(int requested_min, int remembered);

/* After a failed attempt with range cur: the next range to try (one
 * version lower, or down to the hint, with the fallback SCSV), or false
 * to stop. */
bool negotiate_next(const struct evidence *ev, const struct tls_range *cur, int requested_min, int remembered,
		struct tls_range *next);

/* The cache: $XDG_CACHE_HOME/smqtt/tls-versions, "host:port version". */
int negotiate_cache_get(const char *host, int port);
int negotiate_cache_put(const char *host, int port, int version);
int negotiate_cache_forget(const char *host, int port);

#endif
