/* client: libmosquitto setup, connect and event loop (see client.h). */
#include "client.h"
#include "socks.h"
#include "l10n.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/time.h>
#include <time.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mqtt_protocol.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "diagnose.h"
#include "negotiate.h"
#include "preflight.h"
#include "probe.h"
#include "profile.h"
#include "readgate.h"
#include "report.h"

/* Packets read from what OpenSSL read ahead, at most, in one loop step. */
#define TLS_DRAIN_MAX 1024

/* While a packet header is not all here, poll looks again this often (the
 * bytes that are there would wake it at once). */
#define GATE_WAIT_MS 5

/* The one global: set by the signal handler, read by the loops. */
static volatile sig_atomic_t caught_signal;

static void on_signal(int signum)
{
	caught_signal = signum;
}

void client_signals_block(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGTERM);
}

int client_signal_caught(void)
{
	return caught_signal;
}

static void log_to_stdout(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	(void)mosq;
	(void)obj;
	(void)level;
	printf("%s\n", str);
}

/* Our own SSL_CTX, instrumented; used for every TLS run except TLS engines,
 * which stay on libmosquitto's own set-up. The context itself is built per
 * attempt by client_connect; here the version option is checked. */
static int set_own_tls(struct client *c)
{
	struct config *cfg = c->cfg;
	int min = cfg->tls_version ? tls_version_from_name(cfg->tls_version) : TLS1_2_VERSION;
	if (!min) {
		diag_compat(c->diag, "Error: Problem setting TLS options, check the options are valid.\n");
		return 1;
	}
	c->ev.requested_min = min;
	c->have_tls = true;
	return 0;
}

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
		c->tls.gate_reads = true;
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

