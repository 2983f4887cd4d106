/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for gateway/http_client.c against the local mock provider (tests/support/mock_provider.py,
 * started here on a loopback port and stopped by its PID): a plain POST, concurrent requests
 * sharing a few kept connections, the per-request timeout, Retry-After, the response cap, bad
 * requests refused up front, and close with requests in flight (each callback exactly once).
 * Every test runs its own loop and ends with uv_loop_close() == 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"
#include "http_client.h"
#include "sr_mem.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pid_t mock_pid = -1;
static char mock_base[64];
static char *mock_dir;

/* ---- the mock provider process (tests/support/harness.c starts and stops it by PID) ---- */

static int mock_start(void **state)
{
    (void)state;
    sr_mem_init();
    int port = 0;
    mock_dir = harness_tmpdir("hc");
    if (!mock_dir)
        return -1;
    mock_pid = harness_mock_start(mock_dir, &port);
    if (mock_pid <= 0)
        return -1;
    snprintf(mock_base, sizeof(mock_base), "http://127.0.0.1:%d", port);
    return 0;
}

static int mock_stop(void **state)
{
    (void)state;
    if (mock_pid > 0)
        harness_stop(mock_pid, SIGTERM, 5000);
    mock_pid = -1;
    harness_rmdir(mock_dir);
    free(mock_dir);
    return 0;
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

/* Blocking side channel to the mock (/_control, /_stats): a test helper, not the code under
 * test. Returns the heap body. */
static char *mock_call(const char *method, const char *path, const char *json)
{
    char *url = sr_asprintf("%s%s", mock_base, path);
    char *body = NULL;
    CURL *e = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    if (json)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode rc = curl_easy_perform(e);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    free(url);
    assert_int_equal(rc, CURLE_OK);
    return body;
}

static void mock_control(const char *json)
{
    free(mock_call("POST", "/_control", json));
}

/* ---- collecting results ---- */

#define MAX_RESULTS 16

struct result {
    int calls;
    int curl_code;
    long status;
    char *body;
    int truncated;
    long retry_after_s;
    long num_connects;
};

struct run {
    struct result r[MAX_RESULTS];
    int total;
    int closed;
    struct http_client *close_after_first; /* close from inside a callback */
};

struct slot {
    struct run *run;
    int idx;
};

static void on_done(void *ud, const struct http_client_response *resp)
{
    struct slot *s = ud;
    struct result *r = &s->run->r[s->idx];
    r->calls++;
    r->curl_code = resp->curl_code;
    r->status = resp->status;
    free(r->body);
    r->body = sr_strndup(resp->body, resp->body_len);
    r->truncated = resp->truncated;
    r->retry_after_s = resp->retry_after_s;
    r->num_connects = resp->num_connects;
    s->run->total++;
    if (s->run->close_after_first) {
        struct http_client *c = s->run->close_after_first;
        s->run->close_after_first = NULL;
        http_client_close(c, NULL, NULL);
    }
}

static void on_closed(void *ud)
{
    ((struct run *)ud)->closed++;
}

static void run_free(struct run *run)
{
    for (int i = 0; i < MAX_RESULTS; i++)
        free(run->r[i].body);
}

static const char WA_BODY[] = "{\"messaging_product\":\"whatsapp\",\"to\":\"6281200000001\","
                              "\"type\":\"text\",\"text\":{\"body\":\"halo\"}}";

static struct http_client_request wa_request(const char *url)
{
    struct http_client_request req = {
        .method = "POST",
        .url = url,
        .content_type = "application/json",
        .body = WA_BODY,
        .body_len = sizeof(WA_BODY) - 1,
        .bearer = "test-token-not-real",
        .timeout_ms = 5000,
        .connect_timeout_ms = 2000,
    };
    return req;
}

static void submit(struct http_client *c, const struct http_client_request *req, struct slot *s)
{
    struct sr_errbuf eb = {{0}};
    assert_int_equal(http_client_submit(c, req, on_done, s, &eb), SR_E_OK);
}

static void finish(uv_loop_t *loop, struct http_client *c, struct run *run)
{
    http_client_close(c, on_closed, run);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(run->closed, 1);
    assert_int_equal(uv_loop_close(loop), 0);
}

/* ---- tests ---- */

static void test_post_ok(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct run run = {0};
    struct slot s = {&run, 0};
    struct http_client *c = http_client_new(&loop, NULL, NULL);
    assert_non_null(c);
    char *url = sr_asprintf("%s/graph/1234/messages", mock_base);
    struct http_client_request req = wa_request(url);
    submit(c, &req, &s);
    assert_int_equal(run.total, 0); /* never completes inside submit */
    assert_int_equal(http_client_in_flight(c), 1);
    while (run.total < 1)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(run.r[0].calls, 1);
    assert_int_equal(run.r[0].curl_code, 0);
    assert_int_equal(run.r[0].status, 200);
    assert_non_null(strstr(run.r[0].body, "wamid.mock."));
    assert_int_equal(run.r[0].truncated, 0);
    assert_int_equal(http_client_in_flight(c), 0);
    finish(&loop, c, &run);
    free(url);
    run_free(&run);
}

/* One number of the mock's /_stats ("connections", "requests", "in_flight"). */
static long stats_field(const char *name)
{
    char *body = mock_call("GET", "/_stats", NULL);
    char key[64];
    snprintf(key, sizeof(key), "\"%s\": ", name);
    const char *p = strstr(body, key);
    assert_non_null(p);
    long n = strtol(p + strlen(key), NULL, 10);
    free(body);
    return n;
}

static long stats_connections(void)
{
    return stats_field("connections");
}

static int mock_idle(void *ud)
{
    (void)ud;
    return stats_field("in_flight") == 0;
}

static void test_concurrent_reuse(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct run run = {0};
    struct slot slots[10];
    struct http_client_conf conf;
    http_client_conf_defaults(&conf);
    conf.max_host_connections = 3;
    struct http_client *c = http_client_new(&loop, &conf, NULL);
    char *url = sr_asprintf("%s/graph/1234/messages", mock_base);
    struct http_client_request req = wa_request(url);
    long before = stats_connections();
    for (int i = 0; i < 10; i++) {
        slots[i] = (struct slot){&run, i};
        submit(c, &req, &slots[i]);
    }
    while (run.total < 10)
        uv_run(&loop, UV_RUN_ONCE);
    long connects = 0;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(run.r[i].calls, 1);
        assert_int_equal(run.r[i].status, 200);
        connects += run.r[i].num_connects;
    }
    /* at most max_host_connections new connections for 10 requests: the rest reused one */
    assert_true(connects >= 1 && connects <= 3);
    assert_true(stats_connections() - before <= 3 + 1); /* +1: the /_stats call itself */
    finish(&loop, c, &run);
    free(url);
    run_free(&run);
}

