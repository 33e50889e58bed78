/* sn_store: the values a super node holds in memory, with the overlay's
 * limits, the time rules, ranges of the ring and expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "identity.h"
#include "log.h"
#include "record.h"
#include "sn_store.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOW 1700000000000ull /* ms */
#define ALICE "user:alice@overlay.example"
#define BOB "user:bob@overlay.example"

struct signer {
	EVP_PKEY *key;
	X509 *cert;
};

struct fx {
	struct tu_ca ca;
	struct signer alice1, alice2, bob, sn;
	struct store *st;
	struct store_limits lim;
};

static int make_signer(struct fx *f, struct signer *s, const char *role, const char *name,
		       uint64_t serial)
{
	time_t t = time(NULL);

	s->key = key_generate();
	if (s->key == NULL)
		return -1;
	s->cert = tu_issue(&f->ca, s->key, role, name, t - 60, t + 86400, serial);
	return s->cert != NULL ? 0 : -1;
}

static void free_signer(struct signer *s)
{
	EVP_PKEY_free(s->key);
	X509_free(s->cert);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	log_init("test", LOG_LVL_ERROR);
	if (f == NULL || tu_ca_new(&f->ca) < 0 ||
	    make_signer(f, &f->alice1, "user", "alice", 10) < 0 ||
	    make_signer(f, &f->alice2, "user", "alice", 11) < 0 ||
	    make_signer(f, &f->bob, "user", "bob", 12) < 0 ||
	    make_signer(f, &f->sn, "supernode", "sn1", 13) < 0)
		return -1;
	f->st = store_new();
	if (f->st == NULL)
		return -1;
	f->lim.value_max = 64;
	f->lim.values_per_resource = 3;
	f->lim.records_per_user = 4;
	f->lim.lifetime_max = 3600;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	store_free(f->st);
	free_signer(&f->alice1);
	free_signer(&f->alice2);
	free_signer(&f->bob);
	free_signer(&f->sn);
	tu_ca_free(&f->ca);
	free(f);
	return 0;
}

/* A signed value. */
static void mk(struct record *r, const struct signer *s, const char *name, const char *data,
	       uint64_t stored, uint32_t life)
{
	assert_int_equal(record_init(r, name, "sip", data, stored, life, 0), 0);
	assert_int_equal(record_sign(r, s->key, s->cert), 0);
}

/* Puts a value; on refusal the record is cleared here. */
static enum store_rc put(struct fx *f, const struct signer *s, const char *name, const char *data,
			 uint64_t stored, uint32_t life, const struct store_limits *lim)
{
	struct record r;
	enum store_rc rc;

	mk(&r, s, name, data, stored, life);
	rc = store_put(f->st, &r, NOW, lim, NULL);
	if (rc == STORE_OK) {
		assert_null(r.data); /* moved in, r cleared */
		assert_null(r.cert);
	} else {
		assert_non_null(r.data); /* left to the caller */
		assert_non_null(r.cert);
	}
	record_clear(&r);
	return rc;
}

/* The data held for name by signer s, or NULL. */
static const char *held_data(struct fx *f, const char *name, const struct signer *s)
{
	struct rid res;
	uint8_t nid[NODE_ID_LEN];
	const struct record *v;
	int n;

	rid_of_name(name, &res);
	assert_int_equal(node_id_from_cert(s->cert, nid), 0);
	v = store_get(f->st, &res, &n);
	for (int i = 0; i < n; i++)
		if (memcmp(v[i].owner.b, nid, NODE_ID_LEN) == 0)
			return v[i].data;
	return NULL;
}

