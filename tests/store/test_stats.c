/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Golden tests of store/stats*.c on a small seeded evaluation store. Every expected figure was
 * worked out by hand from the rows below (the derivations are in the comments), not by running
 * the code: nearest-rank percentiles, means, SLA shares, open-past-deadline counts, groupings,
 * the working clock, the comparison with the previous period, NRR / IKM / grade with verified
 * ratings apart, the response rate, the IKM grade boundaries and an empty period, and the CSV.
 * The store returns typed rows (struct stats_result); the figures are read here from the API's
 * JSON and CSV of them (gateway/stats_render.c), so the golden values hold for what the
 * administrators read, and test_typed_result checks the rows themselves.
 *
 * The period is Q3 2026: [2026-07-01, 2026-10-01) WIB. H = one hour in ms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "evalstore.h"
#include "stats.h"
#include "stats_render.h"

#include "sr_mem.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define H 3600000LL
#define DAY (24 * H)

static char db_path[64];
static int64_t q3_from, q3_to, now_ms;

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
}

/* One complaint. Hours < 0 mean "not yet". Working durations are half the wall ones. */
static void complaint(sqlite3 *db, const char *ticket, const char *unit, const char *category,
                      int64_t opened, double fr_h, const char *fr_by, int fr_met, double res_h,
                      const char *res_by, int res_met, int64_t due_fr, int64_t due_res, int rating)
{
    char sql[1024];
    long long frw = (long long)(fr_h * H), rsw = (long long)(res_h * H);
    snprintf(sql, sizeof(sql),
             "INSERT INTO complaints (ticket, unit_code, category, citizen, opened_at, "
             "due_first_response, due_resolution, first_response_at, first_response_by, "
             "first_response_wall_ms, first_response_work_ms, sla_first_response_met, "
             "resolved_at, resolved_by, resolution_wall_ms, resolution_work_ms, "
             "sla_resolution_met, state, rating) VALUES ('%s', '%s', '%s', 'c-%s', %lld, %lld, "
             "%lld, %s, %s%s%s, %s, %s, %s, %s, %s%s%s, %s, %s, %s, '%s', %s)",
             ticket, unit, category, ticket, (long long)opened, (long long)due_fr,
             (long long)due_res, fr_h < 0 ? "NULL" : "1", fr_by ? "'" : "", fr_by ? fr_by : "NULL",
             fr_by ? "'" : "", fr_h < 0 ? "NULL" : "?", fr_h < 0 ? "NULL" : "?",
             fr_h < 0 ? "NULL" : (fr_met ? "1" : "0"), res_h < 0 ? "NULL" : "1", res_by ? "'" : "",
             res_by ? res_by : "NULL", res_by ? "'" : "", res_h < 0 ? "NULL" : "?",
             res_h < 0 ? "NULL" : "?", res_h < 0 ? "NULL" : (res_met ? "1" : "0"),
             res_h < 0 ? "open" : "resolved",
             rating ? (rating == 4   ? "4"
                       : rating == 3 ? "3"
                                     : "2")
                    : "NULL");
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    int i = 1;
    if (fr_h >= 0) {
        sqlite3_bind_int64(st, i++, frw);
        sqlite3_bind_int64(st, i++, frw / 2);
    }
    if (res_h >= 0) {
        sqlite3_bind_int64(st, i++, rsw);
        sqlite3_bind_int64(st, i++, rsw / 2);
    }
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

/* One survey with answers U3 U6 U7 KEPUASAN (0 = not answered). */
static void survey(sqlite3 *db, const char *session, const char *officer, const char *unit,
                   const char *citizen, const char *status, int64_t started, int u3, int u6, int u7,
                   int kp)
{
    char sql[512], completed[32] = "NULL";
    if (strcmp(status, "completed") == 0)
        snprintf(completed, sizeof(completed), "%lld", (long long)started + 600000);
    snprintf(sql, sizeof(sql),
             "INSERT INTO surveys (session, survey, officer_code, unit_code, channel, citizen, "
             "started_at, completed_at, status) VALUES ('%s', 'ikm-petugas', '%s', '%s', 'wa', "
             "'%s', %lld, %s, '%s')",
             session, officer, unit, citizen, (long long)started, completed, status);
    exec(db, sql);
    const char *el[] = {"U3", "U6", "U7", "KEPUASAN"};
    int v[] = {u3, u6, u7, kp};
    for (int i = 0; i < 4; i++) {
        if (!v[i])
            continue;
        snprintf(sql, sizeof(sql),
                 "INSERT INTO survey_answers (session, element, value) VALUES ('%s', '%s', %d)",
                 session, el[i], v[i]);
        exec(db, sql);
    }
}

/* n single-answer surveys of element U3 whose values add up to sum, all in the month starting
 * at t: IKM = 25 * sum / n (one element). */
static void month_of_answers(sqlite3 *db, const char *tag, int64_t t, int n, int sum)
{
    int extra = sum - n; /* start every answer at 1, then raise them by up to 3 each */
    for (int i = 0; i < n; i++) {
        int add = extra > 3 ? 3 : extra;
        extra -= add;
        char session[64];
        snprintf(session, sizeof(session), "%s-%d", tag, i);
        survey(db, session, "BMK009", "GRADE", "c-grade", "completed", t + i * 1000, 1 + add, 0, 0,
               0);
    }
    assert_int_equal(extra, 0);
}

static int64_t local_day(int y, int m, int d)
{
    char s[16];
    snprintf(s, sizeof(s), "%04d-%02d-%02d", y, m, d);
    int64_t t = 0;
    assert_int_equal(stats_parse_time(s, &t), 0);
    return t;
}

/* One survey_completed event of citizen for officer GAM001 (unit GAME), started at t, completed
 * 5 minutes later, answering U3 only. */
static void rate_gam(struct evalstore *es, const char *id, const char *citizen, int64_t t, int u3)
{
    char ev[512];
    snprintf(ev, sizeof(ev),
             "{\"id\":\"%s\",\"type\":\"survey_completed\",\"at\":%lld,\"channel\":\"wa\","
             "\"citizen\":\"%s\",\"session\":\"sess-%s\",\"survey\":\"ikm-petugas\","
             "\"officer\":\"GAM001\",\"unit\":\"GAME\",\"language\":\"id\","
             "\"started_at\":%lld,\"answers\":{\"U3\":%d},\"comment\":null}",
             id, (long long)(t + 300000), citizen, id, (long long)t, u3);
    const char *one[] = {ev};
    size_t len = strlen(ev), applied = 0;
    struct sr_errbuf eb = {{0}};
    assert_int_equal(evalstore_apply(es, one, &len, 1, &applied, &eb), SR_E_OK);
}

/* Q4 2025, officer GAM001: one citizen rating over and over, through the writer's path, in a
 * scrambled order with a redelivery (the marks must not depend on either). Times (WIB):
 *   R1 10 Oct 09:00 U3 4  first of the pair                       -> counted
 *   R2 10 Oct 09:01 U3 4  1 minute after R1 (30-day period)       -> set aside
 *   R3 20 Oct 09:00 U3 4  10 days after R1                        -> set aside
 *   V1 25 Oct 08:00 a recorded visit
 *   R4 25 Oct 10:00 U3 1  the first rating after V1: verified     -> counted
 *   R5 25 Oct 11:00 U3 4  V1 verifies one rating only; 1 h after R4 -> set aside
 *   R6 30 Nov 09:00 U3 2  36 days after R4, the last counted      -> counted
 *   H1 11 Oct 09:00 U3 3  another citizen's only rating           -> counted */
static void seed_gaming(struct evalstore *es)
{
    int64_t oct10 = local_day(2025, 10, 10) + 9 * H, oct20 = local_day(2025, 10, 20) + 9 * H;
    int64_t oct25 = local_day(2025, 10, 25), nov30 = local_day(2025, 11, 30) + 9 * H;
    struct sr_errbuf eb = {{0}};
    rate_gam(es, "R6", "cit-g", nov30, 2);
    rate_gam(es, "R3", "cit-g", oct20, 4);
    rate_gam(es, "R1", "cit-g", oct10, 4);
    rate_gam(es, "H1", "cit-h", oct10 + DAY, 3);
    rate_gam(es, "R5", "cit-g", oct25 + 11 * H, 4);
    assert_int_equal(evalstore_record_visit(es, "GAM001", "cit-g", oct25 + 8 * H, &eb), SR_E_OK);
    rate_gam(es, "R2", "cit-g", oct10 + 60000, 4);
    rate_gam(es, "R4", "cit-g", oct25 + 10 * H, 1);
    rate_gam(es, "R2", "cit-g", oct10 + 60000, 4); /* redelivered: changes nothing */
}

static void seed(void)
{
    struct sr_errbuf eb = {{0}};
    struct evalstore *es = evalstore_open(db_path, EVALSTORE_WRITE, &eb);
    if (!es)
        fail_msg("%s", eb.msg);
    evalstore_close(es);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    exec(db, "BEGIN");
    int64_t t = q3_from + DAY, past = now_ms - DAY, future = now_ms + 30 * DAY;
    /* PATEN-BMK: first responses by BMK002 of 1, 2, 3, 4 h (met, met, met, late), BMK003 10 h
     * (late). Resolutions: BMK002 24 h and 48 h (met), BMK003 72 h (late); X4 is acknowledged by
     * BMK002 but unresolved past its deadline; X5 unresolved, deadline ahead. */
    complaint(db, "X1", "PATEN-BMK", "layanan", t, 1, "BMK002", 1, 24, "BMK002", 1, past, past, 4);
    complaint(db, "X2", "PATEN-BMK", "layanan", t + 1, 2, "BMK002", 1, 48, "BMK002", 1, past, past,
              3);
    complaint(db, "X3", "PATEN-BMK", "biaya", t + 2, 3, "BMK002", 1, 72, "BMK003", 0, past, past,
              0);
    complaint(db, "X4", "PATEN-BMK", "biaya", t + 3, 4, "BMK002", 0, -1, NULL, 0, past, past, 0);
    complaint(db, "X5", "PATEN-BMK", "layanan", t + 4, 10, "BMK003", 0, -1, NULL, 0, past, future,
              0);
    /* KEL-SRW: SRW001 answered in 5 h and resolved in 30 h (both met), rated 2; X7 never
     * answered, both deadlines passed. */
    complaint(db, "X6", "KEL-SRW", "fasilitas", t + 5, 5, "SRW001", 1, 30, "SRW001", 1, past, past,
              2);
    complaint(db, "X7", "KEL-SRW", "fasilitas", t + 6, -1, NULL, 0, -1, NULL, 0, past, past, 0);
    /* the previous quarter: one complaint answered in 100 h (late), unresolved */
    complaint(db, "P1", "PATEN-BMK", "layanan", local_day(2026, 6, 15), 100, "BMK002", 0, -1, NULL,
              0, past, past, 0);
    /* surveys of Q3 (completed ones 10 minutes after starting) */
    survey(db, "S1", "BMK002", "PATEN-BMK", "cit-1", "completed", t, 4, 4, 3, 4);
    survey(db, "S2", "BMK002", "PATEN-BMK", "cit-2", "completed", t + H, 3, 3, 3, 3);
    survey(db, "S3", "SRW001", "KEL-SRW", "cit-3", "completed", t + 2 * H, 2, 3, 4, 2);
    survey(db, "S4", "BMK002", "PATEN-BMK", "cit-4", "abandoned", t + 3 * H, 4, 0, 0, 0);
    survey(db, "S5", "SRW001", "KEL-SRW", "cit-5", "cancelled", t + 4 * H, 0, 0, 0, 0);
    /* grade boundaries, one month of 2025 each (found by searching small n for sums whose
     * 25 * sum / n rounds to the boundary): 219/62 -> 88.306 -> 88.31 A; 166/47 -> 88.298 ->
     * 88.30 B; 95/31 -> 76.613 -> 76.61 B; 144/47 -> 76.596 -> 76.60 C; 13/5 -> 65.00 C;
     * 876/337 -> 64.985 -> 64.99 D. */
    month_of_answers(db, "g1", local_day(2025, 1, 10), 62, 219);
    month_of_answers(db, "g2", local_day(2025, 2, 10), 47, 166);
    month_of_answers(db, "g3", local_day(2025, 3, 10), 31, 95);
    month_of_answers(db, "g4", local_day(2025, 4, 10), 47, 144);
    month_of_answers(db, "g5", local_day(2025, 5, 10), 5, 13);
    month_of_answers(db, "g6", local_day(2025, 6, 10), 337, 876);
    exec(db, "COMMIT");
    sqlite3_close(db);
    /* a recorded visit of cit-1 to BMK002 two days before S1: S1 is verified. cit-2 visited
     * BMK002 8 days before S2: outside the 7-day window, so S2 is not. Visits go through the
     * store, which marks the rating they verify. */
    es = evalstore_open(db_path, EVALSTORE_WRITE, &eb);
    assert_non_null(es);
    assert_int_equal(evalstore_record_visit(es, "BMK002", "cit-1", t - 2 * DAY, &eb), SR_E_OK);
    assert_int_equal(evalstore_record_visit(es, "BMK002", "cit-2", t + H - 8 * DAY, &eb), SR_E_OK);
    seed_gaming(es);
    evalstore_close(es);
}

static struct stats *S;

static int setup(void **state)
{
    (void)state;
    snprintf(db_path, sizeof(db_path), "/tmp/stats-test-XXXXXX");
    int fd = mkstemp(db_path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(db_path);
    q3_from = local_day(2026, 7, 1);
    q3_to = local_day(2026, 10, 1);
    now_ms = local_day(2026, 11, 28);
    seed();
    struct sr_errbuf eb = {{0}};
    S = stats_open(db_path, &eb);
    return S ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    stats_close(S);
    char p[80];
    unlink(db_path);
    snprintf(p, sizeof(p), "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", db_path);
    unlink(p);
    return 0;
}

static struct stats_filter q3(enum stats_group g)
{
    return (struct stats_filter){.from_ms = q3_from, .to_ms = q3_to, .group = g};
}

static const json_t *group(const json_t *res, const char *key)
{
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(res, "groups"), i, g)
    {
        const char *k = json_string_value(json_object_get(g, "key"));
        if ((!key && !k) || (key && k && strcmp(key, k) == 0))
            return g;
    }
    fail_msg("no group %s", key ? key : "(null)");
    return NULL;
}

static long long num(const json_t *o, const char *part, const char *name)
{
    const json_t *v = json_object_get(part ? json_object_get(o, part) : o, name);
    if (!json_is_integer(v))
        fail_msg("%s.%s is not an integer", part ? part : "", name);
    return json_integer_value(v);
}

static double real(const json_t *o, const char *part, const char *name)
{
    const json_t *v = json_object_get(part ? json_object_get(o, part) : o, name);
    if (!json_is_number(v))
        fail_msg("%s.%s is not a number", part ? part : "", name);
    return json_number_value(v);
}

static int is_null(const json_t *o, const char *part, const char *name)
{
    return json_is_null(json_object_get(part ? json_object_get(o, part) : o, name));
}

static struct stats_result *query(enum stats_kind k, struct stats_filter f)
{
    struct stats_result *res = NULL;
    struct sr_errbuf eb = {{0}};
    if (stats_query(S, k, &f, now_ms, &res, &eb) != SR_E_OK)
        fail_msg("%s", eb.msg);
    return res;
}

/* A statistic as the API's JSON. */
static json_t *as_json(enum stats_kind k, struct stats_filter f)
{
    struct stats_result *res = query(k, f);
    json_t *o = stats_render_json(res);
    stats_result_free(res);
    return o;
}

/* A statistic as the API's CSV (heap), its length in *len. */
static char *as_csv(enum stats_kind k, struct stats_filter f, size_t *len)
{
    struct stats_result *res = query(k, f);
    char *csv = stats_render_csv_text(res, len);
    stats_result_free(res);
    return csv;
}

static json_t *rt(struct stats_filter f)
{
    return as_json(STATS_RESPONSE_TIMES, f);
}

static json_t *sat(struct stats_filter f)
{
    return as_json(STATS_SATISFACTION, f);
}

/* Q3 as a whole. First responses (h): 1 2 3 4 10 5 -> sorted 1 2 3 4 5 10, n = 6: p50 = the
 * ceil(3)rd = 3 h, p90 = the ceil(5.4) = 6th = 10 h, mean 25/6 h = 15 000 000 ms, max 10 h,
 * within 4 of 6 (X1 X2 X3 X6). Overdue without an answer: X7 -> 1.
 * Resolutions (h): 24 48 72 30 -> sorted 24 30 48 72: p50 = 2nd = 30 h, p90 = ceil(3.6) = 4th
 * = 72 h, mean 174/4 = 43.5 h = 156 600 000 ms, within 3/4. Overdue unresolved: X4 and X7 (X5's
 * deadline is ahead) -> 2. */
static void test_whole_period(void **state)
{
    (void)state;
    json_t *res = rt(q3(STATS_GROUP_NONE));
    assert_int_equal(json_array_size(json_object_get(res, "groups")), 1);
    const json_t *g = group(res, NULL);
    assert_int_equal(num(g, "first_response", "count"), 6);
    assert_int_equal(num(g, "first_response", "p50_ms"), 3 * H);
    assert_int_equal(num(g, "first_response", "p90_ms"), 10 * H);
    assert_int_equal(num(g, "first_response", "mean_ms"), 15000000);
    assert_int_equal(num(g, "first_response", "max_ms"), 10 * H);
    assert_true(fabs(real(g, "first_response", "within_sla") - 4.0 / 6.0) < 1e-9);
    assert_int_equal(num(g, "first_response", "open_past_deadline"), 1);
    assert_int_equal(num(g, "resolution", "count"), 4);
    assert_int_equal(num(g, "resolution", "p50_ms"), 30 * H);
    assert_int_equal(num(g, "resolution", "p90_ms"), 72 * H);
    assert_int_equal(num(g, "resolution", "mean_ms"), 156600000);
    assert_int_equal(num(g, "resolution", "max_ms"), 72 * H);
    assert_true(fabs(real(g, "resolution", "within_sla") - 0.75) < 1e-9);
    assert_int_equal(num(g, "resolution", "open_past_deadline"), 2);
    json_decref(res);
    /* working clock: every working duration is half the wall one, so p50 = 1.5 h */
    struct stats_filter f = q3(STATS_GROUP_NONE);
    f.clock = STATS_CLOCK_WORKING;
    res = rt(f);
    assert_int_equal(num(group(res, NULL), "first_response", "p50_ms"), 3 * H / 2);
    assert_int_equal(num(group(res, NULL), "resolution", "max_ms"), 36 * H);
    json_decref(res);
}

/* By officer: first response counts for who answered, resolution for who resolved (or, while
 * unresolved, who answered). BMK002 answered 1 2 3 4 h: p50 = 2nd = 2 h, p90 = ceil(3.6) = 4th =
 * 4 h, mean 2.5 h, within 3/4; resolved 24 and 48 h: p50 = ceil(1) = 1st = 24 h, p90 = ceil(1.8)
 * = 2nd = 48 h, mean 36 h, within 2/2; X4 (answered by BMK002) is past its resolution deadline.
 * BMK003: 10 h (late) and resolution 72 h (late). The never-answered X7 has no officer: the
 * null group, overdue in both. */
static void test_by_officer(void **state)
{
    (void)state;
    json_t *res = rt(q3(STATS_GROUP_OFFICER));
    const json_t *a = group(res, "BMK002"), *b = group(res, "BMK003"), *n = group(res, NULL);
    assert_int_equal(num(a, "first_response", "count"), 4);
    assert_int_equal(num(a, "first_response", "p50_ms"), 2 * H);
    assert_int_equal(num(a, "first_response", "p90_ms"), 4 * H);
    assert_int_equal(num(a, "first_response", "mean_ms"), 9000000);
    assert_true(fabs(real(a, "first_response", "within_sla") - 0.75) < 1e-9);
    assert_int_equal(num(a, "resolution", "count"), 2);
    assert_int_equal(num(a, "resolution", "p50_ms"), 24 * H);
    assert_int_equal(num(a, "resolution", "p90_ms"), 48 * H);
    assert_int_equal(num(a, "resolution", "mean_ms"), 36 * H);
    assert_true(fabs(real(a, "resolution", "within_sla") - 1.0) < 1e-9);
    assert_int_equal(num(a, "resolution", "open_past_deadline"), 1);
    assert_int_equal(num(b, "first_response", "p50_ms"), 10 * H);
    assert_true(real(b, "first_response", "within_sla") == 0.0);
    assert_int_equal(num(b, "resolution", "max_ms"), 72 * H);
    assert_int_equal(num(b, "resolution", "open_past_deadline"), 0);
    assert_int_equal(num(n, "first_response", "count"), 0);
    assert_true(is_null(n, "first_response", "p50_ms"));
    assert_int_equal(num(n, "first_response", "open_past_deadline"), 1);
    assert_int_equal(num(n, "resolution", "open_past_deadline"), 1);
    assert_int_equal(num(group(res, "SRW001"), "resolution", "p50_ms"), 30 * H);
    json_decref(res);
    /* the officer filter: only what BMK002 answered / resolved / holds */
    struct stats_filter f = q3(STATS_GROUP_NONE);
    f.officer = "bmk002";
    res = rt(f);
    assert_int_equal(num(group(res, NULL), "first_response", "count"), 4);
    assert_int_equal(num(group(res, NULL), "resolution", "count"), 2);
    assert_int_equal(num(group(res, NULL), "resolution", "open_past_deadline"), 1);
    json_decref(res);
}

/* By unit: PATEN-BMK answered 1 2 3 4 10 h: p50 = ceil(2.5) = 3rd = 3 h, p90 = ceil(4.5) = 5th =
 * 10 h, mean 20/5 = 4 h; by category: biaya = X3 X4 (3 h, 4 h); by month: everything in July;
 * by quarter: 2026-Q3. */
static void test_by_unit_category_month_quarter(void **state)
{
    (void)state;
    json_t *res = rt(q3(STATS_GROUP_UNIT));
    const json_t *p = group(res, "PATEN-BMK");
    assert_int_equal(num(p, "first_response", "p50_ms"), 3 * H);
    assert_int_equal(num(p, "first_response", "p90_ms"), 10 * H);
    assert_int_equal(num(p, "first_response", "mean_ms"), 4 * H);
    assert_int_equal(num(group(res, "KEL-SRW"), "first_response", "open_past_deadline"), 1);
    json_decref(res);
    res = rt(q3(STATS_GROUP_CATEGORY));
    assert_int_equal(num(group(res, "biaya"), "first_response", "count"), 2);
    assert_int_equal(num(group(res, "biaya"), "first_response", "max_ms"), 4 * H);
    json_decref(res);
    res = rt(q3(STATS_GROUP_MONTH));
    assert_int_equal(json_array_size(json_object_get(res, "groups")), 1);
    assert_int_equal(num(group(res, "2026-07"), "first_response", "count"), 6);
    json_decref(res);
    res = rt(q3(STATS_GROUP_QUARTER));
    assert_int_equal(num(group(res, "2026-Q3"), "resolution", "count"), 4);
    json_decref(res);
}

/* compare=previous: the 92 days before 1 July hold P1, answered in 100 h. p50 ratio = 3 / 100 =
 * 0.03, mean ratio = 15 000 000 / 360 000 000 = 1/24; no previous resolution: ratio null. */
static void test_compare_previous(void **state)
{
    (void)state;
    struct stats_filter f = q3(STATS_GROUP_NONE);
    f.compare_previous = 1;
    json_t *res = rt(f);
    const json_t *prev = json_object_get(res, "previous");
    assert_int_equal(
        num(json_array_get(json_object_get(prev, "groups"), 0), "first_response", "p50_ms"),
        100 * H);
    assert_int_equal(num(json_object_get(prev, "filter"), NULL, "from"), q3_from - 92 * DAY);
    const json_t *c = json_array_get(json_object_get(res, "change"), 0);
    assert_true(fabs(real(c, "first_response", "p50_ms_ratio") - 0.03) < 1e-12);
    assert_true(fabs(real(c, "first_response", "mean_ms_ratio") - 1.0 / 24.0) < 1e-12);
    assert_int_equal(num(c, "first_response", "p50_ms_diff"), 3 * H - 100 * H);
    assert_true(is_null(c, "resolution", "p50_ms_ratio"));
    json_decref(res);
}

/* An empty period: one group, counts 0, figures null (never NaN). */
static void test_empty_period(void **state)
{
    (void)state;
    struct stats_filter f = {.from_ms = local_day(2030, 1, 1), .to_ms = local_day(2030, 4, 1)};
    json_t *res = rt(f);
    const json_t *g = group(res, NULL);
    assert_int_equal(num(g, "first_response", "count"), 0);
    assert_true(is_null(g, "first_response", "mean_ms"));
    assert_true(is_null(g, "resolution", "within_sla"));
    json_decref(res);
    res = sat(f);
    g = group(res, NULL);
    assert_true(is_null(g, NULL, "ikm"));
    assert_true(is_null(g, NULL, "grade"));
    assert_true(is_null(g, NULL, "response_rate"));
    assert_int_equal(json_array_size(json_object_get(g, "elements")), 0);
    json_decref(res);
}

static double nrr(const json_t *block, const char *element)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(block, "elements"), i,
                       e) if (strcmp(json_string_value(json_object_get(e, "element")), element) ==
                              0) return json_number_value(json_object_get(e, "nrr"));
    fail_msg("no element %s", element);
    return 0;
}

