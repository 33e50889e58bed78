/* Unit tests of common/frame.c: the length-prefixed JSON frame codec on
 * buffers, on libevent evbuffers and on blocking sockets (a socketpair):
 * round trips, every truncation point, length limits, bodies that are not
 * JSON objects, duplicate keys, back-to-back frames, EOF and short reads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "frame.h"

#include <event2/buffer.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A frame built by hand: big-endian length n, then the body bytes. */
static uint8_t *raw_frame(uint32_t n, const char *body, size_t body_len, size_t *len)
{
	uint8_t *b = malloc(FRAME_HDR_LEN + body_len);

	assert_non_null(b);
	b[0] = (uint8_t)(n >> 24);
	b[1] = (uint8_t)(n >> 16);
	b[2] = (uint8_t)(n >> 8);
	b[3] = (uint8_t)n;
	if (body_len > 0)
		memcpy(b + FRAME_HDR_LEN, body, body_len);
	*len = FRAME_HDR_LEN + body_len;
	return b;
}

static uint8_t *body_frame(const char *body, size_t *len)
{
	return raw_frame((uint32_t)strlen(body), body, strlen(body), len);
}

static json_t *sample(void)
{
	json_t *o = json_pack("{s:s,s:i,s:b,s:[i,i],s:{s:s}}", "type", "hello", "n", 42, "ok", 1,
			      "list", 1, 2, "inner", "k", "caf\xc3\xa9 \x01\"\\");

	assert_non_null(o);
	return o;
}

static void test_encode_then_decode_round_trips(void **state)
{
	json_t *in = sample(), *out = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, consumed = 0;
	char err[128] = "";
	uint32_t n;

	(void)state;
	assert_int_equal(frame_encode(in, FRAME_MAX, &buf, &len), 0);
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	assert_int_equal(n, len - FRAME_HDR_LEN);
	assert_int_equal(buf[FRAME_HDR_LEN], '{');
	assert_null(memchr(buf + FRAME_HDR_LEN, '\n', n)); /* compact */
	assert_int_equal(frame_decode(buf, len, FRAME_MAX, &consumed, &out, err, sizeof(err)),
			 FRAME_OK);
	assert_int_equal(consumed, len);
	assert_true(json_equal(in, out));
	json_decref(in);
	json_decref(out);
	free(buf);
}

static void test_every_truncation_needs_more(void **state)
{
	json_t *in = sample(), *out = (json_t *)1;
	uint8_t *buf = NULL;
	size_t len = 0, consumed = 12345;
	char err[128];

	(void)state;
	assert_int_equal(frame_encode(in, FRAME_MAX, &buf, &len), 0);
	for (size_t cut = 0; cut < len; cut++) {
		enum frame_rc rc =
			frame_decode(buf, cut, FRAME_MAX, &consumed, &out, err, sizeof(err));
		if (rc != FRAME_NEED_MORE)
			fail_msg("cut at %zu of %zu: %s", cut, len, frame_rc_str(rc));
		assert_null(out);
		assert_int_equal(consumed, 12345);
	}
	json_decref(in);
	free(buf);
}

static void test_length_zero_is_too_big(void **state)
{
	uint8_t hdr[4] = {0, 0, 0, 0};
	json_t *out = NULL;
	size_t consumed;
	char err[128] = "";

	(void)state;
	assert_int_equal(
		frame_decode(hdr, sizeof(hdr), FRAME_MAX, &consumed, &out, err, sizeof(err)),
		FRAME_TOO_BIG);
	assert_contains(err, "frame length 0 out of range");
	assert_null(out);
}

static void test_length_over_max_is_too_big_from_the_header_alone(void **state)
{
	uint8_t hdr[4] = {0, 0x02, 0, 0x01}; /* FRAME_MAX + 1 */
	uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
	json_t *out = NULL;
	size_t consumed;
	char err[128] = "";

	(void)state;
	assert_int_equal(FRAME_MAX + 1, 0x20001);
	assert_int_equal(
		frame_decode(hdr, sizeof(hdr), FRAME_MAX, &consumed, &out, err, sizeof(err)),
		FRAME_TOO_BIG);
	assert_contains(err, "131073");
	assert_int_equal(
		frame_decode(huge, sizeof(huge), FRAME_MAX, &consumed, &out, err, sizeof(err)),
		FRAME_TOO_BIG);
	assert_contains(err, "4294967295");
	assert_null(out);
}

