/* p2psip-adhoc: one command per machine for an ad-hoc overlay on a LAN
 * (docs/adhoc.md). Main, flags, the configuration files it writes. */
#include "adhoc_cmd.h"

#include "adhoc.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef P2PSIP_VERSION
#define P2PSIP_VERSION "0.0.0"
#endif
#define CONF_MAX 4096
#define ADHOC_NAME_LEN_MAX (NAME_MAX_LEN - 3) /* room for "sn-" */

static void usage(FILE *f)
{
	fprintf(f, "usage: p2psip-adhoc --name NAME [--code CODE] [--address IP] [--dir DIR]\n"
		   "                    [--sip-password PW] [--overlay NAME]\n"
		   "Makes this machine a member of an ad-hoc overlay on the LAN: logind, a super\n"
		   "node and an ordinary node for NAME's phones, until Ctrl-C (docs/adhoc.md).\n"
		   "Without --code it makes a join code and prints it: give it to the others.\n"
		   "  --name NAME          your account (a-z, 0-9, . _ -)\n"
		   "  --code CODE          the join code someone else printed\n"
		   "  --address IP         this machine's LAN address (default: the first one)\n"
		   "  --dir DIR            state and logs (default: ~/.p2psip-adhoc/OVERLAY)\n"
		   "  --sip-password PW    your phone's password (default: a random one)\n"
		   "  --overlay NAME       the overlay name (default: derived from the code)\n");
}

static void __attribute__((noreturn)) die(const char *what)
{
	fprintf(stderr, "p2psip-adhoc: %s\n", what);
	exit(1);
}

static void parse_args(int argc, char **argv, struct adhoc *a, const char **code,
		       const char **overlay, const char **dir)
{
	static const struct option opts[] = {
		{"name", 1, NULL, 'N'}, {"code", 1, NULL, 'C'},         {"address", 1, NULL, 'A'},
		{"dir", 1, NULL, 'D'},  {"sip-password", 1, NULL, 'P'}, {"overlay", 1, NULL, 'O'},
		{"help", 0, NULL, 'h'}, {"version", 0, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case 'N':
			a->name = optarg;
			break;
		case 'C':
			*code = optarg;
			break;
		case 'A':
			a->address = optarg;
			break;
		case 'D':
			*dir = optarg;
			break;
		case 'P':
			a->sip_password = optarg;
			break;
		case 'O':
			*overlay = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("p2psip-adhoc %s\n", P2PSIP_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || a->name == NULL) {
		usage(stderr);
		exit(2);
	}
	if (!name_is_valid(a->name) || strlen(a->name) > ADHOC_NAME_LEN_MAX)
		die("--name: 1 to 61 of a-z, 0-9, . _ -, starting with a letter or digit");
	if (a->address != NULL && !addr_is_ip(a->address))
		die("--address: an IP address");
}

/* The first IPv4 address of an interface that is up and not loopback. */
static int first_address(char *out, size_t outlen)
{
	struct ifaddrs *ifs, *i;
	int rc = -1;

	if (getifaddrs(&ifs) < 0)
		return -1;
	for (i = ifs; i != NULL && rc < 0; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP))
			continue;
		struct sockaddr_in *sin = (struct sockaddr_in *)i->ifa_addr;
		if (inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)outlen) != NULL)
			rc = 0;
	}
	freeifaddrs(ifs);
	return rc;
}

/* The code kept in dir by an earlier run, into out; NULL if none. */
static const char *stored_code(const char *dir, char *out, size_t outlen)
{
	char path[PATH_MAX], err[256];
	size_t len;
	char *text;

	if (dir == NULL ||
	    (size_t)snprintf(path, sizeof(path), "%s/join-code", dir) >= sizeof(path) ||
	    !file_exists(path))
		return NULL;
	text = file_read(path, ADHOC_CODE_FILE_MAX, &len, err, sizeof(err));
	if (text == NULL)
		die(err);
	text[strcspn(text, "\r\n")] = '\0';
	str_copy(out, text, outlen);
	free(text);
	return out;
}

