/* SIP between ordinary nodes, sealed end to end (common/seal.c; the design
 * is in docs/protocol.md): what the proxy sends over the overlay is sealed
 * from the certificate of our account that speaks to the certificate of
 * the far node's account, and what comes is opened and tells who sent it.
 * Super nodes route the frames but can neither read nor change them.
 * Also here: the identity headers towards our phones, where only this
 * node's P-Asserted-Identity for a verified sender is let through. */
#include "on.h"

#include "certcheck.h"
#include "keepcert.h"
#include "log.h"
#include "record.h"
#include "seal.h"
#include "util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/msg_header.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_tag.h>

int on_seal_start(struct on *on, char *err, size_t errlen)
{
	on->seal_cc = certcheck_new(on->ca);
	if (on->seal_cc != NULL)
		on->seal = seal_new(on->seal_cc, on->cfg.overlay, now_ms());
	if (on->seal == NULL) {
		err_set(err, errlen, "sealing set-up failed");
		return -1;
	}
	certcheck_set_crl(on->seal_cc, on->crl);
	return 0;
}

void on_seal_account(struct on *on, int i)
{
	struct account *a = &on->acc[i];
	uint8_t id[NODE_ID_LEN];
	X509 *cert = keepcert_cert(a->kc);

	if (on->seal == NULL || cert == NULL || node_id_from_cert(cert, id) < 0)
		return;
	node_id_hex(id, a->id);
	if (seal_add_own(on->seal, keepcert_key(a->kc), cert) < 0)
		log_warn("account %s: its certificate cannot open sealed SIP (not P-256?)",
			 a->conf->name);
}

void on_seal_set_crl(struct on *on, const struct crl *crl)
{
	if (on->seal_cc != NULL)
		certcheck_set_crl(on->seal_cc, crl);
}

X509 *on_seal_mine(struct on *on, const char *user)
{
	for (int i = 0; user != NULL && i < on->nacc; i++)
		if (strcmp(on->acc[i].conf->name, user) == 0 && keepcert_ready(on->acc[i].kc))
			return keepcert_cert(on->acc[i].kc);
	return on->nacc > 0 && keepcert_ready(on->acc[0].kc) ? keepcert_cert(on->acc[0].kc) : NULL;
}

X509 *on_seal_mine_by_id(struct on *on, const char *id)
{
	for (int i = 0; id != NULL && i < on->nacc; i++)
		if (strcasecmp(on->acc[i].id, id) == 0 && keepcert_ready(on->acc[i].kc))
			return keepcert_cert(on->acc[i].kc);
	return NULL;
}

/* Node-IDs go into the sealed frame's associated data as upper-case hex,
 * however a super node or a record spelled them. */
static void upper_id(const char *in, char out[NODE_ID_HEX_LEN + 1])
{
	size_t i;

	for (i = 0; i < NODE_ID_HEX_LEN && in[i] != '\0'; i++)
		out[i] = (char)toupper((unsigned char)in[i]);
	out[i] = '\0';
}

json_t *on_seal_wrap(struct on *on, X509 *mine, const char *peer, const char *to, const char *txt,
		     size_t len, char *err, size_t errlen)
{
	char from_id[NODE_ID_HEX_LEN + 1], to_id[NODE_ID_HEX_LEN + 1];
	json_t *env, *body;
	char *s;
	X509 *pc;

	if (on->cfg.plain_sip)
		return json_stringn(txt, len);
	pc = peer != NULL ? seal_peer_cert(on->seal, peer) : NULL;
	if (pc == NULL) {
		snprintf(err, errlen, "no certificate known for %s to seal to",
			 peer != NULL ? peer : "?");
		return NULL;
	}
	if (mine == NULL) {
		err_set(err, errlen, "no certificate of ours yet");
		return NULL;
	}
	upper_id(on->acc[0].id, from_id);
	upper_id(to, to_id);
	env = seal_close(on->seal, mine, pc, from_id, to_id, (const uint8_t *)txt, len, now_ms(),
			 err, errlen);
	/* The envelope travels as the frame's body, a string: super nodes
	 * carry it as they carried SIP text, and SIP never starts with '{'. */
	s = env != NULL ? json_dumps(env, JSON_COMPACT) : NULL;
	json_decref(env);
	body = s != NULL ? json_string(s) : NULL;
	free(s);
	return body;
}

static char *opened(struct on *on, const json_t *env, const char *from, size_t *len,
		    struct on_sender *who, char *why, size_t whylen)
{
	char from_id[NODE_ID_HEX_LEN + 1], to_id[NODE_ID_HEX_LEN + 1];
	struct seal_opened o;
	uint8_t id[NODE_ID_LEN];
	char *txt;

	upper_id(from, from_id);
	upper_id(on->acc[0].id, to_id);
	if (seal_open(on->seal, env, from_id, to_id, now_ms(), &o, why, whylen) < 0)
		return NULL;
	txt = (char *)o.pt;
	o.pt = NULL;
	*len = o.len;
	str_copy(who->cert, o.peer_id, sizeof(who->cert));
	str_copy(who->user, o.peer_name, sizeof(who->user));
	who->gateway = o.gateway;
	if (node_id_from_cert(o.mine, id) == 0)
		node_id_hex(id, who->mine);
	seal_opened_clear(&o);
	return txt;
}

char *on_seal_unwrap(struct on *on, const json_t *frame, const char *from, size_t *len,
		     struct on_sender *who)
{
	static struct log_limit lim;
	const json_t *body = json_object_get(frame, "body");
	const char *b = json_string_value(body);
	char why[256] = "neither sealed nor allowed plain (plain_sip is off)";
	char *txt = NULL;
	json_t *env;