static void store_put_moves_the_value_in_and_held_points_at_it(void **state)
{
	struct fx *f = *state;
	struct record r;
	const struct record *held = NULL, *v;
	struct rid res;
	int n;

	mk(&r, &f->alice1, ALICE, "sip:alice@192.0.2.1", NOW - 1000, 600);
	res = r.res;
	assert_int_equal(store_put(f->st, &r, NOW, &f->lim, &held), STORE_OK);
	assert_null(r.data);
	assert_null(r.cert);
	assert_non_null(held);
	v = store_get(f->st, &res, &n);
	assert_int_equal(n, 1);
	assert_ptr_equal(held, &v[0]);
	assert_string_equal(held->name, ALICE);
	assert_string_equal(held->data, "sip:alice@192.0.2.1");
	assert_int_equal(held->stored, NOW - 1000);
	assert_true(record_sig_ok(held));
	assert_int_equal(store_values(f->st), 1);
	assert_int_equal(store_resources(f->st), 1);

	/* A second device of the same user: another dictionary entry. */
	mk(&r, &f->alice2, ALICE, "sip:alice@192.0.2.2", NOW, 600);
	assert_int_equal(store_put(f->st, &r, NOW, &f->lim, &held), STORE_OK);
	v = store_get(f->st, &res, &n);
	assert_int_equal(n, 2);
	assert_string_equal(held->data, "sip:alice@192.0.2.2");
	assert_true(held == &v[0] || held == &v[1]);
	assert_int_equal(store_values(f->st), 2);
	assert_int_equal(store_resources(f->st), 1);

	rid_of_name(BOB, &res);
	assert_null(store_get(f->st, &res, &n));
	assert_int_equal(n, 0);
}

static void store_put_refuses_each_limit_and_changes_nothing(void **state)
{
	struct fx *f = *state;
	char big[66];

	assert_int_equal(put(f, &f->alice1, ALICE, "first", NOW, 600, &f->lim), STORE_OK);

	/* value_max 64: 64 bytes pass, 65 do not. */
	memset(big, 'x', 65);
	big[65] = '\0';
	assert_int_equal(put(f, &f->bob, ALICE, big, NOW, 600, &f->lim), STORE_TOO_BIG);
	big[64] = '\0';
	assert_int_equal(put(f, &f->bob, BOB, big, NOW, 600, &f->lim), STORE_OK);
	assert_int_equal(store_values(f->st), 2);

	/* lifetime_max 3600. */
	assert_int_equal(put(f, &f->alice2, ALICE, "d", NOW, 3601, &f->lim), STORE_TOO_LONG);
	assert_int_equal(store_values(f->st), 2);
	assert_null(held_data(f, ALICE, &f->alice2));
	/* Also for a replacement of one's own value. */
	assert_int_equal(put(f, &f->alice1, ALICE, "second", NOW + 1, 3601, &f->lim),
			 STORE_TOO_LONG);
	big[64] = 'x';
	assert_int_equal(put(f, &f->alice1, ALICE, big, NOW + 1, 600, &f->lim), STORE_TOO_BIG);
	assert_string_equal(held_data(f, ALICE, &f->alice1), "first");
	assert_int_equal(put(f, &f->alice2, ALICE, "d", NOW, 3600, &f->lim), STORE_OK);

	/* values_per_resource 3: ALICE holds alice1 and alice2; bob makes 3. */
	assert_int_equal(put(f, &f->bob, ALICE, "b", NOW, 60, &f->lim), STORE_OK);
	assert_int_equal(put(f, &f->sn, ALICE, "s", NOW, 60, &f->lim), STORE_FULL);
	assert_int_equal(store_values(f->st), 4);
	assert_null(held_data(f, ALICE, &f->sn));
	/* A full resource still takes a newer value from one already there. */
	assert_int_equal(put(f, &f->bob, ALICE, "b2", NOW + 5, 60, &f->lim), STORE_OK);
	assert_string_equal(held_data(f, ALICE, &f->bob), "b2");
	assert_int_equal(store_values(f->st), 4);
	assert_int_equal(store_resources(f->st), 2);
}

static void store_put_refuses_over_quota_per_user_name(void **state)
{
	struct fx *f = *state;
	char name[64];

	f->lim.records_per_user = 3;
	/* Two devices of alice share one quota: it counts the certificate name. */
	assert_int_equal(put(f, &f->alice1, ALICE "/a", "1", NOW, 60, &f->lim), STORE_OK);
	assert_int_equal(put(f, &f->alice1, ALICE "/b", "1", NOW, 60, &f->lim), STORE_OK);
	assert_int_equal(put(f, &f->alice2, ALICE "/c", "1", NOW, 60, &f->lim), STORE_OK);
	assert_int_equal(put(f, &f->alice2, ALICE "/d", "1", NOW, 60, &f->lim), STORE_QUOTA);
	assert_int_equal(put(f, &f->alice1, ALICE "/d", "1", NOW, 60, &f->lim), STORE_QUOTA);
	assert_int_equal(store_values(f->st), 3);
	assert_int_equal(store_resources(f->st), 3);
	/* Replacing one's own value is not a new record. */
	for (int i = 1; i <= 5; i++)
		assert_int_equal(
			put(f, &f->alice1, ALICE "/a", "2", NOW + (uint64_t)i, 60, &f->lim),
			STORE_OK);
	assert_int_equal(store_values(f->st), 3);
	assert_int_equal(put(f, &f->alice1, ALICE "/d", "1", NOW, 60, &f->lim), STORE_QUOTA);
	/* Other users are not affected. */
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), BOB "/%d", i);
		assert_int_equal(put(f, &f->bob, name, "1", NOW, 60, &f->lim), STORE_OK);
	}
	assert_int_equal(put(f, &f->bob, BOB "/x", "1", NOW, 60, &f->lim), STORE_QUOTA);
	assert_int_equal(store_values(f->st), 6);
}

