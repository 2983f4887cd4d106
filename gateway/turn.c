/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The turn (turn.h): for each item of a batch in order, load the sender's session (and whether
 * the provider id was already committed), run the pure dialog step, and commit everything in one
 * atomic Redis script. A version conflict (two messages of one sender at once) reloads and steps
 * again. A sender over the [limits] message rate is not stepped: the window's first excess
 * message gets one slow-down reply, the rest are only deduplicated and acknowledged (the load
 * reads the window's count, the commit counts the message, so the limit costs no extra round
 * trip). A delivery status changes no session: it is recorded once. What the end of a batch
 * means (an HTTP answer, the next spooled request) is the caller's (struct turn_caller).
 */
#include "turn.h"

#include "sr_mem.h"
#include "sr_pseudo.h"

#include <stdlib.h>
#include <string.h>

#define MAX_CONFLICT_RETRIES 8

static void process_next(struct turn_job *j);

struct turn_job *turn_job_new(struct worker *w, const struct app_channel *ch,
                              const struct turn_caller *caller, struct gw_request *r)
{
    struct turn_job *j = sr_calloc(1, sizeof(*j));
    j->caller = caller;
    j->w = w;
    j->ch = ch;
    if (r) {
        j->r = r;
        gw_request_hold(r);
    }
    w->in_flight++;
    return j;
}

void turn_job_run(struct turn_job *j)
{
    j->idx = 0;
    process_next(j);
}

static void step_clear(struct turn_job *j)
{
    if (j->reply_json)
        for (size_t i = 0; i < j->res.n_replies; i++)
            free(j->reply_json[i]);
    free(j->reply_json);
    j->reply_json = NULL;
    dialog_result_clear(&j->res);
    free(j->event_base);
    j->event_base = NULL;
    free(j->session);
    j->session = NULL;
    free(j->rate_id);
    j->rate_id = NULL;
    j->limited = 0;
}

void turn_job_free(struct turn_job *j)
{
    if (!j)
        return;
    step_clear(j);
    sr_inbound_batch_clear(&j->batch);
    j->w->in_flight--;
    if (j->r)
        gw_request_release(j->r);
    free(j);
}

/* "Now" for this job's dialog step: a replayed message keeps the time it was received. */
static int64_t job_now(const struct turn_job *j)
{
    return j->fixed_now > 0 ? j->fixed_now : app_domain_now(j->w->app);
}

static void advance(struct turn_job *j)
{
    step_clear(j);
    j->idx++;
    j->conflicts = 0;
    process_next(j);
}

static void on_committed(void *ud, enum sr_err err, enum store_commit_result res, long long v)
{
    struct turn_job *j = ud;
    (void)v;
    if (err != SR_E_OK) {
        j->caller->store_failed(j);
        return;
    }
    if (res == STORE_CONFLICT && ++j->conflicts <= MAX_CONFLICT_RETRIES) {
        step_clear(j);
        process_next(j);
        return;
    }
    if (res == STORE_CONFLICT) {
        j->caller->fail(j, SR_E_UNAVAILABLE, "session busy; retry");
        return;
    }
    if (res == STORE_COMMITTED && j->limited)
        metrics_message_limited(j->w->app->metrics, j->ch->index, j->res.n_replies > 0);
    else if (res == STORE_COMMITTED && j->batch.items[j->idx].kind != SR_IN_STATUS)
        metrics_dialog_outcome(j->w->app->metrics, dialog_outcome_name(j->res.outcome));
    advance(j);
}

char **turn_replies_json(const struct dialog_result *res)
{
    char **out = sr_calloc(res->n_replies + 1, sizeof(*out));
    for (size_t i = 0; i < res->n_replies; i++)
        out[i] = sr_reply_to_json(&res->replies[i]);
    return out;
}

/* The store's view of a dialog's complaint write (NULL-safe). */
struct store_complaint_write turn_complaint_write(const struct dialog_complaint_write *d)
{
    return (struct store_complaint_write){
        .ticket = d->ticket,
        .record = d->record,
        .record_len = strlen(d->record),
        .expected_version = d->expected_version,
        .unit = d->unit,
        .open = d->open,
        .due_first_response_ms = d->due_first_response_ms,
        .due_resolution_ms = d->due_resolution_ms,
    };
}

