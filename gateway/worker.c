/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A worker: one thread, one libuv loop, and on it a libwebsockets context (listening on the
 * shared port with SO_REUSEPORT), a Redis store, a sender and a 1 s tick (idle-expiry sweep,
 * backlog gauges, drain progress). Stopping drains: new webhooks get 503, in-flight pipelines
 * and sends finish (bounded by a deadline), then every handle is closed and the loop returns.
 */
#include "server.h"

#include "feed.h"
#include "sr_log.h"
#include "sr_mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DRAIN_DEADLINE_MS 10000

static void on_rtt(void *ud, double seconds)
{
    metrics_redis_rtt(ud, seconds);
}

static void on_send_outcome(void *ud, const char *channel, enum sr_send_outcome o)
{
    static const char *const names[] = {"ok", "retry", "failed", "opted_out"};
    struct worker *w = ud;
    const struct app_channel *ch = app_channel_find(w->app, channel, strlen(channel));
    if (ch && (unsigned)o < 4)
        metrics_message_out(w->app->metrics, ch->index, names[o]);
}

static void on_send_note(void *ud, const char *channel, enum sender_note n)
{
    struct worker *w = ud;
    struct metrics *m = w->app->metrics;
    (void)channel;
    if (n == SENDER_NOTE_DEAD)
        metrics_reply_dead(m);
    else if (n == SENDER_NOTE_REPEAT_CRASH || n == SENDER_NOTE_REPEAT_TIMEOUT)
        metrics_reply_repeated(m, n == SENDER_NOTE_REPEAT_CRASH ? "crash" : "timeout");
    else
        metrics_breaker(m, n == SENDER_NOTE_BREAKER_OPEN ? "open" : "closed");
}

static void on_backlog(void *ud, enum sr_err err, const struct store_backlog *b)
{
    struct worker *w = ud;
    if (err == SR_E_OK) {
        metrics_set_backlog(w->app->metrics, b->outbox_pending, b->outbox_lag, b->events_pending,
                            b->events_lag);
        metrics_set_dead_letters(w->app->metrics, b->outbox_dead);
    }
}

static void on_closed_handle(uv_handle_t *h)
{
    (void)h;
}

static void on_accept(uv_poll_t *p, int status, int events);

static void close_listener(struct worker *w)
{
    if (w->listen_fd < 0)
        return;
    uv_poll_stop(&w->listen_poll);
    uv_close((uv_handle_t *)&w->listen_poll, on_closed_handle);
    close(w->listen_fd);
    w->listen_fd = -1;
}

static void on_sender_stopped(void *ud)
{
    struct worker *w = ud;
    w->sender = NULL;
    store_close(w->store); /* fails anything still pending with "unavailable" */
    w->store = NULL;
    uv_close((uv_handle_t *)&w->conn_timer, on_closed_handle);
    if (w->lws)
        lws_context_destroy(w->lws); /* destroys every connection: each gives back its slot */
    uv_close((uv_handle_t *)&w->stop_async, on_closed_handle);
    uv_close((uv_handle_t *)&w->tick, on_closed_handle);
}

static void begin_close(struct worker *w)
{
    w->closing = 1;
    uv_timer_stop(&w->tick);
    if (w->in_flight)
        SR_LOG(WARN, "worker", NULL, "worker %d: drain deadline passed with %zu in flight", w->idx,
               w->in_flight);
    sender_stop(w->sender, on_sender_stopped, w);
}

#define UNSAFE_WARN_EVERY_MS (3600 * 1000LL)

/* Worker 0, each tick: the spool's gauges, and the hourly reminder that Redis was found not
 * durable and [redis] allow_unsafe let the gateway start anyway. */
