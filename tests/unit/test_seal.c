/* Unit tests of common/seal.c: SIP sealed between two ordinary nodes' accounts
 * opens only at the account it names, unchanged, once, in time, from a
 * certificate of this overlay's CA that may seal; every refusal says why. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "certcheck.h"
#include "crl.h"
#include "identity.h"
#include "log.h"
#include "record.h"
#include "seal.h"
#include "testutil.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINK_A "0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A" /* alice's node on the links */
#define LINK_B "0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B"
#define INVITE "INVITE sip:bob@overlay.example SIP/2.0\r\nFrom: <sip:alice@overlay.example>\r\n\r\n"

struct fx {
	struct tu_ca ca, other;
	EVP_PKEY *ka, *kb, *kc; /* alice (node A), bob and carol (both on node B) */
	X509 *alice, *bob, *carol;
	struct certcheck *cca, *ccb;
	struct seal *a, *b;
	uint64_t now;
	char err[256];
};

static X509 *issue(struct fx *f, EVP_PKEY *key, const char *role, const char *name, uint64_t serial)
{
	int64_t t = time_now();
	X509 *c = tu_issue(&f->ca, key, role, name, t - 60, t + 3600, serial);

	assert_non_null(c);
	return c;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || tu_ca_new(&f->ca) < 0 || tu_other_ca_new(&f->other) < 0)
		return -1;
	*state = f;
	f->ka = EVP_EC_gen("P-256");
	f->kb = EVP_EC_gen("P-256");
	f->kc = EVP_EC_gen("P-256");
	f->alice = issue(f, f->ka, ROLE_USER, "alice", 10);
	f->bob = issue(f, f->kb, ROLE_USER, "bob", 11);
	f->carol = issue(f, f->kc, ROLE_USER, "carol", 12);
	f->cca = certcheck_new(f->ca.cert);
	f->ccb = certcheck_new(f->ca.cert);
	f->now = now_ms();
	f->a = seal_new(f->cca, "overlay.example", f->now - 2 * SEAL_SKEW_MS);
	f->b = seal_new(f->ccb, "overlay.example", f->now - 2 * SEAL_SKEW_MS);
	if (f->a == NULL || f->b == NULL)
		return -1;
	if (seal_add_own(f->a, f->ka, f->alice) < 0 || seal_add_own(f->b, f->kb, f->bob) < 0 ||
	    seal_add_own(f->b, f->kc, f->carol) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	seal_free(f->a);
	seal_free(f->b);
	certcheck_free(f->cca);
	certcheck_free(f->ccb);
	X509_free(f->alice);
	X509_free(f->bob);
	X509_free(f->carol);
	EVP_PKEY_free(f->ka);
	EVP_PKEY_free(f->kb);
	EVP_PKEY_free(f->kc);
	tu_ca_free(&f->ca);
	tu_ca_free(&f->other);
	free(f);
	return 0;
}

/* alice's INVITE to bob, sealed at time ts. */
static json_t *sealed_at(struct fx *f, X509 *to, uint64_t ts)
{
	json_t *env = seal_close(f->a, f->alice, to, LINK_A, LINK_B, (const uint8_t *)INVITE,
				 strlen(INVITE), ts, f->err, sizeof(f->err));

	if (env == NULL)
		fail_msg("seal_close: %s", f->err);
	return env;
}

static json_t *sealed(struct fx *f)
{
	return sealed_at(f, f->bob, f->now);
}

/* Opening at B must fail with a reason containing why. */
static void refused(struct fx *f, struct seal *s, const json_t *env, const char *from,
		    const char *to, const char *why)
{
	struct seal_opened o;

	f->err[0] = '\0';
	assert_int_equal(seal_open(s, env, from, to, f->now, &o, f->err, sizeof(f->err)), -1);
	assert_contains(f->err, why);
	assert_null(o.pt);
	assert_null(o.peer);
}

