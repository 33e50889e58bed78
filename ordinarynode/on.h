/* ordinarynode: an ordinary node of the overlay. Shared state of the daemon
 * and the interfaces between its files (docs/map-ordinarynode.md):
 *   ordinarynode.c  main, start-up and clean-up: creates every part, wires
 *                   the callbacks, keeps one certificate per account
 *   on_config.c     configuration
 *   on_boot.c       bootstrapd: overlay configuration, CRL, super node list
 *   on_link.c       the link to a super node and the others in reserve
 *   on_lan.c        super nodes heard on the LAN (common/lan.c)
 *   on_db.c         the node's SQLite file (the only file touching SQLite)
 *   on_sip.c        the SIP listener: REGISTER to the registrar, the rest to
 *                   the proxy, once on_auth.c let them through
 *   on_auth.c       digest authentication of phones, failures per source,
 *                   the allow-list of source networks
 *   on_registrar.c  REGISTER and the binding rules
 *   on_publish.c    the accounts' records in the overlay
 *   on_target.c     where a request goes (a pure function of the message)
 *   on_msg.c        SIP messages the proxy builds
 *   on_proxy.c      the proxy's transactions and branches
 *   on_forward.c    the proxy's requests from phones and from the overlay
 *   on_lookup.c     the DHT lookup of a callee
 *   on_dialog.c     calls answered and not hung up, and our phones in them
 *   on_peers.c      the nodes and certificates that may speak in each call
 *   on_seal.c       SIP sealed between nodes (common/seal.c), asserted
 *                   identities towards our phones
 *   on_media.c      relay streams and SDP for our side of each call
 *   on_gateway.c    the gateway mode's policy: domains, next hops, limits
 *   on_edge.c       the proxy where the overlay meets other domains
 *   on_fed.c        federation: peered overlays' gateways over TLS
 *   on_nat.c        middlebox detection
 *   on_status.c     /status and /metrics
 * Nothing calls upwards: the parent registers callbacks at start-up. */
#ifndef P2PSIP_ON_H
#define P2PSIP_ON_H

#include "identity.h"
#include "netlist.h"
#include "olink.h"
#include "ringid.h"

#include <jansson.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/url.h>
#include <openssl/ssl.h>
#include <stdint.h>

#define ON_ACCOUNTS_MAX 64
#define ON_RESERVE_MAX 16

struct on_account_conf {
	char *name;
	char *password; /* the overlay's (logind) */
	char *password_file;
	char *sip_password; /* its phones' (digest), never the overlay's */
	char *sip_password_file;
	char *role;        /* the certificate asked of logind: ROLE_USER or ROLE_GATEWAY */
	char *public_aors; /* USER@DOMAIN list: its addresses of record in other domains */
};

/* [peer DOMAIN]: another overlay whose gateways ours calls and takes calls
 * from over TLS (docs/federation.md). */
#define ON_PEERS_MAX 16
struct on_peer_conf {
	char *name;     /* the peer overlay's name */
	char *ca_cert;  /* its CA's certificate (PEM file) */
	char *route;    /* HOST:PORT of its gateways' TLS listener, or "": DNS */
	char *gateways; /* its gateways' account names, or "": any account of its CA */
};

struct on_config {
	char *overlay;
	char *bootstrap_url; /* "": none, logind_url and the LAN instead */
	char *logind_url;    /* logind's URL when no bootstrapd configuration can be had */
	int lan_discover;    /* [lan] discover: hear super nodes on the LAN (on_lan.c) */
	char *lan_group, *lan_iface;
	char *ca_cert;
	char *state_dir;
	char *status_listen;
	char *sip_listen;
	char *log_level;
	int64_t crl_refresh;
	int64_t keepalive;
	char *media_relay;
	int64_t media_pool;
	int media_hide; /* [media] hide_addresses: auto relays every call */
	/* The phones' side: digest, limits on failures, who may talk to us. */
	char *digest_algorithms;
	int64_t auth_nonce_lifetime, auth_fail_max, auth_fail_window, auth_block_time;
	char *phone_networks;
	struct netlist phone_nets; /* phone_networks parsed (NETLIST_MAX networks) */
	char *sip_tls_listen, *sip_tls_cert, *sip_tls_key;
	int plain_sip; /* send and take SIP unsealed (measuring the cost of sealing only) */
	/* [gateway]: this node is the overlay's gateway to ordinary SIP domains
	 * (on_gateway.c, docs/gateway.md) */
	int gw_enable;
	char *gw_domains, *gw_routes;
	int64_t gw_user_requests, gw_source_rate, gw_source_burst;
	char *gw_tls_listen; /* SIP over TLS for peered overlays' gateways */
	/* [promotion]: the owner's consent to run a super node of its own when
	 * the overlay's policy asks for one (on_promote.c) */
	int promo_allow;
	char *promo_listen, *promo_public_host, *promo_status_listen, *promo_supernode_path;
	int64_t promo_check_interval;
	struct on_account_conf *accounts;
	int naccounts;
	struct on_peer_conf *peers;
	int npeers;
};

enum on_state {
	ON_STARTING,
	ON_ATTACHING,
	ON_ATTACHED
};

struct sn_addr {
	char host[64];
	uint16_t port;
	int fallback; /* a super node's fall-back port (e.g. 443), not its main one */
};

struct account {
	const struct on_account_conf *conf;
	struct keepcert *kc;
	char key_path[512], cert_path[512];
	char where[600];              /* where its password is set, for the log */
	char id[NODE_ID_HEX_LEN + 1]; /* its certificate's Node-ID, once it is there */
};

