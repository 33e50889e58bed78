/* Configuration files: an INI parser and a typed schema. */
#include "conf.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static int is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == '@';
}

static int name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONF_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!is_name_char(*s))
			return 0;
	return 1;
}

/* "[name]" or "[name sub]"; both parts are plain names. */
static int parse_section(char *line, char *section, size_t seclen)
{
	char *end = strchr(line, ']');
	char *inner;
	char *sp;

	if (end == NULL || *trim(end + 1) != '\0')
		return -1;
	*end = '\0';
	inner = trim(line + 1);
	sp = strchr(inner, ' ');
	if (sp != NULL) {
		*sp = '\0';
		char *sub = trim(sp + 1);
		if (!name_ok(inner) || !name_ok(sub))
			return -1;
		snprintf(section, seclen, "%s %s", inner, sub);
		return 0;
	}
	if (!name_ok(inner))
		return -1;
	str_copy(section, inner, seclen);
	return 0;
}

/* Removes surrounding double quotes and resolves \" and \\ in place. */
static int unquote(char *v)
{
	size_t n = strlen(v);
	char *w = v;

	if (n == 0 || v[0] != '"')
		return 0;
	if (n < 2 || v[n - 1] != '"')
		return -1;
	v[n - 1] = '\0';
	for (char *r = v + 1; *r != '\0'; r++) {
		if (*r == '\\') {
			r++;
			if (*r != '"' && *r != '\\')
				return -1;
		} else if (*r == '"') {
			return -1;
		}
		*w++ = *r;
	}
	*w = '\0';
	return 0;
}

static int parse_line(char *line, int lineno, char *section, size_t seclen, ini_handler_t cb,
		      void *ctx, char *err, size_t errlen)
{
	char *s = trim(line);
	char *eq;
	char *key;
	char *val;

	if (*s == '\0' || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		if (parse_section(s, section, seclen) < 0) {
			err_set(err, errlen, "line %d: bad section header", lineno);
			return -1;
		}
		return cb(ctx, section, NULL, NULL, lineno, err, errlen);
	}
	eq = strchr(s, '=');
	if (eq == NULL) {
		err_set(err, errlen, "line %d: expected 'key = value'", lineno);
		return -1;
	}
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (!name_ok(key)) {
		err_set(err, errlen, "line %d: bad key name", lineno);
		return -1;
	}
	if (unquote(val) < 0) {
		err_set(err, errlen, "line %d: bad quoted value", lineno);
		return -1;
	}
	if (strlen(val) > CONF_VALUE_MAX) {
		err_set(err, errlen, "line %d: value longer than %d bytes", lineno, CONF_VALUE_MAX);
		return -1;
	}
	return cb(ctx, section, key, val, lineno, err, errlen);
}

int ini_parse(const uint8_t *buf, size_t len, ini_handler_t cb, void *ctx, char *err, size_t errlen)
{
	char line[CONF_LINE_MAX + 1];
	char section[2 * CONF_NAME_MAX + 2] = "";
	size_t pos = 0;
	int lineno = 0;

	if (len > CONF_FILE_MAX) {
		err_set(err, errlen, "larger than %d bytes", CONF_FILE_MAX);
		return -1;
	}
	/* A UTF-8 byte order mark is tolerated at the very start. */
	if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf)
		pos = 3;
	while (pos < len) {
		size_t start = pos;
		size_t n;

		while (pos < len && buf[pos] != '\n')
			pos++;
		n = pos - start;
		if (pos < len)
			pos++;
		lineno++;
		if (n > 0 && buf[start + n - 1] == '\r')
			n--;
		if (n > CONF_LINE_MAX) {
			err_set(err, errlen, "line %d: longer than %d bytes", lineno,
				CONF_LINE_MAX);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			unsigned char c = buf[start + i];
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				err_set(err, errlen, "line %d: control character", lineno);
				return -1;
			}
		}
		memcpy(line, buf + start, n);
		line[n] = '\0';
		if (parse_line(line, lineno, section, sizeof(section), cb, ctx, err, errlen) < 0)
			return -1;
	}
	return 0;
}

struct conf_state {
	const struct conf_item *items;
	size_t n;
	void *obj;
	uint8_t *seen;
	const struct conf_group *groups;
	size_t ngroups;
	/* the "[KIND NAME]" section being read, if any */
	const struct conf_group *cur;
	void *elem;
	uint8_t *elem_seen;
};

static void *field(void *obj, const struct conf_item *it)
{
	return (char *)obj + it->offset;
}

