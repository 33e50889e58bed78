/* Unit tests of common/conf.c: the INI reader (sections, quoting, comments,
 * limits, hostile bytes, BOM and CRLF) and the typed schema on top of it
 * (defaults, required keys, unknown and duplicate keys, ranges, booleans,
 * durations, conf_print round trip and secrets, conf_split_list). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf.h"
#include "testutil.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cfg {
	char *name;
	char *secret;
	char *path;
	char *motto;
	int64_t port;
	int64_t count;
	int flag;
	int64_t ttl;
	char *peer_addr;
};

#define OFF(f) offsetof(struct cfg, f)
static const struct conf_item items[] = {
	{"main", "name", CONF_STRING, OFF(name), NULL, 0, 0, CONF_REQUIRED, "node name"},
	{"main", "secret", CONF_STRING, OFF(secret), "hunter2", 0, 0, CONF_SECRET, "password"},
	{"main", "path", CONF_STRING, OFF(path), "/var/lib/p2psip", 0, 0, 0, "state directory"},
	{"main", "motto", CONF_STRING, OFF(motto), NULL, 0, 0, 0, "optional, no default"},
	{"net", "port", CONF_INT, OFF(port), "5060", 1, 65535, 0, "port"},
	{"net", "count", CONF_INT, OFF(count), "0", 0, 0, 0, "unbounded"},
	{"net", "flag", CONF_BOOL, OFF(flag), "no", 0, 0, 0, "a switch"},
	{"net", "ttl", CONF_DURATION, OFF(ttl), "1h", 60, 7 * 86400, 0, "lifetime"},
	{"peer alice", "addr", CONF_STRING, OFF(peer_addr), NULL, 0, 0, 0, "sub-section"},
};
#define NITEMS ARRAY_LEN(items)

static char err[512];

/* Parses text into *c (zeroed first); returns conf_parse's result. */
static int parse(struct cfg *c, const char *text)
{
	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	return conf_parse(items, NITEMS, c, (const uint8_t *)text, strlen(text), err, sizeof(err));
}

static int parse_len(struct cfg *c, const void *text, size_t len)
{
	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	return conf_parse(items, NITEMS, c, text, len, err, sizeof(err));
}

static void expect_error(const char *text, const char *fragment)
{
	struct cfg c;

	if (parse(&c, text) != -1)
		fail_msg("accepted: %s", text);
	assert_contains(err, fragment);
	conf_free(items, NITEMS, &c);
}

static void expect_ok(const char *text)
{
	struct cfg c;

	if (parse(&c, text) != 0)
		fail_msg("rejected (%s): %s", err, text);
	conf_free(items, NITEMS, &c);
}

static void test_defaults_fill_every_type(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(parse(&c, "[main]\nname = n1\n"), 0);
	assert_string_equal(c.name, "n1");
	assert_string_equal(c.secret, "hunter2");
	assert_string_equal(c.path, "/var/lib/p2psip");
	assert_null(c.motto);
	assert_int_equal(c.port, 5060);
	assert_int_equal(c.count, 0);
	assert_int_equal(c.flag, 0);
	assert_int_equal(c.ttl, 3600);
	assert_null(c.peer_addr);
	conf_free(items, NITEMS, &c);
	assert_null(c.name);
	assert_null(c.secret);
}

static void test_each_type_is_parsed(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(parse(&c, "# comment\n"
				   "; another comment\n"
				   "\n"
				   "[main]\n"
				   "  name   =   node-1  \n"
				   "path = /srv/x y\n"
				   "motto = a = b\n"
				   "[net]\n"
				   "port = 65535\n"
				   "count = -12\n"
				   "flag = yes\n"
				   "ttl = 2d\n"
				   "[peer alice]\n"
				   "addr = [::1]:5061\n"),
			 0);
	assert_string_equal(c.name, "node-1");
	assert_string_equal(c.path, "/srv/x y"); /* inner spaces kept */
	assert_string_equal(c.motto, "a = b");   /* only the first '=' splits */
	assert_int_equal(c.port, 65535);
	assert_int_equal(c.count, -12);
	assert_int_equal(c.flag, 1);
	assert_int_equal(c.ttl, 2 * 86400);
	assert_string_equal(c.peer_addr, "[::1]:5061");
	conf_free(items, NITEMS, &c);
}

