/* What bootstrapd tells the ordinary node, over HTTPS that authenticates
 * bootstrapd only: the overlay's configuration (logind's address, timers),
 * asked until it comes; then the CRL every crl_refresh seconds; and the
 * super node list when the link has used up its reserve. One exchange at a
 * time, through common/bootc.c, which parses and checks the answers.
 * Results go to the parent through callbacks. The configuration and the CRL
 * are kept in ordinarynode.db: with bootstrapd down, a node that has run
 * before goes on with them and asks bootstrapd again in the background. */
#include "on.h"

#include "bootc.h"
#include "bootcache.h"
#include "crl.h"
#include "log.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 500
#define CONFIG_RETRY_MS 30000 /* on the cached configuration: asking bootstrapd again */

enum boot_step {
	BOOT_CONFIG, /* asking for the overlay's configuration */
	BOOT_RUNNING /* configured: the CRL when due, the list when asked */
};

struct on_boot {
	struct on *on;
	const struct on_boot_ops *ops;
	void *arg;
	enum boot_step step;
	struct bootc *bc; /* one exchange at a time */
	struct event *tick;
	uint64_t next_crl;    /* monotonic ms */
	int config_cached;    /* running on the cached configuration */
	uint64_t next_config; /* then: when to ask bootstrapd again (monotonic ms) */
};

/* ---- what the last run kept ---- */

static void save_config(struct on_boot *b, const struct bootc_config *cfg)
{
	char *s = bootcache_config_dump(cfg);

	if (s == NULL || on_db_cache_put(b->on->db, BOOTCACHE_CONFIG, s, strlen(s)) < 0)
		log_warn("the overlay configuration could not be kept for a restart");
	free(s);
}

static int load_config(struct on_boot *b, struct bootc_config *cfg)
{
	size_t len;
	int64_t saved = 0;
	void *data = on_db_cache_get(b->on->db, BOOTCACHE_CONFIG, BOOTCACHE_ROW_MAX, &len, &saved);
	char err[256], ago[32];
	int rc;

	if (data == NULL)
		return -1;
	rc = bootcache_config(data, len, b->on->cfg.overlay, cfg, err, sizeof(err));
	free(data);
	if (rc < 0) {
		log_warn("cached overlay configuration ignored: %s", err);
		return -1;
	}
	saved = (time_now() * 1000 - saved) / 1000;
	duration_format(saved > 0 ? saved : 0, ago, sizeof(ago));
	log_info("using the overlay configuration cached %s ago", ago);
	return 0;
}

/* The kept CRL, verified against the CA again, or NULL. */
static struct crl *load_crl(struct on_boot *b)
{
	size_t len;
	void *data = on_db_cache_get(b->on->db, BOOTCACHE_CRL, BOOTCACHE_ROW_MAX, &len, NULL);

	return bootcache_crl_row(data, len, b->on->ca);
}

/* No configuration from bootstrapd: a node that has run before goes on
 * with what it kept. 0 if it does, -1 to keep asking. */
static int boot_from_cache(struct on_boot *b, const char *why)
{
	struct bootc_config cfg;

	if (load_config(b, &cfg) < 0) {
		log_warn("bootstrapd %s: no configuration (%s), none kept from an earlier run; "
			 "retrying",
			 b->on->cfg.bootstrap_url, why);
		return -1;
	}
	log_warn("bootstrapd %s: no configuration (%s): going on with the cached one, asking "
		 "again every %ds",
		 b->on->cfg.bootstrap_url, why, CONFIG_RETRY_MS / 1000);
	b->step = BOOT_RUNNING;
	b->config_cached = 1;
	b->next_config = time_mono_ms() + CONFIG_RETRY_MS;
	b->next_crl = time_mono_ms() + 1000u * (uint64_t)b->on->cfg.crl_refresh;
	b->ops->config(b->arg, &cfg);
	b->ops->crl(b->arg, load_crl(b)); /* lets the accounts start */
	return 0;
}

/* ---- the exchanges ---- */

static void got_config(enum bootc_res res, const struct bootc_config *cfg, const char *err,
		       void *arg)
{
	struct on_boot *b = arg;

	if (res == BOOTC_WRONG_OVERLAY)
		fatal("%s", err);
	if (res != BOOTC_OK) {
		boot_from_cache(b, err);
		return;
	}
	save_config(b, cfg);
	b->step = BOOT_RUNNING;
	b->next_crl = 0;
	b->ops->config(b->arg, cfg);
}

/* bootstrapd answers again while the node runs on its cached configuration. */
static void got_config_again(enum bootc_res res, const struct bootc_config *cfg, const char *err,
			     void *arg)
{
	struct on_boot *b = arg;

	if (res != BOOTC_OK) {
		log_debug("bootstrapd: still no configuration (%s)", err);
		return;
	}
	log_info("bootstrapd answers again: overlay configuration refreshed");
	save_config(b, cfg);
	b->config_cached = 0;
	b->ops->config(b->arg, cfg);
}

