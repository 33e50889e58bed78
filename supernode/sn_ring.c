/* The Chord routing table of a super node. */
#include "sn_ring.h"

#include <string.h>

void ring_init(struct ring *r, const struct node *self, int succ_max)
{
	memset(r, 0, sizeof(*r));
	r->self = *self;
	r->succ_max = succ_max < 1 ? 1 : succ_max > SUCC_MAX ? SUCC_MAX : succ_max;
}

int ring_alone(const struct ring *r)
{
	return r->nsucc == 0;
}

int ring_responsible(const struct ring *r, const struct rid *key)
{
	if (r->has_pred)
		return rid_in_half(key, &r->pred.id, &r->self.id);
	return ring_alone(r);
}

static int skipped(const struct rid *id, const struct rid *skip, int nskip)
{
	for (int i = 0; i < nskip; i++)
		if (rid_eq(id, &skip[i]))
			return 1;
	return 0;
}

/* Keeps the candidate closest before key (largest position in (self, key)). */
static void consider(const struct ring *r, const struct node *n, const struct rid *key,
		     const struct rid *skip, int nskip, const struct node **best)
{
	if (rid_eq(&n->id, &r->self.id) || skipped(&n->id, skip, nskip) ||
	    !rid_in_open(&n->id, &r->self.id, key))
		return;
	if (*best == NULL || rid_in_open(&n->id, &(*best)->id, key))
		*best = n;
}

/* The node known to be responsible for key, if the tables say so exactly:
 * a successor whose predecessor in the list comes before key, or finger i
 * when key lies in (self + 2^i, finger i] (finger i is the first node at or
 * after its start, so nothing lies between). */
static const struct node *known_owner(const struct ring *r, const struct rid *key,
				      const struct rid *skip, int nskip)
{
	const struct rid *prev = &r->self.id;

	for (int i = 0; i < r->nsucc; i++) {
		if (skipped(&r->succ[i].id, skip, nskip))
			continue; /* failed: the next one takes over its range */
		if (rid_in_half(key, prev, &r->succ[i].id))
			return &r->succ[i];
		prev = &r->succ[i].id;
	}
	for (int i = FINGERS - 1; i >= 0; i--) {
		struct rid start;
		if (!r->has_finger[i] || skipped(&r->finger[i].id, skip, nskip))
			continue;
		ring_finger_start(r, i, &start);
		if (rid_in_half(key, &start, &r->finger[i].id) &&
		    rid_in_open(&start, &r->self.id, &r->finger[i].id))
			return &r->finger[i];
	}
	return NULL;
}

int ring_owner_known(const struct ring *r, const struct rid *key, const struct node *n)
{
	const struct node *o = known_owner(r, key, NULL, 0);

	return o != NULL && rid_eq(&o->id, &n->id);
}

const struct node *ring_next_hop(const struct ring *r, const struct rid *key,
				 const struct rid *skip, int nskip)
{
	const struct node *best = known_owner(r, key, skip, nskip);

	if (best != NULL)
		return best;
	for (int i = FINGERS - 1; i >= 0; i--)
		if (r->has_finger[i])
			consider(r, &r->finger[i], key, skip, nskip, &best);
	for (int i = 0; i < r->nsucc; i++)
		consider(r, &r->succ[i], key, skip, nskip, &best);
	if (r->has_pred)
		consider(r, &r->pred, key, skip, nskip, &best);
	if (best != NULL)
		return best;
	/* Nothing precedes key: any live node we know moves the request on. */
	for (int i = 0; i < r->nsucc; i++)
		if (!skipped(&r->succ[i].id, skip, nskip))
			return &r->succ[i];
	for (int i = 0; i < FINGERS; i++)
		if (r->has_finger[i] && !skipped(&r->finger[i].id, skip, nskip))
			return &r->finger[i];
	if (r->has_pred && !skipped(&r->pred.id, skip, nskip))
		return &r->pred;
	return NULL;
}

static int same_list(const struct node *a, int na, const struct node *b, int nb)
{
	if (na != nb)
		return 0;
	for (int i = 0; i < na; i++)
		if (!rid_eq(&a[i].id, &b[i].id) || a[i].port != b[i].port ||
		    strcmp(a[i].host, b[i].host) != 0)
			return 0;
	return 1;
}

int ring_set_succs(struct ring *r, const struct node *succ, const struct node *list, int n)
{
	struct node out[SUCC_MAX];
	int k = 0;

	for (int i = -1; i < n && k < r->succ_max; i++) {
		const struct node *c = i < 0 ? succ : &list[i];
		int dup = rid_eq(&c->id, &r->self.id);
		for (int j = 0; j < k && !dup; j++)
			dup = rid_eq(&out[j].id, &c->id);
		if (!dup)
			out[k++] = *c;
	}
	if (same_list(out, k, r->succ, r->nsucc))
		return 0;
	memcpy(r->succ, out, sizeof(out[0]) * (size_t)k);
	r->nsucc = k;
	return 1;
}

int ring_offer_pred(struct ring *r, const struct node *p)
{
	if (rid_eq(&p->id, &r->self.id))
		return 0;
	if (r->has_pred && !rid_in_open(&p->id, &r->pred.id, &r->self.id))
		return 0;
	if (r->has_pred && rid_eq(&p->id, &r->pred.id))
		return 0;
	if (r->has_pred) {
		r->pred2 = r->pred; /* the old one now sits before the new one */
		r->has_pred2 = 1;
	}
	r->pred = *p;
	r->has_pred = 1;
	return 1;
}

