/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The officers' live feed against the real suara binary (two workers), a real redis-server and
 * real libwebsockets clients in this process: officers of PATEN-BMK receive a PATEN-BMK event
 * and an officer of KEL-SRW does not (and vice versa), an admin receives both, clients spread
 * over both workers all receive, and missing, unknown or revoked tokens are refused with 401
 * before the upgrade. Tokens are made with store/tokens.c on the gateway's database.
 * And the real events: a complaint filed on WhatsApp reaches PATEN-BMK's complaint officer and
 * supervisor as complaint_opened, its first-response breach (the gateway's clock moved past the
 * deadline through [server] clock_file) as sla_breached, and KEL-SRW's officer gets neither.
 * And recovery: after a kill -9 of redis-server (restarted on the same files) both workers
 * subscribe again by themselves and a connected client receives the next event.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "e2e_client.h"
#include "sr_mem.h"
#include "tokens.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MSGS 16
#define MARKER "6280000003901"  /* fake: a survey whose idle expiry marks a sweep */
#define IDLE_MS (1800 * 1000LL) /* [dialog] session_idle_s, its default */
#define N_BMK 12 /* enough that both workers get some (SO_REUSEPORT spreads by 4-tuple hash) */

struct client {
    char token[TOKENS_TEXT_MAX];
    int bearer;           /* 1: Authorization header + subprotocol; 0: ?token= and no subprotocol */
    int state;            /* 0 connecting, 1 established, -1 refused / failed */
    char *msgs[MAX_MSGS]; /* received text frames */
    int n;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop;

static int client_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    struct client *c = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (c && c->bearer) {
            unsigned char **p = in, *end = *p + len;
            char v[96];
            snprintf(v, sizeof(v), "Bearer %s", c->token);
            if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, (unsigned char *)v,
                                             (int)strlen(v), p, end))
                return -1;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        pthread_mutex_lock(&mu);
        c->state = 1;
        pthread_mutex_unlock(&mu);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        pthread_mutex_lock(&mu);
        if (c->n < MAX_MSGS)
            c->msgs[c->n++] = strndup(in, len);
        pthread_mutex_unlock(&mu);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) {
            pthread_mutex_lock(&mu);
            c->state = -1;
            pthread_mutex_unlock(&mu);
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols client_protocols[] = {
    {"suara-feed", client_cb, 0, 8192, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void *service(void *arg)
{
    while (!atomic_load(&stop))
        lws_service(arg, 50);
    return NULL;
}

struct ws {
    struct lws_context *ctx;
    pthread_t thread;
};

/* Connects every client, then services them on a thread of their own. */
static void ws_start(struct ws *ws, struct client *cs, size_t n)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    ws->ctx = lws_create_context(&info);
    assert_non_null(ws->ctx);
    for (size_t i = 0; i < n; i++) {
        char path[160];
        int pn = cs[i].bearer ? snprintf(path, sizeof(path), "/ws/officers")
                              : snprintf(path, sizeof(path), "/ws/officers?token=%s", cs[i].token);
        assert_true(pn > 0 &&
                    (size_t)pn < sizeof(path)); /* a truncated token would be a test bug */
        struct lws_client_connect_info ci;
        memset(&ci, 0, sizeof(ci));
        ci.context = ws->ctx;
        ci.address = "127.0.0.1";
        ci.port = E.port;
        ci.path = path;
        ci.host = "127.0.0.1";
        ci.origin = "127.0.0.1";
        ci.protocol = cs[i].bearer ? "suara-feed" : NULL;
        ci.local_protocol_name = "suara-feed";
        ci.userdata = &cs[i];
        if (!lws_client_connect_via_info(&ci))
            cs[i].state = -1;
    }
    atomic_store(&stop, 0);
    assert_int_equal(pthread_create(&ws->thread, NULL, service, ws->ctx), 0);
}

static void ws_stop(struct ws *ws, struct client *cs, size_t n)
{
    atomic_store(&stop, 1);
    lws_cancel_service(ws->ctx);
    pthread_join(ws->thread, NULL);
    lws_context_destroy(ws->ctx);
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < cs[i].n; k++)
            free(cs[i].msgs[k]);
}

/* Waits until every client has left "connecting" and has at least want[i] messages. */
static int wait_clients(struct client *cs, size_t n, const int *want, int timeout_ms)
{
    long long end = harness_mono_ms() + timeout_ms;
    while (harness_mono_ms() < end) {
        int done = 1;
        pthread_mutex_lock(&mu);
        for (size_t i = 0; i < n; i++)
            if (cs[i].state == 0 || (cs[i].state == 1 && cs[i].n < want[i]))
                done = 0;
        pthread_mutex_unlock(&mu);
        if (done)
            return 0;
        harness_sleep_ms(20);
    }
    return -1;
}

static void make_token(enum tokens_role role, const char *officer, const char *unit, char *out,
                       long long *id)
{
    struct sr_errbuf eb = {{0}};
    struct tokens *t = tokens_open(E.db, &eb);
    assert_non_null(t);
    struct tokens_new req = {role, officer, unit, "test_feed", 1796004000000LL};
    assert_int_equal(tokens_create(t, &req, out, id, &eb), SR_E_OK);
    tokens_close(t);
}

static redisContext *redis(void)
{
    char sock[600];
    snprintf(sock, sizeof(sock), "%s/redis.sock", E.dir);
    redisContext *rc = redisConnectUnix(sock);
    assert_true(rc && !rc->err);
    return rc;
}

static long long publish(redisContext *rc, const char *json)
{
    redisReply *r = redisCommand(rc, "PUBLISH e2e:feed %s", json);
    assert_non_null(r);
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

static int has(const struct client *c, const char *needle)
{
    for (int k = 0; k < c->n; k++)
        if (strstr(c->msgs[k], needle))
            return 1;
    return 0;
}

static void assert_hello(const struct client *c, const char *role, const char *unit)
{
    assert_true(c->n >= 1);
    json_t *o = json_loads(c->msgs[0], 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "type")), "hello");
    assert_string_equal(json_string_value(json_object_get(o, "role")), role);
    if (unit)
        assert_string_equal(json_string_value(json_object_get(o, "unit")), unit);
    else
        assert_true(json_is_null(json_object_get(o, "unit")));
    json_decref(o);
}

