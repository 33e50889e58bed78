/* The SIP listener for the phones next to the ordinary node: one sofia-sip
 * nta agent on UDP and TCP at sip_listen, driven by libevent through
 * sipev. Where a phone's request goes first: past the allow-list of source
 * networks and digest authentication (on_auth.c), then REGISTER to the
 * registrar (on_registrar.c), every other request to the proxy
 * (on_forward.c). */
#include "on.h"

#include "log.h"
#include "sipev.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/tport_tag.h>

/* Largest SIP message taken from a phone: a REGISTER or INVITE with SDP is a
 * few KiB; sofia's default would let one TCP peer make it buffer 2 MiB. */
#define SIP_MSG_MAX 65536

struct on_sip {
	struct on *on;
	nta_agent_t *agent;
	nta_leg_t *leg;
	on_sip_handler_t reg, other;
	void *reg_arg, *other_arg;
};

/* The address a request came from, as text ("" when nta does not say). */
static void source_ip(nta_incoming_t *irq, char *ip, size_t len)
{
	msg_t *m = nta_incoming_getrequest(irq);
	su_addrinfo_t *ai = m != NULL ? msg_addrinfo(m) : NULL;

	ip[0] = '\0';
	if (ai != NULL && ai->ai_addr != NULL) {
		const su_sockaddr_t *su = (const su_sockaddr_t *)ai->ai_addr;
		su_inet_ntop(su->su_family, SU_ADDR(su), ip, len);
	}
	if (m != NULL)
		msg_destroy(m);
}

/* A source outside phone_networks: refused, and said in the log within a
 * budget so that a flood does not fill it. */
static int not_allowed(const char *ip)
{
	static struct log_limit lim;

	if (log_allowed(&lim, 1))
		log_info("SIP from %s refused: not in phone_networks", ip);
	return 403;
}

/* 401 or 407 with a challenge per algorithm, SHA-256 first by default. */
static int send_challenge(struct on_sip *s, nta_incoming_t *irq, const struct on_auth_result *r)
{
	char ch[2][ON_CHALLENGE_MAX];
	int n = on_auth_challenges(s->on->auth, r->stale, time_mono_ms(), ch, 2);
	int www = r->status == 401;
	tag_type_t t = www ? siptag_www_authenticate_str : siptag_proxy_authenticate_str;

	nta_incoming_treply(irq, r->status, r->phrase, t, (tag_value_t)ch[0], n > 1 ? t : tag_skip,
			    (tag_value_t)ch[1], TAG_END());
	nta_incoming_destroy(irq);
	return 0;
}

/* Whether the request may go on: 0, or the status it got (or 0 with the
 * answer sent, and then *done set). */
static int admit(struct on_sip *s, nta_incoming_t *irq, const sip_t *sip, int *done)
{
	char ip[64];
	struct on_auth_result r;

	*done = 0;
	source_ip(irq, ip, sizeof(ip));
	if (!on_phone_allowed(&s->on->cfg.phone_nets, ip)) {
		r.status = not_allowed(ip);
		r.phrase = "Forbidden";
	} else if (on_auth_check(s->on->auth, sip, ip, time_mono_ms(), &r) == 0) {
		return 0;
	}
	*done = 1;
	if (sip->sip_request->rq_method == sip_method_ack) {
		nta_incoming_destroy(irq); /* an ACK gets no answer: dropped */
		return 0;
	}
	if (r.status == 401 || r.status == 407)
		return send_challenge(s, irq, &r);
	nta_incoming_treply(irq, r.status, r.phrase, TAG_END());
	nta_incoming_destroy(irq);
	return 0;
}

/* A gateway's listener is the SIP world's way in: no phone authenticates
 * there, every source address is held to its rate (over it: 503 with
 * Retry-After at once, before any lookup or state of the proxy; sofia-sip
 * answers every request it parsed, so a silent drop is not to be had
 * here), and nobody registers. */
