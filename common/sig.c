/* Signatures over canonical byte strings. */
#include "sig.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

void canon_init(struct canon *c)
{
	memset(c, 0, sizeof(*c));
}

void canon_free(struct canon *c)
{
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

static void canon_put(struct canon *c, const void *p, size_t n)
{
	if (c->failed)
		return;
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 256;
		uint8_t *nb;
		while (cap < c->len + n)
			cap *= 2;
		nb = realloc(c->buf, cap);
		if (nb == NULL) {
			c->failed = 1;
			return;
		}
		c->buf = nb;
		c->cap = cap;
	}
	if (n > 0)
		memcpy(c->buf + c->len, p, n);
	c->len += n;
}

void canon_u8(struct canon *c, uint8_t v)
{
	canon_put(c, &v, 1);
}

void canon_u32(struct canon *c, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	canon_put(c, b, sizeof(b));
}

void canon_u64(struct canon *c, uint64_t v)
{
	canon_u32(c, (uint32_t)(v >> 32));
	canon_u32(c, (uint32_t)v);
}

void canon_bytes(struct canon *c, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		c->failed = 1;
		return;
	}
	canon_u32(c, (uint32_t)n);
	canon_put(c, p, n);
}

void canon_str(struct canon *c, const char *s)
{
	canon_bytes(c, s, strlen(s));
}

static const EVP_MD *md_for(EVP_PKEY *key)
{
	return EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256();
}

int sig_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = -1;

	if (md == NULL)
		return -1;
	if (EVP_DigestSignInit(md, NULL, md_for(key), NULL, key) == 1 &&
	    EVP_DigestSign(md, sig, siglen, msg, len) == 1)
		rc = 0;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

int sig_verify(EVP_PKEY *pub, const uint8_t *msg, size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = 0;

	if (md == NULL)
		return 0;
	if (EVP_DigestVerifyInit(md, NULL, md_for(pub), NULL, pub) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, msg, len) == 1)
		ok = 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

int canon_sign(EVP_PKEY *key, const struct canon *c, uint8_t *sig, size_t *siglen)
{
	if (c->failed)
		return -1;
	return sig_sign(key, c->buf, c->len, sig, siglen);
}

int canon_verify(EVP_PKEY *pub, const struct canon *c, const uint8_t *sig, size_t siglen)
{
	if (c->failed)
		return 0;
	return sig_verify(pub, c->buf, c->len, sig, siglen);
}
