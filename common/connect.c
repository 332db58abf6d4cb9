/* connect: the attempt loop (see client.h): negotiate a TLS version
 * range, install a fresh instrumented context, attempt through the run's
 * transport, and settle a failure: which stage it reached, the post-mortem
 * probes, the explanation and mosquitto's exit status; also the end of a
 * run (client_finish) and smqtt_sub's retries. */
#include "client.h"
#include "l10n.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>

#include "diagnose.h"
#include "negotiate.h"
#include "postmortem.h"
#include "preflight.h"
#include "transport.h"

/* Build the context for one attempt and hand it to libmosquitto. */
static int install_ctx(struct client *c, const struct tls_range *range)
{
	struct tls fresh;
	char *cause = NULL;
	if (tls_init(&fresh, c->cfg, c->port, range, &c->files, c->preflight_deferred, &c->ev, &cause)) {
		diag_report(c->diag, cause ? cause : "cannot set up TLS", N_("the TLS options could not be used, so nothing was sent"),
				N_("correct the option named above"));
		free(cause);
		tls_free(&fresh);
		return 1;
	}
	/* over WebSockets the relay makes the connections from the context:
	 * libmosquitto never sees it, nor holds a reference to it */
	SSL_CTX *old = c->tls_installed && !c->ws_on ? c->tls.ctx : NULL;
	if (old)
		SSL_CTX_up_ref(old); /* keep it alive across the swap below */
	if (c->tls_installed)
		tls_free(&c->tls);
	c->tls = fresh;
	SSL_CTX_set_app_data(c->tls.ctx, &c->tls);
	if (!c->ws_on) {
		mosquitto_void_option(c->mosq, MOSQ_OPT_SSL_CTX, c->tls.ctx);
		mosquitto_int_option(c->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
	}
	if (old) {
		/* libmosquitto 2.0 replaces its pointer without dropping its
		 * reference to the previous context: drop it, and ours. */
		SSL_CTX_free(old);
		SSL_CTX_free(old);
	}
	c->tls_installed = true;
	return 0;
}

static void print_explanation(struct client *c)
{
	if (c->explain_into) {
		/* --check prints it in its report, on stdout */
		diagnose(&c->ev, c->have_tls ? &c->tls : NULL, c->cfg, c->cfg->connect_timeout, c->explain_into);
		return;
	}
	struct report r;
	report_init(&r, c->cfg->host, c->port);
	diagnose(&c->ev, c->have_tls ? &c->tls : NULL, c->cfg, c->cfg->connect_timeout, &r);
	diag_print_report(c->diag, &r, c->cfg->diag_json, c->ev.stage);
	report_free(&r);
}

/* With TLS 1.3 the broker judges our certificate after our side of the
 * handshake, while CONNECT is already on its way (written right after our
 * Finished, as mosquitto's clients do): a rejection arrives in the loop as
 * an alert before any CONNACK, or as a reset that lost it (postmortem_settle
 * reads it again). True, traced, when the broker answered an alert. */
static bool certificate_verdict(const struct client *c)
{
	const struct evidence *ev = &c->ev;
	if (!c->have_tls || ev->stage != STAGE_MQTT || !ev->handshake_done || ev->alert_received < 0
			|| ev->connack >= 0 || c->connack_seen)
		return false;
	diag_trace(c->diag, "tls: handshake done, then the broker answered alert %s to our certificate",
			tls_alert_name(ev->alert_received));
	return true;
}

/* mosquitto's exit codes for an explained failure: 27 for our timeout, 8
 * for a failed handshake, otherwise what the stage gives (other). */
/* Explain a failed connection and return status; but when the file checks
 * were skipped for a saved session, run them first: a broken file is the
 * better explanation (exit 1, as preflight). */
static int explain_failure(struct client *c, int status)
{
	if (c->preflight_deferred) {
		c->preflight_deferred = false;
		if (client_preflight(c->cfg, c->diag, NULL))
			return 1;
	}
	print_explanation(c);
	return status;
}

static int failure_status(const struct client *c, int other)
{
	if (c->ev.timed_out)
		return MOSQ_ERR_TIMEOUT;
	if (c->ev.stage == STAGE_TLS)
		return MOSQ_ERR_TLS;
	return other;
}

int client_finish(struct client *c, int rc, int connack)
{
	if (connack) {
		c->ev.stage = STAGE_MQTT;
		c->ev.connack = connack;
		print_explanation(c);
		return connack;
	}
	if (rc == MOSQ_ERR_SUCCESS)
		return 0;
	if (c->connack_seen) {
		diag_compat(c->diag, "Error: %s\n", mosquitto_strerror(rc));
		return rc;
	}
	c->ev.mqtt_rc = rc;
	if (c->ev.ws && (c->ev.ws_error || c->ev.ws_close_code >= 0))
		rc = MOSQ_ERR_CONN_LOST; /* the WebSocket ended: the connection was lost */
	if (!c->settled)
		postmortem_settle(c);
	if (certificate_verdict(c))
		rc = MOSQ_ERR_CONN_LOST; /* as when the alert came during connect */
	return explain_failure(c, failure_status(c, rc == MOSQ_ERR_TLS ? MOSQ_ERR_CONN_LOST : rc));
}

bool client_should_retry(struct client *c, int rc)
{
	if (c->connack_seen || c->ev.connack >= 0 || rc == MOSQ_ERR_TIMEOUT || c->ev.timed_out)
		return false;
	if (rc != MOSQ_ERR_CONN_LOST && rc != MOSQ_ERR_NO_CONN && rc != MOSQ_ERR_ERRNO && rc != MOSQ_ERR_TLS)
		return false;
	c->ev.mqtt_rc = rc;
	if (!c->retrying || c->ev.alert_received >= 0 || c->ev.reply_len > 0) {
		/* the first failure, or a later one that is not a plain close:
		 * settle it (with its probes) and see what it is */
		postmortem_settle(c);
		c->settled = true;
		/* what mosquitto_sub retries: a close, not an alert (nginx's
		 * ssl_verify_client ends with close_notify: explained as
		 * client-cert-required, retried all the same) */
		enum cause k = classify(&c->ev);
		bool closed = c->ev.stage == STAGE_MQTT && c->ev.alert_received == SSL_AD_CLOSE_NOTIFY;
		if (k != CAUSE_BROKER_CLOSED && k != CAUSE_PLAIN_TO_TLS_PORT && !closed)
			return false;
	}
	if (!c->retrying)
		explain_failure(c, 0);
	c->retrying = true;
	return true;
}

void client_prepare_reconnect(struct client *c)
{
	bool tls = c->ev.used_tls, psk = c->ev.used_psk; /* set when the context was built: it is reused */
	evidence_reset_attempt(&c->ev);
	c->ev.used_tls = tls;
	c->ev.used_psk = psk;
	c->ev.attempts++;
	c->settled = false;
	c->deadline_ms = mono_ms() + (long long)c->cfg->connect_timeout * 1000;
}

int client_reconnect(struct client *c)
{
	return c->transport->reconnect(c);
}

/* Fill in the stage of a failed attempt from its return code. Returns
 * false for a failure mosquitto words itself ("Unable to connect (...)"). */
static bool note_failure(struct client *c, int rc, int err)
{
	struct evidence *ev = &c->ev;
	switch (rc) {
	case MOSQ_ERR_ERRNO:
		if (c->have_tls && (err == EPROTO || ev->client_hello_sent)) {
			/* libmosquitto's way of saying the handshake failed; or,
			 * when our side of it was done, that writing CONNECT met
			 * the reset of a broker that rejected our certificate */
			ev->stage = ev->handshake_done ? STAGE_MQTT : STAGE_TLS;
			return true;
		}
		ev->stage = STAGE_TCP;
		ev->sys_errno = err;
		ev->timed_out = err == EINTR || err == ETIMEDOUT;
		return true;
	case MOSQ_ERR_EAI: {
		struct addrinfo hints, *res = NULL;
		ev->stage = STAGE_RESOLVE;
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		/* under --proxy only the proxy's name is resolved here */
		ev->eai = getaddrinfo(c->cfg->socks5_host ? c->cfg->socks5_host : c->cfg->host, NULL, &hints, &res);
		if (res)
			freeaddrinfo(res);
		if (!ev->eai)
			ev->eai = EAI_NONAME;
		return true;
	}
	case MOSQ_ERR_TIMEOUT:
		ev->stage = STAGE_TLS;
		return true;
	default:
		if (c->have_tls) {
			/* after a TLS 1.3 handshake, a rejection of our certificate:
			 * mosquitto's "connection lost" (7) */
			ev->stage = ev->handshake_done ? STAGE_MQTT : STAGE_TLS;
			return true;
		}
		return false;
	}
}

static void trace_resolve(struct client *c)
{
	const struct diag *d = c->diag;
	if (!d->trace)
		return;
	if (c->port == 0) {
		diag_trace(d, "connect: unix socket %s", c->cfg->host);
		return;
	}
	if (c->cfg->socks5_host) { /* socks5h: no local lookup of the broker's name, not even for the trace */
		diag_trace(d, "resolve: %s is resolved by the proxy %s:%d (socks5h), not here", c->cfg->host,
				c->cfg->socks5_host, c->cfg->socks5_port);
		return;
	}
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	long long t = mono_ms();
	int rc = getaddrinfo(c->cfg->host, NULL, &hints, &res);
	char list[512] = "";
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		char ip[INET6_ADDRSTRLEN] = "?";
		void *addr = a->ai_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr
			: (void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;
		inet_ntop(a->ai_family, addr, ip, sizeof(ip));
		if (!strstr(list, ip) && strlen(list) + strlen(ip) + 3 < sizeof(list))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", list[0] ? ", " : "", ip);
	}
	if (res)
		freeaddrinfo(res);
	diag_trace(d, "resolve: %s -> %s (%lld ms)", c->cfg->host, rc ? gai_strerror(rc) : list, mono_ms() - t);
}

static void trace_tls_up(struct client *c)
{
	const struct diag *d = c->diag;
	SSL *ssl = client_ssl(c);
	if (!d->trace || !ssl)
		return;
	diag_trace(d, SSL_session_reused(ssl) ? N_("tls: negotiated %s, cipher %s, session resumed (--tls-resume)")
			: c->tls.session_offered ? N_("tls: negotiated %s, cipher %s, session new: the saved session was not resumed and is deleted")
			: N_("tls: negotiated %s, cipher %s, session new (full handshake)"), SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	for (int i = 0; chain && i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		char s[256], is[256], nb[32] = "?", na[32] = "?";
		struct tm tm;
		X509_NAME_oneline(X509_get_subject_name(x), s, sizeof(s));
		X509_NAME_oneline(X509_get_issuer_name(x), is, sizeof(is));
		if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm))
			strftime(nb, sizeof(nb), "%Y-%m-%d", &tm);
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
			strftime(na, sizeof(na), "%Y-%m-%d", &tm);
		char left[64];
		preflight_days_text(preflight_days_left(x), 1, left, sizeof(left));
		diag_trace(d, "tls:   broker chain %d: %s -> %s (valid %s to %s, %s left)", i, s, is, nb, na, left);
	}
	if (!c->tls.check_host)
		diag_trace(d, "tls: host name NOT checked (%s)", c->cfg->insecure ? "--insecure" : "unix socket");
	else if (SSL_session_reused(ssl))
		diag_trace(d, "tls: resumed session: the broker's certificate and host name were verified when it was saved, under the same CA, host name, client certificate and TLS settings as this run");
	else if (c->tls.used_cn)
		diag_trace(d, "tls: host name %s matches only the legacy Common Name (the certificate has no DNS names: %s)",
				c->cfg->host, c->tls.cert_names);
	else
		diag_trace(d, "tls: host name %s matches the certificate (%s)", c->cfg->host, c->tls.cert_names);
}

