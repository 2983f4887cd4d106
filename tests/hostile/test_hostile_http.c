/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hostile HTTP against the real gateway (two workers, a private redis, the mock provider): every
 * case of issue 8's framing list over a raw socket, asserting Suara's exact answer (status, JSON
 * error, close) within a bound; after each case every worker still serves /healthz in < 100 ms,
 * no gateway thread spins, and at the end SIGTERM still stops it (exit 0). A second test holds a
 * webhook's answer (Redis paused) with a request pipelined behind it and measures that no worker
 * spins meanwhile.
 * SUARA_HOSTILE_VIA=nginx (ctest test_hostile_http_nginx) starts the production front as well
 * (deploy/nginx/suara.conf, harness_nginx_start) and sends every case through its TLS port, with
 * the proxy's expectation "a 4xx/5xx or a close, never a hang"; after each case /healthz through
 * nginx is still served in < 100 ms and no gateway thread spins. It skips without nginx.
 * SUARA_HOSTILE_TARGET=host:port (SUARA_HOSTILE_TLS=1 for TLS) runs the same cases against any
 * server with that expectation; the gateway-process checks are then skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "e2e_client.h"
#include "handler.h"
#include "raw.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define H "Host: suara.test\r\n"
#define WH_POST(path, extra) "POST " path " HTTP/1.1\r\n" H "Content-Length: 2\r\n" extra "\r\n{}"
#define BAD_SIG "X-Hub-Signature-256: sha256=00\r\n"
#define CASE_DEADLINE_MS 2000

struct hcase {
    const char *name;
    const char *req; /* NULL: built by make (long requests) */
    char *(*make)(void);
    int status;        /* first status expected from Suara direct; 0: no answer at all */
    const char *error; /* the JSON "error" expected, or NULL */
    int closed;        /* 1: the connection must be closed, 0: kept open, -1: either */
    int nginx; /* first status through deploy/nginx/suara.conf (nginx 1.22); 0: none (a close) */
};

static char *repeat_into(const char *head, char c, size_t n, const char *tail)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *s = malloc(hl + n + tl + 1);
    memcpy(s, head, hl);
    memset(s + hl, c, n);
    memcpy(s + hl + n, tail, tl + 1);
    return s;
}
static char *long_url(void)
{
    return repeat_into("GET /healthz?a=", 'a', 9000, " HTTP/1.1\r\n" H "\r\n");
}
static char *long_header(void)
{
    return repeat_into("GET /healthz HTTP/1.1\r\n" H "User-Agent: ", 'a', 9000, "\r\n\r\n");
}
static char *huge_header(void)
{
    return repeat_into("GET /healthz HTTP/1.1\r\n" H "X-Big: ", 'a', 20000, "\r\n\r\n");
}

#define H2C                                                                                        \
    "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: "                      \
    "AAMAAABkAARAAAAAAAIAAAAA\r\n"

