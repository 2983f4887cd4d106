/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl multi driven by libuv, the classic way: curl tells us through CURLMOPT_SOCKETFUNCTION
 * which sockets to watch (one uv_poll_t each, allocated there and freed in its close callback)
 * and through CURLMOPT_TIMERFUNCTION when to wake it (one uv_timer_t); the loop calls
 * curl_multi_socket_action and finished transfers are collected with curl_multi_info_read.
 *
 * Ownership: the client owns the multi handle, every transfer (easy handle, header list, the
 * one copy of the request body, the bounded response buffer), a few idle reset easy handles
 * reused by later transfers, and every libuv handle. It frees itself only when the last libuv
 * handle has been closed.
 */
#include "http_client.h"

#include "sr_mem.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define HC_DEFAULT_MAX_HOST 4
#define HC_DEFAULT_MAX_RESPONSE 65536
#define HC_DEFAULT_UA "suara/0.1"
#define HC_IDLE_EASY 16 /* finished easy handles kept (reset) for the next transfers */
#define HC_IDLE_SOCK 16 /* stopped socket polls kept for the next transfer on the same fd */

struct hc_socket {
    uv_poll_t poll; /* first: the close callback gets it back as the struct */
    curl_socket_t fd;
    int events; /* what the poll watches, 0 while stopped */
    struct http_client *c;
    struct hc_socket *prev, *next;
};

struct hc_transfer {
    struct http_client *c;
    CURL *easy;
    struct curl_slist *headers;
    char *body; /* the single copy of the request body */
    char *resp; /* response body, NUL-terminated, bounded */
    size_t resp_len, resp_cap;
    int truncated;
    http_client_cb *cb;
    void *ud;
    struct hc_transfer *prev, *next;
};

struct http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    struct hc_transfer *transfers;
    size_t n_transfers;
    struct hc_socket *sockets;
    struct hc_socket *idle_sockets; /* stopped polls; curl reuses its connections (same fds) */
    size_t n_idle_sockets;
    CURL *idle[HC_IDLE_EASY]; /* reset easy handles: curl_easy_init per send costs ~10 % */
    size_t n_idle;
    size_t max_response;
    char *user_agent;
    int closing;
    int open_handles; /* libuv handles not yet closed */
    void (*closed)(void *ud);
    void *closed_ud;
};

void http_client_conf_defaults(struct http_client_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->max_host_connections = HC_DEFAULT_MAX_HOST;
    c->max_response_bytes = HC_DEFAULT_MAX_RESPONSE;
    c->user_agent = HC_DEFAULT_UA;
}

/* ---- doubly linked lists (transfers, sockets) ---- */

#define HC_LINK(head, item)                                                                        \
    do {                                                                                           \
        (item)->prev = NULL;                                                                       \
        (item)->next = (head);                                                                     \
        if (head)                                                                                  \
            (head)->prev = (item);                                                                 \
        (head) = (item);                                                                           \
    } while (0)

#define HC_UNLINK(head, item)                                                                      \
    do {                                                                                           \
        if ((item)->prev)                                                                          \
            (item)->prev->next = (item)->next;                                                     \
        else                                                                                       \
            (head) = (item)->next;                                                                 \
        if ((item)->next)                                                                          \
            (item)->next->prev = (item)->prev;                                                     \
        (item)->prev = (item)->next = NULL;                                                        \
    } while (0)

/* ---- freeing, once every libuv handle is closed ---- */

static void hc_maybe_free(struct http_client *c)
{
    if (!c->closing || c->open_handles > 0)
        return;
    void (*closed)(void *) = c->closed;
    void *ud = c->closed_ud;
    free(c->user_agent);
    free(c);
    curl_global_cleanup();
    if (closed)
        closed(ud);
}

static void hc_on_handle_closed(uv_handle_t *h)
{
    struct http_client *c = h->data;
    if (h->type == UV_POLL)
        free(h); /* the hc_socket, poll is its first member */
    c->open_handles--;
    hc_maybe_free(c);
}

/* ---- transfers ---- */

/* Keeps a finished easy handle for reuse (reset: no option of this transfer survives), or frees
 * it once the pool is full or the client is closing. */
