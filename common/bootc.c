/* The bootstrapd client: parsers of its answers (configuration, super node
 * list, CRL) and the requests that fetch them, one at a time. */
#include "bootc.h"

#include "crl.h"
#include "enroll.h"
#include "jsonx.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *bootc_res_str(enum bootc_res res)
{
	switch (res) {
	case BOOTC_OK:
		return "ok";
	case BOOTC_UNREACHABLE:
		return "unreachable";
	case BOOTC_REFUSED:
		return "refused";
	case BOOTC_BAD_ANSWER:
		return "bad answer";
	case BOOTC_WRONG_OVERLAY:
		return "wrong overlay";
	}
	return "?";
}

/* ---- configuration ---- */

/* A timer the overlay does not set sensibly keeps the default: bootstrapd
 * itself never sends one outside 1 s..30 days. */
static int64_t timer(const json_t *tm, const char *key, int64_t dflt)
{
	int64_t v;

	if (jx_int(tm, key, 1, BOOTC_TIMER_MAX, JX_REQUIRED, &v, NULL, 0) < 0)
		return dflt;
	return v;
}

/* 0 leaves the choice to the node's own configuration and defaults. */
static int64_t limit(const json_t *lm, const char *key)
{
	int64_t v;

	if (jx_int(lm, key, 1, INT64_MAX, JX_REQUIRED, &v, NULL, 0) < 0)
		return 0;
	return v;
}

/* "promotion": all or nothing, so that a half-read policy never promotes. */
static void read_promotion(const json_t *p, struct bootc_config *out)
{
	const json_t *ml = json_object_get(p, "max_load");
	int en = 0;

	memset(&out->promotion, 0, sizeof(out->promotion));
	if (jx_bool(p, "enable", JX_REQUIRED, &en, NULL, 0) < 0 || !en ||
	    jx_int(p, "want_supernodes", 1, BOOTC_WANT_MAX, JX_REQUIRED,
		   &out->promotion.want_supernodes, NULL, 0) < 0 ||
	    jx_int(p, "min_uptime", 1, BOOTC_TIMER_MAX, JX_REQUIRED, &out->promotion.min_uptime,
		   NULL, 0) < 0 ||
	    jx_int(p, "demote_after", 1, BOOTC_TIMER_MAX, JX_REQUIRED,
		   &out->promotion.demote_after, NULL, 0) < 0 ||
	    !json_is_number(ml) || !(json_number_value(ml) > 0) ||
	    json_number_value(ml) > BOOTC_LOAD_MAX) {
		memset(&out->promotion, 0, sizeof(out->promotion));
		return;
	}
	out->promotion.max_load = json_number_value(ml);
	out->promotion.enable = 1;
}

static void read_numbers(const json_t *j, struct bootc_config *out)
{
	const json_t *tm = json_object_get(j, "timers"), *lm = json_object_get(j, "limits");

	out->timers.heartbeat = timer(tm, "heartbeat_interval", BOOTC_HEARTBEAT_DEFAULT);
	out->timers.stabilize = timer(tm, "stabilize_interval", BOOTC_STABILIZE_DEFAULT);
	out->timers.keepalive = timer(tm, "keepalive_interval", BOOTC_KEEPALIVE_DEFAULT);
	out->timers.renew_before = timer(tm, "cert_renew_before", BOOTC_RENEW_BEFORE_DEFAULT);
	out->limits.value_max = limit(lm, "record_value_max");
	out->limits.values_per_resource = limit(lm, "values_per_resource");
	out->limits.records_per_user = limit(lm, "records_per_user");
	out->limits.lifetime_max = limit(lm, "record_lifetime_max");
	out->limits.frame_max = limit(lm, "frame_max");
	read_promotion(json_object_get(j, "promotion"), out);
	if (jx_int(j, "crl_number", INT64_MIN, INT64_MAX, JX_REQUIRED, &out->crl_number, NULL, 0) <
	    0)
		out->crl_number = -1;
}

enum bootc_res bootc_config_parse(const uint8_t *body, size_t len, const char *overlay,
				  struct bootc_config *out, char *err, size_t errlen)
{
	json_t *j = jx_load_object(body, len, BOOTC_ANSWER_MAX, err, errlen);
	const char *ov = NULL, *url = NULL;
	enum bootc_res res = BOOTC_BAD_ANSWER;

	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return BOOTC_BAD_ANSWER;
	if (jx_str(j, "overlay", BOOTC_OVERLAY_MAX, JX_REQUIRED, &ov, err, errlen) < 0 ||
	    jx_str(j, "logind_url", BOOTC_URL_MAX, JX_REQUIRED, &url, err, errlen) < 0)
		goto out;
	/* Another overlay's bootstrapd is a configuration mistake that no
	 * retry mends: the caller stops. */
	if (overlay != NULL && strcmp(ov, overlay) != 0) {
		err_set(err, errlen, "bootstrapd serves overlay %s, configured is %s", ov, overlay);
		res = BOOTC_WRONG_OVERLAY;
		goto out;
	}
	str_copy(out->overlay, ov, sizeof(out->overlay));
	str_copy(out->logind_url, url, sizeof(out->logind_url));
	read_numbers(j, out);
	res = BOOTC_OK;
out:
	json_decref(j);
	return res;
}

