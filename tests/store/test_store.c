/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for store/store*.c against a real redis-server (the suite's fixture on a unix socket,
 * plus a private one this file starts and kills itself), driving a real libuv loop. Each test
 * uses its own key prefix; a synchronous hiredis connection only checks state. Every wait is
 * bounded by loop time, never the wall clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sr_mem.h"
#include "store.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- harness ---- */

struct env {
    uv_loop_t loop;
    uv_timer_t wake; /* keeps uv_run(ONCE) returning while we wait */
    struct store *st;
    struct store *st2; /* a second store a test opens; closed by teardown */
    pid_t redis_pid;   /* private redis-server, killed by teardown */
    char dir[64];      /* its directory */
    redisContext *rc;  /* sync checker */
    char prefix[96];
    const char *sock;
    int rtt_calls;
};

static int test_no;

static void on_wake(uv_timer_t *t)
{
    (void)t;
}

static void on_rtt(void *ud, double seconds)
{
    struct env *e = ud;
    assert_true(seconds >= 0.0 && seconds < 60.0);
    e->rtt_calls++;
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

static struct store *open_store(struct env *e, const char *sock, int timeout_ms)
{
    struct store_conf c;
    store_conf_defaults(&c);
    c.unix_socket = sock;
    c.prefix = e->prefix;
    c.command_timeout_ms = timeout_ms;
    c.backoff_min_ms = 20;
    c.backoff_max_ms = 200;
    c.on_rtt = on_rtt;
    c.on_rtt_ud = e;
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
    snprintf(e->prefix, sizeof(e->prefix), "t:store:%d:%d:", (int)getpid(), ++test_no);
    assert_int_equal(uv_loop_init(&e->loop), 0);
    uv_timer_init(&e->loop, &e->wake);
    uv_timer_start(&e->wake, on_wake, 5, 5);
    e->rc = redisConnectUnix(e->sock);
    assert_true(e->rc && !e->rc->err);
    e->st = open_store(e, e->sock, 2000);
    run_until(e, NULL, 0, 0);
    *state = e;
    return 0;
}

static void redis_kill(pid_t pid);

static int teardown(void **state)
{
    struct env *e = *state;
    store_close(e->st);
    store_close(e->st2);
    if (e->redis_pid > 0)
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

/* Sync check: integer reply of a command on key <prefix><suffix>. */
static long long sync_ll(struct env *e, const char *cmd, const char *suffix)
{
    redisReply *r = redisCommand(e->rc, "%s %s%s", cmd, e->prefix, suffix);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

/* ---- callback recorders ---- */

struct res {
    int called;
    enum sr_err err;
    enum store_commit_result r;
    long long v;
    char data[256];
    int has_data, seen;
    size_t n;
    struct store_expired items[8];
    char names[8][2][64];
    struct store_outbox_entry entries[8];
    char ids[8][64], jsons[8][256];
    struct store_backlog b;
};

static void commit_cb(void *ud, enum sr_err err, enum store_commit_result r, long long v)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
    x->r = r;
    x->v = v;
}

static void load_cb(void *ud, enum sr_err err, const struct store_session *s)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
    if (!s)
        return;
    x->v = s->version;
    x->seen = s->seen;
    x->has_data = s->data != NULL;
    if (s->data) {
        assert_true(s->len < sizeof(x->data));
        memcpy(x->data, s->data, s->len);
        x->data[s->len] = '\0';
    }
}

static void expired_cb(void *ud, enum sr_err err, const struct store_expired *it, size_t n)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
    x->n = n;
    for (size_t i = 0; i < n && i < 8; i++) {
        x->items[i] = it[i];
        snprintf(x->names[i][0], 64, "%s", it[i].channel);
        snprintf(x->names[i][1], 64, "%s", it[i].sender);
        x->items[i].channel = x->names[i][0];
        x->items[i].sender = x->names[i][1];
        x->items[i].session = NULL;
    }
}

static void outbox_cb(void *ud, enum sr_err err, const struct store_outbox_entry *en, size_t n)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
    x->n = n;
    for (size_t i = 0; i < n && i < 8; i++) {
        snprintf(x->ids[i], 64, "%s", en[i].id);
        snprintf(x->jsons[i], 256, "%.*s", (int)en[i].len, en[i].json);
        x->entries[i] = en[i];
        x->entries[i].id = x->ids[i];
        x->entries[i].json = x->jsons[i];
    }
}

