/* keepcert: the back-off of failed logins, and that a node with a wrong
 * password stays clear of logind's lockout (its default policy). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "keepcert.h"
#include "logind_ratelimit.h"

/* logind's defaults (etc/logind.conf): delays after 3, locked after 10
 * failures, a 15 min window, a 15 min lock. */
static const struct rl_policy logind_default = {
	.slow_after = 3, .lockout_after = 10, .window = 900, .lockout = 900, .max_delay = 8};

static void a_refused_password_waits_30s_doubling_to_30min(void **state)
{
	static const int64_t want[] = {30, 60, 120, 240, 480, 960, 1800, 1800, 1800};

	(void)state;
	for (int i = 0; i < 9; i++)
		assert_int_equal(keepcert_backoff(KC_REFUSED, i + 1, 0), want[i]);
	assert_int_equal(keepcert_backoff(KC_REFUSED, 1000000, 0), 1800);
}

static void other_errors_wait_2s_doubling_to_a_minute(void **state)
{
	static const int64_t want[] = {2, 4, 8, 16, 32, 60, 60};

	(void)state;
	for (int i = 0; i < 7; i++)
		assert_int_equal(keepcert_backoff(KC_ERROR, i + 1, 0), want[i]);
	assert_int_equal(keepcert_backoff(KC_ERROR, 0, 0), 2);
	assert_int_equal(keepcert_backoff(KC_ERROR, -5, 0), 2);
}

static void a_lock_waits_what_logind_asks_at_least_a_minute(void **state)
{
	(void)state;
	assert_int_equal(keepcert_backoff(KC_LOCKED, 1, 842), 842);
	assert_int_equal(keepcert_backoff(KC_LOCKED, 3, 5), 60);
	assert_int_equal(keepcert_backoff(KC_LOCKED, 1, 0), 60);
	assert_int_equal(keepcert_backoff(KC_LOCKED, 1, (int64_t)1 << 40), 86400);
}

/* A day of a node retrying a wrong password against logind's own rate
 * limiter: never locked, with the waits as they are and a tenth longer
 * (the most jitter adds). The old 2 s retry locks within a minute. */
static void a_wrong_password_never_locks_the_account(void **state)
{
	(void)state;
	for (int slack = 0; slack <= 10; slack += 10) {
		struct ratelimit *rl = rl_new(&logind_default, 16);
		int64_t t = 1000000, delay;
		int locked = 0, n = 0;

		while (t < 1000000 + 86400) {
			int64_t secs;
			assert_int_not_equal(rl_check(rl, "user:alice", t, &secs), RL_LOCKED);
			rl_fail(rl, "user:alice", t, &locked);
			assert_false(locked);
			n++;
			delay = keepcert_backoff(KC_REFUSED, n, 0);
			t += delay + delay * slack / 100;
		}
		assert_true(n > 40 && n < 60); /* it keeps trying, every 30 min */
		rl_free(rl);
	}
	{
		struct ratelimit *rl = rl_new(&logind_default, 16);
		int locked = 0, n = 0;

		for (int64_t t = 0; !locked && t < 60; t += 2, n++)
			rl_fail(rl, "user:alice", t, &locked);
		assert_true(locked);
		rl_free(rl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_refused_password_waits_30s_doubling_to_30min),
		cmocka_unit_test(other_errors_wait_2s_doubling_to_a_minute),
		cmocka_unit_test(a_lock_waits_what_logind_asks_at_least_a_minute),
		cmocka_unit_test(a_wrong_password_never_locks_the_account),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
