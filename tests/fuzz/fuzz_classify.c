/* fuzz_classify: libFuzzer harness for the failure classifier
 * (common/explain.c classify: evidence in, cause out) and the cause
 * templates: arbitrary evidence is classified, the cause's summary / why /
 * fix templates (and a template from the input) are expanded with
 * explain_expand, and the evidence goes through diagnose (the slot values:
 * names, alerts, versions, CONNACK codes) into a report and its JSON, as a
 * failed connection does. Nothing is printed and no file is read: the
 * --cafile/--cert names given to diagnose do not exist.
 *
 * The first bytes a broker sent instead of a CONNACK (evidence.reply) also
 * go through mqtt_reply_kind, which must judge a prefix the way it judges
 * the whole; so does the template, as a longer reply.
 *
 * Input: 38 bytes, then strings. Bytes 0-15 and 20-37 map onto every field
 * of struct evidence: 0 the stage, 1 errno, 2 the resolver error, 3-4 the
 * 15 flags, 5 verify error + 1, 6 verify depth, 7-8 alerts sent / received
 * + 1, 9-10 the OpenSSL reason, 11-12 TLS versions, 13 broker versions, 14
 * attempts, 15 CONNACK + 1; 20 the reply's length (bits 0-4, at most 16) and
 * whether it was judged (bit 7), 21 the libmosquitto error, 22-37 the reply.
 * Byte 16: the MQTT protocol (bits 0-1) and which of --cafile, --capath,
 * --cert/--key, -P and --unix are set (bits 2-6); 17-18 the port, 19 the
 * connect timeout. Then NUL-separated strings: host, username, client id,
 * ciphers, PSK identity, ALPN, the names in the broker certificate, the
 * profile name, --tls-version, six slot values, and last a template.
 * (Missing bytes read as 0, missing strings as "".) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ssl.h>
#include <mosquitto.h>

#include "diagnose.h"
#include "explain.h"
#include "options.h"
#include "report.h"
#include "tls.h"

static SSL_CTX *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		abort();
	return 0;
}

struct reader {
	const uint8_t *p, *end;
};

static uint8_t u8(struct reader *r)
{
	return r->p < r->end ? *r->p++ : 0;
}

static uint16_t u16(struct reader *r)
{
	uint16_t hi = u8(r);
	return (uint16_t)(hi << 8 | u8(r));
}

/* The next NUL-terminated string (the rest when there is no NUL; "" at the
 * end), allocated. */
static char *str(struct reader *r)
{
	const uint8_t *nul = memchr(r->p, 0, (size_t)(r->end - r->p));
	size_t n = nul ? (size_t)(nul - r->p) : (size_t)(r->end - r->p);
	char *s = strndup((const char *)r->p, n);
	r->p += nul ? n + 1 : n;
	return s;
}

/* A TLS version field: 0 (none), or 0x300 | 0..7 (SSL 3.0 to beyond 1.3). */
static int version(uint8_t b)
{
	return b ? 0x300 | (b & 7) : 0;
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_classify: %s\n", what);
		abort();
	}
}

#define NSTR 9
#define NVAL 6

/* Expand tmpl with one slot per {name} it holds, the values taken in turn
 * from vals; plus a slot without a value, which must be left alone. */
static void expand(const char *tmpl, char *const vals[NVAL])
{
	struct slot slots[16];
	char names[16][64];
	size_t n = 0, v = 0;
	slots[n++] = (struct slot){"detail", NULL, NULL};
	for (const char *p = strchr(tmpl, '{'); p && n < 16; p = strchr(p + 1, '{')) {
		size_t len = strcspn(p + 1, "{}");
		if (p[1 + len] != '}' || len >= sizeof(names[0]))
			continue;
		memcpy(names[n], p + 1, len);
		names[n][len] = '\0';
		slots[n] = (struct slot){names[n], vals[v++ % NVAL], NULL};
		n++;
	}
	char *out = explain_expand(tmpl, slots, n);
	check(out != NULL, "explain_expand returned NULL");
	free(out);
	/* without slots a template comes back unchanged */
	out = explain_expand(tmpl, NULL, 0);
	check(out && !strcmp(out, tmpl), "explain_expand without slots changed the text");
	free(out);
}

