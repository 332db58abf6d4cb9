/* diagnose: fills the cause table's slots from the evidence (see
 * diagnose.h). The words live in explain.c; this file gathers the facts:
 * the dispatch by cause, the TCP and MQTT stages, the evidence as JSON and
 * the notes on probes and profiles. The TLS stage is diagnosetls.c's, the
 * WebSocket and proxy stages diagnosews.c's. */
#include "diagnose.h"
#include "diagnoseparts.h"
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

void diagnose_name(const X509_NAME *n, char *buf, size_t len)
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

void diagnose_when(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;
	if (t && ASN1_TIME_to_tm(t, &tm))
		strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	else
		snprintf(buf, len, "?");
}

const char *diagnose_reason_text(int reason)
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
			cJSON_AddStringToObject(e, "ssl_reason", diagnose_reason_text(ev->ssl_reason));
		cJSON_AddBoolToObject(e, "fallback_scsv", ev->fallback_scsv);
		if (t && t->peer_chain) {
			cJSON *a = cJSON_AddArrayToObject(e, "broker_chain");
			for (int i = 0; i < sk_X509_num(t->peer_chain); i++) {
				X509 *x = sk_X509_value(t->peer_chain, i);
				char s[300], is[300], nb[64], na[64];
				diagnose_name(X509_get_subject_name(x), s, sizeof(s));
				diagnose_name(X509_get_issuer_name(x), is, sizeof(is));
				diagnose_when(X509_get0_notBefore(x), nb, sizeof(nb));
				diagnose_when(X509_get0_notAfter(x), na, sizeof(na));
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
		diagnose_fill_tls_verify(&f, c, ev, t, cfg);
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
		diagnose_fill_rejected(&f, c, ev, cfg);
		break;
	case CAUSE_PROTOCOL_VERSION_MISMATCH:
		diagnose_fill_versions(&f, ev, cfg);
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
					diagnose_reason_text(ev->ssl_reason), ev->alert_sent >= 0 ? tls_alert_name(ev->alert_sent) : "none");
		break;
	case CAUSE_WS_PATH_NOT_FOUND: case CAUSE_WS_UNAUTHORIZED: case CAUSE_WS_REDIRECT: case CAUSE_WS_NOT_WEBSOCKET:
	case CAUSE_WS_NO_SUBPROTOCOL: case CAUSE_WS_WRONG_SUBPROTOCOL: case CAUSE_WS_BAD_ACCEPT: case CAUSE_WS_NOT_HTTP:
	case CAUSE_WS_TO_TLS_PORT: case CAUSE_WS_CLOSED: case CAUSE_WS_PROTOCOL_ERROR: case CAUSE_WS_UPGRADE_TIMEOUT:
	case CAUSE_WS_UNREQUESTED_EXTENSION:
		diagnose_fill_ws(&f, c, ev, seconds);
		break;
	case CAUSE_PROXY_AUTH_REFUSED: case CAUSE_PROXY_TARGET_REFUSED: case CAUSE_PROXY_NO_ANSWER: case CAUSE_PROXY_NOT_SOCKS:
		diagnose_fill_proxy(&f, c, ev, cfg, seconds);
		break;
	case CAUSE_TLS_UNCLASSIFIED:
		EACH_LANG(l)
			say(&f, l, "detail", L_(l, N_("verify error %d, alert sent %s, alert received %s, OpenSSL reason '%s', errno %s")),
				ev->verify_error, ev->alert_sent >= 0 ? tls_alert_name(ev->alert_sent) : "none",
				ev->alert_received >= 0 ? tls_alert_name(ev->alert_received) : "none", diagnose_reason_text(ev->ssl_reason),
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

