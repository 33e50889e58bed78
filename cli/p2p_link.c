/* p2psip: getting onto the overlay and talking over it. Runs the loop until
 * an answer, asks bootstrapd, loads our identity, attaches to a super node
 * and sends requests over that link. */
#include "p2p.h"

#include "identity.h"
#include "tls.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- running the loop until an answer ---- */

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	snprintf(C.err, sizeof(C.err), "timed out after %d s", C.timeout);
	C.done = 1;
	event_base_loopbreak(C.base);
}

void wait_done(void)
{
	struct timeval tv = {C.timeout, 0};
	struct event *t = evtimer_new(C.base, on_timeout, NULL);

	evtimer_add(t, &tv);
	while (!C.done)
		event_base_loop(C.base, EVLOOP_ONCE);
	event_free(t);
	C.done = 0;
}

/* ---- bootstrapd: common/bootc's requests, on our loop until answered ---- */

void boot_failed(enum bootc_res res, const char *err)
{
	snprintf(C.err, sizeof(C.err), "bootstrapd: %s",
		 res == BOOTC_REFUSED ? "unexpected answer" : err);
}

/* After a request started: runs the loop until its answer (or --timeout,
 * then the request is dropped so that no late answer lands). */
void boot_wait(void)
{
	wait_done();
	bootc_cancel(C.boot);
}

static void on_list(enum bootc_res res, const struct bootc_list *list, const char *err, void *arg)
{
	struct bootc_list *out = arg;

	if (list != NULL)
		*out = *list;
	else
		boot_failed(res, err);
	C.done = 1;
}

/* Without a CRL (none yet, or bootstrapd unreachable), get checks
 * signatures all the same. */
static void on_crl(enum bootc_res res, struct crl *c, const char *err, void *arg)
{
	(void)res, (void)err, (void)arg;
	C.crl = c;
	C.done = 1;
}

void fetch_crl(void)
{
	char err[256];

	if (bootc_get_crl(C.boot, C.anon, on_crl, NULL, err, sizeof(err)) == 0)
		boot_wait();
}

/* The CA and an anonymous TLS context for bootstrapd and logind, and a
 * bootstrapd client whenever there is a URL (need_bootstrap: no command
 * without one). */
void setup(int need_bootstrap)
{
	char err[512];

	if (C.ca == NULL)
		die(2, "give --ca (the overlay CA certificate)");
	C.cax = cert_read_pem(C.ca, err, sizeof(err));
	if (C.cax == NULL)
		die(1, "%s", err);
	C.anon = tls_client_ctx_new(C.ca, NULL, NULL, err, sizeof(err));
	if (C.anon == NULL)
		die(1, "%s", err);
	if (need_bootstrap && C.bootstrap == NULL)
		die(2, "give --bootstrap URL (or --supernode for commands that attach)");
	if (C.bootstrap != NULL) {
		C.boot = bootc_new(C.base, C.bootstrap, NULL, C.cax, C.timeout);
		if (C.boot == NULL)
			die(1, "out of memory");
	}
}

/* ---- identity and attaching ---- */

void load_identity(void)
{
	char err[512];

	if (C.key == NULL || C.cert == NULL)
		die(2, "give --key and --cert (or run p2psip login first)");
	C.pkey = key_read_pem(C.key, err, sizeof(err));
	C.x509 = C.pkey != NULL ? cert_read_pem(C.cert, err, sizeof(err)) : NULL;
	if (C.x509 == NULL)
		die(1, "%s", err);
	if (X509_check_private_key(C.x509, C.pkey) != 1)
		die(1, "%s does not belong to %s", C.cert, C.key);
	if (cert_overlay(C.x509, C.overlay, sizeof(C.overlay)) < 0)
		die(1, "%s: no overlay name in the certificate", C.cert);
	C.ctx = tls_client_ctx_new(C.ca, C.cert, C.key, err, sizeof(err));
	if (C.ctx == NULL)
		die(1, "%s", err);
}

/* Only a super node of the overlay may serve us: any overlay certificate
 * passes TLS, so the role is checked here (olink checked the version). */
static int on_ready(struct olink *l, const json_t *hello, void *arg)
{
	const struct olink_peer *p = olink_peer(l);

	(void)hello, (void)arg;
	C.done = 1;
	if (strcmp(p->role, ROLE_SUPERNODE) != 0) {
		snprintf(C.err, sizeof(C.err), "%s (%s) is not a super node (role %s)", p->name,
			 p->addr, p->role);
		return -1;
	}
	return 0;
}

