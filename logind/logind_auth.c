/* Password hashing with scrypt through OpenSSL's KDF interface. */
#include "logind_auth.h"

#include "util.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_LEN 16
#define HASH_LEN 32

static int scrypt(const char *pw, size_t pwlen, const uint8_t *salt, const struct pw_params *p,
		  uint8_t *out)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	/* scrypt needs 128 * r * N * p bytes; allow that plus slack. */
	uint64_t maxmem = 128ULL * p->r * p->n * p->p + (16u << 20);
	uint64_t n = p->n;
	uint32_t r = p->r, pp = p->p;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pw, pwlen),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, SALT_LEN),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &pp),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
		OSSL_PARAM_construct_end(),
	};
	int rc = -1;

	if (ctx != NULL && EVP_KDF_derive(ctx, out, HASH_LEN, params) == 1)
		rc = 0;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	ERR_clear_error();
	return rc;
}

int pw_hash(const char *pw, size_t pwlen, const struct pw_params *p, char *out, size_t outlen)
{
	uint8_t salt[SALT_LEN];
	uint8_t hash[HASH_LEN];
	char salt_hex[2 * SALT_LEN + 1];
	char hash_hex[2 * HASH_LEN + 1];
	int n;

	if (RAND_bytes(salt, sizeof(salt)) != 1 || scrypt(pw, pwlen, salt, p, hash) < 0)
		return -1;
	hex_encode(salt, sizeof(salt), salt_hex);
	hex_encode(hash, sizeof(hash), hash_hex);
	OPENSSL_cleanse(hash, sizeof(hash));
	n = snprintf(out, outlen, "$scrypt$n=%llu,r=%u,p=%u$%s$%s", (unsigned long long)p->n, p->r,
		     p->p, salt_hex, hash_hex);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int pw_parse(const char *stored, struct pw_params *p, uint8_t salt[16], uint8_t hash[32])
{
	unsigned long long n;
	unsigned r, pp;
	char salt_hex[2 * SALT_LEN + 1];
	char hash_hex[2 * HASH_LEN + 1];
	int used = 0;

	if (strlen(stored) >= PW_HASH_MAX)
		return -1;
	if (sscanf(stored, "$scrypt$n=%llu,r=%u,p=%u$%32[0-9A-F]$%64[0-9A-F]%n", &n, &r, &pp,
		   salt_hex, hash_hex, &used) != 5 ||
	    stored[used] != '\0')
		return -1;
	if (n < 2 || (n & (n - 1)) != 0 || r == 0 || pp == 0 || r > 64 || pp > 64 ||
	    n > (1ULL << 22))
		return -1;
	if (hex_decode(salt_hex, salt, SALT_LEN) < 0 || hex_decode(hash_hex, hash, HASH_LEN) < 0)
		return -1;
	p->n = n;
	p->r = r;
	p->p = pp;
	return 0;
}

int pw_verify(const char *pw, size_t pwlen, const char *stored, const struct pw_params *current,
	      int *outdated)
{
	struct pw_params p;
	uint8_t salt[SALT_LEN], want[HASH_LEN], got[HASH_LEN];
	int ok;

	*outdated = 0;
	if (pw_parse(stored, &p, salt, want) < 0)
		return -1;
	if (scrypt(pw, pwlen, salt, &p, got) < 0)
		return -1;
	ok = CRYPTO_memcmp(got, want, HASH_LEN) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	if (current != NULL)
		*outdated = p.n != current->n || p.r != current->r || p.p != current->p;
	return ok;
}
