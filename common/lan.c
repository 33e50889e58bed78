/* LAN discovery: the signed announcement datagram (build, parse), the
 * receiver's checks and table of super nodes heard, and the multicast socket. */
#include "lan.h"

#include "certcheck.h"
#include "crl.h"
#include "log.h"
#include "prom.h"
#include "ratelimit.h"
#include "sig.h"
#include "util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t MAGIC[4] = {'P', '2', 'L', 'A'};
/* Signed as a canonical string after this context, so that no other signed
 * message of the overlay can pass for an announcement. */
#define SIG_CONTEXT "p2psip lan announcement v1"
#define DRAIN_MAX 64 /* datagrams read per wake-up, so a flood cannot hold the loop */

static const char *const res_names[LAN_NRES] = {
	"accepted", "rate",    "size",      "parse", "overlay", "certificate", "revoked",
	"role",     "node_id", "signature", "time",  "replay",  "address",     "self",
};

const char *lan_res_str(enum lan_res res)
{
	return (unsigned)res < LAN_NRES ? res_names[res] : "?";
}

/* ---- the datagram ---- */

struct rd {
	const uint8_t *p;
	size_t left;
	int bad;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || n > r->left) {
		r->bad = 1;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static uint64_t rd_uint(struct rd *r, size_t n)
{
	const uint8_t *p = rd_take(r, n);
	uint64_t v = 0;

	for (size_t i = 0; p != NULL && i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static int parse_addr(struct rd *r, struct lan_addr *a)
{
	int fam = (int)rd_uint(r, 1);
	const uint8_t *ip = rd_take(r, fam == 6 ? 16 : 4);

	a->port = (uint16_t)rd_uint(r, 2);
	if (r->bad || (fam != 4 && fam != 6) || a->port == 0)
		return -1;
	if (inet_ntop(fam == 4 ? AF_INET : AF_INET6, ip, a->host, sizeof(a->host)) == NULL)
		return -1;
	return 0;
}

enum lan_res lan_parse(const uint8_t *buf, size_t len, struct lan_ann *out)
{
	struct rd r = {buf, len, 0};
	const uint8_t *p;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len > LAN_DATAGRAM_MAX)
		return LAN_SIZE;
	p = rd_take(&r, sizeof(MAGIC));
	if (p == NULL || memcmp(p, MAGIC, sizeof(MAGIC)) != 0 || rd_uint(&r, 1) != LAN_VERSION)
		return LAN_PARSE;
	n = (size_t)rd_uint(&r, 1);
	p = rd_take(&r, n);
	if (p == NULL || n == 0 || memchr(p, '\0', n) != NULL)
		return LAN_PARSE;
	memcpy(out->overlay, p, n);
	p = rd_take(&r, NODE_ID_LEN);
	out->naddr = (int)rd_uint(&r, 1);
	if (p == NULL || out->naddr < 1 || out->naddr > LAN_ADDRS_MAX)
		return LAN_PARSE;
	memcpy(out->node_id, p, NODE_ID_LEN);
	for (int i = 0; i < out->naddr; i++)
		if (parse_addr(&r, &out->addr[i]) < 0)
			return LAN_PARSE;
	out->time = (int64_t)rd_uint(&r, 8);
	out->cert_len = (size_t)rd_uint(&r, 2);
	out->cert = rd_take(&r, out->cert_len);
	out->signed_len = len - r.left;
	out->sig_len = (size_t)rd_uint(&r, 1);
	out->sig = rd_take(&r, out->sig_len);
	if (r.bad || out->cert_len == 0 || out->sig_len == 0 || out->sig_len > SIG_MAX ||
	    r.left != 0 || out->time < 0)
		return LAN_PARSE;
	return LAN_ACCEPTED;
}

/* A bounded writer: the body is built in place, at most LAN_DATAGRAM_MAX. */
struct wr {
	uint8_t *buf;
	size_t len, cap;
	int bad;
};

static void wr_raw(struct wr *w, const void *p, size_t n)
{
	if (w->bad || n > w->cap - w->len) {
		w->bad = 1;
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put(struct wr *w, uint64_t v, size_t n)
{
	while (n-- > 0) {
		uint8_t b = (uint8_t)(v >> (8 * n));
		wr_raw(w, &b, 1);
	}
}

static int put_addr(struct wr *w, const struct lan_addr *a)
{
	uint8_t ip[16];

	if (inet_pton(AF_INET, a->host, ip) == 1) {
		put(w, 4, 1);
		wr_raw(w, ip, 4);
	} else if (inet_pton(AF_INET6, a->host, ip) == 1) {
		put(w, 6, 1);
		wr_raw(w, ip, 16);
	} else
		return -1;
	put(w, a->port, 2);
	return 0;
}

static int to_be_signed(struct canon *c, const uint8_t *msg, size_t len)
{
	canon_str(c, SIG_CONTEXT);
	canon_bytes(c, msg, len);
	return c->failed ? -1 : 0;
}

/* The body up to the signature; -1 when a field is out of its limits. */
static int build_body(struct wr *w, const struct lan_fields *f)
{
	uint8_t *der = NULL;
	int dlen = i2d_X509(f->cert, &der);
	size_t olen = f->overlay != NULL ? strlen(f->overlay) : 0;
	int rc = -1;

	if (dlen <= 0 || dlen > 0xffff || olen == 0 || olen > LAN_OVERLAY_MAX || f->naddr < 1 ||
	    f->naddr > LAN_ADDRS_MAX)
		goto out;
	wr_raw(w, MAGIC, sizeof(MAGIC));
	put(w, LAN_VERSION, 1);
	put(w, olen, 1);
	wr_raw(w, f->overlay, olen);
	wr_raw(w, f->node_id, NODE_ID_LEN);
	put(w, (uint64_t)f->naddr, 1);
	for (int i = 0; i < f->naddr; i++)
		if (put_addr(w, &f->addr[i]) < 0)
			goto out;
	put(w, (uint64_t)f->time, 8);
	put(w, (uint64_t)dlen, 2);
	wr_raw(w, der, (size_t)dlen);
	rc = w->bad ? -1 : 0;
out:
	OPENSSL_free(der);
	return rc;
}

int lan_build(const struct lan_fields *f, EVP_PKEY *key, uint8_t *out, size_t cap)
{
	struct wr w = {out, 0, cap < LAN_DATAGRAM_MAX ? cap : LAN_DATAGRAM_MAX, 0};
	struct canon tbs;
	uint8_t sig[SIG_MAX];
	size_t siglen = sizeof(sig);
	int rc = -1;

	canon_init(&tbs);
	if (build_body(&w, f) < 0 || to_be_signed(&tbs, out, w.len) < 0 ||
	    sig_sign(key, tbs.buf, tbs.len, sig, &siglen) < 0)
		goto out;
	put(&w, siglen, 1);
	wr_raw(&w, sig, siglen);
	if (!w.bad)
		rc = (int)w.len;
out:
	canon_free(&tbs);
	return rc;
}

/* ---- the receiver ---- */

struct lan {
	char overlay[LAN_OVERLAY_MAX + 1];
	X509 *ca;
	struct certcheck *cc; /* chain and validity; the CRL is looked up apart */
	const struct crl *crl;
	uint8_t self[NODE_ID_LEN];
	int has_self;
	struct rate_table *sources;
	struct lan_heard heard[LAN_HEARD_MAX];
	int nheard;
	struct lan_stats stats;
	struct log_limit loglim;
};

struct lan *lan_new(const char *overlay, X509 *ca)
{
	struct lan *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	str_copy(l->overlay, overlay, sizeof(l->overlay));
	l->ca = ca;
	l->cc = certcheck_new(ca);
	l->sources = rate_table_new(LAN_SOURCES_MAX);
	if (l->cc == NULL || l->sources == NULL) {
		lan_free(l);
		return NULL;
	}
	return l;
}

void lan_free(struct lan *l)
{
	if (l == NULL)
		return;
	certcheck_free(l->cc);
	rate_table_free(l->sources);
	free(l);
}

void lan_set_crl(struct lan *l, const struct crl *crl)
{
	l->crl = crl;
}

void lan_set_self(struct lan *l, const uint8_t node_id[NODE_ID_LEN])
{
	memcpy(l->self, node_id, NODE_ID_LEN);
	l->has_self = 1;
}

const struct lan_stats *lan_stats(const struct lan *l)
{
	return &l->stats;
}

struct lan_stats *lan_stats_mut(struct lan *l)
{
	return &l->stats;
}

static int is_live(const struct lan_heard *h, uint64_t now_ms)
{
	return now_ms < h->heard_ms + 1000u * LAN_FORGET_SECS;
}

static struct lan_heard *find(struct lan *l, const uint8_t id[NODE_ID_LEN], uint64_t now_ms)
{
	for (int i = 0; i < l->nheard; i++)
		if (memcmp(l->heard[i].node_id, id, NODE_ID_LEN) == 0)
			return is_live(&l->heard[i], now_ms) ? &l->heard[i] : NULL;
	return NULL;
}

/* The entry for id: its own, a free one, or the least recently heard. */
static struct lan_heard *slot_for(struct lan *l, const uint8_t id[NODE_ID_LEN])
{
	struct lan_heard *old = &l->heard[0];

	for (int i = 0; i < l->nheard; i++)
		if (memcmp(l->heard[i].node_id, id, NODE_ID_LEN) == 0)
			return &l->heard[i];
	if (l->nheard < LAN_HEARD_MAX)
		return &l->heard[l->nheard++];
	for (int i = 1; i < l->nheard; i++)
		if (l->heard[i].heard_ms < old->heard_ms)
			old = &l->heard[i];
	return old;
}

/* Every announced address is src: an announcement can only point at the
 * machine that sent it. */
static int addrs_are(const struct lan_ann *a, const char *src)
{
	struct sockaddr_storage s1, s2;

	for (int i = 0; i < a->naddr; i++) {
		if (addr_ip_port(a->addr[i].host, 0, &s1, NULL) < 0 ||
		    addr_ip_port(src, 0, &s2, NULL) < 0 || s1.ss_family != s2.ss_family)
			return 0;
		if (s1.ss_family == AF_INET && ((struct sockaddr_in *)&s1)->sin_addr.s_addr !=
						       ((struct sockaddr_in *)&s2)->sin_addr.s_addr)
			return 0;
		if (s1.ss_family == AF_INET6 &&
		    memcmp(&((struct sockaddr_in6 *)&s1)->sin6_addr,
			   &((struct sockaddr_in6 *)&s2)->sin6_addr, 16) != 0)
			return 0;
	}
	return 1;
}

/* The checks that need no public-key operation. */
static enum lan_res check_cheap(struct lan *l, const struct lan_ann *a, const char *src,
				int64_t now, char *why, size_t whylen)
{
	if (strcmp(a->overlay, l->overlay) != 0) {
		err_set(why, whylen, "overlay %s, ours is %s", a->overlay, l->overlay);
		return LAN_OVERLAY;
	}
	if (l->has_self && memcmp(a->node_id, l->self, NODE_ID_LEN) == 0)
		return LAN_SELF;
	if (a->time > now + LAN_SKEW || a->time < now - LAN_SKEW) {
		err_set(why, whylen, "its time is %llds off ours", (long long)(a->time - now));
		return LAN_TIME;
	}
	if (!addrs_are(a, src)) {
		err_set(why, whylen, "announces %s, not its source", a->addr[0].host);
		return LAN_ADDRESS;
	}
	return LAN_ACCEPTED;
}

/* The certificate: chain, validity, CRL, overlay, role, Node-ID. */
static enum lan_res check_cert(struct lan *l, const struct lan_ann *a, X509 *cert, char *why,
			       size_t whylen)
{
	char role[ROLE_MAX], overlay[LAN_OVERLAY_MAX + 1];
	uint8_t id[NODE_ID_LEN];

	if (certcheck_verify(l->cc, cert, why, whylen) < 0)
		return LAN_CERT;
	if (crl_is_revoked(l->crl, X509_get0_serialNumber(cert))) {
		err_set(why, whylen, "certificate revoked");
		return LAN_REVOKED;
	}
	if (cert_overlay(cert, overlay, sizeof(overlay)) < 0 || strcmp(overlay, l->overlay) != 0) {
		err_set(why, whylen, "certificate of another overlay");
		return LAN_OVERLAY;
	}
	if (cert_role(cert, role, sizeof(role)) < 0 || strcmp(role, ROLE_SUPERNODE) != 0) {
		err_set(why, whylen, "certificate's role is not supernode");
		return LAN_ROLE;
	}
	if (node_id_from_cert(cert, id) < 0 || memcmp(id, a->node_id, NODE_ID_LEN) != 0) {
		err_set(why, whylen, "Node-ID is not its certificate's");
		return LAN_NODE_ID;
	}
	return LAN_ACCEPTED;
}

static enum lan_res check_sig(const uint8_t *buf, const struct lan_ann *a, X509 *cert, char *why,
			      size_t whylen)
{
	struct canon tbs;
	int ok;

	canon_init(&tbs);
	ok = to_be_signed(&tbs, buf, a->signed_len) == 0 &&
	     sig_verify(X509_get0_pubkey(cert), tbs.buf, tbs.len, a->sig, a->sig_len) == 1;
	canon_free(&tbs);
	if (!ok)
		err_set(why, whylen, "signature does not verify");
	return ok ? LAN_ACCEPTED : LAN_SIGNATURE;
}

static void remember(struct lan *l, const struct lan_ann *a, uint64_t now_ms)
{
	struct lan_heard *h = slot_for(l, a->node_id);

	memcpy(h->node_id, a->node_id, NODE_ID_LEN);
	memcpy(h->addr, a->addr, sizeof(h->addr));
	h->naddr = a->naddr;
	h->time = a->time;
	h->heard_ms = now_ms;
}

static enum lan_res check(struct lan *l, const uint8_t *buf, size_t len, const char *src,
			  int64_t now, uint64_t now_ms, char *why, size_t whylen)
{
	struct lan_ann a;
	const struct lan_heard *h;
	const uint8_t *p;
	X509 *cert = NULL;
	enum lan_res res;

	if ((res = lan_parse(buf, len, &a)) != LAN_ACCEPTED) {
		err_set(why, whylen, "%s", res == LAN_SIZE ? "empty or too large" : "malformed");
		return res;
	}
	if ((res = check_cheap(l, &a, src, now, why, whylen)) != LAN_ACCEPTED)
		return res;
	p = a.cert;
	cert = d2i_X509(NULL, &p, (long)a.cert_len);
	if (cert == NULL || p != a.cert + a.cert_len) {
		err_set(why, whylen, "certificate does not parse");
		res = LAN_CERT;
	} else if ((res = check_cert(l, &a, cert, why, whylen)) == LAN_ACCEPTED &&
		   (res = check_sig(buf, &a, cert, why, whylen)) == LAN_ACCEPTED) {
		h = find(l, a.node_id, now_ms);
		if (h != NULL && a.time <= h->time) {
			err_set(why, whylen, "not newer than the last one heard");
			res = LAN_REPLAY;
		} else
			remember(l, &a, now_ms);
	}
	X509_free(cert);
	return res;
}

enum lan_res lan_take(struct lan *l, const uint8_t *buf, size_t len, const char *src, int64_t now,
		      uint64_t now_ms, char *why, size_t whylen)
{
	enum lan_res res;

	err_set(why, whylen, "%s", "");
	if (!rate_take(l->sources, src, strlen(src), LAN_SOURCE_RATE, LAN_SOURCE_BURST, 1,
		       now_ms)) {
		err_set(why, whylen, "over %g a second from its source", LAN_SOURCE_RATE);
		res = LAN_RATE;
	} else
		res = check(l, buf, len, src, now, now_ms, why, whylen);
	l->stats.res[res]++;
	return res;
}

static int by_recent(const void *x, const void *y)
{
	const struct lan_heard *a = x, *b = y;

	return a->heard_ms < b->heard_ms ? 1 : a->heard_ms > b->heard_ms ? -1 : 0;
}

int lan_heard(const struct lan *l, struct lan_heard *out, int max, uint64_t now_ms)
{
	struct lan_heard live[LAN_HEARD_MAX];
	int n = 0;

	for (int i = 0; i < l->nheard; i++)
		if (is_live(&l->heard[i], now_ms))
			live[n++] = l->heard[i];
	qsort(live, (size_t)n, sizeof(live[0]), by_recent);
	if (n > max)
		n = max;
	memcpy(out, live, (size_t)n * sizeof(live[0]));
	return n;
}

json_t *lan_status(const struct lan *l, uint64_t now_ms)
{
	struct lan_heard h[LAN_HEARD_MAX];
	json_t *ign = json_object();

	for (int r = 1; r < LAN_NRES; r++)
		json_object_set_new(ign, res_names[r], json_integer((json_int_t)l->stats.res[r]));
	return json_pack("{s:i,s:I,s:I,s:I,s:o}", "heard", lan_heard(l, h, LAN_HEARD_MAX, now_ms),
			 "sent", (json_int_t)l->stats.sent, "send_errors",
			 (json_int_t)l->stats.send_errors, "accepted",
			 (json_int_t)l->stats.res[LAN_ACCEPTED], "ignored", ign);
}

void lan_metrics(const struct lan *l, struct evbuffer *out, const char *prefix, uint64_t now_ms)
{
	struct lan_heard h[LAN_HEARD_MAX];
	char name[96];

	snprintf(name, sizeof(name), "%s_lan_announcements_total", prefix);
	prom_head(out, name, PROM_COUNTER,
		  "LAN announcements received, by result (accepted, or why ignored).");
	for (int r = 0; r < LAN_NRES; r++)
		prom_count(out, name, "result", res_names[r], l->stats.res[r]);
	snprintf(name, sizeof(name), "%s_lan_sent_total", prefix);
	prom_counter(out, name, "LAN announcements sent.", l->stats.sent);
	snprintf(name, sizeof(name), "%s_lan_heard", prefix);
	prom_gauge(out, name, "Super nodes heard on the LAN, not yet forgotten.",
		   lan_heard(l, h, LAN_HEARD_MAX, now_ms));
}

/* ---- the socket ---- */

int lan_sock_conf(struct lan_sock_conf *c, const char *group, const char *iface, char *err,
		  size_t errlen)
{
	struct in_addr g, i;

	memset(c, 0, sizeof(*c));
	if (addr_split(group, c->group, sizeof(c->group), &c->port) < 0 || c->port == 0 ||
	    inet_pton(AF_INET, c->group, &g) != 1 || !IN_MULTICAST(ntohl(g.s_addr))) {
		err_set(err, errlen, "group: want an IPv4 multicast ADDRESS:PORT, got %s", group);
		return -1;
	}
	if (iface != NULL && iface[0] != '\0' && inet_pton(AF_INET, iface, &i) != 1) {
		err_set(err, errlen, "interface: want the IPv4 address of an interface, got %s",
			iface);
		return -1;
	}
	str_copy(c->iface, iface != NULL ? iface : "", sizeof(c->iface));
	return 0;
}

static int sock_opts(int fd, const struct lan_sock_conf *c)
{
	struct ip_mreq mr;
	struct in_addr ifa = {htonl(INADDR_ANY)};
	int zero = 0;
	unsigned char ttl = 1, loop = 1;

	if (c->iface[0] != '\0')
		inet_pton(AF_INET, c->iface, &ifa);
	memset(&mr, 0, sizeof(mr));
	inet_pton(AF_INET, c->group, &mr.imr_multiaddr);
	mr.imr_interface = ifa;
	if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof(zero)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof(ifa)) < 0)
		return -1;
	return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr));
}

