/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for gateway/sender.c: a real store on a libuv loop (the suite's private redis-server,
 * SUARA_TEST_REDIS_SOCKET, one key prefix per test) and the mock provider
 * (tests/support/mock_provider.py on a loopback port, stopped by its PID). Replies are put on
 * the outbox with a plain synchronous XADD (field "r"), the sender runs until every entry is
 * acked, then the test checks what the provider saw and what was recorded in Redis:
 * delivery, retries on 503 and 429 (Retry-After spacing), permanent failures, opt-out, unknown
 * channels, already-sent entries, the max_in_flight bound; and the once-only delivery of issue
 * 10: a provider outage longer than the old max_attempts window, the breaker, the dead-letter
 * stream with `suara outbox retry|drop`, two workers on one reply, a reconnect with a lost read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli_outbox.h"
#include "config.h"
#include "harness.h"
#include "sender.h"
#include "sr_log.h"
#include "sr_mem.h"
#include "sr_types.h"
#include "store.h"
#include "store_int.h" /* store_conn_drop: a disconnect in the reconnect test */

#include <curl/curl.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t mock_pid = -1;
static char mock_base[64];
static char *mock_dir;
static char *wa_base, *tw_base;
static char log_path[64];
static int log_fd = -1;

#define WA_TO "6281200000001"
#define TW_TO "6281200000002"

/* ---- the mock provider process (tests/support/harness.c starts and stops it by PID) ---- */

static int suite_setup(void **state)
{
    (void)state;
    sr_mem_init();
    /* every log line of the suite goes to a file that the last test searches for secrets */
    snprintf(log_path, sizeof(log_path), "/tmp/suara-snd-%ld.log", (long)getpid());
    log_fd = open(log_path, O_CREAT | O_TRUNC | O_WRONLY | O_APPEND, 0600);
    if (log_fd < 0)
        return -1;
    sr_log_set_fd(log_fd);
    sr_log_set_level(SR_LOG_DEBUG);
    if (!getenv("SUARA_TEST_REDIS_SOCKET") || !getenv("SUARA_TEST_REDIS_SOCKET")[0])
        return -1;
    int port = 0;
    mock_dir = harness_tmpdir("snd");
    if (!mock_dir)
        return -1;
    mock_pid = harness_mock_start(mock_dir, &port);
    if (mock_pid <= 0)
        return -1;
    snprintf(mock_base, sizeof(mock_base), "http://127.0.0.1:%d", port);
    wa_base = sr_asprintf("%s/graph", mock_base);
    tw_base = sr_asprintf("%s/twilio", mock_base);
    return 0;
}

static int suite_teardown(void **state)
{
    (void)state;
    if (mock_pid > 0)
        harness_stop(mock_pid, SIGTERM, 5000);
    mock_pid = -1;
    harness_rmdir(mock_dir);
    free(mock_dir);
    sr_log_set_fd(2);
    if (log_fd >= 0)
        close(log_fd);
    if (!getenv("SENDER_TEST_KEEP_LOG"))
        unlink(log_path);
    free(wa_base);
    free(tw_base);
    return 0;
}

/* Lines of the suite's log so far that contain needle. */
static int log_count(const char *needle)
{
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *userp)
{
    char **buf = userp;
    size_t old = *buf ? strlen(*buf) : 0;
    *buf = sr_realloc(*buf, old + size * nmemb + 1);
    memcpy(*buf + old, data, size * nmemb);
    (*buf)[old + size * nmemb] = '\0';
    return size * nmemb;
}

/* Blocking side channel to the mock (test helper only). Returns the heap body. */
static char *mock_call(const char *method, const char *path, const char *json)
{
    char *url = sr_asprintf("%s%s", mock_base, path);
    char *body = NULL;
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (json)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_cleanup(e);
    free(url);
    assert_int_equal(rc, CURLE_OK);
    return body;
}

static void mock_reset(const char *fault)
{
    free(mock_call("DELETE", "/_requests", NULL));
    free(mock_call("POST", "/_control", fault ? fault : "{\"fail_next\":0}"));
}

static json_t *mock_requests(void)
{
    char *body = mock_call("GET", "/_requests", NULL);
    json_t *a = json_loads(body, 0, NULL);
    free(body);
    assert_true(json_is_array(a));
    return a;
}

/* ---- Redis, synchronously, for setting up and checking ---- */

static redisContext *redis(void)
{
    redisContext *rc = redisConnectUnix(getenv("SUARA_TEST_REDIS_SOCKET"));
    assert_non_null(rc);
    assert_int_equal(rc->err, 0);
    return rc;
}

static redisReply *cmd(redisContext *rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    return r;
}

/* XADD <p>outbox * r <reply JSON>; returns the heap entry id. */
static char *outbox_add(redisContext *rc, const char *prefix, const char *channel, const char *to,
                        const char *text)
{
    struct sr_reply r = {0};
    r.channel = sr_strdup(channel);
    r.to = sr_strdup(to);
    r.text = sr_strdup(text);
    char *json = sr_reply_to_json(&r);
    sr_reply_clear(&r);
    redisReply *rep = cmd(rc, "XADD %soutbox * r %s", prefix, json);
    free(json);
    assert_int_equal(rep->type, REDIS_REPLY_STRING);
    char *id = sr_strdup(rep->str);
    freeReplyObject(rep);
    return id;
}

