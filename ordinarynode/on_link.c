/* The ordinary node's link to one super node, with the others in reserve:
 * first those it was last attached to (the database remembers them), then
 * bootstrapd's list. When the link breaks it moves to the next one at once;
 * when the reserve is used up it asks the parent for a fresh list, and when
 * none can be had (bootstrapd down) it goes round the remembered super
 * nodes again, waiting longer each round. A ping
 * every keepalive interval keeps a quiet link open. The link uses the first
 * account's certificate; every account's certificate signs its own
 * records. Writes the link's part of struct on; the others read it. */
#include "on.h"

#include "keepcert.h"
#include "log.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 500
#define RETRY_MS 1000
#define ROUND_MAX_MS 30000 /* the longest wait between rounds of remembered super nodes */

struct on_link {
	struct on *on;
	const struct on_link_ops *ops;
	void *arg;
	struct event *tick;
	uint64_t next_list; /* monotonic ms: not before, ask for a fresh list */
	uint64_t next_ping;
	uint64_t round_at; /* monotonic ms: not before, a round of remembered ones */
	uint64_t round_ms; /* the wait before the next such round */
};

static int link_ready(struct olink *ol, const json_t *hello, void *arg)
{
	struct on_link *l = arg;
	struct on *on = l->on;
	const struct olink_peer *p = olink_peer(ol);

	(void)hello; /* olink checked the protocol version */
	if (strcmp(p->role, ROLE_SUPERNODE) != 0) {
		log_warn("%s:%u is not a super node (role %s)", on->cur.host, on->cur.port,
			 p->role);
		return -1;
	}
	rid_hex(&p->id, on->sn_id);
	str_copy(on->sn_name, p->name, sizeof(on->sn_name));
	on->state = ON_ATTACHED;
	on->attached_ms = time_mono_ms();
	on->attaches++;
	l->next_ping = time_mono_ms() + 1000u * (uint64_t)on->keepalive;
	l->round_ms = 0;
	log_info("attached to super node %s at %s:%u%s", on->sn_name, on->cur.host, on->cur.port,
		 on->cur.fallback ? " (its fall-back port)" : "");
	on_db_sn_remember(on->db, on->cur.host, on->cur.port, on->sn_id);
	l->ops->attached(l->arg);
	return 0;
}

static void link_message(struct olink *ol, json_t *msg, void *arg)
{
	struct on_link *l = arg;

	(void)ol;
	if (l != NULL)
		l->ops->frame(l->arg, msg);
}

static void link_closed(struct olink *ol, const char *why, void *arg)
{
	struct on_link *l = arg;
	struct on *on = l->on;

	(void)ol;
	if (on->state == ON_ATTACHED)
		log_warn("link to super node %s:%u lost: %s", on->cur.host, on->cur.port, why);
	else
		log_info("super node %s:%u: %s", on->cur.host, on->cur.port, why);
	/* A lost link may ask bootstrapd at once; failed attempts wait. */
	if (on->state == ON_ATTACHED)
		l->next_list = 0;
	on->link = NULL;
	on->state = ON_ATTACHING;
	/* Not from inside the link's own callback: on the next turn. */
	event_active(l->tick, EV_TIMEOUT, 0);
}

static const struct olink_ops link_ops = {link_ready, link_message, link_closed};

static void attach_next(struct on_link *l)
{
	struct on *on = l->on;
	struct olink_limits lim;
	char err[256];

	on->state = ON_ATTACHING;
	while (on->next < on->nreserve) {
		on->cur = on->reserve[on->next++];
		olink_limits_default(&lim);
		lim.hello_secs = 3;
		on->link = olink_connect(on->base, keepcert_client_ctx(on->acc[0].kc), on->cur.host,
					 on->cur.port, json_object(), &lim, &link_ops, l, err,
					 sizeof(err));
		if (on->link != NULL)
			return;
		log_info("super node %s:%u: %s", on->cur.host, on->cur.port, err);
	}
	/* Reserve used up: a fresh list from bootstrapd, not at once: bootstrapd
	 * may still list dead super nodes for a while. */
	l->next_list = time_mono_ms() + RETRY_MS;
}

