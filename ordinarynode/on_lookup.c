/* The DHT lookup of a callee for the ordinary node's proxy: a fetch of a
 * record ("user:NAME@OVERLAY", or "user:ACCT@OVERLAY/node" for a node that
 * moved) over the link, and the check of each value it brings: signed by a
 * certificate of the overlay that may store that name, not revoked, not
 * expired, its data naming a node and its super node. A super node that
 * lies can drop values but not forge them. */
#include "on.h"

#include "certcheck.h"
#include "seal.h"
#include "log.h"
#include "record.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_TIMEOUT_MS 10000

struct on_lookup {
	struct on *on;
	struct certcheck *cc;
	uint64_t fetches;
};

struct fetch {
	on_lookup_done_t done;
	void *arg;
	uint64_t id;
	int idx;
	char name[RECORD_NAME_MAX + 1];
};

static void on_fetched(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct fetch *f = arg;
	const json_t *vals = reply != NULL ? json_object_get(reply, "vals") : NULL;
	const char *why = reply != NULL ? json_string_value(json_object_get(reply, "msg")) : err;

	(void)l;
	f->done(f->arg, f->id, f->idx, f->name, vals, why);
	free(f);
}

int on_lookup_fetch(struct on_lookup *lk, const char *name, on_lookup_done_t done, void *arg,
		    uint64_t id, int idx)
{
	struct on *on = lk->on;
	struct fetch *f;

	if (on->state != ON_ATTACHED || on->link == NULL || (f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	*f = (struct fetch){done, arg, id, idx, ""};
	str_copy(f->name, name, sizeof(f->name));
	lk->fetches++;
	if (olink_request(on->link, json_pack("{s:s,s:s}", "t", "fetch", "name", f->name),
			  FETCH_TIMEOUT_MS, on_fetched, f) < 0) {
		free(f);
		return -1;
	}
	return 0;
}

/* The data of a value that passed: {"node", "sn", "sn_addr"?}. */
static int place_of(const struct record *r, struct on_place *out, char *why, size_t whylen)
{
	json_t *d = json_loadb(r->data, r->data_len, 0, NULL);
	const char *a = json_string_value(json_object_get(d, "node"));
	const char *b = json_string_value(json_object_get(d, "sn"));
	const char *c = json_string_value(json_object_get(d, "sn_addr"));
	int ok = -1;

	snprintf(why, whylen, "data without node and sn: %.100s", r->data);
	if (on_is_hex_id(a) && on_is_hex_id(b)) {
		str_copy(out->to, a, sizeof(out->to));
		str_copy(out->sn, b, sizeof(out->sn));
		str_copy(out->sna, c != NULL && strlen(c) < sizeof(out->sna) ? c : "",
			 sizeof(out->sna));
		ok = 0;
	}
	json_decref(d);
	return ok;
}

/* The signer's certificate: SIP to the node is sealed to it. An account
 * whose certificate cannot seal (an Ed25519 key) cannot be called. */
static int peer_of(struct on_lookup *lk, const struct record *r, struct on_place *out, char *why,
		   size_t whylen)
{
	uint8_t id[NODE_ID_LEN];

	if (lk->on->seal != NULL && !lk->on->cfg.plain_sip &&
	    seal_learn_peer(lk->on->seal, r->cert) < 0) {
		snprintf(why, whylen, "its signer's certificate cannot seal");
		return -1;
	}
	if (node_id_from_cert(r->cert, id) < 0) {
		snprintf(why, whylen, "no Node-ID in its certificate");
		return -1;
	}
	node_id_hex(id, out->peer);
	return 0;
}

int on_lookup_value(struct on_lookup *lk, const json_t *v, const char *name, struct on_place *out)
{
	struct record r;
	char why[256];
	int ok = -1;

	if (record_from_json(v, &r, why, sizeof(why)) < 0) {
		log_info("%s: bad value: %s", name, why);
		return -1;
	}
	str_copy(why, "not for this name, a deletion, or expired", sizeof(why));
	if (strcmp(r.name, name) == 0 && !r.deleted && !record_is_expired(&r, now_ms()) &&
	    certcheck_record(lk->cc, &r, lk->on->cfg.overlay, why, sizeof(why)) == 0)
		ok = place_of(&r, out, why, sizeof(why));
	if (ok == 0)
		ok = peer_of(lk, &r, out, why, sizeof(why));
	if (ok < 0)
		log_info("%s: a value refused: %s", name, why);
	record_clear(&r);
	return ok;
}

void on_lookup_set_crl(struct on_lookup *lk, const struct crl *crl)
{
	if (lk != NULL)
		certcheck_set_crl(lk->cc, crl);
}

uint64_t on_lookup_count(const struct on_lookup *lk)
{
	return lk->fetches;
}

struct on_lookup *on_lookup_new(struct on *on, char *err, size_t errlen)
{
	struct on_lookup *lk = calloc(1, sizeof(*lk));

	if (lk == NULL || (lk->cc = certcheck_new(on->ca)) == NULL) {
		err_set(err, errlen, "SIP proxy set-up failed");
		free(lk);
		return NULL;
	}
	lk->on = on;
	certcheck_set_crl(lk->cc, on->crl);
	return lk;
}

void on_lookup_free(struct on_lookup *lk)
{
	if (lk == NULL)
		return;
	certcheck_free(lk->cc);
	free(lk);
}
