/* LAN discovery: super nodes' signed multicast announcements (docs/protocol.md,
 * "LAN announcements"): the pure datagram codec, the receiver's checks and its
 * bounded table of super nodes heard, and the socket on the group. */
#ifndef P2PSIP_LAN_H
#define P2PSIP_LAN_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"

#define LAN_VERSION 1
#define LAN_DATAGRAM_MAX 4096 /* a datagram, certificate included */
#define LAN_OVERLAY_MAX 255
#define LAN_ADDRS_MAX 2     /* main address, then fall-back */
#define LAN_HOST_MAX 63     /* an IP literal */
#define LAN_SKEW 60         /* seconds an announcement's time may be off ours */
#define LAN_FORGET_SECS 120 /* 2 * LAN_SKEW: silent this long, a super node is forgotten */
#define LAN_HEARD_MAX 64    /* super nodes remembered; the least recently heard goes */
#define LAN_SOURCES_MAX 256 /* token buckets kept, one per source address */
#define LAN_SOURCE_RATE 2.0 /* announcements checked per second and source */
#define LAN_SOURCE_BURST 10.0
#define LAN_GROUP_DEFAULT "239.255.80.83:7409"
#define LAN_INTERVAL_DEFAULT 5 /* seconds between announcements */
#define LAN_WAIT_DEFAULT 11 /* seconds a super node with no bootstrapd listens first: two intervals and one */

/* Why a datagram was refused (or LAN_ACCEPTED). Each is counted. */
enum lan_res {
	LAN_ACCEPTED = 0,
	LAN_RATE,      /* over its source's token bucket: not even parsed */
	LAN_SIZE,      /* empty or over LAN_DATAGRAM_MAX */
	LAN_PARSE,     /* not a well-formed announcement of our version */
	LAN_OVERLAY,   /* another overlay's */
	LAN_CERT,      /* certificate does not parse, chain to our CA, or is not valid now */
	LAN_REVOKED,   /* on the CRL we hold */
	LAN_ROLE,      /* not a super node's certificate */
	LAN_NODE_ID,   /* the Node-ID is not the one of the certificate's key */
	LAN_SIGNATURE, /* the signature does not verify */
	LAN_TIME,      /* more than LAN_SKEW away from our clock */
	LAN_REPLAY,    /* not newer than the last accepted from this Node-ID */
	LAN_ADDRESS,   /* an announced address is not the datagram's source */
	LAN_SELF,      /* our own, heard back: ignored */
	LAN_NRES
};

/* A static name of res ("accepted", "size", "parse", ...), for logs and metrics. */
const char *lan_res_str(enum lan_res res);

struct lan_addr {
	char host[LAN_HOST_MAX + 1]; /* an IP literal */
	uint16_t port;
};

/* An announcement as parsed: pointers into the datagram (valid as long as it). */
struct lan_ann {
	char overlay[LAN_OVERLAY_MAX + 1];
	uint8_t node_id[NODE_ID_LEN];
	struct lan_addr addr[LAN_ADDRS_MAX];
	int naddr; /* 1..LAN_ADDRS_MAX */
	int64_t time;
	const uint8_t *cert; /* DER */
	size_t cert_len;
	const uint8_t *sig;
	size_t sig_len;
	size_t signed_len; /* the datagram's first signed_len bytes are signed */
};

/* ---- the datagram (pure) ---- */

/* Parses buf: LAN_ACCEPTED (only the form is checked), LAN_SIZE or LAN_PARSE. */
enum lan_res lan_parse(const uint8_t *buf, size_t len, struct lan_ann *out);

/* What an announcement says; lan_build signs it with key. */
struct lan_fields {
	const char *overlay;
	uint8_t node_id[NODE_ID_LEN];
	struct lan_addr addr[LAN_ADDRS_MAX];
	int naddr;
	int64_t time;
	X509 *cert;
};
/* Builds and signs into out (cap bytes): the length, or -1 when a field is
 * out of its limits, the key cannot sign, or it does not fit. */
