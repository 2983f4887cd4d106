/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Redis store's connection machinery: hiredis async contexts per store (cmd, block, and sub
 * for the live feed while subscribed) on the worker's libuv loop, SELECT and SCRIPT LOAD on every
 * connect, a request queue with a per-command timeout (hiredis 0.14.1 has none), reconnect from a
 * timer with jittered exponential backoff, and a close that fails every pending callback exactly
 * once.
 *
 * hiredis lifetime rules honoured here: a context is only freed by us from outside its own
 * callbacks or through redisAsyncFree's deferred path (it then frees itself after the callback
 * returns); our pointer to a context is cleared *before* it is freed, so callbacks running
 * during the free (all with a NULL reply) cannot queue new commands on it. Nothing is freed in
 * onConnect / onDisconnect. The store itself is freed in the last libuv close callback.
 */
#include "store_int.h"

#include "sr_log.h"
#include "sr_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const conn_name[STORE_CONN__COUNT] = {"cmd", "block", "sub"};

void store_conf_defaults(struct store_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->host = "127.0.0.1";
    c->port = 6379;
    c->prefix = "suara:";
    c->session_ttl_s = 86400;
    c->dedupe_ttl_s = 604800;
    c->number_retention_s = 604800;
    c->complaint_record_ttl_s = 2592000;
    c->command_timeout_ms = 2000;
    c->backoff_min_ms = 100;
    c->backoff_max_ms = 5000;
}

/* ---- requests ---- */

struct store_req *store_req_new(struct store *s, const struct store_req_ops *ops,
                                enum store_conn_id conn, void *ud)
{
    struct store_req *q = sr_calloc(1, sizeof(*q));
    q->s = s;
    q->ops = ops;
    q->conn = conn;
    q->script = -1;
    q->ud = ud;
    return q;
}

static void arg_grow(struct store_req *q);

void store_req_arg(struct store_req *q, const char *p, size_t n)
{
    arg_grow(q);
    char *copy = sr_malloc(n + 1);
    memcpy(copy, p, n);
    copy[n] = '\0';
    q->argv[q->argc] = copy;
    q->argvlen[q->argc] = n;
    q->argc++;
}

void store_req_arg_str(struct store_req *q, const char *p)
{
    store_req_arg(q, p, strlen(p));
}

/* Makes room for one more argument. */
static void arg_grow(struct store_req *q)
{
    if (q->argc < q->argcap)
        return;
    q->argcap = q->argcap ? q->argcap * 2 : 32;
    q->argv = sr_realloc(q->argv, (size_t)q->argcap * sizeof(*q->argv));
    q->argvlen = sr_realloc(q->argvlen, (size_t)q->argcap * sizeof(*q->argvlen));
}

void store_req_arg_ll(struct store_req *q, long long v)
{
    char buf[24];
    int n = snprintf(buf, sizeof(buf), "%lld", v);
    store_req_arg(q, buf, (size_t)n);
}

/* Takes p as it is: no copy (keys are built on the heap for the request anyway). */
void store_req_arg_take(struct store_req *q, char *p)
{
    arg_grow(q);
    q->argv[q->argc] = p;
    q->argvlen[q->argc] = strlen(p);
    q->argc++;
}

void store_req_clear_args(struct store_req *q)
{
    for (int i = 0; i < q->argc; i++)
        free(q->argv[i]);
    q->argc = 0;
}

void store_req_finish(struct store_req *q)
{
    if (!q)
        return;
    store_req_clear_args(q);
    free(q->argv);
    free(q->argvlen);
    if (q->free_state)
        q->free_state(q->state);
    free(q);
}

static void list_push(struct store_req **head, struct store_req **tail, struct store_req *q)
{
    q->next = NULL;
    q->prev = *tail;
    if (*tail)
        (*tail)->next = q;
    else
        *head = q;
    *tail = q;
}

static void list_unlink(struct store_req **head, struct store_req **tail, struct store_req *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        *head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        *tail = q->prev;
    q->prev = q->next = NULL;
}

static void on_failt(uv_timer_t *t);

void store_req_fail_later(struct store_req *q, enum sr_err err)
{
    struct store *s = q->s;
    q->fail_err = err;
    list_push(&s->fail_head, &s->fail_tail, q);
    if (!s->closing)
        uv_timer_start(&s->failt, on_failt, 0, 0);
}

/* Fails every queued request; requests queued by the callbacks wait for the next round unless
 * all is set (close: drain until empty). */
