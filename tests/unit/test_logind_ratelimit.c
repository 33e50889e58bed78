/* logind_ratelimit: delays, lockouts, forgetting and the bounded key table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "logind_ratelimit.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static const struct rl_policy pol = {
	.slow_after = 3, .lockout_after = 5, .window = 60, .lockout = 300, .max_delay = 8};

/* The same policy with the lockout out of reach, to see the delays grow. */
static const struct rl_policy pol_nolock = {
	.slow_after = 3, .lockout_after = 1000, .window = 60, .lockout = 300, .max_delay = 8};

static enum rl_state check(struct ratelimit *rl, const char *key, int64_t now, int64_t *secs)
{
	*secs = -1;
	return rl_check(rl, key, now, secs);
}

static int fail_at(struct ratelimit *rl, const char *key, int64_t now, int *locked)
{
	*locked = -1;
	return rl_fail(rl, key, now, locked);
}

static void an_unknown_key_is_ok(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 16);
	int64_t secs;

	(void)state;
	assert_int_equal(check(rl, "user:alice", 1000, &secs), RL_OK);
	assert_int_equal(secs, 0);
	assert_int_equal(rl_count(rl), 0);
	rl_free(rl);
}

static void failures_below_slow_after_leave_the_key_ok(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 16);
	int64_t secs;
	int locked;

	(void)state;
	assert_int_equal(fail_at(rl, "user:alice", 1000, &locked), 1);
	assert_int_equal(locked, 0);
	assert_int_equal(check(rl, "user:alice", 1000, &secs), RL_OK);
	assert_int_equal(secs, 0);
	assert_int_equal(fail_at(rl, "user:alice", 1001, &locked), 2);
	assert_int_equal(locked, 0);
	assert_int_equal(check(rl, "user:alice", 1001, &secs), RL_OK);
	assert_int_equal(secs, 0);
	assert_int_equal(rl_count(rl), 1);
	rl_free(rl);
}

static void delays_double_from_slow_after_up_to_max_delay(void **state)
{
	struct ratelimit *rl = rl_new(&pol_nolock, 16);
	const int64_t want[] = {1, 2, 4, 8, 8, 8};
	int64_t secs, t = 1000;
	int locked;

	(void)state;
	fail_at(rl, "k", t++, &locked);
	fail_at(rl, "k", t++, &locked);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(fail_at(rl, "k", t, &locked), 3 + (int)i);
		assert_int_equal(locked, 0);
		assert_int_equal(check(rl, "k", t, &secs), RL_SLOW);
		assert_int_equal(secs, want[i]);
		t++;
	}
	/* Many more failures never overflow the delay. */
	for (int i = 0; i < 100; i++)
		fail_at(rl, "k", t, &locked);
	assert_int_equal(check(rl, "k", t, &secs), RL_SLOW);
	assert_int_equal(secs, 8);
	rl_free(rl);
}

static void the_key_locks_at_lockout_after_with_the_remaining_time(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 16);
	int64_t secs;
	int locked;

	(void)state;
	for (int i = 1; i <= 4; i++) {
		assert_int_equal(fail_at(rl, "user:bob", 1000 + i, &locked), i);
		assert_int_equal(locked, 0);
	}
	assert_int_equal(check(rl, "user:bob", 1004, &secs), RL_SLOW);
	assert_int_equal(secs, 2);
	assert_int_equal(fail_at(rl, "user:bob", 1005, &locked), 5);
	assert_int_equal(locked, 1);
	assert_int_equal(check(rl, "user:bob", 1005, &secs), RL_LOCKED);
	assert_int_equal(secs, 300);
	assert_int_equal(check(rl, "user:bob", 1105, &secs), RL_LOCKED);
	assert_int_equal(secs, 200);
	assert_int_equal(check(rl, "user:bob", 1304, &secs), RL_LOCKED);
	assert_int_equal(secs, 1);
	/* Failing again while locked neither extends nor restarts the lock. */
	assert_int_equal(fail_at(rl, "user:bob", 1200, &locked), 6);
	assert_int_equal(locked, 0);
	assert_int_equal(check(rl, "user:bob", 1200, &secs), RL_LOCKED);
	assert_int_equal(secs, 105);
	rl_free(rl);
}