static void done_cb(void *ud, enum sr_err err)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
}

static void backlog_cb(void *ud, enum sr_err err, const struct store_backlog *b)
{
    struct res *x = ud;
    x->called++;
    x->err = err;
    if (b)
        x->b = *b;
}

/* ---- operation helpers ---- */

static const char *const two_events[] = {"{\"type\":\"a\"}", "{\"type\":\"b\"}"};
static const char *const one_reply[] = {"{\"to\":\"6281200000001\",\"text\":\"hi\"}"};

static struct store_commit mk_commit(const char *pid, long long expected, const char *session)
{
    struct store_commit c = {0};
    c.channel = "wa";
    c.sender = "6281200000001";
    c.provider_id = pid;
    c.expected_version = expected;
    c.session = session;
    c.session_len = session ? strlen(session) : 0;
    c.events = two_events;
    c.n_events = 2;
    c.replies = one_reply;
    c.n_replies = 1;
    return c;
}

static struct res do_commit(struct env *e, const struct store_commit *c)
{
    struct res x = {0};
    store_commit(e->st, c, commit_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.called, 1);
    return x;
}

static struct res do_load(struct env *e, const char *pid)
{
    struct res x = {0};
    store_session_load(e->st, "wa", "6281200000001", pid, load_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.called, 1);
    return x;
}

static struct res do_read(struct env *e, const char *consumer, int block_ms, int idle_ms)
{
    struct res x = {0};
    store_outbox_read(e->st, consumer, 8, block_ms, idle_ms, outbox_cb, &x);
    run_until(e, &x.called, 1, 3000 + block_ms);
    assert_int_equal(x.called, 1);
    assert_int_equal(x.err, SR_E_OK);
    return x;
}

static void do_done(struct env *e, const char *id, int sent, const char *ev)
{
    struct res x = {0};
    store_outbox_done(e->st, id, sent, ev, done_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.called, 1);
    assert_int_equal(x.err, SR_E_OK);
}

/* ---- tests: sessions and commit ---- */

static void test_load_empty(void **state)
{
    struct env *e = *state;
    struct res x = do_load(e, "m1");
    assert_int_equal(x.err, SR_E_OK);
    assert_int_equal(x.v, 0);
    assert_false(x.has_data);
    assert_false(x.seen);
    assert_true(e->rtt_calls > 0);
}

static void test_commit_then_load(void **state)
{
    struct env *e = *state;
    struct store_commit c = mk_commit("m1", 0, "{\"step\":1}");
    struct res x = do_commit(e, &c);
    assert_int_equal(x.err, SR_E_OK);
    assert_int_equal(x.r, STORE_COMMITTED);
    assert_int_equal(x.v, 1);
    struct res l = do_load(e, "m1");
    assert_int_equal(l.v, 1);
    assert_true(l.seen);
    assert_string_equal(l.data, "{\"step\":1}");
    assert_false(do_load(e, "m2").seen);
    assert_int_equal(sync_ll(e, "XLEN", "events"), 2);
    assert_int_equal(sync_ll(e, "XLEN", "outbox"), 1);
}

static void test_duplicate(void **state)
{
    struct env *e = *state;
    struct store_commit c = mk_commit("m1", 0, "{\"step\":1}");
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    c.expected_version = 1;
    c.session = "{\"step\":2}";
    c.session_len = strlen(c.session);
    struct res x = do_commit(e, &c);
    assert_int_equal(x.err, SR_E_OK);
    assert_int_equal(x.r, STORE_DUPLICATE);
    assert_int_equal(sync_ll(e, "XLEN", "events"), 2);
    assert_int_equal(sync_ll(e, "XLEN", "outbox"), 1);
    struct res l = do_load(e, NULL);
    assert_int_equal(l.v, 1);
    assert_string_equal(l.data, "{\"step\":1}");
}

