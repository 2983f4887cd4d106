/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Process-wide metrics. Every label set is a fixed column of a fixed-size array of C11 atomics,
 * so updates are one relaxed atomic add or store, lock-free and callable from any thread; an
 * unknown label value lands in the "other" column instead of growing anything. The metric set is
 * one table (metric_defs[]: name, type, help, labels and the function that renders it) and
 * rendering walks it to produce the Prometheus text exposition format (version 0.0.4).
 *
 * Ownership: struct metrics owns its arrays; channel names are borrowed from the caller (the
 * config) for the life of the metrics, the array holding them is copied.
 */
#include "metrics.h"

#include "dialog.h"
#include "sr_mem.h"
#include "sr_types.h"

#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *const routes[] = {"webhook", "healthz", "readyz", "metrics", "other"};
static const int statuses[] = {200, 400, 401, 403, 404, 405, 413, 415, 429, 500, 503};
#define N_STATUS (ARRAY_LEN(statuses) + 1) /* last column: "other" */

static const char *const kinds[] = {
#define M_KIND(name, text) text,
    SR_INBOUND_KINDS(M_KIND)
#undef M_KIND
};
static const char *const rejects[] = {
#define M_REJECT(name, text) text,
    SR_INBOUND_REJECTS(M_REJECT)
#undef M_REJECT
        "other",
};
static const char *const secrets[] = {"api_token", "verify_token", "webhook_signature", "other"};
static const char *const send_outcomes[] = {"ok", "retry", "failed", "opted_out", "other"};
static const char *const limited_actions[] = {"told", "ignored"};
static const char *const refusals[] = {"per_address", "total", "other"};
static const char *const conn_phases[] = {"header", "body", "idle", "other"};
static const char *const repeat_reasons[] = {"crash", "timeout", "other"};
static const char *const breaker_moves[] = {"open", "closed", "other"};
static const char *const dialog_outcomes[] = {
#define M_OUTCOME(name, text) text,
    DIALOG_OUTCOMES(M_OUTCOME)
#undef M_OUTCOME
        "other",
};

/* Redis round-trip buckets, upper bounds in nanoseconds; the label is the bound in seconds. */
static const struct {
    const char *le;
    unsigned long long ns;
} rtt_buckets[] = {
    {"0.0001", 100000ULL}, {"0.0005", 500000ULL},  {"0.001", 1000000ULL},  {"0.0025", 2500000ULL},
    {"0.005", 5000000ULL}, {"0.01", 10000000ULL},  {"0.025", 25000000ULL}, {"0.05", 50000000ULL},
    {"0.1", 100000000ULL}, {"0.25", 250000000ULL}, {"0.5", 500000000ULL},  {"1", 1000000000ULL},
};
#define N_BUCKETS (ARRAY_LEN(rtt_buckets) + 1) /* last: +Inf */

enum gauge {
    G_OUTBOX_PENDING,
    G_OUTBOX_LAG,
    G_EVENTS_PENDING,
    G_EVENTS_LAG,
    G_WRITER_APPLIED,
    G_WRITER_LAG_MS,
    G_CONNECTIONS_OPEN,
    G_OUTBOX_DEAD,
    G_SPOOL_RECORDS,
    G_SPOOL_BYTES,
    G_SPOOL_REPLAYED,
    G_SPOOL_FAILED,
    G_SPOOL_FULL,
    G__COUNT
};

struct metrics {
    const char **channels; /* copied array of borrowed names */
    size_t n_channels;
    atomic_ullong requests[ARRAY_LEN(routes)][N_STATUS];
    atomic_ullong *msg_in;                     /* [n_channels][ARRAY_LEN(kinds)] */
    atomic_ullong *msg_out;                    /* [n_channels][ARRAY_LEN(send_outcomes)] */
    atomic_ullong *limited;                    /* [n_channels][ARRAY_LEN(limited_actions)] */
    atomic_ullong *rejected;                   /* [n_channels][ARRAY_LEN(rejects)] */
    atomic_ullong auth[2][ARRAY_LEN(secrets)]; /* [0]: failed guesses, [1]: refused (429) */
    atomic_ullong dialog[ARRAY_LEN(dialog_outcomes)];
    atomic_ullong refused[ARRAY_LEN(refusals)];
    atomic_ullong timed_out[ARRAY_LEN(conn_phases)];
    atomic_ullong dead_total;
    atomic_ullong repeated[ARRAY_LEN(repeat_reasons)];
    atomic_ullong breaker[ARRAY_LEN(breaker_moves)];
    atomic_ullong rtt_count[N_BUCKETS]; /* per bucket, not cumulative; summed when rendered */
    atomic_ullong rtt_sum_ns;
    atomic_llong gauges[G__COUNT];
};