static const struct hcase cases[] = {
    /* pipelining: each used to freeze a worker at 100 % CPU */
    {"get_then_post_body", "GET /healthz HTTP/1.1\r\n" H "\r\n" WH_POST("/nope", ""), NULL, 200,
     NULL, 1, 200},
    {"two_bad_signatures", WH_POST("/webhooks/wa", BAD_SIG) WH_POST("/webhooks/wa", BAD_SIG), NULL,
     401, "signature", 1, 401},
    {"two_unknown_channel", WH_POST("/webhooks/nope", "") WH_POST("/webhooks/nope", ""), NULL, 404,
     "not_found", 1, 404},
    {"get_get_post",
     "GET /healthz HTTP/1.1\r\n" H "\r\nGET /healthz HTTP/1.1\r\n" H
     "\r\n" WH_POST("/webhooks/wa", BAD_SIG),
     NULL, 200, NULL, 1, 200},
    {"api_bogus_token_then_webhook",
     WH_POST("/api/v1/visits", "Authorization: Bearer bogus\r\n") WH_POST("/webhooks/wa", BAD_SIG),
     NULL, 401, "unauthorized", 1, 401},
    {"post_then_get", WH_POST("/webhooks/wa", BAD_SIG) "GET /healthz HTTP/1.1\r\n" H "\r\n", NULL,
     401, "signature", 0, 401},
    /* h2c: ignored, answered over HTTP/1.1 */
    {"h2c_openapi", "GET /api/v1/openapi.json HTTP/1.1\r\n" H H2C "\r\n", NULL, 200, NULL, 0, 200},
    {"h2c_metrics", "GET /metrics HTTP/1.1\r\n" H H2C "\r\n", NULL, 200, NULL, 0, 200},
    {"h2c_post", "POST /webhooks/wa HTTP/1.1\r\n" H H2C BAD_SIG "Content-Length: 2\r\n\r\n{}", NULL,
     401, "signature", 0, 401},
    /* framing */
    {"chunked_body",
     "POST /webhooks/wa HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
     NULL, 411, "length_required", 1, 401},
    {"webhook_post_without_length", "POST /webhooks/wa HTTP/1.1\r\n" H BAD_SIG "\r\n{}", NULL, 411,
     "length_required", 1, 411},
    {"cl_and_te",
     "POST /webhooks/wa HTTP/1.1\r\n" H "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\n\r\nGET /healthz HTTP/1.1\r\n" H "\r\n",
     NULL, 400, "invalid", 1, 400},
    {"two_content_lengths",
     "POST /webhooks/wa HTTP/1.1\r\n" H "Content-Length: 2\r\nContent-Length: 5\r\n\r\n{}abc", NULL,
     400, "invalid", 1, 400},
    {"content_length_abc",
     "POST /webhooks/wa HTTP/1.1\r\n" H "Content-Length: abc\r\n\r\nGET /healthz HTTP/1.1\r\n" H
     "\r\n",
     NULL, 400, "invalid", 1, 400},
    {"url_over_8k", NULL, long_url, 414, "uri_too_long", 1, 414},
    {"header_over_8k", NULL, long_header, 431, "headers_too_large", 1, 431},
    {"header_over_lws_buffer", NULL, huge_header, 0, NULL, 1, 431},
    {"trace", "TRACE / HTTP/1.1\r\n" H "\r\n", NULL, 501, "not_implemented", 1, 405},
    {"connect", "CONNECT 127.0.0.1:80 HTTP/1.1\r\n" H "\r\n", NULL, 501, "not_implemented", 1, 400},
    {"made_up_method", "BREW /healthz HTTP/1.1\r\n" H "\r\n", NULL, 501, "not_implemented", 1, 405},
    /* lws 4.1.6 refuses these itself (HTML 403) before any callback: see the README */
    {"asterisk_target", "OPTIONS * HTTP/1.1\r\n" H "\r\n", NULL, 403, NULL, 1, 400},
    {"absolute_target", "GET http://suara.test/healthz HTTP/1.1\r\n" H "\r\n", NULL, 403, NULL, 1,
     200},
    {"http11_without_host", "GET /healthz HTTP/1.1\r\n\r\n", NULL, 400, "invalid", 1, 400},
    {"http2_version_on_h1", "GET /healthz HTTP/2.0\r\n" H "\r\n", NULL, 505, "http_version", 1,
     505},
    {"http09", "GET /healthz\r\n\r\n", NULL, 505, "http_version", 1, 0},
    {"http13", "GET /healthz HTTP/1.3\r\n" H "\r\n", NULL, 505, "http_version", 1, 200},
    {"delete_method", "DELETE /healthz HTTP/1.1\r\n" H "\r\n", NULL, 405, "method", 0, 405},
};

static struct raw_target target;
static int proxied;  /* a proxy or another server answers: looser expectations */
static int external; /* SUARA_HOSTILE_TARGET: no gateway process of ours to check */
static struct harness_nginx nginx;
static int skipped; /* SUARA_HOSTILE_VIA=nginx without nginx installed */

/* The gateway trusts nginx's forwarded headers (as in test_nginx_front). */
#define NGINX_INI "[server]\ntrust_proxy = 127.0.0.1\n"

