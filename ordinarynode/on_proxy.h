/* The ordinary node's proxy, inside: what on_proxy.c (transactions and
 * branches) and on_forward.c (requests in, branches out) share. Nothing
 * else includes it; the rest of the node sees on.h.
 *
 * A proxy transaction (ptx) has one upstream, a phone's nta server
 * transaction or a node on the overlay, and up to BRANCHES_MAX branches,
 * each to a phone here (an nta client transaction) or to a node over the
 * overlay (our Via names the transaction and the branch; the link is
 * reliable, so there are no retransmissions on that side). */
#ifndef P2PSIP_ON_PROXY_H
#define P2PSIP_ON_PROXY_H

#include "on.h"

#define BRANCHES_MAX 16
#define BUCKETS 4096
#define SEND_TIMEOUT_MS 10000
#define PTX_MAX 20000 /* transactions in progress; beyond: 503 */
/* Transactions in progress (not answered yet) for one sender: an overlay
 * node (the Node-ID its super node vouches for in the "msg" frame) or a
 * phone's source address (IPv6 by /64). An INVITE to a phone that does not
 * answer is in progress up to 180 s; 100 calls ringing at once from one
 * sender is a busy PBX's worth. Beyond, 503 with Retry-After, and everyone
 * else is still served. Answered transactions that linger (32 s for an
 * INVITE) cost little and count only against PTX_MAX; how fast a node may
 * send is the super node's per-sender limit. */
#define PTX_PER_NODE_MAX 100
#define PTX_PER_PHONE_MAX 100
#define PTX_BUSY_RETRY_AFTER "10" /* seconds, in the 503 over the cap */
#define SENDER_KEY_MAX 64         /* a Node-ID in hex, or an address key (addr_limit_key) */

enum branch_kind {
	BR_PHONE,  /* to a phone registered here (nta) */
	BR_OVERLAY /* to a node over the overlay */
};

enum branch_state {
	BR_SENT,     /* out; provisional answers may have come (status) */
	BR_CANCELED, /* a CANCEL went down it; its final answer is awaited */
	BR_DONE      /* a final answer came, or it failed */
};

struct branch {
	struct ptx *x;
	int idx;
	enum branch_kind kind;
	enum branch_state state;
	nta_outgoing_t *orq;          /* phone: the client transaction */
	char via[64];                 /* overlay: our Via branch */
	char to[NODE_ID_HEX_LEN + 1]; /* overlay: the node, its super node */
	char sn[NODE_ID_HEX_LEN + 1];
	char sna[96];
	char acct[64];                  /* the node's first account (from its Record-Route) */
	char peer[NODE_ID_HEX_LEN + 1]; /* overlay: the certificate we seal to, whose
					 * node must answer */
	int relocated;                  /* where the node is now was looked up: not a second time */
	int unanswered;   /* overlay: failed with no answer from the node (gone, silent) */
	msg_t *sent;      /* overlay INVITE as sent (for a CANCEL), or any request
			   * to a node named by a Route (to send it again) */
	int status;       /* highest seen; >= 200 final */
	uint64_t started; /* monotonic ms */
};

enum ptx_state {
	PTX_ROUTING,   /* branches being added: no verdict yet */
	PTX_RESOLVING, /* the callee's DHT lookup is out */
	PTX_WAITING,   /* branches out: the verdict when all have answered */
	PTX_ANSWERED   /* final answer sent upstream; an INVITE lingers for more 2xx */
};

/* How many transactions one sender holds (PTX_PER_*_MAX). */
struct sender {
	struct sender *next;
	int n;
	char key[SENDER_KEY_MAX];
};

struct ptx {
	struct on_proxy *p;
	struct sender *snd; /* who sent it, counted there */
	uint64_t id;
	struct ptx *hnext, *onext; /* by id; overlay transactions by upstream key */
	struct ptx *prev, *next;   /* all, for the sweep */
	uint64_t okey;
	sip_method_t method;
	msg_t *req; /* the request as received */
	/* upstream: a phone's transaction, or a node on the overlay */
	nta_incoming_t *irq;
	const char *in_tp; /* the phone's transport ("udp", "tcp", "tls"), NULL from the overlay */
	char up[NODE_ID_HEX_LEN + 1], up_sn[NODE_ID_HEX_LEN + 1], up_sna[96], up_branch[128];
	/* from the overlay: the certificate it was sealed with and its user, and
	 * ours it was sealed to (the answers go back between the same two) */
	char up_cert[NODE_ID_HEX_LEN + 1], up_mine[NODE_ID_HEX_LEN + 1], up_user[128];
	int up_gateway; /* that certificate is a gateway's: the caller is from outside */
	/* at a gateway: the peered overlay whose gateway sent it over TLS, or "" */
	char from_peer[GW_DOMAIN_MAX + 1];
	/* A call to another domain from our phone: the gateways found, tried
	 * in turn while one cannot be reached (malloc'd, or NULL). */
	struct on_place *gws;
	int ngw, gw_next;
	char only[NODE_ID_HEX_LEN + 1]; /* a lookup's branch to this node only, or "" */
	char as[64]; /* a public REGISTER: the account it speaks for (seals, hides as), or "" */
	struct branch br[BRANCHES_MAX];
	int nbr;
	enum ptx_state state;
	int empty_status; /* the answer when no branch could be made */
	int final;        /* the final status sent upstream (PTX_ANSWERED) */
	int canceled;     /* upstream sent CANCEL: without a better answer, 487 */
	msg_t *best;      /* best final so far (our Via removed), or NULL */
	int best_status;
	uint64_t created, final_at;
};