/* logind's table of user names: slowed without end, never locked. */
static void a_policy_without_lockout_only_slows(void **state)
{
	struct rl_policy p = pol;
	struct ratelimit *rl;
	int64_t secs;
	int locked;

	(void)state;
	p.lockout_after = INT_MAX;
	rl = rl_new(&p, 16);
	for (int i = 1; i <= 1000; i++) {
		assert_int_equal(fail_at(rl, "u:alice", 1000, &locked), i);
		assert_int_equal(locked, 0);
	}
	assert_int_equal(check(rl, "u:alice", 1000, &secs), RL_SLOW);
	assert_int_equal(secs, 8);
	rl_free(rl);
}

static void a_lock_ends_after_lockout_and_the_count_starts_afresh(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 16);
	int64_t secs;
	int locked;

	(void)state;
	for (int i = 0; i < 5; i++)
		fail_at(rl, "k", 1000, &locked);
	assert_int_equal(locked, 1);
	assert_int_equal(check(rl, "k", 1299, &secs), RL_LOCKED);
	assert_int_equal(check(rl, "k", 1300, &secs), RL_OK);
	assert_int_equal(secs, 0);
	assert_int_equal(fail_at(rl, "k", 1301, &locked), 1);
	assert_int_equal(locked, 0);
	assert_int_equal(check(rl, "k", 1301, &secs), RL_OK);
	rl_free(rl);
}

static void a_failure_just_after_the_lock_counts_from_one(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 16);
	int locked;

	(void)state;
	for (int i = 0; i < 5; i++)
		fail_at(rl, "k", 1000, &locked);
	/* No rl_check in between: rl_fail alone notices the lock is over. */
	assert_int_equal(fail_at(rl, "k", 1300, &locked), 1);
	assert_int_equal(locked, 0);
	rl_free(rl);
}

static void a_lock_shorter_than_the_window_ends_with_no_delay(void **state)
{
	const struct rl_policy p = {
		.slow_after = 3, .lockout_after = 5, .window = 60, .lockout = 30, .max_delay = 8};
	struct ratelimit *rl = rl_new(&p, 16);
	enum rl_state st;
	int64_t secs;
	int locked, n;

	(void)state;
	for (int i = 0; i < 5; i++)
		fail_at(rl, "k", 1000, &locked);
	assert_int_equal(check(rl, "k", 1029, &secs), RL_LOCKED);
	/* Regression (fixed): rl_check (logind/logind_ratelimit.c:121-131) still counts the
	 * failures from before an expired lock when the lock is shorter than
	 * the window, so the first try after waiting out the lock is delayed
	 * (4 s here), while rl_fail (lines 142-146) says "a lock that ran out
	 * starts the count afresh" and counts that try as the first. */
	st = check(rl, "k", 1030, &secs);
	n = fail_at(rl, "k", 1031, &locked);
	rl_free(rl);
	assert_int_equal(n, 1);
	assert_int_equal(st, RL_OK);
	assert_int_equal(secs, 0);
}

static void failures_older_than_the_window_are_forgotten(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 16);
	int64_t secs;
	int locked;

	(void)state;
	for (int i = 0; i < 4; i++)
		fail_at(rl, "k", 1000 + i, &locked);
	assert_int_equal(check(rl, "k", 1003, &secs), RL_SLOW);
	assert_int_equal(check(rl, "k", 1062, &secs), RL_SLOW);
	/* 60 s after the last failure. */
	assert_int_equal(check(rl, "k", 1063, &secs), RL_OK);
	assert_int_equal(secs, 0);
	assert_int_equal(rl_count(rl), 0);
	assert_int_equal(fail_at(rl, "k", 1064, &locked), 1);
	/* rl_fail forgets old failures by itself too. */
	for (int i = 0; i < 3; i++)
		fail_at(rl, "j", 2000, &locked);
	assert_int_equal(fail_at(rl, "j", 2060, &locked), 1);
	assert_int_equal(locked, 0);
	rl_free(rl);
}

