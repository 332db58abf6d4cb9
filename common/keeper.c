/* keeper: smqtt_pub --persist (see keeper.h). The caller side (keying the
 * settings, handing a message over, --persist-stop, --check's line) and the
 * keeper process (the forked holder of a live libmosquitto connection: no
 * libmosquitto thread runs, so the child drives the same handle). */
#include "keeper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <mqtt_protocol.h>

#include "client.h"
#include "l10n.h"
#include "net.h"
#include "sha256.h"

#define KEEPER_MAGIC 0x4b514d53u /* "SMQK" */
#define KEEPER_VERSION 1

enum keeper_op { OP_PUBLISH = 1, OP_STOP = 2, OP_STATUS = 3 };

enum keeper_result {
	R_CONFIRMED = 0, /* published and confirmed (QoS 0: written) */
	R_LOST,          /* the keeper's connection to the broker was lost */
	R_REFUSED,       /* the broker refused the message (reason code >= 128) */
	R_TIMEOUT,       /* no confirmation within --connect-timeout */
	R_INVALID,       /* libmosquitto refused the publish, or a bad request */
	R_STOPPED,       /* --persist-stop: the keeper ends */
	R_STATUS,        /* --check: pid and since */
};

struct request {
	uint32_t magic;
	uint8_t version, op, qos, retain;
	uint32_t topic_len;
	uint32_t payload_len;
};

struct reply {
	uint32_t magic;
	uint8_t result;
	uint8_t pad[3];
	int32_t pid;
	int64_t since;
};

/* ---- the key ----------------------------------------------------------- */

static void put(struct sha256 *h, const char *name, const void *value, size_t len)
{
	sha256_update(h, name, strlen(name) + 1);
	if (!value) {
		sha256_update(h, "\1", 1);
		return;
	}
	uint64_t n = len;
	sha256_update(h, &n, sizeof(n));
	sha256_update(h, value, len);
}

static void put_str(struct sha256 *h, const char *name, const char *value)
{
	put(h, name, value, value ? strlen(value) : 0);
}

static void put_int(struct sha256 *h, const char *name, long long v)
{
	put(h, name, &v, sizeof(v));
}

/* A file's content (a CA, certificate or key): a changed file is another
 * connection. false when it cannot be read (the direct run explains). */
static bool put_file(struct sha256 *h, const char *name, const char *path)
{
	put_str(h, name, path);
	if (!path)
		return true;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char buf[65536];
	ssize_t n;
	size_t total = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && total < 64u << 20) {
		sha256_update(h, buf, (size_t)n);
		total += (size_t)n;
	}
	close(fd);
	return n >= 0;
}

/* A CA directory: every entry's name, size, inode and change time. */
static bool put_dir(struct sha256 *h, const char *name, const char *path)
{
	put_str(h, name, path);
	if (!path)
		return true;
	DIR *dir = opendir(path);
	if (!dir)
		return false;
	struct dirent *e;
	while ((e = readdir(dir))) {
		struct stat st;
		if (fstatat(dirfd(dir), e->d_name, &st, 0))
			continue;
		put_str(h, "capath-entry", e->d_name);
		long long v[5] = {(long long)st.st_size, (long long)st.st_ino, (long long)st.st_ctim.tv_sec,
			(long long)st.st_ctim.tv_nsec, (long long)st.st_mtim.tv_sec};
		put(h, "capath-stat", v, sizeof(v));
	}
	closedir(dir);
	return true;
}

