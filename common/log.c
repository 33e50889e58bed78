/* Logging to stderr: one line per message, level and program name first. */
#include "log.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "p2psip";
static enum log_level log_level_cur = LOG_LVL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_init(const char *progname, enum log_level level)
{
	if (progname != NULL) {
		const char *slash = strrchr(progname, '/');
		log_prog = slash != NULL ? slash + 1 : progname;
	}
	log_level_cur = level;
}

void log_set_level(enum log_level level)
{
	log_level_cur = level;
}

enum log_level log_get_level(void)
{
	return log_level_cur;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

/* Control characters from the network never reach the terminal as such. */
static void log_vwrite(enum log_level level, const char *fmt, va_list ap)
{
	char msg[2048];
	char line[2300];
	struct timespec ts;
	struct tm tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (char *p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s: %s\n", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 ts.tv_nsec / 1000000, log_prog, (long)getpid(), level_names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line so that lines of concurrent processes do not mix. */
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}

#define LOG_FN(name, lvl)                                                                          \
	void name(const char *fmt, ...)                                                            \
	{                                                                                          \
		va_list ap;                                                                        \
		if (log_level_cur < (lvl))                                                         \
			return;                                                                    \
		va_start(ap, fmt);                                                                 \
		log_vwrite((lvl), fmt, ap);                                                        \
		va_end(ap);                                                                        \
	}

LOG_FN(log_error, LOG_LVL_ERROR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

int log_allowed(struct log_limit *l, unsigned per_s)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec;
	if (now != l->sec) {
		if (l->held > 0)
			log_info("(%u lines like the next were not logged: at most %u a second)",
				 l->held, per_s);
		l->sec = now;
		l->lines = 0;
		l->held = 0;
	}
	if (l->lines >= per_s) {
		l->held++;
		return 0;
	}
	l->lines++;
	return 1;
}

void log_ssl_error(const char *fmt, ...)
{
	char msg[1024];
	char ebuf[256];
	unsigned long e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = ERR_get_error();
	if (e == 0) {
		log_error("%s", msg);
		return;
	}
	ERR_error_string_n(e, ebuf, sizeof(ebuf));
	log_error("%s: %s", msg, ebuf);
	ERR_clear_error();
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
