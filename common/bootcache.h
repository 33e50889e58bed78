/* What a node keeps of bootstrapd's answers so that it can start again while
 * bootstrapd is down: the overlay configuration written back in the form
 * bootstrapd sends it, and checked again on the way in as if it had just
 * come from the network (a cache row may be damaged or planted). Pure: the
 * programs' *_db.c files store the bytes. */
#ifndef P2PSIP_BOOTCACHE_H
#define P2PSIP_BOOTCACHE_H

#include "bootc.h"
#include "crl.h"

#include <openssl/x509.h>
#include <stddef.h>

/* Names of the cache rows. */
#define BOOTCACHE_CONFIG "config"
#define BOOTCACHE_CRL "crl"
#define BOOTCACHE_ROW_MAX CRL_MAX /* a larger row is not read */

/* The configuration as bootstrapd's /v1/config answer (malloc'd JSON text),
 * which bootcache_config reads back into the same struct. NULL when out of
 * memory. */
char *bootcache_config_dump(const struct bootc_config *c);
/* Reads a cached configuration of overlay (NULL: any) with the parser of
 * bootstrapd's answers. 0, or -1 with err saying why. */
int bootcache_config(const void *data, size_t len, const char *overlay, struct bootc_config *out,
		     char *err, size_t errlen);
/* Reads a cached CRL (DER) and verifies it against ca again: the caller's
 * to crl_free, or NULL with err saying why. */
struct crl *bootcache_crl(const void *data, size_t len, X509 *ca, char *err, size_t errlen);
/* The same for a row read from a node's database (data, malloc'd or NULL,
 * is freed), saying in the log which CRL is used or why the row is not. */
struct crl *bootcache_crl_row(void *data, size_t len, X509 *ca);

#endif