static struct dialog_input step_input(struct turn_job *j, const struct store_complaint *c,
                                      const char *ticket)
{
    return (struct dialog_input){
        .msg = &j->batch.items[j->idx],
        .channel = j->ch->conf->name,
        .citizen = j->citizen,
        .session = j->session,
        .session_len = j->session_len,
        .now_ms = j->now_ms,
        .event_id_base = j->event_base,
        .complaint = c ? c->record : NULL,
        .complaint_len = c ? c->len : 0,
        .complaint_version = c ? c->version : 0,
        .open_list = c ? c->open : NULL,
        .open_lens = c ? c->open_lens : NULL,
        .n_open = c ? c->n_open : 0,
        .new_ticket = ticket,
    };
}

/* Runs the pure step and commits its whole result in one atomic script. */
static void run_step(struct turn_job *j, const struct store_complaint *c)
{
    char ticket[7];
    app_new_ticket(ticket); /* a fresh one per attempt: a taken ticket comes back as a conflict */
    struct dialog_env env = app_dialog_env(j->w->app);
    struct dialog_input in = step_input(j, c, ticket);
    if (dialog_step(j->w->app->dialogs, &env, &in, &j->res) != SR_E_OK) {
        j->caller->fail(j, SR_E_INTERNAL, "dialog step failed");
        return;
    }
    const struct sr_inbound *m = in.msg;
    if (j->caller->take_replies)
        j->caller->take_replies(j, &j->res);
    j->reply_json = turn_replies_json(&j->res);
    struct store_complaint_write cw;
    if (j->res.complaint)
        cw = turn_complaint_write(j->res.complaint);
    struct store_commit commit = {
        .channel = j->ch->conf->name,
        .sender = m->sender,
        .provider_id = m->provider_id,
        .expected_version = j->version,
        .session = j->res.session,
        .session_len = j->res.session ? strlen(j->res.session) : 0,
        .expires_at_ms = j->res.expires_at_ms,
        .events = (const char *const *)j->res.events,
        .n_events = j->res.n_events,
        .replies = (const char *const *)j->reply_json,
        .n_replies = j->res.n_replies,
        .complaint = j->res.complaint ? &cw : NULL,
        .feed = (const char *const *)j->res.feed,
        .n_feed = j->res.n_feed,
        .rate_mode = j->rate_id ? STORE_RATE_COUNT : STORE_RATE_NONE,
        .rate_id = j->rate_id,
        .rate_ttl_s = 2 * j->w->app->cfg->limits.window_s,
    };
    store_commit(j->w->store, &commit, on_committed, j);
}

/* A message over its sender's rate limit: counted and deduplicated, the session left alone, and
 * only the window's first such message answered (told: the notice was already committed). */
static void commit_limited(struct turn_job *j, int told)
{
    const struct config *cfg = j->w->app->cfg;
    j->limited = 1;
    if (!told) {
        struct dialog_env env = app_dialog_env(j->w->app);
        struct dialog_input in = step_input(j, NULL, NULL);
        if (dialog_slow_down(j->w->app->dialogs, &env, &in, cfg->limits.window_s, &j->res) !=
            SR_E_OK) {
            j->caller->fail(j, SR_E_INTERNAL, "dialog step failed");
            return;
        }
    }
    j->reply_json = turn_replies_json(&j->res);
    const struct sr_inbound *m = &j->batch.items[j->idx];
    struct store_commit c = {
        .channel = j->ch->conf->name,
        .sender = m->sender,
        .provider_id = m->provider_id,
        .expected_version = -1,
        .replies = (const char *const *)j->reply_json,
        .n_replies = j->res.n_replies,
        .rate_mode = STORE_RATE_LIMITED,
        .rate_id = j->rate_id,
        .rate_ttl_s = 2 * cfg->limits.window_s,
    };
    store_commit(j->w->store, &c, on_committed, j);
}

static void on_complaint_loaded(void *ud, enum sr_err err, const struct store_complaint *c)
{
    struct turn_job *j = ud;
    if (err != SR_E_OK) {
        j->caller->store_failed(j);
        return;
    }
    run_step(j, c);
}

