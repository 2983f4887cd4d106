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

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

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

/* {"filter": {...}, "groups": [{"key": "BMK002"|null, "first_response": {"count", "mean_ms",
 *  "p50_ms", "p90_ms", "max_ms", "within_sla", "open_past_deadline"}, "resolution": {...}}],
 *  "previous": {same without previous/change} (compare only),
 *  "change": [{"key", "first_response": {"<m>_diff", "<m>_ratio"}, "resolution": ...}]}
 * with m in mean_ms p50_ms p90_ms max_ms (ratio = now / previous, null when undefined) and
 * within_sla_diff. Numbers are null where there are no records. *out owned by the caller. */
enum sr_err stats_response_times(struct stats *s, const struct stats_filter *f, int64_t now_ms,
                                 json_t **out, struct sr_errbuf *eb);

/* {"filter", "groups": [{"key", "elements": [{"element", "nrr", "respondents"}], "ikm",
 *  "grade", "surveys_started", "surveys_completed", "response_rate", "set_aside",
 *  "verified": {"elements",
 *  "ikm", "grade"}, "unverified": {...}}], "previous", "change": [{"key", "ikm_diff",
 *  "ikm_ratio", "response_rate_diff"}]}. Groups: none, officer, unit, month, quarter (category
 *  groups complaint ratings only). */
enum sr_err stats_satisfaction(struct stats *s, const struct stats_filter *f, json_t **out,
                               struct sr_errbuf *eb);

/* {"filter", "complaints": [{"ticket", "unit", "officer", "category", "citizen" (pseudonym),
 *  "state", "opened_at", "first_response_at", "resolved_at", "first_response_wall_ms",
 *  "first_response_work_ms", "resolution_wall_ms", "resolution_work_ms",
 *  "sla_first_response_met", "sla_resolution_met", "rating"}]} in opening order. The officer
 *  filter matches the complaint's named officer or whoever answered or resolved it. */
enum sr_err stats_complaints(struct stats *s, const struct stats_filter *f, json_t **out,
                             struct sr_errbuf *eb);

/* The same figures as CSV (RFC 4180, header row first): response times and satisfaction one row
 * per group (and element), complaints one row per complaint. Returns a heap string. */
char *stats_csv(const json_t *result, size_t *len);
/* A fixed-width text table of the same rows, for the terminal. */
void stats_print_table(FILE *out, const json_t *result);

#endif
