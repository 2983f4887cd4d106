/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The turn: one inbound item through the core path - load the sender's session (and whether the
 * provider id was already committed), run the pure dialog step, commit its whole result in one
 * atomic Redis script - and a batch of items in order. Three callers use it:
 *   webhook.c      provider requests, and replays of the inbound spool;
 *   officer_api.c  an officer's complaint command over the HTTP API;
 *   sweep.c        idle expiry and SLA deadlines (a step without an inbound message: it uses
 *                  turn_commit_swept only).
 * A caller says what "done", "failed" and "Redis could not make it durable" mean for it through
 * a struct turn_caller; the turn never answers an HTTP request itself.
 * Internal to gateway/.
 */
#ifndef TURN_H
#define TURN_H

#include "server.h"

#include <jansson.h>

struct turn_job;

struct turn_caller {
    /* Every item of the batch is committed (or was a duplicate): answer and free the job. */
    void (*finish)(struct turn_job *j);
    /* An item cannot be processed (detail borrowed): answer and free the job. */
    void (*fail)(struct turn_job *j, enum sr_err e, const char *detail);
    /* Redis could not make an item durable (disconnect, timeout): keep it elsewhere or refuse,
     * and free the job. */
    void (*store_failed)(struct turn_job *j);
    /* Optional: before the commit, the caller may take replies out of res (the officer API turns
     * what the officer is told into its HTTP answer). */
    void (*take_replies)(struct turn_job *j, struct dialog_result *res);
    int unlimited; /* 1: not subject to the [limits] message rate (officers' API commands) */
};

struct turn_job {
    const struct turn_caller *caller;
    struct gw_request *r; /* held; NULL for a spool replay */
    struct worker *w;
    const struct app_channel *ch;
    struct sr_inbound_batch batch;
    size_t idx;
    int conflicts;
    int duplicates;    /* items found already committed (redeliveries, retried API calls) */
    int64_t fixed_now; /* > 0: the step's time (a replay keeps the time it was received) */
    void *caller_data; /* the caller's own state (e.g. the officer API's told texts) */
    /* per item, cleared by the next one */
    char citizen[65];
    char *event_base;
    struct dialog_result res;
    char **reply_json;
    char *session; /* the loaded session, kept across the complaint load */
    size_t session_len;
    long long version;
    int64_t now_ms;
    char *rate_id;  /* the sender's message-rate window "<citizen>:<window index>" */
    int rate_limit; /* 0 = none (officers' API commands, no [limits]) */
    int limited;    /* this item is over the limit: not stepped */
};

/* A job for ch's batch (filled by the caller in j->batch), on w; r (may be NULL) is held until
 * turn_job_free. Counts in w->in_flight. */
struct turn_job *turn_job_new(struct worker *w, const struct app_channel *ch,
                              const struct turn_caller *caller, struct gw_request *r);
/* Runs the batch from its first item; ends in exactly one of the caller's callbacks. */
void turn_job_run(struct turn_job *j);
/* Releases the request, the batch and the item's state. */
void turn_job_free(struct turn_job *j);

/* ---- shared with the sweeps ---- */

/* Heap array of heap JSON strings, one per reply of res (free each, then the array). */
char **turn_replies_json(const struct dialog_result *res);
/* The store's view of a dialog's complaint write (borrowed strings). */
struct store_complaint_write turn_complaint_write(const struct dialog_complaint_write *d);

#endif
