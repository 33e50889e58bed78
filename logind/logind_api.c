/* logind's HTTPS API: login with password and CSR, renewal with the current
 * certificate, the CA certificate and the CRL. */
#include "logind.h"

#include "crl.h"
#include "httpd.h"
#include "identity.h"
#include "log.h"
#include "logind_db.h"
#include "logind_proto.h"
#include "netlist.h"
#include "tls.h"
#include "util.h"
#include "workq.h"

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAIL_MSG "invalid user name or password"

struct login_job {
	struct logind *ld;
	struct evhttp_request *req;
	struct login_req lr;
	char addr[64];
	struct user_rec user;
	int found;
	int verified; /* 1 match, 0 no match, -1 error */
	int outdated;
	char rehash[PW_HASH_MAX];
	uint64_t deadline_ms; /* earliest time the answer may leave */
	int code;
	json_t *reply;
	struct event *timer;
	struct login_job *next;
};

static void key_user(char *out, size_t len, const char *user)
{
	snprintf(out, len, "u:%s", user);
}

/* An address's failures count under addr_limit_key (an IPv6 client by its
 * /64: one subscriber usually holds a whole /64 and could otherwise start
 * afresh from each of its addresses), apart from the users' ("u:"). */
static void key_addr(char *out, size_t len, const char *addr)
{
	char key[ADDR_LIMIT_KEY_MAX];

	addr_limit_key(addr, key, sizeof(key));
	snprintf(out, len, "a:%s", key);
}

static void job_free(struct login_job *j)
{
	login_req_clear(&j->lr);
	OPENSSL_cleanse(j->rehash, sizeof(j->rehash));
	json_decref(j->reply);
	if (j->timer != NULL)
		event_free(j->timer);
	free(j);
}

static void unlink_delayed(struct logind *ld, struct login_job *j)
{
	for (struct login_job **pp = &ld->delayed; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			return;
		}
	}
}

static void send_now(struct login_job *j)
{
	if (j->code == 429 || j->code == 503)
		evhttp_add_header(evhttp_request_get_output_headers(j->req), "Retry-After", "60");
	http_reply_json(j->req, j->code, j->reply);
	j->reply = NULL;
	job_free(j);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
	struct login_job *j = arg;

	(void)fd, (void)what;
	unlink_delayed(j->ld, j);
	send_now(j);
}

/* Answers at the job's deadline: a throttled client waits whether it guessed
 * right or wrong, so the delay tells it nothing. */
static void send_reply(struct login_job *j, int code, json_t *reply)
{
	uint64_t now = time_mono_ms();
	struct timeval tv;

	j->code = code;
	j->reply = reply;
	if (j->deadline_ms <= now) {
		send_now(j);
		return;
	}
	tv.tv_sec = (time_t)((j->deadline_ms - now) / 1000);
	tv.tv_usec = (suseconds_t)((j->deadline_ms - now) % 1000 * 1000);
	j->timer = evtimer_new(j->ld->base, on_delay, j);
	if (j->timer == NULL || evtimer_add(j->timer, &tv) < 0) {
		send_now(j);
		return;
	}
	j->ld->st.logins_delayed++;
	j->next = j->ld->delayed;
	j->ld->delayed = j;
}

static json_t *cert_reply(struct logind *ld, const struct issued *is, const char *name)
{
	char uri[512];

	snprintf(uri, sizeof(uri), "sip:%s@%s", name, ld->cfg.overlay);
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "certificate", is->pem, "ca_certificate",
			 ld->ca_pem, "serial", is->serial, "node_id", is->node_id, "uri", uri,
			 "not_after", (json_int_t)is->not_after);
}

/* A failure counts against the source (which backs off, then locks) and
 * against the user name (which only slows: whoever fails as alice must not
 * lock alice out). */
