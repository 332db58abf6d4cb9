/* preflight: local checks of cafile / capath / cert / key before connecting
 * (see preflight.h). Every problem found is reported, not just the first,
 * with the names, dates and DNs involved. This file reads the files and
 * checks each one; the checks across them (the client's chain against
 * --cafile, same-named certificates) are preflightchain.c's. */
#include "preflight.h"
#include "preflightparts.h"
#include "tls.h"
#include "l10n.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_FILE (16 * 1024 * 1024)

enum content { C_EMPTY, C_PEM_CERT, C_PEM_KEY, C_PEM_OTHER, C_DER_CERT, C_DER_KEY, C_GARBAGE };

/* ---- formatting helpers ----------------------------------------------- */

char *preflight_dn(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (!b)
		return strdup("?");
	unsigned long flags = (XN_FLAG_RFC2253 & ~XN_FLAG_SEP_MASK) | XN_FLAG_SEP_CPLUS_SPC;
	X509_NAME_print_ex(b, name, 0, flags & ~(unsigned long)ASN1_STRFLGS_ESC_MSB);
	char *data = NULL;
	long n = BIO_get_mem_data(b, &data);
	out = strndup(data ? data : "", n > 0 ? (size_t)n : 0);
	BIO_free(b);
	if (out && !*out) {
		free(out);
		out = strdup("(empty name)");
	}
	return out;
}

static void tm_str(const struct tm *tm, char *buf, size_t len)
{
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", tm);
}

static void asn1_time_str(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm)) {
		snprintf(buf, len, "(invalid date)");
		return;
	}
	tm_str(&tm, buf, len);
}

static void fingerprint(X509 *x, char *buf, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	buf[0] = '\0';
	if (!X509_digest(x, EVP_sha256(), md, &n))
		return;
	for (unsigned int i = 0; i < n && (i * 3 + 3) < len; i++)
		snprintf(buf + i * 3, len - i * 3, "%02X%s", md[i], i + 1 < n ? ":" : "");
}

int preflight_days_left(const X509 *x)
{
	int days = 0, secs = 0;
	if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)))
		return INT_MIN;
	return days;
}

void preflight_days_text(int days, int lang, char *buf, size_t len)
{
	if (days >= 1)
		snprintf(buf, len, LN_(lang, "%d day", "%d days", (unsigned long)days), days);
	else
		snprintf(buf, len, "%s", L_(lang, N_("less than a day")));
}

cJSON *preflight_cert_json(const X509 *cx)
{
	X509 *x = (X509 *)cx;
	cJSON *o = cJSON_CreateObject();
	char *s = preflight_dn(X509_get_subject_name(x)), *i = preflight_dn(X509_get_issuer_name(x));
	char nb[64], na[64], fp[128];
	asn1_time_str(X509_get0_notBefore(x), nb, sizeof(nb));
	asn1_time_str(X509_get0_notAfter(x), na, sizeof(na));
	fingerprint(x, fp, sizeof(fp));
	cJSON_AddStringToObject(o, "subject", s ? s : "");
	cJSON_AddStringToObject(o, "issuer", i ? i : "");
	cJSON_AddStringToObject(o, "not_before", nb);
	cJSON_AddStringToObject(o, "not_after", na);
	int days = preflight_days_left(x);
	if (days != INT_MIN)
		cJSON_AddNumberToObject(o, "days_left", days);
	cJSON_AddStringToObject(o, "sha256", fp);
	cJSON_AddBoolToObject(o, "ca", X509_check_ca(x) != 0);
	free(s);
	free(i);
	return o;
}

/* ---- reading files ---------------------------------------------------- */

static int read_file(const char *path, char **buf, size_t *len, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	*buf = NULL;
	*len = 0;
	if (fd < 0 || fstat(fd, &st) != 0) {
		*err = errno;
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		*err = EISDIR;
		return -1;
	}
	size_t cap = 65536;
	char *b = malloc(cap + 1);
	ssize_t n;
	while (b && (n = read(fd, b + *len, cap - *len)) > 0) {
		*len += (size_t)n;
		if (*len == cap) {
			if (cap >= MAX_FILE) {
				break; /* enough to judge the file by */
			}
			cap *= 2;
			char *g = realloc(b, cap + 1);
			if (!g) {
				free(b);
				b = NULL;
			}
			b = g;
		}
	}
	close(fd);
	if (!b) {
		*err = ENOMEM;
		return -1;
	}
	b[*len] = '\0';
	*buf = b;
	return 0;
}

