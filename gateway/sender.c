/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sender: reads replies from the outbox stream (store_outbox_read), takes each one's lease
 * (store_outbox_lease), turns it into a provider request with its channel's handler, writes the
 * sending mark and sends it through the http_client on the same loop, retries transient failures
 * while the reply is still useful, and records the outcome with store_outbox_done (or
 * store_outbox_dead), which acks the entry atomically with the outcome event. One struct
 * sender_job per outbox entry being worked on; never more than max_in_flight of them.
 *
 * A job's life: LEASING (acquire) -> MARKING (renew + sending mark) -> SENDING -> on a transient
 * failure WAIT (timer; every lease_ms / 3 a RENEWING round trip keeps the lease) -> MARKING ...;
 * finally DONE (the store's done script) or, when Redis refused it, WAIT_DONE and DONE again:
 * the reply is never sent twice because of a lost ack. A lease lost to another owner, or an
 * entry gone, drops the job without an ack. On stop, waiting jobs are abandoned unacked (the
 * same consumer takes their leases back after the restart); sends in flight finish (they have
 * timeouts) and their dones are given a few more tries.
 *
 * Each channel has a breaker: breaker_failures consecutive transient failures (or one 429 with
 * Retry-After) open it; while open no job of the channel sends; when the open period ends one
 * job is the probe (half-open); its success closes the breaker and wakes the waiting jobs, its
 * failure opens it again for twice as long.
 *
 * Ownership: the sender owns its jobs and their libuv timers (freed in the close callbacks),
 * its http_client, its breakers and a copy of the consumer name; loop, store and channels are
 * borrowed. Logs carry channel, masked recipient and status only: never tokens, bodies or
 * numbers.
 */
#include "sender.h"

#include "handler.h"
#include "http_client.h"
#include "sr_log.h"
#include "sr_mem.h"
#include "sr_pseudo.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SENDER_STOP_DONE_TRIES 3                 /* done retries still made while stopping */
#define SENDER_WA_WINDOW_MS (24LL * 3600 * 1000) /* WhatsApp's customer-service window */
#define SENDER_LEASE_MARGIN_MS 5000 /* a lease outlives an attempt's timeout by this much */

enum job_state {
    JOB_LEASING,  /* acquiring the lease */
    JOB_MARKING,  /* renewing the lease + writing the sending mark, then the request */
    JOB_SENDING,  /* a request is in the http_client */
    JOB_WAIT,     /* timer until the next attempt or lease renewal */
    JOB_RENEWING, /* renewing the lease (or clearing the sending mark) while waiting */
    JOB_DONE,     /* store_outbox_done outstanding */
    JOB_WAIT_DONE /* timer until the done is tried again */
};

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
    enum breaker_state state;
    int failures;        /* consecutive transient failures */
    int open_ms;         /* length of the current (or last) open period */
    uint64_t open_until; /* loop time */
    int probing;         /* half-open: a probe is out */
};

struct sender_job {
    struct sender *s;
    struct sender_job *prev, *next;
    uv_timer_t timer;
    enum job_state state;
    char *entry_id;
    char *json; /* the reply as read: kept for the dead-letter stream */
    size_t json_len;
    struct sr_reply reply;
    const struct sr_channel_conf *ch;
    const struct handler *h;
    struct breaker *br; /* the channel's, NULL until the channel is known */
    struct sr_http_out out;
    int64_t until_ms;   /* wall clock: not worth sending after this */
    uint64_t next_at;   /* loop time of the next attempt */
    uint64_t leased_at; /* loop time of the last lease renewal */
    int attempts;
    int done_tries;
    int probe;      /* this job's attempt is its channel's half-open probe */
    int blocked;    /* waiting for its channel's breaker, not for its own backoff */
    int ambiguous;  /* the last attempt got no answer: it may have been delivered */
    int maybe_sent; /* a previous owner's sending mark: it may have been delivered */
    int graced;     /* another owner's mark was given its grace period */
    int clear;      /* the last attempt surely failed: clear the sending mark */
    long http_status;
    int sent;    /* value for store_outbox_done */
    int dead;    /* record with store_outbox_dead */
    char *event; /* outcome event JSON, NULL for an already-sent entry */
    char *why;   /* dead-letter reason */
};

