/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin and officer API against the real suara binary (two workers), a real redis-server
 * and the mock provider: tokens (missing, unknown, revoked at once: 401 with WWW-Authenticate),
 * roles and scopes (a supervisor cannot read another unit, an officer cannot read statistics),
 * CSV by Accept and by suffix, bad parameters named, officer commands that act like the chat
 * commands and change nothing twice under one Idempotency-Key, visits stored as pseudonyms, the
 * audit log without token text, throttling of repeated failures (429 + Retry-After), and the
 * OpenAPI document checked against the routes the binary serves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api.h"
#include "e2e_client.h"
#include "sr_mem.h"
#include "tokens.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CITIZEN "6280000004001"

struct resp {
    long status;
    char *body, *headers;
    size_t len, hlen;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    char **buf = ud;
    size_t old = *buf ? strlen(*buf) : 0, add = size * n;
    *buf = realloc(*buf, old + add + 1);
    memcpy(*buf + old, p, add);
    (*buf)[old + add] = '\0';
    return add;
}

static const char *forwarded_for; /* X-Forwarded-For of the next calls, or NULL */

/* One request with an optional bearer token, Accept, Idempotency-Key and JSON body. */
static struct resp call(const char *method, const char *path, const char *token, const char *accept,
                        const char *idem, const char *body)
{
    struct resp r = {0};
    char url[512], h[4][160];
    snprintf(url, sizeof(url), "%s%s", E.base, path);
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    if (token) {
        snprintf(h[0], sizeof(h[0]), "Authorization: Bearer %s", token);
        hl = curl_slist_append(hl, h[0]);
    }
    if (accept) {
        snprintf(h[1], sizeof(h[1]), "Accept: %s", accept);
        hl = curl_slist_append(hl, h[1]);
    }
    if (idem) {
        snprintf(h[2], sizeof(h[2]), "Idempotency-Key: %s", idem);
        hl = curl_slist_append(hl, h[2]);
    }
    if (forwarded_for) {
        snprintf(h[3], sizeof(h[3]), "X-Forwarded-For: %s", forwarded_for);
        hl = curl_slist_append(hl, h[3]);
    }
    if (body)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (body) /* a POST without one sends no Content-Length at all, as curl -X POST does */
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (!r.body)
        r.body = strdup("");
    if (!r.headers)
        r.headers = strdup("");
    return r;
}

static void resp_free(struct resp *r)
{
    free(r->body);
    free(r->headers);
}

static int has_header(const struct resp *r, const char *needle)
{
    return strstr(r->headers, needle) != NULL; /* lws writes header names in lower case */
}

static char admin[TOKENS_TEXT_MAX], supervisor[TOKENS_TEXT_MAX], officer[TOKENS_TEXT_MAX],
    officer_srw[TOKENS_TEXT_MAX];

static long long make_token(enum tokens_role role, const char *off, const char *unit, char *out)
{
    struct sr_errbuf eb = {{0}};
    struct tokens *t = tokens_open(E.db, &eb);
    assert_non_null(t);
    struct tokens_new req = {role, off, unit, "test_api", 1796004000000LL};
    long long id = 0;
    assert_int_equal(tokens_create(t, &req, out, &id, &eb), SR_E_OK);
    tokens_close(t);
    return id;
}

static json_t *json_of(const struct resp *r)
{
    json_t *o = json_loads(r->body, 0, NULL);
    if (!o)
        fail_msg("not JSON (%ld): %s", r->status, r->body);
    return o;
}

static void expect(const char *method, const char *path, const char *token, long status,
                   const char *error)
{
    struct resp r = call(method, path, token, NULL, NULL, NULL);
    if (r.status != status || (error && !strstr(r.body, error)))
        fail_msg("%s %s: %ld %s (want %ld %s)", method, path, r.status, r.body, status,
                 error ? error : "");
    resp_free(&r);
}

static int setup(void **state)
{
    E.extra_ini = "[server]\ntrust_proxy = yes\n"; /* as behind nginx on the same host */
    int rc = e2e_setup(state);
    if (rc)
        return rc;
    make_token(TOKENS_ADMIN, NULL, NULL, admin);
    make_token(TOKENS_SUPERVISOR, NULL, "PATEN-BMK", supervisor);
    make_token(TOKENS_OFFICER, "BMK002", NULL, officer);
    make_token(TOKENS_OFFICER, "SRW001", NULL, officer_srw);
    return 0;
}

