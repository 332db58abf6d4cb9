/* check: --check, a report of every local check and of one probe
 * connection (TCP, TLS, CONNECT/CONNACK, DISCONNECT), publishing nothing;
 * smqtt_rr's also subscribes to its response topic (-e), to see the SUBACK,
 * and then unsubscribes. */
#include "check.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "probe.h"
#include "l10n.h"
#include "preflight.h"
#include "report.h"

struct probe {
	struct client client;
	bool connack;
	int result;
	bool disconnected;
	int granted;            /* smqtt_rr: the SUBACK's code for -e (-1: none) */
	char tls[256];
	char chain[4096];
	char names[1024];
	int version;            /* the TLS version agreed (TLS1_x_VERSION), 0 */
	int seclevel;           /* OpenSSL's security level on the connection */
	char cipher[128];
	char version_name[32];  /* "TLSv1.3" */
	cJSON *chain_json;      /* the broker's chain, for the JSON line */
	int min_days;           /* the fewest days left of a certificate in it */
	char min_subject[256];
	char min_not_after[64];
};

/* One certificate of a broker chain as the report lists it: subject,
 * issuer, the last day, and the days left (in the user's language). */
struct cert_line {
	char subject[256], issuer[256], not_after[64], left[64];
	int days;
};

static void describe_cert(X509 *x, struct cert_line *c)
{
	struct tm tm;
	X509_NAME_oneline(X509_get_subject_name(x), c->subject, sizeof(c->subject));
	X509_NAME_oneline(X509_get_issuer_name(x), c->issuer, sizeof(c->issuer));
	snprintf(c->not_after, sizeof(c->not_after), "?");
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		strftime(c->not_after, sizeof(c->not_after), "%Y-%m-%d", &tm);
	c->days = preflight_days_left(x);
	preflight_days_text(c->days, 1, c->left, sizeof(c->left));
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *line)
{
	(void)mosq;
	client_log(&((struct probe *)obj)->client, level, line);
}

static void on_connect(struct mosquitto *mosq, void *obj, int result, int flags, const mosquitto_property *props)
{
	struct probe *p = obj;
	(void)flags;
	(void)props;
	p->connack = true;
	p->result = result;
	SSL *ssl = client_ssl(&p->client);
	if (ssl) {
		snprintf(p->tls, sizeof(p->tls), "%s", SSL_get_version(ssl));
		p->version = SSL_version(ssl);
		snprintf(p->version_name, sizeof(p->version_name), "%s", SSL_get_version(ssl));
		p->seclevel = SSL_get_security_level(ssl);
		snprintf(p->cipher, sizeof(p->cipher), "%s", SSL_get_cipher_name(ssl));
		STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
		size_t used = 0;
		for (int i = 0; chain && i < sk_X509_num(chain); i++) {
			X509 *x = sk_X509_value(chain, i);
			struct cert_line c;
			describe_cert(x, &c);
			if (c.days < p->min_days) {
				p->min_days = c.days;
				snprintf(p->min_subject, sizeof(p->min_subject), "%s", c.subject);
				snprintf(p->min_not_after, sizeof(p->min_not_after), "%s", c.not_after);
			}
			if (p->chain_json)
				cJSON_AddItemToArray(p->chain_json, preflight_cert_json(x));
			int n = snprintf(p->chain + used, sizeof(p->chain) - used, _("        %d: %s -> %s (valid until %s, %s left)\n"),
					i, c.subject, c.issuer, c.not_after, c.left);
			if (n < 0 || (size_t)n >= sizeof(p->chain) - used)
				break;
			used += (size_t)n;
		}
		X509 *leaf = SSL_get1_peer_certificate(ssl);
		if (leaf) {
			GENERAL_NAMES *sans = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
			size_t u = 0;
			for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans); i++) {
				GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
				if (g->type == GEN_DNS)
					u += (size_t)snprintf(p->names + u, sizeof(p->names) - u, "%sDNS:%s", u ? ", " : "",
							(const char *)ASN1_STRING_get0_data(g->d.dNSName));
				else if (g->type == GEN_IPADD && ASN1_STRING_length(g->d.iPAddress) == 4) {
					const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
					u += (size_t)snprintf(p->names + u, sizeof(p->names) - u, "%sIP:%d.%d.%d.%d", u ? ", " : "", a[0], a[1], a[2], a[3]);
				}
				if (u >= sizeof(p->names))
					break;
			}
			GENERAL_NAMES_free(sans);
			X509_free(leaf);
		}
	}
	/* smqtt_rr: is the response topic subscribable? */
	struct config *cfg = p->client.cfg;
	if (!result && cfg->tool == TOOL_RR && cfg->response_topic
			&& mosquitto_subscribe_v5(mosq, NULL, cfg->response_topic, cfg->qos, 0, cfg->subscribe_props) == MOSQ_ERR_SUCCESS)
		return;
	mosquitto_disconnect(mosq);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted)
{
	struct probe *p = obj;
	(void)mid;
	p->granted = qos_count > 0 ? granted[0] : 128;
	if (p->granted < 128)
		mosquitto_unsubscribe(mosq, NULL, p->client.cfg->response_topic);
	mosquitto_disconnect(mosq);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	struct probe *p = obj;
	(void)mosq;
	(void)rc;
	(void)props;
	p->disconnected = true;
}