struct sender {
    uv_loop_t *loop;
    struct store *store;
    const struct sr_channel_conf *channels;
    size_t n_channels;
    struct breaker *breakers; /* one per channel */
    struct sender_conf conf;
    char *consumer;
    struct http_client *http;
    uv_timer_t read_timer; /* first read, and reads after a failure */
    int read_failures;     /* consecutive failed reads, for the backoff */
    struct sender_job *jobs;
    size_t active; /* jobs counting against max_in_flight */
    size_t alive;  /* jobs not yet freed (timer closing) */
    int reading;
    int wait_for_slot; /* the last read brought nothing new: read again when a job ends */
    int stopping, finishing, read_timer_closed, http_closed;
    void (*done)(void *ud);
    void *done_ud;
    uint64_t rng;
};

static void sender_maybe_read(struct sender *s);
static void sender_maybe_finish(struct sender *s);
static void job_try(struct sender_job *j);
static void job_send_done(struct sender_job *j);
static void job_wait(struct sender_job *j);
static void job_on_timer(uv_timer_t *t);

/* ---- small helpers ---- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Jitter only: xorshift64*, not for anything secret. */
static uint64_t sender_rand(struct sender *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ULL;
}

/* Delay before retry number `n` (1-based): the ceiling d = min * 2^(n-1), capped at max; then a
 * uniformly random point in [min, d] (full jitter above the floor), so a crowd of retries
 * spreads over the whole interval instead of arriving together. */
