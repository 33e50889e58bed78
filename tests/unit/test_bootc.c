/* Unit tests of common/bootc.c: the parsers of bootstrapd's answers (good,
 * missing fields, wrong types, another overlay, oversized and truncated
 * answers), and the requests against a bare evhttp server in the same loop:
 * answers parsed and passed on, HTTP errors, a closed port, one request at
 * a time, cancelling. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bootc.h"
#include "crl.h"
#include "testutil.h"
#include "util.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID1 "0123456789abcdef0123456789ABCDEF"
#define ID2 "fedcba9876543210fedcba9876543210"

/* What bootstrapd's h_config sends. */
static const char good_config[] =
	"{\"overlay\":\"overlay.example\",\"logind_url\":\"https://127.0.0.1:7443\","
	"\"ca_certificate\":\"-----BEGIN CERTIFICATE-----\\n...\",\"crl_number\":4,"
	"\"timers\":{\"heartbeat_interval\":31,\"stabilize_interval\":5,"
	"\"keepalive_interval\":26,\"cert_renew_before\":3600},"
	"\"limits\":{\"record_value_max\":4096,\"values_per_resource\":32,"
	"\"records_per_user\":16,\"record_lifetime_max\":86400,\"frame_max\":131072}}";

static const char good_list[] =
	"{\"overlay\":\"overlay.example\",\"supernodes\":["
	"{\"node_id\":\"" ID1 "\",\"name\":\"sn1\",\"addresses\":[{\"host\":\"192.0.2.1\","
	"\"port\":5000},{\"host\":\"192.0.2.1\",\"port\":443}],\"load\":3,\"last_seen\":1},"
	"{\"node_id\":\"" ID2 "\",\"name\":\"sn2\",\"addresses\":[{\"host\":\"2001:db8::2\","
	"\"port\":5001}],\"load\":0,\"last_seen\":2}]}";

struct fx {
	struct tu_ca ca, other;
	uint8_t *crl_der;
	size_t crl_len;
	/* The server: what it answers and what it saw. */
	struct event_base *base;
	struct evhttp *http;
	char url[128];
	const char *config, *list;
	int crl_status;
	char uri[256], body[256];
};

static const uint8_t *u8(const char *s)
{
	return (const uint8_t *)s;
}

/* ---- the server ---- */

static void reply(struct evhttp_request *req, int status, const void *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	evbuffer_add(out, body, len);
	evhttp_send_reply(req, status, status == 200 ? "OK" : "Error", out);
	evbuffer_free(out);
}

static void s_any(struct evhttp_request *req, void *arg)
{
	struct fx *f = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);

	str_copy(f->uri, uri, sizeof(f->uri));
	n = n < sizeof(f->body) - 1 ? n : sizeof(f->body) - 1;
	evbuffer_copyout(in, f->body, n);
	f->body[n] = '\0';
	if (strcmp(uri, "/v1/config") == 0)
		reply(req, 200, f->config, strlen(f->config));
	else if (strncmp(uri, "/v1/supernodes", 14) == 0)
		reply(req, 200, f->list, strlen(f->list));
	else if (strcmp(uri, "/v1/crl") == 0 && f->crl_status == 200)
		reply(req, 200, f->crl_der, f->crl_len);
	else if (strcmp(uri, "/v1/crl") == 0)
		reply(req, f->crl_status, "{\"error\":\"no CRL yet\"}", 22);
	else
		reply(req, 200, "{}", 2);
}

static uint8_t *crl_der(X509_CRL *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509_CRL(x, &der);
	uint8_t *out = malloc((size_t)n);

	assert_true(n > 0);
	assert_non_null(out);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return out;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	static const uint64_t revoked[] = {5};
	X509_CRL *x;
	int port = tu_free_port();

	if (f == NULL || tu_ca_new(&f->ca) < 0 || tu_ca_new(&f->other) < 0 || port < 0)
		return -1;
	x = tu_crl(&f->ca, revoked, 1, 9);
	f->crl_der = crl_der(x, &f->crl_len);
	X509_CRL_free(x);
	f->base = event_base_new();
	f->http = evhttp_new(f->base);
	if (f->base == NULL || f->http == NULL)
		return -1;
	evhttp_set_gencb(f->http, s_any, f);
	if (evhttp_bind_socket(f->http, "127.0.0.1", (ev_uint16_t)port) != 0)
		return -1;
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", port);
	f->config = good_config;
	f->list = good_list;
	f->crl_status = 200;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	evhttp_free(f->http);
	event_base_free(f->base);
	free(f->crl_der);
	tu_ca_free(&f->ca);
	tu_ca_free(&f->other);
	free(f);
	return 0;
}