/* The code (given or new), the overlay name, and the directory. */
static void setup_identity(struct adhoc *a, const char *code, const char *overlay, const char *dir)
{
	char norm[ADHOC_CODE_MAX + 1], err[256];
	uint8_t seed[ADHOC_SEED_LEN];

	if (code == NULL && adhoc_code_new(a->code, sizeof(a->code)) < 0)
		die("no randomness for a join code");
	if (code != NULL && str_copy(a->code, code, sizeof(a->code)) >= sizeof(a->code))
		die("the join code is too long");
	if (adhoc_code_normalize(a->code, norm, sizeof(norm), err, sizeof(err)) < 0)
		die(err);
	if (adhoc_seed(norm, seed) < 0)
		die("scrypt failed (32 MiB of memory needed)");
	if (overlay != NULL)
		str_copy(a->overlay, overlay, sizeof(a->overlay));
	else
		adhoc_overlay_name(seed, a->overlay, sizeof(a->overlay));
	const char *home = getenv("HOME") != NULL ? getenv("HOME") : "/tmp";
	if ((size_t)snprintf(a->dir, sizeof(a->dir), "%s%s%s", dir != NULL ? dir : home,
			     dir != NULL ? "" : "/.p2psip-adhoc/",
			     dir != NULL ? "" : a->overlay) >= sizeof(a->dir))
		die("the directory's name is longer than 90 characters: give a shorter --dir");
}

/* dir/file with the given text, unless keep and it exists already. */
static void put_file(const struct adhoc *a, const char *file, const char *text, int keep)
{
	char path[PATH_MAX + 64], err[256];

	snprintf(path, sizeof(path), "%s/%s", a->dir, file);
	if (keep && file_exists(path))
		return;
	if (file_write(path, text, strlen(text), 0600, 0, err, sizeof(err)) < 0)
		die(err);
}

/* A random password of ADHOC_PASSWORD_CHARS base32 characters. */
static void put_password(const struct adhoc *a, const char *file)
{
	char code[ADHOC_CODE_TEXT_MAX], pw[ADHOC_PASSWORD_CHARS + 2];
	size_t n = 0;

	/* Two new codes give 40 base32 characters; the first 24 are kept. */
	for (int k = 0; k < 2; k++) {
		if (adhoc_code_new(code, sizeof(code)) < 0)
			die("no randomness for a password");
		for (char *p = code; *p != '\0' && n < ADHOC_PASSWORD_CHARS; p++)
			if (*p != '-')
				pw[n++] = *p;
	}
	pw[n++] = '\n';
	pw[n] = '\0';
	put_file(a, file, pw, 1);
}

static void write_logind_conf(const struct adhoc *a)
{
	char conf[CONF_MAX];
	const char *d = a->dir;

	/* Loopback only, and only this machine's accounts, whose passwords are
	 * random: a cheaper password hash than a public logind's is enough. */
	snprintf(conf, sizeof(conf),
		 "# written by p2psip-adhoc: this machine's logind (docs/adhoc.md)\n"
		 "[logind]\noverlay = %s\nlisten = 127.0.0.1:%d\nstatus_listen =\n"
		 "admin_socket = %s/logind.sock\ndatabase = %s/logind.db\n"
		 "ca_key = %s/ca.key\nca_cert = %s/ca.crt\njoin_code_file = %s/join-code\n"
		 "tls_key = %s/logind.key\ntls_cert = %s/logind.crt\ntls_names = 127.0.0.1\n"
		 "[passwords]\nscrypt_n = %d\n",
		 a->overlay, ADHOC_LOGIND_PORT, d, d, d, d, d, d, d, ADHOC_SCRYPT_N_LOGIN);
	put_file(a, "logind.conf", conf, 0);
}

static void write_supernode_conf(const struct adhoc *a)
{
	char conf[CONF_MAX];
	const char *d = a->dir;

	/* There is no bootstrapd: a super node that hears nobody within wait
	 * forms a ring of its own, which never merges with the others'. wait
	 * covers two announcements, so that a newcomer never misses the ring. */
	snprintf(conf, sizeof(conf),
		 "# written by p2psip-adhoc: this machine's super node (docs/adhoc.md)\n"
		 "[supernode]\noverlay = %s\nlogind_url = https://127.0.0.1:%d\n"
		 "ca_cert = %s/ca.crt\naccount = sn-%s\npassword_file = %s/sn.password\n"
		 "key = %s/sn/node.key\ncert = %s/sn/node.crt\ndatabase = %s/sn/records.db\n"
		 "listen = %s:%d\nstatus_listen = 127.0.0.1:%d\n"
		 "[lan]\nannounce = yes\ninterface = %s\ninterval = %ds\nwait = %ds\n",
		 a->overlay, ADHOC_LOGIND_PORT, d, a->name, d, d, d, d, a->address, ADHOC_SN_PORT,
		 ADHOC_SN_STATUS_PORT, a->address, ADHOC_LAN_INTERVAL, ADHOC_LAN_WAIT);
	put_file(a, "supernode.conf", conf, 0);
}