static void opens(struct fx *f, struct seal *s, const json_t *env, struct seal_opened *o)
{
	if (seal_open(s, env, LINK_A, LINK_B, f->now, o, f->err, sizeof(f->err)) < 0)
		fail_msg("seal_open: %s", f->err);
}

static void id_of(X509 *c, char hex[NODE_ID_HEX_LEN + 1])
{
	uint8_t id[NODE_ID_LEN];

	assert_int_equal(node_id_from_cert(c, id), 0);
	node_id_hex(id, hex);
}

/* Replaces a base64 member of env by the DER of cert. */
static void set_cert(json_t *env, X509 *cert)
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	char *b = b64_encode(der, (size_t)n);

	json_object_set_new(env, "cert", json_string(b));
	free(b);
	OPENSSL_free(der);
}

static void test_round_trip_and_answer(void **state)
{
	struct fx *f = *state;
	struct seal_opened o, back;
	struct seal_counts c;
	char alice_id[NODE_ID_HEX_LEN + 1];
	json_t *env = sealed(f), *reply;

	opens(f, f->b, env, &o);
	assert_int_equal(o.len, strlen(INVITE));
	assert_string_equal((char *)o.pt, INVITE);
	assert_string_equal(o.peer_name, "alice");
	id_of(f->alice, alice_id);
	assert_string_equal(o.peer_id, alice_id);
	assert_int_equal(X509_cmp(o.peer, f->alice), 0);
	assert_int_equal(X509_cmp(o.mine, f->bob), 0);
	/* The envelope names bob's Node-ID and carries no plain text. */
	assert_null(strstr(json_string_value(json_object_get(env, "ct")), "INVITE"));
	/* bob answers to the certificate that came with the request. */
	X509 *peer = seal_peer_cert(f->b, o.peer_id);
	assert_non_null(peer);
	reply = seal_close(f->b, o.mine, peer, LINK_B, LINK_A, (const uint8_t *)"SIP/2.0 180", 11,
			   f->now, f->err, sizeof(f->err));
	assert_non_null(reply);
	assert_int_equal(
		seal_open(f->a, reply, LINK_B, LINK_A, f->now, &back, f->err, sizeof(f->err)), 0);
	assert_string_equal((char *)back.pt, "SIP/2.0 180");
	assert_string_equal(back.peer_name, "bob");
	seal_counts(f->b, &c);
	assert_int_equal(c.opened, 1);
	assert_int_equal(c.sealed, 1);
	seal_opened_clear(&o);
	seal_opened_clear(&back);
	seal_opened_clear(&back); /* twice is fine */
	json_decref(env);
	json_decref(reply);
}

static void test_the_right_account_is_found(void **state)
{
	struct fx *f = *state;
	struct seal_opened o;
	json_t *env = sealed_at(f, f->carol, f->now);

	opens(f, f->b, env, &o);
	assert_int_equal(X509_cmp(o.mine, f->carol), 0);
	seal_opened_clear(&o);
	json_decref(env);
}

static void test_empty_and_largest_messages(void **state)
{
	struct fx *f = *state;
	struct seal_opened o;
	uint8_t *big = malloc(SEAL_PT_MAX + 1);
	json_t *env;

	assert_non_null(big);
	memset(big, 'x', SEAL_PT_MAX + 1);
	env = seal_close(f->a, f->alice, f->bob, LINK_A, LINK_B, big, SEAL_PT_MAX, f->now, f->err,
			 sizeof(f->err));
	opens(f, f->b, env, &o);
	assert_int_equal(o.len, SEAL_PT_MAX);
	seal_opened_clear(&o);
	json_decref(env);
	assert_null(seal_close(f->a, f->alice, f->bob, LINK_A, LINK_B, big, SEAL_PT_MAX + 1, f->now,
			       f->err, sizeof(f->err)));
	assert_contains(f->err, "over");
	env = seal_close(f->a, f->alice, f->bob, LINK_A, LINK_B, NULL, 0, f->now, f->err,
			 sizeof(f->err));
	opens(f, f->b, env, &o);
	assert_int_equal(o.len, 0);
	assert_string_equal((char *)o.pt, "");
	seal_opened_clear(&o);
	json_decref(env);
	free(big);
}

