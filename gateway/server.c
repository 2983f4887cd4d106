/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP face of a worker, on libwebsockets: routing by a table, header capture, body limits,
 * the JSON error shape, and writing answers that may be set long after the request arrived
 * (a webhook is answered only once its commit is durable). Probes (/healthz, /readyz, /metrics)
 * are answered at once.
 */
#include "server.h"

#include "spool.h"

#include "feed.h"
#include "http_guard.h"
#include "sr_log.h"
#include "sr_mem.h"
#include "trust.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum route { ROUTE_OTHER, ROUTE_WEBHOOK, ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS, ROUTE_API };

static const char *const route_names[] = {"other",  "webhook", "healthz",
                                          "readyz", "metrics", "api"};

#define API_BODY_LIMIT 65536

static const struct {
    const char *path;
    int prefix; /* 1: path is a prefix, the rest names the channel */
    enum route route;
} routes[] = {
    {"/webhooks/", 1, ROUTE_WEBHOOK}, {"/healthz", 0, ROUTE_HEALTHZ}, {"/readyz", 0, ROUTE_READYZ},
    {"/metrics", 0, ROUTE_METRICS},   {"/api/v1/", 1, ROUTE_API},
};

/* Headers a handler may need. token < 0: a custom header, looked up by name. */
static const struct {
    const char *name;
    int token;
} captured_headers[] = {
    {"host", WSI_TOKEN_HOST},
    {"content-type", WSI_TOKEN_HTTP_CONTENT_TYPE},
    {"content-length", WSI_TOKEN_HTTP_CONTENT_LENGTH},
    {"x-hub-signature-256", -1},
    {"x-twilio-signature", -1},
    {"x-forwarded-proto", -1},
    {"x-forwarded-host", -1},
    {"x-telegram-bot-api-secret-token", -1},
    {"authorization", WSI_TOKEN_HTTP_AUTHORIZATION},
    {"accept", WSI_TOKEN_HTTP_ACCEPT},
    {"idempotency-key", -1},
    {"x-forwarded-for", WSI_TOKEN_X_FORWARDED_FOR}, /* a token: lws parses it itself */
};