static void fail_queue_run(struct store *s, int all)
{
    do {
        struct store_req *q = s->fail_head;
        s->fail_head = s->fail_tail = NULL;
        while (q) {
            struct store_req *next = q->next;
            q->prev = q->next = NULL;
            q->ops->fail(q, q->fail_err);
            q = next;
        }
    } while (all && s->fail_head);
}

static void on_failt(uv_timer_t *t)
{
    fail_queue_run(t->data, 0);
}

/* ---- replies ---- */

struct err_prefix {
    const char *prefix;
    enum sr_err err;
};
static const struct err_prefix err_table[] = {
    {"OOM", SR_E_UNAVAILABLE},        {"LOADING", SR_E_UNAVAILABLE},
    {"BUSY ", SR_E_UNAVAILABLE},      {"MISCONF", SR_E_UNAVAILABLE},
    {"READONLY", SR_E_UNAVAILABLE},   {"MASTERDOWN", SR_E_UNAVAILABLE},
    {"NOREPLICAS", SR_E_UNAVAILABLE}, {"TRYAGAIN", SR_E_UNAVAILABLE},
};

enum sr_err store_reply_err(struct store_req *q, const redisReply *r)
{
    const char *msg = r->str ? r->str : "";
    SR_LOG(WARN, "store", NULL, "redis error on %s: %.200s", q->ops->name, msg);
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (strncmp(msg, err_table[i].prefix, strlen(err_table[i].prefix)) == 0)
            return err_table[i].err;
    return SR_E_INTERNAL;
}

static int is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->str && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct store_req *q = priv;
    struct store_conn *c = &q->s->conn[q->conn];
    const redisReply *r = reply;
    (void)ac;
    list_unlink(&c->head, &c->tail, q);
    if (!r) {
        q->ops->fail(q, SR_E_UNAVAILABLE);
        return;
    }
    if (q->s->conf.on_rtt && !q->extra_ms) /* a blocking read's wait is not a round trip */
        q->s->conf.on_rtt(q->s->conf.on_rtt_ud, (double)(uv_hrtime() - q->start_ns) / 1e9);
    if (q->script >= 0 && !q->evaled && is_noscript(r)) {
        q->evaled = 1; /* the script cache was flushed (restart): run the source once */
        store_req_send(q);
        return;
    }
    q->ops->reply(q, r);
}

/* Sends q with EVALSHA <sha> / EVAL <source> prepended for scripts. hiredis copies the
 * arguments into its output buffer, so the pointer arrays are temporary. */
static int req_write(struct store_req *q, redisAsyncContext *ac)
{
    const char *argv_stack[64];
    size_t lens_stack[64];
    int big = q->argc + 2 > 64; /* the usual command fits on the stack: no allocation */
    const char **argv = big ? sr_malloc((size_t)(q->argc + 2) * sizeof(*argv)) : argv_stack;
    size_t *lens = big ? sr_malloc((size_t)(q->argc + 2) * sizeof(*lens)) : lens_stack;
    int n = 0;
    if (q->script >= 0) {
        const char *sha = q->s->sha[q->script];
        int use_sha = sha[0] && !q->evaled;
        argv[n++] = use_sha ? "EVALSHA" : "EVAL";
        argv[n++] = use_sha ? sha : store_lua_src[q->script];
        lens[0] = strlen(argv[0]);
        lens[1] = strlen(argv[1]);
    }
    for (int i = 0; i < q->argc; i++, n++) {
        argv[n] = q->argv[i];
        lens[n] = q->argvlen[i];
    }
    int rc = redisAsyncCommandArgv(ac, on_reply, q, n, argv, lens);
    if (big) {
        free(argv);
        free(lens);
    }
    return rc;
}

static void tick_arm(struct store *s);

void store_req_send(struct store_req *q)
{
    struct store *s = q->s;
    struct store_conn *c = &s->conn[q->conn];
    if (s->closing || !c->ac || req_write(q, c->ac) != REDIS_OK) {
        store_req_fail_later(q, SR_E_UNAVAILABLE);
        return;
    }
    q->start_ns = uv_hrtime();
    q->deadline_ms = uv_now(s->loop) + (uint64_t)s->conf.command_timeout_ms + (uint64_t)q->extra_ms;
    list_push(&c->head, &c->tail, q);
    tick_arm(s);
}

/* ---- timeout check ---- */

static void on_tick(uv_timer_t *t)
{
    struct store *s = t->data;
    uint64_t now = uv_now(s->loop);
    int any = 0;
    for (int i = 0; i < STORE_CONN__COUNT; i++) {
        struct store_conn *c = &s->conn[i];
        for (struct store_req *q = c->head; q; q = q->next) {
            if (q->deadline_ms <= now) {
                store_conn_drop(c, "command timeout");
                break;
            }
        }
        any |= c->head != NULL;
    }
    if (!any)
        uv_timer_stop(&s->tick);
}

