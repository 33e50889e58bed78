/* The Chord routing table of a super node: successor list, predecessor,
 * fingers. Pure: no I/O, so it can be tested by itself. */
#ifndef P2PSIP_SN_RING_H
#define P2PSIP_SN_RING_H

#include <stdint.h>

#include "ringid.h"

#define SUCC_MAX 8
#define FINGERS 128

struct node {
	struct rid id;
	char host[64];
	uint16_t port;
};

struct ring {
	struct node self;
	struct node succ[SUCC_MAX]; /* succ[0] is the successor */
	int nsucc;
	int succ_max;
	struct node pred;
	int has_pred;
	struct node pred2; /* the predecessor's predecessor: the fallback */
	int has_pred2;
	struct node finger[FINGERS]; /* finger[i] ~ successor(self + 2^i) */
	uint8_t has_finger[FINGERS];
};

void ring_init(struct ring *r, const struct node *self, int succ_max);
/* True when this node alone forms the ring. */
int ring_alone(const struct ring *r);
/* Whether key falls in (pred, self]: this node is responsible for it. With no
 * predecessor known, only a node alone is responsible for everything. */
int ring_responsible(const struct ring *r, const struct rid *key);
/* Where to send a request for key when not responsible: the node the
 * successor list or a finger interval shows to be responsible, else the
 * known node closest before key (fingers, successors, predecessor), else any
 * known node. NULL only when no node is known. Nodes in skip (n of them) are
 * passed over, for retries around a failed hop. */
const struct node *ring_next_hop(const struct ring *r, const struct rid *key,
				 const struct rid *skip, int nskip);

/* Whether the tables show n to be responsible for key (see ring_next_hop). */
int ring_owner_known(const struct ring *r, const struct rid *key, const struct node *n);
/* Replaces the successor list with succ followed by its own list (duplicates
 * and self removed, cut at succ_max). 1 if the list changed. */
int ring_set_succs(struct ring *r, const struct node *succ, const struct node *list, int n);
/* Takes p as predecessor if there is none or p is in (pred, self). 1 if so. */
int ring_offer_pred(struct ring *r, const struct node *p);
void ring_set_pred(struct ring *r, const struct node *p);
void ring_set_pred2(struct ring *r, const struct node *p);
/* Removes a node (it failed or left) from successors, predecessor and
 * fingers; a lost predecessor is replaced by its predecessor when known.
 * Returns a bit set: 1 successor list changed, 2 predecessor changed. */
int ring_forget(struct ring *r, const struct rid *id);
void ring_set_finger(struct ring *r, int i, const struct node *n);
/* The start of finger i: self + 2^i. */
void ring_finger_start(const struct ring *r, int i, struct rid *out);
/* Fingers that need a lookup: those whose start is beyond succ[0]. */
int ring_finger_needs_lookup(const struct ring *r, int i);
/* Distinct nodes among the fingers. */
int ring_fingers_in_use(const struct ring *r);
/* Distinct super nodes this node knows (successors, predecessor, fingers)
 * and itself: the estimate of the ring's size that promotion decides on. */
int ring_count(const struct ring *r);
/* Looks a node up by id among successors, predecessor and fingers. */
const struct node *ring_find(const struct ring *r, const struct rid *id);
/* Whether the super node asker may ask this node for the values in
 * (from, to] (a "sync"): its own range as this node's tables show it (it is
 * our predecessor, to is its Node-ID and from not before its predecessor,
 * or no known node lies inside), or a part of our range when it is one of
 * the first `replicas` successors, which hold that range's replicas. */
int ring_sync_allowed(const struct ring *r, const struct rid *asker, const struct rid *from,
		      const struct rid *to, int replicas);

#endif
