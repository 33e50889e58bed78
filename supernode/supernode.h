/* supernode: a member of the overlay's Chord ring. Shared state of the
 * daemon and the interfaces between its files:
 *   supernode.c   main, start-up and shutdown
 *   sn_config.c   configuration
 *   sn_boot.c     certificate, bootstrapd (configuration, CRL, announce)
 *   sn_cache.c    bootstrapd's last answers and the ring kept for a restart
 *   sn_conn.c     links: listener, peers opened on demand, clients
 *   sn_handler.c  which module handles which frame and routed request
 *   sn_route.c    routed requests along the ring
 *   sn_chord.c    join, stabilisation, fingers, failures, leave
 *   sn_data.c     store, fetch, replication, transfer and reconciliation
 *   sn_client.c   requests of attached clients and message delivery
 *   sn_relay.c    the media relay for attached nodes
 *   sn_stun.c     STUN Binding on UDP
 *   sn_service.c  service:stun, service:relay advertised in the DHT
 *   sn_status.c   local /status and /metrics
 *   sn_ring.c, sn_store.c, sn_db.c, sn_proto.c: pure parts and SQLite. */
#ifndef P2PSIP_SUPERNODE_H
#define P2PSIP_SUPERNODE_H

#include <jansson.h>
#include <openssl/ssl.h>
#include <stdint.h>

#include "olink.h"
#include "record.h"
#include "sn_proto.h"
#include "sn_ring.h"
#include "sn_store.h"

struct event_base;
struct event;
struct evconnlistener;
struct httpd;
struct crl;
struct certcheck;
struct sdb;
struct boot;
struct repq;
struct push;
struct rate_table;

struct sn_config {
	char *overlay;
	char *bootstrap_url; /* NULL or "": none, the LAN and logind_url instead */
	char *logind_url;    /* logind's URL when no bootstrapd configuration can be had */
	char *ca_cert;
	char *account;
	char *password;
	char *password_file;
	int promoted; /* a user account's super node: the login asks for the role */
	char *key;
	char *cert;
	char *database;
	char *listen;
	char *public_host;
	char *status_listen;
	char *log_level;
	int64_t successors;
	int64_t replicas;
	int64_t stabilize_ms;
	int64_t push_delay_ms; /* re-replication after a change of the ring */
	int64_t request_timeout_ms;
	int64_t max_links;
	int64_t max_links_per_addr;
	int64_t max_handshakes;
	int64_t max_handshakes_per_addr;
	int64_t handshake_timeout;
	int64_t copy_rate;
	int64_t sync_interval;
	int64_t deliver_rate;
	int64_t deliver_bytes;
	int64_t send_rate;
	int64_t send_bytes;
	int64_t client_rate;
	int64_t peer_rate;
	int64_t idle_timeout;
	int64_t flush_ms;
	int64_t crl_refresh;
	int64_t value_max;
	int64_t values_per_resource;
	int64_t records_per_user;
	int64_t lifetime_max;
	char *relay_listen;
	char *relay_public;
	char *relay_ports;
	int64_t relay_idle;
	int64_t relay_max;
	int64_t relay_max_per_node; /* the old name of relay_max_per_account; 0: not given */
	int64_t relay_max_per_account;
	int64_t relay_rate;
	char *relay_allow;
	char *stun_listen;
	char *fallback_listen;
	int64_t stun_rate;
	int64_t stun_rate_per_addr;
	/* [lan]: signed announcements on the local network (sn_lan.c) */
	int lan_announce, lan_discover;
	char *lan_group, *lan_iface;
	int64_t lan_interval, lan_wait;
};

int sn_config_load(struct sn_config *cfg, const char *path, char *err, size_t errlen);
void sn_config_print(const struct sn_config *cfg);
void sn_config_free(struct sn_config *cfg);

enum sn_state { SN_STARTING, SN_JOINING, SN_JOINED, SN_LEAVING };

struct conn;
struct sn;

/* The reply of a routed request ({"ok", "hops", "res"|"err"...}, borrowed). */
typedef void (*route_done_t)(json_t *reply, void *arg);

/* ---- sn_handler.c: which module handles which frame ---- */
/* Which links may send a frame (a row's "from"). */
enum { SN_FROM_PEER = 1, SN_FROM_CLIENT = 2 };
/* A row's flags. SN_NEEDS_TID: requests only, a one-way frame of this type
 * is dropped; SN_NEEDS_JOINED: answered "busy" until in the ring. */
enum { SN_NEEDS_TID = 1, SN_NEEDS_JOINED = 2 };

/* A row of the frame table: the frame's "t" ("x*": any type starting with
 * x that has no row of its own; "*": any such type), the links it is taken
 * from, and who reads and handles it. A frame that parse refuses is
 * answered "bad_request" with parse's text; parse NULL: handle reads msg
 * itself and gets req NULL. A table ends with a row whose type is NULL. */
