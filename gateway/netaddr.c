/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IP addresses and CIDR lists (see netaddr.h). inet_pton / inet_ntop do the text forms; this
 * file only adds the IPv4-mapped normalising, prefix matching and the list syntax.
 */
#include "netaddr.h"

#include "sr_mem.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int is_v4(const unsigned char a[16])
{
    return memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0;
}

int netaddr_parse(const char *s, size_t len, unsigned char out[16])
{
    char buf[INET6_ADDRSTRLEN + 2];
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
        s++, len -= 2;
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, out + 12) == 1) {
        memcpy(out, v4_mapped, sizeof(v4_mapped));
        return 0;
    }
    return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
}

int netaddr_from_sockaddr(const struct sockaddr *sa, unsigned char out[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(out, v4_mapped, sizeof(v4_mapped));
        memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
        return 0;
    }
    return -1;
}

void netaddr_format(const unsigned char a[16], char *out, size_t n)
{
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(is_v4(a) ? AF_INET : AF_INET6, is_v4(a) ? a + 12 : a, buf, sizeof(buf)))
        snprintf(buf, sizeof(buf), "?");
    snprintf(out, n, "%s", buf);
}

void netaddr_throttle_net(const unsigned char a[16], unsigned char out[16])
{
    memcpy(out, a, 16);
    if (!is_v4(a))
        memset(out + 8, 0, 8);
}

void netaddr_throttle_key(const unsigned char a[16], char *out, size_t n)
{
    if (is_v4(a)) {
        netaddr_format(a, out, n);
        return;
    }
    unsigned char net[16];
    netaddr_throttle_net(a, net);
    char buf[INET6_ADDRSTRLEN];
    netaddr_format(net, buf, sizeof(buf));
    snprintf(out, n, "%s/64", buf);
}

/* Adds one "addr" or "addr/bits" item (s, len) to the list. */
static int add_item(const char *s, size_t len, struct netaddr_net **out, size_t *n, char *why,
                    size_t why_len)
{
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    struct netaddr_net net = {{0}, 128};
    if (netaddr_parse(s, alen, net.a) != 0) {
        snprintf(why, why_len, "item %zu is not an IPv4 / IPv6 address or CIDR network", *n + 1);
        return -1;
    }
    if (slash) {
        unsigned bits = 0;
        size_t digits = len - alen - 1;
        for (size_t i = 1; i <= digits && bits <= 128; i++)
            bits =
                slash[i] >= '0' && slash[i] <= '9' ? bits * 10 + (unsigned)(slash[i] - '0') : 999;
        unsigned max = is_v4(net.a) ? 32 : 128;
        if (digits == 0 || digits > 3 || bits > max) {
            snprintf(why, why_len, "item %zu: prefix length must be 0-%u", *n + 1, max);
            return -1;
        }
        net.bits = is_v4(net.a) ? bits + 96 : bits;
    }
    *out = sr_realloc(*out, (*n + 1) * sizeof(**out));
    (*out)[(*n)++] = net;
    return 0;
}

int netaddr_list_parse(const char *spec, struct netaddr_net **out, size_t *n, char *why,
                       size_t why_len)
{
    *out = NULL;
    *n = 0;
    if (!spec || strcasecmp(spec, "no") == 0)
        return 0;
    if (strcasecmp(spec, "yes") == 0)
        spec = "127.0.0.0/8, ::1";
    static const char sep[] = ", \t";
    for (const char *p = spec + strspn(spec, sep); *p; p += strspn(p, sep)) {
        size_t len = strcspn(p, sep);
        if (add_item(p, len, out, n, why, why_len) != 0) {
            free(*out);
            *out = NULL;
            *n = 0;
            return -1;
        }
        p += len;
    }
    return 0;
}

static int in_net(const struct netaddr_net *net, const unsigned char a[16])
{
    unsigned full = net->bits / 8, rest = net->bits % 8;
    if (memcmp(net->a, a, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (net->a[full] & mask) == (a[full] & mask);
}

int netaddr_list_contains(const struct netaddr_net *list, size_t n, const unsigned char a[16])
{
    for (size_t i = 0; i < n; i++)
        if (in_net(&list[i], a))
            return 1;
    return 0;
}
