/* test_preflight: the local TLS material checks (common/preflight.c) over
 * the scenario lab (tests/lib/scenarios.sh), the cause catalogue and
 * explain_expand (common/explain.c), and the JSON form of a report
 * (common/report.c).
 *
 * The lab is generated into a temporary directory by a group setup; the
 * repository is found through $SMQTT_SOURCE_DIR, or from __FILE__.
 * Rows marked with a bug text describe the correct behaviour of a known,
 * bug that was found and then fixed; they always run (SMQTT_TEST_SKIP_FIXED_BUGS=1 skips them). */
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
#include <cjson/cJSON.h>

#include "explain.h"
#include "options.h"
#include "preflight.h"
#include "report.h"

/* ---- the scenario lab ---------------------------------------------------- */

static char tmpdir[512];
static char labdir[600];

static char *source_dir(void)
{
	const char *env = getenv("SMQTT_SOURCE_DIR");
	if (env && *env)
		return strdup(env);
	/* __FILE__ is .../tests/unit/test_preflight.c */
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

static void write_file(const char *rel, const char *text, size_t len)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", labdir, rel);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		abort();
	}
}

static char *slurp(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", labdir, rel);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* extra/<name>: the concatenation of lab files */
static void concat(const char *name, const char *a, const char *b)
{
	char *x = slurp(a), *y = slurp(b), rel[256];
	if (!x || !y)
		abort();
	char *both = NULL;
	if (asprintf(&both, "%s%s", x, y) < 0)
		abort();
	snprintf(rel, sizeof(rel), "extra/%s", name);
	write_file(rel, both, strlen(both));
	free(x);
	free(y);
	free(both);
}

static int lab_setup(void **state)
{
	(void)state;
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/smqtt-preflight-unit-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(labdir, sizeof(labdir), "%s/lab", tmpdir);
	char *src = source_dir();
	char script[1024];
	snprintf(script, sizeof(script), "%s/tests/lib/scenarios.sh", src);
	free(src);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("bash", "bash", script, labdir, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "scenarios.sh %s failed (status %d)\n", labdir, st);
		return -1;
	}
	char extra[700];
	snprintf(extra, sizeof(extra), "%s/extra", labdir);
	if (mkdir(extra, 0700) != 0)
		return -1;
	write_file("extra/empty.crt", "", 0);
	static const char other[] = "-----BEGIN X509 CRL-----\nMIIBAA==\n-----END X509 CRL-----\n";
	write_file("extra/crl.pem", other, sizeof(other) - 1);
	static const char badcert[] = "-----BEGIN CERTIFICATE-----\nAAAAnot*base64!!\n-----END CERTIFICATE-----\n";
	write_file("extra/corrupt.crt", badcert, sizeof(badcert) - 1);
	static const char badkey[] = "-----BEGIN PRIVATE KEY-----\nAAAAnot*base64!!\n-----END PRIVATE KEY-----\n";
	write_file("extra/corrupt.key", badkey, sizeof(badkey) - 1);
	concat("ca-and-server.crt", "good/ca.crt", "good/server.crt");
	concat("two-cas.crt", "good/ca.crt", "other-ca/ca.crt");
	concat("cert-and-key.pem", "good/client.crt", "good/client.key");
	concat("key-and-cert.pem", "good/client.key", "good/client.crt");
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

/* ---- preflight rows -------------------------------------------------------- */

struct want {
	const char *cause; /* NULL ends the list */
	enum severity sev;
};

struct pf_row {
	const char *name;
	const char *cafile, *capath, *cert, *key; /* relative to the lab; "/..." absolute */
	const char *host;        /* NULL: no host in the config */
	const char *tls_version;
	bool interactive;
	struct want want[6];     /* the exact set of (cause, severity), passes excluded */
	int min_findings;        /* at least this many non-pass findings (0: the set size) */
	int min_passes;
	const char *why_has;     /* the first finding's why contains this */
	const char *bug;         /* a known bug: the row is the correct behaviour */
};

#define FATAL(c) {c, SEV_FATAL}
#define WARN(c) {c, SEV_WARNING}
#define NONE {{NULL, SEV_PASS}}
#define H "127.0.0.1"

static const struct pf_row pf_rows[] = {
	/* -- sound material: nothing to report -- */
	{"good", "good/ca.crt", NULL, "good/client.crt", "good/client.key", H, NULL, false, NONE, 0, 3, NULL, NULL},
	{"good host localhost", "good/ca.crt", NULL, "good/client.crt", "good/client.key", "localhost", NULL, false, NONE, 0, 3, NULL, NULL},
	{"good no host", "good/ca.crt", NULL, "good/client.crt", "good/client.key", NULL, NULL, false, NONE, 0, 3, NULL, NULL},
	{"good cafile only", "good/ca.crt", NULL, NULL, NULL, H, NULL, false, NONE, 0, 1, NULL, NULL},
	{"ecdsa", "ecdsa/ca.crt", NULL, "ecdsa/client.crt", "ecdsa/client.key", H, NULL, false, NONE, 0, 3, NULL, NULL},
	{"other-ca", "other-ca/ca.crt", NULL, "other-ca/client.crt", "other-ca/client.key", H, NULL, false, NONE, 0, 3, NULL, NULL},
	{"client of another CA than --cafile", "good/ca.crt", NULL, "other-ca/client.crt", "other-ca/client.key", H, NULL, false, NONE, 0, 2, NULL, NULL},
	{"intermediate client chain", "intermediate/root.crt", NULL, "intermediate/client-chain.crt", "intermediate/client.key", H, NULL, false, NONE, 0, 2, NULL, NULL},
	{"intermediate leaf only", "intermediate/root.crt", NULL, "intermediate/client.crt", "intermediate/client.key", H, NULL, false, NONE, 0, 2, NULL, NULL},
	{"nosan", "nosan/ca.crt", NULL, "nosan/client.crt", "nosan/client.key", H, NULL, false, NONE, 0, 3, NULL, NULL},
	{"wrongsan", "wrongsan/ca.crt", NULL, "wrongsan/client.crt", "wrongsan/client.key", H, NULL, false, NONE, 0, 3, NULL, NULL},
	{"two CAs in cafile", "extra/two-cas.crt", NULL, "good/client.crt", "good/client.key", H, NULL, false, NONE, 0, 3, NULL, NULL},
	{"capath", NULL, "good", "good/client.crt", "good/client.key", H, NULL, false, NONE, 0, 2, NULL, NULL},
	{"self-signed client cert", "good/ca.crt", NULL, "selfsigned/client.crt", "selfsigned/client.key", H, NULL, false, NONE, 0, 2, NULL, NULL},
	{"key before cert in --cert file", "good/ca.crt", NULL, "extra/key-and-cert.pem", "good/client.key", H, NULL, false, NONE, 0, 3, NULL, NULL},

	/* -- file-unreadable -- */
	{"missing cafile", "nope/ca.crt", NULL, "good/client.crt", "good/client.key", H, NULL, false,
		{FATAL("file-unreadable")}, 0, 0, "does not exist", NULL},
	{"missing cert", "good/ca.crt", NULL, "nope/client.crt", "good/client.key", H, NULL, false,
		{FATAL("file-unreadable")}, 0, 0, "does not exist", NULL},
	{"missing key", "good/ca.crt", NULL, "good/client.crt", "nope/client.key", H, NULL, false,
		{FATAL("file-unreadable")}, 0, 0, "does not exist", NULL},
	{"cafile is a directory", "good", NULL, "good/client.crt", "good/client.key", H, NULL, false,
		{FATAL("file-unreadable")}, 0, 0, "--capath", NULL},
	{"cert is a directory", "good/ca.crt", NULL, "good", "good/client.key", H, NULL, false,
		{FATAL("file-unreadable")}, 0, 0, "is a directory", NULL},
	{"capath is a file", NULL, "good/ca.crt", NULL, NULL, H, NULL, false,
		{FATAL("file-unreadable")}, 0, 0, "not a directory", NULL},
	{"capath missing", NULL, "nope", NULL, NULL, H, NULL, false,
		{FATAL("file-unreadable")}, 0, 0, "No such file", NULL},

	/* -- file-not-pem -- */
	{"empty cafile", "extra/empty.crt", NULL, NULL, NULL, H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, "empty", NULL},
	{"DER cafile", "der/ca.der", NULL, "good/client.crt", "good/client.key", H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, "DER", NULL},
	{"DER cert", "good/ca.crt", NULL, "der/client.der", "good/client.key", H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, "DER", NULL},
	{"DER key", "good/ca.crt", NULL, "good/client.crt", "der/client.key.der", H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, "DER", NULL},
	{"DER cert and key", "good/ca.crt", NULL, "der/client.der", "der/client.key.der", H, NULL, false,
		{FATAL("file-not-pem")}, 2, 0, "DER", NULL},
	{"garbage cafile", "garbage/garbage.bin", NULL, NULL, NULL, H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, "neither PEM nor DER", NULL},
	{"garbage key", "good/ca.crt", NULL, "good/client.crt", "garbage/garbage.bin", H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, "neither PEM nor DER", NULL},
	{"key as cert", "good/ca.crt", NULL, "good/client.key", "good/client.key", H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, "private key", NULL},
	{"cert as key", "good/ca.crt", NULL, "good/client.crt", "good/client.crt", H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, "certificate", NULL},
	{"key as cafile", "good/ca.key", NULL, NULL, NULL, H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, "private key", NULL},
	{"other PEM block as cert", "good/ca.crt", NULL, "extra/crl.pem", "good/client.key", H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, "another kind", NULL},

	/* -- cafile-not-ca -- */
	{"server cert as cafile", "good/server.crt", NULL, "good/client.crt", "good/client.key", H, NULL, false,
		{FATAL("cafile-not-ca")}, 0, 0, "the broker's own certificate", NULL},
	{"server cert as cafile, other host", "good/server.crt", NULL, "good/client.crt", "good/client.key", "other.example", NULL, false,
		{FATAL("cafile-not-ca")}, 0, 0, "a server certificate", NULL},
	{"client cert as cafile", "good/client.crt", NULL, "good/client.crt", "good/client.key", H, NULL, false,
		{FATAL("cafile-not-ca")}, 0, 0, "a client certificate", NULL},
	{"noca", "noca/ca.crt", NULL, "noca/client.crt", "noca/client.key", H, NULL, false,
		{FATAL("cafile-not-ca")}, 0, 0, "leaf (end-entity)", NULL},
	{"CA and server cert in cafile", "extra/ca-and-server.crt", NULL, "good/client.crt", "good/client.key", H, NULL, false,
		{WARN("cafile-not-ca")}, 0, 0, "the broker's own certificate", NULL},

	/* -- ca-subject-equals-leaf -- */
	/* one finding for one cause, naming the certificate and the CA file (issue 26) */
	{"samecn", "samecn/ca.crt", NULL, "samecn/client.crt", "samecn/client.key", H, NULL, false,
		{FATAL("ca-subject-equals-leaf")}, 1, 0, "CN=127.0.0.1", NULL},
	{"samecn host localhost", "samecn/ca.crt", NULL, "samecn/client.crt", "samecn/client.key", "localhost", NULL, false,
		{FATAL("ca-subject-equals-leaf")}, 1, 0, "no authority key identifier", NULL},
	/* samecn/server.crt is a v3 certificate without extensions (OpenSSL 3.5's
	 * CLI no longer makes v1 ones): not a CA, a warning of its own */
	{"samecn server cert as cafile", "samecn/server.crt", NULL, "samecn/client.crt", "samecn/client.key", H, NULL, false,
		{WARN("cafile-not-ca"), FATAL("ca-subject-equals-leaf")}, 2, 0, "CN=127.0.0.1", NULL},
	{"samecn client, good CA", "good/ca.crt", NULL, "samecn/client.crt", "samecn/client.key", H, NULL, false,
		{FATAL("ca-subject-equals-leaf")}, 0, 0, "not self-signed", NULL},
	{"CA named after the broker", "samecn/ca.crt", NULL, "good/client.crt", "good/client.key", H, NULL, false,
		{WARN("ca-subject-equals-leaf")}, 0, 0, "broker's address 127.0.0.1", NULL},
	{"CA named after the broker, other host", "samecn/ca.crt", NULL, "good/client.crt", "good/client.key", "localhost", NULL, false,
		NONE, 0, 0, NULL, NULL},
	{"samecn with key identifiers", "samecn-keyid/ca.crt", NULL, "samecn-keyid/client.crt", "samecn-keyid/client.key", H, NULL, false,
		{WARN("ca-subject-equals-leaf")}, 0, 0, "OpenSSL copes", "preflight.c:538-551 (check_same_name, second loop) reports the CA/leaf name clash as FATAL although the leaf's key identifiers let OpenSSL (and mosquitto) accept it"},

	/* -- validity -- */
	{"expired client", "expired/ca.crt", NULL, "expired/client.crt", "expired/client.key", H, NULL, false,
		{FATAL("cert-expired")}, 0, 0, "2020-01-02 00:00:00 UTC", NULL},
	{"not yet valid client", "notyet/ca.crt", NULL, "notyet/client.crt", "notyet/client.key", H, NULL, false,
		{FATAL("cert-not-yet-valid")}, 0, 0, "clock", NULL},
	{"expired cert in cafile", "expired/client.crt", NULL, NULL, NULL, H, NULL, false,
		{FATAL("cafile-not-ca")}, 0, 0, "a client certificate", NULL},

	/* -- key -- */
	{"key mismatch", "good/ca.crt", NULL, "good/client.crt", "other-ca/client.key", H, NULL, false,
		{FATAL("key-mismatch")}, 0, 0, "not the public half", NULL},
	{"key mismatch rsa/ec", "ecdsa/ca.crt", NULL, "ecdsa/client.crt", "good/client.key", H, NULL, false,
		{FATAL("key-mismatch")}, 0, 0, "not the public half", NULL},
	{"encrypted key, no terminal", "encrypted/ca.crt", NULL, "encrypted/client.crt", "encrypted/client.key", H, NULL, false,
		{FATAL("key-encrypted")}, 0, 0, "not a terminal", NULL},
	{"encrypted key, terminal", "encrypted/ca.crt", NULL, "encrypted/client.crt", "encrypted/client.key", H, NULL, true,
		{WARN("key-encrypted")}, 0, 0, NULL, NULL},

	/* -- purpose and strength -- */
	{"servereku", "servereku/ca.crt", NULL, "servereku/client.crt", "servereku/client.key", H, NULL, false,
		{FATAL("cert-not-for-client")}, 0, 0, "serverAuth", NULL},
	{"weak RSA-1024", "weak/ca.crt", NULL, "weak/client.crt", "weak/client.key", H, NULL, false,
		{FATAL("weak-crypto")}, 0, 0, "1024 bits", NULL},
	{"weak RSA-1024 with tlsv1.1 (security level 0)", "weak/ca.crt", NULL, "weak/client.crt", "weak/client.key", H, "tlsv1.1", false,
		NONE, 0, 0, NULL, NULL},
	{"sha1 signature", "sha1/ca.crt", NULL, "sha1/client.crt", "sha1/client.key", H, NULL, false,
		{FATAL("weak-crypto")}, 0, 0, "SHA1", NULL},

	/* -- several problems in one run -- */
	{"missing cafile, swapped cert and key", "nope/ca.crt", NULL, "good/client.key", "good/client.crt", H, NULL, false,
		{FATAL("file-unreadable"), FATAL("file-not-pem")}, 3, 0, "does not exist", NULL},
	{"expired client and wrong key", "expired/ca.crt", NULL, "expired/client.crt", "good/client.key", H, NULL, false,
		{FATAL("cert-expired"), FATAL("key-mismatch")}, 0, 0, NULL, NULL},
	{"servereku, weak and mismatched", "good/ca.crt", NULL, "servereku/client.crt", "weak/client.key", H, NULL, false,
		{FATAL("cert-not-for-client"), FATAL("key-mismatch")}, 0, 0, NULL, NULL},

	/* -- the broker's same-name certificate (no key identifiers) as cafile: OpenSSL trusts it as it is -- */
	{"samecn-nokeyid server cert as cafile", "samecn-nokeyid/server.crt", NULL, NULL, NULL, H, NULL, false,
		{WARN("cafile-not-ca")}, 0, 0, "accepts it as a trust anchor", NULL},
	{"samecn-nokeyid server cert as cafile, same-name client", "samecn-nokeyid/server.crt", NULL, "samecn-nokeyid/client.crt",
		"samecn-nokeyid/client.key", H, NULL, false,
		{WARN("cafile-not-ca"), FATAL("ca-subject-equals-leaf")}, 0, 0, "takes it for self-signed", NULL},

	/* -- known bugs: the correct behaviour -- */
	{"self-signed server cert as cafile", "selfsigned/server.crt", NULL, NULL, NULL, "localhost", NULL, false,
		NONE, 0, 0, NULL, "preflight.c:341-365 (check_cafile) rejects a self-signed leaf in --cafile as fatal cafile-not-ca, but OpenSSL trusts it as an anchor and mosquitto_pub connects"},
	{"certificate and key in one --key file", "good/ca.crt", NULL, "good/client.crt", "extra/cert-and-key.pem", H, NULL, false,
		NONE, 0, 3, NULL, "preflight.c:154-161 classify_content() sees the certificate first, so check_key (l.445) reports file-not-pem, but OpenSSL reads the key that follows"},
	{"damaged PEM cafile", "extra/corrupt.crt", NULL, NULL, NULL, H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, NULL, "preflight.c:337-379 (check_cafile): a CERTIFICATE block that does not decode yields no certificate and no finding at all"},
	{"damaged PEM key", "good/ca.crt", NULL, "good/client.crt", "extra/corrupt.key", H, NULL, false,
		{FATAL("file-not-pem")}, 0, 0, NULL, "preflight.c:453-458 (check_key): a PRIVATE KEY block that does not decode leaves pf->key NULL and no finding"},
};

static char *lab_path(const char *rel)
{
	if (!rel)
		return NULL;
	char *p = NULL;
	if (rel[0] == '/')
		return strdup(rel);
	if (asprintf(&p, "%s/%s", labdir, rel) < 0)
		abort();
	return p;
}

static const char *sev_str(enum severity s)
{
	return s == SEV_FATAL ? "fatal" : s == SEV_WARNING ? "warning" : "pass";
}

static void dump_report(const struct report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct finding *f = &r->v[i];
		fprintf(stderr, "    [%s] %s: %s\n", sev_str(f->sev),
				f->sev == SEV_PASS ? "-" : cause_info(f->cause)->id, f->summary ? f->summary : "(null)");
		if (f->why)
			fprintf(stderr, "        why: %s\n", f->why);
	}
}

