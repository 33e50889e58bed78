/* Unit tests of common/jsonx.c: the typed getters over untrusted JSON
 * objects (present, missing, optional, null, wrong type, length and range
 * limits, embedded NUL) and jx_only's allow-list of keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "jsonx.h"

#include <string.h>

static json_t *obj;
static char err[256];

static int setup(void **state)
{
	json_error_t jerr;

	(void)state;
	obj = json_loads("{\"s\":\"hello\", \"empty\":\"\", \"i\":42, \"neg\":-7, \"real\":1.0,"
			 " \"t\":true, \"f\":false, \"nul\":null, \"arr\":[1], \"o\":{},"
			 " \"num_str\":\"5\", \"zero\":0, \"big\":9223372036854775807,"
			 " \"small\":-9223372036854775808}",
			 0, &jerr);
	err[0] = '\0';
	return obj != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(obj);
	return 0;
}

/* jx_str */

static void test_str_present_and_valid(void **state)
{
	const char *v = NULL;

	(void)state;
	assert_int_equal(jx_str(obj, "s", 5, JX_REQUIRED, &v, err, sizeof(err)), 0);
	assert_string_equal(v, "hello");
	/* *out points into obj. */
	assert_ptr_equal(v, json_string_value(json_object_get(obj, "s")));
	v = NULL;
	assert_int_equal(jx_str(obj, "s", 5, JX_OPTIONAL, &v, err, sizeof(err)), 0);
	assert_string_equal(v, "hello");
}