static void worker0_duties(struct worker *w)
{
    webhook_spool_gauges(w->app);
    int64_t now = app_now_ms();
    if (w->app->redis_unsafe && now - w->unsafe_warned_ms >= UNSAFE_WARN_EVERY_MS) {
        w->unsafe_warned_ms = now;
        SR_LOG(WARN, "worker", NULL,
               "REDIS IS NOT DURABLE (%s): a message answered 200 can be lost; running only "
               "because [redis] allow_unsafe = yes",
               w->app->redis_unsafe);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct worker *w = t->data;
    if (w->draining) {
        if (w->in_flight == 0 || (uint64_t)app_now_ms() > w->drain_deadline_ms)
            begin_close(w);
        return;
    }
    webhook_replay_spool(w);
    sweep_expired(w);
    sweep_sla(w);
    if (w->idx == 0)
        worker0_duties(w);
    if (w->idx == 0 && store_is_connected(w->store)) {
        store_backlog(w->store, on_backlog, w);
        privacy_sweep(w);
    }
}

static void on_stop(uv_async_t *a)
{
    struct worker *w = a->data;
    if (w->draining)
        return;
    w->draining = 1;
    close_listener(w); /* no new connections: the other workers' sockets are closing too */
    w->drain_deadline_ms = (uint64_t)app_now_ms() + DRAIN_DEADLINE_MS;
    uv_timer_start(&w->tick, on_tick, 0, 50);
}

/* ---- the connection guard's event-loop side (connguard.h) ---- */

#define CONN_SCAN_MS 250
/* Work on hostile connections is done in slices so that the legitimate requests' I/O gets a loop
 * turn in between: at most this many accepts per readiness of the listening socket (it is level
 * triggered: the rest are accepted on the next turn) and this many deadline closes per scan (the
 * rest 1 ms later). A slowloris' connections tend to expire together (a third of them opened in
 * the same instant), and closing a few hundred at once held the loop for 50 ms. */
#define CONN_ACCEPT_BATCH 16
#define CONN_CLOSE_BATCH 16
/* Refusals are counted one by one in the metrics but logged as one line per worker at most this
 * often: an attack must not turn into a log flood. */
#define CONN_REFUSED_LOG_MS 10000
enum { CONN_ADOPTING = 1, CONN_DESTROYED = 2, CONN_EXPIRED = 4 };

/* Unlinks c from the worker's list and gives back its slot. */
static void conn_forget(struct worker *w, struct connguard_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    metrics_connections_open(w->app->metrics, -1);
    connguard_release(w->app->conns, c);
}

static void conn_link(struct worker *w, struct connguard_conn *c)
{
    c->prev = NULL;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    metrics_connections_open(w->app->metrics, 1);
}

/* The guard's record of the network connection under wsi, or NULL (an h2 stream's connection
 * is marked OPEN: lws keeps its own timeouts on it). */
static struct connguard_conn *conn_of(struct lws *wsi)
{
    struct lws *nwsi = lws_get_network_wsi(wsi);
    struct connguard_conn *c = nwsi ? lws_get_opaque_user_data(nwsi) : NULL;
    if (!c || c->owner != nwsi)
        return NULL;
    if (nwsi != wsi) {
        c->phase = CONNGUARD_P_OPEN;
        return NULL;
    }
    return c;
}

static int64_t conn_now(struct lws *wsi)
{
    struct worker *w = lws_context_user(lws_get_context(wsi));
    return (int64_t)uv_now(&w->loop);
}

/* A request with a body (Content-Length > 0 or Transfer-Encoding) enters the body phase. */
void gw_conn_request(struct lws *wsi)
{
    struct connguard_conn *c = conn_of(wsi);
    if (!c)
        return;
    char cl[24] = "";
    int has_body = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0;
    if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
        has_body |= strtoull(cl, NULL, 10) > 0;
    connguard_set_phase(c, has_body ? CONNGUARD_P_BODY : CONNGUARD_P_BUSY, conn_now(wsi));
}

void gw_conn_body(struct lws *wsi, size_t n)
{
    struct connguard_conn *c = conn_of(wsi);
    if (c && c->phase == CONNGUARD_P_BODY)
        connguard_body(c, n);
}

void gw_conn_body_done(struct lws *wsi)
{
    struct connguard_conn *c = conn_of(wsi);
    if (c && c->phase == CONNGUARD_P_BODY) /* an early answer already started the idle wait */
        connguard_set_phase(c, CONNGUARD_P_BUSY, conn_now(wsi));
}

void gw_conn_answered(struct lws *wsi)
{
    struct connguard_conn *c = conn_of(wsi);
    if (c)
        connguard_set_phase(c, CONNGUARD_P_IDLE, conn_now(wsi));
}

void gw_conn_upgraded(struct lws *wsi)
{
    struct connguard_conn *c = conn_of(wsi);
    if (c)
        connguard_set_phase(c, CONNGUARD_P_OPEN, conn_now(wsi));
}

/* Every adopted connection ends here exactly once (lws calls it for each wsi it frees, also when
 * an adoption fails half-way and when the context is destroyed at shutdown). */
void gw_conn_destroyed(struct lws *wsi)
{
    struct connguard_conn *c = lws_get_opaque_user_data(wsi);
    if (!c || (c->owner && c->owner != wsi))
        return;
    lws_set_opaque_user_data(wsi, NULL);
    if (c->flags & CONN_ADOPTING) {
        c->flags |= CONN_DESTROYED; /* on_accept forgets it when the adoption returns */
        return;
    }
    conn_forget(lws_context_user(lws_get_context(wsi)), c);
}

/* One warning for the refusals since the last one, at most every CONN_REFUSED_LOG_MS. */
static void log_refusals(struct worker *w, uint64_t now)
{
    unsigned long *r = w->refused_unlogged;
    if (r[0] + r[1] == 0 || now - w->refused_logged_ms < CONN_REFUSED_LOG_MS)
        return;
    SR_LOG(WARN, "worker", NULL,
           "worker %d: refused %lu connections (%lu over the per-address cap, %lu over the total "
           "cap) since the previous such line; at most one line every %d s",
           w->idx, r[0] + r[1], r[0], r[1], CONN_REFUSED_LOG_MS / 1000);
    r[0] = r[1] = 0;
    w->refused_logged_ms = now;
}

/* Closes the connections whose phase ran out of time, CONN_CLOSE_BATCH of them per call (the
 * scan comes back 1 ms later while there are more); resumes a paused accept. */
static void on_conn_scan(uv_timer_t *t)
{
    struct worker *w = t->data;
    int64_t now = (int64_t)uv_now(&w->loop);
    int closed = 0;
    for (struct connguard_conn *c = w->conns, *next; c; c = next) {
        next = c->next;
        if ((c->flags & CONN_EXPIRED) || !connguard_expired(w->app->conns, c, now))
            continue;
        if (closed++ == CONN_CLOSE_BATCH) {
            uv_timer_start(&w->conn_timer, on_conn_scan, 1, CONN_SCAN_MS);
            break;
        }
        c->flags |= CONN_EXPIRED;
        metrics_connection_timed_out(w->app->metrics, connguard_phase_name(c->phase));
        lws_set_timeout(c->owner, PENDING_TIMEOUT_USER_REASON_BASE, LWS_TO_KILL_SYNC);
    }
    log_refusals(w, (uint64_t)now);
    if (w->accept_paused && w->listen_fd >= 0) {
        w->accept_paused = 0;
        uv_poll_start(&w->listen_poll, UV_READABLE, on_accept);
    }
}

/* Admits (or refuses and closes) one accepted socket and hands it to lws. */
static void admit(struct worker *w, int fd, const struct sockaddr *sa)
{
    struct connguard_conn *c = NULL;
    enum connguard_verdict v = connguard_admit(w->app->conns, sa, (int64_t)uv_now(&w->loop), &c);
    if (v != CONNGUARD_OK) {
        metrics_connection_refused(w->app->metrics, connguard_verdict_name(v));
        w->refused_unlogged[v == CONNGUARD_TOTAL]++;
        close(fd);
        return;
    }
    char b;
    if (w->deferred_accept && recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK))
        connguard_silent(w->app->conns, c, (int64_t)uv_now(&w->loop));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn_link(w, c);
    c->flags = CONN_ADOPTING;
    lws_adopt_desc_t ad = {
        .vh = w->vhost,
        .type = LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | LWS_ADOPT_ALLOW_SSL,
        .fd.sockfd = fd,
        .opaque = c,
    };
    /* on failure lws has closed fd itself (and may have destroyed a half-made wsi) */
    struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&ad);
    c->flags &= ~(unsigned)CONN_ADOPTING;
    if (!wsi || (c->flags & CONN_DESTROYED))
        conn_forget(w, c);
    else
        c->owner = wsi;
}

