/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sender: reads replies from the outbox stream (store_outbox_read), turns each into a
 * provider request with its channel's handler, sends it through the http_client on the same
 * loop, retries transient failures with jittered exponential backoff (Retry-After honoured, capped
 * at backoff_max_ms), and records the outcome with store_outbox_done, which acks the entry
 * atomically with the outcome event. One struct sender_job per outbox entry being worked on;
 * never more than max_in_flight of them.
 *
 * A job whose done failed (Redis down) keeps its result and retries the done only: the reply is
 * never sent twice because of a lost ack. On stop, jobs waiting for a retry are abandoned
 * unacked (their entry stays pending and is read again later); sends in flight finish (they
 * have timeouts) and their dones are given a few more tries.
 *
 * Ownership: the sender owns its jobs and their libuv timers (freed in the close callbacks),
 * its http_client and a copy of the consumer name; loop, store and channels are borrowed.
 * Logs carry channel, masked recipient and status only: never tokens, bodies or numbers.
 */
#include "sender.h"

#include "handler.h"
#include "http_client.h"
#include "sr_log.h"
#include "sr_mem.h"
#include "sr_pseudo.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SENDER_STOP_DONE_TRIES 3 /* done retries still made while stopping */

enum job_state {
    JOB_SENDING,    /* a request is in the http_client */
    JOB_WAIT_RETRY, /* timer until the next attempt */
    JOB_DONE,       /* store_outbox_done outstanding */
    JOB_WAIT_DONE   /* timer until the done is tried again */
};

struct sender_job {
    struct sender *s;
    struct sender_job *prev, *next;
    uv_timer_t timer;
    enum job_state state;
    char *entry_id;
    struct sr_reply reply;
    const struct sr_channel_conf *ch;
    const struct handler *h;
    struct sr_http_out out;
    int attempts;
    int done_tries;
    long http_status;
    int sent;    /* value for store_outbox_done */
    char *event; /* outcome event JSON, NULL for an already-sent entry */
};

struct sender {
    uv_loop_t *loop;
    struct store *store;
    const struct sr_channel_conf *channels;
    size_t n_channels;
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
static void job_attempt(struct sender_job *j);
static void job_send_done(struct sender_job *j);

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

/* Delay before retry number `n` (1-based): d = min * 2^(n-1) capped at max, then a random
 * point in [d, min(2d, max)], so retries spread out but stay within min..max. */
static int sender_backoff(struct sender *s, int n, int min_ms, int max_ms)
{
    int64_t d = min_ms;
    for (int i = 1; i < n && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    int64_t span = (2 * d > max_ms ? max_ms : 2 * d) - d;
    return (int)(d + (int64_t)(sender_rand(s) % (uint64_t)(span + 1)));
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

/* ---- jobs ---- */

static void job_on_closed(uv_handle_t *h)
{
    struct sender_job *j = h->data;
    struct sender *s = j->s;
    sr_reply_clear(&j->reply);
    sr_http_out_clear(&j->out);
    free(j->entry_id);
    free(j->event);
    free(j);
    s->alive--;
    sender_maybe_finish(s);
}

static struct sender_job *job_new(struct sender *s, const char *entry_id)
{
    struct sender_job *j = sr_calloc(1, sizeof(*j));
    j->s = s;
    j->entry_id = sr_strdup(entry_id);
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
               "not sent channel=%s to=%s outcome=%s status=%ld attempts=%d error=%s",
               job_channel(j), masked, outcome_names[o], j->http_status, j->attempts, error);
    }
    if (s->conf.on_outcome)
        s->conf.on_outcome(s->conf.on_outcome_ud, job_channel(j), o);
    job_send_done(j);
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
    store_outbox_done(j->s->store, j->entry_id, j->sent, j->event, job_on_done, j);
}

/* ---- attempts ---- */

static void job_on_retry_timer(uv_timer_t *t)
{
    job_attempt(t->data);
}

/* A transient failure: another attempt after a backoff, or give up. */
static void job_retry(struct sender_job *j, long retry_after_s, const char *detail)
{
    struct sender *s = j->s;
    char masked[SR_MASK_MAX];
    if (j->attempts >= s->conf.max_attempts) {
        char *error = sr_asprintf("gave up after %d attempts: %s", j->attempts, detail);
        job_finish(j, SR_SEND_FAILED, NULL, error);
        free(error);
        return;
    }
    if (s->stopping) { /* not acked: read again after the restart */
        SR_LOG(INFO, "sender", j->entry_id, "stopping: retry left for later (channel=%s)",
               job_channel(j));
        job_release(j);
        return;
    }
    int delay = sender_backoff(s, j->attempts, s->conf.backoff_min_ms, s->conf.backoff_max_ms);
    /* Retry-After wins over a shorter backoff, but never beyond backoff_max_ms */
    if (retry_after_s > 0) {
        long cap = s->conf.backoff_max_ms;
        long ra_ms = retry_after_s > cap / 1000 + 1 ? cap : retry_after_s * 1000;
        if (ra_ms > cap)
            ra_ms = cap;
        if (ra_ms > delay)
            delay = (int)ra_ms;
    }
    SR_LOG(INFO, "sender", j->entry_id, "retry channel=%s to=%s status=%ld attempt=%d in_ms=%d",
           job_channel(j), sr_mask_phone(j->reply.to, masked), j->http_status, j->attempts, delay);
    j->state = JOB_WAIT_RETRY;
    uv_timer_start(&j->timer, job_on_retry_timer, (uint64_t)delay, 0);
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
        job_retry(j, 0, r->error);
        return;
    }
    char *provider_id = NULL;
    enum sr_send_outcome o =
        j->h->classify_send(j->ch, r->status, r->body, r->body_len, &provider_id);
    char *detail = sr_asprintf("http %ld", r->status);
    if (o == SR_SEND_RETRY)
        job_retry(j, r->retry_after_s, detail);
    else
        job_finish(j, o, provider_id, o == SR_SEND_OPTED_OUT ? "opted_out" : detail);
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
    if (err == SR_E_INVALID)
        job_finish(j, SR_SEND_FAILED, NULL, "invalid provider request");
    else if (err != SR_E_OK)
        job_retry(j, 0, sr_strerror(err));
}