static void hc_easy_put(struct http_client *c, CURL *easy)
{
    if (!easy)
        return;
    if (c->closing || c->n_idle == HC_IDLE_EASY) {
        curl_easy_cleanup(easy);
        return;
    }
    curl_easy_reset(easy);
    c->idle[c->n_idle++] = easy;
}

static CURL *hc_easy_get(struct http_client *c)
{
    return c->n_idle ? c->idle[--c->n_idle] : curl_easy_init();
}

static void hc_transfer_free(struct hc_transfer *t)
{
    if (!t)
        return;
    hc_easy_put(t->c, t->easy);
    curl_slist_free_all(t->headers);
    free(t->body);
    free(t->resp);
    free(t);
}

/* Unlinks t, reports its result once, frees it. The easy handle is already out of the multi. */
static void hc_complete(struct hc_transfer *t, int code)
{
    struct http_client *c = t->c;
    struct http_client_response r = {0};
    long status = 0, connects = 0;
    curl_off_t retry_after = 0;

    HC_UNLINK(c->transfers, t);
    c->n_transfers--;
    if (code != HTTP_CLIENT_E_CANCELLED) {
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects);
        curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry_after);
    }
    r.curl_code = code;
    r.error = curl_easy_strerror((CURLcode)code);
    r.status = status;
    r.body = t->resp ? t->resp : "";
    r.body_len = t->resp_len;
    r.truncated = t->truncated;
    r.retry_after_s = retry_after > 0 ? (long)retry_after : 0;
    r.num_connects = connects;
    t->cb(t->ud, &r);
    hc_transfer_free(t);
}

static void hc_check_done(struct http_client *c)
{
    CURLMsg *msg;
    int left;
    while (!c->closing && (msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct hc_transfer *t = NULL;
        CURL *easy = msg->easy_handle;
        int code = (int)msg->data.result; /* msg is invalid after remove_handle */
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(c->multi, easy);
        hc_complete(t, code);
    }
}

/* ---- curl <-> libuv glue ---- */

static void hc_on_poll(uv_poll_t *p, int status, int events)
{
    struct hc_socket *s = (struct hc_socket *)p;
    struct http_client *c = s->c;
    int flags = 0, running = 0;

    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(c->multi, s->fd, flags, &running);
    hc_check_done(c);
}

static void hc_on_timer(uv_timer_t *t)
{
    struct http_client *c = t->data;
    int running = 0;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    hc_check_done(c);
}

static int hc_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct http_client *c = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, hc_on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static void hc_socket_close(struct http_client *c, struct hc_socket *s)
{
    HC_UNLINK(c->sockets, s);
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, hc_on_handle_closed);
}

/* curl is done with fd for now (the connection goes back to its cache, or is closed right
 * after): stop polling but keep the handle, so the next transfer on this connection costs one
 * uv_poll_start instead of uv_poll_init's probe (epoll ADD + DEL + ioctl) and a close. A stopped
 * poll is not in epoll, so a closed fd, or its number reused by another socket, is harmless. */
static void hc_socket_park(struct http_client *c, struct hc_socket *s)
{
    HC_UNLINK(c->sockets, s);
    uv_poll_stop(&s->poll);
    s->events = 0;
    if (c->closing || c->n_idle_sockets == HC_IDLE_SOCK) {
        uv_close((uv_handle_t *)&s->poll, hc_on_handle_closed);
        return;
    }
    HC_LINK(c->idle_sockets, s);
    c->n_idle_sockets++;
}

static struct hc_socket *hc_socket_unpark(struct http_client *c, curl_socket_t fd)
{
    struct hc_socket *s = c->idle_sockets;
    while (s && s->fd != fd)
        s = s->next;
    if (!s)
        return NULL;
    HC_UNLINK(c->idle_sockets, s);
    c->n_idle_sockets--;
    HC_LINK(c->sockets, s);
    curl_multi_assign(c->multi, fd, s);
    return s;
}