/* Accepts up to CONN_ACCEPT_BATCH pending connections and hands each to libwebsockets as an
 * HTTP server connection of this worker's vhost, unless the connection guard refuses it. Out of
 * file descriptors, accepting pauses until the next scan instead of spinning on a ready socket. */
static void on_accept(uv_poll_t *p, int status, int events)
{
    struct worker *w = p->data;
    (void)events;
    if (status < 0 || w->listen_fd < 0)
        return;
    for (int n = 0; n < CONN_ACCEPT_BATCH;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(w->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            admit(w, fd, (struct sockaddr *)&ss);
            n++;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno == EMFILE || errno == ENFILE) {
            uv_poll_stop(&w->listen_poll);
            w->accept_paused = 1;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            SR_LOG(WARN, "worker", NULL, "accept: %s", strerror(errno));
        return;
    }
}

/* The kernel completes a connection's handshake but keeps it out of the accept queue until the
 * peer sends something, or header_timeout_s have passed (TCP_DEFER_ACCEPT): a slowloris' idle
 * connections then cost no slot, no file descriptor and no work here, and the per-address cap
 * counts only connections that talk. One that arrives silent anyway gets a short head deadline
 * (connguard_silent). Without the option (it is Linux's) the header deadline counts from the
 * accept as before. */
static void defer_accept(struct worker *w, int fd)
{
    int s = w->app->cfg->server.header_timeout_s;
    w->deferred_accept = setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &s, sizeof(s)) == 0;
    if (!w->deferred_accept)
        SR_LOG(WARN, "worker", NULL, "TCP_DEFER_ACCEPT: %s", strerror(errno));
}

