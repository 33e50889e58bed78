/* logind_auth: scrypt password hashes, their stored form and its parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "logind_auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Small parameters keep the file fast under valgrind. */
static const struct pw_params small = {1024, 8, 1};

static void hash_of(const char *pw, size_t len, char out[PW_HASH_MAX])
{
	assert_int_equal(pw_hash(pw, len, &small, out, PW_HASH_MAX), 0);
}

static void pw_hash_writes_the_documented_format(void **state)
{
	char h[PW_HASH_MAX];
	const char *salt, *hash;
	const char *prefix = "$scrypt$n=1024,r=8,p=1$";

	(void)state;
	hash_of("secret", 6, h);
	assert_memory_equal(h, prefix, strlen(prefix));
	salt = h + strlen(prefix);
	hash = strchr(salt, '$');
	assert_non_null(hash);
	assert_int_equal(hash - salt, 32);
	hash++;
	assert_int_equal(strlen(hash), 64);
	assert_int_equal(strspn(salt, "0123456789ABCDEF"), 32);
	assert_int_equal(strspn(hash, "0123456789ABCDEF"), 64);
}

static void pw_verify_accepts_the_right_password_and_refuses_others(void **state)
{
	char h[PW_HASH_MAX];
	int outdated = -1;

	(void)state;
	hash_of("correct horse", 13, h);
	assert_int_equal(pw_verify("correct horse", 13, h, &small, &outdated), 1);
	assert_int_equal(outdated, 0);
	assert_int_equal(pw_verify("correct horsf", 13, h, &small, &outdated), 0);
	assert_int_equal(pw_verify("Correct horse", 13, h, &small, &outdated), 0);
	assert_int_equal(pw_verify("correct hors", 12, h, &small, &outdated), 0);
	assert_int_equal(pw_verify("correct horse ", 14, h, &small, &outdated), 0);
	assert_int_equal(pw_verify("", 0, h, &small, &outdated), 0);
	/* No current parameters: nothing is outdated. */
	outdated = -1;
	assert_int_equal(pw_verify("correct horse", 13, h, NULL, &outdated), 1);
	assert_int_equal(outdated, 0);
}

static void pw_verify_uses_the_length_not_a_terminating_nul(void **state)
{
	char h[PW_HASH_MAX];
	int outdated;

	(void)state;
	hash_of("ab\0cd", 5, h);
	assert_int_equal(pw_verify("ab\0cd", 5, h, &small, &outdated), 1);
	assert_int_equal(pw_verify("ab", 2, h, &small, &outdated), 0);
	assert_int_equal(pw_verify("ab\0ce", 5, h, &small, &outdated), 0);
}

static void pw_verify_handles_a_password_of_password_max_bytes(void **state)
{
	char *pw = malloc(PASSWORD_MAX);
	char h[PW_HASH_MAX];
	int outdated;

	(void)state;
	memset(pw, 0xee, PASSWORD_MAX);
	hash_of(pw, PASSWORD_MAX, h);
	assert_int_equal(pw_verify(pw, PASSWORD_MAX, h, &small, &outdated), 1);
	pw[PASSWORD_MAX - 1] ^= 1;
	assert_int_equal(pw_verify(pw, PASSWORD_MAX, h, &small, &outdated), 0);
	free(pw);
}

static void pw_verify_flags_a_hash_made_with_other_parameters(void **state)
{
	char h[PW_HASH_MAX];
	struct pw_params bigger_n = {2048, 8, 1}, other_r = {1024, 4, 1}, other_p = {1024, 8, 2};
	int outdated;

	(void)state;
	hash_of("pw", 2, h);
	outdated = 0;
	assert_int_equal(pw_verify("pw", 2, h, &bigger_n, &outdated), 1);
	assert_int_equal(outdated, 1);
	outdated = 0;
	assert_int_equal(pw_verify("pw", 2, h, &other_r, &outdated), 1);
	assert_int_equal(outdated, 1);
	outdated = 0;
	assert_int_equal(pw_verify("pw", 2, h, &other_p, &outdated), 1);
	assert_int_equal(outdated, 1);
	/* A wrong password under old parameters is still just wrong. */
	assert_int_equal(pw_verify("px", 2, h, &bigger_n, &outdated), 0);
}

static void pw_verify_reads_the_parameters_from_the_stored_string(void **state)
{
	struct pw_params p = {2048, 2, 2};
	char h[PW_HASH_MAX];
	int outdated;

	(void)state;
	assert_int_equal(pw_hash("pw", 2, &p, h, sizeof(h)), 0);
	assert_non_null(strstr(h, "$n=2048,r=2,p=2$"));
	assert_int_equal(pw_verify("pw", 2, h, &small, &outdated), 1);
	assert_int_equal(outdated, 1);
	assert_int_equal(pw_verify("pw", 2, h, &p, &outdated), 1);
	assert_int_equal(outdated, 0);
}

static void two_hashes_of_one_password_differ(void **state)
{
	char a[PW_HASH_MAX], b[PW_HASH_MAX];
	struct pw_params pa, pb;
	uint8_t sa[16], sb[16], ha[32], hb[32];
	int outdated;

	(void)state;
	hash_of("same", 4, a);
	hash_of("same", 4, b);
	assert_string_not_equal(a, b);
	assert_int_equal(pw_parse(a, &pa, sa, ha), 0);
	assert_int_equal(pw_parse(b, &pb, sb, hb), 0);
	assert_memory_not_equal(sa, sb, 16);
	assert_memory_not_equal(ha, hb, 32);
	assert_int_equal(pw_verify("same", 4, a, &small, &outdated), 1);
	assert_int_equal(pw_verify("same", 4, b, &small, &outdated), 1);
}

