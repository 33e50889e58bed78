/* The CA of an ad-hoc overlay, derived from its join code: "logind --init"
 * with [logind] join_code_file builds it instead of a random one. */
#include "logind_adhoc.h"

#include "adhoc.h"
#include "logind_x509.h"
#include "util.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

int adhoc_ca_derive(const char *code, const char *overlay, EVP_PKEY **key, X509 **cert, char *err,
		    size_t errlen)
{
	char norm[ADHOC_CODE_MAX + 1], serial[33];
	uint8_t seed[ADHOC_SEED_LEN];
	struct cert_spec s = {0};

	*key = NULL;
	*cert = NULL;
	if (adhoc_code_normalize(code, norm, sizeof(norm), err, errlen) < 0)
		return -1;
	if (adhoc_seed(norm, seed) < 0 || (*key = adhoc_ca_key(seed)) == NULL) {
		err_set(err, errlen, "cannot derive the CA key from the join code");
		goto fail;
	}
	adhoc_ca_serial(seed, serial);
	s.pubkey = *key;
	s.serial_hex = serial;
	s.overlay = overlay;
	s.name = "overlay CA";
	s.is_ca = 1;
	s.not_before = ADHOC_CA_NOT_BEFORE;
	s.not_after = ADHOC_CA_NOT_AFTER;
	*cert = x509_build(&s, *key, NULL, err, errlen);
	if (*cert == NULL)
		goto fail;
	OPENSSL_cleanse(norm, sizeof(norm));
	OPENSSL_cleanse(seed, sizeof(seed));
	return 0;
fail:
	OPENSSL_cleanse(norm, sizeof(norm));
	OPENSSL_cleanse(seed, sizeof(seed));
	EVP_PKEY_free(*key);
	*key = NULL;
	return -1;
}

int adhoc_ca_from_file(const char *path, const char *overlay, EVP_PKEY **key, X509 **cert,
		       char *err, size_t errlen)
{
	size_t len = 0;
	char *text = file_read(path, ADHOC_CODE_FILE_MAX, &len, err, errlen);
	int rc;

	if (text == NULL)
		return -1;
	text[strcspn(text, "\r\n")] = '\0';
	rc = adhoc_ca_derive(text, overlay, key, cert, err, errlen);
	OPENSSL_cleanse(text, len);
	free(text);
	return rc;
}