/* ---- configuration ---- */

static enum bootc_res config(const char *body, const char *overlay, struct bootc_config *c,
			     char *err)
{
	return bootc_config_parse(u8(body), strlen(body), overlay, c, err, 256);
}

static void test_config_good_answer_gives_every_field(void **state)
{
	struct bootc_config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(config(good_config, "overlay.example", &c, err), BOOTC_OK);
	assert_string_equal(c.overlay, "overlay.example");
	assert_string_equal(c.logind_url, "https://127.0.0.1:7443");
	assert_int_equal(c.crl_number, 4);
	assert_int_equal(c.timers.heartbeat, 31);
	assert_int_equal(c.timers.stabilize, 5);
	assert_int_equal(c.timers.keepalive, 26);
	assert_int_equal(c.timers.renew_before, 3600);
	assert_int_equal(c.limits.value_max, 4096);
	assert_int_equal(c.limits.values_per_resource, 32);
	assert_int_equal(c.limits.records_per_user, 16);
	assert_int_equal(c.limits.lifetime_max, 86400);
	assert_int_equal(c.limits.frame_max, 131072);
	/* No overlay to check against (p2psip login): any is taken. */
	assert_int_equal(config(good_config, NULL, &c, err), BOOTC_OK);
}

static void test_config_missing_fields_are_bad_answers(void **state)
{
	struct bootc_config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(config("{\"overlay\":\"overlay.example\"}", "overlay.example", &c, err),
			 BOOTC_BAD_ANSWER);
	assert_contains(err, "logind_url: missing");
	assert_int_equal(config("{\"logind_url\":\"https://x\"}", "overlay.example", &c, err),
			 BOOTC_BAD_ANSWER);
	assert_contains(err, "overlay: missing");
	/* A missing URL is a bad answer even from another overlay. */
	assert_int_equal(
		config("{\"overlay\":\"other\",\"logind_url\":null}", "overlay.example", &c, err),
		BOOTC_BAD_ANSWER);
}

#define PROMO_HEAD "{\"overlay\":\"o\",\"logind_url\":\"https://x\",\"promotion\":"

static void test_config_promotion_all_or_nothing(void **state)
{
	struct bootc_config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(config(PROMO_HEAD "{\"enable\":true,\"want_supernodes\":3,"
					   "\"min_uptime\":2,\"max_load\":0.5,"
					   "\"demote_after\":3}}",
				NULL, &c, err),
			 BOOTC_OK);
	assert_int_equal(c.promotion.enable, 1);
	assert_int_equal(c.promotion.want_supernodes, 3);
	assert_int_equal(c.promotion.min_uptime, 2);
	assert_int_equal(c.promotion.demote_after, 3);
	assert_true(c.promotion.max_load > 0.49 && c.promotion.max_load < 0.51);
	/* Absent (an older bootstrapd), off, or any number out of range: off. */
	assert_int_equal(config(good_config, NULL, &c, err), BOOTC_OK);
	assert_int_equal(c.promotion.enable, 0);
	assert_int_equal(config(PROMO_HEAD "{\"enable\":true,\"want_supernodes\":0,"
					   "\"min_uptime\":2,\"max_load\":0.5,"
					   "\"demote_after\":3}}",
				NULL, &c, err),
			 BOOTC_OK);
	assert_int_equal(c.promotion.enable, 0);
	assert_int_equal(config(PROMO_HEAD "{\"enable\":true,\"want_supernodes\":3,"
					   "\"min_uptime\":2,\"max_load\":\"0.5\","
					   "\"demote_after\":3}}",
				NULL, &c, err),
			 BOOTC_OK);
	assert_int_equal(c.promotion.enable, 0);
	assert_int_equal(config(PROMO_HEAD "\"yes\"}", NULL, &c, err), BOOTC_OK);
	assert_int_equal(c.promotion.enable, 0);
}

