/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `suara stats` (gateway/cli_stats.c) end to end on a tiny evaluation store: flags become the
 * filter, the figures come out as CSV or as a table on stdout (captured into a temp file), and a
 * bad flag or value is a usage error (exit 2) before any database is touched. The figures
 * themselves are golden-tested in test_stats.c; here only that the command passes them through.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli_stats.h"
#include "config.h"
#include "harness.h"
#include "evalstore.h"

#include "sr_mem.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define H 3600000LL
#define JUL1 1782838800000LL /* 2026-07-01 00:00 WIB */

static char dir[64], db_path[96], clock_path[96];

/* Two complaints in July 2026: A answered by BMK002 in 2 h and resolved in 24 h, both within
 * the deadlines; B answered in 6 h (late), unresolved. */
static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/suara-clistats-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db_path, sizeof(db_path), "%s/suara.db", dir);
    struct evalstore *es = evalstore_open(db_path, EVALSTORE_WRITE, NULL);
    assert_non_null(es);
    evalstore_close(es);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "INSERT INTO complaints (ticket, unit_code, category, officer_code, citizen, "
             "opened_at, due_first_response, due_resolution, first_response_at, "
             "first_response_by, first_response_wall_ms, first_response_work_ms, "
             "sla_first_response_met, resolved_at, resolved_by, resolution_wall_ms, "
             "resolution_work_ms, sla_resolution_met, state) VALUES "
             "('A', 'PATEN', 'layanan', 'BMK002', 'h:a', %lld, %lld, %lld, %lld, 'BMK002', "
             "%lld, %lld, 1, %lld, 'BMK002', %lld, %lld, 1, 'resolved'),"
             "('B', 'PATEN', 'biaya', 'BMK002', 'h:b', %lld, %lld, %lld, %lld, 'BMK002', "
             "%lld, %lld, 0, NULL, NULL, NULL, NULL, NULL, 'acknowledged')",
             JUL1 + H, JUL1 + 5 * H, JUL1 + 73 * H, JUL1 + 3 * H, 2 * H, 2 * H, JUL1 + 25 * H,
             24 * H, 8 * H, JUL1 + 2 * H, JUL1 + 6 * H, JUL1 + 74 * H, JUL1 + 8 * H, 6 * H, 3 * H);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    snprintf(clock_path, sizeof(clock_path), "%s/now", dir);
    FILE *f = fopen(clock_path, "w");
    assert_non_null(f);
    fprintf(f, "%lld\n", JUL1 + 100 * H); /* B's resolution deadline (+74 h) has passed */
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[128];
    unlink(clock_path);
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", db_path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static int call_cli(const void *cfg, int argc, char **argv)
{
    return cli_stats(cfg, argc, argv);
}

/* Runs cli_stats with stdout sent to a temp file; returns its exit code and *out the text
 * (heap). */
static int run(char **argv, char **out)
{
    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.store.sqlite_path = db_path;
    cfg.server.clock_file = clock_path; /* "now" for the overdue counts, not the wall clock */
    int rc = harness_capture_cli(call_cli, &cfg, argv, out);
    assert_non_null(*out);
    return rc;
}

static void test_csv(void **state)
{
    (void)state;
    char *out = NULL;
    char *argv[] = {
        "stats",      "response-times", "--from", "2026-07-01", "--to",        "2026-08-01",
        "--group-by", "officer",        "--csv",  "-c",         "ignored.ini", NULL};
    assert_int_equal(run(argv, &out), 0);
    /* BMK002 answered both: 2 h and 6 h -> mean 4 h, p50 = 1st of 2 = 2 h, p90 = 2nd = 6 h,
     * 1 of 2 within the deadline; resolved A only in 24 h; B is unresolved but its resolution
     * deadline (opened + 72 h) is past at the clock file's "now" (+100 h): 1 open past it. */
    assert_string_equal(
        out,
        "period,key,measure,count,mean_ms,p50_ms,p90_ms,max_ms,within_sla,open_past_deadline\r\n"
        "current,BMK002,first_response,2,14400000,7200000,21600000,21600000,0.5000,0\r\n"
        "current,BMK002,resolution,1,86400000,86400000,86400000,86400000,1.0000,1\r\n");
    free(out);
}

static void test_table_and_complaints(void **state)
{
    (void)state;
    char *out = NULL;
    char *argv[] = {"complaints", "--from",     "2026-07-01", "--to",
                    "2026-08-01", "--category", "biaya",      NULL};
    assert_int_equal(run(argv, &out), 0);
    assert_non_null(strstr(out, "ticket"));
    assert_non_null(strstr(out, "h:b"));
    assert_null(strstr(out, "h:a")); /* the category filter reached the query */
    free(out);
}

static void test_usage_errors(void **state)
{
    (void)state;
    char *out = NULL;
    char *bad_flag[] = {"stats", "response-times", "--color", "red", NULL};
    assert_int_equal(run(bad_flag, &out), 2);
    free(out);
    char *bad_date[] = {"stats", "satisfaction", "--from", "2026-02-30", NULL};
    assert_int_equal(run(bad_date, &out), 2);
    free(out);
    char *bad_what[] = {"stats", "everything", NULL};
    assert_int_equal(run(bad_what, &out), 2);
    free(out);
    char *missing[] = {"stats", "complaints", "--unit", NULL};
    assert_int_equal(run(missing, &out), 2);
    free(out);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_table_and_complaints),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
