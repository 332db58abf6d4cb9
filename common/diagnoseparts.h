/* diagnoseparts: what the files of diagnose (diagnose.c, diagnosetls.c,
 * diagnosews.c) share: the slots a finding is filled with, the helpers
 * that fill them, and the stage-specific fillers. Other modules use
 * diagnose.h only. */
#ifndef SMQTT_DIAGNOSEPARTS_H
#define SMQTT_DIAGNOSEPARTS_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/x509.h>
#include "explain.h"
#include "options.h"
#include "report.h"
#include "tls.h"

#define NSLOTS 16

struct facts {
	struct slot s[NSLOTS];
	size_t n;
	char buf[NSLOTS][1536];
	char local[NSLOTS][1536];
};

static inline void put(struct facts *f, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline void put(struct facts *f, const char *name, const char *fmt, ...)
{
	if (f->n >= NSLOTS)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->buf[f->n], sizeof(f->buf[0]), fmt, ap);
	va_end(ap);
	f->s[f->n].name = name;
	f->s[f->n].value = f->buf[f->n];
	f->n++;
}

/* A sentence slot, built once per language: lang 0 (English) adds the slot,
 * lang 1 gives the last slot of that name its local value. */
static inline void say(struct facts *f, int lang, const char *name, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline void say(struct facts *f, int lang, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (!lang) {
		if (f->n < NSLOTS) {
			vsnprintf(f->buf[f->n], sizeof(f->buf[0]), fmt, ap);
			f->s[f->n].name = name;
			f->s[f->n].value = f->buf[f->n];
			f->s[f->n].local = NULL;
			f->n++;
		}
	} else {
		for (size_t i = f->n; i-- > 0; ) {
			if (!strcmp(f->s[i].name, name)) {
				vsnprintf(f->local[i], sizeof(f->local[0]), fmt, ap);
				f->s[i].local = f->local[i];
				break;
			}
		}
	}
	va_end(ap);
}

/* A DN as one line (RFC 2253 order, ", " between parts); a time as
 * "YYYY-MM-DD HH:MM:SS UTC", "?" when unknown. (diagnose.c) */
void diagnose_name(const X509_NAME *n, char *buf, size_t len);
void diagnose_when(const ASN1_TIME *t, char *buf, size_t len);
/* OpenSSL's text for an error reason of the evidence, "none" for 0. */
const char *diagnose_reason_text(int reason);

/* The TLS stage (diagnosetls.c): the broker's certificate did not verify;
 * the broker rejected ours; the versions did not meet. */
void diagnose_fill_tls_verify(struct facts *f, enum cause c, const struct evidence *ev, const struct tls *t,
		const struct config *cfg);
void diagnose_fill_rejected(struct facts *f, enum cause c, const struct evidence *ev, const struct config *cfg);
void diagnose_fill_versions(struct facts *f, const struct evidence *ev, const struct config *cfg);

/* The WebSocket upgrade and the proxy (diagnosews.c). */
void diagnose_fill_ws(struct facts *f, enum cause c, const struct evidence *ev, int seconds);
void diagnose_fill_proxy(struct facts *f, enum cause c, const struct evidence *ev, const struct config *cfg, int seconds);

#endif