/* MQTT v5 properties, every one in the order libmosquitto holds them. */
static void put_props(struct sha256 *h, const char *name, const mosquitto_property *props)
{
	put_str(h, name, props ? "props" : NULL);
	for (int id = 1; props && id <= 42; id++) {
		uint8_t b;
		uint16_t w;
		uint32_t i;
		char *s = NULL, *v = NULL;
		void *bin = NULL;
		const mosquitto_property *q;
		for (q = mosquitto_property_read_byte(props, id, &b, false); q; q = mosquitto_property_read_byte(q, id, &b, true))
			put_int(h, "byte", id * 1000LL + b);
		for (q = mosquitto_property_read_int16(props, id, &w, false); q; q = mosquitto_property_read_int16(q, id, &w, true))
			put_int(h, "int16", id * 100000LL + w);
		for (q = mosquitto_property_read_int32(props, id, &i, false); q; q = mosquitto_property_read_int32(q, id, &i, true))
			put_int(h, "int32", id * 10000000000LL + i);
		for (q = mosquitto_property_read_varint(props, id, &i, false); q; q = mosquitto_property_read_varint(q, id, &i, true))
			put_int(h, "varint", id * 10000000000LL + i);
		for (q = mosquitto_property_read_string(props, id, &s, false); q; q = mosquitto_property_read_string(q, id, &s, true)) {
			put_int(h, "string", id);
			put_str(h, "value", s);
			free(s);
			s = NULL;
		}
		for (q = mosquitto_property_read_string_pair(props, id, &s, &v, false); q;
				q = mosquitto_property_read_string_pair(q, id, &s, &v, true)) {
			put_int(h, "pair", id);
			put_str(h, "name", s);
			put_str(h, "value", v);
			free(s);
			free(v);
			s = v = NULL;
		}
		for (q = mosquitto_property_read_binary(props, id, &bin, &w, false); q;
				q = mosquitto_property_read_binary(q, id, &bin, &w, true)) {
			put_int(h, "binary", id);
			put(h, "value", bin, w);
			free(bin);
			bin = NULL;
		}
	}
}

/* Everything that decides the connection (and the broker's view of the
 * client). false: a file could not be read. */
static bool compute_key(const struct config *cfg, char out[33])
{
	struct sha256 ctx, *h = &ctx;
	sha256_init(h);
	put_int(h, "keeper-protocol", KEEPER_VERSION);
	put_str(h, "version", SMQTT_VERSION);
	put_int(h, "compat", cfg->compat);
	put_str(h, "host", cfg->host ? cfg->host : "localhost");
	put_int(h, "port", client_port(cfg));
	put_str(h, "bind", cfg->bind_address);
	put_str(h, "id", cfg->id);
	put_str(h, "id-prefix", cfg->id_prefix);
	put_int(h, "keepalive", cfg->keepalive);
	put_int(h, "clean", cfg->clean_session);
	put_int(h, "protocol", cfg->protocol_version);
	put_int(h, "session-expiry", cfg->session_expiry_interval);
	put_str(h, "username", cfg->username);
	put_str(h, "password", cfg->password);
	put_str(h, "password-file", cfg->password_file);
	put_int(h, "nodelay", cfg->tcp_nodelay);
	put_int(h, "ws", cfg->ws);
	put_str(h, "ws-path", cfg->ws_path);
	put_int(h, "max-inflight", cfg->max_inflight);
	put_str(h, "will-topic", cfg->will_topic);
	put_str(h, "will-payload", cfg->will_payload);
	put_int(h, "will-qos", cfg->will_qos);
	put_int(h, "will-retain", cfg->will_retain);
	bool ok = put_file(h, "cafile", cfg->cafile) && put_dir(h, "capath", cfg->capath)
		&& put_file(h, "cert", cfg->certfile) && put_file(h, "key", cfg->keyfile);
	put_str(h, "keyform", cfg->keyform);
	put_str(h, "ciphers", cfg->ciphers);
	put_str(h, "alpn", cfg->tls_alpn);
	put_str(h, "tls-version", cfg->tls_version);
	put_str(h, "engine", cfg->tls_engine);
	put_str(h, "kpass", cfg->tls_engine_kpass_sha1);
	put_str(h, "psk", cfg->psk);
	put_str(h, "psk-identity", cfg->psk_identity);
	put_int(h, "insecure", cfg->insecure);
	put_int(h, "os-certs", cfg->tls_use_os_certs);
	put_int(h, "no-tls", cfg->no_tls);
	put_str(h, "keylog", cfg->tls_keylog);
	put_int(h, "tls-resume", cfg->tls_resume);
	put_str(h, "socks5-host", cfg->socks5_host);
	put_int(h, "socks5-port", cfg->socks5_port);
	put_str(h, "socks5-user", cfg->socks5_username);
	put_str(h, "socks5-password", cfg->socks5_password);
	put_str(h, "proxy", cfg->proxy_url);
	put_int(h, "connect-timeout", cfg->connect_timeout);
	put_props(h, "connect-props", cfg->connect_props);
	put_props(h, "will-props", cfg->will_props);
	unsigned char md[32];
	sha256_final(h, md);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return ok;
}