static void test_length_of_exactly_max_is_accepted(void **state)
{
	const char *body = "{\"a\":\"0123456789\"}";
	size_t max = strlen(body), len, consumed = 0;
	uint8_t *buf = body_frame(body, &len);
	json_t *out = NULL;
	char err[128];

	(void)state;
	assert_int_equal(frame_decode(buf, len, max, &consumed, &out, err, sizeof(err)), FRAME_OK);
	assert_int_equal(consumed, len);
	json_decref(out);
	assert_int_equal(frame_decode(buf, len, max - 1, &consumed, &out, err, sizeof(err)),
			 FRAME_TOO_BIG);
	free(buf);
}

static void test_encode_refuses_objects_over_max(void **state)
{
	json_t *o = json_pack("{s:s}", "a", "0123456789"); /* {"a":"0123456789"}: 18 bytes */
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(frame_encode(o, 17, &buf, &len), -1);
	assert_null(buf);
	assert_int_equal(frame_encode(o, 18, &buf, &len), 0);
	assert_int_equal(len, 22);
	free(buf);
	json_decref(o);
}

static void expect_body_rc(const char *body, size_t body_len, enum frame_rc want)
{
	size_t len, consumed = 777;
	uint8_t *buf = raw_frame((uint32_t)body_len, body, body_len, &len);
	json_t *out = (json_t *)1;
	char err[256] = "";
	enum frame_rc rc = frame_decode(buf, len, FRAME_MAX, &consumed, &out, err, sizeof(err));

	if (rc != want)
		fail_msg("body '%.*s': got %s, want %s", (int)body_len, body, frame_rc_str(rc),
			 frame_rc_str(want));
	assert_null(out);
	assert_int_equal(consumed, 777);
	assert_true(err[0] != '\0');
	free(buf);
}

static void test_bodies_that_are_not_json_are_bad_json(void **state)
{
	static const char *const bad[] = {
		"{",     "{abc}",    "{\"a\":}", "{\"a\":1,}",      "{}x",
		"{} {}", "\xff\xfe", "{'a':1}",  "{\"a\":1}\n\x01", "{\"a\":\"\\ud800\"}"};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_body_rc(bad[i], strlen(bad[i]), FRAME_BAD_JSON);
	/* A NUL inside the body. */
	expect_body_rc("{\"a\":1}\0", 8, FRAME_BAD_JSON);
	expect_body_rc("{\"a\":\"x\0y\"}", 11, FRAME_BAD_JSON);
	/* An escaped NUL inside a string is refused by the decoder too. */
	expect_body_rc("{\"a\":\"x\\u0000y\"}", 16, FRAME_BAD_JSON);
}

static void test_json_that_is_not_an_object_is_refused(void **state)
{
	static const char *const not_obj[] = {"[]", "[1,2]", "[{}]"};
	static const char *const scalars[] = {"1", "\"s\"", "true", "null"};

	(void)state;
	for (size_t i = 0; i < sizeof(not_obj) / sizeof(not_obj[0]); i++)
		expect_body_rc(not_obj[i], strlen(not_obj[i]), FRAME_NOT_OBJECT);
	/* Bare scalars are not even accepted as JSON texts by the decoder. */
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		size_t len, consumed;
		uint8_t *buf = body_frame(scalars[i], &len);
		json_t *out = NULL;
		char err[128];
		enum frame_rc rc =
			frame_decode(buf, len, FRAME_MAX, &consumed, &out, err, sizeof(err));
		assert_true(rc == FRAME_NOT_OBJECT || rc == FRAME_BAD_JSON);
		assert_null(out);
		free(buf);
	}
}

static void test_duplicate_keys_are_rejected(void **state)
{
	(void)state;
	expect_body_rc("{\"a\":1,\"a\":2}", 13, FRAME_BAD_JSON);
	expect_body_rc("{\"x\":{\"b\":1,\"b\":1}}", 19, FRAME_BAD_JSON);
}

