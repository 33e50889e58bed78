/* sn_ring: the Chord routing table (successors, predecessor, fingers) and the
 * next-hop choice, alone and on a simulated ring of 64 nodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sn_ring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A node whose id starts with byte top (the rest zero): positions 0..255 on
 * the ring are enough to lay out hand-made cases. */
static struct node node_at(int top)
{
	struct node n;

	memset(&n, 0, sizeof(n));
	n.id.b[0] = (uint8_t)top;
	snprintf(n.host, sizeof(n.host), "10.0.0.%d", top);
	n.port = (uint16_t)(4000 + top);
	return n;
}

static struct rid key_at(int top)
{
	struct rid k;

	memset(&k, 0, sizeof(k));
	k.b[0] = (uint8_t)top;
	return k;
}

/* The top byte of the node ring_next_hop chose, -1 for NULL. */
static int hop(const struct ring *r, int key, const struct rid *skip, int nskip)
{
	struct rid k = key_at(key);
	const struct node *n = ring_next_hop(r, &k, skip, nskip);

	return n != NULL ? n->id.b[0] : -1;
}

static int responsible(const struct ring *r, int key)
{
	struct rid k = key_at(key);

	return ring_responsible(r, &k);
}

/* self 0x10, successors 0x20 0x30, fingers 0x40 0x80 0xc0, predecessor 0xf0. */
static void table(struct ring *r)
{
	struct node self = node_at(0x10), s0 = node_at(0x20), list[1] = {node_at(0x30)}, f;

	ring_init(r, &self, 4);
	ring_set_succs(r, &s0, list, 1);
	f = node_at(0x20);
	ring_set_finger(r, 0, &f);
	f = node_at(0x40);
	ring_set_finger(r, 125, &f);
	f = node_at(0x80);
	ring_set_finger(r, 126, &f);
	f = node_at(0xc0);
	ring_set_finger(r, 127, &f);
	f = node_at(0xf0);
	ring_set_pred(r, &f);
}

static void ring_responsible_alone_covers_the_whole_ring(void **state)
{
	struct ring r;
	struct node self = node_at(0x80);

	(void)state;
	ring_init(&r, &self, 4);
	assert_true(ring_alone(&r));
	for (int k = 0; k < 256; k += 17)
		assert_true(responsible(&r, k));
	assert_true(responsible(&r, 0x80));
}

static void ring_responsible_without_predecessor_is_nothing_once_not_alone(void **state)
{
	struct ring r;
	struct node self = node_at(0x80), s = node_at(0x90);

	(void)state;
	ring_init(&r, &self, 4);
	assert_int_equal(ring_set_succs(&r, &s, NULL, 0), 1);
	assert_false(ring_alone(&r));
	for (int k = 0; k < 256; k += 5)
		assert_false(responsible(&r, k));
	assert_false(responsible(&r, 0x80));
}

static void ring_responsible_with_predecessor_is_pred_exclusive_to_self_inclusive(void **state)
{
	struct ring r;
	struct node self = node_at(0x80), s = node_at(0x90), p = node_at(0x40);

	(void)state;
	ring_init(&r, &self, 4);
	ring_set_succs(&r, &s, NULL, 0);
	ring_set_pred(&r, &p);
	assert_false(responsible(&r, 0x40));
	assert_true(responsible(&r, 0x41));
	assert_true(responsible(&r, 0x7f));
	assert_true(responsible(&r, 0x80));
	assert_false(responsible(&r, 0x81));
	assert_false(responsible(&r, 0x00));

	/* Across zero: (0xc0, 0x20]. */
	self = node_at(0x20);
	p = node_at(0xc0);
	ring_init(&r, &self, 4);
	ring_set_succs(&r, &s, NULL, 0);
	ring_set_pred(&r, &p);
	assert_true(responsible(&r, 0xf0));
	assert_true(responsible(&r, 0x00));
	assert_true(responsible(&r, 0x10));
	assert_true(responsible(&r, 0x20));
	assert_false(responsible(&r, 0x21));
	assert_false(responsible(&r, 0xc0));
	assert_false(responsible(&r, 0x80));
}

