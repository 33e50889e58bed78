/* A load generator for logind's POST /v1/login: C concurrent clients, each
 * login over a new TLS connection as a node does it, with round-robin users
 * and a pool of pre-generated P-256 CSRs. Prints one RESULT line.
 *
 * It speaks HTTP/1.1 itself over an OpenSSL bufferevent rather than through
 * httpc, so that a connection's whole life (connect, handshake, request,
 * response, close) is in view and freed by the client that opened it. */
#include "identity.h"
#include "tls.h"
#include "util.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CSR_POOL 32
#define CONCURRENCY_MAX 1024
#define ERRORS_SHOWN 5
#define RETRY_MS 50          /* pause after an error, so a failing server is not hammered */
#define RESP_HDR_MAX 8192    /* a response header block longer than this is an error */
#define RESP_MAX (64 * 1024) /* a whole response longer than this is an error */

struct bench_opts {
	const char *url;
	const char *ca_file;
	int nusers;
	const char *password;
	int concurrency;
	int secs;
	int warmup;
	int timeout;
	int nagle; /* leave TCP_NODELAY off, as evhttp clients (httpc) do */
};

struct bench;

enum client_state {
	CLIENT_IDLE,    /* no connection */
	CLIENT_WAITING, /* paused after an error */
	CLIENT_BUSY,    /* connecting, handshaking, sending or reading */
};

/* One simulated node: at most one login, so one connection, at a time. */
struct client {
	struct bench *b;
	enum client_state state;
	struct bufferevent *bev;
	struct event *retry;
	uint64_t started_us;
	int handshaken; /* TLS handshake done: OpenSSL bufferevents say CONNECTED then */
};

struct bench {
	struct bench_opts o;
	char host[256];
	char path[1024];
	int port;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct event_base *base;
	SSL_CTX *ssl_ctx;
	char *csrs[CSR_POOL];
	struct client *clients;
	struct event *stop_ev, *hard_ev;
	uint64_t measure_us, end_us; /* window of counted completions */
	unsigned long next_user, next_csr;
	int inflight, stopping;
	uint64_t ok, errors;
	uint64_t errors_seen; /* warm-up included */
	uint64_t *lat_us;
	size_t nlat, lat_cap;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: login_bench -a CAFILE [-u URL] [-n USERS] [-p PASSWORD] [-c CONCURRENCY]\n"
		"                   [-d SECONDS] [-w WARMUP] [-t TIMEOUT] [-g]\n"
		"  logs in as u0..uUSERS-1 (round-robin) at URL (default path /v1/login),\n"
		"  a new TLS connection per login; defaults -u https://127.0.0.1:7444\n"
		"  -n 8 -p bench-password -c 1 -d 10 -w 2 -t 30; -g keeps Nagle's algorithm\n"
		"  on the client socket (as evhttp clients have it) instead of TCP_NODELAY\n");
	exit(2);
}

static int opt_int(const char *s, int min, int max, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "login_bench: %s must be %d..%d\n", what, min, max);
		exit(2);
	}
	return (int)v;
}

static void opts_parse(int argc, char **argv, struct bench_opts *o)
{
	int c;

	*o = (struct bench_opts){
		"https://127.0.0.1:7444", NULL, 8, "bench-password", 1, 10, 2, 30, 0};
	while ((c = getopt(argc, argv, "u:a:n:p:c:d:w:t:gh")) != -1) {
		switch (c) {
		case 'u':
			o->url = optarg;
			break;
		case 'a':
			o->ca_file = optarg;
			break;
		case 'n':
			o->nusers = opt_int(optarg, 1, 1000000, "-n");
			break;
		case 'p':
			o->password = optarg;
			break;
		case 'c':
			o->concurrency = opt_int(optarg, 1, CONCURRENCY_MAX, "-c");
			break;
		case 'd':
			o->secs = opt_int(optarg, 1, 86400, "-d");
			break;
		case 'w':
			o->warmup = opt_int(optarg, 0, 3600, "-w");
			break;
		case 't':
			o->timeout = opt_int(optarg, 1, 3600, "-t");
			break;
		case 'g':
			o->nagle = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || o->ca_file == NULL)
		usage();
}

/* A PEM CSR for a fresh P-256 key; the subject does not matter to logind,
 * which decides it. malloc'd. */
static char *csr_generate(void)
{
	EVP_PKEY *key = key_generate();
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL, *p;
	long n;

	if (key == NULL || req == NULL || name == NULL || bio == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"bench", -1,
				       -1, 0) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, EVP_sha256()) <= 0 || PEM_write_bio_X509_REQ(bio, req) != 1)
		goto out;
	n = BIO_get_mem_data(bio, &p);
	pem = n > 0 ? strndup(p, (size_t)n) : NULL;
