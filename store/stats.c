/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Statistics: the connection, parsing of query values, shared helpers (the result and its pool,
 * group keys, change figures), and complaint response times. The durations of a period are
 * fetched with one indexed query and aggregated here: sorted per group, so percentiles are exact
 * (nearest rank) rather than estimated. Results are typed rows (stats.h); gateway/ renders them.
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
    for (size_t i = 0; i < s->n_stmt; i++) {
        sqlite3_finalize(s->stmt[i].st);
        free(s->stmt[i].sql);
    }
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

static const char *const kind_names[] = {
#define STATS_KIND_NAME(name, text) text,
    STATS_KINDS(STATS_KIND_NAME)
#undef STATS_KIND_NAME
};

const char *stats_kind_name(enum stats_kind k)
{
    return kind_names[k];
}

int stats_parse_kind(const char *s, enum stats_kind *out)
{
    for (size_t i = 0; s && i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
        if (strcmp(s, kind_names[i]) == 0) {
            *out = (enum stats_kind)i;
            return 0;
        }
    return -1;
}

const char *stats_clock_name(enum stats_clock c)
{
    return c == STATS_CLOCK_WORKING ? "working" : "wall";
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
    for (size_t i = 0; i < s->n_stmt; i++)
        if (strcmp(s->stmt[i].sql, sql) == 0)
            return s->stmt[i].st;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        stats_sql_err(s, "prepare", eb);
        return NULL;
    }
    size_t i = s->n_stmt < STATS_STMT_CACHE ? s->n_stmt++ : s->next++ % STATS_STMT_CACHE;
    sqlite3_finalize(s->stmt[i].st); /* NULL while the cache fills */
    free(s->stmt[i].sql);
    s->stmt[i].sql = sr_strdup(sql);
    s->stmt[i].st = st;
    return st;
}

void stats_release(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
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

struct stats_filter stats_previous(const struct stats_filter *f)
{
    struct stats_filter p = *f;
    p.to_ms = f->from_ms;
    p.from_ms = f->from_ms - (f->to_ms - f->from_ms);
    p.compare_previous = 0;
    return p;
}

struct stats_int stats_int_diff(struct stats_int a, struct stats_int b)
{
    return a.null || b.null ? (struct stats_int){0, true} : (struct stats_int){a.v - b.v, false};
}

struct stats_real stats_real_diff(struct stats_real a, struct stats_real b)
{
    return a.null || b.null ? (struct stats_real){0, true} : (struct stats_real){a.v - b.v, false};
}

struct stats_real stats_real_ratio(struct stats_real a, struct stats_real b)
{
    return a.null || b.null || b.v == 0 ? (struct stats_real){0, true}
                                        : (struct stats_real){a.v / b.v, false};
}

struct stats_real stats_int_ratio(struct stats_int a, struct stats_int b)
{
    return stats_real_ratio((struct stats_real){(double)a.v, a.null},
                            (struct stats_real){(double)b.v, b.null});
}

/* ---------------------------------------------------------------- the result and its pool */

#define POOL_BLOCK 65536

struct pool_block {
    struct pool_block *next;
    size_t used, cap;
    _Alignas(8) unsigned char data[];
};

struct stats_pool {
    struct pool_block *head;
};

void *stats_pool_alloc(struct stats_pool *p, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct pool_block *b = p->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > POOL_BLOCK ? n : POOL_BLOCK;
        b = sr_malloc(sizeof(*b) + cap);
        *b = (struct pool_block){.next = p->head, .cap = cap};
        p->head = b;
    }
    void *m = b->data + b->used;
    b->used += n;
    return memset(m, 0, n);
}

const char *stats_pool_strdup(struct stats_pool *p, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    return memcpy(stats_pool_alloc(p, n), s, n);
}

struct stats_result *stats_result_new(enum stats_kind k, const struct stats_filter *f)
{
    struct stats_result *r = sr_calloc(1, sizeof(*r));
    r->kind = k;
    r->pool = sr_calloc(1, sizeof(*r->pool));
    r->now.filter = *f;
    r->now.filter.unit = stats_pool_strdup(r->pool, f->unit);
    r->now.filter.officer = stats_pool_strdup(r->pool, f->officer);
    r->now.filter.category = stats_pool_strdup(r->pool, f->category);
    r->previous.filter = stats_previous(&r->now.filter);
    return r;
}