static int start_nginx(void)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/nginx", E.dir);
    if (mkdir(dir, 0700) != 0 || harness_nginx_start(&nginx, dir, E.port) != 0) {
        fprintf(stderr, "nginx did not start; see %s/error.log and %s/nginx.out\n", dir, dir);
        return -1;
    }
    snprintf(target.host, sizeof(target.host), "127.0.0.1");
    target.port = nginx.tls_port;
    target.tls = 1;
    proxied = 1;
    return 0;
}

static int setup(void **state)
{
    const char *spec = getenv("SUARA_HOSTILE_TARGET");
    const char *tls = getenv("SUARA_HOSTILE_TLS");
    const char *via = getenv("SUARA_HOSTILE_VIA");
    if (spec && *spec) {
        proxied = external = 1;
        return raw_target_parse(&target, spec, tls && !strcmp(tls, "1"));
    }
    int via_nginx = via && !strcmp(via, "nginx");
    if (via_nginx && !harness_nginx_available()) {
        skipped = 1;
        return 0;
    }
    if (via_nginx)
        E.extra_ini = NGINX_INI;
    if (e2e_setup(state) != 0)
        return -1;
    if (via_nginx)
        return start_nginx();
    snprintf(target.host, sizeof(target.host), "127.0.0.1");
    target.port = E.port;
    return 0;
}

static int teardown(void **state)
{
    if (external || skipped)
        return 0;
    int rc = nginx.pid > 0 ? harness_nginx_stop(&nginx) : 0;
    if (rc != 0)
        fprintf(stderr, "nginx exited with %d after SIGTERM\n", rc);
    return e2e_teardown(state) == 0 && rc == 0 ? 0 : -1;
}

/* utime + stime of every thread of pid, summed per thread into ticks[] (up to n threads) */
static size_t thread_ticks(pid_t pid, long long *ticks, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    size_t k = 0;
    for (struct dirent *e; d && k < n && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char stat[400], buf[1024];
        snprintf(stat, sizeof(stat), "%s/%s/stat", path, e->d_name);
        FILE *f = fopen(stat, "r");
        size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
        if (f)
            fclose(f);
        buf[len] = '\0';
        char *p = strrchr(buf, ')'); /* fields after the command name */
        unsigned long long ut = 0, st = 0;
        if (p &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
            ticks[k++] = (long long)(ut + st);
    }
    if (d)
        closedir(d);
    return k;
}

/* The most CPU ticks (10 ms at 100 Hz) one gateway thread used in the next ms milliseconds. */
static long long busiest_thread(int ms)
{
    long long a[64], b[64], most = 0;
    size_t na = thread_ticks(E.suara, a, 64);
    harness_sleep_ms(ms);
    size_t nb = thread_ticks(E.suara, b, 64);
    for (size_t i = 0; i < na && i < nb; i++)
        if (b[i] - a[i] > most)
            most = b[i] - a[i];
    return most;
}

/* No thread of the gateway uses more than 5 ticks (50 ms) of CPU in 300 ms. */
static void assert_no_spin(const char *name)
{
    long long most = busiest_thread(300);
    if (most > 5)
        fprintf(stderr, "%s: a gateway thread used %lld ticks in 300 ms\n", name, most);
    assert_true(most <= 5);
}

/* 16 fresh connections (the kernel spreads them over both workers; through nginx, its upstream
 * connections): each /healthz in < 100 ms */
static void assert_workers_serve(const char *name)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\n" H "Connection: close\r\n\r\n";
    for (int i = 0; i < 16; i++) {
        struct raw_result r;
        assert_int_equal(raw_exchange(&target, req, sizeof(req) - 1, 1000, &r), 0);
        if (raw_status(&r) != 200 || r.took_ms >= 100)
            fprintf(stderr, "%s: /healthz #%d -> %d in %lld ms\n", name, i, raw_status(&r),
                    r.took_ms);
        assert_int_equal(raw_status(&r), 200);
        assert_true(r.took_ms < 100);
        raw_result_free(&r);
    }
}

/* The answer's JSON body starts with the case's "error" name. */
static void assert_error(const struct hcase *c, const struct raw_result *r)
{
    char want[64];
    snprintf(want, sizeof(want), "{\"error\":\"%s\"", c->error);
    if (!strstr(r->data, want))
        fprintf(stderr, "%s: answer lacks %s:\n%s\n", c->name, want, r->data);
    assert_non_null(strstr(r->data, want));
}

