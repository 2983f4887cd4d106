/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Statistics: citizen satisfaction (NRR per element, the IKM and its grade, response rate,
 * verified and unverified ratings apart, repeats set aside) and the per-complaint list. Answers
 * are summed per (group, element) in SQL; the IKM is computed here from exact sums, rounded only
 * at the end. Only counted surveys enter the sums (the writer marks them: evalstore_ratings.c);
 * the set-aside ones are counted per group.
 */
#include "stats_int.h"

#include "sr_mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* sums[key][element] = [sum, n, verified sum, verified n] */
static void add_answer(json_t *sums, const char *key, const char *element, long long sum,
                       long long n, int verified)
{
    json_t *g = json_object_get(sums, key);
    if (!g) {
        g = json_object();
        json_object_set_new(sums, key, g);
    }
    json_t *e = json_object_get(g, element);
    if (!e) {
        e = json_pack("[i, i, i, i]", 0, 0, 0, 0);
        json_object_set_new(g, element, e);
    }
    size_t base = verified ? 2 : 0;
    json_array_set_new(e, base, json_integer(json_integer_value(json_array_get(e, base)) + sum));
    json_array_set_new(e, base + 1,
                       json_integer(json_integer_value(json_array_get(e, base + 1)) + n));
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
typedef void row_fn(sqlite3_stmt *st, const char *key, json_t *acc);
static enum sr_err each_row(struct stats *s, char *sql, const struct stats_filter *f,
                            const char *what, row_fn *fn, json_t *acc, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = stats_prepare(s, sql, eb);
    free(sql);
    if (!st)
        return SR_E_IO;
    stats_bind_filter(st, f);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *k = sqlite3_column_text(st, 0);
        fn(st, k ? (const char *)k : "", acc);
    }
    enum sr_err e = rc == SQLITE_DONE ? SR_E_OK : stats_sql_err(s, what, eb);
    sqlite3_finalize(st);
    return e;
}

static void answer_row(sqlite3_stmt *st, const char *key, json_t *sums)
{
    add_answer(sums, key, (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2),
               sqlite3_column_int64(st, 3), sqlite3_column_int(st, 4));
}

static enum sr_err fetch_answers(struct stats *s, const struct stats_filter *f, json_t *sums,
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
    return each_row(s, sql, f, "satisfaction", answer_row, sums, eb);
}

static void rate_row(sqlite3_stmt *st, const char *key, json_t *rates)
{
    json_object_set_new(rates, key,
                        json_pack("[I, I]", (json_int_t)sqlite3_column_int64(st, 1),
                                  (json_int_t)sqlite3_column_int64(st, 2)));
}

/* rates[key] = [started, completed] */
static enum sr_err fetch_rates(struct stats *s, const struct stats_filter *f, json_t *rates,
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
    return each_row(s, sql, f, "response rate", rate_row, rates, eb);
}

/* aside[key] = completed surveys of the period that were set aside (repeats, not counted) */
static void aside_row(sqlite3_stmt *st, const char *key, json_t *aside)
{
    json_object_set_new(aside, key, json_integer((json_int_t)sqlite3_column_int64(st, 1)));
}

static enum sr_err fetch_set_aside(struct stats *s, const struct stats_filter *f, json_t *aside,
                                   struct sr_errbuf *eb)
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
    return each_row(s, sql, f, "set aside", aside_row, aside, eb);
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

/* {"elements": [...], "ikm", "grade", "respondents"} from one slice ([sum, n] at base). */
static json_t *ikm_block(const json_t *elements, size_t base)
{
    json_t *arr = json_array();
    long double total = 0;
    int k = 0;
    const char *name;
    json_t *e;
    json_object_foreach((json_t *)elements, name, e)
    {
        long long sum = json_integer_value(json_array_get(e, base));
        long long n = json_integer_value(json_array_get(e, base + 1));
        if (n == 0)
            continue;
        json_array_append_new(arr,
                              json_pack("{s:s, s:f, s:I}", "element", name, "nrr",
                                        (double)sum / (double)n, "respondents", (json_int_t)n));
        if (is_ikm_element(name)) {
            total += (long double)sum / (long double)n;
            k++;
        }
    }
    json_t *o = json_pack("{s:o}", "elements", arr);
    if (k == 0) {
        json_object_set_new(o, "ikm", json_null());
        json_object_set_new(o, "grade", json_null());
        return o;
    }
    long double ikm = 25.0L * total / (long double)k; /* weights exactly 1/k */
    long long h = llroundl(ikm * 100.0L);
    json_object_set_new(o, "ikm", json_real((double)h / 100.0));
    json_object_set_new(o, "grade", json_string(grade_of(h)));
    return o;
}

/* One group's figures. elements: {name: [sum, n, verified sum, verified n]} in the SQL's
 * (alphabetical) order, or NULL; aside: the set-aside count, or NULL. */