/* ---- reading the outbox ---- */

static const struct sr_channel_conf *sender_channel(struct sender *s, const char *name)
{
    for (size_t i = 0; name && i < s->n_channels; i++)
        if (s->channels[i].name && strcmp(s->channels[i].name, name) == 0)
            return &s->channels[i];
    return NULL;
}

static void sender_start_job(struct sender *s, const struct store_outbox_entry *e)
{
    struct sender_job *j = job_new(s, e->id);
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
    job_attempt(j);
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

struct sender *sender_start(uv_loop_t *loop, struct store *store,
                            const struct sr_channel_conf *channels, size_t n_channels,
                            const struct sender_conf *conf, struct sr_errbuf *eb)
{
    if (!loop || !store || !conf || !conf->consumer || !conf->consumer[0]) {
        sr_errf(eb, SR_E_INVALID, "sender: loop, store and a consumer name are required");
        return NULL;
    }
    struct http_client *http = http_client_new(loop, NULL, eb);
    if (!http)
        return NULL;
    struct sender *s = sr_calloc(1, sizeof(*s));
    s->loop = loop;
    s->store = store;
    s->channels = channels;
    s->n_channels = n_channels;
    s->conf = *conf;
    s->consumer = sr_strdup(conf->consumer);
    s->conf.consumer = s->consumer;
    s->http = http;
    conf_default(&s->conf.timeout_ms, 10000);
    conf_default(&s->conf.connect_timeout_ms, 5000);
    conf_default(&s->conf.max_attempts, 5);
    conf_default(&s->conf.max_in_flight, 64);
    conf_default(&s->conf.backoff_min_ms, 500);
    conf_default(&s->conf.backoff_max_ms, 30000);
    conf_default(&s->conf.block_ms, 1000);
    conf_default(&s->conf.claim_idle_ms, 60000);
    if (s->conf.backoff_max_ms < s->conf.backoff_min_ms)
        s->conf.backoff_max_ms = s->conf.backoff_min_ms;
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
        if (j->state == JOB_WAIT_RETRY) /* not sent yet: stays pending for later */
            job_release(j);
    }
    sender_maybe_finish(s);
}