static void record_failure(struct login_job *j, const char *why)
{
	struct logind *ld = j->ld;
	char key[RL_KEY_MAX];
	int locked_u = 0, locked_a = 0, n, na;
	int64_t now = time_now();

	key_user(key, sizeof(key), j->lr.user);
	n = rl_fail(ld->rl_user, key, now, &locked_u);
	key_addr(key, sizeof(key), j->addr);
	na = rl_fail(ld->rl, key, now, &locked_a);
	log_warn("login: %s from %s refused: %s (%d recent failures of the user, %d of the "
		 "address)",
		 j->lr.user, j->addr, why, n, na);
	if (n == ld->cfg.rl_slow_after) {
		ld->st.users_slowed++;
		log_warn("login: user %s slowed: answers delayed up to %llds (never locked)",
			 j->lr.user, (long long)ld->cfg.rl_max_delay);
	}
	ld->st.lockouts_addr += locked_a != 0;
	if (locked_a)
		log_warn("login: address %s locked out for %llds", j->addr,
			 (long long)ld->cfg.rl_lockout);
}

static void login_work(void *arg)
{
	struct login_job *j = arg;
	const char *stored = j->found ? j->user.pw_hash : j->ld->dummy_hash;

	j->verified =
		pw_verify(j->lr.password, j->lr.password_len, stored, &j->ld->pw, &j->outdated);
	if (j->verified == 1 && j->found && j->outdated &&
	    pw_hash(j->lr.password, j->lr.password_len, &j->ld->pw, j->rehash, sizeof(j->rehash)) <
		    0)
		j->rehash[0] = '\0';
}

/* The role a login may be issued: the account's own, or supernode for a
 * promotable user account (self-selected super nodes); NULL otherwise. */
static const char *login_role(const struct user_rec *u, const char *asked)
{
	if (asked[0] == '\0' || strcmp(asked, u->role) == 0)
		return u->role;
	if (strcmp(asked, ROLE_SUPERNODE) == 0 && strcmp(u->role, ROLE_USER) == 0 &&
	    u->promotable)
		return ROLE_SUPERNODE;
	return NULL;
}

static void login_issue(struct login_job *j)
{
	struct logind *ld = j->ld;
	const char *role = login_role(&j->user, j->lr.role);
	struct issue_req ir = {j->user.name, role, j->lr.pubkey, NULL, 0, NULL, 0, NULL};
	struct issued is;
	char key[RL_KEY_MAX];
	char err[256];

	if (role == NULL) {
		log_warn("login: %s from %s refused: role %s asked, account is %s%s", j->user.name,
			 j->addr, j->lr.role, j->user.role, j->user.promotable ? " (promotable)" : "");
		send_reply(j, 403,
			   json_pack("{s:s}", "error",
				     "this account may not hold a certificate of that role"));
		return;
	}
	if (j->rehash[0] != '\0' &&
	    ldb_user_set_hash(ld->db, j->user.name, j->rehash, time_now()) == LDB_OK)
		log_info("login: %s: password hash upgraded to current parameters", j->user.name);
	if (certs_issue(ld, &ir, &is, err, sizeof(err)) < 0) {
		log_error("login: %s: %s", j->user.name, err);
		send_reply(j, 500, json_pack("{s:s}", "error", "cannot issue certificate"));
		return;
	}
	key_user(key, sizeof(key), j->user.name);
	rl_success(ld->rl_user, key);
	ld->st.logins_ok++;
	log_info("login: %s from %s: certificate %s", j->user.name, j->addr, is.serial);
	send_reply(j, 200, cert_reply(ld, &is, j->user.name));
	issued_free(&is);
}

static void login_done(void *arg, int cancelled)
{
	struct login_job *j = arg;

	if (cancelled) {
		j->deadline_ms = 0;
		send_reply(j, 503, json_pack("{s:s}", "error", "shutting down"));
		return;
	}
	if (j->verified < 0 && j->found)
		log_error("login: %s: stored password hash is malformed", j->user.name);
	if (!j->found) {
		j->ld->st.failed_unknown++;
		record_failure(j, "unknown user");
	} else if (j->user.disabled) {
		j->ld->st.failed_disabled++;
		record_failure(j, "account disabled");
	} else if (j->verified != 1) {
		j->ld->st.failed_wrong++;
		record_failure(j, "wrong password");
	} else {
		login_issue(j);
		return;
	}
	send_reply(j, 401, json_pack("{s:s}", "error", FAIL_MSG));
}

/* The rate-limit state of both keys: refuses a locked source (429) and sets
 * the delay of a slowed source or user name. Returns 0 to go on. */
