/* pub: smqtt_pub's publish loop (see pub.h). Single-threaded: the broker
 * socket and stdin are multiplexed with ppoll, and stdin is read only while
 * the in-flight window has room, so memory stays bounded in -l mode. */
#include "pub.h"
#include "l10n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <mqtt_protocol.h>

#include "client.h"

enum pub_status { ST_CONNECTING, ST_CONNACK, ST_NOHOPE, ST_DISCONNECTED };

struct pub {
	struct config *cfg;
	const struct diag *d;
	struct client client;
	enum pub_status status;
	int connack_result;
	bool first_publish;
	bool disconnect_sent;
	int publish_count;      /* messages the broker has confirmed (or written, QoS 0) */
	int inflight;           /* published, not yet confirmed */
	bool ready_for_repeat;
	struct timespec next_publish;
	/* -l */
	char *buf;
	size_t buf_len, buf_cap;
	size_t scan;            /* bytes of buf already searched for '\n' */
	bool eof;
	int sent;               /* messages handed to libmosquitto */
	long line_no;           /* lines read so far (-l) */
	long confirmed;         /* lines the broker confirmed (QoS > 0) */
	struct pend { int mid; long line; } *pend; /* unconfirmed, at most the window */
	int npend;
	bool undelivered;       /* gave up with lines unconfirmed (reported) */
};

/* ---- input ------------------------------------------------------------ */

static int read_all(int fd, char **out, size_t *outlen, size_t limit, bool *too_big)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	*too_big = false;
	for (;;) {
		if (len + 65536 > cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *g = realloc(buf, ncap + 1);
			if (!g) {
				free(buf);
				return -1;
			}
			buf = g;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > limit) {
			*too_big = true;
			free(buf);
			return -1;
		}
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static int load_stdin(struct config *cfg, const struct diag *d)
{
	bool too_big;
	char *data = NULL;
	size_t len = 0;
	if (read_all(STDIN_FILENO, &data, &len, MQTT_MAX_PAYLOAD, &too_big)) {
		if (too_big)
			diag_compat(d, "Error: Message length must be less than %u bytes.\n\n", MQTT_MAX_PAYLOAD);
		else
			diag_compat(d, "Error: Out of memory.\n");
		return 1;
	}
	if (len == 0) {
		free(data);
		diag_compat(d, "Error: Zero length input.\n");
		return 1;
	}
	free(cfg->message);
	cfg->message = data;
	cfg->msglen = len;
	return 0;
}

static int load_file(struct config *cfg, const struct diag *d)
{
	const char *name = cfg->file_input;
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (cfg->compat == COMPAT_21) /* mosquitto 2.1.2's wording ("Error loading input file" follows) */
			diag_compat(d, "Error: Unable to read file \"%s\": %s.\n", name, strerror(e));
		else
			diag_compat(d, "Error: Unable to open file \"%s\".\n", name);
		return 1;
	}
	/* mosquitto sizes a directory as LONG_MAX bytes: same message here. */
	if (S_ISDIR(st.st_mode) || (S_ISREG(st.st_mode) && st.st_size > (off_t)MQTT_MAX_PAYLOAD)) {
		close(fd);
		diag_compat(d, "Error: File must be less than %u bytes.\n\n", MQTT_MAX_PAYLOAD);
		return 1;
	}
	bool too_big;
	char *data = NULL;
	size_t len = 0;
	int rc = read_all(fd, &data, &len, MQTT_MAX_PAYLOAD, &too_big);
	close(fd);
	if (rc) {
		if (too_big)
			diag_compat(d, "Error: File must be less than %u bytes.\n\n", MQTT_MAX_PAYLOAD);
		else
			diag_compat(d, "Error: Unable to determine size of file \"%s\".\n", name);
		return 1;
	}
	free(cfg->message);
	cfg->message = len ? data : NULL;
	if (!len)
		free(data);
	cfg->msglen = len;
	return 0;
}

int pub_load_input(struct config *cfg, const struct diag *d)
{
	if (cfg->pub_mode == MSG_STDIN_FILE) {
		if (load_stdin(cfg, d)) {
			diag_compat(d, "Error loading input from stdin.\n");
			return 1;
		}
	} else if (cfg->pub_mode == MSG_FILE) {
		if (load_file(cfg, d)) {
			diag_compat(d, "Error loading input file \"%s\".\n", cfg->file_input);
			return 1;
		}
	}
	return 0;
}

/* ---- publishing ------------------------------------------------------- */

