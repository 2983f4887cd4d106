/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fault harness's world and measurements (see faults.h): processes by PID on loopback and
 * a unix socket, a paced multi-threaded load of signed webhooks that, like a provider, posts
 * each one again until it is answered 200, one fault, and counts read from the recording
 * provider's file, the SQLite evaluation store and the Redis streams.
 */
#include "faults.h"

#include "e2e_client.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NUMBER_FMT "6280009%06d" /* obviously fake senders, index in the last six digits */
#define PREFIX "faults:"

static const struct faults_scenario scenarios[] = {
    {"provider_down_20s", FK_PROVIDER_DOWN, 20000, 0, 0, 0},
    {"provider_down_60s", FK_PROVIDER_DOWN, 60000, 0, 0, 0},
    {"provider_500_20s", FK_PROVIDER_STATUS, 20000, 500, 0, 0},
    {"provider_429_ra5_30s", FK_PROVIDER_STATUS, 30000, 429, 5, 0},
    {"provider_slow_12s_20s", FK_PROVIDER_SLOW, 20000, 0, 0, 12000},
    {"provider_429_ra30_90s", FK_PROVIDER_STATUS, 90000, 429, 30, 0},
    {"gateway_kill9", FK_GATEWAY_KILL, 1000, 0, 0, 0},
    {"gateway_sigterm", FK_GATEWAY_TERM, 0, 0, 0, 0},
    {"redis_kill9_3s", FK_REDIS_KILL, 3000, 0, 0, 0},
    {"redis_kill9_15s", FK_REDIS_KILL, 15000, 0, 0, 0},
    {"redis_kill9_70s", FK_REDIS_KILL, 70000, 0, 0, 0},
};

const struct faults_scenario *faults_find(const char *name)
{
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (strcmp(scenarios[i].name, name) == 0)
            return &scenarios[i];
    return NULL;
}

static int env_int(const char *name, int dflt)
{
    const char *v = getenv(name);
    char *end = NULL;
    long n = v && *v ? strtol(v, &end, 10) : 0;
    return v && *v && end && !*end && n > 0 && n < 10000000 ? (int)n : dflt;
}

void faults_params_load(struct faults_params *p)
{
    const char *size = getenv("FAULTS_SIZE");
    int full = size && strcmp(size, "full") == 0;
    const char *scale = getenv("FAULTS_SCALE");
    *p = (struct faults_params){
        .messages = env_int("FAULTS_MESSAGES", full ? 5000 : 300),
        .rate = env_int("FAULTS_RATE", full ? 100 : 60),
        .threads = env_int("FAULTS_THREADS", 8),
        .scale = scale && atof(scale) > 0 ? atof(scale)
                 : full                   ? 1.0
                                          : 0.1,
        .settle_ms = env_int("FAULTS_SETTLE_MS", full ? 30000 : 5000),
        .quiesce_ms = env_int("FAULTS_QUIESCE_MS", full ? 600000 : 60000),
        .repeat_metric = getenv("FAULTS_REPEAT_METRIC") ? getenv("FAULTS_REPEAT_METRIC")
                                                        : "suara_replies_possibly_repeated_total",
        .extra_ini = getenv("FAULTS_EXTRA_INI"),
    };
}

static int scaled(const struct faults_params *p, int ms)
{
    return (int)((double)ms * p->scale + 0.5);
}

/* Retry-After of a scenario at this scale, in whole seconds (rounded up); 0 if none. */
static int retry_after_s(const struct faults_params *p, const struct faults_scenario *sc)
{
    return sc->retry_after_s ? (int)(sc->retry_after_s * p->scale + 0.999) : 0;
}

/* The fault's length at this scale. With a Retry-After (whole seconds, so rounded up) the
 * length keeps its ratio to the Retry-After, not to the nominal scale. */
static int fault_ms(const struct faults_params *p, const struct faults_scenario *sc)
{
    if (!sc->retry_after_s)
        return scaled(p, sc->duration_ms);
    return (int)((long long)retry_after_s(p, sc) * sc->duration_ms / sc->retry_after_s);
}

/* The sender's timeout_ms: its default (20 s, above the slowest answer a provider is known to
 * give, 12 s) scaled, but never under 10 s, so that a loaded machine (a busy Python provider, the
 * burst after an outage, sanitizer builds running beside) does
 * not turn an ordinary answer into a timeout. */
