/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Outbound HTTP on a libuv loop: one libcurl multi handle driven by the loop (one uv_poll_t per
 * socket curl asks us to watch, one uv_timer_t for curl's timeout). Connections are kept and
 * reused across requests; only http and https are allowed; redirects are never followed.
 * Nothing here logs request headers, credentials or bodies.
 *
 * Every submitted request gets exactly one completion callback: when it finishes, fails, times
 * out, or is cancelled by http_client_close. The callback runs on the loop, never from inside
 * http_client_submit. Data handed to it is borrowed for the duration of the callback.
 */
#ifndef HTTP_CLIENT_H
#define HTTP_CLIENT_H

#include "sr_error.h"

#include <stddef.h>
#include <uv.h>

struct http_client;

struct http_client_conf {
    long max_host_connections; /* per host; default 4 */
    size_t max_response_bytes; /* response body kept up to this; default 65536 */
    const char *user_agent;    /* default "suara/0.1"; copied */
};
void http_client_conf_defaults(struct http_client_conf *c);

/* One request. Everything is borrowed for the call of http_client_submit only: the body is
 * copied once into the transfer, curl copies the strings it keeps. */
struct http_client_request {
    const char *method;         /* "GET", "POST", ... ; NULL = "GET" */
    const char *url;            /* http:// or https:// */
    const char *content_type;   /* NULL: none */
    const char *const *headers; /* extra "Name: value" lines, may be NULL */
    size_t n_headers;
    const char *body; /* may be NULL */
    size_t body_len;
    const char *bearer;     /* Authorization: Bearer <bearer>, or NULL */
    const char *basic_user; /* HTTP basic auth, or NULL */
    const char *basic_pass;
    long timeout_ms;         /* whole transfer; 0 = none */
    long connect_timeout_ms; /* 0 = curl's default */
};

struct http_client_response {
    int curl_code;     /* CURLcode; 0 = a response was received (any status) */
    const char *error; /* curl_easy_strerror(curl_code); never contains request data */
    long status;       /* HTTP status, 0 if none */
    const char *body;  /* NUL-terminated, at most max_response_bytes */
    size_t body_len;
    int truncated;      /* 1 if the body was longer than max_response_bytes */
    long retry_after_s; /* Retry-After in seconds (number or HTTP date), 0 if absent */
    long num_connects;  /* new connections this transfer had to open (0 = reused one) */
};

/* Cancellation code given to requests still in flight at http_client_close. */
#define HTTP_CLIENT_E_CANCELLED 42 /* CURLE_ABORTED_BY_CALLBACK */

typedef void http_client_cb(void *ud, const struct http_client_response *r);

/* Creates a client on loop (borrowed for the client's life). conf may be NULL (defaults).
 * Returns NULL with eb filled on failure. */
struct http_client *http_client_new(uv_loop_t *loop, const struct http_client_conf *conf,
                                    struct sr_errbuf *eb);

/* Starts a request. SR_E_OK: cb will be called exactly once later. Any other result: cb is
 * never called (SR_E_INVALID for a bad request, SR_E_UNAVAILABLE once closing). */
enum sr_err http_client_submit(struct http_client *c, const struct http_client_request *req,
                               http_client_cb *cb, void *ud, struct sr_errbuf *eb);

size_t http_client_in_flight(const struct http_client *c);

/* Cancels every request in flight (each callback called once with HTTP_CLIENT_E_CANCELLED,
 * from inside this call), then closes the multi handle and every libuv handle; the client is
 * freed once they are closed, then closed(ud) is called (closed may be NULL). Safe to call
 * from inside a completion callback. NULL c: closed is called at once. */
void http_client_close(struct http_client *c, void (*closed)(void *ud), void *ud);

#endif
