/* Fuzzes the parsers of the frames attached nodes send their super node
 * (sn_proto.c): relay_alloc, relay_use, relay_free, media, and the client
 * requests store, fetch/route, ping/neighbors and send. Each parser gets
 * the whole message; what it accepts must keep its promises, and what it
 * refuses must say why. */
#include "log.h"
#include "record.h"
#include "sn_proto.h"

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

static char err[256];

/* rc of a parser that returns 0 or -1: a refusal says why. */
static int said(int rc)
{
	if (rc != 0 && (rc != -1 || err[0] == '\0'))
		abort();
	err[0] = '\0';
	return rc;
}

static int family_ok(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET || ss->ss_family == AF_INET6;
}

static void relay(const json_t *j)
{
	struct relay_alloc_req a;
	struct relay_use_req u;
	struct relay_free_req f;
	struct media_frame m;
	enum media_rc rc;

	if (said(relay_alloc_parse(j, &a, err, sizeof(err))) == 0 &&
	    (a.n < 1 || a.n > RELAY_ALLOC_MAX || (a.tunnel != 0 && a.tunnel != 1)))
		abort();
	if (said(relay_use_parse(j, &u, err, sizeof(err))) == 0 &&
	    ((!u.has_far && !u.has_near && !u.near_reset) || (u.has_far && !family_ok(&u.far)) ||
	     (u.has_rtcp && !family_ok(&u.rtcp)) || (u.has_near && !family_ok(&u.near)) ||
	     (u.has_near_rtcp && !family_ok(&u.near_rtcp))))
		abort();
	if (said(relay_free_parse(j, &f, err, sizeof(err))) == 0) {
		if (f.n < 0 || f.n > RELAY_FREE_MAX)
			abort();
		for (int i = 0; i < f.n; i++)
			if (f.ids[i] == 0)
				abort();
	}
	rc = media_frame_parse(j, &m, err, sizeof(err));
	if (rc == MEDIA_OK &&
	    (m.id == 0 || (m.ch != 0 && m.ch != 1) || m.len == 0 || m.len > MEDIA_PKT_MAX))
		abort();
	if (rc != MEDIA_OK && err[0] == '\0')
		abort();
	err[0] = '\0';
}

static void client(const json_t *j)
{
	struct client_store_req st;
	struct client_fetch_req fe;
	struct client_node_req no;
	struct client_send_req se;

	if (said(client_store_parse(j, &st, err, sizeof(err))) == 0 &&
	    (!json_is_object(st.val) || st.name == NULL || strlen(st.name) == 0 ||
	     strlen(st.name) > RECORD_NAME_MAX))
		abort();
	if (said(client_fetch_parse(j, &fe, err, sizeof(err))) == 0 &&
	    (fe.name == NULL || strlen(fe.name) == 0 || strlen(fe.name) > RECORD_NAME_MAX))
		abort();
	if (said(client_node_parse(j, &no, err, sizeof(err))) == 0 && no.has_node != 0 &&
	    no.has_node != 1)
		abort();
	if (said(client_send_parse(j, &se, err, sizeof(err))) == 0) {
		if (se.body == NULL || strlen(se.body) == 0 || strlen(se.body) > CLIENT_BODY_MAX)
			abort();
		if (se.has_at && (!rid_eq(&se.at.id, &se.via) ||
				  memchr(se.at.host, '\0', sizeof(se.at.host)) == NULL))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size,
			       JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, NULL);

	if (j == NULL)
		return 0;
	err[0] = '\0';
	relay(j);
	client(j);
	json_decref(j);
	return 0;
}
