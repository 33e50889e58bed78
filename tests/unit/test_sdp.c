/* Unit tests of common/sdp.c: what a relay reads from SDP (session and
 * media connection lines, disabled streams, a=rtcp), the rewritten body
 * (no trace of the old addresses, ports per stream, RTCP, ICE dropped,
 * parses again), and input it must refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "sdp.h"

#include <stdlib.h>
#include <string.h>

static const char OFFER[] = "v=0\r\n"
			    "o=alice 2890844526 2890844526 IN IP4 10.0.1.2\r\n"
			    "s=-\r\n"
			    "c=IN IP4 10.0.1.2\r\n"
			    "t=0 0\r\n"
			    "m=audio 49170 RTP/AVP 0 8\r\n"
			    "a=rtcp:49171 IN IP4 10.0.1.2\r\n"
			    "a=candidate:1 1 UDP 2130706431 10.0.1.2 49170 typ host\r\n"
			    "a=ice-ufrag:abcd\r\n"
			    "m=video 0 RTP/AVP 31\r\n"
			    "m=video 51372/2 RTP/AVP 31\r\n"
			    "c=IN IP4 192.168.7.7/127\r\n";

static void test_parse(void **state)
{
	struct sdp d;
	char err[128];

	(void)state;
	assert_int_equal(sdp_parse(OFFER, strlen(OFFER), &d, err, sizeof(err)), 0);
	assert_int_equal(d.nmedia, 3);
	assert_int_equal(d.m[0].port, 49170);
	assert_string_equal(d.m[0].addr, "10.0.1.2");
	assert_int_equal(d.m[0].rtcp_port, 49171);
	assert_string_equal(d.m[0].rtcp_addr, "10.0.1.2");
	assert_int_equal(d.m[1].port, 0);
	assert_int_equal(d.m[2].port, 51372);
	assert_string_equal(d.m[2].addr, "192.168.7.7");
	/* LF line ends, media-level connection only */
	assert_int_equal(sdp_parse("v=0\nm=audio 5 RTP/AVP 0\nc=IN IP6 ::1\n", 36, &d, NULL, 0), 0);
	assert_string_equal(d.m[0].addr, "::1");
}

static void test_rewrite(void **state)
{
	uint16_t ports[3] = {40000, 40002, 40004};
	size_t n;
	char *out = sdp_rewrite(OFFER, strlen(OFFER), "198.51.100.11", ports, 3, &n);
	struct sdp d;

	(void)state;
	assert_non_null(out);
	assert_int_equal(strlen(out), n);
	assert_null(strstr(out, "10.0.1.2"));
	assert_null(strstr(out, "192.168"));
	assert_null(strstr(out, "candidate"));
	assert_null(strstr(out, "ice-"));
	assert_non_null(strstr(out, "o=alice 2890844526 2890844526 IN IP4 198.51.100.11\r\n"));
	assert_non_null(strstr(out, "m=audio 40000 RTP/AVP 0 8\r\n"));
	assert_non_null(strstr(out, "a=rtcp:40001 IN IP4 198.51.100.11\r\n"));
	assert_non_null(strstr(out, "m=video 0 RTP/AVP 31\r\n"));
	assert_non_null(strstr(out, "m=video 40004 RTP/AVP 31\r\n"));
	assert_int_equal(sdp_parse(out, n, &d, NULL, 0), 0);
	assert_int_equal(d.m[0].port, 40000);
	assert_string_equal(d.m[2].addr, "198.51.100.11");
	free(out);
	/* fewer ports than media: the rest keep theirs */
	out = sdp_rewrite(OFFER, strlen(OFFER), "::1", ports, 1, &n);
	assert_non_null(out);
	assert_non_null(strstr(out, "c=IN IP6 ::1\r\n"));
	assert_non_null(strstr(out, "m=video 51372/2 RTP/AVP 31\r\n"));
	free(out);
}

static void test_refused(void **state)
{
	static const char *bad[] = {
		"",
		"v=1\r\n",
		"o=x\r\nv=0\r\n",
		"v=0\r\nm=audio 5 RTP/AVP 0\r\n",                 /* no connection address */
		"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 70000 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio\r\n",
		"v=0\r\nc=XX IP4 1.2.3.4\r\n",
		"v=0\r\nc=IN IP4 1.2.3.4;rm\r\n",
		"v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 0\r\na=rtcp:0\r\n",
		"v=0\r\ngarbage\r\n",
	};
	struct sdp d;
	uint16_t p = 1000;
	size_t n;
	char big[SDP_BODY_MAX + 64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sdp_parse(bad[i], strlen(bad[i]), &d, NULL, 0), -1);
		assert_null(sdp_rewrite(bad[i], strlen(bad[i]), "1.1.1.1", &p, 1, &n));
	}
	memset(big, 'a', sizeof(big));
	memcpy(big, "v=0\r\n", 5);
	assert_int_equal(sdp_parse(big, sizeof(big), &d, NULL, 0), -1);
	/* a media line with a port pair count but no protocol */
	assert_null(sdp_rewrite("v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 5/2\r\n", 35, "2.2.2.2", &p, 1, &n));
}

static void test_private(void **state)
{
	(void)state;
	assert_true(sdp_addr_is_private("10.0.1.2"));
	assert_true(sdp_addr_is_private("172.16.0.1"));
	assert_true(sdp_addr_is_private("192.168.1.1"));
	assert_true(sdp_addr_is_private("100.64.0.1"));
	assert_true(sdp_addr_is_private("fd00::1"));
	assert_true(sdp_addr_is_private("fe80::1"));
	assert_false(sdp_addr_is_private("198.51.100.11"));
	assert_false(sdp_addr_is_private("127.0.0.1"));
	assert_false(sdp_addr_is_private("172.32.0.1"));
	assert_false(sdp_addr_is_private("example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