out:
	BIO_free(bio);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return pem;
}

/* https://host[:port][/path]; the path defaults to /v1/login. The address
 * is resolved once, so that no login waits for a resolver. */
static int url_parse(struct bench *b)
{
	struct evhttp_uri *u = evhttp_uri_parse(b->o.url);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	const char *scheme, *host, *path;
	char port[16];
	int rc = -1;

	if (u == NULL)
		goto out;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	path = evhttp_uri_get_path(u);
	b->port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 443;
	if (scheme == NULL || strcmp(scheme, "https") != 0 || host == NULL || *host == '\0' ||
	    str_copy(b->host, host, sizeof(b->host)) >= sizeof(b->host) ||
	    str_copy(b->path, path != NULL && strlen(path) > 1 ? path : "/v1/login",
		     sizeof(b->path)) >= sizeof(b->path))
		goto out;
	snprintf(port, sizeof(port), "%d", b->port);
	if (getaddrinfo(b->host, port, &hints, &ai) != 0 || ai->ai_addrlen > sizeof(b->addr))
		goto out;
	memcpy(&b->addr, ai->ai_addr, ai->ai_addrlen);
	b->addrlen = ai->ai_addrlen;
	rc = 0;
out:
	if (ai != NULL)
		freeaddrinfo(ai);
	if (u != NULL)
		evhttp_uri_free(u);
	return rc;
}

