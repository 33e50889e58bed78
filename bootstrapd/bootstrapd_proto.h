/* What super nodes send bootstrapd (announce, heartbeat) and how it picks the
 * super nodes it hands out. Pure: no I/O. */
#ifndef P2PSIP_BOOTSTRAPD_PROTO_H
#define P2PSIP_BOOTSTRAPD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define SN_ADDRS_MAX 8
#define SN_LOAD_MAX 1000000
#define SN_BODY_MAX 8192

struct sn_addr {
	char host[64]; /* an IP address literal, normalised */
	uint16_t port;
};

struct announce {
	struct sn_addr addrs[SN_ADDRS_MAX];
	int naddrs;
	int64_t load;
};

/* {"addresses": [{"host": IP, "port": N}, ...], "load": N}. Loopback,
 * private and link-local addresses only with allow_private. */
int announce_parse(const uint8_t *buf, size_t len, int allow_private, struct announce *out,
		   char *err, size_t errlen);
/* {"load": N} (the body may be empty: load 0). */
int heartbeat_parse(const uint8_t *buf, size_t len, int64_t *load, char *err, size_t errlen);
/* Renders addresses as the JSON array stored and served. malloc'd. */
char *announce_addrs_json(const struct announce *a);

/* 1 if ip is routable on the Internet (not loopback, private, link-local,
 * unspecified, multicast or documentation ranges). */
int ip_is_public(const char *ip);

/* Picks up to want of n candidates without repetition, uniformly at random:
 * nothing a super node says about itself (its load) moves its chances.
 * uniform() returns (0,1]. Writes indexes into out; returns how many. */
size_t sn_select(size_t n, size_t want, double (*uniform)(void *), void *ctx, size_t *out);

#endif
