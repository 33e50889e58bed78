/* on_dialog: the answered calls counted for the status: one per Call-ID,
 * gone at BYE, forgotten after a day, all gone at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "on.h"

#include <stdio.h>

#include <sofia-sip/url.h>

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

/* Our phones in a call, by the Contact each gave: matched on user, host
 * and port (the default 5060), in that call only; at most four. */
static void test_phones(void **state)
{
	su_home_t home[1] = {SU_HOME_INIT(home)};
	struct on_dialogs *d = on_dialogs_new();
	char c[64];

	(void)state;
#define U(s) url_hdup(home, (url_t *)url_make(home, (s)))
	on_dialogs_learn(d, "a@host", "sip:bob@10.0.0.9;transport=tcp",
			 "sip:10.0.0.9:5060;transport=tcp", 1000);
	on_dialogs_learn(d, "a@host", "sip:bob@10.0.0.9;transport=tcp", "sip:x", 1000); /* once */
	on_dialogs_learn(d, "a@host", NULL, "sip:x", 1000);
	on_dialogs_learn(d, "a@host", "sip:eve@10.0.0.9", NULL, 1000);
	assert_int_equal(on_dialogs_count(d), 1);
	assert_string_equal(on_dialogs_phone(d, "a@host", U("sip:bob@10.0.0.9:5060")),
			    "sip:10.0.0.9:5060;transport=tcp");
	assert_non_null(on_dialogs_phone(d, "a@host", U("sip:bob@10.0.0.9;maddr=1.2.3.4")));
	assert_null(on_dialogs_phone(d, "a@host", U("sip:bob@10.0.0.9:5061")));
	assert_null(on_dialogs_phone(d, "a@host", U("sip:eve@10.0.0.9")));
	assert_null(on_dialogs_phone(d, "a@host", U("sip:bob@10.0.0.10")));
	assert_null(on_dialogs_phone(d, "b@host", U("sip:bob@10.0.0.9")));
	assert_null(on_dialogs_phone(NULL, "a@host", U("sip:bob@10.0.0.9")));
	for (int i = 0; i < 6; i++) {
		snprintf(c, sizeof(c), "sip:p%d@10.0.0.1", i);
		on_dialogs_learn(d, "a@host", c, "sip:10.0.0.1:5060;transport=udp", 1000);
	}
	assert_non_null(on_dialogs_phone(d, "a@host", U("sip:p2@10.0.0.1")));
	assert_null(on_dialogs_phone(d, "a@host", U("sip:p3@10.0.0.1"))); /* the fifth */
	on_dialogs_del(d, "a@host");
	assert_null(on_dialogs_phone(d, "a@host", U("sip:bob@10.0.0.9")));
#undef U
	on_dialogs_learn(d, "b@host", "sip:bob@10.0.0.9", "sip:10.0.0.9:5060;transport=udp", 1000);
	on_dialogs_free(d); /* frees the phones too (valgrind) */
	su_home_deinit(home);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_del),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_phones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