/* 1 when the group "sender" has delivered everything up to last_id and has nothing pending. */
static int all_acked(redisContext *rc, const char *prefix, const char *last_id)
{
    redisReply *r = redisCommand(rc, "XINFO GROUPS %soutbox", prefix);
    int ok = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        const redisReply *g = r->element[0];
        long long pending = -1;
        const char *last = "";
        for (size_t i = 0; i + 1 < g->elements; i += 2) {
            if (strcmp(g->element[i]->str, "pending") == 0)
                pending = g->element[i + 1]->integer;
            if (strcmp(g->element[i]->str, "last-delivered-id") == 0)
                last = g->element[i + 1]->str;
        }
        ok = pending == 0 && strcmp(last, last_id) == 0;
    }
    freeReplyObject(r);
    return ok;
}

/* The outcome events in <p>events, parsed, in order. */
static json_t *events(redisContext *rc, const char *prefix)
{
    redisReply *r = cmd(rc, "XRANGE %sevents - +", prefix);
    json_t *a = json_array();
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        assert_string_equal(f->element[0]->str, "e");
        json_t *e = json_loads(f->element[1]->str, 0, NULL);
        assert_non_null(e);
        json_array_append_new(a, e);
    }
    freeReplyObject(r);
    return a;
}

static long long exists(redisContext *rc, const char *prefix, const char *what, const char *id)
{
    redisReply *r = cmd(rc, "EXISTS %s%s%s", prefix, what, id);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* ---- the system under test on a loop ---- */

struct env {
    uv_loop_t loop;
    uv_timer_t tick; /* keeps UV_RUN_ONCE returning while the store blocks on a read */
    struct store *store;
    struct sender *sender;
    struct sr_channel_conf ch[2];
    char prefix[96];
    redisContext *rc;
    int outcomes[4];
    int notes[5]; /* enum sender_note */
    int stopped;
};

static void on_note(void *ud, const char *channel, enum sender_note n)
{
    struct env *e = ud;
    assert_non_null(channel);
    e->notes[n]++;
}

static void on_outcome(void *ud, const char *channel, enum sr_send_outcome o)
{
    struct env *e = ud;
    assert_non_null(channel);
    e->outcomes[o]++;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static void env_init(struct env *e, const char *name)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->prefix, sizeof(e->prefix), "test_sender:%ld:%s:", (long)getpid(), name);
    e->ch[0] = (struct sr_channel_conf){.name = "wa",
                                        .type = "whatsapp",
                                        .api_base = wa_base,
                                        .access_token = "test-token-not-real",
                                        .phone_number_id = "1234"};
    e->ch[1] = (struct sr_channel_conf){.name = "sms",
                                        .type = "twilio",
                                        .api_base = tw_base,
                                        .auth_token = "test-token-not-real",
                                        .account_sid = "ACtest",
                                        .from_number = "+15550000000"};
    e->rc = redis();
    assert_int_equal(uv_loop_init(&e->loop), 0);
}

static void env_store_new(struct env *e)
{
    struct sr_errbuf eb = {{0}};
    struct store_conf sc;
    store_conf_defaults(&sc);
    sc.unix_socket = getenv("SUARA_TEST_REDIS_SOCKET");
    sc.prefix = e->prefix;
    e->store = store_new(&e->loop, &sc, &eb);
    assert_non_null(e->store);
}

static void env_start(struct env *e, struct sender_conf *over)
{
    struct sr_errbuf eb = {{0}};
    env_store_new(e);
    struct sender_conf c = {
        .consumer = "test-w0",
        .timeout_ms = 3000,
        .connect_timeout_ms = 1000,
        .max_attempts = 4,
        .max_in_flight = 8,
        .backoff_min_ms = 50,
        .backoff_max_ms = 3000,
        .block_ms = 100,
        .claim_idle_ms = 60000,
    };
    if (over)
        c = *over;
    c.on_outcome = on_outcome;
    c.on_note = on_note;
    c.on_outcome_ud = e;
    e->sender = sender_start(&e->loop, e->store, e->ch, 2, &c, &eb);
    assert_non_null(e->sender);
    uv_timer_init(&e->loop, &e->tick);
    uv_timer_start(&e->tick, on_tick, 20, 20);
}

/* Runs the loop until everything up to last_id is acked; bounded (monotonic clock). */
static void env_run_until_acked(struct env *e, const char *last_id)
{
    uint64_t deadline = uv_hrtime() + 20ULL * 1000 * 1000 * 1000;
    while (!all_acked(e->rc, e->prefix, last_id)) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&e->loop, UV_RUN_ONCE);
    }
}

static void on_stopped(void *ud)
{
    ((struct env *)ud)->stopped = 1;
}

