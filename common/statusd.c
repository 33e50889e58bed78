/* The local status port: one place that answers GET /status and GET
 * /metrics for each daemon's own figures. */
#include "statusd.h"

#include "httpd.h"
#include "prom.h"
#include "util.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

struct statusd {
	struct httpd *h;
	statusd_json_t json;
	statusd_metrics_t metrics;
	void *arg;
};

static void h_status(struct evhttp_request *req, void *arg)
{
	struct statusd *s = arg;

	if (http_method_is(req, EVHTTP_REQ_GET))
		http_reply_json(req, 200, s->json(s->arg));
}

static void h_metrics(struct evhttp_request *req, void *arg)
{
	struct statusd *s = arg;
	struct evbuffer *out;

	if (!http_method_is(req, EVHTTP_REQ_GET))
		return;
	out = evbuffer_new();
	if (out == NULL) {
		http_reply_error(req, 500, "out of memory");
		return;
	}
	s->metrics(s->arg, out);
	http_reply_buffer(req, 200, PROM_CONTENT_TYPE, out);
	evbuffer_free(out);
}

int statusd_start(struct event_base *base, const char *listen, statusd_json_t json,
		  statusd_metrics_t metrics, void *arg, struct statusd **out, char *err,
		  size_t errlen)
{
	struct httpd_limits lim = {64, 8192, 1024, 10};
	struct statusd *s;
	char why[256] = "out of memory";

	*out = NULL;
	if (listen == NULL || listen[0] == '\0' || strcmp(listen, "off") == 0)
		return 0;
	s = calloc(1, sizeof(*s));
	if (s != NULL) {
		*s = (struct statusd){NULL, json, metrics, arg};
		s->h = httpd_new(base, NULL, listen, &lim, why, sizeof(why));
	}
	if (s == NULL || s->h == NULL || httpd_route(s->h, "/status", h_status, s) < 0 ||
	    httpd_route(s->h, "/metrics", h_metrics, s) < 0) {
		err_set(err, errlen, "status_listen: %s", why);
		statusd_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void statusd_free(struct statusd *s)
{
	if (s == NULL)
		return;
	httpd_free(s->h);
	free(s);
}
