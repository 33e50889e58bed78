/* Fuzzes CRLs as bootstrapd serves them and logind publishes them
 * (crl_parse, DER or PEM, verified with the overlay CA of fuzz_ca.h): what
 * an accepted CRL promises, that its DER and PEM forms read back the same,
 * and look-ups by serial. */
#include "crl.h"
#include "fuzz_ca.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509 *ca;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	ca = fuzz_ca();
	return 0;
}

static void check_same(const struct crl *a, const struct crl *b)
{
	if (b == NULL || a->der_len != b->der_len || memcmp(a->der, b->der, a->der_len) != 0 ||
	    a->number != b->number || a->count != b->count || a->last_update != b->last_update ||
	    a->next_update != b->next_update)
		abort();
}

/* Every listed serial is found revoked, by ASN1_INTEGER and by hex. */
static void check_lookups(const struct crl *c)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(c->x);

	for (int i = 0; i < sk_X509_REVOKED_num(revs) && i < 8; i++) {
		const ASN1_INTEGER *s =
			X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revs, i));
		BIGNUM *bn = ASN1_INTEGER_to_BN(s, NULL);
		char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
		if (crl_is_revoked(c, s) != 1)
			abort();
		/* Negative serials have no hex form the look-up takes. */
		if (hex != NULL && hex[0] != '-' && crl_is_revoked_hex(c, hex) != 1)
			abort();
		OPENSSL_free(hex);
		BN_free(bn);
	}
	(void)crl_is_revoked_hex(c, "5");
	(void)crl_is_revoked_hex(c, "");
}

static void check_accepted(const struct crl *c)
{
	char err[256] = "";
	struct crl *back;
	char *pem;

	if (c->count < 0 || c->der == NULL || c->der_len == 0 || c->der_len > CRL_MAX ||
	    c->x == NULL)
		abort();
	back = crl_parse(c->der, c->der_len, ca, err, sizeof(err));
	check_same(c, back);
	crl_free(back);
	pem = crl_to_pem(c);
	if (pem == NULL)
		abort();
	back = crl_parse((const uint8_t *)pem, strlen(pem), ca, err, sizeof(err));
	check_same(c, back);
	crl_free(back);
	free(pem);
	check_lookups(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256] = "";
	struct crl *c = crl_parse(data, size, ca, err, sizeof(err));

	if (c != NULL)
		check_accepted(c);
	else if (err[0] == '\0')
		abort(); /* a refusal always says why */
	crl_free(c);
	return 0;
}
