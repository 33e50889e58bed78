/* Fuzzes topology hiding on bytes parsed as SIP: what comes from the
 * overlay (a Call-ID to map back, a Request-URI that may be one of our
 * tokens) and what leaves for it. Whatever the message, once hidden a
 * request has no Via, every Contact names the overlay, and the far node
 * parses a Call-ID of the hidden shape that maps back to the original. */
#include "log.h"
#include "on.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sip_header.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct on_self self = {"00112233445566778899AABBCCDDEEFF",
				    "127.0.0.1:5060",
				    "overlay.example",
				    "alice",
				    "0123456789abcdef0123456789abcdef",
				    "192.0.2.1",
				    7000,
				    "",
				    0};
static struct on_topo *topo;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	topo = on_topo_new();
	return topo != NULL ? 0 : -1;
}

/* m hidden: what the far node parses of it, and what comes back of the
 * Call-ID. */
static void check_hidden(msg_t *m, const char *cid)
{
	sip_t *sip = sip_object(m);
	msg_t *far;
	char *txt;
	size_t len;

	if (sip->sip_request != NULL && sip->sip_via != NULL)
		abort();
	for (const sip_contact_t *c = sip->sip_contact; c != NULL; c = c->m_next)
		if (c->m_url->url_host == NULL || strcasecmp(c->m_url->url_host, "overlay.example"))
			abort();
	if ((txt = on_msg_text(m, &len)) == NULL)
		abort();
	if (cid == NULL || (far = msg_make(sip_default_mclass(), 0, txt, len)) == NULL)
		return;
	sip = sip_object(far);
	if (sip->sip_call_id != NULL && sip->sip_error == NULL) {
		if (!on_topo_call_id_is_hidden(sip->sip_call_id->i_id))
			abort();
		on_topo_in(topo, &self, far, 1);
		if (strcmp(sip_object(far)->sip_call_id->i_id, cid) != 0 &&
		    !on_topo_call_id_is_hidden(cid))
			abort();
	}
	msg_destroy(far);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msg_t *m = msg_make(sip_default_mclass(), 0, (const char *)data, size);
	sip_t *sip = m != NULL ? sip_object(m) : NULL;
	msg_t *out;
	char *cid;

	if (sip == NULL || sip->sip_error != NULL ||
	    (sip->sip_request == NULL && sip->sip_status == NULL)) {
		if (m != NULL)
			msg_destroy(m);
		return 0;
	}
	out = msg_dup(m);
	on_topo_in(topo, &self, m, 0);
	if (out != NULL) {
		cid = sip_object(out)->sip_call_id != NULL
			      ? strdup(sip_object(out)->sip_call_id->i_id)
			      : NULL;
		if (on_topo_out(topo, &self, out, 0) == 0)
			check_hidden(out, cid);
		free(cid);
		msg_destroy(out);
	}
	msg_destroy(m);
	on_topo_expire(topo, NULL, 0, 1); /* bounded across runs */
	return 0;
}