static struct hc_socket *hc_socket_new(struct http_client *c, curl_socket_t fd)
{
    struct hc_socket *s = hc_socket_unpark(c, fd);
    if (s)
        return s;
    s = sr_calloc(1, sizeof(*s));
    if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
        free(s);
        return NULL;
    }
    s->fd = fd;
    s->c = c;
    s->poll.data = c;
    c->open_handles++;
    HC_LINK(c->sockets, s);
    curl_multi_assign(c->multi, fd, s);
    return s;
}

static int hc_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    struct http_client *c = userp;
    struct hc_socket *s = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (s) {
            hc_socket_park(c, s);
            if (!c->closing)
                curl_multi_assign(c->multi, fd, NULL);
        }
        return 0;
    }
    if (!s && !(s = hc_socket_new(c, fd)))
        return -1;
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    if (events == s->events)
        return 0; /* each uv_poll_start is an epoll DEL + ADD in libuv 1.44 */
    s->events = events;
    return uv_poll_start(&s->poll, events, hc_on_poll) == 0 ? 0 : -1;
}

/* ---- creation ---- */

struct http_client *http_client_new(uv_loop_t *loop, const struct http_client_conf *conf,
                                    struct sr_errbuf *eb)
{
    struct http_client_conf d;
    if (!conf) {
        http_client_conf_defaults(&d);
        conf = &d;
    }
    if (!loop) {
        sr_errf(eb, SR_E_INVALID, "http client: no loop");
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        sr_errf(eb, SR_E_INTERNAL, "http client: curl_global_init failed");
        return NULL;
    }
    struct http_client *c = sr_calloc(1, sizeof(*c));
    c->loop = loop;
    c->max_response = conf->max_response_bytes ? conf->max_response_bytes : HC_DEFAULT_MAX_RESPONSE;
    c->user_agent = sr_strdup(conf->user_agent ? conf->user_agent : HC_DEFAULT_UA);
    c->multi = curl_multi_init();
    if (!c->multi) {
        free(c->user_agent);
        free(c);
        curl_global_cleanup();
        sr_errf(eb, SR_E_INTERNAL, "http client: curl_multi_init failed");
        return NULL;
    }
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->open_handles = 1;
    long max_host =
        conf->max_host_connections > 0 ? conf->max_host_connections : HC_DEFAULT_MAX_HOST;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, hc_socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, hc_timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_host);
    return c;
}

/* ---- submitting ---- */

static size_t hc_on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    struct hc_transfer *t = userp;
    size_t n = size * nmemb;
    size_t room = t->c->max_response - t->resp_len;
    size_t take = n < room ? n : room;

    if (take < n)
        t->truncated = 1;
    if (take == 0)
        return n; /* keep reading, drop the excess */
    if (t->resp_len + take + 1 > t->resp_cap) {
        size_t cap = t->resp_cap ? t->resp_cap : 1024;
        while (cap < t->resp_len + take + 1)
            cap *= 2;
        t->resp = sr_realloc(t->resp, cap);
        t->resp_cap = cap;
    }
    memcpy(t->resp + t->resp_len, data, take);
    t->resp_len += take;
    t->resp[t->resp_len] = '\0';
    return n;
}

/* A header line must not smuggle a second one in. */
static int hc_header_ok(const char *h)
{
    return h && !strpbrk(h, "\r\n");
}

static enum sr_err hc_build_headers(struct hc_transfer *t, const struct http_client_request *req,
                                    struct sr_errbuf *eb)
{
    t->headers = curl_slist_append(NULL, "Expect:"); /* no 100-continue round trip */
    if (req->content_type) {
        if (!hc_header_ok(req->content_type))
            return sr_errf(eb, SR_E_INVALID, "http client: bad content type");
        char *line = sr_asprintf("Content-Type: %s", req->content_type);
        t->headers = curl_slist_append(t->headers, line);
        free(line);
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        if (!hc_header_ok(req->headers[i]) || !strchr(req->headers[i], ':'))
            return sr_errf(eb, SR_E_INVALID, "http client: bad header #%zu", i);
        t->headers = curl_slist_append(t->headers, req->headers[i]);
    }
    if (!t->headers)
        return sr_errf(eb, SR_E_NOMEM, "http client: header list");
    return SR_E_OK;
}

static const char *const hc_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

