/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to the Redis store (store.c, store_ops.c, store_lua.c); not part of the public API.
 * store.c owns the connections, the request queue, the command timeout and the reconnect
 * backoff; store_ops.c builds each public operation on top of one request type (struct
 * store_req) and parses its replies; store_lua.c holds the Lua sources.
 *
 * A request owns its argument copies. It lives from store_req_new() until its op calls
 * store_req_finish() (after calling the user's callback exactly once). While sent, it is linked
 * in its connection's pending list so the timeout check can see how old it is.
 */
#ifndef STORE_INT_H
#define STORE_INT_H

#include "store.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

enum store_script {
    STORE_LUA_LOAD,
    STORE_LUA_COMMIT,
    STORE_LUA_CLAIM,
    STORE_LUA_DONE,
    STORE_LUA_BACKLOG,
    STORE_LUA_COMPLAINT,
    STORE_LUA_CLAIM_SLA,
    STORE_LUA_CLAIM_SCRUB,
    STORE_LUA_FORGET,
    STORE_LUA_LEASE,
    STORE_LUA_DEAD_RETRY,
    STORE_LUA__COUNT
};
extern const char *const store_lua_src[STORE_LUA__COUNT];

/* SUB is the live feed's SUBSCRIBE connection: connected only while a feed callback is set. */
enum store_conn_id { STORE_CONN_CMD, STORE_CONN_BLOCK, STORE_CONN_SUB, STORE_CONN__COUNT };

struct store_req;
/* What a request type does with a reply and with a failure. reply gets a non-NULL reply (maybe
 * an error reply); fail is called with the error to hand to the user. Both must end in either
 * store_req_send (next step) or store_req_finish. */
struct store_req_ops {
    const char *name;
    void (*reply)(struct store_req *q, const redisReply *r);
    void (*fail)(struct store_req *q, enum sr_err err);
};

union store_user_cb {
    store_load_cb *load;
    store_commit_cb *commit;
    store_expired_cb *expired;
    store_outbox_cb *outbox;
    store_done_cb *done;
    store_backlog_cb *backlog;
    store_complaint_cb *complaint;
    store_sla_cb *sla;
    store_scrub_cb *scrub;
    store_aof_cb *aof;
    store_lease_cb *lease;
    store_dead_cb *dead;
    store_dead_retry_cb *dead_retry;
};

struct store_req {
    struct store_req *prev, *next; /* pending list of its connection, or the fail queue */
    struct store *s;
    const struct store_req_ops *ops;
    enum store_conn_id conn;
    int script;   /* enum store_script, or -1 for a plain command */
    int evaled;   /* 1 after the NOSCRIPT fallback to EVAL */
    int extra_ms; /* added to the command timeout (blocking reads) */
    enum sr_err fail_err;
    int argc, argcap;
    char **argv; /* owned copies; for scripts: numkeys, keys, args (EVALSHA sha is added) */
    size_t *argvlen;
    uint64_t deadline_ms; /* loop time */
    uint64_t start_ns;
    union store_user_cb cb;
    void *ud;
    void *state; /* op state, owned; freed by free_state */
    void (*free_state)(void *state);
    int aux; /* small op value (script index, conn index) */
};

struct store_conn {
    struct store *s;
    enum store_conn_id id;
    redisAsyncContext *ac; /* NULL while down */
    int ready;             /* SELECT answered OK */
    int group_ready;       /* block connection: outbox group exists */
    int backoff_ms;        /* last backoff, 0 after a successful connect */
    uv_timer_t retry;
    struct store_req *head, *tail; /* sent, awaiting a reply, oldest first */
};

struct store {
    uv_loop_t *loop;
    struct store_conf conf; /* strings point at the owned copies below */
    char *host, *unix_socket, *prefix;
    struct store_conn conn[STORE_CONN__COUNT];
    uv_timer_t tick;  /* command timeout check */
    uv_timer_t failt; /* runs the fail queue outside of the caller's stack */
    struct store_req *fail_head, *fail_tail;
    char sha[STORE_LUA__COUNT][48];
    char *claim_cursor;     /* XAUTOCLAIM cursor, owned */
    int outbox_own_read;    /* own pending entries were read on this block connection */
    store_feed_cb *feed_cb; /* live feed subscriber, NULL if none */
    void *feed_ud;
    int closing;
    int open_handles;
    uint64_t rng;
};

/* ---- requests (store.c) ---- */
struct store_req *store_req_new(struct store *s, const struct store_req_ops *ops,
                                enum store_conn_id conn, void *ud);
void store_req_arg(struct store_req *q, const char *p, size_t n); /* copies */
void store_req_arg_str(struct store_req *q, const char *p);       /* copies, strlen */
void store_req_arg_ll(struct store_req *q, long long v);
void store_req_arg_take(struct store_req *q, char *p); /* takes a heap string */
void store_req_clear_args(struct store_req *q);
/* Sends q (or queues its failure with err SR_E_UNAVAILABLE when the connection is down). */
void store_req_send(struct store_req *q);
/* Queues q to fail with err from the loop (never synchronously in the caller's stack). */
void store_req_fail_later(struct store_req *q, enum sr_err err);
void store_req_finish(struct store_req *q); /* frees q */
/* ---- replies (store_reply.c) ---- */
int store_reply_is_str(const redisReply *r); /* a string or status reply */
/* An integer reply, or a string holding an integer or a score ("1.7e+12"); 0 otherwise. */
long long store_reply_ll(const redisReply *r);

/* The state of a claim request: what a script handed back as due, in groups of `group` reply
 * elements. items is an array of the caller's item type (n filled); names are owned copies that
 * live as long as the request. */
struct store_claimed {
    void *items;
    size_t n;
    char **names;
    size_t n_names;
};
/* Checks that r is an array of whole groups (else fails q through its ops and returns NULL) and
 * makes q's state with room for every group and names_per_item names each. */
struct store_claimed *store_claimed_start(struct store_req *q, const redisReply *r, size_t group,
                                          size_t item_size, size_t names_per_item);
/* A copy of len bytes of s kept in c; valid until the request finishes. */
const char *store_claimed_name(struct store_claimed *c, const char *s, size_t len);

/* Maps a Redis error reply to an sr_err (OOM, LOADING, ... -> UNAVAILABLE, else INTERNAL). */
enum sr_err store_reply_err(struct store_req *q, const redisReply *r);
/* Drops a connection (all its pending callbacks get NULL) and schedules a reconnect. Safe from
 * inside a hiredis callback. */
void store_conn_drop(struct store_conn *c, const char *why);
/* Connects c if it is down and wanted (SUB only with a feed callback). */
void store_conn_start(struct store_conn *c);

/* ---- the live feed (store_complaint.c) ---- */
/* Called when the SUB connection is ready (SELECT answered): sends SUBSCRIBE <p>feed. */
void store_feed_ready(struct store_conn *c);

/* A blocking connection for one-off tools (purge, the start-up durability check): 2 s timeouts,
 * SELECT conf->db. NULL with eb filled when Redis cannot be reached. Caller redisFree()s it. */
redisContext *store_connect_sync(const struct store_conf *c, struct sr_errbuf *eb);

#endif
