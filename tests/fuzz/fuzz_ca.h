/* The overlay CA the CRL seeds of tests/fuzz/seeds/crl and seeds/bootc are
 * signed with (its key was thrown away), so that fuzzing reaches past the
 * signature check. Included by fuzz_crl.c and fuzz_bootc.c. */
#ifndef P2PSIP_FUZZ_CA_H
#define P2PSIP_FUZZ_CA_H

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

static const char fuzz_ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBtjCCAVugAwIBAgIUaLCX4qJlWy0RnUeYA/JJup1+XnswCgYIKoZIzj0EAwIw\n"
	"LzEYMBYGA1UECgwPb3ZlcmxheS5leGFtcGxlMRMwEQYDVQQDDApvdmVybGF5IENB\n"
	"MCAXDTI2MTIwNjA1NDMxM1oYDzIxMjYxMTEyMDU0MzEzWjAvMRgwFgYDVQQKDA9v\n"
	"dmVybGF5LmV4YW1wbGUxEzARBgNVBAMMCm92ZXJsYXkgQ0EwWTATBgcqhkjOPQIB\n"
	"BggqhkjOPQMBBwNCAATiRvKKG4qjV8KLYheRb8anrl5A7OeiTsMR65GNgSWpuGVZ\n"
	"KBOCvQwREOWh1+4++D2WLmmVxG3FL3vRp4SgWDBzo1MwUTAdBgNVHQ4EFgQUxYxt\n"
	"Y7LbS6u0QfduYkGzU/A9J5YwHwYDVR0jBBgwFoAUxYxtY7LbS6u0QfduYkGzU/A9\n"
	"J5YwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA7VV+GdNC4gQE\n"
	"CWPEMKxq3F3T8SPbLgUHGSsH5Z0bweQCIQC078FCaYpKnUm+4VMmOM46amljQoMD\n"
	"T1HPY4v+q2jiEA==\n"
	"-----END CERTIFICATE-----\n";

static X509 *fuzz_ca(void)
{
	BIO *b = BIO_new_mem_buf(fuzz_ca_pem, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (x == NULL)
		abort();
	return x;
}

#endif
