/* test_classify: the pure failure classifier (evidence record -> cause ID)
 * and the pure TLS step-down policy, both table-driven. */
#include "test_common.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "explain.h"
#include "negotiate.h"

/* Fields a row may set; everything else stays at evidence_init()'s value. */
struct ev_row {
	const char *name;
	const char *want; /* stable cause id */
	void (*set)(struct evidence *);
};

#define ROW(n, id, body) \
	static void set_##n(struct evidence *e) { body; }
ROW(dns, "dns-failure", e->stage = STAGE_RESOLVE; e->eai = EAI_NONAME)
ROW(refused, "connection-refused", e->stage = STAGE_TCP; e->sys_errno = ECONNREFUSED)
ROW(tcp_timeout, "connect-timeout", e->stage = STAGE_TCP; e->sys_errno = EINTR; e->timed_out = true)
ROW(unreach, "network-unreachable", e->stage = STAGE_TCP; e->sys_errno = ENETUNREACH)
ROW(hostunreach, "network-unreachable", e->stage = STAGE_TCP; e->sys_errno = EHOSTUNREACH)
ROW(untrusted, "server-cert-untrusted", e->stage = STAGE_TLS; e->used_tls = true; e->verify_error = X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN; e->verify_depth = 1)
ROW(selfsigned, "server-cert-self-signed", e->stage = STAGE_TLS; e->used_tls = true; e->verify_error = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
ROW(samename, "server-cert-self-signed", e->stage = STAGE_TLS; e->used_tls = true; e->verify_error = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT; e->leaf_self_issued = true)
ROW(incomplete, "server-chain-incomplete", e->stage = STAGE_TLS; e->used_tls = true; e->verify_error = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY; e->verify_depth = 0)
ROW(hostname, "hostname-mismatch", e->stage = STAGE_TLS; e->used_tls = true; e->verify_error = X509_V_ERR_HOSTNAME_MISMATCH; e->hostname_mismatch = true)
ROW(expired, "server-cert-expired", e->stage = STAGE_TLS; e->used_tls = true; e->verify_error = X509_V_ERR_CERT_HAS_EXPIRED)
ROW(notyet, "server-cert-not-yet-valid", e->stage = STAGE_TLS; e->used_tls = true; e->verify_error = X509_V_ERR_CERT_NOT_YET_VALID)
ROW(purpose, "server-cert-wrong-purpose", e->stage = STAGE_TLS; e->used_tls = true; e->verify_error = X509_V_ERR_INVALID_PURPOSE)
ROW(weak_key, "weak-crypto", e->stage = STAGE_TLS; e->used_tls = true; e->verify_error = X509_V_ERR_EE_KEY_TOO_SMALL)
ROW(weak_md, "weak-crypto", e->stage = STAGE_TLS; e->used_tls = true; e->verify_error = X509_V_ERR_CA_MD_TOO_WEAK)
ROW(cert_required13, "client-cert-required", e->stage = STAGE_MQTT; e->used_tls = true; e->handshake_done = true; e->alert_received = SSL_AD_CERTIFICATE_REQUIRED)
ROW(cert_required12, "client-cert-required", e->stage = STAGE_TLS; e->used_tls = true; e->server_hello_seen = true; e->alert_received = SSL_AD_HANDSHAKE_FAILURE)
ROW(unknown_ca, "client-cert-unknown-ca", e->stage = STAGE_MQTT; e->used_tls = true; e->handshake_done = true; e->sent_client_cert = true; e->alert_received = SSL_AD_UNKNOWN_CA)
ROW(revoked, "client-cert-rejected", e->stage = STAGE_MQTT; e->used_tls = true; e->sent_client_cert = true; e->alert_received = SSL_AD_CERTIFICATE_REVOKED)
ROW(bad_cert12, "client-cert-rejected", e->stage = STAGE_TLS; e->used_tls = true; e->sent_client_cert = true; e->alert_received = SSL_AD_BAD_CERTIFICATE)
ROW(version_alert, "protocol-version-mismatch", e->stage = STAGE_TLS; e->used_tls = true; e->alert_received = SSL_AD_PROTOCOL_VERSION)
ROW(version_reason, "protocol-version-mismatch", e->stage = STAGE_TLS; e->used_tls = true; e->ssl_reason = SSL_R_UNSUPPORTED_PROTOCOL)
ROW(fallback, "inappropriate-fallback", e->stage = STAGE_TLS; e->used_tls = true; e->fallback_scsv = true; e->alert_received = SSL_AD_INAPPROPRIATE_FALLBACK)
ROW(no_cipher, "no-shared-cipher", e->stage = STAGE_TLS; e->used_tls = true; e->sent_client_cert = true; e->alert_received = SSL_AD_HANDSHAKE_FAILURE)
ROW(no_cipher_local, "no-shared-cipher", e->stage = STAGE_TLS; e->used_tls = true; e->ssl_reason = SSL_R_NO_CIPHERS_AVAILABLE)
ROW(psk, "psk-mismatch", e->stage = STAGE_TLS; e->used_tls = true; e->used_psk = true; e->alert_received = SSL_AD_DECRYPT_ERROR)
ROW(psk_identity, "psk-mismatch", e->stage = STAGE_TLS; e->used_tls = true; e->used_psk = true; e->alert_received = SSL_AD_UNKNOWN_PSK_IDENTITY)
ROW(alpn, "alpn-mismatch", e->stage = STAGE_TLS; e->used_tls = true; e->alert_received = SSL_AD_NO_APPLICATION_PROTOCOL)
ROW(renego, "legacy-renegotiation", e->stage = STAGE_TLS; e->used_tls = true; e->ssl_reason = SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED)
ROW(tls_plain_eof, "tls-to-plain-port", e->stage = STAGE_TLS; e->used_tls = true; e->client_hello_sent = true; e->peer_closed = true)
ROW(tls_plain_bytes, "tls-to-plain-port", e->stage = STAGE_TLS; e->used_tls = true; e->ssl_reason = SSL_R_WRONG_VERSION_NUMBER; e->non_tls_reply = true)
ROW(intolerant, "protocol-version-mismatch", e->stage = STAGE_TLS; e->used_tls = true; e->client_hello_sent = true; e->peer_closed = true; e->probe_tls_answered = true)
ROW(plain_tls, "plain-to-tls-port", e->stage = STAGE_MQTT; e->probe_tls_answered = true)
ROW(hs_timeout, "handshake-timeout", e->stage = STAGE_TLS; e->used_tls = true; e->timed_out = true)
ROW(mqtt_timeout, "handshake-timeout", e->stage = STAGE_MQTT; e->timed_out = true)
ROW(closed, "broker-closed", e->stage = STAGE_MQTT)
ROW(sni, "sni-rejected", e->stage = STAGE_TLS; e->used_tls = true; e->client_hello_sent = true; e->alert_received = SSL_AD_UNRECOGNIZED_NAME)
ROW(cert_required_notify, "client-cert-required", e->stage = STAGE_MQTT; e->used_tls = true; e->handshake_done = true; e->cert_requested = true; e->alert_received = SSL_AD_CLOSE_NOTIFY)
ROW(closed_notify, "broker-closed", e->stage = STAGE_MQTT; e->used_tls = true; e->handshake_done = true; e->alert_received = SSL_AD_CLOSE_NOTIFY; e->alert_sent = SSL_AD_CLOSE_NOTIFY)
ROW(auth5, "mqtt-auth-failed", e->stage = STAGE_MQTT; e->connack = 5)
ROW(auth4, "mqtt-auth-failed", e->stage = STAGE_MQTT; e->connack = 4)
ROW(auth135, "mqtt-auth-failed", e->stage = STAGE_MQTT; e->connack = 135)
ROW(auth134, "mqtt-auth-failed", e->stage = STAGE_MQTT; e->connack = 134)
ROW(proto1, "mqtt-protocol-rejected", e->stage = STAGE_MQTT; e->connack = 1)
ROW(proto132, "mqtt-protocol-rejected", e->stage = STAGE_MQTT; e->connack = 132)
ROW(ident2, "mqtt-identifier-rejected", e->stage = STAGE_MQTT; e->connack = 2)
ROW(ident133, "mqtt-identifier-rejected", e->stage = STAGE_MQTT; e->connack = 133)
ROW(unavail3, "mqtt-server-unavailable", e->stage = STAGE_MQTT; e->connack = 3)
ROW(busy137, "mqtt-server-unavailable", e->stage = STAGE_MQTT; e->connack = 137)
ROW(other151, "mqtt-refused", e->stage = STAGE_MQTT; e->connack = 151)
ROW(unknown_rc, "mqtt-refused", e->stage = STAGE_MQTT; e->connack = 250)
ROW(unclassified, "tls-unclassified", e->stage = STAGE_TLS; e->used_tls = true; e->ssl_reason = 9999)
ROW(too_large, "tls-message-too-large", e->stage = STAGE_TLS; e->used_tls = true; e->client_hello_sent = true; e->server_hello_seen = true; e->alert_sent = SSL_AD_ILLEGAL_PARAMETER; e->ssl_reason = SSL_R_EXCESSIVE_MESSAGE_SIZE)
ROW(tls_garbage, "tls-protocol-error", e->stage = STAGE_TLS; e->used_tls = true; e->client_hello_sent = true; e->alert_sent = SSL_AD_UNEXPECTED_MESSAGE; e->ssl_reason = SSL_R_UNEXPECTED_MESSAGE)
ROW(tls_decode, "tls-protocol-error", e->stage = STAGE_TLS; e->used_tls = true; e->server_hello_seen = true; e->alert_sent = SSL_AD_DECODE_ERROR)
ROW(mqtt_garbage, "mqtt-protocol-error", e->stage = STAGE_MQTT; e->reply[0] = 0x6e; e->reply[1] = 0xa6; e->reply_len = 2; e->mqtt_rc = 2)
ROW(mqtt_http, "mqtt-protocol-error", e->stage = STAGE_MQTT; memcpy(e->reply, "HTTP/1.1", 8); e->reply_len = 8)
ROW(mqtt_half_connack, "mqtt-protocol-error", e->stage = STAGE_MQTT; e->reply[0] = 0x20; e->reply_len = 1; e->mqtt_rc = 7)
ROW(mqtt_stalled_connack, "mqtt-protocol-error", e->stage = STAGE_MQTT; e->timed_out = true; e->reply[0] = 0x20; e->reply[1] = 0xa0; e->reply_len = 2)
ROW(mqtt_huge_connack, "mqtt-packet-too-large", e->stage = STAGE_MQTT; memcpy(e->reply, "\x20\xff\xff\xff\x7f", 5); e->reply_len = 5; e->mqtt_rc = 2)
ROW(mqtts_huge_connack, "mqtt-packet-too-large", e->stage = STAGE_MQTT; e->used_tls = true; e->handshake_done = true; memcpy(e->reply, "\x20\x81\x80\x40", 4); e->reply_len = 4; e->mqtt_rc = 2)
ROW(plain_tls_record, "plain-to-tls-port", e->stage = STAGE_MQTT; e->reply[0] = 0x15; e->reply[1] = 0x03; e->reply[2] = 0x03; e->reply_len = 3; e->mqtt_rc = 2)

#define R(n, id) {#n, id, set_##n}
static const struct ev_row rows[] = {
	R(dns, "dns-failure"), R(refused, "connection-refused"), R(tcp_timeout, "connect-timeout"),
	R(unreach, "network-unreachable"), R(hostunreach, "network-unreachable"),
	R(untrusted, "server-cert-untrusted"), R(selfsigned, "server-cert-self-signed"),
	R(samename, "server-cert-self-signed"), R(incomplete, "server-chain-incomplete"),
	R(hostname, "hostname-mismatch"), R(expired, "server-cert-expired"), R(notyet, "server-cert-not-yet-valid"),
	R(purpose, "server-cert-wrong-purpose"), R(weak_key, "weak-crypto"), R(weak_md, "weak-crypto"),
	R(cert_required13, "client-cert-required"), R(cert_required12, "client-cert-required"),
	R(unknown_ca, "client-cert-unknown-ca"), R(revoked, "client-cert-rejected"), R(bad_cert12, "client-cert-rejected"),
	R(version_alert, "protocol-version-mismatch"), R(version_reason, "protocol-version-mismatch"),
	R(fallback, "inappropriate-fallback"), R(no_cipher, "no-shared-cipher"), R(no_cipher_local, "no-shared-cipher"),
	R(psk, "psk-mismatch"), R(psk_identity, "psk-mismatch"), R(alpn, "alpn-mismatch"),
	R(renego, "legacy-renegotiation"), R(tls_plain_eof, "tls-to-plain-port"), R(tls_plain_bytes, "tls-to-plain-port"),
	R(intolerant, "protocol-version-mismatch"), R(plain_tls, "plain-to-tls-port"), R(hs_timeout, "handshake-timeout"),
	R(mqtt_timeout, "handshake-timeout"), R(closed, "broker-closed"), R(closed_notify, "broker-closed"), R(sni, "sni-rejected"), R(cert_required_notify, "client-cert-required"), R(auth5, "mqtt-auth-failed"),
	R(auth4, "mqtt-auth-failed"), R(auth135, "mqtt-auth-failed"), R(auth134, "mqtt-auth-failed"),
	R(proto1, "mqtt-protocol-rejected"), R(proto132, "mqtt-protocol-rejected"), R(ident2, "mqtt-identifier-rejected"),
	R(ident133, "mqtt-identifier-rejected"), R(unavail3, "mqtt-server-unavailable"), R(busy137, "mqtt-server-unavailable"),
	R(other151, "mqtt-refused"), R(unknown_rc, "mqtt-refused"), R(unclassified, "tls-unclassified"),
	R(too_large, "tls-message-too-large"), R(tls_garbage, "tls-protocol-error"), R(tls_decode, "tls-protocol-error"),
	R(mqtt_garbage, "mqtt-protocol-error"), R(mqtt_http, "mqtt-to-http-port"),
	R(mqtt_half_connack, "mqtt-protocol-error"), R(mqtt_stalled_connack, "mqtt-protocol-error"),
	R(plain_tls_record, "plain-to-tls-port"), R(mqtt_huge_connack, "mqtt-packet-too-large"),
	R(mqtts_huge_connack, "mqtt-packet-too-large"),
};

static void test_row(void **state)
{
	const struct ev_row *row = *state;
	struct evidence ev;
	evidence_init(&ev);
	row->set(&ev);
	enum cause c = classify(&ev);
	const struct cause_info *ci = cause_info(c);
	if (strcmp(ci->id, row->want)) {
		print_error("%s: classified as %s, expected %s\n", row->name, ci->id, row->want);
		fail();
	}
	assert_non_null(cause_by_id(row->want));
}

/* ---- step-down policy ----------------------------------------------------- */

struct step_row {
	const char *name;
	int requested_min;
	struct tls_range cur;
	void (*set)(struct evidence *);
	bool want_next;
	struct tls_range next;
};

static void set_none(struct evidence *e) { (void)e; }

static const struct step_row steps[] = {
	{"version alert from the best range steps to 1.1 with SCSV", TLS1_VERSION,
		{TLS1_2_VERSION, TLS1_3_VERSION, false}, set_version_alert, true, {TLS1_1_VERSION, TLS1_1_VERSION, true}},
	{"unsupported protocol steps down too", TLS1_VERSION,
		{TLS1_1_VERSION, TLS1_1_VERSION, true}, set_version_reason, true, {TLS1_VERSION, TLS1_VERSION, true}},
	{"never below the requested minimum", TLS1_2_VERSION,
		{TLS1_2_VERSION, TLS1_3_VERSION, false}, set_version_alert, false, {0, 0, false}},
	{"nothing below TLS 1.0", TLS1_VERSION,
		{TLS1_VERSION, TLS1_VERSION, true}, set_version_alert, false, {0, 0, false}},
	{"1.3 intolerance steps to 1.2 when 1.2 is allowed", TLS1_2_VERSION,
		{TLS1_3_VERSION, TLS1_3_VERSION, false}, set_intolerant, true, {TLS1_2_VERSION, TLS1_2_VERSION, true}},
	{"a certificate failure is never retried", TLS1_VERSION,
		{TLS1_2_VERSION, TLS1_3_VERSION, false}, set_untrusted, false, {0, 0, false}},
	{"a hostname mismatch is never retried", TLS1_VERSION,
		{TLS1_2_VERSION, TLS1_3_VERSION, false}, set_hostname, false, {0, 0, false}},
	{"inappropriate_fallback stops", TLS1_VERSION,
		{TLS1_1_VERSION, TLS1_1_VERSION, true}, set_fallback, false, {0, 0, false}},
	{"a client certificate rejection is never retried", TLS1_VERSION,
		{TLS1_2_VERSION, TLS1_3_VERSION, false}, set_cert_required12, false, {0, 0, false}},
	{"a cipher failure is never retried", TLS1_VERSION,
		{TLS1_2_VERSION, TLS1_3_VERSION, false}, set_no_cipher, false, {0, 0, false}},
	{"a plain port (no TLS answer to a probe) is not a version failure", TLS1_VERSION,
		{TLS1_2_VERSION, TLS1_3_VERSION, false}, set_tls_plain_eof, false, {0, 0, false}},
	{"a timeout is never retried", TLS1_VERSION,
		{TLS1_2_VERSION, TLS1_3_VERSION, false}, set_hs_timeout, false, {0, 0, false}},
	{"no evidence, no retry", TLS1_VERSION,
		{TLS1_2_VERSION, TLS1_3_VERSION, false}, set_none, false, {0, 0, false}},
};

static void test_step(void **state)
{
	const struct step_row *row = *state;
	struct evidence ev;
	struct tls_range next = {0, 0, false};
	evidence_init(&ev);
	row->set(&ev);
	bool got = negotiate_next(&ev, &row->cur, row->requested_min, 0, &next);
	assert_int_equal(got, row->want_next);
	if (got) {
		assert_int_equal(next.min_version, row->next.min_version);
		assert_int_equal(next.max_version, row->next.max_version);
		assert_int_equal(next.fallback_scsv, row->next.fallback_scsv);
	}
}

static void test_first_range(void **state)
{
	(void)state;
	struct tls_range r = negotiate_first(TLS1_2_VERSION);
	assert_int_equal(r.min_version, TLS1_2_VERSION);
	assert_int_equal(r.max_version, TLS1_3_VERSION);
	assert_false(r.fallback_scsv);
	r = negotiate_first(TLS1_VERSION); /* the first attempt is the best range */
	assert_int_equal(r.min_version, TLS1_2_VERSION);
	assert_int_equal(r.max_version, TLS1_3_VERSION);
	r = negotiate_first(TLS1_3_VERSION);
	assert_int_equal(r.min_version, TLS1_3_VERSION);
}

/* ---- the first bytes before a CONNACK ------------------------------------- */

struct reply_row {
	const char *name;
	unsigned char b[8];
	size_t n;
	enum reply_kind want;
	unsigned long announced;
};

static const struct reply_row replies[] = {
	{"nothing yet", {0}, 0, REPLY_NONE, 0},
	{"a v3.1.1 CONNACK", {0x20, 0x02, 0x00, 0x00}, 4, REPLY_CONNACK, 2},
	{"the first byte only", {0x20}, 1, REPLY_PARTIAL, 0},
	{"a length still to come", {0x20, 0xff}, 2, REPLY_PARTIAL, 0},
	{"268435455 bytes announced", {0x20, 0xff, 0xff, 0xff, 0x7f}, 5, REPLY_TOO_LONG, 268435455},
	{"exactly the limit", {0x20, 0x80, 0x80, 0x40}, 4, REPLY_CONNACK, MQTT_FIRST_REPLY_MAX},
	{"one byte over the limit", {0x20, 0x81, 0x80, 0x40}, 4, REPLY_TOO_LONG, MQTT_FIRST_REPLY_MAX + 1},
	{"a fifth length byte", {0x20, 0xff, 0xff, 0xff, 0xff, 0x01}, 6, REPLY_BAD_LENGTH, 0},
	{"four continuation bytes are enough to tell", {0x20, 0x80, 0x80, 0x80, 0x80}, 5, REPLY_BAD_LENGTH, 0},
	{"an MQTT v5 AUTH", {0xf0, 0x00}, 2, REPLY_CONNACK, 0},
	{"a TLS alert record", {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28}, 7, REPLY_TLS, 0},
	{"a TLS handshake record, one byte of it", {0x16}, 1, REPLY_TLS, 0},
	{"0x16 not followed by a TLS version", {0x16, 0x01}, 2, REPLY_NOT_MQTT, 0},
	{"HTTP", {'H', 'T', 'T', 'P', '/', '1', '.', '1'}, 8, REPLY_NOT_MQTT, 0},
	{"a PUBLISH before the CONNACK", {0x30, 0x05}, 2, REPLY_NOT_MQTT, 0},
};

static void test_reply(void **state)
{
	const struct reply_row *row = *state;
	unsigned long announced = 12345;
	assert_int_equal(mqtt_reply_kind(row->b, row->n, &announced), row->want);
	assert_int_equal(mqtt_reply_kind(row->b, row->n, NULL), row->want);
	if (row->want == REPLY_CONNACK || row->want == REPLY_TOO_LONG)
		assert_int_equal(announced, row->announced);
}

/* cause_info() indexes the table by the enum: every row in its place. */
static void test_table_order(void **state)
{
	(void)state;
	for (int c = 0; c < CAUSE_COUNT; c++) {
		if (cause_info((enum cause)c)->cause != (enum cause)c) {
			print_error("row %d of the cause table holds %s\n", c, cause_info((enum cause)c)->id);
			fail();
		}
	}
}

int main(void)
{
	struct test_list l = {0};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		test_list_addf(&l, test_row, (void *)&rows[i], "classify: %s -> %s", rows[i].name, rows[i].want);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		test_list_addf(&l, test_step, (void *)&steps[i], "step-down: %s", steps[i].name);
	test_list_add(&l, "first range", test_first_range, NULL);
	test_list_add(&l, "the cause table is in enum order", test_table_order, NULL);
	for (size_t i = 0; i < sizeof(replies) / sizeof(replies[0]); i++)
		test_list_addf(&l, test_reply, (void *)&replies[i], "first reply: %s", replies[i].name);
	return test_list_run(&l, "classify");
}
