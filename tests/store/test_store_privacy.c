/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for the privacy retention of the Redis store (store_privacy.c, the scrub schedule in the
 * commit script, store_purge.c) against the suite's real redis-server: a resolved complaint
 * loses its raw number once the retention window has passed on the injected clock (never
 * before), and then expires; the AOF schedule asks for exactly one BGREWRITEAOF per interval
 * and Redis does rewrite; a purge removes a citizen's session, number, outbox replies and
 * rate-limit keys and reports them, and a second purge reports nothing. Each test uses its own
 * key prefix; waits are bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sr_mem.h"
#include "sr_pseudo.h"
#include "store.h"
#include "store_purge.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY "test-citizen-hash-key-0123456789"
#define NUMBER "6280000007001" /* fake */
#define OTHER "6280000007002"  /* fake */
#define H 3600000LL
#define RESOLVED_AT 1782838800000LL

struct env {
    uv_loop_t loop;
    uv_timer_t wake;
    struct store *st;
    redisContext *rc;
    char prefix[96];
    const char *sock;
};

static int test_no;

static void on_wake(uv_timer_t *t)
{
    (void)t;
}

static void run_until(struct env *e, const int *flag, int target, int max_ms)
{
    uv_update_time(&e->loop);
    uint64_t end = uv_now(&e->loop) + (uint64_t)max_ms;
    while (*flag < target && uv_now(&e->loop) < end)
        uv_run(&e->loop, UV_RUN_ONCE);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->sock = getenv("SUARA_TEST_REDIS_SOCKET");
    if (!e->sock || !e->sock[0])
        fail_msg("SUARA_TEST_REDIS_SOCKET is not set (run through ctest)");
    snprintf(e->prefix, sizeof(e->prefix), "t:privacy:%d:%d:", (int)getpid(), ++test_no);
    assert_int_equal(uv_loop_init(&e->loop), 0);
    uv_timer_init(&e->loop, &e->wake);
    uv_timer_start(&e->wake, on_wake, 5, 5);
    e->rc = redisConnectUnix(e->sock);
    assert_true(e->rc && !e->rc->err);
    struct store_conf c;
    store_conf_defaults(&c);
    c.unix_socket = e->sock;
    c.prefix = e->prefix;
    c.number_retention_s = 3600;
    c.complaint_record_ttl_s = 86400;
    struct sr_errbuf eb;
    e->st = store_new(&e->loop, &c, &eb);
    assert_non_null(e->st);
    uv_update_time(&e->loop);
    uint64_t end = uv_now(&e->loop) + 5000;
    while (!store_is_connected(e->st) && uv_now(&e->loop) < end)
        uv_run(&e->loop, UV_RUN_ONCE);
    assert_true(store_is_connected(e->st));
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;
    store_close(e->st);
    uv_close((uv_handle_t *)&e->wake, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    redisFree(e->rc);
    free(e);
    return 0;
}

static redisReply *q(struct env *e, const char *fmt, const char *suffix)
{
    char *k = sr_asprintf("%s%s", e->prefix, suffix);
    redisReply *r = redisCommand(e->rc, fmt, k);
    free(k);
    assert_non_null(r);
    return r;
}

static long long q_ll(struct env *e, const char *fmt, const char *suffix)
{
    redisReply *r = q(e, fmt, suffix);
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10)
                                                  : -1;
    freeReplyObject(r);
    return v;
}

/* The record JSON of a ticket ("" if none) into out. */
static void record_of(struct env *e, const char *ticket, char *out, size_t n)
{
    char *k = sr_asprintf("%scomplaint:%s", e->prefix, ticket);
    redisReply *r = redisCommand(e->rc, "HGET %s s", k);
    free(k);
    assert_non_null(r);
    snprintf(out, n, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
}

/* ---- callbacks ---- */

struct res {
    int called;
    enum sr_err err;
    int started;
    size_t n;
    struct store_scrub_due due[4];
    char tickets[4][16];
    char records[4][512];
};

static void commit_cb(void *ud, enum sr_err err, enum store_commit_result r, long long v)
{
    struct res *x = ud;
    (void)v;
    x->called++;
    x->err = err == SR_E_OK && r != STORE_COMMITTED ? SR_E_CONFLICT : err;
}

static void scrub_cb(void *ud, enum sr_err err, const struct store_scrub_due *d, size_t n)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
    x->n = n;
    for (size_t i = 0; i < n && i < 4; i++) {
        snprintf(x->tickets[i], sizeof(x->tickets[i]), "%s", d[i].ticket);
        snprintf(x->records[i], sizeof(x->records[i]), "%.*s", (int)d[i].len, d[i].record);
        x->due[i] = (struct store_scrub_due){x->tickets[i], x->records[i], d[i].len, d[i].version};
    }
}