static void test_config_without_timers_and_limits_takes_defaults(void **state)
{
	struct bootc_config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(config("{\"overlay\":\"o\",\"logind_url\":\"https://x\"}", "o", &c, err),
			 BOOTC_OK);
	assert_int_equal(c.timers.heartbeat, BOOTC_HEARTBEAT_DEFAULT);
	assert_int_equal(c.timers.stabilize, BOOTC_STABILIZE_DEFAULT);
	assert_int_equal(c.timers.keepalive, BOOTC_KEEPALIVE_DEFAULT);
	assert_int_equal(c.timers.renew_before, BOOTC_RENEW_BEFORE_DEFAULT);
	assert_int_equal(c.limits.value_max, 0);
	assert_int_equal(c.limits.lifetime_max, 0);
	assert_int_equal(c.crl_number, -1);
}

static void test_config_wrong_types(void **state)
{
	struct bootc_config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(config("{\"overlay\":5,\"logind_url\":\"https://x\"}", "o", &c, err),
			 BOOTC_BAD_ANSWER);
	assert_contains(err, "overlay: expected a string");
	assert_int_equal(config("{\"overlay\":\"o\",\"logind_url\":[]}", "o", &c, err),
			 BOOTC_BAD_ANSWER);
	assert_contains(err, "logind_url: expected a string");
	assert_int_equal(config("[\"overlay\"]", "o", &c, err), BOOTC_BAD_ANSWER);
	assert_contains(err, "not a JSON object");
	assert_int_equal(config("not json", "o", &c, err), BOOTC_BAD_ANSWER);
	assert_contains(err, "bad JSON");
	/* Timers and limits of the wrong type, zero or negative keep the
	 * defaults, as before the client was shared. */
	assert_int_equal(config("{\"overlay\":\"o\",\"logind_url\":\"u\",\"timers\":"
				"{\"heartbeat_interval\":\"31\",\"stabilize_interval\":0,"
				"\"keepalive_interval\":-4,\"cert_renew_before\":2.5},"
				"\"limits\":{\"record_value_max\":\"big\",\"records_per_user\":-1},"
				"\"crl_number\":\"7\"}",
				"o", &c, err),
			 BOOTC_OK);
	assert_int_equal(c.timers.heartbeat, BOOTC_HEARTBEAT_DEFAULT);
	assert_int_equal(c.timers.stabilize, BOOTC_STABILIZE_DEFAULT);
	assert_int_equal(c.timers.keepalive, BOOTC_KEEPALIVE_DEFAULT);
	assert_int_equal(c.timers.renew_before, BOOTC_RENEW_BEFORE_DEFAULT);
	assert_int_equal(c.limits.value_max, 0);
	assert_int_equal(c.limits.records_per_user, 0);
	assert_int_equal(c.crl_number, -1);
	assert_int_equal(
		config("{\"overlay\":\"o\",\"logind_url\":\"u\",\"timers\":[1,2]}", "o", &c, err),
		BOOTC_OK);
	assert_int_equal(c.timers.heartbeat, BOOTC_HEARTBEAT_DEFAULT);
}

static void test_config_of_another_overlay_is_refused(void **state)
{
	struct bootc_config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(config(good_config, "mine.example", &c, err), BOOTC_WRONG_OVERLAY);
	assert_string_equal(
		err, "bootstrapd serves overlay overlay.example, configured is mine.example");
	assert_int_equal(config(good_config, "overlay.exampl", &c, err), BOOTC_WRONG_OVERLAY);
	assert_int_equal(config(good_config, "OVERLAY.EXAMPLE", &c, err), BOOTC_WRONG_OVERLAY);
	assert_string_equal(c.logind_url, ""); /* nothing of it kept */
}