static void write_ordinarynode_conf(const struct adhoc *a)
{
	char conf[CONF_MAX];
	const char *d = a->dir;

	/* Media go direct: on one LAN the phones' addresses are no secret from
	 * the room, and a relay hop would only add delay. MD5 is offered first
	 * because phones of every age come into a room and many answer only the
	 * first challenge; the SIP password is random unless one is given. */
	snprintf(conf, sizeof(conf),
		 "# written by p2psip-adhoc: this machine's ordinary node (docs/adhoc.md)\n"
		 "[ordinarynode]\noverlay = %s\nlogind_url = https://127.0.0.1:%d\n"
		 "ca_cert = %s/ca.crt\nstate_dir = %s/on\nstatus_listen = 127.0.0.1:%d\n"
		 "sip_listen = %s:%d\ndigest_algorithms = MD5 SHA-256\n[lan]\ninterface = %s\n"
		 "[media]\nhide_addresses = no\n"
		 "[account %s]\npassword_file = %s/user.password\n"
		 "sip_password_file = %s/user.sip\n",
		 a->overlay, ADHOC_LOGIND_PORT, d, d, ADHOC_ON_STATUS_PORT, a->address,
		 ADHOC_SIP_PORT, a->address, a->name, d, d);
	put_file(a, "ordinarynode.conf", conf, 0);
}

static void write_files(const struct adhoc *a)
{
	char err[256], line[sizeof(a->code) + 2], sub[PATH_MAX + 8];

	snprintf(sub, sizeof(sub), "%s/sn/x", a->dir);
	if (mkdir_parents(sub, 0700, err, sizeof(err)) < 0)
		die(err);
	snprintf(line, sizeof(line), "%s\n", a->code);
	put_file(a, "join-code", line, 0);
	put_password(a, "sn.password");
	put_password(a, "user.password");
	if (a->sip_password != NULL) {
		snprintf(sub, sizeof(sub), "%s\n", a->sip_password);
		put_file(a, "user.sip", sub, 0);
	} else
		put_password(a, "user.sip");
	write_logind_conf(a);
	write_supernode_conf(a);
	write_ordinarynode_conf(a);
}

/* A directory already used with another code keeps that code's CA: refuse
 * rather than run an overlay nobody else is in. */
static void check_same_code(const struct adhoc *a)
{
	char path[PATH_MAX + 16], err[256], n1[ADHOC_CODE_MAX + 1], n2[ADHOC_CODE_MAX + 1];
	size_t len;
	char *old;

	snprintf(path, sizeof(path), "%s/join-code", a->dir);
	if (!file_exists(path))
		return;
	old = file_read(path, CONF_MAX, &len, err, sizeof(err));
	if (old == NULL)
		die(err);
	old[strcspn(old, "\r\n")] = '\0';
	int same = adhoc_code_normalize(old, n1, sizeof(n1), err, sizeof(err)) == 0 &&
		   adhoc_code_normalize(a->code, n2, sizeof(n2), err, sizeof(err)) == 0 &&
		   strcmp(n1, n2) == 0;
	free(old);
	if (!same) {
		fprintf(stderr, "p2psip-adhoc: %s was made with another join code; give --dir\n",
			a->dir);
		exit(1);
	}
}

/* "logind --init" once: the CA derived from the code, the database. */
static void logind_init(const struct adhoc *a)
{
	char prog[PATH_MAX], conf[PATH_MAX + 16], key[PATH_MAX + 16];

	snprintf(key, sizeof(key), "%s/ca.key", a->dir);
	if (file_exists(key))
		return;
	adhoc_prog(a, "logind", prog, sizeof(prog));
	snprintf(conf, sizeof(conf), "%s/logind.conf", a->dir);
	char *argv[] = {prog, "-c", conf, "--init", NULL};
	if (adhoc_run(a, argv, NULL, "logind.log") != 0)
		die("logind --init failed: see logind.log in the directory");
}

