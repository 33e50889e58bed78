/* The policy of the gateway mode ([gateway] enable = yes, docs/gateway.md):
 * which foreign domains the gateway carries calls to and by which next hop,
 * and its limits: requests out per overlay user, requests per foreign source
 * address. The proxy itself is the ordinary node's (on_forward.c); this
 * file only answers its questions, without I/O, so it is unit-tested. */
#include "on.h"

#include "netlist.h"
#include "ratelimit.h"
#include "record.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GW_USERS_TRACKED 10000   /* overlay users' buckets; the oldest go first */
#define GW_SOURCES_TRACKED 10000 /* foreign addresses' buckets */

struct gw_route {
	char domain[GW_DOMAIN_MAX + 1];
	char hop[GW_HOP_MAX]; /* sip:HOST:PORT;transport=T */
};

struct on_gw {
	char domains[GW_DOMAINS_MAX][GW_DOMAIN_MAX + 1];
	int ndomains;
	struct gw_route routes[GW_DOMAINS_MAX];
	int nroutes;
	struct gw_route peers[ON_PEERS_MAX]; /* hop sips:HOST:PORT or sips:DOMAIN */
	const char *peer_gws[ON_PEERS_MAX];  /* [peer] gateways, borrowed ("": any) */
	int npeers;
	double user_rate, user_burst, source_rate, source_burst;
	struct rate_table *users, *sources;
	struct on_gw_stats st;
};

/* The next tok of list (separated by spaces or commas) into buf: its
 * length, 0 at the end, -1 when one is too long. */
static int next_tok(const char **list, char *buf, size_t len)
{
	const char *s = *list + strspn(*list, " \t,");
	size_t n = strcspn(s, " \t,");

	*list = s + n;
	if (n >= len)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return (int)n;
}

