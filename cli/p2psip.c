/* p2psip: the command-line client of the overlay, for operators and tests.
 * It logs in (or uses key and certificate files), attaches to a super node
 * like an ordinary node does, and stores, fetches (checking every signature
 * itself), pings, traces routes, walks the ring and sends messages. This
 * file holds main, the flags and the table of commands (cli/p2p.h). */
#include "p2p.h"

#include "log.h"
#include "record.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef P2PSIP_VERSION
#define P2PSIP_VERSION "0.0.0"
#endif

struct cli C;

void die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("p2psip: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* What a command needs before it runs, each step including the ones
 * before it: the CA and bootstrapd, our key and certificate, a link. */
enum cmd_needs {
	NEEDS_NOTHING,
	NEEDS_BOOTSTRAP,
	NEEDS_IDENTITY,
	NEEDS_LINK
};

#define ARGS_ANY (-1)

/* One row per command: how many words may follow its name, and its lines
 * of the usage text (help: one string per line). */
struct cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	enum cmd_needs needs;
	int min_args, max_args;
	const char *synopsis;
	const char *help[3];
};

static const struct cmd cmds[] = {
	{"login",
	 cmd_login,
	 NEEDS_BOOTSTRAP,
	 0,
	 ARGS_ANY,
	 "login",
	 {"get a certificate for --user into --cert (key --key,",
	  "created if missing); the password is asked on the",
	  "terminal, or read with --password-stdin"}},
	{"put",
	 cmd_put,
	 NEEDS_LINK,
	 2,
	 2,
	 "put NAME DATA",
	 {"store DATA under NAME (e.g. user:alice@overlay/notes)"}},
	{"rm",
	 cmd_rm,
	 NEEDS_LINK,
	 1,
	 1,
	 "rm NAME",
	 {"store a signed deletion of our value under NAME"}},
	{"get",
	 cmd_get,
	 NEEDS_LINK,
	 1,
	 ARGS_ANY,
	 "get NAME...",
	 {"fetch the values of each NAME, checking every",
	  "signature (--json: one line per NAME)"}},
	{"ping",
	 cmd_ping,
	 NEEDS_LINK,
	 0,
	 1,
	 "ping [NODE-ID]",
	 {"a super node by Node-ID (or the attached one: self)"}},
	{"route",
	 cmd_route,
	 NEEDS_LINK,
	 1,
	 1,
	 "route NAME",
	 {"the super nodes a request for NAME passes"}},
	{"ring",
	 cmd_ring,
	 NEEDS_LINK,
	 0,
	 0,
	 "ring",
	 {"walk the ring from the attached super node"}},
	{"send",
	 cmd_send,
	 NEEDS_LINK,
	 2,
	 2,
	 "send NODE-ID TEXT",
	 {"a message to a node (--via SN-ID: its super node)"}},
	{"listen",
	 cmd_listen,
	 NEEDS_LINK,
	 0,
	 0,
	 "listen",
	 {"print messages sent to us (--count N, then exit)"}},
	{"whoami",
	 cmd_whoami,
	 NEEDS_LINK,
	 0,
	 0,
	 "whoami",
	 {"our Node-ID and the attached super node"}},
	{"stun",
	 cmd_stun,
	 NEEDS_NOTHING,
	 1,
	 1,
	 "stun HOST:PORT",
	 {"the address a STUN server sees us at (--count N:",
	  "N requests at once, how many were answered)"}},
	{"sign",
	 cmd_sign,
	 NEEDS_IDENTITY,
	 2,
	 2,
	 "sign NAME DATA",
	 {"print a signed value (--stored MS: its storage time)"}},
	{"seal",
	 cmd_seal,
	 NEEDS_IDENTITY,
	 3,
	 3,
	 "seal PEER-CERT NODE TEXT",
	 {"print TEXT sealed from us to PEER-CERT for NODE,",
	  "as an ordinary node seals SIP (a send body)"}},
	{"raw",
	 cmd_raw,
	 NEEDS_LINK,
	 0,
	 0,
	 "raw",
	 {"send the JSON requests on stdin (one per line;",
	  "--repeat N: each N times), print the replies",
	  "(--hold SECS: stay attached that long after)"}},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: p2psip [options] COMMAND [ARGS]\n"
		   "The overlay's command-line client.\n\n");
	for (size_t i = 0; i < NCMDS; i++) {
		fprintf(f, "  %-24s%s\n", cmds[i].synopsis, cmds[i].help[0]);
		for (int k = 1; k < 3 && cmds[i].help[k] != NULL; k++)
			fprintf(f, "%26s%s\n", "", cmds[i].help[k]);
	}
	fprintf(f,
		"\n"
		"  -b, --bootstrap URL     bootstrapd (default $P2PSIP_BOOTSTRAP)\n"
		"  -a, --ca FILE           the overlay CA certificate (default $P2PSIP_CA)\n"
		"  -k, --key FILE          our key (default $P2PSIP_KEY)\n"
		"  -c, --cert FILE         our certificate (default $P2PSIP_CERT)\n"
		"  -u, --user NAME         account for login\n"
		"      --password-stdin    read the password from the first line of stdin\n"
		"  -s, --supernode IP:PORT attach there instead of asking bootstrapd\n"
		"      --kind K            kind of a stored value (default \"data\")\n"
		"      --lifetime SECS     lifetime of a stored value (default 3600)\n"
		"      --via SN-ID         for send: the super node the destination is attached "
		"to\n"
		"      --count N           for listen: exit after N messages; for stun: requests\n"
		"      --repeat N          for raw: send each request N times, pipelined\n"
		"      --hold SECS         for raw: stay attached SECS after the replies\n"
		"      --oneway            for raw: send the lines as one-way messages (no\n"
		"                          replies; a ping afterwards shows the link lives)\n"
		"      --stored MS         for sign: the storage time (ms since the epoch)\n"
		"      --timeout SECS      give up after this long (default 15)\n"
		"      --json              machine-readable output\n"
		"  -h, --help              show this help\n"
		"  -V, --version           show the version\n"
		"Exit status: 0 done, 1 error, 2 bad usage, 3 nothing stored under NAME.\n");
}