int lan_sock_open(const struct lan_sock_conf *c, char *err, size_t errlen)
{
	struct sockaddr_in sa;
	int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(c->port);
	/* bound to the group: unicast to the port is not taken */
	inet_pton(AF_INET, c->group, &sa.sin_addr);
	/* several daemons of one machine share the group's port */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || sock_opts(fd, c) < 0) {
		err_set(err, errlen, "LAN group %s:%u%s%s: %s", c->group, c->port,
			c->iface[0] != '\0' ? " on " : "", c->iface, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int lan_sock_send(int fd, const struct lan_sock_conf *c, struct lan *l, const uint8_t *buf,
		  size_t len)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(c->port);
	inet_pton(AF_INET, c->group, &sa.sin_addr);
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) != (ssize_t)len) {
		if (l == NULL)
			return -1;
		l->stats.send_errors++;
		if (log_allowed(&l->loglim, 1))
			log_warn("LAN announcement to %s:%u: %s", c->group, c->port,
				 strerror(errno));
		return -1;
	}
	if (l != NULL)
		l->stats.sent++;
	return 0;
}

int lan_sock_drain(int fd, struct lan *l)
{
	uint8_t buf[LAN_DATAGRAM_MAX + 1]; /* one more: a longer datagram shows as too large */
	struct sockaddr_storage ss;
	char src[64], why[256];
	int accepted = 0;

	for (int i = 0; i < DRAIN_MAX; i++) {
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&ss, &sl);
		enum lan_res res;
		if (n < 0)
			break;
		if (ss.ss_family != AF_INET ||
		    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, src, sizeof(src)) ==
			    NULL)
			continue;
		res = lan_take(l, buf, (size_t)n, src, time_now(), time_mono_ms(), why,
			       sizeof(why));
		if (res == LAN_ACCEPTED)
			accepted++;
		else if (res != LAN_SELF && log_allowed(&l->loglim, 5))
			log_warn("LAN announcement from %s ignored (%s): %s", src, lan_res_str(res),
				 why);
	}
	return accepted;
}
