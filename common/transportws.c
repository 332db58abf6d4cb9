/* transportws: the WebSocket transport (see transport.h): the relay's
 * connection to the broker (wsrelay.c) as one attempt of the attempt loop,
 * what the relay saw as evidence, and the relay's turn in the event loop. */
#include "transport.h"
#include "client.h"
#include "l10n.h"
#include "postmortem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the relay saw, as evidence. */
static void ws_note(struct client *c)
{
	struct evidence *ev = &c->ev;
	const struct wsrelay *r = &c->ws;
	ev->ws_upgrade = r->head_result == WS_HEAD_INCOMPLETE ? -1 : (int)r->head_result;
	ev->http_status = r->head.status;
	snprintf(ev->http_reason, sizeof(ev->http_reason), "%s", r->head.reason);
	snprintf(ev->http_location, sizeof(ev->http_location), "%s", r->head.location);
	snprintf(ev->http_server, sizeof(ev->http_server), "%s", r->head.server);
	snprintf(ev->ws_subprotocol, sizeof(ev->ws_subprotocol), "%s", r->head.subprotocol);
	snprintf(ev->ws_extensions, sizeof(ev->ws_extensions), "%s", r->head.extensions);
	memcpy(ev->ws_first, r->first, sizeof(ev->ws_first));
	ev->ws_first_len = (int)r->first_len;
	ev->ws_open = r->open;
	snprintf(ev->proxy_error, sizeof(ev->proxy_error), "%s", r->proxy_error);
	postmortem_note_socks(ev, &r->socks);
	if (r->close_received) {
		ev->ws_close_code = r->close_code;
		snprintf(ev->ws_close_reason, sizeof(ev->ws_close_reason), "%s", r->close_reason);
	}
	if (r->error != WS_ERR_NONE) {
		ev->ws_error = (int)r->error;
		ev->ws_error_text = ws_error_text(r->error);
	}
}

/* An upgrade that failed: where it stands, and the probes for a server
 * that closed without answering. Returns the code the attempt loop takes
 * for a WebSocket failure. */
static int ws_failed(struct client *c, bool timed_out)
{
	struct evidence *ev = &c->ev;
	ev->stage = STAGE_WS;
	ev->timed_out = timed_out;
	postmortem_ws(c);
	return MOSQ_ERR_UNKNOWN;
}

/* MQTT over WebSockets: TCP (through the proxy), TLS for wss, the upgrade;
 * then libmosquitto connects to the relay's socket. reconnect: libmosquitto
 * reconnects instead of connecting. */