static void test_tokens_and_roles(void **state)
{
    (void)state;
    const char *rt = "/api/v1/stats/response-times?from=2026-01-01&to=2027-01-01";
    struct resp r = call("GET", rt, NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_true(has_header(&r, "www-authenticate: Bearer"));
    assert_non_null(strstr(r.body, "\"error\":\"unauthorized\""));
    resp_free(&r);
    expect("GET", rt, "sua_0000000000000000000000000000000000000000000000000000000000000000", 401,
           "unknown");
    expect("GET", rt, admin, 200, "\"groups\"");
    expect("GET", rt, officer, 403, "forbidden"); /* officers read no statistics */
    expect("GET", "/api/v1/stats/satisfaction", officer, 403, NULL);
    /* a supervisor: their own unit only */
    char path[256];
    snprintf(path, sizeof(path), "%s&unit=KEL-SRW", rt);
    expect("GET", path, supervisor, 403, "own unit");
    snprintf(path, sizeof(path), "%s&officer=SRW001", rt);
    expect("GET", path, supervisor, 403, "not of this supervisor");
    r = call("GET", rt, supervisor, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *o = json_of(&r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "filter"), "unit")),
                        "PATEN-BMK");
    json_decref(o);
    resp_free(&r);
    /* an officer reads their own complaints, nobody else's */
    expect("GET", "/api/v1/complaints?officer=SRW001", officer, 403, "own complaints");
    expect("GET", "/api/v1/complaints", officer, 200, "\"officer\":\"BMK002\"");
    expect("POST", "/api/v1/complaints/ABCDEF/acknowledge", admin, 403, NULL);
    expect("GET", "/api/v1/nope", admin, 404, NULL);
    expect("POST", "/api/v1/stats/response-times", admin, 405, NULL);
    expect("GET", "/api/v1/stats/response-times?group_by=week", admin, 400, "group_by");
    expect("GET", "/api/v1/stats/response-times?from=2026-13-01", admin, 400, "\\\"from\\\"");
}

static void test_revoked_at_once(void **state)
{
    (void)state;
    char tok[TOKENS_TEXT_MAX];
    long long id = make_token(TOKENS_ADMIN, NULL, NULL, tok);
    expect("GET", "/api/v1/stats/satisfaction", tok, 200, "\"ikm\"");
    struct sr_errbuf eb = {{0}};
    struct tokens *t = tokens_open(E.db, &eb);
    assert_int_equal(tokens_revoke(t, id, 1796004000001LL, &eb), SR_E_OK);
    tokens_close(t);
    expect("GET", "/api/v1/stats/satisfaction", tok, 401, "revoked"); /* the very next call */
}

static void test_csv(void **state)
{
    (void)state;
    const char *path = "/api/v1/stats/response-times?from=2026-01-01&to=2027-01-01&group_by=unit";
    struct resp r = call("GET", path, admin, "text/csv", NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "content-type: text/csv"));
    assert_int_equal(strncmp(r.body, "period,key,measure,count,mean_ms,p50_ms", 39), 0);
    resp_free(&r);
    r = call("GET", "/api/v1/complaints.csv?from=2026-01-01&to=2027-01-01", admin, NULL, NULL,
             NULL);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "content-type: text/csv"));
    assert_int_equal(strncmp(r.body, "ticket,unit,officer,category,citizen,state,", 43), 0);
    assert_null(strstr(r.body, CITIZEN)); /* pseudonyms only */
    resp_free(&r);
    expect("GET", "/api/v1/complaints/open.csv", officer, 404, NULL); /* no CSV form */
}

