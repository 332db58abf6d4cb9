/* test_templates: every cause of the catalogue (common/explain.c) rendered
 * with every combination of the slot values it depends on, through the code
 * that fills them in a real run: diagnose() for what is seen on the wire
 * (with real certificates from the scenario lab as the broker's chain) and
 * preflight_run() for the local checks (over the lab's files). Each
 * rendered summary / why / fix is read by lint(), which fails on
 *   - a slot given as "" (report.empty_slot) or left as {name};
 *   - the marks an empty value leaves: "()", "''", " ,", " .", "(null)";
 *   - two spaces, or a space at either end;
 *   - a doubled phrase: the same word twice in a row, or the same three
 *     words twice in one sentence ("the system CA store, which holds the
 *     system's CA store");
 *   - an option the run did not use, named in the summary or the why line
 *     (the fix line may suggest one: "give --cafile <ca.crt>"; it may not
 *     tell to drop one that was not given);
 *   - a dangling "or" / "and" (before punctuation, at the end, doubled);
 *   - a broker log line ("the broker logs 'tlsv1 alert unknown ca'") the
 *     evidence does not show: a log line may be named only as what the alert
 *     this client sent becomes in the broker's log. This rule reads the text
 *     in every language of po/ (the zh_CN catalogue of the build tree);
 *   - in a translation, a space between two Chinese characters.
 * The trust options are combined in every way (none, --cafile, --capath,
 * --tls-use-os-certs, and each combination), with RSA and EC chains, with
 * and without a client certificate, and so on for each cause's own slots.
 * A last test checks that every cause of the catalogue was rendered. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "test_common.h"

#include <ctype.h>
#include <ftw.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <libintl.h>

#include "diagnose.h"
#include "rr.h"
#include "l10n.h"
#include "ws.h"
#include "socks.h"
#include "explain.h"
#include "options.h"
#include "preflight.h"
#include "report.h"
#include "tls.h"

#define NOF_(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[512];
static char labdir[600];
static bool rendered[CAUSE_COUNT];
static unsigned long renders;

/* ---- the lab ------------------------------------------------------------- */

static char *source_dir(void)
{
	const char *env = getenv("SMQTT_SOURCE_DIR");
	if (env && *env)
		return strdup(env);
	char *p = strdup(__FILE__);
	for (int i = 0; i < 3 && p; i++) {
		char *slash = strrchr(p, '/');
		if (!slash) {
			free(p);
			return strdup(i == 0 ? "../.." : ".");
		}
		*slash = '\0';
	}
	return p;
}

static int lab_setup(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/smqtt-templates-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(labdir, sizeof(labdir), "%s/lab", tmpdir);
	char *src = source_dir(), script[1024];
	snprintf(script, sizeof(script), "%s/tests/lib/scenarios.sh", src);
	free(src);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("bash", "bash", script, labdir, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "scenarios.sh %s failed\n", labdir);
		return -1;
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int lab_teardown(void **state)
{
	(void)state;
	if (tmpdir[0] && !getenv("SMQTT_TEST_KEEP"))
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static char *lab_path(const char *rel)
{
	char *p = NULL;
	if (!rel)
		return NULL;
	if (rel[0] == '/')
		return strdup(rel);
	if (asprintf(&p, "%s/%s", labdir, rel) < 0)
		abort();
	return p;
}

/* ---- the lint -------------------------------------------------------------- */

/* The long options a rendered text may name in its summary or why. */
struct used {
	char names[24][32];
	int n;
};

static void use(struct used *u, const char *opt)
{
	if (u->n < 24)
		snprintf(u->names[u->n++], sizeof(u->names[0]), "%s", opt);
}

static bool was_used(const struct used *u, const char *opt)
{
	for (int i = 0; i < u->n; i++)
		if (!strcmp(u->names[i], opt))
			return true;
	return false;
}

static void used_of(const struct config *cfg, struct used *u)
{
	memset(u, 0, sizeof(*u));
	if (cfg->cafile) use(u, "--cafile");
	if (cfg->capath) use(u, "--capath");
	if (cfg->tls_use_os_certs) use(u, "--tls-use-os-certs");
	if (cfg->certfile) use(u, "--cert");
	if (cfg->keyfile) use(u, "--key");
	if (cfg->psk) use(u, "--psk");
	if (cfg->psk_identity) use(u, "--psk-identity");
	if (cfg->ciphers) use(u, "--ciphers");
	if (cfg->tls_alpn) use(u, "--tls-alpn");
	if (cfg->tls_version) use(u, "--tls-version");
	if (cfg->password_file) use(u, "--password-file");
	if (cfg->insecure) use(u, "--insecure");
	if (cfg->ws) use(u, "--ws");
	if (cfg->ws_path) use(u, "--ws-path");
	if (cfg->socks5_host) use(u, "--proxy");
	/* always in force (a default): naming it is never wrong */
	use(u, "--connect-timeout");
}

static void lower_word(const char *s, size_t n, char *out, size_t len)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < len; i++)
		out[k++] = (char)tolower((unsigned char)s[i]);
	out[k] = '\0';
	if (k > 2 && out[k - 2] == '\'' && out[k - 1] == 's')
		out[k - 2] = '\0'; /* the system's -> the system */
}

/* Words of plain text (letters only), per sentence: the same three in a
 * row twice in one sentence is a doubled phrase. DNs, paths and dates are
 * skipped (a DN may rightly be named twice). */
static const char *doubled_words(const char *text, char *why, size_t len);

/* A DN (CN=..., O=...) is a name: it may be repeated. Replace each with
 * "#" up to the punctuation or the word that ends it. */
static void mask_dns(const char *in, char *out, size_t len)
{
	static const char *const stops[] = {" is ", " was ", " names ", " signed ", " has ", " and ", " or ", " does ",
		" to ", " from ", " in ", " which ", " with ", " - ", " issued ", " (issued", " then "};
	size_t k = 0;
	for (const char *p = in; *p && k + 1 < len; ) {
		bool dn = (p == in || p[-1] == ' ' || p[-1] == '(' || p[-1] == '<') && isupper((unsigned char)p[0])
			&& (p[1] == '=' || (isupper((unsigned char)p[1]) && p[2] == '='));
		if (!dn) {
			out[k++] = *p++;
			continue;
		}
		out[k++] = '#';
		while (*p && !strchr(",;:'>", *p)) {
			bool stop = false;
			for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]) && !stop; i++)
				stop = !strncmp(p, stops[i], strlen(stops[i]));
			if (stop)
				break;
			p++;
		}
	}
	out[k] = '\0';
}

static const char *doubled(const char *text, char *why, size_t len)
{
	char masked[8192];
	mask_dns(text, masked, sizeof(masked));
	return doubled_words(masked, why, len);
}

