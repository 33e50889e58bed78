/* Small helpers shared by every program: hex, files, addresses, time. */
#ifndef P2PSIP_UTIL_H
#define P2PSIP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* FNV-1a, 64 bits: a string's bucket in the daemons' hash tables. Not
 * keyed: a peer that chooses colliding keys makes a bounded table's
 * lookups linear in its size. */
uint64_t str_hash(const char *s);
/* Writes 2*len uppercase hex digits and a NUL into out (size >= 2*len+1). */
void hex_encode(const uint8_t *buf, size_t len, char *out);
/* Decodes exactly outlen bytes from 2*outlen hex digits; -1 on bad input. */
int hex_decode(const char *hex, uint8_t *out, size_t outlen);

/* Base64 (standard alphabet, padded). b64_encode returns a malloc'd string;
 * b64_decode a malloc'd buffer and its length in *len, or NULL when the
 * input is not valid base64 or decodes to more than max bytes. */
char *b64_encode(const uint8_t *buf, size_t len);
uint8_t *b64_decode(const char *s, size_t max, size_t *len);

/* Reads a whole file of at most max bytes, NUL-terminated (the NUL is not
 * counted in *len). Caller frees. NULL with err filled on failure. */
char *file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen);
/* Writes data to path through a temporary file and rename, with the given
 * mode; with excl set, fails if path exists. 0 or -1 with err filled. */
int file_write(const char *path, const void *data, size_t len, mode_t mode, int excl, char *err,
	       size_t errlen);
int file_exists(const char *path);
/* Creates the missing parent directories of path with the given mode. */
int mkdir_parents(const char *path, mode_t mode, char *err, size_t errlen);

/* "host:port", "[v6]:port"; host copied into host (size hostlen). */
int addr_split(const char *s, char *host, size_t hostlen, uint16_t *port);

/* 1 if s is a literal IPv4 or IPv6 address. */
int addr_is_ip(const char *s);
/* The socket address of a literal IP and a port; its length in *len (may be
 * NULL). 0, or -1 when ip is not an IP literal. */
int addr_ip_port(const char *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len);

/* Seconds since the epoch, and a monotonic clock in milliseconds. */
int64_t time_now(void);
uint64_t time_mono_ms(void);

/* A token bucket: refills at rate per second up to burst, starts full
 * (zero-initialised means never used). Every limit of requests, packets
 * or messages per second in the suite is one of these. */
struct tbucket {
	double tokens;
	uint64_t last_ms; /* 0: never used */
};
/* Takes cost tokens: 1 if they were there (and are taken), 0 if not
 * (nothing taken); a cost over burst never passes. A clock that goes back
 * refills nothing. */
int tbucket_take(struct tbucket *b, double rate, double burst, double cost, uint64_t now_ms);
/* Microseconds on a monotonic clock, for measurements. */
uint64_t time_mono_us(void);

/* Copies at most dstlen-1 bytes and always terminates; returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t dstlen);
/* printf into a caller's error buffer (which may be NULL). */
void err_set(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parses a duration: "90", "90s", "5m", "24h", "7d". -1 on bad input. */
int duration_parse(const char *s, int64_t *secs);
/* Formats a duration in the largest unit that divides it exactly. */
void duration_format(int64_t secs, char *out, size_t outlen);

/* A user or account name: 1..NAME_MAX_LEN of [a-z0-9._-], starting with a
 * letter or digit. */
#define NAME_MAX_LEN 64
int name_is_valid(const char *s);

#endif
