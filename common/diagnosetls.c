/* diagnosetls: the facts of a failure at the TLS stage (see diagnose.h):
 * the broker's certificate that did not verify, the client certificate the
 * broker rejected, the versions that did not meet; with the names, DNs and
 * dates of the chains and CA files involved. */
#include "diagnose.h"
#include "diagnoseparts.h"
#include "l10n.h"
#include "preflight.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static X509 *leaf_of(const struct tls *t)
{
	return t && t->peer_chain && sk_X509_num(t->peer_chain) > 0 ? sk_X509_value(t->peer_chain, 0) : NULL;
}

static void chain_text(const struct tls *t, int l, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; t && t->peer_chain && i < sk_X509_num(t->peer_chain) && used + 1 < len; i++) {
		char s[300], is[300];
		X509 *x = sk_X509_value(t->peer_chain, i);
		diagnose_name(X509_get_subject_name(x), s, sizeof(s));
		diagnose_name(X509_get_issuer_name(x), is, sizeof(is));
		if (i)
			used += (size_t)snprintf(buf + used, len - used, "%s", L_(l, N_("; then ")));
		if (used + 1 < len)
			used += (size_t)snprintf(buf + used, len - used, L_(l, N_("%s (issued by %s)")), s, is);
	}
	if (!buf[0])
		snprintf(buf, len, "%s", L_(l, N_("(no certificate seen)")));
}

/* The subjects of the CAs in --cafile, for "which CA was expected". */
static void cafile_subjects(const struct config *cfg, int l, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *fp = cfg->cafile ? fopen(cfg->cafile, "r") : NULL;
	X509 *x;
	size_t used = 0;
	while (fp && (x = PEM_read_X509(fp, NULL, NULL, NULL)) && used + 1 < len) {
		char s[300];
		diagnose_name(X509_get_subject_name(x), s, sizeof(s));
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", s);
		X509_free(x);
	}
	if (fp)
		fclose(fp);
	ERR_clear_error();
	if (!buf[0])
		snprintf(buf, len, "%s", L_(l, N_("nothing usable")));
}

/* Whether OpenSSL's default CA store is in use: --tls-use-os-certs, or (as
 * libmosquitto does) TLS without --cafile, --capath or --psk. */
static bool uses_system_store(const struct config *cfg)
{
	return cfg->tls_use_os_certs || (!cfg->cafile && !cfg->capath && !cfg->psk);
}

/* The trust anchors this run gave, named as the run gave them:
 * "--cafile F", "--capath D", "the system's CA store", joined with ", "
 * and "and". held: the --cafile part also says which CAs the file holds. */
static void trust_names(const struct config *cfg, int l, bool held, char *buf, size_t len)
{
	char parts[3][1400];
	int n = 0;
	if (cfg->cafile) {
		if (held) {
			char cas[1200];
			cafile_subjects(cfg, l, cas, sizeof(cas));
			snprintf(parts[n++], sizeof(parts[0]), L_(l, N_("--cafile %s (which holds %s)")), cfg->cafile, cas);
		} else {
			snprintf(parts[n++], sizeof(parts[0]), "--cafile %s", cfg->cafile);
		}
	}
	if (cfg->capath)
		snprintf(parts[n++], sizeof(parts[0]), "--capath %s", cfg->capath);
	if (uses_system_store(cfg))
		snprintf(parts[n++], sizeof(parts[0]), "%s", cfg->tls_use_os_certs
				? L_(l, N_("the system's CA store (--tls-use-os-certs)")) : L_(l, N_("the system's CA store")));
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < n && used < len; i++) {
		int k = snprintf(buf + used, len - used, "%s%s", i == 0 ? "" : i == n - 1 ? L_(l, N_(" and ")) : L_(l, N_(", ")),
				parts[i]);
		if (k < 0)
			break;
		used += (size_t)k;
	}
}

static void client_cert_names(const struct config *cfg, char *subject, char *issuer, size_t len, bool *same_name)
{
	snprintf(subject, len, "(none)");
	snprintf(issuer, len, "?");
	*same_name = false;
	FILE *fp = cfg->certfile ? fopen(cfg->certfile, "r") : NULL;
	X509 *x = fp ? PEM_read_X509(fp, NULL, NULL, NULL) : NULL;
	if (fp)
		fclose(fp);
	if (x) {
		diagnose_name(X509_get_subject_name(x), subject, len);
		diagnose_name(X509_get_issuer_name(x), issuer, len);
		*same_name = (X509_get_extension_flags(x) & EXFLAG_SI) && X509_self_signed(x, 1) != 1;
		X509_free(x);
	}
	ERR_clear_error();
}

/* Does --cafile hold a CA named like the issuer of the top of the broker's
 * chain that nonetheless did not sign it? */