static int set_tls(struct client *c)
{
	struct config *cfg = c->cfg;
	const struct diag *d = c->diag;
	struct mosquitto *m = c->mosq;
	int rc;

	if (cfg->no_tls)
		return 0;
	if (!cfg->tls_engine && !cfg->keyform && tls_wanted(cfg, client_port(cfg)))
		return set_own_tls(c);

	if (cfg->cafile || cfg->capath) {
		rc = mosquitto_tls_set(m, cfg->cafile, cfg->capath, cfg->certfile, cfg->keyfile, NULL);
		if (rc == MOSQ_ERR_INVAL) {
			diag_compat(d, "Error: Problem setting TLS options: File not found.\n");
			return 1;
		} else if (rc) {
			diag_compat(d, "Error: Problem setting TLS options: %s.\n", mosquitto_strerror(rc));
			return 1;
		}
	} else if (cfg->psk) {
		if (mosquitto_tls_psk_set(m, cfg->psk, cfg->psk_identity, NULL)) {
			diag_compat(d, "Error: Problem setting TLS-PSK options.\n");
			return 1;
		}
	} else if (cfg->port == 8883) {
		mosquitto_int_option(m, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
	}
	if (cfg->tls_use_os_certs)
		mosquitto_int_option(m, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
	if (cfg->insecure && mosquitto_tls_insecure_set(m, true)) {
		diag_compat(d, "Error: Problem setting TLS insecure option.\n");
		return 1;
	}
	if (cfg->tls_engine && mosquitto_string_option(m, MOSQ_OPT_TLS_ENGINE, cfg->tls_engine)) {
		diag_compat(d, "Error: Problem setting TLS engine, is %s a valid engine?\n", cfg->tls_engine);
		return 1;
	}
	if (cfg->keyform && mosquitto_string_option(m, MOSQ_OPT_TLS_KEYFORM, cfg->keyform)) {
		diag_compat(d, "Error: Problem setting key form, it must be one of 'pem' or 'engine'.\n");
		return 1;
	}
	if (cfg->tls_engine_kpass_sha1
			&& mosquitto_string_option(m, MOSQ_OPT_TLS_ENGINE_KPASS_SHA1, cfg->tls_engine_kpass_sha1)) {
		diag_compat(d, "Error: Problem setting TLS engine key pass sha, is it a 40 character hex string?\n");
		return 1;
	}
	if (cfg->tls_alpn && mosquitto_string_option(m, MOSQ_OPT_TLS_ALPN, cfg->tls_alpn)) {
		diag_compat(d, "Error: Problem setting TLS ALPN protocol.\n");
		return 1;
	}
	if ((cfg->tls_version || cfg->ciphers) && mosquitto_tls_opts_set(m, 1, cfg->tls_version, cfg->ciphers)) {
		diag_compat(d, "Error: Problem setting TLS options, check the options are valid.\n");
		return 1;
	}
	return 0;
}

/* --tls-keylog. mosquitto 2.1 gives libmosquitto a context of its own for
 * it, which libmosquitto refuses without a CA or a PSK: kept, also against
 * a plain listener. A key log that cannot be written is skipped with a
 * warning (mosquitto 2.1 skips it silently). */
static int set_keylog(struct client *c)
{
	const struct config *cfg = c->cfg;
	if (!cfg->tls_keylog)
		return 0;
	if (!cfg->cafile && !cfg->capath && !cfg->psk) {
		diag_compat(c->diag, "Unable to connect (Invalid input).\n");
		diag_warn(c->diag, "--tls-keylog needs --cafile, --capath or --psk, as in mosquitto 2.1; "
				"fix: add --cafile FILE (or --capath, --psk), or drop --tls-keylog\n");
		return 1;
	}
	char *cause = NULL;
	if (tls_keylog_open(&c->files, cfg->tls_keylog, &cause) != 0) {
		diag_warn(c->diag, "%s; the connection goes on without a key log\n", cause ? cause : "--tls-keylog");
		free(cause);
		return 0;
	}
	diag_trace(c->diag, "tls: appending the TLS key log (NSS format) to %s (--tls-keylog); "
			"it holds this connection's secrets", cfg->tls_keylog);
	return 0;
}

/* --ws, ws://, wss://: smqtt's own transport (libmosquitto 2.0 has none). */
static int set_ws(struct client *c)
{
	const struct config *cfg = c->cfg;
	if (!cfg->ws)
		return 0;
	if (cfg->port == 0) {
		diag_report(c->diag, _("--ws and --unix cannot be used together"),
				_("MQTT over WebSockets needs a TCP connection to the broker's websockets listener"),
				_("drop --unix and give -h and -p of the websockets listener, or drop --ws"));
		return 1;
	}
	if (cfg->tls_engine || cfg->keyform) {
		diag_report(c->diag, _("--tls-engine and --keyform cannot be used with --ws"),
				_("over WebSockets smqtt makes the TLS connection itself, and it does not load keys through an engine"),
				_("use a PEM key file with --key, or connect without --ws"));
		return 1;
	}
	c->ws_on = true;
	c->ev.ws = true;
	snprintf(c->ev.ws_path, sizeof(c->ev.ws_path), "%s", cfg->ws_path ? cfg->ws_path : "/mqtt");
	return 0;
}

int client_port(const struct config *cfg)
{
	if (cfg->port != PORT_UNDEFINED)
		return cfg->port;
	return (cfg->cafile || cfg->capath || cfg->psk) ? 8883 : 1883;
}

int client_preflight(const struct config *cfg, const struct diag *d, struct tls_files *keep)
{
	char off[512];
	if (preflight_tls_off(cfg, client_port(cfg), off, sizeof(off))) {
		/* mosquitto's behaviour, said once: the files are not used, so
		 * they are not checked */
		diag_warn(d, "%s.\n", off);
		return 0;
	}
	if (!preflight_applies(cfg))
		return 0;
	struct report r;
	report_init(&r, cfg->host, client_port(cfg));
	int fatal = preflight_run(cfg, isatty(STDIN_FILENO), &r, keep);
	static const char *tag[] = {"FAIL", "warn", "pass"};
	for (size_t i = 0; d->trace && i < r.n; i++)
		diag_trace(d, "preflight: %s %s", tag[r.v[i].sev], r.v[i].lsummary ? r.v[i].lsummary : r.v[i].summary ? r.v[i].summary : "");
	if (fatal)
		diag_print_report(d, &r, cfg->diag_json, STAGE_PREFLIGHT);
	report_free(&r);
	return fatal ? 1 : 0;
}

/* --tls-resume: names this run's session file, once (every attempt's
 * context borrows it from files). True with a saved session that this
 * run will offer (saved under the same checks, tlssession.h): the files
 * were checked on the run that saved it, and a resumed handshake does not
 * read them; preflight runs only if the connection fails. */
static bool resuming(const struct config *cfg, const struct diag *d, struct tls_files *files)
{
	if (!cfg->tls_resume || !tls_wanted(cfg, client_port(cfg)))
		return false;
	char *why = NULL;
	bool offer = tls_session_prepare(files, cfg, client_port(cfg), &why);
	if (why)
		diag_trace(d, "tls: --tls-resume: %s", why);
	free(why);
	return offer && preflight_applies(cfg);
}

int client_init(struct client *c, struct config *cfg, const struct diag *d, void *obj)
{
	struct tls_files files;
	tls_files_init(&files);
	bool deferred = resuming(cfg, d, &files);
	if (!deferred && client_preflight(cfg, d, &files)) {
		memset(c, 0, sizeof(*c));
		tls_files_free(&files);
		return 1;
	}
	if (deferred)
		diag_trace(d, "preflight: deferred (a saved TLS session will be offered; the files are checked if the connection fails)");
	int rc = client_init_checked(c, cfg, d, obj, &files);
	c->preflight_deferred = deferred;
	return rc;
}

int client_init_checked(struct client *c, struct config *cfg, const struct diag *d, void *obj,
		struct tls_files *files)
{
	memset(c, 0, sizeof(*c));
	wsrelay_init(&c->ws);
	c->cfg = cfg;
	c->diag = d;
	c->files = *files;
	tls_files_init(files);
	bulkread_init(&c->bulk);
	pktgate_init(&c->gate, cfg->protocol_version, cfg->connect_props);
	c->bulk.max_part = c->gate.publish_max;
	evidence_init(&c->ev);
	c->ev.protocol_version = cfg->protocol_version;
	if (cfg->id_prefix) {
		char *id = NULL;
		if (asprintf(&id, "%s%d", cfg->id_prefix, (int)getpid()) < 0) {
			diag_compat(d, "Error: Out of memory.\n");
			return 1;
		}
		free(cfg->id);
		cfg->id = id;
	}
	c->mosq = mosquitto_new(cfg->id, cfg->clean_session, obj);
	if (!c->mosq) {
		if (errno == ENOMEM)
			diag_compat(d, "Error: Out of memory.\n");
		else if (errno == EINVAL)
			diag_compat(d, cfg->tool == TOOL_PUB ? "Error: Invalid id.\n"
					: "Error: Invalid id and/or clean_session.\n");
		return 1;
	}
	if (cfg->debug)
		mosquitto_log_callback_set(c->mosq, log_to_stdout);
	struct mosquitto *m = c->mosq;
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, cfg->protocol_version);
	if (cfg->will_topic) {
		int rc = mosquitto_will_set_v5(m, cfg->will_topic,
				cfg->will_payload ? (int)strlen(cfg->will_payload) : 0, cfg->will_payload,
				cfg->will_qos, cfg->will_retain, cfg->will_props);
		if (rc) {
			diag_compat(d, "Error: Problem setting will.\n");
			return 1;
		}
		cfg->will_props = NULL; /* owned by libmosquitto now */
	}
	if ((cfg->username || cfg->password) && mosquitto_username_pw_set(m, cfg->username, cfg->password)) {
		if (cfg->password_file && !cfg->username)
			/* smqtt's own option: explained (-P without -u keeps mosquitto's line) */
			diag_report(d, N_("--password-file gives a password, but there is no username to send it with"),
					N_("MQTT sends a password only together with a username, so libmosquitto refuses a password alone "
					"(mosquitto's 'Problem setting username and/or password')"),
					N_("add -u <username> (or the profile key username)"));
		else
			diag_compat(d, "Error: Problem setting username and/or password.\n");
		return 1;
	}
	if (set_keylog(c) || set_tls(c) || set_ws(c))
		return 1;
	mosquitto_max_inflight_messages_set(m, (unsigned)cfg->max_inflight);
	if (cfg->socks5_host && !c->ws_on) {
		int rc = mosquitto_socks5_set(m, cfg->socks5_host, cfg->socks5_port,
				cfg->socks5_username, cfg->socks5_password);
		if (rc)
			return rc;
	}
	if (cfg->tcp_nodelay)
		mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	if (cfg->msg_count > 0 && cfg->msg_count < 20)
		mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, cfg->msg_count);
	return 0;
}