static void test_altered_ciphertext_is_refused(void **state)
{
	struct fx *f = *state;
	json_t *env = sealed(f);
	size_t n = 0;
	uint8_t *ct =
		b64_decode(json_string_value(json_object_get(env, "ct")), SEAL_PT_MAX + 16, &n);
	struct seal_counts c;

	ct[3] ^= 1;
	char *b = b64_encode(ct, n);
	json_object_set_new(env, "ct", json_string(b));
	refused(f, f->b, env, LINK_A, LINK_B, "altered");
	seal_counts(f->b, &c);
	assert_int_equal(c.altered, 1);
	assert_int_equal(c.opened, 0);
	free(b);
	free(ct);
	json_decref(env);
}

static void test_altered_routing_time_or_iv_is_refused(void **state)
{
	struct fx *f = *state;
	json_t *env = sealed(f), *copy;
	struct seal_opened o;

	/* A super node that re-addresses the frame breaks the tag. */
	refused(f, f->b, env, LINK_B, LINK_B, "altered");
	refused(f, f->b, env, LINK_A, LINK_A, "altered");
	copy = json_deep_copy(env);
	json_object_set_new(copy, "ts", json_integer((json_int_t)f->now - 1));
	refused(f, f->b, copy, LINK_A, LINK_B, "altered");
	json_object_set_new(copy, "ts", json_integer((json_int_t)f->now));
	json_object_set_new(copy, "iv", json_string("AAAAAAAAAAAAAAAA"));
	refused(f, f->b, copy, LINK_A, LINK_B, "altered");
	/* None of that was remembered: the true one still opens, in either
	 * case of hex for the link Node-IDs. */
	assert_int_equal(seal_open(f->b, env, "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", LINK_B, f->now,
				   &o, f->err, sizeof(f->err)),
			 0);
	seal_opened_clear(&o);
	json_decref(copy);
	json_decref(env);
}

static void test_wrong_recipient_is_not_for_us(void **state)
{
	struct fx *f = *state;
	json_t *env = sealed(f);
	char carol[NODE_ID_HEX_LEN + 1];
	struct seal_counts c;

	/* Sealed to bob, opened at a node that holds only alice. */
	refused(f, f->a, env, LINK_A, LINK_B, "not for us");
	/* Re-addressed to carol, on bob's own node: the key is bob's. */
	id_of(f->carol, carol);
	json_object_set_new(env, "to", json_string(carol));
	refused(f, f->b, env, LINK_A, LINK_B, "altered");
	seal_counts(f->a, &c);
	assert_int_equal(c.not_for_us, 1);
	json_decref(env);
}

static void test_reflection_is_refused(void **state)
{
	struct fx *f = *state;
	json_t *env = sealed(f);
	char alice[NODE_ID_HEX_LEN + 1];

	/* alice's own message fed back to her node. */
	refused(f, f->a, env, LINK_A, LINK_B, "not for us");
	refused(f, f->a, env, LINK_B, LINK_A, "not for us");
	/* ...dressed as coming from bob to alice: the key runs the other way. */
	id_of(f->alice, alice);
	json_object_set_new(env, "to", json_string(alice));
	set_cert(env, f->bob);
	refused(f, f->a, env, LINK_B, LINK_A, "altered");
	refused(f, f->a, env, LINK_A, LINK_B, "altered");
	json_decref(env);
}

/* A sender on node A whose certificate is cert (with key k). */
static void sender_refused(struct fx *f, EVP_PKEY *k, X509 *cert, const char *why)
{
	json_t *env = sealed(f);
	struct seal_counts before, after;

	/* Ed25519 cannot take part in ECDH: graft the certificate onto a good
	 * envelope, which is what a hostile sender would do anyway. */
	if (EVP_PKEY_is_a(k, "EC")) {
		struct seal *x = seal_new(f->cca, "overlay.example", f->now);
		json_decref(env);
		assert_int_equal(seal_add_own(x, k, cert), 0);
		env = seal_close(x, cert, f->bob, LINK_A, LINK_B, (const uint8_t *)"x", 1, f->now,
				 f->err, sizeof(f->err));
		assert_non_null(env);
		seal_free(x);
	} else {
		set_cert(env, cert);
	}
	seal_counts(f->b, &before);
	refused(f, f->b, env, LINK_A, LINK_B, why);
	seal_counts(f->b, &after);
	assert_int_equal(after.bad_cert, before.bad_cert + 1);
	json_decref(env);
}

