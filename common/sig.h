/* Signatures over canonical byte strings: a builder that encodes fields
 * unambiguously (length-prefixed), and ECDSA P-256 / Ed25519 sign and verify. */
#ifndef P2PSIP_SIG_H
#define P2PSIP_SIG_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define SIG_MAX 80 /* a DER ECDSA P-256 signature is at most 72 bytes */

struct canon {
	uint8_t *buf;
	size_t len, cap;
	int failed; /* set when an allocation failed; checked by the signer */
};

void canon_init(struct canon *c);
void canon_free(struct canon *c);
void canon_u8(struct canon *c, uint8_t v);
void canon_u32(struct canon *c, uint32_t v);
void canon_u64(struct canon *c, uint64_t v);
/* 32-bit big-endian length, then the bytes. */
void canon_bytes(struct canon *c, const void *p, size_t n);
void canon_str(struct canon *c, const char *s);

/* 0, or -1; *siglen is in/out. SHA-256 for ECDSA, pure Ed25519 otherwise. */
int sig_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen);
/* 1 when the signature is valid, 0 otherwise. */
int sig_verify(EVP_PKEY *pub, const uint8_t *msg, size_t len, const uint8_t *sig, size_t siglen);
int canon_sign(EVP_PKEY *key, const struct canon *c, uint8_t *sig, size_t *siglen);
int canon_verify(EVP_PKEY *pub, const struct canon *c, const uint8_t *sig, size_t siglen);

#endif
