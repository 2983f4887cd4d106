/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for the complaint side of the Redis store (store_complaint.c and the complaint part of
 * the commit script) against a real redis-server: the suite's fixture on a unix socket, plus a
 * private one that a test kills and restarts to prove the feed subscribes again. Each test uses
 * its own key prefix; a synchronous hiredis connection checks state. Waits are bounded by loop
 * time, never the wall clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sr_mem.h"
#include "store.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- harness ---- */

struct env {
    uv_loop_t loop;
    uv_timer_t wake;
    struct store *st, *st2, *st3;
    pid_t redis_pid;
    char dir[64];
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
    while ((!flag || *flag < target) && uv_now(&e->loop) < end)
        uv_run(&e->loop, UV_RUN_ONCE);
}

static void run_for(struct env *e, int ms)
{
    run_until(e, NULL, 0, ms);
}

static struct store *open_store(struct env *e, const char *sock)
{
    struct store_conf c;
    store_conf_defaults(&c);
    c.unix_socket = sock;
    c.prefix = e->prefix;
    c.command_timeout_ms = 2000;
    c.backoff_min_ms = 20;
    c.backoff_max_ms = 200;
    struct sr_errbuf eb;
    struct store *s = store_new(&e->loop, &c, &eb);
    assert_non_null(s);
    return s;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));
    e->sock = getenv("SUARA_TEST_REDIS_SOCKET");
    if (!e->sock || !e->sock[0])
        fail_msg("SUARA_TEST_REDIS_SOCKET is not set (run through ctest)");
    snprintf(e->prefix, sizeof(e->prefix), "t:cstore:%d:%d:", (int)getpid(), ++test_no);
    assert_int_equal(uv_loop_init(&e->loop), 0);
    uv_timer_init(&e->loop, &e->wake);
    uv_timer_start(&e->wake, on_wake, 5, 5);
    e->rc = redisConnectUnix(e->sock);
    assert_true(e->rc && !e->rc->err);
    e->st = open_store(e, e->sock);
    *state = e;
    return 0;
}

static void redis_kill(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static int teardown(void **state)
{
    struct env *e = *state;
    store_close(e->st);
    store_close(e->st2);
    store_close(e->st3);
    redis_kill(e->redis_pid);
    if (e->dir[0]) {
        char sock[128];
        snprintf(sock, sizeof(sock), "%s/r.sock", e->dir);
        unlink(sock);
        rmdir(e->dir);
    }
    uv_close((uv_handle_t *)&e->wake, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    redisFree(e->rc);
    free(e);
    return 0;
}

static void wait_connected(struct env *e, struct store *s)
{
    uv_update_time(&e->loop);
    uint64_t end = uv_now(&e->loop) + 5000;
    while (!store_is_connected(s) && uv_now(&e->loop) < end)
        uv_run(&e->loop, UV_RUN_ONCE);
    assert_true(store_is_connected(s));
}

/* Reply of a command whose last argument is <prefix><suffix>; caller frees. */
static redisReply *sync_cmd(redisContext *rc, const char *prefix, const char *cmd,
                            const char *suffix)
{
    redisReply *r = redisCommand(rc, "%s %s%s", cmd, prefix, suffix);
    assert_non_null(r);
    return r;
}

static long long sync_ll(struct env *e, const char *cmd, const char *suffix)
{
    redisReply *r = sync_cmd(e->rc, e->prefix, cmd, suffix);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* Score of an SLA member, -1 if absent. */
static long long sla_score(struct env *e, const char *ticket, const char *kind)
{
    redisReply *r = redisCommand(e->rc, "ZSCORE %ssla %s\x1f%s", e->prefix, ticket, kind);
    assert_non_null(r);
    long long v = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : -1;
    freeReplyObject(r);
    return v;
}

/* Subscribers of <prefix>feed on a connection. */
static long long numsub(redisContext *rc, const char *prefix)
{
    redisReply *r = redisCommand(rc, "PUBSUB NUMSUB %sfeed", prefix);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    long long v = r->element[1]->integer;
    freeReplyObject(r);
    return v;
}

static void wait_subscribed(struct env *e, redisContext *rc, long long want)
{
    uv_update_time(&e->loop);
    uint64_t end = uv_now(&e->loop) + 5000;
    while (numsub(rc, e->prefix) != want && uv_now(&e->loop) < end)
        run_for(e, 10);
    assert_int_equal(numsub(rc, e->prefix), want);
}

/* ---- callback recorders ---- */

struct res {
    int called;
    enum sr_err err;
    enum store_commit_result r;
    long long v;
    int has_record;
    char record[256];
    size_t n;
    char open[8][128];
    struct store_sla_due due[8];
    char tickets[8][32], kinds[8][32];
};

static void commit_cb(void *ud, enum sr_err err, enum store_commit_result r, long long v)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
    x->r = r;
    x->v = v;
}

static void complaint_cb(void *ud, enum sr_err err, const struct store_complaint *c)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
    if (!c)
        return;
    x->v = c->version;
    x->has_record = c->record != NULL;
    if (c->record)
        snprintf(x->record, sizeof(x->record), "%.*s", (int)c->len, c->record);
    x->n = c->n_open;
    for (size_t i = 0; i < c->n_open && i < 8; i++)
        snprintf(x->open[i], sizeof(x->open[i]), "%.*s", (int)c->open_lens[i], c->open[i]);
}

static void sla_cb(void *ud, enum sr_err err, const struct store_sla_due *d, size_t n)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
    x->n = n;
    for (size_t i = 0; i < n && i < 8; i++) {
        x->due[i] = d[i];
        snprintf(x->tickets[i], 32, "%s", d[i].ticket);
        snprintf(x->kinds[i], 32, "%s", d[i].kind);
        x->due[i].ticket = x->tickets[i];
        x->due[i].kind = x->kinds[i];
        x->due[i].record = NULL;
    }
}