static void tick_arm(struct store *s)
{
    if (uv_is_active((uv_handle_t *)&s->tick))
        return;
    uint64_t every = (uint64_t)s->conf.command_timeout_ms / 4;
    every = every < 5 ? 5 : every > 500 ? 500 : every;
    uv_timer_start(&s->tick, on_tick, every, every);
}

/* ---- connections ---- */

static uint64_t rng_next(struct store *s)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return s->rng;
}

static void conn_connect(struct store_conn *c);

/* The SUB connection is only wanted while someone listens to the feed. */
static int conn_wanted(const struct store_conn *c)
{
    return c->id != STORE_CONN_SUB || c->s->feed_cb != NULL;
}

static void on_retry(uv_timer_t *t)
{
    conn_connect(t->data);
}

/* Next attempt after a jittered delay in [b/2, b], b doubling from min to max. */
static void conn_schedule(struct store_conn *c)
{
    struct store *s = c->s;
    if (s->closing || !conn_wanted(c) || uv_is_active((uv_handle_t *)&c->retry))
        return;
    int b = c->backoff_ms ? c->backoff_ms * 2 : s->conf.backoff_min_ms;
    if (b > s->conf.backoff_max_ms)
        b = s->conf.backoff_max_ms;
    c->backoff_ms = b;
    uint64_t delay = (uint64_t)b / 2 + rng_next(s) % ((uint64_t)b / 2 + 1);
    uv_timer_start(&c->retry, on_retry, delay, 0);
}