static const char *doubled_words(const char *text, char *why, size_t len)
{
	char words[400][48];
	int n = 0;
	const char *p = text;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		/* strip punctuation around the word */
		const char *a = p, *b = e;
		while (a < b && strchr("(\"'", *a))
			a++;
		bool end = b > a && strchr(".;", b[-1]) && (*e == '\0' || *e == ' ');
		while (b > a && strchr(",.;:)\"'", b[-1]))
			b--;
		bool plain = b > a;
		for (const char *q = a; q < b && plain; q++)
			plain = isalpha((unsigned char)*q) || *q == '\'' || *q == '-';
		if (plain && b - a <= 2 && strspn(a, "0123456789abcdef") >= (size_t)(b - a))
			plain = false; /* a byte in hex ("the bytes 20 ff ff") */
		if (plain && n < 400) {
			lower_word(a, (size_t)(b - a), words[n], sizeof(words[0]));
			/* the same word twice in a row */
			if (n > 0 && words[n - 1][0] && !strcmp(words[n - 1], words[n])) {
				snprintf(why, len, "the word \"%.40s\" twice in a row", words[n]);
				return why;
			}
			n++;
		} else if (n < 400) {
			words[n++][0] = '\0'; /* a gap: no phrase spans it */
		}
		if (end && n < 400)
			words[n++][0] = '\0';
		if (end) {
			/* the sentence ends: look for a repeated three-word phrase */
			for (int i = 0; i + 2 < n; i++) {
				if (!words[i][0] || !words[i + 1][0] || !words[i + 2][0])
					continue;
				for (int j = i + 1; j + 2 < n; j++)
					if (words[j][0] && !strcmp(words[i], words[j]) && !strcmp(words[i + 1], words[j + 1])
							&& !strcmp(words[i + 2], words[j + 2])) {
						snprintf(why, len, "the phrase \"%.40s %.40s %.40s\" twice in one sentence", words[i],
								words[i + 1], words[i + 2]);
						return why;
					}
			}
			n = 0;
		}
		p = e;
	}
	for (int i = 0; i + 2 < n; i++) {
		if (!words[i][0] || !words[i + 1][0] || !words[i + 2][0])
			continue;
		for (int j = i + 1; j + 2 < n; j++)
			if (words[j][0] && !strcmp(words[i], words[j]) && !strcmp(words[i + 1], words[j + 1])
					&& !strcmp(words[i + 2], words[j + 2])) {
				snprintf(why, len, "the phrase \"%.40s %.40s %.40s\" twice in one sentence", words[i], words[i + 1], words[i + 2]);
				return why;
			}
	}
	return NULL;
}

/* An option named that the run did not use: in a summary or why, any;
 * in a fix, one it tells to drop or remove. "is given with --capath"
 * (saying which option is meant for a directory) is a pointer, not a
 * claim about the run. */
static const char *unused_option(const char *text, bool is_fix, const struct used *u, char *why, size_t len)
{
	for (const char *p = strstr(text, "--"); p; p = strstr(p + 2, "--")) {
		if (p > text && p[-1] != ' ' && p[-1] != '(' && p[-1] != '/' && p[-1] != '\'')
			continue;
		char opt[32];
		size_t k = 0;
		while (k + 1 < sizeof(opt) && (isalnum((unsigned char)p[k]) || p[k] == '-'))
			opt[k] = p[k], k++;
		opt[k] = '\0';
		if (k <= 2 || was_used(u, opt))
			continue;
		bool pointer = (p - text >= 11 && !strncmp(p - 11, "given with ", 11));
		if (is_fix) {
			/* "drop --cafile", "remove --tls-alpn", "drop --cafile and --cert" */
			const char *start = p;
			while (start > text && start[-1] != ',' && start[-1] != ';' && start[-1] != ':')
				start--;
			char clause[256];
			snprintf(clause, sizeof(clause), "%.*s", (int)(p - start), start);
			if (!strstr(clause, "drop ") && !strstr(clause, "remove "))
				continue;
		} else if (pointer) {
			continue;
		}
		snprintf(why, len, "names %s, which the run did not use", opt);
		return why;
	}
	return NULL;
}

static const char *lint(const char *text, bool is_fix, const struct used *u, char *why, size_t len)
{
	static const char *marks[] = {"()", "''", "\"\"", " ,", " .", " ;", "(null)", ", ,", ",.", ", )", "( ",
		": ,", ": .", "::", "..", ",,"};
	if (!text || !*text)
		return "empty";
	if (strstr(text, "  "))
		return "two spaces";
	if (text[0] == ' ' || text[strlen(text) - 1] == ' ')
		return "a space at an end";
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		for (const char *m = strstr(text, marks[i]); m; m = strstr(m + 1, marks[i])) {
			if (i == 0 && m > text && isalnum((unsigned char)m[-1]))
				continue; /* connect(): a function */
			if (!strncmp(m, " ...", 4) || (m > text && !strncmp(m - 1, "...", 3)) || !strncmp(m, "...", 3))
				continue; /* an ellipsis in a command line */
			snprintf(why, len, "the mark of an empty value: \"%s\"", marks[i]);
			return why;
		}
	for (const char *p = strchr(text, '{'); p; p = strchr(p + 1, '{')) {
		const char *q = p + 1;
		while (*q == '_' || islower((unsigned char)*q))
			q++;
		if (q > p + 1 && *q == '}')
			return "an unexpanded {slot}";
	}
	/* dangling conjunctions */
	static const char *const conj[] = {"and", "or"};
	for (size_t c = 0; c < 2; c++) {
		size_t n = strlen(conj[c]);
		for (const char *p = text; (p = strstr(p, conj[c])); p += n) {
			bool word_start = p == text || p[-1] == ' ';
			if (!word_start || isalpha((unsigned char)p[n]))
				continue;
			const char *after = p + n;
			if (*after == '\0' || strchr(",.;:)", *after) || !strncmp(after, " and ", 5) || !strncmp(after, " or ", 4)
					|| p == text) {
				snprintf(why, len, "a dangling \"%s\"", conj[c]);
				return why;
			}
		}
	}
	const char *d = doubled(text, why, len);
	if (d)
		return d;
	return unused_option(text, is_fix, u, why, len);
}

/* A sentence that names a line of the broker's log: allowed only for the
 * alert this client sent (alert_sent >= 0), as 'tlsv1 alert <name>'. */
static const char *log_claim(const char *text, int alert_sent, char *why, size_t len)
{
	static const char *const lines[] = {"tlsv1 alert", "certificate verify failed", "unknown ca'", "Client <unknown>",
		"disconnected: Protocol error"};
	static const char *const log_words[] = {"logs ", "logged ", "log line", "log says", "日志记录", "日志中记录", "日志会记录", "日志显示"};
	char allowed[128] = "";
	if (alert_sent >= 0) {
		snprintf(allowed, sizeof(allowed), "tlsv1 alert %s'", tls_alert_name(alert_sent));
		for (char *p = allowed; *p; p++)
			if (*p == '_')
				*p = ' ';
	}
	if (!text)
		return NULL;
	/* the allowed line, where it is named, is taken out first */
	char buf[8192];
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *a = allowed[0] ? strstr(buf, allowed) : NULL; a; a = strstr(a, allowed))
		memset(a, '#', strlen(allowed));
	text = buf;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const char *m = strstr(text, lines[i]);
		if (m) {
			snprintf(why, len, "names the broker log line \"%s\", which the evidence does not show", lines[i]);
			return why;
		}
	}
	for (size_t i = 0; i < sizeof(log_words) / sizeof(log_words[0]); i++) {
		for (const char *m = strstr(text, log_words[i]); m; m = strstr(m + 1, log_words[i])) {
			const char *q = m + strlen(log_words[i]);
			while (*q == ' ' || !strncmp(q, "as ", 3))
				q += *q == ' ' ? 1 : 3;
			bool quoted = *q == '\'' || *q == '"' || !strncmp(q, "\xe2\x80\x9c", 3) || !strncmp(q, "\xe2\x80\x98", 3);
			if (quoted && q[1] != '#') {
				snprintf(why, len, "names a broker log line after \"%s\", which the evidence does not show", log_words[i]);
				return why;
			}
		}
	}
	return NULL;
}

/* In a translation: a space between two Chinese characters (a template's
 * space around a slot filled with a Chinese phrase). */
static const char *wide_space(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; p && *p; p++) {
		if (*p != ' ' || p - (const unsigned char *)text < 3)
			continue;
		const unsigned char *a = p - 3, *b = p + 1;
		if ((a[0] & 0xf0) == 0xe0 && a[0] >= 0xe2 && (b[0] & 0xf0) == 0xe0 && b[0] >= 0xe2
				&& (a[0] > 0xe2 || a[1] >= 0xba) && (b[0] > 0xe2 || b[1] >= 0xba))
			return "a space between two Chinese characters";
	}
	return NULL;
}

static bool check_report_ev(const struct report *r, const struct config *cfg, const char *what, int alert_sent);

static bool check_report(const struct report *r, const struct config *cfg, const char *what)
{
	return check_report_ev(r, cfg, what, -1);
}