static void env_finish(struct env *e)
{
    sender_stop(e->sender, on_stopped, e);
    uint64_t deadline = uv_hrtime() + 20ULL * 1000 * 1000 * 1000;
    while (!e->stopped) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&e->loop, UV_RUN_ONCE);
    }
    store_close(e->store);
    uv_close((uv_handle_t *)&e->tick, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    redisReply *r = redisCommand(e->rc, "EVAL %s 0 %s", /* drop this test's keys */
                                 "for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do "
                                 "redis.call('DEL', k) end return 0",
                                 e->prefix);
    freeReplyObject(r);
    redisFree(e->rc);
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static long long jint(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

/* ---- tests ---- */

static void test_delivers_both_channels(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "both");
    mock_reset(NULL);
    char *id_wa = outbox_add(e.rc, e.prefix, "wa", WA_TO, "Terima kasih");
    char *id_tw = outbox_add(e.rc, e.prefix, "sms", TW_TO, "Terima kasih juga");
    env_start(&e, NULL);
    env_run_until_acked(&e, id_tw);

    json_t *reqs = mock_requests();
    assert_int_equal(json_array_size(reqs), 2);
    int seen_wa = 0, seen_tw = 0;
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r)
    {
        assert_true(json_is_true(json_object_get(r, "has_auth")));
        if (strcmp(jstr(r, "path"), "/graph/1234/messages") == 0) {
            seen_wa++;
            assert_string_equal(jstr(r, "auth_scheme"), "bearer");
            assert_string_equal(jstr(r, "content_type"), "application/json");
            assert_non_null(strstr(jstr(r, "body"), "\"to\":\"" WA_TO "\""));
            assert_non_null(strstr(jstr(r, "body"), "Terima kasih"));
        } else {
            seen_tw++;
            assert_string_equal(jstr(r, "path"),
                                "/twilio/2010-04-01/Accounts/ACtest/Messages.json");
            assert_string_equal(jstr(r, "auth_scheme"), "basic");
            assert_non_null(strstr(jstr(r, "body"), "To=%2B" TW_TO));
        }
    }
    assert_int_equal(seen_wa, 1);
    assert_int_equal(seen_tw, 1);
    json_decref(reqs);

    json_t *ev = events(e.rc, e.prefix);
    assert_int_equal(json_array_size(ev), 2);
    json_array_foreach(ev, i, r)
    {
        assert_string_equal(jstr(r, "type"), "reply_sent");
        int is_wa = strcmp(jstr(r, "channel"), "wa") == 0;
        const char *id = is_wa ? id_wa : id_tw;
        char *want = sr_asprintf("sent:%s", id);
        assert_string_equal(jstr(r, "id"), want);
        free(want);
        assert_string_equal(jstr(r, "outbox_id"), id);
        assert_int_equal(jint(r, "attempts"), 1);
        assert_int_equal(jint(r, "http_status"), is_wa ? 200 : 201);
        assert_true(jint(r, "at") > 0);
        assert_non_null(strstr(jstr(r, "provider_id"), is_wa ? "wamid.mock." : "SM"));
    }
    json_decref(ev);
    assert_int_equal(exists(e.rc, e.prefix, "sent:", id_wa), 1);
    assert_int_equal(exists(e.rc, e.prefix, "sent:", id_tw), 1);
    assert_int_equal(e.outcomes[SR_SEND_OK], 2);
    env_finish(&e);
    free(id_wa);
    free(id_tw);
}

static void test_retries_503(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "r503");
    mock_reset("{\"fail_next\":2,\"status\":503}");
    char *id = outbox_add(e.rc, e.prefix, "wa", WA_TO, "coba lagi");
    env_start(&e, NULL);
    env_run_until_acked(&e, id);
    json_t *reqs = mock_requests();
    assert_int_equal(json_array_size(reqs), 3);
    assert_int_equal(jint(json_array_get(reqs, 0), "status"), 503);
    assert_int_equal(jint(json_array_get(reqs, 1), "status"), 503);
    assert_int_equal(jint(json_array_get(reqs, 2), "status"), 200);
    json_decref(reqs);
    json_t *ev = events(e.rc, e.prefix);
    assert_int_equal(json_array_size(ev), 1);
    assert_string_equal(jstr(json_array_get(ev, 0), "type"), "reply_sent");
    assert_int_equal(jint(json_array_get(ev, 0), "attempts"), 3);
    json_decref(ev);
    assert_int_equal(e.outcomes[SR_SEND_OK], 1);
    env_finish(&e);
    free(id);
}

static void test_429_retry_after(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "r429");
    mock_reset("{\"fail_next\":1,\"status\":429,\"retry_after\":1,\"error_code\":20429}");
    char *id = outbox_add(e.rc, e.prefix, "sms", TW_TO, "pelan-pelan");
    env_start(&e, NULL); /* backoff_min 50 ms: only Retry-After can make it wait ~1 s */
    env_run_until_acked(&e, id);
    json_t *reqs = mock_requests();
    assert_int_equal(json_array_size(reqs), 2);
    double t0 = json_real_value(json_object_get(json_array_get(reqs, 0), "t"));
    double t1 = json_real_value(json_object_get(json_array_get(reqs, 1), "t"));
    assert_true(t1 - t0 >= 0.95);
    assert_int_equal(jint(json_array_get(reqs, 1), "status"), 201);
    json_decref(reqs);
    json_t *ev = events(e.rc, e.prefix);
    assert_int_equal(jint(json_array_get(ev, 0), "attempts"), 2);
    json_decref(ev);
    env_finish(&e);
    free(id);
}

static void test_retry_after_capped(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "r429cap");
    mock_reset("{\"fail_next\":1,\"status\":429,\"retry_after\":60,\"error_code\":130429}");
    char *id = outbox_add(e.rc, e.prefix, "wa", WA_TO, "jangan lama");
    struct sender_conf c = {.consumer = "test-w4",
                            .timeout_ms = 3000,
                            .max_attempts = 3,
                            .max_in_flight = 4,
                            .backoff_min_ms = 50,
                            .backoff_max_ms = 300, /* a 60 s Retry-After is cut to this */
                            .block_ms = 100};
    env_start(&e, &c);
    env_run_until_acked(&e, id);
    json_t *reqs = mock_requests();
    assert_int_equal(json_array_size(reqs), 2);
    double t0 = json_real_value(json_object_get(json_array_get(reqs, 0), "t"));
    double t1 = json_real_value(json_object_get(json_array_get(reqs, 1), "t"));
    assert_true(t1 - t0 >= 0.25 && t1 - t0 < 2.0);
    json_decref(reqs);
    env_finish(&e);
    free(id);
}

