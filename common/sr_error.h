/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One error list for all of Suara. Every fallible function returns an enum sr_err; the HTTP
 * status and the stable name come from the same X-macro row so they cannot drift apart.
 * Human detail goes into a bounded struct sr_errbuf owned by the caller.
 */
#ifndef SR_ERROR_H
#define SR_ERROR_H

#include <stddef.h>

/*      name            http  text */
#define SR_ERRORS(X)                                                                               \
    X(OK, 200, "ok")                                                                               \
    X(NOMEM, 500, "out of memory")                                                                 \
    X(INVALID, 400, "malformed request")                                                           \
    X(SIGNATURE, 401, "bad signature")                                                             \
    X(UNAUTHORIZED, 401, "missing, unknown or revoked token")                                      \
    X(FORBIDDEN, 403, "forbidden")                                                                 \
    X(NOT_FOUND, 404, "not found")                                                                 \
    X(METHOD, 405, "method not allowed")                                                           \
    X(TOO_LARGE, 413, "payload too large")                                                         \
    X(LENGTH_REQUIRED, 411, "length required")                                                     \
    X(URI_TOO_LONG, 414, "request target too long")                                                \
    X(HEADERS_TOO_LARGE, 431, "request header fields too large")                                   \
    X(NOT_IMPLEMENTED, 501, "not implemented")                                                     \
    X(HTTP_VERSION, 505, "HTTP version not supported")                                             \
    X(UNSUPPORTED, 415, "unsupported media type")                                                  \
    X(RATE_LIMITED, 429, "too many requests")                                                      \
    X(UNAVAILABLE, 503, "service unavailable")                                                     \
    X(CONFLICT, 409, "version conflict")                                                           \
    X(DUPLICATE, 200, "duplicate")                                                                 \
    X(CONFIG, 500, "configuration error")                                                          \
    X(IO, 500, "i/o error")                                                                        \
    X(INTERNAL, 500, "internal error")

enum sr_err {
#define SR_ERR_ENUM(name, http, text) SR_E_##name,
    SR_ERRORS(SR_ERR_ENUM)
#undef SR_ERR_ENUM
        SR_E__COUNT
};

/* A bounded message buffer for human-readable detail; reaches the HTTP error body and the log. */
struct sr_errbuf {
    char msg[256];
};

const char *sr_strerror(enum sr_err e); /* "bad signature" */
const char *sr_errname(enum sr_err e);  /* "SIGNATURE" */
int sr_http_status(enum sr_err e);

/* Sets the detail (printf-style, truncated to fit) and returns e, so callers can write
 * `return sr_errf(eb, SR_E_INVALID, "field %s missing", name);`. eb may be NULL. */
enum sr_err sr_errf(struct sr_errbuf *eb, enum sr_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
