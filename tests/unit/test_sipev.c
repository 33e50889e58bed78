/* Unit tests of common/sipev.c: sofia timers fire and an nta agent answers
 * SIP over UDP, all from the libevent loop; garbage does not stop it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sipev.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sofia-sip/nta.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/url.h>

static struct event_base *base;
static struct sipev *sev;

static int setup(void **state)
{
	char err[256];

	(void)state;
	base = event_base_new();
	sev = sipev_new(base, err, sizeof(err));
	if (sev == NULL)
		fail_msg("sipev_new: %s", err);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sipev_free(sev);
	event_base_free(base);
	return 0;
}

/* Runs the loop until *flag is set or ms pass. */
static void run_until(const int *flag, int ms)
{
	struct timeval tv = {0, 10000};

	for (int i = 0; i < ms / 10 && !*flag; i++) {
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

static void on_su_timer(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
	(void)magic, (void)t;
	++*(int *)arg;
}

static void test_epoll_found(void **state)
{
	(void)state;
	assert_true(sipev_uses_epoll(sev));
}

static void test_timer_fires(void **state)
{
	su_timer_t *t = su_timer_create(su_root_task(sipev_root(sev)), 30);
	int fired = 0;

	(void)state;
	assert_non_null(t);
	assert_int_equal(su_timer_set(t, on_su_timer, (su_timer_arg_t *)&fired), 0);
	sipev_kick(sev);
	run_until(&fired, 2000);
	assert_int_equal(fired, 1);
	su_timer_destroy(t);
}

static int answered;

static int on_request(nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq, sip_t const *sip)
{
	(void)magic, (void)leg, (void)irq;
	answered++;
	return sip->sip_request->rq_method == sip_method_options ? 200 : 501;
}

struct client {
	int fd;
	char buf[4096];
	int got;
};

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	ssize_t n = recv(fd, c->buf, sizeof(c->buf) - 1, 0);

	(void)what;
	if (n > 0) {
		c->buf[n] = '\0';
		c->got = 1;
	}
}

static void send_text(int fd, uint16_t port, const char *text)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(sendto(fd, text, strlen(text), 0, (struct sockaddr *)&to, sizeof(to)) ==
		    (ssize_t)strlen(text));
}

static void test_agent_answers_options(void **state)
{
	nta_agent_t *agent = nta_agent_create(sipev_root(sev), URL_STRING_MAKE("sip:127.0.0.1:*"),
					      NULL, NULL, NTATAG_SERVER_RPORT(1), TAG_END());
	nta_leg_t *leg;
	struct client c = {0};
	struct sockaddr_in me = {.sin_family = AF_INET};
	socklen_t len = sizeof(me);
	struct event *ev;
	char msg[1024];
	uint16_t port;

	(void)state;
	assert_non_null(agent);
	leg = nta_leg_tcreate(agent, on_request, NULL, NTATAG_NO_DIALOG(1), TAG_END());
	assert_non_null(leg);
	port = (uint16_t)atoi(nta_agent_contact(agent)->m_url->url_port);
	assert_true(port > 0);
	sipev_kick(sev);

	c.fd = socket(AF_INET, SOCK_DGRAM, 0);
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(c.fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(getsockname(c.fd, (struct sockaddr *)&me, &len), 0);
	ev = event_new(base, c.fd, EV_READ | EV_PERSIST, on_udp, &c);
	event_add(ev, NULL);

	/* Garbage first: no answer, no crash, the agent goes on. */
	send_text(c.fd, port, "\x01\x02 not SIP at all\r\n\r\n");
	send_text(c.fd, port, "OPTIONS sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n");
	snprintf(msg, sizeof(msg),
		 "OPTIONS sip:127.0.0.1:%u SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-sipev-1;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:test@127.0.0.1>;tag=t1\r\n"
		 "To: <sip:127.0.0.1>\r\n"
		 "Call-ID: sipev-1@127.0.0.1\r\n"
		 "CSeq: 1 OPTIONS\r\n"
		 "Content-Length: 0\r\n\r\n",
		 port, ntohs(me.sin_port));
	send_text(c.fd, port, msg);
	run_until(&c.got, 3000);
	assert_true(c.got);
	assert_memory_equal(c.buf, "SIP/2.0 200", 11);
	assert_non_null(strstr(c.buf, "branch=z9hG4bK-sipev-1"));
	assert_int_equal(answered, 1);

	event_free(ev);
	close(c.fd);
	nta_leg_destroy(leg);
	nta_agent_destroy(agent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_epoll_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_fires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_answers_options, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