static void test_permanent_400_not_retried(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "p400");
    mock_reset("{\"fail_next\":1,\"status\":400,\"error_code\":100}");
    char *id = outbox_add(e.rc, e.prefix, "wa", WA_TO, "ditolak");
    env_start(&e, NULL);
    env_run_until_acked(&e, id);
    json_t *reqs = mock_requests();
    assert_int_equal(json_array_size(reqs), 1);
    json_decref(reqs);
    json_t *ev = events(e.rc, e.prefix);
    assert_int_equal(json_array_size(ev), 1);
    json_t *r = json_array_get(ev, 0);
    assert_string_equal(jstr(r, "type"), "reply_failed");
    assert_string_equal(jstr(r, "error"), "http 400");
    assert_int_equal(jint(r, "http_status"), 400);
    assert_int_equal(jint(r, "attempts"), 1);
    json_decref(ev);
    assert_int_equal(exists(e.rc, e.prefix, "sent:", id), 0);
    assert_int_equal(e.outcomes[SR_SEND_FAILED], 1);
    env_finish(&e);
    free(id);
}

static void test_opted_out(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "optout");
    mock_reset("{\"fail_next\":1,\"status\":400,\"error_code\":131050}");
    char *id = outbox_add(e.rc, e.prefix, "wa", WA_TO, "halo");
    env_start(&e, NULL);
    env_run_until_acked(&e, id);
    json_t *ev = events(e.rc, e.prefix);
    assert_string_equal(jstr(json_array_get(ev, 0), "type"), "reply_failed");
    assert_string_equal(jstr(json_array_get(ev, 0), "error"), "opted_out");
    json_decref(ev);
    assert_int_equal(e.outcomes[SR_SEND_OPTED_OUT], 1);
    env_finish(&e);
    free(id);
}

static void test_gives_up_after_max_attempts(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "giveup");
    mock_reset("{\"fail_next\":10,\"status\":503}");
    char *id = outbox_add(e.rc, e.prefix, "sms", TW_TO, "tidak sampai");
    env_start(&e, NULL); /* max_attempts 4 */
    env_run_until_acked(&e, id);
    json_t *reqs = mock_requests();
    assert_int_equal(json_array_size(reqs), 4);
    json_decref(reqs);
    json_t *ev = events(e.rc, e.prefix);
    json_t *r = json_array_get(ev, 0);
    assert_string_equal(jstr(r, "type"), "reply_failed");
    assert_string_equal(jstr(r, "error"), "gave up after 4 attempts: http 503");
    assert_int_equal(jint(r, "attempts"), 4);
    json_decref(ev);
    mock_reset(NULL);
    env_finish(&e);
    free(id);
}

static void test_unknown_channel_and_already_sent(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "unknown");
    mock_reset(NULL);
    char *id_sent = outbox_add(e.rc, e.prefix, "wa", WA_TO, "sudah terkirim");
    freeReplyObject(cmd(e.rc, "SET %ssent:%s 1", e.prefix, id_sent));
    char *id_unknown = outbox_add(e.rc, e.prefix, "nope", WA_TO, "ke mana?");
    env_start(&e, NULL);
    env_run_until_acked(&e, id_unknown);
    json_t *reqs = mock_requests();
    assert_int_equal(json_array_size(reqs), 0); /* neither reached the provider */
    json_decref(reqs);
    json_t *ev = events(e.rc, e.prefix);
    assert_int_equal(json_array_size(ev), 1); /* the already-sent entry is only acked */
    json_t *r = json_array_get(ev, 0);
    assert_string_equal(jstr(r, "type"), "reply_failed");
    assert_string_equal(jstr(r, "error"), "unknown channel");
    assert_string_equal(jstr(r, "outbox_id"), id_unknown);
    json_decref(ev);
    env_finish(&e);
    free(id_sent);
    free(id_unknown);
}

static void test_max_in_flight(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "inflight");
    mock_reset("{\"fail_next\":6,\"delay_ms\":150}");
    char *ids[6];
    for (int i = 0; i < 6; i++) {
        char to[32];
        snprintf(to, sizeof(to), "62812000000%02d", i + 10);
        ids[i] = outbox_add(e.rc, e.prefix, "wa", to, "satu per satu");
    }
    struct sender_conf c = {.consumer = "test-w1",
                            .timeout_ms = 3000,
                            .max_attempts = 3,
                            .max_in_flight = 2,
                            .backoff_min_ms = 50,
                            .backoff_max_ms = 500,
                            .block_ms = 100};
    env_start(&e, &c);
    env_run_until_acked(&e, ids[5]);
    json_t *reqs = mock_requests();
    assert_int_equal(json_array_size(reqs), 6); /* each exactly once */
    /* each call is recorded when its 150 ms delay ends: at no moment were more than 2 open */
    for (size_t i = 0; i < 6; i++) {
        double probe = json_real_value(json_object_get(json_array_get(reqs, i), "t")) - 0.01;
        int open = 0;
        for (size_t k = 0; k < 6; k++) {
            double end = json_real_value(json_object_get(json_array_get(reqs, k), "t"));
            open += end - 0.15 < probe && probe < end;
        }
        assert_true(open >= 1 && open <= 2);
    }
    json_decref(reqs);
    json_t *ev = events(e.rc, e.prefix);
    assert_int_equal(json_array_size(ev), 6);
    json_decref(ev);
    assert_int_equal(e.outcomes[SR_SEND_OK], 6);
    env_finish(&e);
    for (int i = 0; i < 6; i++)
        free(ids[i]);
}

