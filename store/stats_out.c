/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Statistics as rows: one table (header + rows of text cells) built from a result, then written
 * as CSV (RFC 4180) or as a fixed-width terminal table. Both outputs share the rows, so the CSV
 * and the terminal always show the same figures.
 */
#include "stats_int.h"

#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>

struct table {
    size_t ncol, nrow, cap;
    char **cells; /* row-major, owned */
};

static void add_row(struct table *t, char **cells)
{
    if (t->nrow == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = sr_realloc(t->cells, t->cap * t->ncol * sizeof(char *));
    }
    memcpy(t->cells + t->nrow * t->ncol, cells, t->ncol * sizeof(char *));
    t->nrow++;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrow * t->ncol; i++)
        free(t->cells[i]);
    free(t->cells);
}

/* A JSON value as cell text: "" for null, integers as is, reals with up to 4 decimals. */
static char *cell(const json_t *v)
{
    if (json_is_string(v))
        return sr_strdup(json_string_value(v));
    if (json_is_integer(v))
        return sr_asprintf("%lld", (long long)json_integer_value(v));
    if (json_is_real(v))
        return sr_asprintf("%.4f", json_real_value(v));
    if (json_is_boolean(v))
        return sr_strdup(json_is_true(v) ? "1" : "0");
    return sr_strdup("");
}

static void header(struct table *t, const char *const *names, size_t n)
{
    char *cells[64];
    t->ncol = n;
    for (size_t i = 0; i < n; i++)
        cells[i] = sr_strdup(names[i]);
    add_row(t, cells);
}

static const char *const rt_metrics[] = {
    "count", "mean_ms", "p50_ms", "p90_ms", "max_ms", "within_sla", "open_past_deadline"};
#define N_RT (sizeof(rt_metrics) / sizeof(rt_metrics[0]))

static void rt_rows(struct table *t, const json_t *groups, const char *period)
{
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g)
    {
        static const char *const parts[] = {"first_response", "resolution"};
        for (size_t p = 0; p < 2; p++) {
            char *cells[3 + N_RT];
            const json_t *m = json_object_get(g, parts[p]);
            cells[0] = sr_strdup(period);
            cells[1] = cell(json_object_get(g, "key"));
            cells[2] = sr_strdup(parts[p]);
            for (size_t k = 0; k < N_RT; k++)
                cells[3 + k] = cell(json_object_get(m, rt_metrics[k]));
            add_row(t, cells);
        }
    }
}

static void rt_change_rows(struct table *t, const json_t *change)
{
    static const char *const m[] = {"mean_ms", "p50_ms", "p90_ms", "max_ms"};
    size_t i;
    json_t *c;
    json_array_foreach(change, i, c)
    {
        static const char *const parts[] = {"first_response", "resolution"};
        for (size_t p = 0; p < 2; p++) {
            const json_t *o = json_object_get(c, parts[p]);
            char *cells[3 + N_RT], name[32];
            cells[0] = sr_strdup("ratio");
            cells[1] = cell(json_object_get(c, "key"));
            cells[2] = sr_strdup(parts[p]);
            cells[3] = sr_strdup("");
            for (size_t k = 0; k < 4; k++) {
                snprintf(name, sizeof(name), "%s_ratio", m[k]);
                cells[4 + k] = cell(json_object_get(o, name));
            }
            cells[8] = cell(json_object_get(o, "within_sla_diff"));
            cells[9] = sr_strdup("");
            add_row(t, cells);
        }
    }
}

static void sat_rows(struct table *t, const json_t *groups, const char *period)
{
    size_t i, j;
    json_t *g, *e;
    json_array_foreach(groups, i, g)
    {
        static const char *const slices[] = {"all", "verified", "unverified"};
        for (size_t s = 0; s < 3; s++) {
            const json_t *b = s ? json_object_get(g, slices[s]) : g;
            json_array_foreach(json_object_get(b, "elements"), j, e)
            {
                char *cells[] = {sr_strdup(period),
                                 cell(json_object_get(g, "key")),
                                 sr_strdup(slices[s]),
                                 cell(json_object_get(e, "element")),
                                 cell(json_object_get(e, "nrr")),
                                 cell(json_object_get(e, "respondents")),
                                 sr_strdup(""),
                                 sr_strdup(""),
                                 sr_strdup("")};
                add_row(t, cells);
            }
            char *cells[] = {sr_strdup(period),
                             cell(json_object_get(g, "key")),
                             sr_strdup(slices[s]),
                             sr_strdup("IKM"),
                             cell(json_object_get(b, "ikm")),
                             s ? sr_strdup("") : cell(json_object_get(g, "surveys_completed")),
                             cell(json_object_get(b, "grade")),
                             s ? sr_strdup("") : cell(json_object_get(g, "response_rate")),
                             s ? sr_strdup("") : cell(json_object_get(g, "set_aside"))};
            add_row(t, cells);
        }
    }
}

