/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Statistics: citizen satisfaction (NRR per element, the IKM and its grade, response rate,
 * verified and unverified ratings apart, repeats set aside) and the per-complaint list. Answers
 * are summed per (group, element) in SQL; the IKM is computed here from exact sums, rounded only
 * at the end. Only counted surveys enter the sums (the writer marks them: evalstore_ratings.c);
 * the set-aside ones are counted per group. Results are typed rows (stats.h).
 */
#include "stats_int.h"

#include "sr_mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The answers to one element within one group: [0] unverified, [1] verified. */
struct el_sum {
    const char *name;
    int64_t sum[2], n[2];
};

/* What the queries of a period collect for one group key. */
struct sat_key {
    struct el_sum *el; /* in the query's order (by element name) */
    size_t n_el, cap_el;
    int64_t started, completed, aside;
    bool present;
};

struct sat_rows {
    struct stats_keys keys;
    struct sat_key *by_id;
    size_t cap;
};

static struct sat_key *key_of(struct sat_rows *r, const unsigned char *key)
{
    uint32_t id = stats_keys_id(&r->keys, key);
    if (id >= r->cap) {
        size_t n = r->keys.cap > id ? r->keys.cap : (size_t)id + 1;
        r->by_id = sr_realloc(r->by_id, n * sizeof(*r->by_id));
        memset(r->by_id + r->cap, 0, (n - r->cap) * sizeof(*r->by_id));
        r->cap = n;
    }
    r->by_id[id].present = true;
    return &r->by_id[id];
}

static void add_answer(struct sat_rows *r, sqlite3_stmt *st)
{
    const char *element = (const char *)sqlite3_column_text(st, 1);
    if (!element) /* NOT NULL in the schema */
        return;
    struct sat_key *k = key_of(r, sqlite3_column_text(st, 0));
    size_t i = 0;
    while (i < k->n_el && strcmp(k->el[i].name, element) != 0)
        i++;
    if (i == k->n_el) {
        if (k->n_el == k->cap_el) {
            k->cap_el = k->cap_el ? k->cap_el * 2 : 16;
            k->el = sr_realloc(k->el, k->cap_el * sizeof(*k->el));
        }
        k->el[k->n_el++] = (struct el_sum){.name = stats_pool_strdup(r->keys.pool, element)};
    }
    int verified = sqlite3_column_int(st, 4) != 0;
    k->el[i].sum[verified] += sqlite3_column_int64(st, 2);
    k->el[i].n[verified] += sqlite3_column_int64(st, 3);
}

static void rate_row(struct sat_rows *r, sqlite3_stmt *st)
{
    struct sat_key *k = key_of(r, sqlite3_column_text(st, 0));
    k->started = sqlite3_column_int64(st, 1);
    k->completed = sqlite3_column_int64(st, 2);
}

static void aside_row(struct sat_rows *r, sqlite3_stmt *st)
{
    key_of(r, sqlite3_column_text(st, 0))->aside = sqlite3_column_int64(st, 1);
}

/* The group key of a survey row; time_col for month / quarter. */
static char *survey_key(const struct stats_filter *f, const char *time_col)
{
    return stats_key_sql(f->group, time_col,
                         f->group == STATS_GROUP_OFFICER ? "s.officer_code"
                         : f->group == STATS_GROUP_UNIT  ? "s.unit_code"
                                                         : NULL);
}

/* Runs sql (taken) with the filter bound and calls fn for every row. */
typedef void row_fn(struct sat_rows *r, sqlite3_stmt *st);
static enum sr_err each_row(struct stats *s, char *sql, const struct stats_filter *f,
                            const char *what, row_fn *fn, struct sat_rows *r, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = stats_prepare(s, sql, eb);
    free(sql);
    if (!st)
        return SR_E_IO;
    stats_bind_filter(st, f);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(r, st);
    enum sr_err e = rc == SQLITE_DONE ? SR_E_OK : stats_sql_err(s, what, eb);
    stats_release(st);
    return e;
}