static void on_stop_timer(uv_timer_t *t)
{
    struct env *e = t->data;
    sender_stop(e->sender, on_stopped, e);
    uv_close((uv_handle_t *)t, NULL);
}

/* Stops e's sender (without freeing the rest) once the mock has recorded n calls. */
static void run_until_calls_then_stop(struct env *e, size_t n)
{
    uint64_t deadline = uv_hrtime() + 20ULL * 1000 * 1000 * 1000;
    for (;;) {
        json_t *reqs = mock_requests();
        size_t got = json_array_size(reqs);
        json_decref(reqs);
        if (got >= n)
            break;
        assert_true(uv_hrtime() < deadline);
        uv_run(&e->loop, UV_RUN_ONCE);
    }
    sender_stop(e->sender, on_stopped, e);
    while (!e->stopped) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&e->loop, UV_RUN_ONCE);
    }
}

static long long pending(redisContext *rc, const char *prefix)
{
    redisReply *r = cmd(rc, "XPENDING %soutbox sender", prefix);
    long long n = r->element[0]->integer;
    freeReplyObject(r);
    return n;
}

static void test_stop_waits_for_send_in_flight(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "stopwait");
    mock_reset("{\"fail_next\":1,\"delay_ms\":400}");
    char *id = outbox_add(e.rc, e.prefix, "wa", WA_TO, "sebentar");
    env_start(&e, NULL);
    uv_timer_t t;
    uv_timer_init(&e.loop, &t);
    t.data = &e;
    uv_timer_start(&t, on_stop_timer, 200, 0); /* stop while the provider is still answering */
    uint64_t deadline = uv_hrtime() + 20ULL * 1000 * 1000 * 1000;
    while (!e.stopped) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&e.loop, UV_RUN_ONCE);
    }
    assert_true(all_acked(e.rc, e.prefix, id)); /* the answer was recorded before done() */
    assert_int_equal(exists(e.rc, e.prefix, "sent:", id), 1);
    e.sender = NULL; /* already stopped: env_finish's stop is a no-op on NULL */
    e.stopped = 0;
    env_finish(&e);
    free(id);
}

static void test_stop_leaves_retry_pending(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "stopretry");
    mock_reset("{\"fail_next\":1,\"status\":503}");
    char *id = outbox_add(e.rc, e.prefix, "sms", TW_TO, "nanti saja");
    struct sender_conf c = {.consumer = "test-w2",
                            .timeout_ms = 3000,
                            .max_attempts = 3,
                            .max_in_flight = 4,
                            .backoff_min_ms = 5000, /* the retry would be far away */
                            .backoff_max_ms = 5000,
                            .block_ms = 100};
    env_start(&e, &c);
    run_until_calls_then_stop(&e, 1);
    assert_int_equal(pending(e.rc, e.prefix), 1); /* not acked, nothing recorded */
    assert_int_equal(exists(e.rc, e.prefix, "events", ""), 0);
    assert_int_equal(exists(e.rc, e.prefix, "sent:", id), 0);
    assert_int_equal(e.outcomes[SR_SEND_RETRY] + e.outcomes[SR_SEND_FAILED], 0);

    /* a restart (new store, new sender, same consumer) picks its pending entry up */
    store_close(e.store);
    env_store_new(&e);
    e.stopped = 0;
    struct sr_errbuf eb = {{0}};
    c.on_outcome = on_outcome;
    c.on_outcome_ud = &e;
    e.sender = sender_start(&e.loop, e.store, e.ch, 2, &c, &eb);
    assert_non_null(e.sender);
    env_run_until_acked(&e, id);
    json_t *reqs = mock_requests();
    assert_int_equal(json_array_size(reqs), 2);
    assert_int_equal(jint(json_array_get(reqs, 1), "status"), 201);
    json_decref(reqs);
    assert_int_equal(e.outcomes[SR_SEND_OK], 1);
    env_finish(&e);
    free(id);
}

static void test_redis_unreachable(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "down");
    struct sr_errbuf eb = {{0}};
    struct store_conf sc;
    store_conf_defaults(&sc);
    sc.unix_socket = "/nonexistent/suara-test/redis.sock";
    sc.prefix = e.prefix;
    sc.backoff_min_ms = 20;
    sc.backoff_max_ms = 50;
    e.store = store_new(&e.loop, &sc, &eb);
    assert_non_null(e.store);
    struct sender_conf c = {.consumer = "test-w3", .backoff_min_ms = 20, .backoff_max_ms = 60};
    c.on_outcome = on_outcome;
    c.on_outcome_ud = &e;
    e.sender = sender_start(&e.loop, e.store, e.ch, 2, &c, &eb);
    assert_non_null(e.sender);
    uv_timer_init(&e.loop, &e.tick);
    uv_timer_start(&e.tick, on_tick, 20, 20);
    uint64_t until = uv_hrtime() + 300ULL * 1000 * 1000; /* reads fail and back off */
    while (uv_hrtime() < until)
        uv_run(&e.loop, UV_RUN_ONCE);
    env_finish(&e); /* and it still stops cleanly */
}

/* ---- once-only delivery (issue 10) ---- */

static size_t mock_count(int status) /* provider calls answered with status (0: all) */
{
    json_t *reqs = mock_requests();
    size_t n = 0, i;
    json_t *r;
    json_array_foreach(reqs, i, r) n += status == 0 || jint(r, "status") == status;
    json_decref(reqs);
    return n;
}