/* Both workers must log a connected feed client. */
static void assert_both_workers(void)
{
    FILE *f = fopen(E.log, "r");
    assert_non_null(f);
    char line[2048];
    int seen[2] = {0, 0};
    while (fgets(line, sizeof(line), f)) {
        if (!strstr(line, "feed client connected"))
            continue;
        seen[0] |= strstr(line, "worker 0") != NULL;
        seen[1] |= strstr(line, "worker 1") != NULL;
    }
    fclose(f);
    assert_true(seen[0] && seen[1]);
}

/* Each client i has received marker[i] (NULL: not waited for). */
struct marker_wait {
    struct client *cs;
    size_t n;
    const char *const *marker;
};

static int markers_seen(void *ud)
{
    struct marker_wait *x = ud;
    int seen = 1;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < x->n; i++)
        if (x->marker[i] && !has(&x->cs[i], x->marker[i]))
            seen = 0;
    pthread_mutex_unlock(&mu);
    return seen;
}

/* Publishes one marker item per unit after the items under test and waits until every client
 * has its unit's marker. A worker forwards its subscription's items in order, so anything
 * wrongly routed before the markers has arrived by then. */
static void publish_markers_and_wait(struct client *cs, size_t n, const char *const *marker)
{
    static const char *const items[][2] = {{"PATEN-BMK", "MRK001"}, {"KEL-SRW", "MRK002"}};
    redisContext *rc = redis();
    for (size_t k = 0; k < sizeof(items) / sizeof(items[0]); k++) {
        char json[160];
        snprintf(json, sizeof(json),
                 "{\"type\":\"complaint_opened\",\"unit\":\"%s\",\"ticket\":\"%s\"}", items[k][0],
                 items[k][1]);
        publish(rc, json);
    }
    redisFree(rc);
    struct marker_wait x = {cs, n, marker};
    assert_int_equal(harness_wait_until(markers_seen, &x, 10000), 0);
}