static bool check_report_ev(const struct report *r, const struct config *cfg, const char *what, int alert_sent)
{
	struct used u;
	used_of(cfg, &u);
	bool ok = true;
	if (r->empty_slot) {
		fprintf(stderr, "%s: slot {%s} was empty\n", what, r->empty_slot);
		ok = false;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct finding *f = &r->v[i];
		if (f->sev == SEV_PASS)
			continue;
		rendered[f->cause] = true;
		renders++;
		const char *parts[6] = {f->summary, f->why, f->fix, f->lsummary, f->lwhy, f->lfix};
		static const char *names[6] = {"summary", "why", "fix", "local summary", "local why", "local fix"};
		for (int k = 0; k < 6; k++) {
			char why[256];
			const char *bad = log_claim(parts[k], alert_sent, why, sizeof(why));
			if (!bad && k < 3)
				bad = lint(parts[k], k == 2, &u, why, sizeof(why));
			if (!bad && k >= 3)
				bad = wide_space(parts[k]);
			if (bad) {
				fprintf(stderr, "%s: %s of %s: %s:\n    %s\n", what, names[k], cause_info(f->cause)->id, bad,
						parts[k] ? parts[k] : "(null)");
				ok = false;
			}
		}
	}
	return ok;
}

/* ---- the lint itself, on known bad text ------------------------------------ */

static void test_lint_catches(void **state)
{
	(void)state;
	struct used u;
	struct config cfg;
	cfg_init(&cfg, TOOL_PUB);
	cfg.tls_use_os_certs = true;
	used_of(&cfg, &u);
	char why[256];
	static const char *bad[] = {
		"OpenSSL found no path from it to a CA in --cafile the system CA store, which holds the system's CA store",
		"the broker does not accept the username '' with this password",
		"the broker sent only  X",
		"check -u or",
		"give the key and and the certificate",
		"the the broker",
		"use the TLS port, or drop --psk to connect without TLS",
		"valid for ()",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool is_fix = strstr(bad[i], "drop") != NULL;
		if (!lint(bad[i], is_fix, &u, why, sizeof(why))) {
			fprintf(stderr, "lint passed: %s\n", bad[i]);
			fail();
		}
	}
	static const char *good[] = {
		"OpenSSL found no path from it to a CA in the system's CA store (--tls-use-os-certs)",
		"check the path given to --cafile; it must be a file this user can read",
		"the certificate CN=localhost is valid for DNS:localhost, IP:127.0.0.1, not 127.0.0.2",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		bool is_fix = strstr(good[i], "check the path") != NULL;
		const char *b = lint(good[i], is_fix, &u, why, sizeof(why));
		if (b) {
			fprintf(stderr, "lint failed (%s): %s\n", b, good[i]);
			fail();
		}
	}
	cfg_free(&cfg);
}

/* A log line is named only for the alert this client sent. */
static void test_log_claims(void **state)
{
	(void)state;
	char why[256];
	static const char *bad[] = {
		"OpenSSL takes it for self-signed and rejects it (the broker logs 'tlsv1 alert unknown ca')",
		"the broker rejects it with 'unknown ca'",
		"服务端日志记录 'tlsv1 alert unknown ca'",
		"the broker logs \"certificate verify failed\"",
	};
	for (size_t i = 0; i < NOF_(bad); i++)
		if (!log_claim(bad[i], -1, why, sizeof(why))) {
			fprintf(stderr, "log rule passed: %s\n", bad[i]);
			fail();
		}
	/* an alert this client sent, as the broker logs it */
	if (log_claim("this client ended the handshake with alert unknown_ca (48), which mosquitto logs as 'tlsv1 alert unknown ca'",
			SSL_AD_UNKNOWN_CA, why, sizeof(why)))
		fail();
	if (!log_claim("which mosquitto logs as 'tlsv1 alert bad certificate'", SSL_AD_UNKNOWN_CA, why, sizeof(why)))
		fail();
}

/* ---- the wire: diagnose() ---------------------------------------------------- */

/* The dimensions a row of evidence varies. */
enum dim {
	D_TRUST = 1, D_CHAIN = 2, D_HOST = 4, D_CERT = 8, D_CRED = 16, D_PROTO = 32, D_PSK = 64, D_CIPHER = 128,
	D_ALPN = 256, D_VERSION = 512, D_PORT = 1024,
};

struct wire_row {
	const char *name;
	const char *want;
	void (*set)(struct evidence *);
	unsigned dims;
};