static void ring_next_hop_takes_the_successor_for_keys_up_to_it(void **state)
{
	struct ring r;

	(void)state;
	table(&r);
	assert_int_equal(hop(&r, 0x11, NULL, 0), 0x20);
	assert_int_equal(hop(&r, 0x1f, NULL, 0), 0x20);
	assert_int_equal(hop(&r, 0x20, NULL, 0), 0x20);
	/* Just past it: the successor list shows 0x30 owns (0x20, 0x30]. */
	assert_int_equal(hop(&r, 0x21, NULL, 0), 0x30);
}

static void ring_next_hop_takes_the_closest_preceding_known_node(void **state)
{
	struct ring r;

	(void)state;
	table(&r);
	/* Finger 125 starts at 0x30 and is 0x40: 0x40 owns (0x30, 0x40]. */
	assert_int_equal(hop(&r, 0x35, NULL, 0), 0x40);
	assert_int_equal(hop(&r, 0x41, NULL, 0), 0x40); /* closest before the key */
	/* Finger 126 starts at 0x50 and is 0x80: the owner of 0x80 itself. */
	assert_int_equal(hop(&r, 0x80, NULL, 0), 0x80);
	assert_int_equal(hop(&r, 0x90, NULL, 0), 0x80);
	assert_int_equal(hop(&r, 0xef, NULL, 0), 0xc0);
	assert_int_equal(hop(&r, 0xf8, NULL, 0), 0xf0); /* the predecessor */
	assert_int_equal(hop(&r, 0x05, NULL, 0), 0xf0); /* across zero */
}

static void ring_next_hop_passes_over_skipped_nodes(void **state)
{
	struct ring r;
	struct rid skip[3];

	(void)state;
	table(&r);
	/* succ[0] failed: the next successor takes its keys. */
	skip[0] = key_at(0x20);
	assert_int_equal(hop(&r, 0x15, skip, 1), 0x30);
	assert_int_equal(hop(&r, 0x20, skip, 1), 0x30);
	/* Both successors failed: the closest preceding other node. */
	skip[1] = key_at(0x30);
	assert_int_equal(hop(&r, 0x50, skip, 2), 0x40);
	assert_int_equal(hop(&r, 0x05, skip, 2), 0xf0);
	/* A skipped finger: the one before it. */
	skip[0] = key_at(0x80);
	assert_int_equal(hop(&r, 0x90, skip, 1), 0x40);
	skip[1] = key_at(0x40);
	assert_int_equal(hop(&r, 0x90, skip, 2), 0x30);
	skip[2] = key_at(0xf0);
	assert_int_equal(hop(&r, 0xf8, skip, 3), 0xc0);
}

static void ring_next_hop_is_null_for_an_empty_table_only(void **state)
{
	struct ring r;
	struct node self = node_at(0x10), n = node_at(0x80);

	(void)state;
	ring_init(&r, &self, 4);
	for (int k = 0; k < 256; k += 15)
		assert_int_equal(hop(&r, k, NULL, 0), -1);

	/* One successor: every key goes there. */
	ring_set_succs(&r, &n, NULL, 0);
	for (int k = 0; k < 256; k += 15)
		assert_int_equal(hop(&r, k, NULL, 0), 0x80);

	/* One finger and one successor. */
	ring_set_finger(&r, 127, &n);
	n = node_at(0x20);
	ring_set_succs(&r, &n, NULL, 0);
	for (int k = 0; k < 256; k++)
		if (k != 0x10)
			assert_int_not_equal(hop(&r, k, NULL, 0), -1);

	/* A successor and a predecessor. */
	ring_init(&r, &self, 4);
	n = node_at(0xf0);
	ring_set_pred(&r, &n);
	n = node_at(0x40);
	ring_set_succs(&r, &n, NULL, 0);
	for (int k = 0; k < 256; k++)
		if (!responsible(&r, k))
			assert_int_not_equal(hop(&r, k, NULL, 0), -1);
}

/* Every successor forgotten, the predecessor still known: the node is not
 * responsible for keys outside (pred, self], so it must have a hop for them. */
static void ring_next_hop_with_only_a_predecessor_goes_to_it(void **state)
{
	struct ring r;
	struct node self = node_at(0x10), n = node_at(0xf0);

	(void)state;
	ring_init(&r, &self, 4);
	ring_set_pred(&r, &n);
	for (int k = 0; k < 256; k++)
		if (!responsible(&r, k))
			assert_int_equal(hop(&r, k, NULL, 0), 0xf0);
}