static int do_publish(struct pub *p, const void *payload, int len)
{
	struct config *cfg = p->cfg;
	const char *topic = cfg->topic;
	int mid;
	p->ready_for_repeat = false;
	if (cfg->protocol_version == MQTT_PROTOCOL_V5 && cfg->have_topic_alias && !p->first_publish)
		topic = NULL;
	p->first_publish = false;
	int rc = mosquitto_publish_v5(p->client.mosq, &mid, topic, len, payload, cfg->qos,
			cfg->retain, cfg->publish_props);
	if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN) {
		/* NO_CONN: libmosquitto keeps a QoS > 0 message and sends it
		 * once reconnected */
		p->inflight++;
		p->sent++;
		if (cfg->pub_mode == MSG_STDIN_LINE && cfg->qos > 0 && p->pend) {
			p->pend[p->npend].mid = mid;
			p->pend[p->npend].line = p->line_no;
			p->npend++;
		}
	}
	return rc;
}

static void disconnect(struct pub *p)
{
	if (!p->disconnect_sent) {
		mosquitto_disconnect_v5(p->client.mosq, 0, p->cfg->disconnect_props);
		p->disconnect_sent = true;
	}
}

static void report_publish_error(struct pub *p, int rc)
{
	const struct diag *d = p->d;
	switch (rc) {
	case MOSQ_ERR_INVAL: diag_compat(d, "Error: Invalid input. Does your topic contain '+' or '#'?\n"); break;
	case MOSQ_ERR_NOMEM: diag_compat(d, "Error: Out of memory when trying to publish message.\n"); break;
	case MOSQ_ERR_NO_CONN: diag_compat(d, "Error: Client not connected when trying to publish.\n"); break;
	case MOSQ_ERR_PROTOCOL: diag_compat(d, "Error: Protocol error when communicating with broker.\n"); break;
	case MOSQ_ERR_PAYLOAD_SIZE: diag_compat(d, "Error: Message payload is too large.\n"); break;
	case MOSQ_ERR_QOS_NOT_SUPPORTED: diag_compat(d, "Error: Message QoS not supported on broker, try a lower QoS.\n"); break;
	default: break;
	}
}

static int publish_message(struct pub *p)
{
	if (p->cfg->pub_mode == MSG_NULL)
		return do_publish(p, NULL, 0);
	return do_publish(p, p->cfg->message, (int)p->cfg->msglen);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *line)
{
	(void)mosq;
	client_log(&((struct pub *)obj)->client, level, line);
}

static void on_connect(struct mosquitto *mosq, void *obj, int result, int flags,
		const mosquitto_property *props)
{
	struct pub *p = obj;
	struct config *cfg = p->cfg;
	(void)mosq;
	(void)flags;
	(void)props;
	p->connack_result = result;
	client_note_connack(&p->client, result);
	if (result) {
		p->status = ST_NOHOPE; /* explained by client_finish */
		return;
	}
	p->status = ST_CONNACK;
	client_connack_ok(&p->client);
	if (cfg->pub_mode == MSG_STDIN_LINE || p->sent > 0)
		return;
	int rc = publish_message(p);
	if (rc) {
		report_publish_error(p, rc);
		disconnect(p);
	}
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	struct pub *p = obj;
	(void)mosq;
	(void)props;
	if (rc == 0)
		diag_trace(p->d, "mqtt: disconnected (clean)");
	else
		diag_trace(p->d, "mqtt: disconnected (%s)", mosquitto_strerror(rc));
	if (rc == 0)
		p->status = ST_DISCONNECTED;
}

static void set_repeat_time(struct pub *p)
{
	struct timespec *t = &p->next_publish;
	clock_gettime(CLOCK_MONOTONIC, t);
	double whole = (double)(long long)p->cfg->repeat_delay;
	t->tv_sec += (time_t)whole;
	t->tv_nsec += (long)((p->cfg->repeat_delay - whole) * 1e9);
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool repeat_due(const struct pub *p)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > p->next_publish.tv_sec
		|| (now.tv_sec == p->next_publish.tv_sec && now.tv_nsec > p->next_publish.tv_nsec);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason_code,
		const mosquitto_property *props)
{
	struct pub *p = obj;
	(void)mosq;
	if (reason_code > 127) {
		char *reason = NULL;
		diag_compat(p->d, "Warning: Publish %d failed: %s.\n", mid, mosquitto_reason_string(reason_code));
		mosquitto_property_read_string(props, MQTT_PROP_REASON_STRING, &reason, false);
		if (reason) {
			diag_compat(p->d, "%s\n", reason);
			free(reason);
		}
	}
	p->publish_count++;
	p->inflight--;
	for (int i = 0; i < p->npend; i++) {
		if (p->pend[i].mid == mid) {
			p->pend[i] = p->pend[--p->npend];
			p->confirmed++;
			break;
		}
	}
	if (p->d->trace)
		diag_trace(p->d, p->cfg->qos ? (p->cfg->retain ? N_("mqtt: publish mid %d to '%s' confirmed by the broker (QoS %d, retained)")
				: N_("mqtt: publish mid %d to '%s' confirmed by the broker (QoS %d)"))
				: (p->cfg->retain ? N_("mqtt: publish mid %d to '%s' written (QoS %d, retained)")
				: N_("mqtt: publish mid %d to '%s' written (QoS %d)")), mid, p->cfg->topic ? p->cfg->topic : "", p->cfg->qos);
	if (p->cfg->pub_mode == MSG_STDIN_LINE)
		return; /* the loop decides when everything is confirmed */
	if (p->publish_count < p->cfg->repeat_count) {
		p->ready_for_repeat = true;
		set_repeat_time(p);
	} else {
		disconnect(p);
	}
}

