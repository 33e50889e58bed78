/* sn_proto: what super nodes and attached nodes say to each other, read and
 * built without I/O: node descriptors, routed requests' envelopes and
 * replies, and the request frames of attached nodes (relay, media, client
 * requests), so that each can be unit tested and fuzzed. */
#ifndef P2PSIP_SN_PROTO_H
#define P2PSIP_SN_PROTO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sn_ring.h"

#define ROUTE_TTL 32                /* hops a routed request may take */
#define RELAY_ALLOC_MAX 16          /* streams per relay_alloc */
#define RELAY_FREE_MAX 256          /* stream ids per relay_free */
#define MEDIA_PKT_MAX 2048          /* bytes of one RTP or RTCP packet */
#define CLIENT_BODY_MAX (96 * 1024) /* bytes of a message's body */
#define CLIENT_ADDR_MAX 128         /* characters of an "IP:PORT" */

/* ---- node descriptors {"id", "host", "port"} and lists of them ---- */
json_t *node_to_json(const struct node *n);
int node_from_json(const json_t *j, struct node *n);
json_t *nodes_to_json(const struct node *list, int n);
/* At most max nodes; the entries that are not nodes are skipped. The count,
 * or -1 if j is not a list. */
int nodes_from_json(const json_t *j, struct node *list, int max);

/* ---- routed requests ---- */
/* Checks a "route" frame's envelope. 0 or -1 with err. */
int route_envelope_check(const json_t *msg, char *err, size_t errlen);
/* The reply of a routed request handled at its destination: {"ok", "res"}
 * (res consumed; NULL: an empty object), or {"ok": false, "err", "msg"}. */
json_t *route_ok(json_t *res);
json_t *route_error(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- frames of attached nodes ----
 * Pointers in the structs below are borrowed from the frame's JSON. */

/* {"t": "relay_alloc", "n": 1..RELAY_ALLOC_MAX, "tunnel": bool}. */
struct relay_alloc_req {
	int n;
	int tunnel; /* anything but true: streams with UDP on both sides */
};
int relay_alloc_parse(const json_t *msg, struct relay_alloc_req *out, char *err, size_t errlen);

/* {"t": "relay_use", "id", "far": "IP:PORT", "far_rtcp": "IP:PORT",
 *  "near": "IP:PORT", "near_rtcp": "IP:PORT", "near_reset": bool}: a far
 *  address, where the node's own phone receives (its SDP), a reset of the
 *  near side, or any of them together. */
struct relay_use_req {
	uint32_t id; /* 0: not a stream id (no stream has it) */
	int near_reset;
	int has_far, has_rtcp;
	struct sockaddr_storage far, rtcp;
	socklen_t far_len, rtcp_len;
	int has_near, has_near_rtcp;
	struct sockaddr_storage near, near_rtcp;
	socklen_t near_len, near_rtcp_len;
};
int relay_use_parse(const json_t *msg, struct relay_use_req *out, char *err, size_t errlen);

/* {"t": "relay_free", "ids": [...]}: the entries that are not stream ids
 * are left out, and so is an "ids" that is not a list. */
struct relay_free_req {
	uint32_t ids[RELAY_FREE_MAX];
	int n;
};
int relay_free_parse(const json_t *msg, struct relay_free_req *out, char *err, size_t errlen);

/* {"t": "media", "id", "c": 0 (RTP) or 1 (RTCP), "p": base64 packet}. */
struct media_frame {
	uint32_t id; /* 0: not a stream id */
	int ch;
	uint8_t pkt[MEDIA_PKT_MAX];
	size_t len;
};
enum media_rc { MEDIA_OK, MEDIA_BAD, MEDIA_TOO_BIG };
/* MEDIA_BAD: no packet or no valid channel; MEDIA_TOO_BIG: a packet that is
 * empty, not base64 or over MEDIA_PKT_MAX. */
enum media_rc media_frame_parse(const json_t *msg, struct media_frame *out, char *err,
				size_t errlen);

/* {"t": "store", "val": {"name", ...}}: the value is checked where stored. */
struct client_store_req {
	const char *name;
	json_t *val;
};
int client_store_parse(const json_t *msg, struct client_store_req *out, char *err, size_t errlen);

/* {"t": "fetch" or "route", "name"}. */
struct client_fetch_req {
	const char *name;
};
int client_fetch_parse(const json_t *msg, struct client_fetch_req *out, char *err, size_t errlen);

/* {"t": "ping" or "neighbors", "node"?}: without "node", this super node. */
struct client_node_req {
	int has_node;
	struct rid node;
};
int client_node_parse(const json_t *msg, struct client_node_req *out, char *err, size_t errlen);

/* {"t": "send", "to", "body", "sn"?, "sn_addr"?}: a message to the node
 * "to", through its super node "sn" (default: "to" is a super node),
 * reached directly at "sn_addr" when given. */
struct client_send_req {
	struct rid to, via;
	const char *body;
	int has_at;
	struct node at; /* via, at sn_addr */
};
int client_send_parse(const json_t *msg, struct client_send_req *out, char *err, size_t errlen);

/* What a handler of the frame table (sn_handler.c) receives, parsed. */
union sn_req {
	struct relay_alloc_req alloc;
	struct relay_use_req use;
	struct relay_free_req free;
	struct client_store_req store;
	struct client_fetch_req fetch;
	struct client_node_req node;
	struct client_send_req send;
};

#endif
