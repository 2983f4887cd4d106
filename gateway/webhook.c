/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The provider side of the core path: WhatsApp's GET handshake, and a webhook POST - the
 * guessed-secret throttle, verify the signature, parse into normalised items (reporting the ones
 * the handler set aside), then the turn (turn.h) over the items in order. The provider gets its
 * 200 only after every item is durable: in Redis, or, when Redis is unreachable or cannot
 * confirm, in the local inbound spool (spool.h; 503 only when that is full), from which the
 * request is replayed in order through the same turn once Redis is back.
 */
#include "turn.h"

#include "spool.h"
#include "sr_log.h"
#include "sr_mem.h"
#include "trust.h"

#include <stdlib.h>
#include <string.h>

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

static void spool_or_refuse(struct gw_request *r, const struct sr_inbound_batch *b);
static void replay_finished(struct turn_job *j, int committed, const char *detail);
static void replay_interrupted(struct turn_job *j);

/* ---- a provider request ---- */

static void post_finish(struct turn_job *j)
{
    struct sr_http_answer ans = {0};
    struct sr_errbuf eb = {{0}};
    enum sr_err e = j->ch->handler->format_answer(j->ch->conf, &j->batch, &ans, &eb);
    if (e != SR_E_OK) {
        sr_http_answer_clear(&ans);
        gw_respond_error(j->r, e, eb.msg);
    } else {
        respond_answer(j->r, &ans);
    }
    turn_job_free(j);
}

static void post_fail(struct turn_job *j, enum sr_err e, const char *detail)
{
    gw_respond_error(j->r, e, detail);
    turn_job_free(j);
}

/* Redis could not make an item durable: the request goes to the spool (200 once on disk; its
 * items already committed are deduplicated when it is replayed). */
static void post_store_failed(struct turn_job *j)
{
    spool_or_refuse(j->r, &j->batch);
    turn_job_free(j);
}

static const struct turn_caller post_caller = {
    .finish = post_finish,
    .fail = post_fail,
    .store_failed = post_store_failed,
};

/* ---- a replay of the inbound spool ---- */

static void replay_finish(struct turn_job *j)
{
    replay_finished(j, 1, NULL);
}

static void replay_fail(struct turn_job *j, enum sr_err e, const char *detail)
{
    if (e == SR_E_UNAVAILABLE) /* e.g. a session busy: the record waits */
        replay_interrupted(j);
    else
        replay_finished(j, 0, detail);
}

static const struct turn_caller replay_caller = {
    .finish = replay_finish,
    .fail = replay_fail,
    .store_failed = replay_interrupted, /* stops until Redis is back */
};

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
    struct sr_inbound_batch batch = {0};
    e = ch->handler->parse(ch->conf, &in, &batch, &eb);
    if (e != SR_E_OK) {
        sr_inbound_batch_clear(&batch);
        gw_respond_error(r, e, eb.msg);
        return;
    }
    report_rejects(r, &batch);
    for (size_t i = 0; i < batch.n; i++)
        metrics_message_in(r->w->app->metrics, ch->index,
                           sr_inbound_kind_name(batch.items[i].kind));
    if (must_spool(r)) {
        spool_or_refuse(r, &batch);
        sr_inbound_batch_clear(&batch);
        return;
    }
    struct turn_job *j = turn_job_new(r->w, ch, &post_caller, r);
    j->batch = batch;
    turn_job_run(j);
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
static void replay_finished(struct turn_job *j, int committed, const char *detail)
{
    struct worker *w = j->w;
    struct app *a = w->app;
    metrics_spool_event(a->metrics, committed ? "replayed" : "failed");
    if (!committed)
        SR_LOG(ERROR, "spool", NULL, "channel %s: spooled webhook given up: %s", j->ch->conf->name,
               detail ? detail : "failed");
    spool_done(a->spool);
    turn_job_free(j);
    replay_next(w);
}

/* Redis went away again: the record stays where it is for the next attempt. */
static void replay_interrupted(struct turn_job *j)
{
    struct worker *w = j->w;
    SR_LOG(WARN, "spool", NULL, "replay paused: state store unavailable");
    turn_job_free(j);
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
    struct sr_inbound_batch batch = {0};
    if (ch->handler->parse(ch->conf, &rec->in, &batch, eb) != SR_E_OK) {
        sr_inbound_batch_clear(&batch);
        return -1;
    }
    struct turn_job *j = turn_job_new(w, ch, &replay_caller, NULL);
    j->batch = batch;
    j->fixed_now = rec->received_ms;
    turn_job_run(j);
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
