/* lanforge: the tests' attacker on the LAN. Builds a LAN announcement
 * (common/lan.c) signed with any key and certificate, with any field chosen,
 * and sends it to the group, writes it to a file, or sends a file's bytes
 * again (a replay). */
#include "identity.h"
#include "lan.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr,
		"usage: lanforge --key PEM --cert PEM [--overlay NAME] [--node-id HEX]\n"
		"                [--addr IP:PORT]... [--time UNIX | --age SECS] [--flip-sig]\n"
		"                [--group ADDR:PORT] [--iface IP] [--count N] [--out FILE]\n"
		"       lanforge --replay FILE [--group ADDR:PORT] [--iface IP] [--count N]\n"
		"       lanforge --capture FILE --from IP [--group ADDR:PORT] [--iface IP]\n"
		"                (the next datagram from IP on the group, written to FILE)\n");
	exit(2);
}

struct opts {
	const char *key, *cert, *overlay, *node_id, *group, *iface, *out, *replay, *capture, *from;
	struct lan_fields f;
	int64_t age;
	int flip, count, have_time;
};

static void parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {{"key", 1, 0, 'k'},     {"cert", 1, 0, 'c'},
					   {"overlay", 1, 0, 'o'}, {"node-id", 1, 0, 'n'},
					   {"addr", 1, 0, 'a'},    {"time", 1, 0, 't'},
					   {"age", 1, 0, 'g'},     {"flip-sig", 0, 0, 'f'},
					   {"group", 1, 0, 'G'},   {"iface", 1, 0, 'i'},
					   {"count", 1, 0, 'N'},   {"out", 1, 0, 'w'},
					   {"replay", 1, 0, 'r'},  {"capture", 1, 0, 'C'},
					   {"from", 1, 0, 'F'},    {0, 0, 0, 0}};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->key = optarg;
			break;
		case 'c':
			o->cert = optarg;
			break;
		case 'o':
			o->overlay = optarg;
			break;
		case 'n':
			o->node_id = optarg;
			break;
		case 'a':
			if (o->f.naddr >= LAN_ADDRS_MAX ||
			    addr_split(optarg, o->f.addr[o->f.naddr].host,
				       sizeof(o->f.addr[0].host), &o->f.addr[o->f.naddr].port) < 0)
				usage();
			o->f.naddr++;
			break;
		case 't':
			o->f.time = strtoll(optarg, NULL, 10), o->have_time = 1;
			break;
		case 'g':
			o->age = strtoll(optarg, NULL, 10);
			break;
		case 'f':
			o->flip = 1;
			break;
		case 'G':
			o->group = optarg;
			break;
		case 'i':
			o->iface = optarg;
			break;
		case 'N':
			o->count = atoi(optarg);
			break;
		case 'w':
			o->out = optarg;
			break;
		case 'r':
			o->replay = optarg;
			break;
		case 'C':
			o->capture = optarg;
			break;
		case 'F':
			o->from = optarg;
			break;
		default:
			usage();
		}
	}
}

/* The datagram the options describe, into buf: its length. */
static int forge(struct opts *o, uint8_t *buf, size_t cap)
{
	char err[256];
	EVP_PKEY *key;
	X509 *cert;
	int n;

	if (o->key == NULL || o->cert == NULL)
		usage();
	key = key_read_pem(o->key, err, sizeof(err));
	cert = cert_read_pem(o->cert, err, sizeof(err));
	if (key == NULL || cert == NULL)
		fatal("%s", err);
	o->f.cert = cert;
	o->f.overlay = o->overlay;
	if (o->f.overlay == NULL && cert_overlay(cert, err, sizeof(err)) == 0)
		o->f.overlay = err; /* the certificate's own overlay */
	if (o->node_id != NULL ? hex_decode(o->node_id, o->f.node_id, NODE_ID_LEN) < 0
			       : node_id_from_cert(cert, o->f.node_id) < 0)
		fatal("bad --node-id");
	if (!o->have_time)
		o->f.time = time_now() - o->age;
	if (o->f.naddr == 0) {
		str_copy(o->f.addr[0].host, o->iface != NULL ? o->iface : "127.0.0.1",
			 sizeof(o->f.addr[0].host));
		o->f.addr[0].port = 7400;
		o->f.naddr = 1;
	}
	n = lan_build(&o->f, key, buf, cap);
	if (n < 0)
		fatal("cannot build the announcement");
	if (o->flip)
		buf[n - 3] ^= 0x01; /* a byte of the signature */
	EVP_PKEY_free(key);
	X509_free(cert);
	return n;
}

/* Waits (at most 30 s) for a datagram from o->from on the group: its length. */
static size_t capture(int fd, const struct opts *o, uint8_t *buf, size_t cap)
{
	struct sockaddr_in sa;
	char ip[64];

	if (o->from == NULL)
		usage();
	for (int i = 0; i < 3000; i++) {
		socklen_t sl = sizeof(sa);
		ssize_t n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&sa, &sl);
		if (n > 0 && inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip)) != NULL &&
		    strcmp(ip, o->from) == 0)
			return (size_t)n;
		if (n < 0)
			usleep(10000);
	}
	fatal("nothing from %s on the group in 30 s", o->from);
}

static void write_file(const char *path, const uint8_t *buf, size_t n)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL || fwrite(buf, 1, n, fp) != n || fclose(fp) != 0)
		fatal("cannot write %s", path);
}

int main(int argc, char **argv)
{
	struct opts o = {.group = LAN_GROUP_DEFAULT, .count = 1};
	uint8_t buf[LAN_DATAGRAM_MAX];
	struct lan_sock_conf sc;
	char err[256];
	size_t n;
	int fd;

	log_init("lanforge", LOG_LVL_INFO);
	parse_args(argc, argv, &o);
	if (lan_sock_conf(&sc, o.group, o.iface, err, sizeof(err)) < 0)
		fatal("%s", err);
	if (o.capture != NULL) {
		if ((fd = lan_sock_open(&sc, err, sizeof(err))) < 0)
			fatal("%s", err);
		write_file(o.capture, buf, capture(fd, &o, buf, sizeof(buf)));
		return 0;
	}
	if (o.replay != NULL) {
		char *data = file_read(o.replay, LAN_DATAGRAM_MAX, &n, err, sizeof(err));
		if (data == NULL)
			fatal("%s", err);
		memcpy(buf, data, n);
		free(data);
	} else
		n = (size_t)forge(&o, buf, sizeof(buf));
	if (o.out != NULL) {
		write_file(o.out, buf, n);
		return 0;
	}
	if ((fd = lan_sock_open(&sc, err, sizeof(err))) < 0)
		fatal("%s", err);
	for (int i = 0; i < o.count; i++)
		if (lan_sock_send(fd, &sc, NULL, buf, n) < 0)
			fatal("send failed");
	close(fd);
	return 0;
}
