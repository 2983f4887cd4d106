/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP addresses and networks for trust decisions: parsing IPv4 / IPv6 literals and CIDR lists
 * ("[server] trust_proxy"), matching an address against such a list, and the form an address is
 * throttled under. Every address is held as 16 bytes, IPv4 as the IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d), so one comparison covers both families and a dual-stack peer
 * "::ffff:127.0.0.1" is the same client as "127.0.0.1". Pure: no I/O, no logging.
 */
#ifndef NETADDR_H
#define NETADDR_H

#include <stddef.h>

struct sockaddr;

/* One network: the first bits of a (IPv4 networks count the 96 mapped-prefix bits too). */
struct netaddr_net {
    unsigned char a[16];
    unsigned bits;
};

/* Parses an address literal (s need not be terminated): "192.0.2.1", "2001:db8::1" or
 * "[2001:db8::1]". Returns 0, or -1 if it is not one. */
int netaddr_parse(const char *s, size_t len, unsigned char out[16]);
/* The address of a socket peer (AF_INET or AF_INET6); -1 for any other family. */
int netaddr_from_sockaddr(const struct sockaddr *sa, unsigned char out[16]);
/* "192.0.2.1" for IPv4(-mapped) addresses, the RFC 5952 text otherwise. out: >= 46 bytes. */
void netaddr_format(const unsigned char a[16], char *out, size_t n);
/* The throttling identity of a: the address itself for IPv4, its /64 network for IPv6 (one
 * subscriber usually holds a whole /64, so counting single addresses would count nothing).
 * netaddr_throttle_net gives it as 16 bytes (an IPv6 /64 with its last 8 bytes zero: a hash or
 * table key, the connection guard's); netaddr_throttle_key as text, out: >= 48 bytes. */
void netaddr_throttle_net(const unsigned char a[16], unsigned char out[16]);
void netaddr_throttle_key(const unsigned char a[16], char *out, size_t n);

/* Parses a trust list: "no" (or empty) = none, "yes" = loopback (127.0.0.0/8 and ::1), or
 * addresses and CIDR networks separated by commas and/or spaces ("10.0.0.0/8, 2001:db8::/32").
 * *out is a heap array (NULL when empty), *n its length. On error returns -1 and writes the
 * problem (without echoing the value) into why. */
int netaddr_list_parse(const char *spec, struct netaddr_net **out, size_t *n, char *why,
                       size_t why_len);
/* 1 if a lies in one of the n networks of list. */
int netaddr_list_contains(const struct netaddr_net *list, size_t n, const unsigned char a[16]);

#endif
