/* SIP sealed end to end between ordinary nodes: ECDH between account
 * certificates, HKDF per direction and hour, AES-256-GCM, a replay cache. */
#include "seal.h"

#include "certcheck.h"
#include "jsonx.h"
#include "log.h"
#include "record.h"
#include "sig.h"
#include "util.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_LABEL "p2psip-seal-v1"
#define IV_LEN 12
#define TAG_LEN 16
#define KEY_LEN 32
#define Z_LEN 32
#define PARSED_SLOTS 512 /* parsed sender certificates, by the hash of their DER */
#define EPOCH_MS 3600000ull

/* An open-addressing index (linear probing, backward-shift deletion) of
 * 16-byte keys. Slots hold the entry's position + 1 (0: empty); the key is
 * read from the entry itself, which keeps the replay index at 4 bytes a
 * slot. The hash is seeded per process, so that a peer cannot choose keys
 * that pile up in one run of slots. */
struct kmap {
	uint32_t *slot;
	size_t mask;
	uint64_t seed;
	const uint8_t *(*key)(const void *owner, uint32_t pos);
	const void *owner;
};

struct own {
	EVP_PKEY *key;
	X509 *cert;
	char *cert_b64; /* its DER in base64, as every envelope carries it */
	uint8_t id[NODE_ID_LEN];
};

struct peer {
	X509 *cert;
	uint8_t id[NODE_ID_LEN];
};

struct secret {
	uint8_t key[16]; /* hash of own id || peer id */
	uint8_t z[Z_LEN];
};

struct seen {
	uint8_t key[16]; /* keyed hash of sender id || IV */
	uint64_t ts;
};

struct parsed {
	uint8_t fp[32];
	X509 *cert;
};

struct seal {
	struct certcheck *cc;
	char overlay[256];
	struct own *own;
	size_t n_own;
	struct peer peers[SEAL_PEERS_MAX];
	size_t peer_next, n_peers;
	struct kmap peer_ix;
	struct secret secrets[SEAL_SECRETS_MAX];
	size_t secret_next, n_secrets;
	struct kmap secret_ix;
	struct seen *ring;
	size_t ring_max, ring_head, n_ring;
	struct kmap ring_ix;
	uint64_t horizon;
	uint8_t salt[16]; /* keys the replay hashes */
	struct parsed parsed[PARSED_SLOTS];
	EVP_KDF *kdf;
	EVP_CIPHER *gcm;
	struct seal_counts counts;
};

/* The fields of an envelope, decoded. */
struct env {
	uint8_t *der, *ct;
	size_t der_len, ct_len;
	uint8_t to[NODE_ID_LEN];
	uint8_t iv[IV_LEN];
	uint64_t ts;
};

/* ---- the index ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static size_t kmap_home(const struct kmap *m, const uint8_t *k)
{
	uint64_t a, b;

	memcpy(&a, k, 8);
	memcpy(&b, k + 8, 8);
	return (size_t)(mix64(a ^ m->seed) ^ mix64(b + m->seed)) & m->mask;
}

static int kmap_init(struct kmap *m, size_t entries, const uint8_t *(*key)(const void *, uint32_t),
		     const void *owner)
{
	size_t n = 1;

	while (n < 2 * entries)
		n <<= 1;
	m->slot = calloc(n, sizeof(*m->slot));
	m->mask = n - 1;
	m->key = key;
	m->owner = owner;
	if (RAND_bytes((unsigned char *)&m->seed, sizeof(m->seed)) != 1)
		return -1;
	return m->slot != NULL ? 0 : -1;
}

/* The slot holding k, or the empty slot that ends its run. */
static size_t kmap_find(const struct kmap *m, const uint8_t *k)
{
	size_t i = kmap_home(m, k);

	while (m->slot[i] != 0 && memcmp(m->key(m->owner, m->slot[i] - 1), k, 16) != 0)
		i = (i + 1) & m->mask;
	return i;
}

/* The entry's position + 1, or 0. */
static uint32_t kmap_get(const struct kmap *m, const uint8_t *k)
{
	return m->slot[kmap_find(m, k)];
}

static void kmap_put(struct kmap *m, const uint8_t *k, uint32_t pos)
{
	m->slot[kmap_find(m, k)] = pos + 1;
}

