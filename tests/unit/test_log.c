/* Unit tests of common/log.c: level names and parsing, level filtering, the
 * line format, and that control characters in messages never reach stderr.
 * stderr is captured through a pipe; fatal() is not tested (it exits). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "log.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Everything written to stderr between capture_begin and capture_end. */
static int cap_pipe[2] = {-1, -1};
static int cap_saved = -1;
static char cap_buf[8192];

static void capture_begin(void)
{
	assert_int_equal(pipe(cap_pipe), 0);
	cap_saved = dup(STDERR_FILENO);
	assert_true(cap_saved >= 0);
	assert_true(dup2(cap_pipe[1], STDERR_FILENO) >= 0);
	close(cap_pipe[1]);
}

static const char *capture_end(size_t *len)
{
	size_t used = 0;
	ssize_t n;

	dup2(cap_saved, STDERR_FILENO);
	close(cap_saved);
	while ((n = read(cap_pipe[0], cap_buf + used, sizeof(cap_buf) - 1 - used)) > 0)
		used += (size_t)n;
	close(cap_pipe[0]);
	cap_buf[used] = '\0';
	if (len != NULL)
		*len = used;
	return cap_buf;
}

static size_t count_char(const char *s, size_t len, char c)
{
	size_t k = 0;

	for (size_t i = 0; i < len; i++)
		k += s[i] == c;
	return k;
}

static int setup(void **state)
{
	(void)state;
	log_init("/usr/sbin/testprog", LOG_LVL_INFO);
	return 0;
}

static void test_level_parse_accepts_the_four_names(void **state)
{
	enum log_level l = LOG_LVL_ERROR;

	(void)state;
	assert_int_equal(log_level_parse("error", &l), 0);
	assert_int_equal(l, LOG_LVL_ERROR);
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LVL_WARN);
	assert_int_equal(log_level_parse("info", &l), 0);
	assert_int_equal(l, LOG_LVL_INFO);
	assert_int_equal(log_level_parse("debug", &l), 0);
	assert_int_equal(l, LOG_LVL_DEBUG);
}

static void test_level_parse_rejects_other_spellings(void **state)
{
	static const char *const bad[] = {"",      "ERROR", "Info",  "warning", "debug ",
					  " info", "inf",   "infoo", "3",       "trace"};
	enum log_level l = LOG_LVL_WARN;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (log_level_parse(bad[i], &l) != -1)
			fail_msg("'%s' was accepted", bad[i]);
	}
	assert_int_equal(l, LOG_LVL_WARN); /* untouched on failure */
}

static void test_level_name_round_trips_and_unknown_is_question_mark(void **state)
{
	(void)state;
	for (int i = LOG_LVL_ERROR; i <= LOG_LVL_DEBUG; i++) {
		enum log_level back;
		assert_int_equal(log_level_parse(log_level_name((enum log_level)i), &back), 0);
		assert_int_equal(back, i);
	}
	assert_string_equal(log_level_name((enum log_level)4), "?");
	assert_string_equal(log_level_name((enum log_level) - 1), "?");
}

static void test_set_level_and_get_level_agree(void **state)
{
	(void)state;
	log_set_level(LOG_LVL_DEBUG);
	assert_int_equal(log_get_level(), LOG_LVL_DEBUG);
	log_set_level(LOG_LVL_ERROR);
	assert_int_equal(log_get_level(), LOG_LVL_ERROR);
	log_init(NULL, LOG_LVL_WARN); /* NULL keeps the program name */
	assert_int_equal(log_get_level(), LOG_LVL_WARN);
}

static void test_line_has_timestamp_program_pid_level_and_message(void **state)
{
	char expect[128];
	const char *out;
	size_t len;
	int y, mo, d, h, mi, s, ms;
	char z;

	(void)state;
	log_set_level(LOG_LVL_INFO);
	capture_begin();
	log_info("hello %d", 42);
	out = capture_end(&len);
	/* The directory part of argv[0] is dropped. */
	snprintf(expect, sizeof(expect), " testprog[%ld] info: hello 42\n", (long)getpid());
	assert_contains(out, expect);
	assert_int_equal(
		sscanf(out, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms, &z), 8);
	assert_int_equal(z, 'Z');
	assert_in_range(mo, 1, 12);
	assert_int_equal(count_char(out, len, '\n'), 1);
	assert_int_equal(out[len - 1], '\n');
}

