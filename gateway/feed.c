/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The officers' live feed over WebSocket (see feed.h): token check before the upgrade, one
 * client list per worker vhost, fan-out of the Redis feed to matching clients through bounded
 * per-client queues of shared, reference-counted messages.
 */
#include "feed.h"

#include "server.h"
#include "sr_log.h"
#include "sr_mem.h"
#include "tokens.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One message, shared by every client it is queued for; LWS_PRE bytes of headroom first. */
struct feed_msg {
    int refs;
    size_t len;
    unsigned char buf[];
};

struct feed_vh;

struct feed_client {
    struct feed_vh *vh;
    struct lws *wsi;
    struct feed_client *prev, *next;
    struct tokens_info who;
    struct feed_msg *q[FEED_QUEUE_MAX]; /* ring: each entry holds one reference */
    size_t head, count;
    int doomed; /* overflowed: closing */
};

/* Per worker vhost. Freed when the protocol is destroyed and no client points at it any more
 * (lws may close the last connections after PROTOCOL_DESTROY). */
struct feed_vh {
    struct worker *w;
    struct tokens *tokens; /* opened on first use, on the worker's loop thread */
    struct feed_client *clients;
    size_t n_clients;
    int destroyed;
};

static const struct lws_protocol_vhost_options default_opt = {NULL, NULL, "default", ""};
const struct lws_protocol_vhost_options feed_vhost_options = {NULL, &default_opt,
                                                              FEED_PROTOCOL_NAME, ""};
const lws_retry_bo_t feed_retry_policy = {.secs_since_valid_ping = 30,
                                          .secs_since_valid_hangup = 70};

static struct feed_msg *msg_new(const char *data, size_t len)
{
    struct feed_msg *m = sr_malloc(sizeof(*m) + LWS_PRE + len);
    m->refs = 1;
    m->len = len;
    memcpy(m->buf + LWS_PRE, data, len);
    return m;
}

static void msg_unref(struct feed_msg *m)
{
    if (m && --m->refs == 0)
        free(m);
}

static void vh_maybe_free(struct feed_vh *vh)
{
    if (!vh->destroyed || vh->n_clients)
        return;
    tokens_close(vh->tokens);
    free(vh);
}

static struct feed_vh *vh_of(struct lws *wsi)
{
    struct lws_vhost *v = lws_get_vhost(wsi);
    const struct lws_protocols *p = lws_vhost_name_to_protocol(v, FEED_PROTOCOL_NAME);
    struct feed_vh **slot = p ? lws_protocol_vh_priv_get(v, p) : NULL;
    return slot ? *slot : NULL;
}

/* Appends m to c's queue (taking a reference), or dooms c when the queue is full. */
static void client_push(struct feed_client *c, struct feed_msg *m)
{
    if (c->doomed)
        return;
    if (c->count == FEED_QUEUE_MAX) {
        c->doomed = 1;
        SR_LOG(WARN, "feed", NULL, "feed client of token %lld too slow: disconnected", c->who.id);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
    m->refs++;
    c->q[(c->head + c->count++) % FEED_QUEUE_MAX] = m;
    lws_callback_on_writable(c->wsi);
}

static int client_wants(const struct feed_client *c, const char *unit)
{
    if (c->who.role == TOKENS_ADMIN)
        return 1;
    return unit && *c->who.unit && strcmp(unit, c->who.unit) == 0;
}

/* store_feed_cb: one published JSON, on the worker's loop. */
static void on_feed(void *ud, const char *json, size_t len)
{
    struct feed_vh *vh = ud;
    json_t *o = json_loadb(json, len, 0, NULL);
    if (!json_is_object(o)) {
        SR_LOG(WARN, "feed", NULL, "feed message is not a JSON object: dropped");
        json_decref(o);
        return;
    }
    const char *unit = json_string_value(json_object_get(o, "unit"));
    struct feed_msg *m = NULL;
    for (struct feed_client *c = vh->clients; c; c = c->next) {
        if (!client_wants(c, unit))
            continue;
        if (!m)
            m = msg_new(json, len);
        client_push(c, m);
    }
    msg_unref(m);
    json_decref(o);
}

/* The presented token: "Authorization: Bearer X", else the "token" query argument. */
static int presented_token(struct lws *wsi, char *out, int n)
{
    char auth[160];
    int len = lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION);
    if (len > 7 && strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *p = auth + 7;
        p += strspn(p, " ");
        snprintf(out, (size_t)n, "%.*s", (int)strcspn(p, " \t"), p);
        return *out ? 0 : -1;
    }
    const char *v = lws_get_urlarg_by_name(wsi, "token=", out, n); /* points into out */
    if (!v)
        return -1;
    memmove(out, v, strlen(v) + 1);
    return *out ? 0 : -1;
}

