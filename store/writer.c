/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The writer thread: <p>events (Redis stream, consumer group "writer") -> the evaluation store.
 * It owns a synchronous hiredis connection and a WRITE evalstore, both used only by the thread.
 * Each round reads the consumer's own pending entries first (left by a crash, a failed commit or
 * a lost connection), then new ones with BLOCK; now and then it XAUTOCLAIMs entries other
 * consumers left idle (a dead writer of another name) and reads them as its own; the batch is
 * applied in one SQLite transaction and only after COMMIT are the entries XACKed and XDELed (one
 * MULTI/EXEC; the writer is the only group on the stream, so deleting keeps it bounded). Any
 * failure: log, back off with jitter, retry; nothing is acknowledged that is not committed. Event
 * bodies are never logged.
 */
#include "writer.h"

#include "evalstore.h"
#include "sr_log.h"
#include "sr_mem.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define WRITER_GROUP "writer"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct writer {
    /* configuration, owned copies */
    char *host, *socket, *stream, *db_path, *consumer;
    int port, db, batch_max, block_ms;
    int64_t retention_ms; /* provider ids, 0 = keep */
    int64_t next_prune_ms;
    int claim_idle_ms;
    /* thread state: touched only by the thread */
    int64_t next_claim_ms; /* wall ms of the next XAUTOCLAIM scan */
    char claim_cursor[48]; /* where the scan goes on ("0-0": from the start) */
    redisContext *rc;
    struct evalstore *es;
    int group_ready;
    int pending_first; /* re-read own pending entries before new ones */
    int backoff_ms;
    unsigned seed;
    /* shared */
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t mu; /* guards st */
    struct writer_stats st;
};

/* One batch read from the stream: ids (all, to acknowledge) and event bodies (with field "e").
 * Everything borrowed from the reply, which the batch owns. */
