/* Values stored in the overlay: wire form, canonical bytes, signatures and
 * access rules. */
#include "record.h"

#include "identity.h"
#include "jsonx.h"
#include "util.h"

#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIG_CONTEXT "p2psip-value-1"

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void record_clear(struct record *r)
{
	free(r->data);
	X509_free(r->cert);
	memset(r, 0, sizeof(*r));
}

int record_copy(struct record *dst, const struct record *src)
{
	*dst = *src;
	dst->data = malloc(src->data_len + 1);
	if (dst->data == NULL) {
		memset(dst, 0, sizeof(*dst));
		return -1;
	}
	memcpy(dst->data, src->data, src->data_len + 1);
	if (dst->cert != NULL)
		X509_up_ref(dst->cert);
	return 0;
}

static int kind_ok(const char *k)
{
	for (; *k != '\0'; k++) {
		char c = *k;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

/* Names are printable ASCII: they reach logs, SQL parameters and SIP. */
static int name_ok(const char *n)
{
	for (; *n != '\0'; n++)
		if ((unsigned char)*n < 0x21 || (unsigned char)*n > 0x7e)
			return 0;
	return 1;
}

int record_init(struct record *r, const char *name, const char *kind, const char *data,
		uint64_t stored_ms, uint32_t life, int deleted)
{
	memset(r, 0, sizeof(*r));
	if (strlen(name) == 0 || strlen(name) > RECORD_NAME_MAX || !name_ok(name) ||
	    strlen(kind) == 0 || strlen(kind) > RECORD_KIND_MAX || !kind_ok(kind))
		return -1;
	str_copy(r->name, name, sizeof(r->name));
	str_copy(r->kind, kind, sizeof(r->kind));
	rid_of_name(name, &r->res);
	r->data_len = strlen(data);
	r->data = strdup(data);
	if (r->data == NULL)
		return -1;
	r->stored = stored_ms;
	r->life = life;
	r->deleted = deleted;
	return 0;
}

static void canon_of(const struct record *r, struct canon *c)
{
	canon_init(c);
	canon_str(c, SIG_CONTEXT);
	canon_str(c, r->name);
	canon_str(c, r->kind);
	canon_bytes(c, r->data, r->data_len);
	canon_u64(c, r->stored);
	canon_u32(c, r->life);
	canon_u8(c, (uint8_t)(r->deleted != 0));
	canon_bytes(c, r->owner.b, RID_LEN);
}

int record_sign(struct record *r, EVP_PKEY *key, X509 *cert)
{
	struct canon c;
	uint8_t nid[NODE_ID_LEN];
	int rc;

	if (node_id_from_cert(cert, nid) < 0 || X509_up_ref(cert) != 1)
		return -1;
	X509_free(r->cert);
	r->cert = cert;
	rid_from_bytes(nid, &r->owner);
	canon_of(r, &c);
	r->sig_len = sizeof(r->sig);
	rc = canon_sign(key, &c, r->sig, &r->sig_len);
	canon_free(&c);
	return rc;
}

int record_sig_ok(const struct record *r)
{
	struct canon c;
	EVP_PKEY *pub = r->cert != NULL ? X509_get0_pubkey(r->cert) : NULL;
	int ok;

	if (pub == NULL)
		return 0;
	canon_of(r, &c);
	ok = canon_verify(pub, &c, r->sig, r->sig_len);
	canon_free(&c);
	return ok;
}

/* "user:NAME@OVERLAY" alone or followed by "/...". */
static int user_prefix_ok(const char *name, const char *user, const char *overlay)
{
	size_t ul = strlen(user), ol = strlen(overlay);
	const char *p = name + 5;

	if (strncmp(name, "user:", 5) != 0 || strncmp(p, user, ul) != 0 || p[ul] != '@' ||
	    strncmp(p + ul + 1, overlay, ol) != 0)
		return 0;
	p += ul + 1 + ol;
	return *p == '\0' || *p == '/';
}

int record_proxy_domain_ok(const char *d)
{
	size_t label = 0, n = strlen(d);

	if (strcmp(d, "*") == 0)
		return 1;
	if (n == 0 || n > DNS_NAME_MAX)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		char c = d[i];
		if (c == '.' || c == '\0') {
			/* Empty labels (and so a trailing dot) would give one
			 * domain two spellings, two resources. */
			if (label == 0 || label > DNS_LABEL_MAX || d[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') ||
		    (label == 0 && c == '-'))
			return 0;
		label++;
	}
	return 1;
}

/* "service:gateway" and "proxy:DOMAIN" are a gateway's; other services
 * are the super nodes' (their own Node-ID is the key by construction). */
static int service_ok(const char *name, const char *role, char *err, size_t errlen)
{
	if (strcmp(name, "service:" GATEWAY_SERVICE) == 0) {
		if (strcmp(role, ROLE_GATEWAY) == 0)
			return 0;
		err_set(err, errlen, "%s may only be stored by gateways", name);
		return -1;
	}
	if (strcmp(role, ROLE_SUPERNODE) == 0)
		return 0;
	err_set(err, errlen, "service records may only be stored by super nodes");
	return -1;
}

static int proxy_ok(const char *name, const char *role, char *err, size_t errlen)
{
	if (strcmp(role, ROLE_GATEWAY) != 0) {
		err_set(err, errlen, "proxy records may only be stored by gateways");
		return -1;
	}
	if (!record_proxy_domain_ok(name + strlen(PROXY_PREFIX))) {
		err_set(err, errlen, "%s: the domain must be a lower-case DNS name or *", name);
		return -1;
	}
	return 0;
}

int record_access_ok(const struct record *r, const char *overlay, char *err, size_t errlen)
{
	char role[ROLE_MAX], cn[NAME_MAX_LEN + 1], ov[256];

	if (r->cert == NULL || cert_role(r->cert, role, sizeof(role)) < 0 ||
	    cert_name(r->cert, cn, sizeof(cn)) < 0 || cert_overlay(r->cert, ov, sizeof(ov)) < 0 ||
	    strcmp(ov, overlay) != 0) {
		err_set(err, errlen, "signer certificate is not of this overlay");
		return -1;
	}
	/* A gateway keeps its own "user:GW@OVERLAY/node" record as any node
	 * does: in-dialog requests find it there. */
	if (strncmp(r->name, "user:", 5) == 0) {
		if ((strcmp(role, ROLE_USER) == 0 || strcmp(role, ROLE_GATEWAY) == 0) &&
		    user_prefix_ok(r->name, cn, overlay))
			return 0;
		err_set(err, errlen, "%s may only be stored by its user", r->name);
		return -1;
	}
	if (strncmp(r->name, "service:", 8) == 0 && r->name[8] != '\0')
		return service_ok(r->name, role, err, errlen);
	if (strncmp(r->name, PROXY_PREFIX, strlen(PROXY_PREFIX)) == 0)
		return proxy_ok(r->name, role, err, errlen);
	err_set(err, errlen, "no access rule allows storing %s", r->name);
	return -1;
}

uint64_t record_expires_ms(const struct record *r)
{
	return r->stored + (uint64_t)r->life * 1000u;
}

int record_is_expired(const struct record *r, uint64_t now)
{
	return record_expires_ms(r) <= now;
}

/* Parsed signer certificates, keyed by their base64 text. In OpenSSL 3.0
 * d2i_X509 decodes the public key through the provider decoders, which cost
 * far more than the rest of a value's handling; a handful of signers sign
 * most values, so each is parsed once. Not for use from several threads. */
#define CERT_CACHE_SLOTS 512

struct cert_slot {
	char *b64;
	X509 *cert;
	struct rid owner;
};

static struct cert_slot cert_cache[CERT_CACHE_SLOTS];

static uint32_t text_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

void record_cert_cache_clear(void)
{
	for (int i = 0; i < CERT_CACHE_SLOTS; i++) {
		free(cert_cache[i].b64);
		X509_free(cert_cache[i].cert);
		memset(&cert_cache[i], 0, sizeof(cert_cache[i]));
	}
}

static int take_cert(const char *b64, struct record *r, char *err, size_t errlen)
{
	struct cert_slot *slot = &cert_cache[text_hash(b64) % CERT_CACHE_SLOTS];
	size_t n = 0;
	uint8_t *der;
	const unsigned char *p;
	uint8_t nid[NODE_ID_LEN];
	X509 *cert;

	if (slot->b64 != NULL && strcmp(slot->b64, b64) == 0 && X509_up_ref(slot->cert) == 1) {
		r->cert = slot->cert;
		r->owner = slot->owner;
		return 0;
	}
	der = b64_decode(b64, RECORD_CERT_MAX, &n);
	if (der == NULL) {
		err_set(err, errlen, "cert: not base64 or too long");
		return -1;
	}
	p = der;
	cert = d2i_X509(NULL, &p, (long)n);
	if (cert == NULL || p != der + n || node_id_from_cert(cert, nid) < 0) {
		X509_free(cert);
		free(der);
		ERR_clear_error();
		err_set(err, errlen, "cert: not a DER certificate");
		return -1;
	}
	free(der);
	r->cert = cert;
	rid_from_bytes(nid, &r->owner);
	if (X509_up_ref(cert) == 1) {
		free(slot->b64);
		X509_free(slot->cert);
		slot->b64 = strdup(b64);
		slot->cert = cert;
		slot->owner = r->owner;
		if (slot->b64 == NULL) {
			X509_free(slot->cert);
			slot->cert = NULL;
		}
	}
	return 0;
}

static int take_sig(const char *b64, struct record *r, char *err, size_t errlen)
{
	size_t n = 0;
	uint8_t *sig = b64_decode(b64, SIG_MAX, &n);

	if (sig == NULL || n == 0) {
		free(sig);
		err_set(err, errlen, "sig: not base64 or too long");
		return -1;
	}
	memcpy(r->sig, sig, n);
	r->sig_len = n;
	free(sig);
	return 0;
}

int record_from_json(const json_t *j, struct record *r, char *err, size_t errlen)
{
	static const char *const keys[] = {"name", "kind", "data", "stored", "life",
					   "del",  "cert", "sig",  NULL};
	const char *name, *kind, *data = NULL, *cert, *sig;
	int64_t stored, life;
	int del = 0;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(j)) {
		err_set(err, errlen, "value: expected an object");
		return -1;
	}
	if (jx_only(j, keys, err, errlen) < 0 ||
	    jx_str(j, "name", RECORD_NAME_MAX, JX_REQUIRED, &name, err, errlen) < 0 ||
	    jx_str(j, "kind", RECORD_KIND_MAX, JX_REQUIRED, &kind, err, errlen) < 0 ||
	    jx_int(j, "stored", 0, INT64_MAX / 2, JX_REQUIRED, &stored, err, errlen) < 0 ||
	    jx_int(j, "life", 0, UINT32_MAX, JX_REQUIRED, &life, err, errlen) < 0 ||
	    jx_bool(j, "del", JX_OPTIONAL, &del, err, errlen) < 0 ||
	    jx_str(j, "cert", 2 * RECORD_CERT_MAX, JX_REQUIRED, &cert, err, errlen) < 0 ||
	    jx_str(j, "sig", 2 * SIG_MAX, JX_REQUIRED, &sig, err, errlen) < 0)
		return -1;
	/* data may be "" (deletions); jx_str refuses empty strings. */
	if (json_object_get(j, "data") != NULL &&
	    (!json_is_string(json_object_get(j, "data")) ||
	     json_string_length(json_object_get(j, "data")) > RECORD_DATA_HARD_MAX)) {
		err_set(err, errlen, "data: expected a string of at most %d bytes",
			RECORD_DATA_HARD_MAX);
		return -1;
	}
	data = json_string_value(json_object_get(j, "data"));
	if (data == NULL || strlen(data) != json_string_length(json_object_get(j, "data"))) {
		err_set(err, errlen, "data: missing or contains NUL");
		return -1;
	}
	if (record_init(r, name, kind, data, (uint64_t)stored, (uint32_t)life, del) < 0) {
		record_clear(r);
		err_set(err, errlen, "name or kind: not allowed characters");
		return -1;
	}
	if (take_cert(cert, r, err, errlen) < 0 || take_sig(sig, r, err, errlen) < 0) {
		record_clear(r);
		return -1;
	}
	return 0;
}

json_t *record_to_json(const struct record *r)
{
	unsigned char *der = NULL;
	int n = r->cert != NULL ? i2d_X509(r->cert, &der) : -1;
	char *cert = n > 0 ? b64_encode(der, (size_t)n) : NULL;
	char *sig = b64_encode(r->sig, r->sig_len);
	json_t *j = NULL;

	if (cert != NULL && sig != NULL) {
		j = json_pack("{s:s,s:s,s:s%,s:I,s:I,s:s,s:s}", "name", r->name, "kind", r->kind,
			      "data", r->data, r->data_len, "stored", (json_int_t)r->stored, "life",
			      (json_int_t)r->life, "cert", cert, "sig", sig);
		if (j != NULL && r->deleted)
			json_object_set_new(j, "del", json_true());
	}
	OPENSSL_free(der);
	free(cert);
	free(sig);
	return j;
}
