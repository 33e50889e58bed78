/* Parsers for what reaches logind: login and renewal bodies of the HTTPS
 * API and admin requests. Pure: no I/O, so they can be fuzzed directly. */
#ifndef P2PSIP_LOGIND_PROTO_H
#define P2PSIP_LOGIND_PROTO_H

#include <jansson.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "logind_x509.h"

#define CSR_PEM_MAX 8192
#define LOGIN_BODY_MAX (16 * 1024)

struct login_req {
	char user[65];
	char role[16]; /* the role asked for, or "" for the account's own */
	char *password; /* malloc'd; wiped by login_req_clear */
	size_t password_len;
	X509_REQ *csr;
	EVP_PKEY *pubkey; /* borrowed from csr */
};

/* {"user": NAME, "password": PW, "csr": PEM, "role": optional ROLE}. 0, or -1 with err filled. */
int login_req_parse(const uint8_t *buf, size_t len, int allow_ed25519, struct login_req *out,
		    char *err, size_t errlen);
/* {"csr": PEM}: renewal under the current certificate. */
int renew_req_parse(const uint8_t *buf, size_t len, int allow_ed25519, struct login_req *out,
		    char *err, size_t errlen);
void login_req_clear(struct login_req *r);

/* A PEM CSR: decodes it, checks its self-signature and key type. */
int csr_parse(const char *pem, size_t len, int allow_ed25519, X509_REQ **out, char *err,
	      size_t errlen);

enum admin_op {
	ADMIN_USER_ADD,
	ADMIN_USER_DEL,
	ADMIN_USER_LIST,
	ADMIN_USER_PASSWD,
	ADMIN_USER_DISABLE,
	ADMIN_USER_ENABLE,
	ADMIN_USER_PROMOTABLE,
	ADMIN_USER_UNPROMOTABLE,
	ADMIN_CERT_LIST,
	ADMIN_CERT_REVOKE,
	ADMIN_CERT_ISSUE_SERVER,
};

struct admin_req {
	enum admin_op op;
	char name[65];
	char role[16];
	int promotable; /* user_add */
	char *password; /* malloc'd; wiped by admin_req_clear */
	size_t password_len;
	char serial[SERIAL_HEX_LEN + 8];
	int reason;
	X509_REQ *csr;
	const char *dns[SAN_MAX];
	int ndns;
	const char *ips[SAN_MAX];
	int nips;
	json_t *json; /* keeps dns and ips alive */
};

/* An admin request frame: {"op": "...", ...}. */
int admin_req_parse(json_t *j, struct admin_req *out, char *err, size_t errlen);
void admin_req_clear(struct admin_req *r);

#endif