struct batch {
    redisReply *reply;
    const char **ids, **ev;
    size_t *id_lens, *ev_lens;
    size_t n_ids, n_ev;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records a round: failed (ok 0), succeeded without a batch (committed 0) or committed. */
static void record(struct writer *w, int ok, int committed, size_t applied)
{
    pthread_mutex_lock(&w->mu);
    w->st.healthy = ok;
    w->st.errors += !ok;
    if (committed) {
        w->st.applied += applied;
        w->st.batches++;
        w->st.last_commit_ms = wall_ms();
    }
    pthread_mutex_unlock(&w->mu);
}

/* Sleeps the jittered backoff in slices of at most 100 ms, leaving early on stop. */
static void backoff(struct writer *w)
{
    int d = w->backoff_ms / 2 + (int)(rand_r(&w->seed) % (unsigned)(w->backoff_ms / 2 + 1));
    w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
    for (; d > 0 && !atomic_load(&w->stop); d -= 100) {
        struct timespec ts = {0, (long)(d < 100 ? d : 100) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void drop_redis(struct writer *w)
{
    if (w->rc)
        redisFree(w->rc);
    w->rc = NULL;
    w->group_ready = 0;
    w->pending_first = 1;
}

/* Runs a command from argv; the reply (owned by the caller) or NULL on a connection error. */
static redisReply *cmd(struct writer *w, int argc, const char **argv, const size_t *lens)
{
    redisReply *r = redisCommandArgv(w->rc, argc, argv, lens);
    if (!r) {
        SR_LOG(WARN, "writer", NULL, "redis: %s", w->rc->errstr[0] ? w->rc->errstr : "no reply");
        drop_redis(w);
    }
    return r;
}

static int connect_redis(struct writer *w)
{
    /* the command timeout must outlast a blocking read */
    struct timeval ct = {2, 0}, cmdt = {(w->block_ms + 5000) / 1000, 0};
    w->rc = w->socket ? redisConnectUnixWithTimeout(w->socket, ct)
                      : redisConnectWithTimeout(w->host, w->port, ct);
    if (!w->rc || w->rc->err) {
        SR_LOG(WARN, "writer", NULL, "redis connect: %s", w->rc ? w->rc->errstr : "no memory");
        drop_redis(w);
        return -1;
    }
    redisSetTimeout(w->rc, cmdt);
    if (w->db) {
        redisReply *r = redisCommand(w->rc, "SELECT %d", w->db);
        int bad = !r || r->type == REDIS_REPLY_ERROR;
        if (r)
            freeReplyObject(r);
        if (bad) {
            SR_LOG(WARN, "writer", NULL, "redis: SELECT %d failed", w->db);
            drop_redis(w);
            return -1;
        }
    }
    return 0;
}

/* XGROUP CREATE at id 0 so entries written before the group existed are not lost. */
static int ensure_group(struct writer *w)
{
    const char *argv[] = {"XGROUP", "CREATE", w->stream, WRITER_GROUP, "0", "MKSTREAM"};
    redisReply *r = cmd(w, 6, argv, NULL);
    if (!r)
        return -1;
    int ok = r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0;
    if (!ok)
        SR_LOG(WARN, "writer", NULL, "redis XGROUP CREATE: %s", r->str);
    freeReplyObject(r);
    w->group_ready = ok;
    return ok ? 0 : -1;
}

static void batch_clear(struct batch *b)
{
    if (b->reply)
        freeReplyObject(b->reply);
    free(b->ids);
    free(b->ev);
    free(b->id_lens);
    free(b->ev_lens);
    *b = (struct batch){0};
}

/* Takes one stream entry [id, [field, value, ...] | nil]. */
static void batch_take(struct batch *b, const redisReply *entry)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING)
        return;
    b->ids[b->n_ids] = entry->element[0]->str;
    b->id_lens[b->n_ids++] = entry->element[0]->len;
    const redisReply *kv = entry->element[1];
    if (kv->type != REDIS_REPLY_ARRAY) /* deleted while pending: acknowledge only */
        return;
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && strcmp(kv->element[i]->str, "e") == 0 &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING) {
            b->ev[b->n_ev] = kv->element[i + 1]->str;
            b->ev_lens[b->n_ev++] = kv->element[i + 1]->len;
            return;
        }
    SR_LOG(WARN, "writer", NULL, "stream entry %s has no field e; acknowledged",
           b->ids[b->n_ids - 1]);
}

/* Indexes an XREADGROUP reply [[key, [entries...]]] (or nil on timeout); takes ownership. */
static void batch_index(struct batch *b, redisReply *r)
{
    b->reply = r;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        return;
    const redisReply *s = r->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
        s->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    const redisReply *entries = s->element[1];
    size_t n = entries->elements;
    b->ids = sr_calloc(n, sizeof(*b->ids));
    b->ev = sr_calloc(n, sizeof(*b->ev));
    b->id_lens = sr_calloc(n, sizeof(*b->id_lens));
    b->ev_lens = sr_calloc(n, sizeof(*b->ev_lens));
    for (size_t i = 0; i < n; i++)
        batch_take(b, entries->element[i]);
}

/* XREADGROUP: own pending ("0") or new (">" with BLOCK). 0 ok, -1 error. */
static int read_batch(struct writer *w, struct batch *b)
{
    char count[16], block[16];
    snprintf(count, sizeof(count), "%d", w->batch_max);
    snprintf(block, sizeof(block), "%d", w->block_ms);
    const char *pend[] = {"XREADGROUP", "GROUP",   WRITER_GROUP, w->consumer, "COUNT",
                          count,        "STREAMS", w->stream,    "0"};
    const char *news[] = {"XREADGROUP", "GROUP", WRITER_GROUP, w->consumer, "COUNT", count,
                          "BLOCK",      block,   "STREAMS",    w->stream,   ">"};
    redisReply *r = w->pending_first ? cmd(w, 9, pend, NULL) : cmd(w, 11, news, NULL);
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_ERROR) {
        SR_LOG(WARN, "writer", NULL, "redis XREADGROUP: %s", r->str);
        if (strncmp(r->str, "NOGROUP", 7) == 0)
            w->group_ready = 0; /* the stream was deleted: recreate the group */
        else
            drop_redis(w);
        freeReplyObject(r);
        return -1;
    }
    batch_index(b, r);
    if (w->pending_first && b->n_ids == 0)
        w->pending_first = 0;
    return 0;
}

