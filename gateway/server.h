/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Gateway internals shared by worker.c (thread, loop, lifecycle), server.c (libwebsockets HTTP:
 * routing, limits, answering), turn.h (the core path) and its callers. Not a public API.
 */
#ifndef SERVER_H
#define SERVER_H

#include "app.h"
#include "sender.h"
#include "store.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <uv.h>

struct worker {
    struct app *app;
    int idx;
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t stop_async;
    uv_timer_t tick;       /* 1 s: idle-expiry sweep, backlog gauges (worker 0), drain progress */
    uv_poll_t listen_poll; /* this worker's own SO_REUSEPORT listening socket */
    int listen_fd;
    int accept_paused;            /* out of file descriptors: polled again on the next scan */
    uv_timer_t conn_timer;        /* scans conns for deadlines (CONN_SCAN_MS) */
    struct connguard_conn *conns; /* this worker's admitted connections (connguard.h) */

    unsigned long refused_unlogged[2]; /* refusals (per address, total) since the last log line */
    uint64_t refused_logged_ms;        /* when that line was written */
    int deferred_accept;               /* the listening socket has TCP_DEFER_ACCEPT */

    struct lws_context *lws;
    struct lws_vhost *vhost;
    struct store *store;
    struct sender *sender;
    char consumer[96];
    int draining;
    int closing;
    int sweeping;
    int sla_sweeping;
    int scrub_sweeping;       /* worker 0: a retention claim is in flight (privacy.c) */
    int aof_checking;         /* worker 0: an AOF schedule check is in flight */
    int replaying;            /* this worker holds the spool's replay role (webhook.c) */
    int64_t unsafe_warned_ms; /* worker 0: last "Redis is not durable" warning */
    size_t in_flight;         /* requests whose pipeline has not finished */
    uint64_t req_seq;
    uint64_t drain_deadline_ms;
    /* start-up handshake with the main thread */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int start_state; /* 0 starting, 1 running, -1 failed */
    struct sr_errbuf start_err;
};

#define GW_MAX_HEADERS 16

/* One HTTP request. Owned by the connection until the pipeline takes a reference; when the client
 * goes away first, wsi becomes NULL and whoever finishes last frees it (gw_request_release). */
struct gw_request {
    struct worker *w;
    struct lws *wsi;
    char id[24];
    char method[8];
    /* the trust boundary, set once by trust_screen (trust.h) */
    char peer[48];       /* the TCP peer */
    char client[48];     /* the client: the peer, or behind a trusted proxy X-Forwarded-For's */
    char client_key[56]; /* the client as the throttle counts it (IPv6: its /64) */
    int via_proxy;       /* the peer is a trusted proxy: X-Forwarded-* were kept */
    char *path;
    char *query;
    const struct app_channel *channel;
    struct sr_header headers[GW_MAX_HEADERS];
    size_t n_headers;
    char *header_store[GW_MAX_HEADERS];
    unsigned char *body;
    size_t body_len, body_cap, body_limit;
    int route; /* enum in server.c */
    int too_large;
    int close_after; /* the framing is refused: answer, then close the connection */
    int body_done;   /* how many LWS_CALLBACK_HTTP_BODY_COMPLETION (see on_body_complete) */
    int refs;
    uint64_t start_ns;
    /* the answer */
    int status;
    char *content_type;
    unsigned char *resp; /* LWS_PRE bytes of headroom, then the body */
    size_t resp_len;
    int answered; /* the answer is set */
    int headers_sent;
    char *extra_header[2]; /* one more response header: name ("retry-after:"), value; owned */
};

/* Sets the answer (takes body, which may be NULL) and asks lws for a write slot. */
void gw_respond(struct gw_request *r, int status, const char *content_type, const char *body,
                size_t len);
/* Answers {"error": "<errname lower>", "detail": "..."} with the error's HTTP status. */
void gw_respond_error(struct gw_request *r, enum sr_err e, const char *detail);
/* Adds one header (name with its colon, e.g. "www-authenticate:") to the answer set next. */
void gw_respond_header(struct gw_request *r, const char *name, const char *value);
/* Reference counting across the async pipeline. */
void gw_request_hold(struct gw_request *r);
void gw_request_release(struct gw_request *r);

/* The protocol a connection falls back to when lws gives up on it as HTTP (unknown method). */
#define GW_FALLBACK_PROTOCOL "suara-fallback"

/* worker.c: the connection guard's event-loop side. A connection's phase follows its requests
 * (the callbacks of server.c call these); wsi may be an h2 stream, whose network connection then
 * leaves our deadlines to lws. */
void gw_conn_request(struct lws *wsi);        /* a request head is complete */
void gw_conn_body(struct lws *wsi, size_t n); /* n body bytes arrived */
void gw_conn_body_done(struct lws *wsi);      /* the request body is complete */
void gw_conn_answered(struct lws *wsi);       /* the answer is out: keep-alive idle starts */
void gw_conn_upgraded(struct lws *wsi);       /* now a WebSocket: no deadlines of ours */
void gw_conn_destroyed(struct lws *wsi);      /* LWS_CALLBACK_WSI_DESTROY: gives back the slot */

/* The libwebsockets protocol table for a worker's context. */
extern const struct lws_protocols gw_protocols[];

/* api.c: everything under /api/v1/ (GET when the headers are in, POST when the body is) */
void api_request(struct gw_request *r);
/* Records a token's use (last_used_at) on the thread pool: a write must not wait on the loop. */
void api_token_touch(struct worker *w, long long id, int64_t ms);

/* webhook.c: the provider side of the core path (the turn itself is turn.h) */
void webhook_get(struct gw_request *r);
void webhook_post(struct gw_request *r); /* body complete */
/* sweep.c: idle expiry and SLA deadlines, from the tick */
void sweep_expired(struct worker *w);
void sweep_sla(struct worker *w);
/* Replays the inbound spool (spool.h) in order through the pipeline when Redis is up and no
 * other worker is replaying it; called from the tick. */
void webhook_replay_spool(struct worker *w);
/* Publishes the spool's size to the metrics. */
void webhook_spool_gauges(struct app *a);
/* Worker 0's privacy duties each tick (privacy.c): removes the raw number from complaints whose
 * retention after resolution ended, and asks Redis for BGREWRITEAOF when the schedule is due. */
void privacy_sweep(struct worker *w);
/* officer_api.c: an officer's complaint command over the HTTP API, run through the same dialog step
 * and atomic commit as the chat command: text is what the officer would have typed ("TERIMA
 * K7M2QX", "BALAS K7M2QX <text>", "SELESAI K7M2QX <note>", "DAFTAR"); officer_code is the token's
 * officer (already verified by the caller). idem_key (the Idempotency-Key header, may be NULL)
 * makes a retried call change nothing twice. Answers r itself: 200 {"reply": "<what the officer is
 * told>", "ticket": ...}, 404 unknown officer, 503 without Redis. Borrowed: everything. */
void webhook_officer_api(struct gw_request *r, const char *officer_code, const char *text,
                         const char *idem_key);

#endif
