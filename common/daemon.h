/* What every daemon of the suite shares at start-up: the standard flags and
 * signal handling on the event loop. */
#ifndef P2PSIP_DAEMON_H
#define P2PSIP_DAEMON_H

#ifndef P2PSIP_VERSION
#define P2PSIP_VERSION "0.0.0"
#endif

struct event_base;
struct daemon_signals;

struct daemon_args {
	const char *conf_path;
	int check_only; /* -n: check and print the configuration, then exit */
	int debug;      /* -d: debug logging */
	int init;       /* --init, where the daemon has it */
};

/* Parses -c FILE, -n, -d, -h/--help, -V/--version and, when init_help is not
 * NULL, --init. Exits with the usage on errors, help and version. */
void daemon_parse_args(int argc, char **argv, const char *prog, const char *summary,
		       const char *default_conf, const char *init_help, struct daemon_args *out);

/* SIGTERM and SIGINT call stop(arg) once; SIGHUP calls hup(arg) when hup is
 * not NULL (and is ignored otherwise); SIGPIPE is ignored. */
struct daemon_signals *daemon_signals_new(struct event_base *base, void (*stop)(void *),
					  void (*hup)(void *), void *arg);
void daemon_signals_free(struct daemon_signals *s);

#endif
