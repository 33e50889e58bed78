/* Topology hiding at the edge between our phones and the overlay: what
 * leaves this node for another one names the node and the account, never
 * one of our phones (its address, its Contact, its Call-ID), and what comes
 * back is mapped to what our phones know. docs/protocol.md, "What a phone
 * learns of the other", has the design.
 *
 * Inside the node every table (dialogs, media, auth) is keyed by the
 * phone-side Call-ID; only the copy on the overlay carries the hidden one.
 * A phone's Call-ID becomes the HMAC of it under a per-node secret (32 hex
 * digits); a Call-ID already of that shape (a far node's) goes on as it is.
 * A phone's Contact becomes sip:USER@OVERLAY;ovl=NODE-ID;ph=TOKEN, where
 * TOKEN is the Contact sealed with AES-256-GCM under another per-node key:
 * stateless, and only this node can open it. */
#include "on.h"

#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>

#define TOPO_BUCKETS 4096
/* Hidden Call-IDs remembered (one per call or transaction our phones
 * started towards the overlay): twice as many as calls are kept answered
 * plus the transactions a node holds at once. */
#define TOPO_CALLIDS_MAX 150000
/* A Call-ID whose call is not answered (a MESSAGE, a failed INVITE, a call
 * hung up) is kept while its transactions may still answer: 64*T1, twice. */
#define TOPO_LINGER_MS 64000
#define TOPO_CALL_MAX_MS (24ull * 3600 * 1000) /* as on_dialog.c: a day */
#define TOPO_HOSTS_MAX 8                       /* a phone's names we look for */
#define TOPO_HEADER_MAX 8192 /* a header looked at for addresses; a longer one goes */
#define GCM_IV 12
#define GCM_TAG 16

struct cid {
	struct cid *lnext, *onext; /* by local, by hidden */
	uint64_t since, last;
	char ovl[ON_TOPO_CALL_ID_LEN + 1];
	char local[];
};

struct on_topo {
	uint8_t cid_key[32], ct_key[32];
	struct cid *bl[TOPO_BUCKETS], *bo[TOPO_BUCKETS];
	int n;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

struct on_topo *on_topo_new(void)
{
	struct on_topo *t = calloc(1, sizeof(*t));