static enum content classify_content(const char *buf, size_t len, bool want_key)
{
	if (len == 0)
		return C_EMPTY;
	/* OpenSSL skips other blocks: a key after a certificate is fine */
	if (want_key && strstr(buf, "PRIVATE KEY-----"))
		return C_PEM_KEY;
	if (strstr(buf, "-----BEGIN CERTIFICATE-----") || strstr(buf, "-----BEGIN TRUSTED CERTIFICATE-----"))
		return C_PEM_CERT;
	if (strstr(buf, "PRIVATE KEY-----"))
		return C_PEM_KEY;
	if (strstr(buf, "-----BEGIN "))
		return C_PEM_OTHER;
	const unsigned char *p = (const unsigned char *)buf;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (x) {
		X509_free(x);
		return C_DER_CERT;
	}
	p = (const unsigned char *)buf;
	EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)len);
	if (k) {
		EVP_PKEY_free(k);
		return C_DER_KEY;
	}
	ERR_clear_error();
	return C_GARBAGE;
}

static const char *content_desc(enum content c)
{
	switch (c) {
	case C_EMPTY: return N_("it is empty");
	case C_PEM_CERT: return N_("it holds a certificate");
	case C_PEM_KEY: return N_("it holds a private key");
	case C_PEM_OTHER: return N_("it holds a PEM block of another kind (not a certificate or private key)");
	case C_DER_CERT: return N_("it is a certificate in DER (binary) encoding");
	case C_DER_KEY: return N_("it is a private key in DER (binary) encoding");
	default: return N_("it holds neither PEM nor DER data");
	}
}

/* Report a file that cannot be read; returns false. */
static bool check_readable(struct pf *pf, const char *option, const char *path, char **buf, size_t *len)
{
	int err = 0;
	if (read_file(path, buf, len, &err) == 0)
		return true;
	char detail[2][512];
	EACH_LANG(l) {
		if (err == ENOENT)
			snprintf(detail[l], sizeof(detail[l]), L_(l, N_("%s does not exist (relative paths are taken from the current directory, or from the profile's folder in a profile)")), path);
		else if (err == EACCES)
			snprintf(detail[l], sizeof(detail[l]), L_(l, N_("permission denied: this user may not read %s")), path);
		else if (err == EISDIR)
			snprintf(detail[l], sizeof(detail[l]), L_(l, N_("%s is a directory%s")), path,
					!strcmp(option, "--cafile") ? L_(l, N_("; a directory of CA certificates is given with --capath")) : "");
		else
			snprintf(detail[l], sizeof(detail[l]), "%s: %s", path, strerror(err));
	}
	struct slot s[] = {{"option", option, NULL}, {"file", path, NULL}, {"detail", detail[0], detail[1]}};
	report_add(pf->r, CAUSE_FILE_UNREADABLE, SEV_FATAL, s, 3);
	return false;
}

static void not_pem(struct pf *pf, const char *option, const char *path, enum content c, bool want_key)
{
	char fixhint[2][768], detail[2][512];
	const char *expected = want_key ? N_("private key") : N_("certificate");
	EACH_LANG(l) {
		if (c == C_DER_CERT)
			snprintf(fixhint[l], sizeof(fixhint[l]), L_(l, N_("convert it to PEM: openssl x509 -inform der -in %s -out %s.pem, then give %s %s.pem")),
					path, path, option, path);
		else if (c == C_DER_KEY)
			snprintf(fixhint[l], sizeof(fixhint[l]), L_(l, N_("convert it to PEM: openssl pkey -inform der -in %s -out %s.pem, then give %s %s.pem")),
					path, path, option, path);
		else if (c == C_PEM_KEY && !want_key)
			snprintf(fixhint[l], sizeof(fixhint[l]), L_(l, N_("%s wants a certificate; this file is a private key: did you swap --cert and --key?")), option);
		else if (c == C_PEM_CERT && want_key)
			snprintf(fixhint[l], sizeof(fixhint[l]), "%s", L_(l, N_("--key wants the private key; this file is a certificate: did you swap --cert and --key?")));
		else
			snprintf(fixhint[l], sizeof(fixhint[l]), L_(l, N_("give a PEM file: it starts with -----BEGIN %s-----")), want_key ? "PRIVATE KEY" : "CERTIFICATE");
		snprintf(detail[l], sizeof(detail[l]), "%s: %s", path, L_(l, content_desc(c)));
	}
	struct slot s[] = {{"option", option, NULL}, {"file", path, NULL}, {"expected", expected, _(expected)},
		{"detail", detail[0], detail[1]}, {"fixhint", fixhint[0], fixhint[1]}};
	report_add(pf->r, CAUSE_FILE_NOT_PEM, SEV_FATAL, s, 5);
}