static void test_two_frames_back_to_back_in_one_buffer(void **state)
{
	json_t *a = json_pack("{s:i}", "seq", 1), *b = json_pack("{s:i,s:s}", "seq", 2, "x", "y");
	uint8_t *fa, *fb, *both;
	size_t la, lb, consumed = 0;
	json_t *out = NULL;
	char err[128];

	(void)state;
	assert_int_equal(frame_encode(a, FRAME_MAX, &fa, &la), 0);
	assert_int_equal(frame_encode(b, FRAME_MAX, &fb, &lb), 0);
	both = malloc(la + lb);
	assert_non_null(both);
	memcpy(both, fa, la);
	memcpy(both + la, fb, lb);

	assert_int_equal(frame_decode(both, la + lb, FRAME_MAX, &consumed, &out, err, sizeof(err)),
			 FRAME_OK);
	assert_int_equal(consumed, la);
	assert_true(json_equal(out, a));
	json_decref(out);
	assert_int_equal(frame_decode(both + la, lb, FRAME_MAX, &consumed, &out, err, sizeof(err)),
			 FRAME_OK);
	assert_int_equal(consumed, lb);
	assert_true(json_equal(out, b));
	json_decref(out);
	/* The first frame is complete even when the second is cut short. */
	assert_int_equal(
		frame_decode(both, la + lb - 1, FRAME_MAX, &consumed, &out, err, sizeof(err)),
		FRAME_OK);
	assert_int_equal(consumed, la);
	json_decref(out);
	assert_int_equal(
		frame_decode(both + la, lb - 1, FRAME_MAX, &consumed, &out, err, sizeof(err)),
		FRAME_NEED_MORE);
	free(fa);
	free(fb);
	free(both);
	json_decref(a);
	json_decref(b);
}

static void test_rc_strings_are_distinct(void **state)
{
	(void)state;
	assert_string_equal(frame_rc_str(FRAME_OK), "ok");
	assert_string_not_equal(frame_rc_str(FRAME_TOO_BIG), frame_rc_str(FRAME_BAD_JSON));
	assert_string_not_equal(frame_rc_str(FRAME_NOT_OBJECT), frame_rc_str(FRAME_BAD_JSON));
	assert_string_equal(frame_rc_str((enum frame_rc)99), "?");
}

/* evbuffer */

static void test_evbuffer_read_waits_for_a_whole_frame_and_drains_it(void **state)
{
	struct evbuffer *eb = evbuffer_new();
	struct evbuffer *wire = evbuffer_new();
	json_t *a = sample(), *b = json_pack("{s:i}", "seq", 2), *out = NULL;
	size_t total;
	uint8_t *bytes;
	char err[128];

	(void)state;
	assert_int_equal(frame_write(wire, a, FRAME_MAX), 0);
	assert_int_equal(frame_write(wire, b, FRAME_MAX), 0);
	total = evbuffer_get_length(wire);
	bytes = malloc(total);
	assert_non_null(bytes);
	evbuffer_remove(wire, bytes, total);

	/* Feed the first frame one byte at a time. */
	size_t first = 0;
	for (;;) {
		enum frame_rc rc = frame_read(eb, FRAME_MAX, &out, err, sizeof(err));
		if (rc == FRAME_OK)
			break;
		assert_int_equal(rc, FRAME_NEED_MORE);
		assert_null(out);
		assert_int_equal(evbuffer_get_length(eb), first); /* nothing taken */
		assert_true(first < total);
		evbuffer_add(eb, bytes + first, 1);
		first++;
	}
	assert_true(json_equal(out, a));
	json_decref(out);
	assert_int_equal(evbuffer_get_length(eb), 0);

	/* The rest holds exactly the second frame. */
	evbuffer_add(eb, bytes + first, total - first);
	assert_int_equal(frame_read(eb, FRAME_MAX, &out, err, sizeof(err)), FRAME_OK);
	assert_true(json_equal(out, b));
	json_decref(out);
	assert_int_equal(evbuffer_get_length(eb), 0);
	assert_int_equal(frame_read(eb, FRAME_MAX, &out, err, sizeof(err)), FRAME_NEED_MORE);

	free(bytes);
	json_decref(a);
	json_decref(b);
	evbuffer_free(eb);
	evbuffer_free(wire);
}