static void test_conflict(void **state)
{
    struct env *e = *state;
    struct store_commit c = mk_commit("m1", 0, "{\"step\":1}");
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    c = mk_commit("m2", 0, "{\"step\":9}");
    struct res x = do_commit(e, &c);
    assert_int_equal(x.err, SR_E_OK);
    assert_int_equal(x.r, STORE_CONFLICT);
    assert_int_equal(x.v, 1);
    assert_int_equal(sync_ll(e, "XLEN", "events"), 2);
    assert_int_equal(sync_ll(e, "XLEN", "outbox"), 1);
    assert_int_equal(sync_ll(e, "EXISTS", "dedupe:wa:m2"), 0);
    assert_string_equal(do_load(e, NULL).data, "{\"step\":1}");
    /* expected_version -1 leaves the session alone but still writes events and dedupe */
    c = mk_commit("m3", -1, "{\"ignored\":1}");
    x = do_commit(e, &c);
    assert_int_equal(x.r, STORE_COMMITTED);
    assert_int_equal(x.v, 1);
    assert_string_equal(do_load(e, NULL).data, "{\"step\":1}");
    assert_int_equal(sync_ll(e, "XLEN", "events"), 4);
}

static void test_clear_keeps_version(void **state)
{
    struct env *e = *state;
    struct store_commit c = mk_commit("m1", 0, "{\"step\":1}");
    c.expires_at_ms = 1000;
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    redisReply *r = redisCommand(e->rc,
                                 "ZSCORE %sexpiry wa\x1f"
                                 "6281200000001",
                                 e->prefix);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "1000");
    freeReplyObject(r);
    c = mk_commit("m2", 1, NULL);
    struct res x = do_commit(e, &c);
    assert_int_equal(x.r, STORE_COMMITTED);
    assert_int_equal(x.v, 2);
    struct res l = do_load(e, NULL);
    assert_int_equal(l.v, 2);
    assert_false(l.has_data);
    assert_int_equal(sync_ll(e, "ZCARD", "expiry"), 0);
    assert_true(sync_ll(e, "TTL", "sess:wa:6281200000001") > 0);
    c = mk_commit("m3", 2, "{\"step\":3}");
    assert_int_equal(do_commit(e, &c).v, 3);
    /* clearing a session that never existed still leaves a TTL on the version hash */
    c = mk_commit("m4", 0, NULL);
    c.sender = "6281200000002";
    assert_int_equal(do_commit(e, &c).v, 1);
    assert_true(sync_ll(e, "TTL", "sess:wa:6281200000002") > 0);
}

static void test_ttls(void **state)
{
    struct env *e = *state;
    struct store_commit c = mk_commit("m1", 0, "{}");
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    long long dd = sync_ll(e, "PTTL", "dedupe:wa:m1");
    assert_true(dd >= 7LL * 86400 * 1000 - 60000);
    long long ss = sync_ll(e, "PTTL", "sess:wa:6281200000001");
    assert_true(ss > 86400LL * 1000 - 60000 && ss <= 86400LL * 1000);
}

static void test_concurrent_same_id(void **state)
{
    struct env *e = *state;
    struct res x[20];
    memset(x, 0, sizeof(x));
    struct store_commit c = mk_commit("m-same", 0, "{}");
    for (int i = 0; i < 20; i++)
        store_commit(e->st, &c, commit_cb, &x[i]);
    int committed = 0, dup = 0;
    for (int i = 0; i < 20; i++) {
        run_until(e, &x[i].called, 1, 3000);
        assert_int_equal(x[i].called, 1);
        assert_int_equal(x[i].err, SR_E_OK);
        committed += x[i].r == STORE_COMMITTED;
        dup += x[i].r == STORE_DUPLICATE;
    }
    assert_int_equal(committed, 1);
    assert_int_equal(dup, 19);
    assert_int_equal(sync_ll(e, "XLEN", "events"), 2);
}

static void test_noscript_fallback(void **state)
{
    struct env *e = *state;
    wait_connected(e, e->st);
    freeReplyObject(redisCommand(e->rc, "SCRIPT FLUSH"));
    struct store_commit c = mk_commit("m1", 0, "{}");
    struct res x = do_commit(e, &c);
    assert_int_equal(x.err, SR_E_OK);
    assert_int_equal(x.r, STORE_COMMITTED);
    assert_int_equal(do_load(e, "m1").seen, 1);
}

static void test_invalid_commit(void **state)
{
    struct env *e = *state;
    struct store_commit c = mk_commit(NULL, 0, "{}");
    struct res x = {0};
    store_commit(e->st, &c, commit_cb, &x);
    assert_int_equal(x.called, 0); /* never called from inside the call */
    run_until(e, &x.called, 1, 1000);
    assert_int_equal(x.called, 1);
    assert_int_equal(x.err, SR_E_INVALID);
}