/* A PEM file whose block OpenSSL cannot decode. */
static void damaged(struct pf *pf, const char *option, const char *path, bool want_key)
{
	char detail[2][512], fixhint[2][256];
	EACH_LANG(l) {
		snprintf(detail[l], sizeof(detail[l]), L_(l, N_("%s: it has a PEM %s block, but OpenSSL cannot decode it (damaged base64, a cut-off "
				"file, or Windows line breaks inside the block)")), path, want_key ? "PRIVATE KEY" : "CERTIFICATE");
		snprintf(fixhint[l], sizeof(fixhint[l]), L_(l, N_("copy the file again from its source; check it with: openssl %s -in %s -noout")),
				want_key ? "pkey" : "x509", path);
	}
	const char *expected = want_key ? N_("private key") : N_("certificate");
	struct slot s[] = {{"option", option, NULL}, {"file", path, NULL}, {"expected", expected, _(expected)},
		{"detail", detail[0], detail[1]}, {"fixhint", fixhint[0], fixhint[1]}};
	report_add(pf->r, CAUSE_FILE_NOT_PEM, SEV_FATAL, s, 5);
}

static STACK_OF(X509) *pem_certs(const char *buf, size_t len)
{
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	STACK_OF(X509) *st = sk_X509_new_null();
	X509 *x;
	while (b && st && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		sk_X509_push(st, x);
	ERR_clear_error();
	BIO_free(b);
	return st;
}

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* ---- individual checks ------------------------------------------------ */

static void add_file_evidence(struct pf *pf, const char *option, const char *path, STACK_OF(X509) *certs)
{
	cJSON *f = cJSON_CreateObject();
	cJSON_AddStringToObject(f, "option", option);
	cJSON_AddStringToObject(f, "path", path);
	if (certs) {
		cJSON *a = cJSON_AddArrayToObject(f, "certs");
		for (int i = 0; i < sk_X509_num(certs); i++)
			cJSON_AddItemToArray(a, preflight_cert_json(sk_X509_value(certs, i)));
	}
	cJSON_AddItemToArray(pf->files, f);
}

static void check_validity(struct pf *pf, X509 *x, const char *role, const char *option, const char *file)
{
	char nb[64], na[64];
	asn1_time_str(X509_get0_notBefore(x), nb, sizeof(nb));
	asn1_time_str(X509_get0_notAfter(x), na, sizeof(na));
	char *subject = preflight_dn(X509_get_subject_name(x));
	struct slot s[] = {{"role", role, _(role)}, {"option", option, NULL}, {"file", file, NULL}, {"subject", subject, NULL},
		{"not_before", nb, NULL}, {"not_after", na, NULL}, {"now", pf->now, NULL}};
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) {
		report_add(pf->r, CAUSE_CERT_EXPIRED, SEV_FATAL, s, 7);
	} else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		report_add(pf->r, CAUSE_CERT_NOT_YET_VALID, SEV_FATAL, s, 7);
	} else {
		/* valid: how long for, a warning within PREFLIGHT_EXPIRY_WARN_DAYS */
		char left[2][64];
		int days = preflight_days_left(x);
		EACH_LANG(l)
			preflight_days_text(days, l, left[l], sizeof(left[l]));
		if (days < PREFLIGHT_EXPIRY_WARN_DAYS) {
			char fix[2][768];
			EACH_LANG(l)
				snprintf(fix[l], sizeof(fix[l]), L_(l, N_("issue a new certificate for %s before %s and point %s at it")),
						subject ? subject : file, na, option);
			struct slot w[] = {{"role", role, _(role)}, {"file", file, NULL}, {"subject", subject, NULL}, {"not_after", na, NULL},
				{"days", left[0], left[1]}, {"fixhint", fix[0], fix[1]}};
			report_add(pf->r, CAUSE_CERT_EXPIRING, SEV_WARNING, w, 6);
		} else {
			char pass[2][768];
			EACH_LANG(l)
				snprintf(pass[l], sizeof(pass[l]), L_(l, N_("%s certificate %s (%s) is valid until %s: %s left")), L_(l, role), file,
						subject ? subject : "?", na, left[l]);
			report_pass(pf->r, pass[0], pass[1]);
		}
	}
	free(subject);
}