static void test_officer_commands(void **state)
{
    (void)state;
    assert_int_equal(wa_send(CITIZEN, "ADUAN PATEN-BMK Antrean panjang dan loket tutup", NULL),
                     200);
    assert_int_equal(
        wait_db("SELECT count(*) FROM complaints WHERE unit_code = 'PATEN-BMK'", 1, 15000), 1);
    char ticket[16], path[128];
    assert_int_equal(db_text("SELECT ticket FROM complaints LIMIT 1", ticket, sizeof(ticket)), 0);
    snprintf(path, sizeof(path), "/api/v1/complaints/%s/acknowledge", ticket);
    struct resp r = call("POST", path, officer, NULL, "ack-1", NULL);
    assert_int_equal(r.status, 200);
    json_t *o = json_of(&r);
    assert_string_equal(json_string_value(json_object_get(o, "ticket")), ticket);
    assert_true(json_is_false(json_object_get(o, "duplicate")));
    assert_true(json_array_size(json_object_get(o, "replies")) >= 1);
    json_decref(o);
    resp_free(&r);
    r = call("POST", path, officer, NULL, "ack-1", NULL); /* a retry: changes nothing */
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"duplicate\":true"));
    resp_free(&r);
    /* another unit's officer may not act on it */
    r = call("POST", path, officer_srw, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "\"duplicate\":true"));
    resp_free(&r);
    snprintf(path, sizeof(path), "/api/v1/complaints/%s/reply", ticket);
    expect("POST", path, officer, 400, "text");
    r = call("POST", path, officer, NULL, "reply-1", "{\"text\":\"Loket kami buka lagi besok\"}");
    assert_int_equal(r.status, 200);
    resp_free(&r);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM complaint_events WHERE ticket = '%s' AND type IN "
             "('complaint_acknowledged', 'complaint_replied')",
             ticket);
    assert_int_equal(wait_db(sql, 2, 15000), 2);
    /* every call was answered (committed or a duplicate): drained, a second acknowledgement
     * would be in the store */
    assert_int_equal(e2e_wait_drained(20000), 0);
    assert_int_equal(db_int(sql), 2); /* one acknowledgement, one reply */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM complaints WHERE ticket = '%s' AND first_response_by = "
             "'BMK002'",
             ticket);
    assert_int_equal(db_int(sql), 1);
    assert_true(mock_settled_count(CITIZEN) >= 3); /* confirmation, acknowledgement, answer */
    r = call("GET", "/api/v1/complaints/open", officer, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, ticket));
    resp_free(&r);
}

static void test_visits_and_audit(void **state)
{
    (void)state;
    struct resp r =
        call("POST", "/api/v1/visits", officer, NULL, NULL, "{\"citizen\": \"+62 800-0000-4002\"}");
    assert_int_equal(r.status, 201);
    resp_free(&r);
    expect("POST", "/api/v1/visits", officer, 400, "body"); /* no body */
    r = call("POST", "/api/v1/visits", officer, NULL, NULL,
             "{\"officer\": \"SRW001\", \"citizen\": \"6280000004002\"}");
    assert_int_equal(r.status, 403);
    resp_free(&r);
    assert_int_equal(db_int("SELECT count(*) FROM visits WHERE officer_code = 'BMK002' AND "
                            "length(citizen) = 64 AND citizen NOT LIKE '%62800%'"),
                     1);
    /* every authenticated call is audited, never with the token */
    assert_true(db_int("SELECT count(*) FROM audit_log WHERE action LIKE 'api %'") >= 10);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_log WHERE detail LIKE '%%%.20s%%'",
             admin + 4);
    assert_int_equal(db_int(sql), 0);
}

#define THROTTLE_FAILURES 10 /* the default of [server] throttle_failures */

static void test_throttled(void **state)
{
    (void)state;
    forwarded_for = "198.51.100.7, 203.0.113.9"; /* the proxy appended the client: the last */
    int refused_at = 0;
    for (int i = 1; i <= THROTTLE_FAILURES + 2 && !refused_at; i++) {
        struct resp r = call("GET", "/api/v1/stats/satisfaction", "sua_bad", NULL, NULL, NULL);
        if (r.status == 429) {
            refused_at = i;
            assert_true(has_header(&r, "retry-after: "));
        } else {
            assert_int_equal(r.status, 401);
        }
        resp_free(&r);
    }
    assert_int_equal(refused_at, THROTTLE_FAILURES + 1);
    /* while refused, even a good token waits: the address is throttled, not the token */
    expect("GET", "/api/v1/stats/satisfaction", admin, 429, NULL);
    /* the same first hop but another client: not refused; nor is the proxy itself */
    forwarded_for = "198.51.100.7, 203.0.113.10";
    expect("GET", "/api/v1/stats/satisfaction", admin, 200, NULL);
    forwarded_for = NULL;
    expect("GET", "/api/v1/stats/satisfaction", admin, 200, NULL);
}

