/* ratelimit: token buckets per key (refill, burst, eviction of the bucket
 * used longest ago). The key of an address is test_netlist.c's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratelimit.h"

#include <string.h>

static void test_bucket_refills(void **state)
{
	struct rate_table *t = rate_table_new(4);

	(void)state;
	assert_non_null(t);
	for (int i = 0; i < 10; i++)
		assert_int_equal(rate_take(t, "a", 1, 5, 10, 1, 1000), 1);
	assert_int_equal(rate_take(t, "a", 1, 5, 10, 1, 1000), 0);
	/* another key has its own bucket */
	assert_int_equal(rate_take(t, "b", 1, 5, 10, 1, 1000), 1);
	/* 5 per second: 200 ms later one more */
	assert_int_equal(rate_take(t, "a", 1, 5, 10, 1, 1200), 1);
	assert_int_equal(rate_take(t, "a", 1, 5, 10, 1, 1200), 0);
	/* never above burst */
	assert_int_equal(rate_take(t, "a", 1, 5, 10, 10, 100000), 1);
	assert_int_equal(rate_take(t, "a", 1, 5, 10, 1, 100000), 0);
	rate_table_free(t);
}

static void test_cost_over_burst(void **state)
{
	struct rate_table *t = rate_table_new(2);

	(void)state;
	assert_int_equal(rate_take(t, "a", 1, 1000, 100, 101, 0), 0);
	assert_int_equal(rate_take(t, "a", 1, 1000, 100, 100, 0), 1);
	assert_int_equal(rate_take(t, "", 0, 1000, 100, 1, 0), 0);
	rate_table_free(t);
	rate_table_free(NULL);
}

static void test_evicts_oldest(void **state)
{
	struct rate_table *t = rate_table_new(2);

	(void)state;
	assert_int_equal(rate_take(t, "a", 1, 0, 1, 1, 10), 1);
	assert_int_equal(rate_take(t, "b", 1, 0, 1, 1, 20), 1);
	assert_int_equal(rate_take(t, "a", 1, 0, 1, 1, 30), 0);
	/* c takes b's bucket: b was used longest ago (a at 30) */
	assert_int_equal(rate_take(t, "c", 1, 0, 1, 1, 40), 1);
	assert_int_equal(rate_take(t, "a", 1, 0, 1, 1, 50), 0);
	rate_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_refills),
		cmocka_unit_test(test_cost_over_burst),
		cmocka_unit_test(test_evicts_oldest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
