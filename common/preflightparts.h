/* preflightparts: what preflight.c and preflightchain.c share: the state
 * of one preflight run and the checks across certificates. Other modules
 * use preflight.h only. */
#ifndef SMQTT_PREFLIGHTPARTS_H
#define SMQTT_PREFLIGHTPARTS_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "options.h"
#include "report.h"

struct pf {
	const struct config *cfg;
	struct report *r;
	int level;              /* OpenSSL security level in force */
	int minbits;            /* bits of security that level needs */
	STACK_OF(X509) *cas;    /* certificates from --cafile */
	bool cas_only_certs;    /* the file holds no CRL or trust settings */
	X509 *cert;             /* the client certificate */
	STACK_OF(X509) *extra;  /* further certificates in --cert (a chain) */
	EVP_PKEY *key;
	bool key_encrypted;
	cJSON *files;
	char now[64];
};

/* A DN as one allocated line (RFC 2253 order, ", " between parts);
 * "(empty name)" for an empty one. (preflight.c) */
char *preflight_dn(const X509_NAME *name);

/* The checks across certificates (preflightchain.c): a same-named leaf
 * without key identifiers to tell it from its issuer; the client's chain
 * against --cafile. */
void preflight_check_same_name(struct pf *pf);
void preflight_check_chain(struct pf *pf);

#endif