/* XACK + XDEL of the whole batch in one MULTI/EXEC. 0 ok, -1 error (connection dropped). */
static int ack_batch(struct writer *w, const struct batch *b)
{
    size_t n = b->n_ids;
    const char **argv = sr_calloc(n + 3, sizeof(*argv));
    size_t *lens = sr_calloc(n + 3, sizeof(*lens));
    const char *head[] = {"XACK", w->stream, WRITER_GROUP};
    for (size_t i = 0; i < 3; i++)
        lens[i] = strlen(argv[i] = head[i]);
    memcpy(argv + 3, b->ids, n * sizeof(*argv));
    memcpy(lens + 3, b->id_lens, n * sizeof(*lens));
    redisAppendCommand(w->rc, "MULTI");
    redisAppendCommandArgv(w->rc, (int)(n + 3), argv, lens);
    argv[1] = "XDEL", lens[1] = 4, argv[2] = w->stream, lens[2] = strlen(w->stream);
    redisAppendCommandArgv(w->rc, (int)(n + 2), argv + 1, lens + 1);
    redisAppendCommand(w->rc, "EXEC");
    free(argv);
    free(lens);
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        redisReply *r = NULL;
        if (redisGetReply(w->rc, (void **)&r) != REDIS_OK || !r) {
            SR_LOG(WARN, "writer", NULL, "redis ack: %s", w->rc->errstr);
            drop_redis(w);
            return -1;
        }
        bad |= r->type == REDIS_REPLY_ERROR || (i == 3 && r->type != REDIS_REPLY_ARRAY);
        freeReplyObject(r);
    }
    if (bad) {
        SR_LOG(WARN, "writer", NULL, "redis ack refused");
        drop_redis(w);
    }
    return bad ? -1 : 0;
}

/* XAUTOCLAIM ... JUSTID reply [cursor, [ids...], deleted]: keeps the cursor; the number of ids
 * now ours, or -1 if the reply is not that shape. */
static long claim_take(struct writer *w, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY)
        return -1;
    snprintf(w->claim_cursor, sizeof(w->claim_cursor), "%s", r->element[0]->str);
    return (long)r->element[1]->elements;
}

/* Takes over entries other consumers left pending longer than claim_idle_ms (they become ours
 * and the next rounds read them as our own pending ones). One scan step per call; the next scan
 * starts claim_idle_ms / 2 after a full pass. 0 ok, -1 on a connection error. */