static void on_loaded(void *ud, enum sr_err err, const struct store_session *s)
{
    struct turn_job *j = ud;
    if (err != SR_E_OK) {
        j->caller->store_failed(j);
        return;
    }
    if (s->seen) { /* a redelivery: already durable, nothing to do twice */
        j->duplicates++;
        advance(j);
        return;
    }
    free(j->session);
    j->session = s->data ? sr_strndup(s->data, s->len) : NULL;
    j->session_len = s->data ? s->len : 0;
    j->version = s->version;
    j->now_ms = job_now(j);
    if (j->rate_limit > 0 && s->rate_n >= j->rate_limit) {
        commit_limited(j, s->rate_told);
        return;
    }
    /* does the step need a complaint (or a unit's open list) loaded first? */
    struct dialog_env env = app_dialog_env(j->w->app);
    struct dialog_input in = step_input(j, NULL, NULL);
    struct dialog_refs refs = {{0}};
    if (dialog_refs(j->w->app->dialogs, &env, &in, &refs) == SR_E_OK &&
        (refs.ticket[0] || refs.list_unit[0])) {
        store_complaint_load(j->w->store, refs.ticket, refs.list_unit, on_complaint_loaded, j);
        return;
    }
    run_step(j, NULL);
}

/* The status event carries the provider id only as its keyed hash (pid), as sent replies do:
 * WhatsApp ids encode the citizen's number. */
static char *status_event(const struct turn_job *j, const struct sr_inbound *m, const char *pid)
{
    char *id = sr_asprintf("%s:status:%s:%s", j->ch->conf->name, pid, m->status);
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s?}", "id", id, "type", "message_status", "at",
                  (json_int_t)app_domain_now(j->w->app), "channel", j->ch->conf->name,
                  "provider_id", pid, "status", m->status, "error_code", m->error_code);
    free(id);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* A delivery status changes no session: record it once, keyed by message id and status. */
static void commit_status(struct turn_job *j, const struct sr_inbound *m)
{
    char pid[SR_PSEUDO_ID_LEN];
    app_provider_id_hash(j->w->app, m->provider_id, pid);
    char *ev = status_event(j, m, pid);
    char *key = sr_asprintf("status:%s:%s", pid, m->status);
    j->res.events = sr_calloc(1, sizeof(char *));
    j->res.events[0] = ev;
    j->res.n_events = 1;
    j->event_base = key; /* freed with the step */
    struct store_commit c = {
        .channel = j->ch->conf->name,
        .sender = m->sender ? m->sender : "-",
        .provider_id = key,
        .expected_version = -1,
        .events = (const char *const *)j->res.events,
        .n_events = 1,
    };
    store_commit(j->w->store, &c, on_committed, j);
}

/* The sender's rate window on the domain clock, keyed by the pseudonym (never the number);
 * none for officers' API commands and for senders without a limit. */
static void rate_window(struct turn_job *j, const struct sr_inbound *m)
{
    const struct app *a = j->w->app;
    int officer = evalstore_registry_by_phone(a->registry, m->sender) != NULL;
    j->rate_limit = j->caller->unlimited ? 0
                    : officer            ? a->cfg->limits.officer_messages_per_window
                                         : a->cfg->limits.messages_per_window;
    if (j->rate_limit <= 0)
        return;
    long long window = job_now(j) / (1000LL * a->cfg->limits.window_s);
    j->rate_id = sr_asprintf("%s:%lld", j->citizen, window);
}

static void process_next(struct turn_job *j)
{
    if (j->idx == j->batch.n) {
        j->caller->finish(j);
        return;
    }
    const struct sr_inbound *m = &j->batch.items[j->idx];
    if (m->kind == SR_IN_STATUS) {
        if (m->provider_id && m->status)
            commit_status(j, m);
        else
            advance(j); /* a status without id or state: nothing to record */
        return;
    }
    if (!m->sender || !m->provider_id) {
        advance(j);
        return;
    }
    app_citizen_hash(j->w->app, m->sender, j->citizen);
    char pid[SR_PSEUDO_ID_LEN];
    app_provider_id_hash(j->w->app, m->provider_id, pid); /* event ids never hold a raw id */
    j->event_base = sr_asprintf("%s:%s", j->ch->conf->name, pid);
    rate_window(j, m);
    store_session_load_rated(j->w->store, j->ch->conf->name, m->sender, m->provider_id, j->rate_id,
                             on_loaded, j);
}