/* Every route the binary serves is in the document, and every operation of the document is a
 * route the binary serves. */
static void test_openapi_matches_routes(void **state)
{
    (void)state;
    struct resp r = call("GET", "/api/v1/openapi.json", NULL, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *doc = json_of(&r);
    resp_free(&r);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.0.3");
    json_t *paths = json_object_get(doc, "paths");
    size_t n = 0, ops = 0;
    const struct api_route_info *routes = api_routes(&n);
    for (size_t i = 0; i < n; i++) {
        char m[8];
        size_t k = 0;
        for (; routes[i].method[k] && k < sizeof(m) - 1; k++)
            m[k] = (char)(routes[i].method[k] | 0x20);
        m[k] = '\0';
        if (!json_object_get(json_object_get(paths, routes[i].path), m))
            fail_msg("%s %s is served but not documented", routes[i].method, routes[i].path);
    }
    const char *path;
    json_t *item;
    json_object_foreach(paths, path, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            ops++;
            int found = 0;
            for (size_t i = 0; i < n; i++)
                found |=
                    strcmp(routes[i].path, path) == 0 && strcasecmp(routes[i].method, method) == 0;
            if (!found)
                fail_msg("%s %s is documented but not served", method, path);
        }
    }
    assert_int_equal(ops, n);
    json_decref(doc);
}

/* The dead-letter routes: admin only; list (numbers masked), drop, retry back to the outbox. */
static void test_outbox_dead_letters(void **state)
{
    (void)state;
    char sock[600];
    snprintf(sock, sizeof(sock), "%s/redis.sock", E.dir);
    redisContext *rc = redisConnectUnix(sock);
    assert_true(rc && !rc->err);
    const char *reply = "{\"channel\":\"sms\",\"to\":\"6281200000099\",\"text\":\"x\","
                        "\"style\":\"text\",\"options\":[]}";
    char ids[2][48];
    for (int i = 0; i < 2; i++) {
        redisReply *r = redisCommand(rc, "XADD e2e:outbox:dead * r %s from 1-%d why %s at 1", reply,
                                     i, "not delivered within its useful window");
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        snprintf(ids[i], sizeof(ids[i]), "%s", r->str);
        freeReplyObject(r);
    }
    expect("GET", "/api/v1/outbox/dead", officer, 403, "forbidden");
    expect("GET", "/api/v1/outbox/dead", supervisor, 403, NULL);
    struct resp r = call("GET", "/api/v1/outbox/dead", admin, NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "6281200000099")); /* masked */
    json_t *o = json_of(&r);
    resp_free(&r);
    json_t *dead = json_object_get(o, "dead");
    assert_true(json_array_size(dead) >= 2);
    json_decref(o);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/outbox/dead/%s/drop", ids[0]);
    expect("POST", path, officer, 403, NULL);
    expect("POST", path, admin, 200, "\"dropped\":true");
    expect("POST", path, admin, 404, "no such dead letter");
    snprintf(path, sizeof(path), "/api/v1/outbox/dead/%s/retry", ids[1]);
    expect("POST", path, admin, 200, "\"outbox_id\"");
    expect("POST", path, admin, 404, NULL);
    redisReply *n = redisCommand(rc, "XLEN e2e:outbox:dead");
    assert_int_equal(n->integer, 0);
    freeReplyObject(n);
    redisFree(rc);
}

int main(void)
{
    sr_mem_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openapi_matches_routes),
        cmocka_unit_test(test_outbox_dead_letters),
        cmocka_unit_test(test_tokens_and_roles),
        cmocka_unit_test(test_revoked_at_once),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_officer_commands),
        cmocka_unit_test(test_visits_and_audit),
        cmocka_unit_test(test_throttled),
    };
    int rc = cmocka_run_group_tests(tests, setup, e2e_teardown);
    curl_global_cleanup();
    return rc;
}