static enum sr_err fetch_answers(struct stats *s, const struct stats_filter *f, struct sat_rows *r,
                                 struct sr_errbuf *eb)
{
    char *skey = survey_key(f, "s.completed_at");
    char *ckey = stats_key_sql(f->group, "c.opened_at",
                               f->group == STATS_GROUP_OFFICER    ? "c.resolved_by"
                               : f->group == STATS_GROUP_UNIT     ? "c.unit_code"
                               : f->group == STATS_GROUP_CATEGORY ? "c.category"
                                                                  : NULL);
    char *sql =
        sr_asprintf("SELECT k, element, SUM(value), COUNT(*), verified FROM ("
                    " SELECT %s AS k, a.element AS element, a.value AS value,"
                    "  s.verified_by IS NOT NULL AS verified"
                    " FROM survey_answers a JOIN surveys s USING (session)"
                    " WHERE s.status = 'completed' AND s.counted = 1"
                    "  AND s.completed_at >= ?1 AND s.completed_at < ?2"
                    "  AND (?3 IS NULL OR s.unit_code = ?3) AND (?4 IS NULL OR s.officer_code = ?4)"
                    "  AND ?5 IS NULL"
                    " UNION ALL"
                    " SELECT %s, 'U8', c.rating, 0 FROM complaints c"
                    " WHERE c.rating IS NOT NULL AND c.opened_at >= ?1 AND c.opened_at < ?2"
                    "  AND (?3 IS NULL OR c.unit_code = ?3) AND (?4 IS NULL OR c.resolved_by = ?4)"
                    "  AND (?5 IS NULL OR c.category = ?5)"
                    ") GROUP BY k, element, verified",
                    skey, ckey);
    free(skey);
    free(ckey);
    return each_row(s, sql, f, "satisfaction", add_answer, r, eb);
}

/* started and completed surveys per key */
static enum sr_err fetch_rates(struct stats *s, const struct stats_filter *f, struct sat_rows *r,
                               struct sr_errbuf *eb)
{
    if (f->group == STATS_GROUP_CATEGORY || (f->category && *f->category))
        return SR_E_OK; /* surveys have no category */
    char *key = survey_key(f, "s.started_at");
    char *sql = sr_asprintf("SELECT %s, COUNT(*), SUM(s.status = 'completed') FROM surveys s "
                            "WHERE s.started_at >= ?1 AND s.started_at < ?2 "
                            "AND (?3 IS NULL OR s.unit_code = ?3) "
                            "AND (?4 IS NULL OR s.officer_code = ?4) AND (?5 IS NULL OR 1) "
                            "GROUP BY 1",
                            key);
    free(key);
    return each_row(s, sql, f, "response rate", rate_row, r, eb);
}

/* completed surveys of the period that were set aside (repeats, not counted), per key */
static enum sr_err fetch_set_aside(struct stats *s, const struct stats_filter *f,
                                   struct sat_rows *r, struct sr_errbuf *eb)
{
    if (f->group == STATS_GROUP_CATEGORY || (f->category && *f->category))
        return SR_E_OK; /* surveys have no category */
    char *key = survey_key(f, "s.completed_at");
    char *sql = sr_asprintf("SELECT %s, COUNT(*) FROM surveys s "
                            "WHERE s.status = 'completed' AND s.counted = 0 "
                            "AND s.completed_at >= ?1 AND s.completed_at < ?2 "
                            "AND (?3 IS NULL OR s.unit_code = ?3) "
                            "AND (?4 IS NULL OR s.officer_code = ?4) AND (?5 IS NULL OR 1) "
                            "GROUP BY 1",
                            key);
    free(key);
    return each_row(s, sql, f, "set aside", aside_row, r, eb);
}

/* An IKM element is U1..U9. */
static int is_ikm_element(const char *e)
{
    return e[0] == 'U' && e[1] >= '1' && e[1] <= '9' && e[2] == '\0';
}

static const char *grade_of(long long hundredths)
{
    return hundredths >= 8831 ? "A" : hundredths >= 7661 ? "B" : hundredths >= 6500 ? "C" : "D";
}