struct sn_handler {
	const char *type;
	unsigned from, flags;
	int (*parse)(const json_t *msg, union sn_req *req, char *err, size_t errlen);
	void (*handle)(struct sn *sn, struct olink *l, json_t *msg, const union sn_req *req);
};

/* A row of the routed-request table: who answers the "op" of a request
 * that reached this node, its destination. handle calls done exactly once
 * and does not keep inner. A table ends with a row whose op is NULL. */
struct sn_op {
	const char *op;
	void (*handle)(struct sn *sn, json_t *inner, route_done_t done, void *arg);
};

#define SN_TABLES_MAX 8
struct sn_handlers {
	const struct sn_handler *frames[SN_TABLES_MAX];
	const struct sn_op *ops[SN_TABLES_MAX];
	int nframes, nops;
};

/* Adds a module's rows (kept, not copied). 0, or -1 when full. */
int handler_add_frames(struct sn_handlers *h, const struct sn_handler *rows);
int handler_add_ops(struct sn_handlers *h, const struct sn_op *rows);
/* The row for a frame of this type from this kind of link: its own row,
 * else the longest pattern that matches; NULL if none. */
const struct sn_handler *handler_find_frame(const struct sn_handlers *h, const char *type,
					    unsigned from);
const struct sn_op *handler_find_op(const struct sn_handlers *h, const char *op);
/* A frame from a link (from: SN_FROM_PEER or SN_FROM_CLIENT). */
void handler_frame(struct sn *sn, struct olink *l, json_t *msg, unsigned from);
/* A routed request that reached this node (inner consumed). */
void handler_op(struct sn *sn, json_t *inner, route_done_t done, void *arg);

struct sn_stats {
	uint64_t stores, store_refused, fetches, routed, forwarded, route_failures;
	uint64_t replicated_out, replicated_in, rep_refused, delivered, hops_total, lookups;
	uint64_t stepped_back;
	uint64_t copies_busy, syncs_refused, delivers_refused;
	uint64_t stun_requests, stun_dropped, stun_bad;
	uint64_t reach_checks, reach_ok, reach_refused;
};

struct sn {
	struct sn_config cfg;
	struct event_base *base;
	enum sn_state state;
	struct keepcert *kc; /* owns key, cert, server_ctx and client_ctx */
	const char *conf_path;
	char kc_where[600]; /* where the account's password is set, for the log */
	EVP_PKEY *key;
	X509 *cert;
	X509 *ca;
	struct node self;
	char listen_host[64];
	uint16_t listen_port;
	SSL_CTX *server_ctx; /* links we accept: both sides authenticated */
	SSL_CTX *client_ctx; /* links we open, and bootstrapd/logind with our cert */
	SSL_CTX *anon_ctx;   /* logind before we have a certificate */
	struct crl *crl;
	struct certcheck *cc;
	struct ring ring;
	struct store *store;
	struct store_limits limits;
	struct sdb *db;
	struct evconnlistener *lis, *lis2; /* main, fall-back */
	char fallback_host[64];            /* where lis2 listens */
	uint16_t fallback_port;            /* 0: no fall-back listener */
	char fallback_public[64];          /* the address announced for it */
	struct conn *conns;
	int nconns;
	struct statusd *status;
	struct boot *boot; /* sn_boot.c: start-up and bootstrapd */
	struct event *stabilize_timer, *flush_timer, *expire_timer, *boot_timer;
	int next_finger;
	int64_t heartbeat_interval;
	int announced;
	int need_reconcile; /* restarted: pull our range once the predecessor is known */
	char pushed_sig[2 * RID_HEX_LEN * (SUCC_MAX + 1) + 1]; /* last re-replication */
	struct event *push_timer; /* debounces re-replication */
	struct event *rep_flush;  /* sends the batched replicas */
	struct repq *repq;
	struct push *transfers; /* sn_data.c: join transfers under way */
	struct rate_table *copy_rates, *sync_rates;       /* per super node */
	/* per sending Node-ID, per account: [0] messages, [1] bytes */
	struct rate_table *deliver_rates[2], *send_rates[2];
	int closing;        /* links are being closed: open no new ones */
	uint64_t started_ms;
	struct sn_stats stats;
	struct sn_handlers handlers;
	/* A super node was found dead (links, routing tell the ring). */
	void (*on_node_failed)(struct sn *sn, const struct rid *id);
	/* The last link of an attached node closed. */
	void (*on_client_gone)(struct sn *sn, const struct rid *id);
	struct services *services;
	void (*on_left)(struct sn *sn); /* graceful leave finished */
	struct stun_srv *stun;
	struct relay *relay;
	struct sn_lan *lan; /* sn_lan.c, or NULL when [lan] is off */
	struct event *ring_timer; /* sn_cache.c: the ring members kept */
	uint64_t ring_sig, ring_saved_ms;
};

