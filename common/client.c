/* client: libmosquitto setup, connect and event loop (see client.h). */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>

#include "preflight.h"
#include "profile.h"
#include "report.h"

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

static int set_tls(struct client *c)
{
	struct config *cfg = c->cfg;
	const struct diag *d = c->diag;
	struct mosquitto *m = c->mosq;
	int rc;

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

int client_port(const struct config *cfg)
{
	if (cfg->port != PORT_UNDEFINED)
		return cfg->port;
	return (cfg->cafile || cfg->capath || cfg->psk) ? 8883 : 1883;
}

int client_preflight(const struct config *cfg, const struct diag *d)
{
	if (!preflight_applies(cfg))
		return 0;
	struct report r;
	report_init(&r, cfg->host, client_port(cfg));
	int fatal = preflight_run(cfg, isatty(STDIN_FILENO), &r);
	if (fatal)
		diag_print_report(d, &r, cfg->diag_json, STAGE_PREFLIGHT);
	report_free(&r);
	return fatal ? 1 : 0;
}

int client_init(struct client *c, struct config *cfg, const struct diag *d, void *obj)
{
	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->diag = d;
	if (client_preflight(cfg, d))
		return 1;
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
		diag_compat(d, "Error: Problem setting username and/or password.\n");
		return 1;
	}
	if (set_tls(c))
		return 1;
	mosquitto_max_inflight_messages_set(m, (unsigned)cfg->max_inflight);
	if (cfg->socks5_host) {
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
	if (c->mosq)
		mosquitto_destroy(c->mosq);
	c->mosq = NULL;
}

int client_connect(struct client *c)
{
	struct config *cfg = c->cfg;
	c->port = client_port(cfg);
	int rc = mosquitto_connect_bind_v5(c->mosq, cfg->host, c->port, cfg->keepalive,
			cfg->bind_address, cfg->connect_props);
	if (rc > 0) {
		if (rc == MOSQ_ERR_ERRNO)
			diag_compat(c->diag, "Error: %s\n", strerror(errno));
		else
			diag_compat(c->diag, "Unable to connect (%s).\n", mosquitto_strerror(rc));
	}
	return rc;
}

int client_loop_step(struct client *c, int timeout_ms, int extra_fd, bool *extra_ready,
		const sigset_t *sigmask)
{
	struct mosquitto *m = c->mosq;
	struct pollfd pfd[2];
	nfds_t n = 0;
	int sock = mosquitto_socket(m);

	if (extra_ready)
		*extra_ready = false;
	if (sock < 0)
		return MOSQ_ERR_NO_CONN;
	pfd[n].fd = sock;
	pfd[n].events = POLLIN | (mosquitto_want_write(m) ? POLLOUT : 0);
	pfd[n].revents = 0;
	n++;
	if (extra_fd >= 0) {
		pfd[n].fd = extra_fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	if (timeout_ms < 0 || timeout_ms > 1000)
		timeout_ms = 1000;
	struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
	int ready = ppoll(pfd, n, &ts, sigmask);
	if (ready < 0)
		return errno == EINTR ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ERRNO;
	int rc;
	if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		rc = mosquitto_loop_read(m, 1);
		if (rc || mosquitto_socket(m) < 0)
			return rc;
	}
	if (pfd[0].revents & POLLOUT) {
		rc = mosquitto_loop_write(m, 1);
		if (rc || mosquitto_socket(m) < 0)
			return rc;
	}
	if (n > 1 && extra_ready && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
		*extra_ready = true;
	return mosquitto_loop_misc(m);
}

static const char *tls_version_name(int v)
{
	switch (v) {
	case TLS1_3_VERSION: return "tlsv1.3";
	case TLS1_2_VERSION: return "tlsv1.2";
	case TLS1_1_VERSION: return "tlsv1.1";
	case TLS1_VERSION: return "tlsv1";
	default: return NULL;
	}
}

void client_connack_ok(struct client *c)
{
	struct config *cfg = c->cfg;
	if (!cfg->save_profile)
		return;
	SSL *ssl = mosquitto_ssl_get(c->mosq);
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
		if (cfg->password || cfg->psk)
			diag_warn(c->diag, "%s holds your %s; it is mode 0600, keep it that way.\n", path,
					cfg->password ? "password" : "PSK");
	}
	free(path);
	cfg_set_str(&cfg->save_profile, NULL); /* once per run */
}

int client_final_status(const struct client *c, int status)
{
	return (status == 0 && c->save_failed) ? 1 : status;
}