static void test_timeout(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct run run = {0};
    struct slot s = {&run, 0};
    struct http_client *c = http_client_new(&loop, NULL, NULL);
    char *url = sr_asprintf("%s/graph/1234/messages", mock_base);
    struct http_client_request req = wa_request(url);
    req.timeout_ms = 300;
    mock_control("{\"fail_next\":1,\"delay_ms\":1500}");
    submit(c, &req, &s);
    while (run.total < 1)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(run.r[0].calls, 1);
    assert_int_equal(run.r[0].curl_code, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(run.r[0].status, 0);
    finish(&loop, c, &run);
    free(url);
    run_free(&run);
}

static void test_retry_after(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct run run = {0};
    struct slot s = {&run, 0};
    struct http_client *c = http_client_new(&loop, NULL, NULL);
    char *url = sr_asprintf("%s/twilio/2010-04-01/Accounts/ACtest/Messages.json", mock_base);
    static const char form[] = "To=%2B6281200000001&From=%2B15550000000&Body=halo";
    struct http_client_request req = {
        .method = "POST",
        .url = url,
        .content_type = "application/x-www-form-urlencoded",
        .body = form,
        .body_len = sizeof(form) - 1,
        .basic_user = "ACtest",
        .basic_pass = "test-token-not-real",
        .timeout_ms = 5000,
    };
    mock_control("{\"fail_next\":1,\"status\":429,\"retry_after\":7,\"error_code\":20429}");
    submit(c, &req, &s);
    while (run.total < 1)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(run.r[0].curl_code, 0);
    assert_int_equal(run.r[0].status, 429);
    assert_int_equal(run.r[0].retry_after_s, 7);
    assert_non_null(strstr(run.r[0].body, "20429"));
    /* the next one goes through, and without Retry-After */
    struct slot s2 = {&run, 1};
    submit(c, &req, &s2);
    while (run.total < 2)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(run.r[1].status, 201);
    assert_int_equal(run.r[1].retry_after_s, 0);
    assert_non_null(strstr(run.r[1].body, "\"sid\": \"SM"));
    finish(&loop, c, &run);
    free(url);
    run_free(&run);
}

static void test_response_cap(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct run run = {0};
    struct slot s = {&run, 0};
    struct http_client_conf conf;
    http_client_conf_defaults(&conf);
    conf.max_response_bytes = 16;
    struct http_client *c = http_client_new(&loop, &conf, NULL);
    char *url = sr_asprintf("%s/graph/1234/messages", mock_base);
    struct http_client_request req = wa_request(url);
    submit(c, &req, &s);
    while (run.total < 1)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(run.r[0].status, 200);
    assert_int_equal(strlen(run.r[0].body), 16);
    assert_int_equal(run.r[0].truncated, 1);
    finish(&loop, c, &run);
    free(url);
    run_free(&run);
}

static void test_bad_requests(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct run run = {0};
    struct slot s = {&run, 0};
    struct sr_errbuf eb = {{0}};
    struct http_client *c = http_client_new(&loop, NULL, NULL);
    char *url = sr_asprintf("%s/graph/1234/messages", mock_base);
    struct http_client_request req = wa_request(url);
    req.method = "TRACE";
    assert_int_equal(http_client_submit(c, &req, on_done, &s, &eb), SR_E_INVALID);
    req = wa_request(url);
    const char *hdr[] = {"X-Test: a\r\nX-Injected: b"};
    req.headers = hdr;
    req.n_headers = 1;
    assert_int_equal(http_client_submit(c, &req, on_done, &s, &eb), SR_E_INVALID);
    req = wa_request(NULL);
    assert_int_equal(http_client_submit(c, &req, on_done, &s, &eb), SR_E_INVALID);
    /* a protocol other than http/https fails through the callback, nothing is fetched */
    req = wa_request("file:///etc/passwd");
    submit(c, &req, &s);
    while (run.total < 1)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(run.r[0].curl_code, CURLE_UNSUPPORTED_PROTOCOL);
    assert_int_equal(run.r[0].status, 0);
    finish(&loop, c, &run);
    assert_int_equal(run.total, 1);
    free(url);
    run_free(&run);
}

static void on_close_timer(uv_timer_t *t)
{
    struct http_client *c = t->data;
    http_client_close(c, NULL, NULL);
    uv_close((uv_handle_t *)t, NULL);
}

static void test_close_in_flight(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct run run = {0};
    struct slot slots[3];
    struct http_client *c = http_client_new(&loop, NULL, NULL);
    char *url = sr_asprintf("%s/graph/1234/messages", mock_base);
    struct http_client_request req = wa_request(url);
    mock_control("{\"fail_next\":3,\"delay_ms\":800}");
    for (int i = 0; i < 3; i++) {
        slots[i] = (struct slot){&run, i};
        submit(c, &req, &slots[i]);
    }
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    t.data = c;
    uv_timer_start(&t, on_close_timer, 150, 0); /* close while all three wait on the mock */
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(run.r[i].calls, 1);
        assert_int_equal(run.r[i].curl_code, HTTP_CLIENT_E_CANCELLED);
    }
    assert_int_equal(uv_loop_close(&loop), 0);
    free(url);
    run_free(&run);
    /* the mock answers the cancelled calls late: wait until it has, then clear what is left of
     * the fault (a call cancelled before it reached the mock never took its share) */
    assert_int_equal(harness_wait_until(mock_idle, NULL, 10000), 0);
    mock_control("{\"fail_next\":0}");
}

static void test_close_from_callback(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct run run = {0};
    struct slot slot = {&run, 0};
    struct http_client *c = http_client_new(&loop, NULL, NULL);
    char *url = sr_asprintf("%s/graph/1234/messages", mock_base);
    struct http_client_request req = wa_request(url);
    run.close_after_first = c;
    submit(c, &req, &slot);
    uv_run(&loop, UV_RUN_DEFAULT); /* the first answer closes the client; the loop empties */
    assert_int_equal(run.r[0].calls, 1);
    assert_int_equal(run.r[0].status, 200);
    assert_int_equal(uv_loop_close(&loop), 0);
    free(url);
    run_free(&run);
}

static void test_close_null(void **state)
{
    (void)state;
    struct run run = {0};
    http_client_close(NULL, on_closed, &run);
    assert_int_equal(run.closed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_ok),         cmocka_unit_test(test_concurrent_reuse),
        cmocka_unit_test(test_timeout),         cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_response_cap),    cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_close_in_flight), cmocka_unit_test(test_close_from_callback),
        cmocka_unit_test(test_close_null),
    };
    return cmocka_run_group_tests(tests, mock_start, mock_stop);
}
