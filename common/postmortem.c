/* postmortem: the probes after a failed connection and the evidence they
 * give (see postmortem.h). */
#include "postmortem.h"
#include "client.h"
#include "l10n.h"
#include "negotiate.h"
#include "probe.h"

#include <string.h>
#include <unistd.h>

/* The time a post-mortem probe may take: what is left of this attempt's
 * --connect-timeout, at most 2 s; 0 when too little is left to learn
 * anything (the evidence then says the probes were cut). Together, the
 * probes never take a run past its --connect-timeout. */
static int probe_ms(struct client *c)
{
	long long left = c->deadline_ms - mono_ms();
	if (left < 150) {
		c->ev.probes_cut = true;
		return 0;
	}
	return left > 2000 ? 2000 : (int)left;
}

/* Post-mortem: does the port answer a TLS ClientHello? (traced) */
static bool probed_tls(struct client *c)
{
	int ms = probe_ms(c);
	if (!ms)
		return false;
	long long t0 = mono_ms();
	bool yes = probe_speaks_tls(c->cfg->host, c->port, ms);
	if (!yes && mono_ms() - t0 >= ms - 20)
		c->ev.probes_cut = true; /* no answer in the time there was: unknown */
	diag_trace(c->diag, yes ? N_("probe: a TLS ClientHello without certificate got a ServerHello")
			: N_("probe: a TLS ClientHello without certificate got no TLS answer"));
	return yes;
}

/* Post-mortem: does the port answer a plain MQTT CONNECT with a CONNACK?
 * (traced when it does) */
static bool probed_mqtt(struct client *c)
{
	int ms = probe_ms(c);
	if (!ms)
		return false;
	long long t0 = mono_ms();
	bool yes = probe_speaks_mqtt(c->cfg->host, c->port, ms);
	if (!yes && mono_ms() - t0 >= ms - 20)
		c->ev.probes_cut = true;
	if (yes)
		diag_trace(c->diag, "probe: a plain MQTT CONNECT without credentials got a CONNACK: a plain MQTT port");
	return yes;
}

/* How a SOCKS5 handshake ended, as evidence (only a refusal or a peer
 * that is not a proxy counts: a socket error is the TCP stage's). */
void postmortem_note_socks(struct evidence *ev, const struct socks_outcome *o)
{
	bool refusal = o->result == SOCKS_NOT_SOCKS || o->result == SOCKS_METHOD_REFUSED || o->result == SOCKS_AUTH_REFUSED
		|| o->result == SOCKS_TARGET_REFUSED || o->result == SOCKS_NO_ANSWER || o->result == SOCKS_CLOSED;
	ev->proxy_result = refusal ? (int)o->result : 0;
	ev->proxy_rep = o->rep;
	memcpy(ev->proxy_first, o->first, sizeof(ev->proxy_first));
	ev->proxy_first_len = (int)o->first_len;
}

/* Post-mortem with --proxy (plain MQTT: libmosquitto did the SOCKS5
 * handshake and says only "auth failed" or "connection lost"): the same
 * handshake again, through the same proxy with the same login, to the same
 * broker, to learn whether the proxy refused a step. Nothing goes anywhere
 * but to the proxy, and the broker's name is resolved by the proxy; the
 * connection is closed once the proxy has answered CONNECT. True when the
 * proxy refused (the evidence says how). */