static void ring_set_succs_drops_self_and_duplicates_and_cuts_at_succ_max(void **state)
{
	struct ring r;
	struct node self = node_at(0x10), s = node_at(0x20);
	struct node list[7] = {node_at(0x30), node_at(0x20), node_at(0x10), node_at(0x30),
			       node_at(0x40), node_at(0x50), node_at(0x60)};

	(void)state;
	ring_init(&r, &self, 4);
	assert_int_equal(ring_set_succs(&r, &s, list, 7), 1);
	assert_int_equal(r.nsucc, 4);
	assert_int_equal(r.succ[0].id.b[0], 0x20);
	assert_int_equal(r.succ[1].id.b[0], 0x30);
	assert_int_equal(r.succ[2].id.b[0], 0x40);
	assert_int_equal(r.succ[3].id.b[0], 0x50);
	assert_string_equal(r.succ[2].host, "10.0.0.64");
	assert_int_equal(r.succ[2].port, 4064);
	/* The same list again is no change. */
	assert_int_equal(ring_set_succs(&r, &s, list, 7), 0);
	/* A changed address of the same id is a change. */
	list[0].port = 9;
	assert_int_equal(ring_set_succs(&r, &s, list, 7), 1);
	assert_int_equal(r.succ[1].port, 9);
	/* Only self offered: the list empties. */
	assert_int_equal(ring_set_succs(&r, &self, NULL, 0), 1);
	assert_int_equal(r.nsucc, 0);
	assert_true(ring_alone(&r));
	assert_int_equal(ring_set_succs(&r, &self, NULL, 0), 0);
}

static void ring_init_clamps_succ_max(void **state)
{
	struct ring r;
	struct node self = node_at(0x10), s = node_at(0x20);
	struct node list[SUCC_MAX + 4];

	(void)state;
	for (int i = 0; i < SUCC_MAX + 4; i++)
		list[i] = node_at(0x30 + i);
	ring_init(&r, &self, 100);
	assert_int_equal(r.succ_max, SUCC_MAX);
	ring_set_succs(&r, &s, list, SUCC_MAX + 4);
	assert_int_equal(r.nsucc, SUCC_MAX);
	ring_init(&r, &self, 0);
	assert_int_equal(r.succ_max, 1);
	ring_set_succs(&r, &s, list, 3);
	assert_int_equal(r.nsucc, 1);
	assert_int_equal(r.succ[0].id.b[0], 0x20);
}

static void ring_offer_pred_takes_only_closer_nodes_and_keeps_the_old_as_pred2(void **state)
{
	struct ring r;
	struct node self = node_at(0x80), n;

	(void)state;
	ring_init(&r, &self, 4);
	n = node_at(0x80);
	assert_int_equal(ring_offer_pred(&r, &n), 0); /* self */
	assert_false(r.has_pred);
	n = node_at(0x20);
	assert_int_equal(ring_offer_pred(&r, &n), 1); /* none yet: any */
	assert_true(r.has_pred);
	assert_false(r.has_pred2);
	assert_int_equal(r.pred.id.b[0], 0x20);
	n = node_at(0x20);
	assert_int_equal(ring_offer_pred(&r, &n), 0); /* the same */
	n = node_at(0x10);
	assert_int_equal(ring_offer_pred(&r, &n), 0); /* before pred */
	n = node_at(0x90);
	assert_int_equal(ring_offer_pred(&r, &n), 0); /* after self */
	assert_int_equal(r.pred.id.b[0], 0x20);
	assert_false(r.has_pred2);
	n = node_at(0x60);
	assert_int_equal(ring_offer_pred(&r, &n), 1);
	assert_int_equal(r.pred.id.b[0], 0x60);
	assert_true(r.has_pred2);
	assert_int_equal(r.pred2.id.b[0], 0x20);
	n = node_at(0x7f);
	assert_int_equal(ring_offer_pred(&r, &n), 1);
	assert_int_equal(r.pred.id.b[0], 0x7f);
	assert_int_equal(r.pred2.id.b[0], 0x60);

	/* Across zero: self 0x10, pred 0xc0; 0xf0 and 0x05 are closer. */
	self = node_at(0x10);
	ring_init(&r, &self, 4);
	n = node_at(0xc0);
	ring_offer_pred(&r, &n);
	n = node_at(0x20);
	assert_int_equal(ring_offer_pred(&r, &n), 0);
	n = node_at(0xf0);
	assert_int_equal(ring_offer_pred(&r, &n), 1);
	n = node_at(0x05);
	assert_int_equal(ring_offer_pred(&r, &n), 1);
	assert_int_equal(r.pred.id.b[0], 0x05);
	assert_int_equal(r.pred2.id.b[0], 0xf0);
}