struct pss {
    struct gw_request *req;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void request_free(struct gw_request *r)
{
    for (size_t i = 0; i < r->n_headers; i++)
        free(r->header_store[i]);
    free(r->path);
    free(r->query);
    free(r->body);
    free(r->content_type);
    free(r->resp);
    free(r->extra_header[0]);
    free(r->extra_header[1]);
    free(r);
}

void gw_respond_header(struct gw_request *r, const char *name, const char *value)
{
    free(r->extra_header[0]);
    free(r->extra_header[1]);
    r->extra_header[0] = sr_strdup(name);
    r->extra_header[1] = sr_strdup(value);
}

void gw_request_hold(struct gw_request *r)
{
    r->refs++;
}

void gw_request_release(struct gw_request *r)
{
    if (--r->refs == 0)
        request_free(r);
}

static char *copy_token(struct lws *wsi, int token)
{
    int len = lws_hdr_total_length(wsi, (enum lws_token_indexes)token);
    if (len <= 0)
        return NULL;
    char *s = sr_malloc((size_t)len + 1);
    if (lws_hdr_copy(wsi, s, len + 1, (enum lws_token_indexes)token) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

static char *copy_custom(struct lws *wsi, const char *name)
{
    char key[64];
    int n = snprintf(key, sizeof(key), "%s:", name);
    int len = lws_hdr_custom_length(wsi, key, n);
    if (len <= 0)
        return NULL;
    char *s = sr_malloc((size_t)len + 1);
    if (lws_hdr_custom_copy(wsi, s, len + 1, key, n) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

static void capture_headers(struct gw_request *r)
{
    for (size_t i = 0; i < sizeof(captured_headers) / sizeof(captured_headers[0]); i++) {
        char *v = captured_headers[i].token >= 0 ? copy_token(r->wsi, captured_headers[i].token)
                                                 : copy_custom(r->wsi, captured_headers[i].name);
        if (!v || r->n_headers == GW_MAX_HEADERS) {
            free(v);
            continue;
        }
        r->header_store[r->n_headers] = v;
        r->headers[r->n_headers].name = captured_headers[i].name;
        r->headers[r->n_headers].value = v;
        r->n_headers++;
    }
}

/* Appends s percent-encoded (RFC 3986 unreserved kept) to *q. */
static void append_encoded(char **q, size_t *len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    *q = sr_realloc(*q, *len + n * 3 + 2);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            (*q)[(*len)++] = (char)c;
        } else {
            (*q)[(*len)++] = '%';
            (*q)[(*len)++] = hex[c >> 4];
            (*q)[(*len)++] = hex[c & 15];
        }
    }
    (*q)[*len] = '\0';
}

/* lws hands the query over as url-decoded "name=value" fragments; rebuild one encoded query
 * string so handlers parse a single, standard format. */
static char *rebuild_query(struct lws *wsi)
{
    char *q = sr_strdup("");
    size_t len = 0;
    char frag[2048];
    for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i) >= 0;
         i++) {
        char *eq = strchr(frag, '=');
        if (eq)
            *eq = '\0';
        if (len) {
            q = sr_realloc(q, len + 2);
            q[len++] = '&';
            q[len] = '\0';
        }
        append_encoded(&q, &len, frag);
        if (eq) {
            q = sr_realloc(q, len + 2);
            q[len++] = '=';
            q[len] = '\0';
            append_encoded(&q, &len, eq + 1);
        }
    }
    return q;
}

void gw_respond(struct gw_request *r, int status, const char *content_type, const char *body,
                size_t len)
{
    if (r->answered)
        return;
    r->answered = 1;
    r->status = status;
    r->content_type = sr_strdup(content_type ? content_type : "application/json");
    r->resp = sr_malloc(LWS_PRE + len + 1);
    if (len)
        memcpy(r->resp + LWS_PRE, body, len);
    r->resp_len = len;
    metrics_request(r->w->app->metrics, route_names[r->route], status);
    if (r->wsi)
        lws_callback_on_writable(r->wsi);
}

void gw_respond_error(struct gw_request *r, enum sr_err e, const char *detail)
{
    char name[32];
    const char *en = sr_errname(e);
    size_t i = 0;
    for (; en[i] && i < sizeof(name) - 1; i++)
        name[i] = (char)((en[i] >= 'A' && en[i] <= 'Z') ? en[i] + 32 : en[i]);
    name[i] = '\0';
    json_t *o = json_pack("{s:s, s:s}", "error", name, "detail",
                          detail && *detail ? detail : sr_strerror(e));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int status = sr_http_status(e);
    if (status < 400)
        status = 500;
    SR_LOG(INFO, "http", r->id, "%s %s -> %d %s", r->method, r->path ? r->path : "-", status,
           detail && *detail ? detail : sr_strerror(e));
    gw_respond(r, status, "application/json", s, strlen(s));
    free(s);
}

static void answer_probe(struct gw_request *r)
{
    struct app *a = r->w->app;
    if (r->route == ROUTE_HEALTHZ) {
        static const char ok[] = "{\"status\":\"ok\"}";
        gw_respond(r, 200, "application/json", ok, sizeof(ok) - 1);
        return;
    }
    if (r->route == ROUTE_METRICS) {
        if (a->writer) {
            struct writer_stats ws;
            writer_get_stats(a->writer, &ws);
            long long lag = ws.last_commit_ms ? (long long)(app_now_ms() - ws.last_commit_ms) : -1;
            metrics_set_writer(a->metrics, (unsigned long long)ws.applied, lag);
        }
        size_t len = 0;
        char *text = metrics_render(a->metrics, &len);
        gw_respond(r, 200, "text/plain; version=0.0.4", text, len);
        free(text);
        return;
    }
    int redis_up = store_is_connected(r->w->store);
    int store_up = 1;
    if (a->writer) {
        struct writer_stats ws;
        writer_get_stats(a->writer, &ws);
        store_up = ws.healthy;
    }
    /* spooling: webhooks are still accepted (into the inbound spool) while Redis is down, or
     * older ones are still being replayed; the writer waits for Redis too, so it is not asked */
    size_t spooled = a->spool ? spool_records(a->spool) : 0;
    int spooling = a->spool && (!redis_up || spooled > 0);
    int ok = spooling || (redis_up && store_up);
    json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "status",
                          spooling ? "spooling"
                          : ok     ? "ready"
                                   : "not ready",
                          "redis", redis_up ? "up" : "down", "store", store_up ? "up" : "down",
                          "spooled", (json_int_t)spooled);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    gw_respond(r, ok ? 200 : 503, "application/json", s, strlen(s));
    free(s);
}

