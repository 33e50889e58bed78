/* p2psip: the command-line client of the overlay, for operators and tests.
 * It logs in (or uses key and certificate files), attaches to a super node
 * like an ordinary node does, and stores, fetches (checking every signature
 * itself), pings, traces routes, walks the ring and sends messages. */
#include "bootc.h"
#include "certcheck.h"
#include "crl.h"
#include "enroll.h"
#include "identity.h"
#include "log.h"
#include "olink.h"
#include "record.h"
#include "stun.h"
#include "tls.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef P2PSIP_VERSION
#define P2PSIP_VERSION "0.0.0"
#endif

#define EXIT_NOTFOUND 3
#define RING_MAX 1024

struct cli {
	const char *bootstrap, *ca, *key, *cert, *user, *supernode, *kind, *via;
	int password_stdin, json, count, repeat, hold, oneway;
	int64_t lifetime, stored;
	int timeout;
	struct event_base *base;
	SSL_CTX *anon, *ctx;
	EVP_PKEY *pkey;
	X509 *x509, *cax;
	struct crl *crl;
	struct bootc *boot;
	char overlay[256];
	struct olink *link;
	int done;
	json_t *reply;
	char err[512];
	int msgs;
};

static struct cli C;

static void __attribute__((noreturn)) die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("p2psip: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: p2psip [options] COMMAND [ARGS]\n"
		"The overlay's command-line client.\n\n"
		"  login                   get a certificate for --user into --cert (key --key,\n"
		"                          created if missing); the password is asked on the\n"
		"                          terminal, or read with --password-stdin\n"
		"  put NAME DATA           store DATA under NAME (e.g. user:alice@overlay/notes)\n"
		"  rm NAME                 store a signed deletion of our value under NAME\n"
		"  get NAME...             fetch the values of each NAME, checking every\n"
		"                          signature (--json: one line per NAME)\n"
		"  ping [NODE-ID]          a super node by Node-ID (or the attached one: self)\n"
		"  route NAME              the super nodes a request for NAME passes\n"
		"  ring                    walk the ring from the attached super node\n"
		"  send NODE-ID TEXT       a message to a node (--via SN-ID: its super node)\n"
		"  listen                  print messages sent to us (--count N, then exit)\n"
		"  whoami                  our Node-ID and the attached super node\n"
		"  stun HOST:PORT          the address a STUN server sees us at (--count N:\n"
		"                          N requests at once, how many were answered)\n"
		"  sign NAME DATA          print a signed value (--stored MS: its storage time)\n"
		"  raw                     send the JSON requests on stdin (one per line;\n"
		"                          --repeat N: each N times), print the replies\n"
		"                          (--hold SECS: stay attached that long after)\n\n"
		"  -b, --bootstrap URL     bootstrapd (default $P2PSIP_BOOTSTRAP)\n"
		"  -a, --ca FILE           the overlay CA certificate (default $P2PSIP_CA)\n"
		"  -k, --key FILE          our key (default $P2PSIP_KEY)\n"
		"  -c, --cert FILE         our certificate (default $P2PSIP_CERT)\n"
		"  -u, --user NAME         account for login\n"
		"      --password-stdin    read the password from the first line of stdin\n"
		"  -s, --supernode IP:PORT attach there instead of asking bootstrapd\n"
		"      --kind K            kind of a stored value (default \"data\")\n"
		"      --lifetime SECS     lifetime of a stored value (default 3600)\n"
		"      --via SN-ID         for send: the super node the destination is attached to\n"
		"      --count N           for listen: exit after N messages; for stun: requests\n"
		"      --repeat N          for raw: send each request N times, pipelined\n"
		"      --hold SECS         for raw: stay attached SECS after the replies\n"
		"      --oneway            for raw: send the lines as one-way messages (no\n"
		"                          replies; a ping afterwards shows the link lives)\n"
		"      --stored MS         for sign: the storage time (ms since the epoch)\n"
		"      --timeout SECS      give up after this long (default 15)\n"
		"      --json              machine-readable output\n"
		"  -h, --help              show this help\n"
		"  -V, --version           show the version\n"
		"Exit status: 0 done, 1 error, 2 bad usage, 3 nothing stored under NAME.\n");
}