static json_t *sat_group(const char *key, const json_t *elements, const json_t *rate,
                         const json_t *aside)
{
    json_t *els = elements ? json_incref((json_t *)elements) : json_object();
    json_t *all = json_object(), *g;
    /* totals: verified + unverified */
    const char *name;
    json_t *e;
    json_object_foreach(els, name, e)
    {
        json_int_t s =
            json_integer_value(json_array_get(e, 0)) + json_integer_value(json_array_get(e, 2));
        json_int_t n =
            json_integer_value(json_array_get(e, 1)) + json_integer_value(json_array_get(e, 3));
        json_object_set_new(all, name, json_pack("[I, I]", s, n));
    }
    g = ikm_block(all, 0);
    json_object_set_new(g, "key", *key ? json_string(key) : json_null());
    json_object_set_new(g, "verified", ikm_block(els, 2));
    json_object_set_new(g, "unverified", ikm_block(els, 0));
    json_int_t started = rate ? json_integer_value(json_array_get(rate, 0)) : 0;
    json_int_t done = rate ? json_integer_value(json_array_get(rate, 1)) : 0;
    json_object_set_new(g, "surveys_started", json_integer(started));
    json_object_set_new(g, "surveys_completed", json_integer(done));
    json_object_set_new(g, "response_rate",
                        started ? json_real((double)done / (double)started) : json_null());
    json_object_set_new(g, "set_aside", json_integer(json_integer_value(aside)));
    json_decref(all);
    json_decref(els);
    return g;
}

/* Adds a group for every key of from that map lacks. */
static void add_missing(json_t *map, const json_t *sums, const json_t *rates, const json_t *aside,
                        const json_t *from)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)from, k, v) if (!json_object_get(map, k))
        json_object_set_new(map, k,
                            sat_group(k, json_object_get(sums, k), json_object_get(rates, k),
                                      json_object_get(aside, k)));
}

static enum sr_err sat_period(struct stats *s, const struct stats_filter *f, json_t **groups,
                              struct sr_errbuf *eb)
{
    json_t *sums = json_object(), *rates = json_object(), *aside = json_object();
    json_t *map = json_object();
    enum sr_err e = fetch_answers(s, f, sums, eb);
    if (e == SR_E_OK)
        e = fetch_rates(s, f, rates, eb);
    if (e == SR_E_OK)
        e = fetch_set_aside(s, f, aside, eb);
    if (e == SR_E_OK) {
        add_missing(map, sums, rates, aside, sums);
        add_missing(map, sums, rates, aside, rates);
        add_missing(map, sums, rates, aside, aside);
        if (f->group == STATS_GROUP_NONE && json_object_size(map) == 0)
            json_object_set_new(map, "", sat_group("", NULL, NULL, NULL));
        *groups = stats_map_to_array(map);
    }
    json_decref(sums);
    json_decref(rates);
    json_decref(aside);
    json_decref(map);
    return e;
}

static json_t *sat_change(const json_t *groups, const json_t *prev)
{
    json_t *out = json_array();
    size_t i, j;
    json_t *g, *p;
    json_array_foreach(groups, i, g) json_array_foreach(prev, j, p)
    {
        if (!json_equal(json_object_get(g, "key"), json_object_get(p, "key")))
            continue;
        const json_t *a = json_object_get(g, "ikm"), *b = json_object_get(p, "ikm");
        json_array_append_new(
            out, json_pack("{s:O, s:o, s:o, s:o}", "key", json_object_get(g, "key"), "ikm_diff",
                           stats_diff(a, b), "ikm_ratio", stats_ratio(a, b), "response_rate_diff",
                           stats_diff(json_object_get(g, "response_rate"),
                                      json_object_get(p, "response_rate"))));
    }
    return out;
}

enum sr_err stats_satisfaction(struct stats *s, const struct stats_filter *f, json_t **out,
                               struct sr_errbuf *eb)
{
    json_t *groups = NULL, *prev = NULL;
    enum sr_err e = sat_period(s, f, &groups, eb);
    struct stats_filter pf = stats_previous(f);
    if (e == SR_E_OK && f->compare_previous)
        e = sat_period(s, &pf, &prev, eb);
    if (e != SR_E_OK) {
        json_decref(groups);
        json_decref(prev);
        return e;
    }
    *out = json_pack("{s:s, s:o, s:o}", "statistic", "satisfaction", "filter",
                     stats_filter_json(f, NULL), "groups", groups);
    if (prev) {
        json_object_set_new(*out, "change", sat_change(groups, prev));
        json_object_set_new(
            *out, "previous",
            json_pack("{s:o, s:o}", "filter", stats_filter_json(&pf, NULL), "groups", prev));
    }
    return SR_E_OK;
}

/* ---------------------------------------------------------------- per complaint */

const char *const stats_complaint_cols[] = {"ticket",
                                            "unit",
                                            "officer",
                                            "category",
                                            "citizen",
                                            "state",
                                            "opened_at",
                                            "first_response_at",
                                            "resolved_at",
                                            "first_response_wall_ms",
                                            "first_response_work_ms",
                                            "resolution_wall_ms",
                                            "resolution_work_ms",
                                            "sla_first_response_met",
                                            "sla_resolution_met",
                                            "rating"};
const size_t stats_n_complaint_cols =
    sizeof(stats_complaint_cols) / sizeof(stats_complaint_cols[0]);

enum sr_err stats_complaints(struct stats *s, const struct stats_filter *f, json_t **out,
                             struct sr_errbuf *eb)
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
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        for (size_t i = 0; i < stats_n_complaint_cols; i++)
            json_object_set_new(o, stats_complaint_cols[i], stats_col_json(st, (int)i));
        json_array_append_new(rows, o);
    }
    enum sr_err e = rc == SQLITE_DONE ? SR_E_OK : stats_sql_err(s, "complaints", eb);
    sqlite3_finalize(st);
    if (e != SR_E_OK) {
        json_decref(rows);
        return e;
    }
    *out = json_pack("{s:s, s:o, s:o}", "statistic", "complaints", "filter",
                     stats_filter_json(f, NULL), "complaints", rows);
    return SR_E_OK;
}
