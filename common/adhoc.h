/* Ad-hoc overlays (docs/adhoc.md): the join code, and what every machine
 * that knows it derives alike: the overlay CA's key and the overlay name. */
#ifndef P2PSIP_ADHOC_H
#define P2PSIP_ADHOC_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define ADHOC_CODE_CHARS 20 /* base32 characters of a new code: 100 bits */
#define ADHOC_CODE_MAX 64   /* characters of a code given, dashes removed */
#define ADHOC_CODE_TEXT_MAX (ADHOC_CODE_MAX + ADHOC_CODE_MAX / 5 + 1)
#define ADHOC_SEED_LEN 32
/* scrypt's cost: 32 MiB and 0.1 to 0.3 s per guess of the code. */
#define ADHOC_SCRYPT_N (1u << 15)
#define ADHOC_SCRYPT_R 8
#define ADHOC_SCRYPT_P 1
#define ADHOC_SALT "p2psip-adhoc-ca v1"
#define ADHOC_NAME_MAX 64       /* "adhoc-" 8 hex digits ".p2psip" fits */
#define ADHOC_CODE_FILE_MAX 256 /* bytes of a file holding a join code */

/* A new random code, ADHOC_CODE_CHARS of RFC 4648 base32 in groups of five
 * joined by dashes ("ABCDE-FGHIJ-..."): 0, or -1 without randomness. */
int adhoc_code_new(char *out, size_t outlen);
/* The form a code is derived from: dashes and spaces dropped, letters in
 * upper case. -1 (err says why) unless ADHOC_CODE_CHARS..ADHOC_CODE_MAX
 * base32 characters remain. */
int adhoc_code_normalize(const char *in, char *out, size_t outlen, char *err, size_t errlen);
/* scrypt of the normalized code with ADHOC_SALT: 0 or -1. */
int adhoc_seed(const char *code, uint8_t seed[ADHOC_SEED_LEN]);
/* The CA's P-256 key from the seed: the seed as the private scalar, or
 * SHA-256(seed || counter) in the rare case it is not below the group
 * order. The caller frees it; NULL on failure. */
EVP_PKEY *adhoc_ca_key(const uint8_t seed[ADHOC_SEED_LEN]);
/* The CA certificate's serial (32 hex digits, positive) from the seed. */
void adhoc_ca_serial(const uint8_t seed[ADHOC_SEED_LEN], char out[33]);
/* The overlay name, "adhoc-<8 hex digits>.p2psip", from the seed. */
void adhoc_overlay_name(const uint8_t seed[ADHOC_SEED_LEN], char *out, size_t outlen);

#endif
