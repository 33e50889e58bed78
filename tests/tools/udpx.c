/* udpx: a UDP test endpoint for the relay tests (an "RTP phone" without
 * SIP). From one socket (--bind IP:PORT) it sends --count datagrams to --to
 * at --rate per second (12-byte RTP header, PT 0, then --size payload
 * bytes) while it counts what comes back, then keeps counting for --wait
 * seconds. --echo sends every datagram it gets back to where it came from.
 * Prints one line: sent=N recv=M sources=A,B (the distinct senders, up to
 * 4). Exit 0, or 2 on bad usage or a socket error. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int parse(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *c = strrchr(s, ':');

	if (c == NULL || (size_t)(c - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = '\0';
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)atoi(c + 1));
	return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"bind", required_argument, NULL, 'b'}, {"to", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'n'}, {"rate", required_argument, NULL, 'r'},
		{"size", required_argument, NULL, 's'},  {"wait", required_argument, NULL, 'w'},
		{"echo", no_argument, NULL, 'e'},        {NULL, 0, NULL, 0},
	};
	struct sockaddr_in bind_a, to, src[4];
	int have_bind = 0, have_to = 0, echo = 0, nsrc = 0, c, fd;
	long count = 0, rate = 50, size = 160, sent = 0, recvd = 0;
	double wait = 1, start, next, end = 0;
	uint8_t buf[2048];

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': have_bind = parse(optarg, &bind_a) == 0; if (!have_bind) goto usage; break;
		case 't': have_to = parse(optarg, &to) == 0; if (!have_to) goto usage; break;
		case 'n': count = atol(optarg); break;
		case 'r': rate = atol(optarg); break;
		case 's': size = atol(optarg); break;
		case 'w': wait = atof(optarg); break;
		case 'e': echo = 1; break;
		default: goto usage;
		}
	}
	if ((count > 0 && !have_to) || rate <= 0 || size < 0 || size > 1400 || wait < 0)
		goto usage;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || (have_bind && bind(fd, (struct sockaddr *)&bind_a, sizeof(bind_a)) < 0)) {
		fprintf(stderr, "udpx: socket: %s\n", strerror(errno));
		return 2;
	}
	start = next = now();
	for (;;) {
		double t = now();
		struct pollfd p = {fd, POLLIN, 0};
		int ms;

		while (sent < count && t >= next) {
			memset(buf, 0, (size_t)size + 12);
			buf[0] = 0x80;
			buf[2] = (uint8_t)(sent >> 8);
			buf[3] = (uint8_t)sent;
			buf[11] = 0x42;
			if (sendto(fd, buf, (size_t)size + 12, 0, (struct sockaddr *)&to, sizeof(to)) >= 0)
				sent++;
			else
				count--; /* not sent (e.g. ICMP refused earlier): do not count it */
			next += 1.0 / (double)rate;
		}
		if (sent >= count && end == 0)
			end = t + wait;
		if (end != 0 && t >= end)
			break;
		ms = (int)(((sent < count ? next : end) - t) * 1000) + 1;
		if (poll(&p, 1, ms < 0 ? 0 : ms) > 0) {
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			int k;

			if (n < 0)
				continue;
			recvd++;
			for (k = 0; k < nsrc; k++)
				if (src[k].sin_addr.s_addr == from.sin_addr.s_addr &&
				    src[k].sin_port == from.sin_port)
					break;
			if (k == nsrc && nsrc < 4)
				src[nsrc++] = from;
			if (echo)
				sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
		}
	}
	printf("sent=%ld recv=%ld sources=", sent, recvd);
	for (int k = 0; k < nsrc; k++)
		printf("%s%s:%u", k ? "," : "", inet_ntoa(src[k].sin_addr), ntohs(src[k].sin_port));
	printf("%s elapsed=%.1f\n", nsrc ? "" : "none", now() - start);
	return 0;
usage:
	fprintf(stderr, "usage: udpx [--bind IP:PORT] [--to IP:PORT --count N [--rate PPS] [--size B]]"
			" [--wait SECS] [--echo]\n");
	return 2;
}