static void test_missing_required_key_is_an_error(void **state)
{
	(void)state;
	expect_error("", "[main] name is required");
	expect_error("[net]\nport = 1\n", "[main] name is required");
}

static void test_unknown_section_error_names_line_and_section(void **state)
{
	(void)state;
	/* Reported at the header, even when the section holds no key. */
	expect_error("[main]\nname = a\n\n[bogus]\nx = 1\n", "line 4: unknown section [bogus]");
	expect_error("[main]\nname = a\n[bogus]\n", "line 3: unknown section [bogus]");
	/* A key before any section header is in the unnamed section. */
	expect_error("name = a\n", "line 1: unknown section");
	expect_error("[main]\nname = a\n[peer bob]\naddr = x\n",
		     "line 3: unknown section [peer bob]");
}

static void test_unknown_key_error_names_line_and_key(void **state)
{
	(void)state;
	expect_error("[main]\nname = a\n[net]\n\nprot = 1\n",
		     "line 5: unknown key 'prot' in [net]");
	/* Keys are case-sensitive. */
	expect_error("[main]\nName = a\n", "line 2: unknown key 'Name' in [main]");
}

static void test_duplicate_key_is_an_error(void **state)
{
	(void)state;
	expect_error("[main]\nname = a\nname = a\n", "line 3: name is set twice");
	expect_error("[main]\nname = a\n[net]\nport = 1\n[main]\n[net]\nport = 2\n",
		     "line 7: port is set twice");
}

static void test_quoted_values_keep_spaces_and_escapes(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(parse(&c, "[main]\n"
				   "name = \"  two  spaces \"\n"
				   "path = \"say \\\"hi\\\" \\\\ back\"\n"
				   "motto = \"\"\n"),
			 0);
	assert_string_equal(c.name, "  two  spaces ");
	assert_string_equal(c.path, "say \"hi\" \\ back");
	assert_string_equal(c.motto, "");
	conf_free(items, NITEMS, &c);
	/* Quotes inside an unquoted value are literal. */
	assert_int_equal(parse(&c, "[main]\nname = a\"b\n"), 0);
	assert_string_equal(c.name, "a\"b");
	conf_free(items, NITEMS, &c);
}

static void test_bad_quotes_are_rejected(void **state)
{
	static const char *const bad[] = {
		"\"",          /* lone quote */
		"\"abc",       /* unterminated */
		"\"a\"b\"",    /* unescaped quote inside */
		"\"a\" \"b\"", /* two quoted strings */
		"\"a\\x\"",    /* unknown escape */
		"\"a\\\"",     /* escaped closing quote, so unterminated */
		"\"abc\"x",    /* text after the closing quote */
	};
	char text[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(text, sizeof(text), "[main]\nname = x\npath = %s\n", bad[i]);
		expect_error(text, "line 3: bad quoted value");
	}
}

static void test_bad_lines_and_section_headers_are_rejected(void **state)
{
	(void)state;
	expect_error("[main]\nname\n", "line 2: expected 'key = value'");
	expect_error("[main\nname = a\n", "line 1: bad section header");
	expect_error("[]\n", "line 1: bad section header");
	expect_error("[main] x\n", "line 1: bad section header");
	expect_error("[main] # comment\n", "line 1: bad section header");
	expect_error("[a b c]\n", "line 1: bad section header");
	expect_error("[a/b]\n", "line 1: bad section header");
	expect_error("[main]\n = a\n", "line 2: bad key name");
	expect_error("[main]\nna me = a\n", "line 2: bad key name");
	expect_error("[main]\nna\"me = a\n", "line 2: bad key name");
	/* Surrounding blanks of a section header are fine. */
	expect_ok("  [ main ]  \nname = a\n");
	expect_ok("[peer   alice]\n[main]\nname = a\n");
}

