/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Statistics: the connection, parsing of query values, shared helpers, and complaint response
 * times. The durations of a period are fetched with one indexed query and aggregated here:
 * sorted per group, so percentiles are exact (nearest rank) rather than estimated.
 */
#include "stats_int.h"

#include "sr_mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct stats *stats_open(const char *sqlite_path, struct sr_errbuf *eb)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(sqlite_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        sr_errf(eb, SR_E_IO, "statistics: cannot open %s: %s", sqlite_path,
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    /* a year's complaints are read per query: map the file rather than pread it page by page,
     * and keep the hot index pages of repeated queries (16 MiB per connection) */
    sqlite3_exec(db, "PRAGMA mmap_size = 1073741824; PRAGMA cache_size = -16384", NULL, NULL, NULL);
    struct stats *s = sr_calloc(1, sizeof(*s));
    s->db = db;
    return s;
}

void stats_close(struct stats *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    free(s);
}

static const char *const group_names[] = {
#define STATS_GROUP_NAME(name, text) text,
    STATS_GROUPS(STATS_GROUP_NAME)
#undef STATS_GROUP_NAME
};

const char *stats_group_name(enum stats_group g)
{
    return group_names[g];
}

int stats_parse_group(const char *s, enum stats_group *out)
{
    for (size_t i = 0; s && i < sizeof(group_names) / sizeof(group_names[0]); i++)
        if (strcmp(s, group_names[i]) == 0) {
            *out = (enum stats_group)i;
            return 0;
        }
    return -1;
}

int stats_parse_clock(const char *s, enum stats_clock *out)
{
    if (s && strcmp(s, "wall") == 0)
        *out = STATS_CLOCK_WALL;
    else if (s && strcmp(s, "working") == 0)
        *out = STATS_CLOCK_WORKING;
    else
        return -1;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

int stats_parse_time(const char *s, int64_t *out_ms)
{
    if (!s || !*s)
        return -1;
    size_t n = strlen(s);
    if (n == 10 && s[4] == '-' && s[7] == '-') {
        for (size_t i = 0; i < n; i++)
            if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
                return -1;
        int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        int m = (s[5] - '0') * 10 + (s[6] - '0'), d = (s[8] - '0') * 10 + (s[9] - '0');
        if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
            return -1;
        *out_ms = days_from_civil(y, m, d) * STATS_DAY_MS - STATS_LOCAL_OFFSET_MS;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < 0)
        return -1;
    *out_ms = v;
    return 0;
}

/* The local date of a day number (Howard Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int *y, int *m)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static void current_quarter(int64_t now_ms, int64_t *from, int64_t *to)
{
    int y, m;
    civil_from_days((now_ms + STATS_LOCAL_OFFSET_MS) / STATS_DAY_MS, &y, &m);
    int q0 = (m - 1) / 3 * 3 + 1;
    *from = days_from_civil(y, q0, 1) * STATS_DAY_MS - STATS_LOCAL_OFFSET_MS;
    *to = (q0 == 10 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, q0 + 3, 1)) * STATS_DAY_MS -
          STATS_LOCAL_OFFSET_MS;
}

/* A code parameter: 1-32 of [A-Za-z0-9-_]. */
static int valid_code(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= 32 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

const char *stats_params_get(void *params, const char *name)
{
    const struct stats_params *p = params;
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0)
            return p->value[i];
    return NULL;
}

const char *stats_filter_parse(struct stats_filter *f, stats_param_fn *get, void *ud,
                               int64_t now_ms)
{
    memset(f, 0, sizeof(*f));
    current_quarter(now_ms, &f->from_ms, &f->to_ms);
    const char *v;
    if ((v = get(ud, "from")) && stats_parse_time(v, &f->from_ms) < 0)
        return "from";
    if ((v = get(ud, "to")) && stats_parse_time(v, &f->to_ms) < 0)
        return "to";
    if (f->from_ms >= f->to_ms)
        return get(ud, "to") ? "to" : "from";
    static const char *const codes[] = {"unit", "officer", "category"};
    const char **dst[] = {&f->unit, &f->officer, &f->category};
    for (size_t i = 0; i < 3; i++)
        if ((v = get(ud, codes[i])) && *v) {
            if (!valid_code(v))
                return codes[i];
            *dst[i] = v;
        }
    if ((v = get(ud, "group_by")) && stats_parse_group(v, &f->group) < 0)
        return "group_by";
    if ((v = get(ud, "clock")) && stats_parse_clock(v, &f->clock) < 0)
        return "clock";
    if ((v = get(ud, "compare")) && strcmp(v, "previous") != 0)
        return "compare";
    f->compare_previous = v != NULL;
    return NULL;
}

/* ---------------------------------------------------------------- helpers */

char *stats_key_sql(enum stats_group g, const char *time_col, const char *code_col)
{
    switch (g) {
    case STATS_GROUP_MONTH:
        return sr_asprintf("strftime('%%Y-%%m', (%s + %lld) / 1000, 'unixepoch')", time_col,
                           STATS_LOCAL_OFFSET_MS);
    case STATS_GROUP_QUARTER:
        return sr_asprintf("strftime('%%Y', (%s + %lld) / 1000, 'unixepoch') || '-Q' || "
                           "((CAST(strftime('%%m', (%s + %lld) / 1000, 'unixepoch') AS INTEGER) "
                           "+ 2) / 3)",
                           time_col, STATS_LOCAL_OFFSET_MS, time_col, STATS_LOCAL_OFFSET_MS);
    case STATS_GROUP_NONE:
        return sr_strdup("NULL");
    default:
        return sr_strdup(code_col ? code_col : "NULL");
    }
}

enum sr_err stats_sql_err(struct stats *s, const char *what, struct sr_errbuf *eb)
{
    return sr_errf(eb, SR_E_IO, "statistics: %s: %s", what, sqlite3_errmsg(s->db));
}

sqlite3_stmt *stats_prepare(struct stats *s, const char *sql, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        stats_sql_err(s, "prepare", eb);
        return NULL;
    }
    return st;
}

