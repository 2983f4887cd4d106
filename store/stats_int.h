/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to the statistics (stats*.c only): the connection, the group-key SQL of each
 * grouping, binding the common filter, and small JSON helpers.
 */
#ifndef STATS_INT_H
#define STATS_INT_H

#include "stats.h"

#include <sqlite3.h>

struct stats {
    sqlite3 *db;
};

#define STATS_LOCAL_OFFSET_MS 25200000LL /* UTC+07:00, no daylight saving */
#define STATS_DAY_MS 86400000LL

/* SQL expression of the group key over a time column (e.g. "c.opened_at") or a code column;
 * code_col is used for officer / unit / category groupings (NULL: the grouping does not apply
 * and the key is NULL). Returns a heap string. */
char *stats_key_sql(enum stats_group g, const char *time_col, const char *code_col);

/* Prepares sql; NULL with eb filled on error. */
sqlite3_stmt *stats_prepare(struct stats *s, const char *sql, struct sr_errbuf *eb);
enum sr_err stats_sql_err(struct stats *s, const char *what, struct sr_errbuf *eb);
/* Binds ?1 from, ?2 to, ?3 unit, ?4 officer, ?5 category (NULL binds NULL). */
void stats_bind_filter(sqlite3_stmt *st, const struct stats_filter *f);

/* A column as a JSON value: integer, text or null. */
json_t *stats_col_json(sqlite3_stmt *st, int col);
/* The filter as JSON, for the result's "filter". */
json_t *stats_filter_json(const struct stats_filter *f, const char *clock);
/* The same filter moved back by its own length. */
struct stats_filter stats_previous(const struct stats_filter *f);
/* "change" ratio: a / b, null when either is null or b is 0. */
json_t *stats_ratio(const json_t *a, const json_t *b);
json_t *stats_diff(const json_t *a, const json_t *b);
/* The per-complaint list's columns, in order (JSON member names and the CSV header). */
extern const char *const stats_complaint_cols[];
extern const size_t stats_n_complaint_cols;

/* Sorted array of the map's values (keys compared as text, the null key "" first). */
json_t *stats_map_to_array(json_t *map);

#endif