/* Is there a {slot} left unexpanded in s? */
static bool unexpanded(const char *s)
{
	for (const char *p = s ? strchr(s, '{') : NULL; p; p = strchr(p + 1, '{')) {
		const char *q = p + 1;
		while (*q == '_' || islower((unsigned char)*q))
			q++;
		if (q > p + 1 && *q == '}')
			return true;
	}
	return false;
}

static void run_pf_row(void **state)
{
	const struct pf_row *row = *state;
	if (row->bug && getenv("SMQTT_TEST_SKIP_FIXED_BUGS")) {
		fprintf(stderr, "known bug, skipped: %s\n", row->bug);
		skip();
	}
	struct config cfg;
	cfg_init(&cfg, TOOL_PUB);
	cfg.cafile = lab_path(row->cafile);
	cfg.capath = lab_path(row->capath);
	cfg.certfile = lab_path(row->cert);
	cfg.keyfile = lab_path(row->key);
	cfg.host = row->host ? strdup(row->host) : NULL;
	cfg.tls_version = row->tls_version ? strdup(row->tls_version) : NULL;
	assert_true(preflight_applies(&cfg));

	struct report r;
	report_init(&r, row->host, 8883);
	int fatal = preflight_run(&cfg, row->interactive, &r, NULL);

	bool ok = true;
	size_t nfind = 0, npass = 0, nwant = 0;
	for (; nwant < 6 && row->want[nwant].cause; nwant++)
		;
	/* every finding is expected ... */
	for (size_t i = 0; i < r.n; i++) {
		const struct finding *f = &r.v[i];
		if (f->sev == SEV_PASS) {
			npass++;
			if (!f->summary || !*f->summary) {
				fprintf(stderr, "a pass without a summary\n");
				ok = false;
			}
			continue;
		}
		nfind++;
		const char *id = cause_info(f->cause)->id;
		bool found = false;
		for (size_t w = 0; w < nwant; w++)
			found |= !strcmp(row->want[w].cause, id) && row->want[w].sev == f->sev;
		if (!found) {
			fprintf(stderr, "unexpected finding (%s, %s)\n", id, sev_str(f->sev));
			ok = false;
		}
		if (cause_info(f->cause)->stage != STAGE_PREFLIGHT) {
			fprintf(stderr, "finding %s is not of the preflight stage\n", id);
			ok = false;
		}
		if (!f->summary || !*f->summary || !f->why || !*f->why || !f->fix || !*f->fix) {
			fprintf(stderr, "finding %s lacks a summary, why or fix\n", id);
			ok = false;
		}
		if (unexpanded(f->summary) || unexpanded(f->why) || unexpanded(f->fix)) {
			fprintf(stderr, "finding %s has an unexpanded {slot}\n", id);
			ok = false;
		}
	}
	/* ... and every expected one is there */
	for (size_t w = 0; w < nwant; w++) {
		bool found = false;
		for (size_t i = 0; i < r.n; i++)
			found |= r.v[i].sev != SEV_PASS && r.v[i].sev == row->want[w].sev
				&& !strcmp(cause_info(r.v[i].cause)->id, row->want[w].cause);
		if (!found) {
			fprintf(stderr, "missing finding (%s, %s)\n", row->want[w].cause, sev_str(row->want[w].sev));
			ok = false;
		}
	}
	size_t minf = row->min_findings ? (size_t)row->min_findings : nwant;
	if (nfind < minf) {
		fprintf(stderr, "%zu findings, expected at least %zu\n", nfind, minf);
		ok = false;
	}
	if (npass < (size_t)row->min_passes) {
		fprintf(stderr, "%zu passes, expected at least %d\n", npass, row->min_passes);
		ok = false;
	}
	if ((size_t)fatal != report_count(&r, SEV_FATAL)) {
		fprintf(stderr, "preflight_run returned %d, the report has %zu fatal findings\n", fatal, report_count(&r, SEV_FATAL));
		ok = false;
	}
	const struct finding *first = NULL;
	for (size_t i = 0; i < r.n && !first; i++)
		if (r.v[i].sev == SEV_FATAL)
			first = &r.v[i];
	for (size_t i = 0; i < r.n && !first; i++)
		if (r.v[i].sev == SEV_WARNING)
			first = &r.v[i];
	if (row->why_has && (!first || !first->why || !strstr(first->why, row->why_has))) {
		fprintf(stderr, "the first finding's why does not mention \"%s\"\n", row->why_has);
		ok = false;
	}
	if (report_primary(&r) != (fatal ? first : NULL)) {
		fprintf(stderr, "report_primary is not the first fatal finding\n");
		ok = false;
	}
	/* the evidence: the files looked at and the security level */
	cJSON *files = cJSON_GetObjectItemCaseSensitive(r.evidence, "files");
	if (!cJSON_IsArray(files) || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r.evidence, "security_level"))) {
		fprintf(stderr, "evidence lacks files[] or security_level\n");
		ok = false;
	}
	if (!ok) {
		fprintf(stderr, "row \"%s\": the report was:\n", row->name);
		dump_report(&r);
		fprintf(stderr, "  expected:");
		for (size_t w = 0; w < nwant; w++)
			fprintf(stderr, " (%s, %s)", row->want[w].cause, sev_str(row->want[w].sev));
		fprintf(stderr, "%s\n", nwant ? "" : " no findings");
	}
	report_free(&r);
	cfg_free(&cfg);
	assert_true(ok);
}