static bool same_name_other_key(const struct config *cfg, const struct tls *t)
{
	if (!cfg->cafile || !t || !t->peer_chain || sk_X509_num(t->peer_chain) == 0)
		return false;
	X509 *top = NULL;
	for (int i = 0; i < sk_X509_num(t->peer_chain); i++) {
		X509 *x = sk_X509_value(t->peer_chain, i);
		if (X509_self_signed(x, 1) != 1)
			top = x;
	}
	if (!top)
		return false;
	FILE *fp = fopen(cfg->cafile, "r");
	X509 *ca;
	bool found = false;
	while (fp && !found && (ca = PEM_read_X509(fp, NULL, NULL, NULL))) {
		found = !X509_NAME_cmp(X509_get_subject_name(ca), X509_get_issuer_name(top))
			&& X509_verify(top, X509_get0_pubkey(ca)) != 1;
		X509_free(ca);
	}
	if (fp)
		fclose(fp);
	ERR_clear_error();
	return found;
}

/* Does a certificate in --cafile hold the key that signed x? */
static bool cafile_signed(const struct config *cfg, X509 *x)
{
	FILE *fp = x && cfg->cafile ? fopen(cfg->cafile, "r") : NULL;
	X509 *ca;
	bool found = false;
	while (fp && !found && (ca = PEM_read_X509(fp, NULL, NULL, NULL))) {
		found = X509_cmp(ca, x) != 0 && X509_verify(x, X509_get0_pubkey(ca)) == 1;
		X509_free(ca);
	}
	if (fp)
		fclose(fp);
	ERR_clear_error();
	return found;
}