/* ---- the private directory ---------------------------------------------- */

/* $XDG_RUNTIME_DIR/smqtt, else $TMPDIR (or /tmp)/smqtt-UID: made 0700, then
 * opened without following a link and accepted only when it is this
 * user's and nobody else's. */
static int open_dir(bool create)
{
	char dir[4096];
	const char *run = getenv("XDG_RUNTIME_DIR");
	const char *tmp = getenv("TMPDIR");
	if (run && run[0] == '/')
		snprintf(dir, sizeof(dir), "%s/smqtt", run);
	else
		snprintf(dir, sizeof(dir), "%s/smqtt-%u", tmp && tmp[0] == '/' ? tmp : "/tmp", (unsigned)geteuid());
	if (create && mkdir(dir, 0700) && errno != EEXIST)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) || st.st_uid != geteuid() || (st.st_mode & 07777) != 0700)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

void keeper_init(struct keeper *k, const struct config *cfg, const struct diag *d)
{
	memset(k, 0, sizeof(*k));
	k->cfg = cfg;
	k->d = d;
	k->dir_fd = -1;
	if (!cfg->persist && !cfg->persist_stop && !cfg->check) {
		k->why_not = N_("no --persist");
		return; /* nothing to read or make */
	}
	if (cfg->will_topic)
		k->why_not = N_("a will message belongs to the end of one connection");
	else if (!cfg->clean_session)
		k->why_not = N_("-c keeps a session that belongs to one client");
	else if (cfg->pub_mode == MSG_STDIN_LINE)
		k->why_not = N_("-l publishes lines as they come");
	else if (cfg->repeat_count > 1)
		k->why_not = N_("--repeat publishes over time");
	else if (cfg->debug)
		k->why_not = N_("-d prints the connection's own packets");
	else if (cfg->ws)
		k->why_not = N_("a keeper does not carry MQTT over WebSockets");
	else if (cfg->save_profile)
		k->why_not = N_("--save-profile saves what a new connection negotiates");
	else if (cfg->publish_props || cfg->disconnect_props)
		k->why_not = N_("-D publish and -D disconnect properties are not handed to a keeper");
	if (!compute_key(cfg, k->key)) {
		k->why_not = k->why_not ? k->why_not : N_("a TLS file could not be read");
		return;
	}
	k->dir_fd = open_dir(cfg->persist && !cfg->persist_stop && !cfg->check); /* stop and --check only look */
	if (k->dir_fd < 0) {
		k->why_not = k->why_not ? k->why_not : N_("no private directory for its socket ($XDG_RUNTIME_DIR/smqtt, "
				"or $TMPDIR/smqtt-UID, is missing or not the user's alone)");
		return;
	}
	snprintf(k->path, sizeof(k->path), "/proc/self/fd/%d/%s", k->dir_fd, k->key);
	k->keyed = true;
}

void keeper_free(struct keeper *k)
{
	if (k->dir_fd >= 0)
		close(k->dir_fd);
	k->dir_fd = -1;
	k->keyed = false;
}

static void since_text(time_t t, char *buf, size_t len)
{
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "?");
}

/* ---- caller side ------------------------------------------------------ */

static bool send_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		n -= (size_t)w;
	}
	return true;
}

