/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Renders a statistics result (store/stats.h) for its readers (see stats_render.h). The CSV and
 * the terminal table share one walk over the rows (rows()) that hands each cell to a sink: the
 * CSV sink writes it escaped, the table sink first measures the columns, then writes them padded.
 * No cell is stored. The JSON is built with jansson, member by member, in the order documented in
 * stats_render.h.
 */
#include "stats_render.h"

#include "sr_mem.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- JSON */

static json_t *j_int(struct stats_int v)
{
    return v.null ? json_null() : json_integer(v.v);
}

static json_t *j_real(struct stats_real v)
{
    return v.null ? json_null() : json_real(v.v);
}

static json_t *j_text(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *filter_json(const struct stats_result *r, const struct stats_filter *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "from", json_integer(f->from_ms));
    json_object_set_new(o, "to", json_integer(f->to_ms));
    json_object_set_new(o, "unit", j_text(f->unit));
    json_object_set_new(o, "officer", j_text(f->officer));
    json_object_set_new(o, "category", j_text(f->category));
    json_object_set_new(o, "group_by", json_string(stats_group_name(f->group)));
    if (r->kind == STATS_RESPONSE_TIMES)
        json_object_set_new(o, "clock", json_string(stats_clock_name(f->clock)));
    return o;
}

static json_t *summary_json(const struct stats_rt_summary *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer(m->count));
    json_object_set_new(o, "mean_ms", j_int(m->mean_ms));
    json_object_set_new(o, "p50_ms", j_int(m->p50_ms));
    json_object_set_new(o, "p90_ms", j_int(m->p90_ms));
    json_object_set_new(o, "max_ms", j_int(m->max_ms));
    json_object_set_new(o, "within_sla", j_real(m->within_sla));
    json_object_set_new(o, "open_past_deadline", json_integer(m->open_past_deadline));
    return o;
}

static json_t *rt_group_json(const struct stats_rt_group *g)
{
    json_t *o = json_object();
    json_object_set_new(o, "key", j_text(g->key));
    json_object_set_new(o, "first_response", summary_json(&g->first_response));
    json_object_set_new(o, "resolution", summary_json(&g->resolution));
    return o;
}

static json_t *metric_change_json(const struct stats_rt_metric_change *c)
{
    const struct {
        const char *diff, *ratio;
        struct stats_int d;
        struct stats_real q;
    } m[] = {
        {"mean_ms_diff", "mean_ms_ratio", c->mean_ms_diff, c->mean_ms_ratio},
        {"p50_ms_diff", "p50_ms_ratio", c->p50_ms_diff, c->p50_ms_ratio},
        {"p90_ms_diff", "p90_ms_ratio", c->p90_ms_diff, c->p90_ms_ratio},
        {"max_ms_diff", "max_ms_ratio", c->max_ms_diff, c->max_ms_ratio},
    };
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        json_object_set_new(o, m[i].diff, j_int(m[i].d));
        json_object_set_new(o, m[i].ratio, j_real(m[i].q));
    }
    json_object_set_new(o, "within_sla_diff", j_real(c->within_sla_diff));
    return o;
}

static json_t *rt_change_json(const struct stats_rt_change *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "key", j_text(c->key));
    json_object_set_new(o, "first_response", metric_change_json(&c->first_response));
    json_object_set_new(o, "resolution", metric_change_json(&c->resolution));
    return o;
}

/* {"elements", "ikm", "grade"} of a slice, into o. */
static void ikm_into(json_t *o, const struct stats_ikm *b)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < b->n_elements; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "element", json_string(b->elements[i].name));
        json_object_set_new(e, "nrr", json_real(b->elements[i].nrr));
        json_object_set_new(e, "respondents", json_integer(b->elements[i].respondents));
        json_array_append_new(arr, e);
    }
    json_object_set_new(o, "elements", arr);
    json_object_set_new(o, "ikm", j_real(b->ikm));
    json_object_set_new(o, "grade", j_text(b->grade));
}

static json_t *sat_group_json(const struct stats_sat_group *g)
{
    json_t *o = json_object(), *v = json_object(), *u = json_object();
    ikm_into(o, &g->all);
    json_object_set_new(o, "key", j_text(g->key));
    ikm_into(v, &g->verified);
    json_object_set_new(o, "verified", v);
    ikm_into(u, &g->unverified);
    json_object_set_new(o, "unverified", u);
    json_object_set_new(o, "surveys_started", json_integer(g->surveys_started));
    json_object_set_new(o, "surveys_completed", json_integer(g->surveys_completed));
    json_object_set_new(o, "response_rate", j_real(g->response_rate));
    json_object_set_new(o, "set_aside", json_integer(g->set_aside));
    return o;
}