static long long xlen(redisContext *rc, const char *prefix, const char *stream)
{
    redisReply *r = cmd(rc, "XLEN %s%s", prefix, stream);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

/* Runs e's loop until the mock has recorded at least n calls answered with status (bounded). */
static void run_until_calls(struct env *e, size_t n, int status)
{
    uint64_t deadline = uv_hrtime() + 20ULL * 1000 * 1000 * 1000;
    while (mock_count(status) < n) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&e->loop, UV_RUN_ONCE);
    }
}

static int count_events(redisContext *rc, const char *prefix, const char *type)
{
    json_t *ev = events(rc, prefix);
    int n = 0;
    size_t i;
    json_t *r;
    json_array_foreach(ev, i, r) n += strcmp(jstr(r, "type"), type) == 0;
    json_decref(ev);
    return n;
}

static struct sender_conf patient_conf(const char *consumer)
{
    return (struct sender_conf){.consumer = consumer,
                                .timeout_ms = 3000,
                                .max_attempts = 0, /* retried while useful */
                                .max_in_flight = 8,
                                .backoff_min_ms = 50,
                                .backoff_max_ms = 200,
                                .block_ms = 100,
                                .breaker_failures = 1000, /* out of the way unless tested */
                                .breaker_open_ms = 200};
}

/* The old sender gave up after max_attempts (4 here: well under a second); now the reply waits
 * out the outage and arrives exactly once when the provider is back. */
static void test_outage_then_delivered_once(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "outage");
    mock_reset("{\"fail_next\":100000,\"status\":503}");
    char *id = outbox_add(e.rc, e.prefix, "sms", TW_TO, "sabar ya");
    struct sender_conf c = patient_conf("test-w5");
    c.breaker_failures = 3;
    env_start(&e, &c);
    run_until_calls(&e, 10, 503); /* far beyond 4 attempts */
    assert_int_equal(count_events(e.rc, e.prefix, "reply_failed"), 0);
    assert_int_equal(xlen(e.rc, e.prefix, "outbox:dead"), 0);
    mock_reset(NULL); /* the provider is back */
    env_run_until_acked(&e, id);
    assert_int_equal(mock_count(0), 1);
    assert_int_equal(mock_count(201), 1);
    assert_int_equal(count_events(e.rc, e.prefix, "reply_sent"), 1);
    assert_int_equal(exists(e.rc, e.prefix, "sent:", id), 1);
    assert_int_equal(exists(e.rc, e.prefix, "lease:", id), 0); /* gone with the entry */
    assert_int_equal(exists(e.rc, e.prefix, "sending:", id), 0);
    assert_int_equal(e.notes[SENDER_NOTE_REPEAT_CRASH] + e.notes[SENDER_NOTE_REPEAT_TIMEOUT], 0);
    env_finish(&e);
    free(id);
}

/* Four replies during an outage: once the breaker is open only its probes reach the provider;
 * a good probe closes it and every reply leaves once. */
static void test_breaker_opens_and_closes(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "breaker");
    mock_reset("{\"fail_next\":100000,\"status\":503}");
    char *ids[4];
    for (int i = 0; i < 4; i++) {
        char to[32];
        snprintf(to, sizeof(to), "62812000000%02d", i + 30);
        ids[i] = outbox_add(e.rc, e.prefix, "wa", to, "tunggu");
    }
    struct sender_conf c = patient_conf("test-w6");
    c.breaker_failures = 2;
    c.breaker_open_ms = 400;
    c.backoff_max_ms = 400;
    env_start(&e, &c);
    uint64_t deadline = uv_hrtime() + 20ULL * 1000 * 1000 * 1000;
    while (e.notes[SENDER_NOTE_BREAKER_OPEN] == 0) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&e.loop, UV_RUN_ONCE);
    }
    /* The window is the breaker's own progress, not a fixed time (which a loaded machine would
     * fill with fewer calls): it ends once three probes have gone out, at least two open periods
     * (>= 800 ms) in which 4 jobs without a breaker would make ~7 calls each. */
    size_t before = mock_count(0);
    int probes = log_count("breaker half-open");
    uint64_t t0 = uv_hrtime();
    while (log_count("breaker half-open") < probes + 3) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&e.loop, UV_RUN_ONCE);
    }
    size_t during = mock_count(0) - before;
    print_message("breaker: %zu provider calls in %.2f s (3 probes) with 4 replies waiting\n",
                  during, (double)(uv_hrtime() - t0) / 1e9);
    assert_true(during <= 3 + 4); /* the probes, plus stragglers in flight when it opened */
    assert_int_equal(e.notes[SENDER_NOTE_BREAKER_CLOSED], 0);
    mock_reset(NULL);
    env_run_until_acked(&e, ids[3]);
    for (int i = 0; i < 4; i++)
        assert_false(exists(e.rc, e.prefix, "sent:", ids[i]) == 0);
    assert_int_equal(mock_count(200), 4); /* each once */
    assert_int_equal(e.notes[SENDER_NOTE_BREAKER_CLOSED], 1);
    assert_int_equal(count_events(e.rc, e.prefix, "reply_sent"), 4);
    env_finish(&e);
    for (int i = 0; i < 4; i++)
        free(ids[i]);
}

