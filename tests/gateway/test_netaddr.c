/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for gateway/netaddr.c (address literals, formatting, throttle identities) and
 * gateway/throttle.c (the one guessed-secret throttle: refusal after N failures, per key, a
 * success clears, the refusal ends). The throttle is driven by explicit times, not the clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "netaddr.h"
#include "sr_mem.h"
#include "throttle.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static void test_parse_and_format(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out, *key;
    } t[] = {
        {"192.0.2.1", "192.0.2.1", "192.0.2.1"},
        {"::ffff:192.0.2.1", "192.0.2.1", "192.0.2.1"},
        {"2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
        {"[2001:DB8::1]", "2001:db8::1", "2001:db8::/64"},
        {"::1", "::1", "::/64"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        unsigned char a[16];
        char text[64], key[64];
        assert_int_equal(netaddr_parse(t[i].in, strlen(t[i].in), a), 0);
        netaddr_format(a, text, sizeof(text));
        netaddr_throttle_key(a, key, sizeof(key));
        assert_string_equal(text, t[i].out);
        assert_string_equal(key, t[i].key);
        /* the binary identity (the connection guard's key) is the text key's network */
        unsigned char net[16], want[16];
        netaddr_throttle_net(a, net);
        size_t klen = strcspn(t[i].key, "/");
        assert_int_equal(netaddr_parse(t[i].key, klen, want), 0);
        assert_memory_equal(net, want, 16);
    }
    static const char *const bad[] = {
        "",           "1.2.3", "1.2.3.4.5", "256.0.0.1",    "example.org",
        "1.2.3.4:80", "[::1",  "::1]",      "fe80::1%eth0", " 1.2.3.4"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char a[16];
        if (netaddr_parse(bad[i], strlen(bad[i]), a) == 0)
            fail_msg("\"%s\" parsed as an address", bad[i]);
    }
    /* a length, not a terminator, ends the literal */
    unsigned char a[16], b[16];
    assert_int_equal(netaddr_parse("10.0.0.1, 10.0.0.2", 8, a), 0);
    assert_int_equal(netaddr_parse("10.0.0.1", 8, b), 0);
    assert_memory_equal(a, b, 16);
}

static void test_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    inet_pton(AF_INET, "198.51.100.9", &v4.sin_addr);
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:198.51.100.9", &v6.sin6_addr);
    unsigned char a[16], b[16];
    assert_int_equal(netaddr_from_sockaddr((struct sockaddr *)&v4, a), 0);
    assert_int_equal(netaddr_from_sockaddr((struct sockaddr *)&v6, b), 0);
    assert_memory_equal(a, b, 16); /* dual-stack peers are the same client */
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_int_equal(netaddr_from_sockaddr(&un, a), -1);
}

static void test_list_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {"yes please", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/0008",
                                      "::/129",     "10/8",      "localhost"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct netaddr_net *l = (struct netaddr_net *)1;
        size_t n = 9;
        char why[96] = "";
        assert_int_equal(netaddr_list_parse(bad[i], &l, &n, why, sizeof(why)), -1);
        assert_null(l);
        assert_int_equal(n, 0);
        assert_true(strlen(why) > 0);
        assert_null(strstr(why, bad[i])); /* the value is not echoed */
    }
}

static void test_throttle(void **state)
{
    (void)state;
    struct throttle *t = throttle_new(3, 60000, 30000);
    uint64_t now = 1000000;
    assert_int_equal(throttle_record(t, "192.0.2.1", 1, now), 0);
    assert_int_equal(throttle_record(t, "192.0.2.1", 1, now + 1), 0);
    assert_int_equal(throttle_wait_s(t, "192.0.2.1", now + 2), 0);
    assert_int_equal(throttle_record(t, "192.0.2.1", 1, now + 2), 1); /* the third: refused */
    assert_int_equal(throttle_wait_s(t, "192.0.2.1", now + 2), 30);
    assert_int_equal(throttle_wait_s(t, "192.0.2.1", now + 29003), 1); /* rounded up */
    assert_int_equal(throttle_wait_s(t, "192.0.2.2", now + 3), 0);     /* per key */
    assert_int_equal(throttle_wait_s(t, "192.0.2.1", now + 30002), 0); /* the refusal ends */
    /* failures spread wider than the window never add up */
    assert_int_equal(throttle_record(t, "192.0.2.3", 1, now), 0);
    assert_int_equal(throttle_record(t, "192.0.2.3", 1, now + 1), 0);
    assert_int_equal(throttle_record(t, "192.0.2.3", 1, now + 60002), 0);
    assert_int_equal(throttle_record(t, "192.0.2.3", 1, now + 60003), 0);
    /* a success clears the count */
    assert_int_equal(throttle_record(t, "192.0.2.4", 1, now), 0);
    assert_int_equal(throttle_record(t, "192.0.2.4", 1, now), 0);
    assert_int_equal(throttle_record(t, "192.0.2.4", 0, now), 0);
    assert_int_equal(throttle_record(t, "192.0.2.4", 1, now), 0);
    assert_int_equal(throttle_record(t, "192.0.2.4", 1, now), 0);
    assert_int_equal(throttle_wait_s(t, "192.0.2.4", now), 0);
    /* more keys than slots: the table stays bounded and the newest failing keys count */
    for (int i = 0; i < THROTTLE_SLOTS * 2; i++) {
        char key[32];
        snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
        throttle_record(t, key, 1, now + 100000 + (uint64_t)i);
    }
    assert_int_equal(throttle_record(t, "203.0.113.1", 1, now + 200000), 0);
    assert_int_equal(throttle_record(t, "203.0.113.1", 1, now + 200001), 0);
    assert_int_equal(throttle_record(t, "203.0.113.1", 1, now + 200002), 1);
    throttle_free(t);
    throttle_free(NULL);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_format),
        cmocka_unit_test(test_sockaddr),
        cmocka_unit_test(test_list_errors),
        cmocka_unit_test(test_throttle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