static int lat_add(struct bench *b, uint64_t us)
{
	if (b->nlat == b->lat_cap) {
		size_t cap = b->lat_cap ? 2 * b->lat_cap : 4096;
		uint64_t *p = realloc(b->lat_us, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		b->lat_us = p;
		b->lat_cap = cap;
	}
	b->lat_us[b->nlat++] = us;
	return 0;
}

static void client_start(struct client *c);

static void error_note(struct bench *b, int status, const char *why)
{
	if (b->errors_seen++ >= ERRORS_SHOWN)
		return;
	if (status < 0)
		fprintf(stderr, "login_bench: login failed: %s\n", why);
	else
		fprintf(stderr, "login_bench: login answered HTTP %d\n", status);
}

/* Ends the client's login: closes its connection, counts the outcome if it
 * falls in the measured window, and starts the next login (after a pause
 * when this one failed). status is the HTTP status, or -1. */
static void client_done(struct client *c, int status, const char *why)
{
	struct bench *b = c->b;
	uint64_t now = time_mono_us();

	if (c->bev != NULL) {
		bufferevent_free(c->bev); /* closes the socket and frees the SSL */
		c->bev = NULL;
	}
	if (c->state == CLIENT_BUSY)
		b->inflight--;
	c->state = CLIENT_IDLE;
	if (status != 200)
		error_note(b, status, why);
	if (now >= b->measure_us && now <= b->end_us) {
		if (status == 200 && lat_add(b, now - c->started_us) == 0)
			b->ok++;
		else
			b->errors++;
	}
	if (b->stopping) {
		if (b->inflight == 0)
			event_base_loopexit(b->base, NULL);
		return;
	}
	if (status == 200) {
		client_start(c);
	} else {
		struct timeval tv = {0, RETRY_MS * 1000};
		c->state = CLIENT_WAITING;
		if (evtimer_add(c->retry, &tv) < 0)
			event_base_loopbreak(b->base);
	}
}

/* "HTTP/1.x NNN ..." */
static int status_parse(const char *line)
{
	int code;

	if (strncmp(line, "HTTP/1.", 7) != 0 || sscanf(line + 8, " %3d", &code) != 1 ||
	    code < 100 || code > 599)
		return -1;
	return code;
}

/* Content-Length of a header block, or -1 when absent (body up to EOF) or
 * -2 when malformed. */
static long content_length(char *hdrs)
{
	char *save = NULL;

	for (char *l = strtok_r(hdrs, "\r\n", &save); l != NULL;
	     l = strtok_r(NULL, "\r\n", &save)) {
		char *end;
		long v;
		if (strncasecmp(l, "Content-Length:", 15) != 0)
			continue;
		v = strtol(l + 15, &end, 10);
		return end == l + 15 || *end != '\0' || v < 0 || v > RESP_MAX ? -2 : v;
	}
	return -1;
}

/* Looks at what has arrived: 1 with the status once the response is whole,
 * 0 to wait for more, -1 on a bad response. at_eof: the server closed. */
static int response_check(struct evbuffer *in, int at_eof, int *status)
{
	size_t len = evbuffer_get_length(in);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	char hdrs[RESP_HDR_MAX + 1];
	size_t hlen;
	long clen;

	if (end.pos < 0)
		return len > RESP_HDR_MAX || at_eof ? -1 : 0;
	hlen = (size_t)end.pos;
	if (hlen > RESP_HDR_MAX || evbuffer_copyout(in, hdrs, hlen) != (ev_ssize_t)hlen)
		return -1;
	hdrs[hlen] = '\0';
	*status = status_parse(hdrs);
	clen = content_length(hdrs);
	if (*status < 0 || clen == -2)
		return -1;
	if (clen >= 0 && len >= hlen + 4 + (size_t)clen)
		return 1;
	return at_eof ? (clen < 0 ? 1 : -1) : 0;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	int status = -1;
	int rc = response_check(in, 0, &status);

	if (rc == 0 && evbuffer_get_length(in) >= RESP_MAX)
		rc = -1;
	if (rc != 0)
		client_done(c, rc > 0 ? status : -1, rc > 0 ? NULL : "bad or oversized response");
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;
	char why[256];
	int status = -1;
	unsigned long e;

	if (what & BEV_EVENT_CONNECTED) {
		c->handshaken = 1;
		return; /* the request is queued already */
	}
	if (what & BEV_EVENT_TIMEOUT) {
		client_done(c, -1,
			    c->handshaken ? "timed out waiting for the response"
					  : "timed out before the TLS handshake finished");
		return;
	}
	if ((what & BEV_EVENT_EOF) && c->handshaken) {
		int rc = response_check(bufferevent_get_input(bev), 1, &status);
		client_done(c, rc > 0 ? status : -1, "connection closed before a whole response");
		return;
	}
	/* libevent also queues plain errno values (library 0) there. */
	e = bufferevent_get_openssl_error(bev);
	if (e != 0 && ERR_GET_LIB(e) != 0)
		ERR_error_string_n(e, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "connection failed%s (%s)",
			 c->handshaken ? "" : " before the TLS handshake finished",
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	client_done(c, -1, why);
}

static char *body_build(struct bench *b)
{
	char user[32];
	json_t *j;
	char *s;

	snprintf(user, sizeof(user), "u%lu", b->next_user++ % (unsigned long)b->o.nusers);
	j = json_pack("{s:s,s:s,s:s}", "user", user, "password", b->o.password, "csr",
		      b->csrs[b->next_csr++ % CSR_POOL]);
	s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	return s;
}

/* The whole request goes into the output buffer before the connection
 * exists, so it leaves in one piece right after the handshake. */
static int request_queue(struct bench *b, struct bufferevent *bev)
{
	char *body = body_build(b);
	int rc;

	if (body == NULL)
		return -1;
	rc = evbuffer_add_printf(bufferevent_get_output(bev),
				 "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
				 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s",
				 b->path, b->host, b->port, strlen(body), body);
	free(body);
	return rc < 0 ? -1 : 0;
}

/* Without it, the request can sit behind the client's TLS Finished until
 * the server's delayed ACK (40 ms on Linux) lets Nagle send it. */
static void nodelay_set(evutil_socket_t fd)
{
	int one = 1;

	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void client_start(struct client *c)
{
	struct bench *b = c->b;
	struct timeval tv = {b->o.timeout, 0};
	SSL *ssl;

	if (b->stopping || c->state == CLIENT_BUSY)
		return;
	c->state = CLIENT_BUSY;
	c->handshaken = 0;
	b->inflight++;
	c->started_us = time_mono_us();
	ssl = SSL_new(b->ssl_ctx);
	if (ssl == NULL || tls_set_host(ssl, b->host) < 0) {
		SSL_free(ssl);
		client_done(c, -1, "TLS setup failed");
		return;
	}
	c->bev = bufferevent_openssl_socket_new(b->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl);
		client_done(c, -1, "out of memory");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	if (request_queue(b, c->bev) < 0 || bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0 ||
	    bufferevent_socket_connect(c->bev, (struct sockaddr *)&b->addr, (int)b->addrlen) < 0) {
		client_done(c, -1, "cannot connect");
		return;
	}
	if (!b->o.nagle)
		nodelay_set(bufferevent_getfd(c->bev));
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	(void)fd, (void)what;
	c->state = CLIENT_IDLE;
	client_start(c);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;

	(void)fd, (void)what;
	b->stopping = 1;
	for (int i = 0; i < b->o.concurrency; i++)
		evtimer_del(b->clients[i].retry);
	if (b->inflight == 0)
		event_base_loopexit(b->base, NULL);
}

/* Logins still unanswered well after their own timeout: give up on them. */
static void on_hard_stop(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;

	(void)fd, (void)what;
	fprintf(stderr, "login_bench: %d logins still unanswered at exit\n", b->inflight);
	event_base_loopbreak(b->base);
}

static int setup(struct bench *b)
{
	char err[256];

	if (url_parse(b) < 0) {
		fprintf(stderr,
			"login_bench: bad or unresolvable URL %s (want https://host:port)\n",
			b->o.url);
		return -1;
	}
	for (int i = 0; i < CSR_POOL; i++) {
		b->csrs[i] = csr_generate();
		if (b->csrs[i] == NULL) {
			fprintf(stderr, "login_bench: cannot generate a CSR: %s\n",
				tls_error_string(err, sizeof(err)));
			return -1;
		}
	}
	b->ssl_ctx = tls_client_ctx_new(b->o.ca_file, NULL, NULL, err, sizeof(err));
	if (b->ssl_ctx == NULL) {
		fprintf(stderr, "login_bench: %s\n", err);
		return -1;
	}
	b->base = event_base_new();
	b->clients = calloc((size_t)b->o.concurrency, sizeof(*b->clients));
	if (b->base == NULL || b->clients == NULL)
		return -1;
	for (int i = 0; i < b->o.concurrency; i++) {
		b->clients[i].b = b;
		b->clients[i].retry = evtimer_new(b->base, on_retry, &b->clients[i]);
		if (b->clients[i].retry == NULL)
			return -1;
	}
	b->stop_ev = evtimer_new(b->base, on_stop, b);
	b->hard_ev = evtimer_new(b->base, on_hard_stop, b);
	return b->stop_ev != NULL && b->hard_ev != NULL ? 0 : -1;
}

/* Starts the clock: warm-up, then the measured window, then a drain of the
 * logins in flight. */
static int run(struct bench *b)
{
	struct timeval stop = {b->o.warmup + b->o.secs, 0};
	struct timeval hard = {b->o.warmup + b->o.secs + b->o.timeout + 5, 0};

	b->measure_us = time_mono_us() + (uint64_t)b->o.warmup * 1000000u;
	b->end_us = b->measure_us + (uint64_t)b->o.secs * 1000000u;
	if (evtimer_add(b->stop_ev, &stop) < 0 || evtimer_add(b->hard_ev, &hard) < 0)
		return -1;
	for (int i = 0; i < b->o.concurrency; i++)
		client_start(&b->clients[i]);
	return event_base_dispatch(b->base) < 0 ? -1 : 0;
}

static void teardown(struct bench *b)
{
	for (int i = 0; b->clients != NULL && i < b->o.concurrency; i++) {
		if (b->clients[i].bev != NULL)
			bufferevent_free(b->clients[i].bev);
		if (b->clients[i].retry != NULL)
			event_free(b->clients[i].retry);
	}
	free(b->clients);
	if (b->stop_ev != NULL)
		event_free(b->stop_ev);
	if (b->hard_ev != NULL)
		event_free(b->hard_ev);
	if (b->base != NULL)
		event_base_free(b->base);
	SSL_CTX_free(b->ssl_ctx);
	for (int i = 0; i < CSR_POOL; i++)
		free(b->csrs[i]);
	free(b->lat_us);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in milliseconds; 0 without samples. */
static double percentile_ms(const uint64_t *sorted, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)sorted[rank - 1] / 1000.0;
}

static void report(struct bench *b)
{
	if (b->nlat > 0)
		qsort(b->lat_us, b->nlat, sizeof(*b->lat_us), cmp_u64);
	printf("RESULT logins_per_s=%.1f p50_ms=%.1f p99_ms=%.1f ok=%llu errors=%llu "
	       "concurrency=%d secs=%d\n",
	       (double)b->ok / b->o.secs, percentile_ms(b->lat_us, b->nlat, 50),
	       percentile_ms(b->lat_us, b->nlat, 99), (unsigned long long)b->ok,
	       (unsigned long long)b->errors, b->o.concurrency, b->o.secs);
}

int main(int argc, char **argv)
{
	struct bench b;
	int rc = 1;

	memset(&b, 0, sizeof(b));
	opts_parse(argc, argv, &b.o);
	signal(SIGPIPE, SIG_IGN);
	if (setup(&b) < 0 || run(&b) < 0)
		goto out;
	if (b.errors_seen > ERRORS_SHOWN)
		fprintf(stderr, "login_bench: %llu failed logins in all (warm-up included)\n",
			(unsigned long long)b.errors_seen);
	report(&b);
	rc = b.ok > 0 ? 0 : 1;
out:
	teardown(&b);
	return rc;
}
