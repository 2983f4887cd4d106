/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for gateway/http_guard.c, table-driven: every branch of the raw request-line judge, the
 * Content-Length parser (RFC 9110 8.6 lists, OWS, the 18-digit bound) and http_guard_check
 * (each check's refusal and its status, the order in which they run, the verdict's length and
 * close flag). Pure functions: no server, no clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http_guard.h"

#include <stdio.h>
#include <string.h>

static void test_request_line(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        enum sr_err want;
    } t[] = {
        {"GET / HTTP/1.1", SR_E_OK},
        {"POST /webhooks/wa HTTP/1.1", SR_E_OK},
        {"HEAD / ", SR_E_OK},
        {"PUT / ", SR_E_OK},
        {"DELETE / ", SR_E_OK},
        {"OPTIONS * ", SR_E_OK},
        {"PATCH / ", SR_E_OK},
        {"TRACE / HTTP/1.1", SR_E_NOT_IMPLEMENTED},
        {"CONNECT host:443 HTTP/1.1", SR_E_NOT_IMPLEMENTED},
        {"BREW /pot HTTP/1.1", SR_E_NOT_IMPLEMENTED},
        {"GETS / HTTP/1.1", SR_E_NOT_IMPLEMENTED},    /* a known method's prefix is not enough */
        {"get / HTTP/1.1", SR_E_NOT_IMPLEMENTED},     /* methods are case-sensitive */
        {"X-!#$%&'*+.^_`|~ /", SR_E_NOT_IMPLEMENTED}, /* every tchar is a token character */
        {"", SR_E_INVALID},                           /* no token */
        {" GET /", SR_E_INVALID},                     /* starts with a space */
        {"\x16\x03\x01\x02", SR_E_INVALID},           /* a TLS ClientHello */
        {"GET", SR_E_INVALID},                        /* a token and nothing after it */
        {"GET\t/ HTTP/1.1", SR_E_INVALID},            /* the token must end with SP */
        {"GE(T / HTTP/1.1", SR_E_INVALID},            /* a separator inside the token */
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        enum sr_err got = http_guard_request_line(t[i].line, strlen(t[i].line));
        if (got != t[i].want)
            fprintf(stderr, "request line \"%s\": %s\n", t[i].line, sr_errname(got));
        assert_int_equal(got, t[i].want);
    }
    /* buf need not be NUL-terminated: only len bytes are read */
    static const char unterminated[4] = {'G', 'E', 'T', ' '};
    assert_int_equal(http_guard_request_line(unterminated, sizeof(unterminated)), SR_E_OK);
    assert_int_equal(http_guard_request_line(unterminated, 3), SR_E_INVALID);
}

static void test_content_length(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int rc;
        unsigned long long want;
    } t[] = {
        {"0", 0, 0},
        {"2", 0, 2},
        {"65536", 0, 65536},
        {" 12 ", 0, 12},
        {"\t7\t", 0, 7},
        {"999999999999999999", 0, 999999999999999999ULL}, /* 18 digits: the bound */
        {"1000000000000000000", -1, 0},                   /* 19 digits */
        {"5,5", 0, 5},
        {"5, 5 ,5", 0, 5},
        {"5,6", -1, 0},
        {"5,", -1, 0},
        {",5", -1, 0},
        {"", -1, 0},
        {"   ", -1, 0},
        {"abc", -1, 0},
        {"12a", -1, 0},
        {"1 2", -1, 0},
        {"-1", -1, 0},
        {"+1", -1, 0},
        {"0x10", -1, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        unsigned long long got = 424242;
        int rc = http_guard_content_length(t[i].value, &got);
        if (rc != t[i].rc)
            fprintf(stderr, "Content-Length \"%s\": rc %d\n", t[i].value, rc);
        assert_int_equal(rc, t[i].rc);
        if (rc == 0)
            assert_true(got == t[i].want);
    }
    unsigned long long v;
    assert_int_equal(http_guard_content_length(NULL, &v), -1);
}

/* One http_guard_check case: a request that is fine except for what the row changes. */
struct gcase {
    const char *name;
    const char *method, *target, *version;
    int no_host;
    const char *cl[3];
    int te;
    size_t target_len, header_bytes; /* 0: strlen(target), 100 */
    enum sr_err err;
    int has_length;
    unsigned long long length;
};

