/* Load generator for the super node ring, speaking the client protocol
 * like an ordinary node: every store is signed here, every fetched value's
 * certificate and signature are checked here.
 *
 *   dht_bench put  --sn IP:PORT --ca CA --key K --cert C --user U --seq N --tput M --conc C --keys FILE
 *   dht_bench get  --sn IP:PORT ... --seq N --tput M --conc C --keys FILE
 *   dht_bench wait --sn IP:PORT[,IP:PORT...] ... --name NAME --timeout-ms T
 *
 * put and get print one line: RESULT phase=... ops_s=... p50_ms=... p99_ms=...
 * hops_avg=... hops_max=... ok=... errors=... ; wait prints RESULT ms=...
 * (the time until NAME could be fetched again, -1 if never). */
#include "certcheck.h"
#include "identity.h"
#include "log.h"
#include "olink.h"
#include "record.h"
#include "tls.h"
#include "util.h"

#include <event2/event.h>
#include <getopt.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_SIZE 128

struct bench {
	const char *sn, *ca, *key, *cert, *user, *keys, *name;
	int seq, tput, conc_opt, conc, timeout_ms, value_size;
	struct event_base *base;
	SSL_CTX *ctx;
	EVP_PKEY *pkey;
	X509 *x509, *cax;
	struct certcheck *cc;
	struct olink *link;
	int ready, failed;
	char overlay[256];
	/* a phase */
	char **names;
	int nnames;
	int next, inflight, done_ops, target;
	uint64_t *lat;
	int nlat;
	long hops_sum;
	int hops_max, hops_n, errors;
	int get;
	json_t **pre; /* requests signed before the clock starts */
	char err[256];
};

static struct bench B;

static void die(const char *msg)
{
	fprintf(stderr, "dht_bench: %s\n", msg);
	exit(1);
}

static int on_ready(struct olink *l, const json_t *hello, void *arg)
{
	(void)l, (void)hello, (void)arg;
	B.ready = 1;
	return 0;
}

static void on_message(struct olink *l, json_t *msg, void *arg)
{
	(void)l, (void)msg, (void)arg;
}

static void on_closed(struct olink *l, const char *why, void *arg)
{
	(void)l, (void)arg;
	snprintf(B.err, sizeof(B.err), "%s", why);
	B.link = NULL;
	B.failed = 1;
}

static const struct olink_ops ops = {on_ready, on_message, on_closed};

static int attach(const char *where)
{
	char host[64], err[256];
	uint16_t port;
	struct olink_limits lim;

	if (addr_split(where, host, sizeof(host), &port) < 0)
		die("--sn: want IP:PORT");
	olink_limits_default(&lim);
	B.ready = B.failed = 0;
	B.link = olink_connect(B.base, B.ctx, host, port, json_object(), &lim, &ops, NULL, err,
			       sizeof(err));
	if (B.link == NULL)
		return -1;
	while (!B.ready && !B.failed)
		event_base_loop(B.base, EVLOOP_ONCE);
	return B.ready ? 0 : -1;
}

static char *random_value(void)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char raw[VALUE_SIZE];
	char *v = malloc((size_t)B.value_size + 1);

	RAND_bytes(raw, sizeof(raw));
	for (int i = 0; i < B.value_size; i++)
		v[i] = alphabet[raw[i % VALUE_SIZE] % (sizeof(alphabet) - 1)];
	v[B.value_size] = '\0';
	return v;
}

static json_t *store_request(const char *name)
{
	struct record r;
	char *data = random_value();
	json_t *msg;

	if (record_init(&r, name, "bench", data, now_ms(), 3600, 0) < 0 ||
	    record_sign(&r, B.pkey, B.x509) < 0)
		die("cannot sign");
	msg = json_pack("{s:s,s:o}", "t", "store", "val", record_to_json(&r));
	record_clear(&r);
	free(data);
	return msg;
}

/* A fetched value counts only if it is the right name and verifies. */
static int fetched_ok(json_t *reply, const char *name)
{
	json_t *vals = json_object_get(reply, "vals"), *v;
	size_t i;
	int good = 0;

	json_array_foreach(vals, i, v) {
		struct record r;
		if (record_from_json(v, &r, NULL, 0) == 0 && strcmp(r.name, name) == 0 &&
		    certcheck_verify_at(B.cc, r.cert, (int64_t)(r.stored / 1000), NULL, 0) == 0 &&
		    record_access_ok(&r, B.overlay, NULL, 0) == 0 && record_sig_ok(&r))
			good++;
		record_clear(&r);
	}
	return good > 0;
}

struct op {
	int idx;
	uint64_t t0;
};

static void pump(void);

