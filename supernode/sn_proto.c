/* Node descriptors and lists of them in JSON: {"id", "host", "port"}. */
#include "supernode.h"

#include "jsonx.h"
#include "util.h"

#include <string.h>

json_t *node_to_json(const struct node *n)
{
	char hex[RID_HEX_LEN + 1];

	rid_hex(&n->id, hex);
	return json_pack("{s:s,s:s,s:i}", "id", hex, "host", n->host, "port", n->port);
}

int node_from_json(const json_t *j, struct node *n)
{
	const char *id = NULL, *host = NULL;
	int64_t port = 0;

	memset(n, 0, sizeof(*n));
	if (!json_is_object(j) || jx_str(j, "id", RID_HEX_LEN, JX_REQUIRED, &id, NULL, 0) < 0 ||
	    jx_str(j, "host", sizeof(n->host) - 1, JX_REQUIRED, &host, NULL, 0) < 0 ||
	    jx_int(j, "port", 1, 65535, JX_REQUIRED, &port, NULL, 0) < 0 ||
	    rid_parse(id, &n->id) < 0 || !addr_is_ip(host))
		return -1;
	str_copy(n->host, host, sizeof(n->host));
	n->port = (uint16_t)port;
	return 0;
}

json_t *nodes_to_json(const struct node *list, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, node_to_json(&list[i]));
	return a;
}

int nodes_from_json(const json_t *j, struct node *list, int max)
{
	size_t i;
	json_t *v;
	int n = 0;

	if (!json_is_array(j))
		return -1;
	json_array_foreach(j, i, v) {
		if (n == max)
			break;
		if (node_from_json(v, &list[n]) == 0)
			n++;
	}
	return n;
}
