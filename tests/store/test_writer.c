/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for store/writer.c against the suite's private redis-server (SUARA_TEST_REDIS_SOCKET):
 * a backlog written before the group existed reaches SQLite, nothing stays pending, a
 * redelivered event id changes nothing, the consumer's own pending entries are recovered after
 * a "crash", poison entries do not block the stream, and writer_stop is prompt, also while
 * Redis is unreachable. Each test has its own key prefix and SQLite file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sr_mem.h"
#include "writer.h"

#include <hiredis/hiredis.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct fx {
    char dir[64];
    char *db, *prefix, *stream;
    const char *socket;
    redisContext *rc;
    struct writer *w;
    int claim_idle_ms; /* writer_conf.claim_idle_ms for start() */
};

static int setup(void **state)
{
    static int seq;
    struct fx *f = calloc(1, sizeof(*f));
    f->socket = getenv("SUARA_TEST_REDIS_SOCKET");
    if (!f->socket || !*f->socket) {
        fprintf(stderr, "SUARA_TEST_REDIS_SOCKET not set\n");
        return -1;
    }
    strcpy(f->dir, "/tmp/suara-writer-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->db = sr_asprintf("%s/eval.db", f->dir);
    f->prefix = sr_asprintf("test:writer:%d:%d:", (int)getpid(), ++seq);
    f->stream = sr_asprintf("%sevents", f->prefix);
    struct timeval tv = {2, 0};
    f->rc = redisConnectUnixWithTimeout(f->socket, tv);
    if (!f->rc || f->rc->err)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    writer_stop(f->w);
    freeReplyObject(redisCommand(f->rc, "DEL %s", f->stream));
    redisFree(f->rc);
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char *p = sr_asprintf("%s%s", f->db, suffix[i]);
        unlink(p);
        free(p);
    }
    rmdir(f->dir);
    free(f->db);
    free(f->prefix);
    free(f->stream);
    free(f);
    return 0;
}

