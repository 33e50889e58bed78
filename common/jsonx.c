/* Typed access to fields of untrusted JSON objects, with limits. */
#include "jsonx.h"

#include "util.h"

#include <string.h>

json_t *jx_load_object(const uint8_t *buf, size_t len, size_t max, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *j;

	if (buf == NULL || len == 0) {
		err_set(err, errlen, "empty body (want a JSON object)");
		return NULL;
	}
	if (len > max) {
		err_set(err, errlen, "body larger than %zu bytes", max);
		return NULL;
	}
	j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		err_set(err, errlen, "bad JSON at byte %d: %s", jerr.position, jerr.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		err_set(err, errlen, "body is not a JSON object");
		json_decref(j);
		return NULL;
	}
	return j;
}

static const json_t *get(const json_t *obj, const char *key, int required, char *err, size_t errlen,
			 int *absent)
{
	const json_t *v = json_object_get(obj, key);

	*absent = 0;
	if (v == NULL || json_is_null(v)) {
		*absent = 1;
		if (required)
			err_set(err, errlen, "%s: missing", key);
	}
	return v;
}

int jx_str(const json_t *obj, const char *key, size_t max, int required, const char **out,
	   char *err, size_t errlen)
{
	int absent;
	const json_t *v = get(obj, key, required, err, errlen, &absent);
	size_t n;

	if (absent)
		return required ? -1 : 0;
	if (!json_is_string(v)) {
		err_set(err, errlen, "%s: expected a string", key);
		return -1;
	}
	n = json_string_length(v);
	if (n == 0 || n > max) {
		err_set(err, errlen, "%s: length must be 1..%zu", key, max);
		return -1;
	}
	if (memchr(json_string_value(v), '\0', n) != NULL) {
		err_set(err, errlen, "%s: contains NUL", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

int jx_int(const json_t *obj, const char *key, int64_t min, int64_t max, int required, int64_t *out,
	   char *err, size_t errlen)
{
	int absent;
	const json_t *v = get(obj, key, required, err, errlen, &absent);
	json_int_t i;

	if (absent)
		return required ? -1 : 0;
	if (!json_is_integer(v)) {
		err_set(err, errlen, "%s: expected an integer", key);
		return -1;
	}
	i = json_integer_value(v);
	if (i < min || i > max) {
		err_set(err, errlen, "%s: must be %lld..%lld", key, (long long)min, (long long)max);
		return -1;
	}
	*out = i;
	return 0;
}

int jx_bool(const json_t *obj, const char *key, int required, int *out, char *err, size_t errlen)
{
	int absent;
	const json_t *v = get(obj, key, required, err, errlen, &absent);

	if (absent)
		return required ? -1 : 0;
	if (!json_is_boolean(v)) {
		err_set(err, errlen, "%s: expected true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

int jx_only(const json_t *obj, const char *const *keys, char *err, size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach ((json_t *)obj, k, v) {
		size_t i;
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], k) == 0)
				break;
		if (keys[i] == NULL) {
			/* The key may hold anything; do not echo it whole. */
			err_set(err, errlen, "unknown field '%.32s'", k);
			return -1;
		}
	}
	return 0;
}