struct certcheck;
struct seal;
struct on {
	struct on_config cfg;
	const char *conf_path;
	struct event_base *base;
	SSL_CTX *anon_ctx;
	X509 *ca;
	struct crl *crl;
	struct account acc[ON_ACCOUNTS_MAX];
	int nacc;
	char *logind_url;
	int64_t renew_before, keepalive;
	int booted; /* config, CRL and certificates are there */
	/* The link and the reserve: written by on_link.c only, read by all. */
	enum on_state state;
	struct olink *link;
	struct sn_addr reserve[ON_RESERVE_MAX];
	int nreserve, next;
	struct sn_addr cur;
	char sn_id[NODE_ID_HEX_LEN + 1], sn_name[64];
	uint64_t attached_ms;
	int attaches;
	/* The parts, made by ordinarynode.c. */
	struct on_boot *boot;
	struct on_link *lnk;
	struct statusd *status;
	struct sipev *sev;
	struct on_sip *sip;
	struct on_auth *auth;
	struct on_registrar *reg;
	struct on_publish *pub;
	struct on_lookup *lookup;
	struct on_proxy *proxy;
	struct on_db *db; /* state_dir/ordinarynode.db: bindings, last good super nodes */
	struct on_nat *nat;
	struct on_media *media;
	struct on_gw *gw;          /* the gateway mode, or NULL */
	struct on_fed *fed;        /* its listener for peered overlays, or NULL */
	struct certcheck *seal_cc; /* the senders of sealed SIP */
	struct on_lan *lan;        /* super nodes heard on the LAN, or NULL (discover = no) */
	struct seal *seal;         /* SIP sealed between nodes (common/seal.h) */
	struct on_promote *promo;  /* a super node of our own (self-selected) */
};

int on_config_load(struct on_config *cfg, const char *path, char *err, size_t errlen);
/* The account one of whose public_aors aor (USER@DOMAIN) is, or -1. */
int on_config_public_aor(const struct on_config *cfg, const url_t *aor);
void on_config_print(const struct on_config *cfg);
void on_config_free(struct on_config *cfg);

/* ---- on_promote.c: a super node of our own (self-selected super nodes) ---- */
struct on_promote;
struct bootc_config;
/* Idle until on_promote_policy says the overlay wants super nodes and
 * [promotion] allow = yes; then checks every check_interval. */
struct on_promote *on_promote_new(struct on *on, char *err, size_t errlen);
/* The overlay's policy (bootstrapd's configuration; borrowed). */
void on_promote_policy(struct on_promote *p, const struct bootc_config *c);
/* Stops a super node of ours (SIGTERM: it hands its records over) and
 * waits for it, at most PROMO_STOP_WAIT seconds. For the node's exit. */
void on_promote_stop(struct on_promote *p);
/* {"state", "since", "why"} for /status (new reference). */
json_t *on_promote_status(const struct on_promote *p);
/* 0 ordinary, 1 checking, 2 super: the metrics' gauge. */
int on_promote_state(const struct on_promote *p);
void on_promote_free(struct on_promote *p);

/* ---- on_boot.c: what bootstrapd tells the node ---- */
struct crl;
struct on_boot;
struct bootc_config;
struct on_boot_ops {
	/* The overlay's configuration, once (borrowed). */
	void (*config)(void *arg, const struct bootc_config *c);
	/* After each CRL exchange: a newer CRL (the callee owns it), or NULL. */
	void (*crl)(void *arg, struct crl *crl);
	/* The super node list asked for with on_boot_want_list (n 0: none). */
	void (*list)(void *arg, const struct sn_addr *list, int n);
};
/* Asks for the configuration at once and retries until it comes; then the
 * CRL every crl_refresh seconds. One exchange at a time. */
struct on_boot *on_boot_new(struct on *on, const struct on_boot_ops *ops, void *arg, char *err,
			    size_t errlen);
/* Asks for the super node list when nothing else is out or due; 0 when it
 * went, -1 when the caller should ask again later. */
int on_boot_want_list(struct on_boot *b);
void on_boot_free(struct on_boot *b);

/* ---- on_lan.c: super nodes heard on the LAN ---- */
struct on_lan;
/* Opens the group when [lan] discover is on: NULL with err "" when it is
 * off, NULL with err when the group cannot be joined. */
struct on_lan *on_lan_new(struct on *on, char *err, size_t errlen);
void on_lan_free(struct on_lan *ol);
void on_lan_set_crl(struct on_lan *ol, const struct crl *crl);
/* The super nodes heard, most recent first, as a reserve (main address,
 * then fall-back): how many were put in out (0 with ol NULL). */
int on_lan_reserve(struct on_lan *ol, struct sn_addr *out, int max);
json_t *on_lan_status(const struct on_lan *ol);
struct evbuffer;
void on_lan_metrics(const struct on_lan *ol, struct evbuffer *out);

/* ---- on_link.c: the link to a super node, the others in reserve ---- */
struct on_link;
struct on_link_ops {
	void (*attached)(void *arg);                 /* attached (again) */
	void (*frame)(void *arg, const json_t *msg); /* a message from the super node */
	void (*want_list)(void *arg);                /* reserve used up: ask bootstrapd */
};
/* The reserve starts with the super nodes the database remembers. */
struct on_link *on_link_new(struct on *on, const struct on_link_ops *ops, void *arg, char *err,
			    size_t errlen);
