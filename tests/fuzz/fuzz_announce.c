/* Fuzzes what super nodes send bootstrapd: announce bodies (with and without
 * private addresses allowed) and heartbeats, and the JSON stored from an
 * accepted announce. */
#include "bootstrapd_proto.h"
#include "log.h"

#include <jansson.h>
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

/* The stored list must read back as naddrs {"host", "port"} objects in order. */
static void check_addrs_json(const struct announce *a)
{
	char *s = announce_addrs_json(a);
	json_error_t jerr;
	json_t *list, *v;
	size_t i;

	if (s == NULL)
		abort();
	list = json_loads(s, JSON_REJECT_DUPLICATES, &jerr);
	if (list == NULL || !json_is_array(list) || json_array_size(list) != (size_t)a->naddrs)
		abort();
	json_array_foreach (list, i, v) {
		json_t *host = json_object_get(v, "host");
		json_t *port = json_object_get(v, "port");
		if (!json_is_object(v) || json_object_size(v) != 2 || !json_is_string(host) ||
		    !json_is_integer(port) ||
		    strcmp(json_string_value(host), a->addrs[i].host) != 0 ||
		    json_integer_value(port) != a->addrs[i].port)
			abort();
	}
	json_decref(list);
	free(s);
}

static void check_accepted(const struct announce *a, int allow_private)
{
	if (a->naddrs < 1 || a->naddrs > SN_ADDRS_MAX || a->load < 0 || a->load > SN_LOAD_MAX)
		abort();
	for (int i = 0; i < a->naddrs; i++) {
		if (a->addrs[i].port == 0 || memchr(a->addrs[i].host, '\0', 64) == NULL)
			abort();
		if (!allow_private && !ip_is_public(a->addrs[i].host))
			abort();
	}
	check_addrs_json(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct announce pub, any;
	char err[256];
	int64_t load;
	int rc_pub, rc_any;

	rc_pub = announce_parse(data, size, 0, &pub, err, sizeof(err));
	if (rc_pub == 0)
		check_accepted(&pub, 0);
	rc_any = announce_parse(data, size, 1, &any, err, sizeof(err));
	if (rc_any == 0)
		check_accepted(&any, 1);
	/* Allowing private addresses only ever accepts more. */
	if (rc_pub == 0 && (rc_any != 0 || memcmp(&pub, &any, sizeof(pub)) != 0))
		abort();
	if (heartbeat_parse(data, size, &load, err, sizeof(err)) == 0 &&
	    (load < 0 || load > SN_LOAD_MAX))
		abort();
	return 0;
}
