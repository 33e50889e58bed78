/* Fuzzes the STUN parser as the super node uses it: anything that parses
 * as a Binding request is answered (success, or 420 for unknown
 * attributes), and what we build must parse again with the same
 * transaction ID. */
#include "log.h"
#include "stun.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stun_msg m, r;
	uint8_t out[STUN_MSG_MAX];
	struct sockaddr_in6 from = {0};
	size_t n;

	if (stun_parse(data, size, &m) < 0 || m.type != STUN_BINDING_REQUEST)
		return 0;
	from.sin6_family = AF_INET6;
	from.sin6_port = htons(3478);
	memcpy(from.sin6_addr.s6_addr, data, size < 16 ? size : 16);
	if (m.nunknown > 0)
		n = stun_binding_error(out, sizeof(out), m.tid, 420, "", m.unknown, m.nunknown,
				       m.has_fingerprint);
	else
		n = stun_binding_success(out, sizeof(out), m.tid, (struct sockaddr *)&from,
					 m.has_fingerprint);
	/* parses back, FINGERPRINT as asked, never more than 2.2 times the
	 * request (an IPv6 address for a bare header) */
	if (n == 0 || stun_parse(out, n, &r) < 0 || memcmp(r.tid, m.tid, STUN_TID_LEN) != 0 ||
	    r.has_fingerprint != m.has_fingerprint || 10 * n > 22 * size)
		abort();
	if (m.nunknown == 0 &&
	    (!r.has_mapped ||
	     memcmp(&((struct sockaddr_in6 *)&r.mapped)->sin6_addr, &from.sin6_addr, 16) != 0))
		abort();
	return 0;
}