static int login_throttle(struct login_job *j)
{
	struct logind *ld = j->ld;
	char key[RL_KEY_MAX];
	int64_t su, sa, now = time_now();

	key_user(key, sizeof(key), j->lr.user);
	rl_check(ld->rl_user, key, now, &su);
	key_addr(key, sizeof(key), j->addr);
	if (rl_check(ld->rl, key, now, &sa) == RL_LOCKED) {
		int64_t wait = sa;
		char ra[32], msg[96];
		ld->st.logins_refused++;
		log_warn("login: %s from %s refused: too many failures from this address (locked "
			 "%llds more)",
			 j->lr.user, j->addr, (long long)wait);
		snprintf(ra, sizeof(ra), "%lld", (long long)wait);
		evhttp_add_header(evhttp_request_get_output_headers(j->req), "Retry-After", ra);
		snprintf(msg, sizeof(msg),
			 "too many failed logins from this address; try again in %llds",
			 (long long)wait);
		/* retry_after in the body too: nodes read JSON, not headers. */
		http_reply_json(
			j->req, 429,
			json_pack("{s:s,s:I}", "error", msg, "retry_after", (json_int_t)wait));
		return -1;
	}
	j->deadline_ms = time_mono_ms() + 1000u * (uint64_t)(su > sa ? su : sa);
	return 0;
}

static void h_login(struct evhttp_request *req, void *arg)
{
	struct logind *ld = arg;
	struct login_job *j;
	char err[256];
	uint8_t *body;
	size_t len;
	enum ldb_rc rc;

	if (!http_method_is(req, EVHTTP_REQ_POST))
		return;
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		http_reply_error(req, 500, "out of memory");
		return;
	}
	j->ld = ld;
	j->req = req;
	http_peer_addr(req, j->addr, sizeof(j->addr));
	body = http_body(req, &len);
	if (login_req_parse(body, len, ld->cfg.allow_ed25519, &j->lr, err, sizeof(err)) < 0) {
		free(body);
		http_reply_error(req, 400, "%s", err);
		job_free(j);
		return;
	}
	free(body);
	if (login_throttle(j) < 0) {
		job_free(j);
		return;
	}
	rc = ldb_user_get(ld->db, j->lr.user, &j->user);
	if (rc == LDB_ERROR) {
		http_reply_error(req, 500, "database error");
		job_free(j);
		return;
	}
	j->found = rc == LDB_OK;
	if (workq_submit(ld->wq, login_work, login_done, j) < 0) {
		ld->st.logins_busy++;
		evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
		http_reply_error(req, 503, "busy; try again shortly");
		job_free(j);
	}
}

/* Renewal: the current certificate stands in for the password. */
static int renew_check(struct logind *ld, struct evhttp_request *req, struct user_rec *u,
		       char *node_id, char *err, size_t errlen)
{
	SSL *ssl = http_ssl(req);
	X509 *peer = NULL;
	const char *why = "no TLS connection";
	char serial[SERIAL_HEX_MAX], role[ROLE_MAX], name[NAME_MAX_LEN + 1];
	struct cert_rec c;

	if (ssl == NULL || tls_peer_check(ssl, &peer, &why) < 0) {
		err_set(err, errlen, "%s", why);
		return -1;
	}
	if (cert_serial_hex(peer, serial, sizeof(serial)) < 0 ||
	    cert_role(peer, role, sizeof(role)) < 0 || cert_name(peer, name, sizeof(name)) < 0 ||
	    ldb_cert_get(ld->db, serial, &c) != LDB_OK) {
		err_set(err, errlen, "certificate unknown to this CA");
		return -1;
	}
	if (c.revoked != 0) {
		err_set(err, errlen, "certificate revoked");
		return -1;
	}
	if (strcmp(c.role, ROLE_SERVER) == 0) {
		err_set(err, errlen, "server certificates are renewed by the administrator");
		return -1;
	}
	if (ldb_user_get(ld->db, c.name, u) != LDB_OK || u->disabled ||
	    login_role(u, c.role) == NULL) {
		err_set(err, errlen, "account unknown, disabled or changed (or no longer promotable)");
		return -1;
	}
	/* A promoted user renews as supernode, not as its account's role. */
	str_copy(u->role, c.role, sizeof(u->role));
	str_copy(node_id, c.node_id, sizeof(c.node_id));
	return 0;
}