void stats_result_free(struct stats_result *r)
{
    if (!r)
        return;
    free(r->now.rt);
    free(r->now.sat);
    free(r->previous.rt);
    free(r->previous.sat);
    free(r->rt_change);
    free(r->sat_change);
    free(r->complaints);
    for (struct pool_block *b = r->pool ? r->pool->head : NULL, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(r->pool);
    free(r);
}

enum sr_err stats_query(struct stats *s, enum stats_kind k, const struct stats_filter *f,
                        int64_t now_ms, struct stats_result **out, struct sr_errbuf *eb)
{
    if (k == STATS_RESPONSE_TIMES)
        return stats_response_times(s, f, now_ms, out, eb);
    if (k == STATS_SATISFACTION)
        return stats_satisfaction(s, f, out, eb);
    return stats_complaints(s, f, out, eb);
}

/* ---------------------------------------------------------------- group keys */

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void keys_place(struct stats_keys *k, uint32_t id)
{
    size_t mask = k->n_slots - 1, i = fnv1a(k->text[id]) & mask;
    while (k->slot[i])
        i = (i + 1) & mask;
    k->slot[i] = id + 1;
}

static void keys_grow(struct stats_keys *k)
{
    free(k->slot);
    k->n_slots = k->n_slots ? k->n_slots * 2 : 64;
    k->slot = sr_calloc(k->n_slots, sizeof(*k->slot));
    for (uint32_t id = 0; id < k->n; id++)
        keys_place(k, id);
}

uint32_t stats_keys_id(struct stats_keys *k, const unsigned char *key)
{
    const char *s = key ? (const char *)key : "";
    if (2 * (k->n + 1) > k->n_slots)
        keys_grow(k);
    size_t mask = k->n_slots - 1, i = fnv1a(s) & mask;
    for (; k->slot[i]; i = (i + 1) & mask)
        if (strcmp(k->text[k->slot[i] - 1], s) == 0)
            return k->slot[i] - 1;
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 32;
        k->text = sr_realloc(k->text, k->cap * sizeof(*k->text));
    }
    k->text[k->n] = stats_pool_strdup(k->pool, s);
    k->slot[i] = (uint32_t)++k->n;
    return (uint32_t)(k->n - 1);
}

void stats_keys_free(struct stats_keys *k)
{
    free(k->text);
    free(k->slot);
}

const char *stats_keys_text(const struct stats_keys *k, uint32_t id)
{
    return *k->text[id] ? k->text[id] : NULL;
}

struct key_ref {
    const char *text;
    uint32_t id;
};

static int cmp_key_ref(const void *a, const void *b)
{
    return strcmp(((const struct key_ref *)a)->text, ((const struct key_ref *)b)->text);
}

void stats_keys_sorted(const struct stats_keys *k, uint32_t *order)
{
    struct key_ref *ref = sr_calloc(k->n + 1, sizeof(*ref));
    for (uint32_t id = 0; id < k->n; id++)
        ref[id] = (struct key_ref){k->text[id], id};
    qsort(ref, k->n, sizeof(*ref), cmp_key_ref);
    for (size_t i = 0; i < k->n; i++)
        order[i] = ref[i].id;
    free(ref);
}

/* ---------------------------------------------------------------- response times */

struct sample {
    uint32_t key; /* stats_keys id */
    int met;      /* 1 within the deadline, 0 not, -1 unknown */
    int64_t v;
};

struct samples {
    struct sample *a;
    size_t n, cap;
};

static void samples_add(struct samples *s, uint32_t key, int64_t v, int met)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->a = sr_realloc(s->a, s->cap * sizeof(*s->a));
    }
    s->a[s->n++] = (struct sample){key, met, v};
}

static int cmp_sample(const void *pa, const void *pb)
{
    const struct sample *a = pa, *b = pb;
    /* grouping needs only equal keys adjacent; the groups are ordered by name later */
    if (a->key != b->key)
        return (a->key > b->key) - (a->key < b->key);
    return (a->v > b->v) - (a->v < b->v);
}

/* Nearest rank: the ceil(p/100 * n)-th smallest of sorted v[0..n). */
static int64_t nearest_rank(const struct sample *v, size_t n, unsigned p)
{
    size_t rank = (p * n + 99) / 100;
    return v[rank ? rank - 1 : 0].v;
}

static struct stats_int some(int64_t v)
{
    return (struct stats_int){v, false};
}

static const struct stats_rt_summary empty_summary = {
    .mean_ms.null = true,
    .p50_ms.null = true,
    .p90_ms.null = true,
    .max_ms.null = true,
    .within_sla.null = true,
};

