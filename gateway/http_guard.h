/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1 framing checks on what libwebsockets parsed (RFC 9110 / 9112), before Suara routes a
 * request: method, request-target form and size, version, Host, Content-Length syntax and
 * duplicates, Transfer-Encoding (chunked bodies are refused with 411; with Content-Length, 400).
 * Pure: no libwebsockets, no I/O, no allocation, so it can be unit-tested and fuzzed. lws stays
 * the parser; this only judges its result (and, for methods lws refuses itself, a raw request
 * line).
 */
#ifndef HTTP_GUARD_H
#define HTTP_GUARD_H

#include "sr_error.h"

#include <stddef.h>

/* What the server learnt about one request. Every pointer is borrowed for the call. */
struct http_guard_req {
    const char *method;  /* the method token as received ("GET"); NULL if lws saw none */
    const char *target;  /* request-target (path as lws decoded it); NULL if none */
    size_t target_len;   /* bytes of path + query */
    const char *version; /* "HTTP/1.1"; NULL or "" if the request line had none */
    int has_host;
    const char *const *content_length; /* each Content-Length field value, in order */
    size_t n_content_length;
    int has_transfer_encoding;
    size_t header_bytes; /* bytes of the header field values Suara can see */
    size_t max_target;   /* limits: request-target, one header field */
    size_t max_header;   /* header_bytes limit */
};

/* What to do with a request. */
struct http_guard_verdict {
    enum sr_err err;           /* SR_E_OK: serve it */
    int close;                 /* 1: the framing cannot be trusted, close after the answer */
    unsigned long long length; /* the Content-Length, when one is valid */
    int has_length;            /* a valid Content-Length was present */
    struct sr_errbuf detail;   /* why, for the JSON error body */
};

/* Judges q. Order: version (505), method (501), target form and size (400 / 414), header size
 * (431), Host (400), Transfer-Encoding (400 with Content-Length, else 411), Content-Length
 * syntax and agreement (400). Any refusal of the framing sets close. */
void http_guard_check(const struct http_guard_req *q, struct http_guard_verdict *v);

/* Parses one Content-Length field value: 1*DIGIT (at most 18 digits), or a comma-separated list
 * of identical such values (RFC 9110 8.6), optional whitespace around. 0 and *out set, or -1. */
int http_guard_content_length(const char *value, unsigned long long *out);

/* Judges the method token at the start of a raw request line (buf need not be NUL-terminated):
 * SR_E_OK for methods Suara knows, SR_E_NOT_IMPLEMENTED for any other token (TRACE, CONNECT,
 * made-up ones), SR_E_INVALID when buf does not start with a token and a space. */
enum sr_err http_guard_request_line(const char *buf, size_t len);

#endif