int lan_build(const struct lan_fields *f, EVP_PKEY *key, uint8_t *out, size_t cap);

/* ---- the receiver: checks and the table of super nodes heard ---- */

struct lan_heard {
	uint8_t node_id[NODE_ID_LEN];
	struct lan_addr addr[LAN_ADDRS_MAX];
	int naddr;
	int64_t time;      /* of the last announcement accepted */
	uint64_t heard_ms; /* monotonic ms when it was accepted */
};

struct lan_stats {
	uint64_t res[LAN_NRES]; /* by result; res[LAN_ACCEPTED]: accepted */
	uint64_t sent, send_errors;
};

struct lan;
struct crl;

/* A receiver for overlay (copied) under ca (borrowed; must outlive it).
 * NULL when out of memory. */
struct lan *lan_new(const char *overlay, X509 *ca);
void lan_free(struct lan *l); /* accepts NULL */
/* The CRL to check against (borrowed; NULL: none). */
void lan_set_crl(struct lan *l, const struct crl *crl);
/* Our own Node-ID: our announcements, heard back, are left out of the table. */
void lan_set_self(struct lan *l, const uint8_t node_id[NODE_ID_LEN]);
/* Takes a datagram from src (an IP literal) at wall-clock now (seconds) and
 * monotonic now_ms. The checks, cheapest first: the source's token bucket,
 * size, form, overlay, self, time, addresses; then the certificate (chain,
 * validity, CRL, role, Node-ID), the signature, and last the replay check.
 * An accepted one enters the table; anything refused changes nothing but
 * its counter, and why (may be NULL) says more. */
enum lan_res lan_take(struct lan *l, const uint8_t *buf, size_t len, const char *src, int64_t now,
		      uint64_t now_ms, char *why, size_t whylen);
/* The super nodes heard within LAN_FORGET_SECS, most recently heard first:
 * how many were put in out. */
int lan_heard(const struct lan *l, struct lan_heard *out, int max, uint64_t now_ms);
const struct lan_stats *lan_stats(const struct lan *l);
struct lan_stats *lan_stats_mut(struct lan *l);

/* The counters for /status: {"heard", "sent", "send_errors", "accepted",
 * "ignored": {reason: count}}, a new reference. */
struct json_t;
struct json_t *lan_status(const struct lan *l, uint64_t now_ms);
/* The counters for /metrics, under prefix (e.g. "p2psip_sn"):
 * PREFIX_lan_announcements_total{result=...}, PREFIX_lan_sent_total,
 * PREFIX_lan_heard. */
struct evbuffer;
void lan_metrics(const struct lan *l, struct evbuffer *out, const char *prefix, uint64_t now_ms);

/* ---- the socket on the group ---- */

struct lan_sock_conf {
	char group[LAN_HOST_MAX + 1]; /* an IPv4 multicast address */
	uint16_t port;
	char iface[LAN_HOST_MAX +
		   1]; /* IPv4 address of the interface; "" or 0.0.0.0: the kernel's choice */
};
/* Parses "ADDR:PORT" (an IPv4 multicast group) and iface into *c: 0, or -1
 * with err. */
int lan_sock_conf(struct lan_sock_conf *c, const char *group, const char *iface, char *err,
		  size_t errlen);
/* A non-blocking UDP socket bound to the group's port, member of the group
 * on the interface, sending there with TTL 1: the fd, or -1 with err. */
int lan_sock_open(const struct lan_sock_conf *c, char *err, size_t errlen);
/* Sends len bytes to the group: 0, or -1 (counted in l's stats). */
int lan_sock_send(int fd, const struct lan_sock_conf *c, struct lan *l, const uint8_t *buf,
		  size_t len);
/* Reads the datagrams waiting on fd (at most a bounded number) into
 * lan_take, and logs refusals (at most a few lines a second): how many
 * were accepted. */
int lan_sock_drain(int fd, struct lan *l);

#endif
