/* rr: smqtt_rr's request/response run (see rr.h). It keeps mosquitto_rr's
 * order (CONNECT, SUBSCRIBE to the response topic, PUBLISH the request once
 * the SUBACK grants it, print the first message that arrives, close) on the
 * ppoll loop pub and sub use; the message is printed by sub's formatter and
 * the request's payload is loaded by pub's loader. A response that never
 * comes is explained from what the run saw at each step. */
#include "rr.h"
#include "l10n.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mqtt_protocol.h>

#include "client.h"
#include "format.h"
#include "outbuf.h"
#include "pub.h"
#include "report.h"

enum rr_state {
	RR_CONNECTING,  /* until the CONNACK */
	RR_SUBSCRIBING, /* SUBSCRIBE to the response topic sent */
	RR_WAITING,     /* the request was handed to libmosquitto */
	RR_DONE,        /* a response was printed, or the run ended early */
};

struct rr {
	struct config *cfg;
	const struct diag *d;
	struct client client;
	struct outbuf out;
	struct fmt_opts fmt;
	enum rr_state state;
	int connack_result;
	int granted;            /* the SUBACK's code for the response topic (-1: none) */
	int publish_rc;         /* the request's mosquitto_publish result */
	bool confirmed;         /* the broker confirmed the request (QoS 0: it was written) */
	bool answered;
	bool timed_out;
	long skipped;           /* responses that belong to another request */
	void *corr;             /* the request's correlation data (-D publish correlation-data) */
	uint16_t corr_len;
	int write_errno;
	long long t0_ms;
	struct timespec sent_at, recv_at;
};

int rr_prepare(struct config *cfg, const struct diag *d)
{
	/* mosquitto_rr 2.1 loads -f / -s before its checks; 2.0.11 never
	 * loads them (it sends an empty request), smqtt does after them */
	bool v21 = cfg->compat == COMPAT_21;
	if (v21 && pub_load_input(cfg, d))
		return 1;
	if (!cfg->topic || cfg->pub_mode == MSG_NONE || !cfg->response_topic) {
		diag_usage_error(d, "Error: All of topic, message, and response topic must be supplied.\n");
		return 1;
	}
	if (!v21 && pub_load_input(cfg, d))
		return 1;
	if (mosquitto_property_add_string(&cfg->publish_props, MQTT_PROP_RESPONSE_TOPIC, cfg->response_topic)) {
		diag_always(d, "Error adding property RESPONSE_TOPIC.\n");
		return 1;
	}
	if (mosquitto_property_check_all(CMD_PUBLISH, cfg->publish_props)) {
		diag_compat(d, "Error in PUBLISH properties: Duplicate response topic.\n");
		return 1;
	}
	return 0;
}

static void write_out(struct rr *r)
{
	if (!r->out.len)
		return;
	fwrite(r->out.data, 1, r->out.len, stdout);
	outbuf_reset(&r->out);
	if ((fflush(stdout) == EOF || ferror(stdout)) && !r->write_errno)
		r->write_errno = errno ? errno : EIO;
}

static void publish_request(struct rr *r)
{
	struct config *cfg = r->cfg;
	int mid = 0;
	const void *payload = cfg->pub_mode == MSG_NULL ? NULL : cfg->message;
	int len = cfg->pub_mode == MSG_NULL ? 0 : (int)cfg->msglen;
	clock_gettime(CLOCK_REALTIME, &r->sent_at);
	r->state = RR_WAITING;
	/* MQTT v3.x has no properties: the request goes without its
	 * response topic, as mosquitto_rr sends it */
	r->publish_rc = mosquitto_publish_v5(r->client.mosq, &mid, cfg->topic, len, payload, cfg->qos, cfg->retain,
			cfg->protocol_version == MQTT_PROTOCOL_V5 ? cfg->publish_props : NULL);
	if (r->publish_rc)
		r->state = RR_DONE;
	else
		diag_trace(r->d, "mqtt: request mid %d sent to '%s' (QoS %d), response topic '%s'", mid, cfg->topic,
				cfg->qos, cfg->response_topic);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *line)
{
	(void)mosq;
	client_log(&((struct rr *)obj)->client, level, line);
}