static void got_crl(enum bootc_res res, struct crl *c, const char *err, void *arg)
{
	struct on_boot *b = arg;
	struct crl *newer = NULL;

	if (c == NULL)
		log_info("CRL from bootstrapd: %s", res == BOOTC_REFUSED ? "none" : err);
	else if (bootc_crl_is_newer(b->on->crl, c)) {
		log_info("CRL %lld: %d revoked certificates", (long long)c->number, c->count);
		if (c->der == NULL ||
		    on_db_cache_put(b->on->db, BOOTCACHE_CRL, c->der, c->der_len) < 0)
			log_warn("the CRL could not be kept for a restart");
		newer = c;
		c = NULL;
	}
	crl_free(c);
	b->ops->crl(b->arg, newer);
}

/* Each super node's main address, then its fall-back one (a firewall that
 * lets only 443 out costs one failed attempt per super node). */
static int reserve_of(const struct bootc_list *list, struct sn_addr *out, int max)
{
	int n = 0;

	for (int i = 0; i < list->n; i++)
		for (int k = 0; k < BOOTC_SN_ADDRS; k++) {
			const struct bootc_addr *a = &list->sn[i].addr[k];
			if (a->port == 0 || n >= max)
				continue;
			str_copy(out[n].host, a->host, sizeof(out[n].host));
			out[n].port = a->port;
			out[n].fallback = k > 0;
			n++;
		}
	return n;
}

static void got_list(enum bootc_res res, const struct bootc_list *list, const char *err, void *arg)
{
	struct on_boot *b = arg;
	struct sn_addr reserve[ON_RESERVE_MAX];
	int n = res == BOOTC_OK ? reserve_of(list, reserve, ON_RESERVE_MAX) : 0;

	if (n == 0)
		log_warn("bootstrapd lists no super node (%s); asking again",
			 res == BOOTC_OK ? "empty list" : err);
	b->ops->list(b->arg, reserve, n);
}

/* No bootstrap_url: the overlay's configuration is bootc's defaults with
 * [ordinarynode] logind_url; there is no CRL to fetch (none held unless
 * cached) and the super nodes come from the LAN (on_lan.c). */
static void config_local(struct on_boot *b)
{
	struct bootc_config oc = {.crl_number = -1,
				  .timers = {BOOTC_HEARTBEAT_DEFAULT, BOOTC_STABILIZE_DEFAULT,
					     BOOTC_KEEPALIVE_DEFAULT, BOOTC_RENEW_BEFORE_DEFAULT}};

	str_copy(oc.overlay, b->on->cfg.overlay, sizeof(oc.overlay));
	str_copy(oc.logind_url, b->on->cfg.logind_url, sizeof(oc.logind_url));
	log_info("no bootstrap_url: logind at %s, super nodes from the LAN", oc.logind_url);
	b->step = BOOT_RUNNING;
	b->ops->config(b->arg, &oc);
	b->ops->crl(b->arg, NULL);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct on_boot *b = arg;
	uint64_t t = time_mono_ms();
	struct timeval tv = {0, TICK_MS * 1000};
	char err[256];
	int r = 0;

	(void)fd, (void)what;
	if (b->bc == NULL) {
		config_local(b);
		return; /* nothing more to ask */
	}
	event_add(b->tick, &tv);
	if (bootc_busy(b->bc))
		return; /* one exchange with bootstrapd at a time */
	if (b->step == BOOT_CONFIG) {
		r = bootc_get_config(b->bc, b->on->anon_ctx, got_config, b, err, sizeof(err));
	} else if (b->config_cached && t >= b->next_config) {
		b->next_config = t + CONFIG_RETRY_MS;
		r = bootc_get_config(b->bc, b->on->anon_ctx, got_config_again, b, err, sizeof(err));
	} else if (t >= b->next_crl) {
		b->next_crl = t + 1000u * (uint64_t)b->on->cfg.crl_refresh;
		r = bootc_get_crl(b->bc, b->on->anon_ctx, got_crl, b, err, sizeof(err));
	}
	if (r < 0)
		log_warn("bootstrapd: %s", err);
}

int on_boot_want_list(struct on_boot *b)
{
	char err[256];

	if (b->bc == NULL || bootc_busy(b->bc) || b->step != BOOT_RUNNING ||
	    time_mono_ms() >= b->next_crl)
		return -1; /* the CRL goes first, as the configuration does */
	if (bootc_get_list(b->bc, b->on->anon_ctx, ON_RESERVE_MAX, got_list, b, err, sizeof(err)) <
	    0) {
		log_warn("bootstrapd: %s", err);
		return -1;
	}
	return 0;
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
	if (on->cfg.bootstrap_url[0] != '\0')
		b->bc = bootc_new(on->base, on->cfg.bootstrap_url, on->cfg.overlay, on->ca,
				  BOOTC_TIMEOUT_SECS);
	b->tick = event_new(on->base, -1, 0, on_tick, b);
	if ((b->bc == NULL && on->cfg.bootstrap_url[0] != '\0') || b->tick == NULL ||
	    event_add(b->tick, &tv) < 0) {
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
	bootc_free(b->bc);
	if (b->tick != NULL)
		event_free(b->tick);
	free(b);
}