static void kmap_del(struct kmap *m, const uint8_t *k)
{
	size_t i = kmap_find(m, k), j = i;

	if (m->slot[i] == 0)
		return;
	/* Pull later members of the run back over the hole, unless that
	 * would put one before its home slot. */
	for (;;) {
		j = (j + 1) & m->mask;
		if (m->slot[j] == 0)
			break;
		size_t h = kmap_home(m, m->key(m->owner, m->slot[j] - 1));
		if (((j - h) & m->mask) >= ((j - i) & m->mask)) {
			m->slot[i] = m->slot[j];
			i = j;
		}
	}
	m->slot[i] = 0;
}

static const uint8_t *peer_key(const void *owner, uint32_t pos)
{
	return ((const struct seal *)owner)->peers[pos].id;
}

static const uint8_t *secret_key(const void *owner, uint32_t pos)
{
	return ((const struct seal *)owner)->secrets[pos].key;
}

static const uint8_t *seen_key(const void *owner, uint32_t pos)
{
	return ((const struct seal *)owner)->ring[pos].key;
}

/* ---- life cycle ---- */

struct seal *seal_new(struct certcheck *cc, const char *overlay, uint64_t now_ms)
{
	struct seal *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cc = cc;
	str_copy(s->overlay, overlay, sizeof(s->overlay));
	/* After a restart our keys are the same: frames captured before it
	 * must not be accepted again, and the cache that saw them is gone. */
	s->horizon = now_ms > SEAL_START_GRACE_MS ? now_ms - SEAL_START_GRACE_MS : 0;
	s->kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	s->gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (s->kdf == NULL || s->gcm == NULL || RAND_bytes(s->salt, sizeof(s->salt)) != 1 ||
	    kmap_init(&s->peer_ix, SEAL_PEERS_MAX, peer_key, s) < 0 ||
	    kmap_init(&s->secret_ix, SEAL_SECRETS_MAX, secret_key, s) < 0 ||
	    seal_set_replay_max(s, SEAL_REPLAY_MAX) < 0) {
		seal_free(s);
		return NULL;
	}
	return s;
}

int seal_set_replay_max(struct seal *s, size_t n)
{
	if (n == 0 || n > SEAL_REPLAY_MAX)
		return -1;
	free(s->ring);
	free(s->ring_ix.slot);
	s->ring_ix.slot = NULL;
	s->ring = calloc(n, sizeof(*s->ring));
	s->ring_max = n;
	s->ring_head = s->n_ring = 0;
	if (s->ring == NULL || kmap_init(&s->ring_ix, n, seen_key, s) < 0)
		return -1;
	return 0;
}

void seal_free(struct seal *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_own; i++) {
		EVP_PKEY_free(s->own[i].key);
		X509_free(s->own[i].cert);
		free(s->own[i].cert_b64);
	}
	free(s->own);
	for (size_t i = 0; i < s->n_peers; i++)
		X509_free(s->peers[i].cert);
	for (size_t i = 0; i < PARSED_SLOTS; i++)
		X509_free(s->parsed[i].cert);
	free(s->peer_ix.slot);
	free(s->secret_ix.slot);
	free(s->ring_ix.slot);
	free(s->ring);
	EVP_KDF_free(s->kdf);
	EVP_CIPHER_free(s->gcm);
	OPENSSL_cleanse(s->secrets, sizeof(s->secrets));
	free(s);
}

void seal_counts(const struct seal *s, struct seal_counts *out)
{
	*out = s->counts;
}

/* ---- identities ---- */

static int key_is_p256(EVP_PKEY *key)
{
	char group[32];
	size_t n = 0;

	return key != NULL && EVP_PKEY_is_a(key, "EC") &&
	       EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					      &n) == 1 &&
	       strcmp(group, "prime256v1") == 0;
}

static struct own *own_find(struct seal *s, const uint8_t id[NODE_ID_LEN])
{
	for (size_t i = 0; i < s->n_own; i++)
		if (memcmp(s->own[i].id, id, NODE_ID_LEN) == 0)
			return &s->own[i];
	return NULL;
}

