/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Worker 0's privacy retention duties, run from its 1 s tick: complaint records whose raw number
 * was kept number_retention_s past resolution lose it (claimed with a lease, rewritten with a
 * version check, then they expire), and the AOF rewrite schedule, so that numbers deleted from
 * Redis's memory also leave the append-only file (Redis keeps every historical write there until
 * a rewrite). One worker is enough: both are shared state in Redis.
 */
#include "app.h"
#include "server.h"

#include "sr_log.h"

#define SCRUB_LEASE_MS 60000
#define SCRUB_MAX 32

static void on_scrubbed(void *ud, enum sr_err err)
{
    struct worker *w = ud;
    w->in_flight--;
    if (err != SR_E_OK)
        SR_LOG(WARN, "privacy", NULL, "number retention: %s (retried after the lease)",
               sr_strerror(err));
}

static void on_scrub_due(void *ud, enum sr_err err, const struct store_scrub_due *items, size_t n)
{
    struct worker *w = ud;
    w->scrub_sweeping = 0;
    if (err != SR_E_OK || w->draining)
        return;
    for (size_t i = 0; i < n; i++) {
        w->in_flight++;
        store_complaint_scrub(w->store, &items[i], on_scrubbed, w);
    }
}

static void on_aof(void *ud, enum sr_err err, int started)
{
    struct worker *w = ud;
    w->aof_checking = 0;
    if (err != SR_E_OK)
        SR_LOG(WARN, "privacy", NULL, "BGREWRITEAOF refused: %s (next try after the interval)",
               sr_strerror(err));
    else if (started)
        SR_LOG(INFO, "privacy", NULL, "AOF rewrite requested");
}

void privacy_sweep(struct worker *w)
{
    if (w->draining || !store_is_connected(w->store))
        return;
    if (!w->scrub_sweeping) {
        w->scrub_sweeping = 1;
        store_claim_scrub(w->store, app_domain_now(w->app), SCRUB_LEASE_MS, SCRUB_MAX, on_scrub_due,
                          w);
    }
    int every = w->app->cfg->privacy.aof_rewrite_interval_s;
    if (every > 0 && !w->aof_checking) {
        w->aof_checking = 1;
        store_aof_rewrite_due(w->store, every, on_aof, w);
    }
}