static int parse_domains(struct on_gw *g, const char *list, char *err, size_t errlen)
{
	char d[GW_DOMAIN_MAX + 2];
	int n;

	while ((n = next_tok(&list, d, sizeof(d))) != 0) {
		for (char *c = d; n > 0 && *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (n < 0 || !record_proxy_domain_ok(d) || g->ndomains == GW_DOMAINS_MAX) {
			err_set(err, errlen,
				"[gateway] domains: want up to %d DNS names or *, got %.80s",
				GW_DOMAINS_MAX, n < 0 ? list : d);
			return -1;
		}
		str_copy(g->domains[g->ndomains++], d, sizeof(g->domains[0]));
	}
	return 0;
}

/* DOMAIN=HOST:PORT[/tcp|/udp|/tls] */
static int parse_route(struct gw_route *r, const char *tok)
{
	const char *eq = strchr(tok, '='), *slash;
	char host[80], hp[GW_HOP_MAX];
	const char *tp = "udp";
	uint16_t port;

	if (eq == NULL || (size_t)(eq - tok) > GW_DOMAIN_MAX)
		return -1;
	memcpy(r->domain, tok, (size_t)(eq - tok));
	r->domain[eq - tok] = '\0';
	str_copy(hp, eq + 1, sizeof(hp));
	if ((slash = strchr(hp, '/')) != NULL) {
		tp = slash + 1;
		hp[slash - hp] = '\0';
		if (strcmp(tp, "udp") != 0 && strcmp(tp, "tcp") != 0 && strcmp(tp, "tls") != 0)
			return -1;
	}
	if (!record_proxy_domain_ok(r->domain) || strcmp(r->domain, "*") == 0 ||
	    addr_split(hp, host, sizeof(host), &port) < 0 || port == 0)
		return -1;
	snprintf(r->hop, sizeof(r->hop),
		 strchr(host, ':') != NULL ? "%s:[%s]:%u;transport=%s" : "%s:%s:%u;transport=%s",
		 strcmp(tp, "tls") == 0 ? "sips" : "sip", host, port, tp);
	return 0;
}

static int parse_routes(struct on_gw *g, const char *list, char *err, size_t errlen)
{
	char tok[GW_DOMAIN_MAX + GW_HOP_MAX + 2];
	int n;

	while ((n = next_tok(&list, tok, sizeof(tok))) != 0) {
		if (n < 0 || g->nroutes == GW_DOMAINS_MAX ||
		    parse_route(&g->routes[g->nroutes], tok) < 0) {
			err_set(err, errlen,
				"[gateway] routes: want DOMAIN=HOST:PORT[/tcp], got %.80s",
				n < 0 ? list : tok);
			return -1;
		}
		g->nroutes++;
	}
	return 0;
}

/* [peer DOMAIN]: a peered overlay's name (a DNS name, not ours) and its
 * gateways' TLS listener, else its name for DNS (_sips._tcp). Only TLS:
 * the identities a peer asserts travel on its certificate alone. */
static int parse_peer(struct gw_route *r, const struct on_peer_conf *pc, const char *overlay)
{
	char host[80];
	uint16_t port;
	int n = 0;

	str_copy(r->domain, pc->name, sizeof(r->domain));
	for (char *c = r->domain; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strlen(pc->name) > GW_DOMAIN_MAX || !record_proxy_domain_ok(r->domain) ||
	    strcmp(r->domain, "*") == 0 || addr_is_ip(r->domain) ||
	    strcasecmp(r->domain, overlay) == 0)
		return -1;
	if (pc->route == NULL || pc->route[0] == '\0')
		n = snprintf(r->hop, sizeof(r->hop), "sips:%s", r->domain);
	else if (addr_split(pc->route, host, sizeof(host), &port) == 0 && port != 0)
		n = snprintf(r->hop, sizeof(r->hop),
			     strchr(host, ':') != NULL ? "sips:[%s]:%u;transport=tls"
						       : "sips:%s:%u;transport=tls",
			     host, port);
	else
		return -1;
	return n > 0 && (size_t)n < sizeof(r->hop) ? 0 : -1;
}

static int parse_peers(struct on_gw *g, const struct on_config *cfg, char *err, size_t errlen)
{
	char host[80];
	uint16_t port;

	for (int i = 0; i < cfg->npeers && i < ON_PEERS_MAX; i++) {
		if (parse_peer(&g->peers[i], &cfg->peers[i], cfg->overlay) < 0) {
			err_set(err, errlen,
				"[peer %.80s]: want another overlay's DNS name, route = "
				"HOST:PORT or empty",
				cfg->peers[i].name);
			return -1;
		}
		g->peer_gws[i] = cfg->peers[i].gateways != NULL ? cfg->peers[i].gateways : "";
		g->npeers++;
	}
	if (g->npeers > 0 && cfg->gw_tls_listen != NULL &&
	    (addr_split(cfg->gw_tls_listen, host, sizeof(host), &port) < 0 || !addr_is_ip(host))) {
		err_set(err, errlen, "[gateway] tls_listen: want IP:PORT, got %.80s",
			cfg->gw_tls_listen);
		return -1;
	}
	return 0;
}

struct on_gw *on_gw_new(const struct on_config *cfg, char *err, size_t errlen)
{
	struct on_gw *g = calloc(1, sizeof(*g));

	if (g == NULL || (g->users = rate_table_new(GW_USERS_TRACKED)) == NULL ||
	    (g->sources = rate_table_new(GW_SOURCES_TRACKED)) == NULL) {
		err_set(err, errlen, "out of memory");
		on_gw_free(g);
		return NULL;
	}
	if (parse_domains(g, cfg->gw_domains != NULL ? cfg->gw_domains : "*", err, errlen) < 0 ||
	    parse_routes(g, cfg->gw_routes != NULL ? cfg->gw_routes : "", err, errlen) < 0 ||
	    parse_peers(g, cfg, err, errlen) < 0) {
		on_gw_free(g);
		return NULL;
	}
	g->user_rate = (double)cfg->gw_user_requests / 60.0;
	g->user_burst = (double)cfg->gw_user_requests;
	g->source_rate = (double)cfg->gw_source_rate;
	g->source_burst = (double)cfg->gw_source_burst;
	return g;
}

void on_gw_free(struct on_gw *g)
{
	if (g == NULL)
		return;
	rate_table_free(g->users);
	rate_table_free(g->sources);
	free(g);
}

/* "*" stands for any DNS name, never an address: a user must not make the
 * gateway send to a host of the operator's own networks by naming it. An
 * address is served only when the operator lists it. */
int on_gw_domain_ok(const struct on_gw *g, const char *domain)
{
	int literal = domain[0] == '[' || addr_is_ip(domain);

	for (int i = 0; i < g->ndomains; i++)
		if ((!literal && strcmp(g->domains[i], "*") == 0) ||
		    strcasecmp(g->domains[i], domain) == 0)
			return 1;
	return on_gw_peer(g, domain) != NULL;
}

const char *on_gw_peer(const struct on_gw *g, const char *domain)
{
	for (int i = 0; domain != NULL && i < g->npeers; i++)
		if (strcasecmp(g->peers[i].domain, domain) == 0)
			return g->peers[i].domain;
	return NULL;
}

int on_gw_peer_gateway(const struct on_gw *g, const char *peer, const char *account)
{
	char tok[NAME_MAX_LEN + 2];
	const char *list;
	int n, any = 1;

	for (int i = 0; i < g->npeers; i++) {
		if (strcasecmp(g->peers[i].domain, peer) != 0)
			continue;
		list = g->peer_gws[i];
		while ((n = next_tok(&list, tok, sizeof(tok))) != 0) {
			any = 0;
			if (n > 0 && strcmp(tok, account) == 0)
				return 1;
		}
		return any;
	}
	return 0;
}

const char *on_gw_next_hop(const struct on_gw *g, const char *domain)
{
	for (int i = 0; i < g->npeers; i++)
		if (strcasecmp(g->peers[i].domain, domain) == 0)
			return g->peers[i].hop; /* a peer only over TLS, whatever routes say */
	for (int i = 0; i < g->nroutes; i++)
		if (strcasecmp(g->routes[i].domain, domain) == 0)
			return g->routes[i].hop;
	return NULL;
}

int on_gw_domains(const struct on_gw *g, const char **out, int max)
{
	int n = 0;

	for (int i = 0; i < g->ndomains && n < max; i++)
		out[n++] = g->domains[i];
	/* a peer's own record too: nodes look for proxy:DOMAIN before proxy:* */
	for (int i = 0; i < g->npeers && n < max; i++) {
		int listed = 0;
		for (int k = 0; k < g->ndomains; k++)
			listed |= strcasecmp(g->domains[k], g->peers[i].domain) == 0;
		if (!listed)
			out[n++] = g->peers[i].domain;
	}
	return n;
}

int on_gw_user_ok(struct on_gw *g, const char *user, uint64_t now)
{
	if (rate_take(g->users, user, strlen(user), g->user_rate, g->user_burst, 1, now))
		return 1;
	g->st.user_limited++;
	return 0;
}

int on_gw_source_ok(struct on_gw *g, const char *ip, uint64_t now)
{
	char key[64];

	addr_limit_key(ip, key, sizeof(key)); /* IPv6 by its /64 */
	if (rate_take(g->sources, key, strlen(key), g->source_rate, g->source_burst, 1, now))
		return 1;
	g->st.source_limited++;
	return 0;
}

struct on_gw_stats *on_gw_counts(struct on_gw *g)
{
	return &g->st;
}
