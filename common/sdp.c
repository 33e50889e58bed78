/* SDP parsing and address rewriting for the media relay (sdp.h). */
#include "sdp.h"

#include "util.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct line {
	const char *p;
	size_t n; /* without the line end */
};

/* The next line of [*s, end): 1, or 0 at the end. */
static int next_line(const char **s, const char *end, struct line *l)
{
	const char *e;

	if (*s >= end)
		return 0;
	e = memchr(*s, '\n', (size_t)(end - *s));
	l->p = *s;
	l->n = (size_t)((e != NULL ? e : end) - *s);
	*s = e != NULL ? e + 1 : end;
	if (l->n > 0 && l->p[l->n - 1] == '\r')
		l->n--;
	return 1;
}

static int starts(const struct line *l, const char *pfx)
{
	size_t k = strlen(pfx);

	return l->n >= k && memcmp(l->p, pfx, k) == 0;
}

static int addr_ok(const char *a)
{
	if (a[0] == '\0')
		return 0;
	for (const char *c = a; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      *c == '.' || *c == ':' || *c == '-'))
			return 0;
	return 1;
}

/* "c=IN IP4 ADDR[/ttl]" or "IN IP6 ADDR": the address. */
static int conn_addr(const struct line *l, char *addr)
{
	char buf[160], nt[8], at[8], a[SDP_ADDR_MAX + 16];

	if (l->n - 2 >= sizeof(buf))
		return -1;
	memcpy(buf, l->p + 2, l->n - 2);
	buf[l->n - 2] = '\0';
	if (sscanf(buf, "%7s %7s %79s", nt, at, a) != 3 || strcmp(nt, "IN") != 0 ||
	    (strcmp(at, "IP4") != 0 && strcmp(at, "IP6") != 0))
		return -1;
	a[strcspn(a, "/")] = '\0';
	if (strlen(a) >= SDP_ADDR_MAX || !addr_ok(a))
		return -1;
	strcpy(addr, a);
	return 0;
}

/* "m=audio PORT[/n] PROTO FMT...": the port (followed by '/' or ' '). */
static int media_port(const struct line *l, uint16_t *port)
{
	const char *p = l->p + 2, *end = l->p + l->n;
	unsigned long v = 0;
	int digits = 0;

	while (p < end && *p != ' ')
		p++;
	if (p == l->p + 2 || p == end)
		return -1;
	for (p++; p < end && *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
		v = v * 10 + (unsigned long)(*p - '0');
	if (digits == 0 || v > 65535 || p == end || (*p != ' ' && *p != '/'))
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* "a=rtcp:PORT [IN IP4 ADDR]" */
static int rtcp_attr(const struct line *l, struct sdp_media *m)
{
	char buf[160], nt[8], at[8], a[SDP_ADDR_MAX + 16];
	unsigned long v;
	char *endp;
	size_t k = l->n - 7;

	if (k >= sizeof(buf))
		return -1;
	memcpy(buf, l->p + 7, k);
	buf[k] = '\0';
	v = strtoul(buf, &endp, 10);
	if (endp == buf || v == 0 || v > 65535)
		return -1;
	m->rtcp_port = (uint16_t)v;
	if (*endp == ' ') {
		if (sscanf(endp, " %7s %7s %79s", nt, at, a) != 3 || strlen(a) >= SDP_ADDR_MAX ||
		    !addr_ok(a))
			return -1;
		strcpy(m->rtcp_addr, a);
	}
	return 0;
}

/* Where sdp_parse is: the session's address, the current media (-1:
 * none yet) and which media had their own c= line. */
struct parse_state {
	char sess[SDP_ADDR_MAX];
	int cur;
	int have_c[SDP_MEDIA_MAX];
};

/* One line after v=0 into out; -1 with err set when it is refused. */
static int parse_line(struct parse_state *ps, const struct line *l, struct sdp *out, char *err,
		      size_t errlen)
{
	if (starts(l, "m=")) {
		if (out->nmedia == SDP_MEDIA_MAX) {
			err_set(err, errlen, "more than %d media", SDP_MEDIA_MAX);
			return -1;
		}
		ps->cur = out->nmedia++;
		if (media_port(l, &out->m[ps->cur].port) < 0) {
			err_set(err, errlen, "bad media line: %.40s", l->p);
			return -1;
		}
	} else if (starts(l, "c=")) {
		char a[SDP_ADDR_MAX];
		if (conn_addr(l, a) < 0) {
			err_set(err, errlen, "bad connection line: %.40s", l->p);
			return -1;
		}
		if (ps->cur < 0)
			strcpy(ps->sess, a);
		else {
			strcpy(out->m[ps->cur].addr, a);
			ps->have_c[ps->cur] = 1;
		}
	} else if (starts(l, "a=rtcp:") && ps->cur >= 0) {
		if (rtcp_attr(l, &out->m[ps->cur]) < 0) {
			err_set(err, errlen, "bad rtcp attribute: %.40s", l->p);
			return -1;
		}
	}
	return 0;
}

/* Media without a c= line of their own take the session's. */
static int fill_addrs(const struct parse_state *ps, struct sdp *out, char *err, size_t errlen)
{
	for (int i = 0; i < out->nmedia; i++) {
		if (!ps->have_c[i])
			strcpy(out->m[i].addr, ps->sess);
		if (out->m[i].port != 0 && out->m[i].addr[0] == '\0') {
			err_set(err, errlen, "media %d has no connection address", i);
			return -1;
		}
	}
	return 0;
}

int sdp_parse(const char *body, size_t len, struct sdp *out, char *err, size_t errlen)
{
	const char *s = body, *end = body + len;
	struct line l;
	struct parse_state ps = {.sess = "", .cur = -1};
	int first = 1;

	memset(out, 0, sizeof(*out));
	if (len > SDP_BODY_MAX) {
		err_set(err, errlen, "SDP over %d bytes", SDP_BODY_MAX);
		return -1;
	}
	while (next_line(&s, end, &l)) {
		if (l.n == 0)
			continue;
		if (l.n < 2 || l.p[1] != '=') {
			err_set(err, errlen, "SDP line without '=': %.20s", l.p);
			return -1;
		}
		if (first) {
			if (l.n != 3 || memcmp(l.p, "v=0", 3) != 0) {
				err_set(err, errlen, "SDP does not start with v=0");
				return -1;
			}
			first = 0;
		} else if (parse_line(&ps, &l, out, err, errlen) < 0)
			return -1;
	}
	if (first) {
		err_set(err, errlen, "empty SDP");
		return -1;
	}
	return fill_addrs(&ps, out, err, errlen);
}

struct out {
	char *b;
	size_t n, cap;
	int bad;
};

static void put(struct out *o, const char *p, size_t n)
{
	if (o->bad)
		return;
	if (o->n + n + 3 > o->cap) {
		size_t cap = (o->n + n + 3) * 2;
		char *b = realloc(o->b, cap);
		if (b == NULL) {
			o->bad = 1;
			return;
		}
		o->b = b;
		o->cap = cap;
	}
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void putf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(buf))
		o->bad = 1;
	else
		put(o, buf, (size_t)k);
}

/* 1 if the n bytes at p are an IPv4 or IPv6 address. */
static int is_ip(const char *p, size_t n)
{
	char buf[SDP_ADDR_MAX];
	unsigned char a[16];

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, a) == 1 || inet_pton(AF_INET6, buf, a) == 1;
}