#define EV(n, body) static void ev_##n(struct evidence *e) { body; }
#define TLS_ e->used_tls = true; e->client_hello_sent = true
EV(dns, e->stage = STAGE_RESOLVE; e->eai = -2)
EV(refused, e->stage = STAGE_TCP; e->sys_errno = 111)
EV(tcp_timeout, e->stage = STAGE_TCP; e->timed_out = true; e->sys_errno = 4)
EV(unreach, e->stage = STAGE_TCP; e->sys_errno = 101)
EV(untrusted, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->verify_error = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY; e->verify_depth = 1)
EV(untrusted0, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->verify_error = X509_V_ERR_CERT_SIGNATURE_FAILURE; e->verify_depth = 0)
EV(selfsigned, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->verify_error = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
EV(samename, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->verify_error = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT; e->leaf_self_issued = true)
EV(samename_alert, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->verify_error = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT; e->leaf_self_issued = true; e->alert_sent = SSL_AD_UNKNOWN_CA)
EV(incomplete, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->verify_error = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY; e->verify_depth = 0)
EV(hostname, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->verify_error = X509_V_ERR_HOSTNAME_MISMATCH; e->hostname_mismatch = true)
EV(expired, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->verify_error = X509_V_ERR_CERT_HAS_EXPIRED)
EV(notyet, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->verify_error = X509_V_ERR_CERT_NOT_YET_VALID)
EV(purpose, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->verify_error = X509_V_ERR_INVALID_PURPOSE)
EV(weak, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->verify_error = X509_V_ERR_EE_KEY_TOO_SMALL)
EV(cert_required13, e->stage = STAGE_MQTT; TLS_; e->server_hello_seen = true; e->handshake_done = true; e->alert_received = SSL_AD_CERTIFICATE_REQUIRED)
EV(cert_required12, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->alert_received = SSL_AD_HANDSHAKE_FAILURE)
EV(unknown_ca, e->stage = STAGE_MQTT; TLS_; e->server_hello_seen = true; e->handshake_done = true; e->sent_client_cert = true; e->alert_received = SSL_AD_UNKNOWN_CA)
EV(revoked, e->stage = STAGE_MQTT; TLS_; e->server_hello_seen = true; e->sent_client_cert = true; e->alert_received = SSL_AD_CERTIFICATE_REVOKED)
EV(bad_cert, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->sent_client_cert = true; e->alert_received = SSL_AD_BAD_CERTIFICATE)
EV(cert_expired_alert, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->sent_client_cert = true; e->alert_received = SSL_AD_CERTIFICATE_EXPIRED)
EV(version_alert, e->stage = STAGE_TLS; TLS_; e->alert_received = SSL_AD_PROTOCOL_VERSION)
EV(version_probe, e->stage = STAGE_TLS; TLS_; e->ssl_reason = SSL_R_UNSUPPORTED_PROTOCOL; e->broker_versions = 1u << (TLS1_VERSION & 0xf); e->requested_min = TLS1_2_VERSION)
EV(version_both, e->stage = STAGE_TLS; TLS_; e->ssl_reason = SSL_R_UNSUPPORTED_PROTOCOL; e->broker_versions = 1u << (TLS1_2_VERSION & 0xf); e->requested_min = TLS1_2_VERSION; e->attempts = 2)
EV(fallback, e->stage = STAGE_TLS; TLS_; e->fallback_scsv = true; e->alert_received = SSL_AD_INAPPROPRIATE_FALLBACK)
EV(no_cipher, e->stage = STAGE_TLS; TLS_; e->sent_client_cert = true; e->alert_received = SSL_AD_HANDSHAKE_FAILURE)
EV(psk, e->stage = STAGE_TLS; TLS_; e->used_psk = true; e->alert_received = SSL_AD_DECRYPT_ERROR)
EV(alpn, e->stage = STAGE_TLS; TLS_; e->alert_received = SSL_AD_NO_APPLICATION_PROTOCOL)
EV(renego, e->stage = STAGE_TLS; TLS_; e->ssl_reason = SSL_R_UNSAFE_LEGACY_RENEGOTIATION_DISABLED)
EV(tls_plain, e->stage = STAGE_TLS; TLS_; e->peer_closed = true)
EV(tls_plain_bytes, e->stage = STAGE_TLS; TLS_; e->ssl_reason = SSL_R_WRONG_VERSION_NUMBER; e->non_tls_reply = true)
EV(plain_tls, e->stage = STAGE_MQTT; e->probe_tls_answered = true)
EV(plain_tls_record, e->stage = STAGE_MQTT; e->reply[0] = 0x15; e->reply[1] = 0x03; e->reply[2] = 0x03; e->reply_len = 3)
EV(hs_timeout, e->stage = STAGE_TLS; TLS_; e->timed_out = true)
EV(hs_timeout_sh, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->timed_out = true)
EV(hs_timeout_done, e->stage = STAGE_MQTT; TLS_; e->server_hello_seen = true; e->handshake_done = true; e->timed_out = true)
EV(mqtt_timeout, e->stage = STAGE_MQTT; e->timed_out = true)
EV(too_large, e->stage = STAGE_TLS; TLS_; e->server_hello_seen = true; e->alert_sent = SSL_AD_ILLEGAL_PARAMETER; e->ssl_reason = SSL_R_EXCESSIVE_MESSAGE_SIZE)
EV(tls_garbage, e->stage = STAGE_TLS; TLS_; e->alert_sent = SSL_AD_UNEXPECTED_MESSAGE; e->ssl_reason = SSL_R_UNEXPECTED_MESSAGE)
EV(unclassified, e->stage = STAGE_TLS; TLS_; e->ssl_reason = 9999)
EV(auth, e->stage = STAGE_MQTT; e->connack = 5)
EV(auth4, e->stage = STAGE_MQTT; e->connack = 4)
EV(auth135, e->stage = STAGE_MQTT; e->connack = 135)
EV(proto, e->stage = STAGE_MQTT; e->connack = 1)
EV(ident, e->stage = STAGE_MQTT; e->connack = 2)
EV(unavail, e->stage = STAGE_MQTT; e->connack = 3)
EV(refused_other, e->stage = STAGE_MQTT; e->connack = 151)
EV(refused_unknown, e->stage = STAGE_MQTT; e->connack = 250)
EV(closed, e->stage = STAGE_MQTT)
EV(sni, e->stage = STAGE_TLS; TLS_; e->alert_received = SSL_AD_UNRECOGNIZED_NAME)
EV(cert_required_notify, e->stage = STAGE_MQTT; TLS_; e->server_hello_seen = true; e->handshake_done = true; e->cert_requested = true; e->alert_received = SSL_AD_CLOSE_NOTIFY)
EV(closed_tls, e->stage = STAGE_MQTT; TLS_; e->server_hello_seen = true; e->handshake_done = true)
EV(closed_notify, e->stage = STAGE_MQTT; TLS_; e->server_hello_seen = true; e->handshake_done = true; e->alert_received = SSL_AD_CLOSE_NOTIFY)
EV(mqtt_http, e->stage = STAGE_MQTT; memcpy(e->reply, "HTTP/1.1", 8); e->reply_len = 8)
EV(mqtt_long, e->stage = STAGE_MQTT; e->reply[0] = 0x20; e->reply[1] = 0xff; e->reply[2] = 0xff; e->reply[3] = 0x7f; e->reply_len = 4)
EV(mqtt_long_tls, e->stage = STAGE_MQTT; e->used_tls = true; e->handshake_done = true; memcpy(e->reply, "\x20\xff\xff\xff\x7f", 5); e->reply_len = 5)
EV(auth_long, e->stage = STAGE_MQTT; memcpy(e->reply, "\xf0\x81\x80\x80\x01", 5); e->reply_len = 5)
/* after the CONNACK, refused by the packet gate (pktgate.h: 1 maximum-packet-size, 2 memory, 3 RLIMIT_AS, 4 RLIMIT_DATA, 5 default) */
EV(gate_suback, e->stage = STAGE_MQTT; e->connack = 0; e->gate_refused = true; e->gate_announced = 268435455; e->gate_type = 0x90; e->gate_limit = 1048576; e->gate_source = 2)
EV(gate_pingresp_tls, e->stage = STAGE_MQTT; e->connack = 0; e->gate_refused = true; e->gate_announced = 268435455; e->used_tls = true; e->handshake_done = true; e->gate_type = 0xd0; e->gate_limit = 1048576; e->gate_source = 2)
EV(gate_publish_max, e->stage = STAGE_MQTT; e->connack = 0; e->gate_refused = true; e->gate_announced = 268435455; e->gate_type = 0x30; e->gate_limit = 10000000; e->gate_source = 1)
EV(gate_publish_mem, e->stage = STAGE_MQTT; e->connack = 0; e->gate_refused = true; e->gate_announced = 268435455; e->gate_type = 0x32; e->gate_limit = 200000000; e->gate_source = 2)
EV(gate_publish_as, e->stage = STAGE_MQTT; e->connack = 0; e->gate_refused = true; e->gate_announced = 268435455; e->gate_type = 0x30; e->gate_limit = 200000000; e->gate_source = 3)
EV(gate_publish_data, e->stage = STAGE_MQTT; e->connack = 0; e->gate_refused = true; e->gate_announced = 268435455; e->gate_type = 0x30; e->gate_limit = 200000000; e->gate_source = 4)
EV(gate_publish_default, e->stage = STAGE_MQTT; e->connack = 0; e->gate_refused = true; e->gate_announced = 268435455; e->gate_type = 0x30; e->gate_limit = 67108864; e->gate_source = 5)
EV(gate_unknown, e->stage = STAGE_MQTT; e->connack = 0; e->gate_refused = true; e->gate_announced = 268435455; e->gate_type = -1; e->gate_limit = 200000000; e->gate_source = 2)
EV(mqtt_half, e->stage = STAGE_MQTT; e->reply[0] = 0x20; e->reply_len = 1; e->mqtt_rc = MOSQ_ERR_CONN_LOST)
EV(mqtt_stalled, e->stage = STAGE_MQTT; e->timed_out = true; e->reply[0] = 0x20; e->reply[1] = 0x02; e->reply_len = 2)
EV(mqtt_http_reply, e->stage = STAGE_MQTT; memcpy(e->reply, "HTTP/1.0 403 For", 16); e->reply_len = 16)
EV(mqtt_http_probe, e->stage = STAGE_MQTT; e->timed_out = true; strcpy(e->probe_http, "HTTP/1.0 404 File not found"))
EV(mqtt_http_tls, e->stage = STAGE_MQTT; TLS_; e->server_hello_seen = true; e->handshake_done = true; memcpy(e->reply, "HTTP/1.0 403 For", 16); e->reply_len = 16)
EV(mqtt_https_probe, e->stage = STAGE_MQTT; TLS_; e->server_hello_seen = true; e->handshake_done = true; strcpy(e->probe_http, "HTTP/1.1 101 Switching Protocols"))
EV(mqtt_http_closed, e->stage = STAGE_MQTT; strcpy(e->probe_http, "HTTP/1.1 101 Switching Protocols"))
EV(tls_http, e->stage = STAGE_TLS; TLS_; e->ssl_reason = SSL_R_WRONG_VERSION_NUMBER; e->non_tls_reply = true; strcpy(e->probe_http, "HTTP/1.1 101 Switching Protocols"))
EV(mqtt_badlen, e->stage = STAGE_MQTT; memcpy(e->reply, "\x20\xff\xff\xff\xff\x01", 6); e->reply_len = 6)
#define WS_ e->ws = true; strcpy(e->ws_path, "/mqtt")
#define WS_STATUS(code, why) WS_; e->stage = STAGE_WS; e->ws_upgrade = WS_HEAD_STATUS; e->http_status = code; strcpy(e->http_reason, why)
EV(ws_404, WS_STATUS(404, "Not Found"))
EV(ws_404_plain, WS_STATUS(404, "File not found"); strcpy(e->http_server, "SimpleHTTP/0.6 Python/3.11.2"))
EV(ws_404_other, WS_STATUS(404, "Not Found"); strcpy(e->ws_path, "/ws"); strcpy(e->http_server, "nginx"))
EV(ws_401, WS_STATUS(401, "Unauthorized"))
EV(ws_403_bare, WS_STATUS(403, ""))
EV(ws_302_https, WS_STATUS(302, "Found"); strcpy(e->http_location, "https://broker.example/mqtt"))
EV(ws_301, WS_STATUS(301, "Moved Permanently"); strcpy(e->http_location, "http://broker.example:9001/ws"))
EV(ws_200, WS_STATUS(200, "OK"))
EV(ws_500, WS_STATUS(500, "Internal Server Error"))
EV(ws_noupgrade, WS_; e->stage = STAGE_WS; e->ws_upgrade = WS_HEAD_NO_UPGRADE; e->http_status = 101; strcpy(e->http_reason, "Switching Protocols"))
EV(ws_nosub, WS_; e->stage = STAGE_WS; e->ws_upgrade = WS_HEAD_NO_SUBPROTOCOL; e->http_status = 101)
EV(ws_wrongsub, WS_; e->stage = STAGE_WS; e->ws_upgrade = WS_HEAD_WRONG_SUBPROTOCOL; e->http_status = 101; strcpy(e->ws_subprotocol, "chat"))
EV(ws_accept, WS_; e->stage = STAGE_WS; e->ws_upgrade = WS_HEAD_BAD_ACCEPT; e->http_status = 101)
EV(ws_connack, WS_; e->stage = STAGE_WS; e->ws_upgrade = WS_HEAD_NOT_HTTP; memcpy(e->ws_first, "\x20\x02\x00\x05", 4); e->ws_first_len = 4)
EV(ws_garbage, WS_; e->stage = STAGE_WS; e->ws_upgrade = WS_HEAD_NOT_HTTP; memcpy(e->ws_first, "\xde\xad", 2); e->ws_first_len = 2)
EV(ws_eof_mqtt, WS_; e->stage = STAGE_WS; e->probe_mqtt_answered = true)
EV(ws_eof, WS_; e->stage = STAGE_WS)
EV(ws_tls_bytes, WS_; e->stage = STAGE_WS; e->ws_upgrade = WS_HEAD_NOT_HTTP; memcpy(e->ws_first, "\x15\x03\x01\x00\x02", 5); e->ws_first_len = 5)
EV(ws_tls_probe, WS_; e->stage = STAGE_WS; e->probe_tls_answered = true)
EV(ws_close_policy, WS_; e->stage = STAGE_MQTT; e->ws_open = true; e->ws_close_code = 1008; strcpy(e->ws_close_reason, "not allowed"))
EV(ws_close_big, WS_; e->stage = STAGE_MQTT; e->ws_open = true; e->ws_close_code = 1009)
EV(ws_close_away, WS_; e->stage = STAGE_MQTT; TLS_; e->handshake_done = true; e->ws_open = true; e->ws_close_code = 1001)
EV(ws_masked, WS_; e->stage = STAGE_MQTT; e->ws_open = true; e->ws_error = WS_ERR_MASKED; e->ws_error_text = ws_error_text(WS_ERR_MASKED))
EV(ws_huge, WS_; e->stage = STAGE_MQTT; e->ws_open = true; e->ws_error = WS_ERR_TOO_BIG; e->ws_error_text = ws_error_text(WS_ERR_TOO_BIG))
EV(ws_head_big, WS_; e->stage = STAGE_WS; e->ws_upgrade = WS_HEAD_TOO_LARGE)
#define PX_ e->stage = STAGE_TCP; e->proxy_first_len = 4; memcpy(e->proxy_first, "\x05\x02\x01\x01", 4)
EV(px_auth, PX_; e->proxy_result = SOCKS_AUTH_REFUSED)
EV(px_method, PX_; e->proxy_result = SOCKS_METHOD_REFUSED)
EV(px_rep2, PX_; e->proxy_result = SOCKS_TARGET_REFUSED; e->proxy_rep = 2)
EV(px_rep3, PX_; e->proxy_result = SOCKS_TARGET_REFUSED; e->proxy_rep = 3)
EV(px_rep5, PX_; e->proxy_result = SOCKS_TARGET_REFUSED; e->proxy_rep = 5)
EV(px_rep7, PX_; e->proxy_result = SOCKS_TARGET_REFUSED; e->proxy_rep = 7)
EV(px_silent, e->stage = STAGE_TCP; e->timed_out = true; e->proxy_result = SOCKS_NO_ANSWER)
EV(px_http, e->stage = STAGE_TCP; e->proxy_result = SOCKS_NOT_SOCKS; e->proxy_first_len = 4; memcpy(e->proxy_first, "HTTP", 4))
EV(px_closed, e->stage = STAGE_TCP; e->proxy_result = SOCKS_CLOSED)
EV(px_ws, WS_; e->stage = STAGE_TCP; e->proxy_result = SOCKS_TARGET_REFUSED; e->proxy_rep = 4)
EV(ws_ext, WS_; e->stage = STAGE_WS; e->ws_upgrade = WS_HEAD_EXTENSION; e->http_status = 101; strcpy(e->ws_subprotocol, "mqtt");
	strcpy(e->ws_extensions, "permessage-deflate"))
EV(ws_timeout, WS_; e->stage = STAGE_WS; e->timed_out = true)
EV(ws_timeout_tls, WS_; e->stage = STAGE_WS; TLS_; e->handshake_done = true; e->timed_out = true)

#define VERIFY (D_TRUST | D_CHAIN | D_HOST | D_CERT)
#define W(n, id, dims) {#n, id, ev_##n, dims}
static const struct wire_row wire_rows[] = {
	W(dns, "dns-failure", D_HOST),
	W(refused, "connection-refused", D_HOST | D_PORT),
	W(tcp_timeout, "connect-timeout", D_HOST | D_PORT),
	W(unreach, "network-unreachable", D_HOST),
	W(untrusted, "server-cert-untrusted", VERIFY),
	W(untrusted0, "server-cert-untrusted", VERIFY),
	W(selfsigned, "server-cert-self-signed", VERIFY),
	W(samename, "server-cert-self-signed", VERIFY),
	W(samename_alert, "server-cert-self-signed", VERIFY),
	W(incomplete, "server-chain-incomplete", VERIFY),
	W(hostname, "hostname-mismatch", VERIFY),
	W(expired, "server-cert-expired", VERIFY),
	W(notyet, "server-cert-not-yet-valid", VERIFY),
	W(purpose, "server-cert-wrong-purpose", VERIFY),
	W(weak, "weak-crypto", VERIFY),
	W(cert_required13, "client-cert-required", D_TRUST | D_CHAIN),
	W(cert_required12, "client-cert-required", D_TRUST | D_CHAIN),
	W(unknown_ca, "client-cert-unknown-ca", D_TRUST | D_CERT),
	W(revoked, "client-cert-rejected", D_TRUST | D_CERT),
	W(bad_cert, "client-cert-rejected", D_TRUST | D_CERT),
	W(cert_expired_alert, "client-cert-rejected", D_TRUST | D_CERT),
	W(version_alert, "protocol-version-mismatch", D_TRUST | D_VERSION),
	W(version_probe, "protocol-version-mismatch", D_TRUST | D_VERSION),
	W(version_both, "protocol-version-mismatch", D_TRUST | D_VERSION | D_CIPHER),
	W(fallback, "inappropriate-fallback", D_TRUST | D_VERSION),
	W(no_cipher, "no-shared-cipher", D_TRUST | D_CIPHER | D_CERT),
	W(psk, "psk-mismatch", D_PSK),
	W(alpn, "alpn-mismatch", D_TRUST | D_ALPN),
	W(renego, "legacy-renegotiation", D_TRUST),
	W(tls_plain, "tls-to-plain-port", D_TRUST | D_CERT | D_PSK | D_PORT),
	W(tls_plain_bytes, "tls-to-plain-port", D_TRUST | D_CERT | D_PSK | D_PORT),
	W(plain_tls, "plain-to-tls-port", D_HOST | D_PORT),
	W(plain_tls_record, "plain-to-tls-port", D_HOST | D_PORT),
	W(hs_timeout, "handshake-timeout", D_TRUST | D_HOST | D_PORT),
	W(hs_timeout_sh, "handshake-timeout", D_TRUST | D_HOST),
	W(hs_timeout_done, "handshake-timeout", D_TRUST | D_HOST),
	W(mqtt_timeout, "handshake-timeout", D_HOST | D_PORT),
	W(too_large, "tls-message-too-large", D_TRUST | D_HOST),
	W(tls_garbage, "tls-protocol-error", D_TRUST | D_HOST),
	W(unclassified, "tls-unclassified", D_TRUST),
	W(auth, "mqtt-auth-failed", D_CRED | D_PROTO),
	W(auth4, "mqtt-auth-failed", D_CRED | D_PROTO),
	W(auth135, "mqtt-auth-failed", D_CRED | D_PROTO),
	W(proto, "mqtt-protocol-rejected", D_PROTO),
	W(ident, "mqtt-identifier-rejected", D_PROTO | D_CRED),
	W(unavail, "mqtt-server-unavailable", D_PROTO),
	W(refused_other, "mqtt-refused", D_PROTO),
	W(refused_unknown, "mqtt-refused", D_PROTO),
	W(closed, "broker-closed", D_HOST | D_PORT),
	W(sni, "sni-rejected", D_TRUST | D_HOST | D_CERT),
	W(cert_required_notify, "client-cert-required", D_TRUST | D_HOST),
	W(closed_tls, "broker-closed", D_TRUST | D_HOST),
	W(closed_notify, "broker-closed", D_TRUST | D_HOST | D_CERT),
	W(mqtt_http, "mqtt-to-http-port", D_HOST | D_PORT),
	W(mqtt_long, "mqtt-packet-too-large", D_HOST),
	W(mqtt_long_tls, "mqtt-packet-too-large", D_HOST | D_TRUST),
	W(auth_long, "mqtt-packet-too-large", D_HOST),
	W(gate_suback, "mqtt-control-packet-too-large", D_HOST),
	W(gate_pingresp_tls, "mqtt-control-packet-too-large", D_HOST | D_TRUST),
	W(gate_publish_max, "mqtt-message-too-large", D_HOST | D_PROTO),
	W(gate_publish_mem, "mqtt-message-too-large", D_HOST | D_PROTO),
	W(gate_publish_as, "mqtt-message-too-large", D_HOST | D_PROTO),
	W(gate_publish_data, "mqtt-message-too-large", D_HOST | D_PROTO),
	W(gate_publish_default, "mqtt-message-too-large", D_HOST | D_PROTO),
	W(gate_unknown, "mqtt-message-too-large", D_HOST | D_PROTO),
	W(mqtt_half, "mqtt-protocol-error", D_HOST),
	W(mqtt_stalled, "mqtt-protocol-error", D_HOST),
	W(mqtt_badlen, "mqtt-protocol-error", D_HOST),
	W(mqtt_http_reply, "mqtt-to-http-port", D_HOST | D_PORT),
	W(mqtt_http_probe, "mqtt-to-http-port", D_HOST | D_PORT),
	W(mqtt_http_closed, "mqtt-to-http-port", D_HOST),
	W(mqtt_http_tls, "mqtt-to-http-port", D_HOST | D_TRUST),
	W(mqtt_https_probe, "mqtt-to-http-port", D_HOST | D_TRUST),
	W(tls_http, "tls-to-plain-port", D_TRUST | D_CERT | D_PORT),
	W(ws_404_plain, "ws-path-not-found", D_HOST | D_PORT),
	W(ws_404_other, "ws-path-not-found", D_HOST),
	W(ws_404, "ws-path-not-found", D_HOST | D_PORT),
	W(ws_401, "ws-unauthorized", D_HOST | D_PORT),
	W(ws_403_bare, "ws-unauthorized", D_HOST),
	W(ws_302_https, "ws-redirect", D_HOST | D_TRUST),
	W(ws_301, "ws-redirect", D_HOST),
	W(ws_200, "ws-not-websocket", D_HOST | D_PORT),
	W(ws_500, "ws-not-websocket", D_HOST),
	W(ws_noupgrade, "ws-not-websocket", D_HOST),
	W(ws_nosub, "ws-no-subprotocol", D_HOST | D_PORT),
	W(ws_wrongsub, "ws-wrong-subprotocol", D_HOST),
	W(ws_accept, "ws-bad-accept", D_HOST | D_PORT),
	W(ws_connack, "ws-not-http", D_HOST | D_PORT),
	W(ws_garbage, "ws-not-http", D_HOST),
	W(ws_eof_mqtt, "ws-not-http", D_HOST),
	W(ws_eof, "ws-not-http", D_HOST | D_PORT),
	W(ws_tls_bytes, "ws-to-tls-port", D_HOST | D_PORT),
	W(ws_tls_probe, "ws-to-tls-port", D_HOST),
	W(ws_close_policy, "ws-closed", D_HOST | D_CRED),
	W(ws_close_big, "ws-closed", D_HOST),
	W(ws_close_away, "ws-closed", D_HOST | D_TRUST),
	W(ws_masked, "ws-protocol-error", D_HOST | D_PORT),
	W(ws_huge, "ws-protocol-error", D_HOST),
	W(ws_head_big, "ws-protocol-error", D_HOST),
	W(ws_ext, "ws-unrequested-extension", D_HOST | D_PORT),
	W(px_auth, "proxy-auth-refused", D_HOST | D_PORT),
	W(px_method, "proxy-auth-refused", D_HOST),
	W(px_rep2, "proxy-target-refused", D_HOST | D_PORT | D_CRED),
	W(px_rep3, "proxy-target-refused", D_HOST),
	W(px_rep5, "proxy-target-refused", D_HOST | D_PORT),
	W(px_rep7, "proxy-target-refused", D_HOST),
	W(px_silent, "proxy-no-answer", D_HOST | D_PORT),
	W(px_http, "proxy-not-socks", D_HOST),
	W(px_closed, "proxy-not-socks", D_HOST),
	W(px_ws, "proxy-target-refused", D_HOST),
	W(ws_timeout, "ws-upgrade-timeout", D_HOST | D_PORT),
	W(ws_timeout_tls, "ws-upgrade-timeout", D_HOST | D_TRUST),
};

/* the values of each dimension */
static const unsigned trust_sets[] = {0, 1, 2, 4, 1 | 2, 1 | 4, 2 | 4, 1 | 2 | 4}; /* cafile, capath, os */
static const char *const chains[] = {NULL, "good/server.crt", "ecdsa/server.crt", "samecn/server.crt",
	"intermediate/server-chain.crt", "selfsigned/server.crt", "wrongsan/server.crt"};
static const char *const hosts[] = {"127.0.0.1", "localhost", "broker.example", "/run/mosquitto.sock"};
static const char *const certs[][2] = {{NULL, NULL}, {"good/client.crt", "good/client.key"},
	{"ecdsa/client.crt", "ecdsa/client.key"}, {"samecn/client.crt", "samecn/client.key"}};
struct cred { const char *u, *p, *pf; };
static const struct cred creds[] = {{NULL, NULL, NULL}, {"bob", NULL, NULL}, {NULL, "pw", NULL}, {"bob", "pw", NULL},
	{"bob", "pw", "/etc/mqtt.pw"}};
static const int protos[] = {MQTT_PROTOCOL_V31, MQTT_PROTOCOL_V311, MQTT_PROTOCOL_V5};
static const char *const pskids[] = {NULL, "alice"};
static const char *const ciphers[] = {NULL, "ECDHE-RSA-AES256-GCM-SHA384"};
static const char *const alpns[] = {"mqtt", "x-mqtt"}; /* only an offered protocol draws the alert */
static const char *const versions[] = {NULL, "tlsv1.2", "tlsv1.3"};
static const int ports[] = {8883, 1883, 0};

#define NOF(a) (sizeof(a) / sizeof((a)[0]))

static STACK_OF(X509) *load_chain(const char *rel)
{
	STACK_OF(X509) *st = sk_X509_new_null();
	char *path = lab_path(rel);
	FILE *fp = fopen(path, "r");
	X509 *x;
	while (fp && (x = PEM_read_X509(fp, NULL, NULL, NULL)))
		sk_X509_push(st, x);
	if (fp)
		fclose(fp);
	ERR_clear_error();
	free(path);
	return st;
}

/* The names a broker certificate holds, as tls.c words them. */
static void names_of(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES *sans = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t u = 0;
	buf[0] = '\0';
	for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans) && u + 1 < len; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		if (g->type == GEN_DNS)
			u += (size_t)snprintf(buf + u, len - u, "%sDNS:%s", u ? ", " : "",
					(const char *)ASN1_STRING_get0_data(g->d.dNSName));
		else if (g->type == GEN_IPADD)
			u += (size_t)snprintf(buf + u, len - u, "%sIP:127.0.0.1", u ? ", " : "");
	}
	GENERAL_NAMES_free(sans);
	char cn[256];
	if (u + 1 < len && X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) > 0)
		snprintf(buf + u, len - u, "%sCN=%s", u ? ", " : "", cn);
}

