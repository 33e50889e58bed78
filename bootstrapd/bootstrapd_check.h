/* The return reachability test: bootstrapd connects to an address a super
 * node announced and checks that the certificate presented there belongs to
 * the same Node-ID and has the supernode role. */
#ifndef P2PSIP_BOOTSTRAPD_CHECK_H
#define P2PSIP_BOOTSTRAPD_CHECK_H

#include <openssl/ssl.h>
#include <stdint.h>

#include "identity.h"

struct event_base;
struct check;

/* ok is 1 when the test passed; why says what failed otherwise. c is freed
 * when the callback returns; the callback must not cancel it. */
typedef void (*check_done_t)(struct check *c, int ok, const char *why, void *arg);

struct check *check_start(struct event_base *base, SSL_CTX *ctx, const char *host, uint16_t port,
			  const uint8_t node_id[NODE_ID_LEN], int timeout_secs, check_done_t cb,
			  void *arg);
/* Stops a check without calling its callback. Accepts NULL. */
void check_cancel(struct check *c);

#endif