static enum sr_err hc_set_method(struct hc_transfer *t, const struct http_client_request *req,
                                 struct sr_errbuf *eb)
{
    const char *m = req->method ? req->method : "GET";
    size_t i = 0;
    while (i < sizeof(hc_methods) / sizeof(hc_methods[0]) && strcmp(hc_methods[i], m) != 0)
        i++;
    if (i == sizeof(hc_methods) / sizeof(hc_methods[0]))
        return sr_errf(eb, SR_E_INVALID, "http client: method not allowed");
    if (strcmp(m, "GET") == 0 && !req->body) {
        curl_easy_setopt(t->easy, CURLOPT_HTTPGET, 1L);
        return SR_E_OK;
    }
    t->body = sr_malloc(req->body_len + 1);
    if (req->body_len)
        memcpy(t->body, req->body, req->body_len);
    t->body[req->body_len] = '\0';
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
    if (strcmp(m, "POST") != 0)
        curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, m);
    return SR_E_OK;
}

static void hc_set_auth(struct hc_transfer *t, const struct http_client_request *req)
{
    if (req->bearer) {
        curl_easy_setopt(t->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(t->easy, CURLOPT_XOAUTH2_BEARER, req->bearer);
    } else if (req->basic_user) {
        curl_easy_setopt(t->easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(t->easy, CURLOPT_USERNAME, req->basic_user);
        curl_easy_setopt(t->easy, CURLOPT_PASSWORD, req->basic_pass ? req->basic_pass : "");
    }
}

static void hc_set_common(struct hc_transfer *t, const struct http_client_request *req)
{
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, t->c->user_agent);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hc_on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (req->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    if (req->connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
}

enum sr_err http_client_submit(struct http_client *c, const struct http_client_request *req,
                               http_client_cb *cb, void *ud, struct sr_errbuf *eb)
{
    if (!c || c->closing)
        return sr_errf(eb, SR_E_UNAVAILABLE, "http client: closing");
    if (!req || !req->url || !cb)
        return sr_errf(eb, SR_E_INVALID, "http client: no url or callback");
    struct hc_transfer *t = sr_calloc(1, sizeof(*t));
    t->c = c;
    t->cb = cb;
    t->ud = ud;
    t->easy = hc_easy_get(c);
    if (!t->easy) {
        hc_transfer_free(t);
        return sr_errf(eb, SR_E_NOMEM, "http client: curl_easy_init failed");
    }
    enum sr_err err = hc_build_headers(t, req, eb);
    if (err == SR_E_OK)
        err = hc_set_method(t, req, eb);
    if (err != SR_E_OK) {
        hc_transfer_free(t);
        return err;
    }
    hc_set_common(t, req);
    hc_set_auth(t, req);
    if (curl_multi_add_handle(c->multi, t->easy) != CURLM_OK) {
        hc_transfer_free(t);
        return sr_errf(eb, SR_E_INTERNAL, "http client: curl_multi_add_handle failed");
    }
    HC_LINK(c->transfers, t);
    c->n_transfers++;
    return SR_E_OK;
}

size_t http_client_in_flight(const struct http_client *c)
{
    return c ? c->n_transfers : 0;
}

/* ---- closing ---- */

void http_client_close(struct http_client *c, void (*closed)(void *ud), void *ud)
{
    if (!c) {
        if (closed)
            closed(ud);
        return;
    }
    if (c->closing)
        return;
    c->closing = 1;
    c->closed = closed;
    c->closed_ud = ud;
    while (c->transfers) {
        struct hc_transfer *t = c->transfers;
        curl_multi_remove_handle(c->multi, t->easy);
        hc_complete(t, HTTP_CLIENT_E_CANCELLED);
    }
    while (c->n_idle)
        curl_easy_cleanup(c->idle[--c->n_idle]);
    curl_multi_cleanup(c->multi); /* may still report sockets to remove */
    c->multi = NULL;
    while (c->sockets)
        hc_socket_close(c, c->sockets);
    while (c->idle_sockets) {
        struct hc_socket *s = c->idle_sockets;
        HC_UNLINK(c->idle_sockets, s);
        uv_close((uv_handle_t *)&s->poll, hc_on_handle_closed);
    }
    c->n_idle_sockets = 0;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, hc_on_handle_closed);
}
