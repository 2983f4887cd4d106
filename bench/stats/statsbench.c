/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The statistics benchmark (bench/stats/run.sh builds and runs it; not a timed test).
 *   statsbench gen FILE            one year (2025, local time) of a city's data into a new SQLite
 *                                  file with the real schema (evalstore_open WRITE migrates it):
 *                                  25 units, 500 officers, 220,000 complaints with their
 *                                  complaint_events (~1.2 million), 150,000 surveys and answers,
 *                                  visits. Deterministic (fixed seed); no real names or numbers.
 *   statsbench time FILE N         N timed runs of each measured statistic on one read-only
 *                                  stats connection (after one warm-up run), printing p50 / p95 /
 *                                  max milliseconds of the query and its JSON (the result
 *                                  rendered by gateway/stats_render.c, as the API does), and
 *                                  the query's own p50 / p95. The headline: Q3 2025 response times
 * grouped by officer (wall clock), the API's GET
 *                                  /api/v1/stats/response-times?from=2025-07-01&to=2025-10-01&
 *                                  group_by=officer.
 */
#include "evalstore.h"
#include "stats.h"
#include "stats_render.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_UNITS 25
#define N_OFFICERS 500
#define N_COMPLAINTS 220000
#define N_SURVEYS 150000
#define N_VISIT_PERCENT 66           /* of the surveys had a recorded visit first: ~100,000 */
#define YEAR_FROM_MS 1735664400000LL /* 2025-01-01T00:00+07:00 */
#define YEAR_MS (365LL * 86400000LL)
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

static const char *const categories[] = {"layanan",   "petugas",   "biaya",
                                         "informasi", "fasilitas", "lainnya"};
static const char *const elements[] = {"U3", "U6", "U7", "KEPUASAN"};

/* ---------------------------------------------------------------- generator */

static unsigned long long rng_state = 0x5eed5eed5eedULL;