#define LIMIT 8192

static const struct gcase gcases[] = {
    {"plain get", "GET", "/healthz", "HTTP/1.1", 0, {NULL}, 0, 0, 0, SR_E_OK, 0, 0},
    {"http/1.0 get", "GET", "/healthz", "HTTP/1.0", 0, {NULL}, 0, 0, 0, SR_E_OK, 0, 0},
    {"post with length", "POST", "/webhooks/wa", "HTTP/1.1", 0, {"2"}, 0, 0, 0, SR_E_OK, 1, 2},
    {"equal lengths", "POST", "/w", "HTTP/1.1", 0, {"2", " 2", "2,2"}, 0, 0, 0, SR_E_OK, 1, 2},
    {"length zero", "POST", "/w", "HTTP/1.1", 0, {"0"}, 0, 0, 0, SR_E_OK, 1, 0},
    /* version: 505 */
    {"no version", "GET", "/", NULL, 0, {NULL}, 0, 0, 0, SR_E_HTTP_VERSION, 0, 0},
    {"empty version", "GET", "/", "", 0, {NULL}, 0, 0, 0, SR_E_HTTP_VERSION, 0, 0},
    {"http/2 on h1", "GET", "/", "HTTP/2.0", 0, {NULL}, 0, 0, 0, SR_E_HTTP_VERSION, 0, 0},
    {"http/1.3", "GET", "/", "HTTP/1.3", 0, {NULL}, 0, 0, 0, SR_E_HTTP_VERSION, 0, 0},
    {"version before method", NULL, "/", "HTTP/9", 0, {NULL}, 0, 0, 0, SR_E_HTTP_VERSION, 0, 0},
    /* method: 501 */
    {"no method", NULL, "/", "HTTP/1.1", 0, {NULL}, 0, 0, 0, SR_E_NOT_IMPLEMENTED, 0, 0},
    {"unknown method", "BREW", "/", "HTTP/1.1", 0, {NULL}, 0, 0, 0, SR_E_NOT_IMPLEMENTED, 0, 0},
    {"method before target",
     "BREW",
     "*",
     "HTTP/1.1",
     0,
     {NULL},
     0,
     0,
     0,
     SR_E_NOT_IMPLEMENTED,
     0,
     0},
    {"options", "OPTIONS", "/", "HTTP/1.1", 0, {NULL}, 0, 0, 0, SR_E_OK, 0, 0},
    /* target: 400 / 414 */
    {"no target", "GET", NULL, "HTTP/1.1", 0, {NULL}, 0, 1, 0, SR_E_INVALID, 0, 0},
    {"asterisk", "GET", "*", "HTTP/1.1", 0, {NULL}, 0, 0, 0, SR_E_INVALID, 0, 0},
    {"absolute form", "GET", "http://h/x", "HTTP/1.1", 0, {NULL}, 0, 0, 0, SR_E_INVALID, 0, 0},
    {"target at limit", "GET", "/", "HTTP/1.1", 0, {NULL}, 0, LIMIT, 0, SR_E_OK, 0, 0},
    {"target over limit",
     "GET",
     "/",
     "HTTP/1.1",
     0,
     {NULL},
     0,
     LIMIT + 1,
     0,
     SR_E_URI_TOO_LONG,
     0,
     0},
    {"target before headers",
     "GET",
     "/",
     "HTTP/1.1",
     0,
     {NULL},
     0,
     LIMIT + 1,
     LIMIT + 1,
     SR_E_URI_TOO_LONG,
     0,
     0},
    /* header size: 431 */
    {"headers at limit", "GET", "/", "HTTP/1.1", 0, {NULL}, 0, 0, LIMIT, SR_E_OK, 0, 0},
    {"headers over limit",
     "GET",
     "/",
     "HTTP/1.1",
     0,
     {NULL},
     0,
     0,
     LIMIT + 1,
     SR_E_HEADERS_TOO_LARGE,
     0,
     0},
    {"headers before host",
     "GET",
     "/",
     "HTTP/1.1",
     1,
     {NULL},
     0,
     0,
     LIMIT + 1,
     SR_E_HEADERS_TOO_LARGE,
     0,
     0},
    /* Host: 400 on HTTP/1.1 only */
    {"1.1 without host", "GET", "/", "HTTP/1.1", 1, {NULL}, 0, 0, 0, SR_E_INVALID, 0, 0},
    {"1.0 without host", "GET", "/", "HTTP/1.0", 1, {NULL}, 0, 0, 0, SR_E_OK, 0, 0},
    /* Transfer-Encoding: 411 alone, 400 with Content-Length */
    {"chunked", "POST", "/w", "HTTP/1.1", 0, {NULL}, 1, 0, 0, SR_E_LENGTH_REQUIRED, 0, 0},
    {"chunked and length", "POST", "/w", "HTTP/1.1", 0, {"4"}, 1, 0, 0, SR_E_INVALID, 0, 0},
    {"te before bad length", "POST", "/w", "HTTP/1.1", 0, {"abc"}, 1, 0, 0, SR_E_INVALID, 0, 0},
    /* Content-Length: 400 */
    {"length abc", "POST", "/w", "HTTP/1.1", 0, {"abc"}, 0, 0, 0, SR_E_INVALID, 0, 0},
    {"two lengths", "POST", "/w", "HTTP/1.1", 0, {"2", "5"}, 0, 0, 0, SR_E_INVALID, 0, 0},
    {"bad second length", "POST", "/w", "HTTP/1.1", 0, {"2", "x"}, 0, 0, 0, SR_E_INVALID, 0, 0},
    {"length list differs", "POST", "/w", "HTTP/1.1", 0, {"2,3"}, 0, 0, 0, SR_E_INVALID, 0, 0},
};

