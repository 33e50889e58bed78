/* Phones prove who they are: SIP digest (RFC 3261 22, RFC 8760 SHA-256 and
 * MD5) with nonces that expire and cannot be replayed, failures counted per
 * source (and logged in a fixed form for fail2ban), the allow-list of source
 * networks. No I/O: on_sip.c sends the answers this decides. */
#include "on.h"

#include "log.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_alloc.h>

/* A nonce is its slot in the table (4 hex digits) and 128 random bits. */
#define NONCE_RAND 16
#define NONCE_LEN (4 + 2 * NONCE_RAND)
/* Requests in a dialog that this node saw created are not challenged; older
 * ones beyond this many are (phones answer that with credentials). */
#define ON_AUTH_DIALOGS_MAX 2048
#define CALL_ID_MAX 128

struct nonce_slot {
	char nonce[NONCE_LEN + 1];
	uint64_t born_ms;
	uint32_t nc; /* highest nonce-count accepted */
};

struct source {
	char key[ADDR_LIMIT_KEY_MAX]; /* addr_limit_key: an IPv6 address by its /64 */
	int fails;
	uint64_t first_ms, blocked_until, last_ms;
};

struct dialog {
	char call_id[CALL_ID_MAX];
};

struct on_auth {
	struct on_auth_params prm;
	struct on_auth_user *users; /* copies, passwords included */
	int nusers;
	struct nonce_slot nonces[ON_AUTH_NONCES_MAX];
	unsigned next_nonce;
	struct source src[ON_AUTH_SOURCES_MAX];
	struct dialog dlg[ON_AUTH_DIALOGS_MAX];
	unsigned next_dlg;
	struct on_auth_counts counts;
};

static const char *const alg_names[] = {"MD5", "SHA-256"};

const char *on_digest_alg_name(enum on_digest_alg a)
{
	return (unsigned)a < ARRAY_LEN(alg_names) ? alg_names[a] : "?";
}

int on_digest_alg_parse(const char *s, enum on_digest_alg *out)
{
	for (size_t i = 0; i < ARRAY_LEN(alg_names); i++)
		if (strcasecmp(s, alg_names[i]) == 0) {
			*out = (enum on_digest_alg)i;
			return 0;
		}
	return -1;
}

/* ---- the credentials parser ---- */

/* Where each parameter goes, and how long it may be. */
static char *digest_field(struct on_digest *d, const char *name, size_t *max)
{
	static const struct {
		const char *name;
		size_t off, len;
	} f[] = {
#define D(x) {#x, offsetof(struct on_digest, x), sizeof(((struct on_digest *)0)->x)}
		D(username), D(realm), D(nonce), D(uri),    D(response),
		D(cnonce),   D(qop),   D(nc),    D(opaque), D(algorithm),
#undef D
	};
	for (size_t i = 0; i < ARRAY_LEN(f); i++)
		if (strcasecmp(name, f[i].name) == 0) {
			*max = f[i].len;
			return (char *)d + f[i].off;
		}
	return NULL;
}

/* One value at *p (quoted, with \ escapes, or a token) into out (max bytes):
 * -1 when it is malformed or too long. */
static int digest_value(const uint8_t *buf, size_t len, size_t *p, char *out, size_t max)
{
	size_t i = *p, n = 0;
	int quoted = i < len && buf[i] == '"';

	if (quoted)
		i++;
	for (; i < len; i++) {
		uint8_t c = buf[i];
		if (quoted && c == '"')
			break;
		if (!quoted && (c == ',' || c == ' ' || c == '\t'))
			break;
		if (c < 0x20 || c == 0x7f || (!quoted && c == '"'))
			return -1;
		if (quoted && c == '\\' && ++i >= len)
			return -1;
		if (out != NULL && n + 1 >= max)
			return -1;
		if (out != NULL)
			out[n] = (char)buf[i];
		n++;
	}
	if (quoted && i >= len)
		return -1; /* no closing quote */
	if (out != NULL)
		out[n] = '\0';
	*p = quoted ? i + 1 : i;
	return 0;
}