static void done_cb(void *ud, enum sr_err err)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
}

static void aof_cb(void *ud, enum sr_err err, int started)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
    x->started = started;
}

/* ---- helpers ---- */

static const char *const one_event[] = {"{\"type\":\"complaint_resolved\"}"};

/* Commits the record of ticket in state (resolved_at set unless open), version-checked. */
static void commit_record(struct env *e, const char *ticket, const char *state, long long expected,
                          const char *pid)
{
    char rec[512], pseudo[SR_PSEUDO_LEN];
    sr_pseudo_citizen(KEY, NUMBER, pseudo);
    snprintf(rec, sizeof(rec),
             "{\"v\":1,\"ticket\":\"%s\",\"state\":\"%s\",\"unit\":\"PATEN\",\"citizen\":\"%s\","
             "\"channel\":\"wa\",\"to\":\"%s\",\"opened_at\":%lld,\"resolved_at\":%s}",
             ticket, state, pseudo, NUMBER, RESOLVED_AT - 5 * H,
             strcmp(state, "open") == 0 ? "null" : "1782838800000");
    struct store_complaint_write w = {
        .ticket = ticket,
        .record = rec,
        .expected_version = expected,
        .unit = "PATEN",
        .open = strcmp(state, "open") == 0,
    };
    struct store_commit c = {
        .channel = "wa",
        .sender = NUMBER,
        .provider_id = pid,
        .expected_version = -1,
        .events = one_event,
        .n_events = 1,
        .complaint = &w,
    };
    struct res x = {0};
    store_commit(e->st, &c, commit_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.called, 1);
    assert_int_equal(x.err, SR_E_OK);
}

/* The claim's items point into the returned struct: call fix_due on the caller's copy. */
static struct res claim(struct env *e, int64_t now)
{
    struct res x = {0};
    store_claim_scrub(e->st, now, 60000, 4, scrub_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.called, 1);
    assert_int_equal(x.err, SR_E_OK);
    return x;
}

static void fix_due(struct res *x)
{
    for (size_t i = 0; i < x->n && i < 4; i++) {
        x->due[i].ticket = x->tickets[i];
        x->due[i].record = x->records[i];
    }
}

/* ---- tests: the number retention ---- */

static void test_resolved_complaint_loses_number_after_window(void **state)
{
    struct env *e = *state;
    commit_record(e, "K7M4QX", "resolved", 0, "m1");
    assert_int_equal(q_ll(e, "ZSCORE %s K7M4QX", "scrub"), RESOLVED_AT + H);
    assert_int_equal(q_ll(e, "TTL %s", "complaint:K7M4QX"), -1); /* resolved: no expiry yet */

    /* one millisecond before the window ends: nothing is due, the number stays */
    assert_int_equal(claim(e, RESOLVED_AT + H - 1).n, 0);
    char rec[512];
    record_of(e, "K7M4QX", rec, sizeof(rec));
    assert_non_null(strstr(rec, "\"to\":\"" NUMBER "\""));

    struct res due = claim(e, RESOLVED_AT + H);
    fix_due(&due);
    assert_int_equal(due.n, 1);
    assert_string_equal(due.due[0].ticket, "K7M4QX");
    struct res x = {0};
    store_complaint_scrub(e->st, &due.due[0], done_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.err, SR_E_OK);

    record_of(e, "K7M4QX", rec, sizeof(rec));
    assert_null(strstr(rec, NUMBER));
    assert_null(strstr(rec, "\"to\""));
    char pseudo[SR_PSEUDO_LEN];
    sr_pseudo_citizen(KEY, NUMBER, pseudo);
    assert_non_null(strstr(rec, pseudo));                          /* the pseudonym stays */
    assert_non_null(strstr(rec, "\"resolved_at\":1782838800000")); /* numbers intact */
    assert_int_equal(q_ll(e, "HGET %s v", "complaint:K7M4QX"), 2); /* a new version */
    long long ttl = q_ll(e, "TTL %s", "complaint:K7M4QX");
    assert_true(ttl > 0 && ttl <= 86400);
    assert_int_equal(q_ll(e, "ZSCORE %s K7M4QX", "scrub"), -1);
    assert_int_equal(claim(e, RESOLVED_AT + 2 * H).n, 0);
}