/* The certificates are in place: attach. */
void on_link_go(struct on_link *l);
/* A fresh list from bootstrapd (n 0: none; it is asked again later). */
void on_link_set_list(struct on_link *l, const struct sn_addr *list, int n);
void on_link_free(struct on_link *l);

/* ---- bindings: kept by on_registrar.c, read through struct on_bindings ---- */
#define ON_BINDINGS_MAX 8 /* per account */
#define ON_URI_MAX 256
#define ON_INSTANCE_MAX 128 /* +sip.instance: "<urn:uuid:...>" is 47 */
#define ON_REG_ID_MAX 12

struct on_binding {
	char uri[ON_URI_MAX];
	char src[160]; /* sip:IP:PORT;transport=udp|tcp, where the REGISTER came from */
	char instance[ON_INSTANCE_MAX]; /* RFC 5626 +sip.instance, or "" */
	char reg_id[ON_REG_ID_MAX];     /* and reg-id, or "" */
	/* Parsed once from uri and src (on_binding_parse): */
	char user[64], host[80], port[8];
	int nat;                    /* src is another host than uri names: requests go to src */
	char dest[ON_URI_MAX + 32]; /* where requests for the phone go, with the transport */
	char tp[4];                 /* that transport: "udp", "tcp" or "tls" */
	char call_id[128];
	uint32_t cseq;
	uint64_t expires_ms; /* monotonic */
};

/* The bindings of one account. */
struct on_reg {
	struct on_binding b[ON_BINDINGS_MAX];
	int n;
};

struct on_contact {
	const char *uri;  /* the Contact a phone registered */
	const char *dest; /* where requests for it go: sip:HOST:PORT;transport=T (its
			   * Contact, or where its REGISTER came from behind a NAT) */
	const char *tp;   /* that transport, "udp", "tcp" or "tls" */
};

/* How the proxy, the target classifier and the publisher read bindings:
 * given to them by the parent, so that none of them calls the registrar. */
struct on_bindings {
	void *arg;
	/* The live bindings of account user (up to max into out, which may be
	 * NULL); -1 when user is not an account of this node. */
	int (*contacts)(void *arg, const char *user, struct on_contact *out, int max);
	/* The binding whose Contact is uri (its strings live until the
	 * bindings change): 0, or -1 when no phone registered it. */
	int (*find)(void *arg, const url_t *uri, struct on_contact *out);
	/* Account number i: how many bindings, and the latest expiry. */
	int (*count)(void *arg, int i, uint64_t *last_expiry);
	/* A phone's REGISTER of a public address of record of account acct
	 * (irq, sip) was accepted by that domain's registrar: its Contacts
	 * bind to the account here too, so that calls reach the phone. */
	void (*learn)(void *arg, const char *acct, nta_incoming_t *irq, const sip_t *sip);
};

/* ---- on_db.c: the node's SQLite file ---- */
struct on_db;
struct on_db *on_db_open(const char *path, char *err, size_t errlen);
void on_db_close(struct on_db *db);
/* The super node just attached to goes first in the list of last good
 * ones (16 kept). */
void on_db_sn_remember(struct on_db *db, const char *host, uint16_t port, const char *node_id);
/* A super node bootstrapd listed: remembered after those attached to, for
 * a time when bootstrapd cannot be asked. */
void on_db_sn_learn(struct on_db *db, const char *host, uint16_t port);
/* The remembered super nodes, last good first: how many were put in out
 * (rows that are no IP address and port are skipped with a log line). */
int on_db_sn_load(struct on_db *db, struct sn_addr *out, int max);
/* A named row of bootstrapd's last answers (common/bootcache.h): 0 or -1. */
int on_db_cache_put(struct on_db *db, const char *name, const void *data, size_t len);
/* The row's bytes (malloc'd, *len set) and when they were saved, or NULL
 * when there is none, it is empty or larger than max. */
void *on_db_cache_get(struct on_db *db, const char *name, size_t max, size_t *len,
		      int64_t *saved_ms);
struct on_db_account {
	const char *name;
	const struct on_reg *reg;
};
/* Replaces the bindings of these accounts in one transaction: 0 when it
 * was tried (a failed commit is logged), -1 when nothing was written. */
int on_db_bindings_save(struct on_db *db, const struct on_db_account *acc, int n);
/* Calls fn with each binding not expired yet (expires_ms made monotonic,
 * the parsed fields empty); returns how many rows were read, or -1. */
int on_db_bindings_load(struct on_db *db,
			void (*fn)(void *arg, const char *account, const struct on_binding *b),
			void *arg);

/* ---- on_registrar.c: REGISTER and the binding rules ---- */
struct on_registrar;
/* changed(arg, i): the bindings of account number i changed. */
struct on_registrar *on_registrar_new(struct on *on, void (*changed)(void *arg, int i), void *arg,
				      char *err, size_t errlen);