static void ring_set_pred_and_pred2_refuse_self(void **state)
{
	struct ring r;
	struct node self = node_at(0x80), p = node_at(0x40), q = node_at(0x20);

	(void)state;
	ring_init(&r, &self, 4);
	ring_set_pred(&r, &p);
	assert_true(r.has_pred);
	ring_set_pred2(&r, &q);
	assert_true(r.has_pred2);
	ring_set_pred2(&r, &p); /* the predecessor itself is no fallback */
	assert_false(r.has_pred2);
	ring_set_pred2(&r, &self);
	assert_false(r.has_pred2);
	ring_set_pred(&r, &self);
	assert_false(r.has_pred);
	ring_set_pred(&r, &p);
	ring_set_pred(&r, NULL);
	assert_false(r.has_pred);
}

static void ring_forget_removes_a_node_everywhere(void **state)
{
	struct ring r;
	struct rid id;

	(void)state;
	table(&r);
	ring_set_pred2(&r, &(struct node){.id = key_at(0xe0), .host = "10.0.0.224", .port = 1});

	/* A successor that is also finger 0. */
	id = key_at(0x20);
	assert_int_equal(ring_forget(&r, &id), 1);
	assert_int_equal(r.nsucc, 1);
	assert_int_equal(r.succ[0].id.b[0], 0x30);
	assert_false(r.has_finger[0]);
	assert_null(ring_find(&r, &id));

	/* A finger only. */
	id = key_at(0x80);
	assert_non_null(ring_find(&r, &id));
	assert_int_equal(ring_forget(&r, &id), 0);
	assert_false(r.has_finger[126]);
	assert_null(ring_find(&r, &id));
	assert_int_equal(hop(&r, 0x90, NULL, 0), 0x40);

	/* The predecessor: pred2 takes its place. */
	id = key_at(0xf0);
	assert_int_equal(ring_forget(&r, &id), 2);
	assert_true(r.has_pred);
	assert_int_equal(r.pred.id.b[0], 0xe0);
	assert_false(r.has_pred2);
	/* Again, with no fallback: no predecessor. */
	id = key_at(0xe0);
	assert_int_equal(ring_forget(&r, &id), 2);
	assert_false(r.has_pred);

	/* An unknown node changes nothing. */
	id = key_at(0x99);
	assert_int_equal(ring_forget(&r, &id), 0);
	assert_int_equal(r.nsucc, 1);

	/* The last successor. */
	id = key_at(0x30);
	assert_int_equal(ring_forget(&r, &id), 1);
	assert_int_equal(r.nsucc, 0);
}

static void ring_forget_of_pred2_keeps_the_predecessor(void **state)
{
	struct ring r;
	struct node self = node_at(0x80), p = node_at(0x40), q = node_at(0x20);
	struct rid id = key_at(0x20);

	(void)state;
	ring_init(&r, &self, 4);
	ring_set_pred(&r, &p);
	ring_set_pred2(&r, &q);
	assert_int_equal(ring_forget(&r, &id), 0);
	assert_true(r.has_pred);
	assert_int_equal(r.pred.id.b[0], 0x40);
	assert_false(r.has_pred2);
	/* Now the predecessor goes with nothing to replace it. */
	id = key_at(0x40);
	assert_int_equal(ring_forget(&r, &id), 2);
	assert_false(r.has_pred);
}

