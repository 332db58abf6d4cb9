/* preflight: local checks of the TLS material (cafile, capath, cert, key)
 * with OpenSSL's X509 API before any connection: each problem becomes a
 * finding in the report. No network. */
#ifndef SMQTT_PREFLIGHT_H
#define SMQTT_PREFLIGHT_H

#include <stdbool.h>
#include "options.h"
#include "report.h"

/* Does this run use TLS material that preflight can check? */
bool preflight_applies(const struct config *cfg);

/* --cert / --key given without --cafile, --capath, --tls-use-os-certs (or
 * --psk, or port 8883): libmosquitto then connects without TLS and ignores
 * them. The one-line warning that says so (in buf), or NULL when TLS is on
 * or no client certificate was given. */
const char *preflight_tls_off(const struct config *cfg, int port, char *buf, size_t len);

struct tls_files;

/* Run every check; findings go to r (passes too, for --check). interactive:
 * a passphrase could be asked for (stdin is a terminal). keep (or NULL)
 * receives what was parsed, for the TLS context to use without reading
 * the files again. Returns the number of fatal findings. */
int preflight_run(const struct config *cfg, bool interactive, struct report *r, struct tls_files *keep);

#endif