/* ---- tests: expiry ---- */

static void commit_expiring(struct env *e, const char *sender, int64_t at)
{
    struct store_commit c = mk_commit(sender, 0, "{\"s\":1}");
    c.sender = sender;
    c.expires_at_ms = at;
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
}

static void test_expiry_claim(void **state)
{
    struct env *e = *state;
    commit_expiring(e, "6281200000001", 1000);
    commit_expiring(e, "6281200000002", 2000);
    commit_expiring(e, "6281200000003", 5000);
    freeReplyObject(redisCommand(e->rc,
                                 "ZADD %sexpiry 100 gone\x1f"
                                 "6281200000009",
                                 e->prefix));
    struct res x = {0};
    store_claim_expired(e->st, 2500, 10000, 10, expired_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.err, SR_E_OK);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.items[0].channel, "wa");
    assert_string_equal(x.items[0].sender, "6281200000001");
    assert_int_equal(x.items[0].expires_at_ms, 1000);
    assert_int_equal(x.items[0].version, 1);
    assert_string_equal(x.items[1].sender, "6281200000002");
    assert_int_equal(x.items[1].expires_at_ms, 2000);
    assert_int_equal(sync_ll(e, "ZCARD", "expiry"), 3); /* the orphan was removed */
    redisReply *r = redisCommand(e->rc,
                                 "ZSCORE %sexpiry wa\x1f"
                                 "6281200000001",
                                 e->prefix);
    assert_string_equal(r->str, "12500");
    freeReplyObject(r);
    memset(&x, 0, sizeof(x));
    store_claim_expired(e->st, 2600, 10000, 10, expired_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.n, 0); /* leased */
    memset(&x, 0, sizeof(x));
    store_claim_expired(e->st, 20000, 10000, 1, expired_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.n, 1); /* max honoured */
}

/* ---- tests: outbox ---- */

static void test_outbox_flow(void **state)
{
    struct env *e = *state;
    struct store_commit c = mk_commit("m1", 0, "{}");
    const char *const replies[] = {"{\"r\":1}", "{\"r\":2}"};
    c.replies = replies;
    c.n_replies = 2;
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    struct res x = do_read(e, "c1", 100, 60000);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.jsons[0], "{\"r\":1}");
    assert_string_equal(x.jsons[1], "{\"r\":2}");
    assert_false(x.entries[0].already_sent);
    do_done(e, x.ids[0], 1, "{\"type\":\"sent\"}");
    do_done(e, x.ids[1], 0, NULL);
    do_done(e, x.ids[0], 1, "{\"type\":\"sent\"}"); /* repeated: no second event */
    struct res y = do_read(e, "c1", 50, 60000);
    assert_int_equal(y.n, 0);
    char sk[128];
    snprintf(sk, sizeof(sk), "sent:%s", x.ids[0]);
    assert_int_equal(sync_ll(e, "EXISTS", sk), 1);
    assert_true(sync_ll(e, "TTL", sk) > 7LL * 86400 - 60);
    snprintf(sk, sizeof(sk), "sent:%s", x.ids[1]);
    assert_int_equal(sync_ll(e, "EXISTS", sk), 0);
    assert_int_equal(sync_ll(e, "XLEN", "events"), 3);
    redisReply *r = redisCommand(e->rc, "XREVRANGE %sevents + - COUNT 1", e->prefix);
    assert_string_equal(r->element[0]->element[1]->element[1]->str, "{\"type\":\"sent\"}");
    freeReplyObject(r);
    struct res b = {0};
    store_backlog(e->st, backlog_cb, &b);
    run_until(e, &b.called, 1, 3000);
    assert_int_equal(b.err, SR_E_OK);
    assert_int_equal(b.b.outbox_len, 0); /* done entries are deleted: no unbounded stream */
    assert_int_equal(b.b.outbox_pending, 0);
    assert_int_equal(b.b.outbox_lag, 0);
    assert_int_equal(b.b.events_len, 3);
    assert_int_equal(b.b.events_pending, 0);
}

/* Runs the loop until Redis reports entry id idle for at least ms in the group "sender" (the
 * claim threshold is what the test is about: it waits on Redis's own count, bounded). */
