/* A non-blocking TCP connect on the event loop that reports plain reasons
 * ("Connection refused", "timed out"), before any TLS starts on the socket. */
#ifndef P2PSIP_TCPCONN_H
#define P2PSIP_TCPCONN_H

#include <event2/util.h>
#include <stdint.h>

struct event_base;
struct tcpconn;

/* fd is the connected socket (now the callee's) or -1 with why set. The
 * tcpconn is freed when the callback returns. */
typedef void (*tcpconn_done_t)(evutil_socket_t fd, const char *why, void *arg);

/* host must be an IP literal, or a name resolved here with getaddrinfo
 * (blocking: use names only in command-line tools). NULL with why filled
 * when it cannot even start. TCP_NODELAY is set on the socket. */
struct tcpconn *tcpconn_start(struct event_base *base, const char *host, uint16_t port,
			      int timeout_ms, tcpconn_done_t cb, void *arg, char *why,
			      size_t whylen);
/* Abandons the attempt without calling back. Accepts NULL. */
void tcpconn_cancel(struct tcpconn *c);

#endif