static void test_scrub_with_stale_version_changes_nothing(void **state)
{
    struct env *e = *state;
    commit_record(e, "K7M4QY", "resolved", 0, "m1");
    struct res due = claim(e, RESOLVED_AT + H);
    fix_due(&due);
    assert_int_equal(due.n, 1);
    commit_record(e, "K7M4QY", "closed", 1, "m2"); /* the citizen answered YA meanwhile */
    struct res x = {0};
    store_complaint_scrub(e->st, &due.due[0], done_cb, &x);
    run_until(e, &x.called, 1, 3000);
    char rec[512];
    record_of(e, "K7M4QY", rec, sizeof(rec));
    assert_non_null(strstr(rec, "\"state\":\"closed\"")); /* the newer write stands */
    /* still scheduled: a later claim removes the number from the newer version */
    assert_int_equal(claim(e, RESOLVED_AT + H).n, 1);
}

static void test_reopened_complaint_leaves_the_schedule(void **state)
{
    struct env *e = *state;
    commit_record(e, "K7M4QZ", "resolved", 0, "m1");
    assert_true(q_ll(e, "ZSCORE %s K7M4QZ", "scrub") > 0);
    commit_record(e, "K7M4QZ", "open", 1, "m2");
    assert_int_equal(q_ll(e, "ZSCORE %s K7M4QZ", "scrub"), -1);
    assert_int_equal(claim(e, RESOLVED_AT + 10 * H).n, 0);
}

static void test_record_forget(void **state)
{
    (void)state;
    assert_null(store_record_forget("[1]", 3, NULL));
    assert_null(store_record_forget("{\"citizen\":\"c\"}", 14, NULL)); /* nothing to change */
    char *r = store_record_forget("{\"to\":\"1\",\"citizen\":\"c\",\"at\":1782838800000}", 43,
                                  "erased:x");
    assert_string_equal(r, "{\"citizen\":\"erased:x\",\"at\":1782838800000}");
    free(r);
}

/* ---- tests: the AOF schedule ---- */

static long long info_field(struct env *e, const char *name)
{
    redisReply *r = redisCommand(e->rc, "INFO persistence");
    assert_non_null(r);
    const char *p = strstr(r->str, name);
    long long v = p ? strtoll(p + strlen(name) + 1, NULL, 10) : -1;
    freeReplyObject(r);
    return v;
}

static struct res aof_due(struct env *e, int interval_s)
{
    struct res x = {0};
    store_aof_rewrite_due(e->st, interval_s, aof_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.called, 1);
    return x;
}

static void test_aof_rewrite_once_per_interval(void **state)
{
    struct env *e = *state;
    long long before = info_field(e, "aof_rewrites");
    assert_true(before >= 0);
    struct res x = aof_due(e, 3600);
    assert_int_equal(x.err, SR_E_OK);
    assert_int_equal(x.started, 1);
    long long ttl = q_ll(e, "TTL %s", "aof-rewrite");
    assert_true(ttl > 3500 && ttl <= 3600);
    x = aof_due(e, 3600); /* not due again within the interval */
    assert_int_equal(x.err, SR_E_OK);
    assert_int_equal(x.started, 0);
    /* Redis really rewrote the file (bounded wait on its own counter) */
    struct timespec ts = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 500 && info_field(e, "aof_rewrites") <= before; i++)
        nanosleep(&ts, NULL);
    assert_true(info_field(e, "aof_rewrites") > before);
    for (int i = 0; i < 500 && info_field(e, "aof_rewrite_in_progress") != 0; i++)
        nanosleep(&ts, NULL);
    redisReply *r = redisCommand(e->rc, "INFO persistence");
    assert_non_null(strstr(r->str, "aof_last_bgrewrite_status:ok"));
    freeReplyObject(r);
}

/* ---- tests: the purge ---- */

