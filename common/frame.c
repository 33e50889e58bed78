/* The frame codec of overlay and admin links. */
#include "frame.h"

#include "util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *frame_rc_str(enum frame_rc rc)
{
	switch (rc) {
	case FRAME_OK:
		return "ok";
	case FRAME_NEED_MORE:
		return "incomplete frame";
	case FRAME_TOO_BIG:
		return "frame length out of range";
	case FRAME_BAD_JSON:
		return "frame is not valid JSON";
	case FRAME_NOT_OBJECT:
		return "frame is not a JSON object";
	}
	return "?";
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static enum frame_rc body_decode(const uint8_t *body, size_t n, json_t **out, char *err,
				 size_t errlen)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)body, n, JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL) {
		err_set(err, errlen, "bad JSON at byte %d: %s", jerr.position, jerr.text);
		return FRAME_BAD_JSON;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		err_set(err, errlen, "%s", frame_rc_str(FRAME_NOT_OBJECT));
		return FRAME_NOT_OBJECT;
	}
	*out = j;
	return FRAME_OK;
}

enum frame_rc frame_decode(const uint8_t *buf, size_t len, size_t max, size_t *consumed,
			   json_t **out, char *err, size_t errlen)
{
	uint32_t n;
	enum frame_rc rc;

	*out = NULL;
	if (len < FRAME_HDR_LEN)
		return FRAME_NEED_MORE;
	n = get_be32(buf);
	if (n == 0 || n > max) {
		err_set(err, errlen, "frame length %u out of range 1..%zu", n, max);
		return FRAME_TOO_BIG;
	}
	if (len - FRAME_HDR_LEN < n)
		return FRAME_NEED_MORE;
	rc = body_decode(buf + FRAME_HDR_LEN, n, out, err, errlen);
	if (rc == FRAME_OK)
		*consumed = FRAME_HDR_LEN + n;
	return rc;
}

int frame_encode(const json_t *obj, size_t max, uint8_t **out, size_t *outlen)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	size_t n;
	uint8_t *buf;

	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n == 0 || n > max) {
		free(s);
		return -1;
	}
	buf = malloc(FRAME_HDR_LEN + n);
	if (buf == NULL) {
		free(s);
		return -1;
	}
	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	memcpy(buf + FRAME_HDR_LEN, s, n);
	free(s);
	*out = buf;
	*outlen = FRAME_HDR_LEN + n;
	return 0;
}

enum frame_rc frame_read(struct evbuffer *in, size_t max, json_t **out, char *err, size_t errlen)
{
	uint8_t hdr[FRAME_HDR_LEN];
	uint32_t n;
	const uint8_t *body;
	enum frame_rc rc;

	*out = NULL;
	if (evbuffer_copyout(in, hdr, sizeof(hdr)) < (ev_ssize_t)sizeof(hdr))
		return FRAME_NEED_MORE;
	n = get_be32(hdr);
	if (n == 0 || n > max) {
		err_set(err, errlen, "frame length %u out of range 1..%zu", n, max);
		return FRAME_TOO_BIG;
	}
	if (evbuffer_get_length(in) < FRAME_HDR_LEN + (size_t)n)
		return FRAME_NEED_MORE;
	body = evbuffer_pullup(in, FRAME_HDR_LEN + (ev_ssize_t)n);
	if (body == NULL)
		return FRAME_TOO_BIG;
	rc = body_decode(body + FRAME_HDR_LEN, n, out, err, errlen);
	evbuffer_drain(in, FRAME_HDR_LEN + (size_t)n);
	return rc;
}

int frame_write(struct evbuffer *out, const json_t *obj, size_t max)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (frame_encode(obj, max, &buf, &len) < 0)
		return -1;
	rc = evbuffer_add(out, buf, len);
	free(buf);
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Returns bytes read (short only at EOF) or -1. */
static ssize_t read_all(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int frame_send_fd(int fd, const json_t *obj, size_t max)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (frame_encode(obj, max, &buf, &len) < 0)
		return -1;
	rc = write_all(fd, buf, len);
	free(buf);
	return rc;
}

int frame_recv_fd(int fd, size_t max, json_t **out, char *err, size_t errlen)
{
	uint8_t hdr[FRAME_HDR_LEN];
	uint8_t *body;
	uint32_t n;
	ssize_t r;
	int rc;

	*out = NULL;
	r = read_all(fd, hdr, sizeof(hdr));
	if (r == 0) {
		err_set(err, errlen, "connection closed");
		return FRAME_NEED_MORE;
	}
	if (r != (ssize_t)sizeof(hdr)) {
		err_set(err, errlen, "short read");
		return -1;
	}
	n = get_be32(hdr);
	if (n == 0 || n > max) {
		err_set(err, errlen, "frame length %u out of range 1..%zu", n, max);
		return FRAME_TOO_BIG;
	}
	body = malloc(n);
	if (body == NULL)
		return -1;
	if (read_all(fd, body, n) != (ssize_t)n) {
		free(body);
		err_set(err, errlen, "short read");
		return -1;
	}
	rc = body_decode(body, n, out, err, errlen);
	free(body);
	return rc;
}