static void test_config_oversized(void **state)
{
	struct bootc_config c;
	char err[256] = "";
	size_t n = BOOTC_ANSWER_MAX + 1;
	char *big = malloc(n + 1), *url = malloc(BOOTC_URL_MAX + 100);

	(void)state;
	assert_non_null(big);
	assert_non_null(url);
	/* A valid object, one byte over the limit. */
	memset(big, ' ', n);
	memcpy(big, good_config, strlen(good_config));
	big[n] = '\0';
	assert_int_equal(bootc_config_parse(u8(big), n, NULL, &c, err, sizeof(err)),
			 BOOTC_BAD_ANSWER);
	assert_contains(err, "larger than");
	assert_int_equal(bootc_config_parse(u8(big), n - 1, NULL, &c, err, sizeof(err)), BOOTC_OK);
	memset(url, 'a', BOOTC_URL_MAX + 1);
	url[BOOTC_URL_MAX + 1] = '\0';
	snprintf(big, n, "{\"overlay\":\"o\",\"logind_url\":\"%s\"}", url);
	assert_int_equal(config(big, "o", &c, err), BOOTC_BAD_ANSWER);
	assert_contains(err, "logind_url: length");
	url[BOOTC_URL_MAX] = '\0';
	snprintf(big, n, "{\"overlay\":\"o\",\"logind_url\":\"%s\"}", url);
	assert_int_equal(config(big, "o", &c, err), BOOTC_OK);
	assert_int_equal(strlen(c.logind_url), BOOTC_URL_MAX);
	/* Timers past 30 days are not believed. */
	assert_int_equal(config("{\"overlay\":\"o\",\"logind_url\":\"u\",\"timers\":"
				"{\"heartbeat_interval\":2592001,\"cert_renew_before\":2592000}}",
				"o", &c, err),
			 BOOTC_OK);
	assert_int_equal(c.timers.heartbeat, BOOTC_HEARTBEAT_DEFAULT);
	assert_int_equal(c.timers.renew_before, 2592000);
	free(big);
	free(url);
}

static void test_config_truncated_or_odd_is_refused(void **state)
{
	struct bootc_config c;
	char err[256] = "";
	size_t len = strlen(good_config);

	(void)state;
	for (size_t cut = 0; cut < len; cut++)
		if (bootc_config_parse(u8(good_config), cut, NULL, &c, err, sizeof(err)) !=
		    BOOTC_BAD_ANSWER)
			fail_msg("accepted a configuration cut at %zu of %zu", cut, len);
	assert_int_equal(bootc_config_parse(NULL, 0, NULL, &c, err, sizeof(err)), BOOTC_BAD_ANSWER);
	assert_contains(err, "empty body");
	/* Duplicate keys could make two readers see two overlays. */
	assert_int_equal(
		config("{\"overlay\":\"o\",\"overlay\":\"p\",\"logind_url\":\"u\"}", "p", &c, err),
		BOOTC_BAD_ANSWER);
	assert_int_equal(config("{\"overlay\":\"\",\"logind_url\":\"u\"}", "o", &c, err),
			 BOOTC_BAD_ANSWER);
}

/* ---- super node list ---- */

static enum bootc_res list(const char *body, struct bootc_list *l, char *err)
{
	return bootc_list_parse(u8(body), strlen(body), l, err, 256);
}

static void test_list_good_answer(void **state)
{
	struct bootc_list l;
	char err[256] = "", hex[RID_HEX_LEN + 1];

	(void)state;
	assert_int_equal(list(good_list, &l, err), BOOTC_OK);
	assert_int_equal(l.n, 2);
	assert_true(l.sn[0].has_id);
	rid_hex(&l.sn[0].id, hex);
	assert_string_equal(hex, "0123456789ABCDEF0123456789ABCDEF");
	assert_string_equal(l.sn[0].addr[0].host, "192.0.2.1");
	assert_int_equal(l.sn[0].addr[0].port, 5000);
	assert_string_equal(l.sn[0].addr[1].host, "192.0.2.1");
	assert_int_equal(l.sn[0].addr[1].port, 443);
	assert_string_equal(l.sn[1].addr[0].host, "2001:db8::2");
	assert_int_equal(l.sn[1].addr[0].port, 5001);
	assert_int_equal(l.sn[1].addr[1].port, 0);
	assert_int_equal(list("{\"supernodes\":[]}", &l, err), BOOTC_OK);
	assert_int_equal(l.n, 0);
}

