/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inbound spool end to end (gateway/spool.c, the spool path of webhook.c), against real
 * processes: a private redis-server this test stops and restarts by PID, the mock provider and
 * the suara binary (two workers). While Redis is down every signed webhook, Twilio (which does
 * not retry a 503) and WhatsApp, is answered 200 once it is on disk; when Redis returns every
 * message is processed exactly once and in order (a whole survey sent during the outage
 * completes with its answers); a gateway restarted while records wait replays them at start and
 * cuts a torn last record; a full spool answers 503. Also the start-up check of Redis: refused
 * against `appendonly no`, started (with a loud warning) under [redis] allow_unsafe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "e2e_client.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_SMS 8 /* one-message Twilio senders per outage */
#define N_WA 8  /* one-message WhatsApp senders per outage */

/* The domain clock is held still (the [server] clock_file drill): a replayed message is stepped
 * at its receive time, and no session expires meanwhile to add an idle notice to the replies
 * counted. The spool is small, so the full-spool test reaches the bound quickly; the other
 * tests stay well below it. */
#define CLOCK_MS 1790000000000LL
#define MORE_INI "spool_max_bytes = 65536\n"

/* /readyz's "spooled" count, or -1; status into st (may be NULL). */
static long long readyz_spooled(char *st, size_t n)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "%s/readyz", E.base);
    long code = http_get(url, &body);
    json_t *o = code > 0 ? json_loads(body, 0, NULL) : NULL;
    free(body);
    json_t *sp = json_object_get(o, "spooled");
    long long v = json_is_integer(sp) ? json_integer_value(sp) : -1;
    if (st)
        snprintf(st, n, "%s", o ? json_string_value(json_object_get(o, "status")) : "");
    json_decref(o);
    return v;
}

/* Waits (bounded) until /readyz reports want spooled records and the given status. */
static int wait_spooled(long long want, const char *status, int timeout_ms)
{
    long long end = harness_mono_ms() + timeout_ms;
    char st[32] = "";
    while (harness_mono_ms() < end) {
        if (readyz_spooled(st, sizeof(st)) == want && strcmp(st, status) == 0)
            return 0;
        harness_sleep_ms(50);
    }
    fprintf(stderr, "readyz: spooled %lld (%s), wanted %lld (%s)\n", readyz_spooled(NULL, 0), st,
            want, status);
    return -1;
}

/* One counter or gauge from /metrics (no labels), or -1. */
static long long metric(const char *name)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "%s/metrics", E.base);
    long long v = -1;
    if (http_get(url, &body) == 200) {
        char pat[128];
        snprintf(pat, sizeof(pat), "\n%s ", name);
        const char *p = strstr(body, pat);
        if (p)
            v = strtoll(p + strlen(pat), NULL, 10);
    }
    free(body);
    return v;
}

/* The mock's settled count of calls for a number, once it has at least want (bounded: replies
 * leave asynchronously, slower under sanitizers and load). */
static int replies(const char *num, int want)
{
    long long end = harness_mono_ms() + 20000;
    while (mock_count(num) < want && harness_mono_ms() < end)
        harness_sleep_ms(100);
    return mock_settled_count(num);
}

static char spool_file[600];

static long long spool_file_size(void)
{
    struct stat st;
    return stat(spool_file, &st) == 0 ? (long long)st.st_size : -1;
}

static int setup(void **state)
{
    int rc = e2e_setup_clock(state, CLOCK_MS, MORE_INI);
    snprintf(spool_file, sizeof(spool_file), "%s/spool/inbound.spool", E.dir);
    return rc;
}

static void stop_redis(void)
{
    assert_int_equal(harness_stop(E.redis, SIGTERM, 10000), 0);
    E.redis = 0;
}

static void start_redis(void)
{
    E.redis = harness_redis_start(E.dir); /* the same AOF: what was committed is still there */
    assert_true(E.redis > 0);
}

static void number(char *out, size_t n, int block, int i)
{
    snprintf(out, n, "62800000%02d%03d", block, i);
}