static size_t idx(unsigned dims, unsigned d, size_t n)
{
	return (dims & d) ? n : 1;
}

static void test_wire_row(void **state)
{
	const struct wire_row *row = *state;
	unsigned d = row->dims;
	size_t nt = idx(d, D_TRUST, NOF(trust_sets)), nch = idx(d, D_CHAIN, NOF(chains)), nh = idx(d, D_HOST, NOF(hosts));
	size_t nc = idx(d, D_CERT, NOF(certs)), ncr = idx(d, D_CRED, NOF(creds)), np = idx(d, D_PROTO, NOF(protos));
	size_t nps = idx(d, D_PSK, NOF(pskids)), nci = idx(d, D_CIPHER, NOF(ciphers)), na = idx(d, D_ALPN, NOF(alpns));
	size_t nv = idx(d, D_VERSION, NOF(versions)), npo = idx(d, D_PORT, NOF(ports));
	bool ok = true;
	unsigned long n = 0;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	for (size_t it = 0; it < nt; it++)
	for (size_t ich = 0; ich < nch; ich++)
	for (size_t ih = 0; ih < nh; ih++)
	for (size_t ic = 0; ic < nc; ic++)
	for (size_t icr = 0; icr < ncr; icr++)
	for (size_t ip = 0; ip < np; ip++)
	for (size_t ips = 0; ips < nps; ips++)
	for (size_t ici = 0; ici < nci; ici++)
	for (size_t ia = 0; ia < na; ia++)
	for (size_t iv = 0; iv < nv; iv++)
	for (size_t ipo = 0; ipo < npo; ipo++) {
		struct config cfg;
		cfg_init(&cfg, TOOL_PUB);
		unsigned trust = (d & D_TRUST) ? trust_sets[it] : 1;
		/* a PSK run has no CA options unless the row varies them */
		if ((d & D_PSK) && !(d & D_TRUST))
			trust = 0;
		if (trust & 1)
			cfg.cafile = lab_path("good/ca.crt");
		if (trust & 2)
			cfg.capath = lab_path("good");
		cfg.tls_use_os_certs = (trust & 4) != 0;
		const char *host = (d & D_HOST) ? hosts[ih] : "127.0.0.1";
		int port = (d & D_PORT) ? ports[ipo] : 8883;
		if (port == 0 && host[0] != '/')
			host = "/run/mosquitto.sock";
		if (port != 0 && host[0] == '/')
			host = "localhost";
		cfg.host = strdup(host);
		cfg.port = port;
		if ((d & D_CERT) && certs[ic][0]) {
			cfg.certfile = lab_path(certs[ic][0]);
			cfg.keyfile = lab_path(certs[ic][1]);
		}
		if (d & D_CRED) {
			cfg.username = creds[icr].u ? strdup(creds[icr].u) : NULL;
			cfg.password = creds[icr].p ? strdup(creds[icr].p) : NULL;
			cfg.password_file = creds[icr].pf ? strdup(creds[icr].pf) : NULL;
		}
		cfg.protocol_version = (d & D_PROTO) ? protos[ip] : MQTT_PROTOCOL_V311;
		if (d & D_PSK) {
			cfg.psk = strdup("00112233445566778899aabbccddeeff");
			cfg.psk_identity = pskids[ips] ? strdup(pskids[ips]) : NULL;
		}
		if (d & D_CIPHER)
			cfg.ciphers = ciphers[ici] ? strdup(ciphers[ici]) : NULL;
		if (d & D_ALPN)
			cfg.tls_alpn = strdup(alpns[ia]);
		if (d & D_VERSION)
			cfg.tls_version = versions[iv] ? strdup(versions[iv]) : NULL;

		struct evidence ev;
		evidence_init(&ev);
		ev.protocol_version = cfg.protocol_version;
		row->set(&ev);
		cfg.ws = ev.ws; /* the run that saw it used --ws */
		if (ev.proxy_result) { /* the run went through a SOCKS5 proxy, with a login for some */
			bool login = ev.proxy_result == SOCKS_AUTH_REFUSED || (ev.proxy_rep == 2 && (d & D_CRED));
			cfg.socks5_host = strdup("proxy.lan");
			cfg.socks5_port = 1080;
			cfg.socks5_username = login ? strdup("alice") : NULL;
			cfg.proxy_url = strdup(login ? "socks5h://alice:pw@proxy.lan" : "socks5h://proxy.lan");
		}
		if (cfg.psk)
			ev.used_psk = ev.used_psk || ev.used_tls;
		enum cause got = classify(&ev);
		if (strcmp(cause_info(got)->id, row->want)) {
			fprintf(stderr, "the evidence classifies as %s, not %s\n", cause_info(got)->id, row->want);
			ok = false;
			cfg_free(&cfg);
			break;
		}
		struct tls t;
		memset(&t, 0, sizeof(t));
		t.ctx = ctx;
		t.cfg = &cfg;
		const char *chain = (d & D_CHAIN) ? chains[ich] : "good/server.crt";
		if (chain && ev.used_tls) {
			t.peer_chain = load_chain(chain);
			if (sk_X509_num(t.peer_chain) > 0)
				names_of(sk_X509_value(t.peer_chain, 0), t.cert_names, sizeof(t.cert_names));
		}
		struct report r;
		report_init(&r, cfg.host, port);
		diagnose(&ev, ev.used_tls ? &t : NULL, &cfg, 30, &r);
		char what[512];
		snprintf(what, sizeof(what), "%s [trust %u, chain %s, host %s, cert %s, cred %zu, proto %d, psk-id %s, ciphers %s, "
				"alpn %s, tls-version %s, port %d]", row->name, trust, chain ? chain : "none", host,
				certs[ic][0] ? certs[ic][0] : "none", icr, cfg.protocol_version, pskids[ips] ? pskids[ips] : "none",
				ciphers[ici] ? ciphers[ici] : "none", alpns[ia] ? alpns[ia] : "none",
				versions[iv] ? versions[iv] : "none", port);
		if (!check_report_ev(&r, &cfg, what, ev.alert_sent))
			ok = false;
		n++;
		report_free(&r);
		sk_X509_pop_free(t.peer_chain, X509_free);
		cfg_free(&cfg);
		if (!ok)
			goto out;
	}
out:
	SSL_CTX_free(ctx);
	if (n == 0)
		ok = false;
	assert_true(ok);
}