static void run_gcase(const struct gcase *c, size_t max)
{
    size_t n_cl = 0;
    while (n_cl < 3 && c->cl[n_cl])
        n_cl++;
    struct http_guard_req q = {
        .method = c->method,
        .target = c->target,
        .target_len = c->target_len ? c->target_len : strlen(c->target),
        .version = c->version,
        .has_host = !c->no_host,
        .content_length = c->cl,
        .n_content_length = n_cl,
        .has_transfer_encoding = c->te,
        .header_bytes = c->header_bytes ? c->header_bytes : 100,
        .max_target = max,
        .max_header = max,
    };
    struct http_guard_verdict v;
    memset(&v, 0x5a, sizeof(v)); /* the verdict must be fully written */
    http_guard_check(&q, &v);
    if (v.err != c->err)
        fprintf(stderr, "%s: %s (%s)\n", c->name, sr_errname(v.err), v.detail.msg);
    assert_int_equal(v.err, c->err);
    assert_int_equal(v.close, c->err != SR_E_OK);
    if (c->err != SR_E_OK) {
        assert_true(v.detail.msg[0] != '\0');
        return;
    }
    assert_int_equal(v.has_length, c->has_length);
    assert_true(v.length == c->length);
}

static void test_check(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(gcases) / sizeof(gcases[0]); i++)
        run_gcase(&gcases[i], LIMIT);
}

/* A limit of 0 means none: the size checks pass whatever the sizes. */
static void test_check_without_limits(void **state)
{
    (void)state;
    static const struct gcase big = {"huge, no limits", "GET",    "/",     "HTTP/1.1", 0, {NULL}, 0,
                                     1u << 30,          1u << 30, SR_E_OK, 0,          0};
    run_gcase(&big, 0);
}

/* Every status the guard can answer is the one HTTP says for it. */
static void test_statuses(void **state)
{
    (void)state;
    assert_int_equal(sr_http_status(SR_E_INVALID), 400);
    assert_int_equal(sr_http_status(SR_E_LENGTH_REQUIRED), 411);
    assert_int_equal(sr_http_status(SR_E_URI_TOO_LONG), 414);
    assert_int_equal(sr_http_status(SR_E_HEADERS_TOO_LARGE), 431);
    assert_int_equal(sr_http_status(SR_E_NOT_IMPLEMENTED), 501);
    assert_int_equal(sr_http_status(SR_E_HTTP_VERSION), 505);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_line), cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_check),        cmocka_unit_test(test_check_without_limits),
        cmocka_unit_test(test_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
