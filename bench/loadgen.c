/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small HTTP/1.1 load generator for the benchmark: keep-alive connections over epoll, one
 * pre-built request per line of the input file ("<hex signature>\t<json body>", from
 * gen_requests.py), each request sent exactly once. Two modes:
 *   closed loop (no -r): every connection sends its next request as soon as the previous answer
 *     is in: the maximum rate;
 *   open loop (-r RATE): request i is due at start + i / RATE whatever the server does, and its
 *     latency is measured from that due time (a slow answer delays the requests queued behind it
 *     and is charged to them: no coordinated omission).
 * It stops when the requests run out or the duration is over, and prints one line:
 *   RESULT requests=.. duration_s=.. rps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. non2xx=..
 * errors=.. The duration is measured from the first send to the last answer, so running out of
 * requests early does not dilute the rate. Answers must carry Content-Length (nginx and lws both
 * do). loadgen -p PORT [-H 127.0.0.1] [-u /path] -f FILE [-c CONNS] [-t THREADS] [-d SECONDS]
 *           [-r RATE] [-s SKIP] [-n MAX] [-l]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct opts {
    const char *host, *path, *file;
    int port, conns, threads;
    double duration_s, rate;
    int loop; /* -l: reuse the requests cyclically (for the baseline, which does not care) */
    size_t skip, max;
};

struct reqs {
    char **data; /* owned: the raw HTTP requests */
    size_t *len;
    size_t n;
};

struct conn {
    int fd;
    size_t req;  /* index of the request in flight */
    size_t sent; /* bytes of it written */
    uint64_t t0; /* ns: when it was due (open loop) or sent (closed loop) */
    int busy;
    char buf[8192];
    size_t got;
};

struct worker {
    const struct opts *o;
    const struct reqs *rq;
    int id;
    uint32_t *lat_us; /* owned: one per answer */
    size_t n_lat, cap_lat;
    size_t non2xx, errors;
    uint64_t last_ns;
    size_t next_open; /* open loop: next index owned by this thread */
};

static atomic_size_t next_closed;
static uint64_t start_ns, stop_ns;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static void load_requests(const struct opts *o, struct reqs *rq)
{
    FILE *f = fopen(o->file, "r");
    if (!f)
        die(o->file);
    char *line = NULL;
    size_t cap = 0, skipped = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0 && (!o->max || rq->n < o->max)) {
        if (skipped++ < o->skip)
            continue;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        const char *body = tab + 1;
        if (rq->n % 4096 == 0) {
            rq->data = realloc(rq->data, (rq->n + 4096) * sizeof(*rq->data));
            rq->len = realloc(rq->len, (rq->n + 4096) * sizeof(*rq->len));
        }
        char *r = NULL;
        int len = asprintf(&r,
                           "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                           "X-Hub-Signature-256: sha256=%s\r\nContent-Length: %zu\r\n\r\n%s",
                           o->path, o->host, o->port, line, strlen(body), body);
        if (len < 0)
            die("asprintf");
        rq->data[rq->n] = r;
        rq->len[rq->n++] = (size_t)len;
    }
    free(line);
    fclose(f);
}