/* The bindings that were live when the node stopped (from the database). */
void on_registrar_load(struct on_registrar *r);
/* A REGISTER: a status for nta to answer with, or 0 when answered. */
int on_registrar_request(void *r, nta_incoming_t *irq, const sip_t *sip);
void on_registrar_view(struct on_registrar *r, struct on_bindings *view);
/* For the status: every binding, and how many there are. */
json_t *on_registrar_phones(const struct on_registrar *r);
int on_registrar_count(const struct on_registrar *r);
void on_registrar_free(struct on_registrar *r); /* saves the bindings first */
/* The binding rules (pure): */
#define ON_EXPIRES_MIN 60   /* seconds; shorter is refused with 423 */
#define ON_EXPIRES_MAX 3600 /* longer is cut to this */
/* Parses a binding's uri and src into its other fields. */
void on_binding_parse(struct on_binding *b);
/* The binding that a Contact refreshes, replaces or removes; g->n when none. */
int on_binding_find(const struct on_reg *g, const char *uri, const char *inst, const char *reg_id);
/* Applies the Contacts of a REGISTER (not a query) that came from src at
 * monotonic time now: 0, or the status to refuse it with (400, 423, 503).
 * Contacts before a refused one stay applied, as they always did. */
int on_reg_apply(struct on_reg *g, const sip_t *sip, const char *src, uint64_t now);

/* ---- on_publish.c: the accounts' records in the overlay ---- */
struct on_publish;
struct on_publish *on_publish_new(struct on *on, const struct on_bindings *view, char *err,
				  size_t errlen);
/* The bindings of account i changed: stored within a second. */
void on_publish_soon(struct on_publish *p, int i);
/* Attached (again), or the need of a relay changed: every account with
 * live bindings is published anew, and the node record. */
void on_publish_all(struct on_publish *p);
void on_publish_free(struct on_publish *p);

/* ---- on_target.c: where a request goes ---- */
/* Who this node is, as the proxy's messages name it. */
struct on_self {
	const char *id;      /* our Node-ID in hex ("" until the first certificate) */
	const char *host;    /* our SIP host:port as phones reach it */
	const char *overlay; /* the overlay's domain */
	const char *acct;    /* our first account (the identity of the link) */
	const char *sn_id;   /* the super node we are attached to */
	const char *sn_host;
	uint16_t sn_port;
	const char *tls_host; /* our SIP over TLS host:port, or "" (none) */
	int gateway;          /* the gateway mode: the "phones" are the SIP world */
};
enum on_target_kind {
	ON_T_ERROR,  /* refused: status and phrase */
	ON_T_SELF,   /* this node itself (e.g. OPTIONS to its address) */
	ON_T_USER,   /* sip:USER@OVERLAY: the user's phones here and the DHT */
	ON_T_NODE,   /* a Route names another node of the overlay */
	ON_T_LOCAL,  /* a phone registered here, or ours in a dialog we record-routed */
	ON_T_FOREIGN /* another domain: through a gateway, or out of one (on_gateway.c) */
};
struct on_target {
	enum on_target_kind kind;
	int status;
	const char *phrase;
	char user[128];
	char to[NODE_ID_HEX_LEN + 1], sn[NODE_ID_HEX_LEN + 1], sna[96];
	char acct[64];
	char dest[300];   /* ON_T_LOCAL: where the phone is reached, or "" (its URI) */
	char domain[128]; /* ON_T_FOREIGN: the Request-URI's host */
	char tp[4];
};
struct on_dialogs;
/* Where sip goes. A request that came with our Route and names no phone
 * registered here goes on only to one of our phones in its dialog (dlg,
 * which may be NULL): never to a host the request names. From the overlay
 * nothing goes on past us to another Route. */
void on_target_of(const struct on_self *self, const struct on_bindings *bind,
		  const struct on_dialogs *dlg, const sip_t *sip, int from_overlay,
		  struct on_target *t);
/* A phone may call out only as one of the node's accounts. */
int on_target_from_account(const struct on_self *self, const struct on_bindings *bind,
			   const sip_t *sip);
/* A Route entry that names this node. */
int on_route_is_ours(const struct on_self *self, const sip_route_t *r);
/* A Via that this node put on (a loop). */
int on_via_is_ours(const struct on_self *self, const sip_via_t *v);
int on_is_hex_id(const char *s);
/* A URI parameter's value into buf: 1 when it is there, else 0. */
int on_url_param(const url_t *u, const char *name, char *buf, size_t len);

/* ---- on_msg.c: SIP messages the proxy builds ---- */
#define ON_P2P_BRANCH "z9hG4bKp2p" /* the Via branches of our overlay hops */
/* The message as text (in its own home): NULL when it cannot be. */
char *on_msg_text(msg_t *m, size_t *len);
/* A response to req built here, with a random To tag. */
msg_t *on_msg_response(nta_agent_t *agent, msg_t *req, int status, const char *phrase);
/* The CANCEL of an INVITE as we sent it (RFC 3261 9.1). */
msg_t *on_msg_cancel(nta_agent_t *agent, msg_t *sent);
/* The request as it goes on: our own Route entries off, Max-Forwards
 * counted down, our Record-Route on a request outside a dialog (with
 * record_route; in_tp and out_tp are the transports of the phone sides,
 * NULL for the overlay). */
msg_t *on_msg_forward(const struct on_self *self, msg_t *req, int record_route, const char *in_tp,
		      const char *out_tp);
int on_msg_set_ruri(msg_t *m, const char *uri);
/* On a gateway, towards the SIP world: the Record-Route entries of other
 * overlay nodes name NODE-ID.invalid instead of the node's own SIP address
 * (nodes route by their ovl= and sn=); and back: each such entry of a
 * response is the one of orig (the request as it came) again. */
void on_msg_rr_hide(const struct on_self *self, msg_t *m);
void on_msg_rr_restore(const struct on_self *self, msg_t *m, const sip_t *orig);
/* Our Via for an overlay hop; its branch (into branch) names id and idx. */
int on_msg_add_via(const struct on_self *self, msg_t *m, char *branch, size_t len, uint64_t id,
		   int idx);