void diagnose_fill_tls_verify(struct facts *f, enum cause c, const struct evidence *ev, const struct tls *t,
		const struct config *cfg)
{
	char chain[2][1200], trust[2][1600], held[2][2800], subject[300] = "?", issuer[300] = "?", nb[64] = "?", na[64] = "?", now[64];
	X509 *leaf = leaf_of(t);
	time_t tt = time(NULL);
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%S UTC", &tm);
	EACH_LANG(l) {
		chain_text(t, l, chain[l], sizeof(chain[l]));
		trust_names(cfg, l, false, trust[l], sizeof(trust[l]));
		trust_names(cfg, l, true, held[l], sizeof(held[l]));
	}
	if (leaf) {
		diagnose_name(X509_get_subject_name(leaf), subject, sizeof(subject));
		diagnose_name(X509_get_issuer_name(leaf), issuer, sizeof(issuer));
		diagnose_when(X509_get0_notBefore(leaf), nb, sizeof(nb));
		diagnose_when(X509_get0_notAfter(leaf), na, sizeof(na));
	}
	/* the certificate that failed, when it is not the leaf */
	if (t && t->peer_chain && ev->verify_depth > 0 && ev->verify_depth < sk_X509_num(t->peer_chain)) {
		X509 *x = sk_X509_value(t->peer_chain, ev->verify_depth);
		diagnose_name(X509_get_subject_name(x), subject, sizeof(subject));
		diagnose_when(X509_get0_notBefore(x), nb, sizeof(nb));
		diagnose_when(X509_get0_notAfter(x), na, sizeof(na));
	}
	put(f, "subject", "%s", subject);
	put(f, "issuer", "%s", issuer);
	put(f, "not_before", "%s", nb);
	put(f, "not_after", "%s", na);
	put(f, "now", "%s", now);
	EACH_LANG(l) {
	say(f, l, "trust", "%s", trust[l]);
	switch (c) {
	case CAUSE_HOSTNAME_MISMATCH: {
		const char *h = cfg->host ? cfg->host : "localhost";
		char first[256] = "";
		const char *names = t && t->cert_names[0] ? t->cert_names : L_(l, N_("(no names)"));
		const char *p = t && t->cert_names[0] ? strstr(names, "DNS:") : NULL;
		if (!p && t && t->cert_names[0])
			p = strstr(names, "IP:");
		if (p) {
			p = strchr(p, ':') + 1;
			snprintf(first, sizeof(first), "%.*s", (int)strcspn(p, ", "), p);
		}
		say(f, l, "names", "%s", names);
		say(f, l, "suggest", "%s", first[0] ? first : L_(l, N_("<name>")));
		if (!l)
			put(f, "sanhint", "%s:%s", strspn(h, "0123456789.") == strlen(h) || strchr(h, ':') ? "IP" : "DNS", h);
		break;
	}
	case CAUSE_SERVER_CERT_SELF_SIGNED:
		if (ev->leaf_self_issued) {
			char alert[300] = "";
			/* what the broker logs is known only from what this client sent it */
			if (ev->alert_sent == SSL_AD_UNKNOWN_CA)
				snprintf(alert, sizeof(alert), "%s", L_(l, N_(". This client ended the handshake with alert unknown_ca (48), which "
						"mosquitto logs as 'tlsv1 alert unknown ca'")));
			say(f, l, "kind", "%s", L_(l, N_("a certificate named like its issuer, which OpenSSL takes for self-signed")));
			say(f, l, "detail", L_(l, N_("the broker's certificate %s names itself as its issuer, but it is not self-signed: a CA of the "
					"same name signed it%s. It has no key identifiers to tell it apart from that CA, so when OpenSSL looks up its "
					"issuer it finds the certificate itself, and takes it for a self-signed certificate that %s does not hold "
					"(the same-name mistake). "
					"'openssl x509 -req' adds key identifiers by default since OpenSSL 3.2 (3.5 on Debian 13), but OpenSSL 3.0 "
					"(Debian 12) makes a v1 certificate without them unless -extfile asks for them%s")), subject,
					cafile_signed(cfg, leaf) ? L_(l, N_(" (--cafile holds that CA, but OpenSSL never gets to it)")) : "",
					trust[l], alert);
			say(f, l, "fixhint", "%s", L_(l, N_("re-create the CA with a distinct Common Name (e.g. -subj '/CN=My MQTT CA') and reissue the broker "
					"certificate from it with subjectKeyIdentifier and authorityKeyIdentifier extensions")));
		} else {
			say(f, l, "kind", "%s", L_(l, N_("a self-signed certificate")));
			say(f, l, "detail", L_(l, N_("%s signed itself and is not in %s")), subject, held[l]);
			say(f, l, "fixhint", "%s", L_(l, N_("if you trust this broker, give its certificate as the CA: --cafile <broker.crt>; better, issue "
					"the broker a certificate from a CA and give that CA")));
		}
		break;
	case CAUSE_SERVER_CHAIN_INCOMPLETE:
		say(f, l, "detail", L_(l, N_("the broker sent only %s; %s is not in %s. Either %s is an intermediate CA that the broker should "
				"send with its certificate, or %s does not hold the CA that issued the broker's certificate")),
				chain[l], issuer, held[l], issuer, trust[l]);
		say(f, l, "fixhint", L_(l, N_("give the CA certificate of %s: --cafile <%s's certificate>; if %s is an intermediate, have the "
				"broker send it too (its certfile = cat server.crt intermediate.crt)")), issuer, issuer, issuer);
		break;
	case CAUSE_SERVER_CERT_WRONG_PURPOSE:
		say(f, l, "detail", L_(l, N_("%s has an extended key usage without serverAuth, so it may not identify a TLS server")), subject);
		break;
	case CAUSE_WEAK_CRYPTO:
		say(f, l, "role", "%s", L_(l, N_("broker")));
		if (!l) {
			put(f, "file", "%s", subject);
			put(f, "level", "%d", t && t->ctx ? SSL_CTX_get_security_level(t->ctx) : 2);
		}
		say(f, l, "detail", L_(l, N_("OpenSSL rejected the broker's certificate: %s (at depth %d of the chain it sent: %s)")),
				X509_verify_cert_error_string(ev->verify_error >= 0 ? ev->verify_error : 0), ev->verify_depth, chain[l]);
		say(f, l, "fixhint", "%s", L_(l, N_("reissue the broker's certificate with a 2048-bit RSA or P-256 key, signed with SHA-256; "
				"smqtt does not lower the security level for you")));
		break;
	default: /* untrusted */
		if (same_name_other_key(cfg, t)) {
			char cas[1200];
			cafile_subjects(cfg, l, cas, sizeof(cas));
			say(f, l, "detail", L_(l, N_("the broker sent %s. --cafile %s holds a CA with that same name, %s, but it is a different CA "
					"(another key): it did not sign the broker's certificate. Two CAs were made with one name, e.g. the "
					"PKI was generated again on one side only")), chain[l], cfg->cafile, cas);
		} else {
			say(f, l, "detail", L_(l, N_("the broker sent %s; OpenSSL found no path from it to a CA in %s (OpenSSL: %s, at depth %d)")),
					chain[l], held[l], X509_verify_cert_error_string(ev->verify_error >= 0 ? ev->verify_error : 0),
					ev->verify_depth);
		}
		if (leaf)
			say(f, l, "fixhint", L_(l, N_("give the CA that issued the broker's certificate, %s: --cafile <that CA's certificate>")), issuer);
		else
			say(f, l, "fixhint", "%s", L_(l, N_("give the CA that issued the broker's certificate: --cafile <that CA's certificate>")));
		break;
	}
	}
}