#define SENDER_TIMEOUT_DEFAULT_MS 20000
static int sender_timeout_ms(const struct faults_params *p)
{
    int t = scaled(p, SENDER_TIMEOUT_DEFAULT_MS);
    return t < 10000 ? 10000 : t;
}

/* ---- the world ---- */

struct world {
    const struct faults_params *p;
    char record[600], port_file[600];
    int provider_port;
    pid_t provider;
};

/* Generous: on a loaded machine (shared CI) a Python start can take seconds. */
static pid_t wait_port_file(const char *path, pid_t pid)
{
    long long end = harness_mono_ms() + 30000;
    struct stat st;
    while (harness_mono_ms() < end) {
        if (stat(path, &st) == 0 && st.st_size > 0)
            return pid;
        harness_sleep_ms(20);
    }
    harness_stop(pid, SIGKILL, 2000);
    return -1;
}

static int provider_start(struct world *w)
{
    char script[512], port[16], log[600];
    snprintf(script, sizeof(script), "%s/tests/faults/recording_provider.py", SUARA_SOURCE_DIR);
    snprintf(port, sizeof(port), "%d", w->provider_port);
    snprintf(log, sizeof(log), "%s/provider.log", E.dir);
    unlink(w->port_file);
    char *argv[] = {"python3",    script,     "--port",  port, "--port-file",
                    w->port_file, "--record", w->record, NULL};
    w->provider = wait_port_file(w->port_file, harness_spawn(argv, log));
    return w->provider > 0 ? 0 : -1;
}

static void write_config(const struct world *w)
{
    const struct faults_params *p = w->p;
    snprintf(E.config, sizeof(E.config), "%s/suara.ini", E.dir);
    FILE *f = fopen(E.config, "w");
    if (!f)
        return;
    fprintf(f,
            "[server]\nlisten = 127.0.0.1\nport = %d\nworkers = 2\nlog_level = info\n"
            "data_dir = %s/dialogs/data\n"
            "[redis]\nsocket = %s/redis.sock\nprefix = " PREFIX "\n"
            "[store]\nsqlite_path = %s\n"
            "[privacy]\ncitizen_hash_key = faults-citizen-hash-key-0123456789\n"
            "[sender]\ntimeout_ms = %d\nbackoff_min_ms = %d\nbackoff_max_ms = %d\n"
            "[channel.wa]\ntype = whatsapp\napp_secret = " WA_SECRET "\n"
            "verify_token = faults-verify\naccess_token = faults-access-token\n"
            "phone_number_id = 100000000000001\napi_base = http://127.0.0.1:%d/graph\n",
            E.port, SUARA_SOURCE_DIR, E.dir, E.db, sender_timeout_ms(p), scaled(p, 500) + 1,
            scaled(p, 30000) + 1, w->provider_port);
    if (p->extra_ini)
        fprintf(f, "%s\n", p->extra_ini);
    fclose(f);
}

static int world_start(struct world *w)
{
    E.dir = harness_tmpdir("faults");
    if (!E.dir)
        return -1;
    snprintf(E.db, sizeof(E.db), "%s/suara.db", E.dir);
    snprintf(E.log, sizeof(E.log), "%s/suara.log", E.dir);
    snprintf(w->record, sizeof(w->record), "%s/sent.jsonl", E.dir);
    snprintf(w->port_file, sizeof(w->port_file), "%s/provider.port", E.dir);
    E.port = harness_free_port();
    w->provider_port = harness_free_port();
    snprintf(E.base, sizeof(E.base), "http://127.0.0.1:%d", E.port);
    E.redis = harness_redis_start(E.dir);
    if (E.redis <= 0 || provider_start(w) != 0)
        return -1;
    write_config(w);
    if (start_suara() != 0) {
        fprintf(stderr, "suara did not become ready; log in %s\n", E.log);
        return -1;
    }
    return 0;
}

/* Stops everything by PID; the gateway's exit status after SIGTERM (0 = drained). */
static int world_stop(struct world *w, int keep_dir)
{
    int rc = harness_stop(E.suara, SIGTERM, 30000);
    harness_stop(w->provider, SIGTERM, 10000);
    harness_stop(E.redis, SIGTERM, 10000);
    if (!keep_dir)
        harness_rmdir(E.dir);
    else
        fprintf(stderr, "faults: kept %s (logs, sent.jsonl, suara.db)\n", E.dir);
    free(E.dir);
    E.dir = NULL;
    return rc;
}

/* ---- the load ---- */

