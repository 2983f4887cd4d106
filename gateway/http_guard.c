/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1 framing checks (see http_guard.h). Each check is one small function returning the
 * error it finds; http_guard_check runs them in a table, first refusal wins.
 */
#include "http_guard.h"

#include <string.h>

/* Methods HTTP defines that libwebsockets 4.1 parses; Suara serves GET and POST and answers the
 * others 405 from its routes. Anything else is not implemented (501). */
static const char *const known_methods[] = {"GET",    "POST",    "HEAD", "PUT",
                                            "DELETE", "OPTIONS", "PATCH"};

static int is_known_method(const char *m, size_t n)
{
    for (size_t i = 0; i < sizeof(known_methods) / sizeof(known_methods[0]); i++)
        if (strlen(known_methods[i]) == n && memcmp(known_methods[i], m, n) == 0)
            return 1;
    return 0;
}

/* RFC 9110 5.6.2 tchar */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

enum sr_err http_guard_request_line(const char *buf, size_t len)
{
    size_t n = 0;
    while (n < len && is_tchar((unsigned char)buf[n]))
        n++;
    if (n == 0 || n == len || buf[n] != ' ')
        return SR_E_INVALID;
    return is_known_method(buf, n) ? SR_E_OK : SR_E_NOT_IMPLEMENTED;
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* One 1*DIGIT element at *s (OWS around it); advances *s past it. */
static int parse_one_length(const char **s, unsigned long long *out)
{
    const char *p = skip_ows(*s);
    unsigned long long v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (++digits > 18)
            return -1;
        v = v * 10 + (unsigned long long)(*p - '0');
    }
    if (!digits)
        return -1;
    *s = skip_ows(p);
    *out = v;
    return 0;
}

int http_guard_content_length(const char *value, unsigned long long *out)
{
    if (!value)
        return -1;
    const char *s = value;
    unsigned long long first, next;
    if (parse_one_length(&s, &first) < 0)
        return -1;
    while (*s == ',') {
        s++;
        if (parse_one_length(&s, &next) < 0 || next != first)
            return -1;
    }
    if (*s)
        return -1;
    *out = first;
    return 0;
}

static enum sr_err check_version(const struct http_guard_req *q, struct http_guard_verdict *v)
{
    if (q->version && (!strcmp(q->version, "HTTP/1.1") || !strcmp(q->version, "HTTP/1.0")))
        return SR_E_OK;
    sr_errf(&v->detail, SR_E_HTTP_VERSION, "only HTTP/1.0 and HTTP/1.1 are served here");
    return SR_E_HTTP_VERSION;
}

static enum sr_err check_method(const struct http_guard_req *q, struct http_guard_verdict *v)
{
    if (q->method && is_known_method(q->method, strlen(q->method)))
        return SR_E_OK;
    sr_errf(&v->detail, SR_E_NOT_IMPLEMENTED, "method not implemented");
    return SR_E_NOT_IMPLEMENTED;
}

static enum sr_err check_target(const struct http_guard_req *q, struct http_guard_verdict *v)
{
    if (!q->target || q->target[0] != '/')
        return sr_errf(&v->detail, SR_E_INVALID,
                       "the request target must be an absolute path (origin-form)");
    if (q->max_target && q->target_len > q->max_target)
        return sr_errf(&v->detail, SR_E_URI_TOO_LONG, "request target over %zu bytes",
                       q->max_target);
    return SR_E_OK;
}

static enum sr_err check_header_size(const struct http_guard_req *q, struct http_guard_verdict *v)
{
    if (q->max_header && q->header_bytes > q->max_header)
        return sr_errf(&v->detail, SR_E_HEADERS_TOO_LARGE, "header fields over %zu bytes",
                       q->max_header);
    return SR_E_OK;
}

static enum sr_err check_host(const struct http_guard_req *q, struct http_guard_verdict *v)
{
    /* RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host */
    if (q->has_host || !q->version || strcmp(q->version, "HTTP/1.1") != 0)
        return SR_E_OK;
    return sr_errf(&v->detail, SR_E_INVALID, "HTTP/1.1 request without Host");
}

static enum sr_err check_transfer_encoding(const struct http_guard_req *q,
                                           struct http_guard_verdict *v)
{
    if (!q->has_transfer_encoding)
        return SR_E_OK;
    /* RFC 9112 6.1: with both, the framing is ambiguous (request smuggling): refuse, close */
    if (q->n_content_length)
        return sr_errf(&v->detail, SR_E_INVALID,
                       "both Content-Length and Transfer-Encoding: ambiguous framing");
    return sr_errf(&v->detail, SR_E_LENGTH_REQUIRED,
                   "chunked request bodies are not accepted: send Content-Length");
}

static enum sr_err check_content_length(const struct http_guard_req *q,
                                        struct http_guard_verdict *v)
{
    unsigned long long first = 0, next;
    for (size_t i = 0; i < q->n_content_length; i++) {
        if (http_guard_content_length(q->content_length[i], i ? &next : &first) < 0)
            return sr_errf(&v->detail, SR_E_INVALID, "invalid Content-Length");
        if (i && next != first)
            return sr_errf(&v->detail, SR_E_INVALID, "conflicting Content-Length headers");
    }
    v->has_length = q->n_content_length > 0;
    v->length = first;
    return SR_E_OK;
}

void http_guard_check(const struct http_guard_req *q, struct http_guard_verdict *v)
{
    static enum sr_err (*const checks[])(const struct http_guard_req *,
                                         struct http_guard_verdict *) = {
        check_version,           check_method,         check_target, check_header_size, check_host,
        check_transfer_encoding, check_content_length,
    };
    memset(v, 0, sizeof(*v));
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        v->err = checks[i](q, v);
        if (v->err != SR_E_OK) {
            v->close = 1;
            return;
        }
    }
}