static void check_strength(struct pf *pf, X509 *x, const char *role, const char *file, bool check_sig)
{
	char detail[2][512] = {"", ""}, fixhint[2][512] = {"", ""}, level[8];
	EVP_PKEY *pk = X509_get0_pubkey(x);
	int keybits = pk ? EVP_PKEY_get_security_bits(pk) : 0;
	int mdnid = NID_undef, pknid = NID_undef, secbits = -1;
	uint32_t flags = 0;
	snprintf(level, sizeof(level), "%d", pf->level);
	if (pf->minbits == 0)
		return;
	if (pk && keybits > 0 && keybits < pf->minbits) {
		EACH_LANG(l) {
			snprintf(detail[l], sizeof(detail[l]), L_(l, N_("its %s key has %d bits, which gives %d bits of security; OpenSSL's security level %d needs at least %d")),
					OBJ_nid2sn(EVP_PKEY_get_base_id(pk)), EVP_PKEY_get_bits(pk), keybits, pf->level, pf->minbits);
			snprintf(fixhint[l], sizeof(fixhint[l]), "%s", L_(l, N_("reissue it with a stronger key, e.g. openssl req -newkey rsa:2048 (or -newkey ec -pkeyopt ec_paramgen_curve:P-256)")));
		}
	} else if (check_sig && X509_get_signature_info(x, &mdnid, &pknid, &secbits, &flags)
			&& secbits >= 0 && secbits < pf->minbits) {
		EACH_LANG(l) {
			snprintf(detail[l], sizeof(detail[l]), L_(l, N_("it is signed with %s (%d bits of security); OpenSSL's security level %d needs at least %d, so the signature is rejected")),
					mdnid != NID_undef ? OBJ_nid2sn(mdnid) : L_(l, N_("a weak digest")), secbits, pf->level, pf->minbits);
			snprintf(fixhint[l], sizeof(fixhint[l]), "%s", L_(l, N_("have it re-signed with SHA-256: openssl x509 -req -sha256 ... (or openssl ca -md sha256)")));
		}
	} else {
		return;
	}
	struct slot s[] = {{"role", role, _(role)}, {"file", file, NULL}, {"level", level, NULL}, {"detail", detail[0], detail[1]},
		{"fixhint", fixhint[0], fixhint[1]}};
	report_add(pf->r, CAUSE_WEAK_CRYPTO, SEV_FATAL, s, 5);
}

static bool matches_host(X509 *x, const char *host)
{
	if (!host)
		return false;
	if (X509_check_host(x, host, 0, 0, NULL) == 1 || X509_check_ip_asc(x, host, 0) == 1)
		return true;
	char cn[256];
	int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	return n > 0 && strlen(cn) == (size_t)n && !strcasecmp(cn, host);
}

/* Would OpenSSL accept x, presented by the broker as it is, with cas as
 * the trust store? A certificate that names itself as its issuer without
 * key identifiers to tell it from its CA is taken for self-signed, found
 * in the store, and trusted as an anchor (whose signature and CA flag
 * OpenSSL does not check). */
static bool accepted_as_anchor(const struct pf *pf, X509 *x)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = false;
	for (int i = 0; store && i < sk_X509_num(pf->cas); i++)
		X509_STORE_add_cert(store, sk_X509_value(pf->cas, i));
	if (store && ctx && X509_STORE_CTX_init(ctx, store, x, NULL)) {
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
		X509_VERIFY_PARAM_set_auth_level(X509_STORE_CTX_get0_param(ctx), pf->level);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok;
}

