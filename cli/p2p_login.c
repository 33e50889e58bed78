/* p2psip login: asks bootstrapd where logind is, then logind for a
 * certificate for --user on our key (created if missing). */
#include "p2p.h"

#include "enroll.h"
#include "util.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* bootstrapd's overlay configuration: only where logind is matters here. */
static void on_config(enum bootc_res res, const struct bootc_config *cfg, const char *err,
		      void *arg)
{
	char *logind = arg;

	if (cfg != NULL)
		str_copy(logind, cfg->logind_url, BOOTC_URL_MAX + 1);
	else
		boot_failed(res, err);
	C.done = 1;
}

static char *read_password(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *in = stdin;
	struct termios old, quiet;
	int tty = !C.password_stdin && isatty(STDIN_FILENO);

	if (!C.password_stdin && !tty)
		die(2, "no terminal to ask for the password: use --password-stdin");
	if (tty) {
		fprintf(stderr, "Password for %s: ", C.user);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	n = getline(&line, &cap, in);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (n <= 0)
		die(1, "no password given");
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static void on_enrolled(const struct enroll_result *res, void *arg)
{
	char werr[256];

	(void)arg;
	if (res->cert_pem == NULL)
		snprintf(C.err, sizeof(C.err), "%s", res->err);
	else if (file_write(C.cert, res->cert_pem, strlen(res->cert_pem), 0644, 0, werr,
			    sizeof(werr)) < 0)
		snprintf(C.err, sizeof(C.err), "%s", werr);
	C.done = 1;
}

int cmd_login(int argc, char **argv)
{
	char logind[BOOTC_URL_MAX + 1] = "";
	char err[512];
	char *pw;

	(void)argc, (void)argv; /* login has always ignored extra words */
	if (C.user == NULL || C.key == NULL || C.cert == NULL)
		die(2, "login needs --user, --key and --cert");
	C.pkey = enroll_key_load_or_create(C.key, err, sizeof(err));
	if (C.pkey == NULL)
		die(1, "%s", err);
	if (bootc_get_config(C.boot, C.anon, on_config, logind, err, sizeof(err)) < 0)
		die(1, "%s", err);
	boot_wait();
	if (logind[0] == '\0')
		die(1, "%s", C.err[0] ? C.err : "bootstrapd gave no logind address");
	pw = read_password();
	if (enroll_login(C.base, C.anon, logind, C.user, pw, C.pkey, on_enrolled, NULL, err,
			 sizeof(err)) == NULL)
		die(1, "%s", err);
	OPENSSL_cleanse(pw, strlen(pw));
	free(pw);
	wait_done();
	if (C.err[0] != '\0')
		die(1, "%s", C.err);
	if (!C.json)
		printf("certificate for %s written to %s\n", C.user, C.cert);
	return 0;
}