struct feed_rec {
    int n;
    char msg[8][128];
};

static void feed_cb(void *ud, const char *json, size_t len)
{
    struct feed_rec *f = ud;
    if (f->n < 8)
        snprintf(f->msg[f->n], sizeof(f->msg[0]), "%.*s", (int)len, json);
    f->n++;
}

/* ---- operation helpers ---- */

static const char *const one_event[] = {"{\"type\":\"complaint_opened\"}"};

static char rec_buf[8][160];

/* A complaint write for ticket in unit with state (record JSON built from them). */
static struct store_complaint_write mk_write(int slot, const char *ticket, const char *unit,
                                             const char *state, long long expected)
{
    snprintf(rec_buf[slot], sizeof(rec_buf[slot]),
             "{\"ticket\":\"%s\",\"unit\":\"%s\",\"state\":\"%s\",\"due_first_response\":1000,"
             "\"due_resolution\":5000}",
             ticket, unit, state);
    struct store_complaint_write w = {
        .ticket = ticket,
        .record = rec_buf[slot],
        .expected_version = expected,
        .unit = unit,
        .open = strcmp(state, "open") == 0 || strcmp(state, "acknowledged") == 0,
        .due_first_response_ms = 1000,
        .due_resolution_ms = 5000,
    };
    return w;
}

static struct store_commit mk_commit(const char *pid, const struct store_complaint_write *w)
{
    struct store_commit c = {0};
    c.channel = "wa";
    c.sender = "6281200000001";
    c.provider_id = pid;
    c.expected_version = -1;
    c.events = one_event;
    c.n_events = 1;
    c.complaint = w;
    return c;
}

static struct res do_commit_on(struct env *e, struct store *s, const struct store_commit *c)
{
    struct res x = {0};
    store_commit(s, c, commit_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.called, 1);
    assert_int_equal(x.err, SR_E_OK);
    return x;
}

static struct res do_commit(struct env *e, const struct store_commit *c)
{
    return do_commit_on(e, e->st, c);
}

static const char *const feed_marker_item[] = {"{\"type\":\"marker\"}"};

/* Publishes a marker item through one more commit on s and runs the loop until it has arrived:
 * one connection and one channel keep order, so anything the earlier commits published has
 * arrived by then. Returns the marker's index in f. */
static int feed_marker(struct env *e, struct store *s, struct feed_rec *f, const char *pid)
{
    struct store_commit c = mk_commit(pid, NULL);
    c.feed = feed_marker_item;
    c.n_feed = 1;
    int before = f->n;
    assert_int_equal(do_commit_on(e, s, &c).r, STORE_COMMITTED);
    run_until(e, &f->n, before + 1, 3000);
    assert_int_equal(f->n, before + 1);
    assert_string_equal(f->msg[before], feed_marker_item[0]);
    return before;
}