static void test_fan_out_by_unit(void **state)
{
    (void)state;
    enum { N = N_BMK + 3 };
    static struct client cs[N];
    memset(cs, 0, sizeof(cs));
    for (int i = 0; i < N_BMK; i++) {
        make_token(TOKENS_OFFICER, "BMK002", NULL, cs[i].token, NULL);
        cs[i].bearer = i % 2;
    }
    make_token(TOKENS_OFFICER, "SRW001", NULL, cs[N_BMK].token, NULL);
    make_token(TOKENS_OFFICER, "SRW001", NULL, cs[N_BMK + 1].token, NULL);
    cs[N_BMK + 1].bearer = 1;
    make_token(TOKENS_ADMIN, NULL, NULL, cs[N_BMK + 2].token, NULL);
    struct ws ws;
    ws_start(&ws, cs, N);
    int want[N];
    for (int i = 0; i < N; i++)
        want[i] = 1;
    assert_int_equal(wait_clients(cs, N, want, 15000), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(cs[i].state, 1);
    for (int i = 0; i < N_BMK; i++)
        assert_hello(&cs[i], "officer", "PATEN-BMK");
    assert_hello(&cs[N_BMK], "officer", "KEL-SRW");
    assert_hello(&cs[N_BMK + 2], "admin", NULL);
    assert_both_workers();
    /* each connection's use is recorded, off the loop (the thread pool writes last_used_at) */
    assert_int_equal(wait_db("SELECT count(*) FROM tokens WHERE label = 'test_feed' AND "
                             "last_used_at IS NOT NULL",
                             N, 15000),
                     N);

    redisContext *rc = redis();
    long long end = harness_mono_ms() + 10000; /* both workers' subscriptions are up */
    while (publish(rc, "{\"type\":\"probe\",\"unit\":\"NOBODY\"}") < 2 && harness_mono_ms() < end)
        harness_sleep_ms(50);
    publish(rc, "{\"type\":\"complaint_opened\",\"unit\":\"PATEN-BMK\",\"ticket\":\"ABC234\"}");
    publish(rc, "{\"type\":\"complaint_opened\",\"unit\":\"KEL-SRW\",\"ticket\":\"XYZ567\"}");
    redisFree(rc);
    for (int i = 0; i < N_BMK + 2; i++)
        want[i] = 2;
    want[N_BMK + 2] = 3; /* admin: hello, both events (and the probes) */
    assert_int_equal(wait_clients(cs, N, want, 10000), 0);
    const char *marker[N];
    for (int i = 0; i < N; i++)
        marker[i] = i < N_BMK ? "MRK001" : "MRK002";
    publish_markers_and_wait(cs, N, marker);
    pthread_mutex_lock(&mu);
    for (int i = 0; i < N_BMK; i++) {
        assert_true(has(&cs[i], "ABC234"));
        assert_false(has(&cs[i], "XYZ567"));
        assert_false(has(&cs[i], "MRK002"));
        assert_false(has(&cs[i], "probe"));
        assert_int_equal(cs[i].n, 3); /* hello, ABC234, the marker */
    }
    for (int i = N_BMK; i < N_BMK + 2; i++) {
        assert_true(has(&cs[i], "XYZ567"));
        assert_false(has(&cs[i], "ABC234"));
    }
    assert_true(has(&cs[N_BMK + 2], "ABC234") && has(&cs[N_BMK + 2], "XYZ567"));
    pthread_mutex_unlock(&mu);
    ws_stop(&ws, cs, N);
}

/* A websocket upgrade through plain HTTP, to see the status code of a refusal. */
static long upgrade_status(const char *path, const char *auth)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", E.base, path);
    const char *hdrs[] = {"Connection: Upgrade",
                          "Upgrade: websocket",
                          "Sec-WebSocket-Version: 13",
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                          auth,
                          NULL};
    struct harness_response r;
    long st = harness_http("GET", url, hdrs, NULL, 0, &r) == 0 ? r.status : -1;
    harness_response_free(&r);
    return st;
}