static int parse_bool(const char *v, int *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int in_range(const struct conf_item *it, int64_t v)
{
	if (it->min == 0 && it->max == 0)
		return 1;
	return v >= it->min && v <= it->max;
}

/* Sets one field from text; the caller formats errors. */
static int set_value(void *obj, const struct conf_item *it, const char *v, const char **why)
{
	int64_t iv;
	char *end;

	switch (it->type) {
	case CONF_STRING: {
		char **p = field(obj, it);
		char *copy = strdup(v);
		if (copy == NULL) {
			*why = "out of memory";
			return -1;
		}
		free(*p);
		*p = copy;
		return 0;
	}
	case CONF_BOOL:
		if (parse_bool(v, (int *)field(obj, it)) < 0) {
			*why = "expected yes or no";
			return -1;
		}
		return 0;
	case CONF_INT:
		errno = 0;
		iv = strtoll(v, &end, 10);
		if (errno != 0 || end == v || *end != '\0') {
			*why = "expected an integer";
			return -1;
		}
		break;
	case CONF_DURATION:
		if (duration_parse(v, &iv) < 0) {
			*why = "expected a duration such as 30s, 5m, 24h or 7d";
			return -1;
		}
		break;
	default:
		*why = "unknown type";
		return -1;
	}
	if (!in_range(it, iv)) {
		*why = "out of range";
		return -1;
	}
	*(int64_t *)field(obj, it) = iv;
	return 0;
}

static int set_defaults(const struct conf_item *items, size_t n, void *obj, char *err,
			size_t errlen);

/* The group's array pointer and count in obj. */
static int *count_of(void *obj, const struct conf_group *g, void ***arr)
{
	*arr = (void **)((char *)obj + g->offset_array);
	return (int *)((char *)obj + g->offset_count);
}

/* Checks that the element just finished has its required keys. */
static int group_close(struct conf_state *st, char *err, size_t errlen)
{
	const struct conf_group *g = st->cur;

	if (g == NULL)
		return 0;
	for (size_t i = 0; i < g->n; i++) {
		if ((g->items[i].flags & CONF_REQUIRED) && !st->elem_seen[i]) {
			err_set(err, errlen, "[%s %s] %s is required", g->kind,
				*(char **)((char *)st->elem + g->offset_name), g->items[i].key);
			return -1;
		}
	}
	st->cur = NULL;
	st->elem = NULL;
	return 0;
}

/* A "[KIND NAME]" header: a new element. 1 if handled, 0 if not a group,
 * -1 on error. */
static int group_open(struct conf_state *st, const char *section, int lineno, char *err,
		      size_t errlen)
{
	for (size_t i = 0; i < st->ngroups; i++) {
		const struct conf_group *g = &st->groups[i];
		size_t kl = strlen(g->kind);
		void **arr;
		int *cnt = count_of(st->obj, g, &arr);
		const char *name = section + kl + 1;
		char *copy, *grown;

		if (strncmp(section, g->kind, kl) != 0 || section[kl] != ' ')
			continue;
		for (int k = 0; k < *cnt; k++) {
			if (strcmp(*(char **)((char *)*arr + (size_t)k * g->elem_size +
					      g->offset_name),
				   name) == 0) {
				err_set(err, errlen, "line %d: [%s] appears twice", lineno,
					section);
				return -1;
			}
		}
		if (*cnt >= g->max) {
			err_set(err, errlen, "line %d: more than %d [%s ...] sections", lineno,
				g->max, g->kind);
			return -1;
		}
		grown = realloc(*arr, (size_t)(*cnt + 1) * g->elem_size);
		copy = strdup(name);
		if (grown != NULL)
			*arr = grown;
		if (grown == NULL || copy == NULL) {
			free(copy);
			err_set(err, errlen, "out of memory");
			return -1;
		}
		st->elem = (char *)*arr + (size_t)*cnt * g->elem_size;
		memset(st->elem, 0, g->elem_size);
		*(char **)((char *)st->elem + g->offset_name) = copy;
		(*cnt)++;
		st->cur = g;
		memset(st->elem_seen, 0, g->n ? g->n : 1);
		if (set_defaults(g->items, g->n, st->elem, err, errlen) < 0)
			return -1;
		return 1;
	}
	return 0;
}

static int group_key(struct conf_state *st, const char *key, const char *value, int lineno,
		     char *err, size_t errlen)
{
	const struct conf_group *g = st->cur;

	for (size_t i = 0; i < g->n; i++) {
		const struct conf_item *it = &g->items[i];
		const char *why = NULL;

		if (strcmp(it->key, key) != 0)
			continue;
		if (st->elem_seen[i]) {
			err_set(err, errlen, "line %d: %s is set twice", lineno, key);
			return -1;
		}
		st->elem_seen[i] = 1;
		if (set_value(st->elem, it, value, &why) < 0) {
			err_set(err, errlen, "line %d: %s: %s", lineno, key, why);
			return -1;
		}
		return 0;
	}
	err_set(err, errlen, "line %d: unknown key '%s' in [%s ...]", lineno, key, g->kind);
	return -1;
}

static int conf_handler(void *ctx, const char *section, const char *key, const char *value,
			int lineno, char *err, size_t errlen)
{
	struct conf_state *st = ctx;
	int section_known = 0;

	if (key == NULL) { /* a section header ends the group section before it */
		int rc;
		if (group_close(st, err, errlen) < 0)
			return -1;
		rc = group_open(st, section, lineno, err, errlen);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	} else if (st->cur != NULL) {
		return group_key(st, key, value, lineno, err, errlen);
	}

	for (size_t i = 0; i < st->n; i++) {
		const struct conf_item *it = &st->items[i];
		const char *why = NULL;

		if (strcmp(it->section, section) != 0)
			continue;
		section_known = 1;
		if (key == NULL)
			return 0; /* a known section header */
		if (strcmp(it->key, key) != 0)
			continue;
		if (st->seen[i]) {
			err_set(err, errlen, "line %d: %s is set twice", lineno, key);
			return -1;
		}
		st->seen[i] = 1;
		if (set_value(st->obj, it, value, &why) < 0) {
			if (it->type == CONF_INT || it->type == CONF_DURATION)
				err_set(err, errlen, "line %d: %s: %s (%lld..%lld)", lineno, key,
					why, (long long)it->min, (long long)it->max);
			else
				err_set(err, errlen, "line %d: %s: %s", lineno, key, why);
			return -1;
		}
		return 0;
	}
	if (!section_known)
		err_set(err, errlen, "line %d: unknown section [%s]", lineno, section);
	else
		err_set(err, errlen, "line %d: unknown key '%s' in [%s]", lineno, key, section);
	return -1;
}

static int set_defaults(const struct conf_item *items, size_t n, void *obj, char *err,
			size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;

		if (items[i].def == NULL)
			continue;
		if (set_value(obj, &items[i], items[i].def, &why) < 0) {
			err_set(err, errlen, "default of %s: %s", items[i].key, why);
			return -1;
		}
	}
	return 0;
}