static void test_str_missing_required_and_optional(void **state)
{
	const char *v = "untouched";

	(void)state;
	assert_int_equal(jx_str(obj, "nope", 10, JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "nope: missing");
	assert_int_equal(jx_str(obj, "nope", 10, JX_OPTIONAL, &v, err, sizeof(err)), 0);
	assert_string_equal(v, "untouched");
	/* null counts as absent. */
	assert_int_equal(jx_str(obj, "nul", 10, JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "nul: missing");
	assert_int_equal(jx_str(obj, "nul", 10, JX_OPTIONAL, &v, err, sizeof(err)), 0);
	assert_string_equal(v, "untouched");
}

static void test_str_wrong_types(void **state)
{
	static const char *const keys[] = {"i", "real", "t", "f", "arr", "o"};
	const char *v = "untouched";

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		err[0] = '\0';
		assert_int_equal(jx_str(obj, keys[i], 10, JX_OPTIONAL, &v, err, sizeof(err)), -1);
		assert_contains(err, "expected a string");
		assert_true(strncmp(err, keys[i], strlen(keys[i])) == 0);
	}
	assert_string_equal(v, "untouched");
}

static void test_str_length_limits(void **state)
{
	const char *v = "untouched";

	(void)state;
	assert_int_equal(jx_str(obj, "s", 4, JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "s: length must be 1..4");
	assert_int_equal(jx_str(obj, "empty", 4, JX_OPTIONAL, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "empty: length must be 1..4");
	assert_string_equal(v, "untouched");
}

static void test_str_with_embedded_nul_is_refused(void **state)
{
	json_error_t jerr;
	json_t *o = json_loads("{\"k\":\"a\\u0000b\"}", JSON_ALLOW_NUL, &jerr);
	json_t *o2 = json_object();
	const char *v = "untouched";

	(void)state;
	assert_non_null(o);
	assert_int_equal(jx_str(o, "k", 10, JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "k: contains NUL");
	/* Also at either end. */
	json_object_set_new(o2, "k", json_stringn("\0ab", 3));
	assert_int_equal(jx_str(o2, "k", 10, JX_REQUIRED, &v, err, sizeof(err)), -1);
	json_object_set_new(o2, "k", json_stringn("ab\0", 3));
	assert_int_equal(jx_str(o2, "k", 10, JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_string_equal(v, "untouched");
	json_decref(o);
	json_decref(o2);
}

static void test_str_counts_bytes_not_characters(void **state)
{
	json_t *o = json_pack("{s:s}", "k", "caf\xc3\xa9"); /* 4 characters, 5 bytes */
	const char *v = NULL;

	(void)state;
	assert_int_equal(jx_str(o, "k", 4, JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_int_equal(jx_str(o, "k", 5, JX_REQUIRED, &v, err, sizeof(err)), 0);
	json_decref(o);
}

static void test_str_on_a_non_object_is_missing(void **state)
{
	json_t *arr = json_array();
	const char *v = NULL;

	(void)state;
	assert_int_equal(jx_str(arr, "k", 4, JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_int_equal(jx_str(arr, "k", 4, JX_OPTIONAL, &v, err, sizeof(err)), 0);
	json_decref(arr);
}

/* jx_int */

static void test_int_present_and_at_both_bounds(void **state)
{
	int64_t v = 0;

	(void)state;
	assert_int_equal(jx_int(obj, "i", 0, 100, JX_REQUIRED, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 42);
	assert_int_equal(jx_int(obj, "i", 42, 42, JX_REQUIRED, &v, err, sizeof(err)), 0);
	assert_int_equal(jx_int(obj, "neg", -7, 0, JX_REQUIRED, &v, err, sizeof(err)), 0);
	assert_int_equal(v, -7);
	assert_int_equal(jx_int(obj, "big", 0, INT64_MAX, JX_REQUIRED, &v, err, sizeof(err)), 0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(jx_int(obj, "small", INT64_MIN, 0, JX_REQUIRED, &v, err, sizeof(err)), 0);
	assert_true(v == INT64_MIN);
}

static void test_int_out_of_range(void **state)
{
	int64_t v = 99;

	(void)state;
	assert_int_equal(jx_int(obj, "i", 0, 41, JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "i: must be 0..41");
	assert_int_equal(jx_int(obj, "i", 43, 100, JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_int_equal(jx_int(obj, "neg", 0, 10, JX_OPTIONAL, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "neg: must be 0..10");
	assert_int_equal(jx_int(obj, "big", 0, INT64_MAX - 1, JX_REQUIRED, &v, err, sizeof(err)),
			 -1);
	assert_int_equal(v, 99);
}

static void test_int_wrong_types(void **state)
{
	static const char *const keys[] = {"real", "num_str", "t", "f", "arr", "o", "s"};
	int64_t v = 99;

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		err[0] = '\0';
		assert_int_equal(jx_int(obj, keys[i], -100, 100, JX_OPTIONAL, &v, err, sizeof(err)),
				 -1);
		assert_contains(err, ": expected an integer");
	}
	assert_int_equal(v, 99);
}

static void test_int_missing_and_null(void **state)
{
	int64_t v = 99;

	(void)state;
	assert_int_equal(jx_int(obj, "nope", 0, 1, JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "nope: missing");
	assert_int_equal(jx_int(obj, "nope", 0, 1, JX_OPTIONAL, &v, err, sizeof(err)), 0);
	assert_int_equal(jx_int(obj, "nul", 0, 1, JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_int_equal(jx_int(obj, "nul", 0, 1, JX_OPTIONAL, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 99);
}

/* jx_bool */

static void test_bool_true_and_false(void **state)
{
	int v = -1;

	(void)state;
	assert_int_equal(jx_bool(obj, "t", JX_REQUIRED, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1);
	assert_int_equal(jx_bool(obj, "f", JX_REQUIRED, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 0);
}

static void test_bool_refuses_numbers_and_strings(void **state)
{
	static const char *const keys[] = {"zero", "i", "s", "real", "arr", "o"};
	int v = -1;

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_equal(jx_bool(obj, keys[i], JX_OPTIONAL, &v, err, sizeof(err)), -1);
		assert_contains(err, ": expected true or false");
	}
	assert_int_equal(v, -1);
}

static void test_bool_missing_and_null(void **state)
{
	int v = -1;

	(void)state;
	assert_int_equal(jx_bool(obj, "nope", JX_REQUIRED, &v, err, sizeof(err)), -1);
	assert_string_equal(err, "nope: missing");
	assert_int_equal(jx_bool(obj, "nope", JX_OPTIONAL, &v, err, sizeof(err)), 0);
	assert_int_equal(jx_bool(obj, "nul", JX_OPTIONAL, &v, err, sizeof(err)), 0);
	assert_int_equal(v, -1);
}

/* jx_only */

static void test_only_accepts_listed_keys(void **state)
{
	static const char *const keys[] = {"a", "b", "c", NULL};
	json_t *o = json_pack("{s:i,s:i}", "a", 1, "c", 2);
	json_t *empty = json_object();

	(void)state;
	assert_int_equal(jx_only(o, keys, err, sizeof(err)), 0);
	assert_int_equal(jx_only(empty, keys, err, sizeof(err)), 0);
	json_decref(o);
	json_decref(empty);
}

static void test_only_refuses_an_unlisted_key(void **state)
{
	static const char *const keys[] = {"a", "b", NULL};
	static const char *const none[] = {NULL};
	json_t *o = json_pack("{s:i,s:i}", "a", 1, "ab", 2);

	(void)state;
	assert_int_equal(jx_only(o, keys, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown field 'ab'");
	assert_int_equal(jx_only(o, none, err, sizeof(err)), -1);
	json_decref(o);
}

static void test_only_does_not_echo_a_long_key_whole(void **state)
{
	static const char *const keys[] = {"a", NULL};
	char longkey[200];
	json_t *o = json_object();

	(void)state;
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	json_object_set_new(o, longkey, json_true());
	assert_int_equal(jx_only(o, keys, err, sizeof(err)), -1);
	assert_true(strlen(err) < 60);
	assert_contains(err, "unknown field 'kkkk");
	json_decref(o);
}

static void test_only_is_case_sensitive(void **state)
{
	static const char *const keys[] = {"name", NULL};
	json_t *o = json_pack("{s:s}", "Name", "x");

	(void)state;
	assert_int_equal(jx_only(o, keys, err, sizeof(err)), -1);
	json_decref(o);
}

static void test_getters_accept_a_null_error_buffer(void **state)
{
	const char *s = NULL;
	int64_t i = 0;
	int b = 0;

	(void)state;
	assert_int_equal(jx_str(obj, "i", 10, JX_REQUIRED, &s, NULL, 0), -1);
	assert_int_equal(jx_int(obj, "s", 0, 1, JX_REQUIRED, &i, NULL, 0), -1);
	assert_int_equal(jx_bool(obj, "nope", JX_REQUIRED, &b, NULL, 0), -1);
}

static void load_object_takes_objects_within_the_limit_only(void **state)
{
	char e[256];
	json_t *j;

	(void)state;
	j = jx_load_object((const uint8_t *)"{\"a\":1}", 7, 7, e, sizeof(e));
	assert_non_null(j);
	json_decref(j);
	assert_null(jx_load_object((const uint8_t *)"{\"a\":1}", 7, 6, e, sizeof(e)));
	assert_non_null(strstr(e, "larger than 6 bytes"));
	assert_null(jx_load_object(NULL, 0, 100, e, sizeof(e)));
	assert_non_null(strstr(e, "empty body"));
	assert_null(jx_load_object((const uint8_t *)"[1]", 3, 100, e, sizeof(e)));
	assert_non_null(strstr(e, "not a JSON object"));
	assert_null(jx_load_object((const uint8_t *)"{\"a\":1,\"a\":2}", 13, 100, e, sizeof(e)));
	assert_non_null(strstr(e, "bad JSON"));
	assert_null(jx_load_object((const uint8_t *)"{\"a\":", 5, 100, e, sizeof(e)));
	assert_non_null(strstr(e, "bad JSON"));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(load_object_takes_objects_within_the_limit_only),
		T(test_str_present_and_valid),
		T(test_str_missing_required_and_optional),
		T(test_str_wrong_types),
		T(test_str_length_limits),
		T(test_str_with_embedded_nul_is_refused),
		T(test_str_counts_bytes_not_characters),
		T(test_str_on_a_non_object_is_missing),
		T(test_int_present_and_at_both_bounds),
		T(test_int_out_of_range),
		T(test_int_wrong_types),
		T(test_int_missing_and_null),
		T(test_bool_true_and_false),
		T(test_bool_refuses_numbers_and_strings),
		T(test_bool_missing_and_null),
		T(test_only_accepts_listed_keys),
		T(test_only_refuses_an_unlisted_key),
		T(test_only_does_not_echo_a_long_key_whole),
		T(test_only_is_case_sensitive),
		T(test_getters_accept_a_null_error_buffer),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