int seal_add_own(struct seal *s, EVP_PKEY *key, X509 *cert)
{
	uint8_t id[NODE_ID_LEN];
	struct own *o, *grown;
	unsigned char *der = NULL;
	int der_len;
	char *b64;

	if (!key_is_p256(key) || node_id_from_cert(cert, id) < 0 ||
	    EVP_PKEY_eq(key, X509_get0_pubkey(cert)) != 1) {
		ERR_clear_error();
		return -1;
	}
	der_len = i2d_X509(cert, &der);
	b64 = der_len > 0 && der_len <= RECORD_CERT_MAX ? b64_encode(der, (size_t)der_len) : NULL;
	OPENSSL_free(der);
	if (b64 == NULL)
		return -1;
	o = own_find(s, id);
	if (o == NULL) {
		grown = realloc(s->own, (s->n_own + 1) * sizeof(*s->own));
		if (grown == NULL) {
			free(b64);
			return -1;
		}
		s->own = grown;
		o = &s->own[s->n_own++];
		memset(o, 0, sizeof(*o));
		memcpy(o->id, id, NODE_ID_LEN);
	}
	EVP_PKEY_up_ref(key);
	X509_up_ref(cert);
	EVP_PKEY_free(o->key);
	X509_free(o->cert);
	free(o->cert_b64);
	o->key = key;
	o->cert = cert;
	o->cert_b64 = b64;
	return 0;
}

/* What a peer certificate must pass before we seal to it or open from it. */
static int peer_ok(struct seal *s, X509 *cert, const char *what, char *err, size_t errlen)
{
	char why[256] = "", overlay[256], role[ROLE_MAX];
	EVP_PKEY *pub = X509_get0_pubkey(cert);

	if (certcheck_verify(s->cc, cert, why, sizeof(why)) < 0) {
		err_set(err, errlen, "%s: %s", what, why[0] ? why : "does not verify");
		return -1;
	}
	if (cert_overlay(cert, overlay, sizeof(overlay)) < 0 || strcmp(overlay, s->overlay) != 0) {
		err_set(err, errlen, "%s: not of this overlay", what);
		return -1;
	}
	/* A gateway speaks for the calls it carries as a user speaks for its
	 * phones; a super node or server never seals SIP. */
	if (cert_role(cert, role, sizeof(role)) < 0 ||
	    (strcmp(role, ROLE_USER) != 0 && strcmp(role, ROLE_GATEWAY) != 0)) {
		err_set(err, errlen, "%s: not a user's or a gateway's", what);
		return -1;
	}
	if (pub != NULL && EVP_PKEY_is_a(pub, "ED25519")) {
		err_set(err, errlen, "Ed25519 certificates cannot seal");
		return -1;
	}
	if (!key_is_p256(pub)) {
		err_set(err, errlen, "%s: key is not ECDSA P-256", what);
		return -1;
	}
	return 0;
}

static struct peer *peer_find(struct seal *s, const uint8_t id[NODE_ID_LEN])
{
	uint32_t pos = kmap_get(&s->peer_ix, id);

	return pos != 0 ? &s->peers[pos - 1] : NULL;
}

/* Keeps cert (a reference taken) under its Node-ID; the oldest goes when
 * the table is full. A renewed certificate replaces the one held. */
static void peer_keep(struct seal *s, X509 *cert, const uint8_t id[NODE_ID_LEN])
{
	struct peer *p = peer_find(s, id);

	if (X509_up_ref(cert) != 1)
		return;
	if (p != NULL) {
		X509_free(p->cert);
		p->cert = cert;
		return;
	}
	p = &s->peers[s->peer_next];
	if (p->cert != NULL) {
		kmap_del(&s->peer_ix, p->id);
		X509_free(p->cert);
	} else {
		s->n_peers++;
	}
	p->cert = cert;
	memcpy(p->id, id, NODE_ID_LEN);
	kmap_put(&s->peer_ix, id, (uint32_t)s->peer_next);
	s->peer_next = (s->peer_next + 1) % SEAL_PEERS_MAX;
}

int seal_learn_peer(struct seal *s, X509 *cert)
{
	uint8_t id[NODE_ID_LEN];
	char err[256];

	if (cert == NULL || node_id_from_cert(cert, id) < 0)
		return -1;
	if (peer_ok(s, cert, "peer certificate", err, sizeof(err)) < 0) {
		log_debug("seal: peer certificate not kept: %s", err);
		return -1;
	}
	peer_keep(s, cert, id);
	return 0;
}

X509 *seal_peer_cert(struct seal *s, const char *id_hex)
{
	uint8_t id[NODE_ID_LEN];
	struct peer *p;

	if (id_hex == NULL || strlen(id_hex) != NODE_ID_HEX_LEN ||
	    hex_decode(id_hex, id, sizeof(id)) < 0)
		return NULL;
	p = peer_find(s, id);
	return p != NULL ? p->cert : NULL;
}

/* ---- keys ---- */

