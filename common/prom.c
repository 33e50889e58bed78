/* Prometheus text exposition format 0.0.4: HELP, TYPE and sample lines. */
#include "prom.h"

#include <event2/buffer.h>
#include <string.h>

/* HELP text escapes backslash and newline; label values also the double
 * quote. */
static void put_escaped(struct evbuffer *out, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			evbuffer_add(out, "\\\\", 2);
		else if (*s == '\n')
			evbuffer_add(out, "\\n", 2);
		else if (*s == '"' && quote)
			evbuffer_add(out, "\\\"", 2);
		else
			evbuffer_add(out, s, 1);
	}
}

void prom_head(struct evbuffer *out, const char *name, enum prom_type type, const char *help)
{
	if (help != NULL) {
		evbuffer_add_printf(out, "# HELP %s ", name);
		put_escaped(out, help, 0);
		evbuffer_add(out, "\n", 1);
	}
	evbuffer_add_printf(out, "# TYPE %s %s\n", name,
			    type == PROM_COUNTER ? "counter" : "gauge");
}

static void put_name(struct evbuffer *out, const char *name, const char *lkey, const char *lval)
{
	evbuffer_add(out, name, strlen(name));
	if (lkey == NULL)
		return;
	evbuffer_add_printf(out, "{%s=\"", lkey);
	put_escaped(out, lval != NULL ? lval : "", 1);
	evbuffer_add(out, "\"}", 2);
}

void prom_value(struct evbuffer *out, const char *name, const char *lkey, const char *lval,
		int64_t v)
{
	put_name(out, name, lkey, lval);
	evbuffer_add_printf(out, " %lld\n", (long long)v);
}

void prom_count(struct evbuffer *out, const char *name, const char *lkey, const char *lval,
		uint64_t v)
{
	put_name(out, name, lkey, lval);
	evbuffer_add_printf(out, " %llu\n", (unsigned long long)v);
}

void prom_gauge(struct evbuffer *out, const char *name, const char *help, int64_t v)
{
	prom_head(out, name, PROM_GAUGE, help);
	prom_value(out, name, NULL, NULL, v);
}

void prom_counter(struct evbuffer *out, const char *name, const char *help, uint64_t v)
{
	prom_head(out, name, PROM_COUNTER, help);
	prom_count(out, name, NULL, NULL, v);
}