static bool recv_all(int fd, void *p, size_t n)
{
	char *b = p;
	while (n) {
		ssize_t r = recv(fd, b, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		b += r;
		n -= (size_t)r;
	}
	return true;
}

static void set_timeout(int fd, int seconds)
{
	struct timeval tv = {seconds, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static bool peer_is_us(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == geteuid();
}

enum dial_result { DIAL_OK, DIAL_NONE, DIAL_STALE, DIAL_FOREIGN };

static enum dial_result dial(const struct keeper *k, int *out)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", k->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return DIAL_NONE;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;
		close(fd);
		return e == ECONNREFUSED ? DIAL_STALE : DIAL_NONE;
	}
	if (!peer_is_us(fd)) {
		close(fd);
		return DIAL_FOREIGN;
	}
	*out = fd;
	return DIAL_OK;
}

/* One exchange with the keeper: false when it did not answer. */
static bool ask(const struct keeper *k, int fd, int op, const void *payload, size_t len, struct reply *rep)
{
	const struct config *cfg = k->cfg;
	const char *topic = cfg->topic ? cfg->topic : "";
	struct request rq = {KEEPER_MAGIC, KEEPER_VERSION, (uint8_t)op, (uint8_t)cfg->qos, (uint8_t)cfg->retain,
		op == OP_PUBLISH ? (uint32_t)strlen(topic) : 0, op == OP_PUBLISH ? (uint32_t)len : 0};
	/* the keeper waits up to --connect-timeout for the broker's answer */
	set_timeout(fd, cfg->connect_timeout + 5);
	if (!send_all(fd, &rq, sizeof(rq)) || (rq.topic_len && !send_all(fd, topic, rq.topic_len))
			|| (rq.payload_len && !send_all(fd, payload, rq.payload_len)))
		return false;
	return recv_all(fd, rep, sizeof(*rep)) && rep->magic == KEEPER_MAGIC;
}

static const char *result_text(int result)
{
	switch (result) {
	case R_LOST: return N_("its connection to the broker was lost");
	case R_REFUSED: return N_("the broker refused it");
	case R_TIMEOUT: return N_("no confirmation within --connect-timeout");
	default: return N_("it did not take the message");
	}
}

bool keeper_hand(struct keeper *k, const void *payload, size_t len)
{
	const struct diag *d = k->d;
	if (k->why_not) {
		diag_trace(d, N_("keeper: not used: %s"), _(k->why_not));
		return false;
	}
	int fd = -1;
	switch (dial(k, &fd)) {
	case DIAL_NONE:
		diag_trace(d, N_("keeper: none runs for these settings yet; connecting directly"));
		return false;
	case DIAL_STALE:
		diag_trace(d, N_("keeper: its socket is left from one that ended; connecting directly"));
		return false;
	case DIAL_FOREIGN:
		diag_trace(d, N_("keeper: its socket is not this user's; connecting directly"));
		return false;
	case DIAL_OK:
		break;
	}
	struct reply rep;
	bool answered = ask(k, fd, OP_PUBLISH, payload, len, &rep);
	close(fd);
	if (!answered) {
		diag_trace(d, N_("keeper: it ended without an answer; connecting directly (at QoS 1 and 2 the message "
				"may then arrive twice, as with any resend)"));
		return false;
	}
	char since[64];
	since_text((time_t)rep.since, since, sizeof(since));
	if (rep.result != R_CONFIRMED) {
		diag_trace(d, N_("keeper: pid %d could not confirm the message (%s); connecting directly"), (int)rep.pid,
				_(result_text(rep.result)));
		return false;
	}
	k->pid = rep.pid;
	k->since = (time_t)rep.since;
	diag_trace(d, k->cfg->qos ? N_("keeper: handed to keeper pid %d, connected since %s; confirmed by the broker (QoS %d)")
			: N_("keeper: handed to keeper pid %d, connected since %s; written (QoS %d)"), (int)rep.pid, since, k->cfg->qos);
	return true;
}

int keeper_stop(const struct config *cfg, const struct diag *d)
{
	struct keeper k;
	keeper_init(&k, cfg, d);
	int fd = -1;
	struct reply rep;
	bool stopped = k.keyed && dial(&k, &fd) == DIAL_OK && ask(&k, fd, OP_STOP, NULL, 0, &rep) && rep.result == R_STOPPED;
	if (fd >= 0)
		close(fd);
	keeper_free(&k);
	if (!stopped) {
		diag_report(d, N_("--persist-stop: no keeper holds a connection with these settings"),
				N_("it ended after its --persist time without use or with its connection, or none was started "
				"with exactly these connection settings"), NULL);
		return 1;
	}
	char since[64];
	since_text((time_t)rep.since, since, sizeof(since));
	diag_info(d, "stopped keeper pid %d (connected since %s)\n", (int)rep.pid, since);
	return 0;
}

void keeper_describe(const struct config *cfg, const struct diag *d, char *buf, size_t len)
{
	struct keeper k;
	keeper_init(&k, cfg, d);
	int fd = -1;
	struct reply rep;
	buf[0] = '\0';
	if (k.keyed && dial(&k, &fd) == DIAL_OK && ask(&k, fd, OP_STATUS, NULL, 0, &rep) && rep.result == R_STATUS) {
		char since[64];
		since_text((time_t)rep.since, since, sizeof(since));
		snprintf(buf, len, _("a keeper (pid %d, connected since %s) holds a connection with these settings "
				"(--persist); --persist-stop ends it"), (int)rep.pid, since);
	}
	if (fd >= 0)
		close(fd);
	keeper_free(&k);
}

/* ---- the keeper process ------------------------------------------------- */

struct run {
	struct keeper *k;
	struct client *c;
	int listen_fd;
	struct stat sock_st;   /* the socket it bound: it ends when another replaces it */
	int mid;               /* the message being confirmed */
	bool done;
	int reason;
	bool lost, stop;
};

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason_code, const mosquitto_property *props)
{
	struct run *r = obj;
	(void)mosq;
	(void)props;
	if (mid == r->mid) {
		r->done = true;
		r->reason = reason_code;
	}
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc, const mosquitto_property *props)
{
	struct run *r = obj;
	(void)mosq;
	(void)props;
	(void)rc;
	r->lost = true;
}