static void sha256_16(const void *a, size_t alen, const void *b, size_t blen, const void *c,
		      size_t clen, uint8_t out[16])
{
	uint8_t md[32];
	EVP_MD_CTX *x = EVP_MD_CTX_new();

	memset(md, 0, sizeof(md));
	if (x != NULL && EVP_DigestInit_ex(x, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(x, a, alen) == 1 && EVP_DigestUpdate(x, b, blen) == 1 &&
	    EVP_DigestUpdate(x, c, clen) == 1)
		EVP_DigestFinal_ex(x, md, NULL);
	EVP_MD_CTX_free(x);
	memcpy(out, md, 16);
}

static int ecdh(EVP_PKEY *key, EVP_PKEY *pub, uint8_t z[Z_LEN])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	size_t n = Z_LEN;
	int ok = c != NULL && EVP_PKEY_derive_init(c) == 1 &&
		 EVP_PKEY_derive_set_peer(c, pub) == 1 && EVP_PKEY_derive(c, z, &n) == 1 &&
		 n == Z_LEN;

	EVP_PKEY_CTX_free(c);
	if (!ok)
		ERR_clear_error();
	return ok ? 0 : -1;
}

/* Z for (own, peer): one ECDH per pair, then from the cache (oldest out). */
static int shared_z(struct seal *s, const struct own *o, X509 *peer, const uint8_t pid[NODE_ID_LEN],
		    uint8_t z[Z_LEN])
{
	uint8_t k[16];
	uint32_t pos;
	struct secret *e;

	sha256_16(o->id, NODE_ID_LEN, pid, NODE_ID_LEN, "", 0, k);
	pos = kmap_get(&s->secret_ix, k);
	if (pos != 0) {
		memcpy(z, s->secrets[pos - 1].z, Z_LEN);
		return 0;
	}
	if (ecdh(o->key, X509_get0_pubkey(peer), z) < 0)
		return -1;
	e = &s->secrets[s->secret_next];
	if (s->n_secrets == SEAL_SECRETS_MAX)
		kmap_del(&s->secret_ix, e->key);
	else
		s->n_secrets++;
	memcpy(e->key, k, sizeof(k));
	memcpy(e->z, z, Z_LEN);
	kmap_put(&s->secret_ix, k, (uint32_t)s->secret_next);
	s->secret_next = (s->secret_next + 1) % SEAL_SECRETS_MAX;
	return 0;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* K = HKDF-SHA256(Z, salt label, info sender id || recipient id || epoch). */
static int derive_k(struct seal *s, const uint8_t z[Z_LEN], const uint8_t sid[NODE_ID_LEN],
		    const uint8_t rid[NODE_ID_LEN], uint64_t ts, uint8_t k[KEY_LEN])
{
	uint8_t info[2 * NODE_ID_LEN + 8];
	EVP_KDF_CTX *c = EVP_KDF_CTX_new(s->kdf);
	OSSL_PARAM p[5];
	int ok;

	memcpy(info, sid, NODE_ID_LEN);
	memcpy(info + NODE_ID_LEN, rid, NODE_ID_LEN);
	put_u64(info + 2 * NODE_ID_LEN, ts / EPOCH_MS);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, Z_LEN);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)SEAL_LABEL,
						 strlen(SEAL_LABEL));
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info));
	p[4] = OSSL_PARAM_construct_end();
	ok = c != NULL && EVP_KDF_derive(c, k, KEY_LEN, p) == 1;
	EVP_KDF_CTX_free(c);
	if (!ok)
		ERR_clear_error();
	return ok ? 0 : -1;
}

/* A link-level Node-ID as the AAD carries it: hex in upper case, so that
 * a node and a super node that print hex differently still agree. */
static void node_text(const char *in, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (in[i] >= 'a' && in[i] <= 'f') ? (char)(in[i] - 'a' + 'A') : in[i];
	out[i] = '\0';
}

static void aad_build(struct canon *c, const uint8_t sid[NODE_ID_LEN],
		      const uint8_t rid[NODE_ID_LEN], const char *from_node, const char *to_node,
		      uint64_t ts, const uint8_t iv[IV_LEN])
{
	char from[256], to[256];

	node_text(from_node, from, sizeof(from));
	node_text(to_node, to, sizeof(to));
	canon_init(c);
	canon_u8(c, 1);
	canon_str(c, SEAL_LABEL);
	canon_bytes(c, sid, NODE_ID_LEN);
	canon_bytes(c, rid, NODE_ID_LEN);
	canon_str(c, from);
	canon_str(c, to);
	canon_u64(c, ts);
	canon_bytes(c, iv, IV_LEN);
}