/* Twilio and WhatsApp while Redis is down: all 200, all on disk; then processed once each. */
static void test_redis_down_twilio_and_whatsapp_spooled_then_processed_once(void **state)
{
    (void)state;
    /* how many replies one opening gets, with Redis up */
    assert_int_equal(sms_send_as("+6280000025000", "RATE SRW001", SMS_TOKEN), 200);
    assert_int_equal(wa_send("6280000025001", "NILAI BMK001", NULL), 200);
    int per_sms = replies("6280000025000", 1), per_wa = replies("6280000025001", 1);
    assert_true(per_sms >= 1);
    assert_true(per_wa >= 1);
    stop_redis();
    const char *survey_from = "+6280000020999";
    const char *steps[] = {"RATE SRW001", "4", "good", "excellent", "satisfied", "SKIP"};
    for (size_t i = 0; i < 6; i++) /* one whole survey: only in order does it complete */
        assert_int_equal(sms_send_as(survey_from, steps[i], SMS_TOKEN), 200);
    char num[32], plus[40];
    for (int i = 0; i < N_SMS; i++) {
        number(num, sizeof(num), 21, i);
        snprintf(plus, sizeof(plus), "+%s", num);
        assert_int_equal(sms_send_as(plus, "RATE SRW001", SMS_TOKEN), 200);
    }
    for (int i = 0; i < N_WA; i++) {
        number(num, sizeof(num), 22, i);
        assert_int_equal(wa_send(num, "NILAI BMK001", NULL), 200);
    }
    const long long total = 6 + N_SMS + N_WA;
    /* each 200 came after the fsync: the records are in the file now */
    assert_int_equal(wait_spooled(total, "spooling", 5000), 0);
    assert_int_equal(metric("suara_spool_records"), total);
    assert_true(spool_file_size() > 0);
    assert_int_equal(mock_count("6280000020999"), 0);

    start_redis();
    assert_int_equal(wait_spooled(0, "ready", 30000), 0);
    assert_int_equal(spool_file_size(), 0);
    assert_int_equal(wait_db("SELECT count(*) FROM surveys WHERE officer_code = 'SRW001' AND "
                             "status = 'completed' AND language = 'en'",
                             1, 20000),
                     1);
    assert_int_equal(
        wait_db("SELECT count(*) FROM surveys WHERE officer_code = 'BMK001'", N_WA + 1, 20000),
        N_WA + 1);
    assert_int_equal(
        wait_db("SELECT count(*) FROM surveys WHERE officer_code = 'SRW001'", N_SMS + 2, 20000),
        N_SMS + 2);
    for (int i = 0; i < N_SMS; i++) { /* one opening each: processed exactly once each */
        number(num, sizeof(num), 21, i);
        assert_int_equal(replies(num, per_sms), per_sms);
    }
    for (int i = 0; i < N_WA; i++) {
        number(num, sizeof(num), 22, i);
        assert_int_equal(replies(num, per_wa), per_wa);
    }
    assert_true(replies("6280000020999", 6) >= 6);
    assert_int_equal(metric("suara_spool_replayed_total"), total);
    assert_int_equal(metric("suara_spool_failed_total"), 0);
}

/* A torn last record as a crash mid-append leaves it: a frame whose payload never arrived. */
static void append_torn_record(void)
{
    FILE *f = fopen(spool_file, "ab");
    assert_non_null(f);
    const unsigned char torn[] = {'S', 'P', 'R', '1', 0x00, 0x04, 0, 0, 1, 2,  3,
                                  4,   5,   6,   7,   8,    0,    0, 0, 0, 'x'};
    assert_int_equal(fwrite(torn, 1, sizeof(torn), f), sizeof(torn));
    assert_int_equal(fclose(f), 0);
}

/* Records waiting when the gateway stops are replayed by the next one at start; a torn tail is
 * cut off (it was never answered) without losing the records before it. */