/* ---- super node list ---- */

/* Left zeroed (unusable) unless an IP literal and a port: bootstrapd lists
 * only what announcements gave, and those are IP literals. */
static void read_addr(const json_t *a, struct bootc_addr *out)
{
	const char *host = NULL;
	int64_t port = 0;

	if (!json_is_object(a) ||
	    jx_str(a, "host", BOOTC_HOST_MAX, JX_REQUIRED, &host, NULL, 0) < 0 ||
	    jx_int(a, "port", 1, 65535, JX_REQUIRED, &port, NULL, 0) < 0 || !addr_is_ip(host))
		return;
	str_copy(out->host, host, sizeof(out->host));
	out->port = (uint16_t)port;
}

/* 0 if the entry has a usable address. */
static int read_sn(const json_t *v, struct bootc_sn *out)
{
	const json_t *addrs = json_object_get(v, "addresses");
	const char *id = NULL;

	memset(out, 0, sizeof(*out));
	for (size_t k = 0; k < BOOTC_SN_ADDRS; k++)
		read_addr(json_array_get(addrs, k), &out->addr[k]);
	if (jx_str(v, "node_id", RID_HEX_LEN, JX_REQUIRED, &id, NULL, 0) == 0 &&
	    rid_parse(id, &out->id) == 0)
		out->has_id = 1;
	return out->addr[0].port != 0 || out->addr[1].port != 0 ? 0 : -1;
}

enum bootc_res bootc_list_parse(const uint8_t *body, size_t len, struct bootc_list *out, char *err,
				size_t errlen)
{
	json_t *j = jx_load_object(body, len, BOOTC_ANSWER_MAX, err, errlen);
	const json_t *list = json_object_get(j, "supernodes"), *v;
	size_t i;

	out->n = 0;
	if (j == NULL)
		return BOOTC_BAD_ANSWER;
	if (!json_is_array(list)) {
		err_set(err, errlen, "supernodes: expected an array");
		json_decref(j);
		return BOOTC_BAD_ANSWER;
	}
	/* One bad entry does not spoil the others. */
	json_array_foreach (list, i, v) {
		if (out->n == BOOTC_LIST_MAX)
			break;
		if (read_sn(v, &out->sn[out->n]) == 0)
			out->n++;
	}
	json_decref(j);
	return BOOTC_OK;
}

/* ---- CRL ---- */

enum bootc_res bootc_crl_parse(const uint8_t *body, size_t len, X509 *ca, struct crl **out,
			       char *err, size_t errlen)
{
	*out = crl_parse(body, len, ca, err, errlen);
	return *out != NULL ? BOOTC_OK : BOOTC_BAD_ANSWER;
}

int bootc_crl_is_newer(const struct crl *cur, const struct crl *c)
{
	return c != NULL && (cur == NULL || c->number > cur->number);
}

/* ---- requests ---- */

enum bootc_kind {
	BK_CONFIG,
	BK_CRL,
	BK_LIST,
	BK_POST
};

struct bootc {
	struct event_base *base;
	char *url, *overlay;
	X509 *ca;
	int timeout_secs;
	struct httpc_call *call; /* the request in flight */
	enum bootc_kind kind;
	union {
		bootc_config_cb config;
		bootc_crl_cb crl;
		bootc_list_cb list;
		httpc_done_t post;
	} cb;
	void *arg;
};

struct bootc *bootc_new(struct event_base *base, const char *url, const char *overlay, X509 *ca,
			int timeout_secs)
{
	struct bootc *bc;

	if (base == NULL || url == NULL || timeout_secs <= 0)
		return NULL;
	bc = calloc(1, sizeof(*bc));
	if (bc == NULL)
		return NULL;
	bc->base = base;
	bc->ca = ca;
	bc->timeout_secs = timeout_secs;
	bc->url = strdup(url);
	bc->overlay = overlay != NULL ? strdup(overlay) : NULL;
	if (bc->url == NULL || (overlay != NULL && bc->overlay == NULL)) {
		bootc_free(bc);
		return NULL;
	}
	return bc;
}

void bootc_free(struct bootc *bc)
{
	if (bc == NULL)
		return;
	httpc_cancel(bc->call);
	free(bc->url);
	free(bc->overlay);
	free(bc);
}

int bootc_busy(const struct bootc *bc)
{
	return bc->call != NULL;
}

void bootc_cancel(struct bootc *bc)
{
	httpc_cancel(bc->call);
	bc->call = NULL;
}

const char *bootc_url(const struct bootc *bc)
{
	return bc->url;
}

/* The answer's outcome before its body is parsed. */
static enum bootc_res transport(int status, const char *err, char *why, size_t whylen)
{
	if (status < 0) {
		str_copy(why, err != NULL ? err : "no answer", whylen);
		return BOOTC_UNREACHABLE;
	}
	if (status != 200) {
		snprintf(why, whylen, "HTTP %d", status);
		return BOOTC_REFUSED;
	}
	return BOOTC_OK;
}

