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

/* A DTLS-SRTP offer and an SDES one as baresip and a WebRTC gateway write
 * them: key and DTLS lines at session and media level, ICE, a=rtcp-mux,
 * a=rtcp with an address. */
static const char DTLS[] =
	"v=0\r\n"
	"o=- 1567594003 602279841 IN IP4 192.168.1.20\r\n"
	"s=-\r\n"
	"c=IN IP4 192.168.1.20\r\n"
	"t=0 0\r\n"
	"a=tool:baresip 1.0.0\r\n"
	"a=setup:actpass\r\n"
	"a=fingerprint:SHA-256 "
	"7A:31:21:C3:F1:12:8B:8D:DC:01:40:0C:85:14:7D:5A:E3:59:F0:A4:64:E8:78:"
	"34:49:91:8C:5E:DE:C5:4D:9F\r\n"
	"a=ice-options:trickle\r\n"
	"m=audio 18710 UDP/TLS/RTP/SAVPF 0 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtcp:18711 IN IP4 192.168.1.20\r\n"
	"a=rtcp-mux\r\n"
	"a=rtcp-rsize\r\n"
	"a=ice-ufrag:F7gI\r\n"
	"a=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\n"
	"a=candidate:1 1 UDP 2130706431 192.168.1.20 18710 typ host\r\n"
	"a=candidate:2 1 UDP 1694498815 203.0.113.9 18710 typ srflx raddr 192.168.1.20 rport "
	"18710\r\n"
	"a=remote-candidates:1 198.51.100.4 5000\r\n"
	"a=end-of-candidates\r\n"
	"a=setup:passive\r\n"
	"a=fingerprint:sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB\r\n"
	"a=ssrc:2165307621 cname:sip:alice@overlay.example\r\n"
	"a=sendrecv\r\n"
	"m=audio 18712 RTP/SAVP 0\r\n"
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
	"inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n"
	"a=crypto:2 AES_CM_128_HMAC_SHA1_32 "
	"inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32 "
	"KDR=1\r\n"
	"a=rtcp:18713\r\n";

/* The lines of body that the rewriting must leave alone, in order: all
 * but o=, c=, m=, a=rtcp: and ICE. */
static char *kept_lines(const char *body)
{
	static const char *const gone[] = {"o=",
					   "c=",
					   "m=",
					   "a=rtcp:",
					   "a=candidate",
					   "a=remote-candidates",
					   "a=end-of-candidates",
					   "a=ice-"};
	char *out = calloc(1, strlen(body) + 1);
	const char *s = body;

	while (*s != '\0') {
		size_t n = strcspn(s, "\r\n");
		int keep = 1;
		for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
			keep &= strncmp(s, gone[i], strlen(gone[i])) != 0;
		if (keep && n > 0) {
			strncat(out, s, n);
			strcat(out, "\n");
		}
		s += n;
		s += strspn(s, "\r\n");
	}
	return out;
}

static void test_keys_untouched(void **state)
{
	uint16_t ports[2] = {40000, 40002};
	size_t n;
	char *out = sdp_rewrite(DTLS, strlen(DTLS), "198.51.100.11", ports, 2, &n);
	char *a, *b;

	(void)state;
	assert_non_null(out);
	/* every key, DTLS and other attribute line, byte for byte, in order */
	a = kept_lines(DTLS);
	b = kept_lines(out);
	assert_string_equal(a, b);
	free(a);
	free(b);
	assert_non_null(strstr(out, "\r\na=setup:actpass\r\n"));
	assert_non_null(strstr(out,
			       "\r\na=fingerprint:SHA-256 7A:31:21:C3:F1:12:8B:8D:DC:01:40:0C:"
			       "85:14:7D:5A:E3:59:F0:A4:64:E8:78:34:49:91:8C:5E:DE:C5:4D:9F\r\n"));
	assert_non_null(strstr(out,
			       "\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjk"
			       "pPywjNWhcYD0mXXtxaVBR|2^20|1:32\r\n"));
	assert_non_null(strstr(out, "\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"));
	/* and what must change did: no phone address, no ICE */
	assert_null(strstr(out, "192.168"));
	assert_null(strstr(out, "203.0.113"));
	assert_null(strstr(out, "198.51.100.4"));
	assert_null(strstr(out, "ice-"));
	assert_null(strstr(out, "candidate"));
	assert_non_null(strstr(out, "o=- 1567594003 602279841 IN IP4 198.51.100.11\r\n"));
	assert_non_null(strstr(out, "m=audio 40000 UDP/TLS/RTP/SAVPF 0 101\r\n"));
	assert_non_null(strstr(out, "a=rtcp:40001 IN IP4 198.51.100.11\r\n"));
	assert_non_null(strstr(out, "m=audio 40002 RTP/SAVP 0\r\n"));
	assert_non_null(strstr(out, "a=rtcp:40003 IN IP4 198.51.100.11\r\n"));
	free(out);
}

/* o=: the session id and version are the phone's, so a new version from
 * the phone is a new version at the far end; only the address changes
 * (and a user name that is an address, which would name the phone). */
static void test_origin(void **state)
{
	static const char v1[] = "v=0\r\no=bob 42 7 IN IP4 10.0.0.5\r\nc=IN IP4 10.0.0.5\r\n"
				 "m=audio 5000 RTP/AVP 0\r\n";
	static const char v2[] = "v=0\r\no=bob 42 8 IN IP4 10.0.0.5\r\nc=IN IP4 10.0.0.5\r\n"
				 "m=audio 5002 RTP/AVP 0\r\n";
	static const char v6[] = "v=0\r\no=10.0.0.5 42 8 IN IP6 fd00::5\r\nc=IN IP6 fd00::5\r\n"
				 "m=audio 5002 RTP/AVP 0\r\n";
	uint16_t p = 40000;
	size_t n;
	char *out;

	(void)state;
	out = sdp_rewrite(v1, strlen(v1), "198.51.100.11", &p, 1, &n);
	assert_non_null(strstr(out, "o=bob 42 7 IN IP4 198.51.100.11\r\n"));
	free(out);
	out = sdp_rewrite(v2, strlen(v2), "198.51.100.11", &p, 1, &n);
	assert_non_null(strstr(out, "o=bob 42 8 IN IP4 198.51.100.11\r\n"));
	free(out);
	out = sdp_rewrite(v6, strlen(v6), "198.51.100.11", &p, 1, &n);
	assert_non_null(strstr(out, "o=- 42 8 IN IP4 198.51.100.11\r\n"));
	assert_null(strstr(out, "10.0.0.5"));
	assert_null(strstr(out, "fd00"));
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
		cmocka_unit_test(test_parse),          cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_keys_untouched), cmocka_unit_test(test_origin),
		cmocka_unit_test(test_refused),        cmocka_unit_test(test_private),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