static int admit_public(struct on_sip *s, nta_incoming_t *irq, const sip_t *sip, int *done)
{
	static struct log_limit lim;
	char ip[64];

	*done = 0;
	source_ip(irq, ip, sizeof(ip));
	if (!on_gw_source_ok(s->on->gw, ip, time_mono_ms())) {
		if (log_allowed(&lim, 1))
			log_info("SIP from %s refused: over [gateway] source_rate", ip);
		*done = 1;
		if (sip->sip_request->rq_method != sip_method_ack)
			nta_incoming_treply(irq, 503, "Too Many Requests From This Address",
					    SIPTAG_RETRY_AFTER_STR("5"), TAG_END());
		nta_incoming_destroy(irq);
		return 0;
	}
	return sip->sip_request->rq_method == sip_method_register ? 403 : 0;
}

/* A REGISTER of one of our accounts' public addresses of record, from a
 * phone network: to that domain's registrar through a gateway, whose
 * digest challenge is the one that counts (docs/gateway.md); ours would
 * be a second realm for the phone to answer. */
static int public_register(struct on_sip *s, nta_incoming_t *irq, const sip_t *sip)
{
	char ip[64];

	if (sip->sip_request->rq_method != sip_method_register || sip->sip_to == NULL ||
	    on_config_public_aor(&s->on->cfg, sip->sip_to->a_url) < 0)
		return 0;
	source_ip(irq, ip, sizeof(ip));
	return on_phone_allowed(&s->on->cfg.phone_nets, ip);
}

static int on_request(nta_leg_magic_t *magic, nta_leg_t *leg, nta_incoming_t *irq, sip_t const *sip)
{
	struct on_sip *s = (struct on_sip *)magic;
	int st, done;

	(void)leg;
	if (s->reg == NULL || s->other == NULL || s->on->auth == NULL)
		return 503; /* not serving yet */
	if (s->on->gw != NULL) {
		if ((st = admit_public(s, irq, sip, &done)) != 0 || done)
			return st;
		return s->other(s->other_arg, irq, sip);
	}
	if (public_register(s, irq, sip))
		return s->other(s->other_arg, irq, sip);
	if ((st = admit(s, irq, sip, &done)) != 0 || done)
		return st;
	if (sip->sip_request->rq_method == sip_method_register)
		return s->reg(s->reg_arg, irq, sip);
	return s->other(s->other_arg, irq, sip);
}

/* sofia-sip's TLS takes a directory holding agent.pem (key and certificate)
 * and cafile.pem: made in state_dir/sip-tls from the operator's files. */