static int both_disconnected(struct env *e, struct store *a, struct store *b)
{
    uv_update_time(&e->loop);
    uint64_t end = uv_now(&e->loop) + 5000;
    while ((store_is_connected(a) || store_is_connected(b)) && uv_now(&e->loop) < end)
        uv_run(&e->loop, UV_RUN_ONCE);
    return !store_is_connected(a) && !store_is_connected(b);
}

static struct res do_cload(struct env *e, const char *ticket, const char *unit)
{
    struct res x = {0};
    store_complaint_load(e->st, ticket, unit, complaint_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.called, 1);
    assert_int_equal(x.err, SR_E_OK);
    return x;
}

static struct res do_claim(struct env *e, int64_t now, int lease)
{
    struct res x = {0};
    store_claim_sla(e->st, now, lease, 8, sla_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.called, 1);
    assert_int_equal(x.err, SR_E_OK);
    return x;
}

/* ---- tests: the complaint write ---- */

static void test_create_then_conflict(void **state)
{
    struct env *e = *state;
    struct store_complaint_write w = mk_write(0, "K7M4QX", "PATEN-BMK", "open", 0);
    struct store_commit c = mk_commit("m1", &w);
    c.expected_version = 0; /* the citizen's session and the record together */
    c.session = "{\"flow\":\"complaint\"}";
    struct res x = do_commit(e, &c);
    assert_int_equal(x.r, STORE_COMMITTED);
    assert_int_equal(x.v, 1); /* the session's version */
    struct res l = do_cload(e, "K7M4QX", NULL);
    assert_int_equal(l.v, 1);
    assert_string_equal(l.record, rec_buf[0]);
    assert_int_equal(l.n, 0);
    redisReply *r = redisCommand(e->rc, "SISMEMBER %sopen:PATEN-BMK K7M4QX", e->prefix);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    assert_int_equal(sla_score(e, "K7M4QX", "first_response"), 1000);
    assert_int_equal(sla_score(e, "K7M4QX", "resolution"), 5000);
    assert_int_equal(sync_ll(e, "TTL", "complaint:K7M4QX"), -1); /* open: no TTL */

    /* a second create of the same ticket conflicts and writes nothing */
    struct store_complaint_write w2 = mk_write(1, "K7M4QX", "KEL-SRW", "open", 0);
    w2.due_first_response_ms = 9;
    c = mk_commit("m2", &w2);
    x = do_commit(e, &c);
    assert_int_equal(x.r, STORE_CONFLICT);
    assert_string_equal(do_cload(e, "K7M4QX", NULL).record, rec_buf[0]);
    assert_int_equal(sync_ll(e, "XLEN", "events"), 1);
    assert_int_equal(sync_ll(e, "EXISTS", "dedupe:wa:m2"), 0);
    assert_int_equal(sync_ll(e, "EXISTS", "open:KEL-SRW"), 0);
    assert_int_equal(sla_score(e, "K7M4QX", "first_response"), 1000);
}

static void test_version_check(void **state)
{
    struct env *e = *state;
    struct store_complaint_write w = mk_write(0, "K7M4QX", "PATEN-BMK", "open", 0);
    struct store_commit c = mk_commit("m1", &w);
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    /* an officer's acknowledgement: version 1 -> 2; first-response timer disarmed */
    w = mk_write(1, "K7M4QX", "PATEN-BMK", "acknowledged", 1);
    w.due_first_response_ms = 0;
    c = mk_commit("m2", &w);
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    assert_int_equal(do_cload(e, "K7M4QX", NULL).v, 2);
    assert_int_equal(sla_score(e, "K7M4QX", "first_response"), -1);
    assert_int_equal(sla_score(e, "K7M4QX", "resolution"), 5000);
    /* a stale writer (still at 1) conflicts */
    w = mk_write(2, "K7M4QX", "PATEN-BMK", "resolved", 1);
    c = mk_commit("m3", &w);
    assert_int_equal(do_commit(e, &c).r, STORE_CONFLICT);
    assert_string_equal(do_cload(e, "K7M4QX", NULL).record, rec_buf[1]);
    /* resolved: out of the open list, no timers; closed: the record expires */
    w = mk_write(3, "K7M4QX", "PATEN-BMK", "resolved", 2);
    w.due_first_response_ms = w.due_resolution_ms = 0;
    c = mk_commit("m4", &w);
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    assert_int_equal(sync_ll(e, "SCARD", "open:PATEN-BMK"), 0);
    assert_int_equal(sync_ll(e, "ZCARD", "sla"), 0);
    assert_int_equal(sync_ll(e, "TTL", "complaint:K7M4QX"), -1);
    w = mk_write(4, "K7M4QX", "PATEN-BMK", "closed", 3);
    w.due_first_response_ms = w.due_resolution_ms = 0;
    c = mk_commit("m5", &w);
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    long long ttl = sync_ll(e, "TTL", "complaint:K7M4QX");
    assert_true(ttl > 86400 - 60 && ttl <= 86400);
    /* a duplicate provider id changes nothing */
    c = mk_commit("m5", &w);
    assert_int_equal(do_commit(e, &c).r, STORE_DUPLICATE);
    assert_int_equal(do_cload(e, "K7M4QX", NULL).v, 4);
}

