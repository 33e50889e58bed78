/* Fuzzes the SDP parser and rewriter as the ordinary node uses them on
 * bodies from phones and from the overlay: whatever parses is rewritten,
 * and the rewritten body parses again with the same streams, the new
 * address and the new ports. */
#include "log.h"
#include "sdp.h"

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
	struct sdp a, b;
	uint16_t ports[SDP_MEDIA_MAX];
	size_t n;
	char *out;

	if (sdp_parse((const char *)data, size, &a, NULL, 0) < 0)
		return 0;
	for (int i = 0; i < SDP_MEDIA_MAX; i++)
		ports[i] = (uint16_t)(20000 + 2 * i);
	out = sdp_rewrite((const char *)data, size, "203.0.113.5", ports, SDP_MEDIA_MAX, &n);
	if (out == NULL)
		return 0; /* e.g. "m=audio 5/2" without a protocol */
	if (sdp_parse(out, n, &b, NULL, 0) < 0 || b.nmedia != a.nmedia)
		abort();
	for (int i = 0; i < b.nmedia; i++)
		if ((a.m[i].port != 0) != (b.m[i].port != 0) ||
		    (b.m[i].port != 0 && (b.m[i].port != ports[i] || strcmp(b.m[i].addr, "203.0.113.5") != 0)))
			abort();
	free(out);
	return 0;
}
