/* Unit tests of common/daemon.c: the standard flags (-c, -n, -d, --init and
 * their long forms), help, version and usage errors (run in a forked child,
 * since they exit), and signal handling on the event loop: SIGTERM or
 * SIGINT call stop once, SIGHUP calls hup every time (or is ignored),
 * SIGPIPE is ignored, free restores the handlers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "daemon.h"

#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_CONF "/etc/p2psip/test.conf"
#define INIT_HELP "create the database and keys, then exit"

/* getopt keeps its position in globals; each parse starts afresh. */
static void parse(int argc, char **argv, const char *init_help, struct daemon_args *a)
{
	optind = 0;
	daemon_parse_args(argc, argv, "testd", "a test daemon", DEFAULT_CONF, init_help, a);
}

#define ARGV(...) ((char *[]){"testd", __VA_ARGS__, NULL})
#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

static void test_defaults_without_flags(void **state)
{
	char *argv[] = {"testd", NULL};
	struct daemon_args a;

	(void)state;
	memset(&a, 0x55, sizeof(a));
	parse(1, argv, NULL, &a);
	assert_string_equal(a.conf_path, DEFAULT_CONF);
	assert_int_equal(a.check_only, 0);
	assert_int_equal(a.debug, 0);
	assert_int_equal(a.init, 0);
}

static void test_short_flags(void **state)
{
	char *argv[] = {"testd", "-c", "/tmp/x.conf", "-n", "-d", NULL};
	char *joined[] = {"testd", "-nd", "-c/tmp/y.conf", NULL};
	struct daemon_args a;

	(void)state;
	parse(5, argv, NULL, &a);
	assert_string_equal(a.conf_path, "/tmp/x.conf");
	assert_int_equal(a.check_only, 1);
	assert_int_equal(a.debug, 1);
	assert_int_equal(a.init, 0);
	parse(3, joined, NULL, &a);
	assert_string_equal(a.conf_path, "/tmp/y.conf");
	assert_int_equal(a.check_only, 1);
	assert_int_equal(a.debug, 1);
}

static void test_long_flags_and_init(void **state)
{
	char *argv[] = {"testd", "--config=/tmp/z.conf", "--check", "--debug", "--init", NULL};
	char *sep[] = {"testd", "--config", "/tmp/w.conf", NULL};
	struct daemon_args a;

	(void)state;
	parse(5, argv, INIT_HELP, &a);
	assert_string_equal(a.conf_path, "/tmp/z.conf");
	assert_int_equal(a.check_only, 1);
	assert_int_equal(a.debug, 1);
	assert_int_equal(a.init, 1);
	parse(3, sep, INIT_HELP, &a);
	assert_string_equal(a.conf_path, "/tmp/w.conf");
	assert_int_equal(a.init, 0);
}

/* Runs daemon_parse_args in a child; returns its exit status (100 if it
 * returned instead of exiting) with its stdout and stderr. */
