/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The statistics as the outside world reads them: a struct stats_result (store/stats.h) rendered
 * as the admin API's JSON, as CSV (RFC 4180, header row first; the API's text/csv and
 * `suara stats --csv`) and as the fixed-width table of `suara stats`. The CSV and the table are
 * one walk over the same rows, so they always show the same figures; the JSON is the only other
 * reader of the result's fields.
 */
#ifndef STATS_RENDER_H
#define STATS_RENDER_H

#include "stats.h"

#include <jansson.h>
#include <stdio.h>

/* {"statistic", "filter": {"from", "to", "unit", "officer", "category", "group_by"[, "clock"]},
 *  then per kind:
 *  response-times: "groups": [{"key", "first_response": {"count", "mean_ms", "p50_ms", "p90_ms",
 *    "max_ms", "within_sla", "open_past_deadline"}, "resolution": {...}}], and with
 *    compare=previous "change": [{"key", "first_response": {"<m>_diff", "<m>_ratio" for m in
 *    mean_ms p50_ms p90_ms max_ms, "within_sla_diff"}, "resolution": {...}}] and "previous":
 *    {"filter", "groups"};
 *  satisfaction: "groups": [{"elements": [{"element", "nrr", "respondents"}], "ikm", "grade",
 *    "key", "verified": {"elements", "ikm", "grade"}, "unverified": {...}, "surveys_started",
 *    "surveys_completed", "response_rate", "set_aside"}], "change": [{"key", "ikm_diff",
 *    "ikm_ratio", "response_rate_diff"}], "previous";
 *  complaints: "complaints": [{"ticket", "unit", "officer", "category", "citizen", "state",
 *    "opened_at", "first_response_at", "resolved_at", "first_response_wall_ms",
 *    "first_response_work_ms", "resolution_wall_ms", "resolution_work_ms",
 *    "sla_first_response_met", "sla_resolution_met", "rating"}].
 * Null figures are JSON null. Returns a new reference. Borrowed: r. */
json_t *stats_render_json(const struct stats_result *r);

/* The CSV rows to out: response times one row per group and measure, satisfaction one row per
 * group, slice and element plus an IKM row, the change as "ratio" rows; complaints one row per
 * complaint. Null figures are empty cells, reals have four decimals. */
void stats_render_csv(FILE *out, const struct stats_result *r);
/* The same as a heap string (caller frees), its length in *len when len is not NULL. */
char *stats_render_csv_text(const struct stats_result *r, size_t *len);

/* The same rows as a fixed-width text table, for the terminal. */
void stats_render_table(FILE *out, const struct stats_result *r);

#endif