/* "[main]\nname = a\n" then a third line of exactly n bytes (plus eol):
 * "path", blanks, "= ", and a value of vlen bytes. */
static char *long_line_text(size_t n, size_t vlen, const char *eol, size_t *len)
{
	static const char head[] = "[main]\nname = a\n";
	size_t pad = n - strlen("path") - strlen("= ") - vlen;
	char *t = malloc(sizeof(head) + n + strlen(eol));
	char *p = t;

	assert_non_null(t);
	assert_true(n >= strlen("path= ") + vlen);
	memcpy(p, head, strlen(head));
	p += strlen(head);
	memcpy(p, "path", 4);
	p += 4;
	memset(p, ' ', pad);
	p += pad;
	memcpy(p, "= ", 2);
	p += 2;
	memset(p, 'p', vlen);
	p += vlen;
	memcpy(p, eol, strlen(eol));
	p += strlen(eol);
	*len = (size_t)(p - t);
	return t;
}

static void test_line_of_exactly_conf_line_max_is_accepted(void **state)
{
	size_t len;
	char *text = long_line_text(CONF_LINE_MAX, CONF_VALUE_MAX, "\n", &len);
	struct cfg c;

	(void)state;
	assert_int_equal(parse_len(&c, text, len), 0);
	assert_int_equal(strlen(c.path), CONF_VALUE_MAX);
	conf_free(items, NITEMS, &c);
	free(text);
	/* A CR before the LF does not count towards the limit. */
	text = long_line_text(CONF_LINE_MAX, 10, "\r\n", &len);
	assert_int_equal(parse_len(&c, text, len), 0);
	conf_free(items, NITEMS, &c);
	free(text);
}

static void test_line_of_conf_line_max_plus_one_is_rejected(void **state)
{
	size_t len;
	char *text = long_line_text(CONF_LINE_MAX + 1, 10, "", &len);
	struct cfg c;

	(void)state;
	/* Even as the last line, without a newline. */
	assert_int_equal(parse_len(&c, text, len), -1);
	assert_contains(err, "line 3: longer than 4096 bytes");
	conf_free(items, NITEMS, &c);
	free(text);
}

static void test_value_over_conf_value_max_is_rejected(void **state)
{
	size_t len;
	char *text = long_line_text(CONF_VALUE_MAX + 20, CONF_VALUE_MAX + 1, "\n", &len);
	struct cfg c;

	(void)state;
	assert_int_equal(parse_len(&c, text, len), -1);
	assert_contains(err, "line 3: value longer than 1024 bytes");
	conf_free(items, NITEMS, &c);
	free(text);
}

static void test_control_characters_are_rejected(void **state)
{
	static const char *const bad[] = {"\x01", "\x1b", "\x7f", "\r", "\x0b", "\x0c"};
	static const char nul_text[] = "[main]\nname = a\0b\n";
	char text[64];
	struct cfg c;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(text, sizeof(text), "[main]\nname = a%sb\n", bad[i]);
		expect_error(text, "line 2: control character");
	}
	assert_int_equal(parse_len(&c, nul_text, sizeof(nul_text) - 1), -1);
	assert_contains(err, "line 2: control character");
	conf_free(items, NITEMS, &c);
	/* A tab is not a control character here. */
	assert_int_equal(parse(&c, "[main]\nname\t=\ta\tb\t\n"), 0);
	assert_string_equal(c.name, "a\tb");
	conf_free(items, NITEMS, &c);
}

static void test_file_larger_than_conf_file_max_is_rejected(void **state)
{
	size_t len = CONF_FILE_MAX + 1;
	char *text = malloc(len);
	struct cfg c;

	(void)state;
	assert_non_null(text);
	memset(text, '\n', len);
	assert_int_equal(parse_len(&c, text, len), -1);
	assert_contains(err, "larger than");
	conf_free(items, NITEMS, &c);
	free(text);
}

