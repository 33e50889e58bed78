/* Calls answered through the ordinary node and not hung up yet, by
 * Call-ID: only for the status page (the proxy keeps no dialog state for
 * routing). A BYE ends one; a call whose BYE never came is forgotten after
 * a day; at most DIALOGS_MAX are counted. */
#include "on.h"

#include <stdlib.h>
#include <string.h>

#define BUCKETS 4096
#define DIALOGS_MAX 100000
#define DIALOG_MAX_MS (24ull * 3600 * 1000) /* a call longer than a day is forgotten */

struct dlg {
	struct dlg *next;
	uint64_t since; /* monotonic ms */
	char call_id[];
};

struct on_dialogs {
	struct dlg *b[BUCKETS];
	int n;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct dlg **slot(struct on_dialogs *d, const char *call_id)
{
	struct dlg **p = &d->b[fnv(call_id) % BUCKETS];

	while (*p != NULL && strcmp((*p)->call_id, call_id) != 0)
		p = &(*p)->next;
	return p;
}

struct on_dialogs *on_dialogs_new(void)
{
	return calloc(1, sizeof(struct on_dialogs));
}

void on_dialogs_add(struct on_dialogs *d, const char *call_id, uint64_t now)
{
	struct dlg **p = slot(d, call_id);
	size_t n = strlen(call_id) + 1;

	if (*p != NULL || d->n >= DIALOGS_MAX || (*p = malloc(sizeof(**p) + n)) == NULL)
		return;
	(*p)->next = NULL;
	(*p)->since = now;
	memcpy((*p)->call_id, call_id, n);
	d->n++;
}

void on_dialogs_del(struct on_dialogs *d, const char *call_id)
{
	struct dlg **p = slot(d, call_id), *x = *p;

	if (x == NULL)
		return;
	*p = x->next;
	free(x);
	d->n--;
}

void on_dialogs_expire(struct on_dialogs *d, uint64_t now, int all)
{
	for (int i = 0; i < BUCKETS; i++)
		for (struct dlg **p = &d->b[i]; *p != NULL;) {
			struct dlg *x = *p;
			if (all || now - x->since >= DIALOG_MAX_MS) {
				*p = x->next;
				free(x);
				d->n--;
			} else {
				p = &x->next;
			}
		}
}

int on_dialogs_count(const struct on_dialogs *d)
{
	return d->n;
}

void on_dialogs_free(struct on_dialogs *d)
{
	if (d == NULL)
		return;
	on_dialogs_expire(d, 0, 1);
	free(d);
}
