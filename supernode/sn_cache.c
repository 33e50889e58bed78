/* What lets a super node start again while bootstrapd is down (issue 16):
 * bootstrapd's last configuration and CRL, and the ring members it last
 * saw, kept in records.db and read back with the checks of fresh input. */
#include "supernode.h"

#include "bootcache.h"
#include "crl.h"
#include "log.h"
#include "sn_db.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define RING_CHECK_MS 1000    /* how often the ring is looked at */
#define RING_SAVE_EVERY 30000 /* ms: a changing ring is written at most this often */

void cache_config_save(struct sn *sn, const struct bootc_config *c)
{
	char *s = bootcache_config_dump(c);

	if (s == NULL || sdb_cache_put(sn->db, BOOTCACHE_CONFIG, s, strlen(s)) < 0)
		log_warn("the overlay configuration could not be kept for a restart");
	free(s);
}

/* How long ago a row was saved, for the log ("3m"). */
static void age(int64_t saved_ms, char *out, size_t outlen)
{
	int64_t secs = ((int64_t)now_ms() - saved_ms) / 1000;

	duration_format(secs > 0 ? secs : 0, out, outlen);
}

int cache_config_load(struct sn *sn, struct bootc_config *out)
{
	size_t len;
	int64_t saved = 0;
	void *data = sdb_cache_get(sn->db, BOOTCACHE_CONFIG, BOOTCACHE_ROW_MAX, &len, &saved);
	char err[256], ago[32];
	int rc;

	if (data == NULL)
		return -1;
	rc = bootcache_config(data, len, sn->cfg.overlay, out, err, sizeof(err));
	free(data);
	if (rc < 0) {
		log_warn("cached overlay configuration ignored: %s", err);
		return -1;
	}
	age(saved, ago, sizeof(ago));
	log_info("using the overlay configuration cached %s ago", ago);
	return 0;
}

void cache_crl_save(struct sn *sn, const struct crl *c)
{
	if (c->der == NULL || sdb_cache_put(sn->db, BOOTCACHE_CRL, c->der, c->der_len) < 0)
		log_warn("the CRL could not be kept for a restart");
}

struct crl *cache_crl_load(struct sn *sn)
{
	size_t len;
	void *data = sdb_cache_get(sn->db, BOOTCACHE_CRL, BOOTCACHE_ROW_MAX, &len, NULL);

	return bootcache_crl_row(data, len, sn->ca);
}

int cache_seeds(struct sn *sn, struct node *out, int max)
{
	struct node all[SDB_RING_MAX];
	int n = sdb_ring_load(sn->db, all, SDB_RING_MAX), k = 0;

	for (int i = 0; i < n && k < max; i++)
		if (!rid_eq(&all[i].id, &sn->self.id))
			out[k++] = all[i];
	return k;
}

/* ---- the ring members, written when they change ---- */

static int add_member(struct node *out, int n, const struct node *m)
{
	for (int i = 0; i < n; i++)
		if (rid_eq(&out[i].id, &m->id))
			return n;
	if (n < SDB_RING_MAX && m->port != 0)
		out[n++] = *m;
	return n;
}

/* Predecessors, successors, then fingers: the nearest first. */
static int members(const struct sn *sn, struct node *out)
{
	const struct ring *r = &sn->ring;
	int n = 0;

	if (r->has_pred)
		n = add_member(out, n, &r->pred);
	if (r->has_pred2)
		n = add_member(out, n, &r->pred2);
	for (int i = 0; i < r->nsucc; i++)
		n = add_member(out, n, &r->succ[i]);
	for (int i = 0; i < FINGERS; i++)
		if (r->has_finger[i])
			n = add_member(out, n, &r->finger[i]);
	return n;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t k = 0; k < len; k++)
		h = (h ^ p[k]) * 1099511628211ull;
	return h;
}

/* FNV-1a over the members' Node-IDs and addresses (field by field: no
 * padding): a changed ring. */
static uint64_t members_sig(const struct node *m, int n)
{
	uint64_t h = 1469598103934665603ull;

	for (int i = 0; i < n; i++) {
		h = fnv(h, m[i].id.b, sizeof(m[i].id.b));
		h = fnv(h, m[i].host, strlen(m[i].host));
		h = fnv(h, &m[i].port, sizeof(m[i].port));
	}
	return h;
}

void cache_ring_save(struct sn *sn)
{
	struct node m[SDB_RING_MAX];
	int n;

	if (sn->db == NULL || (sn->state != SN_JOINED && sn->state != SN_LEAVING))
		return;
	n = members(sn, m);
	if (n == 0)
		return; /* alone: the first members are written as soon as they come */
	sn->ring_sig = members_sig(m, n);
	sn->ring_saved_ms = now_ms();
	if (sdb_ring_save(sn->db, m, n) < 0)
		log_warn("the ring members could not be kept for a restart");
}

static void on_ring_check(evutil_socket_t fd, short what, void *arg)
{
	struct sn *sn = arg;
	struct node m[SDB_RING_MAX];

	(void)fd, (void)what;
	if (sn->state != SN_JOINED || now_ms() - sn->ring_saved_ms < RING_SAVE_EVERY)
		return;
	if (members_sig(m, members(sn, m)) != sn->ring_sig)
		cache_ring_save(sn);
}

int cache_start(struct sn *sn)
{
	struct timeval tv = {RING_CHECK_MS / 1000, (RING_CHECK_MS % 1000) * 1000};

	sn->ring_timer = event_new(sn->base, -1, EV_PERSIST, on_ring_check, sn);
	return sn->ring_timer != NULL && event_add(sn->ring_timer, &tv) == 0 ? 0 : -1;
}

void cache_stop(struct sn *sn)
{
	if (sn->ring_timer != NULL)
		event_free(sn->ring_timer);
	sn->ring_timer = NULL;
}