/* ---- AES-256-GCM ---- */

/* out gets len bytes of ciphertext and the 16-byte tag. */
static int gcm_seal(struct seal *s, const uint8_t k[KEY_LEN], const uint8_t iv[IV_LEN],
		    const struct canon *aad, const uint8_t *pt, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, ok;

	ok = c != NULL && EVP_EncryptInit_ex2(c, s->gcm, k, iv, NULL) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, aad->buf, (int)aad->len) == 1 &&
	     (len == 0 || EVP_EncryptUpdate(c, out, &n, pt, (int)len) == 1) &&
	     EVP_EncryptFinal_ex(c, out + len, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, out + len) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		ERR_clear_error();
	return ok ? 0 : -1;
}

/* pt gets ct_len - 16 bytes; -1 when the tag does not verify. */
static int gcm_open(struct seal *s, const uint8_t k[KEY_LEN], const uint8_t iv[IV_LEN],
		    const struct canon *aad, const uint8_t *ct, size_t ct_len, uint8_t *pt)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t len = ct_len - TAG_LEN;
	int n = 0, ok;

	ok = c != NULL && EVP_DecryptInit_ex2(c, s->gcm, k, iv, NULL) == 1 &&
	     EVP_DecryptUpdate(c, NULL, &n, aad->buf, (int)aad->len) == 1 &&
	     (len == 0 || EVP_DecryptUpdate(c, pt, &n, ct, (int)len) == 1) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, (void *)(ct + len)) == 1 &&
	     EVP_DecryptFinal_ex(c, pt + len, &n) > 0;
	EVP_CIPHER_CTX_free(c);
	if (!ok) {
		ERR_clear_error();
		OPENSSL_cleanse(pt, len);
	}
	return ok ? 0 : -1;
}

/* ---- closing ---- */

static json_t *env_json(const char *cert, const uint8_t rid[NODE_ID_LEN], uint64_t ts,
			const uint8_t iv[IV_LEN], const uint8_t *ct, size_t ct_len)
{
	char to[NODE_ID_HEX_LEN + 1];
	char *ivs = b64_encode(iv, IV_LEN), *cts = b64_encode(ct, ct_len);
	json_t *j = NULL;

	node_id_hex(rid, to);
	if (ivs != NULL && cts != NULL)
		j = json_pack("{s:i,s:s,s:s,s:I,s:s,s:s}", "v", 1, "cert", cert, "to", to, "ts",
			      (json_int_t)ts, "iv", ivs, "ct", cts);
	free(ivs);
	free(cts);
	return j;
}

/* The key from own o to peer: Z, then K for ts's hour. */
static int pair_key(struct seal *s, struct own *o, X509 *peer, const uint8_t sid[NODE_ID_LEN],
		    const uint8_t rid[NODE_ID_LEN], int sending, uint64_t ts, uint8_t k[KEY_LEN])
{
	uint8_t z[Z_LEN];
	int rc;

	rc = shared_z(s, o, peer, sending ? rid : sid, z);
	if (rc == 0)
		rc = derive_k(s, z, sid, rid, ts, k);
	OPENSSL_cleanse(z, sizeof(z));
	return rc;
}

static json_t *close_with(struct seal *s, struct own *o, X509 *peer, const uint8_t rid[NODE_ID_LEN],
			  const char *from_node, const char *to_node, const uint8_t *pt, size_t len,
			  uint64_t now_ms, char *err, size_t errlen)
{
	uint8_t k[KEY_LEN], iv[IV_LEN], *ct = malloc(len + TAG_LEN);
	struct canon aad;
	json_t *j = NULL;

	aad.buf = NULL;
	if (ct == NULL || RAND_bytes(iv, IV_LEN) != 1 ||
	    pair_key(s, o, peer, o->id, rid, 1, now_ms, k) < 0) {
		err_set(err, errlen, "no key for this peer");
		goto out;
	}
	aad_build(&aad, o->id, rid, from_node, to_node, now_ms, iv);
	if (aad.failed || gcm_seal(s, k, iv, &aad, pt, len, ct) < 0) {
		err_set(err, errlen, "sealing failed");
		goto out;
	}
	j = env_json(o->cert_b64, rid, now_ms, iv, ct, len + TAG_LEN);
	if (j == NULL)
		err_set(err, errlen, "out of memory");
out:
	OPENSSL_cleanse(k, sizeof(k));
	if (aad.buf != NULL)
		canon_free(&aad);
	free(ct);
	return j;
}