	if (t != NULL && (RAND_bytes(t->cid_key, sizeof(t->cid_key)) != 1 ||
			  RAND_bytes(t->ct_key, sizeof(t->ct_key)) != 1)) {
		free(t);
		return NULL;
	}
	return t;
}

void on_topo_free(struct on_topo *t)
{
	if (t == NULL)
		return;
	on_topo_expire(t, NULL, 0, 1);
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

int on_topo_count(const struct on_topo *t)
{
	return t->n;
}

/* ---- Call-IDs ---- */

int on_topo_call_id_is_hidden(const char *cid)
{
	size_t i;

	for (i = 0; cid[i] != '\0'; i++)
		if (!isxdigit((unsigned char)cid[i]))
			return 0;
	return i == ON_TOPO_CALL_ID_LEN;
}

static struct cid *by_local(const struct on_topo *t, const char *local)
{
	struct cid *c = t->bl[fnv(local) % TOPO_BUCKETS];

	while (c != NULL && strcmp(c->local, local) != 0)
		c = c->lnext;
	return c;
}

static struct cid *by_ovl(const struct on_topo *t, const char *ovl)
{
	struct cid *c = t->bo[fnv(ovl) % TOPO_BUCKETS];

	while (c != NULL && strcasecmp(c->ovl, ovl) != 0)
		c = c->onext;
	return c;
}

/* The hidden Call-ID of local, remembered (refreshed) until its call ends;
 * -1 when the table is full. */
static int call_id_out(struct on_topo *t, const char *local, char *out, uint64_t now)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct cid *c = by_local(t, local);
	size_t n = strlen(local) + 1;
	uint64_t hl, ho;

	if (c != NULL) {
		c->last = now;
		memcpy(out, c->ovl, sizeof(c->ovl));
		return 0;
	}
	if (t->n >= TOPO_CALLIDS_MAX || (c = calloc(1, sizeof(*c) + n)) == NULL)
		return -1;
	HMAC(EVP_sha256(), t->cid_key, sizeof(t->cid_key), (const unsigned char *)local, n - 1, md,
	     &mdlen);
	hex_encode(md, ON_TOPO_CALL_ID_LEN / 2, c->ovl);
	memcpy(c->local, local, n);
	c->since = c->last = now;
	hl = fnv(local) % TOPO_BUCKETS;
	ho = fnv(c->ovl) % TOPO_BUCKETS;
	c->lnext = t->bl[hl];
	t->bl[hl] = c;
	c->onext = t->bo[ho];
	t->bo[ho] = c;
	t->n++;
	memcpy(out, c->ovl, sizeof(c->ovl));
	return 0;
}

static void cid_unlink(struct on_topo *t, struct cid *c)
{
	struct cid **p = &t->bo[fnv(c->ovl) % TOPO_BUCKETS];

	while (*p != c)
		p = &(*p)->onext;
	*p = c->onext;
	t->n--;
	free(c);
}

void on_topo_expire(struct on_topo *t, const struct on_dialogs *dlg, uint64_t now, int all)
{
	for (int i = 0; i < TOPO_BUCKETS; i++)
		for (struct cid **p = &t->bl[i]; *p != NULL;) {
			struct cid *c = *p;
			if (all || now - c->since >= TOPO_CALL_MAX_MS ||
			    (now - c->last >= TOPO_LINGER_MS &&
			     (dlg == NULL || !on_dialogs_has(dlg, c->local)))) {
				*p = c->lnext;
				cid_unlink(t, c);
			} else {
				p = &c->lnext;
			}
		}
}

/* ---- Contact tokens ---- */

int on_topo_token(const struct on_topo *t, const char *uri, char *out, size_t len)
{
	size_t n = strlen(uri);
	uint8_t buf[GCM_IV + ON_TOPO_CONTACT_MAX + GCM_TAG];
	EVP_CIPHER_CTX *ctx;
	int l = 0, ok;

	if (n == 0 || n > ON_TOPO_CONTACT_MAX || len < 2 * (GCM_IV + n + GCM_TAG) + 1 ||
	    RAND_bytes(buf, GCM_IV) != 1 || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, t->ct_key, buf) == 1 &&
	     EVP_EncryptUpdate(ctx, buf + GCM_IV, &l, (const uint8_t *)uri, (int)n) == 1 &&
	     (size_t)l == n && EVP_EncryptFinal_ex(ctx, buf + GCM_IV + n, &l) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, buf + GCM_IV + n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok)
		return -1;
	hex_encode(buf, GCM_IV + n + GCM_TAG, out);
	return 0;
}

int on_topo_untoken(const struct on_topo *t, const char *tok, char *out, size_t len)
{
	size_t hl = strlen(tok), n;
	uint8_t buf[GCM_IV + ON_TOPO_CONTACT_MAX + GCM_TAG];
	EVP_CIPHER_CTX *ctx;
	int l = 0, ok;

	if (hl % 2 != 0 || hl / 2 <= GCM_IV + GCM_TAG || hl / 2 > sizeof(buf) ||
	    hex_decode(tok, buf, hl / 2) < 0)
		return -1;
	n = hl / 2 - GCM_IV - GCM_TAG;
	if (len < n + 1 || (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, t->ct_key, buf) == 1 &&
	     EVP_DecryptUpdate(ctx, (uint8_t *)out, &l, buf + GCM_IV, (int)n) == 1 &&
	     (size_t)l == n &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG, buf + GCM_IV + n) == 1 &&
	     EVP_DecryptFinal_ex(ctx, (uint8_t *)out + n, &l) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok || memchr(out, '\0', n) != NULL)
		return -1;
	out[n] = '\0';
	return 0;
}

/* ---- the names of our phone in a message ---- */

struct hosts {
	int n;
	char h[TOPO_HOSTS_MAX][80];
};

static void host_add(struct hosts *hs, const char *h)
{
	size_t n;

	if (h == NULL || h[0] == '\0' || hs->n == TOPO_HOSTS_MAX)
		return;
	if (h[0] == '[')
		h++;
	n = strcspn(h, "]");
	if (n == 0 || n >= sizeof(hs->h[0]))
		return;
	for (int i = 0; i < hs->n; i++)
		if (strncasecmp(hs->h[i], h, n) == 0 && hs->h[i][n] == '\0')
			return;
	memcpy(hs->h[hs->n], h, n);
	hs->h[hs->n++][n] = '\0';
}

/* Where m came from, its Vias but ours and the far nodes' (*.invalid),
 * its Contacts but users of the overlay. */