static void check_cafile(struct pf *pf)
{
	const char *path = pf->cfg->cafile;
	char *buf;
	size_t len;
	if (!check_readable(pf, "--cafile", path, &buf, &len))
		return;
	enum content c = classify_content(buf, len, false);
	if (c != C_PEM_CERT) {
		not_pem(pf, "--cafile", path, c, false);
		free(buf);
		return;
	}
	pf->cas = pem_certs(buf, len);
	pf->cas_only_certs = !strstr(buf, "-----BEGIN TRUSTED CERTIFICATE") && !strstr(buf, "-----BEGIN X509 CRL");
	free(buf);
	if (!pf->cas || sk_X509_num(pf->cas) == 0) {
		damaged(pf, "--cafile", path, false);
		return;
	}
	add_file_evidence(pf, "--cafile", path, pf->cas);
	int ncas = 0, ncas_anchor = 0;
	for (int i = 0; i < sk_X509_num(pf->cas); i++) {
		X509 *x = sk_X509_value(pf->cas, i);
		/* a CA, or the broker's own self-signed certificate pinned as it is */
		bool pinned = X509_check_ca(x) == 0 && X509_self_signed(x, 1) == 1 && (matches_host(x, pf->cfg->host)
				|| ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) && (X509_get_extended_key_usage(x) & XKU_SSL_SERVER)));
		if (X509_check_ca(x) != 0 || pinned) {
			ncas++;
			check_validity(pf, x, N_("CA"), "--cafile", path);
			check_strength(pf, x, N_("CA"), path, X509_self_signed(x, 0) != 1);
			continue;
		}
		char *subject = preflight_dn(X509_get_subject_name(x)), *issuer = preflight_dn(X509_get_issuer_name(x));
		const char *what = N_("a leaf (end-entity) certificate");
		uint32_t xku = X509_get_extended_key_usage(x);
		if (matches_host(x, pf->cfg->host))
			what = N_("the broker's own certificate");
		else if ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) && (xku & XKU_SSL_SERVER))
			what = N_("a server certificate");
		else if ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) && (xku & XKU_SSL_CLIENT))
			what = N_("a client certificate");
		char detail[2][1024];
		/* the broker's own certificate, named like its CA: OpenSSL trusts
		 * it as it is (a CA:FALSE certificate that really signed itself
		 * stays fatal: it is not what a broker presents) */
		bool anchor = X509_self_signed(x, 1) != 1 && (X509_get_extension_flags(x) & EXFLAG_SI)
			&& (matches_host(x, pf->cfg->host) || ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) && (xku & XKU_SSL_SERVER)))
			&& accepted_as_anchor(pf, x);
		EACH_LANG(l) {
			if (anchor)
				snprintf(detail[l], sizeof(detail[l]), L_(l, N_("%s is %s (issued by %s), not a CA. It names itself as its issuer and has no key "
						"identifiers that tell it from that CA, so OpenSSL takes it for self-signed and accepts it as a trust "
						"anchor: a broker that presents exactly this certificate is verified, a renewed one will not be")),
						subject, L_(l, what), issuer);
			else
				snprintf(detail[l], sizeof(detail[l]), L_(l, N_("%s is %s (issued by %s), not a CA: it has no basicConstraints CA:TRUE / keyCertSign. "
						"OpenSSL only accepts CA certificates from --cafile as trust anchors, so the broker's certificate cannot be verified")),
						subject, L_(l, what), issuer);
		}
		struct slot s[] = {{"option", "--cafile", NULL}, {"file", path, NULL}, {"subject", subject, NULL}, {"issuer", issuer, NULL},
			{"what", what, _(what)}, {"detail", detail[0], detail[1]}};
		/* fatal when nothing usable is left in the file; a warning when
		 * OpenSSL would trust it anyway (the run would disprove a stop) */
		report_add(pf->r, CAUSE_CAFILE_NOT_CA, anchor ? SEV_WARNING : SEV_FATAL, s, 6);
		if (anchor)
			ncas_anchor++;
		free(subject);
		free(issuer);
	}
	if (ncas + ncas_anchor > 0 && (size_t)ncas < (size_t)sk_X509_num(pf->cas)) {
		/* some usable CAs remain: the leaves are a warning only */
		for (size_t i = 0; i < pf->r->n; i++)
			if (pf->r->v[i].cause == CAUSE_CAFILE_NOT_CA)
				pf->r->v[i].sev = SEV_WARNING;
	}
	if (sk_X509_num(pf->cas) > 0 && ncas > 0) {
		char msg[2][512];
		EACH_LANG(l)
			snprintf(msg[l], sizeof(msg[l]), LN_(l, "--cafile %s: %d CA certificate", "--cafile %s: %d CA certificates",
					(unsigned long)ncas), path, ncas);
		report_pass(pf->r, msg[0], msg[1]);
	}
}