static bool probed_socks(struct client *c)
{
	const struct config *cfg = c->cfg;
	int ms = probe_ms(c);
	if (!ms)
		return false;
	long long deadline = mono_ms() + ms;
	struct socks_outcome o;
	memset(&o, 0, sizeof(o));
	int fd = net_dial(cfg->socks5_host, cfg->socks5_port, cfg->bind_address, deadline, NULL);
	if (fd < 0)
		return false;
	socks_handshake(fd, cfg->host, c->port, cfg->socks5_username, cfg->socks5_password, deadline, NULL, &o);
	close(fd);
	postmortem_note_socks(&c->ev, &o);
	diag_trace(c->diag, "probe: the SOCKS5 handshake again through %s:%d: %s%s%s", cfg->socks5_host, cfg->socks5_port,
			o.result == SOCKS_OK ? "the proxy connected to the broker" : "it ended at ",
			o.result == SOCKS_OK ? "" : o.result == SOCKS_TARGET_REFUSED ? "CONNECT: " : c->ev.proxy_result ? "the proxy's answer" : "an error",
			o.result == SOCKS_TARGET_REFUSED ? socks_rep_text(o.rep) : "");
	return c->ev.proxy_result != 0;
}

/* Post-mortem: does the port answer a plain HTTP GET? (traced) */
static bool probed_http(struct client *c, bool tls)
{
	struct evidence *ev = &c->ev;
	/* after a --connect-timeout silence this is the one probe: at most 1 s
	 * more; otherwise it shares what is left of --connect-timeout */
	int ms = ev->timed_out ? 1000 : probe_ms(c);
	if (!ms)
		return false;
	if (ms > 1000)
		ms = 1000;
	bool yes = probe_speaks_http(c->cfg->host, c->port, tls, ms, ev->probe_http, sizeof(ev->probe_http));
	if (yes)
		diag_trace(c->diag, tls ? N_("probe: a WebSocket upgrade request over TLS (GET /mqtt) got \"%s\": an HTTP port")
				: N_("probe: a WebSocket upgrade request in the clear (GET /mqtt) got \"%s\": an HTTP port"), ev->probe_http);
	else
		diag_trace(c->diag, "%s", tls ? _("probe: a WebSocket upgrade request over TLS (GET /mqtt) got no HTTP answer")
				: _("probe: a WebSocket upgrade request in the clear (GET /mqtt) got no HTTP answer"));
	return yes;
}

/* Where a connection that never reached CONNACK stopped, and the probes
 * that tell ambiguous cases apart. With --proxy, only a probe through the
 * proxy is made: the others would reach the broker directly. */
