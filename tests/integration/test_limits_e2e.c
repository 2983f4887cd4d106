/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End to end, the per-citizen limits of issue 8 through the real gateway (two workers), a
 * private redis-server and the mock provider:
 *  - the message rate: one number sending 50 messages at once with [limits] 10 per 60 s gets 10
 *    of them processed, exactly one slow-down reply, the rest acknowledged (200) and ignored;
 *    once the drill clock passes the window, the number is served again;
 *  - the rating-gaming test: one number completing 100 ratings of one officer gives ONE counted
 *    respondent in the statistics (stats_satisfaction on the store the writer filled), the
 *    other 99 kept in the store and reported as set aside.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "e2e_client.h"
#include "stats.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_START 1798938000000LL /* a whole minute (2027-01-03T05:00:00Z) */

/* Requests the mock provider received for number whose body contains needle. */
static int mock_count_text(const char *number, const char *needle)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "%s/_requests", E.mock_base);
    if (http_get(url, &body) != 200) {
        free(body);
        return -1;
    }
    json_t *arr = json_loads(body, 0, NULL);
    free(body);
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        const char *b = json_string_value(json_object_get(it, "body"));
        if (b && strstr(b, number) && strstr(b, needle))
            n++;
    }
    json_decref(arr);
    return n;
}

/* The value of one sample line of /metrics ("name{labels}"), -1 if absent. */
static long long metric(const char *sample)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "%s/metrics", E.base);
    if (http_get(url, &body) != 200) {
        free(body);
        return -1;
    }
    long long v = -1;
    size_t n = strlen(sample);
    for (const char *p = body; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, sample, n) == 0 && p[n] == ' ')
            v = strtoll(p + n + 1, NULL, 10);
    free(body);
    return v;
}

/* ---- the message rate ---- */

static int rate_setup(void **state)
{
    return e2e_setup_clock(state, WINDOW_START + 1000,
                           "[limits]\nmessages_per_window = 10\nwindow_s = 60\n");
}

static void test_rate_limit(void **state)
{
    (void)state;
    const char *from = "6280000008001";
    for (int i = 0; i < 50; i++) /* all durable, all acknowledged */
        assert_int_equal(wa_send(from, "halo", NULL), 200);
    /* 10 processed (each answered with the help text) + exactly one slow-down notice */
    assert_int_equal(mock_settled_count(from), 11);
    assert_int_equal(mock_count_text(from, "terlalu banyak"), 1);
    assert_int_equal(metric("suara_messages_limited_total{channel=\"wa\",action=\"told\"}"), 1);
    assert_int_equal(metric("suara_messages_limited_total{channel=\"wa\",action=\"ignored\"}"), 39);
    /* another number is not affected */
    assert_int_equal(wa_send("6280000008002", "halo", NULL), 200);
    assert_int_equal(mock_settled_count("6280000008002"), 1);
    /* the next window: served again, and a new notice would be possible */
    e2e_set_clock(WINDOW_START + 61000);
    assert_int_equal(wa_send(from, "halo", NULL), 200);
    assert_int_equal(mock_settled_count(from), 12);
    assert_int_equal(mock_count_text(from, "terlalu banyak"), 1);
}

/* ---- rating gaming ---- */

static int gaming_setup(void **state)
{
    E.extra_ini = "[limits]\nmessages_per_window = 0\n"; /* the rate limit is another test */
    return e2e_setup(state);
}

/* One whole survey of BMK001 from one number: start, four answers, the comment. */
static void rate_bmk001(const char *from)
{
    static const char *const steps[] = {"NILAI BMK001", "4", "4", "4", "4", "mantap"};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        assert_int_equal(wa_send(from, steps[i], NULL), 200);
}

static void test_rating_gaming(void **state)
{
    (void)state;
    const char *from = "6280000008101";
    for (int i = 0; i < 100; i++)
        rate_bmk001(from);
    /* every rating is kept (audit) ... */
    assert_int_equal(wait_db("SELECT count(*) FROM surveys WHERE officer_code = 'BMK001' AND "
                             "status = 'completed'",
                             100, 60000),
                     100);
    /* ... one is counted, 99 set aside */
    assert_int_equal(db_int("SELECT count(*) FROM surveys WHERE officer_code = 'BMK001' AND "
                            "status = 'completed' AND counted = 1"),
                     1);
    struct sr_errbuf eb = {{0}};
    struct stats *st = stats_open(E.db, &eb);
    assert_non_null(st);
    struct stats_filter f = {.from_ms = 0, .to_ms = 4102444800000LL, .officer = "BMK001"};
    struct stats_result *res = NULL;
    assert_int_equal(stats_satisfaction(st, &f, &res, &eb), SR_E_OK);
    assert_true(res->now.n > 0);
    const struct stats_sat_group *g = &res->now.sat[0];
    for (size_t i = 0; i < g->all.n_elements; i++)
        assert_int_equal(g->all.elements[i].respondents, 1);
    assert_true(g->all.n_elements > 0);
    assert_int_equal(g->set_aside, 99);
    stats_result_free(res);
    stats_close(st);
}

int main(void)
{
    const struct CMUnitTest rate[] = {cmocka_unit_test(test_rate_limit)};
    const struct CMUnitTest gaming[] = {cmocka_unit_test(test_rating_gaming)};
    int failed = cmocka_run_group_tests_name("rate", rate, rate_setup, e2e_teardown);
    failed += cmocka_run_group_tests_name("gaming", gaming, gaming_setup, e2e_teardown);
    return failed;
}