/* ---- running the loop until an answer ---- */

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	snprintf(C.err, sizeof(C.err), "timed out after %d s", C.timeout);
	C.done = 1;
	event_base_loopbreak(C.base);
}

static void wait_done(void)
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

static void boot_failed(enum bootc_res res, const char *err)
{
	snprintf(C.err, sizeof(C.err), "bootstrapd: %s",
		 res == BOOTC_REFUSED ? "unexpected answer" : err);
}

/* After a request started: runs the loop until its answer (or --timeout,
 * then the request is dropped so that no late answer lands). */
static void boot_wait(void)
{
	wait_done();
	bootc_cancel(C.boot);
}

static void on_config(enum bootc_res res, const struct bootc_config *cfg, const char *err,
		      void *arg)
{
	char *logind = arg;

	if (cfg != NULL)
		str_copy(logind, cfg->logind_url, BOOTC_URL_MAX + 1);
	else
		boot_failed(res, err);
	C.done = 1;
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

static void fetch_crl(void)
{
	char err[256];

	if (bootc_get_crl(C.boot, C.anon, on_crl, NULL, err, sizeof(err)) == 0)
		boot_wait();
}

/* ---- identity ---- */

static char *read_password(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *in = stdin;
	struct termios old, quiet;
	int tty = !C.password_stdin && isatty(STDIN_FILENO);

	if (!C.password_stdin && !tty)
		die(2, "no terminal to ask for the password: use --password-stdin");
	if (tty) {
		fprintf(stderr, "Password for %s: ", C.user);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	n = getline(&line, &cap, in);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n <= 0)
		die(1, "no password given");
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static void on_enrolled(const struct enroll_result *res, void *arg)
{
	char werr[256];

	(void)arg;
	if (res->cert_pem == NULL)
		snprintf(C.err, sizeof(C.err), "%s", res->err);
	else if (file_write(C.cert, res->cert_pem, strlen(res->cert_pem), 0644, 0, werr,
			    sizeof(werr)) < 0)
		snprintf(C.err, sizeof(C.err), "%s", werr);
	C.done = 1;
}

static int cmd_login(void)
{
	char logind[BOOTC_URL_MAX + 1] = "";
	char err[512];
	char *pw;

	if (C.user == NULL || C.key == NULL || C.cert == NULL)
		die(2, "login needs --user, --key and --cert");
	C.pkey = enroll_key_load_or_create(C.key, err, sizeof(err));
	if (C.pkey == NULL)
		die(1, "%s", err);
	if (bootc_get_config(C.boot, C.anon, on_config, logind, err, sizeof(err)) < 0)
		die(1, "%s", err);
	boot_wait();
	if (logind[0] == '\0')
		die(1, "%s", C.err[0] ? C.err : "bootstrapd gave no logind address");
	pw = read_password();
	if (enroll_login(C.base, C.anon, logind, C.user, pw, C.pkey, on_enrolled, NULL, err,
			 sizeof(err)) == NULL)
		die(1, "%s", err);
	OPENSSL_cleanse(pw, strlen(pw));
	free(pw);
	wait_done();
	if (C.err[0] != '\0')
		die(1, "%s", C.err);
	if (!C.json)
		printf("certificate for %s written to %s\n", C.user, C.cert);
	return 0;
}

static void load_identity(void)
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

/* ---- attaching ---- */

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

static void attach(void)
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
static json_t *request(json_t *msg)
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

static json_t *request_ok(json_t *msg)
{
	json_t *r = request(msg);

	if (!json_is_true(json_object_get(r, "ok")))
		die(1, "%s (%s)", json_string_value(json_object_get(r, "msg")),
		    json_string_value(json_object_get(r, "err")));
	return r;
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));

	puts(s);
	free(s);
}

/* ---- commands ---- */