void postmortem_settle(struct client *c)
{
	struct evidence *ev = &c->ev;
	if (ev->stage == STAGE_RESOLVE || ev->stage == STAGE_TCP)
		return;
	if (c->cfg->socks5_host && !c->ws_on && probed_socks(c)) {
		ev->stage = STAGE_TCP;
		return;
	}
	if (c->cfg->socks5_host) {
		ev->stage = c->have_tls && !ev->handshake_done ? STAGE_TLS : STAGE_MQTT;
		ev->probes_proxy = true;
		return;
	}
	if (c->have_tls && !ev->handshake_done) {
		ev->stage = STAGE_TLS;
		if (negotiate_is_version_failure(ev) || ev->alert_received == SSL_AD_PROTOCOL_VERSION) {
			int ms = probe_ms(c);
			int v = ms ? probe_tls_max_version(c->cfg->host, c->port, ms) : 0;
			ev->broker_versions = v ? 1u << (v & 0xf) : 0;
			if (v)
				diag_trace(c->diag, "probe: a ClientHello for TLS 1.0-1.3 without certificate: the broker chose %s",
						tls_version_name(v));
			else
				diag_trace(c->diag, "probe: a ClientHello for TLS 1.0-1.3 without certificate: the broker chose "
						"nothing (no ServerHello)");
			return;
		}
		if (!ev->server_hello_seen && !ev->timed_out && ev->alert_received < 0 && ev->verify_error < 0)
			ev->probe_tls_answered = probed_tls(c);
		if (!ev->server_hello_seen && !ev->non_tls_reply && !ev->probe_tls_answered && !ev->timed_out
				&& ev->alert_received < 0 && probed_mqtt(c))
			ev->peer_closed = true;
		/* not TLS and not MQTT: a websockets (HTTP) listener? */
		else if (!ev->server_hello_seen && !ev->probe_tls_answered && !ev->timed_out && ev->alert_received < 0
				&& ev->verify_error < 0 && c->port != 0 && !c->ws_on)
			(void)probed_http(c, false);
		return;
	}
	ev->stage = STAGE_MQTT;
	if (c->have_tls && ev->handshake_done && ev->cert_requested && ev->alert_received < 0 && ev->connack < 0
			&& c->tls_installed) {
		/* The broker hung up right after judging our certificate, and
		 * the reset lost its alert: repeat the same handshake (the same
		 * certificate, no MQTT data) to read the verdict. */
		diag_trace(c->diag, "tls: repeating the handshake to read the broker's verdict on the certificate (no MQTT data is sent)");
		int ms = probe_ms(c);
		if (ms)
			probe_tls_verdict(c->cfg->host, c->port, c->tls.ctx, ms);
	}
	/* (over WebSockets the server answered the upgrade in the clear) */
	int ms;
	if (!c->have_tls && !ev->timed_out && c->port != 0 && !c->ws_on && (ms = probe_ms(c))) {
		ev->probe_tls_answered = probe_speaks_tls(c->cfg->host, c->port, ms);
		diag_trace(c->diag, ev->probe_tls_answered
				? N_("probe: a TLS ClientHello without certificate or credentials got a ServerHello: a TLS port")
				: N_("probe: a TLS ClientHello without certificate or credentials got no TLS answer"));
	}
	/* silence in answer to CONNECT until the timeout: is it an HTTP port?
	 * (a port that closes at once is a broker refusing, as at
	 * max_connections; an HTTP server answers bytes it cannot parse) */
	if (!c->have_tls && !c->ws_on && c->port != 0 && ev->timed_out && ev->connack < 0 && ev->reply_len == 0)
		(void)probed_http(c, false);
	/* over TLS the answer to CONNECT is not kept: a wss listener answers it
	 * with HTTP and closes (after a timeout over TLS no probe: the handshake
	 * alone could use up the second) */
	if (c->have_tls && !c->ws_on && c->port != 0 && ev->handshake_done && !ev->timed_out && ev->connack < 0
			&& ev->alert_received < 0 && !ev->cert_requested)
		(void)probed_http(c, true);
}


void postmortem_tls_attempt(struct client *c)
{
	const struct config *cfg = c->cfg;
	int ms = 0;
	if (cfg->socks5_host)
		c->ev.probes_proxy = true; /* the step-down probe would bypass the proxy */
	else if (!c->ev.server_hello_seen && !c->ev.timed_out && c->ev.alert_received < 0 && c->ev.verify_error < 0
			&& (ms = probe_ms(c))) {
		long long t0 = mono_ms();
		c->ev.probe_tls_answered = probe_speaks_tls_upto(cfg->host, c->port, TLS1_2_VERSION, ms);
		if (!c->ev.probe_tls_answered && mono_ms() - t0 >= ms - 20)
			c->ev.probes_cut = true;
		diag_trace(c->diag, c->ev.probe_tls_answered
				? N_("probe: a ClientHello offering at most TLS 1.2, without certificate, got a ServerHello")
				: N_("probe: a ClientHello offering at most TLS 1.2, without certificate, got no TLS answer"));
	}
}

void postmortem_ws(struct client *c)
{
	struct evidence *ev = &c->ev;
	bool timed_out = ev->timed_out;
	if (c->cfg->socks5_host && !timed_out && ev->ws_upgrade < 0 && ev->ws_first_len == 0 && !c->have_tls)
		ev->probes_proxy = true;
	if (!timed_out && ev->ws_upgrade < 0 && ev->ws_first_len == 0 && !c->have_tls && !c->cfg->socks5_host) {
		ev->probe_tls_answered = probed_tls(c);
		if (!ev->probe_tls_answered)
			ev->probe_mqtt_answered = probed_mqtt(c);
	}
}
