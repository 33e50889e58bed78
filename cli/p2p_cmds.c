/* p2psip: the overlay commands that attach (put, rm, get, ping, route, ring,
 * send, listen, whoami) and sign and seal, which only need our key. */
#include "p2p.h"

#include "certcheck.h"
#include "identity.h"
#include "record.h"
#include "seal.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put_record(const char *name, const char *data, int del)
{
	struct record r;
	json_t *reply;

	if (record_init(&r, name, C.kind, data, now_ms(), (uint32_t)C.lifetime, del) < 0)
		die(2, "NAME must be printable ASCII of at most %d bytes", RECORD_NAME_MAX);
	if (record_sign(&r, C.pkey, C.x509) < 0)
		die(1, "cannot sign");
	reply = request_ok(json_pack("{s:s,s:o}", "t", "store", "val", record_to_json(&r)));
	record_clear(&r);
	if (C.json)
		print_json(reply);
	else
		printf("%s %s (%lld hops)\n", del ? "removed" : "stored", name,
		       (long long)json_integer_value(json_object_get(reply, "hops")));
	json_decref(reply);
	return 0;
}

int cmd_put(int argc, char **argv)
{
	(void)argc;
	return put_record(argv[0], argv[1], 0);
}

int cmd_rm(int argc, char **argv)
{
	(void)argc;
	return put_record(argv[0], "", 1);
}

/* Checks a fetched value as fully as a node must: the super node that
 * returned it is not trusted. */
static int check_value(json_t *v, const char *name, struct certcheck *cc, struct record *r,
		       char *why, size_t len)
{
	if (record_from_json(v, r, why, len) < 0)
		return -1;
	if (strcmp(r->name, name) != 0) {
		err_set(why, len, "value for another name (%s)", r->name);
		return -1;
	}
	/* The signer's certificate must have been valid when it signed: values
	 * may outlive the day a certificate lasts. */
	if (certcheck_record(cc, r, C.overlay, why, len) < 0)
		return -1;
	if (record_is_expired(r, now_ms())) {
		err_set(why, len, "expired");
		return -1;
	}
	return 0;
}

static int get_name(const char *name)
{
	json_t *reply = request_ok(json_pack("{s:s,s:s}", "t", "fetch", "name", name));
	json_t *vals = json_object_get(reply, "vals"), *v, *out = json_array();
	struct certcheck *cc = certcheck_new(C.cax);
	int bad = 0, good = 0;
	size_t i;

	certcheck_set_crl(cc, C.crl);
	json_array_foreach (vals, i, v) {
		struct record r;
		char why[256], owner[RID_HEX_LEN + 1], signer[NAME_MAX_LEN + 1] = "?";
		if (check_value(v, name, cc, &r, why, sizeof(why)) < 0) {
			fprintf(stderr, "p2psip: INVALID value dropped: %s\n", why);
			bad++;
			record_clear(&r);
			continue;
		}
		good++;
		rid_hex(&r.owner, owner);
		cert_name(r.cert, signer, sizeof(signer));
		json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "owner", owner,
						     "signer", signer, "kind", r.kind, "data",
						     r.data, "stored", (json_int_t)r.stored,
						     "expires", (json_int_t)record_expires_ms(&r)));
		if (!C.json)
			printf("%s  %s  %s  %s\n", owner, signer, r.kind, r.data);
		record_clear(&r);
	}
	if (C.json) {
		json_t *o = json_pack("{s:s,s:o,s:O,s:i}", "name", name, "values", out, "hops",
				      json_object_get(reply, "hops"), "invalid", bad);
		char *line = json_dumps(o, JSON_COMPACT);
		puts(line);
		free(line);
		json_decref(o);
	} else {
		json_decref(out);
	}
	certcheck_free(cc);
	json_decref(reply);
	if (bad > 0)
		return 1;
	if (good == 0) {
		if (!C.json)
			fprintf(stderr, "p2psip: nothing stored under %s\n", name);
		return EXIT_NOTFOUND;
	}
	return 0;
}