static long long r_int(struct fx *f, const char *fmt, const char *a)
{
    redisReply *r = redisCommand(f->rc, fmt, f->stream, a);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("redis: %s", r->type == REDIS_REPLY_ERROR ? r->str : "not an integer");
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void xadd(struct fx *f, const char *field, const char *json)
{
    redisReply *r = redisCommand(f->rc, "XADD %s * %s %s", f->stream, field, json);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
}

/* Number of entries pending in group "writer" (XPENDING summary). */
static long long pending(struct fx *f)
{
    redisReply *r = redisCommand(f->rc, "XPENDING %s writer", f->stream);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    long long n = r->element[0]->integer;
    freeReplyObject(r);
    return n;
}

/* The writer counts a batch at its COMMIT and acknowledges just after: wait for the ack. */
static long long settled_pending(struct fx *f)
{
    long long n = pending(f);
    for (int i = 0; i < 500 && n != 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        n = pending(f);
    }
    return n;
}

static long long q_int(struct fx *f, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void start(struct fx *f, const char *consumer, const char *socket)
{
    struct writer_conf c = {.redis_socket = socket,
                            .prefix = f->prefix,
                            .db_path = f->db,
                            .consumer = consumer,
                            .batch_max = 2,
                            .block_ms = 200,
                            .claim_idle_ms = f->claim_idle_ms};
    struct sr_errbuf eb = {{0}};
    f->w = writer_start(&c, &eb);
    if (!f->w)
        fail_msg("writer_start: %s", eb.msg);
}

/* Polls the stats (10 ms steps, at most 5 s) until pred holds; the last snapshot in *st. */
static int wait_for(struct fx *f, int (*pred)(const struct writer_stats *, uint64_t), uint64_t arg,
                    struct writer_stats *st)
{
    for (int i = 0; i < 500; i++) {
        writer_get_stats(f->w, st);
        if (pred(st, arg))
            return 1;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int applied_at_least(const struct writer_stats *st, uint64_t n)
{
    return st->applied >= n;
}

static int batches_at_least(const struct writer_stats *st, uint64_t n)
{
    return st->batches >= n;
}

static int errors_at_least(const struct writer_stats *st, uint64_t n)
{
    return st->errors >= n;
}

static double stop_seconds(struct fx *f)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    writer_stop(f->w);
    clock_gettime(CLOCK_MONOTONIC, &b);
    f->w = NULL;
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

#define EV_STARTED                                                                                 \
    "{\"id\":\"w-1\",\"type\":\"survey_started\",\"at\":1000,\"channel\":\"wa\","                  \
    "\"citizen\":\"h:1\",\"session\":\"s-1\",\"survey\":\"ikm\",\"officer\":\"BMK017\","           \
    "\"unit\":\"DPMPTSP\",\"language\":\"id\"}"
#define EV_COMPLETED                                                                               \
    "{\"id\":\"w-2\",\"type\":\"survey_completed\",\"at\":2000,\"channel\":\"wa\","                \
    "\"citizen\":\"h:1\",\"session\":\"s-1\",\"survey\":\"ikm\",\"officer\":\"BMK017\","           \
    "\"unit\":\"DPMPTSP\",\"language\":\"id\",\"started_at\":1000,"                                \
    "\"answers\":{\"U1\":4,\"U2\":3},\"comment\":null}"
#define EV_STATUS                                                                                  \
    "{\"id\":\"w-3\",\"type\":\"message_status\",\"at\":3000,\"channel\":\"wa\","                  \
    "\"provider_id\":\"wamid.1\",\"status\":\"delivered\",\"error_code\":null}"

static void test_backlog_then_redelivery(void **state)
{
    struct fx *f = *state;
    xadd(f, "e", EV_STARTED); /* written before the group exists */
    xadd(f, "e", EV_COMPLETED);
    xadd(f, "e", EV_STATUS);
    start(f, "t-1", f->socket);
    struct writer_stats st;
    assert_true(wait_for(f, applied_at_least, 3, &st));
    assert_int_equal(st.applied, 3);
    assert_true(st.batches >= 2); /* batch_max 2 */
    assert_true(st.last_commit_ms > 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM surveys WHERE status = 'completed' AND "
                              "officer_code = 'BMK017'"),
                     1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM survey_answers"), 2);
    assert_int_equal(q_int(f, "SELECT count(*) FROM message_statuses"), 1);
    assert_int_equal(settled_pending(f), 0);
    assert_int_equal(r_int(f, "XLEN %s", NULL), 0); /* acknowledged entries are deleted */
    /* the same event id again (a new stream entry): committed and acked, nothing new */
    uint64_t batches = st.batches;
    xadd(f, "e", EV_COMPLETED);
    assert_true(wait_for(f, batches_at_least, batches + 1, &st));
    assert_int_equal(st.applied, 3);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 3);
    assert_int_equal(q_int(f, "SELECT count(*) FROM survey_answers"), 2);
    assert_int_equal(settled_pending(f), 0);
    assert_int_equal(st.healthy, 1);
    assert_true(stop_seconds(f) < 2.0);
}

static void test_own_pending_recovered(void **state)
{
    struct fx *f = *state;
    freeReplyObject(redisCommand(f->rc, "XGROUP CREATE %s writer 0 MKSTREAM", f->stream));
    xadd(f, "e", EV_STARTED);
    xadd(f, "e", EV_COMPLETED);
    /* a previous run of consumer t-2 read these and died before acknowledging */
    redisReply *r =
        redisCommand(f->rc, "XREADGROUP GROUP writer t-2 COUNT 10 STREAMS %s >", f->stream);
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(pending(f), 2);
    start(f, "t-2", f->socket);
    struct writer_stats st;
    assert_true(wait_for(f, applied_at_least, 2, &st));
    assert_int_equal(q_int(f, "SELECT count(*) FROM surveys WHERE status = 'completed'"), 1);
    assert_int_equal(pending(f), 0);
    assert_true(stop_seconds(f) < 2.0);
}

/* A writer that died under another name (a renamed host) left entries pending: they are taken
 * over once idle for claim_idle_ms, applied once and acknowledged. */
static void test_dead_consumer_claimed(void **state)
{
    struct fx *f = *state;
    freeReplyObject(redisCommand(f->rc, "XGROUP CREATE %s writer 0 MKSTREAM", f->stream));
    xadd(f, "e", EV_STARTED);
    xadd(f, "e", EV_COMPLETED);
    xadd(f, "e", EV_STATUS);
    redisReply *r =
        redisCommand(f->rc, "XREADGROUP GROUP writer gone-host COUNT 10 STREAMS %s >", f->stream);
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(pending(f), 3);
    f->claim_idle_ms = 300;
    start(f, "t-7", f->socket);
    struct writer_stats st;
    assert_true(wait_for(f, applied_at_least, 3, &st));
    assert_int_equal(st.applied, 3);
    assert_int_equal(q_int(f, "SELECT count(*) FROM surveys WHERE status = 'completed'"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM message_statuses"), 1);
    assert_int_equal(settled_pending(f), 0);
    assert_int_equal(r_int(f, "XLEN %s", NULL), 0);
    assert_true(stop_seconds(f) < 2.0);
}

/* Entries of another consumer that are not idle long enough stay with it. */
static void test_live_consumer_not_claimed(void **state)
{
    struct fx *f = *state;
    freeReplyObject(redisCommand(f->rc, "XGROUP CREATE %s writer 0 MKSTREAM", f->stream));
    xadd(f, "e", EV_STARTED);
    redisReply *r =
        redisCommand(f->rc, "XREADGROUP GROUP writer busy-host COUNT 10 STREAMS %s >", f->stream);
    assert_non_null(r);
    freeReplyObject(r);
    xadd(f, "e", EV_STATUS); /* a new entry: the writer's own */
    f->claim_idle_ms = 600000;
    start(f, "t-8", f->socket);
    struct writer_stats st;
    assert_true(wait_for(f, applied_at_least, 1, &st));
    for (int i = 0; i < 500 && pending(f) > 1; i++) { /* our own entry's ack */
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(pending(f), 1); /* busy-host's entry, still its own */
    assert_int_equal(q_int(f, "SELECT count(*) FROM surveys"), 0);
    assert_true(stop_seconds(f) < 2.0);
}

static void test_poison_entries_acked(void **state)
{
    struct fx *f = *state;
    xadd(f, "x", "no e field here");
    xadd(f, "e", "not json at all");
    xadd(f, "e", EV_STATUS);
    start(f, "t-3", f->socket);
    struct writer_stats st;
    assert_true(wait_for(f, applied_at_least, 1, &st));
    assert_int_equal(q_int(f, "SELECT count(*) FROM events WHERE type = 'invalid'"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM message_statuses"), 1);
    for (int i = 0; i < 200 && pending(f) > 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(pending(f), 0);
    assert_int_equal(r_int(f, "XLEN %s", NULL), 0);
    assert_true(stop_seconds(f) < 2.0);
}

static void exec_sql(struct fx *f, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* An SQLite failure leaves the entries pending; once the database is usable they go in. */
static void test_sqlite_failure_not_acked(void **state)
{
    struct fx *f = *state;
    start(f, "t-6", f->socket);
    struct writer_stats st;
    exec_sql(f, "ALTER TABLE events RENAME TO events_away");
    xadd(f, "e", EV_STATUS);
    assert_true(wait_for(f, errors_at_least, 1, &st));
    assert_int_equal(st.applied, 0);
    assert_int_equal(pending(f), 1);
    assert_int_equal(r_int(f, "XLEN %s", NULL), 1);
    exec_sql(f, "ALTER TABLE events_away RENAME TO events");
    assert_true(wait_for(f, applied_at_least, 1, &st));
    assert_int_equal(q_int(f, "SELECT count(*) FROM message_statuses"), 1);
    assert_int_equal(pending(f), 0);
    assert_true(stop_seconds(f) < 2.0);
}

static void test_unreachable_redis(void **state)
{
    struct fx *f = *state;
    char *bad = sr_asprintf("%s/no-redis.sock", f->dir);
    start(f, "t-4", bad);
    struct writer_stats st;
    assert_true(wait_for(f, errors_at_least, 2, &st));
    assert_int_equal(st.healthy, 0);
    assert_int_equal(st.applied, 0);
    assert_true(stop_seconds(f) < 2.0);
    free(bad);
}

static void test_start_errors(void **state)
{
    struct fx *f = *state;
    struct sr_errbuf eb = {{0}};
    struct writer_conf c = {.redis_socket = f->socket, .prefix = f->prefix, .consumer = "t-5"};
    assert_null(writer_start(&c, &eb)); /* no db_path */
    assert_true(strlen(eb.msg) > 0);
    char *bad = sr_asprintf("%s/no/such/dir/eval.db", f->dir);
    c.db_path = bad;
    eb.msg[0] = '\0';
    assert_null(writer_start(&c, &eb));
    assert_true(strstr(eb.msg, "eval.db") != NULL);
    free(bad);
    writer_stop(NULL);
    struct writer_stats st = {.applied = 9};
    writer_get_stats(NULL, &st);
    assert_int_equal(st.applied, 0);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backlog_then_redelivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_pending_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_consumer_claimed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_live_consumer_not_claimed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poison_entries_acked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_failure_not_acked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_redis, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