	memset(who, 0, sizeof(*who));
	str_copy(who->node, from, sizeof(who->node));
	if (b != NULL && b[0] == '{' && on->seal != NULL && on->acc[0].id[0] != '\0') {
		env = json_loadb(b, json_string_length(body), JSON_REJECT_DUPLICATES, NULL);
		if (env != NULL)
			txt = opened(on, env, from, len, who, why, sizeof(why));
		else
			str_copy(why, "a sealed body that is not JSON", sizeof(why));
		json_decref(env);
	} else if (b != NULL && b[0] != '{' && on->cfg.plain_sip) {
		who->plain = 1;
		*len = json_string_length(body);
		txt = malloc(*len + 1);
		if (txt != NULL) {
			memcpy(txt, json_string_value(body), *len);
			txt[*len] = '\0';
		}
	}
	if (txt == NULL && log_allowed(&lim, LOG_LIMIT_PER_S))
		log_info("SIP from node %s refused: %s", from, why);
	return txt;
}

/* Headers through which someone else than this node could name the caller
 * or the callee to our phones. */
static const char *const identity_headers[] = {
	"P-Asserted-Identity", "P-Preferred-Identity", "Remote-Party-ID", "Identity",
	"Identity-Info",
};

static int is_identity_header(const char *name)
{
	for (size_t i = 0; i < sizeof(identity_headers) / sizeof(identity_headers[0]); i++)
		if (strcasecmp(name, identity_headers[i]) == 0)
			return 1;
	return 0;
}

/* The URI inside a P-Asserted-Identity value ("<sip:...>" or a bare URI),
 * in m's home; "" when it has none. */
static char *pai_uri(msg_t *m, const sip_unknown_t *u)
{
	const char *v = u->un_value, *lt = strchr(v, '<'), *gt;

	if (lt == NULL)
		return su_strdup(msg_home(m), v);
	gt = strchr(lt, '>');
	return gt != NULL ? su_strndup(msg_home(m), lt + 1, (isize_t)(gt - lt - 1))
			  : su_strdup(msg_home(m), "");
}

void on_identity_strip(msg_t *m)
{
	sip_t *sip = sip_object(m);
	sip_unknown_t *u, *next;

	for (u = sip != NULL ? sip->sip_unknown : NULL; u != NULL; u = next) {
		next = u->un_next;
		if (u->un_name != NULL && is_identity_header(u->un_name))
			sip_header_remove(m, sip, (sip_header_t *)u);
	}
}

void on_identity_assert(msg_t *m, const char *user, const char *overlay)
{
	msg_header_t *pai;
	char h[300];

	on_identity_strip(m);
	if (user == NULL || user[0] == '\0')
		return;
	snprintf(h, sizeof(h), "P-Asserted-Identity: <sip:%s@%s>", user, overlay);
	/* Prepended: in a message parsed from text (a response from the
	 * overlay), sofia-sip appends a new header after the blank line. */
	pai = msg_header_make(msg_home(m), sip_unknown_class, h);
	if (pai != NULL)
		msg_header_prepend(m, (msg_pub_t *)sip_object(m),
				   (msg_header_t **)&sip_object(m)->sip_unknown, pai);
}

/* Keeps the first P-Asserted-Identity whose sip: or sips: URI has a host
 * that ok() takes; every other identity header goes. */
static void identity_keep(msg_t *m, int (*ok)(const char *host, const void *arg), const void *arg)
{
	sip_t *sip = sip_object(m);
	sip_unknown_t *u, *next;
	int kept = 0;

	for (u = sip != NULL ? sip->sip_unknown : NULL; u != NULL; u = next) {
		url_t *a;
		next = u->un_next;
		if (u->un_name == NULL || !is_identity_header(u->un_name))
			continue;
		a = strcasecmp(u->un_name, "P-Asserted-Identity") == 0 && !kept && u->un_value
			    ? url_hdup(msg_home(m), (url_t *)url_make(msg_home(m), pai_uri(m, u)))
			    : NULL;
		if (a != NULL && a->url_host != NULL && ok(a->url_host, arg) &&
		    (a->url_type == url_sip || a->url_type == url_sips))
			kept = 1;
		else
			sip_header_remove(m, sip, (sip_header_t *)u);
	}
}

static int not_overlay(const char *host, const void *overlay)
{
	return strcasecmp(host, overlay) != 0;
}

static int is_domain(const char *host, const void *domain)
{
	return strcasecmp(host, domain) == 0;
}

void on_identity_foreign(msg_t *m, const char *overlay)
{
	identity_keep(m, not_overlay, overlay);
}

void on_identity_peer(msg_t *m, const char *domain)
{
	identity_keep(m, is_domain, domain);
}

json_t *on_seal_status(struct on *on)
{
	struct seal_counts c;

	if (on->seal == NULL)
		return json_null();
	seal_counts(on->seal, &c);
	return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "plain_sip", on->cfg.plain_sip,
			 "sealed", (json_int_t)c.sealed, "opened", (json_int_t)c.opened, "replayed",
			 (json_int_t)c.replayed, "stale", (json_int_t)c.stale, "altered",
			 (json_int_t)c.altered, "bad_cert", (json_int_t)c.bad_cert, "not_for_us",
			 (json_int_t)c.not_for_us, "malformed", (json_int_t)c.malformed);
}

void on_seal_free(struct on *on)
{
	seal_free(on->seal);
	on->seal = NULL;
	certcheck_free(on->seal_cc);
	on->seal_cc = NULL;
}
