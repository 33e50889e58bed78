/* The CA signing process and its client side. */
#include "logind_ca.h"

#include "frame.h"
#include "identity.h"
#include "jsonx.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CA_FRAME_MAX (16 * 1024 * 1024)

struct ca {
	int fd;
	pid_t pid;
};

/* ---- encoding shared by both sides ---- */

static char *der_hex(const unsigned char *der, int n)
{
	char *hex = malloc(2 * (size_t)n + 1);

	if (hex != NULL)
		hex_encode(der, (size_t)n, hex);
	return hex;
}

static unsigned char *hex_der(const char *hex, size_t *n)
{
	size_t len = strlen(hex);
	unsigned char *der;

	if (len == 0 || len % 2 != 0)
		return NULL;
	der = malloc(len / 2);
	if (der == NULL || hex_decode(hex, der, len / 2) < 0) {
		free(der);
		return NULL;
	}
	*n = len / 2;
	return der;
}

static json_t *str_array(const char *const *v, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *spec_to_json(const struct cert_spec *s)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(s->pubkey, &der);
	char *hex = n > 0 ? der_hex(der, n) : NULL;
	json_t *j = NULL;

	OPENSSL_free(der);
	if (hex == NULL)
		return NULL;
	j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:o,s:o,s:I,s:I}", "op", "issue", "pubkey", hex,
		      "serial", s->serial_hex, "overlay", s->overlay, "name", s->name, "san_uri",
		      s->san_uri, "dns", str_array(s->dns, s->ndns), "ips",
		      str_array(s->ips, s->nips), "not_before", (json_int_t)s->not_before,
		      "not_after", (json_int_t)s->not_after);
	if (j != NULL && s->role != NULL)
		json_object_set_new(j, "role", json_string(s->role));
	free(hex);
	return j;
}

/* ---- the signing process ---- */

struct signer {
	EVP_PKEY *key;
	X509 *cert;
};

static int names_from_json(json_t *a, const char **out, int *n)
{
	size_t i;
	json_t *v;

	*n = 0;
	if (!json_is_array(a) || json_array_size(a) > SAN_MAX)
		return -1;
	json_array_foreach (a, i, v) {
		if (!json_is_string(v))
			return -1;
		out[(*n)++] = json_string_value(v);
	}
	return 0;
}

static json_t *signer_issue(struct signer *sg, json_t *req)
{
	struct cert_spec s = {0};
	const char *hex = NULL;
	int64_t nb = 0, na = 0;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t n = 0;
	char err[256] = "bad request";
	X509 *cert = NULL;
	char *pem = NULL;
	json_t *rep;

	if (jx_str(req, "pubkey", 4096, 1, &hex, err, sizeof(err)) < 0 ||
	    jx_str(req, "serial", 64, 1, &s.serial_hex, err, sizeof(err)) < 0 ||
	    jx_str(req, "overlay", 255, 1, &s.overlay, err, sizeof(err)) < 0 ||
	    jx_str(req, "role", 16, 0, &s.role, err, sizeof(err)) < 0 ||
	    jx_str(req, "name", 255, 1, &s.name, err, sizeof(err)) < 0 ||
	    jx_str(req, "san_uri", 1024, 0, &s.san_uri, err, sizeof(err)) < 0 ||
	    jx_int(req, "not_before", 0, INT64_MAX, 1, &nb, err, sizeof(err)) < 0 ||
	    jx_int(req, "not_after", 0, INT64_MAX, 1, &na, err, sizeof(err)) < 0 ||
	    names_from_json(json_object_get(req, "dns"), s.dns, &s.ndns) < 0 ||
	    names_from_json(json_object_get(req, "ips"), s.ips, &s.nips) < 0)
		goto out;
	/* The signer never issues another CA, whatever it is asked. */
	s.is_ca = 0;
	s.not_before = nb;
	s.not_after = na;
	der = hex_der(hex, &n);
	p = der;
	s.pubkey = der != NULL ? d2i_PUBKEY(NULL, &p, (long)n) : NULL;
	if (s.pubkey == NULL || !key_is_allowed(s.pubkey)) {
		str_copy(err, "bad public key", sizeof(err));
		goto out;
	}
	cert = x509_build(&s, sg->key, sg->cert, err, sizeof(err));
	pem = cert != NULL ? cert_to_pem(cert) : NULL;
out:
	rep = pem != NULL ? json_pack("{s:s}", "cert", pem) : json_pack("{s:s}", "error", err);
	free(pem);
	X509_free(cert);
	EVP_PKEY_free(s.pubkey);
	free(der);
	return rep;
}