/* Checks the connection's token; SR_E_OK with *who filled. touch_ms > 0 records the use. */
static enum sr_err authenticate(struct lws *wsi, struct feed_vh *vh, int64_t touch_ms,
                                struct tokens_info *who)
{
    struct sr_errbuf eb = {{0}};
    if (!vh)
        return SR_E_UNAVAILABLE;
    if (!vh->tokens && !(vh->tokens = tokens_open(vh->w->app->cfg->store.sqlite_path, &eb))) {
        SR_LOG(ERROR, "feed", NULL, "token store: %s", eb.msg);
        return SR_E_UNAVAILABLE;
    }
    char tok[TOKENS_TEXT_MAX + 8] = "";
    if (presented_token(wsi, tok, sizeof(tok)) < 0)
        return SR_E_NOT_FOUND;
    enum sr_err e = tokens_verify(vh->tokens, tok, touch_ms, who, &eb);
    OPENSSL_cleanse(tok, sizeof(tok));
    if (e != SR_E_OK)
        SR_LOG(INFO, "feed", NULL, "feed connection refused: %s", eb.msg); /* eb never holds it */
    return e;
}

/* Answers a refused upgrade with the JSON error shape. */
static int refuse(struct lws *wsi, int status, const char *error, const char *detail)
{
    unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start,
                                      *end = buf + sizeof(buf) - 1;
    json_t *o = json_pack("{s:s, s:s}", "error", error, "detail", detail);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    size_t len = strlen(body);
    int bad = lws_add_http_common_headers(wsi, (unsigned)status, "application/json",
                                          (lws_filepos_t)len, &p, end) ||
              (status == 401 &&
               lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
                                           (const unsigned char *)"Bearer", 6, &p, end)) ||
              lws_finalize_write_http_header(wsi, start, &p, end) ||
              lws_write(wsi, (unsigned char *)body, len, LWS_WRITE_HTTP_FINAL) != (int)len;
    free(body);
    return bad ? -1 : 1;
}

int feed_confirm_upgrade(struct lws *wsi, char *upgrade)
{
    /* h2c is refused by ignoring it (RFC 9110 7.8 lets a server ignore Upgrade): lws 4.1.6
     * answers 101 and moves the connection to its h2 role, where our answers were never sent
     * (0 bytes of /api/v1/openapi.json, a truncated /metrics, a POST dropped). lws has no option
     * to turn the upgrade off; lws_handshake_server() (roles/http/server/server.c) compares the
     * Upgrade value again AFTER this callback returns 0, and a value that is neither "websocket"
     * nor "h2c" carries on as plain HTTP/1.1. `upgrade` points into the connection's header
     * table (lws_hdr_simple_ptr), so emptying it there is all it takes. */
    if (upgrade && strcasecmp(upgrade, "h2c") == 0) {
        upgrade[0] = '\0';
        return 0;
    }
    if (!upgrade || strcasecmp(upgrade, "websocket") != 0)
        return 0;
    char uri[128];
    if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, FEED_PATH))
        return refuse(wsi, 404, "not_found", "no websocket at this path");
    struct tokens_info who;
    switch (authenticate(wsi, vh_of(wsi), 0, &who)) {
    case SR_E_OK:
        return 0;
    case SR_E_UNAVAILABLE:
    case SR_E_IO:
        return refuse(wsi, 503, "unavailable", "token store unavailable");
    default:
        return refuse(wsi, 401, "unauthorized", "missing, unknown or revoked token");
    }
}

static void client_hello(struct feed_client *c)
{
    const struct tokens_info *w = &c->who;
    json_t *o =
        json_pack("{s:s, s:s, s:o, s:o}", "type", "hello", "role", tokens_role_name(w->role),
                  "unit", *w->unit ? json_string(w->unit) : json_null(), "officer",
                  *w->officer ? json_string(w->officer) : json_null());
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    struct feed_msg *m = msg_new(s, strlen(s));
    client_push(c, m);
    msg_unref(m);
    free(s);
}

