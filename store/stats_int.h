/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to the statistics (stats*.c only): the connection, the group-key SQL of each
 * grouping, binding the common filter, the result's memory (a pool of blocks that never move)
 * and the group keys of a query (interned, so equal keys are equal ids).
 */
#ifndef STATS_INT_H
#define STATS_INT_H

#include "stats.h"

#include <sqlite3.h>

/* The statements of the queries, prepared once per connection (preparing was most of the work of
 * a small query): every (statistic, grouping, clock) has its own SQL text, 29 in all, so the
 * cache holds them all; a full cache would replace its entries in turn. */
#define STATS_STMT_CACHE 32
struct stats {
    sqlite3 *db;
    struct {
        char *sql; /* heap */
        sqlite3_stmt *st;
    } stmt[STATS_STMT_CACHE];
    size_t n_stmt, next; /* entries used; the next one to replace when full */
};

#define STATS_LOCAL_OFFSET_MS 25200000LL /* UTC+07:00, no daylight saving */
#define STATS_DAY_MS 86400000LL

/* SQL expression of the group key over a time column (e.g. "c.opened_at") or a code column;
 * code_col is used for officer / unit / category groupings (NULL: the grouping does not apply
 * and the key is NULL). Returns a heap string. */
char *stats_key_sql(enum stats_group g, const char *time_col, const char *code_col);

/* The statement of sql, prepared on first use and kept by the connection; NULL with eb filled on
 * error. Give it back with stats_release when its rows are read (one statement of a text is in
 * use at a time: a connection runs one query at a time). */
sqlite3_stmt *stats_prepare(struct stats *s, const char *sql, struct sr_errbuf *eb);
void stats_release(sqlite3_stmt *st);
enum sr_err stats_sql_err(struct stats *s, const char *what, struct sr_errbuf *eb);
/* Binds ?1 from, ?2 to, ?3 unit, ?4 officer, ?5 category (NULL binds NULL). */
void stats_bind_filter(sqlite3_stmt *st, const struct stats_filter *f);

/* The same filter moved back by its own length. */
struct stats_filter stats_previous(const struct stats_filter *f);

/* A new result of kind k for filter f (its strings copied into the result's pool). */
struct stats_result *stats_result_new(enum stats_kind k, const struct stats_filter *f);
/* Memory that lives as long as the pool (8-byte aligned, zeroed), and a copy of a string
 * (NULL stays NULL). */
void *stats_pool_alloc(struct stats_pool *p, size_t n);
const char *stats_pool_strdup(struct stats_pool *p, const char *s);

/* "change" figures: a - b and a / b, null when either is null (the ratio also when b is 0). */
struct stats_int stats_int_diff(struct stats_int a, struct stats_int b);
struct stats_real stats_real_diff(struct stats_real a, struct stats_real b);
struct stats_real stats_int_ratio(struct stats_int a, struct stats_int b);
struct stats_real stats_real_ratio(struct stats_real a, struct stats_real b);

/* The distinct group keys of one period: key text (in the result's pool) by id. The null key
 * and "" are one key (id of "", shown as null). */
struct stats_keys {
    struct stats_pool *pool;
    const char **text; /* by id */
    size_t n, cap;
    uint32_t *slot; /* open addressing: id + 1, 0 = empty */
    size_t n_slots;
};
uint32_t stats_keys_id(struct stats_keys *k, const unsigned char *key);
void stats_keys_free(struct stats_keys *k);
/* The ids 0..n-1 ordered by key text (byte order; "" first), into order[n]. */
void stats_keys_sorted(const struct stats_keys *k, uint32_t *order);
/* The key as the result shows it: NULL for "". */
const char *stats_keys_text(const struct stats_keys *k, uint32_t id);

#endif