/* The transport a phone's request came over, or its response to ours:
 * "tls", "tcp" or "udp" (TLS is TCP to the socket address). */
const char *on_incoming_tp(nta_incoming_t *irq);
const char *on_outgoing_tp(nta_outgoing_t *orq);
/* The transport a URI (text, or else parsed) names: "tls" for sips: or
 * transport=tls, "tcp" for transport=tcp, else "udp". */
const char *on_uri_tp(const char *text, const url_t *u);

/* ---- on_lookup.c: the DHT lookup of a callee ---- */
struct on_lookup;
/* Where a node is: its Node-ID, its super node's, that one's address. */
struct on_place {
	char to[NODE_ID_HEX_LEN + 1], sn[NODE_ID_HEX_LEN + 1], sna[96];
	char peer[NODE_ID_HEX_LEN + 1]; /* the signer's certificate: SIP to it is sealed to it */
};
/* vals: the values fetched (NULL when the fetch failed; why says why); id
 * and idx are the caller's, handed back (a transaction and its branch). */
typedef void (*on_lookup_done_t)(void *arg, uint64_t id, int idx, const char *name,
				 const json_t *vals, const char *why);
struct on_lookup *on_lookup_new(struct on *on, char *err, size_t errlen);
/* Fetches name over the link: done(arg, ...) runs once, later. 0, or -1
 * when not attached (done never runs then). */
int on_lookup_fetch(struct on_lookup *lk, const char *name, on_lookup_done_t done, void *arg,
		    uint64_t id, int idx);
/* One value of a user or node record: checked as the super nodes check it,
 * then its data {"node", "sn", "sn_addr"?}. 0, or -1 (logged). */
int on_lookup_value(struct on_lookup *lk, const json_t *v, const char *name, struct on_place *out);
void on_lookup_set_crl(struct on_lookup *lk, const struct crl *crl);
uint64_t on_lookup_count(const struct on_lookup *lk); /* fetches sent */
void on_lookup_free(struct on_lookup *lk);

/* ---- on_dialog.c: calls answered and not hung up, and our phones in them ---- */
struct on_dialogs;
struct on_dialogs *on_dialogs_new(void);
void on_dialogs_add(struct on_dialogs *d, const char *call_id, uint64_t now);
/* One of our phones is in call call_id with Contact contact (from its
 * INVITE or its 2xx) and is reached at dest (sip:HOST:PORT;transport=T or
 * the Contact itself). */
void on_dialogs_learn(struct on_dialogs *d, const char *call_id, const char *contact,
		      const char *dest, uint64_t now);
/* Where our phone in call call_id whose Contact ruri names is reached
 * (owned by d), or NULL: then no dialog of ours leads there. d may be
 * NULL. */
const char *on_dialogs_phone(const struct on_dialogs *d, const char *call_id, const url_t *ruri);
/* On a gateway: the proxies on the way to the far party whose Contact is
 * contact (learned before), as Route header text ("<uri>, <uri>"), set
 * once; and read back for the party ruri names (NULL: none). */
void on_dialogs_set_route(struct on_dialogs *d, const char *call_id, const char *contact,
			  const char *route);
const char *on_dialogs_route(const struct on_dialogs *d, const char *call_id, const url_t *ruri);
void on_dialogs_del(struct on_dialogs *d, const char *call_id);
/* Forgets calls older than a day (all with all). */
void on_dialogs_expire(struct on_dialogs *d, uint64_t now, int all);
int on_dialogs_count(const struct on_dialogs *d);
/* Call call_id is answered and not hung up. */
int on_dialogs_has(const struct on_dialogs *d, const char *call_id);
void on_dialogs_free(struct on_dialogs *d);

/* ---- on_topo.c: what crosses the overlay names nodes, not our phones ---- */
#define ON_TOPO_CALL_ID_LEN 32         /* hex digits of a hidden Call-ID */
#define ON_TOPO_CONTACT_MAX ON_URI_MAX /* a phone's Contact URI that can be hidden */
struct on_topo;
/* With fresh per-node secrets (a restart forgets what was hidden). */
struct on_topo *on_topo_new(void);
void on_topo_free(struct on_topo *t);
/* m (a request or response from one of our phones) is about to leave for
 * the overlay: a request loses every Via (the caller adds ours), each
 * Contact that is not a user of the overlay becomes
 * sip:USER@OVERLAY;ovl=OUR-ID;ph=TOKEN, the Call-ID its hidden form
 * (remembered until the call ends), Routes and Record-Routes that name no
 * node go, and so does any other header that names an address or one of
 * the phone's hosts (User-Agent and Server excepted). -1: it cannot be
 * hidden (the table is full, a Contact too long): do not send it. */
int on_topo_out(struct on_topo *t, const struct on_self *self, msg_t *m, uint64_t now);
/* m came from the overlay: a hidden Call-ID of one of our phones' calls
 * becomes the phone's again, a Request-URI that is one of our tokens the
 * phone's Contact. Anything else is left as it is. */
void on_topo_in(struct on_topo *t, const struct on_self *self, msg_t *m, uint64_t now);
/* Forgets the Call-IDs of calls that ended (not in dlg, which may be
 * NULL, and idle a while) or are a day old; all of them with all. */