static int find_route(struct gw_request *r, const char *uri)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        size_t n = strlen(routes[i].path);
        if (routes[i].prefix ? strncmp(uri, routes[i].path, n) == 0
                             : strcmp(uri, routes[i].path) == 0) {
            r->route = routes[i].route;
            if (routes[i].route == ROUTE_WEBHOOK)
                r->channel = app_channel_find(r->w->app, uri + n, strlen(uri + n));
            return 1;
        }
    }
    r->route = ROUTE_OTHER;
    return 0;
}

/* The methods lws 4.1 parses (built with LWS_WITH_HTTP_UNCOMMON_HEADERS); each has its own URI
 * token. lws refuses any other method itself (see gw_fallback_callback). */
static const struct {
    const char *name;
    enum lws_token_indexes token;
} methods[] = {
    {"GET", WSI_TOKEN_GET_URI},       {"POST", WSI_TOKEN_POST_URI},
    {"HEAD", WSI_TOKEN_HEAD_URI},     {"PUT", WSI_TOKEN_PUT_URI},
    {"DELETE", WSI_TOKEN_DELETE_URI}, {"OPTIONS", WSI_TOKEN_OPTIONS_URI},
    {"PATCH", WSI_TOKEN_PATCH_URI},
};

static const char *detect_method(struct lws *wsi)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (lws_hdr_total_length(wsi, methods[i].token) > 0)
            return methods[i].name;
    return "OTHER";
}

static int is_method_token(int token)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if ((int)methods[i].token == token)
            return 1;
    return 0;
}

/* Bytes of every header value lws stored as a known token, plus the custom headers Suara reads
 * (lws 4.1 has no way to list the other custom headers; its buffer bounds them). */
static size_t visible_header_bytes(const struct gw_request *r)
{
    size_t total = 0;
    for (int t = 0; t < WSI_TOKEN_COUNT; t++)
        if (!is_method_token(t) && t != WSI_TOKEN_HTTP_URI_ARGS && t != WSI_TOKEN_HTTP)
            total += (size_t)lws_hdr_total_length(r->wsi, (enum lws_token_indexes)t);
    for (size_t i = 0; i < sizeof(captured_headers) / sizeof(captured_headers[0]); i++) {
        if (captured_headers[i].token >= 0)
            continue;
        const char *v = sr_http_in_header(
            &(struct sr_http_in){.headers = r->headers, .n_headers = r->n_headers},
            captured_headers[i].name);
        total += v ? strlen(v) : 0;
    }
    return total;
}

#define GW_MAX_CL_FIELDS 8

/* Runs the framing checks of http_guard.c on what lws parsed. SR_E_OK: route the request;
 * otherwise r is answered with the error and will close its connection. */
