/* Standard flags and signal handling shared by the daemons. */
#include "daemon.h"

#include "log.h"

#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *out, const char *prog, const char *summary, const char *default_conf,
		  const char *init_help)
{
	fprintf(out,
		"usage: %s [-c FILE] [-n] [-d]%s\n"
		"%s\n\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -n, --check        check the configuration, print it normalised, exit\n"
		"  -d, --debug        log at debug level\n",
		prog, init_help != NULL ? " [--init]" : "", summary, default_conf);
	if (init_help != NULL)
		fprintf(out, "      --init         %s\n", init_help);
	fprintf(out, "  -h, --help         show this help\n"
		     "  -V, --version      show the version\n");
}

void daemon_parse_args(int argc, char **argv, const char *prog, const char *summary,
		       const char *default_conf, const char *init_help, struct daemon_args *out)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'n'},
		{"debug", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"init", no_argument, NULL, 'I'},
		{NULL, 0, NULL, 0},
	};
	int c;

	out->conf_path = default_conf;
	out->check_only = out->debug = out->init = 0;
	while ((c = getopt_long(argc, argv, "c:ndhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			out->conf_path = optarg;
			break;
		case 'n':
			out->check_only = 1;
			break;
		case 'd':
			out->debug = 1;
			break;
		case 'h':
			usage(stdout, prog, summary, default_conf, init_help);
			exit(0);
		case 'V':
			printf("%s %s\n", prog, P2PSIP_VERSION);
			exit(0);
		case 'I':
			if (init_help != NULL) {
				out->init = 1;
				break;
			}
			/* fall through */
		default:
			usage(stderr, prog, summary, default_conf, init_help);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
		usage(stderr, prog, summary, default_conf, init_help);
		exit(2);
	}
}

struct daemon_signals {
	struct event *term, *intr, *hup_ev;
	void (*stop)(void *);
	void (*hup)(void *);
	void *arg;
	int fired;
};

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_signals *s = arg;

	(void)sig, (void)what;
	log_info("SIGHUP");
	s->hup(s->arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_signals *s = arg;

	(void)what;
	if (s->fired++)
		return;
	log_info("signal %d: shutting down", (int)sig);
	s->stop(s->arg);
}

struct daemon_signals *daemon_signals_new(struct event_base *base, void (*stop)(void *),
					  void (*hup)(void *), void *arg)
{
	struct daemon_signals *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	signal(SIGPIPE, SIG_IGN);
	s->stop = stop;
	s->hup = hup;
	s->arg = arg;
	if (hup == NULL) {
		signal(SIGHUP, SIG_IGN);
	} else {
		s->hup_ev = evsignal_new(base, SIGHUP, on_hup, s);
		if (s->hup_ev == NULL || event_add(s->hup_ev, NULL) < 0) {
			daemon_signals_free(s);
			return NULL;
		}
	}
	s->term = evsignal_new(base, SIGTERM, on_signal, s);
	s->intr = evsignal_new(base, SIGINT, on_signal, s);
	if (s->term == NULL || s->intr == NULL || event_add(s->term, NULL) < 0 ||
	    event_add(s->intr, NULL) < 0) {
		daemon_signals_free(s);
		return NULL;
	}
	return s;
}

void daemon_signals_free(struct daemon_signals *s)
{
	if (s == NULL)
		return;
	if (s->term != NULL)
		event_free(s->term);
	if (s->intr != NULL)
		event_free(s->intr);
	if (s->hup_ev != NULL)
		event_free(s->hup_ev);
	free(s);
}