static void test_bad_tokens_refused(void **state)
{
    (void)state;
    char good[TOKENS_TEXT_MAX], revoked[TOKENS_TEXT_MAX], hdr[128];
    long long rid = 0;
    make_token(TOKENS_SUPERVISOR, NULL, "PATEN-BMK", good, NULL);
    make_token(TOKENS_OFFICER, "BMK001", NULL, revoked, &rid);
    struct sr_errbuf eb = {{0}};
    struct tokens *t = tokens_open(E.db, &eb);
    assert_non_null(t);
    assert_int_equal(tokens_revoke(t, rid, 1796004000001LL, &eb), SR_E_OK);
    tokens_close(t);

    assert_int_equal(upgrade_status("/ws/officers", NULL), 401);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", revoked);
    assert_int_equal(upgrade_status("/ws/officers", hdr), 401);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer sua_%064d", 7);
    assert_int_equal(upgrade_status("/ws/officers", hdr), 401);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", good);
    assert_int_equal(upgrade_status("/ws/other", hdr), 404);
    char path[128];
    snprintf(path, sizeof(path), "/ws/officers?token=%s", revoked);
    assert_int_equal(upgrade_status(path, NULL), 401);

    /* and real websocket clients: refused, while the good one gets its hello */
    static struct client cs[3];
    memset(cs, 0, sizeof(cs));
    snprintf(cs[0].token, sizeof(cs[0].token), "%s", revoked);
    snprintf(cs[1].token, sizeof(cs[1].token), "sua_nope");
    cs[1].bearer = 1;
    snprintf(cs[2].token, sizeof(cs[2].token), "%s", good);
    cs[2].bearer = 1;
    struct ws ws;
    ws_start(&ws, cs, 3);
    int want[3] = {1, 1, 1};
    assert_int_equal(wait_clients(cs, 3, want, 10000), 0);
    assert_int_equal(cs[0].state, -1);
    assert_int_equal(cs[1].state, -1);
    assert_int_equal(cs[2].state, 1);
    assert_hello(&cs[2], "supervisor", "PATEN-BMK");
    ws_stop(&ws, cs, 3);
    /* the gateway still serves */
    char url[128];
    snprintf(url, sizeof(url), "%s/healthz", E.base);
    assert_int_equal(http_get(url, NULL), 200);
}

#define MONDAY_0900 1796004000000LL /* Monday 30 November 2026, 09:00 WIB */
static int setup(void **state)
{
    return e2e_setup_clock(state, MONDAY_0900, NULL);
}

/* The n-th message (after hello) of a client, parsed; NULL if there is none. */
static json_t *msg_of(const struct client *c, int k)
{
    return k < c->n ? json_loads(c->msgs[k], 0, NULL) : NULL;
}

static void assert_event(const struct client *c, int k, const char *type, const char *ticket)
{
    json_t *o = msg_of(c, k);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "type")), type);
    assert_string_equal(json_string_value(json_object_get(o, "ticket")), ticket);
    assert_string_equal(json_string_value(json_object_get(o, "unit")), "PATEN-BMK");
    assert_null(strstr(c->msgs[k], "6280000003001")); /* never the citizen's number */
    json_decref(o);
}

static void test_complaint_events_reach_the_unit_only(void **state)
{
    (void)state;
    enum { N = 3 };
    static struct client cs[N];
    memset(cs, 0, sizeof(cs));
    make_token(TOKENS_OFFICER, "BMK002", NULL, cs[0].token, NULL);
    make_token(TOKENS_SUPERVISOR, NULL, "PATEN-BMK", cs[1].token, NULL);
    make_token(TOKENS_OFFICER, "SRW001", NULL, cs[2].token, NULL);
    cs[1].bearer = 1;
    struct ws ws;
    ws_start(&ws, cs, N);
    int want[N] = {1, 1, 1};
    assert_int_equal(wait_clients(cs, N, want, 15000), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(cs[i].state, 1);
    redisContext *rc = redis();
    long long end = harness_mono_ms() + 10000; /* both workers' subscriptions are up */
    while (publish(rc, "{\"type\":\"probe\",\"unit\":\"NOBODY\"}") < 2 && harness_mono_ms() < end)
        harness_sleep_ms(50);
    redisFree(rc);

    assert_int_equal(wa_send("6280000003001", "ADUAN PATEN-BMK Loket tutup sebelum jam 12", NULL),
                     200);
    want[0] = want[1] = 2;
    assert_int_equal(wait_clients(cs, N, want, 15000), 0);
    char ticket[16];
    /* the feed item is published at the commit; the writer reaches SQLite a little later */
    assert_int_equal(
        wait_db("SELECT count(*) FROM complaints WHERE unit_code = 'PATEN-BMK'", 1, 15000), 1);
    assert_int_equal(db_text("SELECT ticket FROM complaints WHERE unit_code = 'PATEN-BMK' "
                             "ORDER BY opened_at DESC LIMIT 1",
                             ticket, sizeof(ticket)),
                     0);
    e2e_set_clock(MONDAY_0900 + 4 * 24 * 3600000LL); /* Friday: the first response is overdue */
    want[0] = want[1] = 3;
    assert_int_equal(wait_clients(cs, N, want, 15000), 0);
    /* The sweeps run again and escalate nothing more. The positive marker that one did: a survey
     * started now expires on the drill clock, and the idle sweep runs in the same tick as the
     * SLA sweep (gateway/worker.c); once it is abandoned and the gateway drained, a second
     * escalation would have been published, before the feed markers. No deadline of this ticket
     * lies in the half hour the clock moves. */
    const char *abandoned = "SELECT count(*) FROM surveys WHERE status = 'abandoned'";
    long long before = db_int(abandoned);
    assert_int_equal(wa_send(MARKER, "NILAI BMK001", NULL), 200);
    assert_true(mock_settled_count(MARKER) >= 1);
    e2e_set_clock(e2e_clock_ms + IDLE_MS + 1000);
    assert_int_equal(wait_db(abandoned, before + 1, 15000), before + 1);
    assert_int_equal(e2e_wait_drained(20000), 0);
    const char *marker[N] = {"MRK001", "MRK001", "MRK002"};
    publish_markers_and_wait(cs, N, marker);
    pthread_mutex_lock(&mu);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cs[i].n, 4); /* hello, opened, one breach, the marker */
        assert_event(&cs[i], 1, "complaint_opened", ticket);
        assert_event(&cs[i], 2, "sla_breached", ticket);
    }
    assert_int_equal(cs[2].n, 2); /* KEL-SRW: the hello and its marker only */
    pthread_mutex_unlock(&mu);
    ws_stop(&ws, cs, N);
    e2e_set_clock(MONDAY_0900);
}

