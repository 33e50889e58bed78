/* The ordinary node on its LAN (common/lan.c): hears super nodes'
 * announcements and offers them as the link's reserve, most recently heard
 * first, when there is no bootstrapd or it lists none. Announces nothing. */
#include "on.h"

#include "lan.h"
#include "log.h"
#include "util.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct on_lan {
	struct lan *lan;
	struct lan_sock_conf sc;
	int fd;
	struct event *rd;
};

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct on_lan *ol = arg;

	(void)what;
	lan_sock_drain(fd, ol->lan);
}

struct on_lan *on_lan_new(struct on *on, char *err, size_t errlen)
{
	struct on_lan *ol;

	err_set(err, errlen, "%s", "");
	if (!on->cfg.lan_discover)
		return NULL;
	ol = calloc(1, sizeof(*ol));
	if (ol == NULL)
		return NULL;
	ol->fd = -1;
	ol->lan = lan_new(on->cfg.overlay, on->ca);
	if (ol->lan == NULL ||
	    lan_sock_conf(&ol->sc, on->cfg.lan_group, on->cfg.lan_iface, err, errlen) < 0)
		goto fail;
	if ((ol->fd = lan_sock_open(&ol->sc, err, errlen)) < 0) {
		/* a host with no multicast route (a container, a lab): the node
		 * still works with bootstrapd */
		log_warn("%s: no LAN discovery%s", err,
			 on->cfg.bootstrap_url[0] == '\0' ? ", and no bootstrap_url: no super node "
							    "will be found"
							  : "");
		err_set(err, errlen, "%s", "");
		on_lan_free(ol);
		return NULL;
	}
	ol->rd = event_new(on->base, ol->fd, EV_READ | EV_PERSIST, on_read, ol);
	if (ol->rd == NULL || event_add(ol->rd, NULL) < 0) {
		err_set(err, errlen, "LAN: event set-up failed");
		goto fail;
	}
	log_info("LAN: listening for super nodes on %s:%u", ol->sc.group, ol->sc.port);
	return ol;
fail:
	if (err[0] == '\0')
		err_set(err, errlen, "LAN: out of memory");
	on_lan_free(ol);
	return NULL;
}

void on_lan_free(struct on_lan *ol)
{
	if (ol == NULL)
		return;
	if (ol->rd != NULL)
		event_free(ol->rd);
	if (ol->fd >= 0)
		close(ol->fd);
	lan_free(ol->lan);
	free(ol);
}

void on_lan_set_crl(struct on_lan *ol, const struct crl *crl)
{
	if (ol != NULL)
		lan_set_crl(ol->lan, crl);
}

/* Each super node heard, most recent first: its main address, then its
 * fall-back one, as bootstrapd's list is read (on_boot.c). */
int on_lan_reserve(struct on_lan *ol, struct sn_addr *out, int max)
{
	struct lan_heard h[ON_RESERVE_MAX];
	int n = 0, nh;

	if (ol == NULL)
		return 0;
	nh = lan_heard(ol->lan, h, ON_RESERVE_MAX, time_mono_ms());
	for (int i = 0; i < nh; i++)
		for (int k = 0; k < h[i].naddr && n < max; k++) {
			str_copy(out[n].host, h[i].addr[k].host, sizeof(out[n].host));
			out[n].port = h[i].addr[k].port;
			out[n].fallback = k > 0;
			n++;
		}
	return n;
}

json_t *on_lan_status(const struct on_lan *ol)
{
	json_t *j;

	if (ol == NULL)
		return json_pack("{s:b}", "on", 0);
	j = lan_status(ol->lan, time_mono_ms());
	json_object_set_new(j, "on", json_true());
	return j;
}

void on_lan_metrics(const struct on_lan *ol, struct evbuffer *out)
{
	if (ol != NULL)
		lan_metrics(ol->lan, out, "p2psip_on", time_mono_ms());
}
