/* on_config: the ordinary node's configuration file: defaults, accounts
 * with a password or a password file (not both, not neither), the same for
 * the SIP password of their phones, phone_networks and digest_algorithms, account
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
#include <sofia-sip/url.h>
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
	assert_int_equal(load(BASE "[account alice]\npassword = secret\nsip_password = phone\n"
				   "[account bob]\npassword_file = /etc/p2psip/bob.pw\n"
				   "sip_password_file = /etc/p2psip/bob.sip\n",
			      &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.overlay, "overlay.example");
	assert_string_equal(cfg.sip_listen, "127.0.0.1:5060");
	assert_string_equal(cfg.status_listen, "127.0.0.1:7490");
	assert_string_equal(cfg.media_relay, "auto");
	assert_int_equal(cfg.media_pool, 4);
	assert_int_equal(cfg.media_hide, 1); /* auto relays every call: no phone address shown */
	assert_int_equal(cfg.crl_refresh, 60);
	assert_int_equal(cfg.keepalive, 0);
	assert_int_equal(cfg.naccounts, 2);
	assert_string_equal(cfg.accounts[0].name, "alice");
	assert_string_equal(cfg.accounts[0].password, "secret");
	assert_null(cfg.accounts[1].password);
	assert_string_equal(cfg.accounts[1].password_file, "/etc/p2psip/bob.pw");
	assert_string_equal(cfg.accounts[0].sip_password, "phone");
	assert_string_equal(cfg.accounts[1].sip_password_file, "/etc/p2psip/bob.sip");
	assert_string_equal(cfg.accounts[0].role, "user");
	assert_string_equal(cfg.digest_algorithms, "SHA-256 MD5");
	assert_int_equal(cfg.auth_nonce_lifetime, 300);
	assert_int_equal(cfg.auth_fail_max, 5);
	assert_int_equal(cfg.auth_fail_window, 600);
	assert_int_equal(cfg.auth_block_time, 600);
	assert_int_equal(cfg.phone_nets.n, 0);
	assert_true(on_phone_allowed(&cfg.phone_nets, "203.0.113.9")); /* no list: everyone */
	on_config_free(&cfg);
}

#define ALICE "[account alice]\npassword = a\nsip_password = p\n"

/* The phones' side: networks and algorithms. */
static void test_phones(void **state)
{
	struct on_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load("[ordinarynode]\noverlay = o\nbootstrap_url = https://x\n"
			      "phone_networks = 192.168.1.0/24, 10.0.0.1 fd00::/8\n"
			      "digest_algorithms = MD5\n" ALICE,
			      &cfg, err, sizeof(err)),
			 0);
	/* (test_netlist.c has the matching, on this same list) */
	assert_int_equal(cfg.phone_nets.n, 3);
	assert_true(on_phone_allowed(&cfg.phone_nets, "192.168.1.77"));
	assert_false(on_phone_allowed(&cfg.phone_nets, "192.168.2.1"));
	assert_false(on_phone_allowed(&cfg.phone_nets, "garbage"));
	on_config_free(&cfg);
	assert_int_equal(load("[ordinarynode]\noverlay = o\nbootstrap_url = https://x\n"
			      "phone_networks = 10.0.0.0/33\n" ALICE,
			      &cfg, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "phone_networks"));
	on_config_free(&cfg);
	assert_int_equal(load("[ordinarynode]\noverlay = o\nbootstrap_url = https://x\n"
			      "digest_algorithms = SHA-1\n" ALICE,
			      &cfg, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "digest_algorithms"));
	on_config_free(&cfg);
}

