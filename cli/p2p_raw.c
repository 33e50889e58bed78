/* p2psip raw: JSON requests from stdin sent over the link, pipelined, and
 * their replies printed in order; a tool for tests and load. */
#include "p2p.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct raw_slot {
	json_t *reply;
	char err[128];
	int done;
};

static int raw_left;

static void on_raw(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct raw_slot *s = arg;

	(void)l;
	if (reply != NULL)
		s->reply = json_incref(reply);
	else
		snprintf(s->err, sizeof(s->err), "%s", err);
	s->done = 1;
	if (--raw_left == 0)
		C.done = 1;
}

/* The JSON objects on stdin, one a line, each --repeat times. */
static json_t *read_requests(void)
{
	json_t *reqs = json_array(), *r;
	char *line = NULL;
	size_t cap = 0;
	int reps = C.repeat > 0 ? C.repeat : 1;

	while (getline(&line, &cap, stdin) > 0) {
		json_error_t jerr;
		if (line[0] == '\n')
			continue;
		r = json_loads(line, 0, &jerr);
		if (!json_is_object(r))
			die(2, "raw: each line must be a JSON object (%s)", jerr.text);
		for (int k = 0; k < reps; k++)
			json_array_append(reqs, r);
		json_decref(r);
	}
	free(line);
	return reqs;
}

/* Sends reqs as one-way messages and returns a lone ping in their place:
 * its answer shows the peer read them all and kept the link. */
static json_t *send_oneway(json_t *reqs)
{
	json_t *r;
	size_t i;

	json_array_foreach (reqs, i, r)
		olink_send(C.link, json_deep_copy(r));
	json_decref(reqs);
	reqs = json_array();
	json_array_append_new(reqs, json_pack("{s:s}", "t", "ping"));
	return reqs;
}

/* Sends every request at once (pipelined), one slot each for its reply,
 * and runs the loop until all are answered or --timeout. */
static struct raw_slot *send_requests(json_t *reqs)
{
	size_t n = json_array_size(reqs), i;
	struct raw_slot *slots = calloc(n ? n : 1, sizeof(*slots));
	json_t *r;

	raw_left = (int)n;
	json_array_foreach (reqs, i, r) {
		if (olink_request(C.link, json_deep_copy(r), C.timeout * 1000, on_raw, &slots[i]) <
		    0) {
			snprintf(slots[i].err, sizeof(slots[i].err), "not sent");
			slots[i].done = 1;
			raw_left--;
		}
	}
	if (raw_left > 0)
		wait_done();
	return slots;
}

/* The replies in the order of the requests: {"ok":...} objects, or
 * {"error": transport}. */
static void print_replies(struct raw_slot *slots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_t *out = slots[i].reply != NULL
				      ? slots[i].reply
				      : json_pack("{s:s}", "error",
						  slots[i].done ? slots[i].err : "no reply");
		char *s2;
		json_object_del(out, "tid");
		json_object_del(out, "t");
		s2 = json_dumps(out, JSON_COMPACT);
		puts(s2);
		free(s2);
		json_decref(out);
	}
}

/* Stays attached --hold seconds (what the link holds, e.g. relay streams,
 * stays). */
static void hold_link(void)
{
	struct timeval tv = {KEEPALIVE_SECS, 0};
	struct event *ka = event_new(C.base, -1, EV_PERSIST, on_keepalive, NULL);
	uint64_t end = time_mono_ms() + (uint64_t)C.hold * 1000;

	fflush(stdout);
	event_add(ka, &tv);
	while (C.link != NULL && time_mono_ms() < end) {
		struct timeval step = {0, 200000};
		event_base_loopexit(C.base, &step);
		event_base_dispatch(C.base);
	}
	event_free(ka);
}

int cmd_raw(int argc, char **argv)
{
	json_t *reqs = read_requests();
	struct raw_slot *slots;

	(void)argc, (void)argv;
	if (C.oneway)
		reqs = send_oneway(reqs);
	slots = send_requests(reqs);
	print_replies(slots, json_array_size(reqs));
	free(slots);
	json_decref(reqs);
	if (C.hold > 0)
		hold_link();
	return 0;
}