/* ---- lookups ---- */

/* Index of s in names, or the last index ("other") if absent. */
static size_t name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s && i + 1 < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return n - 1;
}

static size_t status_index(int status)
{
    for (size_t i = 0; i < ARRAY_LEN(statuses); i++)
        if (statuses[i] == status)
            return i;
    return N_STATUS - 1;
}

static void inc(atomic_ullong *a)
{
    atomic_fetch_add_explicit(a, 1, memory_order_relaxed);
}

/* ---- updates ---- */

struct metrics *metrics_new(const char *const *channel_names, size_t n_channels)
{
    /* calloc'ed memory is a valid zero for lock-free atomics on every platform we build for */
    struct metrics *m = sr_calloc(1, sizeof(*m));
    m->n_channels = n_channels;
    m->channels = sr_calloc(n_channels ? n_channels : 1, sizeof(*m->channels));
    for (size_t i = 0; i < n_channels; i++)
        m->channels[i] = channel_names[i];
    m->msg_in = sr_calloc(n_channels ? n_channels * ARRAY_LEN(kinds) : 1, sizeof(*m->msg_in));
    m->msg_out =
        sr_calloc(n_channels ? n_channels * ARRAY_LEN(send_outcomes) : 1, sizeof(*m->msg_out));
    m->limited =
        sr_calloc(n_channels ? n_channels * ARRAY_LEN(limited_actions) : 1, sizeof(*m->limited));
    m->rejected = sr_calloc(n_channels ? n_channels * ARRAY_LEN(rejects) : 1, sizeof(*m->rejected));
    return m;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    free(m->channels);
    free(m->msg_in);
    free(m->msg_out);
    free(m->limited);
    free(m->rejected);
    free(m);
}

void metrics_request(struct metrics *m, const char *route, int status)
{
    inc(&m->requests[name_index(routes, ARRAY_LEN(routes), route)][status_index(status)]);
}

/* An index outside the configured channels is a caller bug; it is ignored, not counted. */
void metrics_message_in(struct metrics *m, size_t channel_idx, const char *kind)
{
    if (channel_idx < m->n_channels)
        inc(&m->msg_in[channel_idx * ARRAY_LEN(kinds) + name_index(kinds, ARRAY_LEN(kinds), kind)]);
}

void metrics_message_out(struct metrics *m, size_t channel_idx, const char *outcome)
{
    size_t n = ARRAY_LEN(send_outcomes);
    if (channel_idx < m->n_channels)
        inc(&m->msg_out[channel_idx * n + name_index(send_outcomes, n, outcome)]);
}

void metrics_message_limited(struct metrics *m, size_t channel_idx, int told)
{
    if (channel_idx < m->n_channels)
        inc(&m->limited[channel_idx * ARRAY_LEN(limited_actions) + (told ? 0 : 1)]);
}

void metrics_dialog_outcome(struct metrics *m, const char *outcome)
{
    inc(&m->dialog[name_index(dialog_outcomes, ARRAY_LEN(dialog_outcomes), outcome)]);
}

void metrics_auth(struct metrics *m, const char *secret, int refused)
{
    inc(&m->auth[refused ? 1 : 0][name_index(secrets, ARRAY_LEN(secrets), secret)]);
}

void metrics_item_rejected(struct metrics *m, size_t channel_idx, const char *reason)
{
    size_t n = ARRAY_LEN(rejects);
    if (channel_idx < m->n_channels)
        inc(&m->rejected[channel_idx * n + name_index(rejects, n, reason)]);
}

void metrics_redis_rtt(struct metrics *m, double seconds)
{
    if (!(seconds > 0)) /* negative and NaN count as 0 */
        seconds = 0;
    double ns_d = seconds * 1e9;
    unsigned long long ns =
        ns_d >= 1e18 ? 1000000000000000000ULL : (unsigned long long)(ns_d + 0.5);
    size_t b = 0;
    while (b < ARRAY_LEN(rtt_buckets) && ns > rtt_buckets[b].ns)
        b++;
    inc(&m->rtt_count[b]);
    atomic_fetch_add_explicit(&m->rtt_sum_ns, ns, memory_order_relaxed);
}