static void test_evbuffer_read_refuses_bad_frames(void **state)
{
	struct evbuffer *eb = evbuffer_new();
	static const uint8_t zero[4] = {0, 0, 0, 0};
	static const uint8_t big[4] = {0, 0, 1, 0}; /* 256 */
	size_t len;
	uint8_t *dup = body_frame("{\"a\":1,\"a\":1}", &len);
	json_t *out = (json_t *)1;
	char err[128] = "";

	(void)state;
	evbuffer_add(eb, zero, sizeof(zero));
	assert_int_equal(frame_read(eb, FRAME_MAX, &out, err, sizeof(err)), FRAME_TOO_BIG);
	assert_null(out);
	evbuffer_drain(eb, evbuffer_get_length(eb));

	evbuffer_add(eb, big, sizeof(big));
	assert_int_equal(frame_read(eb, 255, &out, err, sizeof(err)), FRAME_TOO_BIG);
	assert_contains(err, "256");
	evbuffer_drain(eb, evbuffer_get_length(eb));

	evbuffer_add(eb, dup, len);
	evbuffer_add(eb, "xy", 2);
	assert_int_equal(frame_read(eb, FRAME_MAX, &out, err, sizeof(err)), FRAME_BAD_JSON);
	assert_null(out);
	assert_int_equal(evbuffer_get_length(eb), 2); /* exactly the bad frame went */
	free(dup);

	evbuffer_drain(eb, evbuffer_get_length(eb));
	dup = body_frame("[1]", &len);
	evbuffer_add(eb, dup, len);
	assert_int_equal(frame_read(eb, FRAME_MAX, &out, err, sizeof(err)), FRAME_NOT_OBJECT);
	free(dup);
	evbuffer_free(eb);
}

static void test_evbuffer_write_refuses_over_max_and_adds_nothing(void **state)
{
	struct evbuffer *eb = evbuffer_new();
	json_t *o = json_pack("{s:s}", "a", "0123456789");

	(void)state;
	assert_int_equal(frame_write(eb, o, 10), -1);
	assert_int_equal(evbuffer_get_length(eb), 0);
	json_decref(o);
	evbuffer_free(eb);
}

/* sockets */

static int sp[2];

static int sock_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
}

static int sock_teardown(void **state)
{
	(void)state;
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	return 0;
}

static void close_writer(void)
{
	close(sp[0]);
	sp[0] = -1;
}

static void test_fd_send_then_recv_round_trips(void **state)
{
	json_t *a = sample(), *b = json_pack("{s:i}", "n", 2), *out = NULL;
	char err[128];

	(void)state;
	assert_int_equal(frame_send_fd(sp[0], a, FRAME_MAX), 0);
	assert_int_equal(frame_send_fd(sp[0], b, FRAME_MAX), 0);
	assert_int_equal(frame_recv_fd(sp[1], FRAME_MAX, &out, err, sizeof(err)), FRAME_OK);
	assert_true(json_equal(out, a));
	json_decref(out);
	assert_int_equal(frame_recv_fd(sp[1], FRAME_MAX, &out, err, sizeof(err)), FRAME_OK);
	assert_true(json_equal(out, b));
	json_decref(out);
	json_decref(a);
	json_decref(b);
}

static void test_fd_recv_at_clean_eof_is_need_more(void **state)
{
	json_t *out = (json_t *)1;
	char err[128] = "";

	(void)state;
	close_writer();
	assert_int_equal(frame_recv_fd(sp[1], FRAME_MAX, &out, err, sizeof(err)), FRAME_NEED_MORE);
	assert_null(out);
	assert_contains(err, "closed");
}

static void test_fd_recv_with_eof_inside_the_header_fails(void **state)
{
	json_t *out = NULL;
	char err[128] = "";

	(void)state;
	assert_int_equal(write(sp[0], "\0\0", 2), 2);
	close_writer();
	assert_int_equal(frame_recv_fd(sp[1], FRAME_MAX, &out, err, sizeof(err)), -1);
	assert_null(out);
	assert_contains(err, "short read");
}