/* Waits (bounded) until a PUBLISH reaches `want` subscribers; the last count. */
static long long wait_subscribers(long long want, int timeout_ms)
{
    long long end = harness_mono_ms() + timeout_ms, n = -1;
    while (harness_mono_ms() < end) {
        char sock[600];
        snprintf(sock, sizeof(sock), "%s/redis.sock", E.dir);
        redisContext *rc = redisConnectUnix(sock);
        if (rc && !rc->err)
            n = publish(rc, "{\"type\":\"probe\",\"unit\":\"NOBODY\"}");
        redisFree(rc);
        if (n >= want)
            break;
        harness_sleep_ms(100);
    }
    return n;
}

static int redis_seen_down(void *ud)
{
    (void)ud;
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "%s/readyz", E.base);
    http_get(url, &body);
    int down = body && strstr(body, "\"redis\":\"down\"") != NULL;
    free(body);
    return down;
}

static void test_resubscribes_after_redis_kill(void **state)
{
    (void)state;
    enum { N = 1 };
    static struct client cs[N];
    memset(cs, 0, sizeof(cs));
    make_token(TOKENS_OFFICER, "BMK002", NULL, cs[0].token, NULL);
    struct ws ws;
    ws_start(&ws, cs, N);
    int want[N] = {1};
    assert_int_equal(wait_clients(cs, N, want, 15000), 0);
    assert_int_equal(cs[0].state, 1);
    assert_int_equal(wait_subscribers(2, 10000), 2);

    assert_int_equal(harness_stop(E.redis, SIGKILL, 5000), 128 + SIGKILL);
    /* the fault lasts until the gateway has seen it (not a fixed second) */
    assert_int_equal(harness_wait_until(redis_seen_down, NULL, 10000), 0);
    E.redis = harness_redis_start(E.dir);
    assert_true(E.redis > 0);
    assert_int_equal(wait_subscribers(2, 20000), 2); /* both workers are back on the channel */

    redisContext *rc = redis();
    publish(rc, "{\"type\":\"complaint_opened\",\"unit\":\"PATEN-BMK\",\"ticket\":\"RDS789\"}");
    redisFree(rc);
    want[0] = 2;
    assert_int_equal(wait_clients(cs, N, want, 10000), 0);
    pthread_mutex_lock(&mu);
    assert_int_equal(cs[0].state, 1); /* the client was not dropped with Redis */
    assert_true(has(&cs[0], "RDS789"));
    pthread_mutex_unlock(&mu);
    ws_stop(&ws, cs, N);
}

int main(void)
{
    sr_mem_init();
    lws_set_log_level(LLL_ERR, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fan_out_by_unit),
        cmocka_unit_test(test_bad_tokens_refused),
        cmocka_unit_test(test_complaint_events_reach_the_unit_only),
        cmocka_unit_test(test_resubscribes_after_redis_kill),
    };
    return cmocka_run_group_tests(tests, setup, e2e_teardown);
}
