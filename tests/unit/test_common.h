/* test_common.h: small helpers shared by the cmocka unit tests: argv
 * building, and running a table of rows as one cmocka test per row. */
#ifndef SMQTT_TEST_COMMON_H
#define SMQTT_TEST_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* A growable list of cmocka tests, so that every table row is reported
 * (and can fail) on its own, under the row's name. */
struct test_list {
	struct CMUnitTest *t;
	size_t n, cap;
	char **names; /* names allocated by test_list_addf */
	size_t nnames;
};

static inline void test_list_add(struct test_list *l, const char *name,
		CMUnitTestFunction fn, void *state)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->t = realloc(l->t, l->cap * sizeof(*l->t));
		if (!l->t)
			abort();
	}
	l->t[l->n++] = (struct CMUnitTest){
		.name = name, .test_func = fn, .setup_func = NULL,
		.teardown_func = NULL, .initial_state = state,
	};
}

__attribute__((format(printf, 4, 5)))
static inline void test_list_addf(struct test_list *l, CMUnitTestFunction fn,
		void *state, const char *fmt, ...)
{
	char *name = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&name, fmt, ap) < 0)
		abort();
	va_end(ap);
	l->names = realloc(l->names, (l->nnames + 1) * sizeof(char *));
	if (!l->names)
		abort();
	l->names[l->nnames++] = name;
	test_list_add(l, name, fn, state);
}

static inline int test_list_run(struct test_list *l, const char *group)
{
	int failed = _cmocka_run_group_tests(group, l->t, l->n, NULL, NULL);
	for (size_t i = 0; i < l->nnames; i++)
		free(l->names[i]);
	free(l->names);
	free(l->t);
	memset(l, 0, sizeof(*l));
	return failed;
}

/* argv built from a NULL-terminated list of words, with "prog" in front;
 * every word is a separate heap copy so out-of-bounds reads are caught. */
struct argv_buf {
	int argc;
	char *argv[64];
};

static inline void argv_build(struct argv_buf *a, const char *const *words)
{
	a->argc = 0;
	a->argv[a->argc++] = strdup("prog");
	for (size_t i = 0; words && words[i]; i++) {
		if (a->argc >= 63)
			abort();
		a->argv[a->argc++] = strdup(words[i]);
	}
	a->argv[a->argc] = NULL;
}

static inline void argv_free(struct argv_buf *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->argv[i]);
	a->argc = 0;
}

/* Compare bytes, printing both sides readably when they differ. */
static inline void dump_bytes(const char *label, const char *p, size_t n)
{
	fprintf(stderr, "%s (%zu bytes): \"", label, n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\\')
			fputs("\\\\", stderr);
		else if (c == '"')
			fputs("\\\"", stderr);
		else if (c >= 32 && c < 127)
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fputs("\"\n", stderr);
}

static inline void assert_bytes_equal(const char *want, size_t wantlen,
		const char *got, size_t gotlen)
{
	if (wantlen != gotlen || (wantlen && memcmp(want, got, wantlen))) {
		dump_bytes("expected", want, wantlen);
		dump_bytes("actual  ", got ? got : "", got ? gotlen : 0);
		fail_msg("output differs");
	}
}

#endif