static int ws_connect_once(struct client *c, int *err, bool reconnect, long long deadline)
{
	struct config *cfg = c->cfg;
	struct evidence *ev = &c->ev;
	struct wsr_target t = {cfg->host, c->port, cfg->bind_address, ev->ws_path, c->have_tls ? c->tls.ctx : NULL,
		cfg->socks5_host, cfg->socks5_port, cfg->socks5_username, cfg->socks5_password};
	enum wsr_result res = wsrelay_open(&c->ws, &t, deadline);
	ws_note(c);
	*err = c->ws.sys_errno;
	if (res != WSR_OK && client_signal_caught())
		return MOSQ_ERR_ERRNO; /* stopped by SIGINT/SIGTERM: the caller ends the run */
	if (res == WSR_TIMEOUT && c->limit_ms && mono_ms() >= c->limit_ms) {
		c->limit_hit = true; /* -W, not --connect-timeout: ended as mosquitto_sub ends at -W */
		return MOSQ_ERR_TIMEOUT;
	}
	if (c->ws.request_line[0])
		diag_trace(c->diag, "ws: > %s (Host: %s, subprotocol mqtt)", c->ws.request_line, c->ws.host_header);
	if (c->ws.head.status)
		diag_trace(c->diag, "ws: < %d %s%s%s%s%s", c->ws.head.status, c->ws.head.reason,
				c->ws.head.subprotocol[0] ? ", subprotocol " : "", c->ws.head.subprotocol,
				c->ws.head.server[0] ? ", server " : "", c->ws.head.server);
	switch (res) {
	case WSR_OK:
		break;
	case WSR_TCP:
		if (c->ws.proxy_error[0])
			diag_trace(c->diag, "proxy: %s", c->ws.proxy_error);
		if (!*err)
			*err = ECONNABORTED;
		return MOSQ_ERR_ERRNO;
	case WSR_TIMEOUT:
		if (c->ws.stage == WSR_AT_UPGRADE)
			return ws_failed(c, true);
		if (c->ws.stage == WSR_AT_TLS) {
			ev->timed_out = true;
			return MOSQ_ERR_TIMEOUT;
		}
		*err = ETIMEDOUT;
		return MOSQ_ERR_ERRNO;
	case WSR_TLS:
		return MOSQ_ERR_TLS;
	case WSR_CLOSED:
		if (c->have_tls && c->ws.stage == WSR_AT_UPGRADE && ev->alert_received >= 0)
			return MOSQ_ERR_TLS; /* the broker's verdict on our certificate */
		if (c->have_tls && ev->cert_requested && ev->alert_received < 0 && ev->ws_first_len == 0)
			return MOSQ_ERR_TLS; /* the same, with the alert lost to a reset: read again */
		return ws_failed(c, false);
	case WSR_UPGRADE:
		diag_trace(c->diag, "ws: the upgrade failed: %s", wsrelay_result_text(c->ws.head_result));
		return ws_failed(c, false);
	case WSR_NOMEM:
		return MOSQ_ERR_NOMEM;
	}
	char *cause = NULL;
	if (wsrelay_listen(&c->ws, &cause)) {
		diag_report(c->diag, cause ? cause : "the WebSocket relay", _("the relay between libmosquitto and the WebSocket could not be set up"),
				_("set TMPDIR to a directory that you can write to and other users cannot"));
		free(cause);
		c->relay_failed = true;
		return MOSQ_ERR_NOMEM;
	}
	int rc = reconnect ? mosquitto_reconnect(c->mosq)
		: mosquitto_connect_bind_v5(c->mosq, c->ws.local.path, 0, cfg->keepalive, NULL, cfg->connect_props);
	int refused = rc == MOSQ_ERR_SUCCESS ? wsrelay_accept(&c->ws, &cause) : 0;
	if (refused && client_signal_caught()) {
		free(cause);
		return MOSQ_ERR_ERRNO; /* a signal since the listen: the caller ends the run */
	}
	if (refused) {
		diag_report(c->diag, cause ? cause : "the WebSocket relay", _("the relay between libmosquitto and the WebSocket could not be set up"),
				_("run again; report it if it persists"));
		free(cause);
		c->relay_failed = true;
		rc = MOSQ_ERR_NOMEM;
	}
	*err = errno;
	if (rc == MOSQ_ERR_SUCCESS)
		diag_trace(c->diag, "ws: relaying MQTT between libmosquitto (unix socket %s) and the WebSocket", c->ws.local.path);
	return rc;
}

/* The end of an upgrade's wait: deadline, or -W's end when sooner (-W
 * ends the run, also during an upgrade). */
static long long ws_deadline(const struct client *c, long long deadline)
{
	return c->limit_ms && c->limit_ms < deadline ? c->limit_ms : deadline;
}

/* Relay what can be relayed; note how the broker side ended. True when
 * libmosquitto's socket has input (or EOF) to read. */
static bool ws_pump(struct client *c)
{
	long moved = wsrelay_pump(&c->ws);
	if (c->ws.broker_eof)
		ws_note(c);
	return moved != 0;
}


static int ws_connect(struct client *c, int *err)
{
	return ws_connect_once(c, err, false, ws_deadline(c, c->deadline_ms));
}

static int ws_reconnect(struct client *c)
{
	wsrelay_shutdown(&c->ws, 0);
	int err = 0;
	long long deadline = !c->connack_seen && c->deadline_ms ? c->deadline_ms
		: mono_ms() + (long long)c->cfg->connect_timeout * 1000;
	return ws_connect_once(c, &err, true, ws_deadline(c, deadline));
}

static SSL *ws_ssl(const struct client *c)
{
	return c->ws.ssl;
}

static void ws_pollfds(const struct client *c, struct pollfd *p, nfds_t *n)
{
	wsrelay_pollfds(&c->ws, p, n);
}

static bool ws_pending(const struct client *c)
{
	return wsrelay_pending(&c->ws);
}

/* libmosquitto's last bytes (its DISCONNECT), then the close. */
static void ws_close(struct client *c, int wait_ms)
{
	wsrelay_shutdown(&c->ws, wait_ms);
	wsrelay_free(&c->ws);
	c->ws_on = false;
}

const struct transport *transport_ws(void)
{
	static const struct transport t = {
		.connect = ws_connect,
		.reconnect = ws_reconnect,
		.ssl = ws_ssl,
		.pollfds = ws_pollfds,
		.pending = ws_pending,
		.pump = ws_pump,
		.close = ws_close,
	};
	return &t;
}