static void phone_hosts(const struct on_self *self, msg_t *m, const sip_t *sip, struct hosts *hs)
{
	su_addrinfo_t *ai = msg_addrinfo(m);
	char ip[64];

	memset(hs, 0, sizeof(*hs));
	if (ai != NULL && ai->ai_addr != NULL &&
	    getnameinfo(ai->ai_addr, (socklen_t)ai->ai_addrlen, ip, sizeof(ip), NULL, 0,
			NI_NUMERICHOST) == 0)
		host_add(hs, ip);
	for (const sip_via_t *v = sip->sip_via; v != NULL; v = v->v_next) {
		size_t l = v->v_host != NULL ? strlen(v->v_host) : 0;
		if (l > 8 && strcasecmp(v->v_host + l - 8, ".invalid") == 0)
			continue;
		host_add(hs, v->v_host);
		host_add(hs, v->v_received);
		host_add(hs, v->v_maddr);
	}
	for (const sip_contact_t *c = sip->sip_contact; c != NULL; c = c->m_next)
		if (c->m_url->url_host != NULL &&
		    strcasecmp(c->m_url->url_host, self->overlay) != 0)
			host_add(hs, c->m_url->url_host);
}

/* An IPv4 address at s[i] (not inside a longer dotted run). */
static int ipv4_at(const char *s, size_t i)
{
	int parts = 0;

	if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '.'))
		return 0;
	for (;;) {
		int d = 0;
		while (isdigit((unsigned char)s[i]) && d < 4)
			i++, d++;
		if (d == 0 || d > 3)
			return 0;
		if (++parts == 4)
			return !isalnum((unsigned char)s[i]) &&
			       !(s[i] == '.' && isdigit((unsigned char)s[i + 1]));
		if (s[i++] != '.')
			return 0;
	}
}

/* An IPv6 address at s[i]: a run of hex digits and colons with "::" or
 * at least five colons (a time of day has two, and no "::"). */
static int ipv6_at(const char *s, size_t i, size_t *end)
{
	size_t j = i;
	int colons = 0, dbl = 0;

	while (isxdigit((unsigned char)s[j]) || s[j] == ':' || s[j] == '.') {
		if (s[j] == ':') {
			colons++;
			dbl |= s[j + 1] == ':';
		}
		j++;
	}
	*end = j;
	return colons >= 2 && (dbl || colons >= 5);
}

int on_topo_text_reveals(const char *s, const char *const *hosts, int nhosts)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		size_t end;
		if (isdigit((unsigned char)s[i]) && ipv4_at(s, i))
			return 1;
		if ((isxdigit((unsigned char)s[i]) || s[i] == ':') &&
		    (i == 0 || !isalnum((unsigned char)s[i - 1]))) {
			if (ipv6_at(s, i, &end))
				return 1;
		}
	}
	for (int k = 0; k < nhosts; k++)
		if (strcasestr(s, hosts[k]) != NULL)
			return 1;
	return 0;
}

static int hosts_reveal(const char *s, const struct hosts *hs)
{
	const char *v[TOPO_HOSTS_MAX];

	for (int i = 0; i < hs->n; i++)
		v[i] = hs->h[i];
	return on_topo_text_reveals(s, v, hs->n);
}

/* ---- leaving for the overlay ---- */

/* Headers that are ours to rewrite, or that say nothing of where a phone is. */
static int header_kept(const msg_hclass_t *hc)
{
	static const msg_hclass_t *const kept[] = {
		sip_request_class,      sip_status_class,
		sip_via_class,          sip_contact_class,
		sip_call_id_class,      sip_from_class,
		sip_to_class,           sip_cseq_class,
		sip_max_forwards_class, sip_route_class,
		sip_record_route_class, sip_content_length_class,
		sip_content_type_class, sip_user_agent_class,
		sip_server_class,       sip_date_class,
		sip_payload_class,      sip_separator_class,
		sip_allow_class,        sip_supported_class,
		sip_require_class,      sip_expires_class,
		sip_min_se_class,       sip_session_expires_class,
		sip_rseq_class,         sip_rack_class,
		sip_event_class,        sip_subscription_state_class,
	};

	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (hc == kept[i])
			return 1;
	return 0;
}

/* Any other header that names an address, or one of the phone's hosts, is
 * dropped: Reply-To, Referred-By, Warning, Call-Info, In-Reply-To, a
 * vendor's X- header; so is one too long to look at. Returns how many
 * went. */
