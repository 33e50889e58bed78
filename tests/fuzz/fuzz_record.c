/* Fuzzes the wire form of stored values (record_from_json): what an accepted
 * value promises, and that it survives record_to_json and the text of a
 * frame unchanged. Signatures are checked for crashes only. */
#include "log.h"
#include "record.h"

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

static void check_accepted(const struct record *r)
{
	struct rid res;
	size_t nl = strnlen(r->name, sizeof(r->name)), kl = strnlen(r->kind, sizeof(r->kind));

	if (nl == 0 || nl > RECORD_NAME_MAX || kl == 0 || kl > RECORD_KIND_MAX)
		abort();
	if (r->data == NULL || r->data_len > RECORD_DATA_HARD_MAX || strlen(r->data) != r->data_len)
		abort();
	if (r->cert == NULL || r->sig_len == 0 || r->sig_len > SIG_MAX)
		abort();
	rid_of_name(r->name, &res);
	if (!rid_eq(&res, &r->res))
		abort();
}

static int same_cert(X509 *a, X509 *b)
{
	unsigned char *da = NULL, *db = NULL;
	int na = i2d_X509(a, &da), nb = i2d_X509(b, &db);
	int same = na > 0 && na == nb && memcmp(da, db, (size_t)na) == 0;

	OPENSSL_free(da);
	OPENSSL_free(db);
	return same;
}

static void check_same(const struct record *a, const struct record *b)
{
	if (strcmp(a->name, b->name) != 0 || strcmp(a->kind, b->kind) != 0 ||
	    !rid_eq(&a->res, &b->res) || a->data_len != b->data_len ||
	    memcmp(a->data, b->data, a->data_len) != 0 || a->stored != b->stored ||
	    a->life != b->life || (a->deleted != 0) != (b->deleted != 0) ||
	    !rid_eq(&a->owner, &b->owner) || a->sig_len != b->sig_len ||
	    memcmp(a->sig, b->sig, a->sig_len) != 0 || !same_cert(a->cert, b->cert))
		abort();
}

/* r rendered and read back, as an object and as the text a frame carries. */
static void check_round_trip(const struct record *r)
{
	struct record back, copy;
	char err[256] = "";
	json_t *j = record_to_json(r), *again;
	char *text;

	if (j == NULL)
		abort();
	if (record_from_json(j, &back, err, sizeof(err)) < 0)
		abort();
	check_same(r, &back);
	record_clear(&back);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (text == NULL)
		abort();
	again = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if (again == NULL || record_from_json(again, &back, err, sizeof(err)) < 0)
		abort();
	json_decref(again);
	check_same(r, &back);
	record_clear(&back);
	if (record_copy(&copy, r) < 0)
		abort();
	check_same(r, &copy);
	record_clear(&copy);
}

static void one(const json_t *j)
{
	struct record r;
	char err[256] = "";

	if (record_from_json(j, &r, err, sizeof(err)) == 0) {
		check_accepted(&r);
		check_round_trip(&r);
		(void)record_sig_ok(&r);
		(void)record_access_ok(&r, "overlay.example", err, sizeof(err));
		(void)record_is_expired(&r, now_ms());
	} else if (err[0] == '\0') {
		abort(); /* a refusal always says why */
	}
	record_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size,
			       JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, NULL);

	if (j == NULL)
		return 0;
	one(j);
	/* Values travel inside messages: {"value": {...}} and {"values": [...]}. */
	if (json_is_object(j)) {
		json_t *v = json_object_get(j, "value"), *e;
		size_t i;
		if (v != NULL)
			one(v);
		json_array_foreach (json_object_get(j, "values"), i, e)
			if (i < 8)
				one(e);
	}
	json_decref(j);
	return 0;
}
