/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The officers' live feed: the WebSocket protocol "suara-feed" on GET /ws/officers of every
 * worker's libwebsockets vhost. A client authenticates with `Authorization: Bearer <token>` or
 * `?token=` (browsers); no, bad or revoked token: 401 before the upgrade. On connect it gets
 * {"type":"hello","role":...,"unit":...,"officer":...}; then every JSON published on <prefix>feed
 * whose "unit" is its unit (officer, supervisor) or any unit (admin). Each worker subscribes to
 * the feed through its own store (store_feed_subscribe), so every worker's clients see every
 * event. Each client has a bounded queue; a client that falls QUEUE_MAX messages behind is
 * disconnected, the loop never waits for it. Pings and idle hang-up come from lws'
 * retry_and_idle_policy (feed_retry_policy).
 *
 * Hooks (gateway internals): FEED_PROTOCOL in the vhost's protocol table; feed_confirm_upgrade
 * from the HTTP protocol's LWS_CALLBACK_HTTP_CONFIRM_UPGRADE; feed_vhost_options and
 * feed_retry_policy in the context creation info. The per-vhost state is made on
 * LWS_CALLBACK_PROTOCOL_INIT (the worker's store must exist by then) and released on
 * LWS_CALLBACK_PROTOCOL_DESTROY.
 */
#ifndef FEED_H
#define FEED_H

#include <libwebsockets.h>

#define FEED_PROTOCOL_NAME "suara-feed"
#define FEED_PATH "/ws/officers"
#define FEED_QUEUE_MAX 256 /* messages waiting for one client before it is disconnected */

int feed_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* The protocol table entry; per-session data is one pointer, received frames at most 4 KiB. */
#define FEED_PROTOCOL                                                                              \
    {                                                                                              \
        FEED_PROTOCOL_NAME, feed_callback, sizeof(void *), 4096, 0, NULL, 0                        \
    }

/* For LWS_CALLBACK_HTTP_CONFIRM_UPGRADE of the HTTP protocol: 0 lets a websocket upgrade of
 * FEED_PATH with a valid token proceed; otherwise answers 404, 401 or 503 itself and returns 1.
 * An h2c upgrade is ignored (upgrade, lws's own header value, is emptied): the request is
 * served over HTTP/1.1. */
int feed_confirm_upgrade(struct lws *wsi, char *upgrade);

/* Per-vhost options making "suara-feed" the default WebSocket protocol (clients that send no
 * Sec-WebSocket-Protocol). */
extern const struct lws_protocol_vhost_options feed_vhost_options;
/* PING after 30 s without traffic, hang up after 70 s. */
extern const lws_retry_bo_t feed_retry_policy;

#endif