static enum sr_err guard_request(struct gw_request *r, const char *uri)
{
    struct lws *wsi = r->wsi;
    char version[16] = "", cl[GW_MAX_CL_FIELDS][32];
    const char *cls[GW_MAX_CL_FIELDS];
    size_t n_cl = 0;
    if (lws_hdr_copy(wsi, version, sizeof(version), WSI_TOKEN_HTTP) < 0)
        version[0] = '\0';
    /* a repeated header is one lws token with several fragments */
    for (int i = 0; n_cl < GW_MAX_CL_FIELDS &&
                    lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, i) > 0;
         i++) {
        if (lws_hdr_copy_fragment(wsi, cl[n_cl], sizeof(cl[n_cl]), WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                  i) < 0)
            snprintf(cl[n_cl], sizeof(cl[n_cl]), "x"); /* too long to be a length */
        cls[n_cl] = cl[n_cl];
        n_cl++;
    }
    const struct config *cfg = r->w->app->cfg;
    struct http_guard_req q = {
        .method = strcmp(r->method, "OTHER") ? r->method : NULL,
        .target = uri,
        .target_len = strlen(uri) + (size_t)lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS),
        .version = version,
        .has_host = lws_hdr_total_length(wsi, WSI_TOKEN_HOST) > 0,
        .content_length = cls,
        .n_content_length = n_cl,
        .has_transfer_encoding = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0,
        .header_bytes = visible_header_bytes(r),
        .max_target = (size_t)cfg->server.max_header_bytes,
        .max_header = (size_t)cfg->server.max_header_bytes,
    };
    struct http_guard_verdict v;
    http_guard_check(&q, &v);
    if (v.err != SR_E_OK) {
        r->close_after = v.close;
        gw_respond_error(r, v.err, v.detail.msg);
    }
    return v.err;
}

static struct gw_request *request_new(struct worker *w, struct lws *wsi, const char *uri)
{
    struct gw_request *r = sr_calloc(1, sizeof(*r));
    r->w = w;
    r->wsi = wsi;
    r->refs = 1;
    r->start_ns = mono_ns();
    snprintf(r->id, sizeof(r->id), "%d-%llx", w->idx, (unsigned long long)++w->req_seq);
    snprintf(r->method, sizeof(r->method), "%s", detect_method(wsi));
    r->path = sr_strdup(uri);
    r->query = rebuild_query(wsi);
    capture_headers(r);
    trust_screen(r);
    return r;
}

/* Content-Length of the request, 0 if none. */
static unsigned long long declared_length(const struct gw_request *r, int *present)
{
    const char *cl = sr_http_in_header(
        &(struct sr_http_in){.headers = r->headers, .n_headers = r->n_headers}, "content-length");
    *present = cl != NULL;
    return cl ? strtoull(cl, NULL, 10) : 0;
}

/* /api/v1/: GET now, POST once its body (at most API_BODY_LIMIT) is in. */
static void on_api(struct gw_request *r, int is_get, int is_post)
{
    int present = 0;
    if (is_get) {
        api_request(r);
    } else if (!is_post) {
        gw_respond_error(r, SR_E_METHOD, "use GET or POST");
    } else if (r->w->draining) {
        gw_respond_error(r, SR_E_UNAVAILABLE, "shutting down");
    } else {
        r->body_limit = API_BODY_LIMIT;
        unsigned long long declared = declared_length(r, &present);
        if (declared > r->body_limit) {
            r->too_large = 1;
            gw_respond_error(r, SR_E_TOO_LARGE, "body exceeds 64 KiB");
        } else if ((present && declared == 0) ||
                   (!present &&
                    lws_hdr_total_length(r->wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) <= 0)) {
            api_request(r); /* no body at all: nothing to wait for */
        }
    }
}

/* POST /webhooks/<channel>: sized from Content-Length before any body byte is read. lws 4.1.6
 * waits for a body of its 100 MB default when a POST has no Content-Length, so a webhook
 * without one (a provider always sends it; chunked is refused by the guard) gets 411 at once
 * and the connection closes. */
static void on_webhook_post(struct gw_request *r)
{
    int present = 0;
    unsigned long long declared = declared_length(r, &present);
    r->body_limit = r->channel->conf->body_limit;
    if (!present) {
        r->close_after = 1;
        gw_respond_error(r, SR_E_LENGTH_REQUIRED, "a webhook POST needs Content-Length");
    } else if (declared > r->body_limit) {
        r->too_large = 1;
        gw_respond_error(r, SR_E_TOO_LARGE, "body exceeds the limit for this channel");
    } else if (declared == 0) {
        webhook_post(r);
    }
}