/* lws 4.1 does not set SO_REUSEPORT itself, so each worker opens its own listening socket with
 * it (the kernel spreads connections over the workers) and adopts what it accepts. */
static int open_listener(struct worker *w, struct sr_errbuf *eb)
{
    const struct config *cfg = w->app->cfg;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, cfg->server.listen, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)cfg->server.port);
        len = sizeof(*a4);
    } else if (inet_pton(AF_INET6, cfg->server.listen, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)cfg->server.port);
        len = sizeof(*a6);
    } else {
        sr_errf(eb, SR_E_CONFIG, "[server] listen: not an IP address");
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
        sr_errf(eb, SR_E_IO, "cannot listen on %s:%d: %s", cfg->server.listen, cfg->server.port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    w->listen_fd = fd;
    defer_accept(w, fd);
    uv_poll_init(&w->loop, &w->listen_poll, fd);
    w->listen_poll.data = w;
    uv_poll_start(&w->listen_poll, UV_READABLE, on_accept);
    return 0;
}

static int start_lws(struct worker *w, struct sr_errbuf *eb)
{
    const struct config *cfg = w->app->cfg;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    void *loops[1] = {&w->loop};
    info.foreign_loops = loops;
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = gw_protocols;
    info.pvo = &feed_vhost_options;                  /* the feed: default ws protocol */
    info.retry_and_idle_policy = &feed_retry_policy; /* ws pings, idle hang-up */
    info.user = w;
    info.pcontext = &w->lws;
    info.vhost_name = "suara";
    info.server_string = "suara";
    /* lws closes a connection whose request head overflows its header buffer, without an
     * answer (lws_pos_in_bounds(), roles/http/parsers.c): give it room for twice the limit so a
     * request-target or header block over max_header_bytes reaches server.c and gets 414 / 431
     * (http_guard.c); beyond that lws closes. */
    info.max_http_header_data = (unsigned short)(cfg->server.max_header_bytes * 2 > 65535
                                                     ? 65535
                                                     : cfg->server.max_header_bytes * 2);
    /* The deadlines are the connection guard's (on_conn_scan). lws' own timeouts stay as a
     * backstop a little later: its "holding a header buffer" timeout (timeout_secs_ah_idle,
     * default 10 s, set whenever a connection gets a header buffer: at the accept and at the
     * first byte of each keep-alive request) is what used to close idle connections after
     * 10-20 s whatever idle_timeout_s said. Header buffers are allocated on use and freed on
     * release, so the pool can be as large as the connection cap: an admitted connection never
     * waits for one. */
    int guard_s = cfg->server.idle_timeout_s > cfg->server.header_timeout_s
                      ? cfg->server.idle_timeout_s
                      : cfg->server.header_timeout_s;
    info.max_http_header_pool =
        (unsigned short)(cfg->server.max_connections < 65535 ? cfg->server.max_connections : 65535);
    info.timeout_secs = (unsigned)guard_s + 2;
    info.timeout_secs_ah_idle = (unsigned)guard_s + 2;
    info.keepalive_timeout = cfg->server.idle_timeout_s + 2;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN |
                   LWS_SERVER_OPTION_FALLBACK_TO_APPLY_LISTEN_ACCEPT_CONFIG;
    info.listen_accept_role = "raw-skt"; /* only for the fallback: see gw_fallback_callback */
    info.listen_accept_protocol = GW_FALLBACK_PROTOCOL;
    w->lws = lws_create_context(&info);
    w->vhost = w->lws ? lws_get_vhost_by_name(w->lws, "suara") : NULL;
    if (!w->vhost) {
        sr_errf(eb, SR_E_INTERNAL, "cannot create the HTTP server context");
        return -1;
    }
    uv_timer_start(&w->conn_timer, on_conn_scan, CONN_SCAN_MS, CONN_SCAN_MS);
    return open_listener(w, eb);
}

static int start_parts(struct worker *w, struct sr_errbuf *eb)
{
    const struct config *cfg = w->app->cfg;
    struct store_conf sc;
    app_store_conf(cfg, &sc);
    sc.on_rtt = on_rtt;
    sc.on_rtt_ud = w->app->metrics;
    w->store = store_new(&w->loop, &sc, eb);
    if (!w->store)
        return -1;
    if (start_lws(w, eb) < 0)
        return -1;
    char host[64] = "suara";
    gethostname(host, sizeof(host) - 1);
    /* stable across restarts: a successor re-reads the replies its predecessor left pending */
    snprintf(w->consumer, sizeof(w->consumer), "%.60s-w%d", host, w->idx);
    struct sender_conf snd = {
        .consumer = w->consumer,
        .timeout_ms = cfg->sender.timeout_ms,
        .connect_timeout_ms = cfg->sender.timeout_ms < 5000 ? cfg->sender.timeout_ms : 5000,
        .max_attempts = cfg->sender.max_attempts,
        .max_in_flight = cfg->sender.max_in_flight,
        .backoff_min_ms = cfg->sender.backoff_min_ms,
        .backoff_max_ms = cfg->sender.backoff_max_ms,
        .retry_after_max_ms = cfg->sender.retry_after_max_ms,
        .block_ms = 1000,
        .lease_ms = cfg->sender.lease_ms, /* others' entries are looked at after one lease */
        .retry_window_s = cfg->sender.retry_window_s,
        .breaker_failures = cfg->sender.breaker_failures,
        .breaker_open_ms = cfg->sender.breaker_open_ms,
        .id_key = cfg->privacy.citizen_hash_key,
        .on_outcome = on_send_outcome,
        .on_note = on_send_note,
        .on_outcome_ud = w,
    };
    w->sender = sender_start(&w->loop, w->store, cfg->channels, cfg->n_channels, &snd, eb);
    return w->sender ? 0 : -1;
}

static void set_start_state(struct worker *w, int state)
{
    pthread_mutex_lock(&w->mu);
    w->start_state = state;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Closes whatever start_parts managed to open, after a failed start. */
static void abort_start(struct worker *w)
{
    close_listener(w);
    if (w->sender) {
        w->closing = 1;
        sender_stop(w->sender, on_sender_stopped, w);
    } else {
        on_sender_stopped(w);
    }
    uv_run(&w->loop, UV_RUN_DEFAULT);
    if (w->lws)
        lws_context_destroy(w->lws); /* the second stage, as in worker_main */
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    uv_async_init(&w->loop, &w->stop_async, on_stop);
    w->stop_async.data = w;
    uv_timer_init(&w->loop, &w->tick);
    w->tick.data = w;
    uv_timer_init(&w->loop, &w->conn_timer);
    w->conn_timer.data = w;
    if (start_parts(w, &w->start_err) < 0) {
        abort_start(w);
        uv_loop_close(&w->loop);
        set_start_state(w, -1);
        return NULL;
    }
    uv_timer_start(&w->tick, on_tick, 1000, 1000);
    set_start_state(w, 1);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    /* With a foreign libuv loop lws destroys its context in two stages: the first call (in
     * on_sender_stopped) closes its handles, which the loop above finished; this second call
     * frees the context (lws sets w->lws to NULL through pcontext when it is gone). */
    if (w->lws)
        lws_context_destroy(w->lws);
    if (uv_loop_close(&w->loop) != 0)
        SR_LOG(WARN, "worker", NULL, "worker %d: loop closed with open handles", w->idx);
    return NULL;
}

struct worker *worker_start(struct app *a, int idx, struct sr_errbuf *eb)
{
    struct worker *w = sr_calloc(1, sizeof(*w));
    w->app = a;
    w->idx = idx;
    w->listen_fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    uv_loop_init(&w->loop);
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        sr_errf(eb, SR_E_INTERNAL, "cannot start worker thread %d", idx);
        uv_loop_close(&w->loop);
        free(w);
        return NULL;
    }
    pthread_mutex_lock(&w->mu);
    while (w->start_state == 0)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    if (w->start_state < 0) {
        *eb = w->start_err;
        pthread_join(w->thread, NULL);
        free(w);
        return NULL;
    }
    return w;
}

void worker_request_stop(struct worker *w)
{
    if (w)
        uv_async_send(&w->stop_async);
}

void worker_join(struct worker *w)
{
    if (!w)
        return;
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
