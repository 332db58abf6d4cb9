/* test_remember: what smqtt remembers between runs, as pure functions: the
 * trust record a saved TLS session is bound to (tlssession.h): every item
 * that decided trust changes the record, the comparison names the item,
 * --insecure refuses, values cannot forge items; and the remembered TLS
 * version (negotiate.h), a hint and never a ceiling: every run starts with
 * the full range, a step below TLS 1.2 needs the user's minimum, every
 * step-down carries the SCSV, and a broker that supports more again is
 * used at once. */
#include "test_common.h"

#include <openssl/ssl.h>

#include "explain.h"
#include "negotiate.h"
#include "tlssession.h"

static struct session_trust base(void)
{
	struct session_trust st = {
		.host = "localhost", .port = 8883, .profile = "home", .checked_host = "localhost",
		.insecure = false, .ca = "cafile:aa", .client_cert = "bb", .versions = "default",
		.ciphers = "default", .psk_identity = "none",
	};
	return st;
}

static void line(const struct session_trust *st, char *out)
{
	assert_int_equal(session_trust_line(st, out, 2048), 0);
}

static void test_same_record_same_line(void **state)
{
	(void)state;
	struct session_trust a = base(), b = base();
	char la[2048], lb[2048];
	line(&a, la);
	line(&b, lb);
	assert_string_equal(la, lb);
	assert_null(session_trust_differs(la, lb));
	assert_true(!strncmp(la, SESSION_TRUST_PREFIX " ", strlen(SESSION_TRUST_PREFIX) + 1));
	/* the line as read back from the file, with its newline */
	strcat(la, "\n");
	assert_null(session_trust_differs(la, lb));
}

/* Each item that decided trust, changed alone: a different record, and the
 * comparison names that item. */
static void test_every_item_counts(void **state)
{
	(void)state;
	static const struct {
		const char *word;
	} want[] = {{"address"}, {"port"}, {"profile"}, {"host name"}, {"--insecure"}, {"CA"},
		{"client certificate"}, {"--tls-version"}, {"--ciphers"}, {"--psk-identity"}};
	char saved[2048], now[2048];
	struct session_trust s = base();
	line(&s, saved);
	for (int i = 0; i < 10; i++) {
		struct session_trust n = base();
		switch (i) {
		case 0: n.host = "127.0.0.1"; break;
		case 1: n.port = 8884; break;
		case 2: n.profile = ""; break;
		case 3: n.checked_host = NULL; break;
		case 4: n.insecure = true; break;
		case 5: n.ca = "cafile:ab"; break;
		case 6: n.client_cert = "none"; break;
		case 7: n.versions = "tlsv1.2"; break;
		case 8: n.ciphers = "ECDHE-RSA-AES128-GCM-SHA256"; break;
		case 9: n.psk_identity = "id"; break;
		}
		line(&n, now);
		assert_string_not_equal(saved, now);
		const char *why = session_trust_differs(saved, now);
		assert_non_null(why);
		if (!strstr(why, want[i].word))
			fail_msg("item %d: '%s' does not name %s", i, why, want[i].word);
	}
}

/* A value cannot forge another item: spaces and '=' in values are escaped,
 * so "x ca=cafile:aa" as a profile name is not a CA. */
static void test_values_escaped(void **state)
{
	(void)state;
	struct session_trust a = base(), b = base();
	char la[2048], lb[2048];
	a.profile = "x ca=cafile:aa";
	a.ca = "cafile:zz";
	line(&a, la);
	assert_null(strstr(la, "x ca="));
	assert_non_null(strstr(la, "profile=x%20ca=cafile:aa"));
	b.profile = "x ca=cafile:aa";
	line(&b, lb);
	assert_non_null(session_trust_differs(la, lb));
	a.ciphers = "A%20B";
	line(&a, la);
	assert_non_null(strstr(la, "ciphers=A%2520B"));
	a.ciphers = "caf\xc3\xa9\n";
	line(&a, la);
	assert_non_null(strstr(la, "ciphers=caf%c3%a9%0a"));
}

