/* p2psip-admin: the administrator's command line against a running logind,
 * over logind's admin socket. */
#include "frame.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef P2PSIP_VERSION
#define P2PSIP_VERSION "0.0.0"
#endif

#define DEFAULT_SOCKET "/run/p2psip/logind.sock"
#define ADMIN_FRAME_MAX (64 * 1024)
#define REPLY_TIMEOUT_SECS 120
#define PW_MAX 1024

struct opts {
	const char *socket;
	int json;
	const char *role;
	const char *user;
	const char *reason;
	const char *csr;
	const char *out;
	int password_stdin;
	int promotable;
	const char *dns[8];
	int ndns;
	const char *ips[8];
	int nips;
	const char *args[4];
	int nargs;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: p2psip-admin [-s SOCKET] [--json] COMMAND\n"
		"Administers users and certificates of a running logind.\n\n"
		"  user add NAME [--role user|supernode|gateway] [--promotable] [--password-stdin]\n"
		"                          a new account (role user unless given); --promotable:\n"
		"                          its nodes may also run a super node of their own\n"
		"  user del NAME           delete it, revoke its live certificates\n"
		"  user list               every account with its role, status, live certificates\n"
		"  user passwd NAME [--password-stdin]\n"
		"  user disable NAME       refuse logins, revoke live certificates\n"
		"  user enable NAME        allow logins again, end a login slow-down\n"
		"  user promotable NAME    let a user account's nodes become super nodes\n"
		"  user unpromotable NAME  no more super node certificates (none renewed)\n"
		"  cert list [--user NAME] every certificate issued (or only NAME's)\n"
		"  cert revoke SERIAL [--reason REASON]\n"
		"                          REASON: unspecified (default), keyCompromise,\n"
		"                          affiliationChanged, superseded, cessationOfOperation,\n"
		"                          certificateHold\n"
		"  cert issue-server --csr FILE --dns NAME [--dns NAME]... [--ip ADDR]... [--out "
		"FILE]\n"
		"                          a TLS certificate for bootstrapd or another server\n"
		"                          (at most 8 --dns and 8 --ip); without --out the PEM\n"
		"                          goes to stdout\n\n"
		"  -s, --socket PATH       logind's admin socket (default $P2PSIP_ADMIN_SOCKET or "
		"%s)\n"
		"      --json              print logind's answer as JSON (not for issue-server)\n"
		"      --password-stdin    read the password from the first line of stdin\n"
		"                          (otherwise it is asked twice on the terminal)\n"
		"  -h, --help              show this help\n"
		"  -V, --version           show the version\n"
		"Exit status: 0 on success, 1 on any error (one line on stderr), 2 on bad usage.\n",
		DEFAULT_SOCKET);
}

static void __attribute__((noreturn)) die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("p2psip-admin: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void __attribute__((noreturn)) bad_usage(const char *what)
{
	fprintf(stderr, "p2psip-admin: %s\n", what);
	usage(stderr);
	exit(2);
}

static const char *need_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		bad_usage("option needs a value");
	return argv[++*i];
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->socket = getenv("P2PSIP_ADMIN_SOCKET") != NULL ? getenv("P2PSIP_ADMIN_SOCKET")
							  : DEFAULT_SOCKET;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0)
			o->socket = need_value(argc, argv, &i);
		else if (strcmp(a, "--json") == 0)
			o->json = 1;
		else if (strcmp(a, "--role") == 0)
			o->role = need_value(argc, argv, &i);
		else if (strcmp(a, "--user") == 0)
			o->user = need_value(argc, argv, &i);
		else if (strcmp(a, "--reason") == 0)
			o->reason = need_value(argc, argv, &i);
		else if (strcmp(a, "--csr") == 0)
			o->csr = need_value(argc, argv, &i);
		else if (strcmp(a, "--out") == 0)
			o->out = need_value(argc, argv, &i);
		else if (strcmp(a, "--password-stdin") == 0)
			o->password_stdin = 1;
		else if (strcmp(a, "--promotable") == 0)
			o->promotable = 1;
		else if (strcmp(a, "--dns") == 0 && o->ndns < 8)
			o->dns[o->ndns++] = need_value(argc, argv, &i);
		else if (strcmp(a, "--ip") == 0 && o->nips < 8)
			o->ips[o->nips++] = need_value(argc, argv, &i);
		else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("p2psip-admin %s\n", P2PSIP_VERSION);
			exit(0);
		} else if (a[0] == '-')
			bad_usage("unknown option");
		else if (o->nargs < 4)
			o->args[o->nargs++] = a;
		else
			bad_usage("too many arguments");
	}
}

