/* client: a libmosquitto handle set up from struct config (identity, will,
 * credentials, TLS, proxy), the connect, and the poll-based event loop both
 * tools run on. */
#ifndef SMQTT_CLIENT_H
#define SMQTT_CLIENT_H

#include <signal.h>
#include <stdbool.h>
#include <mosquitto.h>
#include "bulkread.h"
#include "diag.h"
#include "net.h"
#include "explain.h"
#include "options.h"
#include "pktgate.h"
#include "report.h"
#include "tls.h"
#include "wsrelay.h"

struct client {
	struct mosquitto *mosq;
	struct config *cfg;
	const struct diag *diag;
	int port; /* the port actually used */
	bool save_failed; /* --save-profile could not write its file */
	bool have_tls;    /* our own instrumented SSL_CTX is in use */
	bool tls_installed; /* tls holds a context handed to libmosquitto */
	struct tls tls;
	struct tls_files files; /* parsed once, shared by every attempt */
	bool preflight_deferred; /* a saved session is resumed: checks only on failure */
	struct evidence ev;
	struct bulkread bulk;       /* smqtt_sub's fast path (plain MQTT) */
	bulk_message_fn bulk_fn;    /* NULL: libmosquitto reads everything */
	void *bulk_obj;
	bool connack_seen;
	bool settled;     /* settle_stage ran for this failure (its probes are not repeated) */
	bool retrying;    /* smqtt_sub: closed before the first CONNACK, explained, retrying */
	bool retry_unanswered; /* set by smqtt_sub: such a close is retried (client_should_retry) */
	long long deadline_ms; /* --connect-timeout, until the CONNACK */
	long long limit_ms; /* smqtt_sub -W: when the run ends (0: none); bounds an upgrade */
	bool limit_hit;     /* the upgrade was cut short by it */
	bool relay_failed;  /* the WebSocket relay's local socket failed: explained already */
	bool ws_on;       /* MQTT over WebSockets: libmosquitto talks to ws's Unix socket */
	struct report *explain_into; /* --check: a failure is explained into this report, not on stderr */
	struct wsrelay ws;
	struct pktgate gate;  /* after the CONNACK: the broker's packets, judged before libmosquitto reads them */
	bool gate_plain;      /* plain MQTT, judged on the socket's byte counts (readgate.h) */
	bool gate_enforce;    /* libmosquitto reached the refused packet: the run ends */
	bool gate_wait;       /* a header is not all here: poll for more, not for what is there */
	void (*log_fn)(struct mosquitto *, void *, int, const char *); /* the tool's log callback (calls client_log) */
};

/* The tool's libmosquitto log callback, which hands each line to
 * client_log: set at once with -d, else when the plain-MQTT gate needs to
 * count packets (readgate.h). */
void client_route_log(struct client *c, void (*fn)(struct mosquitto *, void *, int, const char *));
void client_log(struct client *c, int level, const char *line);

/* The packet gate, for client.c (clientgate.c): started in the CONNACK's
 * callback; one libmosquitto read when the gate lets it; whether a refusal
 * ends the run now; the evidence for its explanation; the end of the
 * connection it makes (returns MOSQ_ERR_PROTOCOL). */
void client_gate_start(struct client *c);
int client_gated_read(struct client *c, int sock, SSL *ssl);
bool client_gate_enforced(const struct client *c);
void client_gate_evidence(struct client *c);
int client_gate_refused(struct client *c);

/* After the first CONNACK on plain MQTT, deliver QoS 0 messages without
 * properties to fn straight from bulk reads (see bulkread.h), with obj as
 * its userdata; every other packet still goes through libmosquitto. */
void client_bulk_messages(struct client *c, bulk_message_fn fn, void *obj);


/* The port a run connects to: -p, or 8883 with TLS material, else 1883. */
int client_port(const struct config *cfg);

/* Run the preflight checks when the run uses TLS files; keep (or NULL)
 * receives what they parsed. On a fatal finding prints the report and
 * returns 1 (exit status); else 0. */
int client_preflight(const struct config *cfg, const struct diag *d, struct tls_files *keep);

/* Create the handle with obj as callback userdata and apply every option,
 * after the preflight checks. Prints mosquitto's message and returns
 * non-zero on failure. */
int client_init(struct client *c, struct config *cfg, const struct diag *d, void *obj);

/* The same when the caller ran preflight itself: files (moved into the
 * client) holds what it parsed. */
int client_init_checked(struct client *c, struct config *cfg, const struct diag *d, void *obj,
		struct tls_files *files);
void client_free(struct client *c);

/* Start the connection. Returns 0, or the exit status after explaining
 * the failure (1 before TCP is up, 8 for TLS, 7 for a rejection after the
 * TLS 1.3 handshake; over WebSockets 13 for a refused upgrade, 7 for a
 * server that closed without answering; 255 when smqtt_sub's -W ended the
 * upgrade). */
int client_connect(struct client *c);

/* Called by the tools on a successful CONNACK: --save-profile happens here. */
void client_connack_ok(struct client *c);

/* Called by the tools on any CONNACK (result 0 or a refusal). */
void client_note_connack(struct client *c, int result);

/* The end of a run that stopped with mosquitto error rc and CONNACK
 * result connack (0: accepted or none). A failure before the connection
 * was up is explained from the evidence; one after it keeps mosquitto's
 * "Error: ..." line. Returns the exit status (mosquitto's codes). */
int client_finish(struct client *c, int rc, int connack);

/* smqtt_sub, before its first CONNACK, when the loop ended with rc: true
 * when mosquitto_sub would reconnect, i.e. the connection was closed
 * without a CONNACK and without a TLS alert (a broker at max_connections,
 * a TLS terminator whose broker is down, plain MQTT to a TLS port). The
 * first time, the failure is explained then (once per run); later ones
 * are not. False: client_finish explains and ends the run. */
bool client_should_retry(struct client *c, int rc);

/* Before each reconnect: a fresh attempt's evidence and timeout. */
void client_prepare_reconnect(struct client *c);

/* mosquitto_reconnect(), with a new WebSocket connection first when the
 * run uses WebSockets. Returns a MOSQ_ERR_* code. */
int client_reconnect(struct client *c);

/* The TLS connection to the broker (libmosquitto's, or the WebSocket
 * relay's for wss), or NULL. */
SSL *client_ssl(const struct client *c);

/* The exit status once the run is over: status, or 1 when --save-profile
 * failed on an otherwise successful run. */
int client_final_status(const struct client *c, int status);

/* One turn of the event loop, like mosquitto_loop() but built on ppoll so
 * that an extra descriptor (stdin) can be watched and signals in
 * sigmask wake it without a race. extra_fd < 0: none. *extra_ready is set
 * when extra_fd is readable. Returns a MOSQ_ERR_* code. */
int client_loop_step(struct client *c, int timeout_ms, int extra_fd, bool *extra_ready,
		const sigset_t *sigmask);

/* Signals: SIGINT/SIGTERM set the one global flag. client_signals_block()
 * blocks them and stores the previous mask for client_loop_step. */
void client_signals_block(sigset_t *waitmask);
int client_signal_caught(void);

#endif