static void skip_ws(const uint8_t *buf, size_t len, size_t *p, int commas)
{
	while (*p < len && (buf[*p] == ' ' || buf[*p] == '\t' || (commas && buf[*p] == ',')))
		(*p)++;
}

/* One name=value pair at *p: 0, 1 at the end, -1 when malformed. */
static int digest_pair(const uint8_t *buf, size_t len, size_t *p, struct on_digest *d)
{
	char name[32];
	size_t n = 0, max = 0;
	char *field;

	skip_ws(buf, len, p, 1);
	if (*p >= len)
		return 1;
	while (*p < len && (isalnum(buf[*p]) || buf[*p] == '-' || buf[*p] == '_')) {
		if (n + 1 >= sizeof(name))
			return -1;
		name[n++] = (char)buf[(*p)++];
	}
	name[n] = '\0';
	skip_ws(buf, len, p, 0);
	if (n == 0 || *p >= len || buf[*p] != '=')
		return -1;
	(*p)++;
	skip_ws(buf, len, p, 0);
	field = digest_field(d, name, &max);
	if (field != NULL && field[0] != '\0')
		return -1; /* given twice */
	if (digest_value(buf, len, p, field, max) < 0)
		return -1;
	skip_ws(buf, len, p, 0);
	return *p < len && buf[*p] != ',' ? -1 : 0;
}

int on_digest_parse(const uint8_t *buf, size_t len, struct on_digest *out)
{
	size_t p = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if (len > ON_DIGEST_TEXT_MAX)
		return -1;
	skip_ws(buf, len, &p, 0);
	if (len - p < 7 || strncasecmp((const char *)buf + p, "Digest", 6) != 0 ||
	    (buf[p + 6] != ' ' && buf[p + 6] != '\t'))
		return -1;
	p += 7;
	while ((r = digest_pair(buf, len, &p, out)) == 0)
		;
	if (r < 0)
		return -1;
	return out->username[0] && out->realm[0] && out->nonce[0] && out->uri[0] && out->response[0]
		       ? 0
		       : -1;
}

/* ---- the digest ---- */

/* RFC 7616 3.4.1: the hashes are in lower case hex (hex_encode writes
 * upper case). */
static void hex_lower(const uint8_t *buf, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 15];
	}
	out[2 * len] = '\0';
}

/* The hex hash of parts joined by ':' into out (65 bytes). */
static int hash_hex(enum on_digest_alg alg, const char *const *parts, int n, char *out)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint8_t h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	int ok = c != NULL &&
		 EVP_DigestInit_ex(c, alg == ON_DIGEST_MD5 ? EVP_md5() : EVP_sha256(), NULL);

	for (int i = 0; ok && i < n; i++)
		ok = (i == 0 || EVP_DigestUpdate(c, ":", 1)) &&
		     EVP_DigestUpdate(c, parts[i], strlen(parts[i]));
	ok = ok && EVP_DigestFinal_ex(c, h, &hl);
	EVP_MD_CTX_free(c);
	if (!ok)
		return -1;
	hex_lower(h, hl, out);
	return 0;
}

int on_digest_expected(enum on_digest_alg alg, const char *password, const char *method,
		       const struct on_digest *d, char out[ON_DIGEST_HEX_MAX])
{
	char ha1[ON_DIGEST_HEX_MAX], ha2[ON_DIGEST_HEX_MAX];
	const char *a1[] = {d->username, d->realm, password};
	const char *a2[] = {method, d->uri};
	const char *rq[] = {ha1, d->nonce, d->nc, d->cnonce, d->qop, ha2};
	const char *r0[] = {ha1, d->nonce, ha2};

	if (hash_hex(alg, a1, 3, ha1) < 0 || hash_hex(alg, a2, 2, ha2) < 0)
		return -1;
	if (d->qop[0] != '\0')
		return hash_hex(alg, rq, 6, out);
	return hash_hex(alg, r0, 3, out); /* RFC 2069: only for the unit test vectors */
}

