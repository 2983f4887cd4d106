/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inbound pipeline of one webhook request: the guessed-secret throttle, verify the signature,
 * parse into normalised items (reporting the ones the handler set aside), then for each item in
 * order: load the sender's session (and whether the provider id was already committed), run the
 * pure dialog step, and commit everything in one atomic Redis script.
 * A version conflict (two messages of one sender at once) reloads and steps again. A sender over
 * the [limits] message rate is not stepped: the window's first excess message gets one slow-down
 * reply, the rest are only deduplicated and acknowledged (the load reads the window's count, the
 * commit counts the message, so the limit costs no extra round trip). The provider
 * gets its 200 only after every item is durable: in Redis, or, when Redis is unreachable or
 * cannot confirm, in the local inbound spool (spool.h; 503 only when that is full), from which
 * the request is replayed in order through this same pipeline once Redis is back.
 * Also here: the idle-expiry sweep, which runs the dialog's expiry step for claimed sessions.
 */
#include "server.h"

#include "spool.h"
#include "sr_log.h"
#include "sr_mem.h"
#include "sr_pseudo.h"
#include "trust.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONFLICT_RETRIES 8

struct job {
    struct gw_request *r; /* held */
    struct worker *w;
    const struct app_channel *ch;
    struct sr_inbound_batch batch;
    size_t idx;
    int conflicts;
    char citizen[65];
    char *event_base;
    struct dialog_result res;
    char **reply_json;
    /* the loaded session, kept across the complaint load (store data is borrowed) */
    char *session;
    size_t session_len;
    long long version;
    int64_t now_ms;
    /* an officer's command over the HTTP API: replies to the officer become the HTTP answer */
    int api;
    int api_duplicate;
    json_t *api_told; /* array of texts */
    /* the sender's message-rate window: "<citizen>:<window index>" and its limit (0 = none) */
    char *rate_id;
    int rate_limit;
    int limited; /* this item is over the limit: not stepped */
    /* a replay of the inbound spool: no HTTP request (r is NULL), stepped at the receive time */
    int replay;
    int64_t received_ms;
};

static void process_next(struct job *j);

static struct sr_http_in http_in(const struct gw_request *r)
{
    return (struct sr_http_in){
        .method = r->method,
        .path = r->path,
        .query = r->query ? r->query : "",
        .headers = r->headers,
        .n_headers = r->n_headers,
        .body = r->body ? r->body : (const unsigned char *)"",
        .body_len = r->body_len,
    };
}

static void respond_answer(struct gw_request *r, struct sr_http_answer *ans)
{
    gw_respond(r, ans->status, ans->content_type, ans->body, ans->body_len);
    sr_http_answer_clear(ans);
}

void webhook_get(struct gw_request *r)
{
    const struct handler *h = r->channel->handler;
    if (!h->handshake) {
        gw_respond_error(r, SR_E_METHOD, "this channel takes POST only");
        return;
    }
    if (trust_refused_or_reply(r, TRUST_VERIFY_TOKEN))
        return;
    struct sr_http_in in = http_in(r);
    struct sr_http_answer ans = {0};
    struct sr_errbuf eb = {{0}};
    enum sr_err e = h->handshake(r->channel->conf, &in, &ans, &eb);
    trust_record(r, TRUST_VERIFY_TOKEN, e != SR_E_OK);
    if (e != SR_E_OK) {
        sr_http_answer_clear(&ans);
        gw_respond_error(r, e, eb.msg);
        return;
    }
    respond_answer(r, &ans);
}

static void step_clear(struct job *j)
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

static void job_free(struct job *j)
{
    step_clear(j);
    sr_inbound_batch_clear(&j->batch);
    json_decref(j->api_told);
    j->w->in_flight--;
    if (j->r)
        gw_request_release(j->r);
    free(j);
}

static void replay_finished(struct job *j, int committed, const char *detail);
static void replay_interrupted(struct job *j);

static void job_fail(struct job *j, enum sr_err e, const char *detail)
{
    if (j->replay && e == SR_E_UNAVAILABLE) { /* e.g. a session busy: the record waits */
        replay_interrupted(j);
        return;
    }
    if (j->replay) {
        replay_finished(j, 0, detail);
        return;
    }
    gw_respond_error(j->r, e, detail);
    job_free(j);
}

/* "Now" for this job's dialog step: a replayed message keeps the time it was received. */
static int64_t job_now(const struct job *j)
{
    return j->replay ? j->received_ms : app_domain_now(j->w->app);
}