static void rl_success_clears_a_key(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 16);
	int64_t secs;
	int locked;

	(void)state;
	for (int i = 0; i < 4; i++)
		fail_at(rl, "user:carol", 1000, &locked);
	assert_int_equal(check(rl, "user:carol", 1000, &secs), RL_SLOW);
	rl_success(rl, "user:carol");
	assert_int_equal(rl_count(rl), 0);
	assert_int_equal(check(rl, "user:carol", 1000, &secs), RL_OK);
	assert_int_equal(fail_at(rl, "user:carol", 1001, &locked), 1);
	/* On an unknown key it does nothing. */
	rl_success(rl, "user:nobody");
	assert_int_equal(rl_count(rl), 1);
	rl_free(rl);
}

static void keys_are_independent(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 16);
	int64_t secs;
	int locked;

	(void)state;
	for (int i = 0; i < 5; i++)
		fail_at(rl, "user:dave", 1000, &locked);
	assert_int_equal(fail_at(rl, "addr:192.0.2.1", 1000, &locked), 1);
	assert_int_equal(check(rl, "user:dave", 1000, &secs), RL_LOCKED);
	assert_int_equal(check(rl, "addr:192.0.2.1", 1000, &secs), RL_OK);
	assert_int_equal(check(rl, "user:dav", 1000, &secs), RL_OK);
	assert_int_equal(check(rl, "user:davee", 1000, &secs), RL_OK);
	assert_int_equal(check(rl, "USER:DAVE", 1000, &secs), RL_OK);
	rl_success(rl, "addr:192.0.2.1");
	assert_int_equal(check(rl, "user:dave", 1000, &secs), RL_LOCKED);
	assert_int_equal(rl_count(rl), 1);
	rl_free(rl);
}

static void many_keys_share_buckets_without_mixing(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 100000);
	char key[32];
	int64_t secs;
	int locked;

	(void)state;
	/* More keys than buckets, so chains form. */
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "addr:10.%d.%d.1", i / 256, i % 256);
		assert_int_equal(fail_at(rl, key, 1000, &locked), 1);
	}
	assert_int_equal(rl_count(rl), 10000);
	for (int i = 0; i < 10000; i += 7) {
		snprintf(key, sizeof(key), "addr:10.%d.%d.1", i / 256, i % 256);
		assert_int_equal(fail_at(rl, key, 1001, &locked), 2);
	}
	for (int i = 0; i < 10000; i += 2) {
		snprintf(key, sizeof(key), "addr:10.%d.%d.1", i / 256, i % 256);
		rl_success(rl, key);
	}
	assert_int_equal(rl_count(rl), 5000);
	snprintf(key, sizeof(key), "addr:10.%d.%d.1", 7 / 256, 7 % 256);
	assert_int_equal(fail_at(rl, key, 1002, &locked), 3);
	assert_int_equal(check(rl, key, 1002, &secs), RL_SLOW);
	rl_free(rl);
}

static void a_fifth_key_evicts_the_stalest_of_four(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 4);
	int64_t secs;
	int locked;

	(void)state;
	/* "b" failed longest ago, though it was added second. */
	fail_at(rl, "a", 1010, &locked);
	fail_at(rl, "b", 1001, &locked);
	fail_at(rl, "c", 1012, &locked);
	fail_at(rl, "d", 1013, &locked);
	fail_at(rl, "a", 1020, &locked);
	fail_at(rl, "a", 1021, &locked);
	assert_int_equal(rl_count(rl), 4);
	assert_int_equal(fail_at(rl, "e", 1030, &locked), 1);
	assert_int_equal(rl_count(rl), 4);
	/* b is gone: a new failure counts from one. a kept its three. */
	assert_int_equal(check(rl, "a", 1030, &secs), RL_SLOW);
	assert_int_equal(fail_at(rl, "c", 1031, &locked), 2);
	assert_int_equal(fail_at(rl, "d", 1031, &locked), 2);
	assert_int_equal(fail_at(rl, "e", 1031, &locked), 2);
	assert_int_equal(rl_count(rl), 4);
	rl_free(rl);
}

