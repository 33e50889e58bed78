/* Ad-hoc overlays: the join code and the CA key and overlay name derived
 * from it (docs/adhoc.md). Pure but for randomness; no files, no network. */
#include "adhoc.h"

#include "util.h"

#include <ctype.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#define ADHOC_KEY_TRIES 16 /* each retry has odds 2^-32 of being needed */

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* The order n of P-256's group, big-endian. */
static const uint8_t p256_order[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
	0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

int adhoc_code_new(char *out, size_t outlen)
{
	uint8_t r[ADHOC_CODE_CHARS];
	size_t pos = 0;

	if (outlen < ADHOC_CODE_CHARS + ADHOC_CODE_CHARS / 5 || RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	for (int i = 0; i < ADHOC_CODE_CHARS; i++) {
		if (i > 0 && i % 5 == 0)
			out[pos++] = '-';
		out[pos++] = b32[r[i] & 31]; /* 256 is a multiple of 32: no bias */
	}
	out[pos] = '\0';
	OPENSSL_cleanse(r, sizeof(r));
	return 0;
}

int adhoc_code_normalize(const char *in, char *out, size_t outlen, char *err, size_t errlen)
{
	size_t n = 0;

	for (const char *p = in; *p != '\0'; p++) {
		int c = toupper((unsigned char)*p);
		if (c == '-' || c == ' ')
			continue;
		if (strchr(b32, c) == NULL || c == '\0') {
			err_set(err, errlen,
				"the join code has a character other than A-Z, 2-7 and -");
			return -1;
		}
		if (n >= ADHOC_CODE_MAX || n + 1 >= outlen) {
			err_set(err, errlen, "the join code is longer than %d characters",
				ADHOC_CODE_MAX);
			return -1;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	if (n < ADHOC_CODE_CHARS) {
		err_set(err, errlen, "the join code has %zu characters, at least %d needed", n,
			ADHOC_CODE_CHARS);
		return -1;
	}
	return 0;
}

int adhoc_seed(const char *code, uint8_t seed[ADHOC_SEED_LEN])
{
	/* scrypt needs 128 * r * N * p bytes; allow that plus slack. */
	uint64_t maxmem = 128ULL * ADHOC_SCRYPT_R * ADHOC_SCRYPT_N * ADHOC_SCRYPT_P + (1u << 20);
	int ok = EVP_PBE_scrypt(code, strlen(code), (const unsigned char *)ADHOC_SALT,
				strlen(ADHOC_SALT), ADHOC_SCRYPT_N, ADHOC_SCRYPT_R, ADHOC_SCRYPT_P,
				maxmem, seed, ADHOC_SEED_LEN);

	ERR_clear_error();
	return ok == 1 ? 0 : -1;
}

/* 1 if the big-endian k is a private scalar: 0 < k < n. */
static int scalar_ok(const uint8_t k[32])
{
	static const uint8_t zero[32];

	return memcmp(k, zero, 32) != 0 && memcmp(k, p256_order, 32) < 0;
}

/* SEC1 ECPrivateKey { version 1, privateKey, [0] prime256v1 } without the
 * public key, which OpenSSL computes when it loads it. */
static EVP_PKEY *key_from_scalar(const uint8_t k[32])
{
	static const uint8_t head[] = {0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20};
	static const uint8_t tail[] = {0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86,
				       0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	uint8_t der[sizeof(head) + 32 + sizeof(tail)];
	const unsigned char *p = der;
	EVP_PKEY *key;

	memcpy(der, head, sizeof(head));
	memcpy(der + sizeof(head), k, 32);
	memcpy(der + sizeof(head) + 32, tail, sizeof(tail));
	key = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)sizeof(der));
	OPENSSL_cleanse(der, sizeof(der));
	ERR_clear_error();
	return key;
}

EVP_PKEY *adhoc_ca_key(const uint8_t seed[ADHOC_SEED_LEN])
{
	uint8_t k[32], buf[ADHOC_SEED_LEN + 1];
	EVP_PKEY *key = NULL;

	memcpy(k, seed, 32);
	memcpy(buf, seed, ADHOC_SEED_LEN);
	for (int i = 1; i <= ADHOC_KEY_TRIES && !scalar_ok(k); i++) {
		buf[ADHOC_SEED_LEN] = (uint8_t)i;
		SHA256(buf, sizeof(buf), k);
	}
	if (scalar_ok(k))
		key = key_from_scalar(k);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(buf, sizeof(buf));
	return key;
}

/* SHA-256 of a label and the seed: a value of its own for each use, so
 * that the public ones (name, serial) say nothing of the private scalar. */
static void labelled(const char *label, const uint8_t seed[ADHOC_SEED_LEN], uint8_t out[32])
{
	uint8_t buf[64 + ADHOC_SEED_LEN];
	size_t n = strlen(label);

	memcpy(buf, label, n); /* labels are the short literals below */
	memcpy(buf + n, seed, ADHOC_SEED_LEN);
	SHA256(buf, n + ADHOC_SEED_LEN, out);
	OPENSSL_cleanse(buf, sizeof(buf));
}

void adhoc_ca_serial(const uint8_t seed[ADHOC_SEED_LEN], char out[33])
{
	uint8_t h[32];

	labelled("p2psip-adhoc-serial v1", seed, h);
	h[0] = (uint8_t)((h[0] & 0x3f) | 0x40); /* as logind's: positive, fixed length */
	hex_encode(h, 16, out);
}

void adhoc_overlay_name(const uint8_t seed[ADHOC_SEED_LEN], char *out, size_t outlen)
{
	uint8_t h[32];

	labelled("p2psip-adhoc-name v1", seed, h);
	snprintf(out, outlen, "adhoc-%02x%02x%02x%02x.p2psip", h[0], h[1], h[2], h[3]);
}