static void check_answer(const struct hcase *c, const struct raw_result *r)
{
    int st = raw_status(r);
    fprintf(stderr, "%-28s -> %d %s in %lld ms\n", c->name, st, r->closed ? "closed" : "open",
            r->took_ms);
    if (external) { /* another server: an error or a close, never a hang */
        assert_true(r->closed || st >= 400 || (c->status && c->status < 400 && st == c->status));
        return;
    }
    if (proxied) { /* the production front: its answer, or its close */
        assert_int_equal(st, c->nginx);
        assert_true(st != 0 || r->closed);
        if (c->error && st == c->status) /* nginx's own errors use Suara's names too */
            assert_error(c, r);
        return;
    }
    assert_int_equal(st, c->status);
    if (c->error)
        assert_error(c, r);
    if (c->closed >= 0)
        assert_int_equal(r->closed, c->closed);
}

static void test_hostile_cases(void **state)
{
    (void)state;
    if (skipped)
        skip();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct hcase *c = &cases[i];
        char *built = c->make ? c->make() : NULL;
        const char *req = built ? built : c->req;
        /* a case answered on a kept-open connection is read for 500 ms; a close must come sooner */
        int deadline = c->closed == 0 ? 500 : CASE_DEADLINE_MS;
        struct raw_result r;
        assert_int_equal(raw_exchange(&target, req, strlen(req), deadline, &r), 0);
        check_answer(c, &r);
        raw_result_free(&r);
        free(built);
        if (!external) {
            assert_workers_serve(c->name);
            assert_no_spin(c->name);
        }
    }
}

/* A signed webhook whose answer waits for Redis, with a request pipelined behind it: while the
 * commit is pending (Redis paused by SIGSTOP; it is this test's own redis-server), no worker
 * thread spins on the waiting bytes, and once Redis runs again both are answered. */
static void test_pending_answer_no_spin(void **state)
{
    (void)state;
    if (skipped || proxied)
        skip();
    char *id = next_id("wamid.hostile."), *body = wa_body("6280000009911", id, "halo", NULL);
    char hex[65], *req = NULL;
    handler_sign_whatsapp(WA_SECRET, (const unsigned char *)body, strlen(body), hex);
    int n = asprintf(&req,
                     "POST /webhooks/wa HTTP/1.1\r\n" H "Content-Type: application/json\r\n"
                     "X-Hub-Signature-256: sha256=%s\r\nContent-Length: %zu\r\n\r\n%s"
                     "GET /healthz HTTP/1.1\r\n" H "\r\n",
                     hex, strlen(body), body);
    assert_true(n > 0);
    struct raw_conn *c = raw_open(&target, 2000);
    assert_non_null(c);
    assert_int_equal(kill(E.redis, SIGSTOP), 0); /* nothing may fail before the SIGCONT */
    int wrote = raw_write(c, req, (size_t)n);
    long long most = busiest_thread(500);
    char buf[8192];
    long early = raw_read(c, buf, sizeof(buf), 0); /* the answer really waits for Redis */
    assert_int_equal(kill(E.redis, SIGCONT), 0);
    fprintf(stderr, "pending answer + pipelined GET: busiest gateway thread %lld ticks in 500 ms\n",
            most);
    size_t len = 0;
    for (long long end = harness_mono_ms() + 10000;
         harness_mono_ms() < end && !strstr(buf, "\"status\":\"ok\"");) {
        long k = raw_read(c, buf + len, sizeof(buf) - 1 - len, 500);
        if (k == 0)
            break;
        if (k > 0)
            len += (size_t)k;
        buf[len] = '\0';
    }
    buf[len] = '\0';
    raw_close(c);
    assert_int_equal(wrote, 0);
    assert_int_equal(early, -1);
    assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
    assert_non_null(strstr(buf, "\"status\":\"ok\""));
    assert_true(most <= 5);
    free(req);
    free(body);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hostile_cases),
                                       cmocka_unit_test(test_pending_answer_no_spin)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