/* mqtt_reply_kind on b[0..n-1] and on each of its prefixes: once a prefix
 * is judged (not REPLY_PARTIAL), more bytes do not change the verdict or the
 * announced length; only "a TLS record" may turn into "not MQTT" when the
 * second byte shows it is not one. */
static void check_reply_kind(const unsigned char *b, size_t n)
{
	unsigned long whole_len = 0, len = 0;
	enum reply_kind whole = mqtt_reply_kind(b, n, &whole_len);
	check(whole == mqtt_reply_kind(b, n, NULL), "mqtt_reply_kind depends on its announced pointer");
	check((n == 0) == (whole == REPLY_NONE), "mqtt_reply_kind: REPLY_NONE is for no bytes");
	if (whole == REPLY_CONNACK)
		check(whole_len <= MQTT_FIRST_REPLY_MAX, "a CONNACK announcing more than MQTT_FIRST_REPLY_MAX");
	if (whole == REPLY_TOO_LONG)
		check(whole_len > MQTT_FIRST_REPLY_MAX, "REPLY_TOO_LONG within MQTT_FIRST_REPLY_MAX");
	for (size_t m = 1; m < n && m <= 8; m++) {
		enum reply_kind k = mqtt_reply_kind(b, m, &len);
		if (k == REPLY_PARTIAL)
			continue;
		check(k == whole || (k == REPLY_TLS && whole == REPLY_NOT_MQTT),
				"mqtt_reply_kind changed its verdict on more bytes");
		check(len == whole_len, "mqtt_reply_kind changed the announced length on more bytes");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = {data, data + size};
	struct evidence ev;
	evidence_init(&ev);

	ev.stage = (enum stage)(u8(&r) % 8); /* 6 and 7 are no stage */
	ev.sys_errno = u8(&r);
	ev.eai = (int8_t)u8(&r);
	uint16_t bits = u16(&r);
	ev.timed_out = bits & 0x0001;
	ev.used_tls = bits & 0x0002;
	ev.used_psk = bits & 0x0004;
	ev.sent_client_cert = bits & 0x0008;
	ev.cert_requested = bits & 0x0010;
	ev.client_hello_sent = bits & 0x0020;
	ev.server_hello_seen = bits & 0x0040;
	ev.handshake_done = bits & 0x0080;
	ev.peer_closed = bits & 0x0100;
	ev.non_tls_reply = bits & 0x0200;
	ev.leaf_self_issued = bits & 0x0400;
	ev.hostname_mismatch = bits & 0x0800;
	ev.ssl_reason_is_version = bits & 0x1000;
	ev.fallback_scsv = bits & 0x2000;
	ev.probe_tls_answered = bits & 0x4000;
	ev.verify_error = (int)u8(&r) - 1;
	ev.verify_depth = (int8_t)u8(&r);
	ev.alert_sent = (int)u8(&r) - 1;
	ev.alert_received = (int)u8(&r) - 1;
	ev.ssl_reason = u16(&r);
	ev.tls_version_max = version(u8(&r));
	ev.requested_min = version(u8(&r));
	ev.broker_versions = u8(&r);
	ev.attempts = u8(&r);
	ev.connack = (int)u8(&r) - 1;
	static const int protos[] = {MQTT_PROTOCOL_V31, MQTT_PROTOCOL_V311, MQTT_PROTOCOL_V5};
	uint8_t cb = u8(&r); /* config: protocol (bits 0-1), files and secrets (2-6) */
	ev.protocol_version = protos[(cb & 3) % 3];
	int port = u16(&r);
	int seconds = u8(&r);
	uint8_t rb = u8(&r);
	ev.reply_len = (rb & 0x1f) > (int)sizeof(ev.reply) ? (int)sizeof(ev.reply) : (rb & 0x1f);
	ev.reply_checked = rb & 0x80;
	ev.mqtt_rc = (int8_t)u8(&r);
	for (size_t i = 0; i < sizeof(ev.reply); i++)
		ev.reply[i] = u8(&r);

	char *s[NSTR], *vals[NVAL];
	for (int i = 0; i < NSTR; i++)
		s[i] = str(&r);
	for (int i = 0; i < NVAL; i++)
		vals[i] = str(&r);
	char *tmpl = str(&r);

	check_reply_kind(ev.reply, (size_t)ev.reply_len);
	check_reply_kind((const unsigned char *)tmpl, strlen(tmpl));

	/* classify, and the cause's table row */
	enum cause c = classify(&ev);
	check(c >= 0 && c < CAUSE_COUNT, "classify returned no cause");
	const struct cause_info *ci = cause_info(c);
	check(ci->cause == c, "the cause table is out of order");
	check(cause_by_id(ci->id) == ci, "cause ids are not unique");
	check(stage_name(ci->stage) != NULL, "stage_name");
	expand(ci->summary, vals);
	expand(ci->why, vals);
	expand(ci->fix, vals);
	expand(tmpl, vals);

	/* diagnose with a configuration made from the strings */
	struct config cfg;
	cfg_init(&cfg, TOOL_PUB);
	cfg.protocol_version = ev.protocol_version;
	char *const *slots_from[] = {&cfg.host, &cfg.username, &cfg.id, &cfg.ciphers, &cfg.psk_identity,
		&cfg.tls_alpn, NULL, &cfg.applied_profile, &cfg.tls_version};
	for (int i = 0; i < NSTR; i++)
		if (slots_from[i] && s[i][0])
			cfg_set_str((char **)slots_from[i], s[i]);
	if (cfg.applied_profile)
		cfg_set_str(&cfg.applied_profile_from, "/nonexistent/profiles.conf:1");
	if (cb & 0x04)
		cfg_set_str(&cfg.cafile, "/nonexistent/smqtt-fuzz/ca.crt");
	else if (cb & 0x08)
		cfg_set_str(&cfg.capath, "/nonexistent/smqtt-fuzz/certs");
	if (cb & 0x10) {
		cfg_set_str(&cfg.certfile, "/nonexistent/smqtt-fuzz/client.crt");
		cfg_set_str(&cfg.keyfile, "/nonexistent/smqtt-fuzz/client.key");
	}
	if (cb & 0x20)
		cfg_set_str(&cfg.password, "secret");
	if (cb & 0x40)
		cfg.port = 0; /* a unix socket */

	/* The TLS layer's record: client.c passes it whenever TLS was set up,
	 * and only then is there TLS evidence to classify. */
	struct tls t;
	memset(&t, 0, sizeof(t));
	t.ctx = ctx;
	t.ev = &ev;
	snprintf(t.cert_names, sizeof(t.cert_names), "%s", s[6]);
	bool tls_stage = ev.stage != STAGE_RESOLVE && ev.stage != STAGE_TCP && ev.stage != STAGE_MQTT;
	struct report rep;
	report_init(&rep, cfg.host, cfg.port == 0 ? 0 : port);
	enum cause d = diagnose(&ev, (ev.used_tls || tls_stage) ? &t : NULL, &cfg, seconds, &rep);
	check(d == c, "diagnose and classify disagree");
	check(report_primary(&rep) != NULL, "diagnose added no finding");
	char *json = report_json(&rep, ev.stage);
	free(json);
	report_free(&rep);
	cfg_free(&cfg);

	for (int i = 0; i < NSTR; i++)
		free(s[i]);
	for (int i = 0; i < NVAL; i++)
		free(vals[i]);
	free(tmpl);
	return 0;
}
