/* What bootstrapd tells the ordinary node, over HTTPS that authenticates
 * bootstrapd only: the overlay's configuration (logind's address, timers),
 * asked until it comes; then the CRL every crl_refresh seconds; and the
 * super node list when the link has used up its reserve. One exchange at a
 * time. Results go to the parent through callbacks. The only file that
 * talks to bootstrapd. */
#include "on.h"

#include "crl.h"
#include "enroll.h"
#include "httpc.h"
#include "log.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 500
#define TIMEOUT_S 10

enum boot_step {
	BOOT_CONFIG, /* asking for the overlay's configuration */
	BOOT_RUNNING /* configured: the CRL when due, the list when asked */
};

struct on_boot {
	struct on *on;
	const struct on_boot_ops *ops;
	void *arg;
	enum boot_step step;
	struct httpc_call *call; /* the exchange out, or NULL */
	struct event *tick;
	uint64_t next_crl; /* monotonic ms */
	int have_crl;
	int64_t crl_number; /* of the last CRL handed on */
};

/* ---- parsers (pure) ---- */

int on_boot_parse_config(const uint8_t *buf, size_t len, struct on_boot_config *c)
{
	json_t *j = json_loadb((const char *)buf, len, 0, NULL);
	json_t *tm = json_object_get(j, "timers");
	const char *url = json_string_value(json_object_get(j, "logind_url"));
	const char *ov = json_string_value(json_object_get(j, "overlay"));

	memset(c, 0, sizeof(*c));
	if (url != NULL && ov != NULL) {
		c->overlay = strdup(ov);
		c->logind_url = strdup(url);
		c->renew_before = json_integer_value(json_object_get(tm, "cert_renew_before"));
		c->keepalive = json_integer_value(json_object_get(tm, "keepalive_interval"));
	}
	json_decref(j);
	if (c->overlay == NULL || c->logind_url == NULL) {
		on_boot_config_clear(c);
		return -1;
	}
	return 0;
}

void on_boot_config_clear(struct on_boot_config *c)
{
	free(c->overlay);
	free(c->logind_url);
	memset(c, 0, sizeof(*c));
}

/* Each super node's main address, then its fall-back one (a firewall that
 * lets only 443 out costs one failed attempt per super node). */
int on_boot_parse_list(const uint8_t *buf, size_t len, struct sn_addr *out, int max)
{
	json_t *j = json_loadb((const char *)buf, len, 0, NULL);
	json_t *v;
	size_t i;
	int n = 0;

	json_array_foreach (json_object_get(j, "supernodes"), i, v) {
		for (size_t k = 0; k < 2; k++) {
			json_t *a = json_array_get(json_object_get(v, "addresses"), k);
			const char *h = json_string_value(json_object_get(a, "host"));
			json_int_t p = json_integer_value(json_object_get(a, "port"));
			if (h != NULL && p > 0 && p < 65536 && n < max && addr_is_ip(h)) {
				struct sn_addr *r = &out[n++];
				str_copy(r->host, h, sizeof(r->host));
				r->port = (uint16_t)p;
				r->fallback = k > 0;
			}
		}
	}
	json_decref(j);
	return n;
}

/* ---- the exchanges ---- */

static int get(struct on_boot *b, const char *path, httpc_done_t cb)
{
	char *url = url_join(b->on->cfg.bootstrap_url, path);
	char err[256];

	if (url == NULL)
		return -1;
	b->call = httpc_request(b->on->base, b->on->anon_ctx, url, NULL, TIMEOUT_S, cb, b, err,
				sizeof(err));
	free(url);
	if (b->call == NULL) {
		log_warn("bootstrapd: %s", err);
		return -1;
	}
	return 0;
}

static void got_config(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct on_boot *b = arg;
	struct on_boot_config c;

	b->call = NULL;
	if (status != 200 || on_boot_parse_config(body, len, &c) < 0) {
		log_warn("bootstrapd %s: no configuration (%s); retrying", b->on->cfg.bootstrap_url,
			 status < 0 ? err : "bad answer");
		return;
	}
	if (strcmp(c.overlay, b->on->cfg.overlay) != 0)
		fatal("bootstrapd serves overlay %s, configured is %s", c.overlay,
		      b->on->cfg.overlay);
	b->step = BOOT_RUNNING;
	b->next_crl = 0;
	b->ops->config(b->arg, &c);
	on_boot_config_clear(&c);
}

static void got_crl(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct on_boot *b = arg;
	char why[256];
	struct crl *c = status == 200 ? crl_parse(body, len, b->on->ca, why, sizeof(why)) : NULL;
	struct crl *newer = NULL;

	b->call = NULL;
	if (c == NULL)
		log_info("CRL from bootstrapd: %s", status == 200 ? why
						    : status < 0  ? err
								  : "none");
	else if (!b->have_crl || c->number > b->crl_number) {
		log_info("CRL %lld: %d revoked certificates", (long long)c->number, c->count);
		b->have_crl = 1;
		b->crl_number = c->number;
		newer = c;
		c = NULL;
	}
	crl_free(c);
	b->ops->crl(b->arg, newer);
}

static void got_list(int status, const uint8_t *body, size_t len, const char *err, void *arg)
{
	struct on_boot *b = arg;
	struct sn_addr list[ON_RESERVE_MAX];
	int n = status == 200 ? on_boot_parse_list(body, len, list, ON_RESERVE_MAX) : 0;

	b->call = NULL;
	if (n == 0)
		log_warn("bootstrapd lists no super node (%s); asking again",
			 status < 0 ? err : "empty list");
	b->ops->list(b->arg, list, n);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct on_boot *b = arg;
	uint64_t t = time_mono_ms();
	struct timeval tv = {0, TICK_MS * 1000};

	(void)fd, (void)what;
	event_add(b->tick, &tv);
	if (b->call != NULL)
		return; /* one exchange with bootstrapd at a time */
	if (b->step == BOOT_CONFIG) {
		get(b, "/v1/config", got_config);
	} else if (t >= b->next_crl) {
		b->next_crl = t + 1000u * (uint64_t)b->on->cfg.crl_refresh;
		get(b, "/v1/crl", got_crl);
	}
}

int on_boot_want_list(struct on_boot *b)
{
	if (b->call != NULL || b->step != BOOT_RUNNING || time_mono_ms() >= b->next_crl)
		return -1; /* the CRL goes first, as the configuration does */
	return get(b, "/v1/supernodes?count=16", got_list);
}

struct on_boot *on_boot_new(struct on *on, const struct on_boot_ops *ops, void *arg, char *err,
			    size_t errlen)
{
	struct on_boot *b = calloc(1, sizeof(*b));
	struct timeval tv = {0, 1000};

	if (b == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	b->on = on;
	b->ops = ops;
	b->arg = arg;
	b->tick = event_new(on->base, -1, 0, on_tick, b);
	if (b->tick == NULL || event_add(b->tick, &tv) < 0) {
		err_set(err, errlen, "bootstrapd client: event set-up failed");
		on_boot_free(b);
		return NULL;
	}
	return b;
}

void on_boot_free(struct on_boot *b)
{
	if (b == NULL)
		return;
	if (b->call != NULL)
		httpc_cancel(b->call);
	if (b->tick != NULL)
		event_free(b->tick);
	free(b);
}
