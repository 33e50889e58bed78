/* Unit tests of common/tcpconn.c: non-blocking TCP connects on loopback.
 * A listening socket gives a connected fd with TCP_NODELAY; a closed port
 * and an unroutable address fail from the event loop with errno's words; a
 * listener whose accept queue is full makes a connect time out; cancel
 * silences the callback; a bad host name fails at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "tcpconn.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct result {
	int called;
	evutil_socket_t fd;
	char why[256];
};

struct fx {
	struct event_base *base;
	struct event *tick;
};

static void on_done(evutil_socket_t fd, const char *why, void *arg)
{
	struct result *r = arg;

	r->called++;
	r->fd = fd;
	snprintf(r->why, sizeof(r->why), "%s", why != NULL ? why : "(null)");
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what, (void)arg;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct timeval tv = {0, 10 * 1000};

	if (f == NULL)
		return -1;
	f->base = event_base_new();
	/* Keeps EVLOOP_ONCE from sleeping for ever when nothing else is due. */
	f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, NULL);
	event_add(f->tick, &tv);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	event_free(f->tick);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* Runs the loop until r is called back or ms have passed. */
static void run(struct fx *f, struct result *r, int ms)
{
	uint64_t end = time_mono_ms() + (uint64_t)ms;

	while ((r == NULL || r->called == 0) && time_mono_ms() < end)
		event_base_loop(f->base, EVLOOP_ONCE);
}

/* A listening socket on 127.0.0.1 with the given backlog; *port set. */
static int listener(int backlog, uint16_t *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static uint16_t closed_port(void)
{
	uint16_t port;
	int fd = listener(1, &port);

	close(fd);
	return port;
}

static void test_connects_to_a_listener_with_nodelay(void **state)
{
	struct fx *f = *state;
	struct result r = {0, -1, ""};
	uint16_t port;
	int lfd = listener(8, &port);
	char why[256] = "";
	int one = 0, afd;
	socklen_t n = sizeof(one);
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	struct tcpconn *c;

	c = tcpconn_start(f->base, "127.0.0.1", port, 2000, on_done, &r, why, sizeof(why));
	assert_non_null(c);
	assert_int_equal(r.called, 0); /* never from inside tcpconn_start */
	run(f, &r, 3000);
	assert_int_equal(r.called, 1);
	assert_true(r.fd >= 0);
	assert_string_equal(r.why, "(null)");
	assert_int_equal(getsockopt(r.fd, IPPROTO_TCP, TCP_NODELAY, &one, &n), 0);
	assert_int_equal(one, 1);
	assert_int_equal(getpeername(r.fd, (struct sockaddr *)&peer, &plen), 0);
	assert_int_equal(ntohs(peer.sin_port), port);
	/* The socket works both ways. */
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(write(r.fd, "ping", 4), 4);
	{
		char buf[8];
		assert_int_equal(read(afd, buf, sizeof(buf)), 4);
		assert_memory_equal(buf, "ping", 4);
	}
	/* The timeout died with the attempt: no second call. */
	run(f, NULL, 50);
	assert_int_equal(r.called, 1);
	close(afd);
	close(r.fd);
	close(lfd);
}

static void test_closed_port_is_refused_from_the_loop(void **state)
{
	struct fx *f = *state;
	struct result r = {0, -1, ""};
	char why[256] = "";
	struct tcpconn *c;

	c = tcpconn_start(f->base, "127.0.0.1", closed_port(), 2000, on_done, &r, why,
			  sizeof(why));
	assert_non_null(c);
	assert_int_equal(r.called, 0);
	assert_string_equal(why, "");
	run(f, &r, 3000);
	assert_int_equal(r.called, 1);
	assert_int_equal(r.fd, -1);
	assert_string_equal(r.why, "Connection refused");
}

/* Fills the accept queue of lfd (backlog 0) so that further SYNs are dropped. */
static void fill_backlog(uint16_t port, int *fds, size_t n)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	for (size_t i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fds[i] >= 0);
		if (connect(fds[i], (struct sockaddr *)&a, sizeof(a)) < 0)
			assert_int_equal(errno, EINPROGRESS);
	}
	/* Let the handshakes that can complete do so. */
	poll(NULL, 0, 50);
}

