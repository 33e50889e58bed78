/* on_boot: the parsers of bootstrapd's answers: the overlay configuration
 * (required fields, timers) and the super node list (main address then
 * fall-back, literal IPs only, bad ports and the limit), on good and
 * broken input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "on.h"

#include <string.h>

static int config(const char *text, struct on_boot_config *c)
{
	return on_boot_parse_config((const uint8_t *)text, strlen(text), c);
}

static int list(const char *text, struct sn_addr *out, int max)
{
	return on_boot_parse_list((const uint8_t *)text, strlen(text), out, max);
}

static void test_config(void **state)
{
	struct on_boot_config c;

	(void)state;
	assert_int_equal(config("{\"overlay\":\"overlay.example\",\"logind_url\":"
				"\"https://127.0.0.1:7443\",\"timers\":{\"cert_renew_before\":"
				"600,\"keepalive_interval\":20}}",
				&c),
			 0);
	assert_string_equal(c.overlay, "overlay.example");
	assert_string_equal(c.logind_url, "https://127.0.0.1:7443");
	assert_int_equal(c.renew_before, 600);
	assert_int_equal(c.keepalive, 20);
	on_boot_config_clear(&c);
	assert_null(c.overlay);
	/* timers are optional */
	assert_int_equal(config("{\"overlay\":\"o\",\"logind_url\":\"u\"}", &c), 0);
	assert_int_equal(c.renew_before, 0);
	assert_int_equal(c.keepalive, 0);
	on_boot_config_clear(&c);
}

static void test_config_bad(void **state)
{
	struct on_boot_config c;

	(void)state;
	assert_int_equal(config("{\"overlay\":\"o\"}", &c), -1);
	assert_null(c.overlay);
	assert_int_equal(config("{\"logind_url\":\"u\"}", &c), -1);
	assert_int_equal(config("{\"overlay\":1,\"logind_url\":\"u\"}", &c), -1);
	assert_int_equal(config("[]", &c), -1);
	assert_int_equal(config("{\"overlay\":\"o\",", &c), -1);
	assert_int_equal(config("", &c), -1);
	assert_int_equal(on_boot_parse_config((const uint8_t *)"\0\0", 2, &c), -1);
}

static void test_list(void **state)
{
	struct sn_addr a[ON_RESERVE_MAX];

	(void)state;
	assert_int_equal(list("{\"supernodes\":["
			      "{\"addresses\":[{\"host\":\"192.0.2.1\",\"port\":7000},"
			      "{\"host\":\"192.0.2.1\",\"port\":443}]},"
			      "{\"addresses\":[{\"host\":\"2001:db8::1\",\"port\":7001}]}]}",
			      a, ON_RESERVE_MAX),
			 3);
	assert_string_equal(a[0].host, "192.0.2.1");
	assert_int_equal(a[0].port, 7000);
	assert_int_equal(a[0].fallback, 0);
	assert_int_equal(a[1].port, 443);
	assert_int_equal(a[1].fallback, 1);
	assert_string_equal(a[2].host, "2001:db8::1");
	assert_int_equal(a[2].fallback, 0);
}

/* Names, bad ports and a third address are left out; max bounds it. */
static void test_list_filtered(void **state)
{
	struct sn_addr a[ON_RESERVE_MAX];

	(void)state;
	assert_int_equal(list("{\"supernodes\":["
			      "{\"addresses\":[{\"host\":\"sn.example\",\"port\":7000},"
			      "{\"host\":\"192.0.2.2\",\"port\":0}]},"
			      "{\"addresses\":[{\"host\":\"192.0.2.3\",\"port\":65536},"
			      "{\"host\":\"192.0.2.4\",\"port\":\"7000\"},"
			      "{\"host\":\"192.0.2.5\",\"port\":7000}]},"
			      "{\"addresses\":[{\"host\":\"192.0.2.6\",\"port\":65535}]}]}",
			      a, ON_RESERVE_MAX),
			 1);
	assert_string_equal(a[0].host, "192.0.2.6");
	assert_int_equal(list("{\"supernodes\":["
			      "{\"addresses\":[{\"host\":\"192.0.2.1\",\"port\":1},"
			      "{\"host\":\"192.0.2.1\",\"port\":2}]},"
			      "{\"addresses\":[{\"host\":\"192.0.2.2\",\"port\":1}]}]}",
			      a, 2),
			 2);
	assert_int_equal(list("{\"supernodes\":[]}", a, ON_RESERVE_MAX), 0);
	assert_int_equal(list("{\"supernodes\":{}}", a, ON_RESERVE_MAX), 0);
	assert_int_equal(list("{\"supernodes\":[1,null,{\"addresses\":7}]}", a, ON_RESERVE_MAX), 0);
	assert_int_equal(list("not json", a, ON_RESERVE_MAX), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_bad),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_list_filtered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
