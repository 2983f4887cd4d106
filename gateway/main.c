/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The suara command:
 *   suara serve -c FILE                 run the gateway (the default command)
 *   suara check-config -c FILE          validate the config (also: --check-config)
 *   suara import-officers -c FILE CSV   import units and officers into the evaluation store
 *   suara config-help                   list every config key
 *   suara token create|list|revoke ...  API and feed tokens (see cli_token.h)
 *   suara stats response-times|...      statistics in the terminal (see cli_stats.h)
 *   suara privacy purge NUMBER          erase a citizen's data on request (see cli_privacy.h)
 *   suara outbox list|retry|drop ...    the dead-letter stream of replies (see cli_outbox.h)
 * Serving: load config, open the evaluation store and the officer registry, load the dialogs,
 * start the writer and the workers, then wait for SIGTERM / SIGINT and drain.
 */
#include "api.h"
#include "app.h"
#include "cli_outbox.h"
#include "cli_privacy.h"
#include "cli_stats.h"
#include "cli_token.h"
#include "netaddr.h"
#include "roster.h"
#include "spool.h"
#include "store.h"
#include "throttle.h"
#include "worktime.h"

#include "sr_log.h"
#include "sr_mem.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct opts {
    const char *command;
    const char *config;
    const char *arg;
};

static int usage(void)
{
    fprintf(stderr, "usage: suara [serve] -c FILE\n"
                    "       suara check-config -c FILE     (or: suara --check-config -c FILE)\n"
                    "       suara import-officers -c FILE officers.csv\n"
                    "       suara config-help\n"
                    "       suara token create|list|revoke ... -c FILE\n"
                    "       suara stats response-times|satisfaction|complaints ... -c FILE\n"
                    "       suara privacy purge [--pseudonym] [--json] NUMBER|PSEUDONYM -c FILE\n"
                    "       suara outbox list [--json] | retry ID | drop ID -c FILE\n");
    return 2;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    int have_command = 0;
    o->command = "serve";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
            o->config = argv[++i];
        else if (strcmp(a, "--check-config") == 0)
            o->command = "check-config", have_command = 1;
        else if (a[0] == '-')
            return -1;
        else if (!have_command)
            o->command = a, have_command = 1;
        else if (!o->arg)
            o->arg = a;
        else
            return -1;
    }
    if (!o->config)
        o->config = getenv("SUARA_CONFIG");
    return 0;
}

static struct config *load_config(const char *path)
{
    struct config *cfg = NULL;
    struct sr_errbuf eb = {{0}};
    if (!path) {
        fprintf(stderr, "suara: no config file: give -c FILE or set SUARA_CONFIG\n");
        return NULL;
    }
    if (config_load(path, &cfg, &eb) != SR_E_OK) {
        fprintf(stderr, "suara: %s\n", eb.msg);
        return NULL;
    }
    enum sr_log_level lvl = SR_LOG_INFO;
    sr_log_parse_level(cfg->server.log_level, &lvl);
    sr_log_set_level(lvl);
    return cfg;
}

static int cmd_check_config(const struct opts *o)
{
    struct config *cfg = load_config(o->config);
    if (!cfg)
        return 1;
    printf("%s: ok (%zu channel%s)\n", o->config, cfg->n_channels, cfg->n_channels == 1 ? "" : "s");
    config_free(cfg);
    return 0;
}

static int cmd_import(const struct opts *o)
{
    if (!o->arg)
        return usage();
    struct config *cfg = load_config(o->config);
    if (!cfg)
        return 1;
    struct sr_errbuf eb = {{0}};
    struct evalstore_import_report rep = {0};
    struct evalstore *es = evalstore_open_keyed(cfg->store.sqlite_path, EVALSTORE_WRITE,
                                                cfg->privacy.citizen_hash_key, &eb);
    int rc = 1;
    if (es && evalstore_import_officers(es, o->arg, &rep, &eb) == SR_E_OK) {
        printf("imported %s: %zu units added, %zu officers added, %zu updated\n", o->arg,
               rep.units_added, rep.officers_added, rep.officers_updated);
        rc = 0;
    } else {
        fprintf(stderr, "suara: import failed: %s\n", eb.msg);
    }
    evalstore_close(es);
    config_free(cfg);
    return rc;
}

static void lws_emit(int level, const char *line)
{
    size_t n = strcspn(line, "\n");
    SR_LOG(WARN, "lws", NULL, "%s%.*s", level == LLL_ERR ? "error: " : "", (int)n, line);
}

