/* The overlay configuration and CRL a node keeps from bootstrapd, written
 * out and read back with the checks of a fresh answer. */
#include "bootcache.h"

#include "crl.h"
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>

/* Limits bootstrapd did not give (0) stay absent, as they came. */
static void put_limit(json_t *lm, const char *key, int64_t v)
{
	if (v > 0)
		json_object_set_new(lm, key, json_integer((json_int_t)v));
}

char *bootcache_config_dump(const struct bootc_config *c)
{
	json_t *lm = json_object();
	json_t *j = json_pack("{s:s,s:s,s:{s:I,s:I,s:I,s:I}}", "overlay", c->overlay, "logind_url",
			      c->logind_url, "timers", "heartbeat_interval",
			      (json_int_t)c->timers.heartbeat, "stabilize_interval",
			      (json_int_t)c->timers.stabilize, "keepalive_interval",
			      (json_int_t)c->timers.keepalive, "cert_renew_before",
			      (json_int_t)c->timers.renew_before);
	char *s = NULL;

	if (j == NULL || lm == NULL)
		goto out;
	put_limit(lm, "record_value_max", c->limits.value_max);
	put_limit(lm, "values_per_resource", c->limits.values_per_resource);
	put_limit(lm, "records_per_user", c->limits.records_per_user);
	put_limit(lm, "record_lifetime_max", c->limits.lifetime_max);
	put_limit(lm, "frame_max", c->limits.frame_max);
	if (c->crl_number >= 0)
		json_object_set_new(j, "crl_number", json_integer((json_int_t)c->crl_number));
	json_object_set(j, "limits", lm);
	if (c->promotion.enable)
		json_object_set_new(j, "promotion",
				    json_pack("{s:b,s:I,s:I,s:I,s:f}", "enable", 1,
					      "want_supernodes",
					      (json_int_t)c->promotion.want_supernodes,
					      "min_uptime", (json_int_t)c->promotion.min_uptime,
					      "demote_after", (json_int_t)c->promotion.demote_after,
					      "max_load", c->promotion.max_load));
	s = json_dumps(j, JSON_COMPACT);
out:
	json_decref(lm);
	json_decref(j);
	return s;
}

int bootcache_config(const void *data, size_t len, const char *overlay, struct bootc_config *out,
		     char *err, size_t errlen)
{
	if (data == NULL || len == 0 || len > BOOTCACHE_ROW_MAX) {
		err_set(err, errlen, "empty or too large (%zu bytes)", len);
		return -1;
	}
	return bootc_config_parse(data, len, overlay, out, err, errlen) == BOOTC_OK ? 0 : -1;
}

struct crl *bootcache_crl(const void *data, size_t len, X509 *ca, char *err, size_t errlen)
{
	if (data == NULL || len == 0 || len > BOOTCACHE_ROW_MAX) {
		err_set(err, errlen, "empty or too large (%zu bytes)", len);
		return NULL;
	}
	return crl_parse(data, len, ca, err, errlen);
}

struct crl *bootcache_crl_row(void *data, size_t len, X509 *ca)
{
	char err[256];
	struct crl *c;

	if (data == NULL)
		return NULL;
	c = bootcache_crl(data, len, ca, err, sizeof(err));
	free(data);
	if (c == NULL)
		log_warn("cached CRL ignored: %s", err);
	else
		log_info("using the cached CRL %lld (%d revoked certificates)",
			 (long long)c->number, c->count);
	return c;
}