void ring_set_pred(struct ring *r, const struct node *p)
{
	if (p == NULL || rid_eq(&p->id, &r->self.id)) {
		r->has_pred = 0;
		return;
	}
	r->pred = *p;
	r->has_pred = 1;
}

int ring_forget(struct ring *r, const struct rid *id)
{
	int changed = 0;
	int k = 0;

	for (int i = 0; i < r->nsucc; i++) {
		if (rid_eq(&r->succ[i].id, id)) {
			changed |= 1;
			continue;
		}
		r->succ[k++] = r->succ[i];
	}
	r->nsucc = k;
	if (r->has_pred2 && rid_eq(&r->pred2.id, id))
		r->has_pred2 = 0;
	if (r->has_pred && rid_eq(&r->pred.id, id)) {
		r->has_pred = r->has_pred2;
		r->pred = r->pred2;
		r->has_pred2 = 0;
		changed |= 2;
	}
	for (int i = 0; i < FINGERS; i++)
		if (r->has_finger[i] && rid_eq(&r->finger[i].id, id))
			r->has_finger[i] = 0;
	return changed;
}

void ring_set_pred2(struct ring *r, const struct node *p)
{
	if (p == NULL || rid_eq(&p->id, &r->self.id) ||
	    (r->has_pred && rid_eq(&p->id, &r->pred.id))) {
		r->has_pred2 = 0;
		return;
	}
	r->pred2 = *p;
	r->has_pred2 = 1;
}

void ring_set_finger(struct ring *r, int i, const struct node *n)
{
	if (i < 0 || i >= FINGERS)
		return;
	if (n == NULL || rid_eq(&n->id, &r->self.id)) {
		r->has_finger[i] = 0;
		return;
	}
	r->finger[i] = *n;
	r->has_finger[i] = 1;
}

void ring_finger_start(const struct ring *r, int i, struct rid *out)
{
	rid_add_pow2(&r->self.id, i, out);
}

int ring_finger_needs_lookup(const struct ring *r, int i)
{
	struct rid start;

	if (r->nsucc == 0)
		return 0;
	ring_finger_start(r, i, &start);
	return !rid_in_half(&start, &r->self.id, &r->succ[0].id);
}

int ring_fingers_in_use(const struct ring *r)
{
	int n = 0;

	for (int i = 0; i < FINGERS; i++) {
		int dup = 0;
		if (!r->has_finger[i])
			continue;
		for (int j = i + 1; j < FINGERS && !dup; j++)
			dup = r->has_finger[j] && rid_eq(&r->finger[j].id, &r->finger[i].id);
		n += !dup;
	}
	return n;
}

/* Whether id is among the first n entries of seen; adds it if not. */
static int seen_add(struct rid *seen, int *n, const struct rid *id)
{
	for (int i = 0; i < *n; i++)
		if (rid_eq(&seen[i], id))
			return 0;
	seen[(*n)++] = *id;
	return 1;
}

int ring_count(const struct ring *r)
{
	struct rid seen[1 + SUCC_MAX + 1 + FINGERS];
	int n = 0;

	seen_add(seen, &n, &r->self.id);
	for (int i = 0; i < r->nsucc; i++)
		seen_add(seen, &n, &r->succ[i].id);
	if (r->has_pred)
		seen_add(seen, &n, &r->pred.id);
	for (int i = 0; i < FINGERS; i++)
		if (r->has_finger[i])
			seen_add(seen, &n, &r->finger[i].id);
	return n;
}

const struct node *ring_find(const struct ring *r, const struct rid *id)
{
	for (int i = 0; i < r->nsucc; i++)
		if (rid_eq(&r->succ[i].id, id))
			return &r->succ[i];
	if (r->has_pred && rid_eq(&r->pred.id, id))
		return &r->pred;
	for (int i = 0; i < FINGERS; i++)
		if (r->has_finger[i] && rid_eq(&r->finger[i].id, id))
			return &r->finger[i];
	return NULL;
}

/* Whether (from, to] lies inside (lo, hi]: from in [lo, hi), to in (from, hi]. */
static int range_within(const struct rid *from, const struct rid *to, const struct rid *lo,
			const struct rid *hi)
{
	return (rid_eq(from, lo) || rid_in_open(from, lo, hi)) &&
	       (rid_eq(to, hi) || rid_in_open(to, from, hi));
}

/* No node of the tables strictly inside (from, to). */
static int range_empty(const struct ring *r, const struct rid *from, const struct rid *to)
{
	if (rid_in_open(&r->self.id, from, to))
		return 0;
	for (int i = 0; i < r->nsucc; i++)
		if (rid_in_open(&r->succ[i].id, from, to))
			return 0;
	for (int i = 0; i < FINGERS; i++)
		if (r->has_finger[i] && rid_in_open(&r->finger[i].id, from, to))
			return 0;
	return 1;
}

int ring_sync_allowed(const struct ring *r, const struct rid *asker, const struct rid *from,
		      const struct rid *to, int replicas)
{
	if (rid_eq(from, to))
		return 0;
	/* The predecessor's own range: (its predecessor, it]. */
	if (r->has_pred && rid_eq(asker, &r->pred.id) && rid_eq(to, asker))
		return r->has_pred2 ? range_within(from, to, &r->pred2.id, asker)
				    : range_empty(r, from, to);
	/* Our range, to one of the successors that hold its replicas. */
	for (int i = 0; i < r->nsucc && i < replicas; i++)
		if (rid_eq(asker, &r->succ[i].id))
			return r->has_pred && range_within(from, to, &r->pred.id, &r->self.id);
	return 0;
}
