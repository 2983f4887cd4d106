/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sweeps: steps that start from a timer in Redis instead of an inbound message. Idle expiry
 * runs the dialog's expiry step for sessions whose idle time passed (claimed with a lease, so a
 * crashed worker's claims are retried); SLA deadlines run the escalation step for complaints
 * whose deadline passed. Each result is committed like a turn's (turn.h), deduplicated on a key
 * of the timer, so two workers never do it twice.
 */
#include "turn.h"

#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>

struct expiry {
    struct worker *w;
    struct dialog_result res;
    char **reply_json;
};

static void expiry_free(struct expiry *x)
{
    for (size_t i = 0; x->reply_json && i < x->res.n_replies; i++)
        free(x->reply_json[i]);
    free(x->reply_json);
    dialog_result_clear(&x->res);
    x->w->in_flight--;
    free(x);
}

/* An expiry: a conflict means the citizen came back and the session lives on. A breach: a
 * duplicate means another worker escalated; a conflict, that the record moved on (the timer
 * fires again after its lease). Either way there is nothing more to do. */
static void on_swept_committed(void *ud, enum sr_err err, enum store_commit_result res, long long v)
{
    struct expiry *x = ud;
    (void)v;
    if (err == SR_E_OK && res == STORE_COMMITTED)
        metrics_dialog_outcome(x->w->app->metrics, dialog_outcome_name(x->res.outcome));
    expiry_free(x);
}

/* Commits what a sweep's dialog step produced (x->res), deduplicated on key. */
static void commit_swept(struct expiry *x, const char *channel, const char *sender, const char *key,
                         long long expected_version)
{
    x->reply_json = turn_replies_json(&x->res);
    struct store_complaint_write cw;
    if (x->res.complaint)
        cw = turn_complaint_write(x->res.complaint);
    struct store_commit c = {
        .channel = channel,
        .sender = sender,
        .provider_id = key,
        .expected_version = expected_version,
        .events = (const char *const *)x->res.events,
        .n_events = x->res.n_events,
        .replies = (const char *const *)x->reply_json,
        .n_replies = x->res.n_replies,
        .complaint = x->res.complaint ? &cw : NULL,
        .feed = (const char *const *)x->res.feed,
        .n_feed = x->res.n_feed,
    };
    store_commit(x->w->store, &c, on_swept_committed, x);
}

static void expire_one(struct worker *w, const struct store_expired *it)
{
    struct app *a = w->app;
    const struct app_channel *ch = app_channel_find(a, it->channel, strlen(it->channel));
    if (!ch)
        return;
    struct expiry *x = sr_calloc(1, sizeof(*x));
    x->w = w;
    char citizen[65];
    app_citizen_hash(a, it->sender, citizen);
    char *key = sr_asprintf("expire:%lld", (long long)it->expires_at_ms);
    char *base = sr_asprintf("%s:%s:%s", ch->conf->name, key, citizen);
    struct dialog_env env = app_dialog_env(a);
    w->in_flight++;
    if (dialog_expire(a->dialogs, &env, ch->conf->name, citizen, it->session, it->len,
                      app_domain_now(a), base, &x->res) != SR_E_OK) {
        free(key);
        free(base);
        expiry_free(x);
        return;
    }
    commit_swept(x, ch->conf->name, it->sender, key, it->version); /* session NULL: deleted */
    free(key);
    free(base);
}

static void on_expired(void *ud, enum sr_err err, const struct store_expired *items, size_t n)
{
    struct worker *w = ud;
    w->sweeping = 0;
    if (err != SR_E_OK || w->draining)
        return;
    for (size_t i = 0; i < n; i++)
        expire_one(w, &items[i]);
}

void sweep_expired(struct worker *w)
{
    if (w->sweeping || w->draining || !store_is_connected(w->store))
        return;
    w->sweeping = 1;
    store_claim_expired(w->store, app_domain_now(w->app), 60000, 32, on_expired, w);
}

/* ---- SLA deadlines ---- */

/* One due deadline: the dialog decides (escalate once, or nothing if met meanwhile); the commit
 * is deduplicated on "sla:<ticket>:<kind>", so two workers never escalate twice. */
static void breach_one(struct worker *w, const struct store_sla_due *it)
{
    struct app *a = w->app;
    struct expiry *x = sr_calloc(1, sizeof(*x));
    x->w = w;
    w->in_flight++;
    char *key = sr_asprintf("sla:%s:%s", it->ticket, it->kind);
    struct dialog_env env = app_dialog_env(a);
    if (dialog_sla_breach(a->dialogs, &env, it->record, it->len, it->version, it->kind,
                          app_domain_now(a), key, &x->res) != SR_E_OK ||
        !x->res.complaint) {
        free(key);
        expiry_free(x);
        return;
    }
    commit_swept(x, "sla", it->ticket, key, -1); /* no session: only the record's version */
    free(key);
}

static void on_sla_due(void *ud, enum sr_err err, const struct store_sla_due *items, size_t n)
{
    struct worker *w = ud;
    w->sla_sweeping = 0;
    if (err != SR_E_OK || w->draining)
        return;
    for (size_t i = 0; i < n; i++)
        breach_one(w, &items[i]);
}

void sweep_sla(struct worker *w)
{
    if (w->sla_sweeping || w->draining || !store_is_connected(w->store))
        return;
    w->sla_sweeping = 1;
    store_claim_sla(w->store, app_domain_now(w->app), 60000, 32, on_sla_due, w);
}