static void sat_change_rows(struct table *t, const json_t *change)
{
    size_t i;
    json_t *c;
    json_array_foreach(change, i, c)
    {
        char *cells[] = {sr_strdup("ratio"),
                         cell(json_object_get(c, "key")),
                         sr_strdup("all"),
                         sr_strdup("IKM"),
                         cell(json_object_get(c, "ikm_ratio")),
                         sr_strdup(""),
                         sr_strdup(""),
                         cell(json_object_get(c, "response_rate_diff")),
                         sr_strdup("")};
        add_row(t, cells);
    }
}

static void complaint_rows(struct table *t, const json_t *rows)
{
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        char *cells[64];
        size_t k = 0;
        const char *name;
        json_t *v;
        json_object_foreach((json_t *)r, name, v) cells[k++] = cell(v);
        add_row(t, cells);
    }
}

static void build(struct table *t, const json_t *res)
{
    const char *kind = json_string_value(json_object_get(res, "statistic"));
    const json_t *prev = json_object_get(json_object_get(res, "previous"), "groups");
    if (kind && strcmp(kind, "response-times") == 0) {
        static const char *const h[] = {
            "period", "key",    "measure", "count",      "mean_ms",
            "p50_ms", "p90_ms", "max_ms",  "within_sla", "open_past_deadline"};
        header(t, h, sizeof(h) / sizeof(h[0]));
        rt_rows(t, json_object_get(res, "groups"), "current");
        rt_rows(t, prev, "previous");
        rt_change_rows(t, json_object_get(res, "change"));
    } else if (kind && strcmp(kind, "satisfaction") == 0) {
        static const char *const h[] = {"period",  "key",           "ratings",
                                        "element", "value",         "respondents",
                                        "grade",   "response_rate", "set_aside"};
        header(t, h, sizeof(h) / sizeof(h[0]));
        sat_rows(t, json_object_get(res, "groups"), "current");
        sat_rows(t, prev, "previous");
        sat_change_rows(t, json_object_get(res, "change"));
    } else {
        header(t, stats_complaint_cols, stats_n_complaint_cols);
        complaint_rows(t, json_object_get(res, "complaints"));
    }
}

struct buf {
    char *p;
    size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = sr_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_field(struct buf *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        put(b, s, strlen(s));
        return;
    }
    put(b, "\"", 1);
    for (const char *q = s; *q; q++) {
        if (*q == '"')
            put(b, "\"\"", 2);
        else
            put(b, q, 1);
    }
    put(b, "\"", 1);
}

char *stats_csv(const json_t *result, size_t *len)
{
    struct table t = {0};
    build(&t, result);
    struct buf b = {0};
    put(&b, "", 0);
    for (size_t r = 0; r < t.nrow; r++) {
        for (size_t c = 0; c < t.ncol; c++) {
            if (c)
                put(&b, ",", 1);
            put_field(&b, t.cells[r * t.ncol + c]);
        }
        put(&b, "\r\n", 2);
    }
    table_free(&t);
    if (len)
        *len = b.len;
    return b.p;
}

void stats_print_table(FILE *out, const json_t *result)
{
    struct table t = {0};
    build(&t, result);
    size_t width[64] = {0};
    for (size_t r = 0; r < t.nrow; r++)
        for (size_t c = 0; c < t.ncol; c++) {
            size_t n = strlen(t.cells[r * t.ncol + c]);
            width[c] = n > width[c] ? n : width[c];
        }
    for (size_t r = 0; r < t.nrow; r++) {
        for (size_t c = 0; c < t.ncol; c++)
            fprintf(out, "%s%-*s", c ? "  " : "", (int)width[c], t.cells[r * t.ncol + c]);
        fputc('\n', out);
    }
    table_free(&t);
}