/* A P-Asserted-Identity still on a message leaving for the overlay was
 * vetted before (on_identity_peer keeps only one naming a user of a
 * peered overlay by its name): kept, though the far gateway's Contact
 * names that same overlay. */
static int vetted_identity(const msg_header_t *h)
{
	return h->sh_class == sip_unknown_class && h->sh_unknown->un_name != NULL &&
	       strcasecmp(h->sh_unknown->un_name, "P-Asserted-Identity") == 0;
}

static int drop_revealing(msg_t *m, sip_t *sip, const struct hosts *hs)
{
	msg_header_t *h, *next;
	int dropped = 0;
	char *s = malloc(TOPO_HEADER_MAX);

	if (s == NULL || msg_serialize(m, (msg_pub_t *)sip) < 0) {
		free(s);
		return 0;
	}
	for (h = *msg_chain_head(m); h != NULL; h = next) {
		issize_t n;
		next = h->sh_succ;
		if (header_kept(h->sh_class) || vetted_identity(h))
			continue;
		n = msg_header_e(s, TOPO_HEADER_MAX, h, 0);
		if (n < 0 || n >= TOPO_HEADER_MAX || (s[n] = '\0', hosts_reveal(s, hs))) {
			msg_header_remove(m, (msg_pub_t *)sip, h);
			dropped++;
		}
	}
	free(s);
	return dropped;
}

/* Route and Record-Route entries that name no node of the overlay: a
 * phone's, and no use beyond this node. */
static void drop_foreign_routes(msg_t *m, sip_t *sip)
{
	for (int rr = 0; rr < 2; rr++) {
		msg_header_t *h =
			rr ? (msg_header_t *)sip->sip_record_route : (msg_header_t *)sip->sip_route;
		while (h != NULL) {
			msg_header_t *next = h->sh_next;
			const url_t *u =
				rr ? ((sip_record_route_t *)h)->r_url : ((sip_route_t *)h)->r_url;
			if (u->url_params == NULL || !url_has_param(u, "ovl"))
				msg_header_remove(m, (msg_pub_t *)sip, h);
			h = next;
		}
	}
}

/* On a gateway, the far side's Record-Route entries: those after ours in a
 * request, before ours in a response. A peered overlay's gateway and
 * nodes put theirs there with ovl= too (their overlay's, not ours); the
 * gateway keeps the far side's route set itself (on_proxy.c, far_route). */
static void drop_far_record_routes(const struct on_self *self, msg_t *m, sip_t *sip)
{
	int resp = sip->sip_status != NULL, seen = 0;
	sip_record_route_t *r = sip->sip_record_route, *next;

	for (; r != NULL; r = next) {
		next = r->r_next;
		if (on_route_is_ours(self, (const sip_route_t *)r)) {
			seen = 1;
			if (resp)
				return;
		} else if (resp || seen) {
			msg_header_remove(m, (msg_pub_t *)sip, (msg_header_t *)r);
		}
	}
}

/* The account a Contact of ours names: the From user of a request, the To
 * user of a response, when a user of the overlay; else our first one. */
static const char *contact_user(const struct on_self *self, const sip_t *sip)
{
	const sip_addr_t *a = sip->sip_request != NULL ? sip->sip_from : sip->sip_to;
	const url_t *u = a != NULL ? a->a_url : NULL;

	if (u != NULL && u->url_user != NULL && u->url_user[0] != '\0' && u->url_host != NULL &&
	    strcasecmp(u->url_host, self->overlay) == 0 && strlen(u->url_user) < 64 &&
	    strpbrk(u->url_user, ";?@<>\"") == NULL)
		return u->url_user;
	return self->acct;
}

/* Each Contact that is not a user of the overlay becomes our token URI:
 * display name kept, parameters dropped. */