static void print_msg(json_t *msg)
{
	if (C.json) {
		char *s = json_dumps(msg, JSON_COMPACT);
		printf("%s\n", s);
		free(s);
	} else {
		printf("message from %s (via %s): %s\n",
		       json_string_value(json_object_get(msg, "from")),
		       json_string_value(json_object_get(msg, "from_sn")),
		       json_string_value(json_object_get(msg, "body")));
	}
	fflush(stdout);
	C.msgs++;
	if (C.count > 0 && C.msgs >= C.count)
		C.done = 1;
}

static void on_message(struct olink *l, json_t *msg, void *arg)
{
	const char *t = json_string_value(json_object_get(msg, "t"));

	(void)l, (void)arg;
	if (t != NULL && strcmp(t, "msg") == 0)
		print_msg(msg);
}

static void on_closed(struct olink *l, const char *why, void *arg)
{
	(void)l, (void)arg;
	if (C.err[0] == '\0') /* keep the reason on_ready gave */
		snprintf(C.err, sizeof(C.err), "link to the super node closed: %s", why);
	C.link = NULL;
	C.done = 1;
}

static const struct olink_ops ops = {on_ready, on_message, on_closed};

static int try_attach(const char *host, uint16_t port)
{
	struct olink_limits lim;
	char err[256];

	olink_limits_default(&lim);
	lim.hello_secs = C.timeout;
	C.err[0] = '\0';
	C.link = olink_connect(C.base, C.ctx, host, port, json_object(), &lim, &ops, NULL, err,
			       sizeof(err));
	if (C.link == NULL) {
		snprintf(C.err, sizeof(C.err), "%s", err);
		return -1;
	}
	wait_done();
	return C.link != NULL && olink_get_state(C.link) == OLINK_READY ? 0 : -1;
}

void attach(void)
{
	char host[64], err[256];
	uint16_t port;
	struct bootc_list list = {.n = -1};

	if (C.supernode != NULL) {
		if (addr_split(C.supernode, host, sizeof(host), &port) < 0)
			die(2, "--supernode: want IP:PORT");
		if (try_attach(host, port) < 0)
			die(1, "cannot attach to %s: %s", C.supernode, C.err);
		return;
	}
	if (bootc_get_list(C.boot, C.anon, 8, on_list, &list, err, sizeof(err)) < 0)
		die(1, "%s", err);
	boot_wait();
	if (list.n < 0)
		die(1, "%s", C.err);
	for (int i = 0; i < list.n; i++) {
		const struct bootc_addr *a = &list.sn[i].addr[0];
		if (a->port != 0 && try_attach(a->host, a->port) == 0)
			return;
	}
	die(1, "no super node to attach to%s%s", C.err[0] ? ": " : "", C.err);
}

static void on_reply(struct olink *l, json_t *reply, const char *err, void *arg)
{
	(void)l, (void)arg;
	if (reply != NULL)
		C.reply = json_incref(reply);
	else
		snprintf(C.err, sizeof(C.err), "%s", err);
	C.done = 1;
}

/* Sends a request and waits; dies on transport errors, returns the reply
 * (which may say ok: false). */
json_t *request(json_t *msg)
{
	C.reply = NULL;
	C.err[0] = '\0';
	if (C.link == NULL || olink_request(C.link, msg, C.timeout * 1000, on_reply, NULL) < 0)
		die(1, "no link to a super node");
	wait_done();
	if (C.reply == NULL)
		die(1, "%s", C.err);
	return C.reply;
}

json_t *request_ok(json_t *msg)
{
	json_t *r = request(msg);

	if (!json_is_true(json_object_get(r, "ok")))
		die(1, "%s (%s)", json_string_value(json_object_get(r, "msg")),
		    json_string_value(json_object_get(r, "err")));
	return r;
}

void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));

	puts(s);
	free(s);
}

static void on_pong(struct olink *l, json_t *reply, const char *err, void *arg)
{
	(void)l, (void)reply, (void)err, (void)arg; /* a dead link shows in on_closed */
}

void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	if (C.link != NULL)
		olink_request(C.link, json_pack("{s:s}", "t", "ping"), 10000, on_pong, NULL);
}
