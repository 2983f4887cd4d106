/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The production front, for real: deploy/nginx/suara.conf rendered by deploy/nginx/render.sh
 * with a self-signed certificate and 127.0.0.1 ports, a real nginx started by this test, and the
 * real gateway (two workers) with a private redis-server behind it. Through TLS it checks what
 * the front promises: signed webhooks pass (the Twilio signature rebuilt from the forwarded
 * public https URL), HTTP/2 is spoken to clients, chunked bodies reach Suara with a length, the
 * officers' WebSocket upgrade passes, oversize bodies get 413 and nginx's other refusals are JSON
 * in Suara's shape, /metrics and /readyz refuse outside addresses (the test connects from
 * 127.0.0.2 to be "outside"), and an X-Forwarded-For written by the client never becomes the
 * client address Suara throttles by. Skips only when nginx is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "e2e_client.h"
#include "handler.h"
#include "raw.h"
#include "tokens.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The gateway trusts the forwarded headers of nginx on this host. (While [server] trust_proxy
 * is a bool this is "yes"; as an address list it is "127.0.0.1".) */
#define THROTTLE_FAILURES 10 /* set below; the [server] throttle_failures default */
#define TRUST_PROXY_INI "[server]\ntrust_proxy = 127.0.0.1\nthrottle_failures = 10\n"

#define OUTSIDE "127.0.0.2" /* a loopback source address that is not internal for the site */

static struct harness_nginx N;
static int have_nginx;
static char front[64]; /* https://127.0.0.1:<tls port> */

static int setup(void **state)
{
    have_nginx = harness_nginx_available();
    if (!have_nginx)
        return 0;
    E.extra_ini = TRUST_PROXY_INI;
    if (e2e_setup(state) != 0)
        return -1;
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/nginx", E.dir);
    if (mkdir(dir, 0700) != 0 || harness_nginx_start(&N, dir, E.port) != 0) {
        fprintf(stderr, "nginx did not start; see %s/error.log and %s/nginx.out\n", dir, dir);
        return -1;
    }
    snprintf(front, sizeof(front), "https://127.0.0.1:%d", N.tls_port);
    return 0;
}

static int teardown(void **state)
{
    if (!have_nginx)
        return 0;
    int rc = harness_nginx_stop(&N);
    if (rc != 0)
        fprintf(stderr, "nginx exited with %d after SIGTERM\n", rc);
    return e2e_teardown(state) == 0 && rc == 0 ? 0 : -1;
}

#define NEED_NGINX()                                                                               \
    do {                                                                                           \
        if (!have_nginx)                                                                           \
            skip();                                                                                \
    } while (0)

/* One request to the front; path is appended to its https base URL. */
static long via_front(struct harness_request q, const char *path, struct harness_response *r)
{
    char url[10240];
    snprintf(url, sizeof(url), "%s%s", front, path);
    q.url = url;
    q.insecure = 1;
    return harness_http_req(&q, r) == 0 ? r->status : -1;
}

/* The body is JSON in Suara's error shape with this "error". */
static void assert_json_error(const struct harness_response *r, const char *error)
{
    assert_non_null(strstr(r->content_type, "application/json"));
    json_t *o = json_loads(r->body, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "error")), error);
    assert_non_null(json_string_value(json_object_get(o, "detail")));
    json_decref(o);
}

/* ---- webhooks ---- */

static char *twilio_form(void)
{
    char *sid = next_id("SMngx"), *form = NULL;
    if (asprintf(&form,
                 "AccountSid=ACe2e00000000000000000000000000000&Body=HALO&From=%%2B6280000009901"
                 "&MessageSid=%s&NumMedia=0&To=%%2B6280000000000",
                 sid) < 0)
        abort();
    free(sid);
    return form;
}

/* A Twilio webhook signed over the https URL the client called is accepted: nginx sent
 * X-Forwarded-Proto/Host (overwriting the client's own) and Suara rebuilt that URL. Signed over
 * the http URL instead, it is refused: the rebuilt URL really is the forwarded one. */
static void test_twilio_signature_from_public_url(void **state)
{
    (void)state;
    NEED_NGINX();
    char url[128], b64[29], sig[96];
    const char *variants[] = {"https", "http"};
    for (int i = 0; i < 2; i++) {
        char *form = twilio_form();
        snprintf(url, sizeof(url), "%s://127.0.0.1:%d/webhooks/sms", variants[i], N.tls_port);
        assert_int_equal(handler_sign_twilio(SMS_TOKEN, url, form, strlen(form), b64), 0);
        snprintf(sig, sizeof(sig), "X-Twilio-Signature: %s", b64);
        const char *h[] = {"Content-Type: application/x-www-form-urlencoded", sig,
                           "X-Forwarded-Proto: http", "X-Forwarded-Host: attacker.example", NULL};
        struct harness_response r;
        long st = via_front(
            (struct harness_request){
                .method = "POST", .headers = h, .body = form, .len = strlen(form), .http2 = 1},
            "/webhooks/sms", &r);
        assert_int_equal(st, i == 0 ? 200 : 401);
        harness_response_free(&r);
        free(form);
    }
}