static void test_load_open_list(void **state)
{
    struct env *e = *state;
    const char *tickets[] = {"KC3333", "KA1111", "KB2222"};
    for (int i = 0; i < 3; i++) {
        struct store_complaint_write w = mk_write(i, tickets[i], "PATEN-BMK", "open", 0);
        char pid[8];
        snprintf(pid, sizeof(pid), "m%d", i);
        struct store_commit c = mk_commit(pid, &w);
        assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    }
    struct store_complaint_write w = mk_write(3, "KD4444", "KEL-SRW", "open", 0);
    struct store_commit c = mk_commit("m9", &w);
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    struct res l = do_cload(e, "KD4444", "PATEN-BMK");
    assert_true(l.has_record);
    assert_string_equal(l.record, rec_buf[3]);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.open[0], rec_buf[1]); /* sorted by ticket */
    assert_string_equal(l.open[1], rec_buf[2]);
    assert_string_equal(l.open[2], rec_buf[0]);
    l = do_cload(e, "NOSUCH", "NOUNIT");
    assert_false(l.has_record);
    assert_int_equal(l.v, 0);
    assert_int_equal(l.n, 0);
    l = do_cload(e, NULL, "KEL-SRW");
    assert_false(l.has_record);
    assert_int_equal(l.n, 1);
    /* an open entry whose record is gone is skipped */
    freeReplyObject(redisCommand(e->rc, "SADD %sopen:KEL-SRW KZ0000", e->prefix));
    assert_int_equal(do_cload(e, "", "KEL-SRW").n, 1);
}

/* ---- tests: SLA timers ---- */

static void test_sla_claim(void **state)
{
    struct env *e = *state;
    struct store_complaint_write w = mk_write(0, "K7M4QX", "PATEN-BMK", "open", 0);
    struct store_commit c = mk_commit("m1", &w);
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    freeReplyObject(redisCommand(e->rc,
                                 "ZADD %ssla 10 GONE\x1f"
                                 "first_response",
                                 e->prefix));
    assert_int_equal(do_claim(e, 500, 10000).n, 0); /* not due; the orphan is removed */
    assert_int_equal(sync_ll(e, "ZCARD", "sla"), 2);
    struct res x = do_claim(e, 1500, 10000);
    assert_int_equal(x.n, 1);
    assert_string_equal(x.due[0].ticket, "K7M4QX");
    assert_string_equal(x.due[0].kind, "first_response");
    assert_int_equal(x.due[0].due_ms, 1000);
    assert_int_equal(x.due[0].version, 1);
    assert_int_equal(sla_score(e, "K7M4QX", "first_response"), 11500); /* leased */
    assert_int_equal(do_claim(e, 1600, 10000).n, 0);
    /* the lease ran out (the claimer crashed): claimed again, due still the record's */
    x = do_claim(e, 12000, 10000);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.due[0].kind, "resolution");
    assert_int_equal(x.due[0].due_ms, 5000);
    assert_string_equal(x.due[1].kind, "first_response");
    assert_int_equal(x.due[1].due_ms, 1000);
    /* the breach commit disarms the timers */
    w = mk_write(1, "K7M4QX", "PATEN-BMK", "open", 1);
    w.due_first_response_ms = w.due_resolution_ms = 0;
    c = mk_commit("sla:K7M4QX:first_response", &w);
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    assert_int_equal(do_claim(e, 100000, 10000).n, 0);
    assert_int_equal(sync_ll(e, "ZCARD", "sla"), 0);
}