/* ---- flags ---- */

static const struct option opts[] = {
	{"bootstrap", required_argument, NULL, 'b'},
	{"ca", required_argument, NULL, 'a'},
	{"key", required_argument, NULL, 'k'},
	{"cert", required_argument, NULL, 'c'},
	{"user", required_argument, NULL, 'u'},
	{"supernode", required_argument, NULL, 's'},
	{"password-stdin", no_argument, NULL, 'P'},
	{"kind", required_argument, NULL, 'K'},
	{"lifetime", required_argument, NULL, 'L'},
	{"via", required_argument, NULL, 'v'},
	{"count", required_argument, NULL, 'n'},
	{"repeat", required_argument, NULL, 'r'},
	{"hold", required_argument, NULL, 'H'},
	{"oneway", no_argument, NULL, 'O'},
	{"stored", required_argument, NULL, 'S'},
	{"timeout", required_argument, NULL, 't'},
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static void parse_defaults(void)
{
	C.bootstrap = getenv("P2PSIP_BOOTSTRAP");
	C.ca = getenv("P2PSIP_CA");
	C.key = getenv("P2PSIP_KEY");
	C.cert = getenv("P2PSIP_CERT");
	C.kind = "data";
	C.lifetime = 3600;
	C.timeout = 15;
}

/* One case a line, as getopt's table reads: clang-format would spread
 * each over three. */
static void parse_option(int c, const char *arg)
{
	/* clang-format off */
	switch (c) {
	case 'b': C.bootstrap = arg; break;
	case 'a': C.ca = arg; break;
	case 'k': C.key = arg; break;
	case 'c': C.cert = arg; break;
	case 'u': C.user = arg; break;
	case 's': C.supernode = arg; break;
	case 'P': C.password_stdin = 1; break;
	case 'K': C.kind = arg; break;
	case 'L': C.lifetime = strtoll(arg, NULL, 10); break;
	case 'v': C.via = arg; break;
	case 'n': C.count = atoi(arg); break;
	case 'r': C.repeat = atoi(arg); break;
	case 'H': C.hold = atoi(arg); break;
	case 'O': C.oneway = 1; break;
	case 'S': C.stored = strtoll(arg, NULL, 10); break;
	case 't': C.timeout = atoi(arg); break;
	case 'j': C.json = 1; break;
	case 'h': usage(stdout); exit(0);
	case 'V': printf("p2psip %s\n", P2PSIP_VERSION); exit(0);
	default: usage(stderr); exit(2);
	}
	/* clang-format on */
}

static void parse(int argc, char **argv)
{
	int c;

	parse_defaults();
	while ((c = getopt_long(argc, argv, "b:a:k:c:u:s:hV", opts, NULL)) != -1)
		parse_option(c, optarg);
	if (C.timeout <= 0 || C.lifetime < 0 || C.lifetime > UINT32_MAX)
		die(2, "bad --timeout or --lifetime");
}

/* ---- running a command ---- */

static void prepare(enum cmd_needs needs)
{
	switch (needs) {
	case NEEDS_NOTHING:
		break;
	case NEEDS_BOOTSTRAP:
		setup(1);
		break;
	case NEEDS_IDENTITY:
		setup(0);
		load_identity();
		break;
	case NEEDS_LINK:
		setup(C.supernode == NULL);
		load_identity();
		if (C.bootstrap != NULL)
			fetch_crl();
		attach();
		break;
	}
}

static void cleanup(void)
{
	olink_free(C.link);
	bootc_free(C.boot);
	SSL_CTX_free(C.ctx);
	SSL_CTX_free(C.anon);
	X509_free(C.x509);
	X509_free(C.cax);
	EVP_PKEY_free(C.pkey);
	crl_free(C.crl);
	event_base_free(C.base);
	record_cert_cache_clear();
}

int main(int argc, char **argv)
{
	const struct cmd *cmd;
	int rc = 2;

	log_init("p2psip", LOG_LVL_WARN);
	parse(argc, argv);
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = cmd_find(argv[optind]);
	argc -= optind + 1;
	argv += optind + 1;
	C.base = event_base_new();
	/* An unknown command attaches before it is refused, as it did before
	 * this table: a failed attach still decides its exit status. */
	prepare(cmd != NULL ? cmd->needs : NEEDS_LINK);
	if (cmd == NULL || argc < cmd->min_args ||
	    (cmd->max_args != ARGS_ANY && argc > cmd->max_args))
		usage(stderr);
	else
		rc = cmd->run(argc, argv);
	cleanup();
	return rc;
}
