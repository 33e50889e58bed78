/* This super node's services in the DHT: for each one (service:stun,
 * service:relay, ...) a record "service:<kind>" signed by the super node,
 * stored once it has joined, renewed before it expires and retried soon
 * when a store fails, so that nodes can find STUN servers and relays. The
 * services register here; one timer advertises them all. */
#include "supernode.h"

#include "log.h"
#include "util.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE_MAX 4
#define SERVICE_PREFIX "service:"

struct service {
	char name[32];
	service_data_t data;
	uint64_t next_adv; /* ms, now_ms() */
};

struct services {
	struct sn *sn;
	struct event *tick;
	struct service list[SERVICE_MAX];
	int n;
};

/* One store on its way (the table may be gone when it comes back). */
struct adv {
	struct sn *sn;
	int i;
	char name[32];
};

int service_record(struct record *r, const char *name, const char *data, uint64_t now_ms,
		   EVP_PKEY *key, X509 *cert)
{
	size_t n = strlen(SERVICE_PREFIX);

	memset(r, 0, sizeof(*r));
	if (strncmp(name, SERVICE_PREFIX, n) != 0 || name[n] == '\0' ||
	    record_init(r, name, name + n, data, now_ms, SERVICE_LIFE, 0) < 0 ||
	    record_sign(r, key, cert) < 0) {
		record_clear(r);
		return -1;
	}
	return 0;
}

int service_stun_data(char *buf, size_t len, const char *host, uint16_t port)
{
	int n = snprintf(buf, len, "{\"host\":\"%s\",\"port\":%u}", host, port);

	return n >= 0 && (size_t)n < len ? 0 : -1;
}

int service_relay_data(char *buf, size_t len, const char *host, uint16_t lo, uint16_t hi,
		       long long streams_free)
{
	int n = snprintf(buf, len, "{\"host\":\"%s\",\"ports\":\"%u-%u\",\"streams_free\":%lld}",
			 host, lo, hi, streams_free);

	return n >= 0 && (size_t)n < len ? 0 : -1;
}

static void on_advertised(json_t *reply, void *arg)
{
	struct adv *a = arg;
	struct services *sv = a->sn->services;

	if (json_is_true(json_object_get(reply, "ok"))) {
		log_debug("%s stored", a->name);
	} else {
		log_info("%s not stored: %s", a->name,
			 json_string_value(json_object_get(reply, "msg")));
		if (sv != NULL)
			sv->list[a->i].next_adv = now_ms() + SERVICE_RETRY_MS;
	}
	free(a);
}

/* Stores service i's record: 0, or -1 if it could not be sent. */
static int advertise(struct sn *sn, int i)
{
	struct service *v = &sn->services->list[i];
	char data[256];
	struct record r;
	struct rid res;
	struct adv *a;

	if (v->data(sn, data, sizeof(data)) < 0)
		return -1;
	if (service_record(&r, v->name, data, now_ms(), sn->key, sn->cert) < 0) {
		log_warn("cannot sign %s", v->name);
		return -1;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		record_clear(&r);
		return -1;
	}
	a->sn = sn;
	a->i = i;
	str_copy(a->name, v->name, sizeof(a->name));
	rid_of_name(v->name, &res);
	route_start(sn, &res, "res",
		    json_pack("{s:s,s:o}", "op", "store", "val", record_to_json(&r)), 0, NULL,
		    on_advertised, a);
	record_clear(&r);
	return 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct services *sv = arg;
	struct sn *sn = sv->sn;

	(void)fd, (void)what;
	if (sn->state != SN_JOINED || sn->cert == NULL)
		return;
	for (int i = 0; i < sv->n; i++) {
		uint64_t now = now_ms();
		if (now < sv->list[i].next_adv)
			continue;
		sv->list[i].next_adv = now + SERVICE_EVERY_MS;
		if (advertise(sn, i) < 0)
			sv->list[i].next_adv = now + SERVICE_RETRY_MS;
	}
}

int service_start(struct sn *sn)
{
	struct services *sv = calloc(1, sizeof(*sv));

	if (sv == NULL)
		return -1;
	sv->sn = sn;
	sv->tick = event_new(sn->base, -1, EV_PERSIST, on_tick, sv);
	if (sv->tick == NULL || event_add(sv->tick, &(struct timeval){1, 0}) < 0) {
		if (sv->tick != NULL)
			event_free(sv->tick);
		free(sv);
		return -1;
	}
	sn->services = sv;
	return 0;
}

void service_stop(struct sn *sn)
{
	struct services *sv = sn->services;

	if (sv == NULL)
		return;
	event_free(sv->tick);
	free(sv);
	sn->services = NULL;
}

int service_add(struct sn *sn, const char *name, service_data_t data)
{
	struct services *sv = sn->services;

	if (sv == NULL || sv->n == SERVICE_MAX || strlen(name) >= sizeof(sv->list[0].name))
		return -1;
	str_copy(sv->list[sv->n].name, name, sizeof(sv->list[0].name));
	sv->list[sv->n].data = data;
	sv->list[sv->n].next_adv = 0;
	sv->n++;
	return 0;
}
