/* utf8: valid UTF-8 or \xNN, for peer text in explanations and JSON. */
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	if (!n)
		return 0;
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned lo = 0x80, hi = 0xbf; /* the second byte's range */
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

void utf8_copy_cut(char *out, size_t size, const char *v, size_t n)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t o = 0;
	if (!size)
		return;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(s + i, n - i);
		if (l == 1) {
			if (o + 1 >= size)
				break;
			out[o++] = s[i] < 0x20 || s[i] == 0x7f ? '?' : (char)s[i];
		} else if (l) {
			if (o + l >= size)
				break;
			memcpy(out + o, s + i, l);
			o += l;
		} else {
			if (o + 4 >= size)
				break;
			snprintf(out + o, size - o, "\\x%02x", s[i]);
			o += 4;
			l = 1;
		}
		i += l;
	}
	out[o] = '\0';
}

char *utf8_escape(const char *str, int json)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	char *out = malloc(n * 5 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq_len(s + i, n - i);
		if (l) {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
			continue;
		}
		o += (size_t)snprintf(out + o, 6, json ? "\\\\x%02x" : "\\x%02x", s[i]);
		i++;
	}
	out[o] = '\0';
	return out;
}
