/* Fuzzes admin requests as they arrive on logind's admin socket: a JSON
 * object per frame, handed to admin_req_parse. */
#include "log.h"
#include "logind_proto.h"

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

/* What an accepted request promises the admin handlers. */
static void check_accepted(const struct admin_req *r)
{
	if (r->json == NULL || r->ndns < 0 || r->ndns > SAN_MAX || r->nips < 0 || r->nips > SAN_MAX)
		abort();
	for (int i = 0; i < r->ndns; i++)
		if (r->dns[i] == NULL)
			abort();
	for (int i = 0; i < r->nips; i++)
		if (r->ips[i] == NULL)
			abort();
	switch (r->op) {
	case ADMIN_USER_ADD:
	case ADMIN_USER_PASSWD:
		if (r->name[0] == '\0' || r->password == NULL ||
		    strlen(r->password) != r->password_len)
			abort();
		break;
	case ADMIN_USER_DEL:
	case ADMIN_USER_DISABLE:
	case ADMIN_USER_ENABLE:
		if (r->name[0] == '\0')
			abort();
		break;
	case ADMIN_CERT_REVOKE:
		if (r->serial[0] == '\0')
			abort();
		break;
	case ADMIN_CERT_ISSUE_SERVER:
		if (r->csr == NULL || r->ndns < 1)
			abort();
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	struct admin_req r;
	char err[256];

	if (j == NULL)
		return 0;
	if (json_is_object(j)) {
		if (admin_req_parse(j, &r, err, sizeof(err)) == 0)
			check_accepted(&r);
		admin_req_clear(&r);
	}
	json_decref(j);
	return 0;
}