/* Under --insecure nothing is saved or offered; otherwise it may be. */
static void test_insecure_refused(void **state)
{
	(void)state;
	struct session_trust st = base();
	assert_null(session_trust_refused(&st));
	st.insecure = true;
	st.checked_host = NULL;
	const char *why = session_trust_refused(&st);
	assert_non_null(why);
	assert_non_null(strstr(why, "--insecure"));
	/* a unix socket checks no host name either, but so does the run
	 * without --tls-resume: allowed */
	st = base();
	st.checked_host = NULL;
	st.port = 0;
	assert_null(session_trust_refused(&st));
}

/* Bad records: none, an older smqtt's file (PEM first), another version,
 * an item missing, an unknown item, a line too long for the buffer. */
static void test_bad_records(void **state)
{
	(void)state;
	struct session_trust st = base();
	char now[2048], bad[2200];
	line(&st, now);
	assert_non_null(session_trust_differs(NULL, now));
	assert_non_null(strstr(session_trust_differs("-----BEGIN SSL SESSION PARAMETERS-----\n", now), "older smqtt"));
	assert_non_null(session_trust_differs("", now));
	assert_non_null(session_trust_differs("smqtt-session-trust: v2 host=localhost", now));
	assert_non_null(session_trust_differs("smqtt-session-trust: v10", now));
	/* an item missing */
	snprintf(bad, sizeof(bad), "%s", now);
	char *p = strstr(bad, " ciphers=");
	assert_non_null(p);
	*p = '\0';
	assert_non_null(strstr(session_trust_differs(bad, now), "--ciphers"));
	/* an extra item */
	snprintf(bad, sizeof(bad), "%s extra=1", now);
	assert_non_null(session_trust_differs(bad, now));
	/* an item doubled with another value after the real one does not help */
	snprintf(bad, sizeof(bad), "%s ca=cafile:aa", now);
	assert_non_null(session_trust_differs(bad, now));
	/* too small a buffer */
	char small[40];
	assert_int_equal(session_trust_line(&st, small, sizeof(small)), -1);
	assert_int_equal(session_trust_line(&st, small, 1), -1);
}

/* ---- the remembered TLS version ------------------------------------------ */

static const int versions[] = {0, TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION, TLS1_3_VERSION, 0x7f17, -1};
enum { N_VERSIONS = sizeof(versions) / sizeof(versions[0]) };

/* The first range never depends on memory (there is no argument for it)
 * and is the best the minimum allows, at the normal security level. */
static void test_first_range_is_full(void **state)
{
	(void)state;
	for (int m = TLS1_VERSION; m <= TLS1_3_VERSION; m++) {
		struct tls_range r = negotiate_first(m);
		assert_int_equal(r.max_version, TLS1_3_VERSION);
		assert_false(r.fallback_scsv);
		assert_true(r.min_version >= TLS1_2_VERSION);
		assert_true(r.min_version >= m);
	}
}

/* Only a version below TLS 1.2 that the minimum allows is a hint. */
static void test_hint(void **state)
{
	(void)state;
	assert_int_equal(negotiate_hint(TLS1_VERSION, TLS1_VERSION), TLS1_VERSION);
	assert_int_equal(negotiate_hint(TLS1_VERSION, TLS1_1_VERSION), TLS1_1_VERSION);
	assert_int_equal(negotiate_hint(TLS1_1_VERSION, TLS1_VERSION), 0);  /* below the minimum */
	assert_int_equal(negotiate_hint(TLS1_2_VERSION, TLS1_VERSION), 0);  /* memory alone: never */
	assert_int_equal(negotiate_hint(TLS1_VERSION, TLS1_2_VERSION), 0);  /* the first range has it */
	assert_int_equal(negotiate_hint(TLS1_VERSION, TLS1_3_VERSION), 0);
	assert_int_equal(negotiate_hint(TLS1_VERSION, 0), 0);
	assert_int_equal(negotiate_hint(TLS1_VERSION, -1), 0);
	assert_int_equal(negotiate_hint(TLS1_VERSION, 0x7f17), 0);          /* not a version */
	assert_int_equal(negotiate_hint(TLS1_VERSION, 0x0200), 0);          /* SSL 2 */
}