/* The steps of the report: each printed as a line on stdout (in the
 * user's language) and kept for the JSON (in English) with its verdict. */
struct steps {
	cJSON *arr;
	int warnings;
};

static void step(struct steps *k, const char *verdict, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void step(struct steps *k, const char *verdict, const char *name, const char *fmt, ...)
{
	char en[1024], loc[1024];
	va_list ap, aq;
	va_start(ap, fmt);
	va_copy(aq, ap);
	vsnprintf(en, sizeof(en), fmt, ap);
	vsnprintf(loc, sizeof(loc), _(fmt), aq);
	va_end(aq);
	va_end(ap);
	printf("  %s  %s\n", verdict, loc);
	if (!strcmp(verdict, "warn"))
		k->warnings++;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "step", name);
	cJSON_AddStringToObject(o, "verdict", !strcmp(verdict, "FAIL") ? "fail" : verdict);
	cJSON_AddStringToObject(o, "detail", en);
	cJSON_AddItemToArray(k->arr, o);
}

/* The JSON form of a finding as a step. */
static void step_finding(struct steps *k, const char *name, const struct finding *f)
{
	static const char *verdict[] = {"fail", "warn", "pass"};
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "step", name);
	cJSON_AddStringToObject(o, "verdict", verdict[f->sev]);
	cJSON_AddStringToObject(o, "detail", f->summary ? f->summary : "");
	if (f->sev != SEV_PASS) {
		cJSON_AddStringToObject(o, "cause", cause_info(f->cause)->id);
		cJSON_AddStringToObject(o, "why", f->why ? f->why : "");
		cJSON_AddStringToObject(o, "fix", f->fix ? f->fix : "");
	}
	cJSON_AddItemToArray(k->arr, o);
	if (f->sev == SEV_WARNING)
		k->warnings++;
}

/* What the connection got through before it failed, from its evidence. */
static void steps_before_failure(struct steps *k, const struct client *c, const struct config *cfg, int port, bool tcp_listed)
{
	const struct evidence *ev = &c->ev;
	if (ev->stage <= STAGE_TCP)
		return;
	if (!tcp_listed)
		step(k, "pass", "tcp", N_("TCP connection to %s:%d"), cfg->host, port);
	if (ev->used_tls && ev->server_hello_seen) {
		if (ev->handshake_done)
			step(k, "pass", "tls", N_("TLS handshake"));
		else
			step(k, "pass", "tls", N_("TLS: the broker answered the ClientHello"));
		if (ev->verify_error == X509_V_ERR_HOSTNAME_MISMATCH || ev->verify_error == X509_V_ERR_IP_ADDRESS_MISMATCH
				|| (ev->handshake_done && ev->verify_error < 0))
			step(k, "pass", "chain", N_("the broker's certificate chain leads to a trusted CA"));
		if (ev->handshake_done && !cfg->insecure)
			step(k, "pass", "hostname", N_("hostname %s matches the broker certificate"), cfg->host);
	}
	if (ev->ws_open)
		step(k, "pass", "websocket", N_("WebSocket upgrade at %s"), ev->ws_path);
}