/* The answers of a slice: [0] unverified, [1] verified, 2 both. */
static int64_t slice_of(const int64_t v[2], int slice)
{
    return slice == 2 ? v[0] + v[1] : v[slice];
}

/* One slice's elements (with respondents), IKM and grade. */
static struct stats_ikm ikm_block(struct stats_pool *pool, const struct sat_key *k, int slice)
{
    struct stats_element *el = stats_pool_alloc(pool, (k->n_el + 1) * sizeof(*el));
    struct stats_ikm out = {.elements = el, .ikm.null = true};
    long double total = 0;
    int n_ikm = 0;
    for (size_t i = 0; i < k->n_el; i++) {
        int64_t sum = slice_of(k->el[i].sum, slice), n = slice_of(k->el[i].n, slice);
        if (n == 0)
            continue;
        el[out.n_elements++] = (struct stats_element){k->el[i].name, (double)sum / (double)n, n};
        if (is_ikm_element(k->el[i].name)) {
            total += (long double)sum / (long double)n;
            n_ikm++;
        }
    }
    if (n_ikm == 0)
        return out;
    long double ikm = 25.0L * total / (long double)n_ikm; /* weights exactly 1/k */
    long long h = llroundl(ikm * 100.0L);
    out.ikm = (struct stats_real){(double)h / 100.0, false};
    out.grade = grade_of(h);
    return out;
}

/* One group's figures (k NULL: an empty period's group). */
static struct stats_sat_group sat_group(struct stats_pool *pool, const char *key,
                                        const struct sat_key *k)
{
    static const struct sat_key none;
    if (!k)
        k = &none;
    return (struct stats_sat_group){
        .key = key,
        .all = ikm_block(pool, k, 2),
        .verified = ikm_block(pool, k, 1),
        .unverified = ikm_block(pool, k, 0),
        .surveys_started = k->started,
        .surveys_completed = k->completed,
        .response_rate = k->started
                             ? (struct stats_real){(double)k->completed / (double)k->started, false}
                             : (struct stats_real){0, true},
        .set_aside = k->aside,
    };
}

/* The period's groups in key order. */
static void sat_groups(struct sat_rows *r, struct stats_period *p)
{
    size_t n = r->keys.n;
    uint32_t *order = sr_calloc(n + 1, sizeof(*order));
    stats_keys_sorted(&r->keys, order);
    p->sat = sr_calloc(n + 1, sizeof(*p->sat));
    for (size_t i = 0; i < n; i++)
        if (order[i] < r->cap && r->by_id[order[i]].present)
            p->sat[p->n++] =
                sat_group(r->keys.pool, stats_keys_text(&r->keys, order[i]), &r->by_id[order[i]]);
    if (p->filter.group == STATS_GROUP_NONE && p->n == 0) /* an empty period */
        p->sat[p->n++] = sat_group(r->keys.pool, NULL, NULL);
    free(order);
}

static enum sr_err sat_period(struct stats *s, struct stats_pool *pool, struct stats_period *p,
                              struct sr_errbuf *eb)
{
    struct sat_rows r = {.keys.pool = pool};
    enum sr_err e = fetch_answers(s, &p->filter, &r, eb);
    if (e == SR_E_OK)
        e = fetch_rates(s, &p->filter, &r, eb);
    if (e == SR_E_OK)
        e = fetch_set_aside(s, &p->filter, &r, eb);
    if (e == SR_E_OK)
        sat_groups(&r, p);
    for (size_t i = 0; i < r.cap; i++)
        free(r.by_id[i].el);
    free(r.by_id);
    stats_keys_free(&r.keys);
    return e;
}