static void test_bom_is_accepted_at_the_start_only(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(parse(&c, "\xef\xbb\xbf[main]\nname = bom\n"), 0);
	assert_string_equal(c.name, "bom");
	conf_free(items, NITEMS, &c);
	expect_error("[main]\n\xef\xbb\xbfname = a\n", "line 2");
}

static void test_crlf_line_endings(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(parse(&c, "[main]\r\nname = crlf\r\n[net]\r\nport = 7\r\n\r\n"), 0);
	assert_string_equal(c.name, "crlf");
	assert_int_equal(c.port, 7);
	conf_free(items, NITEMS, &c);
	/* Line numbers count CRLF lines too. */
	expect_error("[main]\r\nname = a\r\nbad\r\n", "line 3:");
}

static void test_int_range_and_syntax_errors(void **state)
{
	struct cfg c;

	(void)state;
	expect_error("[main]\nname=a\n[net]\nport = 0\n", "line 4: port: out of range (1..65535)");
	expect_error("[main]\nname=a\n[net]\nport = 65536\n", "line 4: port: out of range");
	expect_error("[main]\nname=a\n[net]\nport = -1\n", "out of range");
	expect_error("[main]\nname=a\n[net]\nport = abc\n", "line 4: port: expected an integer");
	expect_error("[main]\nname=a\n[net]\nport = 5x\n", "expected an integer");
	expect_error("[main]\nname=a\n[net]\nport = 0x10\n", "expected an integer");
	expect_error("[main]\nname=a\n[net]\nport = 1.5\n", "expected an integer");
	expect_error("[main]\nname=a\n[net]\nport =\n", "expected an integer");
	expect_error("[main]\nname=a\n[net]\ncount = 99999999999999999999\n",
		     "expected an integer");
	/* Both bounds are inclusive. */
	assert_int_equal(parse(&c, "[main]\nname=a\n[net]\nport = 1\n"), 0);
	assert_int_equal(c.port, 1);
	conf_free(items, NITEMS, &c);
	/* min == max == 0 means unbounded. */
	assert_int_equal(parse(&c, "[main]\nname=a\n[net]\ncount = -9223372036854775808\n"), 0);
	assert_int_equal(c.count, INT64_MIN);
	conf_free(items, NITEMS, &c);
}

static void test_bool_spellings(void **state)
{
	static const struct {
		const char *v;
		int want;
	} ok[] = {{"yes", 1}, {"true", 1},  {"on", 1},  {"1", 1}, {"YES", 1}, {"True", 1},
		  {"no", 0},  {"false", 0}, {"off", 0}, {"0", 0}, {"NO", 0},  {"Off", 0}};
	static const char *const bad[] = {"y", "n", "2", "maybe", "yes!", "\"\"", "-1", "t"};
	char text[128];
	struct cfg c;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		snprintf(text, sizeof(text), "[main]\nname=a\n[net]\nflag = %s\n", ok[i].v);
		assert_int_equal(parse(&c, text), 0);
		if (c.flag != ok[i].want)
			fail_msg("'%s' gave %d", ok[i].v, c.flag);
		conf_free(items, NITEMS, &c);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		snprintf(text, sizeof(text), "[main]\nname=a\n[net]\nflag = %s\n", bad[i]);
		expect_error(text, "line 4: flag: expected yes or no");
	}
}

static void test_duration_values_and_range(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(parse(&c, "[main]\nname=a\n[net]\nttl = 90\n"), 0);
	assert_int_equal(c.ttl, 90);
	conf_free(items, NITEMS, &c);
	assert_int_equal(parse(&c, "[main]\nname=a\n[net]\nttl = 7d\n"), 0);
	assert_int_equal(c.ttl, 7 * 86400);
	conf_free(items, NITEMS, &c);
	expect_error("[main]\nname=a\n[net]\nttl = 59s\n",
		     "line 4: ttl: out of range (60..604800)");
	expect_error("[main]\nname=a\n[net]\nttl = 8d\n", "out of range");
	expect_error("[main]\nname=a\n[net]\nttl = 5w\n", "expected a duration");
	expect_error("[main]\nname=a\n[net]\nttl = -5m\n", "expected a duration");
}

