/* sub: smqtt_sub's subscribe loop (see sub.h). It keeps mosquitto_sub's
 * semantics (reconnect forever on a lost connection, -W, signals) on a
 * ppoll loop, so that signals are seen without a race and without a global
 * other than the one flag in client.c. */
#include "sub.h"

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

/* -w: the terminal line of each topic (line 1 holds "Broker: host"), in an
 * open-addressing table keyed by the topic. */
struct watch {
	char **topics;
	int *lines;
	size_t cap, n;
	int next_line;
};

static size_t watch_hash(const char *t)
{
	size_t h = 14695981039346656037ULL;
	for (; *t; t++)
		h = (h ^ (unsigned char)*t) * 1099511628211ULL;
	return h;
}

static bool watch_grow(struct watch *w)
{
	size_t cap = w->cap ? w->cap * 2 : 64;
	char **topics = calloc(cap, sizeof(char *));
	int *lines = calloc(cap, sizeof(int));
	if (!topics || !lines) {
		free(topics);
		free(lines);
		return false;
	}
	for (size_t i = 0; i < w->cap; i++) {
		if (!w->topics[i])
			continue;
		size_t k = watch_hash(w->topics[i]) & (cap - 1);
		while (topics[k])
			k = (k + 1) & (cap - 1);
		topics[k] = w->topics[i];
		lines[k] = w->lines[i];
	}
	free(w->topics);
	free(w->lines);
	w->topics = topics;
	w->lines = lines;
	w->cap = cap;
	return true;
}

/* The line of topic, given the next free one when it is new; 0 when out of
 * memory (the message is then printed where the cursor is). */
static int watch_line(struct watch *w, const char *topic)
{
	if ((w->n + 1) * 2 > w->cap && !watch_grow(w))
		return 0;
	size_t k = watch_hash(topic) & (w->cap - 1);
	for (; w->topics[k]; k = (k + 1) & (w->cap - 1))
		if (!strcmp(w->topics[k], topic))
			return w->lines[k];
	if (!(w->topics[k] = strdup(topic)))
		return 0;
	w->n++;
	return w->lines[k] = w->next_line++;
}

static void watch_free(struct watch *w)
{
	for (size_t i = 0; i < w->cap; i++)
		free(w->topics[i]);
	free(w->topics);
	free(w->lines);
	memset(w, 0, sizeof(*w));
}

struct sub {
	struct config *cfg;
	const struct diag *d;
	struct client client;
	struct outbuf out;
	struct fmt_opts fmt;
	bool connack_received;
	int connack_result;
	long long t0_ms;        /* the start of the run: -W counts from here */
	int retries;            /* reconnects before the first CONNACK */
	bool process_messages;
	bool disconnect_requested;
	int msg_count;
	int last_mid;           /* mid of the last --remove-retained publish */
	int remove_pending;     /* --remove-retained publishes not yet confirmed */
	int write_errno;        /* why stdout failed, 0 while it works */
	int rate_count;         /* --message-rate: messages in this second */
	long long rate_tick;    /* --message-rate: when the next count is due */
	struct watch watch;     /* -w */
};

static void request_disconnect(struct sub *s, int reason)
{
	s->disconnect_requested = true;
	mosquitto_disconnect_v5(s->client.mosq, reason, s->cfg->disconnect_props);
}

static void write_out(struct sub *s)
{
	if (!s->out.len)
		return;
	fwrite(s->out.data, 1, s->out.len, stdout);
	outbuf_reset(&s->out);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		if (!s->write_errno)
			s->write_errno = errno ? errno : EIO;
		request_disconnect(s, 0);
	}
}

static bool filtered_out(const struct config *cfg, const char *topic)
{
	for (int i = 0; i < cfg->filter_out_count; i++) {
		bool match = false;
		mosquitto_topic_matches_sub(cfg->filter_outs[i], topic, &match);
		if (match)
			return true;
	}
	return false;
}