json_t *seal_close(struct seal *s, X509 *mine, X509 *peer, const char *from_node,
		   const char *to_node, const uint8_t *pt, size_t len, uint64_t now_ms, char *err,
		   size_t errlen)
{
	uint8_t mid[NODE_ID_LEN], rid[NODE_ID_LEN];
	struct own *o;
	json_t *j;

	if (mine == NULL || peer == NULL || from_node == NULL || to_node == NULL ||
	    (pt == NULL && len > 0)) {
		err_set(err, errlen, "seal: missing argument");
		return NULL;
	}
	if (len > SEAL_PT_MAX) {
		err_set(err, errlen, "message of %zu bytes is over %d", len, SEAL_PT_MAX);
		return NULL;
	}
	if (node_id_from_cert(mine, mid) < 0 || (o = own_find(s, mid)) == NULL) {
		err_set(err, errlen, "not one of our identities");
		return NULL;
	}
	if (node_id_from_cert(peer, rid) < 0 ||
	    peer_ok(s, peer, "recipient certificate", err, errlen) < 0)
		return NULL;
	j = close_with(s, o, peer, rid, from_node, to_node, pt, len, now_ms, err, errlen);
	if (j != NULL)
		s->counts.sealed++;
	return j;
}

/* ---- opening ---- */

static void env_clear(struct env *e)
{
	free(e->der);
	free(e->ct);
	e->der = e->ct = NULL;
}

static int b64_field(const json_t *env, const char *key, size_t max, uint8_t **out, size_t *len,
		     char *err, size_t errlen)
{
	const char *v = NULL;

	if (jx_str(env, key, 4 * ((max + 2) / 3), JX_REQUIRED, &v, err, errlen) < 0)
		return -1;
	*out = b64_decode(v, max, len);
	if (*out == NULL) {
		err_set(err, errlen, "%s: not base64 or too long", key);
		return -1;
	}
	return 0;
}

static int env_parse(const json_t *env, struct env *e, char *err, size_t errlen)
{
	static const char *const keys[] = {"v", "cert", "to", "ts", "iv", "ct", NULL};
	const char *to = NULL;
	int64_t v = 0, ts = 0;
	uint8_t *iv = NULL;
	size_t iv_len = 0;

	if (!json_is_object(env)) {
		err_set(err, errlen, "envelope: not a JSON object");
		return -1;
	}
	if (jx_only(env, keys, err, errlen) < 0 ||
	    jx_int(env, "v", 0, INT64_MAX, JX_REQUIRED, &v, err, errlen) < 0)
		return -1;
	if (v != 1) {
		err_set(err, errlen, "v: version %lld unknown", (long long)v);
		return -1;
	}
	if (b64_field(env, "cert", RECORD_CERT_MAX, &e->der, &e->der_len, err, errlen) < 0 ||
	    b64_field(env, "ct", SEAL_PT_MAX + TAG_LEN, &e->ct, &e->ct_len, err, errlen) < 0 ||
	    b64_field(env, "iv", IV_LEN, &iv, &iv_len, err, errlen) < 0)
		goto bad;
	if (iv_len != IV_LEN || e->ct_len < TAG_LEN) {
		err_set(err, errlen,
			iv_len != IV_LEN ? "iv: not 12 bytes" : "ct: shorter than a tag");
		goto bad;
	}
	memcpy(e->iv, iv, IV_LEN);
	free(iv);
	if (jx_str(env, "to", NODE_ID_HEX_LEN, JX_REQUIRED, &to, err, errlen) < 0 ||
	    jx_int(env, "ts", 0, INT64_MAX, JX_REQUIRED, &ts, err, errlen) < 0)
		return -1;
	if (strlen(to) != NODE_ID_HEX_LEN || hex_decode(to, e->to, NODE_ID_LEN) < 0) {
		err_set(err, errlen, "to: not a Node-ID");
		return -1;
	}
	e->ts = (uint64_t)ts;
	return 0;
bad:
	free(iv);
	return -1;
}

/* The sender's certificate from its DER, parsed once per distinct DER of a
 * sender that opened (d2i_X509 is the costly part of a small message).
 * A new reference, or NULL. */