static void test_errors_keep_obj_releasable(void **state)
{
	struct cfg c;

	(void)state;
	/* Strings set before the error are owned by obj and freed by conf_free
	 * (valgrind checks that nothing leaks). */
	assert_int_equal(parse(&c, "[main]\nname = a\nmotto = m\n[net]\nport = x\n"), -1);
	assert_string_equal(c.name, "a");
	conf_free(items, NITEMS, &c);
	assert_null(c.motto);
}

static void test_default_that_does_not_parse_is_reported(void **state)
{
	static const struct conf_item bad_items[] = {
		{"s", "n", CONF_INT, 0, "many", 0, 0, 0, "bad default"},
	};
	int64_t v = 0;

	(void)state;
	assert_int_equal(conf_parse(bad_items, 1, &v, (const uint8_t *)"", 0, err, sizeof(err)),
			 -1);
	assert_contains(err, "default of n");
}

static char *print_to_string(const struct cfg *c)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	conf_print(items, NITEMS, c, f);
	fclose(f);
	return out;
}

static void test_conf_print_output_reparses_to_the_same_values(void **state)
{
	struct cfg a, b;
	char *text;

	(void)state;
	assert_int_equal(parse(&a, "[main]\n"
				   "name = \" lead and trail \"\n"
				   "secret = s3cr3t\n"
				   "path = \"\\\"quoted\\\" \\\\ \"\n"
				   "motto = \"\"\n"
				   "[net]\n"
				   "port = 443\n"
				   "count = -7\n"
				   "flag = on\n"
				   "ttl = 90\n"
				   "[peer alice]\n"
				   "addr = #not a comment; a\\b\n"),
			 0);
	text = print_to_string(&a);
	/* The secret is hidden; give it back so that the text parses the same. */
	assert_contains(text, "secret = (secret)\n");
	assert_null(strstr(text, "s3cr3t"));
	assert_int_equal(parse(&b, text), 0);
	assert_string_equal(b.secret, "(secret)");
	assert_string_equal(a.name, b.name);
	assert_string_equal(a.path, b.path);
	assert_string_equal(a.motto, b.motto);
	assert_string_equal(a.peer_addr, b.peer_addr);
	assert_int_equal(a.port, b.port);
	assert_int_equal(a.count, b.count);
	assert_int_equal(a.flag, b.flag);
	assert_int_equal(a.ttl, b.ttl);
	assert_contains(text, "[peer alice]\n");
	assert_contains(text, "ttl = 90s\n");
	assert_contains(text, "flag = yes\n");
	free(text);
	conf_free(items, NITEMS, &a);
	conf_free(items, NITEMS, &b);
}

static void test_conf_print_of_the_longest_escaped_value_reads_back(void **state)
{
	char *text = malloc(CONF_VALUE_MAX * 2 + 64);
	char *v = malloc(CONF_VALUE_MAX + 1);
	char *out;
	struct cfg a, b;
	size_t n;

	(void)state;
	assert_non_null(text);
	assert_non_null(v);
	/* Every byte a quote or backslash: the printed form doubles. */
	for (int i = 0; i < CONF_VALUE_MAX; i++)
		v[i] = i % 2 ? '\\' : '"';
	v[CONF_VALUE_MAX] = '\0';
	n = (size_t)sprintf(text, "[main]\nname = a\npath = \"");
	for (int i = 0; i < CONF_VALUE_MAX; i++) {
		text[n++] = '\\';
		text[n++] = v[i];
	}
	text[n++] = '"';
	text[n] = '\0';
	assert_int_equal(parse(&a, text), 0);
	assert_string_equal(a.path, v);
	out = print_to_string(&a);
	if (parse(&b, out) != 0)
		fail_msg("printed configuration does not parse: %s", err);
	assert_string_equal(b.path, v);
	free(out);
	free(text);
	free(v);
	conf_free(items, NITEMS, &a);
	conf_free(items, NITEMS, &b);
}