/* The JSON form of a real preflight report. */
static void test_preflight_json_samecn(void **state)
{
	(void)state;
	struct config cfg;
	cfg_init(&cfg, TOOL_SUB);
	cfg.cafile = lab_path("samecn/ca.crt");
	cfg.certfile = lab_path("samecn/client.crt");
	cfg.keyfile = lab_path("samecn/client.key");
	cfg.host = strdup(H);
	struct report r;
	report_init(&r, H, 8883);
	assert_true(preflight_run(&cfg, false, &r, NULL) >= 1);
	char *s = report_json(&r, STAGE_PREFLIGHT);
	assert_non_null(s);
	assert_null(strchr(s, '\n'));
	cJSON *j = cJSON_Parse(s);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "cause")->valuestring, "ca-subject-equals-leaf");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "stage")->valuestring, "preflight");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "host")->valuestring, H);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "port")->valueint, 8883);
	assert_non_null(strstr(cJSON_GetObjectItemCaseSensitive(j, "why")->valuestring, "CN=127.0.0.1"));
	cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "evidence");
	cJSON *files = cJSON_GetObjectItemCaseSensitive(ev, "files");
	assert_true(cJSON_IsArray(files));
	assert_int_equal(cJSON_GetArraySize(files), 3);
	cJSON *ca = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(files, 0), "certs"), 0);
	assert_non_null(ca);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(ca, "subject")->valuestring, "CN=127.0.0.1");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ca, "ca")));
	cJSON *cert = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(files, 1), "certs"), 0);
	assert_non_null(cert);
	/* (a v1 leaf named after its issuer counts as a v1 root for
	 * X509_check_ca, so "ca" may be true here: only its type is checked) */
	assert_true(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(cert, "ca")));
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(cert, "issuer")->valuestring, "CN=127.0.0.1");
	assert_int_equal(strlen(cJSON_GetObjectItemCaseSensitive(cert, "sha256")->valuestring), 32 * 3 - 1);
	cJSON *probs = cJSON_GetObjectItemCaseSensitive(j, "problems");
	assert_int_equal(cJSON_GetArraySize(probs), 1); /* one cause, one finding naming both files */
	cJSON *p;
	cJSON_ArrayForEach(p, probs) {
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "cause")->valuestring, "ca-subject-equals-leaf");
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "severity")->valuestring, "fatal");
	}
	cJSON_Delete(j);
	free(s);
	report_free(&r);
	cfg_free(&cfg);
}