/* o=user sess-id version IN IP4 addr: the last two fields become ours;
 * the session id and version stay the phone's, so that a new version from
 * the phone is a new version at the far end. A user name that is an
 * address (some phones write theirs) becomes "-". 0 when the line has not
 * that shape (it is then copied as it is). */
static int rewrite_origin(struct out *o, const struct line *l, const char *at, const char *host)
{
	const char *sp = l->p + l->n, *user = l->p + 2;
	const char *ue = memchr(user, ' ', l->n - 2);
	int k = 0;

	while (sp > l->p && k < 2)
		if (*--sp == ' ')
			k++;
	if (k != 2 || ue == NULL || ue >= sp)
		return 0;
	if (is_ip(user, (size_t)(ue - user))) {
		put(o, "o=-", 3);
		put(o, ue, (size_t)(sp - ue));
	} else
		put(o, l->p, (size_t)(sp - l->p));
	putf(o, " %s %s\r\n", at, host);
	return 1;
}

/* m=kind port rest: the port becomes ours (sdp_parse checked the shape). */
static void rewrite_media(struct out *o, const struct line *l, uint16_t port)
{
	const char *sp = memchr(l->p, ' ', l->n);
	const char *rest = memchr(sp + 1, ' ', (size_t)(l->p + l->n - sp - 1));

	if (rest == NULL) {
		o->bad = 1;
		return;
	}
	put(o, l->p, (size_t)(sp - l->p));
	putf(o, " %u", port);
	put(o, rest, (size_t)(l->p + l->n - rest));
	put(o, "\r\n", 2);
}

/* ICE lines name the phone's own candidates: they go. */
static int is_ice_line(const struct line *l)
{
	return starts(l, "a=candidate") || starts(l, "a=remote-candidates") ||
	       starts(l, "a=end-of-candidates") || starts(l, "a=ice-");
}

char *sdp_rewrite(const char *body, size_t len, const char *host, const uint16_t *ports, int nports,
		  size_t *outlen)
{
	struct sdp d;
	const char *s = body, *end = body + len;
	const char *at = strchr(host, ':') != NULL ? "IP6" : "IP4";
	struct line l;
	struct out o = {NULL, 0, 0, 0};
	int cur = -1;

	if (sdp_parse(body, len, &d, NULL, 0) < 0)
		return NULL;
	while (next_line(&s, end, &l) && !o.bad) {
		uint16_t port = cur >= 0 && cur < nports ? ports[cur] : 0;

		if (l.n == 0 || is_ice_line(&l))
			continue;
		if (starts(&l, "o=") && rewrite_origin(&o, &l, at, host))
			continue;
		if (starts(&l, "c=")) {
			putf(&o, "c=IN %s %s\r\n", at, host);
			continue;
		}
		if (starts(&l, "m=")) {
			port = ++cur < nports ? ports[cur] : 0;
			if (d.m[cur].port != 0 && port != 0) {
				rewrite_media(&o, &l, port);
				continue;
			}
		} else if (starts(&l, "a=rtcp:")) {
			if (cur >= 0 && port != 0)
				putf(&o, "a=rtcp:%u IN %s %s\r\n", port + 1, at, host);
			continue;
		}
		put(&o, l.p, l.n);
		put(&o, "\r\n", 2);
	}
	put(&o, "", 1); /* NUL, not counted */
	if (o.bad) {
		free(o.b);
		return NULL;
	}
	*outlen = o.n - 1;
	return o.b;
}

int sdp_addr_is_private(const char *ip)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
		       (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64) ||
		       (a[0] == 169 && a[1] == 254);
	if (inet_pton(AF_INET6, ip, a) == 1)
		return (a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
	return 0;
}