/* Route the request once its headers are in. Returns -1 to drop the connection. */
static int on_http(struct worker *w, struct pss *pss, struct lws *wsi, const char *uri)
{
    struct gw_request *r = request_new(w, wsi, uri);
    pss->req = r;
    if (guard_request(r, uri) != SR_E_OK)
        return 0;
    int known = find_route(r, uri);
    int is_get = strcmp(r->method, "GET") == 0, is_post = strcmp(r->method, "POST") == 0;
    if (!known) {
        gw_respond_error(r, SR_E_NOT_FOUND, "no such route");
    } else if (r->route == ROUTE_API) {
        on_api(r, is_get, is_post);
    } else if (r->route != ROUTE_WEBHOOK) {
        if (is_get)
            answer_probe(r);
        else
            gw_respond_error(r, SR_E_METHOD, "use GET");
    } else if (!r->channel) {
        gw_respond_error(r, SR_E_NOT_FOUND, "unknown channel");
    } else if (is_get) {
        webhook_get(r);
    } else if (!is_post) {
        gw_respond_error(r, SR_E_METHOD, "use GET or POST");
    } else if (w->draining) {
        gw_respond_error(r, SR_E_UNAVAILABLE, "shutting down");
    } else {
        on_webhook_post(r);
    }
    return 0;
}

/* lws 4.1.6 bug, roles/http/server/server.c lws_http_action(): once a request is routed, it
 * feeds "wsi->buflist" to lws_read_h1() as the request body. That loop is meant for h2 streams;
 * for an HTTP/1 request that was itself pipelined (parsed from the buflist, because it arrived
 * in the same read as the request before it) the head of the buflist is still THIS request's
 * own header bytes: they come in as the body, then, with the body complete, lws_read_h1()
 * (roles/h1/ops-h1.c) keeps calling LWS_CALLBACK_HTTP_BODY_COMPLETION and consuming 0 bytes, and
 * the while (1) never ends: a worker at 100 % CPU that no longer runs its loop (not even for
 * SIGTERM). A pipelined request with a body cannot be read correctly through lws 4.1.6, so we
 * recognise the re-fed header bytes (the body starts with this request's own method and a
 * space) and, as a backstop, any body after completion, and close the connection (returning -1
 * makes lws_read_h1() close it; with the libuv event loop the wsi is freed later, in the handle's
 * close callback, so the outer frames that close it again find it LRS_DEAD_SOCKET). Returns -1
 * to close. */
static int refed_headers(const struct gw_request *r, const void *in, size_t len)
{
    size_t m = strlen(r->method); /* the chunk is at most Content-Length bytes: maybe "PO" */
    return r->body_len == 0 && memcmp(in, r->method, len < m ? len : m) == 0 &&
           (len <= m || ((const char *)in)[m] == ' ');
}