static void on_connect(struct mosquitto *mosq, void *obj, int result, int flags,
		const mosquitto_property *props)
{
	struct rr *r = obj;
	struct config *cfg = r->cfg;
	(void)flags;
	(void)props;
	r->connack_result = result;
	client_note_connack(&r->client, result);
	if (result) {
		r->state = RR_DONE; /* explained by client_finish */
		return;
	}
	client_connack_ok(&r->client);
	r->state = RR_SUBSCRIBING;
	/* 2.0.11 subscribes without options (-R and --retain-as-published
	 * have no effect there); 2.1 with them */
	mosquitto_subscribe_v5(mosq, NULL, cfg->response_topic, cfg->qos,
			cfg->compat == COMPAT_21 ? cfg->sub_opts : 0, cfg->subscribe_props);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted)
{
	struct rr *r = obj;
	(void)mid;
	if (r->state != RR_SUBSCRIBING)
		return;
	r->granted = qos_count > 0 ? granted[0] : 128;
	diag_trace(r->d, "mqtt: subscribed to the response topic '%s', granted QoS %d", r->cfg->response_topic, r->granted);
	if (r->granted < 128) {
		publish_request(r);
		return;
	}
	/* mosquitto_rr prints the reason and ends with status 0 */
	r->state = RR_DONE;
	diag_compat(r->d, "%s\n", mosquitto_reason_string(r->granted));
	mosquitto_disconnect_v5(mosq, 0, r->cfg->disconnect_props);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason_code, const mosquitto_property *props)
{
	struct rr *r = obj;
	(void)mosq;
	(void)props;
	r->confirmed = true;
	if (r->cfg->qos)
		diag_trace(r->d, "mqtt: request mid %d confirmed by the broker (reason %d)", mid, reason_code);
	else
		diag_trace(r->d, "mqtt: request mid %d written (QoS 0)", mid);
}

/* A response that carries correlation data other than the request's
 * answers another request (another smqtt_rr on the same response topic):
 * skipped. One without correlation data is taken, as mosquitto_rr takes
 * every message. */
static bool other_request(struct rr *r, const mosquitto_property *props)
{
	void *value = NULL;
	uint16_t len = 0;
	if (!r->corr || !mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &value, &len, false))
		return false;
	bool other = len != r->corr_len || memcmp(value, r->corr, len) != 0;
	free(value);
	return other;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
		const mosquitto_property *props)
{
	struct rr *r = obj;
	(void)mosq;
	if (r->state == RR_DONE)
		return;
	/* 2.1 and 2.0.21 (Debian 13) leave out retained messages with -R;
	 * 2.0.11 (Debian 12) prints them: 2.0 mode follows the installed
	 * libmosquitto's version */
	if (m->retain && r->cfg->no_retain
			&& (r->cfg->compat == COMPAT_21 || options_libmosquitto_version() >= 20021))
		return;
	if (other_request(r, props)) {
		if (r->skipped++ == 0)
			diag_trace(r->d, "mqtt: skipped a message on '%s': its correlation data belongs to another request", m->topic);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &r->recv_at);
	struct fmt_msg fm = {m->topic, m->payload, m->payloadlen, m->qos, m->retain, m->mid, props};
	char *cause = NULL;
	format_message(&r->out, &r->fmt, &fm, &r->recv_at, &cause);
	write_out(r);
	if (cause) {
		diag_compat(r->d, "%s", cause);
		free(cause);
	}
	diag_trace(r->d, "mqtt: response received on '%s' (%d bytes)", m->topic, m->payloadlen);
	r->answered = true;
	r->state = RR_DONE;
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	struct rr *r = obj;
	(void)mosq;
	(void)props;
	if (rc == 0)
		diag_trace(r->d, "mqtt: disconnected (clean)");
	else
		diag_trace(r->d, "mqtt: disconnected (%s)", mosquitto_strerror(rc));
}

/* Runs until a response, a failure, -W or a signal. Returns the last
 * MOSQ_ERR_* code. */
