/* preflight: local checks of the TLS material (cafile, capath, cert, key)
 * with OpenSSL's X509 API before any connection: each problem becomes a
 * finding in the report. No network. */
#ifndef SMQTT_PREFLIGHT_H
#define SMQTT_PREFLIGHT_H

#include <stdbool.h>
#include <openssl/x509.h>
#include <cjson/cJSON.h>
#include "options.h"
#include "report.h"

/* Does this run use TLS material that preflight can check? */
bool preflight_applies(const struct config *cfg);

/* --cert / --key given without --cafile, --capath, --tls-use-os-certs (or
 * --psk, or port 8883): libmosquitto then connects without TLS and ignores
 * them. The one-line warning that says so (in buf, in the user's language:
 * it is only ever text), or NULL when TLS is on
 * or no client certificate was given. */
const char *preflight_tls_off(const struct config *cfg, int port, char *buf, size_t len);

struct tls_files;

/* Run every check; findings go to r (passes too, for --check). interactive:
 * a passphrase could be asked for (stdin is a terminal). keep (or NULL)
 * receives what was parsed, for the TLS context to use without reading
 * the files again. Returns the number of fatal findings. */
int preflight_run(const struct config *cfg, bool interactive, struct report *r, struct tls_files *keep);

/* A certificate in use that expires within this many days is a warning. */
#define PREFLIGHT_EXPIRY_WARN_DAYS 30

/* Whole days from now to the end of x's validity (negative when past;
 * INT_MIN when it cannot be told), and as text ("12 days", "1 day", "less
 * than a day"). */
int preflight_days_left(const X509 *x);
void preflight_days_text(int days, int lang, char *buf, size_t len);

/* x as a JSON object for the evidence: subject, issuer, dates, days_left,
 * fingerprint, whether it is a CA. */
cJSON *preflight_cert_json(const X509 *x);

#endif