static void a_full_table_drops_forgotten_entries_before_live_ones(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 4);
	int locked;

	(void)state;
	fail_at(rl, "old1", 1000, &locked);
	fail_at(rl, "old2", 1000, &locked);
	fail_at(rl, "live1", 1100, &locked);
	fail_at(rl, "live2", 1100, &locked);
	/* At 1101 old1 and old2 are past the window. */
	fail_at(rl, "new", 1101, &locked);
	assert_int_equal(rl_count(rl), 3);
	assert_int_equal(fail_at(rl, "live1", 1102, &locked), 2);
	assert_int_equal(fail_at(rl, "live2", 1102, &locked), 2);
	rl_free(rl);
}

static void the_table_never_grows_past_its_bound(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 4);
	char key[32];
	int locked;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "user:u%d", i);
		assert_int_equal(fail_at(rl, key, 1000 + i / 10, &locked), 1);
		assert_true(rl_count(rl) <= 4);
	}
	assert_int_equal(rl_count(rl), 4);
	rl_free(rl);
}

static void a_key_longer_than_rl_key_max_is_still_counted(void **state)
{
	struct ratelimit *rl = rl_new(&pol, 16);
	char key[RL_KEY_MAX + 32];
	int64_t secs;
	int locked;
	int n = 0;
	size_t count;
	enum rl_state st;

	(void)state;
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	/* Regression (fixed): rl_fail (logind/logind_ratelimit.c:153) stores the key truncated
	 * to RL_KEY_MAX-1 bytes but find() (line 66) compares the whole key, so
	 * a longer key is never found again: every failure makes a fresh entry
	 * that counts 1, the key never slows or locks (fail open) and the table
	 * fills with copies. Today's callers truncate their keys first. */
	for (int i = 0; i < 5; i++)
		n = fail_at(rl, key, 1000, &locked);
	st = check(rl, key, 1000, &secs);
	count = rl_count(rl);
	rl_free(rl);
	assert_int_equal(n, 5);
	assert_int_equal(st, RL_LOCKED);
	assert_int_equal(count, 1);
}

static void rl_free_accepts_null(void **state)
{
	(void)state;
	rl_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_unknown_key_is_ok),
		cmocka_unit_test(failures_below_slow_after_leave_the_key_ok),
		cmocka_unit_test(delays_double_from_slow_after_up_to_max_delay),
		cmocka_unit_test(the_key_locks_at_lockout_after_with_the_remaining_time),
		cmocka_unit_test(a_policy_without_lockout_only_slows),
		cmocka_unit_test(a_lock_ends_after_lockout_and_the_count_starts_afresh),
		cmocka_unit_test(a_failure_just_after_the_lock_counts_from_one),
		cmocka_unit_test(a_lock_shorter_than_the_window_ends_with_no_delay),
		cmocka_unit_test(failures_older_than_the_window_are_forgotten),
		cmocka_unit_test(rl_success_clears_a_key),
		cmocka_unit_test(keys_are_independent),
		cmocka_unit_test(many_keys_share_buckets_without_mixing),
		cmocka_unit_test(a_fifth_key_evicts_the_stalest_of_four),
		cmocka_unit_test(a_full_table_drops_forgotten_entries_before_live_ones),
		cmocka_unit_test(the_table_never_grows_past_its_bound),
		cmocka_unit_test(a_key_longer_than_rl_key_max_is_still_counted),
		cmocka_unit_test(rl_free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
