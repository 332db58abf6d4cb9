/* outbuf: growable byte buffer (see outbuf.h). */
#include "outbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void outbuf_init(struct outbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void outbuf_free(struct outbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void outbuf_reset(struct outbuf *b)
{
	b->len = 0;
	b->oom = false;
}

static bool reserve(struct outbuf *b, size_t extra)
{
	if (b->oom)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1) {
		if (cap > ((size_t)-1) / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *g = realloc(b->data, cap);
	if (!g) {
		b->oom = true;
		return false;
	}
	b->data = g;
	b->cap = cap;
	return true;
}

void outbuf_write(struct outbuf *b, const void *data, size_t len)
{
	if (!len || !reserve(b, len))
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void outbuf_putc(struct outbuf *b, char c)
{
	outbuf_write(b, &c, 1);
}

void outbuf_puts(struct outbuf *b, const char *s)
{
	outbuf_write(b, s, strlen(s));
}

void outbuf_pad(struct outbuf *b, char c, int count)
{
	if (count <= 0 || !reserve(b, (size_t)count))
		return;
	memset(b->data + b->len, c, (size_t)count);
	b->len += (size_t)count;
	b->data[b->len] = '\0';
}

void outbuf_printf(struct outbuf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0 && reserve(b, (size_t)n)) {
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
		b->len += (size_t)n;
	}
	va_end(ap2);
}