static void finish_if_done(struct sub *s)
{
	if (!s->process_messages && s->remove_pending == 0)
		request_disconnect(s, 0);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m,
		const mosquitto_property *props)
{
	struct sub *s = obj;
	struct config *cfg = s->cfg;
	s->rate_count++;
	if (!s->process_messages)
		return;
	if (cfg->retained_only && !m->retain) {
		s->process_messages = false;
		finish_if_done(s);
		return;
	}
	if (m->retain && cfg->no_retain)
		return;
	if (filtered_out(cfg, m->topic))
		return;
	if (cfg->remove_retained && m->retain) {
		if (mosquitto_publish(mosq, &s->last_mid, m->topic, 0, NULL, 1, true) == MOSQ_ERR_SUCCESS)
			s->remove_pending++;
	}
	/* -w, as mosquitto 2.1: the cursor goes to the topic's line (also for a
	 * message the random filter then drops), the message is printed over
	 * what was there, and the cursor goes below the last line. */
	if (cfg->watch) {
		int line = watch_line(&s->watch, m->topic);
		if (line)
			outbuf_printf(&s->out, "\033[%d;1H", line);
	}
	if (cfg->random_filter < 10000 && random() % 10000 >= cfg->random_filter)
		goto count;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct fmt_msg fm = {m->topic, m->payload, m->payloadlen, m->qos, m->retain, m->mid, props};
	char *cause = NULL;
	format_message(&s->out, &s->fmt, &fm, &now, &cause);
	if (cause) {
		write_out(s); /* keep stdout and stderr in mosquitto's order */
		diag_compat(s->d, "%s", cause);
		free(cause);
	}
	if (cfg->watch)
		outbuf_printf(&s->out, "\033[%d;1H\n", s->watch.next_line - 1);
	/* Output is written once per turn of the loop (see run_loop), not once
	 * per message: a burst of messages costs one write. */
	if (s->out.len >= 65536 || s->cfg->debug) /* -d lines share stdout: keep their order */
		write_out(s);
count:
	if (cfg->msg_count > 0 && ++s->msg_count == cfg->msg_count) {
		s->process_messages = false;
		finish_if_done(s);
	}
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int rc, const mosquitto_property *props)
{
	struct sub *s = obj;
	(void)mosq;
	(void)mid;
	(void)rc;
	(void)props;
	if (s->remove_pending > 0)
		s->remove_pending--;
	finish_if_done(s);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *line)
{
	(void)mosq;
	client_log(&((struct sub *)obj)->client, level, line);
}

static void on_connect(struct mosquitto *mosq, void *obj, int result, int flags,
		const mosquitto_property *props)
{
	struct sub *s = obj;
	struct config *cfg = s->cfg;
	(void)flags;
	(void)props;
	s->connack_received = true;
	s->connack_result = result;
	client_note_connack(&s->client, result);
	if (!result) {
		if (s->retries)
			diag_info(s->d, "connected to %s:%d at attempt %d, %.1f s after the start\n", cfg->host, s->client.port,
					s->retries + 1, (double)(mono_ms() - s->t0_ms) / 1000.0);
		client_connack_ok(&s->client);
		mosquitto_subscribe_multiple(mosq, NULL, cfg->topic_count, cfg->topics, cfg->qos,
				cfg->sub_opts, cfg->subscribe_props);
		for (int i = 0; i < cfg->unsub_topic_count; i++)
			mosquitto_unsubscribe_v5(mosq, NULL, cfg->unsub_topics[i], cfg->unsubscribe_props);
		return;
	}
	request_disconnect(s, 0); /* explained by client_finish */
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted)
{
	struct sub *s = obj;
	bool print = s->cfg->debug && !s->cfg->quiet;
	bool some_allowed = false;
	(void)mosq;
	if (print)
		printf("Subscribed (mid: %d): %d", mid, granted[0]);
	for (int i = 0; i < qos_count; i++) {
		if (print && i > 0)
			printf(", %d", granted[i]);
		some_allowed |= granted[i] < 128;
	}
	if (print)
		printf("\n");
	for (int i = 0; s->d->trace && i < s->cfg->topic_count; i++)
		diag_trace(s->d, "mqtt: subscribed to '%s', granted QoS %d", s->cfg->topics[i], i < qos_count ? granted[i] : -1);
	if (!some_allowed) {
		request_disconnect(s, 0);
		diag_compat(s->d, "All subscription requests were denied.\n");
	}
	if (s->cfg->exit_after_sub)
		request_disconnect(s, 0);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	struct sub *s = obj;
	(void)mosq;
	(void)props;
	if (rc == 0)
		diag_trace(s->d, "mqtt: disconnected (clean)");
	else
		diag_trace(s->d, "mqtt: disconnected (%s)", mosquitto_strerror(rc));
}