static void store_put_refuses_replays_and_older_values(void **state)
{
	struct fx *f = *state;

	assert_int_equal(put(f, &f->alice1, ALICE, "v1", NOW - 100, 600, &f->lim), STORE_OK);
	assert_int_equal(put(f, &f->alice1, ALICE, "replay", NOW - 100, 600, &f->lim), STORE_STALE);
	assert_int_equal(put(f, &f->alice1, ALICE, "older", NOW - 101, 600, &f->lim), STORE_STALE);
	assert_int_equal(put(f, &f->alice1, ALICE, "older", NOW - 101, 600, NULL), STORE_STALE);
	assert_string_equal(held_data(f, ALICE, &f->alice1), "v1");
	/* Newer replaces, counts unchanged. */
	assert_int_equal(put(f, &f->alice1, ALICE, "v2", NOW - 99, 600, &f->lim), STORE_OK);
	assert_string_equal(held_data(f, ALICE, &f->alice1), "v2");
	assert_int_equal(store_values(f->st), 1);
	assert_int_equal(store_resources(f->st), 1);
	/* Another signer's time does not matter. */
	assert_int_equal(put(f, &f->alice2, ALICE, "other", NOW - 500, 600, &f->lim), STORE_OK);
	assert_int_equal(store_values(f->st), 2);
}

static void store_put_stores_signed_deletions_like_values(void **state)
{
	struct fx *f = *state;
	struct record r;
	const struct record *held = NULL;

	assert_int_equal(put(f, &f->alice1, ALICE, "v1", NOW - 100, 600, &f->lim), STORE_OK);
	assert_int_equal(record_init(&r, ALICE, "sip", "", NOW, 600, 1), 0);
	assert_int_equal(record_sign(&r, f->alice1.key, f->alice1.cert), 0);
	assert_int_equal(store_put(f->st, &r, NOW, &f->lim, &held), STORE_OK);
	assert_true(held->deleted);
	assert_int_equal(held->data_len, 0);
	assert_int_equal(store_values(f->st), 1);
	/* The value it deleted does not come back. */
	assert_int_equal(put(f, &f->alice1, ALICE, "v1", NOW - 100, 600, &f->lim), STORE_STALE);
}

static void store_put_refuses_expired_and_future_values(void **state)
{
	struct fx *f = *state;

	/* Expires exactly now: expired. */
	assert_int_equal(put(f, &f->alice1, ALICE, "x", NOW - 60000, 60, &f->lim), STORE_EXPIRED);
	assert_int_equal(put(f, &f->alice1, ALICE, "x", NOW, 0, &f->lim), STORE_EXPIRED);
	assert_int_equal(put(f, &f->alice1, ALICE, "x", NOW - 59999, 60, &f->lim), STORE_OK);
	/* Up to RECORD_SKEW_MS ahead passes. */
	assert_int_equal(put(f, &f->bob, BOB, "x", NOW + RECORD_SKEW_MS + 1, 60, &f->lim),
			 STORE_FUTURE);
	assert_int_equal(store_values(f->st), 1);
	assert_int_equal(put(f, &f->bob, BOB, "x", NOW + RECORD_SKEW_MS, 60, &f->lim), STORE_OK);
	assert_int_equal(store_values(f->st), 2);
	/* A replacement from the future does not pass either. */
	assert_int_equal(put(f, &f->bob, BOB, "y", NOW + RECORD_SKEW_MS + 2, 60, &f->lim),
			 STORE_FUTURE);
	assert_string_equal(held_data(f, BOB, &f->bob), "x");
}

