/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process-wide metrics, updated lock-free (C11 atomics) by every worker and rendered in the
 * Prometheus text format for GET /metrics. The metric set is one table in metrics.c.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

struct metrics;

/* channel_names: borrowed for the life of the metrics (the config's names). */
struct metrics *metrics_new(const char *const *channel_names, size_t n_channels);
void metrics_free(struct metrics *m);

/* route: one of "webhook", "healthz", "readyz", "metrics", "other". */
void metrics_request(struct metrics *m, const char *route, int status);
/* kind: an sr_inbound_kind name ("text", "button", "status", ...). */
void metrics_message_in(struct metrics *m, size_t channel_idx, const char *kind);
/* outcome: "ok", "retry", "failed", "opted_out". */
void metrics_message_out(struct metrics *m, size_t channel_idx, const char *outcome);
/* A message over its sender's rate limit; told: 1 if it got the window's slow-down notice. */
void metrics_message_limited(struct metrics *m, size_t channel_idx, int told);
/* outcome: a dialog_outcome_name(). */
void metrics_dialog_outcome(struct metrics *m, const char *outcome);
/* secret: a trust_secret_name() ("api_token", "verify_token", "webhook_signature"); refused = 0
 * for a failed guess, 1 for a request refused with 429 by the throttle. */
void metrics_auth(struct metrics *m, const char *secret, int refused);
/* reason: an sr_inbound_reject_name() ("foreign_recipient", "missing_field", ...). */
void metrics_item_rejected(struct metrics *m, size_t channel_idx, const char *reason);
void metrics_redis_rtt(struct metrics *m, double seconds);
void metrics_set_backlog(struct metrics *m, long long outbox_pending, long long outbox_lag,
                         long long events_pending, long long events_lag);
void metrics_set_writer(struct metrics *m, unsigned long long applied, long long lag_ms);
/* The outbound side. dead_letters: length of the dead-letter stream (a gauge). */
void metrics_set_dead_letters(struct metrics *m, long long dead_letters);
void metrics_reply_dead(struct metrics *m); /* a reply went to the dead-letter stream */
/* A reply sent again though it may have left already. reason: "crash" (a previous owner's
 * sending mark), "timeout" (an attempt without an answer). */
void metrics_reply_repeated(struct metrics *m, const char *reason);
/* A channel's circuit breaker changed. to: "open", "closed". */
void metrics_breaker(struct metrics *m, const char *to);
/* Connection guard. reason: "per_address", "total"; phase: "header", "body", "idle". */
void metrics_connection_refused(struct metrics *m, const char *reason);
void metrics_connection_timed_out(struct metrics *m, const char *phase);
/* delta: +1 when a connection is admitted, -1 when it is gone. */
void metrics_connections_open(struct metrics *m, int delta);

/* The inbound spool (spool.h): records and bytes waiting; what: "replayed" (committed after
 * replay), "failed" (given up at replay), "full" (a webhook answered 503: no room or no write). */
void metrics_set_spool(struct metrics *m, long long records, long long bytes);
void metrics_spool_event(struct metrics *m, const char *what);

/* Renders everything; returns a heap string (caller frees), length in *len. */
char *metrics_render(struct metrics *m, size_t *len);

#endif