static int run_loop(struct rr *r, const sigset_t *waitmask)
{
	long long deadline = r->cfg->timeout ? r->t0_ms + (long long)r->cfg->timeout * 1000 : 0;
	long long give_up = 0; /* after -W: how long the DISCONNECT may take */
	for (;;) {
		int wait = 1000;
		if (deadline && !r->timed_out) {
			long long left = deadline - mono_ms();
			wait = left < 0 ? 0 : (left < 1000 ? (int)left : 1000);
		}
		int rc = client_loop_step(&r->client, wait, -1, NULL, waitmask);
		if (r->state == RR_DONE || client_signal_caught())
			return r->publish_rc ? r->publish_rc : rc;
		if (rc != MOSQ_ERR_SUCCESS || (give_up && mono_ms() >= give_up))
			return rc;
		if (deadline && !r->timed_out && mono_ms() >= deadline) {
			/* as mosquitto_rr's alarm: a DISCONNECT that asks for the Will */
			r->timed_out = true;
			if (r->state == RR_CONNECTING)
				return rc;
			mosquitto_disconnect_v5(r->client.mosq, MQTT_RC_DISCONNECT_WITH_WILL_MSG, r->cfg->disconnect_props);
			give_up = mono_ms() + 1000;
		}
	}
}

void rr_explain_timeout(const struct config *cfg, const struct rr_outcome *o, struct report *r)
{
	char awaited[2][512], detail[2][2048], fix[2][1024];
	EACH_LANG(l) {
		switch (o->step) {
		case RR_STEP_CONNACK:
			snprintf(awaited[l], sizeof(awaited[l]), L_(l, N_("CONNACK from %s:%d")), cfg->host, o->port);
			snprintf(detail[l], sizeof(detail[l]), "%s", L_(l, N_("the broker did not answer CONNECT in time, so no request was sent")));
			snprintf(fix[l], sizeof(fix[l]), "%s", L_(l, N_("run with --check to see which step stops, or raise -W")));
			break;
		case RR_STEP_SUBACK:
			snprintf(awaited[l], sizeof(awaited[l]), L_(l, N_("SUBACK for the response topic '%s'")), cfg->response_topic);
			snprintf(detail[l], sizeof(detail[l]), "%s", L_(l, N_("the request is sent once the broker acknowledges the "
					"subscription to the response topic, so nothing was published")));
			snprintf(fix[l], sizeof(fix[l]), "%s", L_(l, N_("raise -W, or check the broker's log for the subscription")));
			break;
		case RR_STEP_CONFIRM:
			snprintf(awaited[l], sizeof(awaited[l]), L_(l, N_("confirmation of the request to '%s'")), cfg->topic);
			snprintf(detail[l], sizeof(detail[l]), L_(l, N_("the subscription to the response topic '%s' was granted QoS %d and "
					"the request was sent at QoS %d, but its acknowledgement did not come back")),
					cfg->response_topic, o->granted, cfg->qos);
			snprintf(fix[l], sizeof(fix[l]), "%s", L_(l, N_("raise -W, or check the broker's log for the request")));
			break;
		case RR_STEP_ANSWER: {
			snprintf(awaited[l], sizeof(awaited[l]), L_(l, N_("response on '%s'")), cfg->response_topic);
			int n = snprintf(detail[l], sizeof(detail[l]), cfg->qos ? L_(l, N_("the subscription to the response topic was "
					"granted QoS %d and the broker confirmed the request to '%s', but nobody answered on '%s'"))
					: L_(l, N_("the subscription to the response topic was granted QoS %d and the request to '%s' was "
					"written (at QoS 0 the broker does not confirm it), but nobody answered on '%s'")),
					o->granted, cfg->topic, cfg->response_topic);
			if (o->skipped && n > 0 && (size_t)n < sizeof(detail[l]))
				n += snprintf(detail[l] + n, sizeof(detail[l]) - (size_t)n, LN_(l, "; %ld message there answered another "
						"request (other correlation data) and was skipped", "; %ld messages there answered other "
						"requests (other correlation data) and were skipped", (unsigned long)o->skipped), o->skipped);
			if (cfg->protocol_version != MQTT_PROTOCOL_V5 && n > 0 && (size_t)n < sizeof(detail[l]))
				snprintf(detail[l] + n, sizeof(detail[l]) - (size_t)n, "%s", L_(l, N_("; with MQTT v3.1.1 or v3.1 the "
						"request carries no response topic, so the responder must know it")));
			snprintf(fix[l], sizeof(fix[l]), L_(l, N_("check that a responder is subscribed to '%s' and publishes its answer "
					"to the request's response topic, or raise -W")), cfg->topic);
			break;
		}
		}
	}
	char seconds[32];
	snprintf(seconds, sizeof(seconds), "%d", cfg->timeout);
	struct slot s[] = {{"awaited", awaited[0], awaited[1]}, {"seconds", seconds, NULL},
		{"detail", detail[0], detail[1]}, {"fixhint", fix[0], fix[1]}};
	report_add(r, CAUSE_RR_NO_RESPONSE, SEV_FATAL, s, 4);
}