static void test_list_missing_or_wrong_type_supernodes(void **state)
{
	struct bootc_list l;
	char err[256] = "";

	(void)state;
	assert_int_equal(list("{\"overlay\":\"o\"}", &l, err), BOOTC_BAD_ANSWER);
	assert_contains(err, "supernodes: expected an array");
	assert_int_equal(list("{\"supernodes\":{}}", &l, err), BOOTC_BAD_ANSWER);
	assert_int_equal(list("{\"supernodes\":null}", &l, err), BOOTC_BAD_ANSWER);
	assert_int_equal(list("[]", &l, err), BOOTC_BAD_ANSWER);
	assert_int_equal(l.n, 0);
}

/* Entries are judged one by one; an address keeps its place. */
static void test_list_bad_entries_and_addresses(void **state)
{
	struct bootc_list l;
	char err[256] = "";

	(void)state;
	assert_int_equal(
		list("{\"supernodes\":[5,\"x\",{},"
		     "{\"node_id\":\"" ID1 "\",\"addresses\":{\"host\":\"192.0.2.1\",\"port\":1}},"
		     "{\"node_id\":\"" ID1
		     "\",\"addresses\":[{\"host\":\"sn.example\",\"port\":1}]},"
		     "{\"node_id\":\"" ID1
		     "\",\"addresses\":[{\"host\":\"192.0.2.1\",\"port\":0}]},"
		     "{\"node_id\":\"" ID1
		     "\",\"addresses\":[{\"host\":\"192.0.2.1\",\"port\":65536}]},"
		     "{\"node_id\":\"" ID1
		     "\",\"addresses\":[{\"host\":\"192.0.2.1\",\"port\":\"80\"}]},"
		     "{\"node_id\":\"" ID1 "\",\"addresses\":[{\"host\":5,\"port\":80}]},"
		     "{\"node_id\":\"xyz\",\"addresses\":[{\"host\":\"192.0.2.7\",\"port\":7}]},"
		     "{\"addresses\":[{\"host\":\"bad\",\"port\":7},{\"host\":\"192.0.2.8\","
		     "\"port\":8}]},"
		     "{\"node_id\":\"" ID1 "0\",\"addresses\":[null,null,{\"host\":\"192.0.2.9\","
		     "\"port\":9}]}]}",
		     &l, err),
		BOOTC_OK);
	assert_int_equal(l.n, 2);
	assert_false(l.sn[0].has_id); /* not 32 hex digits: still an address */
	assert_string_equal(l.sn[0].addr[0].host, "192.0.2.7");
	assert_false(l.sn[1].has_id);
	assert_int_equal(l.sn[1].addr[0].port, 0); /* a name is not an IP literal */
	assert_string_equal(l.sn[1].addr[1].host, "192.0.2.8");
	assert_int_equal(l.sn[1].addr[1].port, 8);
}

static void test_list_oversized(void **state)
{
	struct bootc_list l;
	char err[256] = "";
	char *big = malloc(BOOTC_ANSWER_MAX + 2), *p;
	const char *entry = "{\"node_id\":\"" ID2 "\",\"addresses\":[{\"host\":\"192.0.2.1\","
			    "\"port\":5000}]},";

	(void)state;
	assert_non_null(big);
	/* More entries than kept: the first BOOTC_LIST_MAX. */
	p = big + sprintf(big, "{\"supernodes\":[");
	for (int i = 0; i < BOOTC_LIST_MAX + 8; i++)
		p += sprintf(p, "%s", entry);
	sprintf(p - 1, "]}");
	assert_int_equal(list(big, &l, err), BOOTC_OK);
	assert_int_equal(l.n, BOOTC_LIST_MAX);
	/* A host longer than an IP literal can be. */
	snprintf(big, BOOTC_ANSWER_MAX,
		 "{\"supernodes\":[{\"addresses\":[{\"host\":\"%0*d\","
		 "\"port\":1}]}]}",
		 BOOTC_HOST_MAX + 1, 1);
	assert_int_equal(list(big, &l, err), BOOTC_OK);
	assert_int_equal(l.n, 0);
	memset(big, ' ', BOOTC_ANSWER_MAX + 1);
	memcpy(big, good_list, strlen(good_list));
	assert_int_equal(bootc_list_parse(u8(big), BOOTC_ANSWER_MAX + 1, &l, err, sizeof(err)),
			 BOOTC_BAD_ANSWER);
	assert_contains(err, "larger than");
	free(big);
}

