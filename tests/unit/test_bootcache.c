/* bootcache: the configuration and CRL a node keeps from bootstrapd: the
 * configuration written out reads back the same, a damaged or planted row
 * (garbage, another overlay's, a CRL of another CA, an oversized one) is
 * refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bootcache.h"
#include "crl.h"
#include "log.h"
#include "testutil.h"

#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define OV "overlay.example"

static void fill(struct bootc_config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->overlay, OV);
	strcpy(c->logind_url, "https://192.0.2.1:8443");
	c->crl_number = 12;
	c->timers.heartbeat = 30;
	c->timers.stabilize = 2;
	c->timers.keepalive = 25;
	c->timers.renew_before = 43200;
	c->limits.value_max = 8192;
	c->limits.records_per_user = 20;
	/* the promotion policy is kept too: a restart with bootstrapd down
	 * must not forget whether this node may step up */
	c->promotion.enable = 1;
	c->promotion.want_supernodes = 12;
	c->promotion.min_uptime = 3600;
	c->promotion.demote_after = 600;
	c->promotion.max_load = 0.5;
}

static void config_round_trips(void **state)
{
	struct bootc_config c, back;
	char err[256] = "";
	char *s;

	(void)state;
	fill(&c);
	s = bootcache_config_dump(&c);
	assert_non_null(s);
	assert_int_equal(bootcache_config(s, strlen(s), OV, &back, err, sizeof(err)), 0);
	assert_memory_equal(&c, &back, sizeof(c));
	/* No crl_number: -1 again. */
	c.crl_number = -1;
	free(s);
	s = bootcache_config_dump(&c);
	assert_int_equal(bootcache_config(s, strlen(s), NULL, &back, err, sizeof(err)), 0);
	assert_int_equal(back.crl_number, -1);
	free(s);
}

static void config_refuses_garbage_and_other_overlays(void **state)
{
	struct bootc_config c, back;
	char err[256] = "";
	const char *lit;
	char *s;
	static const char junk[] = "\x01\x02not json at all";

	(void)state;
	assert_int_equal(bootcache_config(junk, sizeof(junk), OV, &back, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	err[0] = '\0';
	lit = "{\"overlay\":\"" OV "\"}";
	assert_int_equal(bootcache_config(lit, strlen(lit), OV, &back, err, sizeof(err)), -1);
	assert_contains(err, "logind_url");
	assert_int_equal(bootcache_config(NULL, 0, OV, &back, err, sizeof(err)), -1);
	fill(&c);
	s = bootcache_config_dump(&c);
	assert_int_equal(bootcache_config(s, strlen(s), "other.example", &back, err, sizeof(err)),
			 -1);
	assert_contains(err, "other.example");
	free(s);
}

static uint8_t *der_of(X509_CRL *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509_CRL(x, &der);

	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

static void crl_is_verified_again(void **state)
{
	struct tu_ca ca, other;
	static const uint64_t revoked[] = {7};
	X509_CRL *x;
	uint8_t *der;
	size_t len;
	struct crl *c;
	char err[256] = "";

	(void)state;
	assert_int_equal(tu_ca_new(&ca), 0);
	assert_int_equal(tu_other_ca_new(&other), 0);
	x = tu_crl(&ca, revoked, 1, 3);
	der = der_of(x, &len);
	c = bootcache_crl(der, len, ca.cert, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(c->number, 3);
	assert_int_equal(c->count, 1);
	crl_free(c);
	/* The same bytes against another CA, cut short, or too large. */
	assert_null(bootcache_crl(der, len, other.cert, err, sizeof(err)));
	assert_null(bootcache_crl(der, len / 2, ca.cert, err, sizeof(err)));
	assert_null(bootcache_crl(der, BOOTCACHE_ROW_MAX + 1, ca.cert, err, sizeof(err)));
	assert_contains(err, "too large");
	OPENSSL_free(der);
	X509_CRL_free(x);
	tu_ca_free(&ca);
	tu_ca_free(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(config_round_trips),
		cmocka_unit_test(config_refuses_garbage_and_other_overlays),
		cmocka_unit_test(crl_is_verified_again),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
