/* on_config: the ordinary node's configuration file: defaults, accounts
 * with a password or a password file (not both, not neither), account
 * names, and what is required. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "on.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads text as a configuration file: on_config_load's result. */
static int load(const char *text, struct on_config *cfg, char *err, size_t errlen)
{
	char *dir = tu_tmpdir_new(), *path = tu_path(dir, "ordinarynode.conf");
	int rc;

	assert_int_equal(tu_write(path, text, strlen(text)), 0);
	memset(cfg, 0, sizeof(*cfg));
	rc = on_config_load(cfg, path, err, errlen);
	free(path);
	tu_tmpdir_free(dir);
	return rc;
}

#define BASE                                                                                       \
	"[ordinarynode]\noverlay = overlay.example\n"                                              \
	"bootstrap_url = https://127.0.0.1:7443\n"

static void test_defaults(void **state)
{
	struct on_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load(BASE "[account alice]\npassword = secret\n"
				   "[account bob]\npassword_file = /etc/p2psip/bob.pw\n",
			      &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.overlay, "overlay.example");
	assert_string_equal(cfg.sip_listen, "127.0.0.1:5060");
	assert_string_equal(cfg.status_listen, "127.0.0.1:7490");
	assert_string_equal(cfg.media_relay, "auto");
	assert_int_equal(cfg.media_pool, 4);
	assert_int_equal(cfg.crl_refresh, 60);
	assert_int_equal(cfg.keepalive, 0);
	assert_int_equal(cfg.naccounts, 2);
	assert_string_equal(cfg.accounts[0].name, "alice");
	assert_string_equal(cfg.accounts[0].password, "secret");
	assert_null(cfg.accounts[1].password);
	assert_string_equal(cfg.accounts[1].password_file, "/etc/p2psip/bob.pw");
	on_config_free(&cfg);
}

static void test_refused(void **state)
{
	struct on_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load(BASE "[account alice]\n", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "give password or password_file"));
	on_config_free(&cfg);
	assert_int_equal(load(BASE "[account alice]\npassword = a\npassword_file = /x\n", &cfg, err,
			      sizeof(err)),
			 -1);
	on_config_free(&cfg);
	assert_int_equal(load(BASE "[account a/b]\npassword = a\n", &cfg, err, sizeof(err)), -1);
	on_config_free(&cfg);
	/* no account at all */
	assert_int_equal(load(BASE, &cfg, err, sizeof(err)), -1);
	on_config_free(&cfg);
	/* the overlay is required */
	assert_int_equal(load("[ordinarynode]\nbootstrap_url = https://x\n[account a]\npassword = "
			      "a\n",
			      &cfg, err, sizeof(err)),
			 -1);
	on_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_refused),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