static int conn_open(const struct opts *o)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    if (inet_pton(AF_INET, o->host, &a.sin_addr) != 1) {
        fprintf(stderr, "loadgen: -H takes an IPv4 address\n");
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Writes what the socket takes of the request in flight (blocking socket, small requests). */
static int conn_send(struct worker *w, struct conn *c)
{
    const char *p = w->rq->data[c->req];
    size_t len = w->rq->len[c->req];
    while (c->sent < len) {
        ssize_t k = send(c->fd, p + c->sent, len - c->sent, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c->sent += (size_t)k;
    }
    return 0;
}

static void start_req(struct worker *w, struct conn *c, size_t idx, uint64_t t0)
{
    c->req = idx;
    c->sent = 0;
    c->t0 = t0;
    c->busy = 1;
    if (conn_send(w, c) < 0) {
        w->errors++;
        c->busy = 0;
    }
}

static void record(struct worker *w, uint64_t t0, int status)
{
    uint64_t t = now_ns();
    if (w->n_lat == w->cap_lat) {
        w->cap_lat = w->cap_lat ? w->cap_lat * 2 : 65536;
        w->lat_us = realloc(w->lat_us, w->cap_lat * sizeof(*w->lat_us));
    }
    uint64_t us = (t - t0) / 1000;
    w->lat_us[w->n_lat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    if (status < 200 || status > 299)
        w->non2xx++;
    w->last_ns = t;
}

/* Consumes complete answers in c->buf. Returns 1 when one completed, 0 if more is needed,
 * -1 on a malformed answer. */
static int parse_answer(struct worker *w, struct conn *c)
{
    c->buf[c->got] = '\0';
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end)
        return c->got >= sizeof(c->buf) - 1 ? -1 : 0;
    int status = 0;
    if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    size_t clen = 0;
    for (char *h = strstr(c->buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "content-length:", 15) == 0)
            clen = strtoull(h + 17, NULL, 10);
    size_t total = (size_t)(end + 4 - c->buf) + clen;
    if (total >= sizeof(c->buf))
        return -1;
    if (c->got < total)
        return 0;
    record(w, c->t0, status);
    memmove(c->buf, c->buf + total, c->got - total);
    c->got -= total;
    c->busy = 0;
    return 1;
}

/* The next request for an idle connection, or 0 when none is due yet / left. */
static int take_next(struct worker *w, size_t *idx, uint64_t *t0, uint64_t now)
{
    const struct opts *o = w->o;
    if (now >= stop_ns)
        return 0;
    if (o->rate <= 0) {
        size_t i = atomic_fetch_add(&next_closed, 1);
        if (o->loop)
            i %= w->rq->n;
        else if (i >= w->rq->n)
            return 0;
        *idx = i;
        *t0 = now;
        return 1;
    }
    size_t i = w->next_open;
    if (i >= w->rq->n)
        return 0;
    uint64_t due = start_ns + (uint64_t)((double)i * 1e9 / o->rate);
    if (due > now)
        return 0;
    w->next_open += (size_t)o->threads;
    *idx = i;
    *t0 = due;
    return 1;
}

static void dispatch(struct worker *w, struct conn *cs, int n)
{
    for (int k = 0; k < n; k++) {
        size_t idx;
        uint64_t t0;
        if (!cs[k].busy && cs[k].fd >= 0 && take_next(w, &idx, &t0, now_ns()))
            start_req(w, &cs[k], idx, t0);
    }
}

static int next_timeout_ms(const struct worker *w)
{
    if (w->o->rate <= 0 || w->next_open >= w->rq->n)
        return 50;
    uint64_t due = start_ns + (uint64_t)((double)w->next_open * 1e9 / w->o->rate), now = now_ns();
    return due <= now ? 0 : (int)((due - now) / 1000000);
}

static int any_busy(const struct conn *cs, int n)
{
    for (int k = 0; k < n; k++)
        if (cs[k].busy)
            return 1;
    return 0;
}

static void on_readable(struct worker *w, struct conn *c)
{
    ssize_t k = recv(c->fd, c->buf + c->got, sizeof(c->buf) - 1 - c->got, MSG_DONTWAIT);
    if (k <= 0) {
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        w->errors += c->busy ? 1 : 0;
        close(c->fd);
        c->fd = -1;
        c->busy = 0;
        return;
    }
    c->got += (size_t)k;
    int rc;
    while ((rc = parse_answer(w, c)) == 1) {
        size_t idx;
        uint64_t t0;
        if (take_next(w, &idx, &t0, now_ns()))
            start_req(w, c, idx, t0);
        if (!c->busy)
            break;
    }
    if (rc < 0) {
        w->errors++;
        close(c->fd);
        c->fd = -1;
        c->busy = 0;
    }
}

/* Whether this thread still has requests to send (now or later). */
static int take_next_possible(const struct worker *w)
{
    if (w->o->rate <= 0)
        return w->o->loop || atomic_load(&next_closed) < w->rq->n;
    return w->next_open < w->rq->n;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    const struct opts *o = w->o;
    int n = o->conns / o->threads + (w->id < o->conns % o->threads);
    struct conn *cs = calloc((size_t)n, sizeof(*cs));
    int ep = epoll_create1(0);
    for (int k = 0; k < n; k++) {
        cs[k].fd = conn_open(o);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[k]};
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[k].fd, &ev);
    }
    w->next_open = (size_t)w->id;
    dispatch(w, cs, n);
    struct epoll_event evs[64];
    for (;;) {
        uint64_t now = now_ns();
        if (!any_busy(cs, n) && (now >= stop_ns || !take_next_possible(w)))
            break;
        if (now > stop_ns + 5000000000ull) /* answers overdue by 5 s: give up on them */
            break;
        int k = epoll_wait(ep, evs, 64, next_timeout_ms(w));
        for (int i = 0; i < k; i++)
            on_readable(w, evs[i].data.ptr);
        dispatch(w, cs, n);
    }
    for (int k = 0; k < n; k++) {
        w->errors += cs[k].busy ? 1 : 0;
        if (cs[k].fd >= 0)
            close(cs[k].fd);
    }
    close(ep);
    free(cs);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const uint32_t *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){
        .host = "127.0.0.1", .path = "/", .conns = 32, .threads = 1, .duration_s = 10};
    int c;
    while ((c = getopt(argc, argv, "H:p:u:f:c:t:d:r:s:n:l")) != -1) {
        switch (c) {
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            o->port = (int)strtol(optarg, NULL, 10);
            break;
        case 'u':
            o->path = optarg;
            break;
        case 'f':
            o->file = optarg;
            break;
        case 'c':
            o->conns = (int)strtol(optarg, NULL, 10);
            break;
        case 't':
            o->threads = (int)strtol(optarg, NULL, 10);
            break;
        case 'd':
            o->duration_s = strtod(optarg, NULL);
            break;
        case 'r':
            o->rate = strtod(optarg, NULL);
            break;
        case 's':
            o->skip = strtoull(optarg, NULL, 10);
            break;
        case 'n':
            o->max = strtoull(optarg, NULL, 10);
            break;
        case 'l':
            o->loop = 1;
            break;
        default:
            o->file = NULL;
            break;
        }
    }
    if (!o->file || o->port <= 0 || o->conns < 1 || o->threads < 1 || o->threads > o->conns) {
        fprintf(stderr, "usage: loadgen -p PORT [-H ip] [-u path] -f FILE [-c conns] "
                        "[-t threads] [-d seconds] [-r rate] [-s skip] [-n max] [-l]\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    struct opts o;
    parse_opts(argc, argv, &o);
    struct reqs rq = {0};
    load_requests(&o, &rq);
    if (!rq.n) {
        fprintf(stderr, "loadgen: no requests in %s\n", o.file);
        return 2;
    }
    struct worker *ws = calloc((size_t)o.threads, sizeof(*ws));
    pthread_t *th = calloc((size_t)o.threads, sizeof(*th));
    start_ns = now_ns();
    stop_ns = start_ns + (uint64_t)(o.duration_s * 1e9);
    for (int i = 0; i < o.threads; i++) {
        ws[i] = (struct worker){.o = &o, .rq = &rq, .id = i};
        pthread_create(&th[i], NULL, worker_main, &ws[i]);
    }
    size_t n = 0, non2xx = 0, errors = 0;
    uint64_t last = start_ns;
    for (int i = 0; i < o.threads; i++) {
        pthread_join(th[i], NULL);
        n += ws[i].n_lat;
        non2xx += ws[i].non2xx;
        errors += ws[i].errors;
        last = ws[i].last_ns > last ? ws[i].last_ns : last;
    }
    uint32_t *all = malloc((n ? n : 1) * sizeof(*all));
    for (int i = 0, at = 0; i < o.threads; at += (int)ws[i].n_lat, i++) {
        memcpy(all + at, ws[i].lat_us, ws[i].n_lat * sizeof(*all));
        free(ws[i].lat_us);
    }
    qsort(all, n, sizeof(*all), cmp_u32);
    double dur = (double)(last - start_ns) / 1e9;
    printf("RESULT requests=%zu duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
           "max_ms=%.3f non2xx=%zu errors=%zu offered=%zu\n",
           n, dur, dur > 0 ? (double)n / dur : 0, pct_ms(all, n, 50), pct_ms(all, n, 90),
           pct_ms(all, n, 99), n ? all[n - 1] / 1000.0 : 0, non2xx, errors, rq.n);
    free(all);
    free(ws);
    free(th);
    for (size_t i = 0; i < rq.n; i++)
        free(rq.data[i]);
    free(rq.data);
    free(rq.len);
    return errors ? 1 : 0;
}