void on_topo_expire(struct on_topo *t, const struct on_dialogs *dlg, uint64_t now, int all);
int on_topo_count(const struct on_topo *t);
/* The parts, for the tests: cid is of the hidden shape (32 hex digits);
 * uri sealed into a token (hex) and opened again; s names an IP address or
 * one of hosts. */
int on_topo_call_id_is_hidden(const char *cid);
int on_topo_token(const struct on_topo *t, const char *uri, char *out, size_t len);
int on_topo_untoken(const struct on_topo *t, const char *tok, char *out, size_t len);
int on_topo_text_reveals(const char *s, const char *const *hosts, int nhosts);
void on_dialogs_free(struct on_dialogs *d);

/* ---- on_peers.c: the nodes and certificates that may speak in a call ---- */
struct on_peers;
struct on_peers *on_peers_new(void);
/* Node `node`, sealing with certificate `cert` (Node-IDs in hex), is a
 * party of call call_id (as the Call-ID crosses the overlay). */
void on_peers_allow(struct on_peers *t, const char *call_id, const char *node, const char *cert,
		    uint64_t now);
/* Whether node with cert is a party of call_id (at monotonic time now: a
 * call in use stays longest). */
int on_peers_ok(struct on_peers *t, const char *call_id, const char *node, const char *cert,
		uint64_t now);
/* Whether call_id has parties at all. */
int on_peers_known(const struct on_peers *t, const char *call_id);
/* The certificate node seals with in call_id (owned by t), or NULL. */
const char *on_peers_cert(const struct on_peers *t, const char *call_id, const char *node);
/* Forgets calls not heard of for a day (all with all). */
void on_peers_expire(struct on_peers *t, uint64_t now, int all);
int on_peers_count(const struct on_peers *t);
void on_peers_free(struct on_peers *t);

/* ---- on_seal.c: SIP sealed between nodes, asserted identities ---- */
/* The sealing state: made once the CA is loaded; -1 with err. */
int on_seal_start(struct on *on, char *err, size_t errlen);
/* An account's certificate came or was renewed: we open SIP sealed to it. */
void on_seal_account(struct on *on, int i);
void on_seal_set_crl(struct on *on, const struct crl *crl);
/* The certificate of the account named user (our account 0 when none is),
 * for sealing what one of its phones sends. */
X509 *on_seal_mine(struct on *on, const char *user);
/* Our certificate with Node-ID id, or NULL. */
X509 *on_seal_mine_by_id(struct on *on, const char *id);
/* SIP text from us to node `to`, sealed from mine to the certificate
 * whose Node-ID is peer: the frame's "body" (the envelope as JSON text;
 * with plain_sip the SIP text itself). NULL with err. */
json_t *on_seal_wrap(struct on *on, X509 *mine, const char *peer, const char *to, const char *txt,
		     size_t len, char *err, size_t errlen);
/* Who sent a "msg" frame, once it is opened. */
struct on_sender {
	char node[NODE_ID_HEX_LEN + 1]; /* the frame's from */
	char cert[NODE_ID_HEX_LEN + 1]; /* the certificate it was sealed with */
	char mine[NODE_ID_HEX_LEN + 1]; /* ours it was sealed to */
	char user[128];                 /* that certificate's user: who speaks */
	int plain;                      /* came unsealed (plain_sip): nobody vouches */
	int gateway;                    /* sealed with a gateway's certificate, not a user's */
};
/* The SIP text of a "msg" frame from node `from`, opened (malloc'd, NUL
 * ended, its length in *len) and who sent it; NULL when it is refused
 * (logged within a budget, counted). */
char *on_seal_unwrap(struct on *on, const json_t *frame, const char *from, size_t *len,
		     struct on_sender *who);
/* Identity headers a party other than this node put on (P-Asserted-Identity,
 * P-Preferred-Identity, Remote-Party-ID, Identity, Identity-Info) off m. */
void on_identity_strip(msg_t *m);
/* And ours on: P-Asserted-Identity: <sip:USER@OVERLAY> for the verified
 * sender (nothing when user is ""). */
void on_identity_assert(msg_t *m, const char *user, const char *overlay);
/* From a gateway: a P-Asserted-Identity it vouches for is kept only when it
 * names a user of another domain (a peered overlay's, docs/gateway.md);
 * every other identity header goes. */
void on_identity_foreign(msg_t *m, const char *overlay);
/* From a peered overlay's gateway over verified TLS, at our gateway: only
 * a P-Asserted-Identity naming a user of that overlay, domain, is kept
 * (never one of ours: [peer] never names our overlay). */
void on_identity_peer(msg_t *m, const char *domain);
json_t *on_seal_status(struct on *on);
void on_seal_free(struct on *on);

/* ---- on_gateway.c: the gateway mode's policy ---- */
#define GW_DOMAINS_MAX 32 /* domains served, and static routes */
#define GW_DOMAIN_MAX 253 /* a DNS name (DNS_NAME_MAX) */
#define GW_HOP_MAX 128    /* sip:HOST:PORT;transport=T */
struct on_gw;
struct on_gw_stats {
	uint64_t out_calls, in_requests; /* carried out of the overlay, taken into it */
	uint64_t user_limited, source_limited, relay_denied, identity_refused, domain_refused;
};
/* From [gateway] in cfg: NULL with err when domains or routes are wrong. */
struct on_gw *on_gw_new(const struct on_config *cfg, char *err, size_t errlen);
void on_gw_free(struct on_gw *g);
/* The gateway carries calls to domain. */
int on_gw_domain_ok(const struct on_gw *g, const char *domain);
/* The peered overlay domain is (its name, borrowed), or NULL. */
const char *on_gw_peer(const struct on_gw *g, const char *domain);
/* account may speak for peer: one of its gateways, when [peer] lists them. */
int on_gw_peer_gateway(const struct on_gw *g, const char *peer, const char *account);
/* The static next hop for domain (sip:HOST:PORT;transport=T; for a peer
 * always sips:, its route or its name for DNS), or NULL: resolve it by
 * DNS (RFC 3263). */