static void test_fd_recv_with_eof_inside_the_body_fails(void **state)
{
	size_t len;
	uint8_t *f = body_frame("{\"a\":12345}", &len);
	json_t *out = NULL;
	char err[128] = "";

	(void)state;
	assert_int_equal(write(sp[0], f, len - 1), (ssize_t)len - 1);
	close_writer();
	assert_int_equal(frame_recv_fd(sp[1], FRAME_MAX, &out, err, sizeof(err)), -1);
	assert_null(out);
	assert_contains(err, "short read");
	free(f);
}

static void test_fd_recv_refuses_an_oversized_header_without_reading_on(void **state)
{
	static const uint8_t hdr[4] = {0x7f, 0xff, 0xff, 0xff};
	json_t *out = NULL;
	char err[128] = "";

	(void)state;
	/* The writer stays open: a reader that tried to read 2 GiB would block. */
	assert_int_equal(write(sp[0], hdr, 4), 4);
	assert_int_equal(frame_recv_fd(sp[1], FRAME_MAX, &out, err, sizeof(err)), FRAME_TOO_BIG);
	assert_null(out);
	assert_contains(err, "2147483647");
}

static void test_fd_recv_reports_bad_json_and_non_objects(void **state)
{
	size_t l1, l2;
	uint8_t *f1 = body_frame("{nope}", &l1), *f2 = body_frame("[1,2]", &l2);
	json_t *out = NULL;
	char err[128];

	(void)state;
	assert_int_equal(write(sp[0], f1, l1), (ssize_t)l1);
	assert_int_equal(write(sp[0], f2, l2), (ssize_t)l2);
	assert_int_equal(frame_recv_fd(sp[1], FRAME_MAX, &out, err, sizeof(err)), FRAME_BAD_JSON);
	assert_int_equal(frame_recv_fd(sp[1], FRAME_MAX, &out, err, sizeof(err)), FRAME_NOT_OBJECT);
	assert_null(out);
	free(f1);
	free(f2);
}

static void test_fd_send_refuses_over_max_and_to_a_closed_peer(void **state)
{
	json_t *o = json_pack("{s:s}", "a", "0123456789");
	char c;

	(void)state;
	assert_int_equal(frame_send_fd(sp[0], o, 5), -1);
	/* Nothing went on the wire. */
	close_writer();
	assert_int_equal(read(sp[1], &c, 1), 0);
	/* Writing to a socket whose peer is gone fails (SIGPIPE is ignored). */
	close(sp[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	close(sp[1]);
	sp[1] = -1;
	assert_int_equal(frame_send_fd(sp[0], o, FRAME_MAX), -1);
	json_decref(o);
}

int main(void)
{
#define S(f) cmocka_unit_test_setup_teardown(f, sock_setup, sock_teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_then_decode_round_trips),
		cmocka_unit_test(test_every_truncation_needs_more),
		cmocka_unit_test(test_length_zero_is_too_big),
		cmocka_unit_test(test_length_over_max_is_too_big_from_the_header_alone),
		cmocka_unit_test(test_length_of_exactly_max_is_accepted),
		cmocka_unit_test(test_encode_refuses_objects_over_max),
		cmocka_unit_test(test_bodies_that_are_not_json_are_bad_json),
		cmocka_unit_test(test_json_that_is_not_an_object_is_refused),
		cmocka_unit_test(test_duplicate_keys_are_rejected),
		cmocka_unit_test(test_two_frames_back_to_back_in_one_buffer),
		cmocka_unit_test(test_rc_strings_are_distinct),
		cmocka_unit_test(test_evbuffer_read_waits_for_a_whole_frame_and_drains_it),
		cmocka_unit_test(test_evbuffer_read_refuses_bad_frames),
		cmocka_unit_test(test_evbuffer_write_refuses_over_max_and_adds_nothing),
		S(test_fd_send_then_recv_round_trips),
		S(test_fd_recv_at_clean_eof_is_need_more),
		S(test_fd_recv_with_eof_inside_the_header_fails),
		S(test_fd_recv_with_eof_inside_the_body_fails),
		S(test_fd_recv_refuses_an_oversized_header_without_reading_on),
		S(test_fd_recv_reports_bad_json_and_non_objects),
		S(test_fd_send_refuses_over_max_and_to_a_closed_peer),
	};
#undef S

	return cmocka_run_group_tests(tests, NULL, NULL);
}
