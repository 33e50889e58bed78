/* Fuzzes what super nodes read from each other's frames: the envelope of a
 * routed request (route_envelope_check) and node descriptors and lists of
 * them (node_from_json, nodes_from_json), on the whole message and on its
 * "req" member. */
#include "log.h"
#include "supernode.h"
#include "util.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE_TTL_MAX 32 /* sn_route.c's ROUTE_TTL */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

/* What an accepted envelope promises route_run. */
static void check_envelope(const json_t *msg)
{
	const char *dest = json_string_value(json_object_get(msg, "dest"));
	const char *mode = json_string_value(json_object_get(msg, "mode"));
	json_t *hops = json_object_get(msg, "hops"), *ttl = json_object_get(msg, "ttl");
	json_t *path = json_object_get(msg, "path");
	struct rid r;

	if (!json_is_object(msg) || dest == NULL || rid_parse(dest, &r) < 0 || mode == NULL ||
	    (strcmp(mode, "res") != 0 && strcmp(mode, "node") != 0))
		abort();
	if (!json_is_integer(hops) || json_integer_value(hops) < 0 ||
	    json_integer_value(hops) > ROUTE_TTL_MAX || !json_is_integer(ttl) ||
	    json_integer_value(ttl) < 0 || json_integer_value(ttl) > ROUTE_TTL_MAX)
		abort();
	if (!json_is_object(json_object_get(msg, "req")))
		abort();
	if (path != NULL && (!json_is_array(path) || json_array_size(path) > ROUTE_TTL_MAX))
		abort();
}

/* An accepted node is usable as is and reads back the same from its JSON. */
static void check_node(const struct node *n)
{
	struct node back;
	json_t *j;

	if (n->port == 0 || memchr(n->host, '\0', sizeof(n->host)) == NULL || !addr_is_ip(n->host))
		abort();
	j = node_to_json(n);
	if (j == NULL || node_from_json(j, &back) < 0 || memcmp(n, &back, sizeof(back)) != 0)
		abort();
	json_decref(j);
}

static void nodes(const json_t *j)
{
	struct node n, list[SUCC_MAX + 1];
	int k;

	if (node_from_json(j, &n) == 0)
		check_node(&n);
	/* One slot more than asked for: it must stay untouched. */
	memset(&list[SUCC_MAX], 0xa5, sizeof(list[SUCC_MAX]));
	k = nodes_from_json(j, list, SUCC_MAX);
	if (k < -1 || k > SUCC_MAX || (k == -1 && json_is_array(j)) ||
	    (k >= 0 && !json_is_array(j)))
		abort();
	for (int i = 0; i < k; i++)
		check_node(&list[i]);
	for (size_t b = 0; b < sizeof(list[SUCC_MAX]); b++)
		if (((const uint8_t *)&list[SUCC_MAX])[b] != 0xa5)
			abort();
	if (nodes_from_json(j, list, 0) > 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size,
			       JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, NULL);
	char err[256] = "";

	if (j == NULL)
		return 0;
	if (route_envelope_check(j, err, sizeof(err)) == 0) {
		if (err[0] != '\0')
			abort();
		check_envelope(j);
	} else if (err[0] == '\0') {
		abort(); /* a refusal always says why */
	}
	if (route_envelope_check(j, NULL, 0) == 0)
		check_envelope(j);
	nodes(j);
	if (json_is_object(j)) {
		/* Where descriptors travel: a request, a neighbours reply. */
		static const char *const keys[] = {"req", "succs", "pred", "node", NULL};
		for (int i = 0; keys[i] != NULL; i++) {
			json_t *m = json_object_get(j, keys[i]);
			if (m != NULL)
				nodes(m);
		}
	}
	json_decref(j);
	return 0;
}