int on_tls_dir(const char *dir, const char *key_path, const char *cert_path, const char *ca,
	       size_t ca_len, char *err, size_t errlen)
{
	char path[700];
	size_t nk = 0, nc = 0;
	char *key = NULL, *cert = NULL, *both = NULL;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/agent.pem", dir);
	if (mkdir_parents(path, 0700, err, errlen) < 0 ||
	    (key = file_read(key_path, ON_TLS_FILE_MAX, &nk, err, errlen)) == NULL ||
	    (cert = file_read(cert_path, ON_TLS_FILE_MAX, &nc, err, errlen)) == NULL ||
	    (both = malloc(nk + nc + 2)) == NULL)
		goto out;
	memcpy(both, key, nk);
	both[nk] = '\n';
	memcpy(both + nk + 1, cert, nc);
	if (file_write(path, both, nk + 1 + nc, 0600, 0, err, errlen) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/cafile.pem", dir);
	rc = ca != NULL ? file_write(path, ca, ca_len, 0600, 0, err, errlen)
			: file_write(path, cert, nc, 0600, 0, err, errlen);
out:
	if (key != NULL)
		OPENSSL_cleanse(key, nk);
	if (both != NULL)
		OPENSSL_cleanse(both, nk + nc + 2);
	free(key);
	free(cert);
	free(both);
	return rc;
}

static int tls_dir(const struct on_config *c, char *dir, size_t len, char *err, size_t errlen)
{
	snprintf(dir, len, "%s/sip-tls", c->state_dir);
	return on_tls_dir(dir, c->sip_tls_key, c->sip_tls_cert, NULL, 0, err, errlen);
}

/* SIP over TLS for the phones (sips: and transport=tls) at sip_tls_listen,
 * with the operator's certificate; phones are not asked for one. */
static int tls_listen(struct on_sip *s, char *err, size_t errlen)
{
	const struct on_config *c = &s->on->cfg;
	char host[64], url[128], dir[600];
	uint16_t port;

	if (c->sip_tls_listen == NULL || c->sip_tls_listen[0] == '\0')
		return 0;
	if (addr_split(c->sip_tls_listen, host, sizeof(host), &port) < 0 || !addr_is_ip(host)) {
		err_set(err, errlen, "sip_tls_listen: want IP:PORT, got %s", c->sip_tls_listen);
		return -1;
	}
	if (tls_dir(c, dir, sizeof(dir), err, errlen) < 0)
		return -1;
	snprintf(url, sizeof(url), strchr(host, ':') ? "sips:[%s]:%u" : "sips:%s:%u", host, port);
	if (nta_agent_add_tport(s->agent, (url_string_t *)url, TPTAG_CERTIFICATE(dir),
				TPTAG_TLS_VERIFY_POLICY(TPTLS_VERIFY_NONE), TAG_END()) < 0) {
		err_set(err, errlen,
			"cannot listen for SIP over TLS on %s (sip_tls_cert, sip_tls_key?)",
			c->sip_tls_listen);
		return -1;
	}
	log_info("SIP over TLS for the phones on %s", c->sip_tls_listen);
	return 0;
}

struct on_sip *on_sip_new(struct on *on, char *err, size_t errlen)
{
	struct on_sip *s = calloc(1, sizeof(*s));
	char host[64], url[128];
	uint16_t port;

	if (s == NULL) {
		err_set(err, errlen, "out of memory");
		return NULL;
	}
	s->on = on;
	if (addr_split(on->cfg.sip_listen, host, sizeof(host), &port) < 0 || !addr_is_ip(host)) {
		err_set(err, errlen, "sip_listen: want IP:PORT, got %s", on->cfg.sip_listen);
		free(s);
		return NULL;
	}
	snprintf(url, sizeof(url), strchr(host, ':') ? "sip:[%s]:%u" : "sip:%s:%u", host, port);
	/* NTATAG_UDP_MTU: nta would send a request over 1300 bytes by TCP
	 * (RFC 3261 18.1.1) even to a phone that registered over UDP, and
	 * many desk phones do not listen on TCP. Phones are reached over the
	 * transport they registered with, whatever the size (on_binding_parse). */
	s->agent = nta_agent_create(sipev_root(on->sev), (url_string_t *)url, NULL, NULL,
				    NTATAG_SERVER_RPORT(2), NTATAG_MAXSIZE(SIP_MSG_MAX),
				    NTATAG_UDP_MTU(65535), TAG_END());
	if (s->agent == NULL) {
		err_set(err, errlen, "cannot listen for SIP on %s (UDP and TCP)",
			on->cfg.sip_listen);
		free(s);
		return NULL;
	}
	if (tls_listen(s, err, errlen) < 0) {
		on_sip_free(s);
		return NULL;
	}
	s->leg = nta_leg_tcreate(s->agent, on_request, (nta_leg_magic_t *)s, NTATAG_NO_DIALOG(1),
				 TAG_END());
	if (s->leg == NULL) {
		err_set(err, errlen, "SIP set-up failed");
		on_sip_free(s);
		return NULL;
	}
	return s;
}

nta_agent_t *on_sip_agent(struct on_sip *s)
{
	return s->agent;
}

void on_sip_handlers(struct on_sip *s, on_sip_handler_t reg, void *reg_arg, on_sip_handler_t other,
		     void *other_arg)
{
	s->reg = reg;
	s->reg_arg = reg_arg;
	s->other = other;
	s->other_arg = other_arg;
	sipev_kick(s->on->sev);
	log_info("SIP registrar and proxy on %s (UDP and TCP)", s->on->cfg.sip_listen);
}

void on_sip_free(struct on_sip *s)
{
	if (s == NULL)
		return;
	if (s->leg != NULL)
		nta_leg_destroy(s->leg);
	if (s->agent != NULL)
		nta_agent_destroy(s->agent);
	free(s);
}
