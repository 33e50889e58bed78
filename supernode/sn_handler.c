/* Which module handles which frame: the super node's frame table (a frame
 * from a link, by type and kind of link) and its table of routed requests
 * (by "op", at their destination). Each module hands in its rows at
 * start-up (supernode.c), so that the links and the routing know none of
 * the modules above them. */
#include "supernode.h"

#include "log.h"

#include <string.h>

int handler_add_frames(struct sn_handlers *h, const struct sn_handler *rows)
{
	if (h->nframes == SN_TABLES_MAX)
		return -1;
	h->frames[h->nframes++] = rows;
	return 0;
}

int handler_add_ops(struct sn_handlers *h, const struct sn_op *rows)
{
	if (h->nops == SN_TABLES_MAX)
		return -1;
	h->ops[h->nops++] = rows;
	return 0;
}

#define EXACT (1 << 30)

/* How well a row's type matches: exactly (the most), as a prefix pattern
 * "x*" (by the prefix's length), or not at all (-1). */
static int match(const char *pattern, const char *type)
{
	size_t n = strlen(pattern);

	if (strcmp(pattern, type) == 0)
		return EXACT;
	if (n > 0 && pattern[n - 1] == '*' && strncmp(pattern, type, n - 1) == 0)
		return (int)n - 1;
	return -1;
}

const struct sn_handler *handler_find_frame(const struct sn_handlers *h, const char *type,
					    unsigned from)
{
	const struct sn_handler *best = NULL;
	int best_score = -1;

	if (type == NULL)
		return NULL;
	for (int i = 0; i < h->nframes; i++)
		for (const struct sn_handler *r = h->frames[i]; r->type != NULL; r++) {
			int score = (r->from & from) ? match(r->type, type) : -1;
			if (score == EXACT)
				return r;
			if (score > best_score) {
				best = r;
				best_score = score;
			}
		}
	return best;
}

const struct sn_op *handler_find_op(const struct sn_handlers *h, const char *op)
{
	if (op == NULL)
		return NULL;
	for (int i = 0; i < h->nops; i++)
		for (const struct sn_op *r = h->ops[i]; r->op != NULL; r++)
			if (strcmp(r->op, op) == 0)
				return r;
	return NULL;
}

void handler_frame(struct sn *sn, struct olink *l, json_t *msg, unsigned from)
{
	const char *t = json_string_value(json_object_get(msg, "t"));
	const struct sn_handler *h = handler_find_frame(&sn->handlers, t, from);
	int request = json_object_get(msg, "tid") != NULL;
	union sn_req req;
	char err[256];

	/* Replies go to requests only: olink_reply drops them otherwise. */
	if (h == NULL) {
		olink_reply_error(l, msg, "bad_request", "unknown operation");
		return;
	}
	if ((h->flags & SN_NEEDS_TID) && !request)
		return;
	if ((h->flags & SN_NEEDS_JOINED) && sn->state != SN_JOINED) {
		olink_reply_error(l, msg, "busy", "super node not ready");
		return;
	}
	if (h->parse != NULL && h->parse(msg, &req, err, sizeof(err)) < 0) {
		if (request)
			olink_reply_error(l, msg, "bad_request", "%s", err);
		else
			log_debug("%s refused: %s", t, err);
		return;
	}
	h->handle(sn, l, msg, h->parse != NULL ? &req : NULL);
}

void handler_op(struct sn *sn, json_t *inner, route_done_t done, void *arg)
{
	const char *op = json_string_value(json_object_get(inner, "op"));
	const struct sn_op *o = handler_find_op(&sn->handlers, op);

	if (o != NULL) {
		o->handle(sn, inner, done, arg);
	} else {
		json_t *e = route_error("bad_request", "%s",
					op == NULL ? "no operation" : "unknown operation");
		done(e, arg);
		json_decref(e);
	}
	json_decref(inner);
}