static void test_list_truncated_is_refused(void **state)
{
	struct bootc_list l;
	char err[256] = "";
	size_t len = strlen(good_list);

	(void)state;
	for (size_t cut = 0; cut < len; cut++)
		if (bootc_list_parse(u8(good_list), cut, &l, err, sizeof(err)) != BOOTC_BAD_ANSWER)
			fail_msg("accepted a list cut at %zu of %zu", cut, len);
}

/* ---- CRL ---- */

static void test_crl_good_and_bad(void **state)
{
	struct fx *f = *state;
	struct crl *c = NULL, *old;
	char err[256] = "";

	assert_int_equal(bootc_crl_parse(f->crl_der, f->crl_len, f->ca.cert, &c, err, sizeof(err)),
			 BOOTC_OK);
	assert_non_null(c);
	assert_int_equal(c->number, 9);
	assert_int_equal(c->count, 1);
	/* Newer means a higher number; nothing is newer than itself. */
	assert_true(bootc_crl_is_newer(NULL, c));
	assert_false(bootc_crl_is_newer(c, c));
	assert_false(bootc_crl_is_newer(c, NULL));
	old = crl_parse(f->crl_der, f->crl_len, f->ca.cert, NULL, 0);
	old->number = 8;
	assert_true(bootc_crl_is_newer(old, c));
	assert_false(bootc_crl_is_newer(c, old));
	crl_free(old);
	crl_free(c);
	assert_int_equal(
		bootc_crl_parse(f->crl_der, f->crl_len, f->other.cert, &c, err, sizeof(err)),
		BOOTC_BAD_ANSWER);
	assert_null(c);
	assert_contains(err, "not signed by the overlay CA");
	assert_int_equal(
		bootc_crl_parse(u8("{\"supernodes\":[]}"), 17, f->ca.cert, &c, err, sizeof(err)),
		BOOTC_BAD_ANSWER);
	assert_contains(err, "not a CRL");
	assert_int_equal(bootc_crl_parse(NULL, 0, f->ca.cert, &c, err, sizeof(err)),
			 BOOTC_BAD_ANSWER);
	assert_contains(err, "size out of range");
	for (size_t cut = 1; cut < f->crl_len; cut++)
		if (bootc_crl_parse(f->crl_der, cut, f->ca.cert, &c, err, sizeof(err)) !=
		    BOOTC_BAD_ANSWER)
			fail_msg("accepted a CRL cut at %zu of %zu", cut, f->crl_len);
}

/* ---- requests ---- */

struct got {
	int called;
	enum bootc_res res;
	char err[256];
	struct bootc_config cfg;
	struct bootc_list list;
	struct crl *crl;
	int status;
	struct bootc *free_me; /* freed from inside the callback */
};

static void got_err(struct got *g, enum bootc_res res, const char *err)
{
	g->called++;
	g->res = res;
	str_copy(g->err, err != NULL ? err : "(null)", sizeof(g->err));
	if (g->free_me != NULL)
		bootc_free(g->free_me);
}

static void on_config(enum bootc_res res, const struct bootc_config *cfg, const char *err,
		      void *arg)
{
	struct got *g = arg;

	if (cfg != NULL)
		g->cfg = *cfg;
	assert_true((res == BOOTC_OK) == (cfg != NULL));
	got_err(g, res, err);
}

static void on_list(enum bootc_res res, const struct bootc_list *l, const char *err, void *arg)
{
	struct got *g = arg;

	if (l != NULL)
		g->list = *l;
	got_err(g, res, err);
}

static void on_crl(enum bootc_res res, struct crl *c, const char *err, void *arg)
{
	struct got *g = arg;

	g->crl = c;
	got_err(g, res, err);
}

static void on_post(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct got *g = arg;

	(void)body, (void)len;
	g->status = status;
	got_err(g, BOOTC_OK, err);
}

static void on_spun(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	*(int *)arg = 1;
}

/* Runs the loop for ms (a callback that should not come has its chance). */
static void spin(struct fx *f, int ms)
{
	int done = 0;
	struct timeval tv = {0, ms * 1000};
	struct event *t = evtimer_new(f->base, on_spun, &done);

	evtimer_add(t, &tv);
	while (!done)
		event_base_loop(f->base, EVLOOP_ONCE);
	event_free(t);
}