void client_free(struct client *c)
{
	if (c->ws_on) {
		/* libmosquitto's last bytes (its DISCONNECT), then the close;
		 * after a signal, only what the socket takes at once: no wait
		 * for a server that reads nothing */
		wsrelay_shutdown(&c->ws, caught_signal ? 0 : 500);
		wsrelay_free(&c->ws);
		c->ws_on = false;
	}
	if (c->mosq)
		mosquitto_destroy(c->mosq);
	c->mosq = NULL;
	if (c->tls_installed)
		tls_free(&c->tls);
	c->tls_installed = false;
	c->have_tls = false;
	tls_files_free(&c->files);
	bulkread_free(&c->bulk);
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
static void note_socks(struct evidence *ev, const struct socks_outcome *o)
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
	note_socks(&c->ev, &o);
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
static void settle_stage(struct client *c)
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

/* With TLS 1.3 the broker judges our certificate after our side of the
 * handshake, while CONNECT is already on its way (written right after our
 * Finished, as mosquitto's clients do): a rejection arrives in the loop as
 * an alert before any CONNACK, or as a reset that lost it (settle_stage
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
	if (c->connack_seen && client_gate_enforced(c)) {
		client_gate_evidence(c);
		print_explanation(c);
		return rc;
	}
	if (c->connack_seen) {
		diag_compat(c->diag, "Error: %s\n", mosquitto_strerror(rc));
		return rc;
	}
	c->ev.mqtt_rc = rc;
	if (c->ev.ws && (c->ev.ws_error || c->ev.ws_close_code >= 0))
		rc = MOSQ_ERR_CONN_LOST; /* the WebSocket ended: the connection was lost */
	if (!c->settled)
		settle_stage(c);
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
		settle_stage(c);
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

void client_note_connack(struct client *c, int result)
{
	diag_trace(c->diag, "mqtt: CONNACK %d (%s)", result, c->cfg->protocol_version == MQTT_PROTOCOL_V5
			? mosquitto_reason_string(result) : mosquitto_connack_string(result));
	c->connack_seen = result == 0;
	c->ev.connack = result;
	if (c->have_tls)
		tls_note_established(&c->tls, client_ssl(c));
	if (c->connack_seen && !c->ws_on)
		client_gate_start(c);
}

/* Until the CONNACK, ACK what arrived at once: a broker that sent TLS
 * session tickets holds its small CONNACK back (Nagle) until they are
 * ACKed, and a delayed ACK costs ~40 ms. Setting TCP_QUICKACK after data
 * arrived also sends the ACK that is pending. */
static void ack_now(const struct client *c, int sock)
{
	if (c->connack_seen || c->port == 0 || c->ws_on)
		return;
	int one = 1;
	setsockopt(sock, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

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
	note_socks(ev, &r->socks);
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
 * that closed without answering. Returns the code connect_client takes
 * for a WebSocket failure. */
static int ws_failed(struct client *c, bool timed_out)
{
	struct evidence *ev = &c->ev;
	ev->stage = STAGE_WS;
	ev->timed_out = timed_out;
	if (c->cfg->socks5_host && !timed_out && ev->ws_upgrade < 0 && ev->ws_first_len == 0 && !c->have_tls)
		ev->probes_proxy = true;
	if (!timed_out && ev->ws_upgrade < 0 && ev->ws_first_len == 0 && !c->have_tls && !c->cfg->socks5_host) {
		ev->probe_tls_answered = probed_tls(c);
		if (!ev->probe_tls_answered)
			ev->probe_mqtt_answered = probed_mqtt(c);
	}
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
	if (res != WSR_OK && caught_signal)
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
	/* the relay judges the stream from its start; the CONNACK is judged
	 * on libmosquitto's socket, as without it */
	c->ws.gate = &c->gate;
	pktgate_start(&c->gate);
	c->gate.until_connack = true;
	int rc = reconnect ? mosquitto_reconnect(c->mosq)
		: mosquitto_connect_bind_v5(c->mosq, c->ws.path, 0, cfg->keepalive, NULL, cfg->connect_props);
	if (rc == MOSQ_ERR_SUCCESS && wsrelay_accept(&c->ws, &cause)) {
		diag_report(c->diag, cause ? cause : "the WebSocket relay", _("the relay between libmosquitto and the WebSocket could not be set up"),
				_("run again; report it if it persists"));
		free(cause);
		c->relay_failed = true;
		rc = MOSQ_ERR_NOMEM;
	}
	*err = errno;
	if (rc == MOSQ_ERR_SUCCESS)
		diag_trace(c->diag, "ws: relaying MQTT between libmosquitto (unix socket %s) and the WebSocket", c->ws.path);
	return rc;
}

/* The end of an upgrade's wait: deadline, or -W's end when sooner (-W
 * ends the run, also during an upgrade). */
static long long ws_deadline(const struct client *c, long long deadline)
{
	return c->limit_ms && c->limit_ms < deadline ? c->limit_ms : deadline;
}

int client_reconnect(struct client *c)
{
	if (!c->ws_on)
		return mosquitto_reconnect(c->mosq);
	wsrelay_shutdown(&c->ws, 0);
	int err = 0;
	long long deadline = !c->connack_seen && c->deadline_ms ? c->deadline_ms
		: mono_ms() + (long long)c->cfg->connect_timeout * 1000;
	return ws_connect_once(c, &err, true, ws_deadline(c, deadline));
}

SSL *client_ssl(const struct client *c)
{
	if (c->ws_on)
		return c->ws.ssl;
	return c->mosq ? mosquitto_ssl_get(c->mosq) : NULL;
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

/* One connect: resolve + TCP (bounded by a timer: SIGALRM interrupts the
 * blocking connect() inside libmosquitto) and, with TLS, the handshake. */
static int connect_once(struct client *c, int *err)
{
	if (c->ws_on)
		return ws_connect_once(c, err, false, ws_deadline(c, c->deadline_ms));
	struct config *cfg = c->cfg;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	long long left = c->deadline_ms - mono_ms();
	if (left < 1)
		left = 1;
	/* to the millisecond: alarm()'s whole seconds cut 2.999 s to 2 */
	struct itimerval it = {{0, 0}, {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000}};
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	int rc = mosquitto_connect_bind_v5(c->mosq, cfg->host, c->port, cfg->keepalive,
			cfg->bind_address, cfg->connect_props);
	*err = errno;
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	if (caught_signal == SIGALRM)
		caught_signal = 0;
	/* finish the handshake here, so that a version failure can be retried */
	while (rc == MOSQ_ERR_SUCCESS && c->have_tls && !c->ev.handshake_done) {
		rc = client_loop_step(c, 1000, -1, NULL, NULL);
		*err = errno;
		if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(c->mosq) < 0)
			rc = MOSQ_ERR_CONN_LOST;
	}
	/* CONNECT goes out right after our Finished, as mosquitto's clients
	 * send it: with TLS 1.3 the broker's verdict on our certificate comes
	 * later, and a rejection is settled after the failure
	 * (certificate_verdict) */
	return rc;
}

/* Fill in the stage of a failed connect_once from its return code. Returns
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
		int rc = connect_once(c, &err);
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
			settle_stage(c); /* a reset lost the verdict: read it again */
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
			settle_stage(c);
		}
		return explain_failure(c, failure_status(c, c->ev.stage == STAGE_MQTT ? MOSQ_ERR_CONN_LOST : 1));
	}
}