static void api_finish(struct job *j);
static void spool_or_refuse(struct gw_request *r, const struct sr_inbound_batch *b);

/* Redis could not make an item durable. A webhook goes to the spool (200 once on disk; its
 * items already committed are deduplicated when it is replayed); a replay stops until Redis is
 * back; an officer's API command is refused. */
static void job_store_failed(struct job *j)
{
    if (j->replay) {
        replay_interrupted(j);
    } else if (j->api) {
        job_fail(j, SR_E_UNAVAILABLE, "state store unavailable; message not accepted");
    } else {
        spool_or_refuse(j->r, &j->batch);
        job_free(j);
    }
}

static void job_finish(struct job *j)
{
    if (j->replay) {
        replay_finished(j, 1, NULL);
        return;
    }
    if (j->api) {
        api_finish(j);
        return;
    }
    struct sr_http_answer ans = {0};
    struct sr_errbuf eb = {{0}};
    enum sr_err e = j->ch->handler->format_answer(j->ch->conf, &j->batch, &ans, &eb);
    if (e != SR_E_OK) {
        sr_http_answer_clear(&ans);
        job_fail(j, e, eb.msg);
        return;
    }
    respond_answer(j->r, &ans);
    job_free(j);
}

static void advance(struct job *j)
{
    step_clear(j);
    j->idx++;
    j->conflicts = 0;
    process_next(j);
}

static void on_committed(void *ud, enum sr_err err, enum store_commit_result res, long long v)
{
    struct job *j = ud;
    (void)v;
    if (err != SR_E_OK) {
        job_store_failed(j);
        return;
    }
    if (res == STORE_CONFLICT && ++j->conflicts <= MAX_CONFLICT_RETRIES) {
        step_clear(j);
        process_next(j);
        return;
    }
    if (res == STORE_CONFLICT) {
        job_fail(j, SR_E_UNAVAILABLE, "session busy; retry");
        return;
    }
    if (res == STORE_COMMITTED && j->limited)
        metrics_message_limited(j->w->app->metrics, j->ch->index, j->res.n_replies > 0);
    else if (res == STORE_COMMITTED && j->batch.items[j->idx].kind != SR_IN_STATUS)
        metrics_dialog_outcome(j->w->app->metrics, dialog_outcome_name(j->res.outcome));
    advance(j);
}

static char **replies_to_json(const struct dialog_result *res)
{
    char **out = sr_calloc(res->n_replies + 1, sizeof(*out));
    for (size_t i = 0; i < res->n_replies; i++)
        out[i] = sr_reply_to_json(&res->replies[i]);
    return out;
}

/* The store's view of a dialog's complaint write (NULL-safe). */
static struct store_complaint_write complaint_write_of(const struct dialog_complaint_write *d)
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