static void on_connect(struct mosquitto *mosq, void *obj, int result, int flags, const mosquitto_property *props)
{
	(void)mosq;
	(void)obj;
	(void)result;
	(void)flags;
	(void)props;
}

static bool still_ours(const struct run *r)
{
	struct stat st;
	return fstatat(r->k->dir_fd, r->k->key, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_ino == r->sock_st.st_ino
		&& st.st_dev == r->sock_st.st_dev;
}

static uint8_t publish(struct run *r, const struct request *rq, const char *topic, const void *payload)
{
	struct client *c = r->c;
	/* a connection the broker closed while idle is noticed now, not after writing */
	if (client_loop_step(c, 0, -1, NULL, NULL) != MOSQ_ERR_SUCCESS || r->lost) {
		r->lost = true;
		return R_LOST;
	}
	r->done = false;
	r->reason = 0;
	int rc = mosquitto_publish_v5(c->mosq, &r->mid, topic, (int)rq->payload_len, payload, rq->qos, rq->retain, NULL);
	if (rc == MOSQ_ERR_NO_CONN) {
		r->lost = true;
		return R_LOST;
	}
	if (rc != MOSQ_ERR_SUCCESS)
		return R_INVALID;
	long long deadline = mono_ms() + (long long)r->k->cfg->connect_timeout * 1000;
	while (!r->done && mono_ms() < deadline) {
		if (client_loop_step(c, 200, -1, NULL, NULL) != MOSQ_ERR_SUCCESS || r->lost) {
			r->lost = true;
			return R_LOST;
		}
	}
	if (!r->done) {
		r->lost = true; /* an unconfirmed message must not be resent on this connection later */
		return R_TIMEOUT;
	}
	return r->reason > 127 ? R_REFUSED : R_CONFIRMED;
}

static void serve(struct run *r, int fd)
{
	struct request rq;
	struct reply rep = {KEEPER_MAGIC, R_INVALID, {0, 0, 0}, (int32_t)getpid(), (int64_t)r->k->since};
	char *topic = NULL, *payload = NULL;
	if (!peer_is_us(fd))
		return;
	set_timeout(fd, 5);
	if (!recv_all(fd, &rq, sizeof(rq)) || rq.magic != KEEPER_MAGIC || rq.version != KEEPER_VERSION)
		return;
	if (rq.op == OP_STOP) {
		r->stop = true;
		rep.result = R_STOPPED;
	} else if (rq.op == OP_STATUS) {
		rep.result = R_STATUS;
	} else if (rq.op == OP_PUBLISH && rq.qos <= 2 && rq.topic_len > 0 && rq.topic_len <= 65535
			&& rq.payload_len <= MQTT_MAX_PAYLOAD) {
		topic = calloc(1, rq.topic_len + 1);
		payload = malloc(rq.payload_len ? rq.payload_len : 1);
		if (topic && payload && recv_all(fd, topic, rq.topic_len)
				&& (!rq.payload_len || recv_all(fd, payload, rq.payload_len)))
			rep.result = publish(r, &rq, topic, payload);
		else
			rep.result = R_INVALID;
	}
	send_all(fd, &rep, sizeof(rep));
	free(topic);
	free(payload);
}

static void keeper_loop(struct run *r)
{
	struct client *c = r->c;
	const struct config *cfg = r->k->cfg;
	sigset_t waitmask;
	client_signals_block(&waitmask);
	mosquitto_user_data_set(c->mosq, r);
	mosquitto_publish_v5_callback_set(c->mosq, on_publish);
	mosquitto_disconnect_v5_callback_set(c->mosq, on_disconnect);
	mosquitto_connect_v5_callback_set(c->mosq, on_connect);
	long long idle_until = mono_ms() + (long long)cfg->persist * 1000;
	while (!r->stop && !r->lost && !client_signal_caught()) {
		long long left = idle_until - mono_ms();
		if (left <= 0)
			break;
		bool ready = false;
		if (client_loop_step(c, left < 1000 ? (int)left : 1000, r->listen_fd, &ready, &waitmask) != MOSQ_ERR_SUCCESS) {
			r->lost = true;
			break;
		}
		if (!still_ours(r))
			break;
		if (!ready)
			continue;
		int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve(r, fd);
		close(fd);
		idle_until = mono_ms() + (long long)cfg->persist * 1000;
	}
	if (still_ours(r))
		unlinkat(r->k->dir_fd, r->k->key, 0);
	close(r->listen_fd);
	if (!r->lost) {
		mosquitto_disconnect_v5(c->mosq, 0, NULL);
		long long deadline = mono_ms() + 2000;
		while (mono_ms() < deadline && client_loop_step(c, 200, -1, NULL, NULL) == MOSQ_ERR_SUCCESS && !r->lost)
			;
	}
}

/* Bind the socket under a temporary name, listen, then rename it over the
 * key's name (replacing a stale one atomically). -1 on failure. */
static int listen_socket(struct keeper *k, struct stat *st)
{
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%s.%d", k->key, (int)getpid());
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", k->dir_fd, tmp);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlinkat(k->dir_fd, tmp, 0);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)
			|| renameat(k->dir_fd, tmp, k->dir_fd, k->key)) {
		unlinkat(k->dir_fd, tmp, 0);
		close(fd);
		return -1;
	}
	if (fstatat(k->dir_fd, k->key, st, AT_SYMLINK_NOFOLLOW)) {
		close(fd);
		return -1;
	}
	return fd;
}

