/* Fuzzes the frame codec: decodes every frame of the input under two limits,
 * checks that the buffer and evbuffer decoders agree, and that encoding a
 * decoded object and decoding it again gives an equal object. */
#include "frame.h"
#include "log.h"

#include <event2/buffer.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_MAX 64
/* Compact output can be longer than the input ("1e2" becomes "100.0"), so
 * the round trip is allowed room beyond the decoding limit. */
#define ROUNDTRIP_MAX (8 * FRAME_MAX)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

static void roundtrip(const json_t *obj, size_t max)
{
	uint8_t *buf = NULL;
	size_t len = 0, used = 0;
	json_t *back = NULL;
	char err[256];

	if (frame_encode(obj, max, &buf, &len) < 0 &&
	    frame_encode(obj, ROUNDTRIP_MAX, &buf, &len) < 0)
		abort(); /* a decoded object must always be encodable */
	if (len <= FRAME_HDR_LEN)
		abort();
	if (frame_decode(buf, len, ROUNDTRIP_MAX, &used, &back, err, sizeof(err)) != FRAME_OK)
		abort();
	if (used != len || !json_equal(obj, back))
		abort();
	json_decref(back);
	free(buf);
}

/* Decodes frames off the front of data until one is incomplete or bad; the
 * same bytes through frame_read must give the same objects and outcome. */
static void decode_all(const uint8_t *data, size_t size, size_t max)
{
	struct evbuffer *eb = evbuffer_new();
	size_t pos = 0;
	char err[256];

	if (eb == NULL || evbuffer_add(eb, data, size) < 0)
		abort();
	for (;;) {
		json_t *obj = NULL, *obj2 = NULL;
		size_t used = 0;
		enum frame_rc rc =
			frame_decode(data + pos, size - pos, max, &used, &obj, err, sizeof(err));
		enum frame_rc rc2 = frame_read(eb, max, &obj2, err, sizeof(err));

		if (rc != rc2)
			abort();
		if (rc != FRAME_OK) {
			if (obj != NULL || obj2 != NULL)
				abort();
			break;
		}
		if (obj == NULL || !json_is_object(obj) || used <= FRAME_HDR_LEN ||
		    used > size - pos || used - FRAME_HDR_LEN > max || !json_equal(obj, obj2))
			abort();
		roundtrip(obj, max);
		json_decref(obj);
		json_decref(obj2);
		pos += used;
		if (evbuffer_get_length(eb) != size - pos)
			abort();
	}
	evbuffer_free(eb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_all(data, size, FRAME_MAX);
	decode_all(data, size, SMALL_MAX);
	return 0;
}