/* ---- -l line mode ----------------------------------------------------- */

static int window(const struct pub *p)
{
	return p->cfg->max_inflight > 0 ? p->cfg->max_inflight : 20;
}

/* Publish complete lines from the buffer while the window has room.
 * Returns a mosquitto error that ends the run, or 0. */
static int publish_lines(struct pub *p)
{
	size_t start = 0;
	int rc = 0;
	while (p->inflight < window(p) && p->buf_len > p->scan) {
		char *nl = memchr(p->buf + p->scan, '\n', p->buf_len - p->scan);
		if (!nl) {
			p->scan = p->buf_len;
			break;
		}
		size_t end = (size_t)(nl - p->buf);
		p->line_no++;
		rc = do_publish(p, p->buf + start, (int)(end - start));
		if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
			break;
		rc = 0;
		start = end + 1;
		p->scan = start;
	}
	if (start) {
		memmove(p->buf, p->buf + start, p->buf_len - start);
		p->buf_len -= start;
		p->scan -= start;
	}
	/* An unterminated last line is published at end of input. */
	if (rc == 0 && p->eof && p->buf_len && p->scan == p->buf_len && p->inflight < window(p)) {
		p->line_no++;
		rc = do_publish(p, p->buf, (int)p->buf_len);
		if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN)
			rc = 0;
		p->buf_len = p->scan = 0;
	}
	return rc;
}

static int read_stdin_chunk(struct pub *p)
{
	if (p->buf_cap - p->buf_len < 65536) {
		size_t ncap = p->buf_cap ? p->buf_cap * 2 : 131072;
		char *g = realloc(p->buf, ncap);
		if (!g)
			return MOSQ_ERR_NOMEM;
		p->buf = g;
		p->buf_cap = ncap;
	}
	ssize_t n = read(STDIN_FILENO, p->buf + p->buf_len, p->buf_cap - p->buf_len);
	if (n < 0)
		return (errno == EINTR || errno == EAGAIN) ? 0 : MOSQ_ERR_ERRNO;
	if (n == 0)
		p->eof = true;
	p->buf_len += (size_t)n;
	return 0;
}

/* Is there a complete line (or the unterminated tail at EOF) waiting? */
static bool line_waiting(const struct pub *p)
{
	if (p->buf_len > p->scan && memchr(p->buf + p->scan, '\n', p->buf_len - p->scan))
		return true;
	return p->eof && p->buf_len > 0;
}

/* The connection dropped during -l at QoS > 0: reconnect with backoff until
 * --connect-timeout has passed; libmosquitto resends what is unconfirmed.
 * Returns true when the connection is back. */