static json_t *sat_change_json(const struct stats_sat_change *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "key", j_text(c->key));
    json_object_set_new(o, "ikm_diff", j_real(c->ikm_diff));
    json_object_set_new(o, "ikm_ratio", j_real(c->ikm_ratio));
    json_object_set_new(o, "response_rate_diff", j_real(c->response_rate_diff));
    return o;
}

static json_t *groups_json(const struct stats_result *r, const struct stats_period *p)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < p->n; i++)
        json_array_append_new(arr, r->kind == STATS_RESPONSE_TIMES ? rt_group_json(&p->rt[i])
                                                                   : sat_group_json(&p->sat[i]));
    return arr;
}

/* The per-complaint columns: JSON member, CSV header and table heading, and where the value is. */
enum col_type { COL_TEXT, COL_INT };
#define COL(name, type)                                                                            \
    {                                                                                              \
#name, type, offsetof(struct stats_complaint, name)                                        \
    }
static const struct {
    const char *name;
    enum col_type type;
    size_t offset;
} complaint_cols[] = {
    COL(ticket, COL_TEXT),
    COL(unit, COL_TEXT),
    COL(officer, COL_TEXT),
    COL(category, COL_TEXT),
    COL(citizen, COL_TEXT),
    COL(state, COL_TEXT),
    COL(opened_at, COL_INT),
    COL(first_response_at, COL_INT),
    COL(resolved_at, COL_INT),
    COL(first_response_wall_ms, COL_INT),
    COL(first_response_work_ms, COL_INT),
    COL(resolution_wall_ms, COL_INT),
    COL(resolution_work_ms, COL_INT),
    COL(sla_first_response_met, COL_INT),
    COL(sla_resolution_met, COL_INT),
    COL(rating, COL_INT),
};
#undef COL
#define N_COMPLAINT_COLS (sizeof(complaint_cols) / sizeof(complaint_cols[0]))

static const char *col_text(const struct stats_complaint *c, size_t i)
{
    return *(const char *const *)((const char *)c + complaint_cols[i].offset);
}

static struct stats_int col_int(const struct stats_complaint *c, size_t i)
{
    return *(const struct stats_int *)((const char *)c + complaint_cols[i].offset);
}

static json_t *complaint_json(const struct stats_complaint *c)
{
    json_t *o = json_object();
    for (size_t i = 0; i < N_COMPLAINT_COLS; i++)
        json_object_set_new(o, complaint_cols[i].name,
                            complaint_cols[i].type == COL_TEXT ? j_text(col_text(c, i))
                                                               : j_int(col_int(c, i)));
    return o;
}

static void kind_json(json_t *o, const struct stats_result *r)
{
    if (r->kind == STATS_COMPLAINTS) {
        json_t *arr = json_array();
        for (size_t i = 0; i < r->n_complaints; i++)
            json_array_append_new(arr, complaint_json(&r->complaints[i]));
        json_object_set_new(o, "complaints", arr);
        return;
    }
    json_object_set_new(o, "groups", groups_json(r, &r->now));
    if (!r->now.filter.compare_previous)
        return;
    json_t *change = json_array(), *prev = json_object();
    for (size_t i = 0; i < r->n_change; i++)
        json_array_append_new(change, r->kind == STATS_RESPONSE_TIMES
                                          ? rt_change_json(&r->rt_change[i])
                                          : sat_change_json(&r->sat_change[i]));
    json_object_set_new(o, "change", change);
    json_object_set_new(prev, "filter", filter_json(r, &r->previous.filter));
    json_object_set_new(prev, "groups", groups_json(r, &r->previous));
    json_object_set_new(o, "previous", prev);
}

json_t *stats_render_json(const struct stats_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "statistic", json_string(stats_kind_name(r->kind)));
    json_object_set_new(o, "filter", filter_json(r, &r->now.filter));
    kind_json(o, r);
    return o;
}

/* ---------------------------------------------------------------- rows (CSV and table) */

#define MAX_COLS 16