/* Before the first CONNACK: peek at (do not consume) the first bytes the
 * broker sends, on the socket or, over TLS, what OpenSSL decrypted. A reply
 * that cannot start a CONNACK, or announces more than MQTT_FIRST_REPLY_MAX
 * bytes, ends the connection at once, where libmosquitto would wait for
 * (and allocate) up to 256 MB. The bytes are evidence for the explanation. */
static bool first_reply_refused(struct client *c, int sock, SSL *ssl)
{
	struct evidence *ev = &c->ev;
	size_t room = sizeof(ev->reply) - (size_t)ev->reply_len;
	ssize_t n;
	if (ssl) {
		/* a record read here is what libmosquitto's SSL_read returns next;
		 * an error or an alert is left for it to meet */
		ERR_clear_error();
		n = SSL_peek(ssl, ev->reply + ev->reply_len, (int)room);
		ERR_clear_error();
	} else {
		n = recv(sock, ev->reply + ev->reply_len, room, MSG_PEEK | MSG_DONTWAIT);
	}
	if (n <= 0)
		return false;
	ev->reply_len += (int)n;
	enum reply_kind k = mqtt_reply_kind(ev->reply, (size_t)ev->reply_len, NULL);
	/* a partial header is consumed by libmosquitto: the next peek continues it */
	ev->reply_checked = k != REPLY_PARTIAL || ev->reply_len >= (int)sizeof(ev->reply);
	return k != REPLY_PARTIAL && k != REPLY_CONNACK;
}