static void test_sla_invalid(void **state)
{
    struct env *e = *state;
    struct res x = {0};
    store_claim_sla(e->st, 1000, -1, 8, sla_cb, &x);
    assert_int_equal(x.called, 0);
    run_until(e, &x.called, 1, 1000);
    assert_int_equal(x.err, SR_E_INVALID);
    struct store_complaint_write w = mk_write(0, "K7M4QX", "PATEN-BMK", "open", -1);
    struct store_commit c = mk_commit("m1", &w);
    memset(&x, 0, sizeof(x));
    store_commit(e->st, &c, commit_cb, &x);
    run_until(e, &x.called, 1, 1000);
    assert_int_equal(x.err, SR_E_INVALID);
}

/* ---- tests: the live feed ---- */

static void test_feed(void **state)
{
    struct env *e = *state;
    struct feed_rec f = {0};
    e->st2 = open_store(e, e->sock);
    store_feed_subscribe(e->st2, feed_cb, &f);
    wait_subscribed(e, e->rc, 1);
    const char *const feed[] = {"{\"type\":\"complaint_opened\",\"ticket\":\"K7M4QX\"}",
                                "{\"type\":\"x\",\"ticket\":\"K7M4QX\"}"};
    struct store_complaint_write w = mk_write(0, "K7M4QX", "PATEN-BMK", "open", 0);
    struct store_commit c = mk_commit("m1", &w);
    c.feed = feed;
    c.n_feed = 2;
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    run_until(e, &f.n, 2, 3000);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.msg[0], feed[0]);
    assert_string_equal(f.msg[1], feed[1]);
    /* a conflicting commit and a duplicate publish nothing */
    c = mk_commit("m2", &w);
    c.feed = feed;
    c.n_feed = 2;
    assert_int_equal(do_commit(e, &c).r, STORE_CONFLICT);
    c = mk_commit("m1", &w);
    c.feed = feed;
    c.n_feed = 1;
    assert_int_equal(do_commit(e, &c).r, STORE_DUPLICATE);
    /* nothing between the first two items and a marker published after both commits */
    assert_int_equal(feed_marker(e, e->st, &f, "m3"), 2);
    /* unsubscribing drops the connection: nothing more arrives */
    store_feed_subscribe(e->st2, NULL, NULL);
    wait_subscribed(e, e->rc, 0);
}

/* A private redis-server the test kills and restarts. */
static pid_t redis_start(const char *dir, const char *sock)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sock, "--dir", dir,
               "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "/dev/null",
               (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        redisContext *rc = redisConnectUnix(sock);
        int ok = rc && !rc->err;
        redisFree(rc);
        if (ok)
            return pid;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("private redis-server did not start");
    return -1;
}

static void test_feed_resubscribes(void **state)
{
    struct env *e = *state;
    snprintf(e->dir, sizeof(e->dir), "/tmp/suara-cstore-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    char sock[128];
    snprintf(sock, sizeof(sock), "%s/r.sock", e->dir);
    e->redis_pid = redis_start(e->dir, sock);
    redisContext *prc = redisConnectUnix(sock);
    assert_true(prc && !prc->err);
    struct feed_rec f = {0};
    e->st2 = open_store(e, sock); /* the publisher */
    e->st3 = open_store(e, sock); /* the subscriber */
    store_feed_subscribe(e->st3, feed_cb, &f);
    wait_connected(e, e->st2);
    wait_subscribed(e, prc, 1);
    redisFree(prc);

    redis_kill(e->redis_pid);
    e->redis_pid = 0;
    assert_true(both_disconnected(e, e->st2, e->st3)); /* both saw the kill */
    e->redis_pid = redis_start(e->dir, sock);
    prc = redisConnectUnix(sock);
    assert_true(prc && !prc->err);
    wait_connected(e, e->st2);
    wait_subscribed(e, prc, 1);
    redisFree(prc);
    const char *const feed[] = {"{\"type\":\"sla_breached\",\"ticket\":\"K7M4QX\"}"};
    struct store_complaint_write w = mk_write(0, "K7M4QX", "PATEN-BMK", "open", 0);
    struct store_commit c = mk_commit("m1", &w);
    c.feed = feed;
    c.n_feed = 1;
    assert_int_equal(do_commit_on(e, e->st2, &c).r, STORE_COMMITTED);
    run_until(e, &f.n, 1, 3000);
    assert_string_equal(f.msg[0], feed[0]);
    assert_int_equal(feed_marker(e, e->st2, &f, "m2"), 1); /* and it arrived once */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_then_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_open_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sla_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sla_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_feed_resubscribes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
