/* SDP (RFC 4566) as far as a media relay needs it: where each media
 * stream wants to receive, and the same description with those addresses
 * replaced. Pure functions; the parser is fuzzed (tests/fuzz/fuzz_sdp.c). */
#ifndef P2PSIP_SDP_H
#define P2PSIP_SDP_H

#include <stddef.h>
#include <stdint.h>

#define SDP_MEDIA_MAX 8
#define SDP_BODY_MAX 16384
#define SDP_ADDR_MAX 64

struct sdp_media {
	uint16_t port;              /* 0: a disabled stream */
	char addr[SDP_ADDR_MAX];    /* the connection address in force for it */
	uint16_t rtcp_port;         /* from a=rtcp, else 0 (RTP port + 1) */
	char rtcp_addr[SDP_ADDR_MAX]; /* from a=rtcp, else "" */
};

struct sdp {
	int nmedia;
	struct sdp_media m[SDP_MEDIA_MAX];
};

/* Parses a session description; 0, or -1 with err when it is not one we
 * can relay (no v=0 first, a media line or connection line we cannot
 * read, a media stream with no connection address, more than
 * SDP_MEDIA_MAX media, over SDP_BODY_MAX bytes). */
int sdp_parse(const char *body, size_t len, struct sdp *out, char *err, size_t errlen);

/* The description with every connection address (c=, o=, a=rtcp) set to
 * host and media i's port to ports[i] (its RTCP to ports[i] + 1); a port of
 * 0 leaves a disabled stream disabled. ICE lines (a=candidate,
 * a=remote-candidates, a=end-of-candidates, a=ice-*) are dropped: they name
 * addresses the relay hides. o= keeps its session id and version, and its
 * user name unless that is an address ("-" then). Every other line is
 * copied byte for byte (a=crypto, a=fingerprint, a=setup: SRTP crosses).
 * Returns a malloc'd body (CRLF line ends) and its length in *outlen, or
 * NULL when body does not parse. */
char *sdp_rewrite(const char *body, size_t len, const char *host, const uint16_t *ports,
		  int nports, size_t *outlen);

/* 1 if ip is a literal address that is not globally routable (RFC 1918,
 * 100.64/10 shared, 169.254/16, fc00::/7, fe80::/10). Loopback is not
 * counted: tests on one machine use it. */
int sdp_addr_is_private(const char *ip);

#endif
