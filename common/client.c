/* client: the client's set-up and its life (see client.h): the
 * libmosquitto handle from struct config (identity, will, credentials, TLS
 * options, proxy), the choice of transport, preflight, the CONNACK's
 * consequences (--save-profile) and the end. The attempt loop is in
 * connect.c, the post-mortem in postmortem.c, the event loop in loop.c,
 * the transports behind transport.h. */
#include "client.h"
#include "l10n.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>

#include "preflight.h"
#include "profile.h"
#include "report.h"
#include "transport.h"

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
	c->transport = transport_ws();
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
	c->transport = transport_mosquitto();
	c->cfg = cfg;
	c->diag = d;
	c->files = *files;
	tls_files_init(files);
	bulkread_init(&c->bulk);
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
	/* after a signal, only what the socket takes at once: no wait for a
	 * server that reads nothing */
	if (c->transport)
		c->transport->close(c, client_signal_caught() ? 0 : 500);
	c->transport = NULL;
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

void client_note_connack(struct client *c, int result)
{
	diag_trace(c->diag, "mqtt: CONNACK %d (%s)", result, c->cfg->protocol_version == MQTT_PROTOCOL_V5
			? mosquitto_reason_string(result) : mosquitto_connack_string(result));
	c->connack_seen = result == 0;
	c->ev.connack = result;
	if (c->have_tls)
		tls_note_established(&c->tls, client_ssl(c));
}


void client_bulk_messages(struct client *c, bulk_message_fn fn, void *obj)
{
	c->bulk_fn = fn;
	c->bulk_obj = obj;
}

SSL *client_ssl(const struct client *c)
{
	return c->transport ? c->transport->ssl(c) : NULL;
}

void client_connack_ok(struct client *c)
{
	struct config *cfg = c->cfg;
	if (!cfg->save_profile)
		return;
	struct profile_save_req req = {
		.name = cfg->save_profile,
		.cfg = cfg,
		.host = cfg->host,
		.port = c->port,
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
