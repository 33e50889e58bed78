/* p2psip-adhoc's daemons: finding, starting, watching and stopping them. */
#include "adhoc_cmd.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const proc_names[P_COUNT] = {"logind", "supernode", "ordinarynode"};

void adhoc_prog(const struct adhoc *a, const char *prog, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", a->bindir, prog);
	if (access(out, X_OK) == 0)
		return;
	snprintf(out, outlen, "%s/../sbin/%s", a->bindir, prog);
	if (access(out, X_OK) == 0)
		return;
	str_copy(out, prog, outlen); /* execvp looks along PATH */
}

/* In the child: the signals main blocked are unblocked (the mask survives
 * exec), the terminal's Ctrl-C is not delivered (adhoc_stop orders the
 * stop), the daemon ends with us if we are killed, and output goes to log. */
static void child_exec(const struct adhoc *a, char *const argv[], int in_fd, const char *log)
{
	char path[PATH_MAX + 64];
	sigset_t none;
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	snprintf(path, sizeof(path), "%s/%s", a->dir, log);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	if (in_fd >= 0 && dup2(in_fd, 0) < 0)
		_exit(127);
	execvp(argv[0], argv);
	fprintf(stderr, "p2psip-adhoc: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int adhoc_run(const struct adhoc *a, char *const argv[], const char *input, const char *log)
{
	int p[2] = {-1, -1}, status;
	pid_t pid;

	if (input != NULL && pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0)
		child_exec(a, argv, p[0], log);
	if (p[0] >= 0)
		close(p[0]);
	if (pid > 0 && input != NULL && write(p[1], input, strlen(input)) < 0)
		log_warn("cannot feed %s: %s", argv[0], strerror(errno));
	if (p[1] >= 0)
		close(p[1]);
	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int adhoc_start(struct adhoc *a, enum adhoc_proc which, char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid < 0) {
		log_error("cannot start %s: %s", proc_names[which], strerror(errno));
		return -1;
	}
	if (pid == 0)
		child_exec(a, argv, -1, log);
	a->pid[which] = pid;
	return 0;
}

/* The daemon that ended, reaped; -1 for none of ours. */
static int reap(struct adhoc *a, int *status)
{
	pid_t pid;

	while ((pid = waitpid(-1, status, WNOHANG)) > 0)
		for (int i = 0; i < P_COUNT; i++)
			if (a->pid[i] == pid) {
				a->pid[i] = 0;
				return i;
			}
	return -1;
}

int adhoc_wait(struct adhoc *a)
{
	sigset_t set;
	int sig, status, which;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		sig = sigwaitinfo(&set, NULL);
		if (sig == SIGINT || sig == SIGTERM)
			return 0;
		if (sig == SIGCHLD && (which = reap(a, &status)) >= 0) {
			log_error("%s ended (%s %d): stopping; see %s/%s.log", proc_names[which],
				  WIFEXITED(status) ? "status" : "signal",
				  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
				  a->dir, proc_names[which]);
			return -1;
		}
	}
}

static void stop_one(struct adhoc *a, enum adhoc_proc which)
{
	time_t end = time(NULL) + ADHOC_STOP_SECS;
	struct timespec tick = {0, 100 * 1000 * 1000};
	int status;

	if (a->pid[which] <= 0)
		return;
	kill(a->pid[which], SIGTERM);
	while (waitpid(a->pid[which], &status, WNOHANG) == 0) {
		if (time(NULL) >= end) {
			log_warn("%s did not stop in %ds: killing it", proc_names[which],
				 ADHOC_STOP_SECS);
			kill(a->pid[which], SIGKILL);
			waitpid(a->pid[which], &status, 0);
			break;
		}
		nanosleep(&tick, NULL);
	}
	a->pid[which] = 0;
}

void adhoc_stop(struct adhoc *a)
{
	/* The phones' node first, then the super node hands its records over
	 * while logind is still there; logind last. */
	stop_one(a, P_ORDINARYNODE);
	stop_one(a, P_SUPERNODE);
	stop_one(a, P_LOGIND);
}