struct on_proxy {
	struct on *on;
	struct on_bindings bind; /* the registrar's, read only */
	struct on_lookup *lk;
	nta_agent_t *agent;
	struct ptx *byid[BUCKETS], *bykey[BUCKETS];
	struct sender *senders[BUCKETS];
	struct ptx *all;
	int count;
	struct on_dialogs *dlg;
	struct on_peers *peers; /* the nodes and certificates of each call */
	struct on_topo *topo;   /* what crosses the overlay names no phone of ours */
	uint64_t next_dlg_sweep;
	size_t gw_turn; /* where the next call to another domain starts among the gateways */
	uint64_t next_id;
	struct event *sweep;
	char self_id[NODE_ID_HEX_LEN + 1];
	char host[80];     /* our SIP host[:port] as phones reach it */
	char tls_host[80]; /* and over TLS, or "" */
	struct on_proxy_stats st;
};

/* ---- on_proxy.c ---- */
/* Who this node is now (its Node-ID once the first certificate is there,
 * its super node). */
void proxy_self(struct on_proxy *p, struct on_self *self);
struct ptx *ptx_new(struct on_proxy *p, msg_t *req);
struct ptx *ptx_find(struct on_proxy *p, uint64_t id);
struct ptx *ptx_find_up(struct on_proxy *p, const char *from, const char *branch);
void ptx_index_up(struct ptx *x);
/* Sender key holds max transactions or more already. */
int ptx_sender_busy(struct on_proxy *p, const char *key, int max);
/* x counts against sender key until it is freed. */
void ptx_sender(struct ptx *x, const char *key);
/* The final status is sent upstream (or about to be): PTX_ANSWERED. */
void ptx_answered(struct ptx *x, int status);
struct branch *branch_new(struct ptx *x, enum branch_kind kind);
/* A branch ended without a response of its own (send failed, timeout). */
void branch_failed(struct ptx *x, struct branch *b, int status);
/* A response from a branch (r consumed, our Via on it removed already). */
void branch_response(struct ptx *x, struct branch *b, msg_t *r);
/* nta's callback for a branch to a phone. */
int branch_phone_response(nta_outgoing_magic_t *magic, nta_outgoing_t *orq, const sip_t *sip);
void cancel_all(struct ptx *x);
/* Every branch answered: the best final goes upstream (RFC 3261 16.7). */
void check_done(struct ptx *x);
void reply_up(struct ptx *x, int status, const char *phrase);
/* Where a message over the overlay goes: node `to` at super node `sn`
 * (address sna, may be ""), sealed to certificate peer (a Node-ID; NULL:
 * the call's, or the node's own) from ours, mine (NULL: the account the
 * From of a request, the To of a response names). */
struct ovl_dest {
	const char *to, *sn, *sna, *peer;
	X509 *mine;
};
/* Sends m, sealed, to d. A failure to deliver ends branch idx of
 * transaction id (id 0: nothing waits; failures are logged). */
int ovl_send(struct on_proxy *p, const struct ovl_dest *d, msg_t *m, uint64_t id, int idx);

/* m, from one of our phones, is about to go to the overlay: hidden
 * (on_topo.c); -1 when it cannot be and must not go. */
int ptx_hide(struct on_proxy *p, msg_t *m);
/* The same, our Contacts naming account acct (NULL: as ptx_hide). */
int ptx_hide_as(struct on_proxy *p, msg_t *m, const char *acct);

/* ---- on_forward.c: made public for on_edge.c ---- */
/* A branch to a phone here (or, on a gateway, the SIP world): uri the
 * Request-URI to use (NULL: keep), dest where to send it with its
 * transport tp (NULL: resolve the URI). */
void add_local(struct ptx *x, const char *uri, const char *dest, const char *tp);
/* A branch over the overlay to node `to` at super node `sn`, sealed to
 * certificate peer (NULL: the one the call's node sealed with). */
void add_overlay(struct ptx *x, const char *to, const char *sn, const char *sna, const char *acct,
		 const char *peer);
/* A request refused for its target: counted and logged within a budget. */
void refused(struct on_proxy *p, const char *node, const sip_t *sip, int status, const char *why);
/* irq answered with status (and destroyed): -1. */
int answer(nta_incoming_t *irq, int status, const char *phrase);

/* ---- on_edge.c: where the overlay meets other domains ---- */
/* On a gateway, a request in a dialog to a far party: the Route entries of
 * its side's proxies on m. -1 when they cannot. */
int far_route_apply(struct on_proxy *p, msg_t *m);
/* Our Path on a public address of record's REGISTER leaving a gateway. */
int add_path(const struct on_self *self, msg_t *m);
/* The gateways for domain: 0 when the lookup is out. */
int gw_lookup(struct ptx *x, const char *domain);
/* On a gateway, an overlay user's request for another domain: sent out. */
void route_out(struct ptx *x, const struct on_target *t);
/* On a gateway, a request from the SIP world: 0, or -1 when answered. */
int public_check(struct on_proxy *p, nta_incoming_t *irq, const sip_t *sip,
		 const struct on_target *t);
/* On a gateway, a response going out: the far side's Record-Route back. */
int far_rr_restore(struct ptx *x, msg_t *m);
/* A REGISTER from the overlay: 0, or 403 with the phrase in *why. */
int public_register_check(struct on_proxy *p, const struct on_sender *who, const sip_t *sip,
			  const char **why);

/* ---- on_forward.c ---- */
/* Looks up where the node of branch b is now; 0 when the lookup is out. */
int relocate(struct ptx *x, struct branch *b);
#define GW_CANDIDATES_MAX 8 /* gateways tried for one call */
/* Every branch failed unanswered and another gateway is left: it gets the
 * request (1), else 0. */
int gateway_next(struct ptx *x);

#endif