static X509 *sender_cert(struct seal *s, const struct env *e, uint8_t fp[32])
{
	const unsigned char *p = e->der;
	struct parsed *slot;
	X509 *cert;

	if (EVP_Digest(e->der, e->der_len, fp, NULL, EVP_sha256(), NULL) != 1)
		return NULL;
	slot = &s->parsed[(fp[0] | fp[1] << 8) % PARSED_SLOTS];
	if (slot->cert != NULL && memcmp(slot->fp, fp, 32) == 0 && X509_up_ref(slot->cert) == 1)
		return slot->cert;
	cert = d2i_X509(NULL, &p, (long)e->der_len);
	if (cert == NULL || p != e->der + e->der_len) {
		X509_free(cert);
		ERR_clear_error();
		return NULL;
	}
	return cert;
}

static void parsed_keep(struct seal *s, X509 *cert, const uint8_t fp[32])
{
	struct parsed *slot = &s->parsed[(fp[0] | fp[1] << 8) % PARSED_SLOTS];

	if (slot->cert == cert || X509_up_ref(cert) != 1)
		return;
	X509_free(slot->cert);
	slot->cert = cert;
	memcpy(slot->fp, fp, 32);
}

enum refusal {
	R_NONE,
	R_MALFORMED,
	R_NOT_FOR_US,
	R_BAD_CERT,
	R_STALE,
	R_REPLAYED,
	R_ALTERED
};

static enum refusal check_time(struct seal *s, uint64_t ts, uint64_t now, char *err, size_t errlen)
{
	static struct log_limit lim;

	if (ts + SEAL_SKEW_MS < now) {
		err_set(err, errlen, "stale: %llu s old", (unsigned long long)((now - ts) / 1000));
		return R_STALE;
	}
	if (ts > now + SEAL_SKEW_MS) {
		err_set(err, errlen, "from the future: %llu s ahead",
			(unsigned long long)((ts - now) / 1000));
		return R_STALE;
	}
	if (ts < s->horizon) {
		err_set(err, errlen,
			"before the replay horizon (sent before this node started, "
			"or the sender's clock lags)");
		if (log_allowed(&lim, 1))
			log_warn("seal: a sealed message %llu ms older than the replay horizon "
				 "refused (a sender's clock lagging ours, or a replay)",
				 (unsigned long long)(s->horizon - ts));
		return R_STALE;
	}
	return R_NONE;
}

static void seen_key_of(const struct seal *s, const uint8_t sid[NODE_ID_LEN],
			const uint8_t iv[IV_LEN], uint8_t out[16])
{
	sha256_16(s->salt, sizeof(s->salt), sid, NODE_ID_LEN, iv, IV_LEN, out);
}

/* Drops the oldest (sender, IV): the horizon rises past its time, so the
 * frame it stood for can never be accepted again. */
static void seen_drop_oldest(struct seal *s)
{
	struct seen *e = &s->ring[s->ring_head];

	if (e->ts + 1 > s->horizon)
		s->horizon = e->ts + 1;
	kmap_del(&s->ring_ix, e->key);
	s->ring_head = (s->ring_head + 1) % s->ring_max;
	s->n_ring--;
}

static void seen_add(struct seal *s, const uint8_t key[16], uint64_t ts, uint64_t now)
{
	size_t pos;

	/* Entries the window refuses anyway go first; the horizon they raise
	 * stays behind the window unless our clock steps back. */
	while (s->n_ring > 0 && s->ring[s->ring_head].ts + SEAL_SKEW_MS < now)
		seen_drop_oldest(s);
	if (s->n_ring == s->ring_max)
		seen_drop_oldest(s);
	pos = (s->ring_head + s->n_ring) % s->ring_max;
	memcpy(s->ring[pos].key, key, 16);
	s->ring[pos].ts = ts;
	kmap_put(&s->ring_ix, key, (uint32_t)pos);
	s->n_ring++;
}

static enum refusal check_cert(struct seal *s, const struct env *e, X509 **cert, uint8_t fp[32],
			       uint8_t sid[NODE_ID_LEN], char *err, size_t errlen)
{
	*cert = sender_cert(s, e, fp);
	if (*cert == NULL || node_id_from_cert(*cert, sid) < 0) {
		err_set(err, errlen, "sender certificate: not a DER certificate");
		return R_BAD_CERT;
	}
	return peer_ok(s, *cert, "sender certificate", err, errlen) < 0 ? R_BAD_CERT : R_NONE;
}