static int run_child(int argc, char **argv, const char *init_help, char *out, size_t outlen,
		     char *errtxt, size_t errlen)
{
	int po[2], pe[2], status = -1;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct daemon_args a;
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		close(po[0]);
		close(pe[0]);
		parse(argc, argv, init_help, &a);
		_exit(100);
	}
	close(po[1]);
	close(pe[1]);
	n = read(po[0], out, outlen - 1);
	out[n > 0 ? n : 0] = '\0';
	n = read(pe[0], errtxt, errlen - 1);
	errtxt[n > 0 ? n : 0] = '\0';
	close(po[0]);
	close(pe[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_help_prints_usage_to_stdout_and_exits_0(void **state)
{
	char *argv[] = {"testd", "--help", NULL};
	char *shortv[] = {"testd", "-h", NULL};
	char out[4096], err[4096];

	(void)state;
	assert_int_equal(run_child(2, argv, INIT_HELP, out, sizeof(out), err, sizeof(err)), 0);
	assert_contains(out, "usage: testd [-c FILE] [-n] [-d] [--init]\n");
	assert_contains(out, "a test daemon\n");
	assert_contains(out, "(default " DEFAULT_CONF ")");
	assert_contains(out, "--init         " INIT_HELP);
	assert_string_equal(err, "");
	/* Without init_help, --init is not offered. */
	assert_int_equal(run_child(2, shortv, NULL, out, sizeof(out), err, sizeof(err)), 0);
	assert_contains(out, "usage: testd [-c FILE] [-n] [-d]\n");
	assert_null(strstr(out, "--init"));
}

static void test_version_exits_0(void **state)
{
	char *argv[] = {"testd", "-V", NULL};
	char *longv[] = {"testd", "--version", NULL};
	char out[256], err[256];

	(void)state;
	assert_int_equal(run_child(2, argv, NULL, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "testd " P2PSIP_VERSION "\n");
	assert_int_equal(run_child(2, longv, NULL, out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "testd " P2PSIP_VERSION "\n");
}

static void test_usage_errors_exit_2_with_usage_on_stderr(void **state)
{
	char *bad_flag[] = {"testd", "-x", NULL};
	char *bad_long[] = {"testd", "--nope", NULL};
	char *no_arg[] = {"testd", "-c", NULL};
	char *init_refused[] = {"testd", "--init", NULL};
	char *extra[] = {"testd", "-n", "stray", NULL};
	char out[4096], err[4096];

	(void)state;
	assert_int_equal(run_child(2, bad_flag, NULL, out, sizeof(out), err, sizeof(err)), 2);
	assert_contains(err, "usage: testd");
	assert_string_equal(out, "");
	assert_int_equal(run_child(2, bad_long, NULL, out, sizeof(out), err, sizeof(err)), 2);
	assert_int_equal(run_child(2, no_arg, NULL, out, sizeof(out), err, sizeof(err)), 2);
	/* --init only where the daemon has it. */
	assert_int_equal(run_child(2, init_refused, NULL, out, sizeof(out), err, sizeof(err)), 2);
	assert_contains(err, "usage: testd");
	assert_int_equal(run_child(3, extra, NULL, out, sizeof(out), err, sizeof(err)), 2);
	assert_contains(err, "unexpected argument 'stray'");
}

/* Signals */

struct sig_fx {
	struct event_base *base;
	int stops;
	int hups;
};

static void stop(void *arg)
{
	struct sig_fx *s = arg;

	s->stops++;
	event_base_loopbreak(s->base);
}

static void hup(void *arg)
{
	struct sig_fx *s = arg;

	s->hups++;
	event_base_loopbreak(s->base);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	event_base_loopbreak(arg);
}

/* Runs the loop for at most ms, or until stop or hup breaks it. */
static void run_loop(struct sig_fx *s, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct event *t = evtimer_new(s->base, on_timeout, s->base);

	evtimer_add(t, &tv);
	event_base_loop(s->base, 0);
	event_free(t);
}

static void test_sigterm_stops_the_loop_once(void **state)
{
	struct sig_fx s = {event_base_new(), 0, 0};
	struct daemon_signals *ds;
	struct sigaction sa;

	(void)state;
	signal(SIGPIPE, SIG_DFL);
	ds = daemon_signals_new(s.base, stop, hup, &s);
	assert_non_null(ds);
	raise(SIGTERM);
	run_loop(&s, 5000);
	assert_int_equal(s.stops, 1);
	/* Further signals do not call stop again. */
	raise(SIGTERM);
	raise(SIGINT);
	run_loop(&s, 100);
	assert_int_equal(s.stops, 1);
	assert_int_equal(s.hups, 0);
	/* SIGPIPE is ignored. */
	assert_int_equal(sigaction(SIGPIPE, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_IGN);
	daemon_signals_free(ds);
	/* The default handlers are back once freed. */
	assert_int_equal(sigaction(SIGTERM, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_DFL);
	event_base_free(s.base);
	daemon_signals_free(NULL);
}

static void test_sigint_stops_the_loop_too(void **state)
{
	struct sig_fx s = {event_base_new(), 0, 0};
	struct daemon_signals *ds = daemon_signals_new(s.base, stop, NULL, &s);

	(void)state;
	assert_non_null(ds);
	raise(SIGINT);
	run_loop(&s, 5000);
	assert_int_equal(s.stops, 1);
	daemon_signals_free(ds);
	event_base_free(s.base);
}

static void test_sighup_calls_hup_every_time_without_stopping(void **state)
{
	struct sig_fx s = {event_base_new(), 0, 0};
	struct daemon_signals *ds = daemon_signals_new(s.base, stop, hup, &s);

	(void)state;
	assert_non_null(ds);
	raise(SIGHUP);
	run_loop(&s, 5000);
	assert_int_equal(s.hups, 1);
	raise(SIGHUP);
	run_loop(&s, 5000);
	assert_int_equal(s.hups, 2);
	assert_int_equal(s.stops, 0);
	/* A SIGTERM after a SIGHUP still stops. */
	raise(SIGTERM);
	run_loop(&s, 5000);
	assert_int_equal(s.stops, 1);
	daemon_signals_free(ds);
	event_base_free(s.base);
}

static void test_sighup_is_ignored_without_a_hup_callback(void **state)
{
	struct sig_fx s = {event_base_new(), 0, 0};
	struct daemon_signals *ds;
	struct sigaction sa;

	(void)state;
	signal(SIGHUP, SIG_DFL);
	ds = daemon_signals_new(s.base, stop, NULL, &s);
	assert_non_null(ds);
	assert_int_equal(sigaction(SIGHUP, NULL, &sa), 0);
	assert_true(sa.sa_handler == SIG_IGN);
	raise(SIGHUP); /* would end the test process if not ignored */
	run_loop(&s, 50);
	assert_int_equal(s.stops, 0);
	daemon_signals_free(ds);
	event_base_free(s.base);
	signal(SIGHUP, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_without_flags),
		cmocka_unit_test(test_short_flags),
		cmocka_unit_test(test_long_flags_and_init),
		cmocka_unit_test(test_help_prints_usage_to_stdout_and_exits_0),
		cmocka_unit_test(test_version_exits_0),
		cmocka_unit_test(test_usage_errors_exit_2_with_usage_on_stderr),
		cmocka_unit_test(test_sigterm_stops_the_loop_once),
		cmocka_unit_test(test_sigint_stops_the_loop_too),
		cmocka_unit_test(test_sighup_calls_hup_every_time_without_stopping),
		cmocka_unit_test(test_sighup_is_ignored_without_a_hup_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