/* After a local failure: the broker's chain, from a TLS handshake without
 * client certificate or verification (no MQTT is sent). Printed, and
 * returned as JSON (NULL when the broker sent none). */
static cJSON *probe_chain(const struct diag *d, const struct config *cfg, int port, struct steps *k)
{
	if (cfg->psk || port == 0 || !(cfg->cafile || cfg->capath || cfg->tls_use_os_certs))
		return NULL;
	STACK_OF(X509) *chain = probe_tls_chain(cfg->host, port, cfg->connect_timeout > 0 ? cfg->connect_timeout * 1000 : 5000);
	if (!chain) {
		step(k, "warn", "chain", N_("no TLS certificate chain from %s:%d (a TLS handshake without client certificate got none)"),
				cfg->host, port);
		return NULL;
	}
	step(k, "pass", "chain", N_("the broker's chain, from a TLS handshake without client certificate (not verified; "
			"no MQTT sent), subject -> issuer:"));
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		struct cert_line c;
		describe_cert(x, &c);
		diag_check_note(d, "        %d: %s -> %s (valid until %s, %s left)\n", i, c.subject, c.issuer, c.not_after, c.left);
		cJSON_AddItemToArray(arr, preflight_cert_json(x));
	}
	sk_X509_pop_free(chain, X509_free);
	return arr;
}