static int on_body(struct gw_request *r, const void *in, size_t len)
{
    if (r->body_done || (len && in && refed_headers(r, in, len))) {
        SR_LOG(WARN, "http", r->id, "pipelined request with a body: closing the connection");
        return -1;
    }
    if (r->answered || r->too_large || len == 0) /* lws may pass (NULL, 0) for an empty body */
        return 0;
    if (r->body_len + len > r->body_limit) {
        r->too_large = 1;
        gw_respond_error(r, SR_E_TOO_LARGE, "body exceeds the limit for this channel");
        return 0;
    }
    if (r->body_len + len + 1 > r->body_cap) {
        r->body_cap = (r->body_len + len + 1) * 2;
        if (r->body_cap > r->body_limit + 1)
            r->body_cap = r->body_limit + 1;
        r->body = sr_realloc(r->body, r->body_cap);
    }
    memcpy(r->body + r->body_len, in, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return 0;
}

/* LWS_CALLBACK_HTTP_BODY_COMPLETION: the body is in. lws 4.1.6 calls it again, with nothing
 * read, while pipelined bytes wait behind a complete body and the answer is not written yet
 * (lws_service_flag_pending() in core-net/service.c forces a POLLIN service of a wsi with a
 * buflist; lws_read_h1() in roles/h1/ops-h1.c, still in LRS_BODY with nothing remaining, goes
 * straight to the completion): the request must run once, so repeats are ignored. Measured, it
 * is not a busy loop: a signed webhook whose commit waited 500 ms on a paused Redis with a GET
 * pipelined behind it saw 2 repeats in all and its worker used 0-1 CPU ticks (10 ms) in that
 * time (test_hostile_http, test_pending_answer_no_spin). (The endless variant inside
 * lws_http_action() is stopped in on_body.) */
#define GW_MAX_REPEATED_COMPLETIONS 100000

static int on_body_complete(struct gw_request *r)
{
    if (r->body_done) /* a backstop for the endless loop, should on_body not recognise it */
        return ++r->body_done > GW_MAX_REPEATED_COMPLETIONS ? -1 : 0;
    r->body_done = 1;
    if (r->answered)
        return 0;
    if (r->route == ROUTE_API)
        api_request(r);
    else
        webhook_post(r);
    return 0;
}

/* status line + headers + body of an answer written in one lws_write (see on_writeable) */
#define GW_ONE_WRITE_MAX 4096

/* Adds the status line and headers of r's answer at *p and terminates the header block. */
static int add_answer_headers(struct gw_request *r, unsigned char **p, unsigned char *end)
{
    struct lws *wsi = r->wsi;
    return lws_add_http_common_headers(wsi, (unsigned)r->status, r->content_type,
                                       (lws_filepos_t)r->resp_len, p, end) ||
           lws_add_http_header_by_name(wsi, (const unsigned char *)"x-request-id:",
                                       (const unsigned char *)r->id, (int)strlen(r->id), p, end) ||
           (r->extra_header[0] &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)r->extra_header[0],
                                        (const unsigned char *)r->extra_header[1],
                                        (int)strlen(r->extra_header[1]), p, end)) ||
           ((r->too_large || r->close_after) && lws_get_network_wsi(wsi) == wsi &&
            lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
                                        (const unsigned char *)"close", 5, p, end)) ||
           lws_finalize_http_header(wsi, p, end);
}

static int answer_done(struct gw_request *r)
{
    if (r->too_large || r->close_after)
        return -1; /* the rest of the body is still on the wire, or its framing is refused */
    gw_conn_answered(r->wsi); /* before lws may start on a pipelined request */
    return lws_http_transaction_completed(r->wsi) ? -1 : 0;
}

/* On HTTP/1.1 the status line, headers and body leave in ONE lws_write (one send, one writable
 * slot: a second slot costs two epoll_ctl and a loop turn per request). An h2 stream (headers
 * and data are separate frames) or a body larger than the stack buffer (/metrics) writes the
 * headers now and the body on the next writable slot. */
static int on_writeable(struct gw_request *r)
{
    if (!r->answered)
        return 0;
    struct lws *wsi = r->wsi;
    if (r->headers_sent) {
        if (lws_write(wsi, r->resp + LWS_PRE, r->resp_len, LWS_WRITE_HTTP_FINAL) !=
            (int)r->resp_len)
            return -1;
        return answer_done(r);
    }
    unsigned char buf[LWS_PRE + GW_ONE_WRITE_MAX], *start = buf + LWS_PRE, *p = start,
                                                   *end = buf + sizeof(buf) - 1;
    if (add_answer_headers(r, &p, end))
        return -1;
    r->headers_sent = 1;
    size_t hlen = (size_t)(p - start);
    if (lws_get_network_wsi(wsi) == wsi && r->resp_len <= (size_t)(end - p)) {
        if (r->resp_len)
            memcpy(p, r->resp + LWS_PRE, r->resp_len);
        if (lws_write(wsi, start, hlen + r->resp_len, LWS_WRITE_HTTP_FINAL) !=
            (int)(hlen + r->resp_len))
            return -1;
        return answer_done(r);
    }
    if (lws_write(wsi, start, hlen, LWS_WRITE_HTTP_HEADERS) != (int)hlen)
        return -1;
    if (r->resp_len) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    return answer_done(r);
}