bool keeper_start(struct keeper *k, struct client *c)
{
	const struct diag *d = k->d;
	struct run r;
	memset(&r, 0, sizeof(r));
	r.k = k;
	r.c = c;
	int sock = mosquitto_socket(c->mosq);
	if (k->why_not || !k->keyed || sock < 0)
		return false;
	r.listen_fd = listen_socket(k, &r.sock_st);
	if (r.listen_fd < 0) {
		diag_trace(d, N_("keeper: could not start (%s); disconnecting as usual"), strerror(errno));
		return false;
	}
	k->since = time(NULL);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		diag_trace(d, N_("keeper: could not start (%s); disconnecting as usual"), strerror(errno));
		unlinkat(k->dir_fd, k->key, 0);
		close(r.listen_fd);
		return false;
	}
	if (pid > 0) {
		/* The connection is the keeper's now: the parent's copy of the
		 * socket becomes /dev/null, so that its clean-up (TLS close_notify
		 * included) reaches nobody. */
		close(r.listen_fd);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup3(null, sock, O_CLOEXEC);
			close(null);
		}
		k->pid = pid;
		diag_trace(d, N_("keeper: pid %d now holds the connection; it ends after %d s without use (--persist)"),
				(int)pid, k->cfg->persist);
		return true;
	}
	/* the keeper: its own session, no terminal, nothing of the caller's
	 * stdio, and no hold on its working directory */
	setsid();
	if (chdir("/"))
		(void)0; /* stays where it was: harmless */
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	struct diag silent = *d;
	silent.trace = false;
	silent.quiet = true;
	c->diag = &silent;
	keeper_loop(&r);
	client_free(c);
	keeper_free(k);
	_exit(0);
}