static void test_preflight_not_applicable(void **state)
{
	(void)state;
	struct config cfg;
	cfg_init(&cfg, TOOL_PUB);
	assert_false(preflight_applies(&cfg));
	cfg.keyfile = strdup("x");
	assert_true(preflight_applies(&cfg));
	cfg_free(&cfg);
}

/* ---- explain_expand ---------------------------------------------------------- */

struct ex_row {
	const char *name;
	const char *tmpl;
	struct slot slots[4];
	size_t nslots;
	const char *want;
};

static char long_value[3001];

static const struct ex_row ex_rows[] = {
	{"no slots", "plain text", {{0}}, 0, "plain text"},
	{"empty template", "", {{"a", "1", NULL}}, 1, ""},
	{"one slot", "{a}", {{"a", "1", NULL}}, 1, "1"},
	{"slots in text", "x{a}y{b}z", {{"a", "1", NULL}, {"b", "22", NULL}}, 2, "x1y22z"},
	{"repeated slot", "{a}{a}-{a}", {{"a", "ab", NULL}}, 1, "abab-ab"},
	{"unknown slot kept", "{a} {c}", {{"a", "1", NULL}}, 1, "1 {c}"},
	{"no slots given", "{a}", {{0}}, 0, "{a}"},
	{"NULL value kept", "{a}", {{"a", NULL, NULL}}, 1, "{a}"},
	{"empty value", "<{a}>", {{"a", "", NULL}}, 1, "<>"},
	{"lone braces", "{ } { x}", {{"a", "1", NULL}}, 1, "{ } { x}"},
	{"unterminated", "x {a", {{"a", "1", NULL}}, 1, "x {a"},
	{"closing only", "a} b}", {{"a", "1", NULL}}, 1, "a} b}"},
	{"double braces", "{{a}}", {{"a", "1", NULL}}, 1, "{1}"},
	{"prefix names", "{a}{ab}{abc}", {{"ab", "X", NULL}, {"a", "Y", NULL}}, 2, "YX{abc}"},
	{"value not re-expanded", "{a}", {{"a", "{b}", NULL}, {"b", "Z", NULL}}, 2, "{b}"},
	{"first slot wins", "{a}", {{"a", "1", NULL}, {"a", "2", NULL}}, 2, "1"},
	{"utf-8 and specials", "é{a}\n", {{"a", "\"q\"\t\\", NULL}}, 1, "é\"q\"\t\\\n"},
	{"slot name with underscore", "{not_after}", {{"not_after", "2020", NULL}}, 1, "2020"},
};