static void store_put_without_limits_still_applies_time_rules(void **state)
{
	struct fx *f = *state;
	char big[200];

	f->lim.records_per_user = 1;
	f->lim.values_per_resource = 1;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Size, lifetime, count and quota are not checked for replicas. */
	assert_int_equal(put(f, &f->alice1, ALICE, big, NOW, 999999, NULL), STORE_OK);
	assert_int_equal(put(f, &f->alice2, ALICE, "2", NOW, 60, NULL), STORE_OK);
	assert_int_equal(put(f, &f->bob, ALICE, "3", NOW, 60, NULL), STORE_OK);
	assert_int_equal(put(f, &f->alice1, ALICE "/x", "4", NOW, 60, NULL), STORE_OK);
	assert_int_equal(store_values(f->st), 4);
	/* The same values with limits would be refused. */
	assert_int_equal(put(f, &f->sn, ALICE, "5", NOW, 60, &f->lim), STORE_FULL);
	assert_int_equal(put(f, &f->alice1, ALICE "/y", "5", NOW, 60, &f->lim), STORE_QUOTA);
	/* Time rules still apply. */
	assert_int_equal(put(f, &f->sn, ALICE "/z", "6", NOW - 120000, 60, NULL), STORE_EXPIRED);
	assert_int_equal(put(f, &f->sn, ALICE "/z", "6", NOW + RECORD_SKEW_MS + 1, 60, NULL),
			 STORE_FUTURE);
	assert_int_equal(put(f, &f->alice2, ALICE, "2", NOW, 60, NULL), STORE_STALE);
	assert_int_equal(store_values(f->st), 4);
}

/* A value of signer s for a resource placed at top byte pos on the ring. */
static void put_at(struct fx *f, const struct signer *s, int pos, uint64_t stored, uint32_t life)
{
	struct record r;
	char name[64];

	snprintf(name, sizeof(name), "service:pos-%02x-%llu", pos, (unsigned long long)stored);
	mk(&r, s, name, "data", stored, life);
	memset(&r.res, 0, sizeof(r.res));
	r.res.b[0] = (uint8_t)pos;
	assert_int_equal(store_put(f->st, &r, NOW, NULL, NULL), STORE_OK);
}

struct seen {
	int n;
	int pos[32];
};

static void collect(const struct record *r, void *arg)
{
	struct seen *s = arg;

	if (s->n < 32)
		s->pos[s->n] = r->res.b[0];
	s->n++;
}

/* Bit set of the positions store_each_in reports for (from, to]. */
static unsigned range(struct fx *f, int from, int to, int *count)
{
	struct rid a, b;
	struct seen s = {0};
	unsigned bits = 0;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.b[0] = (uint8_t)from;
	b.b[0] = (uint8_t)to;
	store_each_in(f->st, &a, &b, collect, &s);
	for (int i = 0; i < s.n && i < 32; i++)
		bits |= 1u << (s.pos[i] >> 4);
	*count = s.n;
	return bits;
}

#define P(x) (1u << ((x) >> 4))

static void store_each_in_walks_ranges_including_wrapping_and_the_whole_ring(void **state)
{
	struct fx *f = *state;
	int n;

	put_at(f, &f->sn, 0x10, NOW, 60);
	put_at(f, &f->sn, 0x50, NOW, 60);
	put_at(f, &f->sn, 0x90, NOW, 60);
	put_at(f, &f->sn, 0xd0, NOW, 60);
	put_at(f, &f->alice1, 0xd0, NOW, 60); /* two values in one resource */
	assert_int_equal(store_resources(f->st), 4);
	assert_int_equal(store_values(f->st), 5);

	assert_int_equal(range(f, 0x00, 0x50, &n), P(0x10) | P(0x50));
	assert_int_equal(n, 2);
	assert_int_equal(range(f, 0x10, 0x50, &n), P(0x50)); /* from is excluded */
	assert_int_equal(n, 1);
	assert_int_equal(range(f, 0x50, 0x90, &n), P(0x90));
	assert_int_equal(range(f, 0x51, 0x8f, &n), 0);
	assert_int_equal(n, 0);
	/* Wrapping: (0xc0, 0x20]. */
	assert_int_equal(range(f, 0xc0, 0x20, &n), P(0xd0) | P(0x10));
	assert_int_equal(n, 3);
	assert_int_equal(range(f, 0xd0, 0x10, &n), P(0x10));
	assert_int_equal(n, 1);
	/* from == to: the whole ring. */
	assert_int_equal(range(f, 0x10, 0x10, &n), P(0x10) | P(0x50) | P(0x90) | P(0xd0));
	assert_int_equal(n, 5);
	assert_int_equal(range(f, 0x33, 0x33, &n), P(0x10) | P(0x50) | P(0x90) | P(0xd0));
	assert_int_equal(n, 5);
}

