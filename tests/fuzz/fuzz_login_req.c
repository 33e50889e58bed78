/* Fuzzes the bodies of POST /v1/login and /v1/renew, with and without
 * Ed25519 keys allowed. */
#include "log.h"
#include "logind_proto.h"

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

/* What an accepted request promises the handlers. */
static void check_accepted(const struct login_req *r, int with_user)
{
	if (r->csr == NULL || r->pubkey == NULL)
		abort();
	if (with_user &&
	    (r->password == NULL || r->user[0] == '\0' || strlen(r->password) != r->password_len))
		abort();
	if (!with_user && (r->password != NULL || r->user[0] != '\0'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct login_req r;
	char err[256] = "";

	for (int ed = 0; ed <= 1; ed++) {
		if (login_req_parse(data, size, ed, &r, err, sizeof(err)) == 0)
			check_accepted(&r, 1);
		else if (err[0] == '\0')
			abort(); /* a refusal always says why */
		login_req_clear(&r);
		err[0] = '\0';
		if (renew_req_parse(data, size, ed, &r, err, sizeof(err)) == 0)
			check_accepted(&r, 0);
		else if (err[0] == '\0')
			abort();
		login_req_clear(&r);
		err[0] = '\0';
	}
	return 0;
}
