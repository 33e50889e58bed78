/* Calls answered through the ordinary node and not hung up yet, by
 * Call-ID: the status page counts them, and the proxy routes along them.
 * For each call the node keeps the Contact of each of its own phones in
 * it, learned from the phone's INVITE or 2xx as they passed, and where
 * that phone is reached; an in-dialog request that came with our
 * Record-Route is delivered only to one of those (on_target.c), so our
 * Route cannot be used to reach any other host.
 * A BYE ends one; a call whose BYE never came is forgotten after a day; at
 * most DIALOGS_MAX are kept. */
#include "on.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BUCKETS 4096
#define DIALOGS_MAX 100000
#define DIALOG_MAX_MS (24ull * 3600 * 1000) /* a call longer than a day is forgotten */
#define DIALOG_PHONES_MAX 4 /* our phones in one call: caller, callee, a forked INVITE's 2xx */

struct dlg {
	struct dlg *next;
	uint64_t since; /* monotonic ms */
	int nphones;
	char *phone[DIALOG_PHONES_MAX]; /* their Contact URIs, as they sent them */
	char *dest[DIALOG_PHONES_MAX];  /* where each is reached */
	char *route[DIALOG_PHONES_MAX]; /* a gateway's: the proxies on the way to it, or NULL */
	char call_id[];
};

struct on_dialogs {
	struct dlg *b[BUCKETS];
	int n;
};

static struct dlg **slot(const struct on_dialogs *d, const char *call_id)
{
	struct dlg *const *p = &d->b[str_hash(call_id) % BUCKETS];

	while (*p != NULL && strcmp((*p)->call_id, call_id) != 0)
		p = &(*p)->next;
	return (struct dlg **)p;
}

static void dlg_free(struct dlg *x)
{
	for (int i = 0; i < x->nphones; i++) {
		free(x->phone[i]);
		free(x->dest[i]);
		free(x->route[i]);
	}
	free(x);
}

struct on_dialogs *on_dialogs_new(void)
{
	return calloc(1, sizeof(struct on_dialogs));
}

/* The call's entry, made when missing; NULL when the table is full. */
static struct dlg *dlg_get(struct on_dialogs *d, const char *call_id, uint64_t now)
{
	struct dlg **p = slot(d, call_id);
	size_t n = strlen(call_id) + 1;

	if (*p != NULL)
		return *p;
	if (d->n >= DIALOGS_MAX || (*p = calloc(1, sizeof(**p) + n)) == NULL)
		return NULL;
	(*p)->since = now;
	memcpy((*p)->call_id, call_id, n);
	d->n++;
	return *p;
}

void on_dialogs_add(struct on_dialogs *d, const char *call_id, uint64_t now)
{
	(void)dlg_get(d, call_id, now);
}

void on_dialogs_learn(struct on_dialogs *d, const char *call_id, const char *contact,
		      const char *dest, uint64_t now)
{
	struct dlg *x = dlg_get(d, call_id, now);
	int i;

	if (x == NULL || contact == NULL || dest == NULL || strlen(contact) >= ON_URI_MAX ||
	    strlen(dest) >= ON_URI_MAX || x->nphones == DIALOG_PHONES_MAX)
		return;
	for (i = 0; i < x->nphones; i++)
		if (strcmp(x->phone[i], contact) == 0)
			return;
	x->phone[i] = strdup(contact);
	x->dest[i] = strdup(dest);
	if (x->phone[i] == NULL || x->dest[i] == NULL) {
		free(x->phone[i]);
		free(x->dest[i]);
		return;
	}
	x->nphones++;
}

/* Same user, host and port: how a phone's Contact comes back as the
 * Request-URI of an in-dialog request (its parameters may differ). */
static int same_phone(const url_t *a, const url_t *b)
{
	const char *pa = a->url_port != NULL && a->url_port[0] ? a->url_port : "5060";
	const char *pb = b->url_port != NULL && b->url_port[0] ? b->url_port : "5060";

	return a->url_host != NULL && b->url_host != NULL &&
	       strcasecmp(a->url_host, b->url_host) == 0 && strcmp(pa, pb) == 0 &&
	       strcmp(a->url_user != NULL ? a->url_user : "",
		      b->url_user != NULL ? b->url_user : "") == 0;
}

/* The index of the phone in x whose Contact ruri names, or -1. */
static int phone_index(const struct dlg *x, const url_t *ruri)
{
	for (int i = 0; i < x->nphones; i++) {
		su_home_t home[1] = {SU_HOME_INIT(home)};
		url_t *u = url_hdup(home, (url_t *)url_make(home, x->phone[i]));
		int same = u != NULL && same_phone(u, ruri);

		su_home_deinit(home);
		if (same)
			return i;
	}
	return -1;
}

const char *on_dialogs_phone(const struct on_dialogs *d, const char *call_id, const url_t *ruri)
{
	const struct dlg *x;
	int i;

	if (d == NULL || call_id == NULL || ruri == NULL || (x = *slot(d, call_id)) == NULL ||
	    (i = phone_index(x, ruri)) < 0)
		return NULL;
	return x->dest[i];
}

void on_dialogs_set_route(struct on_dialogs *d, const char *call_id, const char *contact,
			  const char *route)
{
	struct dlg *x = call_id != NULL ? *slot(d, call_id) : NULL;

	for (int i = 0; x != NULL && contact != NULL && i < x->nphones; i++)
		if (strcmp(x->phone[i], contact) == 0 && x->route[i] == NULL) {
			x->route[i] = strdup(route);
			return;
		}
}

const char *on_dialogs_route(const struct on_dialogs *d, const char *call_id, const url_t *ruri)
{
	const struct dlg *x;
	int i;

	if (d == NULL || call_id == NULL || ruri == NULL || (x = *slot(d, call_id)) == NULL ||
	    (i = phone_index(x, ruri)) < 0)
		return NULL;
	return x->route[i];
}

void on_dialogs_del(struct on_dialogs *d, const char *call_id)
{
	struct dlg **p = slot(d, call_id), *x = *p;

	if (x == NULL)
		return;
	*p = x->next;
	dlg_free(x);
	d->n--;
}

void on_dialogs_expire(struct on_dialogs *d, uint64_t now, int all)
{
	for (int i = 0; i < BUCKETS; i++)
		for (struct dlg **p = &d->b[i]; *p != NULL;) {
			struct dlg *x = *p;
			if (all || now - x->since >= DIALOG_MAX_MS) {
				*p = x->next;
				dlg_free(x);
				d->n--;
			} else {
				p = &x->next;
			}
		}
}

int on_dialogs_has(const struct on_dialogs *d, const char *call_id)
{
	return d != NULL && call_id != NULL && *slot(d, call_id) != NULL;
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
