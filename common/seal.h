/* SIP sealed end to end between ordinary nodes: static-static ECDH (P-256)
 * between two accounts' certificates, an hourly AES-256-GCM key per
 * direction, and a replay cache. Super nodes route the envelope but can
 * neither read nor change it. See docs/protocol.md, "SIP sealed between
 * ordinary nodes". Not for use from several threads. */
#ifndef P2PSIP_SEAL_H
#define P2PSIP_SEAL_H

#include "identity.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_PT_MAX (64 * 1024)   /* the largest SIP text sealed */
#define SEAL_SKEW_MS (300 * 1000) /* how far an envelope's time may be from ours */
#define SEAL_REPLAY_MAX 65536     /* (sender, IV) pairs remembered */
#define SEAL_START_GRACE_MS 5000  /* the replay horizon at start: seal_new's time minus this */
#define SEAL_PEERS_MAX 4096       /* peer certificates kept */
#define SEAL_SECRETS_MAX 4096     /* ECDH results kept, one per (own, peer) pair */

struct certcheck;
struct seal;

/* cc borrowed (the caller keeps its CRL current); overlay copied. */
struct seal *seal_new(struct certcheck *cc, const char *overlay, uint64_t now_ms);
void seal_free(struct seal *s);
/* One of our accounts (P-256 key and its certificate; references taken).
 * Same Node-ID as one held: its certificate is replaced (renewal). 0/-1. */
int seal_add_own(struct seal *s, EVP_PKEY *key, X509 *cert);
/* A peer certificate learned elsewhere (a DHT record's signer): kept like
 * those of peers we opened from, but only after the same checks
 * (certcheck, overlay, role user or gateway, P-256). 0/-1. */
int seal_learn_peer(struct seal *s, X509 *cert);
/* The certificate of peer Node-ID id_hex, or NULL (borrowed: valid until
 * the next call that may add a peer; X509_up_ref it to keep it). */
X509 *seal_peer_cert(struct seal *s, const char *id_hex);
/* Seals pt from our identity whose cert is mine (held by seal_add_own) to
 * peer; from_node/to_node are the link-level Node-IDs (hex) of the sending
 * and the receiving node, as the frame routes it. A new envelope, or NULL
 * with err. */
json_t *seal_close(struct seal *s, X509 *mine, X509 *peer, const char *from_node,
		   const char *to_node, const uint8_t *pt, size_t len, uint64_t now_ms, char *err,
		   size_t errlen);

struct seal_opened {
	uint8_t *pt; /* malloc'd, NUL-terminated (len excludes the NUL) */
	size_t len;
	X509 *peer;                        /* the sender's certificate (reference held) */
	X509 *mine;                        /* our certificate it was sealed to (reference held) */
	char peer_name[128];               /* its CN: the overlay user */
	char peer_id[NODE_ID_HEX_LEN + 1]; /* its Node-ID */
	int gateway;                       /* its role is gateway, not user */
};
/* 0 and out filled, or -1 with the reason in err (nothing kept). */
int seal_open(struct seal *s, const json_t *env, const char *from_node, const char *to_node,
	      uint64_t now_ms, struct seal_opened *out, char *err, size_t errlen);
void seal_opened_clear(struct seal_opened *o);

struct seal_counts {
	uint64_t sealed, opened, replayed, stale, altered, bad_cert, not_for_us, malformed;
};
void seal_counts(const struct seal *s, struct seal_counts *out);

/* For tests: a replay ring of n entries (1..SEAL_REPLAY_MAX) instead of
 * SEAL_REPLAY_MAX, so that filling it is quick. Forgets what was seen;
 * call it before the first seal_open. 0/-1. */
int seal_set_replay_max(struct seal *s, size_t n);

#endif