int conf_parse_groups(const struct conf_item *items, size_t n, const struct conf_group *groups,
		      size_t ngroups, void *obj, const uint8_t *buf, size_t len, char *err,
		      size_t errlen)
{
	struct conf_state st = {items, n, obj, NULL, groups, ngroups, NULL, NULL, NULL};
	size_t gmax = 1;
	int rc = -1;

	for (size_t i = 0; i < ngroups; i++)
		if (groups[i].n > gmax)
			gmax = groups[i].n;
	st.seen = calloc(n ? n : 1, 1);
	st.elem_seen = calloc(gmax, 1);
	if (st.seen == NULL || st.elem_seen == NULL) {
		err_set(err, errlen, "out of memory");
		goto out;
	}
	if (set_defaults(items, n, obj, err, errlen) < 0)
		goto out;
	if (ini_parse(buf, len, conf_handler, &st, err, errlen) < 0 ||
	    group_close(&st, err, errlen) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if ((items[i].flags & CONF_REQUIRED) && !st.seen[i]) {
			err_set(err, errlen, "[%s] %s is required", items[i].section, items[i].key);
			goto out;
		}
	}
	for (size_t i = 0; i < ngroups; i++) {
		void **arr;
		int cnt = *count_of(obj, &groups[i], &arr);
		if (cnt < groups[i].min) {
			err_set(err, errlen, "at least %d [%s NAME] section%s needed",
				groups[i].min, groups[i].kind,
				groups[i].min == 1 ? " is" : "s are");
			goto out;
		}
	}
	rc = 0;
out:
	free(st.seen);
	free(st.elem_seen);
	return rc;
}

int conf_parse(const struct conf_item *items, size_t n, void *obj, const uint8_t *buf, size_t len,
	       char *err, size_t errlen)
{
	return conf_parse_groups(items, n, NULL, 0, obj, buf, len, err, errlen);
}

int conf_load(const struct conf_item *items, size_t n, void *obj, const char *path, char *err,
	      size_t errlen)
{
	return conf_load_groups(items, n, NULL, 0, obj, path, err, errlen);
}