void client_bulk_messages(struct client *c, bulk_message_fn fn, void *obj)
{
	c->bulk_fn = fn;
	c->bulk_obj = obj;
}

/* The fast path: QoS 0 messages from bulk reads, the other packets (whole)
 * through libmosquitto, until nothing more is there. */
static int bulk_read(struct client *c, int sock)
{
	for (int turn = 0; turn < 64; turn++) {
		bool owned = !c->bulk.off && !c->bulk.part; /* bulkread is at a packet boundary */
		enum bulk_next next = bulkread_step(&c->bulk, c->mosq, sock, c->cfg->protocol_version, c->bulk_fn, c->bulk_obj);
		if (next != BULK_LIBRARY)
			return MOSQ_ERR_SUCCESS;
		if (owned)
			readgate_sock_resync(sock, &c->gate); /* it read whole packets only */
		int rc = client_gated_read(c, sock, NULL);
		if (c->gate_wait)
			return rc;
		if (rc || mosquitto_socket(c->mosq) != sock || c->bulk.off)
			return rc;
	}
	return MOSQ_ERR_SUCCESS;
}

int client_loop_step(struct client *c, int timeout_ms, int extra_fd, bool *extra_ready,
		const sigset_t *sigmask)
{
	struct mosquitto *m = c->mosq;
	struct pollfd pfd[4];
	nfds_t n = 0;
	int sock = mosquitto_socket(m);

	if (extra_ready)
		*extra_ready = false;
	if (sock < 0)
		return MOSQ_ERR_NO_CONN;
	if (!c->connack_seen && c->ev.connack < 0 && c->deadline_ms) {
		long long left = c->deadline_ms - mono_ms();
		if (left <= 0) {
			c->ev.timed_out = true;
			return MOSQ_ERR_TIMEOUT;
		}
		if (timeout_ms < 0 || left < timeout_ms)
			timeout_ms = (int)left;
	}
	bool gate_wait = c->gate_wait;
	c->gate_wait = false;
	pfd[n].fd = sock;
	/* a header not all here: wake for more bytes, not for those there */
	pfd[n].events = (gate_wait ? 0 : POLLIN) | (mosquitto_want_write(m) ? POLLOUT : 0);
	pfd[n].revents = 0;
	n++;
	if (extra_fd >= 0) {
		pfd[n].fd = extra_fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	nfds_t own = n;
	if (c->ws_on)
		wsrelay_pollfds(&c->ws, pfd, &n);
	if (timeout_ms < 0 || timeout_ms > 1000)
		timeout_ms = 1000;
	if (gate_wait && timeout_ms > GATE_WAIT_MS)
		timeout_ms = GATE_WAIT_MS;
	/* Records OpenSSL already holds (read ahead) do not wake poll: read
	 * them now. (libmosquitto's socket is plain over WebSockets.) */
	SSL *ssl = c->have_tls && !c->ws_on ? mosquitto_ssl_get(m) : NULL;
	bool buffered = !gate_wait && (tls_input_buffered(ssl) || (c->ws_on && wsrelay_pending(&c->ws)));
	bool coalescing = c->bulk_fn && bulkread_busy(&c->bulk, sock);
	if (coalescing && timeout_ms > BULK_BUSY_MS)
		timeout_ms = BULK_BUSY_MS;
	struct timespec ts = {buffered ? 0 : timeout_ms / 1000, buffered ? 0 : (long)(timeout_ms % 1000) * 1000000L};
	int ready = net_ppoll(pfd, n, &ts, sigmask);
	if (ready < 0)
		return errno == EINTR ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ERRNO;
	if (buffered || (coalescing && ready == 0) || gate_wait)
		pfd[0].revents |= POLLIN; /* look without being woken */
	if (c->ws_on && (n > own || buffered) && ws_pump(c))
		pfd[0].revents |= POLLIN;
	bool plain = !c->have_tls || c->ws_on; /* MQTT in the clear on libmosquitto's socket */
	int rc;
	if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		ack_now(c, sock);
		/* (through libmosquitto's SOCKS5, the proxy answers first in the clear) */
		bool peekable = plain ? !c->cfg->socks5_host || c->ws_on : ssl && c->ev.handshake_done;
		if (!c->connack_seen && peekable && !c->ev.reply_checked && c->ev.connack < 0
				&& first_reply_refused(c, sock, plain ? NULL : ssl))
			return MOSQ_ERR_PROTOCOL;
		rc = c->bulk_fn && c->connack_seen && plain ? bulk_read(c, sock) : client_gated_read(c, sock, plain ? NULL : ssl);
		if (client_gate_enforced(c))
			return client_gate_refused(c);
		if (rc || mosquitto_socket(m) < 0)
			return rc;
		/* Then every packet already read ahead, so that a burst costs one
		 * step (and one write of the output) instead of one per message. */
		for (int i = 0; i < TLS_DRAIN_MAX && !c->gate_wait && tls_input_buffered(ssl); i++) {
			rc = client_gated_read(c, sock, ssl);
			if (client_gate_enforced(c))
				return client_gate_refused(c);
			if (rc || mosquitto_socket(m) < 0)
				return rc;
		}
	}
	if (pfd[0].revents & POLLOUT) {
		rc = mosquitto_loop_write(m, 1);
		if (rc || mosquitto_socket(m) < 0)
			return rc;
		if (c->ws_on)
			ws_pump(c); /* on to the broker now, not at the next turn */
	}
	if (own > 1 && extra_ready && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
		*extra_ready = true;
	if (client_gate_enforced(c))
		return client_gate_refused(c); /* the WebSocket relay refused a packet */
	return mosquitto_loop_misc(m);
}

void client_connack_ok(struct client *c)
{
	struct config *cfg = c->cfg;
	if (!cfg->save_profile)
		return;
	SSL *ssl = client_ssl(c);
	struct profile_save_req req = {
		.name = cfg->save_profile,
		.cfg = cfg,
		.host = cfg->host,
		.port = c->port,
		.tls_version = ssl ? tls_version_name(SSL_version(ssl)) : NULL,
	};
	char *path = NULL, *cause = NULL;
	if (profile_save(&req, &path, &cause)) {
		char *what = NULL;
		if (asprintf(&what, "--save-profile %s: the profile was not saved", cfg->save_profile) < 0)
			what = NULL;
		diag_report(c->diag, what ? what : "--save-profile: the profile was not saved", cause, NULL);
		free(what);
		free(cause);
		c->save_failed = true;
	} else {
		diag_info(c->diag, "saved profile '%s' to %s\n", cfg->save_profile, path);
		bool pw = cfg->password && !cfg->password_file;
		size_t off, len;
		bool proxy_pw = cfg->proxy_url && option_url_password(option_find_long("proxy"), cfg->proxy_url, &off, &len);
		if (pw)
			diag_warn(c->diag, "%s holds your password as it is (pw = ...); it is mode 0600, keep it that way, or put the "
					"password in a file of its own and replace that line with password-file = \"FILE\"; "
					"(--password-file FILE with --save-profile writes only the file's name).\n", path);
		if (cfg->psk || proxy_pw)
			diag_warn(c->diag, "%s holds your %s; it is mode 0600, keep it that way.\n", path,
					cfg->psk ? "PSK" : "proxy password");
	}
	free(path);
	cfg_set_str(&cfg->save_profile, NULL); /* once per run */
}

int client_final_status(const struct client *c, int status)
{
	return (status == 0 && c->save_failed) ? 1 : status;
}