/* The figures of v[0..n) (sorted by duration, n > 0); open_past_deadline is set apart. */
static void summarise(struct stats_rt_summary *out, const struct sample *v, size_t n)
{
    long double sum = 0;
    size_t met = 0, known = 0;
    for (size_t i = 0; i < n; i++) {
        sum += v[i].v;
        met += v[i].met == 1;
        known += v[i].met >= 0;
    }
    out->count = (int64_t)n;
    out->mean_ms = some((int64_t)(sum / n + 0.5L));
    out->p50_ms = some(nearest_rank(v, n, 50));
    out->p90_ms = some(nearest_rank(v, n, 90));
    out->max_ms = some(v[n - 1].v);
    out->within_sla = known ? (struct stats_real){(double)met / (double)known, false}
                            : (struct stats_real){0, true};
}

/* What one query of a period collects, by key id. */
struct rt_rows {
    struct stats_keys keys;
    struct samples fr, res;
    int64_t *fr_overdue, *res_overdue;
    size_t n_overdue;
};

static void bump(struct rt_rows *r, int64_t **counts, uint32_t key)
{
    if (key >= r->n_overdue) {
        size_t n = r->keys.cap > key ? r->keys.cap : (size_t)key + 1;
        r->fr_overdue = sr_realloc(r->fr_overdue, n * sizeof(int64_t));
        r->res_overdue = sr_realloc(r->res_overdue, n * sizeof(int64_t));
        memset(r->fr_overdue + r->n_overdue, 0, (n - r->n_overdue) * sizeof(int64_t));
        memset(r->res_overdue + r->n_overdue, 0, (n - r->n_overdue) * sizeof(int64_t));
        r->n_overdue = n;
    }
    (*counts)[key]++;
}

static int64_t overdue_of(const int64_t *counts, size_t n, uint32_t key)
{
    return key < n ? counts[key] : 0;
}

static int officer_matches(const char *want, const unsigned char *who)
{
    return !want || !*want || (who && strcasecmp(want, (const char *)who) == 0);
}

/* Met, not met or unknown (-1) from an SLA column. */
static int met_of(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL ? -1 : sqlite3_column_int(st, col) != 0;
}

static void rt_row(sqlite3_stmt *st, const struct stats_filter *f, struct rt_rows *r)
{
    uint32_t k1 = stats_keys_id(&r->keys, sqlite3_column_text(st, 0));
    uint32_t k2 = stats_keys_id(&r->keys, sqlite3_column_text(st, 1));
    int fr_mine = officer_matches(f->officer, sqlite3_column_text(st, 8));
    int res_mine = officer_matches(f->officer, sqlite3_column_text(st, 9));
    if (fr_mine && sqlite3_column_type(st, 2) != SQLITE_NULL)
        samples_add(&r->fr, k1, sqlite3_column_int64(st, 2), met_of(st, 3));
    if (fr_mine && sqlite3_column_int(st, 4))
        bump(r, &r->fr_overdue, k1);
    if (res_mine && sqlite3_column_type(st, 5) != SQLITE_NULL)
        samples_add(&r->res, k2, sqlite3_column_int64(st, 5), met_of(st, 6));
    if (res_mine && sqlite3_column_int(st, 7))
        bump(r, &r->res_overdue, k2);
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
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        rt_row(st, f, r);
    enum sr_err e = rc == SQLITE_DONE ? SR_E_OK : stats_sql_err(s, "response times", eb);
    stats_release(st);
    return e;
}

/* Sorts the samples and fills the first response (or resolution) of groups[key] for every key
 * they have; marks those keys present. */
static void aggregate(struct stats_rt_group *groups, bool *present, struct samples *s,
                      bool resolution)
{
    if (s->n)
        qsort(s->a, s->n, sizeof(*s->a), cmp_sample); /* a is NULL when empty */
    for (size_t i = 0; i < s->n;) {
        size_t j = i;
        while (j < s->n && s->a[j].key == s->a[i].key)
            j++;
        struct stats_rt_group *g = &groups[s->a[i].key];
        summarise(resolution ? &g->resolution : &g->first_response, s->a + i, j - i);
        present[s->a[i].key] = true;
        i = j;
    }
}

