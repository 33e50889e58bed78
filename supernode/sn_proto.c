/* What super nodes and attached nodes say to each other, read and built
 * without I/O (sn_proto.h): node descriptors, routed requests, and the
 * relay, media and client request frames of attached nodes. */
#include "sn_proto.h"

#include "jsonx.h"
#include "record.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- node descriptors ---- */

json_t *node_to_json(const struct node *n)
{
	char hex[RID_HEX_LEN + 1];

	rid_hex(&n->id, hex);
	return json_pack("{s:s,s:s,s:i}", "id", hex, "host", n->host, "port", n->port);
}

int node_from_json(const json_t *j, struct node *n)
{
	const char *id = NULL, *host = NULL;
	int64_t port = 0;

	memset(n, 0, sizeof(*n));
	if (!json_is_object(j) || jx_str(j, "id", RID_HEX_LEN, JX_REQUIRED, &id, NULL, 0) < 0 ||
	    jx_str(j, "host", sizeof(n->host) - 1, JX_REQUIRED, &host, NULL, 0) < 0 ||
	    jx_int(j, "port", 1, 65535, JX_REQUIRED, &port, NULL, 0) < 0 ||
	    rid_parse(id, &n->id) < 0 || !addr_is_ip(host))
		return -1;
	str_copy(n->host, host, sizeof(n->host));
	n->port = (uint16_t)port;
	return 0;
}

json_t *nodes_to_json(const struct node *list, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, node_to_json(&list[i]));
	return a;
}

int nodes_from_json(const json_t *j, struct node *list, int max)
{
	size_t i;
	json_t *v;
	int n = 0;

	if (!json_is_array(j))
		return -1;
	json_array_foreach(j, i, v) {
		if (n == max)
			break;
		if (node_from_json(v, &list[n]) == 0)
			n++;
	}
	return n;
}

/* ---- routed requests ---- */

json_t *route_ok(json_t *res)
{
	return json_pack("{s:b,s:o}", "ok", 1, "res", res != NULL ? res : json_object());
}

json_t *route_error(const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b,s:s,s:s}", "ok", 0, "err", code, "msg", msg);
}

int route_envelope_check(const json_t *msg, char *err, size_t errlen)
{
	static const char *const keys[] = {"t",	"tid", "dest", "mode", "hops",
					   "ttl", "path", "req", "final", NULL};
	const char *dest, *mode;
	int64_t v;
	struct rid r;
	json_t *path = json_object_get(msg, "path");

	if (!json_is_object(msg)) {
		err_set(err, errlen, "route: not an object");
		return -1;
	}
	if (jx_only(msg, keys, err, errlen) < 0 ||
	    jx_str(msg, "dest", RID_HEX_LEN, JX_REQUIRED, &dest, err, errlen) < 0 ||
	    jx_str(msg, "mode", 4, JX_REQUIRED, &mode, err, errlen) < 0 ||
	    jx_int(msg, "hops", 0, ROUTE_TTL, JX_REQUIRED, &v, err, errlen) < 0 ||
	    jx_int(msg, "ttl", 0, ROUTE_TTL, JX_REQUIRED, &v, err, errlen) < 0)
		return -1;
	if (rid_parse(dest, &r) < 0) {
		err_set(err, errlen, "dest: expected 32 hex digits");
		return -1;
	}
	if (strcmp(mode, "res") != 0 && strcmp(mode, "node") != 0) {
		err_set(err, errlen, "mode: expected res or node");
		return -1;
	}
	if (!json_is_object(json_object_get(msg, "req"))) {
		err_set(err, errlen, "req: expected an object");
		return -1;
	}
	if (path != NULL && (!json_is_array(path) || json_array_size(path) > ROUTE_TTL)) {
		err_set(err, errlen, "path: expected a list of at most %d hops", ROUTE_TTL);
		return -1;
	}
	return 0;
}

/* ---- relay and media frames ----
 * They keep the leniency the relay has always had (a field of the wrong
 * type reads as absent), so that what nodes in the field send keeps its
 * meaning. */

/* A stream id, or 0. */
static uint32_t stream_id(const json_t *v)
{
	json_int_t id = json_integer_value(v);

	return json_is_integer(v) && id > 0 && id <= UINT32_MAX ? (uint32_t)id : 0;
}

int relay_alloc_parse(const json_t *msg, struct relay_alloc_req *out, char *err, size_t errlen)
{
	const json_t *n = json_object_get(msg, "n");

	if (!json_is_integer(n) || json_integer_value(n) < 1 ||
	    json_integer_value(n) > RELAY_ALLOC_MAX) {
		err_set(err, errlen, "n: 1 to %d streams", RELAY_ALLOC_MAX);
		return -1;
	}
	out->n = (int)json_integer_value(n);
	out->tunnel = json_is_true(json_object_get(msg, "tunnel"));
	return 0;
}

/* "IP:PORT" or "[IP]:PORT" with a port; the IP in host. */
static int target(const char *a, struct sockaddr_storage *ss, socklen_t *len, char *host,
		  size_t hostlen)
{
	uint16_t port;

	return a != NULL && addr_split(a, host, hostlen, &port) == 0 && port != 0 &&
			       addr_ip_port(host, port, ss, len) == 0
		       ? 0
		       : -1;
}

