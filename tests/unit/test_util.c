/* Unit tests of common/util.c: hex, whole-file read and atomic write with
 * limits and modes, parent directories, host:port splitting, durations,
 * account names and the small string and time helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int setup(void **state)
{
	*state = tu_tmpdir_new();
	return *state != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	tu_tmpdir_free(*state);
	return 0;
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* hex */

static void test_hex_round_trips_every_byte_value(void **state)
{
	uint8_t in[256], back[256];
	char hex[513];

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	hex_encode(in, sizeof(in), hex);
	assert_int_equal(strlen(hex), 512);
	assert_memory_equal(hex, "000102", 6);
	assert_string_equal(hex + 500, "FAFBFCFDFEFF");
	assert_int_equal(hex_decode(hex, back, sizeof(back)), 0);
	assert_memory_equal(in, back, sizeof(in));
}

static void test_hex_encode_of_nothing_is_empty_string(void **state)
{
	char out[1] = {'x'};

	(void)state;
	hex_encode((const uint8_t *)"", 0, out);
	assert_int_equal(out[0], '\0');
}

static void test_hex_decode_accepts_lowercase(void **state)
{
	uint8_t b[2];

	(void)state;
	assert_int_equal(hex_decode("abCD", b, 2), 0);
	assert_int_equal(b[0], 0xab);
	assert_int_equal(b[1], 0xcd);
}

static void test_hex_decode_rejects_bad_input(void **state)
{
	/* Right length (4 digits for 2 bytes), wrong characters. */
	static const char *const bad_chars[] = {"0g00",
						"g000",
						" 000",
						"00 0",
						"000 ",
						"+000",
						"0x00",
						"\xff"
						"000",
						"00:0",
						"-100"};
	/* Wrong length for 2 bytes. */
	static const char *const bad_len[] = {"", "0", "000", "00000", "000000"};
	uint8_t b[2];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad_chars); i++) {
		if (hex_decode(bad_chars[i], b, 2) != -1)
			fail_msg("'%s' accepted", bad_chars[i]);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad_len); i++) {
		if (hex_decode(bad_len[i], b, 2) != -1)
			fail_msg("'%s' accepted", bad_len[i]);
	}
	assert_int_equal(hex_decode("", b, 0), 0);
}

/* files */

static void test_file_read_accepts_exactly_max_bytes(void **state)
{
	char *p = tu_path(*state, "f");
	char err[256] = "";
	size_t len = 99;
	char *data;

	assert_int_equal(tu_write(p, "0123456789", 10), 0);
	data = file_read(p, 10, &len, err, sizeof(err));
	assert_non_null(data);
	assert_int_equal(len, 10);
	assert_string_equal(data, "0123456789"); /* NUL-terminated */
	free(data);
	free(p);
}

static void test_file_read_refuses_max_plus_one(void **state)
{
	char *p = tu_path(*state, "f");
	char err[256] = "";
	size_t len = 99;

	assert_int_equal(tu_write(p, "0123456789A", 11), 0);
	assert_null(file_read(p, 10, &len, err, sizeof(err)));
	assert_contains(err, "larger than 10 bytes");
	assert_int_equal(len, 99);
	free(p);
}

static void test_file_read_of_empty_file_and_missing_file(void **state)
{
	char *p = tu_path(*state, "empty");
	char *q = tu_path(*state, "missing");
	char err[256] = "";
	size_t len = 99;
	char *data;

	assert_int_equal(tu_write(p, "", 0), 0);
	data = file_read(p, 0, &len, err, sizeof(err));
	assert_non_null(data);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);

	assert_null(file_read(q, 100, &len, err, sizeof(err)));
	assert_contains(err, q);
	assert_contains(err, "No such file");
	/* A directory is not a file. */
	assert_null(file_read(*state, 100, NULL, err, sizeof(err)));
	free(p);
	free(q);
}

static void test_file_read_keeps_binary_content(void **state)
{
	char *p = tu_path(*state, "bin");
	const char bin[] = {'a', '\0', 'b', '\n', '\xff'};
	size_t len;
	char *data;

	assert_int_equal(tu_write(p, bin, sizeof(bin)), 0);
	data = file_read(p, 100, &len, NULL, 0);
	assert_non_null(data);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(data, bin, sizeof(bin));
	free(data);
	free(p);
}