static int cmd_put(const char *name, const char *data, int del)
{
	struct record r;
	json_t *reply;

	if (record_init(&r, name, C.kind, data, now_ms(), (uint32_t)C.lifetime, del) < 0)
		die(2, "NAME must be printable ASCII of at most %d bytes", RECORD_NAME_MAX);
	if (record_sign(&r, C.pkey, C.x509) < 0)
		die(1, "cannot sign");
	reply = request_ok(json_pack("{s:s,s:o}", "t", "store", "val", record_to_json(&r)));
	record_clear(&r);
	if (C.json)
		print_json(reply);
	else
		printf("%s %s (%lld hops)\n", del ? "removed" : "stored", name,
		       (long long)json_integer_value(json_object_get(reply, "hops")));
	json_decref(reply);
	return 0;
}

/* Checks a fetched value as fully as a node must: the super node that
 * returned it is not trusted. */
static int check_value(json_t *v, const char *name, struct certcheck *cc, struct record *r,
		       char *why, size_t len)
{
	if (record_from_json(v, r, why, len) < 0)
		return -1;
	if (strcmp(r->name, name) != 0) {
		err_set(why, len, "value for another name (%s)", r->name);
		return -1;
	}
	/* The signer's certificate must have been valid when it signed: values
	 * may outlive the day a certificate lasts. */
	if (certcheck_record(cc, r, C.overlay, why, len) < 0)
		return -1;
	if (record_is_expired(r, now_ms())) {
		err_set(why, len, "expired");
		return -1;
	}
	return 0;
}

static int cmd_get(const char *name)
{
	json_t *reply = request_ok(json_pack("{s:s,s:s}", "t", "fetch", "name", name));
	json_t *vals = json_object_get(reply, "vals"), *v, *out = json_array();
	struct certcheck *cc = certcheck_new(C.cax);
	int bad = 0, good = 0;
	size_t i;

	certcheck_set_crl(cc, C.crl);
	json_array_foreach(vals, i, v) {
		struct record r;
		char why[256], owner[RID_HEX_LEN + 1], signer[NAME_MAX_LEN + 1] = "?";
		if (check_value(v, name, cc, &r, why, sizeof(why)) < 0) {
			fprintf(stderr, "p2psip: INVALID value dropped: %s\n", why);
			bad++;
			record_clear(&r);
			continue;
		}
		good++;
		rid_hex(&r.owner, owner);
		cert_name(r.cert, signer, sizeof(signer));
		json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "owner", owner,
						     "signer", signer, "kind", r.kind, "data",
						     r.data, "stored", (json_int_t)r.stored,
						     "expires",
						     (json_int_t)record_expires_ms(&r)));
		if (!C.json)
			printf("%s  %s  %s  %s\n", owner, signer, r.kind, r.data);
		record_clear(&r);
	}
	if (C.json) {
		json_t *o = json_pack("{s:s,s:o,s:O,s:i}", "name", name, "values", out, "hops",
				      json_object_get(reply, "hops"), "invalid", bad);
		char *line = json_dumps(o, JSON_COMPACT);
		puts(line);
		free(line);
		json_decref(o);
	} else {
		json_decref(out);
	}
	certcheck_free(cc);
	json_decref(reply);
	if (bad > 0)
		return 1;
	if (good == 0) {
		if (!C.json)
			fprintf(stderr, "p2psip: nothing stored under %s\n", name);
		return EXIT_NOTFOUND;
	}
	return 0;
}

static int cmd_ping(const char *node)
{
	json_t *msg = json_pack("{s:s}", "t", "ping");
	uint64_t t0 = time_mono_us();
	json_t *reply;

	if (node != NULL && strcmp(node, "self") != 0)
		json_object_set_new(msg, "node", json_string(node));
	reply = request_ok(msg);
	if (C.json) {
		json_object_set_new(reply, "rtt_us", json_integer((json_int_t)(time_mono_us() - t0)));
		print_json(reply);
	} else {
		json_t *n = json_object_get(reply, "node");
		printf("%s at %s:%lld: %.2f ms, %lld hops\n", json_string_value(json_object_get(n, "id")),
		       json_string_value(json_object_get(n, "host")),
		       (long long)json_integer_value(json_object_get(n, "port")),
		       (double)(time_mono_us() - t0) / 1000.0,
		       (long long)json_integer_value(json_object_get(reply, "hops")));
	}
	json_decref(reply);
	return 0;
}

