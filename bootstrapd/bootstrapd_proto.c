/* Announce and heartbeat bodies, and the choice of super nodes to hand out. */
#include "bootstrapd_proto.h"

#include "jsonx.h"
#include "util.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *load_object(const uint8_t *buf, size_t len, int allow_empty, char *err,
			   size_t errlen)
{
	if (allow_empty && (buf == NULL || len == 0))
		return json_object();
	return jx_load_object(buf, len, SN_BODY_MAX, err, errlen);
}

static int in4(const uint8_t *a, uint32_t net, int bits)
{
	uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);

	return (v & mask) == net;
}

int ip_is_public(const char *ip)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return !(in4(a, 0x00000000, 8) || in4(a, 0x0a000000, 8) || in4(a, 0x7f000000, 8) ||
			 in4(a, 0xa9fe0000, 16) || in4(a, 0xac100000, 12) ||
			 in4(a, 0xc0a80000, 16) || in4(a, 0x64400000, 10) ||
			 in4(a, 0xc0000200, 24) || in4(a, 0xc6336400, 24) ||
			 in4(a, 0xcb007100, 24) || in4(a, 0xe0000000, 3));
	if (inet_pton(AF_INET6, ip, a) != 1)
		return 0;
	/* Global unicast is 2000::/3, less the documentation prefix. */
	if ((a[0] & 0xe0) != 0x20)
		return 0;
	return !(a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8);
}

static int parse_addr(json_t *v, int allow_private, struct sn_addr *out, char *err, size_t errlen)
{
	static const char *const keys[] = {"host", "port", NULL};
	const char *host;
	int64_t port;
	uint8_t bin[16];
	int af;

	if (!json_is_object(v) || jx_only(v, keys, err, errlen) < 0 ||
	    jx_str(v, "host", 63, JX_REQUIRED, &host, err, errlen) < 0 ||
	    jx_int(v, "port", 1, 65535, JX_REQUIRED, &port, err, errlen) < 0) {
		if (!json_is_object(v))
			err_set(err, errlen, "addresses: each entry must be an object");
		return -1;
	}
	af = inet_pton(AF_INET, host, bin) == 1    ? AF_INET
	     : inet_pton(AF_INET6, host, bin) == 1 ? AF_INET6
						   : 0;
	if (af == 0) {
		err_set(err, errlen, "addresses: host must be an IP address");
		return -1;
	}
	inet_ntop(af, bin, out->host, sizeof(out->host));
	if (!allow_private && !ip_is_public(out->host)) {
		err_set(err, errlen, "addresses: %s is not a public address", out->host);
		return -1;
	}
	out->port = (uint16_t)port;
	return 0;
}

int announce_parse(const uint8_t *buf, size_t len, int allow_private, struct announce *out,
		   char *err, size_t errlen)
{
	static const char *const keys[] = {"addresses", "load", NULL};
	json_t *j = load_object(buf, len, 0, err, errlen);
	json_t *list, *v;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return -1;
	if (jx_only(j, keys, err, errlen) < 0 ||
	    jx_int(j, "load", 0, SN_LOAD_MAX, JX_OPTIONAL, &out->load, err, errlen) < 0)
		goto out;
	list = json_object_get(j, "addresses");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > SN_ADDRS_MAX) {
		err_set(err, errlen, "addresses: a list of 1 to %d addresses is needed",
			SN_ADDRS_MAX);
		goto out;
	}
	json_array_foreach (list, i, v) {
		struct sn_addr *a = &out->addrs[out->naddrs];
		if (parse_addr(v, allow_private, a, err, errlen) < 0)
			goto out;
		for (int k = 0; k < out->naddrs; k++) {
			if (strcmp(out->addrs[k].host, a->host) == 0 &&
			    out->addrs[k].port == a->port) {
				err_set(err, errlen, "addresses: %s port %u listed twice", a->host,
					a->port);
				goto out;
			}
		}
		out->naddrs++;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int heartbeat_parse(const uint8_t *buf, size_t len, int64_t *load, char *err, size_t errlen)
{
	static const char *const keys[] = {"load", NULL};
	json_t *j = load_object(buf, len, 1, err, errlen);
	int rc = -1;

	*load = 0;
	if (j == NULL)
		return -1;
	if (jx_only(j, keys, err, errlen) == 0 &&
	    jx_int(j, "load", 0, SN_LOAD_MAX, JX_OPTIONAL, load, err, errlen) == 0)
		rc = 0;
	json_decref(j);
	return rc;
}

char *announce_addrs_json(const struct announce *a)
{
	json_t *list = json_array();
	char *s;

	for (int i = 0; i < a->naddrs; i++)
		json_array_append_new(list, json_pack("{s:s,s:i}", "host", a->addrs[i].host, "port",
						      a->addrs[i].port));
	s = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	return s;
}

/* A uniform sample without replacement (the first want steps of a
 * Fisher-Yates shuffle). The load a super node reports is its own word: a
 * weight by it let one node claim zero load and draw every newcomer. */
size_t sn_select(size_t n, size_t want, double (*uniform)(void *), void *ctx, size_t *out)
{
	size_t *ix;

	if (want > n)
		want = n;
	if (want == 0)
		return 0;
	ix = malloc(n * sizeof(*ix));
	if (ix == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		ix[i] = i;
	for (size_t k = 0; k < want; k++) {
		/* uniform() is in (0,1], so 1 - u is in [0,1). */
		size_t j = k + (size_t)((1.0 - uniform(ctx)) * (double)(n - k));
		size_t t;
		if (j >= n)
			j = n - 1;
		t = ix[k];
		ix[k] = ix[j];
		ix[j] = t;
		out[k] = ix[k];
	}
	free(ix);
	return want;
}