static void on_reply(struct olink *l, json_t *reply, const char *err, void *arg)
{
	struct op *op = arg;
	uint64_t dt = time_mono_us() - op->t0;
	int ok = reply != NULL && json_is_true(json_object_get(reply, "ok")) &&
		 (!B.get || fetched_ok(reply, B.names[op->idx % B.nnames]));

	(void)l;
	if (!ok) {
		B.errors++;
		if (B.errors <= 3)
			fprintf(stderr, "dht_bench: %s failed: %s\n", B.names[op->idx % B.nnames],
				reply != NULL ? json_string_value(json_object_get(reply, "msg")) : err);
	} else {
		json_int_t h = json_integer_value(json_object_get(reply, "hops"));
		B.lat[B.nlat++] = dt;
		B.hops_sum += h;
		B.hops_n++;
		if (h > B.hops_max)
			B.hops_max = (int)h;
	}
	B.inflight--;
	B.done_ops++;
	free(op);
	pump();
}

static void pump(void)
{
	while (B.link != NULL && B.inflight < B.conc && B.next < B.target) {
		struct op *op = calloc(1, sizeof(*op));
		const char *name = B.names[B.next % B.nnames];
		json_t *msg = B.pre != NULL ? B.pre[B.next]
			      : B.get ? json_pack("{s:s,s:s}", "t", "fetch", "name", name)
				      : store_request(name);
		op->idx = B.next++;
		op->t0 = time_mono_us();
		B.inflight++;
		if (olink_request(B.link, msg, 30000, on_reply, op) < 0) {
			free(op);
			B.inflight--;
			B.errors++;
			B.done_ops++;
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	if (B.nlat == 0)
		return -1;
	return (double)B.lat[(size_t)(p * (B.nlat - 1))] / 1000.0;
}

/* Runs target operations with conc in flight; prints the RESULT line. */
static void phase(const char *label, int target, int conc)
{
	uint64_t t0;
	double secs;

	B.next = B.inflight = B.done_ops = B.nlat = B.errors = 0;
	B.hops_sum = B.hops_n = B.hops_max = 0;
	B.target = target;
	B.conc = conc;
	free(B.lat);
	B.lat = calloc((size_t)target + 1, sizeof(*B.lat));
	/* Signing is the storing node's work, done on its own machine: here it
	 * would take a core from the super nodes under test. */
	if (!B.get) {
		B.pre = calloc((size_t)target, sizeof(*B.pre));
		for (int i = 0; i < target; i++)
			B.pre[i] = store_request(B.names[i % B.nnames]);
	}
	t0 = time_mono_us();
	pump();
	while (B.done_ops < target && B.link != NULL)
		event_base_loop(B.base, EVLOOP_ONCE);
	secs = (double)(time_mono_us() - t0) / 1e6;
	for (int i = B.next; B.pre != NULL && i < target; i++)
		json_decref(B.pre[i]);
	free(B.pre);
	B.pre = NULL;
	qsort(B.lat, (size_t)B.nlat, sizeof(*B.lat), cmp_u64);
	printf("RESULT phase=%s conc=%d ops=%d ok=%d errors=%d secs=%.3f ops_s=%.1f p50_ms=%.3f "
	       "p99_ms=%.3f hops_avg=%.3f hops_max=%d\n",
	       label, conc, target, B.nlat, B.errors, secs, B.nlat / secs, pct(0.50), pct(0.99),
	       B.hops_n ? (double)B.hops_sum / B.hops_n : -1, B.hops_max);
	fflush(stdout);
	if (B.link == NULL)
		die(B.err);
}

static void make_names(int n, const char *prefix)
{
	unsigned char r[8];
	char hex[17];

	B.names = calloc((size_t)n, sizeof(*B.names));
	B.nnames = n;
	for (int i = 0; i < n; i++) {
		RAND_bytes(r, sizeof(r));
		hex_encode(r, sizeof(r), hex);
		B.names[i] = malloc(RECORD_NAME_MAX);
		snprintf(B.names[i], RECORD_NAME_MAX, "user:%.64s@%.100s/%.8s%s", B.user, B.overlay, prefix,
			 hex);
	}
}

static void save_names(void)
{
	FILE *f = fopen(B.keys, "w");

	if (f == NULL)
		die("cannot write --keys");
	for (int i = 0; i < B.nnames; i++)
		fprintf(f, "%s\n", B.names[i]);
	fclose(f);
}

static void load_names(void)
{
	FILE *f = fopen(B.keys, "r");
	char line[RECORD_NAME_MAX + 2];
	int cap = 1024;

	if (f == NULL)
		die("cannot read --keys");
	B.names = calloc((size_t)cap, sizeof(*B.names));
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (B.nnames == cap) {
			cap *= 2;
			B.names = realloc(B.names, (size_t)cap * sizeof(*B.names));
		}
		B.names[B.nnames++] = strdup(line);
	}
	fclose(f);
	if (B.nnames == 0)
		die("no names in --keys");
}

/* Fetches name every 20 ms, moving to the next super node when the link
 * breaks, until a valid value comes back. */
static int wait_fetchable(void)
{
	char list[1024], *save = NULL, *sns[16];
	int nsn = 0, cur = 0;
	uint64_t t0 = time_mono_us(), deadline = t0 + 1000u * (uint64_t)B.timeout_ms;

	str_copy(list, B.sn, sizeof(list));
	for (char *t = strtok_r(list, ",", &save); t != NULL && nsn < 16; t = strtok_r(NULL, ",", &save))
		sns[nsn++] = t;
	B.names = calloc(1, sizeof(*B.names));
	B.names[0] = strdup(B.name);
	B.nnames = 1;
	B.get = 1;
	while (time_mono_us() < deadline) {
		if (B.link == NULL && attach(sns[cur++ % nsn]) < 0)
			continue;
		B.next = B.inflight = B.done_ops = B.nlat = B.errors = 0;
		B.target = 1;
		B.conc = 1;
		free(B.lat);
		B.lat = calloc(2, sizeof(*B.lat));
		pump();
		while (B.done_ops < 1 && B.link != NULL)
			event_base_loop(B.base, EVLOOP_ONCE);
		if (B.nlat == 1) {
			printf("RESULT ms=%.1f\n", (double)(time_mono_us() - t0) / 1000.0);
			return 0;
		}
		struct timeval tv = {0, 20000};
		event_base_loopexit(B.base, &tv);
		event_base_dispatch(B.base);
	}
	printf("RESULT ms=-1\n");
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"sn", required_argument, NULL, 's'},	  {"ca", required_argument, NULL, 'a'},
		{"key", required_argument, NULL, 'k'},	  {"cert", required_argument, NULL, 'c'},
		{"user", required_argument, NULL, 'u'},	  {"keys", required_argument, NULL, 'K'},
		{"seq", required_argument, NULL, 'q'},	  {"tput", required_argument, NULL, 't'},
		{"conc", required_argument, NULL, 'C'},	  {"name", required_argument, NULL, 'n'},
		{"timeout-ms", required_argument, NULL, 'T'},
		{"value-size", required_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	char err[512];
	const char *mode;
	int c;

	B.seq = 500;
	B.tput = 3000;
	B.conc_opt = 64;
	B.timeout_ms = 10000;
	B.value_size = VALUE_SIZE;
	B.user = "bench";
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': B.sn = optarg; break;
		case 'a': B.ca = optarg; break;
		case 'k': B.key = optarg; break;
		case 'c': B.cert = optarg; break;
		case 'u': B.user = optarg; break;
		case 'K': B.keys = optarg; break;
		case 'q': B.seq = atoi(optarg); break;
		case 't': B.tput = atoi(optarg); break;
		case 'C': B.conc_opt = atoi(optarg); break;
		case 'n': B.name = optarg; break;
		case 'T': B.timeout_ms = atoi(optarg); break;
		case 'v': B.value_size = atoi(optarg); break;
		default: die("bad option");
		}
	}
	if (optind >= argc || B.sn == NULL || B.ca == NULL || B.key == NULL || B.cert == NULL ||
	    B.value_size < 1 || B.value_size > VALUE_SIZE)
		die("usage: dht_bench put|get|wait --sn IP:PORT --ca F --key F --cert F ...");
	mode = argv[optind];
	log_init("dht_bench", LOG_LVL_ERROR);
	B.base = event_base_new();
	B.pkey = key_read_pem(B.key, err, sizeof(err));
	B.x509 = cert_read_pem(B.cert, err, sizeof(err));
	B.cax = cert_read_pem(B.ca, err, sizeof(err));
	B.ctx = tls_client_ctx_new(B.ca, B.cert, B.key, err, sizeof(err));
	if (B.pkey == NULL || B.x509 == NULL || B.cax == NULL || B.ctx == NULL)
		die(err);
	B.cc = certcheck_new(B.cax);
	cert_overlay(B.x509, B.overlay, sizeof(B.overlay));
	if (strcmp(mode, "wait") == 0) {
		if (B.name == NULL)
			die("wait needs --name");
		return wait_fetchable();
	}
	if (attach(B.sn) < 0)
		die("cannot attach");
	if (strcmp(mode, "put") == 0) {
		make_names(B.seq + B.tput, "b");
		phase("put_seq", B.seq, 1);
		B.next = 0;
		/* The throughput phase stores the names after the sequential ones. */
		char **all = B.names;
		B.names = all + B.seq;
		B.nnames = B.tput;
		phase("put_tput", B.tput, B.conc_opt);
		B.names = all;
		B.nnames = B.seq + B.tput;
		if (B.keys != NULL)
			save_names();
	} else if (strcmp(mode, "get") == 0) {
		load_names();
		B.get = 1;
		phase("get_seq", B.seq < B.nnames ? B.seq : B.nnames, 1);
		phase("get_tput", B.tput, B.conc_opt);
	} else {
		die("mode: put, get or wait");
	}
	olink_free(B.link);
	return B.errors > 0;
}