static int cmd_route(const char *name)
{
	json_t *reply = request_ok(json_pack("{s:s,s:s}", "t", "route", "name", name));
	json_t *path = json_object_get(reply, "path"), *v;
	struct rid res;
	char hex[RID_HEX_LEN + 1];
	size_t i;

	rid_of_name(name, &res);
	rid_hex(&res, hex);
	if (C.json) {
		json_object_set_new(reply, "resource_id", json_string(hex));
		print_json(reply);
	} else {
		printf("%s (Resource-ID %s): %lld hops\n", name, hex,
		       (long long)json_integer_value(json_object_get(reply, "hops")));
		json_array_foreach(path, i, v)
			printf("  %zu  %s\n", i, json_string_value(v));
	}
	json_decref(reply);
	return 0;
}

/* Walks the successors from the attached super node until the walk comes
 * back to where it started. */
static int cmd_ring(void)
{
	json_t *cur = request_ok(json_pack("{s:s}", "t", "neighbors"));
	json_t *out = json_array();
	char start[RID_HEX_LEN + 1];
	int n = 0;

	str_copy(start,
		 json_string_value(json_object_get(json_object_get(cur, "node"), "id")) ?: "",
		 sizeof(start));
	for (;;) {
		json_t *node = json_object_get(cur, "node");
		json_t *succ = json_array_get(json_object_get(cur, "succs"), 0);
		const char *next = json_string_value(json_object_get(succ, "id"));
		if (!C.json)
			printf("%-32s  %s:%lld\n", json_string_value(json_object_get(node, "id")),
			       json_string_value(json_object_get(node, "host")),
			       (long long)json_integer_value(json_object_get(node, "port")));
		json_array_append(out, node);
		n++;
		if (next == NULL || strcmp(next, start) == 0 || n >= RING_MAX)
			break;
		json_t *msg = json_pack("{s:s,s:s}", "t", "neighbors", "node", next);
		json_decref(cur);
		cur = request_ok(msg);
	}
	json_decref(cur);
	if (C.json)
		print_json(json_pack("{s:i,s:o}", "size", n, "nodes", out));
	else {
		json_decref(out);
		printf("%d super nodes\n", n);
	}
	return 0;
}

static int cmd_send(const char *to, const char *text)
{
	json_t *msg = json_pack("{s:s,s:s,s:s}", "t", "send", "to", to, "body", text);
	json_t *reply;

	if (C.via != NULL)
		json_object_set_new(msg, "sn", json_string(C.via));
	reply = request_ok(msg);
	if (C.json)
		print_json(reply);
	else
		printf("delivered (%lld hops)\n",
		       (long long)json_integer_value(json_object_get(reply, "hops")));
	json_decref(reply);
	return 0;
}

/* Super nodes close links that stay silent for their idle_timeout (120 s
 * by default): a listener pings every 30 s to stay attached. */
#define KEEPALIVE_SECS 30

static void on_pong(struct olink *l, json_t *reply, const char *err, void *arg)
{
	(void)l, (void)reply, (void)err, (void)arg; /* a dead link shows in on_closed */
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
	if (C.link != NULL)
		olink_request(C.link, json_pack("{s:s}", "t", "ping"), 10000, on_pong, NULL);
}

static int cmd_listen(void)
{
	struct timeval tv = {KEEPALIVE_SECS, 0};
	struct event *ka = event_new(C.base, -1, EV_PERSIST, on_keepalive, NULL);

	/* Attached and quiet: messages arrive through on_message. */
	if (!C.json)
		fprintf(stderr, "listening; Ctrl-C to stop\n");
	event_add(ka, &tv);
	while (C.link != NULL && (C.count == 0 || C.msgs < C.count))
		event_base_loop(C.base, EVLOOP_ONCE);
	event_free(ka);
	return C.link == NULL && (C.count == 0 || C.msgs < C.count) ? 1 : 0;
}