static void test_restart_while_spooled_replays_at_start(void **state)
{
    (void)state;
    stop_redis();
    char num[32];
    for (int i = 0; i < 4; i++) {
        number(num, sizeof(num), 23, i);
        assert_int_equal(wa_send(num, "NILAI PDL001", NULL), 200);
    }
    assert_int_equal(wait_spooled(4, "spooling", 5000), 0);
    assert_int_equal(harness_stop(E.suara, SIGTERM, 20000), 0);
    long long whole = spool_file_size();
    assert_true(whole > 0);
    append_torn_record();
    assert_true(spool_file_size() > whole);
    start_redis();
    assert_int_equal(start_suara(), 0);
    assert_int_equal(wait_spooled(0, "ready", 30000), 0);
    assert_int_equal(spool_file_size(), 0);
    assert_int_equal(
        wait_db("SELECT count(*) FROM surveys WHERE officer_code = 'PDL001'", 4, 20000), 4);
    for (int i = 0; i < 4; i++) {
        number(num, sizeof(num), 23, i);
        assert_int_equal(replies(num, 1), 1);
    }
    assert_int_equal(metric("suara_spool_failed_total"), 0);
    /* the log says a torn record was cut off */
    FILE *f = fopen(E.log, "r");
    assert_non_null(f);
    char line[2048];
    int torn = 0;
    while (fgets(line, sizeof(line), f))
        torn |= strstr(line, "torn last record") != NULL;
    fclose(f);
    assert_true(torn);
}

/* A full spool refuses with 503, as without one; what it took is still processed. */
static void test_full_spool_answers_503(void **state)
{
    (void)state;
    stop_redis();
    char num[32];
    int accepted = 0;
    long last = 200;
    for (int i = 0; i < 400 && last == 200; i++) {
        number(num, sizeof(num), 24, i);
        last = wa_send(num, "NILAI BMK002", NULL);
        accepted += last == 200;
    }
    assert_int_equal(last, 503);
    assert_true(accepted > 10);
    assert_true(spool_file_size() <= 65536);
    assert_true(metric("suara_spool_full_total") >= 1);
    start_redis();
    assert_int_equal(wait_spooled(0, "ready", 60000), 0);
    assert_int_equal(
        wait_db("SELECT count(*) FROM surveys WHERE officer_code = 'BMK002'", accepted, 30000),
        accepted);
}

/* Redis frozen (SIGSTOP): connected, but the commit is not confirmed within command_timeout_ms
 * ("not durable"), so the request goes to the spool. When Redis runs again it may still execute
 * the commit it had queued: the replay is then deduplicated, and each message is answered once. */
static void test_unconfirmed_commit_is_spooled_and_processed_once(void **state)
{
    (void)state;
    assert_int_equal(wa_send("6280000026000", "NILAI PKM001", NULL), 200);
    int per_wa = replies("6280000026000", 1);
    assert_true(per_wa >= 1);
    assert_int_equal(kill(E.redis, SIGSTOP), 0);
    char num[32];
    for (int i = 1; i <= 3; i++) {
        number(num, sizeof(num), 26, i);
        long long t0 = harness_mono_ms();
        assert_int_equal(wa_send(num, "NILAI PKM001", NULL), 200);
        assert_true(harness_mono_ms() - t0 < 10000);
    }
    assert_int_equal(wait_spooled(3, "spooling", 5000), 0);
    assert_int_equal(kill(E.redis, SIGCONT), 0);
    assert_int_equal(wait_spooled(0, "ready", 30000), 0);
    assert_int_equal(
        wait_db("SELECT count(*) FROM surveys WHERE officer_code = 'PKM001'", 4, 20000), 4);
    for (int i = 1; i <= 3; i++) {
        number(num, sizeof(num), 26, i);
        assert_int_equal(replies(num, per_wa), per_wa);
    }
}

/* A private redis-server with appendonly no on its own socket; no_config: CONFIG disabled (as
 * managed Redis services do), so only INFO can tell. */
