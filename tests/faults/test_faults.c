/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fault harness as a test: `test_faults <scenario>` runs one scenario of faults.c and
 * asserts the contract: quiescent within the bound, every acknowledged webhook's reply
 * sent exactly once (repeats only after a gateway kill -9, and then no more than the gateway's
 * possible-repeats counter says), every survey in SQLite once, nothing pending in any consumer
 * group, no stream left undelivered, no dead letters, and a gateway that still drains on SIGTERM.
 */
#include "faults.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

static const char *scenario_name;

static void test_scenario(void **state)
{
    (void)state;
    const struct faults_scenario *sc = faults_find(scenario_name);
    assert_non_null(sc);
    struct faults_params p;
    faults_params_load(&p);
    struct faults_result r;
    assert_int_equal(faults_run(sc, &p, &r), 0);
    faults_print(sc, &r);
    assert_true(r.quiescent);
    assert_int_equal(r.acked, r.messages); /* every webhook was eventually answered 200 */
    assert_int_equal(r.lost, 0);
    if (sc->kind == FK_GATEWAY_KILL)
        assert_true((double)r.duplicates <= r.repeats_metric);
    else
        assert_int_equal(r.duplicates, 0);
    assert_int_equal(r.extra_sends, 0);
    assert_int_equal(r.db_surveys, r.acked);
    assert_int_equal(r.db_distinct, r.acked);
    assert_int_equal(r.db_started_events, r.acked);
    assert_int_equal(r.pending, 0);
    assert_int_equal(r.undelivered, 0);
    assert_int_equal(r.dead, 0);
    assert_int_equal(r.gateway_exit, 0);
}

int main(int argc, char **argv)
{
    scenario_name = argc > 1 ? argv[1] : getenv("FAULTS_SCENARIO");
    if (!scenario_name || !faults_find(scenario_name)) {
        fprintf(stderr, "usage: test_faults <scenario>\n");
        return 2;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scenario),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before the load's threads use libcurl */
    int rc = cmocka_run_group_tests_name(scenario_name, tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