/* ---- the local checks: preflight_run() ------------------------------------- */

static const char *const pf_cafiles[] = {NULL, "good/ca.crt", "good/server.crt", "samecn/server.crt",
	"selfsigned/server.crt", "nope/ca.crt", "der/ca.der", "garbage/garbage.bin", "noca/ca.crt", "good",
	"good/client.key", "samecn/ca.crt", "weak/server.crt", "samecn-nokeyid/server.crt"};
static const char *const pf_capaths[] = {NULL, "good", "good/ca.crt"};
static const char *const pf_certs[] = {NULL, "good/client.crt", "ecdsa/client.crt", "expired/client.crt",
	"notyet/client.crt", "expiring/client.crt", "weak/client.crt", "sha1/client.crt", "servereku/client.crt", "samecn/client.crt",
	"der/client.der", "good/client.key", "other-ca/client.crt", "encrypted/client.crt", "samecn-nokeyid/client.crt"};
enum { K_MATCH, K_OTHER, K_ENCRYPTED, K_SWAPPED, K_NONE, K_COUNT };

static char *key_for(const char *cert, int k)
{
	if (k == K_NONE || !cert)
		return NULL;
	if (k == K_OTHER)
		return lab_path("other-ca/client.key");
	if (k == K_ENCRYPTED)
		return lab_path("encrypted/client.key");
	if (k == K_SWAPPED)
		return lab_path("good/client.crt");
	char rel[256];
	snprintf(rel, sizeof(rel), "%s", cert);
	char *dot = strrchr(rel, '.');
	if (dot && !strcmp(dot, ".crt"))
		strcpy(dot, ".key");
	else
		return lab_path("good/client.key");
	return lab_path(rel);
}