static void test_messages_below_the_level_are_dropped(void **state)
{
	const char *out;

	(void)state;
	log_set_level(LOG_LVL_WARN);
	capture_begin();
	log_debug("not shown 1");
	log_info("not shown 2");
	log_warn("shown warn");
	log_error("shown error");
	out = capture_end(NULL);
	assert_null(strstr(out, "not shown"));
	assert_contains(out, "warn: shown warn\n");
	assert_contains(out, "error: shown error\n");

	log_set_level(LOG_LVL_ERROR);
	capture_begin();
	log_warn("hidden");
	out = capture_end(NULL);
	assert_string_equal(out, "");

	log_set_level(LOG_LVL_DEBUG);
	capture_begin();
	log_debug("dbg");
	out = capture_end(NULL);
	assert_contains(out, "debug: dbg\n");
}

static void test_control_characters_are_replaced(void **state)
{
	const char *out;
	size_t len;

	(void)state;
	log_set_level(LOG_LVL_INFO);
	capture_begin();
	/* A newline would forge a second log line, ESC would drive the terminal. */
	log_info("a\nb\rc\x1b[31md\x7f"
		 "e\tf\x01g");
	out = capture_end(&len);
	assert_contains(out, "info: a?b?c?[31md?e?f?g\n");
	assert_int_equal(count_char(out, len, '\n'), 1);
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\x7f'));
}

static void test_control_characters_from_arguments_are_replaced(void **state)
{
	const char *out;
	size_t len;

	(void)state;
	capture_begin();
	log_warn("user %s", "evil\n2024-01-01T00:00:00.000Z fake[1] error: forged");
	out = capture_end(&len);
	assert_int_equal(count_char(out, len, '\n'), 1);
	assert_contains(out, "user evil?2024");
}

static void test_utf8_bytes_are_kept(void **state)
{
	const char *out;

	(void)state;
	capture_begin();
	log_info("caf\xc3\xa9");
	out = capture_end(NULL);
	assert_contains(out, "info: caf\xc3\xa9\n");
}

static void test_long_message_is_truncated_to_one_line(void **state)
{
	char *big = malloc(5000);
	const char *out;
	size_t len;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	capture_begin();
	log_info("%s", big);
	out = capture_end(&len);
	free(big);
	assert_true(len > 2000);
	assert_true(len < 2400);
	assert_int_equal(count_char(out, len, '\n'), 1);
	assert_int_equal(out[len - 1], '\n');
}

static void test_ssl_error_is_appended_and_queue_cleared(void **state)
{
	const char *out;

	(void)state;
	log_set_level(LOG_LVL_INFO);
	ERR_raise_data(ERR_LIB_SSL, ERR_R_MALLOC_FAILURE, "test");
	ERR_raise_data(ERR_LIB_SSL, ERR_R_PASSED_NULL_PARAMETER, "second");
	capture_begin();
	log_ssl_error("handshake with %s", "peer");
	out = capture_end(NULL);
	assert_contains(out, "error: handshake with peer: error:");
	assert_int_equal(ERR_peek_error(), 0);

	capture_begin();
	log_ssl_error("nothing queued");
	out = capture_end(NULL);
	assert_contains(out, "error: nothing queued\n");
}

static uint64_t mono_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static void test_log_allowed_holds_back_past_the_budget_and_says_how_many(void **state)
{
	struct log_limit l;
	int allowed;
	uint64_t t0;
	const char *out;

	(void)state;
	do { /* all five calls within one second of the clock */
		memset(&l, 0, sizeof(l));
		t0 = mono_sec();
		allowed = 0;
		for (int i = 0; i < 5; i++)
			allowed += log_allowed(&l, 3);
	} while (mono_sec() != t0);
	assert_int_equal(allowed, 3);
	assert_int_equal(l.held, 2);

	l.sec = 0; /* a later second: the count of what was held back comes first */
	capture_begin();
	assert_true(log_allowed(&l, 3));
	out = capture_end(NULL);
	assert_contains(out, "(2 lines like the next were not logged: at most 3 a second)");
	assert_int_equal(l.held, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_parse_accepts_the_four_names),
		cmocka_unit_test(test_log_allowed_holds_back_past_the_budget_and_says_how_many),
		cmocka_unit_test(test_level_parse_rejects_other_spellings),
		cmocka_unit_test(test_level_name_round_trips_and_unknown_is_question_mark),
		cmocka_unit_test(test_set_level_and_get_level_agree),
		cmocka_unit_test(test_line_has_timestamp_program_pid_level_and_message),
		cmocka_unit_test(test_messages_below_the_level_are_dropped),
		cmocka_unit_test(test_control_characters_are_replaced),
		cmocka_unit_test(test_control_characters_from_arguments_are_replaced),
		cmocka_unit_test(test_utf8_bytes_are_kept),
		cmocka_unit_test(test_long_message_is_truncated_to_one_line),
		cmocka_unit_test(test_ssl_error_is_appended_and_queue_cleared),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
