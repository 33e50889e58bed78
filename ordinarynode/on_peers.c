/* Who may speak in a call: for each Call-ID (as it crosses the overlay),
 * the nodes that took part in creating the dialog and the certificate
 * each sealed with. A dialog-creating request we send names the callee's
 * node and certificate; one we receive names the caller's. In-dialog
 * requests from the overlay are accepted only from a party recorded here
 * (docs/security.md), and in-dialog requests we send are sealed to the
 * certificate recorded for their node. At most PEERS_MAX calls are kept
 * (the least recently used goes first); a call not heard of for a day is
 * forgotten. */
#include "on.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BUCKETS 4096
#define PEERS_MAX 100000
#define PEERS_IDLE_MS (24ull * 3600 * 1000)
#define CALL_PARTIES_MAX 8 /* a forked INVITE: one per node the callee has */

struct party {
	char node[NODE_ID_HEX_LEN + 1], cert[NODE_ID_HEX_LEN + 1];
};

struct call {
	struct call *next;          /* in the bucket */
	struct call *older, *newer; /* by last use */
	uint64_t used;              /* monotonic ms */
	int n;
	struct party p[CALL_PARTIES_MAX];
	char call_id[];
};

struct on_peers {
	struct call *b[BUCKETS];
	struct call *oldest, *newest;
	int n;
};

static struct call **slot(const struct on_peers *t, const char *call_id)
{
	struct call *const *p = &t->b[str_hash(call_id) % BUCKETS];

	while (*p != NULL && strcmp((*p)->call_id, call_id) != 0)
		p = &(*p)->next;
	return (struct call **)p;
}

static void unlink_age(struct on_peers *t, struct call *c)
{
	if (c->older != NULL)
		c->older->newer = c->newer;
	else
		t->oldest = c->newer;
	if (c->newer != NULL)
		c->newer->older = c->older;
	else
		t->newest = c->older;
	c->older = c->newer = NULL;
}

static void link_newest(struct on_peers *t, struct call *c)
{
	c->older = t->newest;
	c->newer = NULL;
	if (t->newest != NULL)
		t->newest->newer = c;
	else
		t->oldest = c;
	t->newest = c;
}

static void drop(struct on_peers *t, struct call *c)
{
	struct call **pp = slot(t, c->call_id);

	*pp = c->next;
	unlink_age(t, c);
	t->n--;
	free(c);
}

struct on_peers *on_peers_new(void)
{
	return calloc(1, sizeof(struct on_peers));
}

void on_peers_allow(struct on_peers *t, const char *call_id, const char *node, const char *cert,
		    uint64_t now)
{
	struct call **pp = slot(t, call_id), *c = *pp;
	size_t len = strlen(call_id);

	if (c == NULL) {
		if (t->n >= PEERS_MAX)
			drop(t, t->oldest);
		pp = slot(t, call_id);
		if ((c = calloc(1, sizeof(*c) + len + 1)) == NULL)
			return;
		memcpy(c->call_id, call_id, len + 1);
		c->next = *pp;
		*pp = c;
		t->n++;
	} else {
		unlink_age(t, c);
	}
	link_newest(t, c);
	c->used = now;
	for (int i = 0; i < c->n; i++)
		if (strcasecmp(c->p[i].node, node) == 0 && strcasecmp(c->p[i].cert, cert) == 0)
			return;
	if (c->n == CALL_PARTIES_MAX) /* the first parties stay: the caller, the first callee */
		c->n--;
	str_copy(c->p[c->n].node, node, sizeof(c->p[0].node));
	str_copy(c->p[c->n].cert, cert, sizeof(c->p[0].cert));
	c->n++;
}

int on_peers_ok(struct on_peers *t, const char *call_id, const char *node, const char *cert,
		uint64_t now)
{
	struct call *c = *slot(t, call_id);

	if (c == NULL)
		return 0;
	for (int i = 0; i < c->n; i++)
		if (strcasecmp(c->p[i].node, node) == 0 && strcasecmp(c->p[i].cert, cert) == 0) {
			/* a call in use is the last to go when the table is full */
			unlink_age(t, c);
			link_newest(t, c);
			c->used = now;
			return 1;
		}
	return 0;
}

int on_peers_known(const struct on_peers *t, const char *call_id)
{
	return *slot(t, call_id) != NULL;
}

const char *on_peers_cert(const struct on_peers *t, const char *call_id, const char *node)
{
	const struct call *c = *slot(t, call_id);

	if (c == NULL)
		return NULL;
	for (int i = c->n - 1; i >= 0; i--) /* the latest: a node that renewed its key */
		if (strcasecmp(c->p[i].node, node) == 0)
			return c->p[i].cert;
	return NULL;
}

void on_peers_expire(struct on_peers *t, uint64_t now, int all)
{
	while (t->oldest != NULL && (all || t->oldest->used + PEERS_IDLE_MS <= now))
		drop(t, t->oldest);
}

int on_peers_count(const struct on_peers *t)
{
	return t->n;
}

void on_peers_free(struct on_peers *t)
{
	if (t == NULL)
		return;
	on_peers_expire(t, 0, 1);
	free(t);
}
