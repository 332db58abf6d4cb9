/* diagnose: fills the cause table's slots from the evidence (see
 * diagnose.h). The words live in explain.c; this file gathers the facts. */
#include "diagnose.h"
#include "pktgate.h"
#include "socks.h"
#include "l10n.h"
#include "ws.h"

#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#define NSLOTS 16

struct facts {
	struct slot s[NSLOTS];
	size_t n;
	char buf[NSLOTS][1536];
	char local[NSLOTS][1536];
};

static void put(struct facts *f, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(struct facts *f, const char *name, const char *fmt, ...)
{
	if (f->n >= NSLOTS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->buf[f->n], sizeof(f->buf[0]), fmt, ap);
	va_end(ap);
	f->s[f->n].name = name;
	f->s[f->n].value = f->buf[f->n];
	f->n++;
}

static void name_of(const X509_NAME *n, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	buf[0] = '\0';
	if (!b)
		return;
	unsigned long flags = (XN_FLAG_RFC2253 & ~XN_FLAG_SEP_MASK) | XN_FLAG_SEP_CPLUS_SPC;
	X509_NAME_print_ex(b, n, 0, flags & ~(unsigned long)ASN1_STRFLGS_ESC_MSB);
	char *data = NULL;
	long k = BIO_get_mem_data(b, &data);
	snprintf(buf, len, "%.*s", (int)(k > 0 ? k : 0), data ? data : "");
	BIO_free(b);
}

static void when(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;
	if (t && ASN1_TIME_to_tm(t, &tm))
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(buf, len, "?");
}

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
		name_of(X509_get_subject_name(x), s, sizeof(s));
		name_of(X509_get_issuer_name(x), is, sizeof(is));
		if (i)
			used += (size_t)snprintf(buf + used, len - used, "%s", L_(l, N_("; then ")));
		if (used + 1 < len)
			used += (size_t)snprintf(buf + used, len - used, L_(l, N_("%s (issued by %s)")), s, is);
	}
	if (!buf[0])
		snprintf(buf, len, "%s", L_(l, N_("(no certificate seen)")));
}

/* A sentence slot, built once per language: lang 0 (English) adds the slot,
 * lang 1 gives the last slot of that name its local value. */
static void say(struct facts *f, int lang, const char *name, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void say(struct facts *f, int lang, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (!lang) {
		if (f->n < NSLOTS) {
			vsnprintf(f->buf[f->n], sizeof(f->buf[0]), fmt, ap);
			f->s[f->n].name = name;
			f->s[f->n].value = f->buf[f->n];
			f->s[f->n].local = NULL;
			f->n++;
		}
	} else {
		for (size_t i = f->n; i-- > 0; ) {
			if (!strcmp(f->s[i].name, name)) {
				vsnprintf(f->local[i], sizeof(f->local[0]), fmt, ap);
				f->s[i].local = f->local[i];
				break;
			}
		}
	}
	va_end(ap);
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
		name_of(X509_get_subject_name(x), s, sizeof(s));
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
		name_of(X509_get_subject_name(x), subject, len);
		name_of(X509_get_issuer_name(x), issuer, len);
		*same_name = (X509_get_extension_flags(x) & EXFLAG_SI) && X509_self_signed(x, 1) != 1;
		X509_free(x);
	}
	ERR_clear_error();
}

static const char *reason_text(int reason)
{
	if (!reason)
		return "none";  /* a value, as in the JSON evidence */
	const char *s = ERR_reason_error_string(ERR_PACK(ERR_LIB_SSL, 0, reason & 0xffffff));
	return s ? s : "unknown";
}