static int cmd_whoami(void)
{
	json_t *reply = request_ok(json_pack("{s:s}", "t", "ping"));
	uint8_t nid[NODE_ID_LEN];
	char hex[NODE_ID_HEX_LEN + 1];

	node_id_from_cert(C.x509, nid);
	node_id_hex(nid, hex);
	if (C.json)
		print_json(json_pack("{s:s,s:O}", "node_id", hex, "supernode",
				     json_object_get(reply, "node")));
	else
		printf("%s attached to %s\n", hex,
		       json_string_value(json_object_get(json_object_get(reply, "node"), "id")));
	json_decref(reply);
	return 0;
}

/* Prints a signed value without sending it: tests tamper with it. */
static int cmd_sign(const char *name, const char *data)
{
	struct record r;

	if (record_init(&r, name, C.kind, data, C.stored > 0 ? (uint64_t)C.stored : now_ms(),
			(uint32_t)C.lifetime, 0) < 0)
		die(2, "bad NAME or --kind");
	if (record_sign(&r, C.pkey, C.x509) < 0)
		die(1, "cannot sign");
	print_json(record_to_json(&r));
	record_clear(&r);
	return 0;
}

struct raw_slot {
	json_t *reply;
	char err[128];
	int done;
};

static int raw_left;

static void on_raw(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct raw_slot *s = arg;

	(void)l;
	if (reply != NULL)
		s->reply = json_incref(reply);
	else
		snprintf(s->err, sizeof(s->err), "%s", err);
	s->done = 1;
	if (--raw_left == 0)
		C.done = 1;
}

/* Sends every request at once (pipelined), then prints the replies in the
 * order of the requests: {"ok":...} objects, or {"error": transport}. */
static int cmd_raw(void)
{
	json_t *reqs = json_array(), *r;
	struct raw_slot *slots;
	char *line = NULL;
	size_t cap = 0, n = 0, i;
	int reps = C.repeat > 0 ? C.repeat : 1;

	while (getline(&line, &cap, stdin) > 0) {
		json_error_t jerr;
		if (line[0] == '\n')
			continue;
		r = json_loads(line, 0, &jerr);
		if (!json_is_object(r))
			die(2, "raw: each line must be a JSON object (%s)", jerr.text);
		for (int k = 0; k < reps; k++)
			json_array_append(reqs, r);
		json_decref(r);
	}
	free(line);
	if (C.oneway) {
		/* As one-way messages, then a ping: its answer shows the peer
		 * read them all and kept the link. */
		json_array_foreach(reqs, i, r)
			olink_send(C.link, json_deep_copy(r));
		json_decref(reqs);
		reqs = json_array();
		json_array_append_new(reqs, json_pack("{s:s}", "t", "ping"));
	}
	n = json_array_size(reqs);
	slots = calloc(n ? n : 1, sizeof(*slots));
	raw_left = (int)n;
	json_array_foreach(reqs, i, r) {
		if (olink_request(C.link, json_deep_copy(r), C.timeout * 1000, on_raw, &slots[i]) <
		    0) {
			snprintf(slots[i].err, sizeof(slots[i].err), "not sent");
			slots[i].done = 1;
			raw_left--;
		}
	}
	if (raw_left > 0)
		wait_done();
	for (i = 0; i < n; i++) {
		json_t *out = slots[i].reply != NULL ? slots[i].reply
						     : json_pack("{s:s}", "error",
								 slots[i].done ? slots[i].err
									       : "no reply");
		char *s2;
		json_object_del(out, "tid");
		json_object_del(out, "t");
		s2 = json_dumps(out, JSON_COMPACT);
		puts(s2);
		free(s2);
		json_decref(out);
	}
	free(slots);
	json_decref(reqs);
	if (C.hold > 0) {
		/* Stay attached (what the link holds, e.g. relay streams, stays). */
		struct timeval tv = {KEEPALIVE_SECS, 0};
		struct event *ka = event_new(C.base, -1, EV_PERSIST, on_keepalive, NULL);
		uint64_t end = time_mono_ms() + (uint64_t)C.hold * 1000;

		fflush(stdout);
		event_add(ka, &tv);
		while (C.link != NULL && time_mono_ms() < end) {
			struct timeval step = {0, 200000};
			event_base_loopexit(C.base, &step);
			event_base_dispatch(C.base);
		}
		event_free(ka);
	}
	return 0;
}

