/* Failed-login accounting: a bounded hash table of keys. */
#include "logind_ratelimit.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

#define RL_BUCKETS 4096

struct rl_entry {
	char key[RL_KEY_MAX];
	int failures;
	int64_t last_fail;
	int64_t locked_until;
	struct rl_entry *next;
};

struct ratelimit {
	struct rl_policy pol;
	size_t max_entries, count;
	struct rl_entry *buckets[RL_BUCKETS];
};

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

struct ratelimit *rl_new(const struct rl_policy *pol, size_t max_entries)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl == NULL)
		return NULL;
	rl->pol = *pol;
	rl->max_entries = max_entries;
	return rl;
}

void rl_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	for (size_t i = 0; i < RL_BUCKETS; i++) {
		struct rl_entry *e = rl->buckets[i];
		while (e != NULL) {
			struct rl_entry *n = e->next;
			free(e);
			e = n;
		}
	}
	free(rl);
}

/* Keys are cut to RL_KEY_MAX - 1 bytes everywhere alike, so that a long key
 * still finds its own entry. */
static struct rl_entry **find(struct ratelimit *rl, const char *key, char *cut)
{
	struct rl_entry **pp;

	str_copy(cut, key, RL_KEY_MAX);
	pp = &rl->buckets[fnv1a(cut) % RL_BUCKETS];
	while (*pp != NULL && strcmp((*pp)->key, cut) != 0)
		pp = &(*pp)->next;
	return pp;
}

static int is_stale(const struct ratelimit *rl, const struct rl_entry *e, int64_t now)
{
	return e->locked_until <= now && e->last_fail + rl->pol.window <= now;
}

static void unlink_entry(struct ratelimit *rl, struct rl_entry **pp)
{
	struct rl_entry *e = *pp;

	*pp = e->next;
	free(e);
	rl->count--;
}

/* Orders eviction candidates: unlocked before locked (a locked key sees no
 * new failures, so by age alone it would go first), then oldest failure. */
static int evict_before(const struct rl_entry *a, const struct rl_entry *b, int64_t now)
{
	int la = a->locked_until > now, lb = b->locked_until > now;

	if (la != lb)
		return lb;
	return a->last_fail < b->last_fail;
}

/* Drops forgotten entries; if the table is still full, the best eviction
 * candidate. Failures arrive no faster than passwords are hashed, so the
 * scan is cheap next to the work it protects. */
static void make_room(struct ratelimit *rl, int64_t now)
{
	struct rl_entry **victim = NULL;

	for (size_t i = 0; i < RL_BUCKETS; i++) {
		struct rl_entry **pp = &rl->buckets[i];
		while (*pp != NULL) {
			if (is_stale(rl, *pp, now)) {
				unlink_entry(rl, pp);
				continue;
			}
			if (victim == NULL || evict_before(*pp, *victim, now))
				victim = pp;
			pp = &(*pp)->next;
		}
	}
	if (rl->count >= rl->max_entries && victim != NULL)
		unlink_entry(rl, victim);
}

enum rl_state rl_check(struct ratelimit *rl, const char *key, int64_t now, int64_t *secs)
{
	char cut[RL_KEY_MAX];
	struct rl_entry **pp = find(rl, key, cut);
	struct rl_entry *e = *pp;
	int over;

	*secs = 0;
	if (e == NULL)
		return RL_OK;
	if (e->locked_until > now) {
		*secs = e->locked_until - now;
		return RL_LOCKED;
	}
	if (e->locked_until != 0 || is_stale(rl, e, now)) {
		/* A lock that ran out, or failures long past: a fresh start. */
		unlink_entry(rl, pp);
		return RL_OK;
	}
	if (e->failures < rl->pol.slow_after)
		return RL_OK;
	over = e->failures - rl->pol.slow_after;
	*secs = over >= 30 ? rl->pol.max_delay : (int64_t)1 << over;
	if (*secs > rl->pol.max_delay)
		*secs = rl->pol.max_delay;
	return *secs > 0 ? RL_SLOW : RL_OK;
}

int rl_fail(struct ratelimit *rl, const char *key, int64_t now, int *locked)
{
	char cut[RL_KEY_MAX];
	struct rl_entry **pp = find(rl, key, cut);
	struct rl_entry *e = *pp;

	*locked = 0;
	if (e != NULL && e->locked_until <= now && e->last_fail + rl->pol.window <= now)
		e->failures = 0;
	if (e != NULL && e->locked_until != 0 && e->locked_until <= now) {
		/* A lock that ran out starts the count afresh. */
		e->failures = 0;
		e->locked_until = 0;
	}
	if (e == NULL) {
		if (rl->count >= rl->max_entries)
			make_room(rl, now);
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return 0;
		str_copy(e->key, cut, sizeof(e->key));
		e->next = rl->buckets[fnv1a(cut) % RL_BUCKETS];
		rl->buckets[fnv1a(cut) % RL_BUCKETS] = e;
		rl->count++;
	}
	e->failures++;
	e->last_fail = now;
	if (e->failures >= rl->pol.lockout_after && e->locked_until <= now) {
		e->locked_until = now + rl->pol.lockout;
		*locked = 1;
	}
	return e->failures;
}

void rl_success(struct ratelimit *rl, const char *key)
{
	char cut[RL_KEY_MAX];
	struct rl_entry **pp = find(rl, key, cut);

	/* Callers never get here for a locked key: they refuse it first. */
	if (*pp != NULL)
		unlink_entry(rl, pp);
}

size_t rl_count(const struct ratelimit *rl)
{
	return rl->count;
}