/* The dead letter of outbox entry `from` (its "from" field). */
static char *dead_id(redisContext *rc, const char *prefix, const char *from)
{
    redisReply *r = cmd(rc, "XRANGE %soutbox:dead - +", prefix);
    char *id = NULL;
    for (size_t i = 0; i < r->elements && !id; i++) {
        const redisReply *f = r->element[i]->element[1];
        for (size_t k = 0; k + 1 < f->elements; k += 2)
            if (strcmp(f->element[k]->str, "from") == 0 &&
                strcmp(f->element[k + 1]->str, from) == 0)
                id = sr_strdup(r->element[i]->element[0]->str);
    }
    freeReplyObject(r);
    assert_non_null(id);
    return id;
}

static int run_cli(struct env *e, const char *verb, const char *id)
{
    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.redis.socket = getenv("SUARA_TEST_REDIS_SOCKET");
    cfg.redis.prefix = e->prefix;
    cfg.redis.dedupe_ttl_s = 604800;
    cfg.redis.command_timeout_ms = 2000;
    char *argv[] = {"outbox", (char *)verb, (char *)id, NULL};
    return cli_outbox(&cfg, id ? 3 : 2, argv);
}

/* An SMS reply past its retry window goes to the dead-letter stream (not lost, not retried
 * for ever); `suara outbox retry` queues it again and it is sent, `drop` removes one. */
static void test_dead_letter_retry_drop(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "dead");
    mock_reset("{\"fail_next\":100000,\"status\":503}");
    char *a = outbox_add(e.rc, e.prefix, "sms", TW_TO, "terlambat");
    char *b = outbox_add(e.rc, e.prefix, "sms", TW_TO, "terlambat juga");
    struct sender_conf c = patient_conf("test-w7");
    c.retry_window_s = 1;
    env_start(&e, &c);
    env_run_until_acked(&e, b);
    assert_int_equal(xlen(e.rc, e.prefix, "outbox"), 0);
    assert_int_equal(xlen(e.rc, e.prefix, "outbox:dead"), 2);
    assert_int_equal(e.notes[SENDER_NOTE_DEAD], 2);
    assert_int_equal(count_events(e.rc, e.prefix, "reply_failed"), 2);
    assert_int_equal(mock_count(201), 0);

    char *da = dead_id(e.rc, e.prefix, a), *db = dead_id(e.rc, e.prefix, b);
    assert_int_equal(run_cli(&e, "list", NULL), 0);
    mock_reset(NULL); /* the provider is back */
    assert_int_equal(run_cli(&e, "retry", da), 0);
    assert_int_equal(run_cli(&e, "drop", db), 0);
    assert_int_equal(run_cli(&e, "drop", db), 1); /* no longer there */
    assert_int_equal(xlen(e.rc, e.prefix, "outbox:dead"), 0);
    run_until_calls(&e, 1, 201);
    uint64_t deadline = uv_hrtime() + 20ULL * 1000 * 1000 * 1000;
    while (xlen(e.rc, e.prefix, "outbox") != 0 || count_events(e.rc, e.prefix, "reply_sent") != 1) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&e.loop, UV_RUN_ONCE);
    }
    json_t *reqs = mock_requests();
    assert_int_equal(json_array_size(reqs), 1);
    assert_non_null(strstr(jstr(json_array_get(reqs, 0), "body"), "Body=terlambat"));
    assert_null(strstr(jstr(json_array_get(reqs, 0), "body"), "juga")); /* the dropped one */
    json_decref(reqs);
    env_finish(&e);
    free(a);
    free(b);
    free(da);
    free(db);
}

static void on_stopped2(void *ud)
{
    (*(int *)ud)++;
}

/* Two workers, one reply retried for longer than claim_idle_ms: the second worker claims the
 * idle entry but leaves it to the lease owner, so every attempt is made once and the reply
 * leaves once. */
static void test_two_workers_one_send(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "twoworkers");
    mock_reset("{\"fail_next\":8,\"status\":503}");
    char *id = outbox_add(e.rc, e.prefix, "wa", WA_TO, "sekali saja");
    struct sender_conf c = patient_conf("test-w8a");
    c.backoff_min_ms = 150;
    c.backoff_max_ms = 300;
    c.claim_idle_ms = 100; /* the other worker looks at the entry every 100 ms */
    c.lease_ms = 1500;
    env_start(&e, &c);
    struct sr_errbuf eb = {{0}};
    struct store_conf sc;
    store_conf_defaults(&sc);
    sc.unix_socket = getenv("SUARA_TEST_REDIS_SOCKET");
    sc.prefix = e.prefix;
    struct store *st2 = store_new(&e.loop, &sc, &eb);
    assert_non_null(st2);
    c.consumer = "test-w8b";
    struct sender *s2 = sender_start(&e.loop, st2, e.ch, 2, &c, &eb);
    assert_non_null(s2);
    env_run_until_acked(&e, id);
    /* a late second send must show up before a later reply is through, and before the second
     * worker has stopped (its attempts in flight finish first) */
    char *later = outbox_add(e.rc, e.prefix, "wa", WA_TO, "berikutnya");
    env_run_until_acked(&e, later);
    int stopped = 0;
    sender_stop(s2, on_stopped2, &stopped);
    uint64_t deadline = uv_hrtime() + 20ULL * 1000 * 1000 * 1000;
    while (!stopped) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&e.loop, UV_RUN_ONCE);
    }
    assert_int_equal(mock_count(200), 2); /* the reply once, the later one once */
    assert_int_equal(mock_count(0), 10);  /* 8 failures, 2 successes: no attempt made twice */
    assert_int_equal(count_events(e.rc, e.prefix, "reply_sent"), 2);
    free(later);
    store_close(st2);
    env_finish(&e);
    free(id);
}

