/* Configuration files: an INI parser and a typed schema that each program
 * declares as a table, so that "-n" can print back what was understood. */
#ifndef P2PSIP_CONF_H
#define P2PSIP_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONF_FILE_MAX (1024 * 1024)
#define CONF_LINE_MAX 4096
#define CONF_NAME_MAX 64
/* A value's limit keeps every printed line, quotes and escapes included,
 * under CONF_LINE_MAX, so that "-n" output always reads back. */
#define CONF_VALUE_MAX 1024

/* Called for each key; section is "" before the first [section]. Also
 * called with key and value NULL for each section header, so that unknown
 * sections are caught even when empty. Return 0 to go on or -1 (with err
 * filled) to stop. */
typedef int (*ini_handler_t)(void *ctx, const char *section, const char *key, const char *value,
			     int lineno, char *err, size_t errlen);

/* Parses INI text. Lines: "[section]", "[section name]", "key = value",
 * comments starting with '#' or ';'. A value may be double-quoted to keep
 * spaces or use \" and \\. Returns 0, or -1 with "line N: reason" in err. */
int ini_parse(const uint8_t *buf, size_t len, ini_handler_t cb, void *ctx, char *err,
	      size_t errlen);

enum conf_type {
	CONF_STRING,   /* char *, malloc'd */
	CONF_INT,      /* int64_t, checked against min..max */
	CONF_BOOL,     /* int: yes/no, true/false, on/off, 1/0 */
	CONF_DURATION, /* int64_t seconds: "30", "30s", "5m", "24h", "7d" */
};

#define CONF_REQUIRED 0x1 /* no default; must be present */
#define CONF_SECRET 0x2   /* printed as "(secret)" by conf_print */

struct conf_item {
	const char *section;
	const char *key;
	enum conf_type type;
	size_t offset; /* into the program's configuration struct */
	const char *def;
	int64_t min, max; /* for CONF_INT and CONF_DURATION; both 0: no bound */
	unsigned flags;
	const char *help;
};

/* Fills obj from the defaults, then from the text. Unknown sections or keys,
 * duplicates, bad values and missing required keys are errors. On error,
 * obj keeps what was set and must still be released with conf_free(). */
int conf_parse(const struct conf_item *items, size_t n, void *obj, const uint8_t *buf, size_t len,
	       char *err, size_t errlen);
int conf_load(const struct conf_item *items, size_t n, void *obj, const char *path, char *err,
	      size_t errlen);
/* Prints the whole normalised configuration, defaults included. */
void conf_print(const struct conf_item *items, size_t n, const void *obj, FILE *out);
void conf_free(const struct conf_item *items, size_t n, void *obj);

/* Repeated sections "[KIND NAME]", such as one "[account alice]" per account:
 * each fills a new element of an array in obj from the group's own schema
 * (the items' section field is ignored; offsets are into the element). NAME
 * is a section name as the INI reader takes it ([A-Za-z0-9_.@-], 1 to
 * CONF_NAME_MAX characters), unique in the group.
 * In obj, the array is a malloc'd pointer at offset_array and the count an
 * int at offset_count; in the element, NAME is a malloc'd char * at
 * offset_name. */
struct conf_group {
	const char *kind;
	const struct conf_item *items;
	size_t n;
	size_t elem_size;
	size_t offset_array, offset_count, offset_name;
	int min, max; /* how many such sections there must and may be */
};

int conf_parse_groups(const struct conf_item *items, size_t n, const struct conf_group *groups,
		      size_t ngroups, void *obj, const uint8_t *buf, size_t len, char *err,
		      size_t errlen);
int conf_load_groups(const struct conf_item *items, size_t n, const struct conf_group *groups,
		     size_t ngroups, void *obj, const char *path, char *err, size_t errlen);
void conf_print_groups(const struct conf_item *items, size_t n, const struct conf_group *groups,
		       size_t ngroups, const void *obj, FILE *out);
void conf_free_groups(const struct conf_item *items, size_t n, const struct conf_group *groups,
		      size_t ngroups, void *obj);

/* Splits a comma-separated list in place into at most max trimmed items. */
int conf_split_list(char *s, char **items, int max);

#endif
