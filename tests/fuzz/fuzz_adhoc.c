/* Fuzzes common/adhoc.c's reading of a join code as typed (--code, the
 * join_code_file): what it accepts is ADHOC_CODE_CHARS..ADHOC_CODE_MAX
 * upper-case base32 characters, the same again when read a second time;
 * what it refuses says why. The scrypt after it is not fuzzed: its input
 * is only what passed here. */
#include "adhoc.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[ADHOC_CODE_FILE_MAX + 1], out[ADHOC_CODE_MAX + 1], again[ADHOC_CODE_MAX + 1];
	char err[256] = "";
	size_t n = size < ADHOC_CODE_FILE_MAX ? size : ADHOC_CODE_FILE_MAX;

	memcpy(in, data, n);
	in[n] = '\0';
	if (adhoc_code_normalize(in, out, sizeof(out), err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	size_t len = strlen(out);
	if (len < ADHOC_CODE_CHARS || len > ADHOC_CODE_MAX ||
	    strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != len)
		abort();
	if (adhoc_code_normalize(out, again, sizeof(again), err, sizeof(err)) < 0 ||
	    strcmp(out, again) != 0)
		abort();
	return 0;
}