static void wait_for(struct fx *f, struct got *g)
{
	RUN_UNTIL(f, g->called > 0, 5000);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(g->called, 1);
}

static void test_request_config(void **state)
{
	struct fx *f = *state;
	struct bootc *bc = bootc_new(f->base, f->url, "overlay.example", f->ca.cert, 5);
	struct got g = {0};
	char err[256] = "";

	assert_non_null(bc);
	assert_string_equal(bootc_url(bc), f->url);
	assert_int_equal(bootc_get_config(bc, NULL, on_config, &g, err, sizeof(err)), 0);
	assert_true(bootc_busy(bc));
	wait_for(f, &g);
	assert_false(bootc_busy(bc));
	assert_int_equal(g.res, BOOTC_OK);
	assert_string_equal(g.err, "(null)");
	assert_string_equal(g.cfg.logind_url, "https://127.0.0.1:7443");
	assert_string_equal(f->uri, "/v1/config");
	bootc_free(bc);
	/* The same answer to a node of another overlay. */
	bc = bootc_new(f->base, f->url, "mine.example", f->ca.cert, 5);
	memset(&g, 0, sizeof(g));
	assert_int_equal(bootc_get_config(bc, NULL, on_config, &g, err, sizeof(err)), 0);
	wait_for(f, &g);
	assert_int_equal(g.res, BOOTC_WRONG_OVERLAY);
	assert_contains(g.err, "configured is mine.example");
	/* And a bad one. */
	f->config = "{\"overlay\":\"mine.example\"}";
	memset(&g, 0, sizeof(g));
	assert_int_equal(bootc_get_config(bc, NULL, on_config, &g, err, sizeof(err)), 0);
	wait_for(f, &g);
	assert_int_equal(g.res, BOOTC_BAD_ANSWER);
	assert_contains(g.err, "logind_url: missing");
	bootc_free(bc);
}

static void test_request_list_crl_and_post(void **state)
{
	struct fx *f = *state;
	struct bootc *bc = bootc_new(f->base, f->url, NULL, f->ca.cert, 5);
	struct got g = {0};
	char err[256] = "";

	assert_int_equal(bootc_get_list(bc, NULL, 16, on_list, &g, err, sizeof(err)), 0);
	wait_for(f, &g);
	assert_int_equal(g.res, BOOTC_OK);
	assert_int_equal(g.list.n, 2);
	assert_string_equal(f->uri, "/v1/supernodes?count=16");
	assert_int_equal(bootc_get_list(bc, NULL, 0, on_list, &g, err, sizeof(err)), -1);
	assert_int_equal(
		bootc_get_list(bc, NULL, BOOTC_LIST_MAX + 1, on_list, &g, err, sizeof(err)), -1);
	memset(&g, 0, sizeof(g));
	assert_int_equal(bootc_get_crl(bc, NULL, on_crl, &g, err, sizeof(err)), 0);
	wait_for(f, &g);
	assert_int_equal(g.res, BOOTC_OK);
	assert_non_null(g.crl);
	assert_int_equal(g.crl->number, 9);
	crl_free(g.crl);
	f->crl_status = 503;
	memset(&g, 0, sizeof(g));
	assert_int_equal(bootc_get_crl(bc, NULL, on_crl, &g, err, sizeof(err)), 0);
	wait_for(f, &g);
	assert_int_equal(g.res, BOOTC_REFUSED);
	assert_null(g.crl);
	assert_string_equal(g.err, "HTTP 503");
	memset(&g, 0, sizeof(g));
	assert_int_equal(bootc_post(bc, NULL, "/v1/heartbeat", "{\"load\":3}", on_post, &g, err,
				    sizeof(err)),
			 0);
	wait_for(f, &g);
	assert_int_equal(g.status, 200);
	assert_string_equal(f->uri, "/v1/heartbeat");
	assert_string_equal(f->body, "{\"load\":3}");
	assert_int_equal(bootc_post(bc, NULL, "/v1/withdraw", NULL, on_post, &g, err, sizeof(err)),
			 -1);
	bootc_free(bc);
}

