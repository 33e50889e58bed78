/* Token buckets per key (ratelimit.h). */
#include "ratelimit.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

struct bucket {
	uint8_t key[RATE_KEY_MAX];
	size_t keylen; /* 0: free */
	struct tbucket tb;
};

struct rate_table {
	struct bucket *b;
	int n;
};

struct rate_table *rate_table_new(int slots)
{
	struct rate_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->b = calloc((size_t)(slots > 0 ? slots : 1), sizeof(*t->b));
	if (t->b == NULL) {
		free(t);
		return NULL;
	}
	t->n = slots > 0 ? slots : 1;
	return t;
}

void rate_table_free(struct rate_table *t)
{
	if (t == NULL)
		return;
	free(t->b);
	free(t);
}

/* key's bucket, or the one to give it (free, else used longest ago). */
static struct bucket *find(struct rate_table *t, const void *key, size_t keylen, int *fresh)
{
	struct bucket *old = &t->b[0];

	for (int i = 0; i < t->n; i++) {
		struct bucket *b = &t->b[i];
		if (b->keylen == keylen && memcmp(b->key, key, keylen) == 0) {
			*fresh = 0;
			return b;
		}
		if (old->keylen != 0 && (b->keylen == 0 || b->tb.last_ms < old->tb.last_ms))
			old = b;
	}
	*fresh = 1;
	return old;
}

int rate_take(struct rate_table *t, const void *key, size_t keylen, double rate, double burst,
	      double cost, uint64_t now_ms)
{
	struct bucket *b;
	int fresh;

	if (keylen > RATE_KEY_MAX)
		keylen = RATE_KEY_MAX;
	if (keylen == 0 || cost > burst)
		return 0;
	b = find(t, key, keylen, &fresh);
	if (fresh) {
		memcpy(b->key, key, keylen);
		b->keylen = keylen;
		memset(&b->tb, 0, sizeof(b->tb)); /* a new key starts full */
	}
	return tbucket_take(&b->tb, rate, burst, cost, now_ms);
}