static void ring_finger_start_is_self_plus_two_to_the_i(void **state)
{
	struct ring r;
	struct node self = node_at(0x10);
	struct rid s;

	(void)state;
	self.id.b[15] = 0xff;
	ring_init(&r, &self, 4);
	ring_finger_start(&r, 0, &s);
	assert_int_equal(s.b[15], 0x00); /* carries */
	assert_int_equal(s.b[14], 0x01);
	assert_int_equal(s.b[0], 0x10);
	ring_finger_start(&r, 8, &s);
	assert_int_equal(s.b[15], 0xff);
	assert_int_equal(s.b[14], 0x01);
	ring_finger_start(&r, 127, &s);
	assert_int_equal(s.b[0], 0x90);
	assert_int_equal(s.b[15], 0xff);
	self = node_at(0xf0);
	ring_init(&r, &self, 4);
	ring_finger_start(&r, 127, &s); /* wraps */
	assert_int_equal(s.b[0], 0x70);
}

static void ring_finger_needs_lookup_only_beyond_the_successor(void **state)
{
	struct ring r;
	struct node self = node_at(0x10), s = node_at(0x30);

	(void)state;
	ring_init(&r, &self, 4);
	for (int i = 0; i < FINGERS; i++)
		assert_false(ring_finger_needs_lookup(&r, i)); /* alone */
	ring_set_succs(&r, &s, NULL, 0);
	/* Starts 0x10 + 2^i: up to 0x30 need none (2^i <= 0x20 in the top byte,
	 * i.e. i <= 125), beyond it they do. */
	for (int i = 0; i <= 125; i++)
		assert_false(ring_finger_needs_lookup(&r, i));
	assert_true(ring_finger_needs_lookup(&r, 126)); /* 0x50 */
	assert_true(ring_finger_needs_lookup(&r, 127)); /* 0x90 */
}

/* The ring size a node sees: itself and every distinct node it knows. */
static void ring_count_counts_distinct_nodes_and_self(void **state)
{
	struct ring r;
	struct node self = node_at(0x10), a = node_at(0x20), b = node_at(0x80), c = node_at(0xc0);
	struct node list[2] = {node_at(0x80), node_at(0xc0)};

	(void)state;
	ring_init(&r, &self, 4);
	assert_int_equal(ring_count(&r), 1);
	ring_set_succs(&r, &a, list, 2);
	assert_int_equal(ring_count(&r), 4);
	ring_set_pred(&r, &c);    /* already a successor */
	ring_set_finger(&r, 3, &b); /* likewise */
	assert_int_equal(ring_count(&r), 4);
	struct node d = node_at(0xe0);
	ring_set_finger(&r, 127, &d);
	assert_int_equal(ring_count(&r), 5);
}

static void ring_fingers_in_use_counts_distinct_nodes(void **state)
{
	struct ring r;
	struct node self = node_at(0x10), a = node_at(0x20), b = node_at(0x80), c = node_at(0xc0);

	(void)state;
	ring_init(&r, &self, 4);
	assert_int_equal(ring_fingers_in_use(&r), 0);
	for (int i = 0; i < 120; i++)
		ring_set_finger(&r, i, &a);
	assert_int_equal(ring_fingers_in_use(&r), 1);
	ring_set_finger(&r, 126, &b);
	ring_set_finger(&r, 125, &b);
	ring_set_finger(&r, 127, &c);
	assert_int_equal(ring_fingers_in_use(&r), 3);
	ring_set_finger(&r, 127, &self); /* self is never a finger */
	assert_false(r.has_finger[127]);
	assert_int_equal(ring_fingers_in_use(&r), 2);
	ring_set_finger(&r, 126, NULL);
	assert_int_equal(ring_fingers_in_use(&r), 2);
	ring_set_finger(&r, 125, NULL);
	assert_int_equal(ring_fingers_in_use(&r), 1);
	ring_set_finger(&r, -1, &b); /* out of range: ignored */
	ring_set_finger(&r, FINGERS, &b);
	assert_int_equal(ring_fingers_in_use(&r), 1);
}

static void ring_find_looks_in_successors_predecessor_and_fingers(void **state)
{
	struct ring r;
	struct rid id;

	(void)state;
	table(&r);
	id = key_at(0x30);
	assert_non_null(ring_find(&r, &id));
	assert_int_equal(ring_find(&r, &id)->port, 4000 + 0x30);
	id = key_at(0xf0);
	assert_non_null(ring_find(&r, &id));
	id = key_at(0xc0);
	assert_non_null(ring_find(&r, &id));
	id = key_at(0x10); /* self */
	assert_null(ring_find(&r, &id));
	id = key_at(0x11);
	assert_null(ring_find(&r, &id));
}