static void test_conf_print_shows_defaults_and_unset_strings(void **state)
{
	struct cfg a, b;
	char *text;

	(void)state;
	assert_int_equal(parse(&a, "[main]\nname = n\n"), 0);
	text = print_to_string(&a);
	assert_contains(text, "[main]\nname = n\nsecret = (secret)\npath = /var/lib/p2psip\n");
	assert_contains(text, "# motto is not set\n");
	assert_contains(text, "\n[net]\nport = 5060\ncount = 0\nflag = no\nttl = 1h\n");
	assert_contains(text, "# addr is not set\n");
	/* Unset strings stay unset after a round trip. */
	assert_int_equal(parse(&b, text), 0);
	assert_null(b.motto);
	assert_null(b.peer_addr);
	free(text);
	conf_free(items, NITEMS, &a);
	conf_free(items, NITEMS, &b);
}

static void test_conf_load_reads_a_file_and_prefixes_errors_with_its_path(void **state)
{
	char *dir = tu_tmpdir_new();
	char *good = tu_path(dir, "good.conf");
	char *bad = tu_path(dir, "bad.conf");
	char *missing = tu_path(dir, "missing.conf");
	struct cfg c;

	(void)state;
	assert_int_equal(tu_write(good, "[main]\nname = f\n", 16), 0);
	assert_int_equal(tu_write(bad, "[main]\nname = f\nwhat\n", 21), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(conf_load(items, NITEMS, &c, good, err, sizeof(err)), 0);
	assert_string_equal(c.name, "f");
	conf_free(items, NITEMS, &c);

	memset(&c, 0, sizeof(c));
	assert_int_equal(conf_load(items, NITEMS, &c, bad, err, sizeof(err)), -1);
	assert_contains(err, bad);
	assert_contains(err, "line 3:");
	conf_free(items, NITEMS, &c);

	memset(&c, 0, sizeof(c));
	assert_int_equal(conf_load(items, NITEMS, &c, missing, err, sizeof(err)), -1);
	assert_contains(err, missing);
	assert_string_equal(c.path, "/var/lib/p2psip"); /* defaults are in */
	conf_free(items, NITEMS, &c);
	free(good);
	free(bad);
	free(missing);
	tu_tmpdir_free(dir);
}

struct seen {
	char log[1024];
};

static int record(void *ctx, const char *section, const char *key, const char *value, int lineno,
		  char *e, size_t elen)
{
	struct seen *s = ctx;
	size_t n = strlen(s->log);

	if (key == NULL) { /* a section header */
		snprintf(s->log + n, sizeof(s->log) - n, "%d[%s];", lineno, section);
		return 0;
	}
	snprintf(s->log + n, sizeof(s->log) - n, "%d[%s]%s=%s;", lineno, section, key, value);
	if (strcmp(key, "stop") == 0) {
		err_set(e, elen, "line %d: stopped", lineno);
		return -1;
	}
	return 0;
}

static void test_ini_parse_reports_each_key_with_section_and_line(void **state)
{
	static const char text[] = "top = 1\n[a]\nk = v\n\n[b c]\n k2 = \" x \" \nlast=";
	struct seen s = {""};

	(void)state;
	assert_int_equal(
		ini_parse((const uint8_t *)text, strlen(text), record, &s, err, sizeof(err)), 0);
	assert_string_equal(s.log, "1[]top=1;2[a];3[a]k=v;5[b c];6[b c]k2= x ;7[b c]last=;");
	/* A handler's error stops the parse and is passed through. */
	s.log[0] = '\0';
	assert_int_equal(
		ini_parse((const uint8_t *)"a=1\nstop=1\nb=2\n", 14, record, &s, err, sizeof(err)),
		-1);
	assert_string_equal(err, "line 2: stopped");
	assert_string_equal(s.log, "1[]a=1;2[]stop=1;");
}

static void test_split_list_trims_and_skips_empty_items(void **state)
{
	char s[] = " a, b ,,c ,\t d\t, ";
	char *it[8];

	(void)state;
	assert_int_equal(conf_split_list(s, it, 8), 4);
	assert_string_equal(it[0], "a");
	assert_string_equal(it[1], "b");
	assert_string_equal(it[2], "c");
	assert_string_equal(it[3], "d");
}

static void test_split_list_limits(void **state)
{
	char exact[] = "a,b,c";
	char over[] = "a,b,c,d";
	char empty[] = "";
	char blanks[] = " , ,";
	char *it[3];

	(void)state;
	assert_int_equal(conf_split_list(exact, it, 3), 3);
	assert_string_equal(it[2], "c");
	assert_int_equal(conf_split_list(over, it, 3), -1);
	assert_int_equal(conf_split_list(empty, it, 3), 0);
	assert_int_equal(conf_split_list(blanks, it, 3), 0);
}

/* ---- repeated "[KIND NAME]" sections ---- */

struct account {
	char *name;
	char *password;
	int64_t expires;
};

struct gcfg {
	char *overlay;
	struct account *accounts;
	int naccounts;
};

static const struct conf_item gitems[] = {
	{"node", "overlay", CONF_STRING, offsetof(struct gcfg, overlay), NULL, 0, 0, CONF_REQUIRED,
	 ""},
};
static const struct conf_item account_items[] = {
	{"", "password", CONF_STRING, offsetof(struct account, password), NULL, 0, 0,
	 CONF_REQUIRED | CONF_SECRET, ""},
	{"", "expires", CONF_DURATION, offsetof(struct account, expires), "1h", 60, 86400, 0, ""},
};
static const struct conf_group groups[] = {
	{"account", account_items, ARRAY_LEN(account_items), sizeof(struct account),
	 offsetof(struct gcfg, accounts), offsetof(struct gcfg, naccounts),
	 offsetof(struct account, name), 1, 3},
};

static int gparse(struct gcfg *c, const char *text)
{
	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	return conf_parse_groups(gitems, ARRAY_LEN(gitems), groups, 1, c, (const uint8_t *)text,
				 strlen(text), err, sizeof(err));
}

static void gfree(struct gcfg *c)
{
	conf_free_groups(gitems, ARRAY_LEN(gitems), groups, 1, c);
}

static void gexpect_error(const char *text, const char *fragment)
{
	struct gcfg c;

	if (gparse(&c, text) != -1)
		fail_msg("accepted: %s", text);
	assert_contains(err, fragment);
	gfree(&c);
}

static void test_group_sections_fill_an_array(void **state)
{
	struct gcfg c;

	(void)state;
	assert_int_equal(gparse(&c, "[account alice]\n"
				    "password = a\n"
				    "expires = 10m\n"
				    "[node]\n"
				    "overlay = o.example\n"
				    "[account bob@lab.example]\n"
				    "password = b\n"),
			 0);
	assert_string_equal(c.overlay, "o.example");
	assert_int_equal(c.naccounts, 2);
	assert_string_equal(c.accounts[0].name, "alice");
	assert_string_equal(c.accounts[0].password, "a");
	assert_int_equal(c.accounts[0].expires, 600);
	assert_string_equal(c.accounts[1].name, "bob@lab.example");
	assert_int_equal(c.accounts[1].expires, 3600); /* the default */
	gfree(&c);
	assert_null(c.accounts);
	assert_int_equal(c.naccounts, 0);
}

static void test_group_section_errors(void **state)
{
	(void)state;
	gexpect_error("[node]\noverlay = o\n", "at least 1 [account NAME] section is needed");
	gexpect_error("[node]\noverlay = o\n[account a]\nexpires = 5m\n",
		      "[account a] password is required");
	gexpect_error("[node]\noverlay = o\n[account a]\npassword = x\n[account a]\npassword = y\n",
		      "line 5: [account a] appears twice");
	gexpect_error("[node]\noverlay = o\n[account a b]\npassword = x\n",
		      "line 3: bad section header");
	gexpect_error("[node]\noverlay = o\n[account a]\npassword = x\ncolour = red\n",
		      "line 5: unknown key 'colour' in [account ...]");
	gexpect_error("[node]\noverlay = o\n[account a]\npassword = x\npassword = y\n",
		      "line 5: password is set twice");
	gexpect_error("[node]\noverlay = o\n[account a]\npassword = x\nexpires = 1s\n",
		      "line 5: expires: out of range");
	gexpect_error("[node]\noverlay = o\n[account a]\npassword = 1\n[account b]\npassword = 2\n"
		      "[account c]\npassword = 3\n[account d]\npassword = 4\n",
		      "more than 3 [account ...] sections");
	gexpect_error("[node]\noverlay = o\n[accounts a]\npassword = x\n",
		      "unknown section [accounts a]");
}

static void test_group_sections_print_and_read_back(void **state)
{
	struct gcfg a, b;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_int_equal(gparse(&a, "[node]\noverlay = o\n[account alice]\npassword = pw\n"
				    "[account bob]\npassword = pw2\nexpires = 2h\n"),
			 0);
	conf_print_groups(gitems, ARRAY_LEN(gitems), groups, 1, &a, f);
	fclose(f);
	assert_contains(text, "[account alice]\npassword = (secret)\nexpires = 1h\n");
	assert_contains(text, "[account bob]\npassword = (secret)\nexpires = 2h\n");
	assert_null(strstr(text, "pw2"));
	assert_int_equal(gparse(&b, text), 0);
	assert_int_equal(b.naccounts, 2);
	assert_string_equal(b.accounts[1].name, "bob");
	assert_int_equal(b.accounts[1].expires, 7200);
	free(text);
	gfree(&a);
	gfree(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_fill_every_type),
		cmocka_unit_test(test_group_sections_fill_an_array),
		cmocka_unit_test(test_group_section_errors),
		cmocka_unit_test(test_group_sections_print_and_read_back),
		cmocka_unit_test(test_each_type_is_parsed),
		cmocka_unit_test(test_missing_required_key_is_an_error),
		cmocka_unit_test(test_unknown_section_error_names_line_and_section),
		cmocka_unit_test(test_unknown_key_error_names_line_and_key),
		cmocka_unit_test(test_duplicate_key_is_an_error),
		cmocka_unit_test(test_quoted_values_keep_spaces_and_escapes),
		cmocka_unit_test(test_bad_quotes_are_rejected),
		cmocka_unit_test(test_bad_lines_and_section_headers_are_rejected),
		cmocka_unit_test(test_line_of_exactly_conf_line_max_is_accepted),
		cmocka_unit_test(test_line_of_conf_line_max_plus_one_is_rejected),
		cmocka_unit_test(test_value_over_conf_value_max_is_rejected),
		cmocka_unit_test(test_control_characters_are_rejected),
		cmocka_unit_test(test_file_larger_than_conf_file_max_is_rejected),
		cmocka_unit_test(test_bom_is_accepted_at_the_start_only),
		cmocka_unit_test(test_crlf_line_endings),
		cmocka_unit_test(test_int_range_and_syntax_errors),
		cmocka_unit_test(test_bool_spellings),
		cmocka_unit_test(test_duration_values_and_range),
		cmocka_unit_test(test_errors_keep_obj_releasable),
		cmocka_unit_test(test_default_that_does_not_parse_is_reported),
		cmocka_unit_test(test_conf_print_output_reparses_to_the_same_values),
		cmocka_unit_test(test_conf_print_of_the_longest_escaped_value_reads_back),
		cmocka_unit_test(test_conf_print_shows_defaults_and_unset_strings),
		cmocka_unit_test(test_conf_load_reads_a_file_and_prefixes_errors_with_its_path),
		cmocka_unit_test(test_ini_parse_reports_each_key_with_section_and_line),
		cmocka_unit_test(test_split_list_trims_and_skips_empty_items),
		cmocka_unit_test(test_split_list_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
