/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which completed surveys count in the statistics: the rule against rating the same officer over
 * and over (issue 8). For one citizen (pseudonym) and one officer, with the pair's completed
 * surveys in order of their time t = started_at (completed_at when unknown), ties by session:
 *   1. visits, in order of (at, id): a visit verifies the first survey not verified yet whose t
 *      lies in [at, at + 7 days] — so one visit verifies at most ONE rating;
 *   2. a survey counts if it is verified, or if it is the pair's first counted one, or if its t
 *      is at least the rating period after the t of the pair's previous counted survey;
 *      the others are kept (audit) but set aside (counted = 0).
 * The marks are a function of the pair's set of surveys and visits only, recomputed whenever
 * the set changes (a survey completes, a visit is recorded), so redelivered or out-of-order
 * events give the same result. Runs inside the caller's transaction.
 */
#include "evalstore_int.h"

#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>

struct rated {
    char *session;
    int64_t t;
    int64_t verified_by; /* visit id, 0 if none */
};

struct pair_set {
    struct rated *s;
    size_t n, cap;
};

static void set_free(struct pair_set *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->s[i].session);
    free(p->s);
}

static void set_add(struct pair_set *p, const char *session, int64_t t)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->s = sr_realloc(p->s, p->cap * sizeof(*p->s));
    }
    p->s[p->n++] = (struct rated){sr_strdup(session), t, 0};
}

static void bind_pair(sqlite3_stmt *st, const char *citizen, const char *officer)
{
    es_bind_str(st, 1, citizen);
    es_bind_str(st, 2, officer);
}

/* The pair's completed surveys, in rule order. */
static enum sr_err load_surveys(struct evalstore *es, const char *citizen, const char *officer,
                                struct pair_set *p, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(es, ES_RATING_SURVEYS, eb);
    if (!st)
        return SR_E_IO;
    bind_pair(st, citizen, officer);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        set_add(p, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SR_E_OK : es_sql_err(es, "rating surveys", eb);
}

/* Step 1: each visit verifies the first unverified survey of its window. */
static enum sr_err assign_visits(struct evalstore *es, const char *citizen, const char *officer,
                                 struct pair_set *p, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(es, ES_RATING_VISITS, eb);
    if (!st)
        return SR_E_IO;
    bind_pair(st, citizen, officer);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0), at = sqlite3_column_int64(st, 1);
        for (size_t i = 0; i < p->n; i++) {
            struct rated *r = &p->s[i];
            if (!r->verified_by && r->t >= at && r->t <= at + ES_VISIT_WINDOW_MS) {
                r->verified_by = id;
                break;
            }
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SR_E_OK : es_sql_err(es, "rating visits", eb);
}

static enum sr_err mark(struct evalstore *es, const struct rated *r, int counted,
                        struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(es, ES_RATING_MARK, eb);
    if (!st)
        return SR_E_IO;
    es_bind_str(st, 1, r->session);
    sqlite3_bind_int(st, 2, counted);
    if (r->verified_by)
        sqlite3_bind_int64(st, 3, r->verified_by);
    else
        sqlite3_bind_null(st, 3);
    return es_step_done(es, st, "rating mark", eb);
}

enum sr_err es_ratings_recount(struct evalstore *es, const char *citizen, const char *officer,
                               struct sr_errbuf *eb)
{
    if (!citizen || !*citizen || !officer || !*officer)
        return SR_E_OK; /* nothing to compare with: counted as it is */
    struct pair_set p = {0};
    enum sr_err e = load_surveys(es, citizen, officer, &p, eb);
    if (e == SR_E_OK && p.n)
        e = assign_visits(es, citizen, officer, &p, eb);
    int have_last = 0;
    int64_t last = 0;
    for (size_t i = 0; e == SR_E_OK && i < p.n; i++) {
        const struct rated *r = &p.s[i];
        int counted = r->verified_by || !have_last || r->t - last >= es->rating_period_ms;
        if (counted) {
            have_last = 1;
            last = r->t;
        }
        e = mark(es, r, counted, eb);
    }
    set_free(&p);
    return e;
}

enum sr_err es_ratings_recount_session(struct evalstore *es, const char *session,
                                       struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(es, ES_SURVEY_PAIR, eb);
    if (!st)
        return SR_E_IO;
    es_bind_str(st, 1, session);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return SR_E_OK;
    }
    char *citizen = sqlite3_column_type(st, 0) == SQLITE_NULL
                        ? NULL
                        : sr_strdup((const char *)sqlite3_column_text(st, 0));
    char *officer = sqlite3_column_type(st, 1) == SQLITE_NULL
                        ? NULL
                        : sr_strdup((const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
    enum sr_err e = es_ratings_recount(es, citizen, officer, eb);
    free(citizen);
    free(officer);
    return e;
}

enum sr_err es_ratings_recount_all(struct evalstore *es, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(es->db,
                           "SELECT DISTINCT citizen, officer_code FROM surveys WHERE status = "
                           "'completed' AND citizen IS NOT NULL AND officer_code IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return es_sql_err(es, "rating pairs", eb);
    struct pair_set pairs = {0}; /* session = citizen, and the officer in a second set */
    struct pair_set officers = {0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        set_add(&pairs, (const char *)sqlite3_column_text(st, 0), 0);
        set_add(&officers, (const char *)sqlite3_column_text(st, 1), 0);
    }
    sqlite3_finalize(st);
    enum sr_err e = rc == SQLITE_DONE ? SR_E_OK : es_sql_err(es, "rating pairs", eb);
    for (size_t i = 0; e == SR_E_OK && i < pairs.n; i++)
        e = es_ratings_recount(es, pairs.s[i].session, officers.s[i].session, eb);
    set_free(&pairs);
    set_free(&officers);
    return e;
}
