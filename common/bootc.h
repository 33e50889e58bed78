/* The bootstrapd client: how a node asks bootstrapd for the overlay
 * configuration, the CRL and live super nodes (docs/protocol.md), with pure
 * parsers of the answers and one asynchronous request at a time on httpc. */
#ifndef P2PSIP_BOOTC_H
#define P2PSIP_BOOTC_H

#include "httpc.h"
#include "ringid.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct crl;

#define BOOTC_ANSWER_MAX (1024 * 1024) /* a JSON answer (list_max 1000 fits) */
#define BOOTC_OVERLAY_MAX 255
#define BOOTC_URL_MAX 1024
#define BOOTC_LIST_MAX 32            /* super nodes kept from a list (nodes ask 8 or 16) */
#define BOOTC_SN_ADDRS 2             /* a super node's main address, then its fall-back */
#define BOOTC_HOST_MAX 63            /* an IP literal */
#define BOOTC_TIMER_MAX (30 * 86400) /* larger timers read as absent */
#define BOOTC_WANT_MAX 100000     /* [promotion] want_supernodes read */
#define BOOTC_LOAD_MAX 100.0      /* [promotion] max_load read, per CPU */
#define BOOTC_TIMEOUT_SECS 10        /* what the daemons wait for an answer */

/* Timers used when the overlay's are absent, not an integer or out of
 * 1..BOOTC_TIMER_MAX (seconds). */
#define BOOTC_HEARTBEAT_DEFAULT 30
#define BOOTC_STABILIZE_DEFAULT 1
#define BOOTC_KEEPALIVE_DEFAULT 25
#define BOOTC_RENEW_BEFORE_DEFAULT 7200

enum bootc_res {
	BOOTC_OK = 0,
	BOOTC_UNREACHABLE,   /* no HTTP answer came (requests only) */
	BOOTC_REFUSED,       /* an HTTP status other than 200 (requests only) */
	BOOTC_BAD_ANSWER,    /* the body does not parse */
	BOOTC_WRONG_OVERLAY, /* the configuration is another overlay's */
};

/* GET /v1/config. Timers in seconds, always in 1..BOOTC_TIMER_MAX; limits
 * 0 when absent or not a positive integer (the node keeps its own). */
struct bootc_config {
	char overlay[BOOTC_OVERLAY_MAX + 1];
	char logind_url[BOOTC_URL_MAX + 1];
	int64_t crl_number; /* -1 when absent */
	struct {
		int64_t heartbeat, stabilize, keepalive, renew_before;
	} timers;
	struct {
		int64_t value_max, values_per_resource, records_per_user, lifetime_max, frame_max;
	} limits;
	/* Self-selected super nodes: enable is 0 unless bootstrapd says yes
	 * with every number in range (an older one says nothing). */
	struct {
		int enable;
		int64_t want_supernodes, min_uptime, demote_after; /* seconds */
		double max_load; /* load average per CPU */
	} promotion;
};

/* GET /v1/supernodes. An address is usable when port != 0 (an IP literal
 * and a port in 1..65535); addr[k] keeps its place in the answer. */
struct bootc_addr {
	char host[BOOTC_HOST_MAX + 1];
	uint16_t port;
};

struct bootc_sn {
	struct rid id;
	int has_id; /* node_id was 32 hex digits */
	struct bootc_addr addr[BOOTC_SN_ADDRS];
};

struct bootc_list {
	int n;
	struct bootc_sn sn[BOOTC_LIST_MAX];
};

/* A static name of res, for logs. */
const char *bootc_res_str(enum bootc_res res);

/* ---- parsers: pure (no I/O); *out is plain data, nothing to free but a CRL ---- */

/* Parses a configuration answer into *out. "overlay" and "logind_url" are
 * required; overlay (NULL: any) is the overlay the caller belongs to:
 * BOOTC_WRONG_OVERLAY, with "bootstrapd serves overlay X, configured is Y"
 * in err, when they differ. Otherwise BOOTC_OK or BOOTC_BAD_ANSWER with err
 * saying why. */
enum bootc_res bootc_config_parse(const uint8_t *body, size_t len, const char *overlay,
				  struct bootc_config *out, char *err, size_t errlen);
/* Parses a super node list into *out: "supernodes" must be an array; its
 * entries without a usable address are left out, the first BOOTC_LIST_MAX
 * others kept. BOOTC_OK (maybe with out->n == 0) or BOOTC_BAD_ANSWER. */
enum bootc_res bootc_list_parse(const uint8_t *body, size_t len, struct bootc_list *out, char *err,
				size_t errlen);
/* Parses a CRL answer (DER or PEM) signed by ca (borrowed): BOOTC_OK with
 * *out owned by the caller (crl_free), or BOOTC_BAD_ANSWER with *out NULL. */
enum bootc_res bootc_crl_parse(const uint8_t *body, size_t len, X509 *ca, struct crl **out,
			       char *err, size_t errlen);
/* 1 if c should replace cur (cur may be NULL): a higher CRL number. */
int bootc_crl_is_newer(const struct crl *cur, const struct crl *c);

/* ---- requests ---- */

/* Each callback runs once per request started, from the event loop, and may
 * start the next request or free the client. err explains any result but
 * BOOTC_OK: the transport's reason, "HTTP <status>", what did not parse, or
 * the overlay mismatch. The parsed answer is only valid during the call. */
typedef void (*bootc_config_cb)(enum bootc_res res, const struct bootc_config *cfg, const char *err,
				void *arg);
typedef void (*bootc_list_cb)(enum bootc_res res, const struct bootc_list *list, const char *err,
			      void *arg);
/* crl (BOOTC_OK only) is the callback's to keep or crl_free. */
typedef void (*bootc_crl_cb)(enum bootc_res res, struct crl *crl, const char *err, void *arg);

struct bootc;

/* A client of the bootstrapd at url (copied), for the caller to bootc_free.
 * base and ca (for CRLs) are borrowed and must outlive it; overlay (copied;
 * NULL: take any) is checked against configurations. NULL on bad arguments
 * or out of memory. */
struct bootc *bootc_new(struct event_base *base, const char *url, const char *overlay, X509 *ca,
			int timeout_secs);
/* Cancels the request in flight (its callback is not called). Accepts NULL. */
void bootc_free(struct bootc *bc);
/* 1 while a request is in flight: a client asks one thing at a time. */
int bootc_busy(const struct bootc *bc);
/* Abandons the request in flight, if any, without calling back. */
void bootc_cancel(struct bootc *bc);
/* The URL given to bootc_new, owned by bc. */
const char *bootc_url(const struct bootc *bc);

/* Start a request over ctx (borrowed; NULL: plain http://). -1 with err
 * filled when it cannot start or one is already in flight (then cb is
 * never called). */
int bootc_get_config(struct bootc *bc, SSL_CTX *ctx, bootc_config_cb cb, void *arg, char *err,
		     size_t errlen);
/* Needs the ca given to bootc_new. */
int bootc_get_crl(struct bootc *bc, SSL_CTX *ctx, bootc_crl_cb cb, void *arg, char *err,
		  size_t errlen);
/* count: how many super nodes to ask for (1..BOOTC_LIST_MAX). */
int bootc_get_list(struct bootc *bc, SSL_CTX *ctx, int count, bootc_list_cb cb, void *arg,
		   char *err, size_t errlen);
/* A super node's POST (announce, heartbeat, withdraw) with body, a JSON
 * text (copied); cb gets httpc's raw answer. */
int bootc_post(struct bootc *bc, SSL_CTX *ctx, const char *path, const char *body, httpc_done_t cb,
	       void *arg, char *err, size_t errlen);

#endif
