/* Unit tests of common/prom.c: HELP and TYPE lines, samples with and
 * without a label, escaping of help text and label values, the extremes of
 * counters and gauges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "prom.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

/* The buffer's text, NUL-terminated; the buffer is freed. */
static char *text_of(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	assert_non_null(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static void test_counter_has_help_type_and_sample(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *s;

	(void)state;
	prom_counter(b, "p2psip_x_total", "Things done.", 42);
	s = text_of(b);
	assert_string_equal(s, "# HELP p2psip_x_total Things done.\n"
			       "# TYPE p2psip_x_total counter\n"
			       "p2psip_x_total 42\n");
	free(s);
}

static void test_gauge_without_help_has_type_only(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *s;

	(void)state;
	prom_gauge(b, "p2psip_y", NULL, -1);
	s = text_of(b);
	assert_string_equal(s, "# TYPE p2psip_y gauge\np2psip_y -1\n");
	free(s);
}

static void test_labelled_samples_share_one_head(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *s;

	(void)state;
	prom_head(b, "p2psip_z_total", PROM_COUNTER, "By reason.");
	prom_count(b, "p2psip_z_total", "why", "a", 1);
	prom_count(b, "p2psip_z_total", "why", "b", 2);
	prom_value(b, "p2psip_g", "role", "user", 7);
	s = text_of(b);
	assert_string_equal(s, "# HELP p2psip_z_total By reason.\n"
			       "# TYPE p2psip_z_total counter\n"
			       "p2psip_z_total{why=\"a\"} 1\n"
			       "p2psip_z_total{why=\"b\"} 2\n"
			       "p2psip_g{role=\"user\"} 7\n");
	free(s);
}

static void test_label_values_and_help_are_escaped(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *s;

	(void)state;
	prom_head(b, "m", PROM_GAUGE, "a \\ b\nc \"q\"");
	prom_value(b, "m", "k", "x\"y\\z\nw", 0);
	prom_value(b, "m", "k", NULL, 1);
	s = text_of(b);
	/* HELP keeps the quote (only label values escape it). */
	assert_string_equal(s, "# HELP m a \\\\ b\\nc \"q\"\n"
			       "# TYPE m gauge\n"
			       "m{k=\"x\\\"y\\\\z\\nw\"} 0\n"
			       "m{k=\"\"} 1\n");
	free(s);
}

static void test_extremes_print_in_full(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *s;

	(void)state;
	prom_count(b, "c_total", NULL, NULL, UINT64_MAX);
	prom_value(b, "g", NULL, NULL, INT64_MIN);
	s = text_of(b);
	assert_string_equal(s, "c_total 18446744073709551615\ng -9223372036854775808\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_has_help_type_and_sample),
		cmocka_unit_test(test_gauge_without_help_has_type_only),
		cmocka_unit_test(test_labelled_samples_share_one_head),
		cmocka_unit_test(test_label_values_and_help_are_escaped),
		cmocka_unit_test(test_extremes_print_in_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