const char *on_gw_next_hop(const struct on_gw *g, const char *domain);
/* The domains served (borrowed), up to max. */
int on_gw_domains(const struct on_gw *g, const char **out, int max);
/* A call out by overlay user `user`, or a request from foreign address ip,
 * within its rate: 1 (counted), else 0. */
int on_gw_user_ok(struct on_gw *g, const char *user, uint64_t now);
int on_gw_source_ok(struct on_gw *g, const char *ip, uint64_t now);
struct on_gw_stats *on_gw_counts(struct on_gw *g);

/* ---- on_fed.c: federation, the gateways of peered overlays over TLS ---- */
struct on_fed;
/* NULL with err[0] == '\0' when there is no [peer]; NULL with err when the
 * peers' CA files or the gateway account are missing. */
struct on_fed *on_fed_new(struct on *on, char *err, size_t errlen);
/* The gateway account's certificate is in place: the TLS listener opens. */
void on_fed_cert_ready(struct on_fed *f);
/* irq came over the federation listener on a connection whose client
 * certificate chained to a CA of cafile.pem and names (subjectAltName
 * sip:ACCOUNT@DOMAIN) a peered overlay DOMAIN: 1 with DOMAIN in dom (of
 * len bytes), else 0. Only while sofia-sip delivers irq's request. */
int on_fed_peer(struct on_fed *f, nta_incoming_t *irq, char *dom, size_t len);
/* The same for the answer to orq now being delivered. */
int on_fed_peer_out(struct on_fed *f, nta_outgoing_t *orq, char *dom, size_t len);
void on_fed_free(struct on_fed *f);

/* ---- on_nat.c: middlebox detection (STUN to two super nodes) ---- */
struct on_nat;
/* changed(arg): whether media needs a relay changed after a probe. */
struct on_nat *on_nat_new(struct on *on, void (*changed)(void *arg), void *arg, char *err,
			  size_t errlen);
/* Starts a probe (attached: the current super node and another one). */
void on_nat_probe(struct on_nat *t);
/* Media needs a relay: a NAT, or UDP does not get out (after a probe). */
int on_nat_needs_relay(const struct on_nat *t);
/* No STUN answer came back: UDP does not get out. */
int on_nat_udp_blocked(const struct on_nat *t);
json_t *on_nat_status(const struct on_nat *t);
void on_nat_free(struct on_nat *t);

/* ---- on_media.c: relay streams and SDP for our side of each call ---- */
struct on_media;
struct on_media *on_media_new(struct on *on, char *err, size_t errlen);
/* SDP from one of our phones, about to leave for the overlay (msg is
 * changed in place when its media goes through the relay). */
void on_media_to_overlay(struct on_media *m, msg_t *msg);
/* SDP from the far end, about to reach one of our phones. */
void on_media_to_phone(struct on_media *m, msg_t *msg);
/* The call ended (BYE, failure, CANCEL): its streams go back. */
void on_media_release(struct on_media *m, const char *call_id);
/* A "media" or "relay_gone" frame from the super node. */
void on_media_frame(struct on_media *m, const json_t *frame);
json_t *on_media_status(const struct on_media *m);
void on_media_free(struct on_media *m);

/* ---- on_auth.c: phones prove who they are ---- */
enum on_digest_alg {
	ON_DIGEST_MD5,
	ON_DIGEST_SHA256
};
#define ON_DIGEST_TEXT_MAX 2048 /* an Authorization header's value */
#define ON_DIGEST_HEX_MAX 65    /* a SHA-256 in hex and its NUL */
#define ON_NONCE_BUF 40
#define ON_CHALLENGE_MAX 256
#define ON_AUTH_NONCES_MAX 4096  /* nonces out at once; the oldest goes first */
#define ON_AUTH_SOURCES_MAX 1024 /* sources whose failures are counted */
#define ON_PASSWORD_MAX 256
/* The parameters of Digest credentials (RFC 3261 25.1, RFC 7616 3.4). */
struct on_digest {
	char username[128], realm[128], nonce[128], uri[512], response[130];
	char cnonce[128], qop[16], nc[16], opaque[128], algorithm[32];
};
/* "Digest k=v, k2="v2"" into out: 0, or -1 when it is malformed, too long
 * or lacks username, realm, nonce, uri or response. */
int on_digest_parse(const uint8_t *buf, size_t len, struct on_digest *out);
/* The response d should carry for this password and method, in hex. */
int on_digest_expected(enum on_digest_alg alg, const char *password, const char *method,
		       const struct on_digest *d, char out[ON_DIGEST_HEX_MAX]);
const char *on_digest_alg_name(enum on_digest_alg a);
int on_digest_alg_parse(const char *s, enum on_digest_alg *out);