/* ---- sn_lan.c: announcements on the LAN, super nodes heard there ---- */
struct sn_lan;
/* Opens the group when [lan] announce or discover is on. 0, or -1 with err. */
int sn_lan_start(struct sn *sn, char *err, size_t errlen);
void sn_lan_stop(struct sn *sn);
/* The main address of each super node heard, most recent first: how many
 * were put in seeds (0 with discovery off). */
int sn_lan_seeds(struct sn *sn, struct node *seeds, int max);
/* The CRL now held (borrowed), for the announcements' certificates. */
void sn_lan_set_crl(struct sn *sn, const struct crl *crl);
json_t *sn_lan_status(struct sn *sn);
struct evbuffer;
void sn_lan_metrics(struct sn *sn, struct evbuffer *out);

/* ---- sn_stun.c: STUN Binding on UDP ---- */
struct stun_srv;
int stun_start(struct sn *sn, char *err, size_t errlen);
void stun_stop(struct sn *sn);

/* ---- sn_relay.c: the media relay ---- */
struct relay;
int relay_start(struct sn *sn, char *err, size_t errlen);
void relay_stop(struct sn *sn);
/* The relay's frames (relay_alloc, relay_use, relay_free, media), or their
 * refusal when this super node relays nothing. */
const struct sn_handler *relay_frames(struct sn *sn);
/* A client's link closed: its streams that carried nothing yet go. */
void relay_client_gone(struct sn *sn, const struct rid *id);
json_t *relay_status(struct sn *sn);
struct evbuffer;
/* The relay's lines of /metrics. */
void relay_metrics(struct sn *sn, struct evbuffer *out);

/* ---- sn_service.c: this super node's services, advertised in the DHT ---- */
#define SERVICE_LIFE 900        /* seconds a record lives */
#define SERVICE_EVERY_MS 300000 /* renewed this often */
#define SERVICE_RETRY_MS 10000  /* after a failed store */
/* Writes the data of a service's record (JSON) into buf; 0, or -1 to skip
 * this round. */
typedef int (*service_data_t)(struct sn *sn, char *buf, size_t len);
int service_start(struct sn *sn);
void service_stop(struct sn *sn);
/* Advertises "service:<kind>" with what data writes, once joined, every
 * few minutes. 0, or -1 when the table is full. */
int service_add(struct sn *sn, const char *name, service_data_t data);
/* The data of service:stun and service:relay records (pure): JSON in buf;
 * 0, or -1 when it does not fit. */
int service_stun_data(char *buf, size_t len, const char *host, uint16_t port);
int service_relay_data(char *buf, size_t len, const char *host, uint16_t lo, uint16_t hi,
		       long long streams_free);
/* The signed record that advertises a service (pure). 0 or -1. */
int service_record(struct record *r, const char *name, const char *data, uint64_t now_ms,
		   EVP_PKEY *key, X509 *cert);

/* ---- sn_conn.c ---- */
enum conn_kind { CONN_PEER, CONN_CLIENT, CONN_PROBE };

typedef void (*peer_reply_t)(json_t *reply, const char *err, void *arg);

int conn_listen(struct sn *sn, char *err, size_t errlen);
/* Sends a request to the super node n over a cached link, opening one if
 * needed; cb runs exactly once (err "unreachable: ..." if the link fails). */
void peer_request(struct sn *sn, const struct node *n, json_t *msg, int timeout_ms,
		  peer_reply_t cb, void *arg);
/* One-way message to a super node (dropped if no link can be made). */
void peer_send(struct sn *sn, const struct node *n, json_t *msg);
/* Closes every link (shutdown). */
void conn_close_all(struct sn *sn);
/* Closes links whose certificate the current CRL revokes. */
void conn_drop_revoked(struct sn *sn);
int conn_count(const struct sn *sn, enum conn_kind kind);
/* The attached client with this Node-ID, if any. */
struct olink *conn_client(struct sn *sn, const struct rid *id);
/* Keeps a reference to the link of a request while it is served. */
struct conn *conn_of(struct olink *l);
void conn_hold(struct conn *c);
void conn_release(struct conn *c);
/* The link, or NULL if it closed meanwhile. */
struct olink *conn_link(const struct conn *c);
/* Requests of a client in flight: adds delta, returns the new count. */
int conn_inflight(struct conn *c, int delta);
/* The address this node knows for the super node id: from the routing
 * table, else from the hello of a live link with it (an authenticated super
 * node). 0, or -1 if unknown. The only addresses links are opened to are
 * these, bootstrapd's seeds and what authenticated super nodes tell. */