int client_connect(struct client *c)
{
	struct config *cfg = c->cfg;
	c->port = client_port(cfg);
	trace_resolve(c);
	c->deadline_ms = mono_ms() + (long long)cfg->connect_timeout * 1000;
	int requested = c->ev.requested_min;
	int remembered = c->have_tls ? negotiate_cache_get(cfg->host, c->port) : 0;
	if (remembered)
		diag_trace(c->diag, negotiate_hint(requested, remembered)
				? N_("tls: %s worked last time for this broker: a hint for a step-down only (the full range is offered first)")
				: N_("tls: %s worked last time for this broker: not used (the full range is offered first, and only --tls-version allows less than tlsv1.2)"),
				tls_version_name(remembered));
	struct tls_range range = negotiate_first(requested);
	for (;;) {
		int err = 0;
		c->ev.attempts++;
		if (c->have_tls && install_ctx(c, &range))
			return 1;
		if (c->have_tls) {
			bool rem = range.fallback_scsv && range.min_version == negotiate_hint(requested, remembered);
			diag_trace(c->diag, range.fallback_scsv
					? (rem ? N_("tls: attempt %d offers %s..%s with the fallback SCSV (down to the version remembered for this broker)")
						: N_("tls: attempt %d offers %s..%s with the fallback SCSV"))
					: N_("tls: attempt %d offers %s..%s"),
					c->ev.attempts, tls_version_name(range.min_version),
					tls_version_name(range.max_version ? range.max_version : TLS1_3_VERSION));
		}
		long long t = mono_ms();
		int rc = c->transport->connect(c, &err);
		if (rc == MOSQ_ERR_SUCCESS) {
			if (c->have_tls)
				tls_session_check(&c->tls, client_ssl(c));
			diag_trace(c->diag, "connect: TCP%s to %s:%d%s up in %lld ms", c->have_tls ? " + TLS" : "", cfg->host, c->port,
					cfg->socks5_host ? " (through the proxy)" : "", mono_ms() - t);
			trace_tls_up(c);
			if (c->have_tls) {
				SSL *ssl = client_ssl(c);
				int v = ssl ? SSL_version(ssl) : 0;
				if (v && v != remembered)
					negotiate_cache_put(cfg->host, c->port, v);
				if (v && v < TLS1_2_VERSION)
					diag_warn(c->diag, "this connection uses %s, a deprecated protocol; OpenSSL's security level is 0 for it only.\n",
							tls_version_name(v));
			}
			return 0;
		}
		if (c->limit_hit)
			return 255; /* smqtt_sub -W during the upgrade: quiet, as at -W later */
		if (c->relay_failed)
			return 1; /* explained where it failed: not libmosquitto's "Out of memory" */
		if (c->ev.stage == STAGE_WS)
			return explain_failure(c, failure_status(c, c->ev.ws_upgrade < 0 && c->ev.ws_first_len == 0
					? MOSQ_ERR_CONN_LOST : MOSQ_ERR_UNKNOWN));
		if (!note_failure(c, rc, err)) {
			diag_compat(c->diag, "Unable to connect (%s).\n", mosquitto_strerror(rc));
			return 1;
		}
		if (c->ev.stage == STAGE_MQTT && c->ev.alert_received < 0 && c->ev.cert_requested) {
			postmortem_settle(c); /* a reset lost the verdict: read it again */
			c->settled = true;
		}
		if (c->retry_unanswered && c->ev.stage == STAGE_MQTT
				&& (c->ev.alert_received < 0 || c->ev.alert_received == SSL_AD_CLOSE_NOTIFY)) {
			/* closed right after the handshake, without a CONNACK: the
			 * caller's loop finds the connection gone and retries */
			diag_trace(c->diag, "tls: handshake done, then the peer closed the connection");
			return 0;
		}
		if (c->ev.stage == STAGE_MQTT && c->ev.alert_received >= 0) {
			diag_trace(c->diag, "tls: handshake done, then the broker answered alert %s to our certificate",
					tls_alert_name(c->ev.alert_received));
			return explain_failure(c, MOSQ_ERR_CONN_LOST);
		}
		if (c->ev.stage == STAGE_TLS) {
			postmortem_tls_attempt(c);
			struct tls_range next;
			diag_trace(c->diag, negotiate_is_version_failure(&c->ev)
					? N_("tls: attempt %d failed: alert received %s, alert sent %s (a version failure)")
					: N_("tls: attempt %d failed: alert received %s, alert sent %s"), c->ev.attempts,
					c->ev.alert_received >= 0 ? tls_alert_name(c->ev.alert_received) : "none",
					c->ev.alert_sent >= 0 ? tls_alert_name(c->ev.alert_sent) : "none");
			if (negotiate_next(&c->ev, &range, requested, remembered, &next)) {
				evidence_reset_attempt(&c->ev);
				range = next;
				continue;
			}
			if (remembered && negotiate_is_version_failure(&c->ev))
				negotiate_cache_forget(cfg->host, c->port); /* it no longer works */
			postmortem_settle(c);
		}
		return explain_failure(c, failure_status(c, c->ev.stage == STAGE_MQTT ? MOSQ_ERR_CONN_LOST : 1));
	}
}

