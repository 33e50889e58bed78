/* sn_handler: the super node's frame table (which row takes a frame of a
 * type from a kind of link, and what happens before its handler runs) and
 * its table of routed requests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "supernode.h"

#include <jansson.h>
#include <string.h>

static struct sn sn;
static int calls;             /* handler calls */
static int got_req;           /* the last handler got a parsed request */
static union sn_req req_copy; /* a copy of it (the original is gone) */
static const struct sn_handler *last_row;

static void h_any(struct sn *s, struct olink *l, json_t *msg, const union sn_req *req)
{
	(void)s, (void)l, (void)msg;
	calls++;
	got_req = req != NULL;
	if (req != NULL)
		req_copy = *req;
}

/* Parses "n" as relay_alloc does. */
static int p_alloc(const json_t *msg, union sn_req *req, char *err, size_t errlen)
{
	return relay_alloc_parse(msg, &req->alloc, err, errlen);
}

static const struct sn_handler peer_rows[] = {
	{"route", SN_FROM_PEER, 0, NULL, h_any},
	{"ping", SN_FROM_PEER, 0, NULL, h_any},
	{NULL, 0, 0, NULL, NULL},
};

static const struct sn_handler client_rows[] = {
	{"route", SN_FROM_CLIENT, SN_NEEDS_TID | SN_NEEDS_JOINED, NULL, h_any},
	{"relay_alloc", SN_FROM_CLIENT, SN_NEEDS_TID, p_alloc, h_any},
	{"relay_*", SN_FROM_CLIENT, SN_NEEDS_TID, NULL, h_any},
	{"media", SN_FROM_CLIENT, 0, NULL, h_any},
	{"*", SN_FROM_CLIENT, SN_NEEDS_TID | SN_NEEDS_JOINED, NULL, h_any},
	{NULL, 0, 0, NULL, NULL},
};

static int setup(void **state)
{
	(void)state;
	memset(&sn, 0, sizeof(sn));
	sn.state = SN_JOINED;
	calls = 0;
	got_req = 0;
	if (handler_add_frames(&sn.handlers, peer_rows) < 0 ||
	    handler_add_frames(&sn.handlers, client_rows) < 0)
		return -1;
	return 0;
}

static const char *type_of(const char *type, unsigned from)
{
	last_row = handler_find_frame(&sn.handlers, type, from);
	return last_row != NULL ? last_row->type : NULL;
}

static void find_frame_takes_the_row_of_the_type_and_link(void **state)
{
	(void)state;
	/* The same type from either kind of link: two rows. */
	assert_string_equal(type_of("route", SN_FROM_PEER), "route");
	assert_ptr_equal(last_row, &peer_rows[0]);
	assert_string_equal(type_of("route", SN_FROM_CLIENT), "route");
	assert_ptr_equal(last_row, &client_rows[0]);
	assert_string_equal(type_of("ping", SN_FROM_PEER), "ping");
	/* A peer's frame without a row: nobody's. */
	assert_null(type_of("store", SN_FROM_PEER));
	assert_null(type_of("relay_alloc", SN_FROM_PEER));
	assert_null(type_of(NULL, SN_FROM_PEER));
	assert_null(type_of("route", 0));
}

static void find_frame_prefers_exact_rows_then_the_longest_pattern(void **state)
{
	(void)state;
	assert_string_equal(type_of("relay_alloc", SN_FROM_CLIENT), "relay_alloc");
	assert_string_equal(type_of("relay_bogus", SN_FROM_CLIENT), "relay_*");
	assert_string_equal(type_of("relay_", SN_FROM_CLIENT), "relay_*");
	assert_string_equal(type_of("relay", SN_FROM_CLIENT), "*");
	assert_string_equal(type_of("media", SN_FROM_CLIENT), "media");
	assert_string_equal(type_of("rep", SN_FROM_CLIENT), "*");
	assert_string_equal(type_of("", SN_FROM_CLIENT), "*");
	/* The order of the tables does not matter. */
	memset(&sn.handlers, 0, sizeof(sn.handlers));
	assert_int_equal(handler_add_frames(&sn.handlers, client_rows), 0);
	assert_int_equal(handler_add_frames(&sn.handlers, peer_rows), 0);
	assert_string_equal(type_of("relay_alloc", SN_FROM_CLIENT), "relay_alloc");
	assert_string_equal(type_of("relay_x", SN_FROM_CLIENT), "relay_*");
	assert_string_equal(type_of("route", SN_FROM_PEER), "route");
}

static void add_refuses_more_tables_than_it_holds(void **state)
{
	struct sn_handlers h;
	static const struct sn_op ops[] = {{NULL, NULL}};

	(void)state;
	memset(&h, 0, sizeof(h));
	for (int i = 0; i < SN_TABLES_MAX; i++) {
		assert_int_equal(handler_add_frames(&h, peer_rows), 0);
		assert_int_equal(handler_add_ops(&h, ops), 0);
	}
	assert_int_equal(handler_add_frames(&h, peer_rows), -1);
	assert_int_equal(handler_add_ops(&h, ops), -1);
}