static int claim_idle(struct writer *w)
{
    int64_t now = wall_ms();
    if (now < w->next_claim_ms)
        return 0;
    char idle[16], count[16];
    snprintf(idle, sizeof(idle), "%d", w->claim_idle_ms);
    snprintf(count, sizeof(count), "%d", w->batch_max);
    const char *argv[] = {"XAUTOCLAIM",    w->stream, WRITER_GROUP, w->consumer, idle,
                          w->claim_cursor, "COUNT",   count,        "JUSTID"};
    redisReply *r = cmd(w, 9, argv, NULL);
    if (!r)
        return -1;
    long n = r->type == REDIS_REPLY_ERROR ? -1 : claim_take(w, r);
    if (n < 0)
        SR_LOG(WARN, "writer", NULL, "redis XAUTOCLAIM: %s",
               r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (n > 0) {
        SR_LOG(INFO, "writer", NULL, "took over %ld idle entries of other consumers", n);
        w->pending_first = 1;
    }
    if (n < 0 || strcmp(w->claim_cursor, "0-0") == 0) {
        snprintf(w->claim_cursor, sizeof(w->claim_cursor), "0-0");
        w->next_claim_ms = now + w->claim_idle_ms / 2;
    }
    freeReplyObject(r);
    return 0;
}

/* One round: read, apply, commit, acknowledge. 0 ok (also an empty read), -1 failed. */
static int round_once(struct writer *w)
{
    if (!w->rc && connect_redis(w) != 0)
        return -1;
    if (!w->group_ready && ensure_group(w) != 0)
        return -1;
    if (claim_idle(w) != 0)
        return -1;
    struct batch b = {0};
    int rc = read_batch(w, &b);
    if (rc == 0 && b.n_ids == 0)
        record(w, 1, 0, 0);
    if (rc == 0 && b.n_ids > 0) {
        struct sr_errbuf eb = {{0}};
        size_t applied = 0;
        if (evalstore_apply(w->es, b.ev, b.ev_lens, b.n_ev, &applied, &eb) != SR_E_OK) {
            SR_LOG(ERROR, "writer", NULL, "evalstore: %s; %zu entries left pending", eb.msg,
                   b.n_ids);
            w->pending_first = 1;
            rc = -1;
        } else {
            record(w, 1, 1, applied); /* committed; redelivery after a failed ack is harmless */
            rc = ack_batch(w, &b);
        }
    }
    batch_clear(&b);
    return rc;
}

#define PRUNE_EVERY_MS (3600 * 1000)

/* The provider-id retention, at most hourly: a failure is logged and retried next hour. */
static void prune_maybe(struct writer *w)
{
    int64_t now = wall_ms();
    if (w->retention_ms <= 0 || now < w->next_prune_ms)
        return;
    w->next_prune_ms = now + PRUNE_EVERY_MS;
    struct sr_errbuf eb = {{0}};
    long long n = 0;
    if (evalstore_prune_provider_ids(w->es, now - w->retention_ms, &n, &eb) != SR_E_OK)
        SR_LOG(WARN, "writer", NULL, "provider id retention: %s", eb.msg);
    else if (n > 0)
        SR_LOG(INFO, "writer", NULL, "provider id retention: %lld rows pruned", n);
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    SR_LOG(INFO, "writer", NULL, "started, consumer %s", w->consumer);
    while (!atomic_load(&w->stop)) {
        prune_maybe(w);
        if (round_once(w) == 0) {
            w->backoff_ms = BACKOFF_MIN_MS;
            continue;
        }
        record(w, 0, 0, 0);
        backoff(w);
    }
    drop_redis(w);
    SR_LOG(INFO, "writer", NULL, "stopped");
    return NULL;
}

static void writer_free(struct writer *w)
{
    if (!w)
        return;
    drop_redis(w);
    evalstore_close(w->es);
    pthread_mutex_destroy(&w->mu);
    free(w->host);
    free(w->socket);
    free(w->stream);
    free(w->db_path);
    free(w->consumer);
    free(w);
}

static int clamp(int v, int dflt, int lo, int hi)
{
    return v <= 0 ? dflt : v < lo ? lo : v > hi ? hi : v;
}

struct writer *writer_start(const struct writer_conf *conf, struct sr_errbuf *eb)
{
    if (!conf || !conf->db_path || !conf->consumer || !*conf->consumer ||
        (!(conf->redis_socket && *conf->redis_socket) && !conf->redis_host)) {
        sr_errf(eb, SR_E_CONFIG, "writer: db_path, consumer and a redis address are required");
        return NULL;
    }
    struct writer *w = sr_calloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    w->host = sr_strdup(conf->redis_host);
    w->socket = conf->redis_socket && *conf->redis_socket ? sr_strdup(conf->redis_socket) : NULL;
    w->stream = sr_asprintf("%sevents", conf->prefix ? conf->prefix : "suara:");
    w->db_path = sr_strdup(conf->db_path);
    w->consumer = sr_strdup(conf->consumer);
    w->port = conf->redis_port > 0 ? conf->redis_port : 6379;
    w->db = conf->redis_db;
    w->batch_max = clamp(conf->batch_max, 500, 1, 10000);
    w->block_ms = clamp(conf->block_ms, 1000, 10, 1000);
    w->pending_first = 1;
    w->claim_idle_ms = clamp(conf->claim_idle_ms, 60000, 10, 86400000);
    snprintf(w->claim_cursor, sizeof(w->claim_cursor), "0-0");
    w->backoff_ms = BACKOFF_MIN_MS;
    w->seed = (unsigned)wall_ms() ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)w;
    w->retention_ms = (int64_t)conf->provider_id_retention_s * 1000;
    w->es = evalstore_open_keyed(w->db_path, EVALSTORE_WRITE, conf->id_key, eb);
    if (!w->es)
        goto fail;
    evalstore_set_rating_period(w->es, conf->rating_period_days);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        sr_errf(eb, SR_E_INTERNAL, "writer: cannot start thread");
        goto fail;
    }
    return w;
fail:
    writer_free(w);
    return NULL;
}

void writer_stop(struct writer *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
    writer_free(w);
}

void writer_get_stats(struct writer *w, struct writer_stats *out)
{
    if (!w) {
        *out = (struct writer_stats){0};
        return;
    }
    pthread_mutex_lock(&w->mu);
    *out = w->st;
    pthread_mutex_unlock(&w->mu);
}