/* ---- main ---- */

static void parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{"bootstrap", required_argument, NULL, 'b'},
		{"ca", required_argument, NULL, 'a'},
		{"key", required_argument, NULL, 'k'},
		{"cert", required_argument, NULL, 'c'},
		{"user", required_argument, NULL, 'u'},
		{"supernode", required_argument, NULL, 's'},
		{"password-stdin", no_argument, NULL, 'P'},
		{"kind", required_argument, NULL, 'K'},
		{"lifetime", required_argument, NULL, 'L'},
		{"via", required_argument, NULL, 'v'},
		{"count", required_argument, NULL, 'n'},
		{"repeat", required_argument, NULL, 'r'},
		{"hold", required_argument, NULL, 'H'},
		{"oneway", no_argument, NULL, 'O'},
		{"stored", required_argument, NULL, 'S'},
		{"timeout", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;

	C.bootstrap = getenv("P2PSIP_BOOTSTRAP");
	C.ca = getenv("P2PSIP_CA");
	C.key = getenv("P2PSIP_KEY");
	C.cert = getenv("P2PSIP_CERT");
	C.kind = "data";
	C.lifetime = 3600;
	C.timeout = 15;
	while ((c = getopt_long(argc, argv, "b:a:k:c:u:s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'b': C.bootstrap = optarg; break;
		case 'a': C.ca = optarg; break;
		case 'k': C.key = optarg; break;
		case 'c': C.cert = optarg; break;
		case 'u': C.user = optarg; break;
		case 's': C.supernode = optarg; break;
		case 'P': C.password_stdin = 1; break;
		case 'K': C.kind = optarg; break;
		case 'L': C.lifetime = strtoll(optarg, NULL, 10); break;
		case 'v': C.via = optarg; break;
		case 'n': C.count = atoi(optarg); break;
		case 'r': C.repeat = atoi(optarg); break;
		case 'H': C.hold = atoi(optarg); break;
		case 'O': C.oneway = 1; break;
		case 'S': C.stored = strtoll(optarg, NULL, 10); break;
		case 't': C.timeout = atoi(optarg); break;
		case 'j': C.json = 1; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("p2psip %s\n", P2PSIP_VERSION); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (C.timeout <= 0 || C.lifetime < 0 || C.lifetime > UINT32_MAX)
		die(2, "bad --timeout or --lifetime");
}

static void setup(int need_bootstrap)
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

/* STUN Binding requests to HOST:PORT over UDP: prints the address the
 * server saw us at. With --count N, sends N requests back to back and
 * says how many were answered (a rate-limit check). */
static int cmd_stun(const char *server)
{
	char host[64], ip[INET6_ADDRSTRLEN];
	uint16_t port;
	struct addrinfo hints = {0}, *ai = NULL;
	char ps[8];
	int fd, n = C.count > 0 ? C.count : 1, answered = 0;
	uint8_t req[64], buf[STUN_MSG_MAX], tid[STUN_TID_LEN];
	struct stun_msg m = {0};
	struct timeval tv = {0, 500000};
	uint64_t deadline;

	if (addr_split(server, host, sizeof(host), &port) < 0)
		die(2, "stun: want HOST:PORT, got %s", server);
	hints.ai_socktype = SOCK_DGRAM;
	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(host, ps, &hints, &ai) != 0)
		die(1, "stun: cannot resolve %s", host);
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die(1, "stun: %s: %s", server, strerror(errno));
	freeaddrinfo(ai);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < n; i++) {
		size_t len;
		RAND_bytes(tid, sizeof(tid));
		len = stun_binding_request(req, sizeof(req), tid);
		if (send(fd, req, len, 0) < 0)
			die(1, "stun: %s", strerror(errno));
	}
	deadline = time_mono_ms() + (n > 1 ? 1000 : 1000u * (uint64_t)C.timeout);
	while (answered < n && time_mono_ms() < deadline) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		if (got < 0) {
			if (n == 1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				size_t len = stun_binding_request(req, sizeof(req), tid);
				if (send(fd, req, len, 0) < 0)
					break;
			}
			continue;
		}
		if (stun_parse(buf, (size_t)got, &m) == 0 && m.type == STUN_BINDING_SUCCESS &&
		    m.has_mapped)
			answered++;
	}
	close(fd);
	if (n > 1) {
		printf(C.json ? "{\"sent\": %d, \"answered\": %d}\n" : "%d sent, %d answered\n", n,
		       answered);
		return 0;
	}
	if (answered == 0)
		die(1, "stun: no answer from %s", server);
	if (m.mapped.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&m.mapped)->sin_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&m.mapped)->sin6_addr, ip, sizeof(ip));
	port = ntohs(((struct sockaddr_in *)&m.mapped)->sin_port);
	if (C.json)
		printf("{\"mapped\": \"%s%s%s:%u\"}\n", m.mapped.ss_family == AF_INET6 ? "[" : "", ip,
		       m.mapped.ss_family == AF_INET6 ? "]" : "", port);
	else
		printf("%s%s%s:%u\n", m.mapped.ss_family == AF_INET6 ? "[" : "", ip,
		       m.mapped.ss_family == AF_INET6 ? "]" : "", port);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int rc = 2;

	log_init("p2psip", LOG_LVL_WARN);
	parse(argc, argv);
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind + 1;
	argv += optind + 1;
	C.base = event_base_new();
	if (strcmp(cmd, "stun") == 0) {
		rc = argc == 1 ? cmd_stun(argv[0]) : (usage(stderr), 2);
		goto out;
	}
	if (strcmp(cmd, "login") == 0) {
		setup(1);
		rc = cmd_login();
		goto out;
	}
	setup(C.supernode == NULL && strcmp(cmd, "sign") != 0);
	load_identity();
	if (strcmp(cmd, "sign") == 0) {
		rc = argc == 2 ? cmd_sign(argv[0], argv[1]) : (usage(stderr), 2);
		goto out;
	}
	if (C.bootstrap != NULL)
		fetch_crl();
	attach();
	if (strcmp(cmd, "put") == 0 && argc == 2)
		rc = cmd_put(argv[0], argv[1], 0);
	else if (strcmp(cmd, "rm") == 0 && argc == 1)
		rc = cmd_put(argv[0], "", 1);
	else if (strcmp(cmd, "get") == 0 && argc >= 1) {
		/* Several names over one link: the worst outcome decides. */
		rc = 0;
		for (int i = 0; i < argc; i++) {
			int r = cmd_get(argv[i]);
			if (r == 1 || (r == EXIT_NOTFOUND && rc == 0))
				rc = r;
		}
	}
	else if (strcmp(cmd, "ping") == 0 && argc <= 1)
		rc = cmd_ping(argc == 1 ? argv[0] : NULL);
	else if (strcmp(cmd, "route") == 0 && argc == 1)
		rc = cmd_route(argv[0]);
	else if (strcmp(cmd, "ring") == 0 && argc == 0)
		rc = cmd_ring();
	else if (strcmp(cmd, "send") == 0 && argc == 2)
		rc = cmd_send(argv[0], argv[1]);
	else if (strcmp(cmd, "listen") == 0 && argc == 0)
		rc = cmd_listen();
	else if (strcmp(cmd, "raw") == 0 && argc == 0)
		rc = cmd_raw();
	else if (strcmp(cmd, "whoami") == 0 && argc == 0)
		rc = cmd_whoami();
	else {
		usage(stderr);
		rc = 2;
	}
out:
	olink_free(C.link);
	bootc_free(C.boot);
	SSL_CTX_free(C.ctx);
	SSL_CTX_free(C.anon);
	X509_free(C.x509);
	X509_free(C.cax);
	EVP_PKEY_free(C.pkey);
	crl_free(C.crl);
	event_base_free(C.base);
	record_cert_cache_clear();
	return rc;
}