int conf_load_groups(const struct conf_item *items, size_t n, const struct conf_group *groups,
		     size_t ngroups, void *obj, const char *path, char *err, size_t errlen)
{
	char inner[512];
	size_t len;
	char *buf = file_read(path, CONF_FILE_MAX, &len, err, errlen);
	int rc;

	if (buf == NULL) {
		/* Defaults still go in, so that conf_free() has a defined state. */
		set_defaults(items, n, obj, NULL, 0);
		return -1;
	}
	rc = conf_parse_groups(items, n, groups, ngroups, obj, (const uint8_t *)buf, len, inner,
			       sizeof(inner));
	if (rc < 0)
		err_set(err, errlen, "%s: %s", path, inner);
	free(buf);
	return rc;
}

/* Quotes a string value when reading it back would otherwise change it. */
static void print_string(FILE *out, const char *v)
{
	size_t n = strlen(v);
	int quote = n == 0 || v[0] == ' ' || v[0] == '\t' || v[0] == '"' || v[n - 1] == ' ' ||
		    v[n - 1] == '\t';

	if (!quote) {
		fputs(v, out);
		return;
	}
	fputc('"', out);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', out);
		fputc(*v, out);
	}
	fputc('"', out);
}

static void print_item(const struct conf_item *it, const void *obj, FILE *out);

void conf_print(const struct conf_item *items, size_t n, const void *obj, FILE *out)
{
	const char *cur = NULL;

	for (size_t i = 0; i < n; i++) {
		if (cur == NULL || strcmp(cur, items[i].section) != 0) {
			fprintf(out, "%s[%s]\n", cur == NULL ? "" : "\n", items[i].section);
			cur = items[i].section;
		}
		print_item(&items[i], obj, out);
	}
}

void conf_print_groups(const struct conf_item *items, size_t n, const struct conf_group *groups,
		       size_t ngroups, const void *obj, FILE *out)
{
	conf_print(items, n, obj, out);
	for (size_t i = 0; i < ngroups; i++) {
		const struct conf_group *g = &groups[i];
		void **arr;
		int cnt = *count_of((void *)obj, g, &arr);

		for (int k = 0; k < cnt; k++) {
			const char *e = (const char *)*arr + (size_t)k * g->elem_size;
			fprintf(out, "\n[%s %s]\n", g->kind, *(char *const *)(e + g->offset_name));
			for (size_t j = 0; j < g->n; j++)
				print_item(&g->items[j], e, out);
		}
	}
}

static void print_item(const struct conf_item *it, const void *obj, FILE *out)
{
	{
		const void *f = (const char *)obj + it->offset;
		char dur[32];

		if (it->type == CONF_STRING && *(char *const *)f == NULL) {
			fprintf(out, "# %s is not set\n", it->key);
			return;
		}
		fprintf(out, "%s = ", it->key);
		switch (it->type) {
		case CONF_STRING:
			if (it->flags & CONF_SECRET)
				fputs("(secret)", out);
			else
				print_string(out, *(char *const *)f);
			break;
		case CONF_BOOL:
			fputs(*(const int *)f ? "yes" : "no", out);
			break;
		case CONF_INT:
			fprintf(out, "%lld", (long long)*(const int64_t *)f);
			break;
		case CONF_DURATION:
			duration_format(*(const int64_t *)f, dur, sizeof(dur));
			fputs(dur, out);
			break;
		}
		fputc('\n', out);
	}
}

void conf_free(const struct conf_item *items, size_t n, void *obj)
{
	for (size_t i = 0; i < n; i++) {
		if (items[i].type == CONF_STRING) {
			char **p = field(obj, &items[i]);
			free(*p);
			*p = NULL;
		}
	}
}

void conf_free_groups(const struct conf_item *items, size_t n, const struct conf_group *groups,
		      size_t ngroups, void *obj)
{
	conf_free(items, n, obj);
	for (size_t i = 0; i < ngroups; i++) {
		const struct conf_group *g = &groups[i];
		void **arr;
		int *cnt = count_of(obj, g, &arr);

		for (int k = 0; k < *cnt; k++) {
			char *e = (char *)*arr + (size_t)k * g->elem_size;
			conf_free(g->items, g->n, e);
			free(*(char **)(e + g->offset_name));
		}
		free(*arr);
		*arr = NULL;
		*cnt = 0;
	}
}

int conf_split_list(char *s, char **items, int max)
{
	int n = 0;
	char *save = NULL;

	for (char *tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		tok = trim(tok);
		if (*tok == '\0')
			continue;
		if (n == max)
			return -1;
		items[n++] = tok;
	}
	return n;
}