/* The period's groups from the rows: by key id, then the present ones in key order. */
static void rt_groups(struct rt_rows *r, const struct stats_filter *f, struct stats_period *p)
{
    size_t n = r->keys.n;
    struct stats_rt_group *by_id = sr_calloc(n + 1, sizeof(*by_id));
    bool *present = sr_calloc(n + 1, sizeof(*present));
    for (size_t k = 0; k < n; k++)
        by_id[k].first_response = by_id[k].resolution = empty_summary;
    aggregate(by_id, present, &r->fr, false);
    aggregate(by_id, present, &r->res, true);
    uint32_t *order = sr_calloc(n + 1, sizeof(*order));
    stats_keys_sorted(&r->keys, order);
    p->rt = sr_calloc(n + 1, sizeof(*p->rt));
    for (size_t i = 0; i < n; i++) {
        uint32_t k = order[i];
        struct stats_rt_group *g = &by_id[k];
        g->first_response.open_past_deadline = overdue_of(r->fr_overdue, r->n_overdue, k);
        g->resolution.open_past_deadline = overdue_of(r->res_overdue, r->n_overdue, k);
        if (!present[k] && !g->first_response.open_past_deadline &&
            !g->resolution.open_past_deadline)
            continue;
        g->key = stats_keys_text(&r->keys, k);
        p->rt[p->n++] = *g;
    }
    if (f->group == STATS_GROUP_NONE && p->n == 0) /* an empty period */
        p->rt[p->n++] =
            (struct stats_rt_group){.first_response = empty_summary, .resolution = empty_summary};
    free(order);
    free(present);
    free(by_id);
}

static enum sr_err rt_period(struct stats *s, struct stats_pool *pool, int64_t now_ms,
                             struct stats_period *p, struct sr_errbuf *eb)
{
    struct rt_rows r = {.keys.pool = pool};
    enum sr_err e = fetch_rt(s, &p->filter, now_ms, &r, eb);
    if (e == SR_E_OK)
        rt_groups(&r, &p->filter, p);
    stats_keys_free(&r.keys);
    free(r.fr.a);
    free(r.res.a);
    free(r.fr_overdue);
    free(r.res_overdue);
    return e;
}

/* Key order of the groups (NULL as ""), so two periods' groups merge in one pass. */
static int key_cmp(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static struct stats_rt_metric_change metric_change(const struct stats_rt_summary *a,
                                                   const struct stats_rt_summary *b)
{
    return (struct stats_rt_metric_change){
        .mean_ms_diff = stats_int_diff(a->mean_ms, b->mean_ms),
        .p50_ms_diff = stats_int_diff(a->p50_ms, b->p50_ms),
        .p90_ms_diff = stats_int_diff(a->p90_ms, b->p90_ms),
        .max_ms_diff = stats_int_diff(a->max_ms, b->max_ms),
        .mean_ms_ratio = stats_int_ratio(a->mean_ms, b->mean_ms),
        .p50_ms_ratio = stats_int_ratio(a->p50_ms, b->p50_ms),
        .p90_ms_ratio = stats_int_ratio(a->p90_ms, b->p90_ms),
        .max_ms_ratio = stats_int_ratio(a->max_ms, b->max_ms),
        .within_sla_diff = stats_real_diff(a->within_sla, b->within_sla),
    };
}

/* The change of every key in both periods (both sorted by key). */
static void rt_change(struct stats_result *r)
{
    const struct stats_period *a = &r->now, *b = &r->previous;
    r->rt_change = sr_calloc(a->n + 1, sizeof(*r->rt_change));
    for (size_t i = 0, j = 0; i < a->n && j < b->n;) {
        int c = key_cmp(a->rt[i].key, b->rt[j].key);
        if (c == 0)
            r->rt_change[r->n_change++] = (struct stats_rt_change){
                a->rt[i].key, metric_change(&a->rt[i].first_response, &b->rt[j].first_response),
                metric_change(&a->rt[i].resolution, &b->rt[j].resolution)};
        i += c <= 0;
        j += c >= 0;
    }
}

enum sr_err stats_response_times(struct stats *s, const struct stats_filter *f, int64_t now_ms,
                                 struct stats_result **out, struct sr_errbuf *eb)
{
    struct stats_result *r = stats_result_new(STATS_RESPONSE_TIMES, f);
    enum sr_err e = rt_period(s, r->pool, now_ms, &r->now, eb);
    if (e == SR_E_OK && f->compare_previous)
        e = rt_period(s, r->pool, now_ms, &r->previous, eb);
    if (e != SR_E_OK) {
        stats_result_free(r);
        return e;
    }
    if (f->compare_previous)
        rt_change(r);
    *out = r;
    return SR_E_OK;
}