static void version_failure(struct evidence *e)
{
	evidence_init(e);
	e->stage = STAGE_TLS;
	e->used_tls = true;
	e->alert_received = SSL_AD_PROTOCOL_VERSION;
}

/* For every minimum and every remembered value: each step of the whole
 * negotiation against a broker that fails every version carries the SCSV,
 * never goes below the minimum, and never below TLS 1.2 unless the minimum
 * allows it; with no failure there is no step at all. */
static void test_steps_safe_whatever_is_remembered(void **state)
{
	(void)state;
	for (int m = TLS1_VERSION; m <= TLS1_3_VERSION; m++)
		for (int k = 0; k < N_VERSIONS; k++) {
			int rem = versions[k];
			struct tls_range r = negotiate_first(m), next;
			struct evidence e;
			evidence_init(&e);
			assert_false(negotiate_next(&e, &r, m, rem, &next)); /* no evidence, no step */
			for (int steps = 0; steps < 8; steps++) {
				version_failure(&e);
				if (!negotiate_next(&e, &r, m, rem, &next))
					break;
				assert_true(next.fallback_scsv);
				assert_true(next.min_version >= m);
				assert_true(next.min_version <= next.max_version);
				assert_true(next.max_version < r.min_version || next.max_version < r.max_version);
				r = next;
			}
			assert_true(r.min_version >= m);
		}
}

/* The hint shortens the step-down to a TLS 1.0 broker: one version below
 * the failed range down to the hint, in one attempt (the broker picks its
 * highest; the SCSV still stops a downgrade). */
static void test_hint_shortens_step_down(void **state)
{
	(void)state;
	struct evidence e;
	struct tls_range r = negotiate_first(TLS1_VERSION), next;
	version_failure(&e);
	assert_true(negotiate_next(&e, &r, TLS1_VERSION, TLS1_VERSION, &next));
	assert_int_equal(next.min_version, TLS1_VERSION);
	assert_int_equal(next.max_version, TLS1_1_VERSION);
	assert_true(next.fallback_scsv);
	/* without memory: one version at a time */
	assert_true(negotiate_next(&e, &r, TLS1_VERSION, 0, &next));
	assert_int_equal(next.min_version, TLS1_1_VERSION);
	assert_int_equal(next.max_version, TLS1_1_VERSION);
	/* memory below the minimum: as without memory; at the default
	 * minimum no step at all */
	assert_true(negotiate_next(&e, &r, TLS1_1_VERSION, TLS1_VERSION, &next));
	assert_int_equal(next.min_version, TLS1_1_VERSION);
	assert_false(negotiate_next(&e, &r, TLS1_2_VERSION, TLS1_VERSION, &next));
	/* intolerance of TLS 1.3: capped one lower, the hint does not widen it */
	struct tls_range best = {TLS1_2_VERSION, TLS1_3_VERSION, false};
	evidence_init(&e);
	e.stage = STAGE_TLS;
	e.used_tls = true;
	e.client_hello_sent = true;
	e.peer_closed = true;
	e.probe_tls_answered = true;
	assert_true(negotiate_next(&e, &best, TLS1_VERSION, TLS1_VERSION, &next));
	assert_int_equal(next.max_version, TLS1_2_VERSION);
	assert_int_equal(next.min_version, TLS1_2_VERSION);
	assert_true(next.fallback_scsv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_record_same_line),
		cmocka_unit_test(test_every_item_counts),
		cmocka_unit_test(test_values_escaped),
		cmocka_unit_test(test_insecure_refused),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_first_range_is_full),
		cmocka_unit_test(test_hint),
		cmocka_unit_test(test_steps_safe_whatever_is_remembered),
		cmocka_unit_test(test_hint_shortens_step_down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
