/* The records a super node holds, in memory, with the overlay's limits. */
#include "sn_store.h"

#include "identity.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct resource {
	struct rid res;
	struct record *vals;
	int n, cap;
	struct resource *next;
};

struct user_count {
	char name[NAME_MAX_LEN + 1];
	int n;
	struct user_count *next;
};

#define UC_BUCKETS 1024

struct store {
	struct resource **buckets;
	size_t nbuckets, nres, nvals;
	struct user_count *uc[UC_BUCKETS];
};

const char *store_rc_str(enum store_rc rc)
{
	switch (rc) {
	case STORE_OK:
		return "stored";
	case STORE_STALE:
		return "a value at least as new is already stored";
	case STORE_EXPIRED:
		return "the value has already expired";
	case STORE_FUTURE:
		return "storage time too far in the future";
	case STORE_TOO_BIG:
		return "value larger than the overlay allows";
	case STORE_TOO_LONG:
		return "lifetime longer than the overlay allows";
	case STORE_FULL:
		return "too many values for this resource";
	case STORE_QUOTA:
		return "too many records for this user";
	case STORE_NOMEM:
		return "out of memory";
	}
	return "?";
}

static uint32_t hash_rid(const struct rid *r)
{
	uint32_t h;

	memcpy(&h, r->b, sizeof(h)); /* already uniform: SHA-256 output */
	return h;
}

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

struct store *store_new(void)
{
	struct store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->nbuckets = 1024;
	st->buckets = calloc(st->nbuckets, sizeof(*st->buckets));
	if (st->buckets == NULL) {
		free(st);
		return NULL;
	}
	return st;
}

void store_free(struct store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nbuckets; i++) {
		struct resource *r = st->buckets[i];
		while (r != NULL) {
			struct resource *next = r->next;
			for (int k = 0; k < r->n; k++)
				record_clear(&r->vals[k]);
			free(r->vals);
			free(r);
			r = next;
		}
	}
	for (int i = 0; i < UC_BUCKETS; i++) {
		struct user_count *u = st->uc[i];
		while (u != NULL) {
			struct user_count *next = u->next;
			free(u);
			u = next;
		}
	}
	free(st->buckets);
	free(st);
}

static struct resource **find_res(struct store *st, const struct rid *res)
{
	struct resource **pp = &st->buckets[hash_rid(res) & (st->nbuckets - 1)];

	while (*pp != NULL && !rid_eq(&(*pp)->res, res))
		pp = &(*pp)->next;
	return pp;
}

static void grow(struct store *st)
{
	size_t n = st->nbuckets * 2;
	struct resource **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < st->nbuckets; i++) {
		struct resource *r = st->buckets[i];
		while (r != NULL) {
			struct resource *next = r->next;
			size_t b = hash_rid(&r->res) & (n - 1);
			r->next = nb[b];
			nb[b] = r;
			r = next;
		}
	}
	free(st->buckets);
	st->buckets = nb;
	st->nbuckets = n;
}

/* The count of values held for a signer name; create adds an entry. */
static struct user_count *user_count(struct store *st, const char *name, int create)
{
	struct user_count **pp = &st->uc[hash_str(name) % UC_BUCKETS];

	while (*pp != NULL && strcmp((*pp)->name, name) != 0)
		pp = &(*pp)->next;
	if (*pp == NULL && create) {
		*pp = calloc(1, sizeof(**pp));
		if (*pp != NULL)
			str_copy((*pp)->name, name, sizeof((*pp)->name));
	}
	return *pp;
}

static void signer_name(const struct record *r, char *out, size_t len)
{
	if (r->cert == NULL || cert_name(r->cert, out, len) < 0)
		str_copy(out, "?", len);
}

static void count_user(struct store *st, const struct record *r, int delta)
{
	char name[NAME_MAX_LEN + 1];
	struct user_count *u;

	signer_name(r, name, sizeof(name));
	u = user_count(st, name, delta > 0);
	if (u != NULL)
		u->n += delta;
}