/* Several names over one link: the worst outcome decides. */
int cmd_get(int argc, char **argv)
{
	int rc = 0;

	for (int i = 0; i < argc; i++) {
		int r = get_name(argv[i]);
		if (r == 1 || (r == EXIT_NOTFOUND && rc == 0))
			rc = r;
	}
	return rc;
}

int cmd_ping(int argc, char **argv)
{
	const char *node = argc == 1 ? argv[0] : NULL;
	json_t *msg = json_pack("{s:s}", "t", "ping");
	uint64_t t0 = time_mono_us();
	json_t *reply;

	if (node != NULL && strcmp(node, "self") != 0)
		json_object_set_new(msg, "node", json_string(node));
	reply = request_ok(msg);
	if (C.json) {
		json_object_set_new(reply, "rtt_us",
				    json_integer((json_int_t)(time_mono_us() - t0)));
		print_json(reply);
	} else {
		json_t *n = json_object_get(reply, "node");
		printf("%s at %s:%lld: %.2f ms, %lld hops\n",
		       json_string_value(json_object_get(n, "id")),
		       json_string_value(json_object_get(n, "host")),
		       (long long)json_integer_value(json_object_get(n, "port")),
		       (double)(time_mono_us() - t0) / 1000.0,
		       (long long)json_integer_value(json_object_get(reply, "hops")));
	}
	json_decref(reply);
	return 0;
}

int cmd_route(int argc, char **argv)
{
	const char *name = argv[0];
	json_t *reply = request_ok(json_pack("{s:s,s:s}", "t", "route", "name", name));
	json_t *path = json_object_get(reply, "path"), *v;
	struct rid res;
	char hex[RID_HEX_LEN + 1];
	size_t i;

	(void)argc;
	rid_of_name(name, &res);
	rid_hex(&res, hex);
	if (C.json) {
		json_object_set_new(reply, "resource_id", json_string(hex));
		print_json(reply);
	} else {
		printf("%s (Resource-ID %s): %lld hops\n", name, hex,
		       (long long)json_integer_value(json_object_get(reply, "hops")));
		json_array_foreach (path, i, v)
			printf("  %zu  %s\n", i, json_string_value(v));
	}
	json_decref(reply);
	return 0;
}

/* Walks the successors from the attached super node until the walk comes
 * back to where it started. */
int cmd_ring(int argc, char **argv)
{
	json_t *cur = request_ok(json_pack("{s:s}", "t", "neighbors"));
	json_t *out = json_array();
	char start[RID_HEX_LEN + 1];
	int n = 0;

	(void)argc, (void)argv;
	str_copy(start,
		 json_string_value(json_object_get(json_object_get(cur, "node"), "id")) ?: "",
		 sizeof(start));
	for (;;) {
		json_t *node = json_object_get(cur, "node");
		json_t *succ = json_array_get(json_object_get(cur, "succs"), 0);
		const char *next = json_string_value(json_object_get(succ, "id"));
		if (!C.json)
			printf("%-32s  %s:%lld\n", json_string_value(json_object_get(node, "id")),
			       json_string_value(json_object_get(node, "host")),
			       (long long)json_integer_value(json_object_get(node, "port")));
		json_array_append(out, node);
		n++;
		if (next == NULL || strcmp(next, start) == 0 || n >= RING_MAX)
			break;
		json_t *msg = json_pack("{s:s,s:s}", "t", "neighbors", "node", next);
		json_decref(cur);
		cur = request_ok(msg);
	}
	json_decref(cur);
	if (C.json)
		print_json(json_pack("{s:i,s:o}", "size", n, "nodes", out));
	else {
		json_decref(out);
		printf("%d super nodes\n", n);
	}
	return 0;
}

int cmd_send(int argc, char **argv)
{
	json_t *msg = json_pack("{s:s,s:s,s:s}", "t", "send", "to", argv[0], "body", argv[1]);
	json_t *reply;

	(void)argc;
	if (C.via != NULL)
		json_object_set_new(msg, "sn", json_string(C.via));
	reply = request_ok(msg);
	if (C.json)
		print_json(reply);
	else
		printf("delivered (%lld hops)\n",
		       (long long)json_integer_value(json_object_get(reply, "hops")));
	json_decref(reply);
	return 0;
}