static void test_file_write_creates_with_the_given_mode(void **state)
{
	char *p = tu_path(*state, "secret");
	char *q = tu_path(*state, "public");
	char err[256] = "";
	mode_t old = umask(077);
	size_t len;
	char *data;

	assert_int_equal(file_write(p, "abc", 3, 0600, 0, err, sizeof(err)), 0);
	/* The mode is honoured whatever the umask. */
	assert_int_equal(file_write(q, "xyz", 3, 0644, 1, err, sizeof(err)), 0);
	umask(old);
	assert_int_equal(file_mode(p), 0600);
	assert_int_equal(file_mode(q), 0644);
	data = file_read(p, 100, &len, NULL, 0);
	assert_non_null(data);
	assert_string_equal(data, "abc");
	free(data);
	/* No temporary file is left behind. */
	assert_int_equal(dir_entries(*state), 2);
	free(p);
	free(q);
}

static void test_file_write_without_excl_replaces_the_file(void **state)
{
	char *p = tu_path(*state, "f");
	char *data;

	assert_int_equal(file_write(p, "first", 5, 0600, 0, NULL, 0), 0);
	assert_int_equal(file_write(p, "2nd", 3, 0640, 0, NULL, 0), 0);
	data = file_read(p, 100, NULL, NULL, 0);
	assert_non_null(data);
	assert_string_equal(data, "2nd");
	assert_int_equal(file_mode(p), 0640);
	assert_int_equal(dir_entries(*state), 1);
	free(data);
	free(p);
}

static void test_file_write_with_excl_refuses_an_existing_file(void **state)
{
	char *p = tu_path(*state, "f");
	char err[256] = "";
	char *data;

	assert_int_equal(tu_write(p, "keep me", 7), 0);
	assert_int_equal(file_write(p, "new", 3, 0600, 1, err, sizeof(err)), -1);
	assert_contains(err, p);
	data = file_read(p, 100, NULL, NULL, 0);
	assert_non_null(data);
	assert_string_equal(data, "keep me");
	assert_int_equal(dir_entries(*state), 1);
	free(data);
	free(p);
}

