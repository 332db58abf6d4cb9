/* preflightchain: the preflight checks across certificates (see
 * preflight.h): a leaf named like its issuer that OpenSSL cannot tell
 * apart from it, and the client's chain verified against --cafile as a
 * broker trusting that file would verify it. */
#include "preflight.h"
#include "preflightparts.h"
#include "l10n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Why OpenSSL cannot tell a same-named leaf from its issuer, or NULL. */
static const char *same_name_reason(X509 *x)
{
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(x);
	const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(x);
	if (!akid)
		return N_("it has no authority key identifier");
	if (!skid)
		return N_("it has no subject key identifier");
	if (!ASN1_OCTET_STRING_cmp(akid, skid))
		return N_("its authority key identifier equals its own subject key identifier");
	return NULL;
}

static X509 *find_issuer(STACK_OF(X509) *cas, X509 *x)
{
	for (int i = 0; cas && i < sk_X509_num(cas); i++) {
		X509 *ca = sk_X509_value(cas, i);
		if (ca != x && X509_cmp(ca, x) != 0 && X509_check_issued(ca, x) == X509_V_OK
				&& X509_verify(x, X509_get0_pubkey(ca)) == 1)
			return ca;
	}
	ERR_clear_error();
	return NULL;
}

/* A CA in cas whose name (and key identifier) says it issued x; the
 * signature is left to X509_verify_cert. */
static bool named_issuer(STACK_OF(X509) *cas, X509 *x)
{
	for (int i = 0; i < sk_X509_num(cas); i++) {
		X509 *ca = sk_X509_value(cas, i);
		if (ca != x && X509_cmp(ca, x) != 0 && X509_check_issued(ca, x) == X509_V_OK)
			return true;
	}
	return false;
}

/* When key identifiers are missing, and which openssl commands leave them
 * out: the same sentence for the client's and the broker's certificate. */
#define KEYID_NOTE N_("Key identifiers would tell them apart: 'openssl x509 -req' adds them by default since OpenSSL 3.2 " \
		"(3.5 on Debian 13), but OpenSSL 3.0 (Debian 12) makes a v1 certificate without them unless -extfile asks for them")

void preflight_check_same_name(struct pf *pf)
{
	const char *cafile = pf->cfg->cafile ? pf->cfg->cafile : "--cafile";
	X509 *x = pf->cert;
	bool told = false; /* the client certificate's report already names the CA */
	if (x && (X509_get_extension_flags(x) & EXFLAG_SI) && X509_self_signed(x, 1) != 1) {
		char *subject = preflight_dn(X509_get_subject_name(x));
		const char *reason = same_name_reason(x);
		X509 *ca = find_issuer(pf->cas, x);
		char detail[2][1600], files[2][1200];
		EACH_LANG(l) {
			char signer[600] = "";
			if (ca)
				snprintf(signer, sizeof(signer), L_(l, N_(": it was signed by the CA in %s, which has the same name")), cafile);
			if (ca)
				snprintf(files[l], sizeof(files[l]), L_(l, N_("%s and %s")), pf->cfg->certfile, cafile);
			else
				snprintf(files[l], sizeof(files[l]), "%s", pf->cfg->certfile);
			if (reason)
				snprintf(detail[l], sizeof(detail[l]),
						L_(l, N_("%s names %s as both its subject and its issuer, but it is not self-signed%s. Since %s, nothing tells it "
						"apart from its CA, so a verifier that looks up the issuer by name, as OpenSSL does (on the broker too), finds "
						"the certificate itself, takes it for self-signed and rejects it. %s")),
						pf->cfg->certfile, subject, signer, L_(l, reason), L_(l, KEYID_NOTE));
			else
				snprintf(detail[l], sizeof(detail[l]),
						L_(l, N_("%s names %s as both its subject and its issuer, but it is not self-signed%s. Its key identifiers still tell it "
						"apart from the CA, so OpenSSL copes, but other TLS stacks may not: a distinct CA name is safer")),
						pf->cfg->certfile, subject, signer);
		}
		struct slot s[] = {{"file", files[0], files[1]}, {"subject", subject, NULL}, {"detail", detail[0], detail[1]}};
		report_add(pf->r, CAUSE_CA_SUBJECT_EQUALS_LEAF, reason ? SEV_FATAL : SEV_WARNING, s, 3);
		told = true;
		free(subject);
	}
	for (int i = 0; pf->cas && i < sk_X509_num(pf->cas); i++) {
		X509 *ca = sk_X509_value(pf->cas, i);
		if (!told && x && X509_cmp(ca, x) != 0 && !X509_NAME_cmp(X509_get_subject_name(ca), X509_get_subject_name(x))) {
			char *subject = preflight_dn(X509_get_subject_name(ca));
			const char *reason = same_name_reason(x);
			char detail[2][1600], files[2][1200];
			EACH_LANG(l) {
				snprintf(files[l], sizeof(files[l]), L_(l, N_("%s and %s")), pf->cfg->certfile, cafile);
				if (!reason)
					snprintf(detail[l], sizeof(detail[l]),
							L_(l, N_("the certificate in %s and the client certificate %s are different certificates with the same subject %s. "
							"Their key identifiers tell them apart, so OpenSSL copes, but other TLS stacks may not: a distinct CA name is safer")),
							cafile, pf->cfg->certfile, subject);
				else
					snprintf(detail[l], sizeof(detail[l]),
							L_(l, N_("the certificate in %s and the client certificate %s are different certificates with the same subject %s, and "
							"%s. A verifier that meets the client certificate looks for its issuer by name and finds the certificate itself, "
							"so it takes it for self-signed and rejects it. %s")),
							cafile, pf->cfg->certfile, subject, L_(l, reason), L_(l, KEYID_NOTE));
			}
			struct slot s[] = {{"file", files[0], files[1]}, {"subject", subject, NULL}, {"detail", detail[0], detail[1]}};
			/* fatal only when key identifiers cannot tell them apart */
			report_add(pf->r, CAUSE_CA_SUBJECT_EQUALS_LEAF, reason ? SEV_FATAL : SEV_WARNING, s, 3);
			free(subject);
		}
		char cn[256];
		const char *host = pf->cfg->host;
		if (!told && host && X509_check_ca(ca) && X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof(cn)) > 0
				&& !strcasecmp(cn, host)) {
			char *subject = preflight_dn(X509_get_subject_name(ca));
			char detail[2][1400];
			EACH_LANG(l)
				snprintf(detail[l], sizeof(detail[l]),
						L_(l, N_("the CA in %s is named %s, which is the broker's address %s. Broker certificates are usually named after the broker, "
						"so if it is also %s and has no key identifiers, OpenSSL will take it for a self-signed certificate and this connection "
						"will fail")),
						cafile, subject, host, subject);
			struct slot s[] = {{"file", cafile, NULL}, {"subject", subject, NULL}, {"detail", detail[0], detail[1]}};
			report_add(pf->r, CAUSE_CA_SUBJECT_EQUALS_LEAF, SEV_WARNING, s, 3);
			free(subject);
		}
	}
}

