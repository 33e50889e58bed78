/* p2psip stun: Binding requests to a STUN server over UDP, and the address
 * it saw us at; needs no overlay. */
#include "p2p.h"

#include "stun.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A UDP socket connected to HOST:PORT that gives up a read after 0.5 s. */
static int stun_connect(const char *server)
{
	char host[64], ps[8];
	uint16_t port;
	struct addrinfo hints = {0}, *ai = NULL;
	struct timeval tv = {0, 500000};
	int fd;

	if (addr_split(server, host, sizeof(host), &port) < 0)
		die(2, "stun: want HOST:PORT, got %s", server);
	hints.ai_socktype = SOCK_DGRAM;
	snprintf(ps, sizeof(ps), "%u", port);
	if (getaddrinfo(host, ps, &hints, &ai) != 0)
		die(1, "stun: cannot resolve %s", host);
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die(1, "stun: %s: %s", server, strerror(errno));
	freeaddrinfo(ai);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* n requests back to back; tid keeps the last one's transaction ID. */
static void stun_send(int fd, int n, uint8_t tid[STUN_TID_LEN])
{
	uint8_t req[64];

	for (int i = 0; i < n; i++) {
		size_t len;
		RAND_bytes(tid, STUN_TID_LEN);
		len = stun_binding_request(req, sizeof(req), tid);
		if (send(fd, req, len, 0) < 0)
			die(1, "stun: %s", strerror(errno));
	}
}

/* Counts the answers until all n came or the time is up: 1 s for a burst,
 * --timeout for a single request, which is sent again after every silent
 * half second. m holds the last message read. */
static int stun_collect(int fd, int n, const uint8_t tid[STUN_TID_LEN], struct stun_msg *m)
{
	uint8_t req[64], buf[STUN_MSG_MAX];
	uint64_t deadline = time_mono_ms() + (n > 1 ? 1000 : 1000u * (uint64_t)C.timeout);
	int answered = 0;

	while (answered < n && time_mono_ms() < deadline) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		if (got < 0) {
			if (n == 1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				size_t len = stun_binding_request(req, sizeof(req), tid);
				if (send(fd, req, len, 0) < 0)
					break;
			}
			continue;
		}
		if (stun_parse(buf, (size_t)got, m) == 0 && m->type == STUN_BINDING_SUCCESS &&
		    m->has_mapped)
			answered++;
	}
	return answered;
}

static void print_mapped(const struct stun_msg *m)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;

	if (m->mapped.ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&m->mapped)->sin_addr, ip,
			  sizeof(ip));
	else
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&m->mapped)->sin6_addr, ip,
			  sizeof(ip));
	port = ntohs(((const struct sockaddr_in *)&m->mapped)->sin_port);
	if (C.json)
		printf("{\"mapped\": \"%s%s%s:%u\"}\n", m->mapped.ss_family == AF_INET6 ? "[" : "",
		       ip, m->mapped.ss_family == AF_INET6 ? "]" : "", port);
	else
		printf("%s%s%s:%u\n", m->mapped.ss_family == AF_INET6 ? "[" : "", ip,
		       m->mapped.ss_family == AF_INET6 ? "]" : "", port);
}

/* STUN Binding requests to HOST:PORT over UDP: prints the address the
 * server saw us at. With --count N, sends N requests back to back and
 * says how many were answered (a rate-limit check). */
int cmd_stun(int argc, char **argv)
{
	const char *server = argv[0];
	int fd, n = C.count > 0 ? C.count : 1, answered;
	uint8_t tid[STUN_TID_LEN];
	struct stun_msg m = {0};

	(void)argc;
	fd = stun_connect(server);
	stun_send(fd, n, tid);
	answered = stun_collect(fd, n, tid, &m);
	close(fd);
	if (n > 1) {
		printf(C.json ? "{\"sent\": %d, \"answered\": %d}\n" : "%d sent, %d answered\n", n,
		       answered);
		return 0;
	}
	if (answered == 0)
		die(1, "stun: no answer from %s", server);
	print_mapped(&m);
	return 0;
}