/* [server] trust_proxy (the parsed address list): the one place the connection guard learns
 * which peers are proxies. */
static int is_trusted_proxy(const struct sockaddr *sa, void *ud)
{
    const struct config *cfg = ud;
    unsigned char a[16];
    return netaddr_from_sockaddr(sa, a) == 0 &&
           netaddr_list_contains(cfg->server.proxies, cfg->server.n_proxies, a);
}

static struct connguard *new_connguard(const struct config *cfg)
{
    struct connguard_conf gc = {
        .max_total = (size_t)cfg->server.max_connections,
        .max_per_address = (size_t)cfg->server.max_connections_per_address,
        .max_per_proxy = (size_t)cfg->server.max_connections_per_proxy,
        .header_ms = (int64_t)cfg->server.header_timeout_s * 1000,
        .idle_ms = (int64_t)cfg->server.idle_timeout_s * 1000,
        .body_min_rate = (uint64_t)cfg->server.body_min_rate_bytes,
        .body_grace_ms = (int64_t)cfg->server.body_grace_s * 1000,
        .is_proxy = is_trusted_proxy,
        .is_proxy_ud = (void *)cfg,
    };
    return connguard_new(&gc);
}

/* Every connection is a file descriptor: take the hard open-files limit, and say so when even
 * that cannot hold max_connections (accept would fail with EMFILE before the guard refuses). */
