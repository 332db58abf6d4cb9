/* outbuf: a growable byte buffer that output is rendered into before it is
 * written, so that rendering stays pure and stdout is written in big chunks. */
#ifndef SMQTT_OUTBUF_H
#define SMQTT_OUTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct outbuf {
	char *data;
	size_t len;
	size_t cap;
	bool oom; /* an allocation failed; contents are incomplete */
};

void outbuf_init(struct outbuf *b);
void outbuf_free(struct outbuf *b);
void outbuf_reset(struct outbuf *b);
void outbuf_write(struct outbuf *b, const void *data, size_t len);
void outbuf_putc(struct outbuf *b, char c);
void outbuf_puts(struct outbuf *b, const char *s);
void outbuf_printf(struct outbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void outbuf_pad(struct outbuf *b, char c, int count);

#endif