static void test_sender_certificates_that_cannot_seal(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = EVP_EC_gen("P-256"), *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	int64_t t = time_now();
	X509 *other = tu_issue(&f->other, k, ROLE_USER, "mallory", t - 60, t + 3600, 20);
	X509 *sn = issue(f, k, ROLE_SUPERNODE, "sn1", 21);
	X509 *edc = issue(f, ed, ROLE_USER, "eddie", 22);
	X509 *old = tu_issue(&f->ca, k, ROLE_USER, "old", t - 7200, t - 3600, 23);

	sender_refused(f, k, other, "sender certificate");
	sender_refused(f, k, sn, "not a user's");
	sender_refused(f, ed, edc, "Ed25519 certificates cannot seal");
	sender_refused(f, k, old, "expired");
	/* An Ed25519 account cannot be one of ours either. */
	assert_int_equal(seal_add_own(f->a, ed, edc), -1);
	/* Nor a key that is not the certificate's. */
	assert_int_equal(seal_add_own(f->a, f->kb, f->alice), -1);
	X509_free(other);
	X509_free(sn);
	X509_free(edc);
	X509_free(old);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ed);
}

/* A gateway seals as a user does, and the opened result says it was one:
 * the receiving node decides what a gateway may assert (its calls come
 * from outside the overlay). A user's opens with gateway 0. */
static void test_gateway_sender_opens_as_gateway(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *gw = issue(f, k, ROLE_GATEWAY, "gw1", 24);
	struct seal *x = seal_new(f->cca, "overlay.example", f->now);
	struct seal_opened o;
	json_t *env, *plain = sealed(f);

	assert_int_equal(seal_add_own(x, k, gw), 0);
	env = seal_close(x, gw, f->bob, LINK_A, LINK_B, (const uint8_t *)INVITE, strlen(INVITE),
			 f->now, f->err, sizeof(f->err));
	assert_non_null(env);
	opens(f, f->b, env, &o);
	assert_int_equal(o.gateway, 1);
	assert_string_equal(o.peer_name, "gw1");
	/* bob can answer it: the gateway's certificate was kept as a peer. */
	assert_non_null(seal_peer_cert(f->b, o.peer_id));
	seal_opened_clear(&o);
	opens(f, f->b, plain, &o);
	assert_int_equal(o.gateway, 0);
	seal_opened_clear(&o);
	json_decref(env);
	json_decref(plain);
	seal_free(x);
	X509_free(gw);
	EVP_PKEY_free(k);
}

static void test_revoked_sender_is_refused(void **state)
{
	struct fx *f = *state;
	uint64_t serials[] = {10}; /* alice */
	X509_CRL *x = tu_crl(&f->ca, serials, 1, 1);
	unsigned char *der = NULL;
	int n = i2d_X509_CRL(x, &der);
	struct crl *crl = crl_parse(der, (size_t)n, f->ca.cert, NULL, 0);
	json_t *env = sealed(f);
	struct seal_opened o;

	assert_non_null(crl);
	certcheck_set_crl(f->ccb, crl);
	refused(f, f->b, env, LINK_A, LINK_B, "revoked");
	/* Nor does bob seal to alice any more. */
	assert_null(seal_close(f->b, f->bob, f->alice, LINK_B, LINK_A, (const uint8_t *)"x", 1,
			       f->now, f->err, sizeof(f->err)));
	assert_contains(f->err, "revoked");
	certcheck_set_crl(f->ccb, NULL);
	opens(f, f->b, env, &o);
	seal_opened_clear(&o);
	crl_free(crl);
	OPENSSL_free(der);
	X509_CRL_free(x);
	json_decref(env);
}

