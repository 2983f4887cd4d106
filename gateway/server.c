/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP face of a worker, on libwebsockets: routing by a table, header capture, body limits,
 * the JSON error shape, and writing answers that may be set long after the request arrived
 * (a webhook is answered only once its commit is durable). Probes (/healthz, /readyz, /metrics)
 * are answered at once.
 */
#include "server.h"

#include "feed.h"
#include "sr_log.h"
#include "sr_mem.h"

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
    json_t *o = json_pack("{s:s, s:s, s:s}", "status", redis_up && store_up ? "ready" : "not ready",
                          "redis", redis_up ? "up" : "down", "store", store_up ? "up" : "down");
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    gw_respond(r, redis_up && store_up ? 200 : 503, "application/json", s, strlen(s));
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

static const char *detect_method(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
        return "GET";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
        return "POST";
    return "OTHER";
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

/* Route the request once its headers are in. Returns -1 to drop the connection. */
static int on_http(struct worker *w, struct pss *pss, struct lws *wsi, const char *uri)
{
    struct gw_request *r = request_new(w, wsi, uri);
    pss->req = r;
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
        r->body_limit = r->channel->conf->body_limit;
        const char *cl = sr_http_in_header(
            &(struct sr_http_in){.headers = r->headers, .n_headers = r->n_headers},
            "content-length");
        unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
        if (declared > r->body_limit) {
            r->too_large = 1;
            gw_respond_error(r, SR_E_TOO_LARGE, "body exceeds the limit for this channel");
        } else if (cl && declared == 0) {
            webhook_post(r);
        }
    }
    return 0;
}

static void on_body(struct gw_request *r, const void *in, size_t len)
{
    if (r->answered || r->too_large || len == 0) /* lws may pass (NULL, 0) for an empty body */
        return;
    if (r->body_len + len > r->body_limit) {
        r->too_large = 1;
        gw_respond_error(r, SR_E_TOO_LARGE, "body exceeds the limit for this channel");
        return;
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
           lws_finalize_http_header(wsi, p, end);
}

static int answer_done(struct gw_request *r)
{
    if (r->too_large)
        return -1;            /* the rest of the body is still on the wire: close */
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
        if (pss->req)
            on_body(pss->req, in, len);
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        gw_conn_body_done(wsi);
        if (pss->req && !pss->req->answered && pss->req->route == ROUTE_API)
            api_request(pss->req);
        else if (pss->req && !pss->req->answered)
            webhook_post(pss->req);
        return 0;
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

const struct lws_protocols gw_protocols[] = {
    {"http", gw_callback, sizeof(struct pss), 0, 0, NULL, 0},
    FEED_PROTOCOL,
    {NULL, NULL, 0, 0, 0, NULL, 0},
};