static long post_whatsapp(int http2, int chunked, long *version)
{
    char *id = next_id("wamid.ngx.");
    char *body = wa_body("6280000009902", id, "HALO", NULL);
    char hex[65], sig[128];
    handler_sign_whatsapp(WA_SECRET, (const unsigned char *)body, strlen(body), hex);
    snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=%s", hex);
    const char *h[] = {"Content-Type: application/json", sig, NULL};
    struct harness_response r;
    long st = via_front((struct harness_request){.method = "POST",
                                                 .headers = h,
                                                 .body = body,
                                                 .len = strlen(body),
                                                 .http2 = http2,
                                                 .chunked = chunked},
                        "/webhooks/wa", &r);
    *version = r.http_version;
    harness_response_free(&r);
    free(body);
    free(id);
    return st;
}

/* Clients get HTTP/2 (ALPN); the signed WhatsApp webhook goes through to a 200. */
static void test_http2_to_clients(void **state)
{
    (void)state;
    NEED_NGINX();
    long version = 0;
    assert_int_equal(post_whatsapp(1, 0, &version), 200);
    assert_int_equal(version, 2);
}

/* A chunked body (which Suara alone does not take) is read whole by nginx and reaches Suara with
 * Content-Length: the webhook is answered 200. */
static void test_chunked_body_is_buffered(void **state)
{
    (void)state;
    NEED_NGINX();
    long version = 0;
    assert_int_equal(post_whatsapp(0, 1, &version), 200);
    assert_int_equal(version, 1);
}

/* ---- the officers' feed ---- */

static void admin_token(char *out)
{
    struct sr_errbuf eb = {{0}};
    struct tokens *t = tokens_open(E.db, &eb);
    assert_non_null(t);
    struct tokens_new req = {TOKENS_ADMIN, NULL, NULL, "test_nginx_front", 1796004000000LL};
    long long id = 0;
    assert_int_equal(tokens_create(t, &req, out, &id, &eb), SR_E_OK);
    tokens_close(t);
}

/* Sends a WebSocket upgrade over raw TLS (HTTP/1.1) and reads until needle arrives or the
 * connection ends (bounded); returns what arrived (heap). */
static char *upgrade(const char *auth_header, const char *needle)
{
    struct raw_target front_tls = {"127.0.0.1", N.tls_port, 1};
    struct raw_conn *t = raw_open(&front_tls, 5000);
    assert_non_null(t);
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "GET /ws/officers HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: suara-feed\r\n%s\r\n",
                     N.tls_port, auth_header);
    assert_int_equal(raw_write(t, req, (size_t)n), 0);
    size_t cap = 8192, len = 0;
    char *buf = calloc(1, cap + 1);
    long long end = harness_mono_ms() + 10000;
    while (len < cap && harness_mono_ms() < end && !memmem(buf, len, needle, strlen(needle))) {
        long k = raw_read(t, buf + len, cap - len, 1000);
        if (k == 0)
            break;
        if (k > 0)
            len += (size_t)k;
    }
    buf[len] = '\0';
    raw_close(t);
    return buf;
}

/* The upgrade to /ws/officers passes through nginx: 101 with the RFC 6455 accept key, then the
 * feed's hello frame. Without a token Suara's 401 comes back through nginx. */
