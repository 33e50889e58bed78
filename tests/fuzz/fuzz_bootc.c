/* Fuzzes bootstrapd's answers as nodes read them (common/bootc.c): the
 * overlay configuration (for a node of overlay.example and for p2psip login,
 * which takes any overlay), the super node list and the CRL, each input
 * through every parser. */
#include "bootc.h"
#include "crl.h"
#include "fuzz_ca.h"
#include "log.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OVERLAY "overlay.example"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static X509 *ca;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	ca = fuzz_ca();
	return 0;
}

static void check_timer(int64_t t)
{
	if (t < 1 || t > BOOTC_TIMER_MAX)
		abort();
}

static void check_config(const struct bootc_config *c)
{
	size_t ol = strnlen(c->overlay, sizeof(c->overlay));
	size_t ul = strnlen(c->logind_url, sizeof(c->logind_url));

	if (ol == 0 || ol > BOOTC_OVERLAY_MAX || ul == 0 || ul > BOOTC_URL_MAX)
		abort();
	check_timer(c->timers.heartbeat);
	check_timer(c->timers.stabilize);
	check_timer(c->timers.keepalive);
	check_timer(c->timers.renew_before);
	if (c->limits.value_max < 0 || c->limits.values_per_resource < 0 ||
	    c->limits.records_per_user < 0 || c->limits.lifetime_max < 0 || c->limits.frame_max < 0)
		abort();
}

/* Taking any overlay and checking ours must agree on everything else. */
static void config(const uint8_t *data, size_t size)
{
	struct bootc_config any, ours;
	char err[256] = "", err2[256] = "";
	enum bootc_res r_any = bootc_config_parse(data, size, NULL, &any, err, sizeof(err));
	enum bootc_res r_ours = bootc_config_parse(data, size, OVERLAY, &ours, err2, sizeof(err2));

	if (r_any == BOOTC_WRONG_OVERLAY || (r_any != BOOTC_OK && r_any != BOOTC_BAD_ANSWER))
		abort();
	if ((r_any != BOOTC_OK && err[0] == '\0') || (r_ours != BOOTC_OK && err2[0] == '\0'))
		abort(); /* a refusal always says why */
	if (r_any == BOOTC_BAD_ANSWER) {
		if (r_ours != BOOTC_BAD_ANSWER)
			abort();
		return;
	}
	check_config(&any);
	if (strcmp(any.overlay, OVERLAY) != 0) {
		if (r_ours != BOOTC_WRONG_OVERLAY)
			abort();
	} else if (r_ours != BOOTC_OK || memcmp(&any, &ours, sizeof(any)) != 0) {
		abort();
	}
}

static void check_addr(const struct bootc_addr *a)
{
	size_t hl = strnlen(a->host, sizeof(a->host));

	if (a->port == 0) {
		if (hl != 0)
			abort(); /* unusable addresses are left empty */
		return;
	}
	if (hl == 0 || hl > BOOTC_HOST_MAX || !addr_is_ip(a->host))
		abort();
}

static void list(const uint8_t *data, size_t size)
{
	static struct bootc_list l;
	char err[256] = "";
	enum bootc_res r = bootc_list_parse(data, size, &l, err, sizeof(err));

	if (r != BOOTC_OK) {
		if (r != BOOTC_BAD_ANSWER || err[0] == '\0' || l.n != 0)
			abort();
		return;
	}
	if (l.n < 0 || l.n > BOOTC_LIST_MAX)
		abort();
	for (int i = 0; i < l.n; i++) {
		const struct bootc_sn *s = &l.sn[i];
		if (s->addr[0].port == 0 && s->addr[1].port == 0)
			abort();
		for (int k = 0; k < BOOTC_SN_ADDRS; k++)
			check_addr(&s->addr[k]);
	}
}

static void crl(const uint8_t *data, size_t size)
{
	struct crl *c = (struct crl *)1;
	char err[256] = "";
	enum bootc_res r = bootc_crl_parse(data, size, ca, &c, err, sizeof(err));

	if ((r == BOOTC_OK) != (c != NULL) || (r != BOOTC_OK && r != BOOTC_BAD_ANSWER))
		abort();
	if (c != NULL && (bootc_crl_is_newer(c, c) || !bootc_crl_is_newer(NULL, c)))
		abort();
	crl_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	config(data, size);
	list(data, size);
	crl(data, size);
	return 0;
}