void diagnose_fill_rejected(struct facts *f, enum cause c, const struct evidence *ev, const struct config *cfg)
{
	char subject[300], issuer[300];
	bool same = false;
	client_cert_names(cfg, subject, issuer, sizeof(subject), &same);
	int a = ev->alert_received;
	put(f, "subject", "%s", subject);
	put(f, "alert", "%s (%d)", tls_alert_name(a), a);
	EACH_LANG(l) {
	if (c == CAUSE_CLIENT_CERT_UNKNOWN_CA) {
		say(f, l, "detail", L_(l, N_("the broker answered alert unknown_ca (48) to the client certificate %s, issued by %s: the CA "
				"file of the broker does not hold %s%s")), subject, issuer, issuer,
				same ? L_(l, N_(". Also, this certificate names the same DN as subject and issuer without being self-signed, so "
				"the broker takes it for self-signed: the same-name mistake")) : "");
		say(f, l, "fixhint", "%s", same ? L_(l, N_("re-create the CA with a distinct Common Name and reissue the client certificate from it"))
				: L_(l, N_("add the CA that issued the client certificate to the broker's cafile, or use a client certificate from "
				"the CA the broker trusts")));
		continue;
	}
	const char *why;
	const char *fix = N_("check the broker's log for why it refused the certificate");
	switch (a) {
	case 44: why = N_("it is on the broker's certificate revocation list (crlfile)");
		fix = N_("issue a new client certificate; the revoked one cannot be used again"); break;
	case 45: why = N_("the broker thinks it has expired (check both clocks)");
		fix = N_("issue a new client certificate, or fix the clock that is wrong"); break;
	case 42: why = N_("the broker found it bad (a signature or format problem)"); break;
	case 43: why = N_("the broker does not support its type"); break;
	case 46: why = N_("the broker could not use it"); break;
	case 49: why = N_("the broker denied access to it"); break;
	default: why = N_("the broker refused it"); break;
	}
	say(f, l, "detail", L_(l, N_("the broker answered alert %s (%d) to the client certificate %s (issued by %s): %s")),
			tls_alert_name(a), a, subject, issuer, L_(l, why));
	say(f, l, "fixhint", "%s", L_(l, fix));
	}
}

static const char *pretty_version(int v)
{
	switch (v) {
	case TLS1_3_VERSION: return "TLS 1.3";
	case TLS1_2_VERSION: return "TLS 1.2";
	case TLS1_1_VERSION: return "TLS 1.1";
	case TLS1_VERSION: return "TLS 1.0";
	default: return "?";
	}
}

void diagnose_fill_versions(struct facts *f, const struct evidence *ev, const struct config *cfg)
{
	static const int all[] = {TLS1_3_VERSION, TLS1_2_VERSION, TLS1_1_VERSION, TLS1_VERSION};
	char speaks[128] = "";
	int lowest = 0, highest = 0;
	for (size_t i = 0; i < 4; i++) {
		if (ev->broker_versions & (1u << (all[i] & 0xf))) {
			snprintf(speaks + strlen(speaks), sizeof(speaks) - strlen(speaks), "%s%s", speaks[0] ? ", " : "", pretty_version(all[i]));
			if (!highest)
				highest = all[i];
			lowest = all[i];
		}
	}
	int min = ev->requested_min ? ev->requested_min : TLS1_2_VERSION;
	EACH_LANG(l) {
	if (!speaks[0]) {
		say(f, l, "detail", L_(l, N_("the broker refused every TLS version this run offered (%s and up)%s")), pretty_version(min),
				ev->alert_received == 70 ? L_(l, N_(": it answered alert protocol_version (70)")) : "");
		say(f, l, "fixhint", "%s", L_(l, N_("find out which TLS versions the broker speaks, then allow that one for this broker only with --tls-version")));
		continue;
	}
	if (highest && highest < min) {
		const char *name = tls_version_name(highest);
		say(f, l, "detail", L_(l, N_("a probe handshake without certificate or credentials, dropped after its ServerHello, shows "
				"that the highest TLS version the broker speaks is %s; this run allows only %s and up (%s), so they have no "
				"version in common")),
				pretty_version(highest), pretty_version(min), cfg->tls_version ? "--tls-version" : L_(l, N_("the default")));
		if (cfg->applied_profile)
			say(f, l, "fixhint", L_(l, N_("allow it for this broker only: add tls-version = \"%s\"; to profile '%s' (%s), or give --tls-version %s")),
					name, cfg->applied_profile, cfg->applied_profile_from, name);
		else
			say(f, l, "fixhint", L_(l, N_("allow it for this broker only: --tls-version %s (or tls-version = \"%s\"; in its profile)")), name, name);
		continue;
	}
	say(f, l, "detail", L_(l, N_("the broker speaks %s, yet the handshake failed on the version (%s); attempts made: %d")),
			speaks, diagnose_reason_text(ev->ssl_reason), ev->attempts);
	say(f, l, "fixhint", L_(l, N_("check --ciphers and --tls-version against what the broker allows (%s, lowest %s)")), speaks, pretty_version(lowest));
	}
}

