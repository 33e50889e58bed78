/* Self-selected super nodes: when the overlay's policy wants more super
 * nodes and the owner allows it, the node gets a super node certificate,
 * passes its super node's return reachability test and runs `supernode` as
 * a child; it stops the child (which hands its records over) when it no
 * longer qualifies, or is leaving. */
#include "on.h"

#include "bootc.h"
#include "keepcert.h"
#include "log.h"
#include "olink.h"
#include "util.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <libgen.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROMO_STOP_WAIT 20     /* seconds a stopping super node has to hand over */
#define PROMO_CHECK_TIMEOUT 60 /* certificate and reachability test, at most */
#define PROMO_REQ_TIMEOUT_MS 15000
#define PROMO_ACCEPT_MAX 4      /* handshakes at once on the test listener */
#define PROMO_CHILD_POLL_MS 500 /* how often a child's end is looked for */
#define PROMO_INSTALL_PATH "/usr/local/sbin/supernode"

enum promo_state {
	PROMO_ORDINARY,
	PROMO_CHECKING,
	PROMO_SUPER
};

struct on_promote {
	struct on *on;
	enum promo_state state;
	int64_t since; /* wall clock, when state began */
	char why[200]; /* why the last change */
	int have_policy;
	int enable;
	int64_t want, min_uptime, demote_after;
	double max_load;
	int acc;              /* the account the super node runs under, or -1 */
	uint64_t ordinary_ms; /* monotonic: back to ordinary (0: never left) */
	int64_t over_since;   /* when the wish to step down began, 0: none */
	int64_t over_wait;    /* and how long it must last: demote_after and a draw */
	int asking;           /* a request of ours is on the link */
	struct event *tick, *child_ev;
	struct keepcert *kc; /* the super node certificate, while checking */
	struct evconnlistener *lis;
	struct bufferevent *acc_bev[PROMO_ACCEPT_MAX];
	pid_t child;
	int64_t stop_at; /* SIGTERM sent then (0: not stopping) */
	char dir[600], conf[700], key[700], cert[700], db[700];
};

static const char *const state_names[] = {"ordinary", "checking", "super"};

static void set_state(struct on_promote *p, enum promo_state s, const char *why)
{
	if (p->state != s)
		log_info("promotion: %s -> %s: %s", state_names[p->state], state_names[s], why);
	p->state = s;
	p->since = time_now();
	str_copy(p->why, why, sizeof(p->why));
	if (s == PROMO_ORDINARY)
		p->ordinary_ms = time_mono_ms();
}

/* ---- the test listener: a TLS server that only shakes hands ---- */