static void test_preflight_all(void **state)
{
	(void)state;
	bool ok = true;
	unsigned long n = 0;
	for (size_t ia = 0; ia < NOF(pf_cafiles); ia++)
	for (size_t ip = 0; ip < NOF(pf_capaths); ip++)
	for (int os = 0; os < 2; os++)
	for (size_t ic = 0; ic < NOF(pf_certs); ic++)
	for (int k = 0; k < K_COUNT; k++)
	for (int h = 0; h < 2; h++) {
		/* the less interesting dimensions only against the good CA */
		if ((ip || os) && ia > 1)
			continue;
		if (k != K_MATCH && ic > 2)
			continue;
		struct config cfg;
		cfg_init(&cfg, TOOL_PUB);
		cfg.cafile = pf_cafiles[ia] ? lab_path(pf_cafiles[ia]) : NULL;
		cfg.capath = pf_capaths[ip] ? lab_path(pf_capaths[ip]) : NULL;
		cfg.tls_use_os_certs = os;
		cfg.certfile = pf_certs[ic] ? lab_path(pf_certs[ic]) : NULL;
		cfg.keyfile = key_for(pf_certs[ic], k);
		cfg.host = strdup(h ? "localhost" : "127.0.0.1");
		if (!preflight_applies(&cfg)) {
			cfg_free(&cfg);
			continue;
		}
		struct report r;
		report_init(&r, cfg.host, 8883);
		preflight_run(&cfg, false, &r, NULL);
		char what[768];
		snprintf(what, sizeof(what), "preflight [cafile %s, capath %s, os %d, cert %s, key %d, host %s]",
				pf_cafiles[ia] ? pf_cafiles[ia] : "none", pf_capaths[ip] ? pf_capaths[ip] : "none", os,
				pf_certs[ic] ? pf_certs[ic] : "none", k, cfg.host);
		if (!check_report(&r, &cfg, what))
			ok = false;
		n++;
		report_free(&r);
		cfg_free(&cfg);
	}
	fprintf(stderr, "%lu preflight runs\n", n);
	assert_true(ok);
}