static void test_other_overlay_is_refused(void **state)
{
	struct fx *f = *state;
	struct seal *x = seal_new(f->ccb, "elsewhere.example", f->now - 60000);
	json_t *env = sealed(f);

	assert_int_equal(seal_add_own(x, f->kb, f->bob), 0);
	refused(f, x, env, LINK_A, LINK_B, "not of this overlay");
	/* Nor will we seal to a certificate of another overlay. */
	assert_null(seal_close(x, f->bob, f->alice, LINK_B, LINK_A, (const uint8_t *)"x", 1, f->now,
			       f->err, sizeof(f->err)));
	assert_contains(f->err, "not of this overlay");
	seal_free(x);
	json_decref(env);
}

static void test_stale_and_future_times_are_refused(void **state)
{
	struct fx *f = *state;
	json_t *old = sealed_at(f, f->bob, f->now - SEAL_SKEW_MS - 1000);
	json_t *ahead = sealed_at(f, f->bob, f->now + SEAL_SKEW_MS + 1000);
	json_t *edge = sealed_at(f, f->bob, f->now - SEAL_SKEW_MS + 1000);
	struct seal_opened o;
	struct seal_counts c;

	refused(f, f->b, old, LINK_A, LINK_B, "stale");
	refused(f, f->b, ahead, LINK_A, LINK_B, "from the future");
	opens(f, f->b, edge, &o);
	seal_opened_clear(&o);
	seal_counts(f->b, &c);
	assert_int_equal(c.stale, 2);
	json_decref(old);
	json_decref(ahead);
	json_decref(edge);
}

static void test_replay_is_refused(void **state)
{
	struct fx *f = *state;
	json_t *env = sealed(f), *again = sealed(f);
	struct seal_opened o;
	struct seal_counts c;

	opens(f, f->b, env, &o);
	seal_opened_clear(&o);
	refused(f, f->b, env, LINK_A, LINK_B, "replayed");
	/* The same text sealed again has a new IV. */
	opens(f, f->b, again, &o);
	seal_opened_clear(&o);
	seal_counts(f->b, &c);
	assert_int_equal(c.replayed, 1);
	assert_int_equal(c.opened, 2);
	json_decref(env);
	json_decref(again);
}

static void test_full_ring_raises_the_horizon(void **state)
{
	struct fx *f = *state;
	json_t *env[5];
	struct seal_opened o;

	assert_int_equal(seal_set_replay_max(f->b, 4), 0);
	for (int i = 0; i < 5; i++) {
		env[i] = sealed_at(f, f->bob, f->now - 100 + (uint64_t)i);
		opens(f, f->b, env[i], &o);
		seal_opened_clear(&o);
	}
	/* The first fell out of the ring: its time is now behind the horizon. */
	refused(f, f->b, env[0], LINK_A, LINK_B, "replay horizon");
	for (int i = 1; i < 5; i++)
		refused(f, f->b, env[i], LINK_A, LINK_B, "replayed");
	/* A new message of that same millisecond is refused too; later ones pass. */
	json_t *same = sealed_at(f, f->bob, f->now - 100);
	json_t *later = sealed_at(f, f->bob, f->now - 99);
	refused(f, f->b, same, LINK_A, LINK_B, "replay horizon");
	opens(f, f->b, later, &o);
	seal_opened_clear(&o);
	for (int i = 0; i < 5; i++)
		json_decref(env[i]);
	json_decref(same);
	json_decref(later);
	assert_int_equal(seal_set_replay_max(f->b, 0), -1);
	assert_int_equal(seal_set_replay_max(f->b, SEAL_REPLAY_MAX + 1), -1);
}

