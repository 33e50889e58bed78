/* The return reachability test of announced super nodes, on a TLS probe
 * (common/tlsprobe.c): the certificate there must be a super node's of the
 * announced Node-ID. */
#include "bootstrapd_check.h"

#include "tlsprobe.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct check {
	struct tlsprobe *probe;
	uint8_t node_id[NODE_ID_LEN];
	char where[96];
	check_done_t cb;
	void *arg;
};

static void finish(struct check *c, int ok, const char *why)
{
	char msg[320];

	snprintf(msg, sizeof(msg), "%s: %s", c->where, why);
	c->cb(c, ok, msg, c->arg);
	free(c);
}

/* What the peer presented (NULL: why says what failed before). */
static void judge(X509 *peer, const char *why, void *arg)
{
	struct check *c = arg;
	uint8_t nid[NODE_ID_LEN];
	char role[ROLE_MAX];

	c->probe = NULL; /* freed by tlsprobe when we return */
	if (peer == NULL)
		finish(c, 0, why);
	else if (cert_role(peer, role, sizeof(role)) < 0 || strcmp(role, ROLE_SUPERNODE) != 0)
		finish(c, 0, "certificate there is not a super node's");
	else if (node_id_from_cert(peer, nid) < 0 || memcmp(nid, c->node_id, NODE_ID_LEN) != 0)
		finish(c, 0, "a different node answers there (Node-ID mismatch)");
	else
		finish(c, 1, "reachable");
}

struct check *check_start(struct event_base *base, SSL_CTX *ctx, const char *host, uint16_t port,
			  const uint8_t node_id[NODE_ID_LEN], int timeout_secs, check_done_t cb,
			  void *arg)
{
	struct check *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	memcpy(c->node_id, node_id, NODE_ID_LEN);
	snprintf(c->where, sizeof(c->where), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	c->cb = cb;
	c->arg = arg;
	c->probe = tlsprobe_start(base, ctx, host, port, timeout_secs, judge, c);
	if (c->probe == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void check_cancel(struct check *c)
{
	if (c == NULL)
		return;
	tlsprobe_cancel(c->probe);
	free(c);
}