int relay_use_parse(const json_t *msg, struct relay_use_req *out, char *err, size_t errlen)
{
	const char *far = json_string_value(json_object_get(msg, "far"));
	const char *rtcp = json_string_value(json_object_get(msg, "far_rtcp"));
	const char *near = json_string_value(json_object_get(msg, "near"));
	const char *nrtcp = json_string_value(json_object_get(msg, "near_rtcp"));
	char host[64];

	memset(out, 0, sizeof(*out));
	out->id = stream_id(json_object_get(msg, "id"));
	out->near_reset = json_is_true(json_object_get(msg, "near_reset"));
	out->has_far = far != NULL;
	out->has_rtcp = rtcp != NULL;
	out->has_near = near != NULL;
	out->has_near_rtcp = nrtcp != NULL;
	if ((far == NULL && near == NULL && !out->near_reset) ||
	    (far != NULL && target(far, &out->far, &out->far_len, host, sizeof(host)) < 0) ||
	    (rtcp != NULL && target(rtcp, &out->rtcp, &out->rtcp_len, host, sizeof(host)) < 0)) {
		err_set(err, errlen, "far: want IP:PORT");
		return -1;
	}
	if ((near != NULL && target(near, &out->near, &out->near_len, host, sizeof(host)) < 0) ||
	    (nrtcp != NULL &&
	     target(nrtcp, &out->near_rtcp, &out->near_rtcp_len, host, sizeof(host)) < 0)) {
		err_set(err, errlen, "near: want IP:PORT");
		return -1;
	}
	return 0;
}

int relay_free_parse(const json_t *msg, struct relay_free_req *out, char *err, size_t errlen)
{
	const json_t *ids = json_object_get(msg, "ids");
	json_t *v;
	size_t i;

	out->n = 0;
	if (json_array_size(ids) > RELAY_FREE_MAX) {
		err_set(err, errlen, "ids: at most %d streams", RELAY_FREE_MAX);
		return -1;
	}
	json_array_foreach(ids, i, v) {
		uint32_t id = stream_id(v);
		if (id != 0)
			out->ids[out->n++] = id;
	}
	return 0;
}

enum media_rc media_frame_parse(const json_t *msg, struct media_frame *out, char *err,
				size_t errlen)
{
	const char *p = json_string_value(json_object_get(msg, "p"));
	/* No "c" (or not a number) is RTP, as the relay always took it. */
	json_int_t ch = json_integer_value(json_object_get(msg, "c"));
	uint8_t *b;
	size_t n = 0;

	out->id = stream_id(json_object_get(msg, "id"));
	out->len = 0;
	if (out->id == 0 || p == NULL || (ch != 0 && ch != 1)) {
		err_set(err, errlen, "media: want id, c (0 or 1) and p");
		return MEDIA_BAD;
	}
	out->ch = (int)ch;
	b = b64_decode(p, MEDIA_PKT_MAX, &n);
	if (b == NULL || n == 0) {
		free(b);
		err_set(err, errlen, "p: want a packet of 1 to %d bytes in base64", MEDIA_PKT_MAX);
		return MEDIA_TOO_BIG;
	}
	memcpy(out->pkt, b, n);
	out->len = n;
	free(b);
	return MEDIA_OK;
}

/* ---- client requests ---- */

static int node_arg(const json_t *msg, const char *key, struct rid *id, char *err, size_t errlen)
{
	const char *hex;

	if (jx_str(msg, key, RID_HEX_LEN, JX_REQUIRED, &hex, err, errlen) < 0)
		return -1;
	if (rid_parse(hex, id) < 0) {
		err_set(err, errlen, "%s: expected 32 hex digits", key);
		return -1;
	}
	return 0;
}

int client_store_parse(const json_t *msg, struct client_store_req *out, char *err, size_t errlen)
{
	out->val = json_object_get(msg, "val");
	if (!json_is_object(out->val) ||
	    jx_str(out->val, "name", RECORD_NAME_MAX, JX_REQUIRED, &out->name, NULL, 0) < 0) {
		err_set(err, errlen, "store needs a value with a name");
		return -1;
	}
	return 0;
}

int client_fetch_parse(const json_t *msg, struct client_fetch_req *out, char *err, size_t errlen)
{
	return jx_str(msg, "name", RECORD_NAME_MAX, JX_REQUIRED, &out->name, err, errlen);
}

int client_node_parse(const json_t *msg, struct client_node_req *out, char *err, size_t errlen)
{
	out->has_node = json_object_get(msg, "node") != NULL;
	return out->has_node ? node_arg(msg, "node", &out->node, err, errlen) : 0;
}

int client_send_parse(const json_t *msg, struct client_send_req *out, char *err, size_t errlen)
{
	const char *sna = NULL;
	int via = json_object_get(msg, "sn") != NULL;

	memset(out, 0, sizeof(*out));
	if (node_arg(msg, "to", &out->to, err, errlen) < 0 ||
	    jx_str(msg, "body", CLIENT_BODY_MAX, JX_REQUIRED, &out->body, err, errlen) < 0 ||
	    (via && node_arg(msg, "sn", &out->via, err, errlen) < 0))
		return -1;
	if (!via)
		out->via = out->to; /* addressed to a super node itself */
	out->has_at = json_object_get(msg, "sn_addr") != NULL;
	if (out->has_at &&
	    (jx_str(msg, "sn_addr", CLIENT_ADDR_MAX, JX_REQUIRED, &sna, NULL, 0) < 0 ||
	     addr_split(sna, out->at.host, sizeof(out->at.host), &out->at.port) < 0)) {
		err_set(err, errlen, "sn_addr: want HOST:PORT");
		return -1;
	}
	out->at.id = out->via;
	return 0;
}