static void gauge_set(struct metrics *m, enum gauge g, long long v)
{
    atomic_store_explicit(&m->gauges[g], v, memory_order_relaxed);
}

void metrics_set_backlog(struct metrics *m, long long outbox_pending, long long outbox_lag,
                         long long events_pending, long long events_lag)
{
    gauge_set(m, G_OUTBOX_PENDING, outbox_pending);
    gauge_set(m, G_OUTBOX_LAG, outbox_lag);
    gauge_set(m, G_EVENTS_PENDING, events_pending);
    gauge_set(m, G_EVENTS_LAG, events_lag);
}

void metrics_set_writer(struct metrics *m, unsigned long long applied, long long lag_ms)
{
    gauge_set(m, G_WRITER_APPLIED,
              applied > (unsigned long long)LLONG_MAX ? LLONG_MAX : (long long)applied);
    gauge_set(m, G_WRITER_LAG_MS, lag_ms);
}

void metrics_set_dead_letters(struct metrics *m, long long dead_letters)
{
    gauge_set(m, G_OUTBOX_DEAD, dead_letters);
}

void metrics_reply_dead(struct metrics *m)
{
    inc(&m->dead_total);
}

void metrics_reply_repeated(struct metrics *m, const char *reason)
{
    inc(&m->repeated[name_index(repeat_reasons, ARRAY_LEN(repeat_reasons), reason)]);
}

void metrics_breaker(struct metrics *m, const char *to)
{
    inc(&m->breaker[name_index(breaker_moves, ARRAY_LEN(breaker_moves), to)]);
}

void metrics_connection_refused(struct metrics *m, const char *reason)
{
    inc(&m->refused[name_index(refusals, ARRAY_LEN(refusals), reason)]);
}

void metrics_connection_timed_out(struct metrics *m, const char *phase)
{
    inc(&m->timed_out[name_index(conn_phases, ARRAY_LEN(conn_phases), phase)]);
}

void metrics_connections_open(struct metrics *m, int delta)
{
    atomic_fetch_add_explicit(&m->gauges[G_CONNECTIONS_OPEN], delta, memory_order_relaxed);
}

void metrics_set_spool(struct metrics *m, long long records, long long bytes)
{
    gauge_set(m, G_SPOOL_RECORDS, records);
    gauge_set(m, G_SPOOL_BYTES, bytes);
}

void metrics_spool_event(struct metrics *m, const char *what)
{
    enum gauge g = strcmp(what, "replayed") == 0 ? G_SPOOL_REPLAYED
                   : strcmp(what, "failed") == 0 ? G_SPOOL_FAILED
                                                 : G_SPOOL_FULL;
    atomic_fetch_add_explicit(&m->gauges[g], 1, memory_order_relaxed);
}

/* ---- rendering ---- */

struct buf {
    char *p;
    size_t len, cap;
};

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        while (b->cap - b->len <= (size_t)n)
            b->cap *= 2;
        b->p = sr_realloc(b->p, b->cap);
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* Appends s escaped for a label value (\\, \", \n) or, with quote = 0, for HELP (\\, \n). */
static void buf_escaped(struct buf *b, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            buf_printf(b, "\\\\");
        else if (*s == '\n')
            buf_printf(b, "\\n");
        else if (*s == '"' && quote)
            buf_printf(b, "\\\"");
        else
            buf_printf(b, "%c", *s);
    }
}

