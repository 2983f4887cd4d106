/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Administrators' statistics over the evaluation store: complaint response times, citizen
 * satisfaction (IKM) and the per-complaint list, on a read-only SQLite connection of its own.
 * Synchronous: call it from a worker thread or the CLI, never from an event loop; one struct
 * stats per thread.
 *
 * Definitions (also in the README):
 *  - the period is [from, to) on opened_at for complaints, completed_at for survey answers and
 *    started_at for the response rate; dates are local (Asia/Jakarta, UTC+07:00) midnights;
 *  - percentiles are exact, nearest-rank over the records of the group: pXX is the
 *    ceil(XX/100 * n)-th smallest duration (p50 of 1,2,3,4 is 2); mean is the arithmetic mean
 *    rounded to whole milliseconds; max the largest;
 *  - first response = the first officer answer (TERIMA or BALAS), resolution = the resolution
 *    that stuck (a reopen clears it), both measured from opening, in wall-clock or working time;
 *  - within_sla = responded (resolved) within the deadline / responded (resolved), null when
 *    nothing was; open_past_deadline = complaints of the period with no first response
 *    (resolution) whose deadline is before now;
 *  - grouped by officer, first response counts for the officer who answered first and
 *    resolution for the one who resolved;
 *  - satisfaction: NRR of an element = mean of its answers (1-4); the IKM is
 *    25 * sum(NRR_i * 1/k) over the k elements with respondents — PermenPANRB 14/2017 with
 *    equal weights (1/9 when all nine elements U1-U9 are asked); U8 (Penanganan Pengaduan) comes
 *    from complaint ratings. The value is rounded to two decimals only at the end and graded
 *    A 88.31-100, B 76.61-88.30, C 65.00-76.60, D 25.00-64.99. KEPUASAN (overall satisfaction)
 *    is reported but is not an IKM element;
 *  - response rate = completed surveys / surveys started in the period;
 *  - verified ratings are those whose citizen had a visit to that officer recorded
 *    (evalstore_record_visit) in the 7 days before the survey started, one rating per visit
 *    (the first); they are reported apart;
 *  - one rating per citizen per officer counts per visit, or per [dialog] rating_period_days
 *    without one (evalstore_ratings.c); repeats are kept but left out of every figure above and
 *    reported as "set_aside" (completed in the period, per group).
 */
#ifndef STATS_H
#define STATS_H

#include "sr_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stats; /* a read-only SQLite connection */

struct stats *stats_open(const char *sqlite_path, struct sr_errbuf *eb);
void stats_close(struct stats *s); /* NULL is fine */

#define STATS_GROUPS(X)                                                                            \
    X(NONE, "none")                                                                                \
    X(OFFICER, "officer")                                                                          \
    X(UNIT, "unit") X(CATEGORY, "category") X(MONTH, "month") X(QUARTER, "quarter")
enum stats_group {
#define STATS_GROUP_ENUM(name, text) STATS_GROUP_##name,
    STATS_GROUPS(STATS_GROUP_ENUM)
#undef STATS_GROUP_ENUM
};
enum stats_clock { STATS_CLOCK_WALL, STATS_CLOCK_WORKING };

struct stats_filter {
    int64_t from_ms, to_ms; /* [from, to); required, from < to */
    const char *unit;       /* NULL = all */
    const char *officer;    /* NULL = all */
    const char *category;   /* NULL = all (complaints only) */
    enum stats_group group;
    enum stats_clock clock;
    int compare_previous; /* also the preceding period of equal length, and the change */
};

/* Query-string values; 0, or -1 for a bad value (the caller names the parameter). Times:
 * "YYYY-MM-DD" (local midnight, UTC+07:00) or unix milliseconds. */
int stats_parse_group(const char *s, enum stats_group *out);
int stats_parse_clock(const char *s, enum stats_clock *out);
int stats_parse_time(const char *s, int64_t *out_ms);
const char *stats_group_name(enum stats_group g);

/* Fills f from named parameters (the API's query string, the CLI's flags): from, to, unit,
 * officer, category, group_by, clock, compare ("previous"). get returns a parameter's value or
 * NULL; the strings must outlive f. A missing period is the current local quarter (from its
 * first day to the first day of the next). Returns NULL, or the name of the bad parameter. */
typedef const char *stats_param_fn(void *ud, const char *name);

/* Named parameters collected by a caller (borrowed strings), and the stats_param_fn over them. */
#define STATS_MAX_PARAMS 16
struct stats_params {
    const char *name[STATS_MAX_PARAMS], *value[STATS_MAX_PARAMS];
    size_t n;
};
const char *stats_params_get(void *params, const char *name); /* the first value, or NULL */
const char *stats_filter_parse(struct stats_filter *f, stats_param_fn *get, void *ud,
                               int64_t now_ms);

/* ---------------------------------------------------------------- results
 * A query returns one struct stats_result: typed rows, no text format. gateway/stats_render.c
 * turns it into the API's JSON, the CSV export and the `suara stats` table. */

#define STATS_KINDS(X)                                                                             \
    X(RESPONSE_TIMES, "response-times")                                                            \
    X(SATISFACTION, "satisfaction")                                                                \
    X(COMPLAINTS, "complaints")