struct load {
    const struct faults_params *p;
    long long start_ms, deadline_ms;
    double rate; /* webhooks per second actually used */
    atomic_int next;
    unsigned char *acked; /* per sender */
    atomic_int n_acked, posts;
    char run[24];
};

/* Posts sender i's webhook until it is answered 200 (a provider redelivers), bounded. */
static void post_one(struct load *l, int i)
{
    char from[32], id[96];
    snprintf(from, sizeof(from), NUMBER_FMT, i);
    snprintf(id, sizeof(id), "wamid.faults.%s.%d", l->run, i);
    char *body = wa_body(from, id, "NILAI BMK001", NULL);
    int wait = 200;
    while (harness_mono_ms() < l->deadline_ms) {
        atomic_fetch_add(&l->posts, 1);
        if (post_wa_signed(body, WA_SECRET, NULL) == 200) {
            l->acked[i] = 1;
            atomic_fetch_add(&l->n_acked, 1);
            break;
        }
        harness_sleep_ms(wait);
        wait = wait * 2 > 2000 ? 2000 : wait * 2;
    }
    free(body);
}

static void *load_thread(void *arg)
{
    struct load *l = arg;
    for (int i; (i = atomic_fetch_add(&l->next, 1)) < l->p->messages;) {
        long long due = l->start_ms + (long long)((double)i * 1000.0 / l->rate);
        long long now = harness_mono_ms();
        if (due > now)
            harness_sleep_ms((int)(due - now));
        post_one(l, i);
    }
    return NULL;
}

/* ---- the fault ---- */

static int provider_fault(const struct world *w, int status, int retry_after, int delay, int ms)
{
    char url[96], body[160];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/_fault", w->provider_port);
    snprintf(body, sizeof(body),
             "{\"status\": %d, \"retry_after\": %d, \"delay_ms\": %d, \"for_ms\": %d}", status,
             retry_after, delay, ms);
    struct harness_response r;
    int ok = harness_http("POST", url, NULL, body, strlen(body), &r) == 0 && r.status == 200;
    harness_response_free(&r);
    return ok ? 0 : -1;
}

static int redis_restart(void)
{
    E.redis = harness_redis_start(E.dir);
    return E.redis > 0 ? 0 : -1;
}

/* Injects the fault and ends it; returns its length in ms (-1 if recovery failed). The sleeps
 * here are the fault itself, not waits for a condition. */
static long long inject(struct world *w, const struct faults_scenario *sc)
{
    const struct faults_params *p = w->p;
    int d = fault_ms(p, sc), ra = retry_after_s(p, sc);
    long long t0 = harness_mono_ms();
    int rc = 0;
    switch (sc->kind) {
    case FK_PROVIDER_DOWN:
        harness_stop(w->provider, SIGTERM, 10000);
        harness_sleep_ms(d);
        rc = provider_start(w);
        break;
    case FK_PROVIDER_STATUS:
    case FK_PROVIDER_SLOW:
        /* a slow answer keeps its ratio to the sender's timeout (12 s : 20 s) */
        rc = provider_fault(
            w, sc->status, ra,
            (int)((long long)sc->delay_ms * sender_timeout_ms(p) / SENDER_TIMEOUT_DEFAULT_MS), d);
        harness_sleep_ms(d);
        break;
    case FK_GATEWAY_KILL:
    case FK_GATEWAY_TERM:
        harness_stop(E.suara, sc->kind == FK_GATEWAY_KILL ? SIGKILL : SIGTERM, 30000);
        harness_sleep_ms(d);
        rc = start_suara();
        break;
    case FK_REDIS_KILL:
        harness_stop(E.redis, SIGKILL, 5000);
        harness_sleep_ms(d);
        rc = redis_restart();
        break;
    }
    return rc == 0 ? harness_mono_ms() - t0 : -1;
}

/* ---- measurements ---- */

/* Counts accepted sends per sender from the provider's record file. */
static void count_sent(const struct world *w, int n, int *per, int *extra)
{
    memset(per, 0, (size_t)n * sizeof(*per));
    *extra = 0;
    FILE *f = fopen(w->record, "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        json_t *o = json_loads(line, 0, NULL);
        const char *to = json_string_value(json_object_get(o, "to"));
        char *end = NULL;
        long i = to && strlen(to) == 13 && strncmp(to, "6280009", 7) == 0 ? strtol(to + 7, &end, 10)
                                                                          : -1;
        if (i >= 0 && i < n && end && !*end)
            per[i]++;
        else
            (*extra)++;
        json_decref(o);
    }
    if (f)
        fclose(f);
}