/* ---- nonces ---- */

void on_auth_nonce_new(struct on_auth *a, uint64_t now, char out[ON_NONCE_BUF])
{
	unsigned i = a->next_nonce++ % ON_AUTH_NONCES_MAX;
	uint8_t r[NONCE_RAND];

	if (RAND_bytes(r, sizeof(r)) != 1)
		fatal("no random bytes for a nonce");
	snprintf(a->nonces[i].nonce, 5, "%04x", i);
	hex_lower(r, sizeof(r), a->nonces[i].nonce + 4);
	a->nonces[i].born_ms = now;
	a->nonces[i].nc = 0;
	str_copy(out, a->nonces[i].nonce, ON_NONCE_BUF);
}

/* The slot of a nonce we gave out and still hold, or NULL. */
static struct nonce_slot *nonce_find(struct on_auth *a, const char *nonce)
{
	unsigned i;

	if (strlen(nonce) != NONCE_LEN || sscanf(nonce, "%4x", &i) != 1 ||
	    i >= ON_AUTH_NONCES_MAX || strcmp(a->nonces[i].nonce, nonce) != 0)
		return NULL;
	return &a->nonces[i];
}

/* ---- failures per source ---- */

/* The slot of a source (made when make, in the least recently used one). */
static struct source *source_find(struct on_auth *a, const char *ip, int make, uint64_t now)
{
	char key[ADDR_LIMIT_KEY_MAX];
	struct source *lru = &a->src[0];

	addr_limit_key(ip, key, sizeof(key));
	for (int i = 0; i < ON_AUTH_SOURCES_MAX; i++) {
		if (strcmp(a->src[i].key, key) == 0)
			return &a->src[i];
		if (a->src[i].last_ms < lru->last_ms)
			lru = &a->src[i];
	}
	if (!make)
		return NULL;
	memset(lru, 0, sizeof(*lru));
	str_copy(lru->key, key, sizeof(lru->key));
	lru->first_ms = lru->last_ms = now;
	return lru;
}

int on_auth_is_blocked(struct on_auth *a, const char *ip, uint64_t now)
{
	struct source *s = source_find(a, ip, 0, now);

	return s != NULL && s->blocked_until > now;
}

/* A failure from ip, logged in the form that etc/fail2ban/filter.d reads:
 * "phone authentication failed from IP: ..." with nothing before the IP
 * that a caller chooses. */
void on_auth_failed(struct on_auth *a, const char *ip, const char *user, const char *why,
		    uint64_t now)
{
	struct source *s = source_find(a, ip, 1, now);

	a->counts.failed++;
	log_warn("phone authentication failed from %s: user \"%.64s\": %s", ip, user, why);
	if (now - s->first_ms > (uint64_t)a->prm.fail_window * 1000) {
		s->fails = 0;
		s->first_ms = now;
	}
	s->last_ms = now;
	if (++s->fails >= a->prm.fail_max && s->blocked_until <= now) {
		s->blocked_until = now + (uint64_t)a->prm.block_time * 1000;
		s->fails = 0;
		a->counts.blocked++;
		log_warn("phone authentication blocked for %s: %d failures within %llds, for %llds",
			 ip, a->prm.fail_max, (long long)a->prm.fail_window,
			 (long long)a->prm.block_time);
	}
}

/* ---- dialogs seen created ---- */

void on_auth_dialog_add(struct on_auth *a, const char *call_id)
{
	if (a == NULL || call_id == NULL || strlen(call_id) >= CALL_ID_MAX ||
	    on_auth_dialog_known(a, call_id))
		return;
	str_copy(a->dlg[a->next_dlg++ % ON_AUTH_DIALOGS_MAX].call_id, call_id, CALL_ID_MAX);
}