static void test_entries_out_of_the_window_go_first(void **state)
{
	struct fx *f = *state;
	json_t *old = sealed_at(f, f->bob, f->now - SEAL_SKEW_MS + 10);
	struct seal_opened o;

	assert_int_equal(seal_set_replay_max(f->b, 2), 0);
	opens(f, f->b, old, &o);
	seal_opened_clear(&o);
	/* 20 s later the old one is out of the window: a full ring makes
	 * room without pushing the horizon into it. */
	f->now += 20000;
	for (int i = 0; i < 4; i++) {
		json_t *e = sealed_at(f, f->bob, f->now - 50000 + (uint64_t)i);
		opens(f, f->b, e, &o);
		seal_opened_clear(&o);
		json_decref(e);
	}
	refused(f, f->b, old, LINK_A, LINK_B, "stale");
	json_decref(old);
}

static void test_ring_index_survives_many_evictions(void **state)
{
	struct fx *f = *state;
	enum {
		RING = 64,
		SENT = 400
	};
	json_t *env[SENT];
	struct seal_opened o;

	assert_int_equal(seal_set_replay_max(f->b, RING), 0);
	for (int i = 0; i < SENT; i++) {
		env[i] = sealed_at(f, f->bob, f->now - 1000 + (uint64_t)i);
		opens(f, f->b, env[i], &o);
		seal_opened_clear(&o);
	}
	/* Every one still in the ring is found; every one evicted is behind
	 * the horizon. */
	for (int i = 0; i < SENT; i++) {
		refused(f, f->b, env[i], LINK_A, LINK_B, i < SENT - RING ? "horizon" : "replayed");
		json_decref(env[i]);
	}
}

static void test_frames_from_before_the_start_are_refused(void **state)
{
	struct fx *f = *state;
	struct seal *x = seal_new(f->ccb, "overlay.example", f->now);
	json_t *before = sealed_at(f, f->bob, f->now - SEAL_START_GRACE_MS - 1);
	json_t *grace = sealed_at(f, f->bob, f->now - SEAL_START_GRACE_MS + 1000);
	struct seal_opened o;
	struct seal_counts c;

	assert_int_equal(seal_add_own(x, f->kb, f->bob), 0);
	refused(f, x, before, LINK_A, LINK_B, "replay horizon");
	opens(f, x, grace, &o);
	seal_opened_clear(&o);
	seal_counts(x, &c);
	assert_int_equal(c.stale, 1);
	seal_free(x);
	json_decref(before);
	json_decref(grace);
}

static void test_peer_certificates_are_kept(void **state)
{
	struct fx *f = *state;
	char alice[NODE_ID_HEX_LEN + 1], carol[NODE_ID_HEX_LEN + 1], lower[NODE_ID_HEX_LEN + 1];
	json_t *env = sealed(f);
	struct seal_opened o;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *sn = issue(f, k, ROLE_SUPERNODE, "sn1", 30);

	id_of(f->alice, alice);
	id_of(f->carol, carol);
	assert_null(seal_peer_cert(f->b, alice));
	/* A refused message keeps nothing. */
	refused(f, f->b, env, LINK_B, LINK_A, "altered");
	assert_null(seal_peer_cert(f->b, alice));
	opens(f, f->b, env, &o);
	seal_opened_clear(&o);
	assert_int_equal(X509_cmp(seal_peer_cert(f->b, alice), f->alice), 0);
	for (int i = 0; alice[i]; i++)
		lower[i] = (char)(alice[i] >= 'A' && alice[i] <= 'F' ? alice[i] + 32 : alice[i]);
	lower[NODE_ID_HEX_LEN] = '\0';
	assert_non_null(seal_peer_cert(f->b, lower));
	assert_null(seal_peer_cert(f->b, "zz"));
	assert_null(seal_peer_cert(f->b, NULL));
	/* Learned from a DHT record: the same checks first. */
	assert_null(seal_peer_cert(f->a, carol));
	assert_int_equal(seal_learn_peer(f->a, f->carol), 0);
	assert_int_equal(X509_cmp(seal_peer_cert(f->a, carol), f->carol), 0);
	assert_int_equal(seal_learn_peer(f->a, sn), -1);
	assert_int_equal(seal_learn_peer(f->a, NULL), -1);
	X509_free(sn);
	EVP_PKEY_free(k);
	json_decref(env);
}