static void on_pong(struct olink *ol, json_t *reply, const char *err, void *arg)
{
	(void)ol, (void)reply, (void)err, (void)arg; /* a dead link shows in link_closed */
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct on_link *l = arg;
	struct on *on = l->on;
	uint64_t t = time_mono_ms();
	struct timeval tv = {0, TICK_MS * 1000};

	(void)fd, (void)what;
	event_add(l->tick, &tv);
	if (on->state == ON_ATTACHED && t >= l->next_ping) {
		l->next_ping = t + 1000u * (uint64_t)on->keepalive;
		olink_request(on->link, json_pack("{s:s}", "t", "ping"), 10000, on_pong, NULL);
	}
	if (on->state != ON_ATTACHING || on->link != NULL)
		return;
	if (on->next < on->nreserve) {
		if (t >= l->round_at)
			attach_next(l);
	} else if (t >= l->next_list)
		l->ops->want_list(l->arg);
}

void on_link_go(struct on_link *l)
{
	l->on->state = ON_ATTACHING;
	l->next_list = 0;
}

/* No list from bootstrapd: the super nodes attached to before, again, after
 * a wait that doubles up to ROUND_MAX_MS (they may be restarting). */
static void remembered_round(struct on_link *l)
{
	struct on *on = l->on;
	char in[32];

	on->nreserve = on_db_sn_load(on->db, on->reserve, ON_RESERVE_MAX);
	on->next = 0;
	if (on->nreserve == 0)
		return;
	l->round_ms = l->round_ms == 0 ? RETRY_MS : l->round_ms * 2;
	if (l->round_ms > ROUND_MAX_MS)
		l->round_ms = ROUND_MAX_MS;
	l->round_at = time_mono_ms() + l->round_ms;
	duration_format((int64_t)(l->round_ms / 1000), in, sizeof(in));
	log_info("no super node list from bootstrapd: trying the %d remembered super node%s "
		 "again in %s",
		 on->nreserve, on->nreserve == 1 ? "" : "s", in);
}

void on_link_set_list(struct on_link *l, const struct sn_addr *list, int n)
{
	struct on *on = l->on;

	on->nreserve = on->next = 0;
	for (int i = 0; i < n && i < ON_RESERVE_MAX; i++) {
		on->reserve[on->nreserve++] = list[i];
		if (!list[i].fallback)
			on_db_sn_learn(on->db, list[i].host, list[i].port);
	}
	if (on->nreserve == 0) {
		l->next_list = time_mono_ms() + RETRY_MS;
		remembered_round(l);
		return;
	}
	attach_next(l);
}

struct on_link *on_link_new(struct on *on, const struct on_link_ops *ops, void *arg, char *err,
			    size_t errlen)
{
	struct on_link *l = calloc(1, sizeof(*l));
	struct timeval tv = {0, 1000};

	if (l == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	l->on = on;
	l->ops = ops;
	l->arg = arg;
	l->tick = event_new(on->base, -1, 0, on_tick, l);
	if (l->tick == NULL || event_add(l->tick, &tv) < 0) {
		err_set(err, errlen, "super node link: event set-up failed");
		on_link_free(l);
		return NULL;
	}
	on->nreserve = on_db_sn_load(on->db, on->reserve, ON_RESERVE_MAX);
	on->next = 0;
	if (on->nreserve > 0)
		log_info("%d super node%s from the last run to try first", on->nreserve,
			 on->nreserve == 1 ? "" : "s");
	return l;
}

void on_link_free(struct on_link *l)
{
	struct on *on;

	if (l == NULL)
		return;
	on = l->on;
	if (on->link != NULL) {
		struct olink *ol = on->link;
		on->state = ON_STARTING;
		olink_set_arg(ol, NULL);
		on->link = NULL;
		olink_free(ol);
	}
	if (l->tick != NULL)
		event_free(l->tick);
	free(l);
}