struct on_auth_params {
	const char *realm;               /* borrowed: lives as long as the table */
	unsigned algs;                   /* 1 << enum on_digest_alg, accepted */
	enum on_digest_alg alg_order[2]; /* challenges offered, in this order */
	int nalg_order;
	int64_t nonce_lifetime, fail_window, block_time; /* seconds */
	int fail_max;
};
struct on_auth_user {
	char name[64];
	char password[ON_PASSWORD_MAX];
};
struct on_auth_result {
	int status; /* 0: let it through; else answer with it */
	const char *phrase;
	int stale;     /* 401/407: the credentials were right, the nonce old */
	char user[64]; /* the account it authenticated as */
};
struct on_auth;
struct on_auth *on_auth_new(const struct on_auth_params *prm, const struct on_auth_user *users,
			    int n);
/* A phone's request from ip: let through (0), or the status to answer
 * with; 401/407 carry on_auth_challenges. Failures are counted and logged. */
int on_auth_check(struct on_auth *a, const sip_t *sip, const char *ip, uint64_t now,
		  struct on_auth_result *r);
/* The challenge header values (a fresh nonce, one per algorithm). */
int on_auth_challenges(struct on_auth *a, int stale, uint64_t now, char out[][ON_CHALLENGE_MAX],
		       int max);
void on_auth_nonce_new(struct on_auth *a, uint64_t now, char out[ON_NONCE_BUF]);
int on_auth_is_blocked(struct on_auth *a, const char *ip, uint64_t now);
void on_auth_failed(struct on_auth *a, const char *ip, const char *user, const char *why,
		    uint64_t now);
/* A dialog this node saw created (from the overlay to one of our phones,
 * or by an authenticated phone): its requests are not challenged. */
void on_auth_dialog_add(struct on_auth *a, const char *call_id);
int on_auth_dialog_known(const struct on_auth *a, const char *call_id);
const char *on_auth_password(const struct on_auth *a, const char *user);
/* What the table has done since it was made, for /status and /metrics. */
struct on_auth_counts {
	uint64_t challenged; /* 401/407 challenges sent */
	uint64_t failed;     /* failed authentications (each one logged) */
	uint64_t blocked;    /* times a source was blocked for fail_max failures */
	uint64_t refused;    /* requests refused because their source was blocked */
};
void on_auth_counts(const struct on_auth *a, struct on_auth_counts *out);
void on_auth_free(struct on_auth *a);
/* The table for this configuration: realm, algorithms, limits and every
 * account's SIP password (files read now). */
struct on_auth *on_auth_from_config(const struct on_config *cfg, char *err, size_t errlen);
int on_auth_algs_parse(const char *s, struct on_auth_params *p);
/* Whether a phone at ip may talk to this node: ip is in one of the
 * phone_networks (common/netlist.h), or the list is empty. */
int on_phone_allowed(const struct netlist *phone_nets, const char *ip);

/* ---- on_sip.c: the SIP listener for the phones ---- */
struct on_sip;
/* A request from a phone: a status for nta to answer with, or 0 when the
 * handler took the transaction. */
typedef int (*on_sip_handler_t)(void *arg, nta_incoming_t *irq, const sip_t *sip);
#define ON_TLS_FILE_MAX (256 * 1024) /* a PEM key, certificate chain or CA file */
/* A directory as sofia-sip's TLS takes it: agent.pem (the key, then the
 * certificate) and cafile.pem (ca, or the certificate itself when ca is
 * NULL), written 0600. 0, or -1 with err. */
int on_tls_dir(const char *dir, const char *key_path, const char *cert_path, const char *ca,
	       size_t ca_len, char *err, size_t errlen);
struct on_sip *on_sip_new(struct on *on, char *err, size_t errlen);
nta_agent_t *on_sip_agent(struct on_sip *s);
/* Who takes REGISTER, and who every other request. */
void on_sip_handlers(struct on_sip *s, on_sip_handler_t reg, void *reg_arg, on_sip_handler_t other,
		     void *other_arg);
void on_sip_free(struct on_sip *s);

/* ---- on_proxy.c, on_forward.c: the stateful proxy between phones and the
 * overlay ---- */
struct on_proxy;
struct on_proxy_stats {
	uint64_t requests, invites, cancels, acks, responses, branches, lookups;
	uint64_t overlay_in, overlay_out, overlay_failed, stray, bad;
	uint64_t refused;     /* requests refused: their target (no open relay), their sender */
	uint64_t unsealed;    /* frames whose SIP could not be opened (on_seal.c says why) */
	uint64_t busy;        /* refused 503: the sender held PTX_PER_*_MAX already */
	int64_t calls_active; /* INVITE transactions held (in set-up or lingering) */
};
/* Bindings are read through view, callees looked up with lk. */
struct on_proxy *on_proxy_new(struct on *on, nta_agent_t *agent, const struct on_bindings *view,
			      struct on_lookup *lk, char *err, size_t errlen);
/* A request from a phone that is not a REGISTER (on_sip_handler_t). */
int on_proxy_request(void *p, nta_incoming_t *irq, const sip_t *sip);
/* A "msg" frame from the super node: SIP from another node. */
void on_proxy_overlay(struct on_proxy *p, const json_t *frame);
void on_proxy_stats(const struct on_proxy *p, struct on_proxy_stats *out);
int on_proxy_calls_setting_up(const struct on_proxy *p);
/* Calls answered through this node and not hung up yet (by Call-ID). */
int on_proxy_calls_answered(const struct on_proxy *p);
void on_proxy_free(struct on_proxy *p);

/* ---- on_status.c: GET /status and /metrics on status_listen ---- */
int on_status_start(struct on *on, char *err, size_t errlen);

#endif