static void store_expire_reports_and_drops_expired_values_and_empty_resources(void **state)
{
	struct fx *f = *state;
	struct seen s = {0};
	struct rid res;
	int n;

	put_at(f, &f->sn, 0x10, NOW, 10); /* expires NOW + 10 s */
	put_at(f, &f->sn, 0x50, NOW, 20);
	put_at(f, &f->alice1, 0x50, NOW, 100);
	put_at(f, &f->sn, 0x90, NOW, 100);
	put_at(f, &f->bob, 0x90, NOW, 5);
	assert_int_equal(store_values(f->st), 5);
	assert_int_equal(store_resources(f->st), 3);

	assert_int_equal(store_expire(f->st, NOW + 4999, collect, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(store_expire(f->st, NOW + 10000, collect, &s), 2);
	assert_int_equal(s.n, 2);
	assert_true((s.pos[0] == 0x10 && s.pos[1] == 0x90) ||
		    (s.pos[0] == 0x90 && s.pos[1] == 0x10));
	assert_int_equal(store_values(f->st), 3);
	assert_int_equal(store_resources(f->st), 2);
	memset(&res, 0, sizeof(res));
	res.b[0] = 0x10;
	assert_null(store_get(f->st, &res, &n));
	assert_int_equal(n, 0);
	res.b[0] = 0x90;
	assert_non_null(store_get(f->st, &res, &n));
	assert_int_equal(n, 1);

	/* Without a callback. */
	assert_int_equal(store_expire(f->st, NOW + 20000, NULL, NULL), 1);
	assert_int_equal(store_values(f->st), 2);
	res.b[0] = 0x50;
	store_get(f->st, &res, &n);
	assert_int_equal(n, 1);

	s.n = 0;
	assert_int_equal(store_expire(f->st, NOW + 100000, collect, &s), 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(store_values(f->st), 0);
	assert_int_equal(store_resources(f->st), 0);
	assert_int_equal(store_expire(f->st, NOW + 200000, collect, &s), 0);
}

static void store_expire_of_many_values_in_one_resource(void **state)
{
	struct fx *f = *state;
	struct signer s[8];
	struct record r;
	struct rid res;
	int n;

	/* Alternating lifetimes, so expiry removes from the middle of the array. */
	for (int i = 0; i < 8; i++) {
		assert_int_equal(make_signer(f, &s[i], "supernode", "many", 100 + (uint64_t)i), 0);
		mk(&r, &s[i], "service:many", i % 2 ? "odd" : "even", NOW, i % 2 ? 10 : 100);
		assert_int_equal(store_put(f->st, &r, NOW, NULL, NULL), STORE_OK);
	}
	rid_of_name("service:many", &res);
	store_get(f->st, &res, &n);
	assert_int_equal(n, 8);
	assert_int_equal(store_expire(f->st, NOW + 10000, NULL, NULL), 4);
	{
		const struct record *v = store_get(f->st, &res, &n);
		assert_int_equal(n, 4);
		for (int i = 0; i < n; i++)
			assert_string_equal(v[i].data, "even");
	}
	for (int i = 0; i < 8; i++)
		free_signer(&s[i]);
}

static void store_counts_go_down_after_expiry_and_replacement(void **state)
{
	struct fx *f = *state;

	f->lim.records_per_user = 1;
	assert_int_equal(put(f, &f->alice1, ALICE "/a", "1", NOW, 10, &f->lim), STORE_OK);
	assert_int_equal(put(f, &f->alice1, ALICE "/b", "1", NOW, 10, &f->lim), STORE_QUOTA);
	/* Replacement: the count stays at one. */
	assert_int_equal(put(f, &f->alice1, ALICE "/a", "2", NOW + 1, 10, &f->lim), STORE_OK);
	assert_int_equal(put(f, &f->alice1, ALICE "/a", "3", NOW + 2, 10, &f->lim), STORE_OK);
	assert_int_equal(put(f, &f->alice2, ALICE "/b", "1", NOW, 10, &f->lim), STORE_QUOTA);
	/* Expiry gives the quota back. */
	assert_int_equal(store_expire(f->st, NOW + 20000, NULL, NULL), 1);
	assert_int_equal(store_values(f->st), 0);
	assert_int_equal(put(f, &f->alice2, ALICE "/b", "1", NOW + 1000, 60, &f->lim), STORE_OK);
	assert_int_equal(put(f, &f->alice1, ALICE "/c", "1", NOW + 1000, 60, &f->lim), STORE_QUOTA);

	/* The resource count frees up after expiry too. */
	f->lim.records_per_user = 10;
	f->lim.values_per_resource = 1;
	assert_int_equal(put(f, &f->bob, BOB, "1", NOW, 10, &f->lim), STORE_OK);
	assert_int_equal(put(f, &f->sn, BOB, "1", NOW, 10, &f->lim), STORE_FULL);
	assert_int_equal(store_expire(f->st, NOW + 10000, NULL, NULL), 1);
	assert_int_equal(put(f, &f->sn, BOB, "1", NOW + 10000, 10, &f->lim), STORE_OK);
}

struct counter {
	size_t n;
};

static void count(const struct record *r, void *arg)
{
	(void)r;
	((struct counter *)arg)->n++;
}

#define MANY 10000

static void store_holds_thousands_of_resources(void **state)
{
	struct fx *f = *state;
	uint8_t nid[NODE_ID_LEN];
	struct counter c = {0};
	char name[64];

	assert_int_equal(node_id_from_cert(f->sn.cert, nid), 0);
	/* Unsigned copies are enough here: the store does not verify. */
	for (int i = 0; i < MANY; i++) {
		struct record r;
		snprintf(name, sizeof(name), "service:r%d", i);
		assert_int_equal(record_init(&r, name, "k", name, NOW, (uint32_t)(60 + i % 2), 0),
				 0);
		X509_up_ref(f->sn.cert);
		r.cert = f->sn.cert;
		rid_from_bytes(nid, &r.owner);
		assert_int_equal(store_put(f->st, &r, NOW, NULL, NULL), STORE_OK);
	}
	assert_int_equal(store_resources(f->st), MANY);
	assert_int_equal(store_values(f->st), MANY);
	for (int i = 0; i < MANY; i++) {
		struct rid res;
		const struct record *v;
		int n;
		snprintf(name, sizeof(name), "service:r%d", i);
		rid_of_name(name, &res);
		v = store_get(f->st, &res, &n);
		assert_int_equal(n, 1);
		assert_string_equal(v[0].data, name);
	}
	store_each_in(f->st, &(struct rid){{0}}, &(struct rid){{0}}, count, &c);
	assert_int_equal(c.n, MANY);
	assert_int_equal(store_expire(f->st, NOW + 60000, NULL, NULL), MANY / 2);
	assert_int_equal(store_resources(f->st), MANY / 2);
	assert_int_equal(store_expire(f->st, NOW + 61000, NULL, NULL), MANY / 2);
	assert_int_equal(store_resources(f->st), 0);
}

static void store_rc_str_names_every_outcome(void **state)
{
	(void)state;
	for (int rc = STORE_OK; rc <= STORE_NOMEM; rc++) {
		const char *s = store_rc_str((enum store_rc)rc);
		assert_non_null(s);
		assert_true(strlen(s) > 3);
		for (int j = STORE_OK; j < rc; j++)
			assert_string_not_equal(s, store_rc_str((enum store_rc)j));
	}
	store_free(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(store_put_moves_the_value_in_and_held_points_at_it),
		T(store_put_refuses_each_limit_and_changes_nothing),
		T(store_put_refuses_over_quota_per_user_name),
		T(store_put_refuses_replays_and_older_values),
		T(store_put_stores_signed_deletions_like_values),
		T(store_put_refuses_expired_and_future_values),
		T(store_put_without_limits_still_applies_time_rules),
		T(store_each_in_walks_ranges_including_wrapping_and_the_whole_ring),
		T(store_expire_reports_and_drops_expired_values_and_empty_resources),
		T(store_expire_of_many_values_in_one_resource),
		T(store_counts_go_down_after_expiry_and_replacement),
		T(store_holds_thousands_of_resources),
		cmocka_unit_test(store_rc_str_names_every_outcome),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
