/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for dialogs/roster.c: shifts by weekday and local time (WIB), a shift past midnight
 * belonging to the day it starts, unlisted officers always on duty, a missing file as an empty
 * roster, and malformed entries named. Also: the notice of a new complaint goes to the unit's
 * officers on duty, or to all of them when nobody is (test_complaint.c covers the dialog side).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "roster.h"

#include "sr_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOUR 3600000LL
#define MONDAY_0900 1796004000000LL /* Monday 30 November 2026, 09:00 WIB */

static char dir[64];

static void write_roster(const char *json)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/roster.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
}

static void remove_roster(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/roster.json", dir);
    unlink(path);
}

static void test_shifts(void **state)
{
    (void)state;
    write_roster(
        "{\"format\":1,\"shifts\":["
        "{\"officer\":\"ADU01\",\"days\":[\"mon\",\"tue\"],\"from\":\"08:00\",\"to\":\"12:00\"},"
        "{\"officer\":\"adu01\",\"days\":[\"sat\"],\"from\":\"09:00\",\"to\":\"10:00\"},"
        "{\"officer\":\"JAGA\",\"days\":[\"sun\"],\"from\":\"22:00\",\"to\":\"06:00\"}]}");
    struct sr_errbuf eb = {{0}};
    struct roster *r = roster_load(dir, 420, &eb);
    if (!r)
        fail_msg("%s", eb.msg);
    assert_int_equal(roster_count(r), 3);
    assert_int_equal(roster_on_duty(r, "ADU01", MONDAY_0900), 1);
    assert_int_equal(roster_on_duty(r, "adu01", MONDAY_0900 + 3 * HOUR - 1), 1);  /* 11:59:59 */
    assert_int_equal(roster_on_duty(r, "ADU01", MONDAY_0900 + 3 * HOUR), 0);      /* 12:00 */
    assert_int_equal(roster_on_duty(r, "ADU01", MONDAY_0900 - 1 * HOUR - 1), 0);  /* 07:59:59 */
    assert_int_equal(roster_on_duty(r, "ADU01", MONDAY_0900 + 2 * 24 * HOUR), 0); /* Wednesday */
    assert_int_equal(roster_on_duty(r, "ADU01", MONDAY_0900 - 2 * 24 * HOUR), 1); /* Sat 09:00 */
    /* Sunday 22:00 to Monday 06:00 belongs to Sunday */
    assert_int_equal(roster_on_duty(r, "JAGA", MONDAY_0900 - 11 * HOUR), 1); /* Sun 22:00 */
    assert_int_equal(roster_on_duty(r, "JAGA", MONDAY_0900 - 4 * HOUR), 1);  /* Mon 05:00 */
    assert_int_equal(roster_on_duty(r, "JAGA", MONDAY_0900 - 3 * HOUR), 0);  /* Mon 06:00 */
    assert_int_equal(roster_on_duty(r, "JAGA", MONDAY_0900 + 13 * HOUR), 0); /* Mon 22:00 */
    /* not listed: always on duty */
    assert_int_equal(roster_on_duty(r, "ADU02", MONDAY_0900 + 12 * HOUR), 1);
    roster_free(r);
    assert_int_equal(roster_on_duty(NULL, "ADU01", MONDAY_0900 + 12 * HOUR), 1);
}

static void test_missing_file_is_empty(void **state)
{
    (void)state;
    remove_roster();
    struct sr_errbuf eb = {{0}};
    struct roster *r = roster_load(dir, 420, &eb);
    assert_non_null(r);
    assert_int_equal(roster_count(r), 0);
    assert_int_equal(roster_on_duty(r, "ADU01", 0), 1);
    roster_free(r);
}

static void test_malformed_named(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"shifts\": 3}", "shifts: want an array"},
        {"{\"shifts\":[{\"days\":[\"mon\"],\"from\":\"08:00\",\"to\":\"12:00\"}]}",
         "shifts[0].officer"},
        {"{\"shifts\":[{\"officer\":\"A\",\"days\":[\"monday\"],\"from\":\"08:00\",\"to\":\"12:"
         "00\"}]}",
         "shifts[0].days"},
        {"{\"shifts\":[{\"officer\":\"A\",\"days\":[\"mon\"],\"from\":\"8:00\",\"to\":\"12:00\"}]}",
         "shifts[0].from/to"},
        {"{\"shifts\":[{\"officer\":\"A\",\"days\":[\"mon\"],\"from\":\"08:00\",\"to\":\"24:00\"}]"
         "}",
         "shifts[0].from/to"},
        {"{\"shifts\": [", "roster.json: line"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_roster(cases[i].json);
        struct sr_errbuf eb = {{0}};
        struct roster *r = roster_load(dir, 420, &eb);
        if (r || !strstr(eb.msg, cases[i].want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, eb.msg, cases[i].want);
    }
    remove_roster();
}

int main(void)
{
    sr_mem_init();
    snprintf(dir, sizeof(dir), "/tmp/roster-test-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shifts),
        cmocka_unit_test(test_missing_file_is_empty),
        cmocka_unit_test(test_malformed_named),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    remove_roster();
    rmdir(dir);
    return rc;
}
