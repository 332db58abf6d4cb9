/* check: --check, a report of every local check and of one probe
 * connection (TCP, TLS, CONNECT/CONNACK, DISCONNECT), publishing nothing;
 * smqtt_rr's also subscribes to its response topic (-e), to see the SUBACK,
 * and then unsubscribes. */
#include "check.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
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
	cJSON *chain_json;      /* the broker's chain, for the JSON line */
	int min_days;           /* the fewest days left of a certificate in it */
	char min_subject[256];
	char min_not_after[64];
};

static void on_connect(struct mosquitto *mosq, void *obj, int result, int flags, const mosquitto_property *props)
{
	struct probe *p = obj;
	(void)flags;
	(void)props;
	p->connack = true;
	p->result = result;
	SSL *ssl = client_ssl(&p->client);
	if (ssl) {
		snprintf(p->tls, sizeof(p->tls), _("%s, cipher %s"), SSL_get_version(ssl), SSL_get_cipher_name(ssl));
		STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
		size_t used = 0;
		for (int i = 0; chain && i < sk_X509_num(chain); i++) {
			X509 *x = sk_X509_value(chain, i);
			char s[256], is[256], na[64] = "?", left[64];
			struct tm tm;
			X509_NAME_oneline(X509_get_subject_name(x), s, sizeof(s));
			X509_NAME_oneline(X509_get_issuer_name(x), is, sizeof(is));
			if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
				strftime(na, sizeof(na), "%Y-%m-%d", &tm);
			int days = preflight_days_left(x);
			preflight_days_text(days, 1, left, sizeof(left));
			if (days < p->min_days) {
				p->min_days = days;
				snprintf(p->min_subject, sizeof(p->min_subject), "%s", s);
				snprintf(p->min_not_after, sizeof(p->min_not_after), "%s", na);
			}
			if (p->chain_json)
				cJSON_AddItemToArray(p->chain_json, preflight_cert_json(x));
			int n = snprintf(p->chain + used, sizeof(p->chain) - used, _("        %d: %s -> %s (valid until %s, %s left)\n"),
					i, s, is, na, left);
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

int check_run(struct config *cfg, const struct diag *d)
{
	int port = client_port(cfg);
	bool ok = true;
	struct report r;
	report_init(&r, cfg->host, port);
	diag_check_note(d, "%s --check %s:%d\n", d->prog, cfg->host, port);
	if (cfg->profile_hint)
		diag_check_note(d, "  note  %s\n", cfg->profile_hint);

	struct tls_files files;
	tls_files_init(&files);
	char off[512];
	if (preflight_tls_off(cfg, port, off, sizeof(off))) {
		diag_check_note(d, "  warn  %s\n", off);
	} else if (preflight_applies(cfg)) {
		preflight_run(cfg, isatty(STDIN_FILENO), &r, &files);
		for (size_t i = 0; i < r.n; i++)
			diag_check_line(d, &r.v[i]);
		if (report_count(&r, SEV_FATAL)) {
			diag_check_note(d, "result: the local checks failed; no connection was attempted\n");
			if (cfg->diag_json)
				diag_print_report(d, &r, true, STAGE_PREFLIGHT);
			report_free(&r);
			tls_files_free(&files);
			return 1;
		}
	} else {
		if (cfg->psk)
			diag_check_note(d, "  pass  no TLS files to check (plain MQTT or TLS-PSK)\n");
		else
			diag_check_note(d, "  pass  no TLS files to check (plain MQTT)\n");
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
		return 1;
	}
	mosquitto_connect_v5_callback_set(p.client.mosq, on_connect);
	mosquitto_disconnect_v5_callback_set(p.client.mosq, on_disconnect);
	mosquitto_subscribe_callback_set(p.client.mosq, on_subscribe);
	p.granted = -1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = client_connect(&p.client);
	int status = rc;
	if (rc == 0) {
		diag_check_note(d, "  pass  TCP connection to %s:%d\n", cfg->host, port);
		if (p.client.ws_on)
			diag_check_note(d, "  pass  WebSocket upgrade: %s -> %d %s, subprotocol %s\n", p.client.ws.request_line,
					p.client.ws.head.status, p.client.ws.head.reason, p.client.ws.head.subprotocol);
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
		diag_check_note(d, "  pass  TLS %s\n", p.tls);
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
		}
		if (cfg->insecure)
			diag_check_note(d, "  warn  hostname not checked (--insecure)\n");
		else if (p.names[0])
			diag_check_note(d, "  pass  hostname %s matches the broker certificate (%s)\n", cfg->host, p.names);
		else
			diag_check_note(d, "  pass  hostname %s matches the broker certificate (its Common Name)\n", cfg->host);
	}
	if (p.connack) {
		const char *text = cfg->protocol_version == MQTT_PROTOCOL_V5 ? mosquitto_reason_string(p.result)
			: mosquitto_connack_string(p.result);
		diag_check_note(d, "  %s  MQTT CONNACK %d (%s) in %.1f ms\n", p.result ? "FAIL" : "pass", p.result, text, ms);
		ok = p.result == 0;
		status = ok ? 0 : client_finish(&p.client, 0, p.result);
		if (ok && cfg->tool == TOOL_RR && cfg->response_topic) {
			if (p.granted >= 0 && p.granted < 128)
				diag_check_note(d, "  pass  SUBACK for the response topic '%s': granted QoS %d\n", cfg->response_topic, p.granted);
			else if (p.granted >= 128)
				diag_check_note(d, "  FAIL  the broker refused the subscription to the response topic '%s': %s\n",
						cfg->response_topic, mosquitto_reason_string(p.granted));
			else
				diag_check_note(d, "  FAIL  no SUBACK for the response topic '%s'\n", cfg->response_topic);
			ok = p.granted >= 0 && p.granted < 128;
		} else if (ok && cfg->tool == TOOL_RR) {
			diag_check_note(d, "  warn  no response topic (-e) given: its subscription was not checked\n");
		}
	} else {
		if (status == 0)
			status = client_finish(&p.client, rc ? rc : MOSQ_ERR_CONN_LOST, 0);
		diag_check_note(d, "  FAIL  connection: the explanation is on stderr\n");
		ok = false;
	}
	if (ok)
		diag_check_note(d, "result: all checks passed\n");
	else
		diag_check_note(d, "result: a check failed\n");
	if (ok && cfg->diag_json) {
		/* the dates of every certificate involved, for monitoring */
		if (!r.evidence)
			r.evidence = cJSON_CreateObject();
		cJSON_AddItemToObject(r.evidence, "broker_chain", p.chain_json);
		p.chain_json = NULL;
		diag_report_json(d, &r, STAGE_MQTT);
	}
	cJSON_Delete(p.chain_json);
	client_free(&p.client);
	report_free(&r);
	return ok ? 0 : (status ? status : 1);
}