static int connect_socket(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {REPLY_TIMEOUT_SECS, 0};
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		die("%s: path too long", path);
	str_copy(sun.sun_path, path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		die("cannot reach logind at %s: %s", path, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Sends the request, returns the reply; dies on any error reply. */
static json_t *call(const struct opts *o, json_t *req)
{
	int fd = connect_socket(o->socket);
	json_t *rep = NULL;
	char err[256];
	const char *e;

	if (frame_send_fd(fd, req, ADMIN_FRAME_MAX) < 0)
		die("cannot send request to logind");
	json_decref(req);
	if (frame_recv_fd(fd, ADMIN_FRAME_MAX, &rep, err, sizeof(err)) != FRAME_OK)
		die("no reply from logind: %s", err);
	close(fd);
	if (json_unpack(rep, "{s:s}", "error", &e) == 0)
		die("%s", e);
	if (!json_is_true(json_object_get(rep, "ok")))
		die("logind refused the request");
	return rep;
}

static char *read_line(FILE *f, const char *what)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);

	if (n < 0) {
		free(line);
		die("no %s given", what);
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n == 0 || n > PW_MAX) {
		OPENSSL_cleanse(line, cap);
		free(line);
		die("%s must be 1 to %d characters", what, PW_MAX);
	}
	return line;
}

static char *prompt(FILE *tty, const char *text)
{
	struct termios old, quiet;
	char *pw;

	fputs(text, stderr);
	fflush(stderr);
	tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	pw = read_line(tty, "password");
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputc('\n', stderr);
	return pw;
}

static char *get_password(const struct opts *o, const char *name)
{
	FILE *tty;
	char text[128];
	char *a, *b;

	if (o->password_stdin)
		return read_line(stdin, "password");
	tty = fopen("/dev/tty", "r+");
	if (tty == NULL)
		die("no terminal to ask for the password: use --password-stdin");
	snprintf(text, sizeof(text), "Password for %s: ", name);
	a = prompt(tty, text);
	b = prompt(tty, "Again: ");
	fclose(tty);
	if (strcmp(a, b) != 0)
		die("passwords differ");
	OPENSSL_cleanse(b, strlen(b));
	free(b);
	return a;
}

static void fmt_time(json_int_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M", &tm);
}

static void print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2));

	if (s != NULL)
		puts(s);
	free(s);
}

static void user_table(json_t *users)
{
	size_t i;
	json_t *u;

	printf("%-24s %-10s %-9s %5s  %-16s %s\n", "NAME", "ROLE", "STATUS", "CERTS",
	       "CREATED (UTC)", "PROMOTABLE");
	json_array_foreach (users, i, u) {
		char t[32];
		fmt_time(json_integer_value(json_object_get(u, "created")), t, sizeof(t));
		printf("%-24s %-10s %-9s %5lld  %-16s %s\n",
		       json_string_value(json_object_get(u, "name")),
		       json_string_value(json_object_get(u, "role")),
		       json_is_true(json_object_get(u, "disabled")) ? "disabled" : "enabled",
		       (long long)json_integer_value(json_object_get(u, "live_certs")), t,
		       json_is_true(json_object_get(u, "promotable")) ? "yes" : "no");
	}
}

static void cert_table(json_t *certs)
{
	time_t now = time(NULL);
	size_t i;
	json_t *c;

	printf("%-32s %-20s %-9s %-16s %-16s %s\n", "SERIAL", "NAME", "ROLE", "NODE-ID (PREFIX)",
	       "NOT AFTER (UTC)", "STATUS");
	json_array_foreach (certs, i, c) {
		char t[32];
		json_int_t na = json_integer_value(json_object_get(c, "not_after"));
		const char *status = json_object_get(c, "revoked") != NULL ? "revoked"
				     : na <= now                           ? "expired"
									   : "valid";
		fmt_time(na, t, sizeof(t));
		printf("%-32s %-20s %-9s %-16.16s %-16s %s%s%s\n",
		       json_string_value(json_object_get(c, "serial")),
		       json_string_value(json_object_get(c, "name")),
		       json_string_value(json_object_get(c, "role")),
		       json_string_value(json_object_get(c, "node_id")), t, status,
		       json_object_get(c, "reason") != NULL ? ": " : "",
		       json_object_get(c, "reason") != NULL
			       ? json_string_value(json_object_get(c, "reason"))
			       : "");
	}
}

