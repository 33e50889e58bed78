/* STUN (RFC 5389) Binding messages: what a super node needs to answer
 * them and an ordinary node needs to ask. No authentication (Binding is
 * answered to anyone, as public STUN servers do). */
#ifndef P2PSIP_STUN_H
#define P2PSIP_STUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HEADER 20
#define STUN_MAGIC 0x2112A442u
#define STUN_TID_LEN 12
#define STUN_MSG_MAX 548 /* what a server takes: RFC 5389 7.1 for unknown paths */

#define STUN_BINDING_REQUEST 0x0001
#define STUN_BINDING_SUCCESS 0x0101
#define STUN_BINDING_ERROR 0x0111

#define STUN_UNKNOWN_MAX 8

struct stun_msg {
	uint16_t type;
	uint8_t tid[STUN_TID_LEN];
	int has_mapped;                  /* XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS */
	struct sockaddr_storage mapped;
	int has_fingerprint;             /* present and correct (a wrong one fails parsing) */
	int error_code;                  /* ERROR-CODE in an error response, else 0 */
	uint16_t unknown[STUN_UNKNOWN_MAX]; /* comprehension-required attributes we do not know */
	int nunknown;
};

/* Whether b looks like a STUN message at all (two zero bits, the magic
 * cookie, a length that matches n): other traffic on the port is ignored. */
int stun_is_stun(const uint8_t *b, size_t n);
/* Parses a whole message; -1 when it is malformed (attribute lengths, a
 * wrong FINGERPRINT, addresses of a bad family or size). */
int stun_parse(const uint8_t *b, size_t n, struct stun_msg *m);
/* Builders: return the length written, 0 when cap is too small. */
size_t stun_binding_request(uint8_t *out, size_t cap, const uint8_t tid[STUN_TID_LEN]);
/* A success response: XOR-MAPPED-ADDRESS, and FINGERPRINT when asked for
 * (the request had one). Nothing else: an answer larger than needed makes
 * the server an amplifier (no MAPPED-ADDRESS: RFC 3489 clients, who would
 * read it, send no magic cookie and get no answer; no SOFTWARE). */
size_t stun_binding_success(uint8_t *out, size_t cap, const uint8_t tid[STUN_TID_LEN],
			    const struct sockaddr *mapped, int fingerprint);
/* An error response (420 lists the unknown attributes); reason may be "",
 * FINGERPRINT when asked for. */
size_t stun_binding_error(uint8_t *out, size_t cap, const uint8_t tid[STUN_TID_LEN], int code,
			  const char *reason, const uint16_t *unknown, int nunknown,
			  int fingerprint);
uint32_t stun_crc32(const uint8_t *b, size_t n);

/* What the answers of up to two STUN servers, asked from one local socket,
 * say about the middlebox in front of it. */
enum stun_nat {
	STUN_NAT_NO_ANSWER,      /* UDP does not get out (or no server answered) */
	STUN_NAT_NONE,           /* the servers see our own address: no NAT */
	STUN_NAT_BEHIND,         /* a NAT; only one server answered */
	STUN_NAT_SAME_MAPPING,   /* a NAT that maps us alike for both servers */
	STUN_NAT_PER_DESTINATION /* a NAT that maps per destination ("symmetric") */
};
enum stun_nat stun_classify(const struct sockaddr *local, const struct sockaddr_storage *mapped,
			    int n);
const char *stun_nat_name(enum stun_nat nat);
/* Same family, address and port. */
int stun_addr_eq(const struct sockaddr *a, const struct sockaddr *b);

#endif