/* profile-error is printed from its slots: file, line, the problem. */
static void test_profile_error(void **state)
{
	(void)state;
	static const char *const details[] = {"unknown key 'cafiel'", "syntax error", "'port' must be an integer"};
	bool ok = true;
	for (size_t i = 0; i < NOF(details); i++) {
		struct config cfg;
		cfg_init(&cfg, TOOL_SUB);
		struct report r;
		report_init(&r, "broker.lan", 1883);
		struct slot s[] = {{"file", "/home/u/.config/smqtt/profiles.conf", NULL}, {"line", "12", NULL}, {"detail", details[i], NULL}};
		report_add(&r, CAUSE_PROFILE_ERROR, SEV_FATAL, s, 3);
		ok &= check_report(&r, &cfg, "profile-error");
		report_free(&r);
		cfg_free(&cfg);
	}
	assert_true(ok);
}

/* rr-no-response, through smqtt_rr's own builder: each step -W can stop
 * at, QoS 0 and 1, MQTT v5 and v3.1.1, with and without skipped answers. */
static void test_rr_no_response(void **state)
{
	(void)state;
	bool ok = true;
	for (int step = RR_STEP_CONNACK; step <= RR_STEP_ANSWER; step++)
		for (int qos = 0; qos <= 1; qos++)
			for (int v5 = 0; v5 <= 1; v5++)
				for (long skipped = 0; skipped <= 2; skipped += 1) {
					struct config cfg;
					cfg_init(&cfg, TOOL_RR);
					cfg_set_str(&cfg.host, "broker.lan");
					cfg_set_str(&cfg.topic, "svc/time");
					cfg_set_str(&cfg.response_topic, "reply/42");
					cfg.qos = qos;
					cfg.timeout = 5;
					cfg.protocol_version = v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311;
					struct rr_outcome o = {(enum rr_step)step, qos, skipped, 1883};
					struct report r;
					report_init(&r, cfg.host, 1883);
					rr_explain_timeout(&cfg, &o, &r);
					char what[128];
					snprintf(what, sizeof(what), "rr-no-response [step %d, qos %d, v5 %d, skipped %ld]", step, qos, v5, skipped);
					ok &= check_report(&r, &cfg, what);
					report_free(&r);
					cfg_free(&cfg);
				}
	assert_true(ok);
}

/* Runs last: every cause of the catalogue was rendered above. */
static void test_every_cause(void **state)
{
	(void)state;
	bool ok = true;
	for (int c = 0; c < CAUSE_COUNT; c++) {
		if (!rendered[c]) {
			fprintf(stderr, "cause %s was never rendered\n", cause_info((enum cause)c)->id);
			ok = false;
		}
	}
	fprintf(stderr, "%lu findings rendered and read\n", renders);
	assert_true(ok);
}

int main(void)
{
	struct test_list l = {0};
	/* every language: the catalogue of the build tree, when the locale exists */
	setenv("LC_ALL", "zh_CN.UTF-8", 1);
	setenv("LANGUAGE", "zh_CN", 1);
	l10n_init();
#ifdef SMQTT_TEST_LOCALEDIR
	bindtextdomain(SMQTT_TEXTDOMAIN, SMQTT_TEST_LOCALEDIR);
#endif
	fprintf(stderr, "texts read in English%s\n", l10n_active() ? " and zh_CN" : " only (no zh_CN.UTF-8 locale)");
	test_list_add(&l, "the lint catches known bad text", test_lint_catches, NULL);
	test_list_add(&l, "a broker log line only from the evidence", test_log_claims, NULL);
	for (size_t i = 0; i < NOF(wire_rows); i++)
		test_list_addf(&l, test_wire_row, (void *)&wire_rows[i], "wire: %s -> %s", wire_rows[i].name, wire_rows[i].want);
	test_list_add(&l, "preflight: every file combination", test_preflight_all, NULL);
	test_list_add(&l, "profile-error", test_profile_error, NULL);
	test_list_add(&l, "rr-no-response", test_rr_no_response, NULL);
	test_list_add(&l, "every cause of the catalogue was rendered", test_every_cause, NULL);
	int failed = _cmocka_run_group_tests("templates", l.t, l.n, lab_setup, lab_teardown);
	for (size_t i = 0; i < l.nnames; i++)
		free(l.names[i]);
	free(l.names);
	free(l.t);
	return failed;
}