/* Sends the JSON text as a frame from a link of that kind. Replies go
 * nowhere: the frames carry no tid, or one that is not a number, which
 * olink_reply drops before it looks at the link. */
static void frame(const char *text, unsigned from)
{
	json_t *msg = json_loads(text, 0, NULL);

	assert_non_null(msg);
	handler_frame(&sn, NULL, msg, from);
	json_decref(msg);
}

static void frame_checks_the_columns_before_the_handler(void **state)
{
	(void)state;
	frame("{\"t\":\"ping\"}", SN_FROM_PEER);
	assert_int_equal(calls, 1);
	assert_false(got_req); /* no parser: the handler reads the frame */
	/* A request-only frame sent one way is dropped. */
	frame("{\"t\":\"route\"}", SN_FROM_CLIENT);
	assert_int_equal(calls, 1);
	frame("{\"t\":\"route\",\"tid\":\"x\"}", SN_FROM_CLIENT);
	assert_int_equal(calls, 2);
	frame("{\"t\":\"media\"}", SN_FROM_CLIENT);
	assert_int_equal(calls, 3);
	/* Not joined: "busy" for the rows that need the ring, not the others. */
	sn.state = SN_JOINING;
	frame("{\"t\":\"route\",\"tid\":\"x\"}", SN_FROM_CLIENT);
	frame("{\"t\":\"drop_tables\",\"tid\":\"x\"}", SN_FROM_CLIENT);
	assert_int_equal(calls, 3);
	frame("{\"t\":\"relay_bogus\",\"tid\":\"x\"}", SN_FROM_CLIENT);
	assert_int_equal(calls, 4);
	/* Nobody's frame: answered, never handled. */
	frame("{\"t\":\"store\",\"tid\":\"x\"}", SN_FROM_PEER);
	frame("{\"t\":\"store\"}", SN_FROM_PEER);
	assert_int_equal(calls, 4);
}

static void frame_hands_the_parsed_request_or_refuses(void **state)
{
	(void)state;
	frame("{\"t\":\"relay_alloc\",\"tid\":\"x\",\"n\":3,\"tunnel\":true}", SN_FROM_CLIENT);
	assert_int_equal(calls, 1);
	assert_true(got_req);
	assert_int_equal(req_copy.alloc.n, 3);
	assert_int_equal(req_copy.alloc.tunnel, 1);
	frame("{\"t\":\"relay_alloc\",\"tid\":\"x\",\"n\":0}", SN_FROM_CLIENT);
	frame("{\"t\":\"relay_alloc\",\"tid\":\"x\"}", SN_FROM_CLIENT);
	assert_int_equal(calls, 1);
}

/* ---- routed requests ---- */

static json_t *last_reply;

static void done(json_t *reply, void *arg)
{
	(void)arg;
	json_decref(last_reply);
	last_reply = json_deep_copy(reply);
}

static void op_echo(struct sn *s, json_t *inner, route_done_t d, void *arg)
{
	json_t *r = route_ok(json_pack("{s:O}", "got", json_object_get(inner, "x")));

	(void)s;
	calls++;
	d(r, arg);
	json_decref(r);
}

static const struct sn_op ops[] = {{"echo", op_echo}, {"ping", op_echo}, {NULL, NULL}};

static const char *reply_field(const char *key)
{
	return json_string_value(json_object_get(last_reply, key));
}

static void op_runs_the_row_of_the_op_and_answers_the_rest(void **state)
{
	(void)state;
	assert_int_equal(handler_add_ops(&sn.handlers, ops), 0);
	assert_ptr_equal(handler_find_op(&sn.handlers, "ping"), &ops[1]);
	assert_null(handler_find_op(&sn.handlers, "pong"));
	assert_null(handler_find_op(&sn.handlers, NULL));

	handler_op(&sn, json_pack("{s:s,s:s}", "op", "echo", "x", "hi"), done, NULL);
	assert_int_equal(calls, 1);
	assert_true(json_is_true(json_object_get(last_reply, "ok")));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(last_reply, "res"), "got")),
		"hi");
	handler_op(&sn, json_pack("{s:s}", "op", "drop"), done, NULL);
	assert_true(json_is_false(json_object_get(last_reply, "ok")));
	assert_string_equal(reply_field("err"), "bad_request");
	assert_string_equal(reply_field("msg"), "unknown operation");
	handler_op(&sn, json_pack("{s:i}", "op", 5), done, NULL);
	assert_string_equal(reply_field("msg"), "no operation");
	assert_int_equal(calls, 1);
	json_decref(last_reply);
	last_reply = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(find_frame_takes_the_row_of_the_type_and_link, setup),
		cmocka_unit_test_setup(find_frame_prefers_exact_rows_then_the_longest_pattern,
				       setup),
		cmocka_unit_test_setup(add_refuses_more_tables_than_it_holds, setup),
		cmocka_unit_test_setup(frame_checks_the_columns_before_the_handler, setup),
		cmocka_unit_test_setup(frame_hands_the_parsed_request_or_refuses, setup),
		cmocka_unit_test_setup(op_runs_the_row_of_the_op_and_answers_the_rest, setup),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
