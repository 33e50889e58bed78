/* on_dialog: the answered calls counted for the status: one per Call-ID,
 * gone at BYE, forgotten after a day, all gone at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "on.h"

#include <stdio.h>

#define DAY_MS (24ull * 3600 * 1000)

static void test_add_del(void **state)
{
	struct on_dialogs *d = on_dialogs_new();

	(void)state;
	assert_non_null(d);
	assert_int_equal(on_dialogs_count(d), 0);
	on_dialogs_add(d, "a@host", 1000);
	on_dialogs_add(d, "b@host", 1000);
	on_dialogs_add(d, "a@host", 2000); /* a second 2xx of a forked INVITE */
	assert_int_equal(on_dialogs_count(d), 2);
	on_dialogs_del(d, "a@host");
	on_dialogs_del(d, "a@host");
	on_dialogs_del(d, "never@host");
	assert_int_equal(on_dialogs_count(d), 1);
	on_dialogs_free(d);
	on_dialogs_free(NULL);
}

static void test_expire(void **state)
{
	struct on_dialogs *d = on_dialogs_new();
	char id[32];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "call-%d", i);
		on_dialogs_add(d, id, i < 1000 ? 0 : 1000);
	}
	assert_int_equal(on_dialogs_count(d), 5000);
	on_dialogs_expire(d, DAY_MS - 1, 0);
	assert_int_equal(on_dialogs_count(d), 5000);
	on_dialogs_expire(d, DAY_MS, 0);
	assert_int_equal(on_dialogs_count(d), 4000);
	on_dialogs_del(d, "call-4999");
	assert_int_equal(on_dialogs_count(d), 3999);
	on_dialogs_expire(d, 0, 1);
	assert_int_equal(on_dialogs_count(d), 0);
	on_dialogs_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_del),
		cmocka_unit_test(test_expire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
