#include "net/addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_int(const char *s, long long *out)
{
	if (*s == '\0' || isspace((unsigned char)*s)) {
		return -EINVAL;
	}
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0') {
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int net_parse_addr(const char *s, uint16_t default_port, net_addr_t *out)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *at = strrchr(s, '@');
	size_t iplen = at ? (size_t)(at - s) : strlen(s);
	if (iplen == 0 || iplen >= sizeof(ip)) {
		return -EINVAL;
	}
	memcpy(ip, s, iplen);
	ip[iplen] = '\0';

	long long port = default_port;
	if (at != NULL && (parse_int(at + 1, &port) != 0 || port < 1 || port > 65535)) {
		return -EINVAL;
	}

	memset(out, 0, sizeof(*out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		out->len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		out->len = sizeof(*v6);
	} else {
		return -EINVAL;
	}
	return 0;
}

int net_parse_prefix(const char *s, net_prefix_t *out)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t iplen = slash ? (size_t)(slash - s) : strlen(s);
	if (iplen == 0 || iplen >= sizeof(ip)) {
		return -EINVAL;
	}
	memcpy(ip, s, iplen);
	ip[iplen] = '\0';

	memset(out, 0, sizeof(*out));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
	unsigned maxbits;
	uint8_t *bytes;
	if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		maxbits = 32;
		bytes = (uint8_t *)&v4->sin_addr;
	} else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		maxbits = 128;
		bytes = (uint8_t *)&v6->sin6_addr;
	} else {
		return -EINVAL;
	}
	long long bits = maxbits;
	if (slash != NULL && (parse_int(slash + 1, &bits) != 0 || bits < 0 || bits > maxbits)) {
		return -EINVAL;
	}
	out->bits = (unsigned)bits;
	/* Host bits must be zero: 192.0.2.1/24 is most likely a typo. */
	for (unsigned b = out->bits; b < maxbits; b++) {
		if (bytes[b / 8] & (0x80 >> (b % 8))) {
			return -EINVAL;
		}
	}
	return 0;
}

static const uint8_t V4MAPPED[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The family and address bytes of a socket address (AF_UNSPEC if neither
 * IPv4 nor IPv6); with unmap, an IPv4-mapped IPv6 address is IPv4. */
static int sa_bytes(const struct sockaddr *sa, bool unmap, const uint8_t **bytes)
{
	if (sa->sa_family == AF_INET) {
		*bytes = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		*bytes = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (unmap && memcmp(*bytes, V4MAPPED, sizeof(V4MAPPED)) == 0) {
			*bytes += sizeof(V4MAPPED);
			return AF_INET;
		}
		return AF_INET6;
	}
	return AF_UNSPEC;
}

/* Are the first bits of a and b the same? */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	if (memcmp(a, b, full) != 0) {
		return false;
	}
	if (rest == 0) {
		return true;
	}
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

bool net_prefix_match(const net_prefix_t *p, const struct sockaddr *addr)
{
	const struct sockaddr *ps = (const struct sockaddr *)&p->ss;
	const uint8_t *a, *b;
	int af = sa_bytes(addr, false, &a);
	int pf = sa_bytes(ps, false, &b);
	if (af == AF_UNSPEC || pf == AF_UNSPEC) {
		return false;
	}
	/* As written: ::/0 matches ::ffff:192.0.2.1 too. */
	if (af == pf && bits_equal(a, b, p->bits)) {
		return true;
	}
	/* Then both as IPv4 where they are: an IPv6 prefix is IPv4 when it is
	 * within ::ffff:0:0/96. */
	af = sa_bytes(addr, true, &a);
	unsigned bits = p->bits;
	if (pf == AF_INET6 && bits >= 96 && sa_bytes(ps, true, &b) == AF_INET) {
		pf = AF_INET;
		bits -= 96;
	}
	return af == AF_INET && pf == AF_INET && bits_equal(a, b, bits);
}

bool net_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	const uint8_t *x, *y;
	int af = sa_bytes(a, true, &x);
	return af != AF_UNSPEC && sa_bytes(b, true, &y) == af &&
	       memcmp(x, y, af == AF_INET ? 4 : 16) == 0;
}

const char *net_addr_str(const net_addr_t *a, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
	}
	snprintf(buf, size, "%s@%u", ip, port);
	return buf;
}

const char *net_ip_str(const net_addr_t *a, char *buf, size_t size)
{
	const struct sockaddr_storage *ss = &a->ss;
	const void *ip = ss->ss_family == AF_INET6
	                         ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
	                         : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
	if (inet_ntop(ss->ss_family, ip, buf, (socklen_t)size) == NULL) {
		snprintf(buf, size, "?");
	}
	return buf;
}