static void run_ex_row(void **state)
{
	const struct ex_row *row = *state;
	char *got = explain_expand(row->tmpl, row->slots, row->nslots);
	assert_non_null(got);
	assert_string_equal(got, row->want);
	free(got);
}

static void test_expand_long_value(void **state)
{
	(void)state;
	memset(long_value, 'v', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	struct slot s[] = {{"a", long_value, NULL}};
	char *got = explain_expand("[{a}|{a}]", s, 1);
	assert_non_null(got);
	assert_int_equal(strlen(got), 2 * 3000 + 3);
	assert_int_equal(got[0], '[');
	assert_int_equal(got[3001], '|');
	assert_string_equal(got + 6002, "]");
	free(got);
}

/* ---- the catalogue --------------------------------------------------------- */

static bool id_ok(const char *id)
{
	if (!id || !islower((unsigned char)id[0]))
		return false;
	for (const char *p = id; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-')
			return false;
	return id[strlen(id) - 1] != '-';
}

static bool braces_ok(const char *t)
{
	for (const char *p = t; *p; p++) {
		if (*p == '{') {
			const char *q = p + 1;
			while (*q == '_' || islower((unsigned char)*q))
				q++;
			if (*q != '}' || q == p + 1)
				return false;
			p = q;
		} else if (*p == '}') {
			return false;
		}
	}
	return true;
}

static void test_catalogue(void **state)
{
	(void)state;
	for (int c = 0; c < CAUSE_COUNT; c++) {
		const struct cause_info *ci = cause_info((enum cause)c);
		assert_non_null(ci);
		if ((int)ci->cause != c)
			fail_msg("table row %d holds cause %d: the table is out of enum order", c, (int)ci->cause);
		if (!id_ok(ci->id))
			fail_msg("cause %d: bad id \"%s\"", c, ci->id ? ci->id : "(null)");
		if (!ci->summary || !*ci->summary || !ci->why || !*ci->why || !ci->fix || !*ci->fix)
			fail_msg("cause %s: empty summary, why or fix", ci->id);
		if (!braces_ok(ci->summary) || !braces_ok(ci->why) || !braces_ok(ci->fix))
			fail_msg("cause %s: a malformed {slot} in a template", ci->id);
		for (int d = 0; d < c; d++)
			if (!strcmp(cause_info((enum cause)d)->id, ci->id))
				fail_msg("causes %d and %d share the id \"%s\"", d, c, ci->id);
		assert_ptr_equal(cause_by_id(ci->id), ci);
		const char *st = stage_name(ci->stage);
		assert_true(!strcmp(st, "profile") || !strcmp(st, "preflight") || !strcmp(st, "resolve")
				|| !strcmp(st, "tcp") || !strcmp(st, "tls") || !strcmp(st, "websocket") || !strcmp(st, "mqtt"));
	}
	assert_null(cause_by_id("no-such-cause"));
	assert_null(cause_by_id(""));
}

struct id_row {
	enum cause cause;
	const char *id;
	enum stage stage;
};

static const struct id_row id_rows[] = {
	{CAUSE_FILE_UNREADABLE, "file-unreadable", STAGE_PREFLIGHT},
	{CAUSE_FILE_NOT_PEM, "file-not-pem", STAGE_PREFLIGHT},
	{CAUSE_CAFILE_NOT_CA, "cafile-not-ca", STAGE_PREFLIGHT},
	{CAUSE_CA_SUBJECT_EQUALS_LEAF, "ca-subject-equals-leaf", STAGE_PREFLIGHT},
	{CAUSE_CERT_EXPIRED, "cert-expired", STAGE_PREFLIGHT},
	{CAUSE_CERT_NOT_YET_VALID, "cert-not-yet-valid", STAGE_PREFLIGHT},
	{CAUSE_KEY_MISMATCH, "key-mismatch", STAGE_PREFLIGHT},
	{CAUSE_KEY_ENCRYPTED, "key-encrypted", STAGE_PREFLIGHT},
	{CAUSE_CERT_NOT_FOR_CLIENT, "cert-not-for-client", STAGE_PREFLIGHT},
	{CAUSE_WEAK_CRYPTO, "weak-crypto", STAGE_PREFLIGHT},
	{CAUSE_CONNECTION_REFUSED, "connection-refused", STAGE_TCP},
	{CAUSE_DNS_FAILURE, "dns-failure", STAGE_RESOLVE},
	{CAUSE_TLS_UNCLASSIFIED, "tls-unclassified", STAGE_TLS},
	{CAUSE_MQTT_AUTH_FAILED, "mqtt-auth-failed", STAGE_MQTT},
	{CAUSE_PROFILE_ERROR, "profile-error", STAGE_PROFILE},
	{CAUSE_RR_NO_RESPONSE, "rr-no-response", STAGE_MQTT},
};

/* The preflight IDs are a stable interface (scripts match on them). */
static void run_id_row(void **state)
{
	const struct id_row *row = *state;
	const struct cause_info *ci = cause_info(row->cause);
	assert_string_equal(ci->id, row->id);
	assert_int_equal(ci->stage, row->stage);
	assert_ptr_equal(cause_by_id(row->id), ci);
}

/* ---- report_json ------------------------------------------------------------ */

static const char *jstr(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsString(v))
		fail_msg("JSON field %s is not a string", k);
	return v->valuestring;
}

static cJSON *parse_report(const struct report *r, enum stage st)
{
	char *s = report_json(r, st);
	assert_non_null(s);
	assert_null(strchr(s, '\n'));
	cJSON *j = cJSON_Parse(s);
	if (!j)
		fail_msg("report_json is not JSON: %s", s);
	free(s);
	for (const char *const *k = (const char *const[]){"cause", "stage", "summary", "why", "fix", "host", NULL}; *k; k++)
		(void)jstr(j, *k);
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "port")));
	assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "evidence")));
	assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "problems")));
	return j;
}