int on_auth_dialog_known(const struct on_auth *a, const char *call_id)
{
	for (int i = 0; i < ON_AUTH_DIALOGS_MAX; i++)
		if (a->dlg[i].call_id[0] != '\0' && strcmp(a->dlg[i].call_id, call_id) == 0)
			return 1;
	return 0;
}

/* ---- the table and its users ---- */

struct on_auth *on_auth_new(const struct on_auth_params *prm, const struct on_auth_user *users,
			    int n)
{
	struct on_auth *a = calloc(1, sizeof(*a));

	if (a == NULL || (a->users = calloc((size_t)n + 1, sizeof(*users))) == NULL) {
		free(a);
		return NULL;
	}
	a->prm = *prm;
	a->nusers = n;
	for (int i = 0; i < n; i++) {
		str_copy(a->users[i].name, users[i].name, sizeof(a->users[i].name));
		str_copy(a->users[i].password, users[i].password, sizeof(a->users[i].password));
	}
	return a;
}

const char *on_auth_password(const struct on_auth *a, const char *user)
{
	for (int i = 0; i < a->nusers; i++)
		if (strcmp(a->users[i].name, user) == 0)
			return a->users[i].password;
	return NULL;
}

void on_auth_counts(const struct on_auth *a, struct on_auth_counts *out)
{
	*out = a->counts;
}

void on_auth_free(struct on_auth *a)
{
	if (a == NULL)
		return;
	OPENSSL_cleanse(a->users, sizeof(*a->users) * (size_t)a->nusers);
	free(a->users);
	free(a);
}

/* ---- a request from a phone ---- */

/* The credentials of our realm among headers h into d: 1, 0 when none, -1
 * when one is malformed. */
static int cred_find(const struct on_auth *a, const msg_auth_t *h, struct on_digest *d)
{
	char text[ON_DIGEST_TEXT_MAX + 1];
	int bad = 0;

	for (; h != NULL; h = h->au_next) {
		size_t n = (size_t)snprintf(text, sizeof(text), "%s ", h->au_scheme);
		for (int i = 0; h->au_params != NULL && h->au_params[i] != NULL && n < sizeof(text);
		     i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s", i ? ", " : "",
					      h->au_params[i]);
		if (n >= sizeof(text) || on_digest_parse((const uint8_t *)text, n, d) < 0) {
			bad = 1;
			continue;
		}
		if (strcmp(d->realm, a->prm.realm) == 0)
			return 1;
	}
	return bad ? -1 : 0;
}

static int refuse(struct on_auth_result *r, int status, const char *phrase)
{
	r->status = status;
	r->phrase = phrase;
	return status;
}

static int challenge(struct on_auth_result *r, int reg, int stale)
{
	r->stale = stale;
	return reg ? refuse(r, 401, "Unauthorized")
		   : refuse(r, 407, "Proxy Authentication Required");
}

static int fail(struct on_auth *a, struct on_auth_result *r, const char *ip,
		const struct on_digest *d, const char *why, uint64_t now)
{
	on_auth_failed(a, ip, d->username, why, now);
	return refuse(r, 403, "Forbidden");
}

/* The digest answers for d's uri, which must be the Request-URI. */
static int uri_is_request(const sip_t *sip, const char *uri)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	url_t *u = url_hdup(home, (url_t *)url_make(home, uri));
	int same = u != NULL && url_cmp_all(u, sip->sip_request->rq_url) == 0;

	su_home_deinit(home);
	return same;
}

/* The user a request speaks for: To of a REGISTER, From of the others. */
static const char *speaks_for(const sip_t *sip)
{
	const sip_addr_t *ad =
		sip->sip_request->rq_method == sip_method_register ? sip->sip_to : sip->sip_from;
	return ad != NULL && ad->a_url->url_user != NULL ? ad->a_url->url_user : "";
}

