/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sender: takes replies from the outbox stream and delivers them through the provider APIs
 * with libcurl multi driven by the worker's libuv loop (uv_poll per socket, one uv_timer for
 * curl's timeout). Connections are reused; each attempt has a timeout.
 *
 * Exactly one job works on a reply at a time, across workers and restarts: a job first takes the
 * reply's lease (<p>lease:<id>, owner = the consumer name, which is stable across restarts) and
 * renews it while it waits; another worker takes only a lease that expired. Before every request
 * the job writes a durable "sending" mark; a new owner that finds one counts a possible repeat
 * (the only window that can send a reply twice: a crash between the provider's answer and the
 * done script). Another owner's mark is first given lease_ms + backoff_max_ms, so that an owner
 * that is alive but could not record its outcome (Redis away) records it first. A timed-out attempt
 * is ambiguous too: it is retried (else the reply could be lost) and counted the same way; the
 * default timeout is longer than providers' worst answers. Neither WhatsApp Cloud API nor Twilio's
 * Messages API takes an idempotency key, so nothing better exists on the provider side.
 *
 * Transient failures (timeouts, connection errors, 5xx, 429) are retried with capped exponential
 * backoff and jitter (Retry-After honoured, up to retry_after_max_ms) for as long as the reply is
 * useful: WhatsApp until 24 h after the citizen's last message (the reply's in_at, else its
 * commit time), other channels for retry_window_s after the commit. A per-channel circuit
 * breaker (closed / open / half-open with one probe) keeps an outage down to a few probes.
 * A reply whose window closed (or that ran out of max_attempts, when set) goes to the dead-letter
 * stream. Every outcome is recorded as a reply_sent / reply_failed event through
 * store_outbox_done / store_outbox_dead (which also ack the entry).
 */
#ifndef SENDER_H
#define SENDER_H

#include "sr_error.h"
#include "sr_types.h"
#include "store.h"

#include <uv.h>

struct sender;

/* Things worth counting (metrics), reported through on_note. */
enum sender_note {
    SENDER_NOTE_DEAD,           /* a reply went to the dead-letter stream */
    SENDER_NOTE_REPEAT_CRASH,   /* sending again a reply a previous owner may have sent */
    SENDER_NOTE_REPEAT_TIMEOUT, /* sending again after an attempt with no answer */
    SENDER_NOTE_BREAKER_OPEN,   /* the channel's breaker opened */
    SENDER_NOTE_BREAKER_CLOSED  /* ... and closed again after a good probe */
};

struct sender_conf {
    const char *consumer; /* unique per worker and stable across restarts: the lease owner */
    int timeout_ms;       /* per attempt; default 20000 (longer than a slow provider's answer) */
    int connect_timeout_ms;
    int max_attempts;  /* 0 (default): no cap, the useful window decides */
    int max_in_flight; /* outbox entries being worked on at once */
    int backoff_min_ms;
    int backoff_max_ms;
    int retry_after_max_ms; /* longest Retry-After honoured; 0 = backoff_max_ms */
    int block_ms;           /* outbox read block time, default 1000 */
    int claim_idle_ms;      /* look at other consumers' entries idle this long (default lease_ms);
                               taken only when their lease expired */
    int lease_ms;           /* a job's lease, renewed every lease_ms / 3 (and at each attempt);
                               default 30000, at least timeout_ms + 5000 so that it never expires
                               during a request */
    int retry_window_s;     /* non-WhatsApp replies are retried this long; default 86400 */
    int breaker_failures;   /* consecutive transient failures that open a breaker; default 5 */
    int breaker_open_ms;    /* first open period (doubles per failed probe up to
                               max(backoff_max_ms, breaker_open_ms)); default 5000 */
    /* HMAC key of provider message ids: a sent reply's id is recorded only as its keyed hash
     * (sr_pseudo_provider_id), so it matches the hashed id of its later statuses. NULL keeps
     * ids as the provider gave them (unit tests only; the gateway always sets it). */
    const char *id_key;
    /* optional metrics hooks: one on_outcome per finished entry; on_note per noted thing */
    void (*on_outcome)(void *ud, const char *channel, enum sr_send_outcome o);
    void (*on_note)(void *ud, const char *channel, enum sender_note n);
    void *on_outcome_ud; /* for both */
};

/* Starts consuming. Borrowed for the sender's life: loop, store, channels (the config's). */
struct sender *sender_start(uv_loop_t *loop, struct store *store,
                            const struct sr_channel_conf *channels, size_t n_channels,
                            const struct sender_conf *conf, struct sr_errbuf *eb);
/* Stops reading new entries, lets in-flight attempts finish (or time out), then frees itself
 * and calls done(ud). NULL sender: done is called at once. */
void sender_stop(struct sender *s, void (*done)(void *ud), void *ud);

#endif
