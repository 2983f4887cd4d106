/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of gateway/connguard.c: the caps per address key (IPv4, IPv4-mapped, IPv6 /64, a
 * trusted proxy) and in total, slots given back on release, and each phase's deadline rule with
 * time passed in (no clock, no network).
 */
#include "connguard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static struct sockaddr_storage addr(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, ip, &a6->sin6_addr), 1);
        a6->sin6_family = AF_INET6;
    }
    return ss;
}

static enum connguard_verdict admit(struct connguard *g, const char *ip, struct connguard_conn **c)
{
    struct sockaddr_storage ss = addr(ip);
    return connguard_admit(g, (struct sockaddr *)&ss, 0, c);
}

static int proxy_is_10_0_0_1(const struct sockaddr *sa, void *ud)
{
    (void)ud;
    return sa->sa_family == AF_INET &&
           ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(0x0a000001);
}

static const struct connguard_conf conf = {
    .max_total = 6,
    .max_per_address = 2,
    .max_per_proxy = 4,
    .header_ms = 2000,
    .idle_ms = 5000,
    .body_min_rate = 1000,
    .body_grace_ms = 3000,
    .is_proxy = proxy_is_10_0_0_1,
};

static void test_per_address(void **state)
{
    (void)state;
    struct connguard *g = connguard_new(&conf);
    struct connguard_conn *c[4];
    assert_int_equal(admit(g, "192.0.2.1", &c[0]), CONNGUARD_OK);
    assert_int_equal(admit(g, "::ffff:192.0.2.1", &c[1]), CONNGUARD_OK); /* the same address */
    assert_int_equal(admit(g, "192.0.2.1", &c[2]), CONNGUARD_PER_ADDRESS);
    assert_null(c[2]);
    assert_int_equal(admit(g, "192.0.2.2", &c[2]), CONNGUARD_OK);
    assert_int_equal(connguard_open(g), 3);
    connguard_release(g, c[0]);
    assert_int_equal(admit(g, "192.0.2.1", &c[0]), CONNGUARD_OK); /* its slot came back */
    for (int i = 0; i < 3; i++)
        connguard_release(g, c[i]);
    assert_int_equal(connguard_open(g), 0);
    connguard_free(g);
}

static void test_ipv6_slash64(void **state)
{
    (void)state;
    struct connguard *g = connguard_new(&conf);
    struct connguard_conn *c[3];
    assert_int_equal(admit(g, "2001:db8:1:2::1", &c[0]), CONNGUARD_OK);
    assert_int_equal(admit(g, "2001:db8:1:2:ffff::9", &c[1]), CONNGUARD_OK);
    assert_int_equal(admit(g, "2001:db8:1:2:abcd::1", &c[2]), CONNGUARD_PER_ADDRESS);
    assert_int_equal(admit(g, "2001:db8:1:3::1", &c[2]), CONNGUARD_OK); /* another /64 */
    for (int i = 0; i < 3; i++)
        connguard_release(g, c[i]);
    connguard_free(g);
}

static void test_total_and_proxy(void **state)
{
    (void)state;
    struct connguard *g = connguard_new(&conf);
    struct connguard_conn *c[7] = {0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(admit(g, "10.0.0.1", &c[i]), CONNGUARD_OK); /* proxy: cap 4 */
    assert_int_equal(admit(g, "10.0.0.1", &c[4]), CONNGUARD_PER_ADDRESS);
    assert_int_equal(admit(g, "10.0.0.2", &c[4]), CONNGUARD_OK);
    assert_int_equal(admit(g, "10.0.0.3", &c[5]), CONNGUARD_OK);
    assert_int_equal(admit(g, "10.0.0.4", &c[6]), CONNGUARD_TOTAL);
    assert_string_equal(connguard_verdict_name(CONNGUARD_TOTAL), "total");
    assert_string_equal(connguard_verdict_name(CONNGUARD_PER_ADDRESS), "per_address");
    for (int i = 0; i < 6; i++)
        connguard_release(g, c[i]);
    connguard_free(g);
}

static void test_deadlines(void **state)
{
    (void)state;
    struct connguard *g = connguard_new(&conf);
    struct connguard_conn *c;
    struct sockaddr_storage ss = addr("192.0.2.7");
    assert_int_equal(connguard_admit(g, (struct sockaddr *)&ss, 1000, &c), CONNGUARD_OK);
    assert_int_equal(c->phase, CONNGUARD_P_HEADER);
    assert_false(connguard_expired(g, c, 2999));
    assert_true(connguard_expired(g, c, 3000)); /* header_ms after the accept */
    connguard_set_phase(c, CONNGUARD_P_BODY, 3000);
    connguard_body(c, 2500);
    assert_false(connguard_expired(g, c, 5999)); /* grace */
    assert_true(connguard_expired(g, c, 6000));  /* 2500 bytes in 3 s < 1000 B/s */
    connguard_body(c, 600);
    assert_false(connguard_expired(g, c, 6000)); /* 3100 bytes in 3 s */
    connguard_set_phase(c, CONNGUARD_P_BUSY, 6000);
    assert_false(connguard_expired(g, c, 1000000));
    connguard_set_phase(c, CONNGUARD_P_IDLE, 7000);
    assert_false(connguard_expired(g, c, 11999));
    assert_true(connguard_expired(g, c, 12000));
    connguard_set_phase(c, CONNGUARD_P_OPEN, 7000);
    assert_false(connguard_expired(g, c, 1000000));
    assert_string_equal(connguard_phase_name(CONNGUARD_P_IDLE), "idle");
    connguard_release(g, c);
    connguard_free(g);
}

/* Accepted silent through a deferred accept: the head deadline is the grace from now; a
 * header_ms shorter than the grace is kept. */
static void test_silent(void **state)
{
    (void)state;
    struct connguard *g = connguard_new(&conf);
    struct connguard_conn *c;
    struct sockaddr_storage ss = addr("192.0.2.8");
    assert_int_equal(connguard_admit(g, (struct sockaddr *)&ss, 5000, &c), CONNGUARD_OK);
    connguard_silent(g, c, 5000);
    assert_int_equal(c->phase, CONNGUARD_P_HEADER);
    assert_false(connguard_expired(g, c, 5000 + CONNGUARD_SILENT_GRACE_MS - 1));
    assert_true(connguard_expired(g, c, 5000 + CONNGUARD_SILENT_GRACE_MS));
    connguard_release(g, c);
    connguard_free(g);
    struct connguard_conf shortc = conf;
    shortc.header_ms = CONNGUARD_SILENT_GRACE_MS / 2;
    g = connguard_new(&shortc);
    assert_int_equal(connguard_admit(g, (struct sockaddr *)&ss, 5000, &c), CONNGUARD_OK);
    connguard_silent(g, c, 5000);
    assert_false(connguard_expired(g, c, 5000 + shortc.header_ms - 1));
    assert_true(connguard_expired(g, c, 5000 + shortc.header_ms));
    connguard_release(g, c);
    connguard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_address),     cmocka_unit_test(test_ipv6_slash64),
        cmocka_unit_test(test_total_and_proxy), cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_silent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