static void test_report_json_empty(void **state)
{
	(void)state;
	struct report r;
	report_init(&r, NULL, 1883);
	cJSON *j = parse_report(&r, STAGE_TCP);
	assert_string_equal(jstr(j, "cause"), "none");
	assert_string_equal(jstr(j, "stage"), "tcp");
	assert_string_equal(jstr(j, "summary"), "");
	assert_string_equal(jstr(j, "host"), "");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "port")->valueint, 1883);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "problems")), 0);
	cJSON_Delete(j);
	report_free(&r);
}

static void test_report_json_findings(void **state)
{
	(void)state;
	struct report r;
	report_init(&r, "broker.example", 8883);
	report_pass(&r, "something passed", NULL);
	struct slot w[] = {{"file", "k.key", NULL}};
	report_add(&r, CAUSE_KEY_ENCRYPTED, SEV_WARNING, w, 1);
	struct slot f[] = {{"option", "--cafile", NULL}, {"file", "a \"quoted\"\npath\\é", NULL}, {"detail", "line1\nline2\ttab", NULL}};
	report_add(&r, CAUSE_FILE_UNREADABLE, SEV_FATAL, f, 3);
	report_add(&r, CAUSE_FILE_UNREADABLE, SEV_FATAL, f, 3); /* a duplicate: dropped */
	report_add(&r, CAUSE_CONNECTION_REFUSED, SEV_FATAL, NULL, 0);
	cJSON_AddStringToObject(r.evidence, "note", "seen");
	assert_int_equal(report_count(&r, SEV_FATAL), 2);
	assert_int_equal(report_count(&r, SEV_WARNING), 1);
	assert_int_equal(report_count(&r, SEV_PASS), 1);

	cJSON *j = parse_report(&r, STAGE_TLS);
	/* the primary finding is the first fatal one, not the earlier warning */
	assert_string_equal(jstr(j, "cause"), "file-unreadable");
	assert_string_equal(jstr(j, "stage"), "preflight");
	assert_string_equal(jstr(j, "summary"), "cannot read --cafile file a \"quoted\"\npath\\é");
	assert_string_equal(jstr(j, "why"), "line1\nline2\ttab");
	assert_string_equal(jstr(j, "fix"), "check the path given to --cafile; it must be a file this user can read");
	assert_string_equal(jstr(j, "host"), "broker.example");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "port")->valueint, 8883);
	assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(j, "evidence"), "note"), "seen");
	cJSON *probs = cJSON_GetObjectItemCaseSensitive(j, "problems");
	assert_int_equal(cJSON_GetArraySize(probs), 3); /* passes are left out */
	static const char *want[][2] = {{"key-encrypted", "warning"}, {"file-unreadable", "fatal"}, {"connection-refused", "fatal"}};
	for (int i = 0; i < 3; i++) {
		cJSON *p = cJSON_GetArrayItem(probs, i);
		assert_string_equal(jstr(p, "cause"), want[i][0]);
		assert_string_equal(jstr(p, "severity"), want[i][1]);
		assert_true(*jstr(p, "summary"));
	}
	/* {host} and {port} come from the report */
	assert_string_equal(jstr(cJSON_GetArrayItem(probs, 2), "summary"), "connection to broker.example:8883 refused");
	cJSON_Delete(j);
	report_free(&r);
}

