/* Parsers for login, renewal and admin requests. */
#include "logind_proto.h"

#include "identity.h"
#include "jsonx.h"
#include "util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

int csr_parse(const char *pem, size_t len, int allow_ed25519, X509_REQ **out, char *err,
	      size_t errlen)
{
	BIO *bio;
	X509_REQ *req;
	EVP_PKEY *key;

	*out = NULL;
	if (len > CSR_PEM_MAX) {
		err_set(err, errlen, "csr: larger than %d bytes", CSR_PEM_MAX);
		return -1;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	req = bio != NULL ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	ERR_clear_error();
	if (req == NULL) {
		err_set(err, errlen, "csr: not a PEM certificate request");
		return -1;
	}
	key = X509_REQ_get0_pubkey(req);
	if (key == NULL || !key_is_allowed(key) ||
	    (!allow_ed25519 && EVP_PKEY_is_a(key, "ED25519"))) {
		err_set(err, errlen, "csr: %s keys are not accepted (use ECDSA P-256%s)",
			key != NULL ? key_type_name(key) : "unreadable",
			allow_ed25519 ? " or Ed25519" : "");
		goto fail;
	}
	if (X509_REQ_verify(req, key) != 1) {
		err_set(err, errlen, "csr: signature does not verify");
		goto fail;
	}
	ERR_clear_error();
	*out = req;
	return 0;
fail:
	ERR_clear_error();
	X509_REQ_free(req);
	return -1;
}

/* The roles an account may have (a server certificate is no account's). */
static int role_is_account(const char *role)
{
	return strcmp(role, ROLE_USER) == 0 || strcmp(role, ROLE_SUPERNODE) == 0 ||
	       strcmp(role, ROLE_GATEWAY) == 0;
}

static int take_password(json_t *j, char **pw, size_t *pwlen, char *err, size_t errlen)
{
	const char *p;

	if (jx_str(j, "password", PASSWORD_MAX, JX_REQUIRED, &p, err, errlen) < 0)
		return -1;
	*pwlen = strlen(p);
	*pw = strdup(p);
	if (*pw == NULL) {
		err_set(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int take_csr(json_t *j, int allow_ed25519, struct login_req *out, char *err, size_t errlen)
{
	const char *csr;

	if (jx_str(j, "csr", CSR_PEM_MAX, JX_REQUIRED, &csr, err, errlen) < 0 ||
	    csr_parse(csr, strlen(csr), allow_ed25519, &out->csr, err, errlen) < 0)
		return -1;
	out->pubkey = X509_REQ_get0_pubkey(out->csr);
	return 0;
}

int login_req_parse(const uint8_t *buf, size_t len, int allow_ed25519, struct login_req *out,
		    char *err, size_t errlen)
{
	static const char *const keys[] = {"user", "password", "csr", "role", NULL};
	json_t *j = jx_load_object(buf, len, LOGIN_BODY_MAX, err, errlen);
	const char *user, *role = NULL;

	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return -1;
	if (jx_only(j, keys, err, errlen) < 0 ||
	    jx_str(j, "user", NAME_MAX_LEN, JX_REQUIRED, &user, err, errlen) < 0)
		goto fail;
	if (!name_is_valid(user)) {
		err_set(err, errlen, "user: not a valid user name");
		goto fail;
	}
	str_copy(out->user, user, sizeof(out->user));
	if (jx_str(j, "role", 15, JX_OPTIONAL, &role, err, errlen) < 0)
		goto fail;
	if (role != NULL && !role_is_account(role)) {
		err_set(err, errlen, "role: must be user, supernode or gateway");
		goto fail;
	}
	str_copy(out->role, role != NULL ? role : "", sizeof(out->role));
	if (take_password(j, &out->password, &out->password_len, err, errlen) < 0 ||
	    take_csr(j, allow_ed25519, out, err, errlen) < 0)
		goto fail;
	json_decref(j);
	return 0;
fail:
	json_decref(j);
	login_req_clear(out);
	return -1;
}

int renew_req_parse(const uint8_t *buf, size_t len, int allow_ed25519, struct login_req *out,
		    char *err, size_t errlen)
{
	static const char *const keys[] = {"csr", NULL};
	json_t *j = jx_load_object(buf, len, LOGIN_BODY_MAX, err, errlen);

	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return -1;
	if (jx_only(j, keys, err, errlen) < 0 || take_csr(j, allow_ed25519, out, err, errlen) < 0) {
		json_decref(j);
		login_req_clear(out);
		return -1;
	}
	json_decref(j);
	return 0;
}

void login_req_clear(struct login_req *r)
{
	if (r->password != NULL) {
		OPENSSL_cleanse(r->password, r->password_len);
		free(r->password);
	}
	X509_REQ_free(r->csr);
	memset(r, 0, sizeof(*r));
}

static const struct {
	const char *name;
	enum admin_op op;
} admin_ops[] = {
	{"user_add", ADMIN_USER_ADD},
	{"user_del", ADMIN_USER_DEL},
	{"user_list", ADMIN_USER_LIST},
	{"user_passwd", ADMIN_USER_PASSWD},
	{"user_disable", ADMIN_USER_DISABLE},
	{"user_enable", ADMIN_USER_ENABLE},
	{"user_promotable", ADMIN_USER_PROMOTABLE},
	{"user_unpromotable", ADMIN_USER_UNPROMOTABLE},
	{"cert_list", ADMIN_CERT_LIST},
	{"cert_revoke", ADMIN_CERT_REVOKE},
	{"cert_issue_server", ADMIN_CERT_ISSUE_SERVER},
};

static int take_name(json_t *j, int required, struct admin_req *r, char *err, size_t errlen)
{
	const char *name = NULL;

	if (jx_str(j, "name", NAME_MAX_LEN, required, &name, err, errlen) < 0)
		return -1;
	if (name == NULL)
		return 0;
	if (!name_is_valid(name)) {
		err_set(err, errlen,
			"invalid user name (1-%d of a-z 0-9 . _ -, starting with a letter or "
			"digit)",
			NAME_MAX_LEN);
		return -1;
	}
	str_copy(r->name, name, sizeof(r->name));
	return 0;
}

static int take_strings(json_t *j, const char *key, const char **out, int *n,
			int (*valid)(const char *), char *err, size_t errlen)
{
	json_t *a = json_object_get(j, key);
	json_t *v;
	size_t i;

	*n = 0;
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > SAN_MAX) {
		err_set(err, errlen, "%s: expected a list of at most %d names", key, SAN_MAX);
		return -1;
	}
	json_array_foreach (a, i, v) {
		if (!json_is_string(v) || !valid(json_string_value(v))) {
			err_set(err, errlen, "%s: invalid entry", key);
			return -1;
		}
		out[(*n)++] = json_string_value(v);
	}
	return 0;
}

static int server_cert_fields(json_t *j, struct admin_req *r, char *err, size_t errlen)
{
	struct login_req lr = {0};

	if (take_strings(j, "dns", r->dns, &r->ndns, dns_name_is_valid, err, errlen) < 0 ||
	    take_strings(j, "ips", r->ips, &r->nips, addr_is_ip, err, errlen) < 0)
		return -1;
	if (r->ndns == 0) {
		err_set(err, errlen, "dns: at least one DNS name is needed");
		return -1;
	}
	if (take_csr(j, 1, &lr, err, errlen) < 0)
		return -1;
	r->csr = lr.csr;
	return 0;
}

/* "promotable": only for role user; a super node or gateway account has no
 * second role to be promoted to. */
static int take_promotable(json_t *j, struct admin_req *r, char *err, size_t errlen)
{
	json_t *p = json_object_get(j, "promotable");

	if (p == NULL)
		return 0;
	if (!json_is_boolean(p)) {
		err_set(err, errlen, "promotable: must be true or false");
		return -1;
	}
	r->promotable = json_is_true(p);
	if (r->promotable && strcmp(r->role, ROLE_USER) != 0) {
		err_set(err, errlen, "promotable: only an account of role user can be promotable");
		return -1;
	}
	return 0;
}

static int op_fields(json_t *j, struct admin_req *r, char *err, size_t errlen)
{
	const char *s = NULL;

	switch (r->op) {
	case ADMIN_USER_ADD:
		if (jx_str(j, "role", 15, JX_OPTIONAL, &s, err, errlen) < 0)
			return -1;
		str_copy(r->role, s != NULL ? s : "user", sizeof(r->role));
		if (!role_is_account(r->role)) {
			err_set(err, errlen, "role: must be user, supernode or gateway");
			return -1;
		}
		if (take_promotable(j, r, err, errlen) < 0)
			return -1;
		/* fall through */
	case ADMIN_USER_PASSWD:
		return take_name(j, JX_REQUIRED, r, err, errlen) < 0 ||
				       take_password(j, &r->password, &r->password_len, err,
						     errlen) < 0
			       ? -1
			       : 0;
	case ADMIN_USER_DEL:
	case ADMIN_USER_DISABLE:
	case ADMIN_USER_ENABLE:
	case ADMIN_USER_PROMOTABLE:
	case ADMIN_USER_UNPROMOTABLE:
		return take_name(j, JX_REQUIRED, r, err, errlen);
	case ADMIN_USER_LIST:
		return 0;
	case ADMIN_CERT_LIST:
		return take_name(j, JX_OPTIONAL, r, err, errlen);
	case ADMIN_CERT_REVOKE:
		if (jx_str(j, "serial", 3 * SERIAL_HEX_LEN, JX_REQUIRED, &s, err, errlen) < 0)
			return -1;
		if (serial_normalize(s, r->serial, sizeof(r->serial)) < 0) {
			err_set(err, errlen, "serial: not a hexadecimal serial number");
			return -1;
		}
		s = NULL;
		if (jx_str(j, "reason", 32, JX_OPTIONAL, &s, err, errlen) < 0)
			return -1;
		r->reason = s != NULL ? crl_reason_parse(s) : 0;
		if (r->reason < 0 || r->reason == 2 /* cACompromise is not ours to say */) {
			err_set(err, errlen, "reason: unknown revocation reason");
			return -1;
		}
		return 0;
	case ADMIN_CERT_ISSUE_SERVER:
		return server_cert_fields(j, r, err, errlen);
	}
	return -1;
}

int admin_req_parse(json_t *j, struct admin_req *out, char *err, size_t errlen)
{
	static const char *const keys[] = {"op",  "name", "role", "password", "serial", "reason",
					   "csr", "dns",  "ips",  "promotable", NULL};
	const char *op;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(j)) {
		err_set(err, errlen, "request is not a JSON object");
		return -1;
	}
	if (jx_only(j, keys, err, errlen) < 0 ||
	    jx_str(j, "op", 32, JX_REQUIRED, &op, err, errlen) < 0)
		return -1;
	for (i = 0; i < ARRAY_LEN(admin_ops); i++)
		if (strcmp(op, admin_ops[i].name) == 0)
			break;
	if (i == ARRAY_LEN(admin_ops)) {
		err_set(err, errlen, "unknown operation");
		return -1;
	}
	out->op = admin_ops[i].op;
	out->json = json_incref(j);
	if (op_fields(j, out, err, errlen) < 0) {
		admin_req_clear(out);
		return -1;
	}
	return 0;
}

void admin_req_clear(struct admin_req *r)
{
	if (r->password != NULL) {
		OPENSSL_cleanse(r->password, r->password_len);
		free(r->password);
	}
	X509_REQ_free(r->csr);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}