static bool reconnect(struct pub *p)
{
	long long deadline = mono_ms() + (long long)p->cfg->connect_timeout * 1000;
	int backoff = 100;
	diag_trace(p->d, l10n_trn("mqtt: connection lost with %d message unconfirmed; reconnecting", "mqtt: connection lost with %d messages unconfirmed; reconnecting", (unsigned long)p->npend), p->npend);
	while (mono_ms() < deadline) {
		struct timespec ts = {backoff / 1000, (long)(backoff % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		backoff = backoff < 2000 ? backoff * 2 : 2000;
		p->status = ST_CONNECTING;
		if (client_reconnect(&p->client) != MOSQ_ERR_SUCCESS)
			continue;
		while (p->status == ST_CONNECTING && mono_ms() < deadline)
			if (client_loop_step(&p->client, 200, -1, NULL, NULL) != MOSQ_ERR_SUCCESS)
				break;
		if (p->status == ST_CONNACK)
			return true;
	}
	return false;
}

static void report_undelivered(struct pub *p)
{
	long first = 0;
	for (int i = 0; i < p->npend; i++)
		if (!first || p->pend[i].line < first)
			first = p->pend[i].line;
	char what[256], why[512], fix[256];
	snprintf(what, sizeof(what), "the connection to %s:%d was lost and could not be restored within %d s",
			p->cfg->host, p->client.port, p->cfg->connect_timeout);
	snprintf(why, sizeof(why), "%ld line(s) were confirmed by the broker and %ld were not; the first line not "
			"confirmed is line %ld%s", p->confirmed, p->line_no - p->confirmed, first ? first : p->confirmed + 1,
			p->eof ? "" : " (the rest of the input was not read)");
	snprintf(fix, sizeof(fix), "send again from line %ld once the broker is back, e.g. tail -n +%ld FILE | %s ...",
			first ? first : p->confirmed + 1, first ? first : p->confirmed + 1, p->d->prog);
	diag_report(p->d, what, why, fix);
}

static int line_loop(struct pub *p)
{
	int rc = MOSQ_ERR_SUCCESS;
	int w = window(p);
	p->pend = calloc((size_t)w + 1, sizeof(*p->pend));
	for (;;) {
		bool want_stdin = p->status == ST_CONNACK && !p->eof && p->inflight < window(p)
			&& !line_waiting(p);
		bool stdin_ready = false;
		int timeout = line_waiting(p) && p->inflight < window(p) && p->status == ST_CONNACK ? 0 : 1000;
		rc = client_loop_step(&p->client, timeout, want_stdin ? STDIN_FILENO : -1, &stdin_ready, NULL);
		if (rc != MOSQ_ERR_SUCCESS && p->cfg->qos > 0 && p->client.connack_seen && !p->disconnect_sent
				&& p->status != ST_DISCONNECTED) {
			if (reconnect(p))
				continue;
			report_undelivered(p);
			p->undelivered = true;
			break;
		}
		if (rc != MOSQ_ERR_SUCCESS)
			break;
		if (p->status == ST_NOHOPE)
			return MOSQ_ERR_CONN_REFUSED;
		if (p->status != ST_CONNACK)
			continue;
		if (stdin_ready && (rc = read_stdin_chunk(p)) != 0)
			break;
		if ((rc = publish_lines(p)) != 0)
			break;
		if (p->eof && p->buf_len == 0 && p->inflight == 0)
			disconnect(p);
	}
	free(p->pend);
	p->pend = NULL;
	if (p->status == ST_DISCONNECTED)
		return MOSQ_ERR_SUCCESS;
	return rc;
}

/* ---- -m / -f / -s / -n with --repeat ---------------------------------- */

static int message_loop(struct pub *p)
{
	int rc;
	int delay = 1000;
	if (p->cfg->repeat_count > 1)
		delay = (int)(p->cfg->repeat_delay * 1000.0 / 2.0);
	do {
		rc = client_loop_step(&p->client, delay, -1, NULL, NULL);
		if (p->ready_for_repeat && repeat_due(p)) {
			int prc = publish_message(p);
			if (prc != MOSQ_ERR_SUCCESS && prc != MOSQ_ERR_NO_CONN)
				diag_compat(p->d, "Error sending repeat publish: %s", mosquitto_strerror(prc));
		}
	} while (rc == MOSQ_ERR_SUCCESS);
	if (p->status == ST_DISCONNECTED)
		return MOSQ_ERR_SUCCESS;
	return rc;
}

int pub_run(struct config *cfg, const struct diag *d)
{
	struct pub p;
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.d = d;
	p.first_publish = true;

	/* MQTT v3.x has no properties: libmosquitto 2.0 then refuses the
	 * publish (exit 0, nothing sent), which mosquitto_pub 2.0.11 keeps.
	 * mosquitto_pub 2.1.2 sends them anyway, and the broker drops the
	 * connection (exit 7): smqtt keeps that exit code but sends nothing. */
	if (cfg->compat == COMPAT_21 && cfg->publish_props && cfg->protocol_version != MQTT_PROTOCOL_V5) {
		diag_report(d, "-D publish: MQTT v3.1.1 and v3.1 have no properties, so nothing was published",
				N_("mosquitto_pub 2.1 sends them anyway and the broker closes the connection; "
				"smqtt stops before connecting, with the same exit status (7)"),
				N_("add -V 5 to publish with properties, or drop -D publish"));
		return MOSQ_ERR_CONN_LOST;
	}
	int rc = client_init(&p.client, cfg, d, &p);
	if (rc) {
		client_free(&p.client);
		return 1;
	}
	mosquitto_connect_v5_callback_set(p.client.mosq, on_connect);
	client_route_log(&p.client, on_log);
	mosquitto_disconnect_v5_callback_set(p.client.mosq, on_disconnect);
	mosquitto_publish_v5_callback_set(p.client.mosq, on_publish);
	if ((rc = client_connect(&p.client)) != 0) {
		client_free(&p.client);
		return rc;
	}
	rc = cfg->pub_mode == MSG_STDIN_LINE ? line_loop(&p) : message_loop(&p);
	int status = p.undelivered ? MOSQ_ERR_CONN_LOST : client_finish(&p.client, rc, p.connack_result);
	client_free(&p.client);
	free(p.buf);
	return client_final_status(&p.client, status);
}