/* ---- a simulated ring ---- */

#define RING_N 64
#define LOOKUPS 1000

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: deterministic, so a failure repeats. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static void rand_rid(struct rid *r)
{
	uint64_t a = rng(), b = rng();

	memcpy(r->b, &a, 8);
	memcpy(r->b + 8, &b, 8);
}

static int node_cmp(const void *a, const void *b)
{
	return rid_cmp(&((const struct node *)a)->id, &((const struct node *)b)->id);
}

/* Index of the first node at or after key (its successor), given ids sorted. */
static int successor_of(const struct node *nodes, const struct rid *key)
{
	for (int i = 0; i < RING_N; i++)
		if (rid_cmp(&nodes[i].id, key) >= 0)
			return i;
	return 0;
}

static int index_of(const struct node *nodes, const struct rid *id)
{
	for (int i = 0; i < RING_N; i++)
		if (rid_eq(&nodes[i].id, id))
			return i;
	return -1;
}

static void ring_routes_every_lookup_to_the_successor_in_log_n_hops(void **state)
{
	struct node *nodes = calloc(RING_N, sizeof(*nodes));
	struct ring *rings = calloc(RING_N, sizeof(*rings));
	long total = 0;
	int worst = 0;

	(void)state;
	assert_non_null(nodes);
	assert_non_null(rings);
	for (int i = 0; i < RING_N; i++) {
		rand_rid(&nodes[i].id);
		snprintf(nodes[i].host, sizeof(nodes[i].host), "192.0.2.%d", i + 1);
		nodes[i].port = 5060;
	}
	qsort(nodes, RING_N, sizeof(*nodes), node_cmp);
	for (int i = 0; i < RING_N; i++)
		assert_true(i == 0 || rid_cmp(&nodes[i - 1].id, &nodes[i].id) < 0);

	/* Perfect tables: SUCC_MAX successors, the predecessor, every finger. */
	for (int i = 0; i < RING_N; i++) {
		struct ring *r = &rings[i];
		struct node list[SUCC_MAX];

		ring_init(r, &nodes[i], SUCC_MAX);
		for (int k = 0; k < SUCC_MAX; k++)
			list[k] = nodes[(i + 1 + k) % RING_N];
		ring_set_succs(r, &list[0], list + 1, SUCC_MAX - 1);
		assert_int_equal(r->nsucc, SUCC_MAX);
		ring_set_pred(r, &nodes[(i + RING_N - 1) % RING_N]);
		for (int f = 0; f < FINGERS; f++) {
			struct rid start;
			ring_finger_start(r, f, &start);
			ring_set_finger(r, f, &nodes[successor_of(nodes, &start)]);
		}
		assert_true(ring_fingers_in_use(r) <= RING_N - 1);
	}
	/* Every key has exactly one responsible node. */
	for (int n = 0; n < 200; n++) {
		struct rid key;
		int owners = 0;
		rand_rid(&key);
		for (int i = 0; i < RING_N; i++)
			owners += ring_responsible(&rings[i], &key);
		assert_int_equal(owners, 1);
	}

	for (int from = 0; from < RING_N; from++) {
		for (int n = 0; n < LOOKUPS; n++) {
			struct rid key;
			int cur = from, hops = 0;

			rand_rid(&key);
			while (!ring_responsible(&rings[cur], &key)) {
				const struct node *next = ring_next_hop(&rings[cur], &key, NULL, 0);
				assert_non_null(next);
				cur = index_of(nodes, &next->id);
				assert_true(cur >= 0);
				hops++;
				if (hops > 7)
					fail_msg("lookup from %d took more than 7 hops", from);
			}
			assert_int_equal(cur, successor_of(nodes, &key));
			total += hops;
			if (hops > worst)
				worst = hops;
		}
	}
	/* Chord: about half of log2(64) finger hops, plus one to the successor. */
	{
		double avg = (double)total / (RING_N * LOOKUPS);
		print_message("%d lookups: average %.3f hops, worst %d\n", RING_N * LOOKUPS, avg,
			      worst);
		if (avg > 4.0)
			fail_msg("average %.3f hops, more than 4", avg);
		assert_true(worst <= 7);
	}
	free(rings);
	free(nodes);
}

