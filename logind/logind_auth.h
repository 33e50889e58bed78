/* Password hashing with scrypt: "$scrypt$n=N,r=R,p=P$SALT$HASH" strings,
 * verified in constant time. Slow on purpose: call from worker threads. */
#ifndef P2PSIP_LOGIND_AUTH_H
#define P2PSIP_LOGIND_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define PASSWORD_MAX 1024
#define PW_HASH_MAX 256
#define SERIAL_HEX_LEN 32

struct pw_params {
	uint64_t n;
	uint32_t r, p;
};

/* Hashes pw with a fresh random salt. 0, or -1 on failure. */
int pw_hash(const char *pw, size_t pwlen, const struct pw_params *p, char *out, size_t outlen);
/* 1 if pw matches stored, 0 if not, -1 if stored is malformed. *outdated is
 * set when the stored parameters differ from current (rehash on success). */
int pw_verify(const char *pw, size_t pwlen, const char *stored, const struct pw_params *current,
	      int *outdated);
/* Parses the parameters of a stored hash. */
int pw_parse(const char *stored, struct pw_params *p, uint8_t salt[16], uint8_t hash[32]);

#endif
