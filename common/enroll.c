/* Getting and keeping a certificate through logind. */
#include "enroll.h"

#include "httpc.h"
#include "identity.h"
#include "util.h"

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

EVP_PKEY *enroll_key_load_or_create(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *key;

	if (file_exists(path))
		return key_read_pem(path, err, errlen);
	if (mkdir_parents(path, 0700, err, errlen) < 0)
		return NULL;
	key = key_generate();
	if (key == NULL) {
		err_set(err, errlen, "key generation failed");
		return NULL;
	}
	if (key_write_pem(key, path, err, errlen) < 0) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

char *enroll_csr_pem(EVP_PKEY *key)
{
	X509_REQ *req = X509_REQ_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;

	if (req == NULL || bio == NULL || X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN", MBSTRING_ASC,
				       (const unsigned char *)"node", -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256()) <= 0 ||
	    PEM_write_bio_X509_REQ(bio, req) != 1)
		goto out;
	pem = bio_mem_string(bio);
out:
	X509_REQ_free(req);
	BIO_free(bio);
	ERR_clear_error();
	return pem;
}

char *url_join(const char *base, const char *path)
{
	size_t n = strlen(base);
	char *out = malloc(n + strlen(path) + 2);

	if (out == NULL)
		return NULL;
	while (n > 0 && base[n - 1] == '/')
		n--;
	sprintf(out, "%.*s%s%s", (int)n, base, path[0] == '/' ? "" : "/", path);
	return out;
}

struct enroll_call {
	enroll_done_t cb;
	void *arg;
};

static void on_reply(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct enroll_call *ec = arg;
	struct enroll_result res = {NULL, NULL, status, 0};
	json_t *j = NULL, *ra;
	const char *e = NULL;
	char msg[512];

	if (status < 0) {
		snprintf(msg, sizeof(msg), "logind unreachable: %s", err);
		res.err = msg;
		ec->cb(&res, ec->arg);
		free(ec);
		return;
	}
	if (body != NULL)
		j = json_loadb((const char *)body, len, 0, NULL);
	if (status == 200 && json_unpack(j, "{s:s}", "certificate", &res.cert_pem) == 0) {
		ec->cb(&res, ec->arg);
	} else {
		res.cert_pem = NULL;
		if (json_unpack(j, "{s:s}", "error", &e) != 0)
			e = "no reason given";
		ra = json_object_get(j, "retry_after");
		if (json_is_integer(ra) && json_integer_value(ra) > 0)
			res.retry_after = json_integer_value(ra) < 86400 ? (long)json_integer_value(ra)
									 : 86400;
		snprintf(msg, sizeof(msg), "logind answered %d: %s", status, e);
		res.err = msg;
		ec->cb(&res, ec->arg);
	}
	json_decref(j);
	free(ec);
}

static struct httpc_call *post(struct event_base *base, SSL_CTX *ctx, const char *logind_url,
			       const char *path, json_t *body, enroll_done_t cb, void *arg,
			       char *err, size_t errlen)
{
	struct enroll_call *ec = calloc(1, sizeof(*ec));
	char *url = url_join(logind_url, path);
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	struct httpc_call *call = NULL;

	json_decref(body);
	if (ec == NULL || url == NULL || text == NULL) {
		err_set(err, errlen, "out of memory");
		goto out;
	}
	ec->cb = cb;
	ec->arg = arg;
	call = httpc_request(base, ctx, url, text, 15, on_reply, ec, err, errlen);
out:
	if (call == NULL)
		free(ec);
	if (text != NULL) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	free(url);
	return call;
}

struct httpc_call *enroll_login(struct event_base *base, SSL_CTX *ctx, const char *logind_url,
				const char *user, const char *password, EVP_PKEY *key,
				enroll_done_t cb, void *arg, char *err, size_t errlen)
{
	return enroll_login_as(base, ctx, logind_url, user, password, NULL, key, cb, arg, err,
			       errlen);
}

struct httpc_call *enroll_login_as(struct event_base *base, SSL_CTX *ctx, const char *logind_url,
				   const char *user, const char *password, const char *role,
				   EVP_PKEY *key, enroll_done_t cb, void *arg, char *err,
				   size_t errlen)
{
	char *csr = enroll_csr_pem(key);
	json_t *body;

	if (csr == NULL) {
		err_set(err, errlen, "cannot make a CSR");
		return NULL;
	}
	body = json_pack("{s:s,s:s,s:s}", "user", user, "password", password, "csr", csr);
	free(csr);
	if (body == NULL) {
		err_set(err, errlen, "user name or password is not valid UTF-8");
		return NULL;
	}
	if (role != NULL)
		json_object_set_new(body, "role", json_string(role));
	return post(base, ctx, logind_url, "/v1/login", body, cb, arg, err, errlen);
}

struct httpc_call *enroll_renew(struct event_base *base, SSL_CTX *ctx, const char *logind_url,
				EVP_PKEY *key, enroll_done_t cb, void *arg, char *err,
				size_t errlen)
{
	char *csr = enroll_csr_pem(key);
	json_t *body;

	if (csr == NULL) {
		err_set(err, errlen, "cannot make a CSR");
		return NULL;
	}
	body = json_pack("{s:s}", "csr", csr);
	free(csr);
	return post(base, ctx, logind_url, "/v1/renew", body, cb, arg, err, errlen);
}