static unsigned long long load(atomic_ullong *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

struct metric_def;
typedef void (*render_fn)(struct metrics *m, const struct metric_def *d, struct buf *b);

struct metric_def {
    const char *name;
    const char *type; /* "counter", "gauge", "histogram" */
    const char *help;
    const char *labels; /* documentation only: the label names, comma-separated */
    render_fn render;
    enum gauge gauge; /* render_gauge only */
};

static void render_requests(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    for (size_t r = 0; r < ARRAY_LEN(routes); r++)
        for (size_t s = 0; s < N_STATUS; s++) {
            buf_printf(b, "%s{route=\"%s\",status=\"", d->name, routes[r]);
            if (s < ARRAY_LEN(statuses))
                buf_printf(b, "%d", statuses[s]);
            else
                buf_printf(b, "other");
            buf_printf(b, "\"} %llu\n", load(&m->requests[r][s]));
        }
}

/* Rows of a per-channel counter: channel x names. */
static void render_per_channel(struct metrics *m, const struct metric_def *d, struct buf *b,
                               atomic_ullong *cells, const char *label, const char *const *names,
                               size_t n)
{
    for (size_t c = 0; c < m->n_channels; c++)
        for (size_t i = 0; i < n; i++) {
            buf_printf(b, "%s{channel=\"", d->name);
            buf_escaped(b, m->channels[c] ? m->channels[c] : "", 1);
            buf_printf(b, "\",%s=\"%s\"} %llu\n", label, names[i], load(&cells[c * n + i]));
        }
}

static void render_in(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    render_per_channel(m, d, b, m->msg_in, "kind", kinds, ARRAY_LEN(kinds));
}

static void render_out(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    render_per_channel(m, d, b, m->msg_out, "outcome", send_outcomes, ARRAY_LEN(send_outcomes));
}

static void render_limited(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    render_per_channel(m, d, b, m->limited, "action", limited_actions, ARRAY_LEN(limited_actions));
}

static void render_rejected(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    render_per_channel(m, d, b, m->rejected, "reason", rejects, ARRAY_LEN(rejects));
}

static void render_secrets(const struct metric_def *d, struct buf *b, atomic_ullong *cells)
{
    for (size_t i = 0; i < ARRAY_LEN(secrets); i++)
        buf_printf(b, "%s{secret=\"%s\"} %llu\n", d->name, secrets[i], load(&cells[i]));
}

static void render_auth_failed(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    render_secrets(d, b, m->auth[0]);
}

static void render_auth_refused(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    render_secrets(d, b, m->auth[1]);
}

static void render_dialog(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    for (size_t i = 0; i < ARRAY_LEN(dialog_outcomes); i++)
        buf_printf(b, "%s{outcome=\"%s\"} %llu\n", d->name, dialog_outcomes[i],
                   load(&m->dialog[i]));
}

/* Rows of a counter with one label: label=names[i]. */
static void render_labelled(const struct metric_def *d, struct buf *b, atomic_ullong *cells,
                            const char *label, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s{%s=\"%s\"} %llu\n", d->name, label, names[i], load(&cells[i]));
}

static void render_refused(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    render_labelled(d, b, m->refused, "reason", refusals, ARRAY_LEN(refusals));
}

static void render_timed_out(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    render_labelled(d, b, m->timed_out, "phase", conn_phases, ARRAY_LEN(conn_phases));
}

static void render_dead_total(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    buf_printf(b, "%s %llu\n", d->name, load(&m->dead_total));
}

static void render_repeated(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    render_labelled(d, b, m->repeated, "reason", repeat_reasons, ARRAY_LEN(repeat_reasons) - 1);
}

static void render_breaker(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    render_labelled(d, b, m->breaker, "to", breaker_moves, ARRAY_LEN(breaker_moves) - 1);
}

static void render_rtt(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    unsigned long long cum = 0;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        cum += load(&m->rtt_count[i]);
        buf_printf(b, "%s_bucket{le=\"%s\"} %llu\n", d->name,
                   i < ARRAY_LEN(rtt_buckets) ? rtt_buckets[i].le : "+Inf", cum);
    }
    unsigned long long ns = load(&m->rtt_sum_ns);
    buf_printf(b, "%s_sum %llu.%09llu\n", d->name, ns / 1000000000ULL, ns % 1000000000ULL);
    buf_printf(b, "%s_count %llu\n", d->name, cum);
}

static void render_gauge(struct metrics *m, const struct metric_def *d, struct buf *b)
{
    buf_printf(b, "%s %lld\n", d->name,
               atomic_load_explicit(&m->gauges[d->gauge], memory_order_relaxed));
}

