/* on_sip: the SIP listener for the phones: over UDP from a real socket, a
 * request without credentials is challenged (401, 407) and reaches no
 * handler; with them a REGISTER goes to the registrar's handler, anything
 * else to the proxy's; the status a handler returns is what the phone
 * gets; a source outside phone_networks gets 403; a bad sip_listen is
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "on.h"
#include "sipev.h"
#include "testutil.h"
#include "util.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fx {
	struct event_base *base;
	struct on on;
	char listen[32];
	struct on_sip *sip;
	int regs, others;
	char last[16];
	int fd; /* the phone */
	uint16_t port;
};

static int on_reg(void *arg, nta_incoming_t *irq, const sip_t *sip)
{
	struct fx *f = arg;

	(void)irq, (void)sip;
	f->regs++;
	return 403;
}

static int on_other(void *arg, nta_incoming_t *irq, const sip_t *sip)
{
	struct fx *f = arg;

	(void)irq;
	f->others++;
	snprintf(f->last, sizeof(f->last), "%s", sip->sip_request->rq_method_name);
	return 488;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	int port = tu_free_port();

	log_init("test", LOG_LVL_ERROR);
	if (f == NULL || port < 0)
		return -1;
	f->port = (uint16_t)port;
	f->base = event_base_new();
	f->on.base = f->base;
	f->on.sev = sipev_new(f->base, err, sizeof(err));
	snprintf(f->listen, sizeof(f->listen), "127.0.0.1:%u", f->port);
	f->on.cfg.sip_listen = f->listen;
	{
		struct on_auth_params p = {
			"overlay.example", 1, {ON_DIGEST_MD5}, 1, 300, 600, 600, 5};
		struct on_auth_user u = {"alice", "pw"};
		f->on.auth = on_auth_new(&p, &u, 1);
	}
	if (f->on.sev == NULL || (f->sip = on_sip_new(&f->on, err, sizeof(err))) == NULL) {
		fprintf(stderr, "on_sip_new: %s\n", err);
		return -1;
	}
	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->fd);
	on_sip_free(f->sip);
	on_auth_free(f->on.auth);
	sipev_free(f->on.sev);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* Credentials of alice for method on a fresh nonce (with auth), or "". */
static void creds(struct fx *f, const char *method, int auth, char *out, size_t len)
{
	char ch[1][ON_CHALLENGE_MAX], resp[ON_DIGEST_HEX_MAX];
	struct on_digest d = {.username = "alice",
			      .realm = "overlay.example",
			      .uri = "sip:alice@overlay.example",
			      .cnonce = "c",
			      .qop = "auth",
			      .nc = "00000001"};

	out[0] = '\0';
	if (!auth)
		return;
	on_auth_challenges(f->on.auth, 0, time_mono_ms(), ch, 1);
	sscanf(strstr(ch[0], "nonce=\"") + 7, "%39[^\"]", d.nonce);
	on_digest_expected(ON_DIGEST_MD5, "pw", method, &d, resp);
	snprintf(out, len,
		 "%s: Digest username=\"alice\", realm=\"overlay.example\", nonce=\"%s\", "
		 "uri=\"%s\", response=\"%s\", qop=auth, nc=00000001, cnonce=\"c\"\r\n",
		 strcmp(method, "REGISTER") == 0 ? "Authorization" : "Proxy-Authorization", d.nonce,
		 d.uri, resp);
}

/* Sends a request (with credentials when auth) and waits for the status
 * line of the answer. */
static int ask_as(struct fx *f, const char *method, int auth)
{
	struct sockaddr_in to = {0};
	char text[2048], buf[2048], cred[600];
	int status = 0;
	static int seq; /* every request its own transaction */

	creds(f, method, auth, cred, sizeof(cred));
	seq++;
	snprintf(text, sizeof(text),
		 "%s sip:alice@overlay.example SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK%s%d\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:alice@overlay.example>;tag=1\r\n"
		 "To: <sip:alice@overlay.example>\r\n"
		 "Call-ID: %s-%d\r\n"
		 "CSeq: 1 %s\r\n"
		 "%sContent-Length: 0\r\n\r\n",
		 method, method, seq, method, seq, method, cred);
	to.sin_family = AF_INET;
	to.sin_port = htons(f->port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(sendto(f->fd, text, strlen(text), 0, (struct sockaddr *)&to, sizeof(to)) > 0);
	for (int i = 0; i < 200 && status == 0; i++) {
		ssize_t n = recv(f->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n > 0) {
			buf[n] = '\0';
			sscanf(buf, "SIP/2.0 %d", &status);
		}
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(5000);
	}
	return status;
}

static int ask(struct fx *f, const char *method)
{
	return ask_as(f, method, 1);
}

static void test_dispatch(void **state)
{
	struct fx *f = *state;

	on_sip_handlers(f->sip, on_reg, f, on_other, f);
	assert_non_null(on_sip_agent(f->sip));
	assert_int_equal(ask_as(f, "REGISTER", 0), 401);
	assert_int_equal(ask_as(f, "OPTIONS", 0), 407);
	assert_int_equal(f->regs + f->others, 0);
	assert_int_equal(ask(f, "REGISTER"), 403);
	assert_int_equal(f->regs, 1);
	assert_int_equal(ask(f, "OPTIONS"), 488);
	assert_int_equal(ask(f, "MESSAGE"), 488);
	assert_int_equal(f->others, 2);
	assert_string_equal(f->last, "MESSAGE");
	assert_int_equal(f->regs, 1);
}

static void test_networks(void **state)
{
	struct fx *f = *state;
	char err[128];

	on_sip_handlers(f->sip, on_reg, f, on_other, f);
	assert_int_equal(netlist_parse("10.0.0.0/8", &f->on.cfg.phone_nets, err, sizeof(err)), 0);
	assert_int_equal(ask(f, "REGISTER"), 403);
	assert_int_equal(ask(f, "OPTIONS"), 403);
	assert_int_equal(f->regs + f->others, 0);
	assert_int_equal(netlist_parse("127.0.0.0/8", &f->on.cfg.phone_nets, err, sizeof(err)), 0);
	assert_int_equal(ask(f, "REGISTER"), 403); /* the registrar's answer */
	assert_int_equal(f->regs, 1);
}

static void test_not_serving_yet(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ask(f, "OPTIONS"), 503);
	assert_int_equal(f->others, 0);
}

static void test_bad_listen(void **state)
{
	struct on on = {0};
	char err[256] = "";

	(void)state;
	on.cfg.sip_listen = "localhost:5060";
	assert_null(on_sip_new(&on, err, sizeof(err)));
	assert_non_null(strstr(err, "want IP:PORT"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_networks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_serving_yet, setup, teardown),
		cmocka_unit_test(test_bad_listen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