/* Where the cells go: CSV (to a stream, or to text in memory), or the table (measuring first,
 * then printing). */
enum sink_mode { SINK_CSV, SINK_MEASURE, SINK_TABLE };
struct sink {
    enum sink_mode mode;
    FILE *out;  /* NULL: CSV into text */
    char *text; /* heap, NUL-terminated */
    size_t len, cap;
    size_t ncol, col; /* the row's width; the next cell's column */
    size_t width[MAX_COLS];
};

static void put(struct sink *k, const char *s, size_t n)
{
    if (k->out) {
        fwrite(s, 1, n, k->out);
        return;
    }
    if (k->len + n + 1 > k->cap) {
        k->cap = (k->len + n + 1) * 2;
        k->text = sr_realloc(k->text, k->cap);
    }
    memcpy(k->text + k->len, s, n);
    k->len += n;
    k->text[k->len] = '\0';
}

static void csv_field(struct sink *k, const char *s, size_t n)
{
    if (!strpbrk(s, ",\"\r\n")) {
        put(k, s, n);
        return;
    }
    put(k, "\"", 1);
    for (const char *q; (q = strchr(s, '"')); s = q + 1) {
        put(k, s, (size_t)(q - s) + 1); /* up to and with a quote, */
        put(k, "\"", 1);                /* doubled */
    }
    put(k, s, strlen(s));
    put(k, "\"", 1);
}

static void cell(struct sink *k, const char *s)
{
    size_t n = strlen(s);
    if (k->mode == SINK_MEASURE) {
        k->width[k->col] = n > k->width[k->col] ? n : k->width[k->col];
    } else if (k->mode == SINK_CSV) {
        if (k->col)
            put(k, ",", 1);
        csv_field(k, s, n);
    } else {
        fprintf(k->out, "%s%-*s", k->col ? "  " : "", (int)k->width[k->col], s);
    }
    if (++k->col < k->ncol)
        return;
    k->col = 0;
    if (k->mode != SINK_MEASURE)
        put(k, k->mode == SINK_CSV ? "\r\n" : "\n", k->mode == SINK_CSV ? 2 : 1);
}

static void cell_i64(struct sink *k, int64_t v)
{
    char b[24];
    snprintf(b, sizeof(b), "%" PRId64, v);
    cell(k, b);
}

static void cell_int(struct sink *k, struct stats_int v)
{
    if (v.null)
        cell(k, "");
    else
        cell_i64(k, v.v);
}

static void cell_real(struct sink *k, struct stats_real v)
{
    char b[64];
    snprintf(b, sizeof(b), "%.4f", v.v);
    cell(k, v.null ? "" : b);
}

static void cell_text(struct sink *k, const char *s)
{
    cell(k, s ? s : "");
}

static void header(struct sink *k, const char *const *names, size_t n)
{
    k->ncol = n;
    for (size_t i = 0; i < n; i++)
        cell(k, names[i]);
}

static const char *const rt_parts[] = {"first_response", "resolution"};

static void rt_rows(struct sink *k, const struct stats_period *p, const char *period)
{
    for (size_t i = 0; i < p->n; i++)
        for (size_t part = 0; part < 2; part++) {
            const struct stats_rt_summary *m =
                part ? &p->rt[i].resolution : &p->rt[i].first_response;
            cell(k, period);
            cell_text(k, p->rt[i].key);
            cell(k, rt_parts[part]);
            cell_i64(k, m->count);
            cell_int(k, m->mean_ms);
            cell_int(k, m->p50_ms);
            cell_int(k, m->p90_ms);
            cell_int(k, m->max_ms);
            cell_real(k, m->within_sla);
            cell_i64(k, m->open_past_deadline);
        }
}

static void rt_change_rows(struct sink *k, const struct stats_result *r)
{
    for (size_t i = 0; i < r->n_change; i++)
        for (size_t part = 0; part < 2; part++) {
            const struct stats_rt_metric_change *c =
                part ? &r->rt_change[i].resolution : &r->rt_change[i].first_response;
            cell(k, "ratio");
            cell_text(k, r->rt_change[i].key);
            cell(k, rt_parts[part]);
            cell(k, "");
            cell_real(k, c->mean_ms_ratio);
            cell_real(k, c->p50_ms_ratio);
            cell_real(k, c->p90_ms_ratio);
            cell_real(k, c->max_ms_ratio);
            cell_real(k, c->within_sla_diff);
            cell(k, "");
        }
}