static void bind_text_or_null(sqlite3_stmt *st, int idx, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, idx);
}

void stats_bind_filter(sqlite3_stmt *st, const struct stats_filter *f)
{
    sqlite3_bind_int64(st, 1, f->from_ms);
    sqlite3_bind_int64(st, 2, f->to_ms);
    bind_text_or_null(st, 3, f->unit);
    bind_text_or_null(st, 4, f->officer);
    bind_text_or_null(st, 5, f->category);
}

json_t *stats_col_json(sqlite3_stmt *st, int col)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, col));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, col));
    case SQLITE_TEXT:
        return json_string((const char *)sqlite3_column_text(st, col));
    default:
        return json_null();
    }
}

json_t *stats_filter_json(const struct stats_filter *f, const char *clock)
{
    json_t *o = json_pack("{s:I, s:I, s:s?, s:s?, s:s?, s:s}", "from", (json_int_t)f->from_ms, "to",
                          (json_int_t)f->to_ms, "unit", f->unit, "officer", f->officer, "category",
                          f->category, "group_by", stats_group_name(f->group));
    if (clock)
        json_object_set_new(o, "clock", json_string(clock));
    return o;
}

struct stats_filter stats_previous(const struct stats_filter *f)
{
    struct stats_filter p = *f;
    p.to_ms = f->from_ms;
    p.from_ms = f->from_ms - (f->to_ms - f->from_ms);
    p.compare_previous = 0;
    return p;
}

json_t *stats_ratio(const json_t *a, const json_t *b)
{
    if (!json_is_number(a) || !json_is_number(b) || json_number_value(b) == 0)
        return json_null();
    return json_real(json_number_value(a) / json_number_value(b));
}