static unsigned long long rnd(void) /* splitmix64 */
{
    unsigned long long z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int chance(unsigned percent)
{
    return rnd() % 100 < percent;
}

/* A skewed duration: uniform up to mean/2 most of the time, a long tail to 8x the mean. */
static long long duration(long long mean)
{
    unsigned long long r = rnd() % 1000;
    long long base = (long long)(rnd() % (unsigned long long)mean);
    return r < 700 ? base / 2 + 60000 : r < 950 ? base * 2 + 60000 : base * 8 + 60000;
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "statsbench: %s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
    return st;
}

static void step(sqlite3 *db, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "statsbench: insert: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void gen_registry(sqlite3 *db)
{
    sqlite3_stmt *u = prep(db, "INSERT INTO units (code, name) VALUES (?1, ?2)");
    sqlite3_stmt *o = prep(db, "INSERT INTO officers (code, nip, name, unit_code, role, "
                               "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    char code[32], nip[32], name[32], unit[16];
    for (int i = 0; i < N_UNITS; i++) {
        snprintf(unit, sizeof(unit), "UNIT%02d", i + 1);
        snprintf(name, sizeof(name), "Unit %d", i + 1);
        sqlite3_bind_text(u, 1, unit, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(u, 2, name, -1, SQLITE_TRANSIENT);
        step(db, u);
    }
    for (int i = 0; i < N_OFFICERS; i++) {
        snprintf(code, sizeof(code), "BMK%03d", i + 1);
        snprintf(nip, sizeof(nip), "1990000000000%05d", i + 1);
        snprintf(name, sizeof(name), "Petugas %d", i + 1);
        snprintf(unit, sizeof(unit), "UNIT%02d", i % N_UNITS + 1);
        sqlite3_bind_text(o, 1, code, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(o, 2, nip, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(o, 3, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(o, 4, unit, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(o, 5, i % 20 == 0 ? "supervisor" : "complaint", -1, SQLITE_STATIC);
        sqlite3_bind_int64(o, 6, YEAR_FROM_MS);
        step(db, o);
    }
    sqlite3_finalize(u);
    sqlite3_finalize(o);
}

struct cx {
    char ticket[24], unit[16], officer[16], citizen[24];
    const char *category;
    long long opened, fr_at, fr_wall, res_at, res_wall;
    int reopened;
};

static long long n_events;

static void event(sqlite3 *db, sqlite3_stmt *st, const struct cx *c, const char *type, long long at,
                  long long wall)
{
    char id[48];
    snprintf(id, sizeof(id), "%s:%lld", c->ticket, n_events++);
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, c->ticket, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, at);
    if (strcmp(type, "complaint_opened") != 0)
        sqlite3_bind_text(st, 5, c->officer, -1, SQLITE_STATIC);
    if (wall > 0) {
        sqlite3_bind_int64(st, 6, wall);
        sqlite3_bind_int64(st, 7, wall * 2 / 5);
    }
    step(db, st);
}

/* Every step of one complaint's life as complaint_events rows. */
static void gen_events(sqlite3 *db, sqlite3_stmt *st, const struct cx *c)
{
    event(db, st, c, "complaint_opened", c->opened, 0);
    if (!c->fr_at)
        return;
    event(db, st, c, "complaint_acknowledged", c->fr_at, c->fr_wall);
    for (unsigned n = 1 + rnd() % 2; n > 0; n--)
        event(db, st, c, "complaint_replied", c->fr_at + (long long)(rnd() % DAY_MS), 0);
    if (!c->res_at)
        return;
    if (c->reopened) {
        event(db, st, c, "complaint_resolved", c->res_at - HOUR_MS * 10, c->res_wall);
        event(db, st, c, "complaint_reopened", c->res_at - HOUR_MS * 5, 0);
    }
    event(db, st, c, "complaint_resolved", c->res_at, c->res_wall);
    if (chance(80))
        event(db, st, c, "complaint_closed", c->res_at + 3 * DAY_MS, 0);
    if (chance(60))
        event(db, st, c, "complaint_rated", c->res_at + 3 * DAY_MS + HOUR_MS, 0);
}

static void bind_opt(sqlite3_stmt *st, int idx, long long v, int present)
{
    if (present)
        sqlite3_bind_int64(st, idx, v);
}

static void insert_complaint(sqlite3 *db, sqlite3_stmt *st, const struct cx *c)
{
    sqlite3_bind_text(st, 1, c->ticket, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->unit, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->category, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, c->officer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, c->citizen, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, c->opened);
    sqlite3_bind_int64(st, 7, c->opened + 4 * HOUR_MS);
    sqlite3_bind_int64(st, 8, c->opened + 5 * DAY_MS);
    bind_opt(st, 9, c->fr_at, c->fr_at != 0);
    bind_opt(st, 10, c->fr_wall, c->fr_at != 0);
    bind_opt(st, 11, c->fr_wall * 2 / 5, c->fr_at != 0);
    bind_opt(st, 12, c->fr_wall <= 4 * HOUR_MS, c->fr_at != 0);
    bind_opt(st, 13, c->res_at, c->res_at != 0);
    bind_opt(st, 14, c->res_wall, c->res_at != 0);
    bind_opt(st, 15, c->res_wall * 2 / 5, c->res_at != 0);
    bind_opt(st, 16, c->res_wall <= 5 * DAY_MS, c->res_at != 0);
    sqlite3_bind_text(st, 17,
                      c->res_at  ? "resolved"
                      : c->fr_at ? "acknowledged"
                                 : "open",
                      -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 18, c->reopened);
    bind_opt(st, 19, 1 + (long long)(rnd() % 4), c->res_at && chance(60));
    step(db, st);
}

static void gen_complaints(sqlite3 *db)
{
    sqlite3_stmt *ins = prep(
        db,
        "INSERT INTO complaints (ticket, unit_code, category, officer_code, citizen, "
        "opened_at, due_first_response, due_resolution, first_response_at, "
        "first_response_by, first_response_wall_ms, first_response_work_ms, "
        "sla_first_response_met, resolved_at, resolved_by, resolution_wall_ms, "
        "resolution_work_ms, sla_resolution_met, state, reopen_count, rating) VALUES (?1, ?2, "
        "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?4, ?10, ?11, ?12, ?13, ?4, ?14, ?15, ?16, ?17, ?18, ?19)");
    sqlite3_stmt *ev =
        prep(db, "INSERT INTO complaint_events (id, ticket, type, at, "
                 "officer_code, wall_ms, work_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    for (int i = 0; i < N_COMPLAINTS; i++) {
        struct cx c = {.category = categories[rnd() % 6]};
        int officer = (int)(rnd() % N_OFFICERS);
        snprintf(c.ticket, sizeof(c.ticket), "ADU-25-%06d", i + 1);
        snprintf(c.officer, sizeof(c.officer), "BMK%03d", officer + 1);
        snprintf(c.unit, sizeof(c.unit), "UNIT%02d", officer % N_UNITS + 1);
        snprintf(c.citizen, sizeof(c.citizen), "h:%016llx", rnd() % 400000);
        c.opened = YEAR_FROM_MS + YEAR_MS * i / N_COMPLAINTS;
        if (chance(95)) {
            c.fr_wall = duration(3 * HOUR_MS);
            c.fr_at = c.opened + c.fr_wall;
        }
        if (c.fr_at && chance(88)) {
            c.res_wall = c.fr_wall + duration(3 * DAY_MS);
            c.res_at = c.opened + c.res_wall;
            c.reopened = chance(5);
        }
        insert_complaint(db, ins, &c);
        gen_events(db, ev, &c);
    }
    sqlite3_finalize(ins);
    sqlite3_finalize(ev);
}

static void gen_surveys(sqlite3 *db)
{
    sqlite3_stmt *sv = prep(db, "INSERT INTO surveys (session, survey, officer_code, unit_code, "
                                "channel, citizen, language, started_at, completed_at, ended_at, "
                                "status) VALUES (?1, 'ikm-petugas', ?2, ?3, 'wa', ?4, 'id', ?5, "
                                "?6, ?6, ?7)");
    sqlite3_stmt *an =
        prep(db, "INSERT INTO survey_answers (session, element, value) VALUES (?1, ?2, ?3)");
    sqlite3_stmt *vi =
        prep(db, "INSERT INTO visits (officer_code, citizen, at) VALUES (?1, ?2, ?3)");
    char session[24], officer[16], unit[16], citizen[24];
    for (int i = 0; i < N_SURVEYS; i++) {
        int o = (int)(rnd() % N_OFFICERS), done = chance(85);
        long long started = YEAR_FROM_MS + YEAR_MS * i / N_SURVEYS;
        snprintf(session, sizeof(session), "s-%07d", i + 1);
        snprintf(officer, sizeof(officer), "BMK%03d", o + 1);
        snprintf(unit, sizeof(unit), "UNIT%02d", o % N_UNITS + 1);
        snprintf(citizen, sizeof(citizen), "h:%016llx", rnd() % 400000);
        sqlite3_bind_text(sv, 1, session, -1, SQLITE_STATIC);
        sqlite3_bind_text(sv, 2, officer, -1, SQLITE_STATIC);
        sqlite3_bind_text(sv, 3, unit, -1, SQLITE_STATIC);
        sqlite3_bind_text(sv, 4, citizen, -1, SQLITE_STATIC);
        sqlite3_bind_int64(sv, 5, started);
        bind_opt(sv, 6, started + 120000, done);
        sqlite3_bind_text(sv, 7, done ? "completed" : "abandoned", -1, SQLITE_STATIC);
        step(db, sv);
        for (size_t e = 0; done && e < sizeof(elements) / sizeof(elements[0]); e++) {
            sqlite3_bind_text(an, 1, session, -1, SQLITE_STATIC);
            sqlite3_bind_text(an, 2, elements[e], -1, SQLITE_STATIC);
            sqlite3_bind_int(an, 3, 2 + (int)(rnd() % 3));
            step(db, an);
        }
        if (chance(N_VISIT_PERCENT)) {
            sqlite3_bind_text(vi, 1, officer, -1, SQLITE_STATIC);
            sqlite3_bind_text(vi, 2, citizen, -1, SQLITE_STATIC);
            sqlite3_bind_int64(vi, 3, started - (long long)(rnd() % (3 * DAY_MS)));
            step(db, vi);
        }
    }
    sqlite3_finalize(sv);
    sqlite3_finalize(an);
    sqlite3_finalize(vi);
}

static int gen(const char *path)
{
    struct sr_errbuf eb = {{0}};
    remove(path);
    struct evalstore *es = evalstore_open(path, EVALSTORE_WRITE, &eb); /* the real schema */
    if (!es) {
        fprintf(stderr, "statsbench: %s\n", eb.msg);
        return 1;
    }
    evalstore_close(es);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return 1;
    sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", NULL, NULL, NULL);
    gen_registry(db);
    gen_complaints(db);
    gen_surveys(db);
    if (sqlite3_exec(db, "COMMIT; ANALYZE", NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "statsbench: commit: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_close(db);
    printf("generated %s: %d units, %d officers, %d complaints, %lld complaint_events, %d "
           "surveys\n",
           path, N_UNITS, N_OFFICERS, N_COMPLAINTS, n_events, N_SURVEYS);
    return 0;
}

/* ---------------------------------------------------------------- timing */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct measure {
    const char *name;
    int satisfaction;
    struct stats_filter f;
};

#define Q3_FROM 1751302800000LL /* 2025-07-01T00:00+07:00 */
#define Q4_FROM 1759251600000LL /* 2025-10-01T00:00+07:00 */
#define NOW_MS 1767200400000LL  /* 2026-01-01T00:00+07:00: the overdue counts' "now" */

static const struct measure measures[] = {
    {"Q3 response times by officer (wall)",
     0,
     {Q3_FROM, Q4_FROM, NULL, NULL, NULL, STATS_GROUP_OFFICER, STATS_CLOCK_WALL, 0}},
    {"Q3 response times by officer (working), compare=previous",
     0,
     {Q3_FROM, Q4_FROM, NULL, NULL, NULL, STATS_GROUP_OFFICER, STATS_CLOCK_WORKING, 1}},
    {"Q3 response times, one unit, by month",
     0,
     {Q3_FROM, Q4_FROM, "UNIT07", NULL, NULL, STATS_GROUP_MONTH, STATS_CLOCK_WALL, 0}},
    {"Q3 satisfaction by officer",
     1,
     {Q3_FROM, Q4_FROM, NULL, NULL, NULL, STATS_GROUP_OFFICER, STATS_CLOCK_WALL, 0}},
};

/* One measure, n runs after a warm-up: the query and its JSON (what an API worker builds before
 * writing the body), p50 / p95 / max, and the query alone (the store's share), p50 / p95; -1 on a
 * failed query. */
static int time_one(struct stats *s, const struct measure *m, int n)
{
    double *t = calloc((size_t)n, sizeof(*t)), *q = calloc((size_t)n, sizeof(*q));
    size_t groups = 0;
    for (int i = -1; i < n; i++) {
        struct sr_errbuf eb = {{0}};
        struct stats_result *out = NULL;
        double t0 = now_ms();
        enum sr_err e = m->satisfaction ? stats_satisfaction(s, &m->f, &out, &eb)
                                        : stats_response_times(s, &m->f, NOW_MS, &out, &eb);
        if (e != SR_E_OK) {
            fprintf(stderr, "statsbench: %s: %s\n", m->name, eb.msg);
            free(t);
            free(q);
            return -1;
        }
        double t1 = now_ms();
        json_t *json = stats_render_json(out);
        if (i >= 0) {
            t[i] = now_ms() - t0;
            q[i] = t1 - t0;
        }
        groups = out->now.n;
        json_decref(json);
        stats_result_free(out);
    }
    qsort(t, (size_t)n, sizeof(*t), cmp_double);
    qsort(q, (size_t)n, sizeof(*q), cmp_double);
    printf("%-58s groups %4zu  p50 %7.1f ms  p95 %7.1f ms  max %7.1f ms  (query alone p50 %7.1f "
           "p95 %7.1f ms)\n",
           m->name, groups, t[(n + 1) / 2 - 1], t[(95 * n + 99) / 100 - 1], t[n - 1],
           q[(n + 1) / 2 - 1], q[(95 * n + 99) / 100 - 1]);
    free(t);
    free(q);
    return 0;
}

static int time_all(const char *path, int n)
{
    struct sr_errbuf eb = {{0}};
    struct stats *s = stats_open(path, &eb);
    if (!s) {
        fprintf(stderr, "statsbench: %s\n", eb.msg);
        return 1;
    }
    printf("%d runs each after one warm-up (nearest-rank p50/p95 of the runs)\n", n);
    int rc = 0;
    for (size_t i = 0; i < sizeof(measures) / sizeof(measures[0]) && rc == 0; i++)
        rc = time_one(s, &measures[i], n) < 0;
    stats_close(s);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "gen") == 0)
        return gen(argv[2]);
    char *end = NULL;
    long n = argc == 4 ? strtol(argv[3], &end, 10) : 0;
    if (argc == 4 && strcmp(argv[1], "time") == 0 && end && !*end && n > 0 && n <= 100000)
        return time_all(argv[2], (int)n);
    fprintf(stderr, "usage: statsbench gen FILE | statsbench time FILE RUNS\n");
    return 2;
}