static void wait_idle(struct env *e, const char *id, long long ms)
{
    uv_update_time(&e->loop);
    uint64_t end = uv_now(&e->loop) + 5000;
    for (;;) {
        redisReply *r = redisCommand(e->rc, "XPENDING %soutbox sender - + 100", e->prefix);
        assert_non_null(r);
        long long idle = -1;
        for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
            if (strcmp(r->element[i]->element[0]->str, id) == 0)
                idle = r->element[i]->element[2]->integer;
        freeReplyObject(r);
        if (idle >= ms)
            return;
        assert_true(uv_now(&e->loop) < end);
        uv_run(&e->loop, UV_RUN_ONCE);
    }
}

/* 1 when a client of rc's server is blocked in a command (CLIENT LIST flags contain "b"). */
static int has_blocked_client(redisContext *rc)
{
    redisReply *r = redisCommand(rc, "CLIENT LIST");
    assert_non_null(r);
    int blocked = 0;
    for (const char *p = r->str; p && (p = strstr(p, " flags=")); p++) {
        const char *v = p + strlen(" flags=");
        blocked |= memchr(v, 'b', strcspn(v, " \n")) != NULL;
    }
    freeReplyObject(r);
    return blocked;
}

/* 1 when consumer is known to the group "sender" of e's outbox (its first read reached Redis). */
static int has_consumer(struct env *e, const char *consumer)
{
    redisReply *r = redisCommand(e->rc, "XINFO CONSUMERS %soutbox sender", e->prefix);
    assert_non_null(r);
    int found = 0;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        for (size_t k = 0; k + 1 < r->element[i]->elements; k += 2)
            found |= strcmp(r->element[i]->element[k]->str, "name") == 0 &&
                     strcmp(r->element[i]->element[k + 1]->str, consumer) == 0;
    freeReplyObject(r);
    return found;
}

static void test_outbox_crashed_reader(void **state)
{
    struct env *e = *state;
    struct store_commit c = mk_commit("m1", 0, "{}");
    assert_int_equal(do_commit(e, &c).r, STORE_COMMITTED);
    struct res x = do_read(e, "c1", 50, 60000); /* c1 "crashes": never calls done */
    assert_int_equal(x.n, 1);
    struct res y = do_read(e, "c2", 20, 60000);
    assert_int_equal(y.n, 0); /* not idle for a minute: stays with c1 */
    wait_idle(e, x.ids[0], 50);
    y = do_read(e, "c2", 20, 50);
    assert_int_equal(y.n, 1);
    assert_string_equal(y.ids[0], x.ids[0]);
    assert_false(y.entries[0].already_sent);
    /* c2 sent it but crashed before done: c3 claims it and sees the marker */
    freeReplyObject(redisCommand(e->rc, "SET %ssent:%s 1", e->prefix, y.ids[0]));
    wait_idle(e, y.ids[0], 50);
    struct res z = do_read(e, "c3", 20, 50);
    assert_int_equal(z.n, 1);
    assert_true(z.entries[0].already_sent);
    struct res b = {0};
    store_backlog(e->st, backlog_cb, &b);
    run_until(e, &b.called, 1, 3000);
    assert_int_equal(b.b.outbox_pending, 1);
    do_done(e, z.ids[0], 1, NULL);
    memset(&b, 0, sizeof(b));
    store_backlog(e->st, backlog_cb, &b);
    run_until(e, &b.called, 1, 3000);
    assert_int_equal(b.b.outbox_pending, 0);
}

/* ---- tests: failures ---- */

static void test_unavailable(void **state)
{
    struct env *e = *state;
    struct store *s = e->st2 = open_store(e, "/tmp/suara-no-such-dir/redis.sock", 500);
    struct res x = {0}, y = {0};
    struct store_commit c = mk_commit("m1", 0, "{}");
    store_commit(s, &c, commit_cb, &x);
    store_outbox_read(s, "c1", 8, 1000, 50, outbox_cb, &y);
    run_until(e, &x.called, 1, 1000);
    run_until(e, &y.called, 1, 1000);
    assert_int_equal(x.called, 1);
    assert_int_equal(x.err, SR_E_UNAVAILABLE);
    assert_int_equal(y.called, 1);
    assert_int_equal(y.err, SR_E_UNAVAILABLE);
    assert_false(store_is_connected(s));
    run_for(e, 100); /* a few reconnect attempts, for the sanitizers: nothing is asserted after */
}