static void pw_parse_reads_back_what_pw_hash_wrote(void **state)
{
	char h[PW_HASH_MAX];
	struct pw_params p = {0, 0, 0};
	uint8_t salt[16], hash[32];
	char hex[3];

	(void)state;
	hash_of("pw", 2, h);
	assert_int_equal(pw_parse(h, &p, salt, hash), 0);
	assert_int_equal(p.n, 1024);
	assert_int_equal(p.r, 8);
	assert_int_equal(p.p, 1);
	snprintf(hex, sizeof(hex), "%02X", salt[0]);
	assert_memory_equal(h + strlen("$scrypt$n=1024,r=8,p=1$"), hex, 2);
}

static void pw_hash_refuses_a_short_output_buffer(void **state)
{
	char h[64];

	(void)state;
	assert_int_equal(pw_hash("pw", 2, &small, h, sizeof(h)), -1);
}

/* Every variant of a valid stored hash that must be refused. */
static void expect_malformed(const char *stored)
{
	struct pw_params p;
	uint8_t salt[16], hash[32];
	int outdated = -1;

	if (pw_parse(stored, &p, salt, hash) != -1)
		fail_msg("pw_parse accepted \"%s\"", stored);
	if (pw_verify("pw", 2, stored, &small, &outdated) != -1)
		fail_msg("pw_verify did not refuse \"%s\"", stored);
}

static void malformed_stored_hashes_are_refused(void **state)
{
	char h[PW_HASH_MAX], bad[PW_HASH_MAX + 64];
	char *salt, *hash;
	size_t pre = strlen("$scrypt$n=1024,r=8,p=1$");

	(void)state;
	hash_of("pw", 2, h);
	salt = h + pre;
	hash = salt + 33;

	expect_malformed("");
	expect_malformed("$scrypt$");
	expect_malformed("pw");
	/* Wrong prefix. */
	snprintf(bad, sizeof(bad), "$argon2$n=1024,r=8,p=1$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "scrypt$n=1024,r=8,p=1$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$SCRYPT$n=1024,r=8,p=1$%s", salt);
	expect_malformed(bad);
	/* n not a power of two, or out of range; r and p out of range. */
	snprintf(bad, sizeof(bad), "$scrypt$n=1000,r=8,p=1$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=1,r=8,p=1$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=0,r=8,p=1$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=8388608,r=8,p=1$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=9223372036854775808,r=8,p=1$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=1024,r=0,p=1$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=1024,r=8,p=0$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=1024,r=65,p=1$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=1024,r=8,p=65$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=1024,r=-1,p=1$%s", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$r=8,n=1024,p=1$%s", salt);
	expect_malformed(bad);
	/* Short salt, short hash, missing hash. */
	snprintf(bad, sizeof(bad), "$scrypt$n=1024,r=8,p=1$%.30s$%s", salt, hash);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=1024,r=8,p=1$%.32s$%.62s", salt, hash);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=1024,r=8,p=1$%.32s$", salt);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "$scrypt$n=1024,r=8,p=1$%.32s", salt);
	expect_malformed(bad);
	/* Lower-case hex in the salt and in the hash. */
	snprintf(bad, sizeof(bad), "%s", h);
	for (char *c = bad + pre; *c != '$'; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strcmp(bad, h) != 0)
		expect_malformed(bad);
	snprintf(bad, sizeof(bad), "%s", h);
	for (char *c = bad + pre + 33; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	if (strcmp(bad, h) != 0)
		expect_malformed(bad);
	/* A non-hex character. */
	snprintf(bad, sizeof(bad), "%s", h);
	bad[pre + 40] = 'G';
	expect_malformed(bad);
	/* Trailing junk of every kind. */
	snprintf(bad, sizeof(bad), "%sA", h);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "%s0", h);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "%s$", h);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "%s\n", h);
	expect_malformed(bad);
	snprintf(bad, sizeof(bad), "%s junk", h);
	expect_malformed(bad);
	/* Longer than PW_HASH_MAX. */
	memset(bad, 'A', PW_HASH_MAX + 10);
	bad[PW_HASH_MAX + 10] = '\0';
	expect_malformed(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pw_hash_writes_the_documented_format),
		cmocka_unit_test(pw_verify_accepts_the_right_password_and_refuses_others),
		cmocka_unit_test(pw_verify_uses_the_length_not_a_terminating_nul),
		cmocka_unit_test(pw_verify_handles_a_password_of_password_max_bytes),
		cmocka_unit_test(pw_verify_flags_a_hash_made_with_other_parameters),
		cmocka_unit_test(pw_verify_reads_the_parameters_from_the_stored_string),
		cmocka_unit_test(two_hashes_of_one_password_differ),
		cmocka_unit_test(pw_parse_reads_back_what_pw_hash_wrote),
		cmocka_unit_test(pw_hash_refuses_a_short_output_buffer),
		cmocka_unit_test(malformed_stored_hashes_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
