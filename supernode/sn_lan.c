/* The super node on its LAN (common/lan.c): announces itself on the group
 * every [lan] interval once joined, when [lan] announce is on, and hears the
 * others' announcements, the seeds of a super node with no bootstrapd. */
#include "supernode.h"

#include "lan.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sn_lan {
	struct lan *lan;
	struct lan_sock_conf sc;
	int fd;
	struct event *rd, *tick;
	char addr[LAN_HOST_MAX + 1]; /* the address we announce: the interface's */
	int announced;               /* once: the log says so */
};

static int is_ipv4(const char *s)
{
	struct in_addr a;

	return s != NULL && inet_pton(AF_INET, s, &a) == 1 && a.s_addr != htonl(INADDR_ANY);
}

/* [lan] interface, else the address we listen on, else public_host. */
static const char *iface_of(const struct sn *sn)
{
	if (sn->cfg.lan_iface[0] != '\0')
		return sn->cfg.lan_iface;
	if (is_ipv4(sn->listen_host))
		return sn->listen_host;
	return is_ipv4(sn->self.host) ? sn->self.host : "";
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct sn *sn = arg;

	(void)what;
	lan_sock_drain(fd, sn->lan->lan);
}

/* Our main address and, when it listens there too, the fall-back one; both
 * the interface's, which is what receivers see as the source. */
static void announce(struct sn *sn)
{
	struct sn_lan *sl = sn->lan;
	struct lan_fields f = {.overlay = sn->cfg.overlay, .time = time_now(), .cert = sn->cert};
	uint8_t buf[LAN_DATAGRAM_MAX];
	int n;

	node_id_from_key(sn->key, f.node_id);
	str_copy(f.addr[0].host, sl->addr, sizeof(f.addr[0].host));
	f.addr[0].port = sn->self.port;
	f.naddr = 1;
	if (sn->fallback_port != 0 &&
	    (!is_ipv4(sn->fallback_host) || strcmp(sn->fallback_host, sl->addr) == 0)) {
		str_copy(f.addr[1].host, sl->addr, sizeof(f.addr[1].host));
		f.addr[1].port = sn->fallback_port;
		f.naddr = 2;
	}
	n = lan_build(&f, sn->key, buf, sizeof(buf));
	if (n < 0) {
		log_error("LAN announcement: cannot build it");
		return;
	}
	if (lan_sock_send(sl->fd, &sl->sc, sl->lan, buf, (size_t)n) == 0 && !sl->announced) {
		log_info("LAN: announcing %s:%u every %llds", f.addr[0].host, f.addr[0].port,
			 (long long)sn->cfg.lan_interval);
		sl->announced = 1;
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct sn *sn = arg;

	(void)fd, (void)what;
	if (sn->state == SN_JOINED && sn->cert != NULL)
		announce(sn);
}

/* 0, -1 on a configuration error, 1 when the group cannot be joined. */
static int open_group(struct sn *sn, struct sn_lan *sl, char *err, size_t errlen)
{
	struct timeval tv = {sn->cfg.lan_interval, 0};
	uint8_t id[NODE_ID_LEN];

	if (lan_sock_conf(&sl->sc, sn->cfg.lan_group, iface_of(sn), err, errlen) < 0)
		return -1;
	if (sn->cfg.lan_announce && !is_ipv4(sl->sc.iface)) {
		err_set(err, errlen,
			"[lan] announce: set interface to this machine's IPv4 address");
		return -1;
	}
	str_copy(sl->addr, sl->sc.iface, sizeof(sl->addr));
	if ((sl->fd = lan_sock_open(&sl->sc, err, errlen)) < 0)
		return 1;
	node_id_from_key(sn->key, id);
	lan_set_self(sl->lan, id);
	sl->rd = event_new(sn->base, sl->fd, EV_READ | EV_PERSIST, on_read, sn);
	if (sl->rd == NULL || event_add(sl->rd, NULL) < 0)
		return -1;
	if (!sn->cfg.lan_announce)
		return 0;
	sl->tick = event_new(sn->base, -1, EV_PERSIST, on_tick, sn);
	return sl->tick != NULL && event_add(sl->tick, &tv) == 0 ? 0 : -1;
}

int sn_lan_start(struct sn *sn, char *err, size_t errlen)
{
	struct sn_lan *sl;
	int rc;

	if (!sn->cfg.lan_announce && !sn->cfg.lan_discover)
		return 0;
	sl = calloc(1, sizeof(*sl));
	if (sl == NULL)
		return -1;
	sl->fd = -1;
	sn->lan = sl;
	sl->lan = lan_new(sn->cfg.overlay, sn->ca);
	if (sl->lan == NULL || (rc = open_group(sn, sl, err, errlen)) < 0)
		return -1;
	if (rc > 0 && !sn->cfg.lan_announce) {
		/* only listening, as by default: a host with no multicast route
		 * (a container, a lab) still serves with bootstrapd */
		log_warn("%s: no LAN discovery", err);
		err_set(err, errlen, "%s", "");
		sn_lan_stop(sn);
		return 0;
	}
	if (rc > 0)
		return -1;
	lan_set_crl(sl->lan, sn->crl);
	log_info("LAN: group %s:%u%s%s, %s", sl->sc.group, sl->sc.port,
		 sl->addr[0] != '\0' ? " on " : "", sl->addr,
		 sn->cfg.lan_announce ? "announcing once joined" : "listening only");
	return 0;
}

void sn_lan_stop(struct sn *sn)
{
	struct sn_lan *sl = sn->lan;

	if (sl == NULL)
		return;
	if (sl->rd != NULL)
		event_free(sl->rd);
	if (sl->tick != NULL)
		event_free(sl->tick);
	if (sl->fd >= 0)
		close(sl->fd);
	lan_free(sl->lan);
	free(sl);
	sn->lan = NULL;
}

int sn_lan_seeds(struct sn *sn, struct node *seeds, int max)
{
	struct lan_heard h[LAN_HEARD_MAX];
	int n;

	if (sn->lan == NULL || !sn->cfg.lan_discover)
		return 0;
	n = lan_heard(sn->lan->lan, h, max < LAN_HEARD_MAX ? max : LAN_HEARD_MAX, time_mono_ms());
	for (int i = 0; i < n; i++) {
		rid_from_bytes(h[i].node_id, &seeds[i].id);
		str_copy(seeds[i].host, h[i].addr[0].host, sizeof(seeds[i].host));
		seeds[i].port = h[i].addr[0].port;
	}
	return n;
}

void sn_lan_set_crl(struct sn *sn, const struct crl *crl)
{
	if (sn->lan != NULL)
		lan_set_crl(sn->lan->lan, crl);
}

json_t *sn_lan_status(struct sn *sn)
{
	json_t *j;

	if (sn->lan == NULL)
		return json_pack("{s:b}", "on", 0);
	j = lan_status(sn->lan->lan, time_mono_ms());
	json_object_set_new(j, "on", json_true());
	json_object_set_new(j, "announce", json_boolean(sn->cfg.lan_announce));
	return j;
}

void sn_lan_metrics(struct sn *sn, struct evbuffer *out)
{
	if (sn->lan != NULL)
		lan_metrics(sn->lan->lan, out, "p2psip_sn", time_mono_ms());
}
