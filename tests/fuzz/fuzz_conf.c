/* Fuzzes the configuration parser with a schema that has every type, range,
 * a required key and a sectioned name, then checks that what conf_print
 * writes back parses again to the same values. */
#include "conf.h"
#include "log.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fz_conf {
	char *name;    /* required */
	char *listen;  /* string with a default */
	char *comment; /* string without a default: may stay NULL */
	char *secret;  /* printed as (secret): not compared */
	int64_t workers;
	int64_t offset; /* int without bounds */
	int verbose;
	int64_t timeout;
	int64_t lifetime; /* duration without bounds */
	int64_t peer_port;
	int peer_trusted;
};

#define F(f) offsetof(struct fz_conf, f)
static const struct conf_item items[] = {
	{"main", "name", CONF_STRING, F(name), NULL, 0, 0, CONF_REQUIRED, "required"},
	{"main", "listen", CONF_STRING, F(listen), "127.0.0.1:7444", 0, 0, 0, ""},
	{"main", "comment", CONF_STRING, F(comment), NULL, 0, 0, 0, ""},
	{"main", "secret", CONF_STRING, F(secret), NULL, 0, 0, CONF_SECRET, ""},
	{"main", "workers", CONF_INT, F(workers), "2", 1, 64, 0, ""},
	{"main", "offset", CONF_INT, F(offset), "0", 0, 0, 0, ""},
	{"main", "verbose", CONF_BOOL, F(verbose), "no", 0, 0, 0, ""},
	{"limits", "timeout", CONF_DURATION, F(timeout), "10s", 1, 3600, 0, ""},
	{"limits", "lifetime", CONF_DURATION, F(lifetime), "24h", 0, 0, 0, ""},
	{"peer one", "port", CONF_INT, F(peer_port), "5060", 1, 65535, 0, ""},
	{"peer one", "trusted", CONF_BOOL, F(peer_trusted), "yes", 0, 0, 0, ""},
};
#define NITEMS (sizeof(items) / sizeof(items[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	return 0;
}

static int str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int conf_same(const struct fz_conf *a, const struct fz_conf *b)
{
	return str_same(a->name, b->name) && str_same(a->listen, b->listen) &&
	       str_same(a->comment, b->comment) && a->workers == b->workers &&
	       a->offset == b->offset && a->verbose == b->verbose && a->timeout == b->timeout &&
	       a->lifetime == b->lifetime && a->peer_port == b->peer_port &&
	       a->peer_trusted == b->peer_trusted;
}

static void print_and_reparse(const struct fz_conf *c)
{
	struct fz_conf again;
	char *text = NULL;
	size_t len = 0;
	char err[256];
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		abort();
	conf_print(items, NITEMS, c, f);
	if (fclose(f) != 0)
		abort();
	memset(&again, 0, sizeof(again));
	if (conf_parse(items, NITEMS, &again, (const uint8_t *)text, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "printed configuration does not parse: %s\n%s", err, text);
		abort();
	}
	if (!conf_same(c, &again)) {
		fprintf(stderr, "printed configuration parses differently:\n%s", text);
		abort();
	}
	conf_free(items, NITEMS, &again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_conf c;
	char err[256];

	memset(&c, 0, sizeof(c));
	if (conf_parse(items, NITEMS, &c, data, size, err, sizeof(err)) == 0)
		print_and_reparse(&c);
	conf_free(items, NITEMS, &c);
	return 0;
}