static void h_renew(struct evhttp_request *req, void *arg)
{
	struct logind *ld = arg;
	struct login_req lr;
	struct user_rec u;
	struct issued is;
	char err[256];
	char addr[64], node_id[33];
	uint8_t *body;
	size_t len;
	int rc;

	if (!http_method_is(req, EVHTTP_REQ_POST))
		return;
	http_peer_addr(req, addr, sizeof(addr));
	if (renew_check(ld, req, &u, node_id, err, sizeof(err)) < 0) {
		ld->st.renewals_refused++;
		log_warn("renew from %s refused: %s", addr, err);
		http_reply_error(req, 401, "%s", err);
		return;
	}
	body = http_body(req, &len);
	rc = renew_req_parse(body, len, ld->cfg.allow_ed25519, &lr, err, sizeof(err));
	free(body);
	if (rc < 0) {
		ld->st.renewals_refused++;
		http_reply_error(req, 400, "%s", err);
		return;
	}
	struct issue_req ir = {u.name, u.role, lr.pubkey, NULL, 0, NULL, 0, node_id};
	if (certs_issue(ld, &ir, &is, err, sizeof(err)) < 0) {
		log_error("renew: %s: %s", u.name, err);
		http_reply_error(req, 500, "cannot issue certificate");
	} else {
		ld->st.renewals++;
		log_info("renew: %s from %s: certificate %s", u.name, addr, is.serial);
		http_reply_json(req, 200, cert_reply(ld, &is, u.name));
		issued_free(&is);
	}
	login_req_clear(&lr);
}

static void h_ca(struct evhttp_request *req, void *arg)
{
	struct logind *ld = arg;

	if (http_method_is(req, EVHTTP_REQ_GET))
		http_reply_bytes(req, 200, "application/x-pem-file", ld->ca_pem,
				 strlen(ld->ca_pem));
}

static void h_crl(struct evhttp_request *req, void *arg)
{
	struct logind *ld = arg;

	if (!http_method_is(req, EVHTTP_REQ_GET))
		return;
	if (ld->crl == NULL) {
		http_reply_error(req, 503, "no CRL yet");
		return;
	}
	http_reply_bytes(req, 200, "application/pkix-crl", ld->crl->der, ld->crl->der_len);
}

static void h_crl_pem(struct evhttp_request *req, void *arg)
{
	struct logind *ld = arg;
	char *pem;

	if (!http_method_is(req, EVHTTP_REQ_GET))
		return;
	pem = ld->crl != NULL ? crl_to_pem(ld->crl) : NULL;
	if (pem == NULL) {
		http_reply_error(req, 503, "no CRL yet");
		return;
	}
	http_reply_bytes(req, 200, "application/x-pem-file", pem, strlen(pem));
	free(pem);
}

static void h_status(struct evhttp_request *req, void *arg)
{
	if (http_method_is(req, EVHTTP_REQ_GET))
		http_reply_json(req, 200, logind_status_json(arg));
}

int logind_api_start(struct logind *ld, char *err, size_t errlen)
{
	struct httpd_limits lim = {
		.max_conns = (int)ld->cfg.max_connections,
		.max_headers = (size_t)ld->cfg.max_headers,
		.max_body = (size_t)ld->cfg.max_body,
		.timeout_secs = (int)ld->cfg.timeout,
	};

	ld->httpd = httpd_new(ld->base, ld->ssl_ctx, ld->cfg.listen, &lim, err, errlen);
	if (ld->httpd == NULL)
		return -1;
	httpd_route(ld->httpd, "/v1/login", h_login, ld);
	httpd_route(ld->httpd, "/v1/renew", h_renew, ld);
	httpd_route(ld->httpd, "/v1/ca", h_ca, ld);
	httpd_route(ld->httpd, "/v1/crl", h_crl, ld);
	httpd_route(ld->httpd, "/v1/crl.pem", h_crl_pem, ld);
	httpd_route(ld->httpd, "/v1/status", h_status, ld);
	return 0;
}

void logind_api_stop(struct logind *ld)
{
	while (ld->delayed != NULL) {
		struct login_job *j = ld->delayed;
		ld->delayed = j->next;
		send_now(j);
	}
	httpd_free(ld->httpd);
	ld->httpd = NULL;
}