void store_conn_drop(struct store_conn *c, const char *why)
{
    redisAsyncContext *ac = c->ac;
    if (!ac)
        return;
    SR_LOG(WARN, "store", NULL, "redis %s connection dropped: %s", conn_name[c->id], why);
    c->ac = NULL;
    c->ready = 0;
    redisAsyncFree(ac); /* deferred by hiredis when inside one of its callbacks */
    conn_schedule(c);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct store_conn *c = ac->data;
    if (status == REDIS_OK || c->ac != ac)
        return;
    SR_LOG(WARN, "store", NULL, "redis %s connect failed: %s", conn_name[c->id],
           ac->errstr ? ac->errstr : "?");
    c->ac = NULL; /* hiredis frees it after we return */
    c->ready = 0;
    conn_schedule(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct store_conn *c = ac->data;
    (void)status;
    if (c->ac != ac)
        return; /* we dropped it ourselves */
    SR_LOG(WARN, "store", NULL, "redis %s connection lost: %s", conn_name[c->id],
           ac->errstr ? ac->errstr : "closed");
    c->ac = NULL;
    c->ready = 0;
    conn_schedule(c);
}

static void select_reply(struct store_req *q, const redisReply *r)
{
    struct store_conn *c = &q->s->conn[q->conn];
    if (r->type == REDIS_REPLY_ERROR) {
        store_reply_err(q, r);
        store_conn_drop(c, "SELECT failed");
    } else if (c->ac) {
        c->ready = 1;
        c->group_ready = 0;
        c->backoff_ms = 0;
        /* a read lost with the old connection left entries pending for this consumer: read them
         * again (the sender skips the ones it is still working on) */
        if (c->id == STORE_CONN_BLOCK)
            q->s->outbox_own_read = 0;
        if (c->id == STORE_CONN_SUB)
            store_feed_ready(c);
    }
    store_req_finish(q);
}

static void internal_fail(struct store_req *q, enum sr_err err)
{
    (void)err;
    store_req_finish(q);
}

static void load_reply(struct store_req *q, const redisReply *r)
{
    if (r->type == REDIS_REPLY_STRING && r->len < sizeof(q->s->sha[0]))
        memcpy(q->s->sha[q->aux], r->str, r->len + 1);
    else
        store_reply_err(q, r); /* EVAL is used until a load succeeds */
    store_req_finish(q);
}

static const struct store_req_ops select_ops = {"SELECT", select_reply, internal_fail};
static const struct store_req_ops load_ops = {"SCRIPT LOAD", load_reply, internal_fail};

/* Queues SELECT (and SCRIPT LOAD on cmd) ahead of any user command on a fresh context. */
static void conn_setup(struct store_conn *c)
{
    struct store *s = c->s;
    struct store_req *q = store_req_new(s, &select_ops, c->id, NULL);
    store_req_arg_str(q, "SELECT");
    store_req_arg_ll(q, s->conf.db);
    store_req_send(q);
    for (int i = 0; c->id == STORE_CONN_CMD && i < STORE_LUA__COUNT; i++) {
        q = store_req_new(s, &load_ops, c->id, NULL);
        q->aux = i;
        store_req_arg_str(q, "SCRIPT");
        store_req_arg_str(q, "LOAD");
        store_req_arg_str(q, store_lua_src[i]);
        store_req_send(q);
    }
}

/* ---- hiredis on libuv, without the epoll churn ----
 * The stock adapter (hiredis/adapters/libuv.h) calls uv_poll_start on every command's addWrite
 * and delWrite, and libuv 1.44 turns each uv_poll_start into EPOLL_CTL_DEL + ADD: about eight
 * epoll_ctl per Redis round trip, the largest syscall count per webhook. Here the socket is
 * polled for reading only; commands queued during a loop turn are written from a uv_prepare
 * (just before the loop blocks, so they leave in one write), and the poll watches writability
 * only while connecting or after a write that could not finish. */
struct store_ev {
    redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
    uv_poll_t poll;
    uv_prepare_t prep;
    int events;   /* what the poll watches */
    int in_write; /* inside the prepare's write: an addWrite now means "not all written" */
    int closed;   /* handles closed, freed at 2 */
};

static void ev_on_poll(uv_poll_t *h, int status, int events)
{
    struct store_ev *e = h->data;
    if (status != 0)
        return;
    if (e->ac && (events & UV_READABLE))
        redisAsyncHandleRead(e->ac);
    if (e->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(e->ac);
}

static void ev_poll_set(struct store_ev *e, int events)
{
    if (events == e->events)
        return; /* no uv_poll_start, no epoll_ctl */
    e->events = events;
    if (events)
        uv_poll_start(&e->poll, events, ev_on_poll);
    else
        uv_poll_stop(&e->poll);
}

static void ev_on_prepare(uv_prepare_t *h)
{
    struct store_ev *e = h->data;
    uv_prepare_stop(h);
    if (!e->ac)
        return;
    e->in_write = 1; /* e outlives this call: it is freed in close callbacks only */
    redisAsyncHandleWrite(e->ac);
    e->in_write = 0;
}

static void ev_add_read(void *priv)
{
    struct store_ev *e = priv;
    ev_poll_set(e, e->events | UV_READABLE);
}

static void ev_del_read(void *priv)
{
    struct store_ev *e = priv;
    ev_poll_set(e, e->events & ~UV_READABLE);
}

static void ev_add_write(void *priv)
{
    struct store_ev *e = priv;
    if (e->events & UV_WRITABLE)
        return;
    if (!(e->ac->c.flags & REDIS_CONNECTED) || e->in_write) {
        ev_poll_set(e, e->events | UV_WRITABLE); /* connecting, or the socket buffer is full */
        return;
    }
    uv_prepare_start(&e->prep, ev_on_prepare);
}

static void ev_del_write(void *priv)
{
    struct store_ev *e = priv;
    uv_prepare_stop(&e->prep);
    ev_poll_set(e, e->events & ~UV_WRITABLE);
}

static void ev_on_closed(uv_handle_t *h)
{
    struct store_ev *e = h->data;
    if (++e->closed == 2)
        free(e);
}

static void ev_cleanup(void *priv)
{
    struct store_ev *e = priv;
    e->ac = NULL;
    uv_close((uv_handle_t *)&e->poll, ev_on_closed);
    uv_close((uv_handle_t *)&e->prep, ev_on_closed);
}

static int ev_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    if (ac->ev.data)
        return REDIS_ERR;
    struct store_ev *e = sr_calloc(1, sizeof(*e));
    if (uv_poll_init(loop, &e->poll, ac->c.fd) != 0) {
        free(e);
        return REDIS_ERR;
    }
    uv_prepare_init(loop, &e->prep);
    e->poll.data = e;
    e->prep.data = e;
    e->ac = ac;
    ac->ev.data = e;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    return REDIS_OK;
}

static void conn_connect(struct store_conn *c)
{
    struct store *s = c->s;
    if (s->closing || c->ac || !conn_wanted(c))
        return;
    redisAsyncContext *ac = s->unix_socket ? redisAsyncConnectUnix(s->unix_socket)
                                           : redisAsyncConnect(s->host, s->conf.port);
    if (!ac || ac->err) {
        SR_LOG(DEBUG, "store", NULL, "redis %s connect: %s", conn_name[c->id],
               ac && ac->errstr ? ac->errstr : "no context");
        if (ac)
            redisAsyncFree(ac);
        conn_schedule(c);
        return;
    }
    ac->data = c;
    if (ev_attach(ac, s->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        conn_schedule(c);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    c->ac = ac;
    c->ready = 0;
    conn_setup(c);
}

void store_conn_start(struct store_conn *c)
{
    if (!uv_is_active((uv_handle_t *)&c->retry))
        conn_connect(c);
}

/* ---- lifecycle ---- */

static enum sr_err conf_check(const struct store_conf *c, struct sr_errbuf *eb)
{
    int unix_ok = c->unix_socket && c->unix_socket[0];
    if (!unix_ok && (!c->host || !c->host[0] || c->port <= 0 || c->port > 65535))
        return sr_errf(eb, SR_E_CONFIG, "redis: need unix_socket or host and port 1..65535");
    if (!c->prefix)
        return sr_errf(eb, SR_E_CONFIG, "redis: prefix missing");
    if (c->db < 0 || c->session_ttl_s <= 0 || c->command_timeout_ms <= 0)
        return sr_errf(eb, SR_E_CONFIG, "redis: db, session_ttl_s, command_timeout_ms invalid");
    if (c->dedupe_ttl_s < 604800)
        return sr_errf(eb, SR_E_CONFIG, "redis: dedupe_ttl_s must be at least 7 days (604800)");
    if (c->backoff_min_ms <= 0 || c->backoff_max_ms < c->backoff_min_ms)
        return sr_errf(eb, SR_E_CONFIG, "redis: need 0 < backoff_min_ms <= backoff_max_ms");
    return SR_E_OK;
}

struct store *store_new(uv_loop_t *loop, const struct store_conf *conf, struct sr_errbuf *eb)
{
    if (!loop || !conf) {
        sr_errf(eb, SR_E_CONFIG, "redis: no loop or conf");
        return NULL;
    }
    if (conf_check(conf, eb) != SR_E_OK)
        return NULL;
    struct store *s = sr_calloc(1, sizeof(*s));
    s->loop = loop;
    s->conf = *conf;
    s->unix_socket =
        conf->unix_socket && conf->unix_socket[0] ? sr_strdup(conf->unix_socket) : NULL;
    s->host = sr_strdup(conf->host);
    s->prefix = sr_strdup(conf->prefix);
    s->conf.host = s->host;
    s->conf.unix_socket = s->unix_socket;
    s->conf.prefix = s->prefix;
    s->rng = (uv_hrtime() ^ (uint64_t)(uintptr_t)s) | 1;
    uv_timer_init(loop, &s->tick);
    uv_timer_init(loop, &s->failt);
    s->tick.data = s->failt.data = s;
    s->open_handles = 2;
    for (int i = 0; i < STORE_CONN__COUNT; i++) {
        struct store_conn *c = &s->conn[i];
        c->s = s;
        c->id = (enum store_conn_id)i;
        uv_timer_init(loop, &c->retry);
        c->retry.data = c;
        s->open_handles++;
    }
    for (int i = 0; i < STORE_CONN__COUNT; i++)
        conn_connect(&s->conn[i]);
    return s;
}

static void handle_closed(struct store *s)
{
    if (--s->open_handles > 0)
        return;
    fail_queue_run(s, 1); /* callbacks of a context freed after store_close (deferred free) */
    free(s->claim_cursor);
    free(s->host);
    free(s->unix_socket);
    free(s->prefix);
    free(s);
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void on_retry_closed(uv_handle_t *h)
{
    handle_closed(((struct store_conn *)h->data)->s);
}

void store_close(struct store *s)
{
    if (!s || s->closing)
        return;
    s->closing = 1;
    for (int i = 0; i < STORE_CONN__COUNT; i++) {
        struct store_conn *c = &s->conn[i];
        redisAsyncContext *ac = c->ac;
        c->ac = NULL;
        c->ready = 0;
        if (ac)
            redisAsyncFree(ac); /* pending callbacks run now with NULL -> SR_E_UNAVAILABLE */
    }
    fail_queue_run(s, 1);
    uv_close((uv_handle_t *)&s->tick, on_timer_closed);
    uv_close((uv_handle_t *)&s->failt, on_timer_closed);
    for (int i = 0; i < STORE_CONN__COUNT; i++)
        uv_close((uv_handle_t *)&s->conn[i].retry, on_retry_closed);
}

int store_is_connected(const struct store *s)
{
    return s && !s->closing && s->conn[STORE_CONN_CMD].ac && s->conn[STORE_CONN_CMD].ready;
}