static void test_report_json_warning_only(void **state)
{
	(void)state;
	struct report r;
	report_init(&r, "h", 1);
	struct slot w[] = {{"file", "k.key", NULL}};
	report_add(&r, CAUSE_KEY_ENCRYPTED, SEV_WARNING, w, 1);
	assert_null(report_primary(&r));
	cJSON *j = parse_report(&r, STAGE_PREFLIGHT);
	assert_string_equal(jstr(j, "cause"), "none");
	assert_string_equal(jstr(j, "stage"), "preflight");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "problems")), 1);
	cJSON_Delete(j);
	report_free(&r);
}

/* ---- main --------------------------------------------------------------------- */

int main(void)
{
	struct test_list l = {0};
	int failed = 0;

	for (size_t i = 0; i < sizeof(pf_rows) / sizeof(pf_rows[0]); i++)
		test_list_addf(&l, run_pf_row, (void *)&pf_rows[i], "preflight: %s%s", pf_rows[i].name,
				pf_rows[i].bug ? " (known bug)" : "");
	test_list_add(&l, "preflight: json of samecn", test_preflight_json_samecn, NULL);
	test_list_add(&l, "preflight: applies", test_preflight_not_applicable, NULL);
	failed += _cmocka_run_group_tests("preflight", l.t, l.n, lab_setup, lab_teardown);
	for (size_t i = 0; i < l.nnames; i++)
		free(l.names[i]);
	free(l.names);
	free(l.t);
	memset(&l, 0, sizeof(l));

	for (size_t i = 0; i < sizeof(ex_rows) / sizeof(ex_rows[0]); i++)
		test_list_addf(&l, run_ex_row, (void *)&ex_rows[i], "explain_expand: %s", ex_rows[i].name);
	test_list_add(&l, "explain_expand: long value", test_expand_long_value, NULL);
	test_list_add(&l, "catalogue: ids, templates, order", test_catalogue, NULL);
	for (size_t i = 0; i < sizeof(id_rows) / sizeof(id_rows[0]); i++)
		test_list_addf(&l, run_id_row, (void *)&id_rows[i], "catalogue: %s", id_rows[i].id);
	test_list_add(&l, "report_json: empty", test_report_json_empty, NULL);
	test_list_add(&l, "report_json: findings", test_report_json_findings, NULL);
	test_list_add(&l, "report_json: warning only", test_report_json_warning_only, NULL);
	failed += test_list_run(&l, "explain");
	return failed ? 1 : 0;
}