static int cmd_user(const struct opts *o)
{
	const char *sub = o->nargs > 1 ? o->args[1] : "";
	const char *name = o->nargs > 2 ? o->args[2] : NULL;
	json_t *req;
	json_t *rep;

	if (strcmp(sub, "list") == 0) {
		rep = call(o, json_pack("{s:s}", "op", "user_list"));
		if (o->json)
			print_json(json_object_get(rep, "users"));
		else
			user_table(json_object_get(rep, "users"));
		json_decref(rep);
		return 0;
	}
	if (name == NULL)
		bad_usage("user command needs a NAME");
	if (strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) {
		char *pw = get_password(o, name);
		req = json_pack("{s:s,s:s,s:s}", "op", sub[0] == 'a' ? "user_add" : "user_passwd",
				"name", name, "password", pw);
		if (sub[0] == 'a' && o->role != NULL)
			json_object_set_new(req, "role", json_string(o->role));
		if (sub[0] == 'a' && o->promotable)
			json_object_set_new(req, "promotable", json_true());
		OPENSSL_cleanse(pw, strlen(pw));
		free(pw);
	} else if (strcmp(sub, "del") == 0 || strcmp(sub, "disable") == 0 ||
		   strcmp(sub, "enable") == 0 || strcmp(sub, "promotable") == 0 ||
		   strcmp(sub, "unpromotable") == 0) {
		char op[32];
		snprintf(op, sizeof(op), "user_%s", sub);
		req = json_pack("{s:s,s:s}", "op", op, "name", name);
	} else {
		bad_usage("unknown user command");
	}
	rep = call(o, req);
	if (o->json)
		print_json(rep);
	else if (json_integer_value(json_object_get(rep, "revoked")) > 0)
		printf("%s: done; %lld certificates revoked\n", name,
		       (long long)json_integer_value(json_object_get(rep, "revoked")));
	else
		printf("%s: done\n", name);
	json_decref(rep);
	return 0;
}

static int cmd_issue_server(const struct opts *o)
{
	char err[256];
	char *csr;
	json_t *req, *dns, *ips, *rep;
	const char *pem;

	if (o->csr == NULL || o->ndns == 0)
		bad_usage("cert issue-server needs --csr FILE and --dns NAME");
	csr = file_read(o->csr, 8192, NULL, err, sizeof(err));
	if (csr == NULL)
		die("%s", err);
	dns = json_array();
	ips = json_array();
	for (int i = 0; i < o->ndns; i++)
		json_array_append_new(dns, json_string(o->dns[i]));
	for (int i = 0; i < o->nips; i++)
		json_array_append_new(ips, json_string(o->ips[i]));
	req = json_pack("{s:s,s:s,s:o,s:o}", "op", "cert_issue_server", "csr", csr, "dns", dns,
			"ips", ips);
	free(csr);
	rep = call(o, req);
	pem = json_string_value(json_object_get(rep, "cert"));
	if (o->out != NULL) {
		if (file_write(o->out, pem, strlen(pem), 0644, 0, err, sizeof(err)) < 0)
			die("%s", err);
		fprintf(stderr, "certificate %s written to %s\n",
			json_string_value(json_object_get(rep, "serial")), o->out);
	} else {
		fputs(pem, stdout);
	}
	json_decref(rep);
	return 0;
}

static int cmd_cert(const struct opts *o)
{
	const char *sub = o->nargs > 1 ? o->args[1] : "";
	json_t *rep;

	if (strcmp(sub, "list") == 0) {
		json_t *req = json_pack("{s:s}", "op", "cert_list");
		if (o->user != NULL)
			json_object_set_new(req, "name", json_string(o->user));
		rep = call(o, req);
		if (o->json)
			print_json(json_object_get(rep, "certs"));
		else
			cert_table(json_object_get(rep, "certs"));
	} else if (strcmp(sub, "revoke") == 0) {
		json_t *req;
		if (o->nargs < 3)
			bad_usage("cert revoke needs a SERIAL");
		req = json_pack("{s:s,s:s}", "op", "cert_revoke", "serial", o->args[2]);
		if (o->reason != NULL)
			json_object_set_new(req, "reason", json_string(o->reason));
		rep = call(o, req);
		if (o->json)
			print_json(rep);
		else
			printf("%s: revoked\n", o->args[2]);
	} else if (strcmp(sub, "issue-server") == 0) {
		return cmd_issue_server(o);
	} else {
		bad_usage("unknown cert command");
	}
	json_decref(rep);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;

	parse_args(argc, argv, &o);
	if (o.nargs == 0)
		bad_usage("no command");
	if (strcmp(o.args[0], "user") == 0)
		return cmd_user(&o);
	if (strcmp(o.args[0], "cert") == 0)
		return cmd_cert(&o);
	bad_usage("unknown command");
}