/* An account asks for a user's certificate unless it says gateway. */
static void test_account_role(void **state)
{
	struct on_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load(BASE ALICE "[account gw1]\npassword = g\nsip_password = p\n"
					 "role = gateway\n",
			      &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.accounts[0].role, "user");
	assert_string_equal(cfg.accounts[1].role, "gateway");
	on_config_free(&cfg);
	assert_int_equal(load(BASE "[account sn]\npassword = g\nsip_password = p\n"
				   "role = supernode\n",
			      &cfg, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "[account sn]: role: want user or gateway, got supernode"));
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
	/* secure by default: no SIP password, no start */
	assert_int_equal(load(BASE "[account alice]\npassword = a\n", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "[account alice]: give sip_password or sip_password_file"));
	on_config_free(&cfg);
	assert_int_equal(load(BASE "[account alice]\npassword = a\nsip_password = p\n"
				   "sip_password_file = /x\n",
			      &cfg, err, sizeof(err)),
			 -1);
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
	/* bootstrapd or logind: one of the two */
	assert_int_equal(load("[ordinarynode]\noverlay = o\n[account a]\npassword = a\n"
			      "sip_password = s\n",
			      &cfg, err, sizeof(err)),
			 -1);
	assert_contains(err, "logind_url");
	on_config_free(&cfg);
	/* the LAN group must be an IPv4 multicast address */
	assert_int_equal(load("[ordinarynode]\noverlay = o\nlogind_url = https://x\n[lan]\ngroup = "
			      "10.0.0.1:7409\n[account a]\npassword = a\nsip_password = s\n",
			      &cfg, err, sizeof(err)),
			 -1);
	assert_contains(err, "multicast");
	on_config_free(&cfg);
}

/* No bootstrapd: logind_url alone will do; [lan] discover on by default. */
static void test_no_bootstrapd(void **state)
{
	struct on_config cfg;
	char err[256];

	(void)state;
	assert_int_equal(load("[ordinarynode]\noverlay = o\nlogind_url = https://x\n[account a]\n"
			      "password = a\nsip_password = s\n",
			      &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.bootstrap_url, "");
	assert_int_equal(cfg.lan_discover, 1);
	assert_string_equal(cfg.lan_group, "239.255.80.83:7409");
	on_config_free(&cfg);
}

/* [gateway] parsed and checked at load; an account's public addresses of
 * record found by the To of a REGISTER (user exact, domain in any case),
 * never one of the overlay's own. */
static void test_gateway_and_public_aors(void **state)
{
	struct on_config cfg;
	char err[256];
	su_home_t home[1] = {SU_HOME_INIT(home)};

	(void)state;
	assert_int_equal(load(BASE "[gateway]\nenable = yes\ndomains = Example.NET *\n"
				   "routes = example.net=127.0.0.40:5060\n" ALICE
				   "[account bob]\npassword = b\nsip_password = p\n"
				   "public_aors = bob@example.net, Bob@other.example\n",
			      &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(cfg.gw_enable, 1);
	assert_int_equal(cfg.gw_user_requests, 30);
	assert_int_equal(
		on_config_public_aor(
			&cfg, url_hdup(home, (url_t *)url_make(home, "sip:bob@EXAMPLE.net"))),
		1);
	assert_int_equal(
		on_config_public_aor(
			&cfg, url_hdup(home, (url_t *)url_make(home, "sip:Bob@other.example"))),
		1);
	assert_int_equal(
		on_config_public_aor(
			&cfg, url_hdup(home, (url_t *)url_make(home, "sip:bob@other.example"))),
		-1);
	assert_int_equal(
		on_config_public_aor(&cfg,
				     url_hdup(home, (url_t *)url_make(home, "sip:bo@example.net"))),
		-1);
	assert_int_equal(
		on_config_public_aor(
			&cfg, url_hdup(home, (url_t *)url_make(home, "sip:bob@overlay.example"))),
		-1);
	assert_int_equal(on_config_public_aor(
				 &cfg, url_hdup(home, (url_t *)url_make(home, "sip:example.net"))),
			 -1);
	on_config_free(&cfg);
	su_home_deinit(home);
	assert_int_equal(load(BASE "[gateway]\nenable = yes\nroutes = example.net\n" ALICE, &cfg,
			      err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "[gateway] routes"));
	on_config_free(&cfg);
	assert_int_equal(load(BASE "[gateway]\nenable = yes\ndomains = a..b\n" ALICE, &cfg, err,
			      sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "[gateway] domains"));
	on_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_account_role),
		cmocka_unit_test(test_gateway_and_public_aors),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_no_bootstrapd),
		cmocka_unit_test(test_phones),
	};

	log_init("test", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