static bool fatal_rc(int rc)
{
	switch (rc) {
	case MOSQ_ERR_NOMEM: case MOSQ_ERR_PROTOCOL: case MOSQ_ERR_INVAL: case MOSQ_ERR_NOT_FOUND:
	case MOSQ_ERR_TLS: case MOSQ_ERR_PAYLOAD_SIZE: case MOSQ_ERR_NOT_SUPPORTED: case MOSQ_ERR_AUTH:
	case MOSQ_ERR_ACL_DENIED: case MOSQ_ERR_UNKNOWN: case MOSQ_ERR_EAI: case MOSQ_ERR_PROXY:
		return true;
	default:
		return errno == EPROTO;
	}
}

/* Returns true when the run must end at once with status 255 (a signal or
 * -W timeout before the CONNACK, as mosquitto_sub's exit(-1)). */
static bool handle_stop(struct sub *s, long long deadline, bool *timed_out, bool *stopping)
{
	bool timeout = deadline && mono_ms() >= deadline;
	if (*stopping || (!timeout && !client_signal_caught()))
		return false;
	*stopping = true;
	*timed_out = timeout;
	if (!s->connack_received)
		return true;
	s->process_messages = false;
	request_disconnect(s, MQTT_RC_DISCONNECT_WITH_WILL_MSG);
	return false;
}

/* --message-rate: "N msgs/s" once a second from the connect on (every
 * message received counts, printed or not), and once more, for the part
 * of a second, when a signal or -W stops the run, as mosquitto 2.1 does. */
static void rate_report(struct sub *s, bool now)
{
	if (!s->rate_tick || (!now && mono_ms() < s->rate_tick))
		return;
	outbuf_printf(&s->out, "%d msgs/s\n", s->rate_count);
	s->rate_count = 0;
	s->rate_tick += 1000;
}

static int run_loop(struct sub *s, const sigset_t *waitmask, bool *timed_out, bool *abort_run)
{
	long long deadline = s->cfg->timeout ? s->t0_ms + (long long)s->cfg->timeout * 1000 : 0;
	s->client.limit_ms = deadline;
	bool stopping = false;
	int rc;
	for (;;) {
		int wait = 1000;
		if (deadline && !stopping) {
			long long left = deadline - mono_ms();
			wait = left < 0 ? 0 : (left < 1000 ? (int)left : 1000);
		}
		if (s->rate_tick) {
			long long left = s->rate_tick - mono_ms();
			if (left < wait)
				wait = left < 0 ? 0 : (int)left;
		}
		rc = client_loop_step(&s->client, wait, -1, NULL, waitmask);
		rate_report(s, false);
		write_out(s);
		if ((*abort_run = handle_stop(s, deadline, timed_out, &stopping)))
			return rc;
		if (stopping && s->rate_tick) {
			rate_report(s, true); /* the part of a second before the stop */
			s->rate_tick = 0;
			write_out(s);
		}
		if (rc == MOSQ_ERR_SUCCESS)
			continue;
		/* Before the first CONNACK: a connection closed without a CONNACK
		 * (or a TLS alert) is explained once, then retried every second
		 * like mosquitto_sub does, for ever or until -W; anything else is
		 * a failure to connect, explained at once. */
		bool retry = !s->connack_received && client_should_retry(&s->client, rc);
		if (!retry && (fatal_rc(rc) || rc == MOSQ_ERR_TIMEOUT || !s->connack_received))
			return rc;
		if (s->disconnect_requested)
			return MOSQ_ERR_SUCCESS;
		/* Lost: wait one second, as libmosquitto's loop_forever does,
		 * then reconnect; keep trying until told to stop. */
		for (;;) {
			long long until = mono_ms() + 1000;
			while (mono_ms() < until) {
				/* first the stop: a signal may have ended the reconnect */
				rate_report(s, false); /* --message-rate counts on while reconnecting */
				write_out(s);
				if ((*abort_run = handle_stop(s, deadline, timed_out, &stopping)))
					return rc;
				if (s->disconnect_requested)
					return MOSQ_ERR_SUCCESS;
				struct timespec ts = {0, 100 * 1000000L};
				sigset_t old;
				sigprocmask(SIG_SETMASK, waitmask, &old);
				nanosleep(&ts, NULL);
				sigprocmask(SIG_SETMASK, &old, NULL);
			}
			if (!s->connack_received) {
				s->retries++;
				client_prepare_reconnect(&s->client);
			}
			if (client_reconnect(&s->client) == MOSQ_ERR_SUCCESS)
				break;
		}
	}
}