static void test_renewal_keeps_the_key(void **state)
{
	struct fx *f = *state;
	X509 *renewed = issue(f, f->kb, ROLE_USER, "bob", 40);
	char bob[NODE_ID_HEX_LEN + 1];
	struct seal_opened o;
	json_t *env = sealed(f);

	assert_int_equal(seal_add_own(f->b, f->kb, renewed), 0);
	opens(f, f->b, env, &o);
	assert_int_equal(X509_cmp(o.mine, renewed), 0);
	seal_opened_clear(&o);
	/* alice learns the renewed certificate under the same Node-ID. */
	id_of(f->bob, bob);
	assert_int_equal(seal_learn_peer(f->a, f->bob), 0);
	assert_int_equal(seal_learn_peer(f->a, renewed), 0);
	assert_int_equal(X509_cmp(seal_peer_cert(f->a, bob), renewed), 0);
	X509_free(renewed);
	json_decref(env);
}

static void test_malformed_envelopes_are_refused(void **state)
{
	struct fx *f = *state;
	json_t *good = sealed(f);
	static const struct {
		const char *key, *value;
		const char *why;
	} cases[] = {
		{"v", NULL, "version"},  {"iv", "AAAA", "iv"},
		{"ct", "AAAA", "ct"},    {"cert", "!!", "cert"},
		{"to", "ABC", "to"},     {"to", "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ", "to"},
		{"extra", "1", "extra"}, {"cert", "AAAA", "not a DER certificate"},
	};
	struct seal_counts c;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		json_t *e = json_deep_copy(good);
		if (cases[i].value == NULL)
			json_object_set_new(e, cases[i].key, json_integer(2));
		else
			json_object_set_new(e, cases[i].key, json_string(cases[i].value));
		refused(f, f->b, e, LINK_A, LINK_B, cases[i].why);
		json_decref(e);
	}
	json_object_del(good, "ts");
	refused(f, f->b, good, LINK_A, LINK_B, "ts");
	json_t *arr = json_array();
	refused(f, f->b, arr, LINK_A, LINK_B, "");
	refused(f, f->b, NULL, LINK_A, LINK_B, "");
	seal_counts(f->b, &c);
	assert_int_equal(c.malformed, ARRAY_LEN(cases) - 1 + 3);
	assert_int_equal(c.bad_cert, 1);
	json_decref(arr);
	json_decref(good);
}

static void test_sealing_needs_one_of_our_identities(void **state)
{
	struct fx *f = *state;

	assert_null(seal_close(f->a, f->bob, f->alice, LINK_A, LINK_B, (const uint8_t *)"x", 1,
			       f->now, f->err, sizeof(f->err)));
	assert_contains(f->err, "not one of our identities");
	seal_free(NULL);
	seal_opened_clear(NULL);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_round_trip_and_answer),
		T(test_the_right_account_is_found),
		T(test_empty_and_largest_messages),
		T(test_altered_ciphertext_is_refused),
		T(test_altered_routing_time_or_iv_is_refused),
		T(test_wrong_recipient_is_not_for_us),
		T(test_reflection_is_refused),
		T(test_sender_certificates_that_cannot_seal),
		T(test_gateway_sender_opens_as_gateway),
		T(test_revoked_sender_is_refused),
		T(test_other_overlay_is_refused),
		T(test_stale_and_future_times_are_refused),
		T(test_replay_is_refused),
		T(test_full_ring_raises_the_horizon),
		T(test_entries_out_of_the_window_go_first),
		T(test_ring_index_survives_many_evictions),
		T(test_frames_from_before_the_start_are_refused),
		T(test_peer_certificates_are_kept),
		T(test_renewal_keeps_the_key),
		T(test_malformed_envelopes_are_refused),
		T(test_sealing_needs_one_of_our_identities),
	};

	log_init("test_seal", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