static void test_close_with_pending(void **state)
{
    struct env *e = *state;
    wait_connected(e, e->st);
    struct res y = {0};
    store_outbox_read(e->st, "c1", 8, 10000, 60000, outbox_cb, &y);
    uv_update_time(&e->loop);
    uint64_t end = uv_now(&e->loop) + 5000;
    while (!has_consumer(e, "c1") && uv_now(&e->loop) < end) /* the read reached Redis */
        uv_run(&e->loop, UV_RUN_ONCE);
    assert_true(has_consumer(e, "c1"));
    struct res x[10];
    memset(x, 0, sizeof(x));
    for (int i = 0; i < 10; i++) {
        char pid[16];
        snprintf(pid, sizeof(pid), "m%d", i);
        struct store_commit c = mk_commit(pid, -1, NULL);
        store_commit(e->st, &c, commit_cb, &x[i]);
    }
    store_close(e->st);
    e->st = NULL;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(x[i].called, 1);
        assert_int_equal(x[i].err, SR_E_UNAVAILABLE);
    }
    assert_int_equal(y.called, 1);
    assert_int_equal(y.err, SR_E_UNAVAILABLE);
    run_for(e, 20); /* the loop after the close: the asserts below already held before it */
    for (int i = 0; i < 10; i++)
        assert_int_equal(x[i].called, 1);
    assert_int_equal(y.called, 1);
}

/* A private redis-server this test can stop, kill and restart. */
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
    for (int i = 0; i < 200; i++) { /* bounded: 200 x 10 ms */
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

static void redis_kill(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void test_timeout_kill_reconnect(void **state)
{
    struct env *e = *state;
    snprintf(e->dir, sizeof(e->dir), "/tmp/suara-store-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    char sock[128];
    snprintf(sock, sizeof(sock), "%s/r.sock", e->dir);
    e->redis_pid = redis_start(e->dir, sock);
    struct store *s = e->st2 = open_store(e, sock, 300);
    wait_connected(e, s);

    /* a stopped server: the command times out, the store reconnects once it answers again */
    kill(e->redis_pid, SIGSTOP);
    struct res t = {0};
    struct store_commit c = mk_commit("m0", 0, "{}");
    c.n_replies = 0; /* the server may still run it after SIGCONT: "not durable" is unknown */
    store_commit(s, &c, commit_cb, &t);
    run_until(e, &t.called, 1, 3000);
    assert_int_equal(t.called, 1);
    assert_int_equal(t.err, SR_E_UNAVAILABLE);
    kill(e->redis_pid, SIGCONT);
    wait_connected(e, s);

    /* killed with a blocking read and a commit outstanding */
    struct res y = {0}, x = {0};
    store_outbox_read(s, "c1", 8, 10000, 60000, outbox_cb, &y);
    redisContext *prc = redisConnectUnix(sock);
    assert_true(prc && !prc->err);
    uv_update_time(&e->loop);
    uint64_t end = uv_now(&e->loop) + 5000;
    while (!has_blocked_client(prc) && uv_now(&e->loop) < end) /* the read blocks in Redis */
        uv_run(&e->loop, UV_RUN_ONCE);
    assert_true(has_blocked_client(prc));
    redisFree(prc);
    c = mk_commit("m1", 0, "{}");
    store_commit(s, &c, commit_cb, &x);
    redis_kill(e->redis_pid);
    e->redis_pid = 0;
    run_until(e, &x.called, 1, 3000);
    run_until(e, &y.called, 1, 3000);
    assert_int_equal(x.called, 1);
    assert_int_equal(x.err, SR_E_UNAVAILABLE);
    assert_int_equal(y.called, 1);
    assert_int_equal(y.err, SR_E_UNAVAILABLE);
    run_for(e, 50);
    assert_false(store_is_connected(s));

    e->redis_pid = redis_start(e->dir, sock);
    wait_connected(e, s);
    memset(&x, 0, sizeof(x));
    store_commit(s, &c, commit_cb, &x);
    run_until(e, &x.called, 1, 3000);
    assert_int_equal(x.err, SR_E_OK);
    assert_int_equal(x.r, STORE_COMMITTED); /* scripts reloaded (or EVAL fallback) */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* hiredis 0.14 writes with write(2): a dead peer raises SIGPIPE */
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_then_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clear_keeps_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_same_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noscript_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_crashed_reader, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_with_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_kill_reconnect, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