/* A read whose answer was lost with the connection leaves the entry pending for this consumer:
 * after the reconnect it is read again at once, not after claim_idle_ms (60 s here). */
static void test_reconnect_leaves_nothing_pending(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "reconnect");
    mock_reset(NULL);
    char *first = outbox_add(e.rc, e.prefix, "wa", WA_TO, "pertama");
    struct sender_conf c = patient_conf("test-w9");
    c.claim_idle_ms = 60000;
    env_start(&e, &c);
    env_run_until_acked(&e, first); /* start-up reads are done */
    /* the "lost" read: the entry is delivered to test-w9 in Redis, never to the sender */
    freeReplyObject(cmd(e.rc, "MULTI"));
    freeReplyObject(redisCommand(e.rc, "XADD %soutbox * r %s", e.prefix,
                                 "{\"channel\":\"wa\",\"to\":\"" WA_TO "\",\"text\":\"kedua\","
                                 "\"style\":\"text\",\"options\":[]}"));
    freeReplyObject(
        redisCommand(e.rc, "XREADGROUP GROUP sender test-w9 COUNT 1 STREAMS %soutbox >", e.prefix));
    redisReply *x = cmd(e.rc, "EXEC");
    assert_int_equal(x->type, REDIS_REPLY_ARRAY);
    char *second = sr_strdup(x->element[0]->str);
    freeReplyObject(x);
    /* the sender reads on: a later entry is sent and acked while the lost one stays pending
     * (stuck: the sender does not know it) */
    char *third = outbox_add(e.rc, e.prefix, "wa", WA_TO, "ketiga");
    uint64_t deadline = uv_hrtime() + 20ULL * 1000 * 1000 * 1000;
    while (mock_count(200) < 2 || pending(e.rc, e.prefix) != 1) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&e.loop, UV_RUN_ONCE);
    }
    assert_int_equal(pending(e.rc, e.prefix), 1);
    store_conn_drop(&e.store->conn[STORE_CONN_BLOCK], "test: connection lost");
    env_run_until_acked(&e, third);
    assert_int_equal(pending(e.rc, e.prefix), 0);
    assert_int_equal(mock_count(200), 3);
    env_finish(&e);
    free(first);
    free(second);
    free(third);
}

/* A worker killed between the provider's answer and the done left its sending mark; restarted
 * (same consumer), it sends again at once and counts the possible repeat. */
static void test_crash_repeat_counted(void **state)
{
    (void)state;
    struct env e;
    env_init(&e, "crash");
    mock_reset(NULL);
    char *id = outbox_add(e.rc, e.prefix, "wa", WA_TO, "lagi");
    freeReplyObject(cmd(e.rc, "XGROUP CREATE %soutbox sender 0", e.prefix));
    freeReplyObject(
        cmd(e.rc, "XREADGROUP GROUP sender test-w10 COUNT 1 STREAMS %soutbox >", e.prefix));
    freeReplyObject(cmd(e.rc, "SET %ssending:%s test-w10", e.prefix, id));
    struct sender_conf c = patient_conf("test-w10");
    env_start(&e, &c);
    env_run_until_acked(&e, id);
    assert_int_equal(mock_count(200), 1);
    assert_int_equal(e.notes[SENDER_NOTE_REPEAT_CRASH], 1);
    assert_int_equal(exists(e.rc, e.prefix, "sending:", id), 0);
    env_finish(&e);
    free(id);
}

/* Runs last: the suite's log has outcomes, but no token, no full number, no message text. */
static void test_logs_have_no_secrets(void **state)
{
    (void)state;
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    char line[2048];
    int lines = 0, sent = 0;
    while (fgets(line, sizeof(line), f)) {
        lines++;
        sent += strstr(line, "\"msg\":\"sent channel=") != NULL;
        assert_null(strstr(line, "test-token-not-real"));
        assert_null(strstr(line, "62812000000")); /* every number in this suite */
        assert_null(strstr(line, "Terima kasih"));
        assert_null(strstr(line, "Authorization"));
    }
    fclose(f);
    assert_true(lines > 0);
    assert_true(sent > 0);
}

static void test_stop_null(void **state)
{
    (void)state;
    struct env e = {0};
    sender_stop(NULL, on_stopped, &e);
    assert_int_equal(e.stopped, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivers_both_channels),
        cmocka_unit_test(test_retries_503),
        cmocka_unit_test(test_429_retry_after),
        cmocka_unit_test(test_retry_after_capped),
        cmocka_unit_test(test_permanent_400_not_retried),
        cmocka_unit_test(test_opted_out),
        cmocka_unit_test(test_gives_up_after_max_attempts),
        cmocka_unit_test(test_unknown_channel_and_already_sent),
        cmocka_unit_test(test_max_in_flight),
        cmocka_unit_test(test_stop_waits_for_send_in_flight),
        cmocka_unit_test(test_stop_leaves_retry_pending),
        cmocka_unit_test(test_redis_unreachable),
        cmocka_unit_test(test_stop_null),
        cmocka_unit_test(test_outage_then_delivered_once),
        cmocka_unit_test(test_breaker_opens_and_closes),
        cmocka_unit_test(test_dead_letter_retry_drop),
        cmocka_unit_test(test_two_workers_one_send),
        cmocka_unit_test(test_reconnect_leaves_nothing_pending),
        cmocka_unit_test(test_crash_repeat_counted),
        cmocka_unit_test(test_logs_have_no_secrets),
    };
    return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