static void test_request_one_at_a_time_cancel_and_free(void **state)
{
	struct fx *f = *state;
	struct bootc *bc = bootc_new(f->base, f->url, NULL, f->ca.cert, 5);
	struct got g = {0}, g2 = {0};
	char err[256] = "";

	assert_int_equal(bootc_get_config(bc, NULL, on_config, &g, err, sizeof(err)), 0);
	assert_int_equal(bootc_get_list(bc, NULL, 8, on_list, &g2, err, sizeof(err)), -1);
	assert_contains(err, "already in flight");
	/* The refused request did not take the first one's callback. */
	wait_for(f, &g);
	assert_int_equal(g.res, BOOTC_OK);
	assert_int_equal(g2.called, 0);
	/* Cancelled: no callback. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(bootc_get_config(bc, NULL, on_config, &g, err, sizeof(err)), 0);
	bootc_cancel(bc);
	assert_false(bootc_busy(bc));
	spin(f, 200);
	assert_int_equal(g.called, 0);
	/* A callback may free the client. */
	g.free_me = bc;
	assert_int_equal(bootc_get_config(bc, NULL, on_config, &g, err, sizeof(err)), 0);
	wait_for(f, &g);
	/* Freed with a request in flight: no callback either. */
	bc = bootc_new(f->base, f->url, NULL, f->ca.cert, 5);
	memset(&g, 0, sizeof(g));
	assert_int_equal(bootc_get_config(bc, NULL, on_config, &g, err, sizeof(err)), 0);
	bootc_free(bc);
	bootc_free(NULL);
	spin(f, 200);
	assert_int_equal(g.called, 0);
}

static void test_request_unreachable_and_bad_arguments(void **state)
{
	struct fx *f = *state;
	char url[64], err[256] = "";
	struct got g = {0};
	struct bootc *bc;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", tu_free_port());
	bc = bootc_new(f->base, url, NULL, f->ca.cert, 5);
	assert_int_equal(bootc_get_config(bc, NULL, on_config, &g, err, sizeof(err)), 0);
	wait_for(f, &g);
	assert_int_equal(g.res, BOOTC_UNREACHABLE);
	assert_true(g.err[0] != '\0' && strcmp(g.err, "(null)") != 0);
	bootc_free(bc);
	/* Without a CA there is nothing to verify a CRL with. */
	bc = bootc_new(f->base, f->url, NULL, NULL, 5);
	assert_int_equal(bootc_get_crl(bc, NULL, on_crl, &g, err, sizeof(err)), -1);
	assert_contains(err, "no CA certificate");
	assert_false(bootc_busy(bc));
	bootc_free(bc);
	/* An https URL without a TLS context cannot start. */
	bc = bootc_new(f->base, "https://127.0.0.1:1", NULL, NULL, 5);
	assert_int_equal(bootc_get_config(bc, NULL, on_config, &g, err, sizeof(err)), -1);
	assert_contains(err, "bad URL");
	assert_false(bootc_busy(bc));
	bootc_free(bc);
	assert_null(bootc_new(NULL, url, NULL, NULL, 5));
	assert_null(bootc_new(f->base, NULL, NULL, NULL, 5));
	assert_null(bootc_new(f->base, url, NULL, NULL, 0));
	assert_string_equal(bootc_res_str(BOOTC_WRONG_OVERLAY), "wrong overlay");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_config_good_answer_gives_every_field),
		T(test_config_missing_fields_are_bad_answers),
		T(test_config_promotion_all_or_nothing),
		T(test_config_without_timers_and_limits_takes_defaults),
		T(test_config_wrong_types),
		T(test_config_of_another_overlay_is_refused),
		T(test_config_oversized),
		T(test_config_truncated_or_odd_is_refused),
		T(test_list_good_answer),
		T(test_list_missing_or_wrong_type_supernodes),
		T(test_list_bad_entries_and_addresses),
		T(test_list_oversized),
		T(test_list_truncated_is_refused),
		T(test_crl_good_and_bad),
		T(test_request_config),
		T(test_request_list_crl_and_post),
		T(test_request_one_at_a_time_cancel_and_free),
		T(test_request_unreachable_and_bad_arguments),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
