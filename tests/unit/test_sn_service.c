/* sn_service: the records a super node advertises its services with
 * (service:stun, service:relay): their data, their signature, and the table
 * the services register in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "supernode.h"
#include "testutil.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fx {
	struct tu_ca ca;
	EVP_PKEY *key;
	X509 *cert;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int64_t now = (int64_t)time(NULL);

	if (f == NULL || tu_ca_new(&f->ca) < 0)
		return -1;
	*state = f;
	f->key = EVP_EC_gen("P-256");
	f->cert = tu_issue(&f->ca, f->key, "supernode", "sn1", now - 60, now + 3600, 12);
	return f->key != NULL && f->cert != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	X509_free(f->cert);
	EVP_PKEY_free(f->key);
	tu_ca_free(&f->ca);
	free(f);
	return 0;
}

static json_t *json_of(const char *text)
{
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);

	if (!json_is_object(j))
		fail_msg("not a JSON object: %s", text);
	return j;
}

static void stun_data_says_where_to_ask(void **state)
{
	char buf[128];
	json_t *j;

	(void)state;
	assert_int_equal(service_stun_data(buf, sizeof(buf), "192.0.2.7", 3478), 0);
	assert_string_equal(buf, "{\"host\":\"192.0.2.7\",\"port\":3478}");
	j = json_of(buf);
	assert_string_equal(json_string_value(json_object_get(j, "host")), "192.0.2.7");
	assert_int_equal(json_integer_value(json_object_get(j, "port")), 3478);
	json_decref(j);
	assert_int_equal(service_stun_data(buf, sizeof(buf), "2001:db8::1", 5070), 0);
	assert_string_equal(buf, "{\"host\":\"2001:db8::1\",\"port\":5070}");
	/* What does not fit is not advertised cut short. */
	assert_int_equal(service_stun_data(buf, 20, "192.0.2.7", 3478), -1);
}

static void relay_data_says_where_and_how_much_room(void **state)
{
	char buf[160];
	json_t *j;

	(void)state;
	assert_int_equal(service_relay_data(buf, sizeof(buf), "192.0.2.7", 40000, 49999, 2498), 0);
	assert_string_equal(
		buf, "{\"host\":\"192.0.2.7\",\"ports\":\"40000-49999\",\"streams_free\":2498}");
	j = json_of(buf);
	assert_string_equal(json_string_value(json_object_get(j, "ports")), "40000-49999");
	assert_int_equal(json_integer_value(json_object_get(j, "streams_free")), 2498);
	json_decref(j);
	assert_int_equal(service_relay_data(buf, 30, "192.0.2.7", 40000, 49999, 2498), -1);
}

static void record_is_signed_by_the_super_node(void **state)
{
	struct fx *f = *state;
	struct record r;
	struct rid res;
	char err[256];
	uint64_t now = now_ms();
	const char *data = "{\"host\":\"192.0.2.7\",\"port\":3478}";

	assert_int_equal(service_record(&r, "service:stun", data, now, f->key, f->cert), 0);
	assert_string_equal(r.name, "service:stun");
	assert_string_equal(r.kind, "stun");
	assert_string_equal(r.data, data);
	assert_int_equal(r.stored, now);
	assert_int_equal(r.life, SERVICE_LIFE);
	assert_int_equal(r.deleted, 0);
	rid_of_name("service:stun", &res);
	assert_true(rid_eq(&r.res, &res));
	assert_true(record_sig_ok(&r));
	/* Only a super node may store it, and this one may. */
	assert_int_equal(record_access_ok(&r, "overlay.example", err, sizeof(err)), 0);
	record_clear(&r);

	assert_int_equal(service_record(&r, "service:relay", "{}", now, f->key, f->cert), 0);
	assert_string_equal(r.kind, "relay");
	record_clear(&r);
}

static void record_refuses_names_that_are_not_services(void **state)
{
	struct fx *f = *state;
	struct record r;

	assert_int_equal(
		service_record(&r, "user:alice@overlay.example", "{}", now_ms(), f->key, f->cert),
		-1);
	assert_int_equal(service_record(&r, "service:", "{}", now_ms(), f->key, f->cert), -1);
	assert_int_equal(service_record(&r, "stun", "{}", now_ms(), f->key, f->cert), -1);
}

static int data_none(struct sn *sn, char *buf, size_t len)
{
	(void)sn, (void)buf, (void)len;
	return -1;
}

static void add_keeps_a_few_services(void **state)
{
	struct sn sn;
	char name[64];

	(void)state;
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(service_add(&sn, "service:stun", data_none), -1); /* not started */
	sn.base = event_base_new();
	assert_non_null(sn.base);
	assert_int_equal(service_start(&sn), 0);
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(service_add(&sn, name, data_none), -1); /* too long */
	assert_int_equal(service_add(&sn, "service:stun", data_none), 0);
	assert_int_equal(service_add(&sn, "service:relay", data_none), 0);
	assert_int_equal(service_add(&sn, "service:a", data_none), 0);
	assert_int_equal(service_add(&sn, "service:b", data_none), 0);
	assert_int_equal(service_add(&sn, "service:c", data_none), -1);
	/* Not joined: the timer advertises nothing (nor could it: no ring). */
	event_base_loop(sn.base, EVLOOP_NONBLOCK);
	service_stop(&sn);
	assert_null(sn.services);
	service_stop(&sn);
	event_base_free(sn.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stun_data_says_where_to_ask),
		cmocka_unit_test(relay_data_says_where_and_how_much_room),
		cmocka_unit_test_setup_teardown(record_is_signed_by_the_super_node, setup,
						teardown),
		cmocka_unit_test_setup_teardown(record_refuses_names_that_are_not_services, setup,
						teardown),
		cmocka_unit_test(add_keeps_a_few_services),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