int conn_known_node(struct sn *sn, const struct rid *id, struct node *out);
/* The node at the other end of a super node link (from its hello). */
int conn_peer_node(struct olink *l, struct node *n);

/* ---- sn_route.c ---- */
/* Starts a routed request from here: to the node responsible for dest
 * (mode "res") or to the node dest (mode "node"). inner is consumed. at
 * (consumed, may be NULL) is the node dest with its address, tried first
 * as a direct hop in mode "node". */
void route_start(struct sn *sn, const struct rid *dest, const char *mode, json_t *inner,
		 int trace, json_t *at, route_done_t done, void *arg);
/* The "route" frame from other super nodes. */
extern const struct sn_handler route_frames[];

/* ---- sn_chord.c ---- */
int chord_start(struct sn *sn, const struct node *seeds, int nseeds);
/* Frames of the ring's upkeep (neighbors, ping, notify, join, leave), and
 * the routed find, ping and neighbors. */
extern const struct sn_handler chord_frames[];
extern const struct sn_op chord_ops[];
/* A super node was found dead or left: drop it from the tables. */
void chord_node_failed(struct sn *sn, const struct rid *id);
/* Graceful leave: hand the records over, tell the neighbours; calls
 * sn->on_left when done (or after a timeout). */
void chord_leave(struct sn *sn);
json_t *chord_neighbors(struct sn *sn);

/* ---- sn_data.c ---- */
int data_start(struct sn *sn);
void data_stop(struct sn *sn);
int data_load(struct sn *sn);
/* The "rep" and "sync" frames, and the routed store and fetch. */
extern const struct sn_handler data_frames[];
extern const struct sn_op data_ops[];
/* Membership changed: push our range to the successors as replicas. */
void data_membership_changed(struct sn *sn);
/* Pulls newer copies of our range from the successor (after a restart). */
void data_reconcile(struct sn *sn);
/* Hands every value of our range to the successor (graceful leave). */
void data_handover(struct sn *sn, void (*done)(struct sn *sn));
/* Sends the values in (from, to] to node n as "rep" frames, a few frames in
 * flight at a time; done(arg, ok) once all are acknowledged (join
 * transfer, handover, reconciliation). */
void data_push(struct sn *sn, const struct node *n, const struct rid *from, const struct rid *to,
	       const char *why, void (*done)(void *arg, int ok), void *arg);
void data_expire(struct sn *sn);

/* ---- sn_reach.c ---- */
/* reach_check (the return reachability test of a node that would become a
 * super node) and ring_size, from attached nodes. */
extern const struct sn_handler reach_frames[];
/* ring_count of our table. */
int ring_size_known(const struct sn *sn);

/* ---- sn_client.c ---- */
/* Requests of attached nodes (store, fetch, route, ping, neighbors, send),
 * and the routed deliver that hands a message to one of them. */
extern const struct sn_handler client_frames[];
extern const struct sn_op client_ops[];
/* The limits per sender on messages: 0, or -1 when out of memory. */
int client_start(struct sn *sn);
void client_stop(struct sn *sn);

/* ---- sn_boot.c ---- */
/* Gets a certificate (renewing or logging in), the overlay configuration,
 * the CRL and some live super nodes; calls done when ready to join. */
int boot_start(struct sn *sn, void (*done)(struct sn *sn, const struct node *seeds, int n));
void boot_joined(struct sn *sn);
void boot_leave(struct sn *sn, void (*done)(struct sn *sn));
void boot_stop(struct sn *sn);
/* keepcert's callback: the super node's certificate is (again) in place. */
struct keepcert;
void boot_cert_ready(struct keepcert *kc, void *arg);

/* ---- sn_cache.c: what a restart needs while bootstrapd is down ---- */
struct bootc_config;
/* bootstrapd's configuration (as it came) and a verified CRL, kept. */
void cache_config_save(struct sn *sn, const struct bootc_config *c);
void cache_crl_save(struct sn *sn, const struct crl *c);
/* The kept configuration, checked as if it came from bootstrapd: 0, or -1
 * (none, or unreadable: logged). */
int cache_config_load(struct sn *sn, struct bootc_config *out);
/* The kept CRL verified again against the CA (the caller's), or NULL. */
struct crl *cache_crl_load(struct sn *sn);
/* The ring members last seen, this node left out, at most max. */
int cache_seeds(struct sn *sn, struct node *out, int max);
/* Writes the ring members now (leaving); a timer writes them when they
 * change, at most every 30 s. */
void cache_ring_save(struct sn *sn);
int cache_start(struct sn *sn);
void cache_stop(struct sn *sn);

/* ---- sn_status.c ---- */
int status_start(struct sn *sn, char *err, size_t errlen);
json_t *status_json(struct sn *sn);

#endif