/* The change of every key in both periods (both sorted by key). */
static void sat_change(struct stats_result *r)
{
    const struct stats_period *a = &r->now, *b = &r->previous;
    r->sat_change = sr_calloc(a->n + 1, sizeof(*r->sat_change));
    for (size_t i = 0, j = 0; i < a->n && j < b->n;) {
        int c = strcmp(a->sat[i].key ? a->sat[i].key : "", b->sat[j].key ? b->sat[j].key : "");
        if (c == 0)
            r->sat_change[r->n_change++] = (struct stats_sat_change){
                a->sat[i].key, stats_real_diff(a->sat[i].all.ikm, b->sat[j].all.ikm),
                stats_real_ratio(a->sat[i].all.ikm, b->sat[j].all.ikm),
                stats_real_diff(a->sat[i].response_rate, b->sat[j].response_rate)};
        i += c <= 0;
        j += c >= 0;
    }
}

enum sr_err stats_satisfaction(struct stats *s, const struct stats_filter *f,
                               struct stats_result **out, struct sr_errbuf *eb)
{
    struct stats_result *r = stats_result_new(STATS_SATISFACTION, f);
    enum sr_err e = sat_period(s, r->pool, &r->now, eb);
    if (e == SR_E_OK && f->compare_previous)
        e = sat_period(s, r->pool, &r->previous, eb);
    if (e != SR_E_OK) {
        stats_result_free(r);
        return e;
    }
    if (f->compare_previous)
        sat_change(r);
    *out = r;
    return SR_E_OK;
}

/* ---------------------------------------------------------------- per complaint */

static const char *col_text(struct stats_pool *pool, sqlite3_stmt *st, int col)
{
    return stats_pool_strdup(pool, (const char *)sqlite3_column_text(st, col));
}

static struct stats_int col_int(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return (struct stats_int){0, true};
    return (struct stats_int){sqlite3_column_int64(st, col), false};
}

static void complaint_row(struct stats_result *r, sqlite3_stmt *st, size_t *cap)
{
    if (r->n_complaints == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        r->complaints = sr_realloc(r->complaints, *cap * sizeof(*r->complaints));
    }
    struct stats_pool *p = r->pool;
    r->complaints[r->n_complaints++] = (struct stats_complaint){
        .ticket = col_text(p, st, 0),
        .unit = col_text(p, st, 1),
        .officer = col_text(p, st, 2),
        .category = col_text(p, st, 3),
        .citizen = col_text(p, st, 4),
        .state = col_text(p, st, 5),
        .opened_at = col_int(st, 6),
        .first_response_at = col_int(st, 7),
        .resolved_at = col_int(st, 8),
        .first_response_wall_ms = col_int(st, 9),
        .first_response_work_ms = col_int(st, 10),
        .resolution_wall_ms = col_int(st, 11),
        .resolution_work_ms = col_int(st, 12),
        .sla_first_response_met = col_int(st, 13),
        .sla_resolution_met = col_int(st, 14),
        .rating = col_int(st, 15),
    };
}

enum sr_err stats_complaints(struct stats *s, const struct stats_filter *f,
                             struct stats_result **out, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = stats_prepare(
        s,
        "SELECT ticket, unit_code, COALESCE(resolved_by, first_response_by, officer_code), "
        "category, citizen, state, opened_at, first_response_at, resolved_at, "
        "first_response_wall_ms, first_response_work_ms, resolution_wall_ms, resolution_work_ms, "
        "sla_first_response_met, sla_resolution_met, rating FROM complaints "
        "WHERE opened_at >= ?1 AND opened_at < ?2 AND (?3 IS NULL OR unit_code = ?3) "
        "AND (?4 IS NULL OR officer_code = ?4 OR first_response_by = ?4 OR resolved_by = ?4) "
        "AND (?5 IS NULL OR category = ?5) ORDER BY opened_at, ticket",
        eb);
    if (!st)
        return SR_E_IO;
    stats_bind_filter(st, f);
    struct stats_result *r = stats_result_new(STATS_COMPLAINTS, f);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        complaint_row(r, st, &cap);
    enum sr_err e = rc == SQLITE_DONE ? SR_E_OK : stats_sql_err(s, "complaints", eb);
    stats_release(st);
    if (e != SR_E_OK) {
        stats_result_free(r);
        return e;
    }
    *out = r;
    return SR_E_OK;
}