static void test_websocket_feed_passes(void **state)
{
    (void)state;
    NEED_NGINX();
    char token[TOKENS_TEXT_MAX], auth[160];
    admin_token(token);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    char *got = upgrade(auth, "\"hello\"");
    assert_memory_equal(got, "HTTP/1.1 101", 12);
    assert_non_null(strstr(got, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    char *frames = strstr(got, "\r\n\r\n");
    assert_non_null(frames);
    assert_int_equal((unsigned char)frames[4], 0x81); /* FIN + text */
    assert_non_null(strstr(frames + 4, "\"type\":\"hello\""));
    free(got);
    got = upgrade("", "\r\n\r\n");
    assert_memory_equal(got, "HTTP/1.1 401", 12);
    free(got);
}

/* ---- nginx's own refusals ---- */

/* A body over the webhook and API limits (64 KiB) gets 413 from nginx, as JSON. */
static void test_oversize_body_413_json(void **state)
{
    (void)state;
    NEED_NGINX();
    size_t len = 65536 + 1;
    char *big = malloc(len);
    memset(big, 'x', len);
    const char *paths[] = {"/webhooks/wa", "/api/v1/visits"};
    for (int i = 0; i < 2; i++) {
        struct harness_response r;
        const char *h[] = {"Content-Type: application/json", NULL};
        long st = via_front(
            (struct harness_request){.method = "POST", .headers = h, .body = big, .len = len},
            paths[i], &r);
        assert_int_equal(st, 413);
        assert_json_error(&r, "too_large");
        harness_response_free(&r);
    }
    free(big);
}

/* /metrics and /readyz: 403 (JSON) from an outside address, served from an internal one. */
static void test_internal_only_probes(void **state)
{
    (void)state;
    NEED_NGINX();
    const char *paths[] = {"/metrics", "/readyz"};
    for (int i = 0; i < 2; i++) {
        struct harness_response r;
        assert_int_equal(via_front((struct harness_request){.method = "GET", .local_addr = OUTSIDE},
                                   paths[i], &r),
                         403);
        assert_json_error(&r, "forbidden");
        harness_response_free(&r);
        assert_int_equal(
            via_front((struct harness_request){.method = "GET", .local_addr = "127.0.0.1"},
                      paths[i], &r),
            200);
        harness_response_free(&r);
    }
    struct harness_response r;
    assert_int_equal(
        via_front((struct harness_request){.method = "GET", .local_addr = OUTSIDE}, "/healthz", &r),
        200);
    harness_response_free(&r);
}

/* Other methods, unknown paths, a request line over 8 KiB and a header line over 8 KiB are
 * refused by nginx in Suara's JSON shape; plain HTTP only redirects to HTTPS. */
static void test_refusals_are_json(void **state)
{
    (void)state;
    NEED_NGINX();
    static const struct {
        const char *method, *path, *error;
        long status;
        int long_path, long_header;
    } cases[] = {
        {"TRACE", "/healthz", "method", 405, 0, 0},
        {"PUT", "/webhooks/wa", "method", 405, 0, 0},
        {"GET", "/nope", "not_found", 404, 0, 0},
        {"GET", "/healthz?", "uri_too_long", 414, 1, 0},
        {"GET", "/healthz", "headers_too_large", 431, 0, 1},
    };
    char *filler = malloc(9001);
    memset(filler, 'a', 9000);
    filler[9000] = '\0';
    char path[9100], header[9100];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", cases[i].path, cases[i].long_path ? filler : "");
        snprintf(header, sizeof(header), "X-Filler: %s", filler);
        const char *h[] = {cases[i].long_header ? header : NULL, NULL};
        struct harness_response r;
        assert_int_equal(
            via_front((struct harness_request){.method = cases[i].method, .headers = h}, path, &r),
            cases[i].status);
        assert_json_error(&r, cases[i].error);
        harness_response_free(&r);
    }
    free(filler);
    char url[96];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/webhooks/wa", N.http_port);
    struct harness_response r;
    assert_int_equal(harness_http("GET", url, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 301);
    harness_response_free(&r);
}

/* ---- the client address ---- */

/* THROTTLE_FAILURES unauthenticated API calls through nginx from 127.0.0.2, each with a
 * different X-Forwarded-For of the client's own making: the next call is throttled (429) even
 * with yet another forged address, so Suara counted them all against ONE address; and a call
 * straight to Suara from 127.0.0.1 is not throttled, so that address was 127.0.0.2 (the real
 * client), not nginx's. Runs last: it leaves 127.0.0.2 throttled on the API for a minute. */
static void test_forged_forwarded_for_is_replaced(void **state)
{
    (void)state;
    NEED_NGINX();
    char xff[64];
    const char *h[] = {xff, NULL};
    struct harness_response r;
    for (int i = 0; i < THROTTLE_FAILURES; i++) {
        snprintf(xff, sizeof(xff), "X-Forwarded-For: 203.0.113.%d", i + 1);
        assert_int_equal(
            via_front(
                (struct harness_request){.method = "GET", .headers = h, .local_addr = OUTSIDE},
                "/api/v1/complaints", &r),
            401);
        harness_response_free(&r);
    }
    snprintf(xff, sizeof(xff), "X-Forwarded-For: 198.51.100.77");
    assert_int_equal(
        via_front((struct harness_request){.method = "GET", .headers = h, .local_addr = OUTSIDE},
                  "/api/v1/complaints", &r),
        429);
    harness_response_free(&r);
    char url[128];
    snprintf(url, sizeof(url), "%s/api/v1/complaints", E.base);
    assert_int_equal(harness_http("GET", url, NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 401);
    harness_response_free(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twilio_signature_from_public_url),
        cmocka_unit_test(test_http2_to_clients),
        cmocka_unit_test(test_chunked_body_is_buffered),
        cmocka_unit_test(test_websocket_feed_passes),
        cmocka_unit_test(test_oversize_body_413_json),
        cmocka_unit_test(test_internal_only_probes),
        cmocka_unit_test(test_refusals_are_json),
        cmocka_unit_test(test_forged_forwarded_for_is_replaced),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