json_t *stats_diff(const json_t *a, const json_t *b)
{
    if (!json_is_number(a) || !json_is_number(b))
        return json_null();
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer(json_integer_value(a) - json_integer_value(b));
    return json_real(json_number_value(a) - json_number_value(b));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *stats_map_to_array(json_t *map)
{
    size_t n = json_object_size(map), i = 0;
    const char **keys = sr_calloc(n + 1, sizeof(*keys));
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    json_t *arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append(arr, json_object_get(map, keys[i]));
    free(keys);
    return arr;
}

/* ---------------------------------------------------------------- response times */

struct sample {
    const char *key; /* interned in the key pool (equal keys, equal pointers); "" = null key */
    int64_t v;
    int met; /* 1 within the deadline, 0 not, -1 unknown */
};

struct samples {
    struct sample *a;
    size_t n, cap;
};

static void samples_add(struct samples *s, const char *key, int64_t v, int met)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->a = sr_realloc(s->a, s->cap * sizeof(*s->a));
    }
    s->a[s->n++] = (struct sample){key, v, met};
}

static int cmp_sample(const void *pa, const void *pb)
{
    const struct sample *a = pa, *b = pb;
    /* keys are interned (one pointer per distinct key): grouping needs only equal keys
     * adjacent, and the groups are ordered by name later, so compare the pointers */
    uintptr_t ka = (uintptr_t)a->key, kb = (uintptr_t)b->key;
    if (ka != kb)
        return (ka > kb) - (ka < kb);
    return (a->v > b->v) - (a->v < b->v);
}

/* Nearest rank: the ceil(p/100 * n)-th smallest of sorted v[0..n). */
static int64_t nearest_rank(const struct sample *v, size_t n, unsigned p)
{
    size_t rank = (p * n + 99) / 100;
    return v[rank ? rank - 1 : 0].v;
}

static json_t *summary(const struct sample *v, size_t n, long long overdue)
{
    if (n == 0)
        return json_pack("{s:i, s:n, s:n, s:n, s:n, s:n, s:I}", "count", 0, "mean_ms", "p50_ms",
                         "p90_ms", "max_ms", "within_sla", "open_past_deadline",
                         (json_int_t)overdue);
    long double sum = 0;
    size_t met = 0, known = 0;
    for (size_t i = 0; i < n; i++) {
        sum += v[i].v;
        met += v[i].met == 1;
        known += v[i].met >= 0;
    }
    json_t *within = known ? json_real((double)met / (double)known) : json_null();
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:I}", "count", (json_int_t)n, "mean_ms",
                     (json_int_t)(sum / n + 0.5L), "p50_ms", (json_int_t)nearest_rank(v, n, 50),
                     "p90_ms", (json_int_t)nearest_rank(v, n, 90), "max_ms", (json_int_t)v[n - 1].v,
                     "within_sla", within, "open_past_deadline", (json_int_t)overdue);
}

static json_t *group_of(json_t *map, const char *key)
{
    json_t *g = json_object_get(map, key);
    if (!g) {
        g = json_pack("{s:o}", "key", *key ? json_string(key) : json_null());
        json_object_set_new(map, key, g);
    }
    return g;
}

/* Counts of open-past-deadline per key, kept in a JSON object {key: n}. */
static void bump(json_t *counts, const char *key)
{
    json_t *c = json_object_get(counts, key);
    json_object_set_new(counts, key, json_integer(c ? json_integer_value(c) + 1 : 1));
}

/* Sorts the samples and sets map[key][name] for every group they have. */
static void aggregate(json_t *map, struct samples *s, json_t *overdue, const char *name)
{
    if (s->n)
        qsort(s->a, s->n, sizeof(*s->a), cmp_sample); /* a is NULL when empty */
    for (size_t i = 0; i < s->n;) {
        size_t j = i;
        while (j < s->n && s->a[j].key == s->a[i].key)
            j++;
        json_t *od = json_object_get(overdue, s->a[i].key);
        json_object_set_new(group_of(map, s->a[i].key), name,
                            summary(s->a + i, j - i, od ? json_integer_value(od) : 0));
        i = j;
    }
    const char *k;
    json_t *v;
    json_object_foreach(overdue, k, v) /* groups with only overdue complaints */
        if (!json_object_get(group_of(map, k), name))
            json_object_set_new(group_of(map, k), name, summary(NULL, 0, json_integer_value(v)));
}

