/* utf8: telling valid UTF-8 from bytes that are not, for text that came
 * from a peer or the command line (an HTTP reason phrase, a WebSocket close
 * reason, a host) before it goes into an explanation or the JSON line.
 * Bytes that are not UTF-8 are written as the text \xNN. Pure. */
#ifndef SMQTT_UTF8_H
#define SMQTT_UTF8_H

#include <stddef.h>

/* The length (1 to 4) of the valid UTF-8 sequence at s[0..n), or 0 when
 * s[0] does not start one (overlong forms, surrogates and code points
 * above U+10FFFF are not valid). */
size_t utf8_seq_len(const unsigned char *s, size_t n);

/* Copy v[0..n) to out (size bytes, NUL-terminated, cut at a whole
 * character): valid UTF-8 as it is, control bytes as '?', any other
 * byte as \xNN. */
void utf8_copy_cut(char *out, size_t size, const char *v, size_t n);

/* s (NUL-terminated) with every byte that is not valid UTF-8 as \xNN, or
 * with json set, as \\xNN (s being JSON text, the backslash escaped).
 * Allocated; NULL when out of memory. */
char *utf8_escape(const char *s, int json);

#endif