static int hide_contacts(struct on_topo *t, const struct on_self *self, msg_t *m, sip_t *sip)
{
	const char *user = contact_user(self, sip);
	char uri[ON_TOPO_CONTACT_MAX + 1], tok[2 * (GCM_IV + ON_TOPO_CONTACT_MAX + GCM_TAG) + 1];
	char *s;

	for (sip_contact_t *c = sip->sip_contact; c != NULL; c = c->m_next) {
		url_t *u;
		issize_t n;
		if (c->m_url->url_host != NULL &&
		    strcasecmp(c->m_url->url_host, self->overlay) == 0 &&
		    (c->m_url->url_params == NULL || !url_has_param(c->m_url, "ph")))
			continue; /* a user of the overlay (a redirect): no phone */
		n = url_e(uri, sizeof(uri), c->m_url);
		if (n <= 0 || (size_t)n >= sizeof(uri) ||
		    on_topo_token(t, uri, tok, sizeof(tok)) < 0)
			return -1;
		s = su_sprintf(msg_home(m), "sip:%s@%s;ovl=%s;ph=%s", user, self->overlay, self->id,
			       tok);
		u = s != NULL ? url_hdup(msg_home(m), (url_t *)url_make(msg_home(m), s)) : NULL;
		if (u == NULL)
			return -1;
		*c->m_url = *u;
		c->m_params = NULL;
		c->m_comment = NULL;
		c->m_q = c->m_expires = NULL;
		msg_fragment_clear(c->m_common);
	}
	return 0;
}

static int hide_call_id(struct on_topo *t, msg_t *m, sip_t *sip, uint64_t now)
{
	char ovl[ON_TOPO_CALL_ID_LEN + 1];
	sip_call_id_t *id;

	if (sip->sip_call_id == NULL || on_topo_call_id_is_hidden(sip->sip_call_id->i_id))
		return 0;
	if (call_id_out(t, sip->sip_call_id->i_id, ovl, now) < 0)
		return -1;
	id = sip_call_id_make(msg_home(m), ovl);
	return id != NULL && msg_header_replace(m, (msg_pub_t *)sip,
						(msg_header_t *)sip->sip_call_id,
						(msg_header_t *)id) == 0
		       ? 0
		       : -1;
}

int on_topo_out(struct on_topo *t, const struct on_self *self, msg_t *m, uint64_t now)
{
	sip_t *sip = sip_object(m);
	struct hosts hs;

	phone_hosts(self, m, sip, &hs);
	if (sip->sip_request != NULL) {
		while (sip->sip_via != NULL) /* ours goes on after this */
			sip_header_remove(m, sip, (sip_header_t *)sip->sip_via);
		/* the phone's digest answers were for this node's realm; but a
		 * REGISTER crosses only for a public address of record, and
		 * its answers are for that domain's registrar */
		while (sip->sip_proxy_authorization != NULL)
			sip_header_remove(m, sip, (sip_header_t *)sip->sip_proxy_authorization);
		while (sip->sip_request->rq_method != sip_method_register &&
		       sip->sip_authorization != NULL)
			sip_header_remove(m, sip, (sip_header_t *)sip->sip_authorization);
	}
	if (hide_contacts(t, self, m, sip) < 0 || hide_call_id(t, m, sip, now) < 0)
		return -1;
	drop_foreign_routes(m, sip);
	if (self->gateway)
		drop_far_record_routes(self, m, sip);
	drop_revealing(m, sip, &hs);
	return 0;
}

/* ---- coming from the overlay ---- */

/* A Request-URI that is one of our tokens: the phone's Contact again. A
 * token that does not open stays (on_target.c refuses it). */
static void reveal_ruri(const struct on_topo *t, const struct on_self *self, msg_t *m,
			const sip_t *sip)
{
	const url_t *u = sip->sip_request->rq_url;
	char ovl[NODE_ID_HEX_LEN + 1], uri[ON_TOPO_CONTACT_MAX + 1];
	char tok[2 * (GCM_IV + ON_TOPO_CONTACT_MAX + GCM_TAG) + 1];

	if (u->url_params == NULL || !on_url_param(u, "ph", tok, sizeof(tok)) ||
	    !on_url_param(u, "ovl", ovl, sizeof(ovl)) || strcasecmp(ovl, self->id) != 0 ||
	    on_topo_untoken(t, tok, uri, sizeof(uri)) < 0)
		return;
	on_msg_set_ruri(m, uri);
}

void on_topo_in(struct on_topo *t, const struct on_self *self, msg_t *m, uint64_t now)
{
	sip_t *sip = sip_object(m);
	struct cid *c;

	if (sip->sip_call_id != NULL && (c = by_ovl(t, sip->sip_call_id->i_id)) != NULL) {
		sip_call_id_t *id = sip_call_id_make(msg_home(m), c->local);
		c->last = now;
		if (id != NULL)
			msg_header_replace(m, (msg_pub_t *)sip, (msg_header_t *)sip->sip_call_id,
					   (msg_header_t *)id);
	}
	if (sip->sip_request != NULL)
		reveal_ruri(t, self, m, sip);
}