static void check_capath(struct pf *pf)
{
	const char *path = pf->cfg->capath;
	DIR *d = opendir(path);
	if (!d) {
		char detail[2][512];
		int e = errno;
		EACH_LANG(l)
			snprintf(detail[l], sizeof(detail[l]), "%s: %s", path, e == ENOTDIR
					? L_(l, N_("not a directory; a single CA file is given with --cafile")) : strerror(e));
		struct slot s[] = {{"option", "--capath", NULL}, {"file", path, NULL}, {"detail", detail[0], detail[1]}};
		report_add(pf->r, CAUSE_FILE_UNREADABLE, SEV_FATAL, s, 3);
		return;
	}
	closedir(d);
	char msg[2][512];
	EACH_LANG(l)
		snprintf(msg[l], sizeof(msg[l]), L_(l, N_("--capath %s: readable directory")), path);
	report_pass(pf->r, msg[0], msg[1]);
}

static void check_cert(struct pf *pf)
{
	const char *path = pf->cfg->certfile;
	char *buf;
	size_t len;
	if (!check_readable(pf, "--cert", path, &buf, &len))
		return;
	enum content c = classify_content(buf, len, false);
	if (c != C_PEM_CERT) {
		not_pem(pf, "--cert", path, c, false);
		free(buf);
		return;
	}
	pf->extra = pem_certs(buf, len);
	free(buf);
	add_file_evidence(pf, "--cert", path, pf->extra);
	pf->cert = sk_X509_shift(pf->extra);
	if (!pf->cert) {
		damaged(pf, "--cert", path, false);
		return;
	}
	X509 *x = pf->cert;
	check_validity(pf, x, N_("client"), "--cert", path);
	check_strength(pf, x, N_("client"), path, true);
	uint32_t flags = X509_get_extension_flags(x);
	if ((flags & EXFLAG_XKUSAGE) && !(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT)) {
		char eku[256] = "";
		uint32_t xku = X509_get_extended_key_usage(x);
		static const struct { uint32_t bit; const char *name; } names[] = {
			{XKU_SSL_SERVER, "serverAuth"}, {XKU_SMIME, "emailProtection"}, {XKU_CODE_SIGN, "codeSigning"},
			{XKU_OCSP_SIGN, "OCSPSigning"}, {XKU_TIMESTAMP, "timeStamping"},
		};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (xku & names[i].bit)
				snprintf(eku + strlen(eku), sizeof(eku) - strlen(eku), "%s%s", eku[0] ? ", " : "", names[i].name);
		struct slot s[] = {{"file", path, NULL}, {"eku", eku[0] ? eku : N_("(other purposes)"), eku[0] ? NULL : _("(other purposes)")}};
		report_add(pf->r, CAUSE_CERT_NOT_FOR_CLIENT, SEV_FATAL, s, 2);
	}
}

static void check_key(struct pf *pf)
{
	const char *path = pf->cfg->keyfile;
	char *buf;
	size_t len;
	if (!check_readable(pf, "--key", path, &buf, &len))
		return;
	enum content c = classify_content(buf, len, true);
	if (c != C_PEM_KEY) {
		not_pem(pf, "--key", path, c, true);
		explicit_bzero(buf, len);
		free(buf);
		return;
	}
	pf->key_encrypted = strstr(buf, "ENCRYPTED") != NULL;
	add_file_evidence(pf, "--key", path, NULL);
	if (!pf->key_encrypted) {
		pf->key = tls_read_key(buf, len, pf->cert, no_passphrase);
		if (!pf->key)
			damaged(pf, "--key", path, true);
	}
	explicit_bzero(buf, len);
	free(buf);
}