static const char *field(const redisReply *kv, const char *name)
{
    for (size_t i = 0; kv && kv->type == REDIS_REPLY_ARRAY && i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && !strcmp(kv->element[i]->str, name))
            return kv->element[i + 1]->type == REDIS_REPLY_STRING ? kv->element[i + 1]->str : "";
    return NULL;
}

static long long ifield(const redisReply *kv, const char *name)
{
    for (size_t i = 0; kv && kv->type == REDIS_REPLY_ARRAY && i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && !strcmp(kv->element[i]->str, name))
            return kv->element[i + 1]->type == REDIS_REPLY_INTEGER ? kv->element[i + 1]->integer
                                                                   : -1;
    return -1;
}

/* One stream: pending of every group, entries no group has been given yet (last-delivered-id
 * behind last-generated-id), and the length of a stream without groups (a dead letter). */
static void stream_state(redisContext *c, const char *key, long long *pending,
                         long long *undelivered, long long *dead)
{
    redisReply *s = redisCommand(c, "XINFO STREAM %s", key);
    redisReply *g = redisCommand(c, "XINFO GROUPS %s", key);
    const char *last = s ? field(s, "last-generated-id") : NULL;
    if (g && g->type == REDIS_REPLY_ARRAY && g->elements == 0)
        *dead += s ? ifield(s, "length") : 0;
    for (size_t i = 0; g && g->type == REDIS_REPLY_ARRAY && i < g->elements; i++) {
        *pending += ifield(g->element[i], "pending");
        const char *ld = field(g->element[i], "last-delivered-id");
        *undelivered += last && ld && strcmp(last, ld) != 0;
    }
    if (s)
        freeReplyObject(s);
    if (g)
        freeReplyObject(g);
}

/* Sums over every stream under the prefix; -1 if Redis cannot be asked. */
static int streams_state(long long *pending, long long *undelivered, long long *dead)
{
    char sock[600];
    snprintf(sock, sizeof(sock), "%s/redis.sock", E.dir);
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectUnixWithTimeout(sock, tv);
    *pending = *undelivered = *dead = 0;
    if (!c || c->err) {
        redisFree(c);
        return -1;
    }
    redisReply *r = redisCommand(c, "SCAN 0 MATCH " PREFIX "* TYPE stream COUNT 100000");
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2;
    for (size_t i = 0; ok && i < r->element[1]->elements; i++)
        stream_state(c, r->element[1]->element[i]->str, pending, undelivered, dead);
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return ok ? 0 : -1;
}