static int sync_ok(const struct ring *r, int asker, int from, int to)
{
	struct rid a = key_at(asker), f = key_at(from), t = key_at(to);

	return ring_sync_allowed(r, &a, &f, &t, 2);
}

/* self 0x10, predecessor 0xf0 (whose predecessor is 0xe0), successors 0x20
 * 0x30: 0xf0 may pull (0xe0, 0xf0] or a part, 0x20 and 0x30 (replicas) a
 * part of (0xf0, 0x10]; nobody else anything, nobody the whole ring. */
static void ring_sync_allowed_only_for_the_askers_ranges(void **state)
{
	struct ring r;
	struct node pp = node_at(0xe0);

	(void)state;
	table(&r);
	assert_false(sync_ok(&r, 0xf0, 0x80, 0xf0)); /* pred2 unknown: 0xc0 inside */
	assert_true(sync_ok(&r, 0xf0, 0xd0, 0xf0));
	ring_set_pred2(&r, &pp);
	assert_true(sync_ok(&r, 0xf0, 0xe0, 0xf0));
	assert_true(sync_ok(&r, 0xf0, 0xe8, 0xf0));
	assert_false(sync_ok(&r, 0xf0, 0xd0, 0xf0));
	assert_false(sync_ok(&r, 0xf0, 0xf0, 0xf0));
	assert_false(sync_ok(&r, 0xf0, 0x10, 0xf0));
	assert_false(sync_ok(&r, 0xf0, 0xe0, 0xe8)); /* to must be the asker */
	assert_true(sync_ok(&r, 0x20, 0xf0, 0x10));
	assert_true(sync_ok(&r, 0x30, 0xf8, 0x08));
	assert_false(sync_ok(&r, 0x20, 0xe0, 0x10));
	assert_false(sync_ok(&r, 0x20, 0xf0, 0x20));
	assert_false(sync_ok(&r, 0x40, 0xf0, 0x10)); /* a finger holds no replica */
	assert_false(sync_ok(&r, 0x80, 0x70, 0x80));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ring_responsible_alone_covers_the_whole_ring),
		cmocka_unit_test(ring_responsible_without_predecessor_is_nothing_once_not_alone),
		cmocka_unit_test(
			ring_responsible_with_predecessor_is_pred_exclusive_to_self_inclusive),
		cmocka_unit_test(ring_next_hop_takes_the_successor_for_keys_up_to_it),
		cmocka_unit_test(ring_next_hop_takes_the_closest_preceding_known_node),
		cmocka_unit_test(ring_next_hop_passes_over_skipped_nodes),
		cmocka_unit_test(ring_next_hop_is_null_for_an_empty_table_only),
		cmocka_unit_test(ring_next_hop_with_only_a_predecessor_goes_to_it),
		cmocka_unit_test(ring_set_succs_drops_self_and_duplicates_and_cuts_at_succ_max),
		cmocka_unit_test(ring_init_clamps_succ_max),
		cmocka_unit_test(ring_sync_allowed_only_for_the_askers_ranges),
		cmocka_unit_test(
			ring_offer_pred_takes_only_closer_nodes_and_keeps_the_old_as_pred2),
		cmocka_unit_test(ring_set_pred_and_pred2_refuse_self),
		cmocka_unit_test(ring_forget_removes_a_node_everywhere),
		cmocka_unit_test(ring_forget_of_pred2_keeps_the_predecessor),
		cmocka_unit_test(ring_finger_start_is_self_plus_two_to_the_i),
		cmocka_unit_test(ring_finger_needs_lookup_only_beyond_the_successor),
		cmocka_unit_test(ring_fingers_in_use_counts_distinct_nodes),
		cmocka_unit_test(ring_count_counts_distinct_nodes_and_self),
		cmocka_unit_test(ring_find_looks_in_successors_predecessor_and_fingers),
		cmocka_unit_test(ring_routes_every_lookup_to_the_successor_in_log_n_hops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