/* LWS_CALLBACK_ESTABLISHED: the headers are still there; check the token again (it may have
 * been revoked since the upgrade was confirmed) and join the vhost's client list. */
static int on_established(struct lws *wsi, struct feed_client **pss)
{
    struct feed_vh *vh = vh_of(wsi);
    struct tokens_info who;
    if (authenticate(wsi, vh, 0, &who) != SR_E_OK) /* a read: WAL readers never wait */
        return -1;
    api_token_touch(vh->w, who.id, app_now_ms()); /* the write goes to the thread pool */
    struct feed_client *c = sr_calloc(1, sizeof(*c));
    c->vh = vh;
    c->wsi = wsi;
    c->who = who;
    c->next = vh->clients;
    if (vh->clients)
        vh->clients->prev = c;
    vh->clients = c;
    vh->n_clients++;
    *pss = c;
    SR_LOG(INFO, "feed", NULL, "feed client connected: token %lld (%s %s), worker %d", who.id,
           tokens_role_name(who.role), *who.unit ? who.unit : "*", vh->w->idx);
    client_hello(c);
    return 0;
}

static void on_client_closed(struct feed_client **pss)
{
    struct feed_client *c = *pss;
    if (!c)
        return;
    *pss = NULL;
    struct feed_vh *vh = c->vh;
    if (c->prev)
        c->prev->next = c->next;
    else
        vh->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    vh->n_clients--;
    while (c->count) {
        msg_unref(c->q[c->head]);
        c->head = (c->head + 1) % FEED_QUEUE_MAX;
        c->count--;
    }
    free(c);
    vh_maybe_free(vh);
}

/* Writes the oldest queued message; asks for another slot while more wait. */
static int on_writeable(struct feed_client *c)
{
    if (!c || c->doomed)
        return c ? -1 : 0;
    if (!c->count)
        return 0;
    struct feed_msg *m = c->q[c->head];
    c->head = (c->head + 1) % FEED_QUEUE_MAX;
    c->count--;
    int n = lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    msg_unref(m); /* lws buffered whatever the socket did not take */
    if (n < 0)
        return -1;
    if (c->count)
        lws_callback_on_writable(c->wsi);
    return 0;
}

static int on_protocol_init(struct lws *wsi)
{
    struct lws_vhost *v = lws_get_vhost(wsi);
    struct feed_vh **slot = lws_protocol_vh_priv_zalloc(v, lws_get_protocol(wsi), sizeof(*slot));
    struct worker *w = lws_context_user(lws_get_context(wsi));
    if (!slot || !w)
        return -1;
    struct feed_vh *vh = sr_calloc(1, sizeof(*vh));
    vh->w = w;
    *slot = vh;
    if (w->store)
        store_feed_subscribe(w->store, on_feed, vh);
    return 0;
}

static void on_protocol_destroy(struct lws *wsi)
{
    struct lws_vhost *v = lws_get_vhost(wsi);
    struct feed_vh **slot = lws_protocol_vh_priv_get(v, lws_get_protocol(wsi));
    struct feed_vh *vh = slot ? *slot : NULL;
    if (!vh)
        return;
    *slot = NULL;
    if (vh->w->store) /* on shutdown the store is closed first, taking the subscription along */
        store_feed_subscribe(vh->w->store, NULL, NULL);
    for (struct feed_client *c = vh->clients; c; c = c->next)
        c->doomed = 1;
    vh->destroyed = 1;
    vh_maybe_free(vh);
}

int feed_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct feed_client **pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: /* a fresh connection is bound to us (the default) */
        return feed_confirm_upgrade(wsi, in);
    case LWS_CALLBACK_PROTOCOL_INIT:
        return on_protocol_init(wsi);
    case LWS_CALLBACK_PROTOCOL_DESTROY:
        on_protocol_destroy(wsi);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        return pss ? on_established(wsi, pss) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return pss ? on_writeable(*pss) : 0;
    case LWS_CALLBACK_RECEIVE:
        return 0; /* the feed is one-way; frames are bounded by rx_buffer_size and dropped */
    case LWS_CALLBACK_CLOSED:
        if (pss)
            on_client_closed(pss);
        return 0;
    default: /* HTTP reasons before the request binds the "http" protocol */
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
