/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The evaluation-store writer: a thread that moves events from the Redis stream <p>events into
 * SQLite. It reads with its own synchronous hiredis connection (consumer group "writer"), first
 * its own pending entries, then new ones with XREADGROUP BLOCK; applies each batch in one SQLite
 * transaction (evalstore_apply, idempotent by event id); and XACKs only after COMMIT. Redis or
 * SQLite trouble: it logs, backs off (jittered) and retries; nothing is acknowledged unless
 * committed. After every (re)connect it reads its own pending entries again before new ones, and
 * it takes over (XAUTOCLAIM) entries that another consumer left pending longer than claim_idle_ms
 * (a writer that died under another name, e.g. on a host renamed since). One writer per process
 * is enough; several are safe (consumer names differ; applying is idempotent by event id).
 */
#ifndef WRITER_H
#define WRITER_H

#include "sr_error.h"

#include <stdint.h>

struct writer;

struct writer_conf {
    const char *redis_host;
    int redis_port;
    const char *redis_socket; /* preferred when set */
    int redis_db;
    const char *prefix;     /* "suara:" */
    const char *db_path;    /* SQLite file */
    const char *consumer;   /* consumer name, unique per process */
    int batch_max;          /* entries per transaction, default 500 */
    int block_ms;           /* XREADGROUP BLOCK, default 1000 */
    int rating_period_days; /* evalstore_set_rating_period; 0 = the store's default (30) */
    const char *id_key;     /* [privacy] citizen_hash_key: the schema migration hashes old ids */
    /* statuses and sent-reply ids older than this are pruned (once at start, then hourly);
     * 0 = never */
    int provider_id_retention_s;
    int claim_idle_ms; /* take over other consumers' entries idle this long; 0 = 60000 */
};

struct writer_stats {
    uint64_t applied;       /* events newly written */
    uint64_t batches;       /* committed transactions */
    uint64_t errors;        /* failed attempts (retried) */
    int64_t last_commit_ms; /* wall time of the last commit, 0 if none */
    int healthy;            /* 1 if the last attempt succeeded (for /readyz) */
};

/* Starts the thread. NULL on error (eb filled). Strings in conf are copied. */
struct writer *writer_start(const struct writer_conf *conf, struct sr_errbuf *eb);
/* Asks the thread to finish its current batch, joins it, frees everything. NULL is fine. */
void writer_stop(struct writer *w);
void writer_get_stats(struct writer *w, struct writer_stats *out); /* thread-safe snapshot */

#endif
