/*
 * Network addresses as the configuration writes them: "IP[@PORT]" for a
 * peer or a listener, "IP[/BITS]" for an access list, and the comparisons
 * an ACL needs (IPv4-mapped IPv6 addresses, as a dual-stack socket reports
 * an IPv4 peer, are taken as the IPv4 address).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
	struct sockaddr_storage ss;
	socklen_t len;
} net_addr_t;

typedef struct {
	struct sockaddr_storage ss; /* network address */
	unsigned bits;
} net_prefix_t;

/* Parse "IP[@PORT]"; 0 or -EINVAL. */
int net_parse_addr(const char *s, uint16_t default_port, net_addr_t *out);
/* Parse "IP[/BITS]" (host bits zero); 0 or -EINVAL. */
int net_parse_prefix(const char *s, net_prefix_t *out);
/* Does addr fall within prefix?  The port plays no part.  An IPv4-mapped
 * IPv6 address also matches an IPv4 prefix, and an IPv4 address an IPv6
 * prefix within ::ffff:0:0/96. */
bool net_prefix_match(const net_prefix_t *p, const struct sockaddr *addr);
/* Do a and b hold the same IP (ports aside, IPv4-mapped taken as IPv4)? */
bool net_same_ip(const struct sockaddr *a, const struct sockaddr *b);
/* Printable "IP@PORT". */
const char *net_addr_str(const net_addr_t *a, char *buf, size_t size);
/* Printable IP alone, without the port. */
const char *net_ip_str(const net_addr_t *a, char *buf, size_t size);