static int socket_there(const struct adhoc *a)
{
	char path[PATH_MAX + 16];
	struct stat st;

	snprintf(path, sizeof(path), "%s/logind.sock", a->dir);
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* One account on this machine's logind, with the password in dir/file; an
 * account there already (a second start) is fine. */
static void add_account(const struct adhoc *a, const char *name, const char *role, const char *file)
{
	char prog[PATH_MAX], sock[PATH_MAX + 16], path[PATH_MAX + 16], err[256];
	size_t len;
	char *pw;

	adhoc_prog(a, "p2psip-admin", prog, sizeof(prog));
	snprintf(sock, sizeof(sock), "%s/logind.sock", a->dir);
	snprintf(path, sizeof(path), "%s/%s", a->dir, file);
	pw = file_read(path, CONF_MAX, &len, err, sizeof(err));
	if (pw == NULL)
		die(err);
	char *add[] = {prog,     "-s",         sock,
		       "user",   "add",        (char *)name,
		       "--role", (char *)role, "--password-stdin",
		       NULL};
	char *passwd[] = {prog, "-s", sock, "user", "passwd", (char *)name, "--password-stdin",
			  NULL};
	if (adhoc_run(a, add, pw, "admin.log") != 0 && adhoc_run(a, passwd, pw, "admin.log") != 0) {
		free(pw);
		die("cannot add the accounts to logind: see admin.log in the directory");
	}
	free(pw);
}

static int start_daemon(struct adhoc *a, enum adhoc_proc which, const char *prog_name)
{
	char prog[PATH_MAX], conf[PATH_MAX + 32], log[64];

	adhoc_prog(a, prog_name, prog, sizeof(prog));
	snprintf(conf, sizeof(conf), "%s/%s.conf", a->dir, prog_name);
	snprintf(log, sizeof(log), "%s.log", prog_name);
	char *argv[] = {prog, "-c", conf, NULL};
	return adhoc_start(a, which, argv, log);
}

/* logind, its two accounts, the super node and the ordinary node. */
static int start_all(struct adhoc *a)
{
	char sn[NAME_MAX_LEN + 1];
	struct timespec tick = {0, 100 * 1000 * 1000};

	logind_init(a);
	if (start_daemon(a, P_LOGIND, "logind") < 0)
		return -1;
	for (int i = 0; i < ADHOC_READY_SECS * 10 && !socket_there(a); i++)
		nanosleep(&tick, NULL);
	if (!socket_there(a)) {
		log_error("logind did not start: see %s/logind.log", a->dir);
		return -1;
	}
	snprintf(sn, sizeof(sn), "sn-%s", a->name);
	add_account(a, sn, "supernode", "sn.password");
	add_account(a, a->name, "user", "user.password");
	if (start_daemon(a, P_SUPERNODE, "supernode") < 0 ||
	    start_daemon(a, P_ORDINARYNODE, "ordinarynode") < 0)
		return -1;
	return 0;
}

/* What to type into a phone, and the code for the others. */
static void print_settings(const struct adhoc *a)
{
	char path[PATH_MAX + 16], err[256];
	size_t len;
	char *pw;

	snprintf(path, sizeof(path), "%s/user.sip", a->dir);
	pw = file_read(path, CONF_MAX, &len, err, sizeof(err));
	if (pw == NULL)
		die(err);
	pw[strcspn(pw, "\r\n")] = '\0';
	printf("overlay %s\n"
	       "join code: %s\n"
	       "  the others in the room run: p2psip-adhoc --name THEIR-NAME --code %s\n"
	       "phone settings:\n"
	       "  server    %s:%d (UDP or TCP)\n  domain    %s\n  user      %s\n"
	       "  password  %s\n"
	       "state and logs in %s; Ctrl-C leaves the overlay\n",
	       a->overlay, a->code, a->code, a->address, ADHOC_SIP_PORT, a->overlay, a->name, pw,
	       a->dir);
	fflush(stdout);
	free(pw);
}

int main(int argc, char **argv)
{
	struct adhoc a;
	const char *code = NULL, *overlay = NULL, *dir = NULL;
	char addr[64], self[PATH_MAX], stored[ADHOC_CODE_FILE_MAX + 1];
	sigset_t set;
	ssize_t n;
	int rc;

	memset(&a, 0, sizeof(a));
	log_init("p2psip-adhoc", LOG_LVL_INFO);
	parse_args(argc, argv, &a, &code, &overlay, &dir);
	if (code == NULL) /* a second run in the same --dir: the same overlay */
		code = stored_code(dir, stored, sizeof(stored));
	if (a.address == NULL) {
		if (first_address(addr, sizeof(addr)) < 0)
			die("no LAN address found: give --address");
		a.address = addr;
	}
	/* The daemons are looked for next to this program first. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	if (strrchr(self, '/') != NULL)
		*strrchr(self, '/') = '\0';
	str_copy(a.bindir, n > 0 ? self : ".", sizeof(a.bindir));
	setup_identity(&a, code, overlay, dir);
	check_same_code(&a);
	write_files(&a);
	/* Blocked before any child exists, so that no signal is lost. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	rc = start_all(&a);
	if (rc == 0) {
		print_settings(&a);
		rc = adhoc_wait(&a);
	}
	adhoc_stop(&a);
	return rc == 0 ? 0 : 1;
}
