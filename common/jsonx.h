/* Typed access to fields of untrusted JSON objects, with limits. */
#ifndef P2PSIP_JSONX_H
#define P2PSIP_JSONX_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define JX_REQUIRED 1
#define JX_OPTIONAL 0

/* Parses buf as one JSON object of at most max bytes (duplicate keys and
 * \u0000 refused). NULL with err filled otherwise. */
json_t *jx_load_object(const uint8_t *buf, size_t len, size_t max, char *err, size_t errlen);

/* Each returns 0 when the field is absent and optional (out untouched), 0
 * when present and valid, or -1 with "field: reason" in err. Strings must be
 * 1..max bytes with no NUL; *out points into obj. */
int jx_str(const json_t *obj, const char *key, size_t max, int required, const char **out,
	   char *err, size_t errlen);
int jx_int(const json_t *obj, const char *key, int64_t min, int64_t max, int required, int64_t *out,
	   char *err, size_t errlen);
int jx_bool(const json_t *obj, const char *key, int required, int *out, char *err, size_t errlen);
/* Fails if obj has a key not in the NULL-terminated list. */
int jx_only(const json_t *obj, const char *const *keys, char *err, size_t errlen);

#endif
