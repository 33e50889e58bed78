/* Fuzzes the phones' digest credentials: the parser on raw bytes (a parsed
 * result has every required field, each within its buffer), and the whole
 * check on a REGISTER and an INVITE carrying the bytes as Authorization and
 * Proxy-Authorization: an answer of 0, 400, 401, 403 or 407, never a crash. */
#include "log.h"
#include "on.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sofia-sip/sip_header.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct on_auth *table;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct on_auth_params p = {
		"overlay.example", 3, {ON_DIGEST_SHA256, ON_DIGEST_MD5}, 2, 300, 600, 600, 5};
	struct on_auth_user u[1] = {{"alice", "secret"}};

	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	table = on_auth_new(&p, u, 1);
	return table != NULL ? 0 : -1;
}

static void check(const char *method, const char *hdr, const uint8_t *data, size_t size)
{
	char buf[ON_DIGEST_TEXT_MAX + 512];
	struct on_auth_result r;
	msg_t *m;
	int n = snprintf(
		buf, sizeof(buf),
		"%s sip:overlay.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
		"From: <sip:alice@overlay.example>;tag=1\r\nTo: <sip:alice@overlay.example>\r\n"
		"Call-ID: f\r\nCSeq: 1 %s\r\n%s: %.*s\r\nContent-Length: 0\r\n\r\n",
		method, method, hdr, (int)size, (const char *)data);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	m = msg_make(sip_default_mclass(), 0, buf, (size_t)n);
	if (m == NULL)
		return;
	if (sip_object(m) != NULL && sip_object(m)->sip_request != NULL) {
		int st = on_auth_check(table, sip_object(m), "192.0.2.1", 1000, &r);
		if (st != 0 && st != 400 && st != 401 && st != 403 && st != 407)
			abort();
	}
	msg_destroy(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct on_digest d;

	if (on_digest_parse(data, size, &d) == 0) {
		if (d.username[0] == '\0' || d.realm[0] == '\0' || d.nonce[0] == '\0' ||
		    d.uri[0] == '\0' || d.response[0] == '\0' ||
		    strlen(d.username) >= sizeof(d.username) || strlen(d.uri) >= sizeof(d.uri))
			abort();
	}
	if (size < ON_DIGEST_TEXT_MAX && memchr(data, '\r', size) == NULL &&
	    memchr(data, '\n', size) == NULL && memchr(data, '\0', size) == NULL) {
		check("REGISTER", "Authorization", data, size);
		check("INVITE", "Proxy-Authorization", data, size);
	}
	return 0;
}