/* Whether the response in d is the right one (whatever the nonce). */
static int response_ok(const sip_t *sip, const struct on_digest *d, enum on_digest_alg alg,
		       const char *pw)
{
	char want[ON_DIGEST_HEX_MAX], got[ON_DIGEST_HEX_MAX];
	size_t n = strlen(d->response);

	if (n >= sizeof(got) ||
	    on_digest_expected(alg, pw, sip->sip_request->rq_method_name, d, want) < 0 ||
	    n != strlen(want))
		return 0;
	for (size_t i = 0; i <= n; i++)
		got[i] = (char)tolower((unsigned char)d->response[i]);
	return CRYPTO_memcmp(got, want, n) == 0;
}

static int digest_check(struct on_auth *a, const sip_t *sip, const struct on_digest *d,
			const char *ip, uint64_t now, struct on_auth_result *r)
{
	int reg = sip->sip_request->rq_method == sip_method_register;
	enum on_digest_alg alg = ON_DIGEST_MD5;
	const char *pw = on_auth_password(a, d->username);
	struct nonce_slot *slot;
	unsigned long nc;
	char *end;

	if ((d->algorithm[0] != '\0' && on_digest_alg_parse(d->algorithm, &alg) < 0) ||
	    !(a->prm.algs & (1u << alg)))
		return challenge(r, reg, 0); /* not one we offered */
	nc = strtoul(d->nc, &end, 16);
	if (strcasecmp(d->qop, "auth") != 0 || strlen(d->nc) != 8 || *end != '\0' ||
	    d->cnonce[0] == '\0')
		return fail(a, r, ip, d, "no qop=auth, nc and cnonce", now);
	if (pw == NULL)
		return fail(a, r, ip, d, "not an account of this node", now);
	if (!uri_is_request(sip, d->uri))
		return fail(a, r, ip, d, "uri is not the Request-URI", now);
	if (!response_ok(sip, d, alg, pw))
		return fail(a, r, ip, d, "wrong password", now);
	slot = nonce_find(a, d->nonce);
	if (slot == NULL || now - slot->born_ms > (uint64_t)a->prm.nonce_lifetime * 1000)
		return challenge(r, reg, 1); /* right password, old nonce */
	if (nc <= slot->nc) {
		on_auth_failed(a, ip, d->username, "nonce-count replayed", now);
		return challenge(r, reg, 0);
	}
	slot->nc = (uint32_t)nc;
	if (strcmp(speaks_for(sip), d->username) != 0)
		return fail(a, r, ip, d, reg ? "To is another user" : "From is another user", now);
	str_copy(r->user, d->username, sizeof(r->user));
	return 0;
}

int on_auth_check(struct on_auth *a, const sip_t *sip, const char *ip, uint64_t now,
		  struct on_auth_result *r)
{
	sip_method_t m = sip->sip_request->rq_method;
	int reg = m == sip_method_register;
	struct on_digest d;
	int found;

	memset(r, 0, sizeof(*r));
	if (on_auth_is_blocked(a, ip, now)) {
		a->counts.refused++;
		return refuse(r, 403, "Forbidden");
	}
	if (m == sip_method_ack || m == sip_method_cancel)
		return 0; /* no answer to put a challenge in (RFC 3261 22.1) */
	if (!reg && sip->sip_to != NULL && sip->sip_to->a_tag != NULL && sip->sip_call_id != NULL &&
	    on_auth_dialog_known(a, sip->sip_call_id->i_id))
		return 0;
	found = cred_find(a, reg ? sip->sip_authorization : sip->sip_proxy_authorization, &d);
	if (found < 0) {
		on_auth_failed(a, ip, "", "malformed credentials", now);
		return refuse(r, 400, "Malformed Credentials");
	}
	if (found == 0)
		return challenge(r, reg, 0);
	if (digest_check(a, sip, &d, ip, now, r) != 0)
		return r->status;
	if (!reg && sip->sip_call_id != NULL)
		on_auth_dialog_add(a, sip->sip_call_id->i_id);
	return 0;
}