static void put_citizen_state(struct env *e, const char *pseudo)
{
    char *k;
    k = sr_asprintf("%ssess:wa:%s", e->prefix, NUMBER);
    freeReplyObject(redisCommand(e->rc, "HSET %s v 3 s {}", k));
    free(k);
    k = sr_asprintf("%ssess:wa:%s", e->prefix, OTHER);
    freeReplyObject(redisCommand(e->rc, "HSET %s v 1 s {}", k));
    free(k);
    k = sr_asprintf("%sexpiry", e->prefix);
    freeReplyObject(redisCommand(e->rc, "ZADD %s 5 wa\x1f%s", k, NUMBER));
    free(k);
    k = sr_asprintf("%soutbox", e->prefix);
    freeReplyObject(redisCommand(
        e->rc, "XADD %s * r {\"channel\":\"wa\",\"to\":\"%s\",\"text\":\"a\"}", k, NUMBER));
    freeReplyObject(redisCommand(
        e->rc, "XADD %s * r {\"channel\":\"wa\",\"to\":\"%s\",\"text\":\"b\"}", k, OTHER));
    free(k);
    k = sr_asprintf("%srate:%s:42", e->prefix, pseudo);
    freeReplyObject(redisCommand(e->rc, "SET %s 7", k));
    free(k);
}

static struct store_conf purge_conf(struct env *e)
{
    struct store_conf c;
    store_conf_defaults(&c);
    c.unix_socket = e->sock;
    c.prefix = e->prefix;
    return c;
}

static void test_purge_removes_everything_once(void **state)
{
    struct env *e = *state;
    char pseudo[SR_PSEUDO_LEN];
    sr_pseudo_citizen(KEY, NUMBER, pseudo);
    commit_record(e, "P1P1P1", "open", 0, "m1"); /* open: officers still work on it */
    put_citizen_state(e, pseudo);
    struct store_conf c = purge_conf(e);
    struct store_purge_report rep;
    struct sr_errbuf eb = {{0}};
    assert_int_equal(store_purge_citizen(&c, KEY, pseudo, "erased:t1", &rep, &eb), SR_E_OK);
    assert_int_equal(rep.sessions, 1);
    assert_int_equal(rep.complaints, 1);
    assert_int_equal(rep.outbox, 1);
    assert_int_equal(rep.limits, 1);

    char *k = sr_asprintf("sess:wa:%s", NUMBER);
    assert_int_equal(q_ll(e, "EXISTS %s", k), 0);
    free(k);
    k = sr_asprintf("sess:wa:%s", OTHER);
    assert_int_equal(q_ll(e, "EXISTS %s", k), 1); /* somebody else's session stays */
    free(k);
    assert_int_equal(q_ll(e, "ZCARD %s", "expiry"), 0);
    assert_int_equal(q_ll(e, "XLEN %s", "outbox"), 1);
    char rec[512];
    record_of(e, "P1P1P1", rec, sizeof(rec));
    assert_null(strstr(rec, NUMBER));
    assert_null(strstr(rec, pseudo));
    assert_non_null(strstr(rec, "\"citizen\":\"erased:t1\""));
    assert_int_equal(q_ll(e, "TTL %s", "complaint:P1P1P1"), -1); /* open: not expired by it */

    /* idempotent: nothing left to remove */
    assert_int_equal(store_purge_citizen(&c, KEY, pseudo, "erased:t2", &rep, &eb), SR_E_OK);
    assert_int_equal(rep.sessions + rep.complaints + rep.outbox + rep.limits, 0);
    record_of(e, "P1P1P1", rec, sizeof(rec));
    assert_non_null(strstr(rec, "\"citizen\":\"erased:t1\""));
}

static void test_purge_refuses_bad_input(void **state)
{
    struct env *e = *state;
    struct store_conf c = purge_conf(e);
    struct store_purge_report rep;
    struct sr_errbuf eb = {{0}};
    assert_int_equal(store_purge_citizen(&c, KEY, "abc", "erased:x", &rep, &eb), SR_E_INVALID);
    c.unix_socket = "/nonexistent/redis.sock";
    char pseudo[SR_PSEUDO_LEN];
    sr_pseudo_citizen(KEY, NUMBER, pseudo);
    assert_int_equal(store_purge_citizen(&c, KEY, pseudo, "erased:x", &rep, &eb), SR_E_UNAVAILABLE);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resolved_complaint_loses_number_after_window, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_scrub_with_stale_version_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reopened_complaint_leaves_the_schedule, setup,
                                        teardown),
        cmocka_unit_test(test_record_forget),
        cmocka_unit_test_setup_teardown(test_aof_rewrite_once_per_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_removes_everything_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_refuses_bad_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