static int crl_entries_from_json(json_t *a, struct crl_entry **out, size_t *n)
{
	size_t i;
	json_t *v;

	*n = 0;
	*out = NULL;
	if (!json_is_array(a))
		return -1;
	*out = calloc(json_array_size(a) + 1, sizeof(**out));
	if (*out == NULL)
		return -1;
	json_array_foreach (a, i, v) {
		const char *serial;
		json_int_t t, reason;
		if (json_unpack(v, "[sII]", &serial, &t, &reason) < 0 ||
		    strlen(serial) > SERIAL_HEX_LEN)
			return -1;
		str_copy((*out)[i].serial, serial, sizeof((*out)[i].serial));
		(*out)[i].revoked = t;
		(*out)[i].reason = (int)reason;
		(*n)++;
	}
	return 0;
}

static json_t *signer_crl(struct signer *sg, json_t *req)
{
	json_int_t number, last, next;
	struct crl_entry *e = NULL;
	size_t n = 0;
	char err[256] = "bad request";
	X509_CRL *crl = NULL;
	unsigned char *der = NULL;
	char *hex = NULL;
	int len;
	json_t *rep;

	if (json_unpack(req, "{s:I,s:I,s:I}", "number", &number, "last", &last, "next", &next) <
		    0 ||
	    crl_entries_from_json(json_object_get(req, "revoked"), &e, &n) < 0)
		goto out;
	crl = x509_build_crl(sg->key, sg->cert, number, last, next, e, n, err, sizeof(err));
	if (crl != NULL && (len = i2d_X509_CRL(crl, &der)) > 0)
		hex = der_hex(der, len);
out:
	rep = hex != NULL ? json_pack("{s:s}", "crl", hex) : json_pack("{s:s}", "error", err);
	free(hex);
	OPENSSL_free(der);
	X509_CRL_free(crl);
	free(e);
	return rep;
}

static void signer_loop(int fd, struct signer *sg)
{
	for (;;) {
		json_t *req = NULL;
		json_t *rep;
		const char *op = "";
		char err[256];
		int rc = frame_recv_fd(fd, CA_FRAME_MAX, &req, err, sizeof(err));

		if (rc != FRAME_OK)
			return; /* logind closed the link or broke it: exit */
		json_unpack(req, "{s:s}", "op", &op);
		if (strcmp(op, "issue") == 0)
			rep = signer_issue(sg, req);
		else if (strcmp(op, "crl") == 0)
			rep = signer_crl(sg, req);
		else
			rep = json_pack("{s:s}", "error", "unknown operation");
		json_decref(req);
		rc = rep != NULL ? frame_send_fd(fd, rep, CA_FRAME_MAX) : -1;
		json_decref(rep);
		if (rc < 0)
			return;
	}
}

