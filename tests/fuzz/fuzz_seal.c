/* Fuzzes sealed envelopes as an ordinary node receives them (seal_open, with
 * bob's identity of fuzz_seal_pki.h): what an opened message promises, that
 * it never opens twice, and that every refusal says why. Seeds: run with
 * FUZZ_SEAL_SEEDS=dir to write valid envelopes from alice into dir. */
#include "certcheck.h"
#include "fuzz_seal_pki.h"
#include "log.h"
#include "seal.h"
#include "util.h"

#include <jansson.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The time every seed was sealed at, and the receiver's clock. */
#define FUZZ_NOW_MS 1796558400000ull
#define LINK_A "0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A"
#define LINK_B "0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct certcheck *cc;
static struct seal *bob_node;
static int verbose; /* FUZZ_SEAL_VERBOSE set: each outcome on stderr */

static X509 *pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (x == NULL)
		abort();
	return x;
}

static EVP_PKEY *pem_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (k == NULL)
		abort();
	return k;
}

static void write_seed(const char *dir, const char *name, json_t *j)
{
	char path[512];
	char *text = json_dumps(j, JSON_COMPACT);
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (text == NULL || fp == NULL)
		abort();
	fputs(text, fp);
	fclose(fp);
	free(text);
	json_decref(j);
}

static json_t *from_alice(X509 *bob, const char *text)
{
	struct seal *a = seal_new(cc, "overlay.example", FUZZ_NOW_MS);
	X509 *alice = pem_cert(seal_alice_pem);
	EVP_PKEY *ka = pem_key(seal_alice_key);
	char err[256];
	json_t *env;

	if (a == NULL || seal_add_own(a, ka, alice) < 0)
		abort();
	env = seal_close(a, alice, bob, LINK_A, LINK_B, (const uint8_t *)text, strlen(text),
			 FUZZ_NOW_MS, err, sizeof(err));
	if (env == NULL)
		abort();
	seal_free(a);
	X509_free(alice);
	EVP_PKEY_free(ka);
	return env;
}

static void write_seeds(const char *dir)
{
	X509 *bob = pem_cert(seal_bob_pem);
	json_t *env = from_alice(bob, "INVITE sip:bob@overlay.example SIP/2.0\r\n"
				      "From: <sip:alice@overlay.example>;tag=1\r\n"
				      "To: <sip:bob@overlay.example>\r\nContent-Length: 0\r\n\r\n");

	write_seed(dir, "invite.json", json_deep_copy(env));
	write_seed(dir, "frame.json",
		   json_pack("{s:s,s:s,s:s,s:O}", "t", "msg", "from", LINK_A, "from_sn",
			     "0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C", "seal", env));
	json_object_set_new(env, "v", json_integer(2));
	write_seed(dir, "version.json", env);
	write_seed(dir, "empty.json", from_alice(bob, ""));
	write_seed(dir, "ringing.json", from_alice(bob, "SIP/2.0 180 Ringing\r\n\r\n"));
	write_seed(dir, "bare.json", json_pack("{s:i}", "v", 1));
	X509_free(bob);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	X509 *ca, *bob;
	EVP_PKEY *kb;
	const char *dir = getenv("FUZZ_SEAL_SEEDS");

	(void)argc, (void)argv;
	log_init("fuzz", LOG_LVL_ERROR);
	verbose = getenv("FUZZ_SEAL_VERBOSE") != NULL;
	ca = pem_cert(seal_ca_pem);
	bob = pem_cert(seal_bob_pem);
	kb = pem_key(seal_bob_key);
	cc = certcheck_new(ca);
	bob_node = seal_new(cc, "overlay.example", FUZZ_NOW_MS - 2 * SEAL_SKEW_MS);
	if (cc == NULL || bob_node == NULL || seal_add_own(bob_node, kb, bob) < 0)
		abort();
	X509_free(ca);
	X509_free(bob);
	EVP_PKEY_free(kb);
	if (dir != NULL) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

static void check_opened(const struct seal_opened *o, const json_t *env)
{
	struct seal_opened again;
	char err[256] = "";

	if (o->pt == NULL || o->len > SEAL_PT_MAX || o->pt[o->len] != '\0' || o->peer == NULL ||
	    o->mine == NULL || o->peer_name[0] == '\0' || strlen(o->peer_id) != NODE_ID_HEX_LEN)
		abort();
	if (seal_peer_cert(bob_node, o->peer_id) == NULL)
		abort();
	/* Never twice. */
	if (seal_open(bob_node, env, LINK_A, LINK_B, FUZZ_NOW_MS, &again, err, sizeof(err)) == 0 ||
	    strstr(err, "replayed") == NULL)
		abort();
}

static void one(const json_t *env)
{
	struct seal_opened o;
	char err[256] = "";

	/* A fresh replay ring for each input, so that an input opens the same
	 * way whatever ran before it. */
	if (seal_set_replay_max(bob_node, 16) < 0)
		abort();
	if (seal_open(bob_node, env, LINK_A, LINK_B, FUZZ_NOW_MS, &o, err, sizeof(err)) == 0)
		check_opened(&o, env);
	else if (err[0] == '\0' || o.pt != NULL || o.peer != NULL)
		abort(); /* a refusal says why and hands nothing out */
	if (verbose)
		fprintf(stderr, "fuzz_seal: %s\n", o.pt != NULL ? "opened" : err);
	seal_opened_clear(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
			       NULL);
	json_t *inner;

	if (j == NULL)
		return 0;
	/* Envelopes travel as the "seal" member of a link frame. */
	inner = json_is_object(j) ? json_object_get(j, "seal") : NULL;
	one(inner != NULL ? inner : j);
	json_decref(j);
	return 0;
}