enum stats_kind {
#define STATS_KIND_ENUM(name, text) STATS_##name,
    STATS_KINDS(STATS_KIND_ENUM)
#undef STATS_KIND_ENUM
};
const char *stats_kind_name(enum stats_kind k);
int stats_parse_kind(const char *s, enum stats_kind *out); /* 0, or -1 for an unknown name */
const char *stats_clock_name(enum stats_clock c);          /* "wall" / "working" */

/* A figure that may be absent ("null": JSON null, an empty CSV cell). */
struct stats_int {
    int64_t v;
    bool null;
};
struct stats_real {
    double v;
    bool null;
};

/* First response or resolution of one group. mean_ms .. max_ms are null when count is 0
 * (durations: mean rounded to whole ms, nearest-rank p50 / p90); within_sla is the share
 * within the deadline of those whose deadline outcome is known (null when none is). */
struct stats_rt_summary {
    int64_t count;
    struct stats_int mean_ms, p50_ms, p90_ms, max_ms;
    struct stats_real within_sla;
    int64_t open_past_deadline;
};

/* Group keys: NULL is the null key (no officer, or the grouping "none"). */
struct stats_rt_group {
    const char *key;
    struct stats_rt_summary first_response, resolution;
};

/* Current against previous, for a key present in both. diff = now - previous (null when either
 * is null); ratio = now / previous (null when either is null or previous is 0). */
struct stats_rt_metric_change {
    struct stats_int mean_ms_diff, p50_ms_diff, p90_ms_diff, max_ms_diff;
    struct stats_real mean_ms_ratio, p50_ms_ratio, p90_ms_ratio, max_ms_ratio;
    struct stats_real within_sla_diff;
};
struct stats_rt_change {
    const char *key;
    struct stats_rt_metric_change first_response, resolution;
};

/* One element's NRR (mean of its answers, 1-4) over its respondents (> 0). */
struct stats_element {
    const char *name; /* "U1".."U9", "KEPUASAN", ... */
    double nrr;
    int64_t respondents;
};
/* A slice of the ratings (all, verified, unverified): its elements in name order, the IKM
 * (rounded to 2 decimals; null when no U1-U9 element has respondents) and its grade ("A".."D",
 * NULL with the IKM). */
struct stats_ikm {
    const struct stats_element *elements;
    size_t n_elements;
    struct stats_real ikm;
    const char *grade;
};
struct stats_sat_group {
    const char *key;
    struct stats_ikm all, verified, unverified;
    int64_t surveys_started, surveys_completed;
    struct stats_real response_rate; /* completed / started; null when none started */
    int64_t set_aside;
};
struct stats_sat_change {
    const char *key;
    struct stats_real ikm_diff, ikm_ratio, response_rate_diff;
};

/* One complaint of the per-complaint list (text NULL when unset; citizen is the pseudonym). */
struct stats_complaint {
    const char *ticket, *unit, *officer, *category, *citizen, *state;
    struct stats_int opened_at, first_response_at, resolved_at;
    struct stats_int first_response_wall_ms, first_response_work_ms;
    struct stats_int resolution_wall_ms, resolution_work_ms;
    struct stats_int sla_first_response_met, sla_resolution_met, rating;
};
/* One period's groups, sorted by key (byte order, the null key first). With the grouping "none"
 * there is exactly one group, the null key, even in an empty period. */
struct stats_period {
    struct stats_filter filter; /* strings owned by the result */
    size_t n;
    struct stats_rt_group *rt;   /* STATS_RESPONSE_TIMES */
    struct stats_sat_group *sat; /* STATS_SATISFACTION */
};

struct stats_pool;
struct stats_result {
    enum stats_kind kind;
    struct stats_period now;
    /* compare=previous (now.filter.compare_previous): the preceding period of equal length and
     * the change per key present in both, in now's order */
    struct stats_period previous;
    size_t n_change;
    struct stats_rt_change *rt_change;
    struct stats_sat_change *sat_change;
    /* STATS_COMPLAINTS, in opening order */
    size_t n_complaints;
    struct stats_complaint *complaints;
    struct stats_pool *pool; /* every string and element above */
};
void stats_result_free(struct stats_result *r); /* NULL is fine */

/* The statistics of a kind (dispatches to the three below). now_ms decides "open past the
 * deadline". Borrowed: f (copied into the result); *out owned by the caller (stats_result_free). */
enum sr_err stats_query(struct stats *s, enum stats_kind k, const struct stats_filter *f,
                        int64_t now_ms, struct stats_result **out, struct sr_errbuf *eb);

/* Response times per group: first response and resolution. */
enum sr_err stats_response_times(struct stats *s, const struct stats_filter *f, int64_t now_ms,
                                 struct stats_result **out, struct sr_errbuf *eb);

/* Satisfaction per group: NRR per element, IKM, grade, verified and unverified apart, response
 * rate, set aside. Groups: none, officer, unit, month, quarter (category groups complaint ratings
 * only). */
enum sr_err stats_satisfaction(struct stats *s, const struct stats_filter *f,
                               struct stats_result **out, struct sr_errbuf *eb);

/* The complaints opened in the period, in opening order. The officer filter matches the
 * complaint's named officer or whoever answered or resolved it; the row's officer is who
 * resolved it, else who answered it first, else the named one. */
enum sr_err stats_complaints(struct stats *s, const struct stats_filter *f,
                             struct stats_result **out, struct sr_errbuf *eb);

#endif
