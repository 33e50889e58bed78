/* sofia-sip driven by libevent in one thread (see notes/sofia-sip.md): the
 * su_root uses its epoll port, and libevent watches that epoll descriptor
 * and sofia's next timer, calling su_root_step() when either is due. nta
 * agents, tports and su timers created on sipev_root() then run inside the
 * program's libevent loop, with no locks and no second thread. */
#ifndef P2PSIP_SIPEV_H
#define P2PSIP_SIPEV_H

#include <stddef.h>

#include <sofia-sip/su_wait.h>

struct event_base;
struct sipev;

/* Initialises sofia (su_init) and creates its root on base. */
struct sipev *sipev_new(struct event_base *base, char *err, size_t errlen);
su_root_t *sipev_root(const struct sipev *s);
/* Runs what sofia has ready and re-arms the timer for its next deadline.
 * Call it after sofia calls made outside a sofia callback (creating an
 * agent, sending a request): they may have set a timer libevent does not
 * know yet. */
void sipev_kick(struct sipev *s);
/* 1 when sofia's epoll descriptor is watched; 0 when it could not be
 * found and a 5 ms poll stands in for it. */
int sipev_uses_epoll(const struct sipev *s);
/* Destroys the root (destroy agents on it first) and calls su_deinit. */
void sipev_free(struct sipev *s);

#endif