static pid_t unsafe_redis(const char *dir, int no_config, char *sock, size_t n)
{
    snprintf(sock, n, "%s/unsafe%d.sock", dir, no_config);
    char *argv[] = {"redis-server", "--port", "0",         "--unixsocket",
                    sock,           "--dir",  (char *)dir, "--appendonly",
                    "no",           "--save", "",          no_config ? "--rename-command" : NULL,
                    "CONFIG",       "",       NULL};
    char log[600];
    snprintf(log, sizeof(log), "%s/unsafe-redis.log", dir);
    pid_t pid = harness_spawn(argv, log);
    for (int i = 0; i < 200 && pid > 0 && access(sock, F_OK) != 0; i++)
        harness_sleep_ms(25);
    return pid;
}

static int log_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* The gateway on the unsafe Redis: its own port and spool folder, the rest of E's config. */
static void unsafe_config(const char *path, const char *sock, int port, const char *more)
{
    FILE *in = fopen(E.config, "r"), *out = fopen(path, "w");
    assert_non_null(in);
    assert_non_null(out);
    char buf[4096];
    while (fgets(buf, sizeof(buf), in)) /* the keys set below must not repeat */
        if (strncmp(buf, "port =", 6) != 0 && strncmp(buf, "socket =", 8) != 0)
            fputs(buf, out);
    fprintf(out, "[server]\nport = %d\nspool_dir = %s/spool-unsafe\n[redis]\nsocket = %s\n%s", port,
            E.dir, sock, more);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

static void test_startup_refuses_appendonly_no_unless_allowed(void **state)
{
    (void)state;
    char sock[600], cfg[600], log[600], bin[512], url[128];
    pid_t r = unsafe_redis(E.dir, 0, sock, sizeof(sock));
    assert_true(r > 0);
    int port = harness_free_port();
    snprintf(bin, sizeof(bin), "%s/gateway/suara", SUARA_BINARY_DIR);
    snprintf(cfg, sizeof(cfg), "%s/unsafe.ini", E.dir);
    snprintf(log, sizeof(log), "%s/unsafe.log", E.dir);
    unsafe_config(cfg, sock, port, "");
    char *argv[] = {bin, "serve", "-c", cfg, NULL};
    int rc = harness_run(argv, log, 20000);
    if (rc != 1 || !log_has(log, "refusing to start: Redis has appendonly no")) {
        FILE *f = fopen(log, "r");
        char line[4096];
        while (f && fgets(line, sizeof(line), f))
            fputs(line, stderr);
        if (f)
            fclose(f);
    }
    assert_int_equal(rc, 1);
    assert_true(log_has(log, "refusing to start: Redis has appendonly no"));
    assert_true(log_has(log, "allow_unsafe"));

    unsafe_config(cfg, sock, port, "allow_unsafe = yes\n");
    pid_t g = harness_spawn(argv, log);
    assert_true(g > 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", port);
    long long end = harness_mono_ms() + 20000;
    while (harness_mono_ms() < end && http_get(url, NULL) != 200)
        harness_sleep_ms(50);
    assert_int_equal(http_get(url, NULL), 200);
    assert_true(log_has(log, "REDIS IS NOT DURABLE (appendonly no)"));
    assert_int_equal(harness_stop(g, SIGTERM, 20000), 0);
    assert_int_equal(harness_stop(r, SIGTERM, 10000), 0);

    /* CONFIG renamed away: INFO persistence still says aof_enabled:0 */
    r = unsafe_redis(E.dir, 1, sock, sizeof(sock));
    assert_true(r > 0);
    snprintf(log, sizeof(log), "%s/unsafe-info.log", E.dir);
    unsafe_config(cfg, sock, port, "");
    assert_int_equal(harness_run(argv, log, 20000), 1);
    assert_true(log_has(log, "refusing to start: Redis has appendonly no"));
    assert_int_equal(harness_stop(r, SIGTERM, 10000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redis_down_twilio_and_whatsapp_spooled_then_processed_once),
        cmocka_unit_test(test_restart_while_spooled_replays_at_start),
        cmocka_unit_test(test_full_spool_answers_503),
        cmocka_unit_test(test_unconfirmed_commit_is_spooled_and_processed_once),
        cmocka_unit_test(test_startup_refuses_appendonly_no_unless_allowed),
    };
    return cmocka_run_group_tests(tests, setup, e2e_teardown);
}