static enum store_rc check_limits(struct store *st, const struct record *r,
				  const struct resource *res, int replacing,
				  const struct store_limits *lim)
{
	char name[NAME_MAX_LEN + 1];
	struct user_count *u;

	if (r->data_len > lim->value_max)
		return STORE_TOO_BIG;
	if (r->life > lim->lifetime_max)
		return STORE_TOO_LONG;
	if (replacing)
		return STORE_OK;
	if (res != NULL && res->n >= lim->values_per_resource)
		return STORE_FULL;
	signer_name(r, name, sizeof(name));
	u = user_count(st, name, 0);
	if (u != NULL && u->n >= lim->records_per_user)
		return STORE_QUOTA;
	return STORE_OK;
}

static void drop_value(struct store *st, struct resource *res, int k)
{
	count_user(st, &res->vals[k], -1);
	record_clear(&res->vals[k]);
	res->vals[k] = res->vals[res->n - 1];
	memset(&res->vals[res->n - 1], 0, sizeof(res->vals[0]));
	res->n--;
	st->nvals--;
}

static void drop_resource(struct store *st, struct resource **pp)
{
	struct resource *res = *pp;

	*pp = res->next;
	free(res->vals);
	free(res);
	st->nres--;
}

enum store_rc store_put(struct store *st, struct record *r, uint64_t now,
			const struct store_limits *lim, const struct record **held)
{
	struct resource **pp = find_res(st, &r->res);
	struct resource *res = *pp;
	int k = -1;
	enum store_rc rc;

	if (r->stored > now + RECORD_SKEW_MS)
		return STORE_FUTURE;
	if (record_is_expired(r, now))
		return STORE_EXPIRED;
	for (int i = 0; res != NULL && i < res->n; i++)
		if (rid_eq(&res->vals[i].owner, &r->owner))
			k = i;
	/* A newer storage time replaces; an equal or older one is a replay. */
	if (k >= 0 && r->stored <= res->vals[k].stored)
		return STORE_STALE;
	if (lim != NULL && (rc = check_limits(st, r, res, k >= 0, lim)) != STORE_OK)
		return rc;
	if (res == NULL) {
		res = calloc(1, sizeof(*res));
		if (res == NULL)
			return STORE_NOMEM;
		res->res = r->res;
		*pp = res;
		st->nres++;
		if (st->nres > 2 * st->nbuckets)
			grow(st);
	}
	if (k >= 0) {
		count_user(st, &res->vals[k], -1);
		record_clear(&res->vals[k]);
	} else {
		if (res->n == res->cap) {
			int cap = res->cap ? 2 * res->cap : 1;
			struct record *nv = realloc(res->vals, (size_t)cap * sizeof(*nv));
			if (nv == NULL)
				return STORE_NOMEM;
			res->vals = nv;
			res->cap = cap;
		}
		k = res->n++;
		st->nvals++;
	}
	res->vals[k] = *r;
	memset(r, 0, sizeof(*r));
	count_user(st, &res->vals[k], 1);
	if (held != NULL)
		*held = &res->vals[k];
	return STORE_OK;
}

const struct record *store_get(struct store *st, const struct rid *res, int *n)
{
	struct resource *r = *find_res(st, res);

	*n = r != NULL ? r->n : 0;
	return r != NULL ? r->vals : NULL;
}

void store_each_in(struct store *st, const struct rid *from, const struct rid *to,
		   void (*fn)(const struct record *r, void *arg), void *arg)
{
	for (size_t i = 0; i < st->nbuckets; i++)
		for (struct resource *res = st->buckets[i]; res != NULL; res = res->next)
			if (rid_in_half(&res->res, from, to))
				for (int k = 0; k < res->n; k++)
					fn(&res->vals[k], arg);
}

int store_expire(struct store *st, uint64_t now, void (*fn)(const struct record *r, void *arg),
		 void *arg)
{
	int dropped = 0;

	for (size_t i = 0; i < st->nbuckets; i++) {
		struct resource **pp = &st->buckets[i];
		while (*pp != NULL) {
			struct resource *res = *pp;
			for (int k = res->n - 1; k >= 0; k--) {
				if (!record_is_expired(&res->vals[k], now))
					continue;
				if (fn != NULL)
					fn(&res->vals[k], arg);
				drop_value(st, res, k);
				dropped++;
			}
			if (res->n == 0)
				drop_resource(st, pp);
			else
				pp = &res->next;
		}
	}
	return dropped;
}

size_t store_values(const struct store *st)
{
	return st->nvals;
}

size_t store_resources(const struct store *st)
{
	return st->nres;
}
