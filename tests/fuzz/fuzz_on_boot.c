/* Fuzzes the ordinary node's parsers of bootstrapd's answers with the same
 * bytes: a configuration is taken only with both strings, and every super
 * node address taken is a literal IP with a usable port, never more than
 * asked for. */
#include "log.h"
#include "on.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>

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
	struct on_boot_config c;
	struct sn_addr a[ON_RESERVE_MAX];
	int max = size > 0 ? data[0] % (ON_RESERVE_MAX + 1) : ON_RESERVE_MAX;
	int n;

	if (on_boot_parse_config(data, size, &c) == 0 &&
	    (c.overlay == NULL || c.logind_url == NULL))
		abort();
	on_boot_config_clear(&c);
	n = on_boot_parse_list(data, size, a, max);
	if (n < 0 || n > max)
		abort();
	for (int i = 0; i < n; i++)
		if (a[i].port == 0 || !addr_is_ip(a[i].host))
			abort();
	return 0;
}