static struct dialog_input step_input(struct job *j, const struct store_complaint *c,
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

/* API commands: what the dialog tells the officer on their own channel is the HTTP answer
 * instead of a chat message; replies to anybody else (the citizen) go out as usual. */
static void api_take_own_replies(struct job *j)
{
    const struct sr_inbound *m = &j->batch.items[j->idx];
    size_t kept = 0;
    for (size_t i = 0; i < j->res.n_replies; i++) {
        struct sr_reply *rp = &j->res.replies[i];
        if (strcmp(rp->channel, j->ch->conf->name) == 0 && strcmp(rp->to, m->sender) == 0) {
            json_array_append_new(j->api_told, json_string(rp->text ? rp->text : ""));
            sr_reply_clear(rp);
        } else {
            if (kept != i)
                j->res.replies[kept] = *rp;
            kept++;
        }
    }
    j->res.n_replies = kept;
}

/* Runs the pure step and commits its whole result in one atomic script. */
static void run_step(struct job *j, const struct store_complaint *c)
{
    char ticket[7];
    app_new_ticket(ticket); /* a fresh one per attempt: a taken ticket comes back as a conflict */
    struct dialog_env env = app_dialog_env(j->w->app);
    struct dialog_input in = step_input(j, c, ticket);
    if (dialog_step(j->w->app->dialogs, &env, &in, &j->res) != SR_E_OK) {
        job_fail(j, SR_E_INTERNAL, "dialog step failed");
        return;
    }
    const struct sr_inbound *m = in.msg;
    if (j->api)
        api_take_own_replies(j);
    j->reply_json = replies_to_json(&j->res);
    struct store_complaint_write cw;
    if (j->res.complaint)
        cw = complaint_write_of(j->res.complaint);
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
static void commit_limited(struct job *j, int told)
{
    const struct config *cfg = j->w->app->cfg;
    j->limited = 1;
    if (!told) {
        struct dialog_env env = app_dialog_env(j->w->app);
        struct dialog_input in = step_input(j, NULL, NULL);
        if (dialog_slow_down(j->w->app->dialogs, &env, &in, cfg->limits.window_s, &j->res) !=
            SR_E_OK) {
            job_fail(j, SR_E_INTERNAL, "dialog step failed");
            return;
        }
    }
    j->reply_json = replies_to_json(&j->res);
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
    struct job *j = ud;
    if (err != SR_E_OK) {
        job_store_failed(j);
        return;
    }
    run_step(j, c);
}

static void on_loaded(void *ud, enum sr_err err, const struct store_session *s)
{
    struct job *j = ud;
    if (err != SR_E_OK) {
        job_store_failed(j);
        return;
    }
    if (s->seen) { /* a redelivery: already durable, nothing to do twice */
        j->api_duplicate = 1;
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
static char *status_event(const struct job *j, const struct sr_inbound *m, const char *pid)
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
static void commit_status(struct job *j, const struct sr_inbound *m)
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
static void rate_window(struct job *j, const struct sr_inbound *m)
{
    const struct app *a = j->w->app;
    int officer = evalstore_registry_by_phone(a->registry, m->sender) != NULL;
    j->rate_limit = j->api    ? 0
                    : officer ? a->cfg->limits.officer_messages_per_window
                              : a->cfg->limits.messages_per_window;
    if (j->rate_limit <= 0)
        return;
    long long window = job_now(j) / (1000LL * a->cfg->limits.window_s);
    j->rate_id = sr_asprintf("%s:%lld", j->citizen, window);
}

static void process_next(struct job *j)
{
    if (j->idx == j->batch.n) {
        job_finish(j);
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

#define MAX_REJECTS_LOGGED 8 /* per request; the metric counts them all */

/* Items the handler set aside (another number's, malformed): logged with place and reason
 * (never a number or a text) and counted; the rest of the batch goes on. */
static void report_rejects(const struct gw_request *r, const struct sr_inbound_batch *b)
{
    const struct app_channel *ch = r->channel;
    for (size_t i = 0; i < b->n_rejects; i++) {
        const char *reason = sr_inbound_reject_name(b->rejects[i].reason);
        metrics_item_rejected(r->w->app->metrics, ch->index, reason);
        if (i < MAX_REJECTS_LOGGED)
            SR_LOG(WARN, "webhook", r->id, "channel %s: item not processed (%s): %s",
                   ch->conf->name, reason, b->rejects[i].detail);
    }
    if (b->n_rejects > MAX_REJECTS_LOGGED)
        SR_LOG(WARN, "webhook", r->id, "channel %s: %zu more items not processed", ch->conf->name,
               b->n_rejects - MAX_REJECTS_LOGGED);
    if (b->n == 0 && b->n_rejects > 0)
        SR_LOG(WARN, "webhook", r->id,
               "channel %s: nothing in this request is processed; answered 200 so the provider "
               "does not redeliver it",
               ch->conf->name);
}

/* Redis is unreachable from this worker, or older requests still wait in the spool (a new one
 * must not overtake them): this request goes to the spool too. */
static int must_spool(const struct gw_request *r)
{
    struct spool *sp = r->w->app->spool;
    return sp && (!store_is_connected(r->w->store) || spool_records(sp) > 0);
}

void webhook_post(struct gw_request *r)
{
    const struct app_channel *ch = r->channel;
    if (trust_refused_or_reply(r, TRUST_SIGNATURE))
        return;
    struct sr_http_in in = http_in(r);
    struct sr_errbuf eb = {{0}};
    enum sr_err e = ch->handler->verify(ch->conf, &in, &eb);
    trust_record(r, TRUST_SIGNATURE, e == SR_E_SIGNATURE);
    if (e != SR_E_OK) {
        gw_respond_error(r, e, eb.msg);
        return;
    }
    struct job *j = sr_calloc(1, sizeof(*j));
    e = ch->handler->parse(ch->conf, &in, &j->batch, &eb);
    if (e != SR_E_OK) {
        sr_inbound_batch_clear(&j->batch);
        free(j);
        gw_respond_error(r, e, eb.msg);
        return;
    }
    report_rejects(r, &j->batch);
    for (size_t i = 0; i < j->batch.n; i++)
        metrics_message_in(r->w->app->metrics, ch->index,
                           sr_inbound_kind_name(j->batch.items[i].kind));
    if (must_spool(r)) {
        spool_or_refuse(r, &j->batch);
        sr_inbound_batch_clear(&j->batch);
        free(j);
        return;
    }
    j->r = r;
    j->w = r->w;
    j->ch = ch;
    gw_request_hold(r);
    r->w->in_flight++;
    process_next(j);
}

/* ---- the inbound spool (spool.h) ---- */

void webhook_spool_gauges(struct app *a)
{
    if (a->spool)
        metrics_set_spool(a->metrics, (long long)spool_records(a->spool),
                          (long long)spool_bytes(a->spool));
}

/* Redis cannot take this verified request now: keep it in the spool (on disk before the answer)
 * and answer as if committed, or 503 when the spool is full or cannot be written. */
static void spool_or_refuse(struct gw_request *r, const struct sr_inbound_batch *b)
{
    struct app *a = r->w->app;
    const struct app_channel *ch = r->channel;
    struct sr_errbuf eb = {{0}};
    struct sr_http_in in = http_in(r);
    enum sr_err e =
        a->spool ? spool_append(a->spool, ch->conf->name, app_domain_now(a), &in, &eb)
                 : sr_errf(&eb, SR_E_UNAVAILABLE, "state store unavailable; message not accepted");
    webhook_spool_gauges(a);
    if (e != SR_E_OK) {
        metrics_spool_event(a->metrics, "full");
        SR_LOG(WARN, "webhook", r->id, "channel %s: not spooled: %s", ch->conf->name, eb.msg);
        gw_respond_error(r, SR_E_UNAVAILABLE, eb.msg);
        return;
    }
    struct sr_http_answer ans = {0};
    if (ch->handler->format_answer(ch->conf, b, &ans, &eb) != SR_E_OK) {
        sr_http_answer_clear(&ans);
        gw_respond(r, 200, "application/json", "{}", 2); /* it is on disk: never a 5xx now */
        return;
    }
    respond_answer(r, &ans);
}

static void replay_next(struct worker *w);

static void replay_stop(struct worker *w)
{
    spool_release(w->app->spool);
    w->replaying = 0;
    webhook_spool_gauges(w->app);
}

/* The replayed record is committed (or given up, with the reason logged): past it, next. */
static void replay_finished(struct job *j, int committed, const char *detail)
{
    struct worker *w = j->w;
    struct app *a = w->app;
    metrics_spool_event(a->metrics, committed ? "replayed" : "failed");
    if (!committed)
        SR_LOG(ERROR, "spool", NULL, "channel %s: spooled webhook given up: %s", j->ch->conf->name,
               detail ? detail : "failed");
    spool_done(a->spool);
    job_free(j);
    replay_next(w);
}

/* Redis went away again: the record stays where it is for the next attempt. */
static void replay_interrupted(struct job *j)
{
    struct worker *w = j->w;
    SR_LOG(WARN, "spool", NULL, "replay paused: state store unavailable");
    job_free(j);
    replay_stop(w);
}

/* Parses a spooled request and runs it through the pipeline; -1 (detail in eb) when it cannot
 * be run at all. The signature was verified before it was spooled. */
static int replay_start(struct worker *w, const struct spool_record *rec, struct sr_errbuf *eb)
{
    struct app *a = w->app;
    const struct app_channel *ch = app_channel_find(a, rec->channel, strlen(rec->channel));
    if (!ch) {
        sr_errf(eb, SR_E_NOT_FOUND, "channel %s is no longer configured", rec->channel);
        return -1;
    }
    struct job *j = sr_calloc(1, sizeof(*j));
    if (ch->handler->parse(ch->conf, &rec->in, &j->batch, eb) != SR_E_OK) {
        sr_inbound_batch_clear(&j->batch);
        free(j);
        return -1;
    }
    j->w = w;
    j->ch = ch;
    j->replay = 1;
    j->received_ms = rec->received_ms;
    w->in_flight++;
    process_next(j);
    return 0;
}

static void replay_next(struct worker *w)
{
    struct app *a = w->app;
    for (;;) {
        if (w->draining || !store_is_connected(w->store)) {
            replay_stop(w);
            return;
        }
        struct spool_record rec;
        struct sr_errbuf eb = {{0}};
        enum sr_err e = spool_peek(a->spool, &rec, &eb);
        if (e == SR_E_NOT_FOUND || e == SR_E_IO) {
            if (e == SR_E_IO)
                SR_LOG(ERROR, "spool", NULL, "%s", eb.msg);
            else
                SR_LOG(INFO, "spool", NULL, "worker %d: inbound spool replayed", w->idx);
            replay_stop(w);
            return;
        }
        int started = e == SR_E_OK && replay_start(w, &rec, &eb) == 0;
        spool_record_clear(&rec);
        if (started)
            return;
        metrics_spool_event(a->metrics, "failed");
        SR_LOG(ERROR, "spool", NULL, "spooled webhook given up: %s", eb.msg);
        spool_done(a->spool);
    }
}

void webhook_replay_spool(struct worker *w)
{
    struct spool *sp = w->app->spool;
    if (!sp || w->replaying || w->draining || !store_is_connected(w->store) || !spool_claim(sp))
        return;
    w->replaying = 1;
    SR_LOG(INFO, "spool", NULL, "worker %d: replaying %zu spooled webhook(s)", w->idx,
           spool_records(sp));
    replay_next(w);
}

/* ---- officer commands over the HTTP API ---- */

static void api_finish(struct job *j)
{
    const char *text = j->batch.items[0].text;
    const char *sp = strchr(text, ' ');
    size_t n = sp ? strcspn(sp + 1, " ") : 0;
    json_t *o = json_pack("{s:s%, s:O, s:b}", "ticket", sp ? sp + 1 : "", n, "replies", j->api_told,
                          "duplicate", j->api_duplicate);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    gw_respond(j->r, 200, "application/json", s, strlen(s));
    free(s);
    job_free(j);
}

/* "api:<officer>:<key>": the dedupe key of the command, so a retried call changes nothing twice.
 * Without an Idempotency-Key every call is new. NULL for an unusable key. */
static char *api_provider_id(const char *officer_code, const char *idem_key)
{
    char rnd[33];
    if (!idem_key || !*idem_key) {
        unsigned char b[16];
        if (RAND_bytes(b, sizeof(b)) != 1)
            return NULL;
        for (size_t i = 0; i < sizeof(b); i++)
            snprintf(rnd + 2 * i, 3, "%02x", b[i]);
        idem_key = rnd;
    }
    size_t n = strlen(idem_key);
    if (n > 128 || strspn(idem_key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789-_.:") != n)
        return NULL;
    return sr_asprintf("api:%s:%s", officer_code, idem_key);
}

void webhook_officer_api(struct gw_request *r, const char *officer_code, const char *text,
                         const char *idem_key)
{
    struct app *a = r->w->app;
    const struct sr_officer *o = evalstore_registry_lookup(a->registry, officer_code);
    const struct app_channel *ch =
        app_channel_find(a, a->officer_channel, strlen(a->officer_channel));
    if (!o || !o->phone || !ch) {
        gw_respond_error(r, SR_E_NOT_FOUND, "no such officer, or no officer channel");
        return;
    }
    char *pid = api_provider_id(o->code, idem_key);
    if (!pid) {
        gw_respond_error(r, SR_E_INVALID, "Idempotency-Key: at most 128 of A-Z a-z 0-9 - _ . :");
        return;
    }
    if (r->w->draining) {
        free(pid);
        gw_respond_error(r, SR_E_UNAVAILABLE, "shutting down");
        return;
    }
    struct job *j = sr_calloc(1, sizeof(*j));
    struct sr_inbound *m = sr_inbound_batch_add(&j->batch);
    m->kind = SR_IN_TEXT;
    m->provider_id = pid;
    m->sender = sr_strdup(o->phone[0] == '+' ? o->phone + 1 : o->phone);
    m->text = sr_strdup(text);
    j->api = 1;
    j->api_told = json_array();
    j->r = r;
    j->w = r->w;
    j->ch = ch;
    gw_request_hold(r);
    r->w->in_flight++;
    process_next(j);
}

/* ---- idle expiry ---- */

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
    x->reply_json = replies_to_json(&x->res);
    struct store_complaint_write cw;
    if (x->res.complaint)
        cw = complaint_write_of(x->res.complaint);
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

void webhook_sweep_expired(struct worker *w)
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

void webhook_sweep_sla(struct worker *w)
{
    if (w->sla_sweeping || w->draining || !store_is_connected(w->store))
        return;
    w->sla_sweeping = 1;
    store_claim_sla(w->store, app_domain_now(w->app), 60000, 32, on_sla_due, w);
}