static void accepted_event(struct bufferevent *bev, short what, void *arg)
{
	struct on_promote *p = arg;

	(void)what; /* connected or failed: the test is over either way */
	for (int i = 0; i < PROMO_ACCEPT_MAX; i++)
		if (p->acc_bev[i] == bev)
			p->acc_bev[i] = NULL;
	bufferevent_free(bev);
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct on_promote *p = arg;
	SSL *ssl;
	int i = 0;

	(void)lis, (void)sa, (void)salen;
	while (i < PROMO_ACCEPT_MAX && p->acc_bev[i] != NULL)
		i++;
	if (i == PROMO_ACCEPT_MAX || p->kc == NULL ||
	    (ssl = SSL_new(keepcert_server_ctx(p->kc))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	p->acc_bev[i] = bufferevent_openssl_socket_new(
		p->on->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (p->acc_bev[i] == NULL) {
		SSL_free(ssl);
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(p->acc_bev[i], NULL, NULL, accepted_event, p);
	bufferevent_enable(p->acc_bev[i], EV_READ);
}

static int listener_open(struct on_promote *p, uint16_t *port, char *err, size_t errlen)
{
	char host[64];
	struct sockaddr_storage ss;
	socklen_t len;

	if (addr_split(p->on->cfg.promo_listen, host, sizeof(host), port) < 0 ||
	    addr_ip_port(host, *port, &ss, &len) < 0) {
		err_set(err, errlen, "[promotion] listen: want IP:PORT");
		return -1;
	}
	p->lis = evconnlistener_new_bind(p->on->base, on_accept, p,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						 LEV_OPT_CLOSE_ON_EXEC,
					 16, (struct sockaddr *)&ss, (int)len);
	if (p->lis == NULL) {
		err_set(err, errlen, "cannot listen on %s: %s", p->on->cfg.promo_listen,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void listener_close(struct on_promote *p)
{
	for (int i = 0; i < PROMO_ACCEPT_MAX; i++) {
		if (p->acc_bev[i] != NULL)
			bufferevent_free(p->acc_bev[i]);
		p->acc_bev[i] = NULL;
	}
	if (p->lis != NULL)
		evconnlistener_free(p->lis);
	p->lis = NULL;
}

/* Back to ordinary from checking: the certificate stays on disk for the
 * next try; our keeping of it ends. */
static void check_end(struct on_promote *p, const char *why)
{
	listener_close(p);
	keepcert_free(p->kc);
	p->kc = NULL;
	set_state(p, PROMO_ORDINARY, why);
}

/* ---- the child: a super node of our own ---- */

/* Appends "key = value" to text; a NULL or empty value is left out (the
 * super node's default then). */
static void conf_line(char *text, size_t size, size_t *n, const char *key, const char *value)
{
	int k;

	if (value == NULL || value[0] == '\0' || *n >= size)
		return;
	k = snprintf(text + *n, size - *n, "%s = %s\n", key, value);
	*n = k < 0 ? size : *n + (size_t)k;
}

static int write_conf(struct on_promote *p, char *err, size_t errlen)
{
	const struct on_config *c = &p->on->cfg;
	const struct on_account_conf *a = &c->accounts[p->acc];
	char text[4096] = "# Written by ordinarynode for its self-selected super node; rewritten\n"
			  "# at each promotion.\n[supernode]\npromoted = yes\n";
	size_t n = strlen(text);

	conf_line(text, sizeof(text), &n, "overlay", c->overlay);
	conf_line(text, sizeof(text), &n, "bootstrap_url", c->bootstrap_url);
	/* the logind we use: the super node's own when bootstrapd is down */
	conf_line(text, sizeof(text), &n, "logind_url", p->on->logind_url);
	conf_line(text, sizeof(text), &n, "ca_cert", c->ca_cert);
	conf_line(text, sizeof(text), &n, "account", a->name);
	conf_line(text, sizeof(text), &n, "password", a->password);
	conf_line(text, sizeof(text), &n, "password_file", a->password_file);
	conf_line(text, sizeof(text), &n, "key", p->key);
	conf_line(text, sizeof(text), &n, "cert", p->cert);
	conf_line(text, sizeof(text), &n, "database", p->db);
	conf_line(text, sizeof(text), &n, "listen", c->promo_listen);
	conf_line(text, sizeof(text), &n, "public_host", c->promo_public_host);
	conf_line(text, sizeof(text), &n, "status_listen", c->promo_status_listen);
	conf_line(text, sizeof(text), &n, "log_level", c->log_level);
	if (n >= sizeof(text)) {
		err_set(err, errlen, "supernode.conf: too long");
		return -1;
	}
	unlink(p->conf);
	return file_write(p->conf, text, n, 0600, 1, err, errlen);
}

/* [promotion] supernode_path, else next to our own program, else the
 * install path. */
static void supernode_path(const struct on_promote *p, char *out, size_t outlen)
{
	char self[512];
	ssize_t n;

	if (p->on->cfg.promo_supernode_path[0] != '\0') {
		str_copy(out, p->on->cfg.promo_supernode_path, outlen);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		snprintf(out, outlen, "%s/supernode", dirname(self));
		if (access(out, X_OK) == 0)
			return;
	}
	str_copy(out, PROMO_INSTALL_PATH, outlen);
}

/* In the child: nothing of ours stays open; it ends when we die. */
static void __attribute__((noreturn)) child_exec(const char *path, const char *conf)
{
	long max = sysconf(_SC_OPEN_MAX);

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	for (long fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		close((int)fd);
	execl(path, "supernode", "-c", conf, (char *)NULL);
	fprintf(stderr, "ordinarynode: cannot run %s: %s\n", path, strerror(errno));
	_exit(127);
}

static int child_start(struct on_promote *p, char *err, size_t errlen)
{
	char path[600];
	struct timeval tv = {PROMO_CHILD_POLL_MS / 1000, (PROMO_CHILD_POLL_MS % 1000) * 1000};
	pid_t pid;

	supernode_path(p, path, sizeof(path));
	if (access(path, X_OK) < 0) {
		err_set(err, errlen, "cannot run %s: %s", path, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		err_set(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		child_exec(path, p->conf);
	p->child = pid;
	p->stop_at = 0;
	event_add(p->child_ev, &tv);
	log_info("promotion: super node %s started (pid %d, %s)", path, (int)pid, p->conf);
	return 0;
}

/* Asks the child to leave (SIGTERM: it hands its records to its
 * successor); child_poll sees it go. */
static void demote(struct on_promote *p, const char *why)
{
	if (p->child <= 0 || p->stop_at != 0)
		return;
	log_info("promotion: stepping down: %s", why);
	str_copy(p->why, why, sizeof(p->why));
	p->stop_at = time_now();
	kill(p->child, SIGTERM);
}

static void child_poll(evutil_socket_t fd, short what, void *arg)
{
	struct on_promote *p = arg;
	char why[256];
	int st = 0;

	(void)fd, (void)what;
	if (p->child <= 0)
		return;
	if (waitpid(p->child, &st, WNOHANG) == p->child) {
		if (p->stop_at != 0)
			snprintf(why, sizeof(why), "stepped down (%s)", p->why);
		else
			snprintf(why, sizeof(why), "the super node ended by itself (%s %d)",
				 WIFEXITED(st) ? "exit status" : "signal",
				 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		p->child = 0;
		p->stop_at = 0;
		p->over_since = 0;
		event_del(p->child_ev);
		set_state(p, PROMO_ORDINARY, why);
		return;
	}
	if (p->stop_at != 0 && time_now() - p->stop_at > PROMO_STOP_WAIT) {
		log_warn("promotion: super node %d still running %ds after SIGTERM: killed",
			 (int)p->child, PROMO_STOP_WAIT);
		kill(p->child, SIGKILL);
	}
}

static void promote(struct on_promote *p)
{
	char err[300];

	listener_close(p);
	keepcert_free(p->kc); /* the child keeps the certificate from now on */
	p->kc = NULL;
	if (write_conf(p, err, sizeof(err)) < 0 || child_start(p, err, sizeof(err)) < 0) {
		log_error("promotion: %s", err);
		set_state(p, PROMO_ORDINARY, err);
		return;
	}
	set_state(p, PROMO_SUPER, "reachable, and the ring wants super nodes");
}

/* ---- the questions to our super node ---- */

static int ask(struct on_promote *p, json_t *msg, olink_reply_t cb)
{
	if (p->on->state != ON_ATTACHED || p->on->link == NULL ||
	    olink_request(p->on->link, msg, PROMO_REQ_TIMEOUT_MS, cb, p) < 0) {
		if (p->on->state != ON_ATTACHED || p->on->link == NULL)
			json_decref(msg);
		return -1;
	}
	p->asking = 1;
	return 0;
}

/* The reply's ring_size, or -1 with why filled. */
static int64_t ring_size_of(const json_t *reply, const char *err, char *why, size_t whylen)
{
	const json_t *n = json_object_get(reply, "ring_size");

	if (reply == NULL || !json_is_true(json_object_get(reply, "ok")) || !json_is_integer(n)) {
		snprintf(why, whylen, "super node did not say the ring's size: %s",
			 reply == NULL ? err
			 : json_string_value(json_object_get(reply, "msg")) != NULL
				 ? json_string_value(json_object_get(reply, "msg"))
				 : "no answer");
		return -1;
	}
	return json_integer_value(n);
}

static void reach_reply(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct on_promote *p = arg;
	char why[256];
	int64_t n = ring_size_of(reply, err, why, sizeof(why));

	(void)l;
	p->asking = 0;
	if (p->state != PROMO_CHECKING)
		return;
	if (n < 0) {
		check_end(p, why);
	} else if (!json_is_true(json_object_get(reply, "reachable"))) {
		snprintf(why, sizeof(why), "not reachable from outside: %s",
			 json_string_value(json_object_get(reply, "why")) != NULL
				 ? json_string_value(json_object_get(reply, "why"))
				 : "?");
		check_end(p, why);
	} else if (n >= p->want) {
		snprintf(why, sizeof(why), "the ring has %lld super nodes, wants %lld",
			 (long long)n, (long long)p->want);
		check_end(p, why);
	} else {
		promote(p);
	}
}

/* The super node certificate is there: the test listener opens and our
 * super node is asked to connect back to it. */
static void reach_start(evutil_socket_t fd, short what, void *arg)
{
	struct on_promote *p = arg;
	char err[256];
	uint16_t port;

	(void)fd, (void)what;
	if (p->state != PROMO_CHECKING || p->lis != NULL || p->asking)
		return;
	if (listener_open(p, &port, err, sizeof(err)) < 0) {
		check_end(p, err);
		return;
	}
	if (ask(p, json_pack("{s:s,s:i}", "t", "reach_check", "port", port), reach_reply) < 0)
		check_end(p, "lost the link to the super node");
}

/* From the loop, not inside keepcert's callback: the test may end in
 * keepcert_free. */
static void cert_ready(struct keepcert *kc, void *arg)
{
	struct on_promote *p = arg;
	struct timeval now = {0, 0};

	(void)kc;
	if (p->state == PROMO_CHECKING)
		event_base_once(p->on->base, -1, EV_TIMEOUT, reach_start, p, &now);
}

static void check_start(struct on_promote *p)
{
	const struct on_account_conf *a = &p->on->cfg.accounts[p->acc];
	struct keepcert_conf kcf = {
		a->name,        a->password, a->password_file, p->key, p->cert, p->on->cfg.ca_cert,
		ROLE_SUPERNODE, 1,           "[promotion]",    1};
	char err[256];

	if (mkdir_parents(p->dir, 0700, err, sizeof(err)) < 0 ||
	    (p->kc = keepcert_new(p->on->base, &kcf, p->on->anon_ctx, cert_ready, p, err,
				  sizeof(err))) == NULL) {
		set_state(p, PROMO_ORDINARY, err);
		return;
	}
	set_state(p, PROMO_CHECKING, "asking logind for a super node certificate");
	if (p->on->crl != NULL)
		keepcert_set_crl(p->kc, p->on->crl);
	keepcert_start(p->kc, p->on->logind_url, p->on->renew_before);
}

/* ---- qualifying, and stepping down ---- */

static double load_per_cpu(void)
{
	double l[1];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (getloadavg(l, 1) < 1)
		return 0;
	return l[0] / (double)(cpus > 0 ? cpus : 1);
}

/* What keeps this node from stepping up (what it can see by itself), or
 * NULL. min_uptime counts from the attach, and again from each failed try
 * or step down: that is the back-off between tries. */
static const char *not_qualified(struct on_promote *p, char *buf, size_t len)
{
	uint64_t up = time_mono_ms() -
		      (p->on->attached_ms > p->ordinary_ms ? p->on->attached_ms : p->ordinary_ms);

	if (!p->on->cfg.promo_allow)
		return "not allowed here ([promotion] allow = no)";
	if (!p->have_policy || !p->enable)
		return "the overlay's policy does not promote ([promotion] enable = no)";
	if (p->acc < 0)
		return "no account of role user to run a super node under";
	if (p->on->state != ON_ATTACHED || p->on->logind_url == NULL)
		return "not attached";
	if (up < (uint64_t)p->min_uptime * 1000) {
		snprintf(buf, len, "%llus since attaching or the last try, min_uptime is %llds",
			 (unsigned long long)(up / 1000), (long long)p->min_uptime);
		return buf;
	}
	if (load_per_cpu() >= p->max_load) {
		snprintf(buf, len, "load %.2f per CPU, max_load is %.2f", load_per_cpu(),
			 p->max_load);
		return buf;
	}
	return NULL;
}

static void ring_for_promotion(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct on_promote *p = arg;
	char why[256];
	int64_t n = ring_size_of(reply, err, why, sizeof(why));

	(void)l;
	p->asking = 0;
	if (p->state != PROMO_ORDINARY)
		return;
	if (n >= 0 && n < p->want)
		check_start(p);
	else if (n >= 0)
		snprintf(p->why, sizeof(p->why), "the ring has %lld super nodes, wants %lld",
			 (long long)n, (long long)p->want);
	else
		str_copy(p->why, why, sizeof(p->why));
}

/* 0 to max seconds, drawn at random: when the ring is over want, promoted
 * nodes step down one after another, each seeing the others leave, rather
 * than all at once (and all step up again min_uptime later). */
static int64_t demote_draw(int64_t max)
{
	uint32_t r = 0;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint32_t)random();
	return (int64_t)(r % (uint64_t)(max + 1));
}

/* Steps down once the ring is over want, or the load over max_load, for
 * demote_after and up to as long again, in a row. */
static void ring_for_demotion(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct on_promote *p = arg;
	char why[256];
	int64_t n = ring_size_of(reply, err, why, sizeof(why));
	double load = load_per_cpu();

	(void)l;
	p->asking = 0;
	if (p->state != PROMO_SUPER || p->stop_at != 0)
		return;
	if (n > p->want)
		snprintf(why, sizeof(why), "the ring has %lld super nodes, wants %lld",
			 (long long)n, (long long)p->want);
	else if (load > p->max_load)
		snprintf(why, sizeof(why), "load %.2f per CPU over max_load %.2f", load,
			 p->max_load);
	else {
		p->over_since = 0; /* no answer counts as no reason */
		return;
	}
	if (p->over_since == 0) {
		p->over_since = time_now();
		p->over_wait = p->demote_after + demote_draw(p->demote_after);
	}
	if (time_now() - p->over_since >= p->over_wait)
		demote(p, why);
}

/* A certificate logind no longer renews (the account lost promotable):
 * step down with half the renewal window left, while it is still valid. */
static int cert_not_renewed(const struct on_promote *p)
{
	char err[128];
	X509 *c = cert_read_pem(p->cert, err, sizeof(err));
	int late = 0;

	if (c != NULL) {
		int64_t left = cert_not_after(c) - time_now();
		late = left < p->on->renew_before / 2;
		X509_free(c);
	}
	return late;
}

static void super_tick(struct on_promote *p)
{
	if (p->stop_at != 0)
		return;
	if (!p->on->cfg.promo_allow || !p->enable)
		demote(p, "the overlay's policy no longer promotes");
	else if (cert_not_renewed(p))
		demote(p, "the super node certificate is not renewed (account no longer "
			  "promotable?)");
	else if (!p->asking)
		ask(p, json_pack("{s:s}", "t", "ring_size"), ring_for_demotion);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct on_promote *p = arg;
	char buf[160];
	const char *why;

	(void)fd, (void)what;
	if (p->state == PROMO_SUPER) {
		super_tick(p);
	} else if (p->state == PROMO_CHECKING) {
		if (time_now() - p->since > PROMO_CHECK_TIMEOUT && !p->asking) {
			json_t *st = keepcert_status(p->kc);
			snprintf(buf, sizeof(buf), "no super node certificate: %s",
				 json_string_value(json_object_get(st, "error")) != NULL
					 ? json_string_value(json_object_get(st, "error"))
					 : "timed out");
			json_decref(st);
			check_end(p, buf);
		}
	} else if ((why = not_qualified(p, buf, sizeof(buf))) != NULL) {
		str_copy(p->why, why, sizeof(p->why));
	} else if (!p->asking) {
		ask(p, json_pack("{s:s}", "t", "ring_size"), ring_for_promotion);
	}
}

/* ---- the interface ---- */

struct on_promote *on_promote_new(struct on *on, char *err, size_t errlen)
{
	struct on_promote *p = calloc(1, sizeof(*p));
	struct timeval tv;

	if (p == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	p->on = on;
	p->acc = -1;
	for (int i = 0; i < on->cfg.naccounts && p->acc < 0; i++)
		if (strcmp(on->cfg.accounts[i].role, ROLE_USER) == 0)
			p->acc = i;
	snprintf(p->dir, sizeof(p->dir), "%s/promoted", on->cfg.state_dir);
	snprintf(p->conf, sizeof(p->conf), "%s/supernode.conf", p->dir);
	snprintf(p->key, sizeof(p->key), "%s/node.key", p->dir);
	snprintf(p->cert, sizeof(p->cert), "%s/node.crt", p->dir);
	snprintf(p->db, sizeof(p->db), "%s/records.db", p->dir);
	set_state(p, PROMO_ORDINARY, "waiting for the overlay's policy");
	tv.tv_sec = on->cfg.promo_check_interval;
	tv.tv_usec = 0;
	p->tick = event_new(on->base, -1, EV_PERSIST, tick, p);
	p->child_ev = event_new(on->base, -1, EV_PERSIST, child_poll, p);
	if (p->tick == NULL || p->child_ev == NULL || event_add(p->tick, &tv) < 0) {
		err_set(err, errlen, "out of memory");
		on_promote_free(p);
		return NULL;
	}
	return p;
}

void on_promote_policy(struct on_promote *p, const struct bootc_config *c)
{
	p->have_policy = 1;
	p->enable = c->promotion.enable;
	p->want = c->promotion.want_supernodes;
	p->min_uptime = c->promotion.min_uptime;
	p->demote_after = c->promotion.demote_after;
	p->max_load = c->promotion.max_load;
	if (p->enable && p->on->cfg.promo_allow)
		log_info("promotion: the overlay wants %lld super nodes; this node may become "
			 "one after %llds attached",
			 (long long)p->want, (long long)p->min_uptime);
}

void on_promote_stop(struct on_promote *p)
{
	int st;

	if (p == NULL || p->child <= 0)
		return;
	if (p->stop_at == 0) {
		log_info("promotion: stopping our super node (pid %d): it hands its records over",
			 (int)p->child);
		kill(p->child, SIGTERM);
	}
	for (int i = 0; i < PROMO_STOP_WAIT * 10; i++) {
		if (waitpid(p->child, &st, WNOHANG) == p->child) {
			p->child = 0;
			return;
		}
		usleep(100 * 1000);
	}
	log_warn("promotion: super node %d still running after %ds: killed", (int)p->child,
		 PROMO_STOP_WAIT);
	kill(p->child, SIGKILL);
	waitpid(p->child, &st, 0);
	p->child = 0;
}

json_t *on_promote_status(const struct on_promote *p)
{
	if (p == NULL)
		return json_null();
	json_t *j = json_pack("{s:s,s:I,s:s,s:b}", "state", state_names[p->state], "since",
			      (json_int_t)p->since, "why", p->why, "allowed",
			      p->on->cfg.promo_allow);

	if (j != NULL && p->child > 0)
		json_object_set_new(j, "pid", json_integer(p->child));
	return j;
}

int on_promote_state(const struct on_promote *p)
{
	return p != NULL ? (int)p->state : 0;
}

void on_promote_free(struct on_promote *p)
{
	if (p == NULL)
		return;
	on_promote_stop(p);
	listener_close(p);
	keepcert_free(p->kc);
	if (p->tick != NULL)
		event_free(p->tick);
	if (p->child_ev != NULL)
		event_free(p->child_ev);
	free(p);
}
