/* Small helpers shared by every program: hex, files, addresses, time. */
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t str_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void hex_encode(const uint8_t *buf, size_t len, char *out)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *hex, uint8_t *out, size_t outlen)
{
	if (strlen(hex) != 2 * outlen)
		return -1;
	for (size_t i = 0; i < outlen; i++) {
		int hi = hex_val(hex[2 * i]);
		int lo = hex_val(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

char *b64_encode(const uint8_t *buf, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
	return out;
}

uint8_t *b64_decode(const char *s, size_t max, size_t *len)
{
	size_t n = strlen(s);
	size_t pad = 0;
	uint8_t *out;
	int got;

	/* EVP_DecodeBlock accepts whitespace and counts padding as data:
	 * demand the strict form and take the padding off afterwards. */
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > max + 2)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isalnum(c) || c == '+' || c == '/' || (c == '=' && i >= n - 2)))
			return NULL;
	}
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	else if (s[n - 2] == '=')
		return NULL;
	out = malloc(n / 4 * 3);
	if (out == NULL)
		return NULL;
	got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (got < 0 || (size_t)got < pad || (size_t)got - pad > max) {
		free(out);
		return NULL;
	}
	*len = (size_t)got - pad;
	return out;
}

void err_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

size_t str_copy(char *dst, const char *src, size_t dstlen)
{
	size_t n = strlen(src);

	if (dstlen > 0) {
		size_t c = n < dstlen - 1 ? n : dstlen - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

char *file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t used = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		err_set(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		err_set(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, buf + used, max + 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max) {
			err_set(err, errlen, "%s: larger than %zu bytes", path, max);
			goto fail;
		}
	}
	close(fd);
	buf[used] = '\0';
	if (len != NULL)
		*len = used;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

int file_write(const char *path, const void *data, size_t len, mode_t mode, int excl, char *err,
	       size_t errlen)
{
	char tmp[PATH_MAX];
	const uint8_t *p = data;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		err_set(err, errlen, "%s: path too long", path);
		return -1;
	}
	if (excl && file_exists(path)) {
		err_set(err, errlen, "%s: already exists", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		err_set(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) < 0)
		goto fail;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	close(fd);
	fd = -1;
	if (excl) {
		/* link() fails if the target exists: no window where a file
		 * created meanwhile would be replaced. */
		if (link(tmp, path) < 0)
			goto fail;
		unlink(tmp);
		return 0;
	}
	if (rename(tmp, path) < 0)
		goto fail;
	return 0;
fail:
	err_set(err, errlen, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int mkdir_parents(const char *path, mode_t mode, char *err, size_t errlen)
{
	char buf[PATH_MAX];

	if (str_copy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		err_set(err, errlen, "%s: path too long", path);
		return -1;
	}
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST) {
			err_set(err, errlen, "%s: %s", buf, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	return 0;
}

int addr_split(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon;
	const char *hs = s;
	size_t hl;
	char *end;
	long p;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (rb == NULL || rb[1] != ':')
			return -1;
		hs = s + 1;
		hl = (size_t)(rb - hs);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen || !isdigit((unsigned char)colon[1]))
		return -1; /* strtol would take " 80" and "+80" */
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || p < 0 || p > 65535)
		return -1;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return 0;
}

int addr_is_ip(const char *s)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

int addr_ip_port(const char *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		if (len != NULL)
			*len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		if (len != NULL)
			*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

int64_t time_now(void)
{
	return (int64_t)time(NULL);
}

int tbucket_take(struct tbucket *b, double rate, double burst, double cost, uint64_t now_ms)
{
	if (cost > burst)
		return 0;
	if (b->last_ms == 0)
		b->tokens = burst;
	else if (now_ms > b->last_ms)
		b->tokens += rate * (double)(now_ms - b->last_ms) / 1000.0;
	if (b->tokens > burst)
		b->tokens = burst;
	if (now_ms > b->last_ms)
		b->last_ms = now_ms;
	if (b->last_ms == 0)
		b->last_ms = 1;
	if (b->tokens < cost)
		return 0;
	b->tokens -= cost;
	return 1;
}

uint64_t time_mono_ms(void)
{
	return time_mono_us() / 1000;
}

uint64_t time_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int duration_parse(const char *s, int64_t *secs)
{
	char *end;
	long long v;
	int64_t mult = 1;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		switch (*end) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		default:
			return -1;
		}
		if (end[1] != '\0')
			return -1;
	}
	if (v > INT64_MAX / mult)
		return -1;
	*secs = (int64_t)v * mult;
	return 0;
}

void duration_format(int64_t secs, char *out, size_t outlen)
{
	if (secs != 0 && secs % 86400 == 0)
		snprintf(out, outlen, "%lldd", (long long)(secs / 86400));
	else if (secs != 0 && secs % 3600 == 0)
		snprintf(out, outlen, "%lldh", (long long)(secs / 3600));
	else if (secs != 0 && secs % 60 == 0)
		snprintf(out, outlen, "%lldm", (long long)(secs / 60));
	else
		snprintf(out, outlen, "%llds", (long long)secs);
}

int name_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	if (!islower((unsigned char)s[0]) && !isdigit((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '.' && c != '_' &&
		    c != '-')
			return 0;
	}
	return 1;
}