static void add_evidence(const struct evidence *ev, const struct tls *t, struct report *r)
{
	cJSON *e = r->evidence;
	cJSON_AddStringToObject(e, "stage", stage_name(ev->stage));
	if (ev->sys_errno)
		cJSON_AddStringToObject(e, "errno", strerror(ev->sys_errno));
	if (ev->eai)
		cJSON_AddStringToObject(e, "resolver", gai_strerror(ev->eai));
	cJSON_AddBoolToObject(e, "tls", ev->used_tls);
	if (ev->used_tls) {
		cJSON_AddBoolToObject(e, "client_hello_sent", ev->client_hello_sent);
		cJSON_AddBoolToObject(e, "server_hello_seen", ev->server_hello_seen);
		cJSON_AddBoolToObject(e, "handshake_done", ev->handshake_done);
		cJSON_AddBoolToObject(e, "client_cert_sent", ev->sent_client_cert);
		if (ev->verify_error >= 0) {
			cJSON_AddNumberToObject(e, "verify_error", ev->verify_error);
			cJSON_AddStringToObject(e, "verify_error_text", X509_verify_cert_error_string(ev->verify_error));
			cJSON_AddNumberToObject(e, "verify_depth", ev->verify_depth);
		}
		if (ev->alert_sent >= 0)
			cJSON_AddStringToObject(e, "alert_sent", tls_alert_name(ev->alert_sent));
		if (ev->alert_received >= 0)
			cJSON_AddStringToObject(e, "alert_received", tls_alert_name(ev->alert_received));
		if (ev->ssl_reason)
			cJSON_AddStringToObject(e, "ssl_reason", reason_text(ev->ssl_reason));
		cJSON_AddBoolToObject(e, "fallback_scsv", ev->fallback_scsv);
		if (t && t->peer_chain) {
			cJSON *a = cJSON_AddArrayToObject(e, "broker_chain");
			for (int i = 0; i < sk_X509_num(t->peer_chain); i++) {
				X509 *x = sk_X509_value(t->peer_chain, i);
				char s[300], is[300], nb[64], na[64];
				name_of(X509_get_subject_name(x), s, sizeof(s));
				name_of(X509_get_issuer_name(x), is, sizeof(is));
				when(X509_get0_notBefore(x), nb, sizeof(nb));
				when(X509_get0_notAfter(x), na, sizeof(na));
				cJSON *c = cJSON_CreateObject();
				cJSON_AddStringToObject(c, "subject", s);
				cJSON_AddStringToObject(c, "issuer", is);
				cJSON_AddStringToObject(c, "not_before", nb);
				cJSON_AddStringToObject(c, "not_after", na);
				cJSON_AddItemToArray(a, c);
			}
		}
		if (t && t->cert_names[0])
			cJSON_AddStringToObject(e, "broker_cert_names", t->cert_names);
	}
	if (ev->ws) {
		cJSON *w = cJSON_AddObjectToObject(e, "websocket");
		cJSON_AddStringToObject(w, "path", ev->ws_path);
		cJSON_AddBoolToObject(w, "upgraded", ev->ws_open);
		if (ev->http_status)
			cJSON_AddNumberToObject(w, "http_status", ev->http_status);
		if (ev->http_reason[0])
			cJSON_AddStringToObject(w, "http_reason", ev->http_reason);
		if (ev->http_location[0])
			cJSON_AddStringToObject(w, "location", ev->http_location);
		if (ev->http_server[0])
			cJSON_AddStringToObject(w, "server", ev->http_server);
		if (ev->ws_subprotocol[0])
			cJSON_AddStringToObject(w, "subprotocol", ev->ws_subprotocol);
		if (ev->ws_extensions[0])
			cJSON_AddStringToObject(w, "extensions", ev->ws_extensions);
		if (ev->ws_close_code >= 0)
			cJSON_AddNumberToObject(w, "close_code", ev->ws_close_code);
		if (ev->ws_close_reason[0])
			cJSON_AddStringToObject(w, "close_reason", ev->ws_close_reason);
		if (ev->ws_error_text)
			cJSON_AddStringToObject(w, "protocol_error", ev->ws_error_text);
		if (ev->proxy_error[0])
			cJSON_AddStringToObject(w, "proxy", ev->proxy_error);
	}
	if (ev->connack >= 0)
		cJSON_AddNumberToObject(e, "connack", ev->connack);
	if (ev->probe_tls_answered)
		cJSON_AddBoolToObject(e, "probe_tls_answered", true);
	if (ev->probes_proxy)
		cJSON_AddStringToObject(e, "probes", "left out: --proxy");
	else if (ev->probes_cut)
		cJSON_AddStringToObject(e, "probes", "cut: --connect-timeout ran out");
	if (ev->probe_http[0])
		cJSON_AddStringToObject(e, "probe_http", ev->probe_http);
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

static void fill_tls_verify(struct facts *f, enum cause c, const struct evidence *ev, const struct tls *t,
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
		name_of(X509_get_subject_name(leaf), subject, sizeof(subject));
		name_of(X509_get_issuer_name(leaf), issuer, sizeof(issuer));
		when(X509_get0_notBefore(leaf), nb, sizeof(nb));
		when(X509_get0_notAfter(leaf), na, sizeof(na));
	}
	/* the certificate that failed, when it is not the leaf */
	if (t && t->peer_chain && ev->verify_depth > 0 && ev->verify_depth < sk_X509_num(t->peer_chain)) {
		X509 *x = sk_X509_value(t->peer_chain, ev->verify_depth);
		name_of(X509_get_subject_name(x), subject, sizeof(subject));
		when(X509_get0_notBefore(x), nb, sizeof(nb));
		when(X509_get0_notAfter(x), na, sizeof(na));
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

static void fill_rejected(struct facts *f, enum cause c, const struct evidence *ev, const struct config *cfg)
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

/* The first bytes of the broker's reply: quoted text when they are
 * printable, hex otherwise. */
static void reply_bytes(const struct evidence *ev, int l, char *buf, size_t len)
{
	bool text = ev->reply_len >= 4;
	for (int i = 0; i < ev->reply_len && text; i++)
		text = (ev->reply[i] >= 0x20 && ev->reply[i] < 0x7f) || ev->reply[i] == '\r' || ev->reply[i] == '\n';
	size_t used = 0;
	buf[0] = '\0';
	if (text)
		used += (size_t)snprintf(buf, len, "%s", L_(l, N_("the text \"")));
	for (int i = 0; i < ev->reply_len && used + 8 < len; i++) {
		unsigned char b = ev->reply[i];
		if (text && (b == '\r' || b == '\n'))
			used += (size_t)snprintf(buf + used, len - used, "\\%c", b == '\r' ? 'r' : 'n');
		else if (text)
			used += (size_t)snprintf(buf + used, len - used, "%c", b);
		else
			used += (size_t)snprintf(buf + used, len - used, "%s%02x", i ? " " : L_(l, N_("the bytes ")), b);
	}
	if (used + 8 < len)
		snprintf(buf + used, len - used, "%s%s", ev->reply_len >= (int)sizeof(ev->reply) ? "..." : "",
				text ? "\"" : "");
}

/* A packet refused after the CONNACK (pktgate.h): what broke which bound,
 * and where the PUBLISH bound comes from. */
static void fill_gate(struct facts *f, const struct evidence *ev, const struct config *cfg)
{
	unsigned long long limit = ev->gate_limit;
	put(f, "announced", "%llu", ev->gate_announced);
	put(f, "limit", "%llu", limit);
	EACH_LANG(l) {
		say(f, l, "packet", "%s", ev->gate_type >= 0 ? pktgate_type_name((unsigned char)ev->gate_type) : L_(l, N_("packet")));
		const char *how = ev->gate_type >= 0 ? ""
			: L_(l, N_(" (its header was read along with another packet's, unjudged, so these are the bytes read since the last whole packet)"));
		const char *v5 = cfg && cfg->protocol_version == MQTT_PROTOCOL_V5 ? ""
			: L_(l, N_(" (with -V mqttv5)"));
		switch (ev->gate_source) {
		case PKTGATE_MAX_PACKET_SIZE:
			say(f, l, "detail", L_(l, N_("this run asked for packets of at most %llu bytes (-D connect maximum-packet-size); MQTT 5 has a client "
					"end the connection then, with reason 0x95 (Packet too large)%s")), limit, how);
			say(f, l, "fixhint", "%s", L_(l, N_("raise -D connect maximum-packet-size above the message's size if you want it, or have it published in smaller messages")));
			break;
		case PKTGATE_RLIMIT_AS: case PKTGATE_RLIMIT_DATA:
			say(f, l, "detail", L_(l, N_("the bound is a quarter of this process's limit on its %s (%s), so that a message (held twice while it "
					"is delivered) cannot take the memory the run may use%s")), ev->gate_source == PKTGATE_RLIMIT_AS
					? L_(l, N_("address space")) : L_(l, N_("data segment")), ev->gate_source == PKTGATE_RLIMIT_AS ? "ulimit -v" : "ulimit -d", how);
			say(f, l, "fixhint", L_(l, N_("raise that limit, or state the bound yourself with -D connect maximum-packet-size N%s")), v5);
			break;
		case PKTGATE_DEFAULT:
			say(f, l, "detail", L_(l, N_("the memory available could not be read (/proc/meminfo), so a fixed bound of %llu bytes applies%s")),
					(unsigned long long)PKTGATE_DEFAULT_MAX, how);
			say(f, l, "fixhint", L_(l, N_("state the bound yourself with -D connect maximum-packet-size N%s")), v5);
			break;
		default:
			say(f, l, "detail", L_(l, N_("the bound is a quarter of the memory available when the run started (MemAvailable), so that a "
					"message (held twice while it is delivered) ends in this explanation instead of the out-of-memory killer%s")), how);
			say(f, l, "fixhint", L_(l, N_("free memory, or state the bound yourself with -D connect maximum-packet-size N%s (the run then "
					"holds up to twice N)")), v5);
			break;
		}
	}
}

static void fill_reply(struct facts *f, const struct evidence *ev, int seconds)
{
	unsigned long announced = 0;
	enum reply_kind k = mqtt_reply_kind(ev->reply, (size_t)ev->reply_len, &announced);
	EACH_LANG(l) {
	char bytes[128];
	reply_bytes(ev, l, bytes, sizeof(bytes));
	switch (k) {
	case REPLY_NOT_MQTT: case REPLY_TLS:
		say(f, l, "detail", L_(l, N_("it answered CONNECT with %s, which is not MQTT (a CONNACK begins with the byte 0x20)")), bytes);
		break;
	case REPLY_BAD_LENGTH:
		say(f, l, "detail", L_(l, N_("it began a CONNACK with %s, whose remaining length is malformed (more than 4 length bytes)")), bytes);
		break;
	case REPLY_TOO_LONG:
		say(f, l, "detail", L_(l, N_("it began its answer with %s: a remaining length of %lu bytes, where a CONNACK is a few bytes long "
				"and smqtt accepts at most %lu; smqtt stopped at once rather than wait for that much and hold it in memory")),
				bytes, announced, (unsigned long)MQTT_FIRST_REPLY_MAX);
		break;
	default:
		if (ev->timed_out)
			say(f, l, "detail", L_(l, N_("it began a CONNACK with %s, announcing %lu bytes, and did not complete it within %d s")),
					bytes, announced, seconds);
		else if (ev->mqtt_rc == MOSQ_ERR_CONN_LOST || ev->mqtt_rc == MOSQ_ERR_ERRNO || ev->mqtt_rc == MOSQ_ERR_NO_CONN)
			say(f, l, "detail", L_(l, N_("it began a CONNACK with %s and closed the connection before the CONNACK was complete")), bytes);
		else
			say(f, l, "detail", L_(l, N_("it sent a CONNACK beginning with %s that libmosquitto rejected: %s")), bytes,
					mosquitto_strerror(ev->mqtt_rc ? ev->mqtt_rc : MOSQ_ERR_PROTOCOL));
		break;
	}
	}
}

static void fill_mqtt(struct facts *f, enum cause c, const struct evidence *ev, const struct config *cfg)
{
	int rc = ev->connack;
	const char *reason = rc < 0 ? "no CONNACK" : cfg->protocol_version == MQTT_PROTOCOL_V5
		? mosquitto_reason_string(rc) : mosquitto_connack_string(rc);
	/* "refused the connection: Connection Refused: not authorised." */
	if (!strncmp(reason, "Connection Refused: ", 20))
		reason += 20;
	put(f, "reason", "%s", reason);
	put(f, "protocol", "%s", cfg->protocol_version == MQTT_PROTOCOL_V5 ? "MQTT v5"
			: cfg->protocol_version == MQTT_PROTOCOL_V31 ? "MQTT v3.1" : "MQTT v3.1.1");
	EACH_LANG(l) {
	switch (c) {
	case CAUSE_MQTT_AUTH_FAILED:
		if (!cfg->username && !cfg->password)
			say(f, l, "detail", "%s", L_(l, N_("this run sent no username or password, and the broker requires them (mosquitto: allow_anonymous false)")));
		else if (!cfg->username)
			say(f, l, "detail", "%s", L_(l, N_("this run sent a password without a username, which the broker does not accept")));
		else if ((rc == 4 || rc == MQTT_RC_BAD_USERNAME_OR_PASSWORD) && cfg->password)
			say(f, l, "detail", L_(l, N_("the broker does not accept the username '%s' with this password")), cfg->username);
		else if (rc == 4 || rc == MQTT_RC_BAD_USERNAME_OR_PASSWORD)
			say(f, l, "detail", L_(l, N_("the broker does not accept the username '%s' with no password")), cfg->username);
		else
			say(f, l, "detail", L_(l, N_("the broker refused '%s': the password is wrong, or the user may not connect (mosquitto "
					"answers 'not authorised' for both)")), cfg->username);
		if (!cfg->username)
			say(f, l, "fixhint", "%s", L_(l, N_("give credentials: -u <user> -P <password>, or --password-file <file>")));
		else if (cfg->password_file)
			say(f, l, "fixhint", L_(l, N_("check -u and the password in %s (--password-file) against the broker's users and access rules "
					"(mosquitto: password_file, made with mosquitto_passwd, and acl_file)")), cfg->password_file);
		else if (!cfg->password)
			say(f, l, "fixhint", L_(l, N_("give the password of '%s' (-P or --password-file), and check the user against the broker's users "
					"and access rules (mosquitto: password_file, made with mosquitto_passwd, and acl_file)")), cfg->username);
		else
			say(f, l, "fixhint", "%s", L_(l, N_("check -u and -P against the broker's users and access rules (mosquitto: password_file, made with "
					"mosquitto_passwd, and acl_file)")));
		break;
	case CAUSE_MQTT_IDENTIFIER_REJECTED:
		say(f, l, "detail", L_(l, N_("the broker does not accept the client id %s")), cfg->id ? cfg->id : L_(l, N_("(generated by libmosquitto)")));
		break;
	case CAUSE_BROKER_CLOSED:
		if (ev->used_tls && ev->alert_received == SSL_AD_CLOSE_NOTIFY) {
			say(f, l, "detail", "%s", L_(l, N_("the TCP and TLS connection was made, then the peer ended the TLS session (close_notify) "
					"without a CONNACK. A TLS terminator in front of the broker (HAProxy, nginx, stunnel) does this "
					"when it cannot reach the broker behind it")));
			say(f, l, "fixhint", "%s", L_(l, N_("check that the broker behind the TLS terminator is running and reachable from it (the "
					"terminator's backend address and its log); if nothing sits in front of the broker, check the "
					"broker's log (a connection limit such as mosquitto's max_connections, an access rule or plugin refusing the client)")));
		} else {
			say(f, l, "detail", "%s", ev->used_tls
					? L_(l, N_("the TCP and TLS connection was made, then the broker closed it without a CONNACK"))
					: L_(l, N_("the TCP connection was made, then the broker closed it without a CONNACK")));
			say(f, l, "fixhint", "%s", L_(l, N_("check the broker's log; common reasons are a connection limit (mosquitto: max_connections), "
					"an access rule or plugin refusing the client, or a listener for another protocol; behind a TLS terminator "
					"or load balancer, a broker it cannot reach")));
		}
		break;
	case CAUSE_PLAIN_TO_TLS_PORT:
		if (ev->reply_len > 0) {
			char bytes[128];
			reply_bytes(ev, l, bytes, sizeof(bytes));
			say(f, l, "detail", L_(l, N_("it answered the plain MQTT CONNECT with a TLS record (%s): the port expects a TLS ClientHello")),
					bytes);
		} else {
			say(f, l, "detail", "%s", L_(l, N_("the broker closed the connection when it got plain MQTT, and a probe (a TLS ClientHello without "
					"certificate or credentials) got a TLS answer from the same port")));
		}
		break;
	default:
		if (cfg->protocol_version != MQTT_PROTOCOL_V5 && rc > 5)
			say(f, l, "detail", L_(l, N_("CONNACK code %d, which MQTT %s does not define (it defines 0 to 5): the broker is not a "
					"conforming MQTT %s broker")), rc, cfg->protocol_version == MQTT_PROTOCOL_V31 ? "v3.1" : "v3.1.1",
					cfg->protocol_version == MQTT_PROTOCOL_V31 ? "v3.1" : "v3.1.1");
		else if (cfg->protocol_version == MQTT_PROTOCOL_V5 && !strcmp(reason, "Unknown reason"))
			say(f, l, "detail", L_(l, N_("CONNACK reason code %d, which MQTT v5 does not define: the broker is not a conforming MQTT v5 "
					"broker")), rc);
		else
			say(f, l, "detail", L_(l, N_("CONNACK code %d: %s")), rc, reason);
		break;
	}
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

static void fill_versions(struct facts *f, const struct evidence *ev, const struct config *cfg)
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
			speaks, reason_text(ev->ssl_reason), ev->attempts);
	say(f, l, "fixhint", L_(l, N_("check --ciphers and --tls-version against what the broker allows (%s, lowest %s)")), speaks, pretty_version(lowest));
	}
}

/* The first bytes of an answer, printable or as hex. */
static void first_bytes(const struct evidence *ev, char *buf, size_t len)
{
	size_t at = 0;
	buf[0] = '\0';
	for (int i = 0; i < ev->ws_first_len && at + 4 < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%02x", i ? " " : "", ev->ws_first[i]);
}

/* A Server header of a web server that is not a WebSocket proxy or broker
 * (Python's http.server, Apache httpd, lighttpd, IIS, ...). */
static bool plain_web_server(const char *server)
{
	static const char *const names[] = {"SimpleHTTP", "BaseHTTP", "Apache", "lighttpd", "Microsoft-IIS", "thttpd", "busybox httpd",
		"mini_httpd", "darkhttpd", "WEBrick"};
	for (size_t i = 0; server && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncasecmp(server, names[i], strlen(names[i])))
			return true;
	return false;
}

static void fill_ws(struct facts *f, enum cause c, const struct evidence *ev, int seconds)
{
	put(f, "path", "%s", ev->ws_path[0] ? ev->ws_path : "/mqtt");
	put(f, "status", "%d", ev->http_status);
	put(f, "reason", "%s", ev->http_reason[0] ? ev->http_reason : "(no reason phrase)");
	put(f, "location", "%s", ev->http_location[0] ? ev->http_location : "(none)");
	put(f, "subprotocol", "%s", ev->ws_subprotocol[0] ? ev->ws_subprotocol : "(none)");
	put(f, "extensions", "%s", ev->ws_extensions[0] ? ev->ws_extensions : "(empty)");
	put(f, "code", "%d", ev->ws_close_code);
	char first[64];
	first_bytes(ev, first, sizeof(first));
	EACH_LANG(l) {
		switch (c) {
		case CAUSE_WS_REDIRECT:
			if (!strncmp(ev->http_location, "https://", 8) && !ev->used_tls)
				say(f, l, "fixhint", L_(l, N_("the server sends plain-HTTP clients to HTTPS: use wss:// (or --ws with --cafile or --tls-use-os-certs) on its TLS port; the new address is %s")),
						ev->http_location);
			else
				say(f, l, "fixhint", L_(l, N_("connect to the address the server names (%s): its host, port and path, the path with --ws-path")),
						ev->http_location);
			break;
		case CAUSE_WS_PATH_NOT_FOUND: {
			bool plain = plain_web_server(ev->http_server);
			char server[160] = "", status[300];
			if (ev->http_server[0])
				snprintf(server, sizeof(server), L_(l, N_(" (Server: %s)")), ev->http_server);
			snprintf(status, sizeof(status), "%d%s%s%s", ev->http_status, ev->http_reason[0] ? " " : "", ev->http_reason, server);
			if (plain)
				say(f, l, "detail", L_(l, N_("the upgrade asked for GET %s and the web server answered %s: that is a plain web server, "
						"not a WebSocket endpoint for MQTT, so no path on this port will do")), ev->ws_path, status);
			else
				say(f, l, "detail", L_(l, N_("the upgrade asked for GET %s and the web server answered %s: nothing is served there; "
						"mosquitto 2.1's clients always ask for /mqtt")), ev->ws_path, status);
			if (plain)
				say(f, l, "fixhint", "%s", L_(l, N_("give the broker's websockets port with -p (mosquitto: a listener with protocol websockets) "
						"instead of this web server's")));
			else if (!strcmp(ev->ws_path, "/mqtt"))
				say(f, l, "fixhint", "%s", L_(l, N_("give the path the server serves MQTT on with --ws-path (the one configured in the proxy "
						"in front of the broker; /mqtt is what was just tried), or the broker's own websockets port")));
			else
				say(f, l, "fixhint", "%s", L_(l, N_("give the path the server serves MQTT on with --ws-path (e.g. --ws-path /mqtt, or the path "
						"configured in the proxy in front of the broker)")));
			break;
		}
		case CAUSE_WS_NOT_WEBSOCKET:
			if (ev->ws_upgrade == WS_HEAD_NO_UPGRADE)
				say(f, l, "detail", "%s", L_(l, N_("the server answered 101 Switching Protocols but without Upgrade: websocket and Connection: Upgrade, so it did not switch to WebSocket")));
			else
				say(f, l, "detail", L_(l, N_("the upgrade asked for GET %s and the server answered %d %s: it served the request as a web page instead of switching to WebSocket (101)")),
						ev->ws_path, ev->http_status, ev->http_reason[0] ? ev->http_reason : "");
			break;
		case CAUSE_WS_NOT_HTTP:
			if (ev->ws_first_len)
				say(f, l, "detail", L_(l, N_("the upgrade request (an HTTP GET) was answered with bytes that are not HTTP (%s)%s")), first,
						ev->ws_first[0] == 0x20 ? L_(l, N_(": they look like an MQTT CONNACK, so this is a plain MQTT port")) : "");
			else if (ev->probe_mqtt_answered)
				say(f, l, "detail", "%s", L_(l, N_("the server closed the connection without answering the upgrade request; a plain MQTT CONNECT to the same port got a CONNACK, so this is a plain MQTT port, not a websockets one")));
			else
				say(f, l, "detail", "%s", L_(l, N_("the server closed the connection without answering the upgrade request (an HTTP GET)")));
			if ((ev->ws_first_len && ev->ws_first[0] == 0x20) || ev->probe_mqtt_answered) /* a plain MQTT port */
				say(f, l, "fixhint", "%s", L_(l, N_("drop --ws (use mqtt:// rather than ws://) to speak MQTT to this port, or give the broker's websockets port")));
			else
				say(f, l, "fixhint", "%s", L_(l, N_("give the broker's websockets port with -p (mosquitto: a listener with protocol websockets)")));
			break;
		case CAUSE_WS_TO_TLS_PORT:
			say(f, l, "detail", "%s", ev->ws_first_len ? L_(l, N_("the upgrade request (an HTTP GET in the clear) was answered with a TLS record: the port expects a TLS ClientHello first"))
					: L_(l, N_("the server closed the connection without answering the upgrade request in the clear, and a TLS ClientHello to the same port got a ServerHello")));
			break;
		case CAUSE_WS_CLOSED:
			if (ev->ws_close_reason[0])
				say(f, l, "detail", L_(l, N_("after the upgrade the server sent a WebSocket close frame with status %d (%s) and the reason \"%s\", before any CONNACK")),
						ev->ws_close_code, L_(l, ws_close_code_text(ev->ws_close_code)), ev->ws_close_reason);
			else
				say(f, l, "detail", L_(l, N_("after the upgrade the server sent a WebSocket close frame with status %d (%s), before any CONNACK")),
						ev->ws_close_code, L_(l, ws_close_code_text(ev->ws_close_code)));
			if (ev->ws_close_code == 1008 || ev->ws_close_code == 1003)
				say(f, l, "fixhint", "%s", L_(l, N_("the server refused what this client sent: check -u/-P and the client id, and the broker's log for why")));
			else if (ev->ws_close_code == 1009)
				say(f, l, "fixhint", "%s", L_(l, N_("the server's message size limit is lower than this client's CONNECT: shorten the will or properties, or raise the limit")));
			else
				say(f, l, "fixhint", "%s", L_(l, N_("check the broker's log for why it closed the connection")));
			break;
		case CAUSE_WS_PROTOCOL_ERROR:
			if (ev->ws_upgrade == WS_HEAD_TOO_LARGE)
				say(f, l, "detail", L_(l, N_("the answer to the upgrade request had no end of its headers within %d bytes, far more than any WebSocket server sends")), WS_MAX_HEAD);
			else
				say(f, l, "detail", L_(l, N_("%s; this client closed the WebSocket with status %d")), L_(l, ev->ws_error_text ? ev->ws_error_text : "?"),
						ws_error_close_code((enum ws_error)ev->ws_error));
			break;
		case CAUSE_WS_UPGRADE_TIMEOUT:
			say(f, l, "detail", L_(l, N_("the %s connection was up and the upgrade request (GET %s) was sent, but no complete answer came within --connect-timeout %d s")),
					ev->used_tls ? "TLS" : "TCP", ev->ws_path, seconds);
			break;
		default:
			break;
		}
	}
}

/* A SOCKS5 proxy stopped the connection before the broker was reached. */
static void fill_proxy(struct facts *f, enum cause c, const struct evidence *ev, const struct config *cfg, int seconds)
{
	const char *user = cfg && cfg->socks5_username ? cfg->socks5_username : NULL;
	put(f, "proxy", "%s:%d", cfg && cfg->socks5_host ? cfg->socks5_host : "?", cfg ? cfg->socks5_port : 0);
	put(f, "code", "%d", ev->proxy_rep);
	put(f, "rep", "%s", socks_rep_text(ev->proxy_rep));
	char first[64] = "";
	for (int i = 0, at = 0; i < ev->proxy_first_len && at + 4 < (int)sizeof(first); i++)
		at += snprintf(first + at, sizeof(first) - (size_t)at, "%s%02x", i ? " " : "", ev->proxy_first[i]);
	EACH_LANG(l) {
		switch (c) {
		case CAUSE_PROXY_AUTH_REFUSED:
			if (ev->proxy_result == SOCKS_METHOD_REFUSED)
				say(f, l, "detail", L_(l, N_("the proxy accepted none of the authentication methods offered (%s, RFC 1928): %s")),
						user ? L_(l, N_("username/password")) : L_(l, N_("no authentication")),
						user ? L_(l, N_("it does not take a user name and password; drop them from --proxy"))
						: L_(l, N_("it wants a user name and password: give them in --proxy")));
			else
				say(f, l, "detail", L_(l, N_("the proxy answered the user name %s and its password with status %d (RFC 1929: refused)")),
						user ? user : "?", ev->proxy_first_len >= 4 ? ev->proxy_first[3] : -1);
			break;
		case CAUSE_PROXY_TARGET_REFUSED:
			if (ev->proxy_rep == 2)
				say(f, l, "fixhint", "%s", L_(l, N_("the proxy's rules do not allow this destination: ask its operator to allow the broker's host and port")));
			else if (ev->proxy_rep == 3 || ev->proxy_rep == 4)
				say(f, l, "fixhint", "%s", L_(l, N_("the proxy resolves and reaches the host itself (socks5h): check the host name with -h as the proxy sees it, and the proxy's network")));
			else if (ev->proxy_rep == 5)
				say(f, l, "fixhint", "%s", L_(l, N_("nothing listens at that host and port as seen from the proxy: check -h and -p, and that the broker runs")));
			else
				say(f, l, "fixhint", "%s", L_(l, N_("check the proxy's log for why it failed")));
			break;
		case CAUSE_PROXY_NO_ANSWER:
			say(f, l, "detail", L_(l, N_("the TCP connection to the proxy was up and the SOCKS5 greeting sent, but no answer came within --connect-timeout %d s")),
					seconds);
			break;
		case CAUSE_PROXY_NOT_SOCKS:
			if (ev->proxy_first_len)
				say(f, l, "detail", L_(l, N_("the SOCKS5 greeting was answered with bytes that are not SOCKS5 (%s)%s")), first,
						ev->proxy_first[0] == 'H' ? L_(l, N_(": they look like HTTP, so this is a web server or an HTTP proxy")) : "");
			else
				say(f, l, "detail", "%s", L_(l, N_("the proxy closed the connection without answering the SOCKS5 greeting")));
			break;
		default:
			break;
		}
	}
}

/* When the post-mortem probes were left out (--proxy) or cut short
 * (--connect-timeout), the why line says what was not checked. */
static void note_probes(const struct evidence *ev, int seconds, struct report *r)
{
	if ((!ev->probes_cut && !ev->probes_proxy) || !r->n || ev->proxy_result)
		return;
	struct finding *fd = &r->v[r->n - 1];
	char **why[2] = {&fd->why, &fd->lwhy};
	EACH_LANG(l) {
		char *old = *why[l], *neu = NULL; /* no local text: the English is used */
		char note[400];
		if (ev->probes_proxy)
			snprintf(note, sizeof(note), "%s", L_(l, N_("the probes that tell what the port speaks (TLS, MQTT) were left out: with --proxy they would have gone to the broker directly, so that was not checked")));
		else
			snprintf(note, sizeof(note), L_(l, N_("the probes that tell what the port speaks (TLS, MQTT) could not finish within --connect-timeout %d s, so that was not checked")), seconds);
		if (!old || asprintf(&neu, "%s; %s", old, note) < 0)
			continue;
		free(old);
		*why[l] = neu;
	}
}

static char *append(char *text, const char *more)
{
	char *out = NULL;
	if (!text || asprintf(&out, "%s%s", text, more) < 0)
		return text;
	free(text);
	return out;
}

/* A failure past name resolution with options from a profile in effect
 * may come from the profile: the evidence names it and what it supplied,
 * and the fix offers --no-profile. */
static void profile_note(const struct config *cfg, const struct evidence *ev, struct report *r, enum cause c)
{
	if (!cfg->applied_profile || !cfg->profile_supplied || ev->stage == STAGE_RESOLVE)
		return;
	cJSON *o = cJSON_AddObjectToObject(r->evidence, "profile");
	if (o) {
		cJSON_AddStringToObject(o, "name", cfg->applied_profile);
		cJSON_AddStringToObject(o, "from", cfg->applied_profile_from ? cfg->applied_profile_from : "");
		cJSON_AddStringToObject(o, "supplied", cfg->profile_supplied);
	}
	if (r->n == 0 || r->v[r->n - 1].cause != c)
		return;
	struct finding *fi = &r->v[r->n - 1];
	EACH_LANG(l) {
		char more[1024];
		snprintf(more, sizeof(more), L_(l, N_("; or, if profile '%s' (%s) should not apply to this broker, run with --no-profile "
				"(the profile supplied %s)")), cfg->applied_profile, cfg->applied_profile_from ? cfg->applied_profile_from : "",
				cfg->profile_supplied);
		if (!l)
			fi->fix = append(fi->fix, more);
		else if (fi->lfix)
			fi->lfix = append(fi->lfix, more);
	}
}

enum cause diagnose(const struct evidence *ev, const struct tls *t, const struct config *cfg,
		int seconds, struct report *r)
{
	enum cause c = classify(ev);
	struct facts f;
	memset(&f, 0, sizeof(f));
	put(&f, "seconds", "%d", seconds);
	switch (c) {
	case CAUSE_CONNECTION_REFUSED:
		EACH_LANG(l)
			say(&f, l, "ports", "%s", cfg->ws ? L_(l, N_("a broker's WebSocket port is whatever its configuration says (mosquitto: a "
					"listener with protocol websockets; 8080 and 9001 are common)"))
					: L_(l, N_("brokers commonly use 1883 for plain MQTT and 8883 for TLS (mosquitto's defaults)")));
		break;
	case CAUSE_DNS_FAILURE:
		EACH_LANG(l)
			say(&f, l, "detail", L_(l, N_("the resolver said: %s")), ev->eai ? gai_strerror(ev->eai) : "no such host");
		break;
	case CAUSE_NETWORK_UNREACHABLE:
		EACH_LANG(l)
			say(&f, l, "detail", L_(l, N_("connect() failed: %s")), strerror(ev->sys_errno ? ev->sys_errno : EHOSTUNREACH));
		break;
	case CAUSE_SERVER_CERT_UNTRUSTED: case CAUSE_SERVER_CERT_SELF_SIGNED: case CAUSE_SERVER_CHAIN_INCOMPLETE:
	case CAUSE_HOSTNAME_MISMATCH: case CAUSE_SERVER_CERT_EXPIRED: case CAUSE_SERVER_CERT_NOT_YET_VALID:
	case CAUSE_SERVER_CERT_WRONG_PURPOSE: case CAUSE_WEAK_CRYPTO:
		fill_tls_verify(&f, c, ev, t, cfg);
		break;
	case CAUSE_CLIENT_CERT_REQUIRED:
		put(&f, "alert", "%s (%d)", tls_alert_name(ev->alert_received), ev->alert_received);
		EACH_LANG(l) {
			if (ev->alert_received == SSL_AD_CLOSE_NOTIFY)
				say(&f, l, "detail", "%s", L_(l, N_("the broker asked for a client certificate during the handshake, this run sent none, and "
						"it ended the session (close_notify) without a CONNACK, as a TLS terminator that requires one does "
						"(nginx: ssl_verify_client on)")));
			else
				say(&f, l, "detail", L_(l, N_("the broker sent alert %s (%d): it requires a client certificate (mosquitto: "
						"require_certificate true; HAProxy: verify required) and this run sent none")),
						tls_alert_name(ev->alert_received), ev->alert_received);
		}
		break;
	case CAUSE_CLIENT_CERT_UNKNOWN_CA: case CAUSE_CLIENT_CERT_REJECTED:
		fill_rejected(&f, c, ev, cfg);
		break;
	case CAUSE_PROTOCOL_VERSION_MISMATCH:
		fill_versions(&f, ev, cfg);
		break;
	case CAUSE_NO_SHARED_CIPHER:
		EACH_LANG(l) {
			if (cfg->ciphers)
				say(&f, l, "detail", L_(l, N_("the broker found no cipher suite it shares with this client (--ciphers %s)")), cfg->ciphers);
			else
				say(&f, l, "detail", "%s", L_(l, N_("the broker found no cipher suite it shares with this client")));
		}
		break;
	case CAUSE_PSK_MISMATCH:
		EACH_LANG(l)
			say(&f, l, "identity", "%s", cfg->psk_identity ? cfg->psk_identity : L_(l, N_("(none given)")));
		put(&f, "alert", "%s (%d)", tls_alert_name(ev->alert_received >= 0 ? ev->alert_received : ev->alert_sent),
				ev->alert_received >= 0 ? ev->alert_received : ev->alert_sent);
		break;
	case CAUSE_ALPN_MISMATCH:
		EACH_LANG(l)
			say(&f, l, "alpn", "%s", cfg->tls_alpn ? cfg->tls_alpn : L_(l, N_("(none given)")));
		break;
	case CAUSE_TLS_TO_PLAIN_PORT: {
		/* the options that turned TLS on, as this run gave them */
		const char *opts[6];
		size_t n = 0;
		if (cfg->cafile) opts[n++] = "--cafile";
		if (cfg->capath) opts[n++] = "--capath";
		if (cfg->tls_use_os_certs) opts[n++] = "--tls-use-os-certs";
		if (cfg->psk) opts[n++] = "--psk";
		if (cfg->certfile) opts[n++] = "--cert";
		if (cfg->keyfile) opts[n++] = "--key";
		EACH_LANG(l) {
			char http[200] = "";
			if (ev->probe_http[0])
				snprintf(http, sizeof(http), L_(l, N_("; a WebSocket upgrade request in the clear to the same port got \"%s\": it is an HTTP (websockets) "
						"listener without TLS")), ev->probe_http);
			say(&f, l, "detail", L_(l, N_("the TLS ClientHello got %s%s")), ev->non_tls_reply ? L_(l, N_("an answer that is not TLS"))
					: L_(l, N_("no TLS answer: the peer closed the connection")),
					ev->probe_tls_answered ? "" : http[0] ? http : cfg->ws ? L_(l, N_("; a websockets listener without TLS behaves like this"))
					: L_(l, N_("; a plain MQTT listener behaves like this")));
			char list[160] = "";
			for (size_t i = 0; i < n; i++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
						i == 0 ? "" : i + 1 == n ? L_(l, N_(" and ")) : L_(l, N_(", ")), opts[i]);
			if (cfg->ws || ev->probe_http[0])
				say(&f, l, "fixhint", "%s", L_(l, N_("use the broker's websockets port with TLS (wss://) with -p, or ws:// (--ws without TLS options) for this port")));
			else if (n)
				say(&f, l, "fixhint", L_(l, N_("use the broker's TLS port (often 8883) with -p, or drop %s to connect without TLS")), list);
			else
				say(&f, l, "fixhint", "%s", L_(l, N_("use the broker's TLS port with -p; port 8883 turns TLS on by itself, so give the broker's plain "
						"port (often 1883) to connect without TLS")));
		}
		break;
	}
	case CAUSE_HANDSHAKE_TIMEOUT:
		EACH_LANG(l)
			if (cfg && cfg->socks5_host && !ev->ws)
				say(&f, l, "detail", L_(l, N_("the proxy %s:%d accepted the TCP connection, but nothing came back through it: either the proxy did not answer the SOCKS5 handshake or the broker behind it did not answer")),
						cfg->socks5_host, cfg->socks5_port);
			else
			say(&f, l, "detail", L_(l, N_("the TCP connection was accepted, but %s")), ev->used_tls ? (ev->handshake_done
					? L_(l, N_("after the TLS handshake no CONNACK came back")) : ev->server_hello_seen
					? L_(l, N_("the TLS handshake did not finish")) : L_(l, N_("no TLS ServerHello came back")))
					: L_(l, N_("no CONNACK came back")));
		break;
	case CAUSE_MQTT_AUTH_FAILED: case CAUSE_MQTT_PROTOCOL_REJECTED: case CAUSE_MQTT_IDENTIFIER_REJECTED:
	case CAUSE_MQTT_SERVER_UNAVAILABLE: case CAUSE_MQTT_REFUSED: case CAUSE_BROKER_CLOSED: case CAUSE_PLAIN_TO_TLS_PORT:
		fill_mqtt(&f, c, ev, cfg);
		break;
	case CAUSE_MQTT_PROTOCOL_ERROR:
		fill_reply(&f, ev, seconds);
		break;
	case CAUSE_MQTT_PACKET_TOO_LARGE: {
		unsigned long announced = 0;
		mqtt_reply_kind(ev->reply, (size_t)ev->reply_len, &announced);
		put(&f, "packet", "%s", ev->reply[0] == 0xf0 ? "AUTH" : "CONNACK");
		put(&f, "announced", "%lu", announced);
		fill_reply(&f, ev, seconds);
		break;
	}
	case CAUSE_MQTT_CONTROL_TOO_LARGE: case CAUSE_MQTT_MESSAGE_TOO_LARGE:
		fill_gate(&f, ev, cfg);
		break;
	case CAUSE_MQTT_TO_HTTP_PORT:
		put(&f, "scheme", "%s", ev->used_tls ? "wss" : "ws");
		put(&f, "mqttport", "%s", ev->used_tls ? "8883" : "1883");
		EACH_LANG(l) {
			char bytes[128];
			reply_bytes(ev, l, bytes, sizeof(bytes));
			if (ev->reply_len > 0)
				say(&f, l, "detail", L_(l, N_("it answered the MQTT CONNECT with %s: an HTTP answer, so an HTTP server (a websockets "
						"listener, or a web server) listens there")), bytes);
			else if (ev->used_tls)
				say(&f, l, "detail", L_(l, N_("%s, and a WebSocket upgrade request over TLS to the same port got \"%s\": an HTTP server (a "
						"websockets listener with TLS, or a web server) listens there, and it does not answer MQTT")), ev->timed_out
						? L_(l, N_("no CONNACK came back within --connect-timeout")) : L_(l, N_("it closed the connection without a CONNACK")),
						ev->probe_http);
			else
				say(&f, l, "detail", L_(l, N_("%s, and a WebSocket upgrade request in the clear to the same port got \"%s\": an HTTP server (a websockets "
						"listener, or a web server) listens there, and it does not answer MQTT")), ev->timed_out
						? L_(l, N_("no CONNACK came back within --connect-timeout")) : L_(l, N_("it closed the connection without a CONNACK")),
						ev->probe_http);
		}
		break;
	case CAUSE_TLS_MESSAGE_TOO_LARGE:
		EACH_LANG(l)
			say(&f, l, "detail", L_(l, N_("after the ServerHello, the broker sent a handshake message of more than %ld bytes, OpenSSL's limit "
					"(excessive message size), and this client answered alert %s: that message carries the broker's "
					"certificate chain (or the list of CAs it accepts), so the broker sends too many certificates or very "
					"large ones")), t && t->ctx ? (long)SSL_CTX_get_max_cert_list(t->ctx) : 102400L,
					ev->alert_sent >= 0 ? tls_alert_name(ev->alert_sent) : "none");
		break;
	case CAUSE_TLS_PROTOCOL_ERROR:
		EACH_LANG(l)
			say(&f, l, "detail", L_(l, N_("%s, it sent a TLS record this client cannot accept (OpenSSL: %s), and this client answered "
					"alert %s")), ev->server_hello_seen ? L_(l, N_("during the handshake, after its ServerHello"))
					: L_(l, N_("in answer to the ClientHello")),
					reason_text(ev->ssl_reason), ev->alert_sent >= 0 ? tls_alert_name(ev->alert_sent) : "none");
		break;
	case CAUSE_WS_PATH_NOT_FOUND: case CAUSE_WS_UNAUTHORIZED: case CAUSE_WS_REDIRECT: case CAUSE_WS_NOT_WEBSOCKET:
	case CAUSE_WS_NO_SUBPROTOCOL: case CAUSE_WS_WRONG_SUBPROTOCOL: case CAUSE_WS_BAD_ACCEPT: case CAUSE_WS_NOT_HTTP:
	case CAUSE_WS_TO_TLS_PORT: case CAUSE_WS_CLOSED: case CAUSE_WS_PROTOCOL_ERROR: case CAUSE_WS_UPGRADE_TIMEOUT:
	case CAUSE_WS_UNREQUESTED_EXTENSION:
		fill_ws(&f, c, ev, seconds);
		break;
	case CAUSE_PROXY_AUTH_REFUSED: case CAUSE_PROXY_TARGET_REFUSED: case CAUSE_PROXY_NO_ANSWER: case CAUSE_PROXY_NOT_SOCKS:
		fill_proxy(&f, c, ev, cfg, seconds);
		break;
	case CAUSE_TLS_UNCLASSIFIED:
		EACH_LANG(l)
			say(&f, l, "detail", L_(l, N_("verify error %d, alert sent %s, alert received %s, OpenSSL reason '%s', errno %s")),
				ev->verify_error, ev->alert_sent >= 0 ? tls_alert_name(ev->alert_sent) : "none",
				ev->alert_received >= 0 ? tls_alert_name(ev->alert_received) : "none", reason_text(ev->ssl_reason),
				ev->sys_errno ? strerror(ev->sys_errno) : "none");
		break;
	default:
		break;
	}
	report_add(r, c, SEV_FATAL, f.s, f.n);
	note_probes(ev, seconds, r);
	add_evidence(ev, t, r);
	profile_note(cfg, ev, r, c);
	return c;
}
