/* The Prometheus text exposition format (0.0.4) of the /metrics pages,
 * written into an evbuffer: one helper for every program. */
#ifndef P2PSIP_PROM_H
#define P2PSIP_PROM_H

#include <stdint.h>

struct evbuffer;

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum prom_type {
	PROM_COUNTER,
	PROM_GAUGE
};

/* The "# HELP" (when help is not NULL) and "# TYPE" lines of a metric.
 * Names are the caller's constants ([a-zA-Z_:][a-zA-Z0-9_:]*); a counter's
 * name ends in _total. Its samples must follow before any other metric. */
void prom_head(struct evbuffer *out, const char *name, enum prom_type type, const char *help);
/* One sample line "name value" or, with lkey not NULL, "name{lkey="lval"}
 * value"; lval is escaped. prom_count is for counters (unsigned). */
void prom_value(struct evbuffer *out, const char *name, const char *lkey, const char *lval,
		int64_t v);
void prom_count(struct evbuffer *out, const char *name, const char *lkey, const char *lval,
		uint64_t v);
/* A metric of one sample without labels: the head and the sample. */
void prom_gauge(struct evbuffer *out, const char *name, const char *help, int64_t v);
void prom_counter(struct evbuffer *out, const char *name, const char *help, uint64_t v);

#endif