int on_auth_challenges(struct on_auth *a, int stale, uint64_t now, char out[][ON_CHALLENGE_MAX],
		       int max)
{
	char nonce[ON_NONCE_BUF];
	int n = 0;

	on_auth_nonce_new(a, now, nonce);
	a->counts.challenged++;
	for (int i = 0; i < a->prm.nalg_order && n < max; i++)
		snprintf(out[n++], ON_CHALLENGE_MAX,
			 "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"%s",
			 a->prm.realm, nonce, on_digest_alg_name(a->prm.alg_order[i]),
			 stale ? ", stale=true" : "");
	return n;
}

/* ---- the allow-list of source networks ---- */

int on_phone_allowed(const struct netlist *phone_nets, const char *ip)
{
	return phone_nets->n == 0 || netlist_has_text(phone_nets, ip);
}

/* ---- from the configuration ---- */

/* An account's phone password (sip_password, or the first line of
 * sip_password_file) into u. */
static int user_load(const struct on_account_conf *c, struct on_auth_user *u, char *err,
		     size_t errlen)
{
	size_t n = 0;
	char *pw = c->sip_password;

	if (pw == NULL &&
	    (pw = file_read(c->sip_password_file, ON_PASSWORD_MAX, &n, err, errlen)) == NULL)
		return -1;
	pw[strcspn(pw, "\r\n")] = '\0';
	str_copy(u->name, c->name, sizeof(u->name));
	n = str_copy(u->password, pw, sizeof(u->password));
	if (pw != c->sip_password) {
		OPENSSL_cleanse(pw, strlen(pw));
		free(pw);
	}
	if (n == 0 || n >= sizeof(u->password)) {
		err_set(err, errlen, "[account %s]: the SIP password is empty or over %d bytes",
			c->name, ON_PASSWORD_MAX - 1);
		return -1;
	}
	return 0;
}

/* "SHA-256 MD5" into the order of challenges and the set accepted. */
int on_auth_algs_parse(const char *s, struct on_auth_params *p)
{
	char buf[64], *save = NULL;
	enum on_digest_alg alg;

	p->algs = 0;
	p->nalg_order = 0;
	if (str_copy(buf, s, sizeof(buf)) >= sizeof(buf))
		return -1;
	for (char *t = strtok_r(buf, " ,\t", &save); t != NULL; t = strtok_r(NULL, " ,\t", &save)) {
		if (on_digest_alg_parse(t, &alg) < 0 || (p->algs & (1u << alg)))
			return -1;
		p->algs |= 1u << alg;
		p->alg_order[p->nalg_order++] = alg;
	}
	return p->nalg_order > 0 ? 0 : -1;
}

struct on_auth *on_auth_from_config(const struct on_config *cfg, char *err, size_t errlen)
{
	struct on_auth_params p = {cfg->overlay,
				   0,
				   {0, 0},
				   0,
				   cfg->auth_nonce_lifetime,
				   cfg->auth_fail_window,
				   cfg->auth_block_time,
				   (int)cfg->auth_fail_max};
	struct on_auth_user *u = calloc((size_t)cfg->naccounts + 1, sizeof(*u));
	struct on_auth *a = NULL;

	if (u == NULL || on_auth_algs_parse(cfg->digest_algorithms, &p) < 0) {
		err_set(err, errlen, "digest_algorithms: want SHA-256 and/or MD5");
		goto out;
	}
	for (int i = 0; i < cfg->naccounts; i++)
		if (user_load(&cfg->accounts[i], &u[i], err, errlen) < 0)
			goto out;
	if ((a = on_auth_new(&p, u, cfg->naccounts)) == NULL)
		err_set(err, errlen, "out of memory");
out:
	if (u != NULL)
		OPENSSL_cleanse(u, sizeof(*u) * (size_t)cfg->naccounts);
	free(u);
	return a;
}