/* Q3 satisfaction. U3 (4+3+2)/3 = 3, U6 (4+3+3)/3 = 10/3, U7 (3+3+4)/3 = 10/3, U8 from the
 * complaint ratings X1 4, X2 3, X6 2 -> 3. IKM = 25 * (3 + 10/3 + 10/3 + 3) / 4 = 25 * 38/12 =
 * 79.1666.. -> 79.17, grade B. KEPUASAN (4+3+2)/3 = 3 is reported, not in the IKM. Response rate:
 * 3 completed of 5 started = 0.6. Verified (S1 only): 25 * (4 + 4 + 3) / 3 = 91.666.. -> 91.67 A.
 * Unverified: U3 2.5, U6 3, U7 3.5, U8 3 -> 25 * 12 / 4 = 75.00 C. */
static void test_satisfaction(void **state)
{
    (void)state;
    struct stats_filter f = q3(STATS_GROUP_NONE);
    json_t *res = sat(f);
    const json_t *g = group(res, NULL);
    assert_true(fabs(nrr(g, "U3") - 3.0) < 1e-12);
    assert_true(fabs(nrr(g, "U6") - 10.0 / 3.0) < 1e-12);
    assert_true(fabs(nrr(g, "U8") - 3.0) < 1e-12);
    assert_true(fabs(nrr(g, "KEPUASAN") - 3.0) < 1e-12);
    assert_true(fabs(real(g, NULL, "ikm") - 79.17) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(g, "grade")), "B");
    assert_int_equal(num(g, NULL, "surveys_started"), 5);
    assert_int_equal(num(g, NULL, "surveys_completed"), 3);
    assert_true(fabs(real(g, NULL, "response_rate") - 0.6) < 1e-12);
    assert_true(fabs(real(g, "verified", "ikm") - 91.67) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(json_object_get(g, "verified"), "grade")),
                        "A");
    assert_true(fabs(real(g, "unverified", "ikm") - 75.0) < 1e-9);
    assert_int_equal(num(g, NULL, "set_aside"), 0); /* three different citizens */
    json_decref(res);
    /* by officer: BMK002's U8 from X1 and X2 (resolved by BMK002): (4+3)/2 = 3.5 */
    res = sat(q3(STATS_GROUP_OFFICER));
    assert_true(fabs(nrr(group(res, "BMK002"), "U8") - 3.5) < 1e-12);
    assert_true(fabs(nrr(group(res, "SRW001"), "U3") - 2.0) < 1e-12);
    json_decref(res);
}