static void deliver_config(const char *overlay, enum bootc_res res, const uint8_t *body, size_t len,
			   char *why, size_t whylen, bootc_config_cb cb, void *arg)
{
	struct bootc_config cfg;

	if (res == BOOTC_OK)
		res = bootc_config_parse(body, len, overlay, &cfg, why, whylen);
	cb(res, res == BOOTC_OK ? &cfg : NULL, res == BOOTC_OK ? NULL : why, arg);
}

static void deliver_list(enum bootc_res res, const uint8_t *body, size_t len, char *why,
			 size_t whylen, bootc_list_cb cb, void *arg)
{
	struct bootc_list list;

	if (res == BOOTC_OK)
		res = bootc_list_parse(body, len, &list, why, whylen);
	cb(res, res == BOOTC_OK ? &list : NULL, res == BOOTC_OK ? NULL : why, arg);
}

static void deliver_crl(X509 *ca, enum bootc_res res, const uint8_t *body, size_t len, char *why,
			size_t whylen, bootc_crl_cb cb, void *arg)
{
	struct crl *c = NULL;

	if (res == BOOTC_OK)
		res = bootc_crl_parse(body, len, ca, &c, why, whylen);
	cb(res, c, res == BOOTC_OK ? NULL : why, arg);
}

/* The client is not touched once the callback runs: it may start the next
 * request or free the client. */
static void on_answer(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct bootc *bc = arg;
	enum bootc_kind kind = bc->kind;
	void *cb_arg = bc->arg;
	char why[512];
	enum bootc_res res = transport(status, err, why, sizeof(why));

	bc->call = NULL;
	switch (kind) {
	case BK_CONFIG:
		deliver_config(bc->overlay, res, body, len, why, sizeof(why), bc->cb.config,
			       cb_arg);
		break;
	case BK_LIST:
		deliver_list(res, body, len, why, sizeof(why), bc->cb.list, cb_arg);
		break;
	case BK_CRL:
		deliver_crl(bc->ca, res, body, len, why, sizeof(why), bc->cb.crl, cb_arg);
		break;
	case BK_POST:
		bc->cb.post(status, body, len, err, cb_arg);
		break;
	}
}

/* The caller's callback is set only once nothing else is in flight. */
static int idle(const struct bootc *bc, char *err, size_t errlen)
{
	if (bc->call == NULL)
		return 1;
	err_set(err, errlen, "a request to bootstrapd is already in flight");
	return 0;
}

static int start(struct bootc *bc, SSL_CTX *ctx, const char *path, const char *body,
		 enum bootc_kind kind, void *arg, char *err, size_t errlen)
{
	char *url = url_join(bc->url, path);

	if (url == NULL) {
		err_set(err, errlen, "out of memory");
		return -1;
	}
	bc->kind = kind;
	bc->arg = arg;
	bc->call = httpc_request(bc->base, ctx, url, body, bc->timeout_secs, on_answer, bc, err,
				 errlen);
	free(url);
	return bc->call != NULL ? 0 : -1;
}

int bootc_get_config(struct bootc *bc, SSL_CTX *ctx, bootc_config_cb cb, void *arg, char *err,
		     size_t errlen)
{
	if (!idle(bc, err, errlen))
		return -1;
	bc->cb.config = cb;
	return start(bc, ctx, "/v1/config", NULL, BK_CONFIG, arg, err, errlen);
}

int bootc_get_crl(struct bootc *bc, SSL_CTX *ctx, bootc_crl_cb cb, void *arg, char *err,
		  size_t errlen)
{
	if (bc->ca == NULL) {
		err_set(err, errlen, "no CA certificate to verify a CRL with");
		return -1;
	}
	if (!idle(bc, err, errlen))
		return -1;
	bc->cb.crl = cb;
	return start(bc, ctx, "/v1/crl", NULL, BK_CRL, arg, err, errlen);
}

int bootc_get_list(struct bootc *bc, SSL_CTX *ctx, int count, bootc_list_cb cb, void *arg,
		   char *err, size_t errlen)
{
	char path[64];

	if (count < 1 || count > BOOTC_LIST_MAX) {
		err_set(err, errlen, "count must be 1..%d", BOOTC_LIST_MAX);
		return -1;
	}
	if (!idle(bc, err, errlen))
		return -1;
	bc->cb.list = cb;
	snprintf(path, sizeof(path), "/v1/supernodes?count=%d", count);
	return start(bc, ctx, path, NULL, BK_LIST, arg, err, errlen);
}

int bootc_post(struct bootc *bc, SSL_CTX *ctx, const char *path, const char *body, httpc_done_t cb,
	       void *arg, char *err, size_t errlen)
{
	if (body == NULL) {
		err_set(err, errlen, "a POST needs a body");
		return -1;
	}
	if (!idle(bc, err, errlen))
		return -1;
	bc->cb.post = cb;
	return start(bc, ctx, path, body, BK_POST, arg, err, errlen);
}