static const struct metric_def metric_defs[] = {
    {"suara_http_requests_total", "counter", "HTTP requests answered, by route and status.",
     "route,status", render_requests},
    {"suara_messages_in_total", "counter", "Inbound provider items accepted, by channel and kind.",
     "channel,kind", render_in},
    {"suara_messages_out_total", "counter", "Outbound send attempts, by channel and outcome.",
     "channel,outcome", render_out},
    {"suara_messages_limited_total", "counter",
     "Inbound messages over their sender's rate limit ([limits]), not processed, by channel and "
     "action (told: got the window's slow-down reply; ignored: acknowledged only).",
     "channel,action", render_limited},
    {"suara_messages_rejected_total", "counter",
     "Inbound provider items not processed, by channel and reason (the rest of their batch is).",
     "channel,reason", render_rejected},
    {"suara_auth_failures_total", "counter",
     "Failed guesses of a secret (API token, verify_token, webhook signature), by secret.",
     "secret", render_auth_failed},
    {"suara_auth_refused_total", "counter",
     "Requests refused with 429 because their client failed too many secret checks.", "secret",
     render_auth_refused},
    {"suara_dialog_outcomes_total", "counter", "Dialog steps, by outcome.", "outcome",
     render_dialog},
    {"suara_redis_rtt_seconds", "histogram", "Redis command round-trip time in seconds.", "",
     render_rtt},
    {"suara_outbox_pending", "gauge",
     "Outbox entries delivered to a sender but not yet acknowledged.", "", render_gauge,
     G_OUTBOX_PENDING},
    {"suara_outbox_lag", "gauge", "Outbox entries not yet delivered to the sender group.", "",
     render_gauge, G_OUTBOX_LAG},
    {"suara_outbox_dead", "gauge",
     "Replies in the dead-letter stream (not delivered within their useful window); see "
     "suara outbox list.",
     "", render_gauge, G_OUTBOX_DEAD},
    {"suara_outbox_dead_total", "counter", "Replies this process moved to the dead-letter stream.",
     "", render_dead_total},
    {"suara_replies_possibly_repeated_total", "counter",
     "Replies sent again although an earlier attempt may have reached the provider, by reason "
     "(crash: a worker died between the provider's answer and recording it; timeout: an attempt "
     "got no answer).",
     "reason", render_repeated},
    {"suara_sender_breaker_transitions_total", "counter",
     "Per-channel circuit breakers of the sender opening and closing.", "to", render_breaker},
    {"suara_events_pending", "gauge", "Events delivered to the writer but not yet acknowledged.",
     "", render_gauge, G_EVENTS_PENDING},
    {"suara_events_lag", "gauge", "Events not yet delivered to the writer group.", "", render_gauge,
     G_EVENTS_LAG},
    {"suara_writer_applied_total", "counter",
     "Events applied to the evaluation store (as reported by the writer).", "", render_gauge,
     G_WRITER_APPLIED},
    {"suara_writer_lag_ms", "gauge", "Milliseconds since the writer last committed (-1: never).",
     "", render_gauge, G_WRITER_LAG_MS},
    {"suara_connections_refused_total", "counter",
     "Client connections closed at accept, by the cap that refused them.", "reason",
     render_refused},
    {"suara_connections_timed_out_total", "counter",
     "Client connections closed by a deadline, by the phase that ran out of time.", "phase",
     render_timed_out},
    {"suara_connections_open", "gauge", "Client connections open (admitted, not yet closed).", "",
     render_gauge, G_CONNECTIONS_OPEN},
    {"suara_spool_records", "gauge",
     "Verified webhooks in the inbound spool (accepted while Redis was unreachable), not yet "
     "replayed.",
     "", render_gauge, G_SPOOL_RECORDS},
    {"suara_spool_bytes", "gauge", "Size of the inbound spool file in bytes.", "", render_gauge,
     G_SPOOL_BYTES},
    {"suara_spool_replayed_total", "counter", "Spooled webhooks replayed and committed to Redis.",
     "", render_gauge, G_SPOOL_REPLAYED},
    {"suara_spool_failed_total", "counter",
     "Spooled webhooks given up at replay (unreadable, unknown channel, malformed), each logged.",
     "", render_gauge, G_SPOOL_FAILED},
    {"suara_spool_full_total", "counter",
     "Webhooks answered 503 because the inbound spool was full or could not be written.", "",
     render_gauge, G_SPOOL_FULL},
};

char *metrics_render(struct metrics *m, size_t *len)
{
    struct buf b = {sr_malloc(4096), 0, 4096};
    b.p[0] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(metric_defs); i++) {
        const struct metric_def *d = &metric_defs[i];
        buf_printf(&b, "# HELP %s ", d->name);
        buf_escaped(&b, d->help, 0);
        buf_printf(&b, "\n# TYPE %s %s\n", d->name, d->type);
        d->render(m, d, &b);
    }
    if (len)
        *len = b.len;
    return b.p;
}