/* The gaming officer GAM001 in Q4 2025 (seed_gaming). Counted: R1 4, R4 1, R6 2, H1 3 ->
 * U3 = 10/4 = 2.5, respondents 4, IKM 25 * 2.5 = 62.50 D; set aside: R2, R3, R5 -> 3.
 * Verified: R4 only -> U3 1, IKM 25.00 D. Unverified: R1 R6 H1 -> 9/3 = 3, IKM 75.00 C.
 * By month: October counts R1 R4 H1 (U3 8/3, IKM 66.67 C) and sets aside 3; November counts
 * R6 (IKM 50.00 D) and sets aside none. */
static void test_set_aside(void **state)
{
    (void)state;
    struct stats_filter f = {
        .from_ms = local_day(2025, 10, 1), .to_ms = local_day(2026, 1, 1), .unit = "GAME"};
    json_t *res = sat(f);
    const json_t *g = group(res, NULL);
    assert_true(fabs(nrr(g, "U3") - 2.5) < 1e-12);
    assert_int_equal(num(json_array_get(json_object_get(g, "elements"), 0), NULL, "respondents"),
                     4);
    assert_true(fabs(real(g, NULL, "ikm") - 62.5) < 1e-9);
    assert_int_equal(num(g, NULL, "set_aside"), 3);
    assert_true(fabs(real(g, "verified", "ikm") - 25.0) < 1e-9);
    assert_true(fabs(real(g, "unverified", "ikm") - 75.0) < 1e-9);
    json_decref(res);
    f.group = STATS_GROUP_MONTH;
    res = sat(f);
    assert_true(fabs(real(group(res, "2025-10"), NULL, "ikm") - 66.67) < 1e-9);
    assert_int_equal(num(group(res, "2025-10"), NULL, "set_aside"), 3);
    assert_true(fabs(real(group(res, "2025-11"), NULL, "ikm") - 50.0) < 1e-9);
    assert_int_equal(num(group(res, "2025-11"), NULL, "set_aside"), 0);
    json_decref(res);
    /* the CSV's IKM row: completed surveys 7 (response rate 7/7), set aside 3 last */
    f.group = STATS_GROUP_NONE;
    char *csv = as_csv(STATS_SATISFACTION, f, NULL);
    assert_non_null(strstr(csv, ",response_rate,set_aside\r\n"));
    assert_non_null(strstr(csv, "\r\ncurrent,,all,IKM,62.5000,7,D,1.0000,3\r\n"));
    free(csv);
}