static void __attribute__((noreturn))
signer_main(int fd, const char *key_path, const char *cert_path)
{
	struct signer sg = {0};
	char err[512] = "";
	json_t *hello;

	/* Not dumpable: no core file and no ptrace by the same user. */
	prctl(PR_SET_DUMPABLE, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	sg.key = key_read_pem(key_path, err, sizeof(err));
	if (sg.key != NULL)
		sg.cert = cert_read_pem(cert_path, err, sizeof(err));
	if (sg.cert != NULL && X509_check_private_key(sg.cert, sg.key) != 1)
		snprintf(err, sizeof(err), "%s does not match %s", cert_path, key_path);
	hello = err[0] == '\0' ? json_pack("{s:b}", "ok", 1) : json_pack("{s:s}", "error", err);
	frame_send_fd(fd, hello, CA_FRAME_MAX);
	json_decref(hello);
	if (err[0] == '\0')
		signer_loop(fd, &sg);
	EVP_PKEY_free(sg.key);
	X509_free(sg.cert);
	close(fd);
	_exit(0);
}

/* ---- the logind side ---- */

static json_t *call(struct ca *ca, json_t *req, char *err, size_t errlen)
{
	json_t *rep = NULL;
	const char *e;

	if (req == NULL || frame_send_fd(ca->fd, req, CA_FRAME_MAX) < 0) {
		err_set(err, errlen, "CA signer unreachable");
		json_decref(req);
		return NULL;
	}
	json_decref(req);
	if (frame_recv_fd(ca->fd, CA_FRAME_MAX, &rep, err, errlen) != FRAME_OK) {
		log_error("CA signer: %s", err);
		err_set(err, errlen, "CA signer unreachable");
		return NULL;
	}
	if (json_unpack(rep, "{s:s}", "error", &e) == 0) {
		err_set(err, errlen, "CA signer: %s", e);
		json_decref(rep);
		return NULL;
	}
	return rep;
}

struct ca *ca_start(const char *key_path, const char *cert_path, char *err, size_t errlen)
{
	struct ca *ca = calloc(1, sizeof(*ca));
	int sv[2];
	json_t *hello = NULL;
	const char *e;

	if (ca == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		err_set(err, errlen, "socketpair: %s", strerror(errno));
		free(ca);
		return NULL;
	}
	ca->pid = fork();
	if (ca->pid < 0) {
		err_set(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(ca);
		return NULL;
	}
	if (ca->pid == 0) {
		close(sv[0]);
		signer_main(sv[1], key_path, cert_path);
	}
	close(sv[1]);
	ca->fd = sv[0];
	if (frame_recv_fd(ca->fd, CA_FRAME_MAX, &hello, err, errlen) != FRAME_OK)
		goto fail;
	if (json_unpack(hello, "{s:s}", "error", &e) == 0) {
		err_set(err, errlen, "%s", e);
		goto fail;
	}
	json_decref(hello);
	return ca;
fail:
	json_decref(hello);
	ca_stop(ca);
	return NULL;
}

X509 *ca_issue(struct ca *ca, const struct cert_spec *s, char *err, size_t errlen)
{
	json_t *rep = call(ca, spec_to_json(s), err, errlen);
	const char *pem;
	X509 *cert = NULL;

	if (rep == NULL)
		return NULL;
	if (json_unpack(rep, "{s:s}", "cert", &pem) == 0)
		cert = cert_from_pem(pem, strlen(pem));
	if (cert == NULL)
		err_set(err, errlen, "CA signer returned no certificate");
	json_decref(rep);
	return cert;
}

X509_CRL *ca_sign_crl(struct ca *ca, int64_t number, int64_t last, int64_t next,
		      const struct crl_entry *e, size_t n, char *err, size_t errlen)
{
	json_t *list = json_array();
	json_t *rep;
	const char *hex;
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t len = 0;
	X509_CRL *crl = NULL;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(list,
				      json_pack("[sII]", e[i].serial, (json_int_t)e[i].revoked,
						(json_int_t)e[i].reason));
	rep = call(ca,
		   json_pack("{s:s,s:I,s:I,s:I,s:o}", "op", "crl", "number", (json_int_t)number,
			     "last", (json_int_t)last, "next", (json_int_t)next, "revoked", list),
		   err, errlen);
	if (rep == NULL)
		return NULL;
	if (json_unpack(rep, "{s:s}", "crl", &hex) == 0 && (der = hex_der(hex, &len)) != NULL) {
		p = der;
		crl = d2i_X509_CRL(NULL, &p, (long)len);
	}
	if (crl == NULL)
		err_set(err, errlen, "CA signer returned no CRL");
	free(der);
	json_decref(rep);
	return crl;
}

void ca_stop(struct ca *ca)
{
	if (ca == NULL)
		return;
	if (ca->fd >= 0)
		close(ca->fd);
	if (ca->pid > 0) {
		int st;
		while (waitpid(ca->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	free(ca);
}