/* End the process as mosquitto_sub 2.0.21 does when stdout is closed: by
 * SIGPIPE, which cli_configure ignores for the run. */
static void die_of_sigpipe(void)
{
	sigset_t pipe;
	fflush(stderr);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigprocmask(SIG_UNBLOCK, &pipe, NULL);
	raise(SIGPIPE);
}

int sub_run(struct config *cfg, const struct diag *d)
{
	struct sub s;
	struct timespec seed;
	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.d = d;
	s.process_messages = !cfg->message_rate; /* counted, never printed */
	s.watch.next_line = 2;
	if (cfg->message_rate)
		cfg->watch = false;
	s.fmt = (struct fmt_opts){cfg->format, cfg->verbose, cfg->eol, cfg->pretty, cfg->compat == COMPAT_21};
	outbuf_init(&s.out);
	s.t0_ms = mono_ms();
	clock_gettime(CLOCK_REALTIME, &seed);
	srandom((unsigned)seed.tv_nsec);

	if (client_init(&s.client, cfg, d, &s)) {
		client_free(&s.client);
		return 1;
	}
	struct mosquitto *m = s.client.mosq;
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_connect_v5_callback_set(m, on_connect);
	client_route_log(&s.client, on_log);
	mosquitto_message_v5_callback_set(m, on_message);
	mosquitto_publish_v5_callback_set(m, on_publish);
	mosquitto_disconnect_v5_callback_set(m, on_disconnect);
	/* QoS 0 subscriptions read their messages in bulk; -d logs every
	 * PUBLISH received, so it stays on libmosquitto's reads */
	if (!cfg->debug && cfg->qos == 0)
		client_bulk_messages(&s.client, on_message, &s);
	if (cfg->watch) {
		outbuf_printf(&s.out, "\033[2J\033[1;1HBroker: %s\n", cfg->host);
		write_out(&s);
	}
	s.client.retry_unanswered = true;
	if (cfg->timeout)
		s.client.limit_ms = s.t0_ms + (long long)cfg->timeout * 1000;
	int crc = client_connect(&s.client);
	if (crc) {
		client_free(&s.client);
		watch_free(&s.watch);
		return crc;
	}
	if (cfg->message_rate)
		s.rate_tick = mono_ms() + 1000;
	sigset_t waitmask;
	client_signals_block(&waitmask);
	bool timed_out = false, abort_run = false;
	int rc = run_loop(&s, &waitmask, &timed_out, &abort_run);
	outbuf_free(&s.out);
	if (abort_run) {
		client_free(&s.client);
		watch_free(&s.watch);
		return 255;
	}
	/* A closed pipe (smqtt_sub | head) ends the run quietly, as mosquitto_sub
	 * does: status 0 with libmosquitto 2.0.11 (Debian 12), killed by SIGPIPE
	 * with 2.0.21 (Debian 13), whichever is running; any other write
	 * failure is data loss. */
	int status;
	if (s.write_errno && s.write_errno != EPIPE) {
		diag_compat(d, "Error: Could not write to standard output: %s\n", strerror(s.write_errno));
		status = 1;
	} else if (timed_out) {
		diag_compat(d, "Timed out\n");
		status = MOSQ_ERR_TIMEOUT;
	} else {
		if (cfg->msg_count > 0 && rc == MOSQ_ERR_NO_CONN && s.connack_received)
			rc = 0;
		status = client_finish(&s.client, rc, s.connack_result);
	}
	client_free(&s.client);
	watch_free(&s.watch);
	if (s.write_errno == EPIPE && cfg->compat == COMPAT_20 && options_libmosquitto_version() >= 20021)
		die_of_sigpipe();
	return client_final_status(&s.client, status);
}