static void test_grade_boundaries(void **state)
{
    (void)state;
    struct stats_filter f = {.from_ms = local_day(2025, 1, 1),
                             .to_ms = local_day(2025, 7, 1),
                             .unit = "GRADE",
                             .group = STATS_GROUP_MONTH};
    json_t *res = sat(f);
    static const struct {
        const char *month;
        double ikm;
        const char *grade;
    } want[] = {{"2025-01", 88.31, "A"}, {"2025-02", 88.30, "B"}, {"2025-03", 76.61, "B"},
                {"2025-04", 76.60, "C"}, {"2025-05", 65.00, "C"}, {"2025-06", 64.99, "D"}};
    for (size_t i = 0; i < 6; i++) {
        const json_t *g = group(res, want[i].month);
        if (fabs(real(g, NULL, "ikm") - want[i].ikm) > 1e-9)
            fail_msg("%s: ikm %.4f, want %.2f", want[i].month, real(g, NULL, "ikm"), want[i].ikm);
        assert_string_equal(json_string_value(json_object_get(g, "grade")), want[i].grade);
    }
    json_decref(res);
}

static void test_csv(void **state)
{
    (void)state;
    size_t len = 0;
    char *csv = as_csv(STATS_RESPONSE_TIMES, q3(STATS_GROUP_UNIT), &len);
    assert_int_equal(strlen(csv), len);
    const char *want =
        "period,key,measure,count,mean_ms,p50_ms,p90_ms,max_ms,within_sla,open_past_deadline\r\n"
        "current,KEL-SRW,first_response,1,18000000,18000000,18000000,18000000,1.0000,1\r\n"
        "current,KEL-SRW,resolution,1,108000000,108000000,108000000,108000000,1.0000,1\r\n"
        "current,PATEN-BMK,first_response,5,14400000,10800000,36000000,36000000,0.6000,0\r\n"
        "current,PATEN-BMK,resolution,3,172800000,172800000,259200000,259200000,0.6667,1\r\n";
    assert_string_equal(csv, want);
    free(csv);
    /* per-complaint: a header and one row per complaint of the period, the pseudonym only */
    struct stats_filter f = q3(STATS_GROUP_NONE);
    struct stats_result *list = NULL;
    assert_int_equal(stats_complaints(S, &f, &list, NULL), SR_E_OK);
    csv = stats_render_csv_text(list, NULL);
    assert_non_null(strstr(csv, "ticket,unit,officer,category,citizen,state,opened_at,"));
    assert_non_null(strstr(csv, "\r\nX1,PATEN-BMK,BMK002,layanan,c-X1,resolved,"));
    size_t lines = 0;
    for (const char *p = csv; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    assert_int_equal(lines, 1 + 7); /* X1..X7; P1 is in Q2 */
    free(csv);
    stats_result_free(list);
}

/* The typed rows themselves (what the renderers read): by officer the groups come sorted with
 * the null key (X7, never answered) first; an empty summary has count 0 and null figures; the
 * comparison's change row is there for the key both periods have; satisfaction's elements come
 * by name; the complaint list's nulls are flags. Same figures as the tests above. */
static void test_typed_result(void **state)
{
    (void)state;
    struct stats_result *r = query(STATS_RESPONSE_TIMES, q3(STATS_GROUP_OFFICER));
    assert_int_equal(r->kind, STATS_RESPONSE_TIMES);
    assert_int_equal(r->now.n, 4);
    assert_null(r->now.rt[0].key);
    assert_string_equal(r->now.rt[1].key, "BMK002");
    assert_string_equal(r->now.rt[2].key, "BMK003");
    assert_string_equal(r->now.rt[3].key, "SRW001");
    assert_int_equal(r->now.rt[0].first_response.count, 0);
    assert_true(r->now.rt[0].first_response.p50_ms.null);
    assert_true(r->now.rt[0].first_response.within_sla.null);
    assert_int_equal(r->now.rt[0].first_response.open_past_deadline, 1);
    const struct stats_rt_summary *a = &r->now.rt[1].first_response;
    assert_int_equal(a->count, 4);
    assert_false(a->p50_ms.null);
    assert_int_equal(a->p50_ms.v, 2 * H);
    assert_int_equal(a->mean_ms.v, 9000000);
    assert_true(fabs(a->within_sla.v - 0.75) < 1e-9);
    assert_int_equal(r->now.rt[1].resolution.open_past_deadline, 1);
    assert_int_equal(r->n_change, 0); /* no comparison asked */
    stats_result_free(r);

    struct stats_filter f = q3(STATS_GROUP_NONE);
    f.compare_previous = 1;
    r = query(STATS_RESPONSE_TIMES, f);
    assert_int_equal(r->previous.filter.from_ms, q3_from - 92 * DAY);
    assert_int_equal(r->previous.n, 1);
    assert_int_equal(r->previous.rt[0].first_response.p50_ms.v, 100 * H);
    assert_int_equal(r->n_change, 1);
    assert_null(r->rt_change[0].key);
    assert_int_equal(r->rt_change[0].first_response.p50_ms_diff.v, 3 * H - 100 * H);
    assert_true(fabs(r->rt_change[0].first_response.p50_ms_ratio.v - 0.03) < 1e-12);
    assert_true(r->rt_change[0].resolution.p50_ms_ratio.null);
    stats_result_free(r);

    r = query(STATS_SATISFACTION, q3(STATS_GROUP_NONE));
    assert_int_equal(r->now.n, 1);
    const struct stats_sat_group *g = &r->now.sat[0];
    assert_null(g->key);
    assert_int_equal(g->all.n_elements, 5);
    static const char *const names[] = {"KEPUASAN", "U3", "U6", "U7", "U8"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(g->all.elements[i].name, names[i]);
    assert_true(fabs(g->all.ikm.v - 79.17) < 1e-9);
    assert_string_equal(g->all.grade, "B");
    assert_string_equal(g->verified.grade, "A");
    assert_int_equal(g->surveys_started, 5);
    assert_true(fabs(g->response_rate.v - 0.6) < 1e-12);
    stats_result_free(r);

    r = query(STATS_COMPLAINTS, q3(STATS_GROUP_NONE));
    assert_int_equal(r->n_complaints, 7);
    assert_string_equal(r->complaints[0].ticket, "X1");
    assert_int_equal(r->complaints[0].rating.v, 4);
    assert_string_equal(r->complaints[2].ticket, "X3");
    assert_string_equal(r->complaints[2].officer, "BMK003"); /* who resolved it */
    assert_true(r->complaints[2].rating.null);
    assert_null(r->complaints[6].officer); /* X7: nobody answered */
    assert_true(r->complaints[6].first_response_at.null);
    stats_result_free(r);
}

static void test_parse(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(stats_parse_time("2026-07-01", &t), 0);
    assert_int_equal(t, 1782838800000LL); /* 2026-06-30T17:00:00Z = 1 July 00:00 WIB */
    assert_int_equal(stats_parse_time("1782838800000", &t), 0);
    assert_int_equal(stats_parse_time("2026-02-30", &t), -1);
    assert_int_equal(stats_parse_time("2026-7-1", &t), -1);
    assert_int_equal(stats_parse_time("yesterday", &t), -1);
    enum stats_group g;
    assert_int_equal(stats_parse_group("quarter", &g), 0);
    assert_int_equal(g, STATS_GROUP_QUARTER);
    assert_int_equal(stats_parse_group("week", &g), -1);
    enum stats_clock c;
    assert_int_equal(stats_parse_clock("working", &c), 0);
    assert_int_equal(stats_parse_clock("fast", &c), -1);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_whole_period),
        cmocka_unit_test(test_by_officer),
        cmocka_unit_test(test_by_unit_category_month_quarter),
        cmocka_unit_test(test_compare_previous),
        cmocka_unit_test(test_empty_period),
        cmocka_unit_test(test_satisfaction),
        cmocka_unit_test(test_grade_boundaries),
        cmocka_unit_test(test_set_aside),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_typed_result),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