static void raise_nofile(const struct config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t want = (rlim_t)cfg->server.max_connections + 256;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
        SR_LOG(WARN, "main", NULL,
               "open-files limit %llu is below [server] max_connections + 256 (%llu): raise "
               "LimitNOFILE",
               (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static int prepare_app(struct app *a, const struct config *cfg)
{
    struct sr_errbuf eb = {{0}};
    a->cfg = cfg;
    a->n_channels = cfg->n_channels;
    a->channels = sr_calloc(cfg->n_channels, sizeof(*a->channels));
    for (size_t i = 0; i < cfg->n_channels; i++) {
        a->channels[i] =
            (struct app_channel){i, &cfg->channels[i], handler_find(cfg->channels[i].type)};
        if (!a->channels[i].handler) {
            SR_LOG(ERROR, "main", NULL, "channel %s: no handler for type %s", cfg->channels[i].name,
                   cfg->channels[i].type);
            return -1;
        }
    }
    struct evalstore *es = evalstore_open_keyed(cfg->store.sqlite_path, EVALSTORE_WRITE,
                                                cfg->privacy.citizen_hash_key, &eb);
    if (!es || evalstore_registry_load(es, &a->registry, &eb) != SR_E_OK) {
        SR_LOG(ERROR, "main", NULL, "evaluation store %s: %s", cfg->store.sqlite_path, eb.msg);
        evalstore_close(es);
        return -1;
    }
    evalstore_close(es);
    a->dialogs = dialog_engine_load(cfg->server.data_dir, &eb);
    if (!a->dialogs) {
        SR_LOG(ERROR, "main", NULL, "dialogs: %s", eb.msg);
        return -1;
    }
    a->worktime = worktime_load(cfg->server.data_dir, &eb);
    if (!a->worktime) {
        SR_LOG(ERROR, "main", NULL, "working-time calendar: %s", eb.msg);
        return -1;
    }
    a->roster = roster_load(cfg->server.data_dir, worktime_utc_offset_minutes(a->worktime), &eb);
    if (!a->roster) {
        SR_LOG(ERROR, "main", NULL, "on-duty roster: %s", eb.msg);
        return -1;
    }
    SR_LOG(INFO, "main", NULL, "on-duty roster: %zu shift(s)", roster_count(a->roster));
    a->throttle =
        throttle_new(cfg->server.throttle_failures, (uint64_t)cfg->server.throttle_window_s * 1000,
                     (uint64_t)cfg->server.throttle_block_s * 1000);
    a->conns = new_connguard(cfg);
    const char *oc = cfg->dialog.officer_channel;
    a->officer_channel = oc && oc[0] ? oc : cfg->channels[0].name;
    const char **names = sr_calloc(cfg->n_channels + 1, sizeof(*names));
    for (size_t i = 0; i < cfg->n_channels; i++)
        names[i] = cfg->channels[i].name;
    a->metrics = metrics_new(names, cfg->n_channels);
    free(names);
    return 0;
}

/* [server] spool_dir, or "spool" beside the evaluation store's file. Caller frees. */
static char *spool_dir(const struct config *cfg)
{
    if (cfg->server.spool_dir && cfg->server.spool_dir[0])
        return sr_strdup(cfg->server.spool_dir);
    const char *db = cfg->store.sqlite_path, *slash = strrchr(db, '/');
    return slash ? sr_asprintf("%.*s/spool", (int)(slash - db), db) : sr_strdup("spool");
}

/* Opens the inbound spool; what a crash left in it is replayed once Redis is reachable. */
static int open_spool(struct app *a, const struct config *cfg)
{
    struct sr_errbuf eb = {{0}};
    struct spool_open_report rep = {0};
    char *dir = spool_dir(cfg);
    a->spool = spool_open(dir, (uint64_t)cfg->server.spool_max_bytes, &rep, &eb);
    if (!a->spool)
        SR_LOG(ERROR, "main", NULL, "inbound spool: %s", eb.msg);
    else if (rep.dropped_bytes)
        SR_LOG(WARN, "main", NULL,
               "inbound spool %s: a torn last record (%llu bytes, never acknowledged) was cut off",
               dir, (unsigned long long)rep.dropped_bytes);
    if (a->spool && rep.records)
        SR_LOG(INFO, "main", NULL, "inbound spool %s: %zu webhook(s) to replay", dir, rep.records);
    free(dir);
    return a->spool ? 0 : -1;
}

/* What is unsafe about Redis for "200 means durable", or "" when nothing is. */
static void durability_problem(const struct store_durability *d, char *out, size_t n)
{
    out[0] = '\0';
    if (d->appendonly == 0)
        snprintf(out, n, "appendonly no");
    if (d->maxmemory_policy[0] && strcmp(d->maxmemory_policy, "noeviction") != 0)
        snprintf(out + strlen(out), n - strlen(out), "%smaxmemory-policy %s", out[0] ? ", " : "",
                 d->maxmemory_policy);
}

/* Refuses to start against a Redis that may lose what it acknowledged (appendonly no, an
 * evicting maxmemory-policy) unless [redis] allow_unsafe; an unreachable Redis is no reason
 * not to start (webhooks go to the spool), an unreadable setting only a warning. */
static int check_redis(struct app *a, const struct config *cfg)
{
    static char problem[128];
    struct store_conf sc;
    app_store_conf(cfg, &sc);
    struct store_durability d;
    struct sr_errbuf eb = {{0}};
    if (store_check_durability(&sc, &d, &eb) != SR_E_OK) {
        SR_LOG(WARN, "main", NULL,
               "Redis not reachable at start (%s): its durability settings are not checked; "
               "webhooks go to the inbound spool until it is",
               eb.msg);
        return 0;
    }
    if (d.appendonly < 0 && !d.maxmemory_policy[0])
        SR_LOG(WARN, "main", NULL,
               "cannot read Redis' appendonly / maxmemory-policy (CONFIG and "
               "INFO unavailable): make sure they are yes / noeviction");
    durability_problem(&d, problem, sizeof(problem));
    if (!problem[0])
        return 0;
    if (!cfg->redis.allow_unsafe) {
        SR_LOG(ERROR, "main", NULL,
               "refusing to start: Redis has %s, so a message answered 200 could be lost; set "
               "appendonly yes and maxmemory-policy noeviction in redis.conf, or [redis] "
               "allow_unsafe = yes (never in production)",
               problem);
        return -1;
    }
    SR_LOG(WARN, "main", NULL,
           "REDIS IS NOT DURABLE (%s): starting only because [redis] allow_unsafe = yes; a "
           "message answered 200 can be lost",
           problem);
    a->redis_unsafe = problem;
    return 0;
}

static struct writer *start_writer(const struct config *cfg)
{
    char host[64] = "suara", consumer[96];
    gethostname(host, sizeof(host) - 1);
    /* stable across restarts: a crashed writer's pending entries are re-read by its successor */
    snprintf(consumer, sizeof(consumer), "%.60s-writer", host);
    struct writer_conf wc = {
        .redis_host = cfg->redis.host,
        .redis_port = cfg->redis.port,
        .redis_socket = cfg->redis.socket,
        .redis_db = cfg->redis.db,
        .prefix = cfg->redis.prefix,
        .db_path = cfg->store.sqlite_path,
        .consumer = consumer,
        .batch_max = 500,
        .block_ms = 1000,
        .rating_period_days = cfg->dialog.rating_period_days,
        .id_key = cfg->privacy.citizen_hash_key,
        .provider_id_retention_s = cfg->privacy.provider_id_retention_s,
    };
    struct sr_errbuf eb = {{0}};
    struct writer *w = writer_start(&wc, &eb);
    if (!w)
        SR_LOG(ERROR, "main", NULL, "writer: %s", eb.msg);
    return w;
}

static void free_app(struct app *a)
{
    writer_stop(a->writer);
    spool_close(a->spool);
    metrics_free(a->metrics);
    dialog_engine_free((struct dialog_engine *)a->dialogs);
    worktime_free((struct worktime *)a->worktime);
    roster_free((struct roster *)a->roster);
    throttle_free(a->throttle);
    connguard_free(a->conns);
    evalstore_registry_free(a->registry);
    free(a->channels);
}

static int run_workers(struct app *a, sigset_t *sigs)
{
    struct worker **ws = sr_calloc((size_t)a->n_workers, sizeof(*ws));
    int started = 0, rc = 0;
    for (; started < a->n_workers; started++) {
        struct sr_errbuf eb = {{0}};
        ws[started] = worker_start(a, started, &eb);
        if (!ws[started]) {
            SR_LOG(ERROR, "main", NULL, "worker %d: %s", started, eb.msg);
            rc = 1;
            break;
        }
    }
    if (rc == 0) {
        SR_LOG(INFO, "main", NULL, "suara listening on %s:%d with %d worker%s, %zu channel%s",
               a->cfg->server.listen, a->cfg->server.port, a->n_workers,
               a->n_workers == 1 ? "" : "s", a->n_channels, a->n_channels == 1 ? "" : "s");
        int sig = 0;
        sigwait(sigs, &sig);
        SR_LOG(INFO, "main", NULL, "signal %d: draining", sig);
    }
    for (int i = 0; i < started; i++)
        worker_request_stop(ws[i]);
    for (int i = 0; i < started; i++)
        worker_join(ws[i]);
    free(ws);
    return rc;
}

static int cmd_serve(const struct opts *o)
{
    struct config *cfg = load_config(o->config);
    if (!cfg)
        return 1;
    /* signals are taken by sigwait in this thread; workers inherit the blocked mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_emit);
    raise_nofile(cfg);
    struct app a = {0};
    int rc = 1;
    if (prepare_app(&a, cfg) == 0 && check_redis(&a, cfg) == 0 && open_spool(&a, cfg) == 0 &&
        (a.writer = start_writer(cfg)) != NULL) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        a.n_workers = cfg->server.workers > 0 ? cfg->server.workers : (int)(cores > 0 ? cores : 1);
        rc = run_workers(&a, &sigs);
    }
    free_app(&a);
    config_free(cfg);
    SR_LOG(INFO, "main", NULL, "stopped");
    return rc;
}

/* `suara token ...` and `suara stats ...` have options of their own: only -c FILE is taken
 * here, the command reads the rest (and skips the -c pair). */
static int cmd_sub(int argc, char **argv, int (*run)(const struct config *, int, char **))
{
    const char *path = getenv("SUARA_CONFIG");
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            path = argv[i + 1];
    struct config *cfg = load_config(path);
    if (!cfg)
        return 1;
    int rc = run(cfg, argc - 1, argv + 1);
    config_free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    sr_mem_init();
    if (argc > 1 && strcmp(argv[1], "token") == 0)
        return cmd_sub(argc, argv, cli_token);
    if (argc > 1 && strcmp(argv[1], "stats") == 0)
        return cmd_sub(argc, argv, cli_stats);
    if (argc > 1 && strcmp(argv[1], "privacy") == 0)
        return cmd_sub(argc, argv, cli_privacy);
    if (argc > 1 && strcmp(argv[1], "outbox") == 0)
        return cmd_sub(argc, argv, cli_outbox);
    struct opts o = {0};
    if (parse_opts(argc, argv, &o) < 0)
        return usage();
    if (strcmp(o.command, "serve") == 0)
        return cmd_serve(&o);
    if (strcmp(o.command, "check-config") == 0)
        return cmd_check_config(&o);
    if (strcmp(o.command, "import-officers") == 0)
        return cmd_import(&o);
    if (strcmp(o.command, "config-help") == 0) {
        config_print_help(stdout);
        return 0;
    }
    return usage();
}