struct chain_err {
	int err, depth;
	char *subject;
};

struct chain_errs {
	struct chain_err v[16];
	int n;
};

static int collect_cb(int ok, X509_STORE_CTX *ctx)
{
	struct chain_errs *ce = X509_STORE_CTX_get_app_data(ctx);
	if (!ok && ce && ce->n < 16) {
		X509 *x = X509_STORE_CTX_get_current_cert(ctx);
		ce->v[ce->n].err = X509_STORE_CTX_get_error(ctx);
		ce->v[ce->n].depth = X509_STORE_CTX_get_error_depth(ctx);
		ce->v[ce->n].subject = x ? preflight_dn(X509_get_subject_name(x)) : NULL;
		ce->n++;
	}
	return 1; /* carry on, to see every error */
}

/* Verify the client chain the way a broker trusting --cafile would. */
void preflight_check_chain(struct pf *pf)
{
	if (!pf->cert || !pf->cas || !named_issuer(pf->cas, pf->cert))
		return;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	struct chain_errs ce = {0};
	if (!store || !ctx)
		goto out;
	for (int i = 0; i < sk_X509_num(pf->cas); i++)
		X509_STORE_add_cert(store, sk_X509_value(pf->cas, i));
	if (!X509_STORE_CTX_init(ctx, store, pf->cert, pf->extra))
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	X509_VERIFY_PARAM_set_auth_level(X509_STORE_CTX_get0_param(ctx), pf->level);
	X509_STORE_CTX_set_verify_cb(ctx, collect_cb);
	X509_STORE_CTX_set_app_data(ctx, &ce);
	X509_verify_cert(ctx);
	cJSON *arr = cJSON_AddArrayToObject(pf->r->evidence, "client_chain_errors");
	for (int i = 0; i < ce.n; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "verify_error", ce.v[i].err);
		cJSON_AddStringToObject(e, "text", X509_verify_cert_error_string(ce.v[i].err));
		cJSON_AddNumberToObject(e, "depth", ce.v[i].depth);
		cJSON_AddStringToObject(e, "subject", ce.v[i].subject ? ce.v[i].subject : "");
		cJSON_AddItemToArray(arr, e);
	}
	if (ce.n == 0) {
		char msg[2][512];
		EACH_LANG(l)
			snprintf(msg[l], sizeof(msg[l]), L_(l, N_("client chain verifies against --cafile %s (purpose sslclient, security level %d)")),
					pf->cfg->cafile, pf->level);
		report_pass(pf->r, msg[0], msg[1]);
	}
out:
	for (int i = 0; i < ce.n; i++)
		free(ce.v[i].subject);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
}
