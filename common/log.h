/* Logging to stderr with levels, for every program of the suite. */
#ifndef P2PSIP_LOG_H
#define P2PSIP_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

#define LOG_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Sets the program name printed on each line and the most verbose level shown. */
void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; returns -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Logs the message and the pending OpenSSL error queue (which it clears). */
void log_ssl_error(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Logs at error level and exits with status 1: start-up failures only. */
/* A budget of log lines for one kind of refusal, so that a flood of
 * hostile requests cannot fill the log: log_allowed() says whether this
 * line may be written (at most per_s a second) and, when lines were held
 * back, first says how many. Zero-initialised; one per call site. */
struct log_limit {
	uint64_t sec;
	unsigned lines, held;
};
#define LOG_LIMIT_PER_S 10
int log_allowed(struct log_limit *l, unsigned per_s);

void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
