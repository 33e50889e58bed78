/* The frame codec of overlay and admin links: a 4-byte big-endian length,
 * then that many bytes holding one JSON object (docs/protocol.md). */
#ifndef P2PSIP_FRAME_H
#define P2PSIP_FRAME_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define FRAME_HDR_LEN 4
#define FRAME_MAX (128 * 1024) /* largest JSON body any link accepts */

enum frame_rc {
	FRAME_OK = 0,
	FRAME_NEED_MORE, /* not a whole frame yet */
	FRAME_TOO_BIG,   /* announced length is 0 or over the limit */
	FRAME_BAD_JSON,  /* body is not valid JSON */
	FRAME_NOT_OBJECT /* body is JSON but not an object */
};

const char *frame_rc_str(enum frame_rc rc);

/* Decodes one frame from buf. On FRAME_OK, *consumed is the frame's size and
 * *out a new JSON object owned by the caller. On an error, err says why; the
 * stream cannot be resynchronised and the link should be closed. */
enum frame_rc frame_decode(const uint8_t *buf, size_t len, size_t max, size_t *consumed,
			   json_t **out, char *err, size_t errlen);
/* Encodes obj compactly; malloc'd result in *out. -1 if over max. */
int frame_encode(const json_t *obj, size_t max, uint8_t **out, size_t *outlen);

/* Same over a libevent buffer: takes a whole frame off in when there is one. */
enum frame_rc frame_read(struct evbuffer *in, size_t max, json_t **out, char *err, size_t errlen);
int frame_write(struct evbuffer *out, const json_t *obj, size_t max);

/* Blocking variants on a socket, for command-line clients and the CA
 * helper process. frame_recv_fd returns FRAME_NEED_MORE on a clean EOF
 * before any byte and FRAME_TOO_BIG/-style codes on bad frames; -1 on I/O. */
int frame_send_fd(int fd, const json_t *obj, size_t max);
int frame_recv_fd(int fd, size_t max, json_t **out, char *err, size_t errlen);

#endif
