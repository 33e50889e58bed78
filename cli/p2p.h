/* p2psip, the overlay's command-line client: its shared state and the
 * interfaces between its files (docs/map.md):
 *   p2psip.c     main, flags, the table of commands and the usage text
 *   p2p_link.c   the loop waiting for answers, bootstrapd, our identity,
 *                attaching to a super node, requests over the link
 *   p2p_login.c  login: a certificate from logind for --user
 *   p2p_cmds.c   the overlay commands: put, rm, get, ping, route, ring,
 *                send, listen, whoami, sign, seal
 *   p2p_raw.c    raw: JSON requests from stdin, pipelined, replies printed
 *   p2p_stun.c   stun: Binding requests over UDP, no overlay needed */
#ifndef P2PSIP_CLI_P2P_H
#define P2PSIP_CLI_P2P_H

#include "bootc.h"
#include "crl.h"
#include "olink.h"

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <stdint.h>

#define EXIT_NOTFOUND 3
#define RING_MAX 1024

/* Super nodes close links that stay silent for their idle_timeout (120 s
 * by default): a listener pings every 30 s to stay attached. */
#define KEEPALIVE_SECS 30

struct cli {
	const char *bootstrap, *ca, *key, *cert, *user, *supernode, *kind, *via;
	int password_stdin, json, count, repeat, hold, oneway;
	int64_t lifetime, stored;
	int timeout;
	struct event_base *base;
	SSL_CTX *anon, *ctx;
	EVP_PKEY *pkey;
	X509 *x509, *cax;
	struct crl *crl;
	struct bootc *boot;
	char overlay[256];
	struct olink *link;
	int done;
	json_t *reply;
	char err[512];
	int msgs;
};

/* The one client of this process: flags, keys, the loop and the link. */
extern struct cli C;

/* p2psip.c */
void __attribute__((noreturn, format(printf, 2, 3))) die(int code, const char *fmt, ...);

/* p2p_link.c */
void wait_done(void);
void boot_failed(enum bootc_res res, const char *err);
void boot_wait(void);
void fetch_crl(void);
void setup(int need_bootstrap);
void load_identity(void);
void attach(void);
json_t *request(json_t *msg);
json_t *request_ok(json_t *msg);
void print_json(json_t *j);
void on_keepalive(evutil_socket_t fd, short what, void *arg);

/* The commands: each takes the arguments after its name, already counted
 * against the table in p2psip.c, and returns the exit status. */
int cmd_login(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_ping(int argc, char **argv);
int cmd_route(int argc, char **argv);
int cmd_ring(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_listen(int argc, char **argv);
int cmd_whoami(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_raw(int argc, char **argv);
int cmd_stun(int argc, char **argv);

#endif