static void test_connect_to_a_full_listener_times_out(void **state)
{
	struct fx *f = *state;
	struct result r = {0, -1, ""};
	uint16_t port;
	int lfd = listener(0, &port);
	int fill[4];
	char why[256] = "";
	uint64_t start;
	struct tcpconn *c;

	fill_backlog(port, fill, 4);
	start = time_mono_ms();
	c = tcpconn_start(f->base, "127.0.0.1", port, 300, on_done, &r, why, sizeof(why));
	assert_non_null(c);
	run(f, &r, 3000);
	assert_int_equal(r.called, 1);
	assert_int_equal(r.fd, -1);
	assert_string_equal(r.why, "connect timed out");
	assert_true(time_mono_ms() - start >= 290);
	for (size_t i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
}

static void test_cancel_stops_the_callback(void **state)
{
	struct fx *f = *state;
	struct result r = {0, -1, ""};
	uint16_t port;
	int lfd = listener(8, &port);
	int lfd2;
	int fill[4];
	char why[256] = "";
	struct tcpconn *c;

	/* Cancelled before the connect completes. */
	c = tcpconn_start(f->base, "127.0.0.1", port, 2000, on_done, &r, why, sizeof(why));
	assert_non_null(c);
	tcpconn_cancel(c);
	run(f, NULL, 100);
	assert_int_equal(r.called, 0);

	/* Cancelled while it would otherwise time out. */
	lfd2 = listener(0, &port);
	fill_backlog(port, fill, 4);
	c = tcpconn_start(f->base, "127.0.0.1", port, 100, on_done, &r, why, sizeof(why));
	assert_non_null(c);
	run(f, NULL, 30);
	tcpconn_cancel(c);
	run(f, NULL, 200);
	assert_int_equal(r.called, 0);

	/* Cancelled with a refusal already waiting. */
	c = tcpconn_start(f->base, "127.0.0.1", closed_port(), 2000, on_done, &r, why,
			  sizeof(why));
	assert_non_null(c);
	poll(NULL, 0, 20);
	tcpconn_cancel(c);
	run(f, NULL, 50);
	assert_int_equal(r.called, 0);

	tcpconn_cancel(NULL);
	for (size_t i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd2);
	close(lfd);
}

static void test_bad_host_name_fails_at_start(void **state)
{
	struct fx *f = *state;
	struct result r = {0, -1, ""};
	char why[256] = "";

	/* Not a valid DNS name: glibc refuses it without asking a server. */
	assert_null(tcpconn_start(f->base, "bad host!", 5060, 1000, on_done, &r, why, sizeof(why)));
	assert_contains(why, "bad host!");
	assert_true(strlen(why) > strlen("bad host!: "));
	run(f, NULL, 20);
	assert_int_equal(r.called, 0);
	/* A NULL reason buffer is allowed. */
	assert_null(tcpconn_start(f->base, "bad host!", 5060, 1000, on_done, &r, NULL, 0));
}

static void test_unroutable_address_fails_from_the_loop(void **state)
{
	struct fx *f = *state;
	struct result r = {0, -1, ""};
	char why[256] = "";
	struct tcpconn *c;

	/* Regression (fixed): common/tcpconn.c:103-105 drops the errno of a connect() that
	 * fails at once (anything but EINPROGRESS: ENETUNREACH here, as TCP to
	 * a multicast or broadcast address always gives on Linux). The socket is
	 * then writable with SO_ERROR 0, so on_ready (tcpconn.c:45-48) hands an
	 * unconnected socket to the caller as a success (fd >= 0, why NULL). */
	c = tcpconn_start(f->base, "224.0.0.1", 5060, 2000, on_done, &r, why, sizeof(why));
	if (c == NULL) {
		/* Refusing at start would be fine too, with a reason. */
		assert_true(why[0] != '\0');
		return;
	}
	run(f, &r, 3000);
	assert_int_equal(r.called, 1);
	if (r.fd >= 0)
		close(r.fd);
	assert_int_equal(r.fd, -1);
	assert_contains(r.why, "unreachable");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connects_to_a_listener_with_nodelay, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_closed_port_is_refused_from_the_loop, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_connect_to_a_full_listener_times_out, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cancel_stops_the_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_host_name_fails_at_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unroutable_address_fails_from_the_loop, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
