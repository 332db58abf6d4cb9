/* sha256: SHA-256 (FIPS 180-4) without OpenSSL, for the keeper's key: in
 * OpenSSL 3 the first digest loads its providers, which cost a run served
 * by a keeper more instructions than all the rest of it. */
#ifndef SMQTT_SHA256_H
#define SMQTT_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;        /* bytes hashed so far */
	unsigned char buf[64];
	size_t fill;         /* bytes in buf */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, unsigned char out[32]);

#endif
