/* A TLS probe: connect to an IP literal and port, complete a TLS handshake
 * within a time limit, and hand the certificate presented to the caller to
 * judge. The return reachability tests (bootstrapd's of announced super
 * nodes, a super node's of a node that wants to become one) are built on it. */
#ifndef P2PSIP_TLSPROBE_H
#define P2PSIP_TLSPROBE_H

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>

struct event_base;
struct tlsprobe;

/* Called once from the event loop, never from tlsprobe_start. peer is the
 * certificate presented, verified by ctx (valid only during the call), or
 * NULL with why saying what failed: the connection, the handshake, the
 * time limit, or no valid certificate. The probe is freed when the call
 * returns; the callback must not cancel it. */
typedef void (*tlsprobe_done_t)(X509 *peer, const char *why, void *arg);

/* Starts a probe of host (an IPv4 or IPv6 literal) at port with ctx
 * (borrowed; must outlive the probe). NULL when host is no IP literal or
 * the connection cannot even start. */
struct tlsprobe *tlsprobe_start(struct event_base *base, SSL_CTX *ctx, const char *host,
				uint16_t port, int timeout_secs, tlsprobe_done_t cb, void *arg);
/* Stops a probe without calling back. Accepts NULL. */
void tlsprobe_cancel(struct tlsprobe *p);

#endif
