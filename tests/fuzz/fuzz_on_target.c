/* Fuzzes where the ordinary node's proxy sends a request, on bytes parsed
 * as SIP the way a "msg" frame from the overlay is: whatever the Routes and
 * Request-URI say, the target is one of the kinds, a node target names two
 * Node-IDs, a user target a user that fits, a refusal 403 or 404; and the
 * forwarded copy of what parsed can be built and printed again. */
#include "log.h"
#include "on.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct on_self self = {"00112233445566778899aabbccddeeff",
				    "127.0.0.1:5060",
				    "overlay.example",
				    "alice",
				    "0123456789abcdef0123456789abcdef",
				    "192.0.2.1",
				    7000,
				    "127.0.0.1:5061",
				    0};

static const struct on_self gw = {"00112233445566778899aabbccddeeff",
				  "127.0.0.1:5060",
				  "overlay.example",
				  "gw1",
				  "0123456789abcdef0123456789abcdef",
				  "192.0.2.1",
				  7000,
				  "",
				  1};

static int contacts(void *arg, const char *user, struct on_contact *out, int max)
{
	(void)arg, (void)out, (void)max;
	return strcmp(user, "alice") == 0 ? 0 : -1;
}

static int find(void *arg, const url_t *u, struct on_contact *out)
{
	(void)arg;
	if (u->url_host == NULL || strcmp(u->url_host, "192.0.2.50") != 0)
		return -1;
	out->uri = "sip:alice@192.0.2.50";
	out->dest = "sip:192.0.2.50:5060;transport=udp";
	out->tp = "udp";
	return 0;
}

static const struct on_bindings view = {NULL, contacts, find, NULL, NULL};
static struct on_dialogs *dlgs; /* call "c1" with alice's phone at 192.0.2.51 */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	dlgs = on_dialogs_new();
	on_dialogs_learn(dlgs, "c1", "sip:alice@192.0.2.51", "sip:192.0.2.51:5060;transport=udp",
			 0);
	return 0;
}

static void check(const struct on_target *t)
{
	switch (t->kind) {
	case ON_T_NODE:
		if (!on_is_hex_id(t->to) || !on_is_hex_id(t->sn))
			abort();
		break;
	case ON_T_USER:
		if (t->user[0] == '\0' || strlen(t->user) >= sizeof(t->user))
			abort();
		break;
	case ON_T_ERROR:
		if (t->status != 403 && t->status != 404)
			abort();
		break;
	case ON_T_FOREIGN:
		if (t->domain[0] == '\0' || strlen(t->domain) >= sizeof(t->domain))
			abort();
		for (const char *c = t->domain; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				abort();
		break;
	case ON_T_SELF:
	case ON_T_LOCAL:
		break;
	default:
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msg_t *m = msg_make(sip_default_mclass(), 0, (const char *)data, size);
	sip_t *sip = m != NULL ? sip_object(m) : NULL;
	struct on_target t;
	msg_t *f;
	size_t len;

	if (sip == NULL || sip->sip_error != NULL || sip->sip_request == NULL ||
	    sip->sip_via == NULL || sip->sip_to == NULL) {
		if (m != NULL)
			msg_destroy(m);
		return 0;
	}
	for (int from_overlay = 0; from_overlay < 2; from_overlay++) {
		on_target_of(&self, &view, dlgs, sip, from_overlay, &t);
		check(&t);
		on_target_of(&gw, &view, dlgs, sip, from_overlay, &t); /* the gateway mode */
		check(&t);
		if (t.kind == ON_T_FOREIGN && !from_overlay)
			abort(); /* a gateway never sends the SIP world's requests out again */
	}
	(void)on_target_from_account(&self, &view, sip);
	for (const sip_via_t *v = sip->sip_via; v != NULL; v = v->v_next)
		(void)on_via_is_ours(&self, v);
	f = on_msg_forward(&self, m, 1, "udp", "tcp");
	if (f != NULL) {
		(void)on_msg_text(f, &len);
		msg_destroy(f);
	}
	msg_destroy(m);
	return 0;
}