static int sender_backoff(struct sender *s, int n, int min_ms, int max_ms)
{
    int64_t d = min_ms;
    for (int i = 1; i < n && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    return (int)(min_ms + (int64_t)(sender_rand(s) % (uint64_t)(d - min_ms + 1)));
}

static const char *const outcome_names[] = {
    [SR_SEND_OK] = "ok",
    [SR_SEND_RETRY] = "retry",
    [SR_SEND_FAILED] = "failed",
    [SR_SEND_OPTED_OUT] = "opted_out",
};

static const char *job_channel(const struct sender_job *j)
{
    return j->reply.channel ? j->reply.channel : "";
}

static void sender_note(struct sender *s, const char *channel, enum sender_note n)
{
    if (s->conf.on_note)
        s->conf.on_note(s->conf.on_outcome_ud, channel ? channel : "", n);
}

/* The stream entry id "<ms>-<seq>" carries the commit time. */
static int64_t entry_ms(const char *id)
{
    return strtoll(id, NULL, 10);
}

/* ---- breakers ---- */

static const char *breaker_channel(struct sender *s, const struct breaker *b)
{
    return s->channels[b - s->breakers].name;
}

/* 0 when j may send now (perhaps as the half-open probe), else the loop time to look again. */
static uint64_t breaker_blocks(struct sender *s, struct sender_job *j)
{
    struct breaker *b = j->br;
    uint64_t now = uv_now(s->loop);
    if (!b || b->state == BREAKER_CLOSED)
        return 0;
    if (b->state == BREAKER_OPEN && now < b->open_until)
        return b->open_until + sender_rand(s) % (uint64_t)s->conf.backoff_min_ms;
    if (b->probing) /* woken when the probe succeeds; else look again a little later */
        return now + (uint64_t)s->conf.lease_ms / 3;
    b->state = BREAKER_HALF_OPEN;
    b->probing = 1;
    j->probe = 1;
    SR_LOG(INFO, "sender", j->entry_id, "breaker half-open channel=%s: probing",
           breaker_channel(s, b));
    return 0;
}

/* A probe that ends without an answer (lease lost, stop): another job may probe. */
static void breaker_unprobe(struct sender_job *j)
{
    if (j->probe && j->br)
        j->br->probing = 0;
    j->probe = 0;
}

/* The jobs held by b try again now, spread over backoff_min_ms. */
static void breaker_wake(struct sender *s, struct breaker *b)
{
    for (struct sender_job *j = s->jobs; j; j = j->next) {
        if (j->br != b || j->state != JOB_WAIT || !j->blocked)
            continue;
        uint64_t delay = sender_rand(s) % (uint64_t)s->conf.backoff_min_ms;
        j->next_at = uv_now(s->loop) + delay;
        uv_timer_start(&j->timer, job_on_timer, delay, 0);
    }
}

/* The provider answered (any non-transient outcome): the channel works. */
static void breaker_success(struct sender *s, struct sender_job *j)
{
    struct breaker *b = j->br;
    j->probe = 0;
    if (!b)
        return;
    b->failures = 0;
    b->probing = 0;
    if (b->state == BREAKER_CLOSED)
        return;
    b->state = BREAKER_CLOSED;
    b->open_ms = s->conf.breaker_open_ms;
    SR_LOG(INFO, "sender", NULL, "breaker closed channel=%s", breaker_channel(s, b));
    sender_note(s, breaker_channel(s, b), SENDER_NOTE_BREAKER_CLOSED);
    breaker_wake(s, b);
}

/* A transient failure; retry_after_ms > 0 (a 429's Retry-After) holds the whole channel. */
static void breaker_failure(struct sender *s, struct sender_job *j, int64_t retry_after_ms)
{
    struct breaker *b = j->br;
    int probe = j->probe;
    j->probe = 0;
    if (!b)
        return;
    b->failures++;
    if (!probe && b->state != BREAKER_CLOSED)
        return; /* a straggler from before the breaker opened */
    int by_count = probe || b->failures >= s->conf.breaker_failures;
    if (!by_count && retry_after_ms <= 0)
        return;
    int64_t hold = retry_after_ms; /* a Retry-After alone holds the channel just that long */
    if (by_count) {
        int max = s->conf.backoff_max_ms > s->conf.breaker_open_ms ? s->conf.backoff_max_ms
                                                                   : s->conf.breaker_open_ms;
        b->open_ms =
            probe ? (b->open_ms * 2 > max ? max : b->open_ms * 2) : s->conf.breaker_open_ms;
        if (b->open_ms > hold)
            hold = b->open_ms;
    }
    b->open_until = uv_now(s->loop) + (uint64_t)hold;
    b->probing = 0;
    if (b->state == BREAKER_CLOSED) {
        SR_LOG(WARN, "sender", NULL, "breaker open channel=%s for_ms=%lld", breaker_channel(s, b),
               (long long)hold);
        sender_note(s, breaker_channel(s, b), SENDER_NOTE_BREAKER_OPEN);
    }
    b->state = BREAKER_OPEN;
}

/* ---- jobs ---- */

static void job_on_closed(uv_handle_t *h)
{
    struct sender_job *j = h->data;
    struct sender *s = j->s;
    sr_reply_clear(&j->reply);
    sr_http_out_clear(&j->out);
    free(j->entry_id);
    free(j->json);
    free(j->event);
    free(j->why);
    free(j);
    s->alive--;
    sender_maybe_finish(s);
}

static struct sender_job *job_new(struct sender *s, const struct store_outbox_entry *e)
{
    struct sender_job *j = sr_calloc(1, sizeof(*j));
    j->s = s;
    j->entry_id = sr_strdup(e->id);
    j->json = sr_strndup(e->json, e->len);
    j->json_len = e->len;
    uv_timer_init(s->loop, &j->timer);
    j->timer.data = j;
    j->next = s->jobs;
    if (s->jobs)
        s->jobs->prev = j;
    s->jobs = j;
    s->active++;
    s->alive++;
    return j;
}

/* The job is over (acked or abandoned): frees it once its timer is closed, frees a slot. */
static void job_release(struct sender_job *j)
{
    struct sender *s = j->s;
    breaker_unprobe(j);
    if (j->prev)
        j->prev->next = j->next;
    else
        s->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    s->active--;
    s->wait_for_slot = 0;
    uv_timer_stop(&j->timer);
    uv_close((uv_handle_t *)&j->timer, job_on_closed);
    sender_maybe_read(s);
}

static struct sender_job *job_find(struct sender *s, const char *entry_id)
{
    for (struct sender_job *j = s->jobs; j; j = j->next)
        if (strcmp(j->entry_id, entry_id) == 0)
            return j;
    return NULL;
}

/* ---- outcome events ---- */

static char *event_json(struct sender_job *j, const char *type, const char *prefix,
                        const char *provider_id, const char *error)
{
    json_t *e = json_object();
    char *id = sr_asprintf("%s:%s", prefix, j->entry_id);
    json_object_set_new(e, "id", json_string(id));
    json_object_set_new(e, "type", json_string(type));
    json_object_set_new(e, "at", json_integer(wall_ms()));
    json_object_set_new(e, "channel",
                        j->reply.channel ? json_string(j->reply.channel) : json_null());
    json_object_set_new(e, "outbox_id", json_string(j->entry_id));
    if (!error && provider_id && j->s->conf.id_key) {
        char h[SR_PSEUDO_ID_LEN];
        sr_pseudo_provider_id(j->s->conf.id_key, provider_id, h);
        json_object_set_new(e, "provider_id", json_string(h));
    } else if (!error) {
        json_object_set_new(e, "provider_id", provider_id ? json_string(provider_id) : json_null());
    }
    json_object_set_new(e, "attempts", json_integer(j->attempts));
    json_object_set_new(e, "http_status", json_integer(j->http_status));
    if (error)
        json_object_set_new(e, "error", json_string(error));
    char *out = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    free(id);
    return out;
}

/* Records a final outcome (log, metrics hook, event) and acks the entry. */
static void job_finish(struct sender_job *j, enum sr_send_outcome o, const char *provider_id,
                       const char *error)
{
    struct sender *s = j->s;
    char masked[SR_MASK_MAX];
    sr_mask_phone(j->reply.to, masked);
    if (o == SR_SEND_OK) {
        j->sent = 1;
        j->event = event_json(j, "reply_sent", "sent", provider_id, NULL);
        SR_LOG(INFO, "sender", j->entry_id, "sent channel=%s to=%s status=%ld attempts=%d",
               job_channel(j), masked, j->http_status, j->attempts);
    } else {
        j->sent = 0;
        j->event = event_json(j, "reply_failed", "failed", NULL, error);
        SR_LOG(WARN, "sender", j->entry_id,
               "not sent channel=%s to=%s outcome=%s status=%ld attempts=%d error=%s%s",
               job_channel(j), masked, outcome_names[o], j->http_status, j->attempts, error,
               j->dead ? " (dead letter)" : "");
    }
    if (s->conf.on_outcome)
        s->conf.on_outcome(s->conf.on_outcome_ud, job_channel(j), o);
    if (j->dead)
        sender_note(s, job_channel(j), SENDER_NOTE_DEAD);
    job_send_done(j);
}

/* Given up while still undelivered: reply_failed, and the reply to the dead-letter stream. */
static void job_dead(struct sender_job *j, const char *why)
{
    j->dead = 1;
    j->why = sr_strdup(why);
    job_finish(j, SR_SEND_FAILED, NULL, why);
}

/* ---- the done (ack + event), retried on its own ---- */

static void job_on_done_timer(uv_timer_t *t)
{
    job_send_done(t->data);
}

static void job_on_done(void *ud, enum sr_err err)
{
    struct sender_job *j = ud;
    struct sender *s = j->s;
    if (err == SR_E_OK) {
        job_release(j);
        return;
    }
    j->done_tries++;
    if (s->stopping && j->done_tries > SENDER_STOP_DONE_TRIES) {
        SR_LOG(ERROR, "sender", j->entry_id,
               "outcome not recorded, entry left pending: %s (channel=%s)", sr_strerror(err),
               job_channel(j));
        job_release(j);
        return;
    }
    int delay = sender_backoff(s, j->done_tries, s->conf.backoff_min_ms, s->conf.backoff_max_ms);
    SR_LOG(WARN, "sender", j->entry_id, "recording outcome failed: %s, again in %d ms",
           sr_strerror(err), delay);
    j->state = JOB_WAIT_DONE;
    uv_timer_start(&j->timer, job_on_done_timer, (uint64_t)delay, 0);
}

static void job_send_done(struct sender_job *j)
{
    j->state = JOB_DONE;
    if (j->dead)
        store_outbox_dead(j->s->store, j->entry_id, j->json, j->why, j->event, job_on_done, j);
    else
        store_outbox_done(j->s->store, j->entry_id, j->sent, j->event, job_on_done, j);
}

/* ---- leases ---- */

/* The lease answer common to every mode: 1 when the job goes on, 0 when it was ended here. */
static int job_lease_ok(struct sender_job *j, enum sr_err err, enum store_lease_result r)
{
    if (err != SR_E_OK) { /* Redis away: wait a third of a lease and try again; nothing is sent
                             meanwhile; the sending mark stays (the next send overwrites it) */
        j->leased_at = uv_now(j->s->loop);
        j->clear = 0;
        return 1;
    }
    if (r == STORE_LEASE_SENT) { /* sent before a crash: ack only */
        SR_LOG(INFO, "sender", j->entry_id, "already sent, acking");
        j->sent = 1;
        free(j->event);
        j->event = NULL;
        j->dead = 0;
        job_send_done(j);
        return 0;
    }
    if (r == STORE_LEASE_OTHER || r == STORE_LEASE_GONE) {
        SR_LOG(INFO, "sender", j->entry_id, "%s (channel=%s): left alone",
               r == STORE_LEASE_OTHER ? "leased by another worker" : "no longer in the outbox",
               job_channel(j));
        job_release(j);
        return 0;
    }
    j->leased_at = uv_now(j->s->loop);
    return 1;
}

static void job_lease(struct sender_job *j, enum store_lease_mode mode, store_lease_cb *cb)
{
    struct sender *s = j->s;
    store_outbox_lease(s->store, j->entry_id, s->consumer, s->consumer, s->conf.lease_ms, mode, cb,
                       j);
}

/* ---- attempts ---- */

static void job_on_renewed(void *ud, enum sr_err err, enum store_lease_result r, int was_sending)
{
    struct sender_job *j = ud;
    (void)was_sending;
    if (!job_lease_ok(j, err, r))
        return;
    if (err == SR_E_OK)
        j->clear = 0;
    if (j->s->stopping) {
        job_release(j);
        return;
    }
    job_wait(j);
}

/* Sleeps until the next attempt, but never longer than a third of the lease. */
static void job_wait(struct sender_job *j)
{
    struct sender *s = j->s;
    uint64_t now = uv_now(s->loop), renew_at = j->leased_at + (uint64_t)s->conf.lease_ms / 3;
    uint64_t at = j->next_at < renew_at ? j->next_at : renew_at;
    j->state = JOB_WAIT;
    uv_timer_start(&j->timer, job_on_timer, at > now ? at - now : 0, 0);
}

static void job_on_timer(uv_timer_t *t)
{
    struct sender_job *j = t->data;
    struct sender *s = j->s;
    uint64_t now = uv_now(s->loop);
    if (now >= j->next_at && !j->clear) {
        job_try(j);
        return;
    }
    j->state = JOB_RENEWING;
    job_lease(j, j->clear ? STORE_LEASE_CLEAR : STORE_LEASE_RENEW, job_on_renewed);
}

/* A transient failure: another attempt after a backoff (and Retry-After), or the dead letter. */
static void job_retry(struct sender_job *j, long retry_after_s, const char *detail)
{
    struct sender *s = j->s;
    char masked[SR_MASK_MAX];
    int64_t ra_ms = 0;
    if (retry_after_s > 0) {
        int cap = s->conf.retry_after_max_ms;
        ra_ms = retry_after_s > cap / 1000 + 1 ? cap : retry_after_s * 1000;
        if (ra_ms > cap)
            ra_ms = cap;
    }
    breaker_failure(s, j, ra_ms);
    if (s->conf.max_attempts > 0 && j->attempts >= s->conf.max_attempts) {
        char *error = sr_asprintf("gave up after %d attempts: %s", j->attempts, detail);
        job_dead(j, error);
        free(error);
        return;
    }
    if (s->stopping) { /* not acked: read again after the restart */
        SR_LOG(INFO, "sender", j->entry_id, "stopping: retry left for later (channel=%s)",
               job_channel(j));
        job_release(j);
        return;
    }
    int64_t delay = sender_backoff(s, j->attempts, s->conf.backoff_min_ms, s->conf.backoff_max_ms);
    if (ra_ms > delay)
        delay = ra_ms; /* Retry-After wins over a shorter backoff */
    SR_LOG(INFO, "sender", j->entry_id, "retry channel=%s to=%s status=%ld attempt=%d in_ms=%lld",
           job_channel(j), sr_mask_phone(j->reply.to, masked), j->http_status, j->attempts,
           (long long)delay);
    j->next_at = uv_now(s->loop) + (uint64_t)delay;
    if (j->clear) { /* surely not delivered: the sending mark goes at once */
        j->state = JOB_RENEWING;
        job_lease(j, STORE_LEASE_CLEAR, job_on_renewed);
        return;
    }
    job_wait(j);
}

/* curl results after which the provider may have accepted the request. */
static int curl_ambiguous(int code)
{
    return code != CURLE_COULDNT_CONNECT && code != CURLE_COULDNT_RESOLVE_HOST &&
           code != CURLE_COULDNT_RESOLVE_PROXY && code != CURLE_SSL_CONNECT_ERROR;
}

static void job_on_http(void *ud, const struct http_client_response *r)
{
    struct sender_job *j = ud;
    if (r->curl_code == HTTP_CLIENT_E_CANCELLED) { /* client closed under us: not acked */
        job_release(j);
        return;
    }
    j->http_status = r->status;
    if (r->curl_code != 0) {
        j->ambiguous = curl_ambiguous(r->curl_code);
        j->clear = !j->ambiguous;
        job_retry(j, 0, r->error);
        return;
    }
    char *provider_id = NULL;
    enum sr_send_outcome o =
        j->h->classify_send(j->ch, r->status, r->body, r->body_len, &provider_id);
    char *detail = sr_asprintf("http %ld", r->status);
    j->ambiguous = 0;
    if (o == SR_SEND_RETRY) {
        j->clear = 1;
        job_retry(j, r->retry_after_s, detail);
    } else {
        breaker_success(j->s, j);
        job_finish(j, o, provider_id, o == SR_SEND_OPTED_OUT ? "opted_out" : detail);
    }
    free(detail);
    free(provider_id);
}

static void job_attempt(struct sender_job *j)
{
    struct sender *s = j->s;
    struct sr_errbuf eb = {{0}};
    struct http_client_request req = {
        .method = j->out.method,
        .url = j->out.url,
        .content_type = j->out.content_type,
        .body = j->out.body,
        .body_len = j->out.body_len,
        .bearer = j->out.bearer,
        .basic_user = j->out.basic_user,
        .basic_pass = j->out.basic_pass,
        .timeout_ms = s->conf.timeout_ms,
        .connect_timeout_ms = s->conf.connect_timeout_ms,
    };
    j->attempts++;
    j->http_status = 0;
    j->state = JOB_SENDING;
    enum sr_err err = http_client_submit(s->http, &req, job_on_http, j, &eb);
    if (err == SR_E_INVALID) {
        breaker_unprobe(j);
        job_finish(j, SR_SEND_FAILED, NULL, "invalid provider request");
    } else if (err != SR_E_OK) {
        j->clear = 1;
        job_retry(j, 0, sr_strerror(err));
    }
}

/* The sending mark is durable: now the request may go. */
static void job_on_marked(void *ud, enum sr_err err, enum store_lease_result r, int was_sending)
{
    struct sender_job *j = ud;
    struct sender *s = j->s;
    (void)was_sending;
    if (!job_lease_ok(j, err, r))
        return;
    if (err != SR_E_OK || s->stopping) { /* never send without the mark */
        breaker_unprobe(j);
        if (s->stopping) {
            job_release(j);
            return;
        }
        j->next_at = uv_now(s->loop) +
                     (uint64_t)sender_backoff(s, 1, s->conf.backoff_min_ms, s->conf.backoff_max_ms);
        job_wait(j);
        return;
    }
    if (j->maybe_sent || j->ambiguous) {
        char masked[SR_MASK_MAX];
        SR_LOG(WARN, "sender", j->entry_id, "sending again after %s, may repeat (channel=%s to=%s)",
               j->maybe_sent ? "a previous owner's unrecorded attempt" : "an unanswered attempt",
               job_channel(j), sr_mask_phone(j->reply.to, masked));
        sender_note(s, job_channel(j),
                    j->maybe_sent ? SENDER_NOTE_REPEAT_CRASH : SENDER_NOTE_REPEAT_TIMEOUT);
        j->maybe_sent = j->ambiguous = 0;
    }
    job_attempt(j);
}

/* Next step of a job that may send: dead letter, wait for its breaker, or mark and send. */
static void job_try(struct sender_job *j)
{
    struct sender *s = j->s;
    j->blocked = 0;
    if (wall_ms() >= j->until_ms) {
        char *why =
            sr_asprintf("not delivered within its useful window (%d attempts)", j->attempts);
        job_dead(j, why);
        free(why);
        return;
    }
    uint64_t wake = breaker_blocks(s, j);
    if (wake) {
        j->next_at = wake;
        j->blocked = 1;
        job_wait(j);
        return;
    }
    j->state = JOB_MARKING;
    job_lease(j, STORE_LEASE_SEND, job_on_marked);
}

/* ---- reading the outbox ---- */

static const struct sr_channel_conf *sender_channel(struct sender *s, const char *name)
{
    for (size_t i = 0; name && i < s->n_channels; i++)
        if (s->channels[i].name && strcmp(s->channels[i].name, name) == 0)
            return &s->channels[i];
    return NULL;
}

static void job_on_acquired(void *ud, enum sr_err err, enum store_lease_result r, int was_sending)
{
    struct sender_job *j = ud;
    struct sender *s = j->s;
    if (err != SR_E_OK || s->stopping) { /* stays pending: read again after a reconnect */
        job_release(j);
        return;
    }
    if (!job_lease_ok(j, err, r))
        return;
    j->maybe_sent = was_sending != STORE_MARK_NONE;
    if (was_sending == STORE_MARK_OTHER && !j->graced) {
        /* its owner may be alive and only unable to record the outcome (Redis was away): give
         * its done retries time to land before sending again; our renewals then see GONE */
        j->graced = 1;
        j->next_at =
            uv_now(s->loop) + (uint64_t)s->conf.lease_ms + (uint64_t)s->conf.backoff_max_ms;
        SR_LOG(INFO, "sender", j->entry_id, "another owner's sending mark: waiting %d ms",
               s->conf.lease_ms + s->conf.backoff_max_ms);
        job_wait(j);
        return;
    }
    job_try(j);
}

/* Until when a reply is worth sending: WhatsApp's 24-hour window from the citizen's last
 * message, other channels retry_window_s from the commit. The reply's in_at is used when it is
 * plausible (at most 24 h before the commit, not after it: a replayed spool commits late); a
 * drill's domain clock or a stale provider timestamp falls back to the commit time, which the
 * stream entry id carries. */
static int64_t job_useful_until(const struct sender_job *j)
{
    int64_t committed = entry_ms(j->entry_id), in_at = j->reply.in_at_ms;
    if (strcmp(j->ch->type, "whatsapp") == 0) {
        int plausible = in_at > committed - SENDER_WA_WINDOW_MS && in_at <= committed;
        return (plausible ? in_at : committed) + SENDER_WA_WINDOW_MS;
    }
    return committed + (int64_t)j->s->conf.retry_window_s * 1000;
}

static void sender_start_job(struct sender *s, const struct store_outbox_entry *e)
{
    struct sender_job *j = job_new(s, e);
    struct sr_errbuf eb = {{0}};
    if (e->already_sent) { /* sent before a crash: ack only */
        j->sent = 1;
        SR_LOG(INFO, "sender", j->entry_id, "already sent, acking");
        job_send_done(j);
        return;
    }
    if (sr_reply_from_json(&j->reply, e->json, e->len) != 0) {
        job_finish(j, SR_SEND_FAILED, NULL, "malformed reply");
        return;
    }
    j->ch = sender_channel(s, j->reply.channel);
    j->h = j->ch ? handler_find(j->ch->type) : NULL;
    if (!j->h || !j->h->format_outbound || !j->h->classify_send) {
        job_finish(j, SR_SEND_FAILED, NULL, j->ch ? "unknown channel type" : "unknown channel");
        return;
    }
    if (j->h->format_outbound(j->ch, &j->reply, &j->out, &eb) != SR_E_OK) {
        job_finish(j, SR_SEND_FAILED, NULL, eb.msg[0] ? eb.msg : "cannot format reply");
        return;
    }
    j->br = &s->breakers[j->ch - s->channels];
    j->until_ms = job_useful_until(j);
    j->state = JOB_LEASING;
    job_lease(j, STORE_LEASE_ACQUIRE, job_on_acquired);
}

static void sender_on_read_timer(uv_timer_t *t)
{
    sender_maybe_read(t->data);
}

static void sender_on_read(void *ud, enum sr_err err, const struct store_outbox_entry *e, size_t n)
{
    struct sender *s = ud;
    s->reading = 0;
    if (s->stopping) { /* anything read stays pending for the next start */
        sender_maybe_finish(s);
        return;
    }
    if (err != SR_E_OK) {
        s->read_failures++;
        int delay =
            sender_backoff(s, s->read_failures, s->conf.backoff_min_ms, s->conf.backoff_max_ms);
        SR_LOG(WARN, "sender", NULL, "outbox read failed: %s, again in %d ms", sr_strerror(err),
               delay);
        uv_timer_start(&s->read_timer, sender_on_read_timer, (uint64_t)delay, 0);
        return;
    }
    s->read_failures = 0;
    if (n > 0)
        SR_LOG(DEBUG, "sender", NULL, "read %zu outbox entries", n);
    size_t fresh = 0;
    for (size_t i = 0; i < n && s->active < (size_t)s->conf.max_in_flight; i++) {
        if (job_find(s, e[i].id))
            continue; /* our own pending entry, already being worked on */
        sender_start_job(s, &e[i]);
        fresh++;
    }
    if (n > 0 && fresh == 0)
        s->wait_for_slot = 1;
    sender_maybe_read(s);
}

static void sender_maybe_read(struct sender *s)
{
    if (s->stopping || s->reading || s->wait_for_slot ||
        uv_is_active((uv_handle_t *)&s->read_timer))
        return;
    if (s->active >= (size_t)s->conf.max_in_flight)
        return;
    s->reading = 1;
    store_outbox_read(s->store, s->consumer, (size_t)s->conf.max_in_flight - s->active,
                      s->conf.block_ms, s->conf.claim_idle_ms, sender_on_read, s);
}

/* ---- start and stop ---- */

static void conf_default(int *v, int def)
{
    if (*v <= 0)
        *v = def;
}

static void sender_conf_defaults(struct sender_conf *c)
{
    conf_default(&c->timeout_ms, 20000);
    conf_default(&c->connect_timeout_ms, 5000);
    if (c->max_attempts < 0)
        c->max_attempts = 0;
    conf_default(&c->max_in_flight, 64);
    conf_default(&c->backoff_min_ms, 500);
    conf_default(&c->backoff_max_ms, 30000);
    if (c->backoff_max_ms < c->backoff_min_ms)
        c->backoff_max_ms = c->backoff_min_ms;
    conf_default(&c->retry_after_max_ms, c->backoff_max_ms);
    conf_default(&c->block_ms, 1000);
    conf_default(&c->lease_ms, 30000);
    if (c->lease_ms < c->timeout_ms + SENDER_LEASE_MARGIN_MS) /* never expires mid-request */
        c->lease_ms = c->timeout_ms + SENDER_LEASE_MARGIN_MS;
    conf_default(&c->claim_idle_ms, c->lease_ms);
    conf_default(&c->retry_window_s, 86400);
    conf_default(&c->breaker_failures, 5);
    conf_default(&c->breaker_open_ms, 5000);
}

struct sender *sender_start(uv_loop_t *loop, struct store *store,
                            const struct sr_channel_conf *channels, size_t n_channels,
                            const struct sender_conf *conf, struct sr_errbuf *eb)
{
    if (!loop || !store || !conf || !conf->consumer || !conf->consumer[0]) {
        sr_errf(eb, SR_E_INVALID, "sender: loop, store and a consumer name are required");
        return NULL;
    }
    struct sender_conf c = *conf;
    sender_conf_defaults(&c);
    /* One connection per reply in flight. The time a transfer waits in curl for a free
     * connection to its host counts against CURLOPT_TIMEOUT_MS; with fewer connections (it was 4)
     * than replies, a provider answering slowly made queued replies time out right after they
     * finally left, and a timed-out send is ambiguous and sent again (tests/faults scenario
     * provider_slow_12s_20s: 9-10 repeats at CI size). */
    struct http_client_conf hc;
    http_client_conf_defaults(&hc);
    hc.max_host_connections = c.max_in_flight;
    struct http_client *http = http_client_new(loop, &hc, eb);
    if (!http)
        return NULL;
    struct sender *s = sr_calloc(1, sizeof(*s));
    s->loop = loop;
    s->store = store;
    s->channels = channels;
    s->n_channels = n_channels;
    s->conf = c;
    s->consumer = sr_strdup(conf->consumer);
    s->conf.consumer = s->consumer;
    s->http = http;
    s->breakers = sr_calloc(n_channels ? n_channels : 1, sizeof(*s->breakers));
    for (size_t i = 0; i < n_channels; i++)
        s->breakers[i].open_ms = s->conf.breaker_open_ms;
    s->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)s ^ 0x9e3779b97f4a7c15ULL;
    uv_timer_init(loop, &s->read_timer);
    s->read_timer.data = s;
    uv_timer_start(&s->read_timer, sender_on_read_timer, 0, 0);
    return s;
}

