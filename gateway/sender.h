/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sender: takes replies from the outbox stream and delivers them through the provider APIs
 * with libcurl multi driven by the worker's libuv loop (uv_poll per socket, one uv_timer for
 * curl's timeout). Connections are reused; each attempt has a timeout; transient failures
 * (timeouts, connection errors, 5xx, 429 honouring Retry-After) are retried with jittered
 * exponential backoff up to max_attempts; every outcome is recorded as a reply_sent /
 * reply_failed event through store_outbox_done (which also acks the entry). A reply whose sent
 * marker already exists is acked without sending again.
 */
#ifndef SENDER_H
#define SENDER_H

#include "sr_error.h"
#include "sr_types.h"
#include "store.h"

#include <uv.h>

struct sender;

struct sender_conf {
    const char *consumer; /* unique per worker, e.g. "<host>-<pid>-w0" */
    int timeout_ms;       /* per attempt */
    int connect_timeout_ms;
    int max_attempts;
    int max_in_flight; /* outbox entries being worked on at once */
    int backoff_min_ms;
    int backoff_max_ms;
    int block_ms;      /* outbox read block time, default 1000 */
    int claim_idle_ms; /* take over other consumers' entries idle this long, 60000 */
    /* HMAC key of provider message ids: a sent reply's id is recorded only as its keyed hash
     * (sr_pseudo_provider_id), so it matches the hashed id of its later statuses. NULL keeps
     * ids as the provider gave them (unit tests only; the gateway always sets it). */
    const char *id_key;
    /* optional metrics hook: one call per finished entry */
    void (*on_outcome)(void *ud, const char *channel, enum sr_send_outcome o);
    void *on_outcome_ud;
};

/* Starts consuming. Borrowed for the sender's life: loop, store, channels (the config's). */
struct sender *sender_start(uv_loop_t *loop, struct store *store,
                            const struct sr_channel_conf *channels, size_t n_channels,
                            const struct sender_conf *conf, struct sr_errbuf *eb);
/* Stops reading new entries, lets in-flight attempts finish (or time out), then frees itself
 * and calls done(ud). NULL sender: done is called at once. */
void sender_stop(struct sender *s, void (*done)(void *ud), void *ud);

#endif