static void check_pair(struct pf *pf, bool interactive)
{
	const char *key = pf->cfg->keyfile;
	if (pf->key_encrypted) {
		struct slot s[] = {{"file", key, NULL}};
		report_add(pf->r, CAUSE_KEY_ENCRYPTED, interactive ? SEV_WARNING : SEV_FATAL, s, 1);
		return;
	}
	if (!pf->cert || !pf->key)
		return;
	if (X509_check_private_key(pf->cert, pf->key) != 1) {
		char *subject = preflight_dn(X509_get_subject_name(pf->cert));
		struct slot s[] = {{"file", key, NULL}, {"cert", pf->cfg->certfile, NULL}, {"subject", subject, NULL}};
		report_add(pf->r, CAUSE_KEY_MISMATCH, SEV_FATAL, s, 3);
		free(subject);
	} else {
		char msg[2][512];
		EACH_LANG(l)
			snprintf(msg[l], sizeof(msg[l]), L_(l, N_("--key %s matches --cert %s")), key, pf->cfg->certfile);
		report_pass(pf->r, msg[0], msg[1]);
	}
	ERR_clear_error();
}


const char *preflight_tls_off(const struct config *cfg, int port, char *buf, size_t len)
{
	if ((!cfg->certfile && !cfg->keyfile) || tls_wanted(cfg, port))
		return NULL;
	/* text only (a warning, a --check line): in the user's language */
	const char *fmt = cfg->certfile && cfg->keyfile
		? N_("TLS is off: no --cafile, --capath or --tls-use-os-certs was given, so --cert and --key are ignored and the "
			"connection to port %d is plain MQTT")
		: cfg->certfile ? N_("TLS is off: no --cafile, --capath or --tls-use-os-certs was given, so --cert is ignored and the "
			"connection to port %d is plain MQTT")
		: N_("TLS is off: no --cafile, --capath or --tls-use-os-certs was given, so --key is ignored and the "
			"connection to port %d is plain MQTT");
	snprintf(buf, len, _(fmt), port);
	return buf;
}

bool preflight_applies(const struct config *cfg)
{
	return cfg->cafile || cfg->capath || cfg->certfile || cfg->keyfile;
}

/* Hand what was parsed to the TLS context (see tls_files): only what
 * tls_init would read the same way from the file. */
static void hand_over(struct pf *pf, struct tls_files *keep)
{
	if (!keep || report_count(pf->r, SEV_FATAL))
		return;
	if (pf->cas && pf->cas_only_certs && sk_X509_num(pf->cas) > 0 && !keep->cas) {
		keep->cas = pf->cas;
		pf->cas = NULL;
	}
	if (pf->cert && pf->key && !keep->cert && !keep->key) {
		keep->cert = pf->cert;
		keep->chain = pf->extra;
		keep->key = pf->key;
		pf->cert = NULL;
		pf->extra = NULL;
		pf->key = NULL;
	}
}

int preflight_run(const struct config *cfg, bool interactive, struct report *r, struct tls_files *keep)
{
	struct pf pf;
	memset(&pf, 0, sizeof(pf));
	pf.cfg = cfg;
	pf.r = r;
	report_origins(r, cfg); /* a file from a profile says so */
	static const int bits[] = {0, 80, 112, 128, 192, 256};
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	pf.level = ctx ? SSL_CTX_get_security_level(ctx) : 1;
	if (keep && !keep->spare_ctx)
		keep->spare_ctx = ctx; /* untouched: the first attempt's context */
	else
		SSL_CTX_free(ctx);
	if (cfg->tls_version && (!strcmp(cfg->tls_version, "tlsv1") || !strcmp(cfg->tls_version, "tlsv1.1")))
		pf.level = 0;
	pf.minbits = (pf.level >= 0 && pf.level <= 5) ? bits[pf.level] : 112;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	tm_str(&tm, pf.now, sizeof(pf.now));
	pf.files = cJSON_AddArrayToObject(r->evidence, "files");
	cJSON_AddNumberToObject(r->evidence, "security_level", pf.level);

	if (cfg->cafile)
		check_cafile(&pf);
	if (cfg->capath)
		check_capath(&pf);
	if (cfg->certfile)
		check_cert(&pf);
	if (cfg->keyfile)
		check_key(&pf);
	check_pair(&pf, interactive);
	preflight_check_same_name(&pf);
	preflight_check_chain(&pf);
	hand_over(&pf, keep);

	sk_X509_pop_free(pf.cas, X509_free);
	sk_X509_pop_free(pf.extra, X509_free);
	X509_free(pf.cert);
	EVP_PKEY_free(pf.key);
	ERR_clear_error();
	return (int)report_count(r, SEV_FATAL);
}