struct rt_rows {
    struct samples fr, res;
    json_t *fr_overdue, *res_overdue, *keys; /* keys: pool of key strings (object keys) */
};

/* A key string that lives as long as rows->keys. */
static const char *intern(struct rt_rows *r, const unsigned char *k)
{
    const char *key = k ? (const char *)k : "";
    if (!json_object_get(r->keys, key))
        json_object_set_new(r->keys, key, json_true());
    return json_object_iter_key(json_object_iter_at(r->keys, key));
}

static int officer_matches(const char *want, const unsigned char *who)
{
    return !want || !*want || (who && strcasecmp(want, (const char *)who) == 0);
}

static enum sr_err fetch_rt(struct stats *s, const struct stats_filter *f, int64_t now_ms,
                            struct rt_rows *r, struct sr_errbuf *eb)
{
    const char *cl = f->clock == STATS_CLOCK_WORKING ? "work" : "wall";
    /* whose figure it is: who answered first; who resolved, or while unresolved who answered */
    static const char fr_who[] = "COALESCE(c.first_response_by, c.officer_code)";
    static const char res_who[] = "COALESCE(c.resolved_by, c.first_response_by, c.officer_code)";
    const char *col = f->group == STATS_GROUP_UNIT ? "c.unit_code" : "c.category";
    int officer = f->group == STATS_GROUP_OFFICER;
    char *fr_key = stats_key_sql(f->group, "c.opened_at", officer ? fr_who : col);
    char *res_key = stats_key_sql(f->group, "c.opened_at", officer ? res_who : col);
    char *sql = sr_asprintf(
        "SELECT %s, %s, c.first_response_%s_ms, c.sla_first_response_met, "
        "c.first_response_at IS NULL AND c.due_first_response < ?6, c.resolution_%s_ms, "
        "c.sla_resolution_met, c.resolved_at IS NULL AND c.due_resolution < ?6, %s, %s "
        "FROM complaints c WHERE c.opened_at >= ?1 AND c.opened_at < ?2 "
        "AND (?3 IS NULL OR c.unit_code = ?3) AND (?5 IS NULL OR c.category = ?5) "
        "AND (?4 IS NULL OR c.officer_code = ?4 OR c.first_response_by = ?4 "
        "OR c.resolved_by = ?4)",
        fr_key, res_key, cl, cl, fr_who, res_who);
    free(fr_key);
    free(res_key);
    sqlite3_stmt *st = stats_prepare(s, sql, eb);
    free(sql);
    if (!st)
        return SR_E_IO;
    stats_bind_filter(st, f);
    sqlite3_bind_int64(st, 6, now_ms);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k1 = intern(r, sqlite3_column_text(st, 0));
        const char *k2 = intern(r, sqlite3_column_text(st, 1));
        int fr_mine = officer_matches(f->officer, sqlite3_column_text(st, 8));
        int res_mine = officer_matches(f->officer, sqlite3_column_text(st, 9));
        if (fr_mine && sqlite3_column_type(st, 2) != SQLITE_NULL)
            samples_add(&r->fr, k1, sqlite3_column_int64(st, 2),
                        sqlite3_column_type(st, 3) == SQLITE_NULL ? -1
                                                                  : sqlite3_column_int(st, 3) != 0);
        if (fr_mine && sqlite3_column_int(st, 4))
            bump(r->fr_overdue, k1);
        if (res_mine && sqlite3_column_type(st, 5) != SQLITE_NULL)
            samples_add(&r->res, k2, sqlite3_column_int64(st, 5),
                        sqlite3_column_type(st, 6) == SQLITE_NULL ? -1
                                                                  : sqlite3_column_int(st, 6) != 0);
        if (res_mine && sqlite3_column_int(st, 7))
            bump(r->res_overdue, k2);
    }
    enum sr_err e = rc == SQLITE_DONE ? SR_E_OK : stats_sql_err(s, "response times", eb);
    sqlite3_finalize(st);
    return e;
}