/* The plaintext of e into out->pt, if the tag verifies. */
static enum refusal decrypt(struct seal *s, struct own *o, const struct env *e, X509 *cert,
			    const uint8_t sid[NODE_ID_LEN], const char *from_node,
			    const char *to_node, struct seal_opened *out, char *err, size_t errlen)
{
	uint8_t k[KEY_LEN];
	struct canon aad;
	enum refusal r = R_NONE;

	out->pt = malloc(e->ct_len - TAG_LEN + 1);
	if (out->pt == NULL || pair_key(s, o, cert, sid, o->id, 0, e->ts, k) < 0) {
		err_set(err, errlen, "altered or not for us: no key");
		return R_ALTERED;
	}
	aad_build(&aad, sid, o->id, from_node, to_node, e->ts, e->iv);
	if (aad.failed || gcm_open(s, k, e->iv, &aad, e->ct, e->ct_len, out->pt) < 0) {
		err_set(err, errlen, "altered or not for us: the tag does not verify");
		r = R_ALTERED;
	}
	canon_free(&aad);
	OPENSSL_cleanse(k, sizeof(k));
	if (r == R_NONE) {
		out->len = e->ct_len - TAG_LEN;
		out->pt[out->len] = '\0';
	}
	return r;
}

/* Everything after the envelope parsed, up to the plaintext in out. */
static enum refusal open_env(struct seal *s, const struct env *e, const char *from_node,
			     const char *to_node, uint64_t now, struct seal_opened *out, char *err,
			     size_t errlen)
{
	uint8_t sid[NODE_ID_LEN], fp[32], seen[16];
	char role[ROLE_MAX];
	struct own *o = own_find(s, e->to);
	X509 *cert = NULL;
	enum refusal r;

	if (o == NULL) {
		err_set(err, errlen, "not for us: no identity here has that Node-ID");
		return R_NOT_FOR_US;
	}
	if ((r = check_cert(s, e, &cert, fp, sid, err, errlen)) != R_NONE ||
	    (r = check_time(s, e->ts, now, err, errlen)) != R_NONE)
		goto out;
	seen_key_of(s, sid, e->iv, seen);
	if (kmap_get(&s->ring_ix, seen) != 0) {
		err_set(err, errlen, "replayed: this sender's IV was seen before");
		r = R_REPLAYED;
		goto out;
	}
	if ((r = decrypt(s, o, e, cert, sid, from_node, to_node, out, err, errlen)) != R_NONE)
		goto out;
	/* Only now is anything remembered. */
	seen_add(s, seen, e->ts, now);
	peer_keep(s, cert, sid);
	parsed_keep(s, cert, fp);
	out->peer = cert;
	cert = NULL;
	out->mine = o->cert;
	X509_up_ref(o->cert);
	node_id_hex(sid, out->peer_id);
	if (cert_name(out->peer, out->peer_name, sizeof(out->peer_name)) < 0)
		out->peer_name[0] = '\0';
	out->gateway =
		cert_role(out->peer, role, sizeof(role)) == 0 && strcmp(role, ROLE_GATEWAY) == 0;
out:
	X509_free(cert);
	return r;
}

static void count(struct seal *s, enum refusal r)
{
	uint64_t *c[] = {
		[R_NONE] = &s->counts.opened,           [R_MALFORMED] = &s->counts.malformed,
		[R_NOT_FOR_US] = &s->counts.not_for_us, [R_BAD_CERT] = &s->counts.bad_cert,
		[R_STALE] = &s->counts.stale,           [R_REPLAYED] = &s->counts.replayed,
		[R_ALTERED] = &s->counts.altered};
	(*c[r])++;
}

int seal_open(struct seal *s, const json_t *env, const char *from_node, const char *to_node,
	      uint64_t now_ms, struct seal_opened *out, char *err, size_t errlen)
{
	struct env e;
	enum refusal r;

	memset(&e, 0, sizeof(e));
	memset(out, 0, sizeof(*out));
	if (from_node == NULL || to_node == NULL) {
		err_set(err, errlen, "seal: missing link Node-IDs");
		r = R_MALFORMED;
	} else if (env_parse(env, &e, err, errlen) < 0) {
		r = R_MALFORMED;
	} else {
		r = open_env(s, &e, from_node, to_node, now_ms, out, err, errlen);
	}
	env_clear(&e);
	count(s, r);
	if (r != R_NONE) {
		seal_opened_clear(out);
		return -1;
	}
	return 0;
}

void seal_opened_clear(struct seal_opened *o)
{
	if (o == NULL)
		return;
	if (o->pt != NULL)
		OPENSSL_cleanse(o->pt, o->len);
	free(o->pt);
	X509_free(o->peer);
	X509_free(o->mine);
	memset(o, 0, sizeof(*o));
}