/* The gateway's counter of possible repeats (summed over labels); 0 if absent. */
static double metric_sum(const char *name)
{
    char url[96], *body = NULL;
    snprintf(url, sizeof(url), "%s/metrics", E.base);
    double sum = 0;
    size_t n = strlen(name);
    if (http_get(url, &body) == 200)
        for (char *line = body; line && *line;
             line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
            if (!strncmp(line, name, n) && (line[n] == ' ' || line[n] == '{'))
                sum += atof(strchr(line + n, ' ') ? strchr(line + n, ' ') + 1 : "0");
    free(body);
    return sum;
}

/* Fills the counts of r from the world. */
static void measure(const struct world *w, const struct load *l, struct faults_result *r)
{
    int n = w->p->messages, *per = calloc((size_t)n, sizeof(int));
    count_sent(w, n, per, &r->extra_sends);
    r->acked = atomic_load(&l->n_acked);
    r->delivered = r->lost = r->duplicates = 0;
    for (int i = 0; i < n; i++) {
        r->delivered += per[i] > 0;
        r->lost += l->acked[i] && per[i] == 0;
        r->duplicates += per[i] > 1 ? per[i] - 1 : 0;
    }
    free(per);
    r->db_surveys = db_int("SELECT count(*) FROM surveys");
    r->db_distinct = db_int("SELECT count(DISTINCT citizen) FROM surveys");
    r->db_started_events = db_int("SELECT count(*) FROM events WHERE type = 'survey_started'");
    if (streams_state(&r->pending, &r->undelivered, &r->dead) != 0)
        r->pending = r->undelivered = -1;
}

/* A fingerprint of everything that moves; equal twice settle_ms apart = quiet. */
static long long progress(const struct faults_result *r)
{
    return (long long)r->delivered * 1000003LL + r->duplicates * 7919LL + r->db_surveys * 31 +
           r->pending * 17 + r->undelivered + r->acked * 131;
}

/* Waits (bounded) until every acknowledged sender has its reply, SQLite holds every survey
 * and the streams are drained, or until nothing moved for settle_ms with the streams drained
 * (a reply that will never come). Returns 1 if quiescent; *settled_at is when the world last
 * moved (the settle time is not part of the recovery). */
static int wait_quiescent(const struct world *w, const struct load *l, struct faults_result *r,
                          long long *settled_at)
{
    long long end = harness_mono_ms() + w->p->quiesce_ms, quiet_since = harness_mono_ms();
    long long last = -1;
    while (harness_mono_ms() < end) {
        measure(w, l, r);
        int drained = r->pending == 0 && r->undelivered == 0;
        *settled_at = harness_mono_ms();
        if (drained && r->delivered >= r->acked && r->db_surveys >= r->acked)
            return 1;
        long long fp = progress(r);
        if (fp != last)
            last = fp, quiet_since = harness_mono_ms();
        *settled_at = quiet_since;
        if (drained && harness_mono_ms() - quiet_since >= w->p->settle_ms)
            return 1;
        harness_sleep_ms(250);
    }
    return 0;
}

static int run_load(struct world *w, const struct faults_scenario *sc, struct load *l,
                    struct faults_result *r)
{
    const struct faults_params *p = w->p;
    pthread_t t[64];
    int nt = p->threads > 64 ? 64 : p->threads;
    /* the load lasts at least twice the fault + 3 s, so traffic also flows after it */
    long long load_ms = (long long)p->messages * 1000 / p->rate;
    long long min_ms = 2LL * fault_ms(p, sc) + 3000;
    l->rate = load_ms < min_ms ? (double)p->messages * 1000.0 / (double)min_ms : p->rate;
    load_ms = load_ms < min_ms ? min_ms : load_ms;
    l->start_ms = harness_mono_ms();
    l->deadline_ms = l->start_ms + load_ms + fault_ms(p, sc) + 120000;
    for (int i = 0; i < nt; i++)
        pthread_create(&t[i], NULL, load_thread, l);
    harness_sleep_ms((int)(load_ms / 3)); /* the fault strikes a third of the way in */
    r->fault_ms = inject(w, sc);
    long long fault_end = harness_mono_ms();
    for (int i = 0; i < nt; i++)
        pthread_join(t[i], NULL);
    if (r->fault_ms < 0)
        return -1;
    long long load_end = harness_mono_ms(), settled_at = fault_end;
    r->quiescent = wait_quiescent(w, l, r, &settled_at);
    r->recovery_ms = settled_at - fault_end;
    r->drain_ms = settled_at - (load_end > fault_end ? load_end : fault_end);
    r->repeats_metric = metric_sum(p->repeat_metric);
    return 0;
}

int faults_run(const struct faults_scenario *sc, const struct faults_params *p,
               struct faults_result *out)
{
    struct world w = {.p = p};
    struct load l = {.p = p};
    memset(out, 0, sizeof(*out));
    memset(&E, 0, sizeof(E));
    out->messages = p->messages;
    l.acked = calloc((size_t)p->messages, 1);
    snprintf(l.run, sizeof(l.run), "%d", (int)getpid());
    int rc = world_start(&w) == 0 ? run_load(&w, sc, &l, out) : -1;
    int ok = rc == 0 && out->quiescent && out->lost == 0 && out->duplicates == 0;
    out->gateway_exit = world_stop(&w, !ok || getenv("FAULTS_KEEP") != NULL);
    free(l.acked);
    return rc;
}

void faults_print(const struct faults_scenario *sc, const struct faults_result *r)
{
    printf("FAULTS name=%s messages=%d acked=%d delivered=%d lost=%d duplicates=%d "
           "repeats_metric=%.0f extra_sends=%d db_surveys=%lld db_distinct=%lld "
           "db_started_events=%lld pending=%lld undelivered=%lld dead_letter=%lld fault_ms=%lld "
           "recovery_ms=%lld drain_ms=%lld quiescent=%d gateway_exit=%d\n",
           sc->name, r->messages, r->acked, r->delivered, r->lost, r->duplicates, r->repeats_metric,
           r->extra_sends, r->db_surveys, r->db_distinct, r->db_started_events, r->pending,
           r->undelivered, r->dead, r->fault_ms, r->recovery_ms, r->drain_ms, r->quiescent,
           r->gateway_exit);
    fflush(stdout);
}