/* The groups of one period: a sorted array. */
static enum sr_err rt_period(struct stats *s, const struct stats_filter *f, int64_t now_ms,
                             json_t **groups, struct sr_errbuf *eb)
{
    struct rt_rows r = {
        .fr_overdue = json_object(), .res_overdue = json_object(), .keys = json_object()};
    enum sr_err e = fetch_rt(s, f, now_ms, &r, eb);
    json_t *map = json_object();
    if (e == SR_E_OK) {
        aggregate(map, &r.fr, r.fr_overdue, "first_response");
        aggregate(map, &r.res, r.res_overdue, "resolution");
        const char *k;
        json_t *g;
        json_object_foreach(map, k, g)
        {
            if (!json_object_get(g, "first_response"))
                json_object_set_new(g, "first_response", summary(NULL, 0, 0));
            if (!json_object_get(g, "resolution"))
                json_object_set_new(g, "resolution", summary(NULL, 0, 0));
        }
        if (f->group == STATS_GROUP_NONE && json_object_size(map) == 0) { /* an empty period */
            json_t *g0 = group_of(map, "");
            json_object_set_new(g0, "first_response", summary(NULL, 0, 0));
            json_object_set_new(g0, "resolution", summary(NULL, 0, 0));
        }
        *groups = stats_map_to_array(map);
    }
    json_decref(map);
    free(r.fr.a);
    free(r.res.a);
    json_decref(r.fr_overdue);
    json_decref(r.res_overdue);
    json_decref(r.keys);
    return e;
}

static json_t *find_group(const json_t *groups, const json_t *key)
{
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g) if (json_equal(json_object_get(g, "key"), key)) return g;
    return NULL;
}

static json_t *metric_change(const json_t *now, const json_t *prev)
{
    static const char *const m[] = {"mean_ms", "p50_ms", "p90_ms", "max_ms"};
    json_t *o = json_object();
    for (size_t i = 0; i < 4; i++) {
        char name[32];
        const json_t *a = json_object_get(now, m[i]), *b = json_object_get(prev, m[i]);
        snprintf(name, sizeof(name), "%s_diff", m[i]);
        json_object_set_new(o, name, stats_diff(a, b));
        snprintf(name, sizeof(name), "%s_ratio", m[i]);
        json_object_set_new(o, name, stats_ratio(a, b));
    }
    json_object_set_new(
        o, "within_sla_diff",
        stats_diff(json_object_get(now, "within_sla"), json_object_get(prev, "within_sla")));
    return o;
}

static json_t *rt_change(const json_t *groups, const json_t *prev)
{
    json_t *out = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        const json_t *p = find_group(prev, json_object_get(g, "key"));
        if (!p)
            continue;
        json_array_append_new(out, json_pack("{s:O, s:o, s:o}", "key", json_object_get(g, "key"),
                                             "first_response",
                                             metric_change(json_object_get(g, "first_response"),
                                                           json_object_get(p, "first_response")),
                                             "resolution",
                                             metric_change(json_object_get(g, "resolution"),
                                                           json_object_get(p, "resolution"))));
    }
    return out;
}

enum sr_err stats_response_times(struct stats *s, const struct stats_filter *f, int64_t now_ms,
                                 json_t **out, struct sr_errbuf *eb)
{
    json_t *groups = NULL, *prev = NULL;
    enum sr_err e = rt_period(s, f, now_ms, &groups, eb);
    if (e == SR_E_OK && f->compare_previous) {
        struct stats_filter pf = stats_previous(f);
        e = rt_period(s, &pf, now_ms, &prev, eb);
    }
    if (e != SR_E_OK) {
        json_decref(groups);
        json_decref(prev);
        return e;
    }
    const char *clock = f->clock == STATS_CLOCK_WORKING ? "working" : "wall";
    *out = json_pack("{s:s, s:o, s:o}", "statistic", "response-times", "filter",
                     stats_filter_json(f, clock), "groups", groups);
    if (prev) {
        struct stats_filter pf = stats_previous(f);
        json_object_set_new(*out, "change", rt_change(groups, prev));
        json_object_set_new(
            *out, "previous",
            json_pack("{s:o, s:o}", "filter", stats_filter_json(&pf, clock), "groups", prev));
    }
    return SR_E_OK;
}