/* A slice's element rows and its IKM row; the group's totals on the "all" slice only. */
static void sat_slice_rows(struct sink *k, const struct stats_sat_group *g, const char *period,
                           size_t slice)
{
    static const char *const names[] = {"all", "verified", "unverified"};
    const struct stats_ikm *b = slice == 0 ? &g->all : slice == 1 ? &g->verified : &g->unverified;
    for (size_t e = 0; e < b->n_elements; e++) {
        cell(k, period);
        cell_text(k, g->key);
        cell(k, names[slice]);
        cell(k, b->elements[e].name);
        cell_real(k, (struct stats_real){b->elements[e].nrr, false});
        cell_i64(k, b->elements[e].respondents);
        for (size_t i = 0; i < 3; i++)
            cell(k, "");
    }
    cell(k, period);
    cell_text(k, g->key);
    cell(k, names[slice]);
    cell(k, "IKM");
    cell_real(k, b->ikm);
    if (slice == 0) {
        cell_i64(k, g->surveys_completed);
        cell_text(k, b->grade);
        cell_real(k, g->response_rate);
        cell_i64(k, g->set_aside);
    } else {
        cell(k, "");
        cell_text(k, b->grade);
        cell(k, "");
        cell(k, "");
    }
}

static void sat_rows(struct sink *k, const struct stats_period *p, const char *period)
{
    for (size_t i = 0; i < p->n; i++)
        for (size_t slice = 0; slice < 3; slice++)
            sat_slice_rows(k, &p->sat[i], period, slice);
}

static void sat_change_rows(struct sink *k, const struct stats_result *r)
{
    for (size_t i = 0; i < r->n_change; i++) {
        cell(k, "ratio");
        cell_text(k, r->sat_change[i].key);
        cell(k, "all");
        cell(k, "IKM");
        cell_real(k, r->sat_change[i].ikm_ratio);
        cell(k, "");
        cell(k, "");
        cell_real(k, r->sat_change[i].response_rate_diff);
        cell(k, "");
    }
}

static void complaint_rows(struct sink *k, const struct stats_result *r)
{
    const char *names[N_COMPLAINT_COLS];
    for (size_t i = 0; i < N_COMPLAINT_COLS; i++)
        names[i] = complaint_cols[i].name;
    header(k, names, N_COMPLAINT_COLS);
    for (size_t c = 0; c < r->n_complaints; c++)
        for (size_t i = 0; i < N_COMPLAINT_COLS; i++) {
            if (complaint_cols[i].type == COL_TEXT)
                cell_text(k, col_text(&r->complaints[c], i));
            else
                cell_int(k, col_int(&r->complaints[c], i));
        }
}

/* Every row of r, header first, to the sink. */
static void rows(struct sink *k, const struct stats_result *r)
{
    if (r->kind == STATS_RESPONSE_TIMES) {
        static const char *const h[] = {
            "period", "key",    "measure", "count",      "mean_ms",
            "p50_ms", "p90_ms", "max_ms",  "within_sla", "open_past_deadline"};
        header(k, h, sizeof(h) / sizeof(h[0]));
        rt_rows(k, &r->now, "current");
        rt_rows(k, &r->previous, "previous");
        rt_change_rows(k, r);
    } else if (r->kind == STATS_SATISFACTION) {
        static const char *const h[] = {"period",  "key",           "ratings",
                                        "element", "value",         "respondents",
                                        "grade",   "response_rate", "set_aside"};
        header(k, h, sizeof(h) / sizeof(h[0]));
        sat_rows(k, &r->now, "current");
        sat_rows(k, &r->previous, "previous");
        sat_change_rows(k, r);
    } else {
        complaint_rows(k, r);
    }
}

void stats_render_csv(FILE *out, const struct stats_result *r)
{
    struct sink k = {.mode = SINK_CSV, .out = out};
    rows(&k, r);
}

char *stats_render_csv_text(const struct stats_result *r, size_t *len)
{
    struct sink k = {.mode = SINK_CSV};
    put(&k, "", 0);
    rows(&k, r);
    if (len)
        *len = k.len;
    return k.text;
}

void stats_render_table(FILE *out, const struct stats_result *r)
{
    struct sink k = {.mode = SINK_MEASURE, .out = out};
    rows(&k, r);
    k.mode = SINK_TABLE;
    rows(&k, r);
}