static void test_file_write_into_missing_directory_fails(void **state)
{
	char *p = tu_path(*state, "nodir/f");
	char err[256] = "";

	assert_int_equal(file_write(p, "x", 1, 0600, 0, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	assert_int_equal(file_exists(p), 0);
	free(p);
}

static void test_file_exists_tells_files_apart_from_missing_ones(void **state)
{
	char *p = tu_path(*state, "f");

	assert_int_equal(file_exists(p), 0);
	assert_int_equal(tu_write(p, "", 0), 0);
	assert_int_equal(file_exists(p), 1);
	assert_int_equal(file_exists(*state), 1);
	free(p);
}

static void test_mkdir_parents_creates_each_missing_parent(void **state)
{
	char *p = tu_path(*state, "a/b/c/file.db");
	char *a = tu_path(*state, "a");
	char *c = tu_path(*state, "a/b/c");
	char *f = tu_path(*state, "a/b/c/file.db");
	char err[256] = "";
	struct stat st;

	assert_int_equal(mkdir_parents(p, 0700, err, sizeof(err)), 0);
	assert_int_equal(stat(c, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(file_mode(a), 0700);
	/* The last component is the file itself: not created. */
	assert_int_equal(file_exists(f), 0);
	/* Existing parents are fine. */
	assert_int_equal(mkdir_parents(p, 0700, err, sizeof(err)), 0);
	free(p);
	free(a);
	free(c);
	free(f);
}

static void test_mkdir_parents_reports_errors_and_long_paths(void **state)
{
	char *blocker = tu_path(*state, "plain");
	char *p = tu_path(*state, "plain/sub/x");
	char *big = malloc(5000);
	char err[8192] = "";

	assert_int_equal(tu_write(blocker, "", 0), 0);
	/* "plain" is a file, so "plain/sub" cannot be made. */
	assert_int_equal(mkdir_parents(p, 0700, err, sizeof(err)), -1);
	assert_contains(err, "plain/sub");

	assert_non_null(big);
	memset(big, 'a', 4999);
	big[0] = '/';
	big[4999] = '\0';
	assert_int_equal(mkdir_parents(big, 0700, err, sizeof(err)), -1);
	assert_contains(err, "path too long");
	free(big);
	free(blocker);
	free(p);
}

/* addresses */

static void test_addr_split_ipv4_and_names(void **state)
{
	char host[64];
	uint16_t port = 0;

	(void)state;
	assert_int_equal(addr_split("127.0.0.1:5060", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 5060);
	assert_int_equal(addr_split("boot.example.org:443", host, sizeof(host), &port), 0);
	assert_string_equal(host, "boot.example.org");
	assert_int_equal(port, 443);
	assert_int_equal(addr_split("h:0", host, sizeof(host), &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(addr_split("h:65535", host, sizeof(host), &port), 0);
	assert_int_equal(port, 65535);
}

static void test_addr_split_bracketed_ipv6(void **state)
{
	char host[64];
	uint16_t port = 0;

	(void)state;
	assert_int_equal(addr_split("[::1]:8443", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 8443);
	assert_int_equal(addr_split("[2001:db8::5]:1", host, sizeof(host), &port), 0);
	assert_string_equal(host, "2001:db8::5");
	assert_int_equal(port, 1);
}

static void test_addr_split_rejects_bad_input(void **state)
{
	static const char *const bad[] = {
		"host",    "host:",    "host:65536", "host:-1", "host:99999999999999999999",
		"host:8a", "host:a8",  "host:http",  ":80",     "::1:80",
		"[::1]",   "[::1]80",  "[::1]:",     "[]:80",   "[::1:80",
		"a:b:80",  "host:80:", "host:0x50",  "",        "[::1]:-5",
	};
	char host[64] = "unchanged";
	uint16_t port = 7;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		if (addr_split(bad[i], host, sizeof(host), &port) != -1)
			fail_msg("'%s' was accepted (host '%s', port %u)", bad[i], host, port);
	}
	assert_string_equal(host, "unchanged");
	assert_int_equal(port, 7);
}

static void test_addr_split_honours_the_host_buffer_size(void **state)
{
	char host[8];
	uint16_t port;

	(void)state;
	assert_int_equal(addr_split("1234567:1", host, sizeof(host), &port), 0);
	assert_string_equal(host, "1234567");
	assert_int_equal(addr_split("12345678:1", host, sizeof(host), &port), -1);
	assert_int_equal(addr_split("[1:2:3:4:5]:1", host, sizeof(host), &port), -1);
}

static void test_addr_ip_port(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;

	(void)state;
	assert_int_equal(addr_ip_port("192.0.2.7", 5060, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 5060);
	assert_int_equal(addr_ip_port("2001:db8::1", 443, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 443);
	assert_int_equal(addr_ip_port("localhost", 1, &ss, NULL), -1);
	assert_int_equal(addr_ip_port("", 1, &ss, NULL), -1);
}

static void test_addr_is_ip_only_for_literals(void **state)
{
	(void)state;
	assert_int_equal(addr_is_ip("127.0.0.1"), 1);
	assert_int_equal(addr_is_ip("0.0.0.0"), 1);
	assert_int_equal(addr_is_ip("::1"), 1);
	assert_int_equal(addr_is_ip("2001:db8::1"), 1);
	assert_int_equal(addr_is_ip("::ffff:10.0.0.1"), 1);
	assert_int_equal(addr_is_ip("localhost"), 0);
	assert_int_equal(addr_is_ip("1.2.3"), 0);
	assert_int_equal(addr_is_ip("256.1.1.1"), 0);
	assert_int_equal(addr_is_ip("[::1]"), 0);
	assert_int_equal(addr_is_ip("1.2.3.4 "), 0);
	assert_int_equal(addr_is_ip(""), 0);
}

/* durations */

static void test_duration_parse_units(void **state)
{
	static const struct {
		const char *s;
		int64_t v;
	} ok[] = {
		{"0", 0},
		{"90", 90},
		{"90s", 90},
		{"5m", 300},
		{"24h", 86400},
		{"7d", 604800},
		{"0d", 0},
		{"007s", 7},
		{"9223372036854775807", INT64_MAX},
		{"9223372036854775807s", INT64_MAX},
		{"106751991167300d", 106751991167300LL * 86400},
	};
	int64_t v;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		v = -1;
		if (duration_parse(ok[i].s, &v) != 0 || v != ok[i].v)
			fail_msg("'%s' gave %lld", ok[i].s, (long long)v);
	}
}

static void test_duration_parse_rejects_bad_input_and_overflow(void **state)
{
	static const char *const bad[] = {
		"",
		"s",
		"-5",
		"+5",
		" 5",
		"5 ",
		"5 s",
		"5ss",
		"5sm",
		"5x",
		"5M",
		"5S",
		"1.5h",
		"0x10",
		"1e3",
		"h5",
		"9223372036854775808",     /* over INT64_MAX */
		"99999999999999999999999", /* over long long */
		"106751991167301d",        /* days that overflow int64 seconds */
		"153722867280912931m",     /* minutes that overflow */
		"2562047788015216h",       /* hours that overflow */
	};
	int64_t v = 42;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		if (duration_parse(bad[i], &v) != -1)
			fail_msg("'%s' was accepted as %lld", bad[i], (long long)v);
	}
	assert_int_equal(v, 42);
}

static void test_duration_format_picks_the_largest_exact_unit(void **state)
{
	static const struct {
		int64_t v;
		const char *s;
	} t[] = {
		{0, "0s"},      {1, "1s"},      {59, "59s"},       {60, "1m"},
		{90, "90s"},    {3600, "1h"},   {5400, "90m"},     {86400, "1d"},
		{90000, "25h"}, {604800, "7d"}, {86401, "86401s"},
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		duration_format(t[i].v, out, sizeof(out));
		assert_string_equal(out, t[i].s);
	}
}

static void test_duration_format_then_parse_round_trips(void **state)
{
	static const int64_t vals[] = {
		0,     1,     59,     60,     61,       3599,      3600,
		86399, 86400, 604800, 123456, 31536000, INT64_MAX, INT64_MAX / 86400 * 86400};
	char out[32];
	int64_t back;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(vals); i++) {
		duration_format(vals[i], out, sizeof(out));
		back = -1;
		assert_int_equal(duration_parse(out, &back), 0);
		if (back != vals[i])
			fail_msg("%lld -> '%s' -> %lld", (long long)vals[i], out, (long long)back);
	}
}

/* names */

static void test_name_is_valid_boundaries(void **state)
{
	char n[NAME_MAX_LEN + 2];

	(void)state;
	memset(n, 'a', sizeof(n));
	n[NAME_MAX_LEN] = '\0';
	assert_int_equal(name_is_valid(n), 1); /* 64 */
	n[NAME_MAX_LEN] = 'a';
	n[NAME_MAX_LEN + 1] = '\0';
	assert_int_equal(name_is_valid(n), 0); /* 65 */
	assert_int_equal(name_is_valid("a"), 1);
	assert_int_equal(name_is_valid("7"), 1);
	assert_int_equal(name_is_valid("alice.smith_2-x"), 1);
	assert_int_equal(name_is_valid("a."), 1);
}

static void test_name_is_valid_rejects_bad_names(void **state)
{
	static const char *const bad[] = {"",
					  "Alice",
					  "aliCe",
					  ".alice",
					  "-alice",
					  "_alice",
					  "a b",
					  "a\"b",
					  "'a'",
					  "a/b",
					  "a\\b",
					  "a@b",
					  "a:b",
					  "a\tb",
					  "a\nb",
					  "caf\xc3\xa9",
					  "\xc3\xa9t\xc3\xa9",
					  "a;b",
					  "a%b",
					  "a*"};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		if (name_is_valid(bad[i]))
			fail_msg("'%s' was accepted", bad[i]);
	}
}

/* small helpers */

static void test_str_copy_truncates_and_returns_source_length(void **state)
{
	char b[4] = "zzz";

	(void)state;
	assert_int_equal(str_copy(b, "abcdef", sizeof(b)), 6);
	assert_string_equal(b, "abc");
	assert_int_equal(str_copy(b, "ab", sizeof(b)), 2);
	assert_string_equal(b, "ab");
	assert_int_equal(str_copy(b, "xyz", 0), 3);
	assert_string_equal(b, "ab");
}

static void test_err_set_tolerates_null_and_truncates(void **state)
{
	char b[6];

	(void)state;
	err_set(NULL, 10, "x %d", 1);
	err_set(b, 0, "x");
	err_set(b, sizeof(b), "hello %s", "world");
	assert_string_equal(b, "hello");
}

static void test_clocks_are_sane(void **state)
{
	uint64_t a = time_mono_us(), b;
	int64_t now = time_now();

	(void)state;
	assert_true(now - (int64_t)time(NULL) <= 1 && (int64_t)time(NULL) - now <= 1);
	b = time_mono_us();
	assert_true(b >= a);
	assert_true(time_mono_ms() >= a / 1000);
}

static void test_tbucket_starts_full_refills_and_caps(void **state)
{
	struct tbucket b = {0};

	(void)state;
	for (int i = 0; i < 4; i++) /* burst 4, full at first use */
		assert_true(tbucket_take(&b, 2, 4, 1, 1000));
	assert_false(tbucket_take(&b, 2, 4, 1, 1000));
	assert_false(tbucket_take(&b, 2, 4, 1, 1400));  /* 0.8 tokens */
	assert_true(tbucket_take(&b, 2, 4, 1, 1500));   /* 1 token after 0.5 s at 2/s */
	assert_false(tbucket_take(&b, 2, 4, 5, 99000)); /* a cost over burst never passes */
	assert_true(tbucket_take(&b, 2, 4, 4, 99000));  /* refilled to burst, not past it */
	assert_false(tbucket_take(&b, 2, 4, 1, 50000)); /* a clock gone back refills nothing */
}

/* FNV-1a 64 test vectors (the FNV reference). */
static void test_str_hash(void **state)
{
	(void)state;
	assert_true(str_hash("") == 0xcbf29ce484222325ull);
	assert_true(str_hash("a") == 0xaf63dc4c8601ec8cull);
	assert_true(str_hash("foobar") == 0x85944171f73967e8ull);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_str_hash),
		T(test_hex_round_trips_every_byte_value),
		T(test_hex_encode_of_nothing_is_empty_string),
		T(test_hex_decode_accepts_lowercase),
		T(test_hex_decode_rejects_bad_input),
		T(test_file_read_accepts_exactly_max_bytes),
		T(test_file_read_refuses_max_plus_one),
		T(test_file_read_of_empty_file_and_missing_file),
		T(test_file_read_keeps_binary_content),
		T(test_file_write_creates_with_the_given_mode),
		T(test_file_write_without_excl_replaces_the_file),
		T(test_file_write_with_excl_refuses_an_existing_file),
		T(test_file_write_into_missing_directory_fails),
		T(test_file_exists_tells_files_apart_from_missing_ones),
		T(test_mkdir_parents_creates_each_missing_parent),
		T(test_mkdir_parents_reports_errors_and_long_paths),
		T(test_addr_split_ipv4_and_names),
		T(test_addr_split_bracketed_ipv6),
		T(test_addr_split_rejects_bad_input),
		T(test_addr_split_honours_the_host_buffer_size),
		T(test_addr_ip_port),
		T(test_addr_is_ip_only_for_literals),
		T(test_duration_parse_units),
		T(test_duration_parse_rejects_bad_input_and_overflow),
		T(test_duration_format_picks_the_largest_exact_unit),
		T(test_duration_format_then_parse_round_trips),
		T(test_name_is_valid_boundaries),
		T(test_name_is_valid_rejects_bad_names),
		T(test_str_copy_truncates_and_returns_source_length),
		T(test_err_set_tolerates_null_and_truncates),
		T(test_clocks_are_sane),
		T(test_tbucket_starts_full_refills_and_caps),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