int cmd_listen(int argc, char **argv)
{
	struct timeval tv = {KEEPALIVE_SECS, 0};
	struct event *ka = event_new(C.base, -1, EV_PERSIST, on_keepalive, NULL);

	(void)argc, (void)argv;
	/* Attached and quiet: messages arrive through on_message. */
	if (!C.json)
		fprintf(stderr, "listening; Ctrl-C to stop\n");
	event_add(ka, &tv);
	while (C.link != NULL && (C.count == 0 || C.msgs < C.count))
		event_base_loop(C.base, EVLOOP_ONCE);
	event_free(ka);
	return C.link == NULL && (C.count == 0 || C.msgs < C.count) ? 1 : 0;
}

int cmd_whoami(int argc, char **argv)
{
	json_t *reply = request_ok(json_pack("{s:s}", "t", "ping"));
	uint8_t nid[NODE_ID_LEN];
	char hex[NODE_ID_HEX_LEN + 1];

	(void)argc, (void)argv;
	node_id_from_cert(C.x509, nid);
	node_id_hex(nid, hex);
	if (C.json)
		print_json(json_pack("{s:s,s:O}", "node_id", hex, "supernode",
				     json_object_get(reply, "node")));
	else
		printf("%s attached to %s\n", hex,
		       json_string_value(json_object_get(json_object_get(reply, "node"), "id")));
	json_decref(reply);
	return 0;
}

/* Prints a signed value without sending it: tests tamper with it. */
int cmd_sign(int argc, char **argv)
{
	const char *name = argv[0], *data = argv[1];
	struct record r;

	(void)argc;
	if (record_init(&r, name, C.kind, data, C.stored > 0 ? (uint64_t)C.stored : now_ms(),
			(uint32_t)C.lifetime, 0) < 0)
		die(2, "bad NAME or --kind");
	if (record_sign(&r, C.pkey, C.x509) < 0)
		die(1, "cannot sign");
	print_json(record_to_json(&r));
	record_clear(&r);
	return 0;
}

/* SIP text sealed as an ordinary node seals it (common/seal.h), from our
 * certificate to PEER-CERT, for node TO-NODE: the body of a "send" frame.
 * For tests that play a node of the overlay with the CLI. */
int cmd_seal(int argc, char **argv)
{
	char err[256], from[NODE_ID_HEX_LEN + 1], to[NODE_ID_HEX_LEN + 1], *txt;
	uint8_t id[NODE_ID_LEN];
	struct certcheck *cc;
	struct seal *s;
	json_t *env;
	X509 *peer;

	(void)argc;
	if ((peer = cert_read_pem(argv[0], err, sizeof(err))) == NULL)
		die(1, "%s", err);
	if (strlen(argv[1]) != NODE_ID_HEX_LEN || hex_decode(argv[1], id, sizeof(id)) < 0)
		die(2, "TO-NODE: a Node-ID in hex");
	node_id_hex(id, to);
	if (cert_overlay(C.x509, C.overlay, sizeof(C.overlay)) < 0 ||
	    node_id_from_cert(C.x509, id) < 0)
		die(1, "our certificate names no overlay");
	node_id_hex(id, from);
	cc = certcheck_new(C.cax);
	s = cc != NULL ? seal_new(cc, C.overlay, now_ms()) : NULL;
	if (s == NULL || seal_add_own(s, C.pkey, C.x509) < 0)
		die(1, "cannot seal with our key (P-256 only)");
	env = seal_close(s, C.x509, peer, from, to, (const uint8_t *)argv[2], strlen(argv[2]),
			 now_ms(), err, sizeof(err));
	if (env == NULL)
		die(1, "%s", err);
	txt = json_dumps(env, JSON_COMPACT);
	printf("%s\n", txt);
	free(txt);
	json_decref(env);
	seal_free(s);
	certcheck_free(cc);
	X509_free(peer);
	return 0;
}
