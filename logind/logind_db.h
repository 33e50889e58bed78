/* logind's database: users and every certificate issued. The only file of
 * logind that touches SQLite. */
#ifndef P2PSIP_LOGIND_DB_H
#define P2PSIP_LOGIND_DB_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "logind_auth.h"
#include "logind_x509.h"

enum ldb_rc {
	LDB_OK = 0,
	LDB_NOT_FOUND,
	LDB_EXISTS,
	LDB_ERROR
};

#define REASON_SUPERSEDED 4 /* CRLReason of certificates over an account's cap */
#define REASON_CESSATION 5  /* CRLReason used when a user is deleted or disabled */

struct user_rec {
	char name[65];
	char role[16];
	char pw_hash[PW_HASH_MAX];
	int disabled;
	int promotable; /* role user, and may hold a supernode certificate too */
	int64_t created, updated;
};

struct cert_rec {
	char serial[SERIAL_HEX_LEN + 1];
	char name[65];
	char role[16];
	char node_id[33];
	int64_t not_before, not_after, issued;
	int64_t revoked; /* 0: not revoked */
	int reason;
	const char *pem; /* for ldb_cert_add only */
};

sqlite3 *ldb_open(const char *path, int create, char *err, size_t errlen);

enum ldb_rc ldb_user_get(sqlite3 *db, const char *name, struct user_rec *out);
enum ldb_rc ldb_user_add(sqlite3 *db, const char *name, const char *role, const char *hash,
			 int64_t now);
/* Deleting or disabling a user revokes its live certificates in the same
 * transaction; *revoked says how many. */
enum ldb_rc ldb_user_del(sqlite3 *db, const char *name, int64_t now, int *revoked);
enum ldb_rc ldb_user_set_disabled(sqlite3 *db, const char *name, int disabled, int64_t now,
				  int *revoked);
enum ldb_rc ldb_user_set_promotable(sqlite3 *db, const char *name, int promotable, int64_t now);
enum ldb_rc ldb_user_set_hash(sqlite3 *db, const char *name, const char *hash, int64_t now);
/* Accounts of role user and of role supernode (disabled ones included). */
int ldb_user_count(sqlite3 *db, int64_t *users, int64_t *supernodes, int64_t *gateways);
/* [{name, role, disabled, created, live_certs}] */
json_t *ldb_user_list(sqlite3 *db, int64_t now);

enum ldb_rc ldb_cert_add(sqlite3 *db, const struct cert_rec *c);
enum ldb_rc ldb_cert_get(sqlite3 *db, const char *serial, struct cert_rec *out);
/* [{serial, name, role, node_id, not_before, not_after, issued, revoked, reason}] */
json_t *ldb_cert_list(sqlite3 *db, const char *name);
/* Live (unrevoked, unexpired) certificates of name, newest first; caller
 * frees *out. */
int ldb_certs_live(sqlite3 *db, const char *name, int64_t now, struct cert_rec **out, size_t *n);
/* LDB_EXISTS when already revoked. */
enum ldb_rc ldb_cert_revoke(sqlite3 *db, const char *serial, int reason, int64_t now);

/* Revoked certificates that have not expired yet; caller frees *out. */
int ldb_crl_entries(sqlite3 *db, int64_t now, struct crl_entry **out, size_t *n);
/* Increments and returns the CRL number. */
int ldb_next_crl_number(sqlite3 *db, int64_t *out);

#endif
