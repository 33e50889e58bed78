/* sofia-sip's su_root stepped from libevent. */
#include "sipev.h"

#include "util.h"

#include <dirent.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sofia-sip/su.h>

#define FDS_MAX 4096
#define POLL_MS 5    /* stand-in when the epoll descriptor is not found */
#define STEPS_MAX 64 /* su_root_step may return 0 before a due timer ran */

struct sipev {
	struct event_base *base;
	su_root_t *root;
	struct event *io, *timer;
	int epfd;
	int stepping;
};

/* The descriptors that are epoll instances, as a bitmap over 0..FDS_MAX-1. */
static void epoll_fds(unsigned char *map)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	memset(map, 0, FDS_MAX / 8);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX], link[64];
		long fd = strtol(e->d_name, NULL, 10);
		ssize_t n;

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd < 0 || fd >= FDS_MAX)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%ld", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[eventpoll]") == 0)
			map[fd / 8] |= (unsigned char)(1u << (fd % 8));
	}
	closedir(d);
}

static void step(struct sipev *s)
{
	su_duration_t ms = 0;

	if (s->stepping)
		return; /* a sofia callback called sipev_kick */
	s->stepping = 1;
	for (int i = 0; i < STEPS_MAX && ms == 0; i++)
		ms = su_root_step(s->root, 0);
	s->stepping = 0;
	if (s->epfd < 0 && (ms < 0 || ms > POLL_MS))
		ms = POLL_MS;
	if (ms < 0) {
		evtimer_del(s->timer);
	} else {
		struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
		evtimer_add(s->timer, &tv);
	}
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	step(arg);
}

struct sipev *sipev_new(struct event_base *base, char *err, size_t errlen)
{
	struct sipev *s = calloc(1, sizeof(*s));
	unsigned char before[FDS_MAX / 8], after[FDS_MAX / 8];

	if (s == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	s->base = base;
	s->epfd = -1;
	if (su_init() != 0) {
		err_set(err, errlen, "su_init failed");
		free(s);
		return NULL;
	}
	su_port_prefer(su_epoll_port_create, su_epoll_clone_start);
	epoll_fds(before);
	s->root = su_root_create(NULL);
	if (s->root == NULL) {
		err_set(err, errlen, "su_root_create failed");
		su_deinit();
		free(s);
		return NULL;
	}
	epoll_fds(after);
	for (int fd = 0; fd < FDS_MAX && s->epfd < 0; fd++)
		if ((after[fd / 8] & ~before[fd / 8]) & (1u << (fd % 8)))
			s->epfd = fd;
	s->timer = evtimer_new(base, on_event, s);
	if (s->epfd >= 0)
		s->io = event_new(base, s->epfd, EV_READ | EV_PERSIST, on_event, s);
	if (s->timer == NULL || (s->epfd >= 0 && (s->io == NULL || event_add(s->io, NULL) < 0))) {
		err_set(err, errlen, "cannot watch sofia's descriptors");
		sipev_free(s);
		return NULL;
	}
	step(s);
	return s;
}

su_root_t *sipev_root(const struct sipev *s)
{
	return s->root;
}

void sipev_kick(struct sipev *s)
{
	step(s);
}

int sipev_uses_epoll(const struct sipev *s)
{
	return s->epfd >= 0;
}

void sipev_free(struct sipev *s)
{
	if (s == NULL)
		return;
	if (s->io != NULL)
		event_free(s->io);
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->root != NULL) {
		su_root_destroy(s->root);
		su_deinit();
	}
	free(s);
}
