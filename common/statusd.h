/* The local status port of every daemon: plain HTTP meant for 127.0.0.1,
 * GET /status (JSON) and GET /metrics (Prometheus text). */
#ifndef P2PSIP_STATUSD_H
#define P2PSIP_STATUSD_H

#include <jansson.h>
#include <stddef.h>

struct event_base;
struct evbuffer;
struct statusd;

/* The body of GET /status (a new reference). */
typedef json_t *(*statusd_json_t)(void *arg);
/* Writes the body of GET /metrics into out (see prom.h). */
typedef void (*statusd_metrics_t)(void *arg, struct evbuffer *out);

/* Listens on listen ("host:port"); NULL, "" or "off" open no port (*out is
 * NULL). Returns 0, or -1 with err ("status_listen: ..."). */
int statusd_start(struct event_base *base, const char *listen, statusd_json_t json,
		  statusd_metrics_t metrics, void *arg, struct statusd **out, char *err,
		  size_t errlen);
/* Accepts NULL. */
void statusd_free(struct statusd *s);

#endif
