/* logind's admin interface: framed JSON requests on a Unix socket (mode
 * 0600, peers checked by uid), one request at a time per connection. */
#include "logind.h"

#include "frame.h"
#include "identity.h"
#include "log.h"
#include "logind_db.h"
#include "logind_proto.h"
#include "util.h"
#include "workq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ADMIN_FRAME_MAX (64 * 1024)
#define ADMIN_MAX_SESSIONS 16
#define ADMIN_IDLE_SECS 300

enum admin_state {
	ADMIN_IDLE,
	ADMIN_BUSY,
	ADMIN_CLOSING
};

struct admin_session {
	struct admin_server *srv;
	struct bufferevent *bev;
	enum admin_state state;
	struct admin_session *next;
};

struct admin_server {
	struct logind *ld;
	struct evconnlistener *lis;
	char *path;
	struct admin_session *sessions;
	int nsessions;
};

struct hash_job {
	struct admin_session *s; /* kept alive (CLOSING) until the job is done */
	struct admin_req req;
	struct pw_params pw;
	char hash[PW_HASH_MAX];
	int ok;
};

static void session_free(struct admin_session *s)
{
	struct admin_server *a = s->srv;

	for (struct admin_session **pp = &a->sessions; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	a->nsessions--;
	bufferevent_free(s->bev);
	free(s);
}

static void reply(struct admin_session *s, json_t *rep)
{
	if (rep == NULL)
		rep = json_pack("{s:b,s:s}", "ok", 0, "error", "out of memory");
	if (frame_write(bufferevent_get_output(s->bev), rep, ADMIN_FRAME_MAX) < 0)
		log_error("admin: reply too large");
	json_decref(rep);
}

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *fail(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

static json_t *ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static json_t *db_fail(enum ldb_rc rc, const char *name)
{
	if (rc == LDB_NOT_FOUND)
		return fail("no such user: %s", name);
	if (rc == LDB_EXISTS)
		return fail("user already exists: %s", name);
	return fail("database error");
}

static void refresh_crl_if(struct logind *ld, int revoked)
{
	char err[256];

	if (revoked > 0 && certs_refresh_crl(ld, err, sizeof(err)) < 0)
		log_error("admin: CRL refresh: %s", err);
}

static void hash_work(void *arg)
{
	struct hash_job *h = arg;

	h->ok = pw_hash(h->req.password, h->req.password_len, &h->pw, h->hash, sizeof(h->hash)) ==
		0;
}

static void resume(struct admin_session *s);

static void hash_done(void *arg, int cancelled)
{
	struct hash_job *h = arg;
	struct admin_session *s = h->s;
	struct logind *ld = s->srv->ld;
	enum ldb_rc rc = LDB_ERROR;
	json_t *rep;

	if (cancelled || !h->ok) {
		rep = fail("%s", cancelled ? "shutting down" : "password hashing failed");
	} else if (h->req.op == ADMIN_USER_ADD) {
		rc = ldb_user_add(ld->db, h->req.name, h->req.role, h->hash, time_now());
		if (rc == LDB_OK && h->req.promotable)
			rc = ldb_user_set_promotable(ld->db, h->req.name, 1, time_now());
		rep = rc == LDB_OK ? ok() : db_fail(rc, h->req.name);
		if (rc == LDB_OK) {
			ld->users_known = 0;
			log_info("admin: added %s %s%s", h->req.role, h->req.name,
				 h->req.promotable ? " (promotable)" : "");
		}
	} else {
		rc = ldb_user_set_hash(ld->db, h->req.name, h->hash, time_now());
		rep = rc == LDB_OK ? ok() : db_fail(rc, h->req.name);
		if (rc == LDB_OK)
			log_info("admin: password of %s changed", h->req.name);
	}
	OPENSSL_cleanse(h->hash, sizeof(h->hash));
	admin_req_clear(&h->req);
	free(h);
	if (s->state == ADMIN_CLOSING) {
		json_decref(rep);
		session_free(s);
		return;
	}
	reply(s, rep);
	s->state = ADMIN_IDLE;
	resume(s);
}

/* Password changes go to a worker: hashing takes long by design. */
static json_t *op_hash(struct admin_session *s, struct admin_req *r)
{
	struct logind *ld = s->srv->ld;
	struct user_rec u;
	struct hash_job *h;
	enum ldb_rc rc;

	if ((int64_t)r->password_len < ld->cfg.password_min)
		return fail("password too short (at least %lld characters)",
			    (long long)ld->cfg.password_min);
	rc = ldb_user_get(ld->db, r->name, &u);
	if (r->op == ADMIN_USER_ADD && rc == LDB_OK)
		return db_fail(LDB_EXISTS, r->name);
	if (r->op == ADMIN_USER_PASSWD && rc != LDB_OK)
		return db_fail(rc, r->name);
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NULL;
	h->s = s;
	h->pw = ld->pw;
	h->req = *r;
	memset(r, 0, sizeof(*r)); /* the job owns the request now */
	if (workq_submit(ld->wq, hash_work, hash_done, h) < 0) {
		*r = h->req;
		free(h);
		return fail("%s", "busy; try again shortly");
	}
	s->state = ADMIN_BUSY;
	return NULL;
}

static json_t *op_user_change(struct logind *ld, struct admin_req *r)
{
	int revoked = 0;
	enum ldb_rc rc;
	char key[RL_KEY_MAX];

	if (r->op == ADMIN_USER_DEL)
		rc = ldb_user_del(ld->db, r->name, time_now(), &revoked);
	else
		rc = ldb_user_set_disabled(ld->db, r->name, r->op == ADMIN_USER_DISABLE, time_now(),
					   &revoked);
	if (rc != LDB_OK)
		return db_fail(rc, r->name);
	ld->st.revoked += (uint64_t)revoked;
	if (r->op == ADMIN_USER_DEL)
		ld->users_known = 0;
	refresh_crl_if(ld, revoked);
	if (r->op == ADMIN_USER_ENABLE) {
		/* Enabling also ends the slow-down from failed logins. */
		snprintf(key, sizeof(key), "u:%s", r->name);
		rl_success(ld->rl_user, key);
	}
	log_info("admin: %s %s (%d certificates revoked)",
		 r->op == ADMIN_USER_DEL       ? "deleted"
		 : r->op == ADMIN_USER_DISABLE ? "disabled"
					       : "enabled",
		 r->name, revoked);
	return json_pack("{s:b,s:i}", "ok", 1, "revoked", revoked);
}

/* Setting or clearing promotable. Clearing revokes nothing: the super node
 * certificate already out runs to its end and is not renewed (h_renew),
 * so the node steps down with a handover; `cert revoke` is for haste. */
static json_t *op_user_promotable(struct logind *ld, struct admin_req *r)
{
	int on = r->op == ADMIN_USER_PROMOTABLE;
	struct user_rec u;
	enum ldb_rc rc = ldb_user_get(ld->db, r->name, &u);

	if (rc != LDB_OK)
		return db_fail(rc, r->name);
	if (on && strcmp(u.role, ROLE_USER) != 0)
		return fail("%s is a %s account: only an account of role user can be promotable",
			    r->name, u.role);
	rc = ldb_user_set_promotable(ld->db, r->name, on, time_now());
	if (rc != LDB_OK)
		return db_fail(rc, r->name);
	log_info("admin: %s %s promotable", r->name, on ? "made" : "no longer");
	return ok();
}

static json_t *op_issue_server(struct logind *ld, struct admin_req *r)
{
	struct issue_req ir = {r->dns[0], ROLE_SERVER, X509_REQ_get0_pubkey(r->csr),
			       r->dns,    r->ndns,     r->ips,
			       r->nips,   NULL};
	struct issued is;
	char err[256];
	json_t *rep;

	if (certs_issue(ld, &ir, &is, err, sizeof(err)) < 0)
		return fail("%s", err);
	rep = json_pack("{s:b,s:s,s:s,s:I}", "ok", 1, "cert", is.pem, "serial", is.serial,
			"not_after", (json_int_t)is.not_after);
	issued_free(&is);
	return rep;
}

static json_t *dispatch(struct admin_session *s, struct admin_req *r)
{
	struct logind *ld = s->srv->ld;
	char err[256];
	json_t *list;

	switch (r->op) {
	case ADMIN_USER_ADD:
	case ADMIN_USER_PASSWD:
		return op_hash(s, r);
	case ADMIN_USER_DEL:
	case ADMIN_USER_DISABLE:
	case ADMIN_USER_ENABLE:
		return op_user_change(ld, r);
	case ADMIN_USER_PROMOTABLE:
	case ADMIN_USER_UNPROMOTABLE:
		return op_user_promotable(ld, r);
	case ADMIN_USER_LIST:
		list = ldb_user_list(ld->db, time_now());
		return list != NULL ? json_pack("{s:b,s:o}", "ok", 1, "users", list)
				    : fail("%s", "database error");
	case ADMIN_CERT_LIST:
		list = ldb_cert_list(ld->db, r->name[0] != '\0' ? r->name : NULL);
		return list != NULL ? json_pack("{s:b,s:o}", "ok", 1, "certs", list)
				    : fail("%s", "database error");
	case ADMIN_CERT_REVOKE:
		if (certs_revoke(ld, r->serial, r->reason, err, sizeof(err)) < 0)
			return fail("%s", err);
		return ok();
	case ADMIN_CERT_ISSUE_SERVER:
		return op_issue_server(ld, r);
	}
	return fail("%s", "unknown operation");
}

/* Handles whole frames until the buffer is empty or a job is running. */
static void resume(struct admin_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);

	while (s->state == ADMIN_IDLE) {
		struct admin_req r;
		json_t *j = NULL;
		json_t *rep;
		char err[256];
		enum frame_rc rc = frame_read(in, ADMIN_FRAME_MAX, &j, err, sizeof(err));

		if (rc == FRAME_NEED_MORE)
			return;
		if (rc != FRAME_OK) {
			/* The stream cannot be trusted past a bad frame. */
			reply(s, fail("%s", err));
			s->state = ADMIN_CLOSING;
			bufferevent_disable(s->bev, EV_READ);
			return;
		}
		if (admin_req_parse(j, &r, err, sizeof(err)) < 0) {
			json_decref(j);
			reply(s, fail("%s", err));
			continue;
		}
		json_decref(j);
		rep = dispatch(s, &r);
		admin_req_clear(&r);
		if (rep != NULL || s->state == ADMIN_IDLE)
			reply(s, rep);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	resume(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct admin_session *s = arg;

	if (s->state == ADMIN_CLOSING && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		session_free(s);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct admin_session *s = arg;

	(void)bev, (void)what;
	if (s->state == ADMIN_BUSY) {
		/* The hash job still points at the session; it frees it. */
		s->state = ADMIN_CLOSING;
		bufferevent_disable(s->bev, EV_READ | EV_WRITE);
		return;
	}
	session_free(s);
}

static int peer_allowed(evutil_socket_t fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return 0;
	return cred.uid == 0 || cred.uid == getuid();
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct admin_server *a = arg;
	struct admin_session *s;
	struct timeval idle = {ADMIN_IDLE_SECS, 0};

	(void)lis, (void)sa, (void)salen;
	if (!peer_allowed(fd) || a->nsessions >= ADMIN_MAX_SESSIONS) {
		log_warn("admin: connection refused (%s)",
			 a->nsessions >= ADMIN_MAX_SESSIONS ? "too many sessions" : "wrong uid");
		evutil_closesocket(fd);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		evutil_closesocket(fd);
		return;
	}
	s->srv = a;
	s->bev = bufferevent_socket_new(a->ld->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		evutil_closesocket(fd);
		free(s);
		return;
	}
	s->next = a->sessions;
	a->sessions = s;
	a->nsessions++;
	bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, ADMIN_FRAME_MAX + FRAME_HDR_LEN);
	bufferevent_set_timeouts(s->bev, &idle, &idle);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* A leftover socket file is removed only if nothing answers on it. */
static int clear_stale(const char *path, struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		err_set(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)sun, sizeof(*sun)) == 0) {
		close(fd);
		err_set(err, errlen, "%s: another logind is listening", path);
		return -1;
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
	return 0;
}

struct admin_server *admin_start(struct logind *ld, char *err, size_t errlen)
{
	struct admin_server *a = calloc(1, sizeof(*a));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	const char *path = ld->cfg.admin_socket;
	mode_t old;

	if (a == NULL)
		return NULL;
	a->ld = ld;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		err_set(err, errlen, "%s: path too long", path);
		goto fail;
	}
	str_copy(sun.sun_path, path, sizeof(sun.sun_path));
	if (mkdir_parents(path, 0750, err, errlen) < 0 || clear_stale(path, &sun, err, errlen) < 0)
		goto fail;
	old = umask(077);
	a->lis = evconnlistener_new_bind(ld->base, on_accept, a,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
					 (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (a->lis == NULL) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	chmod(path, 0600);
	a->path = strdup(path);
	return a;
fail:
	free(a);
	return NULL;
}

void admin_stop(struct admin_server *a)
{
	if (a == NULL)
		return;
	while (a->sessions != NULL)
		session_free(a->sessions);
	if (a->lis != NULL)
		evconnlistener_free(a->lis);
	if (a->path != NULL) {
		unlink(a->path);
		free(a->path);
	}
	free(a);
}