static void sender_try_free(struct sender *s)
{
    if (!s->read_timer_closed || !s->http_closed || s->alive > 0)
        return;
    void (*done)(void *) = s->done;
    void *ud = s->done_ud;
    free(s->consumer);
    free(s->breakers);
    free(s);
    if (done)
        done(ud);
}

static void sender_on_read_timer_closed(uv_handle_t *h)
{
    struct sender *s = h->data;
    s->read_timer_closed = 1;
    sender_try_free(s);
}

static void sender_on_http_closed(void *ud)
{
    struct sender *s = ud;
    s->http_closed = 1;
    sender_try_free(s);
}

/* Once nothing is read or worked on any more: close the timer and the http client. */
static void sender_maybe_finish(struct sender *s)
{
    if (!s->stopping)
        return;
    if (s->finishing) {
        sender_try_free(s);
        return;
    }
    if (s->reading || s->active > 0)
        return;
    s->finishing = 1;
    uv_close((uv_handle_t *)&s->read_timer, sender_on_read_timer_closed);
    http_client_close(s->http, sender_on_http_closed, s);
}

void sender_stop(struct sender *s, void (*done)(void *ud), void *ud)
{
    if (!s) {
        if (done)
            done(ud);
        return;
    }
    if (s->stopping)
        return;
    s->stopping = 1;
    s->done = done;
    s->done_ud = ud;
    uv_timer_stop(&s->read_timer);
    struct sender_job *next;
    for (struct sender_job *j = s->jobs; j; j = next) {
        next = j->next;
        if (j->state == JOB_WAIT) /* not sending now: stays pending for later */
            job_release(j);
    }
    sender_maybe_finish(s);
}
