/* p2psip-adhoc: one command that makes this machine a member of an ad-hoc
 * overlay (docs/adhoc.md). Shared state of its two files. */
#ifndef P2PSIP_ADHOC_CMD_H
#define P2PSIP_ADHOC_CMD_H

#include <limits.h>
#include <sys/types.h>

/* Where the daemons listen: fixed, so that a phone's settings and the
 * firewall's are the same on every machine of the room. */
#define ADHOC_LOGIND_PORT 7444 /* loopback only */
#define ADHOC_SN_PORT 7400
#define ADHOC_SN_STATUS_PORT 7480 /* loopback only */
#define ADHOC_ON_STATUS_PORT 7490 /* loopback only */
#define ADHOC_SIP_PORT 5060
#define ADHOC_LAN_INTERVAL 2       /* seconds between announcements: one datagram */
#define ADHOC_LAN_WAIT 5           /* seconds a new super node listens before forming a ring */
#define ADHOC_SCRYPT_N_LOGIN 16384 /* logind's password hashing (see adhoc_files) */
#define ADHOC_PASSWORD_CHARS 24    /* random account passwords: 120 bits */
#define ADHOC_READY_SECS 15        /* logind's admin socket must appear by then */
#define ADHOC_STOP_SECS 20         /* a daemon's stop; the super node's leave fits */
/* The directory: its logind.sock must fit a Unix socket's 108 bytes. */
#define ADHOC_DIR_MAX 90

enum adhoc_proc {
	P_LOGIND,
	P_SUPERNODE,
	P_ORDINARYNODE,
	P_COUNT
};

struct adhoc {
	const char *name;         /* the user's account; the super node's is "sn-" name */
	const char *address;      /* this machine's LAN address */
	const char *sip_password; /* NULL: a random one, kept in dir */
	char code[128];           /* as printed: groups of five */
	char overlay[256];
	char dir[ADHOC_DIR_MAX + 1];
	char bindir[PATH_MAX - 64]; /* where this program lies, to find the daemons */
	pid_t pid[P_COUNT];
};

/* adhoc_procs.c */
/* argv[0] found next to this program (bin/ or ../sbin/), else by PATH. */
void adhoc_prog(const struct adhoc *a, const char *prog, char *out, size_t outlen);
/* Runs argv, stdin fed from input (may be NULL), output to the log file
 * dir/log: its exit status, or -1. */
int adhoc_run(const struct adhoc *a, char *const argv[], const char *input, const char *log);
/* Starts daemon which with argv, output to dir/log: 0 or -1. */
int adhoc_start(struct adhoc *a, enum adhoc_proc which, char *const argv[], const char *log);
/* Blocks until SIGINT or SIGTERM (0) or a daemon's end (-1, logged). */
int adhoc_wait(struct adhoc *a);
/* Stops the daemons still running, the ordinary node first and logind
 * last, each with SIGTERM and, after ADHOC_STOP_SECS, SIGKILL. */
void adhoc_stop(struct adhoc *a);

#endif