static void on_closed(struct pss *pss)
{
    struct gw_request *r = pss->req;
    if (!r)
        return;
    pss->req = NULL;
    r->wsi = NULL;
    gw_request_release(r);
}

static int gw_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct pss *pss = user;
    struct worker *w = lws_context_user(lws_get_context(wsi));
    if (reason == LWS_CALLBACK_WSI_DESTROY) /* every connection's end: its guard slot */
        gw_conn_destroyed(wsi);
    if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE) { /* /ws/officers: token checked first */
        int rc = feed_confirm_upgrade(wsi, in);
        if (rc == 0)
            gw_conn_upgraded(wsi);
        return rc;
    }
    if (!pss) /* no protocol bound yet (e.g. headers too large): nothing of ours to clean up */
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        on_closed(pss); /* keep-alive: a previous request on this connection */
        gw_conn_request(wsi);
        return on_http(w, pss, wsi, in);
    case LWS_CALLBACK_HTTP_BODY:
        gw_conn_body(wsi, len);
        return pss->req ? on_body(pss->req, in, len) : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        gw_conn_body_done(wsi);
        return pss->req ? on_body_complete(pss->req) : 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return pss->req ? on_writeable(pss->req) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        on_closed(pss);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* Writes a complete JSON error answer on a connection lws no longer treats as HTTP, and asks
 * for the close. Returns -1 (the caller's return value). */
static int fallback_answer(struct lws *wsi, enum sr_err e, const char *detail)
{
    char name[32];
    const char *en = sr_errname(e);
    size_t i = 0;
    for (; en[i] && i < sizeof(name) - 1; i++)
        name[i] = (char)((en[i] >= 'A' && en[i] <= 'Z') ? en[i] + 32 : en[i]);
    name[i] = '\0';
    json_t *o = json_pack("{s:s, s:s}", "error", name, "detail", detail);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    char *msg = NULL;
    int n = asprintf(&msg,
                     "%*sHTTP/1.1 %d %s\r\nserver: suara\r\ncontent-type: application/json\r\n"
                     "content-length: %zu\r\nconnection: close\r\n\r\n%s",
                     (int)LWS_PRE, "", sr_http_status(e), sr_strerror(e), strlen(body), body);
    free(body);
    if (n > (int)LWS_PRE)
        lws_write(wsi, (unsigned char *)msg + LWS_PRE, (size_t)n - LWS_PRE, LWS_WRITE_RAW);
    free(msg);
    return -1;
}

/* lws 4.1.6 answers a method it does not know (TRACE, made-up tokens) with its own HTML 403
 * from inside its parser (lws_parse(), roles/http/parsers.c, "Unknown method - dropping"),
 * before any callback of ours, unless the vhost has
 * LWS_SERVER_OPTION_FALLBACK_TO_APPLY_LISTEN_ACCEPT_CONFIG: then lws_http_to_fallback()
 * (roles/http/server/server.c) rebinds the connection to the raw-skt role and this protocol and
 * hands it the bytes it read. CONNECT lands here too (lws_handshake_server() switches it to raw
 * the same way). We answer Suara's JSON error (501 for a method, 400 for anything that is not a
 * request line) and close: the connection is no longer HTTP to lws. */
static int gw_fallback_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                                void *in, size_t len)
{
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_RAW_RX: {
        enum sr_err e = in ? http_guard_request_line(in, len) : SR_E_INVALID;
        if (e == SR_E_NOT_IMPLEMENTED)
            return fallback_answer(wsi, e, "method not implemented");
        return fallback_answer(wsi, SR_E_INVALID, "not an HTTP/1.1 request");
    }
    default:
        return 0;
    }
}

const struct lws_protocols gw_protocols[] = {
    {"http", gw_callback, sizeof(struct pss), 0, 0, NULL, 0},
    {GW_FALLBACK_PROTOCOL, gw_fallback_callback, 0, 0, 0, NULL, 0},
    FEED_PROTOCOL,
    {NULL, NULL, 0, 0, 0, NULL, 0},
};
