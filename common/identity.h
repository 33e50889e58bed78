/* Identities: keys and certificates, Node-IDs, and the role and name that an
 * overlay certificate carries (subject O=overlay, OU=role, CN=name). */
#ifndef P2PSIP_IDENTITY_H
#define P2PSIP_IDENTITY_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_ID_LEN 16 /* 128 bits */
#define NODE_ID_HEX_LEN (2 * NODE_ID_LEN)
#define SERIAL_HEX_MAX 64
#define ROLE_MAX 16
#define CERT_PEM_MAX (16 * 1024)
#define KEY_PEM_MAX (16 * 1024)

/* Roles a certificate of the overlay can carry. */
#define ROLE_USER "user"
#define ROLE_SUPERNODE "supernode"
#define ROLE_SERVER "server"
/* A user-like client that carries calls between the overlay and the public
 * SIP world: attaches as a user does, never joins the ring. */
#define ROLE_GATEWAY "gateway"

struct identity {
	EVP_PKEY *key;
	X509 *cert;
	uint8_t node_id[NODE_ID_LEN];
	char node_id_hex[NODE_ID_HEX_LEN + 1];
	char role[ROLE_MAX];
	char name[256];
	char overlay[256];
};

/* Loads a private key and its certificate and checks that they match. */
int identity_load(struct identity *id, const char *key_file, const char *cert_file, char *err,
		  size_t errlen);
void identity_free(struct identity *id);

/* Node-ID: the first 128 bits of SHA-256 over the DER SubjectPublicKeyInfo. */
int node_id_from_key(EVP_PKEY *key, uint8_t out[NODE_ID_LEN]);
int node_id_from_cert(X509 *cert, uint8_t out[NODE_ID_LEN]);
void node_id_hex(const uint8_t id[NODE_ID_LEN], char out[NODE_ID_HEX_LEN + 1]);

/* Subject fields; 0, or -1 if the field is missing or does not fit. */
int cert_role(X509 *cert, char *out, size_t outlen);
int cert_name(X509 *cert, char *out, size_t outlen);
int cert_overlay(X509 *cert, char *out, size_t outlen);
/* Serial as uppercase hex in whole bytes, as "openssl x509 -serial" prints
 * it (0x0A is "0A"). */
int cert_serial_hex(X509 *cert, char *out, size_t outlen);
int64_t cert_not_after(X509 *cert);
int64_t cert_not_before(X509 *cert);

/* Only ECDSA P-256 and Ed25519 keys are accepted anywhere in the overlay. */
int key_is_allowed(EVP_PKEY *key);
const char *key_type_name(EVP_PKEY *key);
EVP_PKEY *key_generate(void); /* ECDSA P-256 */

EVP_PKEY *key_read_pem(const char *path, char *err, size_t errlen);
/* Writes the key with mode 0600; refuses to replace an existing file. */
int key_write_pem(EVP_PKEY *key, const char *path, char *err, size_t errlen);
X509 *cert_read_pem(const char *path, char *err, size_t errlen);
X509 *cert_from_pem(const char *pem, size_t len);
/* malloc'd, NUL-terminated PEM text. */
char *cert_to_pem(X509 *cert);
/* The content of a memory BIO as a malloc'd, NUL-terminated string. */
char *bio_mem_string(BIO *bio);
int cert_write_pem(X509 *cert, const char *path, char *err, size_t errlen);

#endif