/* smqtt's extension: why -W ran out, from the step the run had reached. */
static void explain_timeout(const struct rr *r)
{
	struct rr_outcome o = {RR_STEP_ANSWER, r->granted, r->skipped, r->client.port};
	if (r->state == RR_CONNECTING)
		o.step = RR_STEP_CONNACK;
	else if (r->state == RR_SUBSCRIBING)
		o.step = RR_STEP_SUBACK;
	else if (!r->confirmed)
		o.step = RR_STEP_CONFIRM;
	struct report rep;
	report_init(&rep, r->cfg->host, r->client.port);
	rr_explain_timeout(r->cfg, &o, &rep);
	diag_print_report(r->d, &rep, r->cfg->diag_json, STAGE_MQTT);
	report_free(&rep);
}

/* 2.1's --latency, on stdout after the response. */
static void report_latency(struct rr *r)
{
	long s = (long)(r->recv_at.tv_sec - r->sent_at.tv_sec);
	long ns = r->recv_at.tv_nsec - r->sent_at.tv_nsec;
	if (ns < 0) {
		s--;
		ns += 1000000000L;
	}
	if (s > 0)
		outbuf_printf(&r->out, "Latency: %ld.%09ld\n", s, ns);
	else if (ns < 1000)
		outbuf_printf(&r->out, "Latency: %ldns\n", ns);
	else if (ns < 1000000)
		outbuf_printf(&r->out, "Latency: %f\xc2\xb5s\n", (double)ns / 1000.0);
	else
		outbuf_printf(&r->out, "Latency: %fms\n", (double)ns / 1000000.0);
	write_out(r);
}

/* SIGINT / SIGTERM: mosquitto_rr has no handler and dies by the signal;
 * smqtt_rr closes the connection first, then dies by it too. */
static void die_by(int sig)
{
	sigset_t set;
	fflush(stdout);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}

int rr_run(struct config *cfg, const struct diag *d)
{
	struct rr r;
	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.d = d;
	r.granted = -1;
	r.fmt = (struct fmt_opts){cfg->format, cfg->verbose, cfg->eol, cfg->pretty, cfg->compat == COMPAT_21};
	outbuf_init(&r.out);
	r.t0_ms = mono_ms();
	mosquitto_property_read_binary(cfg->publish_props, MQTT_PROP_CORRELATION_DATA, &r.corr, &r.corr_len, false);

	int status = 1;
	if (client_init(&r.client, cfg, d, &r))
		goto out;
	struct mosquitto *m = r.client.mosq;
	mosquitto_connect_v5_callback_set(m, on_connect);
	client_route_log(&r.client, on_log);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_publish_v5_callback_set(m, on_publish);
	mosquitto_message_v5_callback_set(m, on_message);
	mosquitto_disconnect_v5_callback_set(m, on_disconnect);
	if (cfg->timeout)
		r.client.limit_ms = r.t0_ms + (long long)cfg->timeout * 1000;
	if ((status = client_connect(&r.client)) != 0)
		goto out;
	sigset_t waitmask;
	client_signals_block(&waitmask);
	int rc = run_loop(&r, &waitmask);
	/* a request queued in the turn that brought the response (a retained
	 * one) still goes out: mosquitto_rr writes it before it reads on */
	for (int i = 0; i < 10 && r.answered && mosquitto_want_write(r.client.mosq); i++)
		client_loop_step(&r.client, 10, -1, NULL, &waitmask);
	if (client_signal_caught()) {
		client_free(&r.client);
		outbuf_free(&r.out);
		free(r.corr);
		die_by(client_signal_caught());
	}
	if (r.answered && cfg->measure_latency)
		report_latency(&r);
	if (r.timed_out) {
		diag_compat(d, "Timed out\n");
		explain_timeout(&r);
		status = MOSQ_ERR_TIMEOUT;
	} else {
		status = client_finish(&r.client, rc, r.connack_result);
	}
out:
	client_free(&r.client);
	outbuf_free(&r.out);
	free(r.corr);
	return client_final_status(&r.client, status);
}