int check_run(struct config *cfg, const struct diag *d)
{
	int port = client_port(cfg);
	bool ok = true;
	struct report r;
	report_init(&r, cfg->host, port);
	diag_check_note(d, "%s --check %s:%d\n", d->prog, cfg->host, port);
	if (cfg->profile_hint)
		diag_check_note(d, "  note  %s\n", cfg->profile_hint);

	struct steps k = {cJSON_CreateArray(), 0};
	struct tls_files files;
	tls_files_init(&files);
	char off[512];
	if (preflight_tls_off(cfg, port, off, sizeof(off))) {
		diag_check_note(d, "  warn  %s\n", off);
		k.warnings++;
	} else if (preflight_applies(cfg)) {
		preflight_run(cfg, isatty(STDIN_FILENO), &r, &files);
		for (size_t i = 0; i < r.n; i++) {
			diag_check_line(d, &r.v[i]);
			step_finding(&k, "local", &r.v[i]);
		}
		if (report_count(&r, SEV_FATAL)) {
			/* a report: show the broker's side too, from a TLS handshake alone */
			cJSON *chain_json = probe_chain(d, cfg, port, &k);
			if (chain_json)
				cJSON_AddItemToObject(r.evidence, "broker_chain", chain_json);
			diag_check_note(d, "result: the local checks failed; no MQTT connection was attempted\n");
			if (cfg->diag_json) {
				cJSON_AddItemToObject(r.evidence, "checks", k.arr);
				diag_report_json(d, &r, STAGE_PREFLIGHT);
			} else {
				cJSON_Delete(k.arr);
			}
			report_free(&r);
			tls_files_free(&files);
			return 1;
		}
	} else {
		if (cfg->psk)
			step(&k, "pass", "local", N_("no TLS files to check (plain MQTT or TLS-PSK)"));
		else
			step(&k, "pass", "local", N_("no TLS files to check (plain MQTT)"));
	}

	struct probe p;
	memset(&p, 0, sizeof(p));
	p.min_days = INT_MAX;
	p.chain_json = cJSON_CreateArray();
	cfg_set_str(&cfg->save_profile, NULL);
	cfg->tls_resume = false; /* a check verifies the broker's chain now: always a full handshake */
	if (client_init_checked(&p.client, cfg, d, &p, &files)) {
		client_free(&p.client);
		report_free(&r);
		cJSON_Delete(k.arr);
		cJSON_Delete(p.chain_json);
		return 1;
	}
	p.client.explain_into = &r; /* the report holds the explanation, on stdout */
	mosquitto_connect_v5_callback_set(p.client.mosq, on_connect);
	client_route_log(&p.client, on_log);
	mosquitto_disconnect_v5_callback_set(p.client.mosq, on_disconnect);
	mosquitto_subscribe_callback_set(p.client.mosq, on_subscribe);
	p.granted = -1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t before = r.n; /* findings from here on are the connection's */
	int rc = client_connect(&p.client);
	int status = rc;
	bool connected = rc == 0; /* TCP (and TLS) up: listed as a step */
	if (rc == 0) {
		step(&k, "pass", "tcp", N_("TCP connection to %s:%d"), cfg->host, port);
		time_t deadline = time(NULL) + 30;
		while (!p.disconnected && time(NULL) < deadline) {
			rc = client_loop_step(&p.client, 1000, -1, NULL, NULL);
			if (rc != MOSQ_ERR_SUCCESS)
				break;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (p.tls[0]) {
		step(&k, "pass", "tls", N_("TLS %s, cipher %s"), p.version_name, p.cipher);
		if (p.version && p.version < TLS1_2_VERSION)
			step(&k, "warn", "tls", N_("%s is deprecated (RFC 8996): allowed here only because --tls-version asked for it; "
					"the broker should offer TLS 1.2 or 1.3"), p.version == TLS1_1_VERSION ? "TLS 1.1" : "TLS 1.0");
		if (p.seclevel == 0)
			step(&k, "warn", "tls", N_("OpenSSL security level 0: weak keys, digests and ciphers are accepted on this "
					"connection"));
		diag_check_note(d, "        broker chain (subject -> issuer):\n%s", p.chain);
		if (p.min_days < PREFLIGHT_EXPIRY_WARN_DAYS) {
			char where[2][300], left[2][64], fix[2][600];
			EACH_LANG(l) {
				snprintf(where[l], sizeof(where[l]), L_(l, N_("sent by %s:%d")), cfg->host, port);
				preflight_days_text(p.min_days, l, left[l], sizeof(left[l]));
				snprintf(fix[l], sizeof(fix[l]), L_(l, N_("the broker's certificates must be renewed before %s: tell whoever runs %s")),
						p.min_not_after, cfg->host);
			}
			struct slot w[] = {{"role", "broker", _("broker")}, {"file", where[0], where[1]}, {"subject", p.min_subject, NULL},
				{"not_after", p.min_not_after, NULL}, {"days", left[0], left[1]}, {"fixhint", fix[0], fix[1]}};
			report_add(&r, CAUSE_CERT_EXPIRING, SEV_WARNING, w, 6);
			diag_check_line(d, &r.v[r.n - 1]);
			step_finding(&k, "chain", &r.v[r.n - 1]);
		}
		if (cfg->insecure)
			step(&k, "warn", "hostname", N_("hostname not checked (--insecure)"));
		else if (p.names[0])
			step(&k, "pass", "hostname", N_("hostname %s matches the broker certificate (%s)"), cfg->host, p.names);
		else
			step(&k, "warn", "hostname", N_("hostname %s matches only the broker certificate's Common Name: it has no "
					"subjectAltName, and clients that follow RFC 6125 (Go's, for one) no longer accept a Common Name; "
					"reissue it with subjectAltName"), cfg->host);
	}
	if (p.client.ws_on && p.client.ev.ws_open)
		step(&k, "pass", "websocket", N_("WebSocket upgrade: %s -> %d %s, subprotocol %s"), p.client.ws.request_line,
				p.client.ws.head.status, p.client.ws.head.reason, p.client.ws.head.subprotocol);
	if (p.connack) {
		const char *text = cfg->protocol_version == MQTT_PROTOCOL_V5 ? mosquitto_reason_string(p.result)
			: mosquitto_connack_string(p.result);
		ok = p.result == 0;
		if (ok) {
			step(&k, "pass", "mqtt", N_("MQTT CONNACK %d (%s) in %.1f ms"), p.result, text, ms);
			if (cfg->tool == TOOL_RR && cfg->response_topic) {
				if (p.granted >= 0 && p.granted < 128)
					step(&k, "pass", "suback", N_("SUBACK for the response topic '%s': granted QoS %d"), cfg->response_topic,
							p.granted);
				else if (p.granted >= 128)
					step(&k, "FAIL", "suback", N_("the broker refused the subscription to the response topic '%s': %s"),
							cfg->response_topic, mosquitto_reason_string(p.granted));
				else
					step(&k, "FAIL", "suback", N_("no SUBACK for the response topic '%s'"), cfg->response_topic);
				ok = p.granted >= 0 && p.granted < 128;
			} else if (cfg->tool == TOOL_RR) {
				step(&k, "warn", "suback", N_("no response topic (-e) given: its subscription was not checked"));
			}
		} else {
			before = r.n;
			status = client_finish(&p.client, 0, p.result);
			for (size_t i = before; i < r.n; i++) {
				diag_check_line(d, &r.v[i]);
				step_finding(&k, "mqtt", &r.v[i]);
			}
		}
	} else {
		if (status == 0)
			status = client_finish(&p.client, rc ? rc : MOSQ_ERR_CONN_LOST, 0);
		if (!p.tls[0])
			steps_before_failure(&k, &p.client, cfg, port, connected);
		for (size_t i = before; i < r.n; i++) {
			diag_check_line(d, &r.v[i]);
			step_finding(&k, stage_name(cause_info(r.v[i].cause)->stage), &r.v[i]);
		}
		ok = false;
	}
	if (!ok)
		diag_check_note(d, "result: a check failed\n");
	else if (k.warnings)
		printf(l10n_trn("result: all checks passed with %d warning\n", "result: all checks passed with %d warnings\n",
				(unsigned long)k.warnings), k.warnings);
	else
		diag_check_note(d, "result: all checks passed\n");
	if (cfg->diag_json) {
		cJSON *ev = r.evidence;
		cJSON_AddItemToObject(ev, "checks", k.arr);
		k.arr = NULL;
		if (p.version)
			cJSON_AddStringToObject(ev, "tls_version", p.version_name);
		if (p.cipher[0])
			cJSON_AddStringToObject(ev, "cipher", p.cipher);
		if (p.connack) {
			cJSON_AddNumberToObject(ev, "connack", p.result);
			cJSON_AddStringToObject(ev, "connack_text", cfg->protocol_version == MQTT_PROTOCOL_V5
					? mosquitto_reason_string(p.result) : mosquitto_connack_string(p.result));
		}
		cJSON_AddNumberToObject(ev, "warnings", k.warnings);
		/* the dates of every certificate involved, for monitoring */
		if (p.tls[0] && !cJSON_GetObjectItemCaseSensitive(ev, "broker_chain")) {
			cJSON_AddItemToObject(ev, "broker_chain", p.chain_json);
			p.chain_json = NULL;
		}
		diag_report_json(d, &r, p.client.ev.stage > STAGE_PREFLIGHT ? p.client.ev.stage : STAGE_MQTT);
	}
	cJSON_Delete(k.arr);
	cJSON_Delete(p.chain_json);
	client_free(&p.client);
	report_free(&r);
	return ok ? 0 : (status ? status : 1);
}
