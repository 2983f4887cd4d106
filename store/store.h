/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operational state in Redis, asynchronously on a worker's libuv loop (hiredis async + its libuv
 * adapter). One struct store per worker. It owns three connections: "cmd" for ordinary commands,
 * "block" for blocking stream reads, so a blocking XREADGROUP never delays a commit, and "sub"
 * for the live feed's SUBSCRIBE (see store_feed_subscribe).
 *
 * Keys (prefix from the config, default "suara:"):
 *   <p>sess:<channel>:<sender>     hash {v: version, s: session JSON}, TTL session_ttl_s
 *   <p>dedupe:<channel>:<id>       "1", TTL dedupe_ttl_s (>= 7 days)
 *   <p>events                      stream of event JSON (field "e"), group "writer"
 *   <p>outbox                      stream of reply JSON (field "r"), group "sender"
 *   <p>expiry                      zset: member "<channel>\x1f<sender>", score expires_at_ms
 *   <p>sent:<outbox entry id>      marker that a reply left, TTL dedupe_ttl_s
 *   <p>lease:<outbox entry id>     owner of the one job working on a reply, PX lease_ms,
 *                                  renewed by the owner while it retries
 *   <p>sending:<outbox entry id>   owner; set before a provider request, removed with the
 *                                  entry: found by a new owner, the reply may have left already
 *   <p>outbox:dead                 dead-letter stream {r: reply JSON, from: outbox entry id,
 *                                  why: reason, at: epoch ms}: replies no longer worth retrying
 *   <p>complaint:<ticket>          hash {v: version, s: complaint JSON} (no TTL while open;
 *                                  closed: session_ttl_s; after the number is removed at most
 *                                  complaint_record_ttl_s)
 *   <p>scrub                       zset: member ticket, score resolved_at + number_retention_s
 *                                  (ms): when the record's raw number ("to") is removed
 *   <p>aof-rewrite                 "1", TTL = the AOF rewrite interval (store_aof_rewrite_due)
 *   <p>open:<unit>                 set of open tickets of a unit (officers' DAFTAR)
 *   <p>sla                         zset: member "<ticket>\x1f<kind>", score due_ms; kinds
 *                                  "first_response", "resolution"
 *   <p>feed                        pub/sub channel of the officers' live feed (JSON)
 *   <p>rate:<citizen>:<window>     hash {n: messages counted, t: slow-down notice sent} of one
 *                                  citizen pseudonym in one fixed window; TTL 2 windows
 *
 * Every callback is called exactly once, also on disconnect (err = SR_E_UNAVAILABLE: "not
 * durable") and on store_close (err = SR_E_UNAVAILABLE). Data handed to a callback is borrowed
 * for the duration of the callback. Never free the store from inside one of its callbacks.
 * After a disconnect a fresh connection is made from a timer with jittered exponential backoff.
 */
#ifndef STORE_H
#define STORE_H

#include "sr_error.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct store;

struct store_conf {
    const char *host; /* used when unix_socket is NULL/"" */
    int port;
    const char *unix_socket;
    const char *prefix;         /* key prefix, "suara:" */
    int db;                     /* SELECT db, 0 default */
    int session_ttl_s;          /* default 86400 */
    int dedupe_ttl_s;           /* default 604800 (7 days), never less */
    int number_retention_s;     /* a resolved complaint keeps its raw "to" this long; 604800 */
    int complaint_record_ttl_s; /* then the record expires after this long; 2592000 */
    int command_timeout_ms;     /* a command unanswered this long fails with SR_E_UNAVAILABLE */
    int backoff_min_ms;         /* reconnect backoff, jittered, doubling up to backoff_max_ms */
    int backoff_max_ms;
    /* optional: called for every completed command with its round-trip in seconds (metrics) */
    void (*on_rtt)(void *ud, double seconds);
    void *on_rtt_ud;
};
void store_conf_defaults(struct store_conf *c);

/* Creates the store and starts connecting (non-blocking). Borrowed: loop and conf (conf strings
 * are copied). Returns NULL only on invalid conf (eb filled). */
struct store *store_new(uv_loop_t *loop, const struct store_conf *conf, struct sr_errbuf *eb);
/* Fails pending callbacks with SR_E_UNAVAILABLE, disconnects, and frees the store once every
 * libuv handle is closed; the loop can then finish. NULL is fine. */
void store_close(struct store *s);
int store_is_connected(const struct store *s); /* 1 when the cmd connection is up and ready */

/* ---- sessions and the atomic commit ---- */

struct store_session {
    const char *data; /* session JSON, NULL if none */
    size_t len;
    long long version; /* 0 if none */
    int seen;          /* 1 if <channel, provider_id> was already committed: a duplicate */
    long long rate_n;  /* messages counted in the rate window (store_session_load_rated), or 0 */
    int rate_told;     /* 1 if the window's slow-down notice was already committed */
};
typedef void store_load_cb(void *ud, enum sr_err err, const struct store_session *s);
/* Loads the session of (channel, sender) and whether provider_id was already committed, in one
 * round trip. provider_id may be NULL (then seen = 0). */
void store_session_load(struct store *s, const char *channel, const char *sender,
                        const char *provider_id, store_load_cb *cb, void *ud);
/* The same round trip, also reading the rate window rate_id ("<citizen pseudonym>:<window>",
 * NULL = none) into rate_n / rate_told. */
void store_session_load_rated(struct store *s, const char *channel, const char *sender,
                              const char *provider_id, const char *rate_id, store_load_cb *cb,
                              void *ud);

/* A complaint record written with a commit (mirrors dialogs' dialog_complaint_write). */
struct store_complaint_write {
    const char *ticket;
    const char *record;
    size_t record_len;
    long long expected_version; /* 0 = new ticket: conflict if it exists */
    const char *unit;
    int open;                      /* SADD / SREM <p>open:<unit> */
    int64_t due_first_response_ms; /* ZADD (>0) or ZREM (0) of the two SLA timer members */
    int64_t due_resolution_ms;
};

/* What a commit does to the sender's rate window (<p>rate:<rate_id>). */
enum store_rate_mode {
    STORE_RATE_NONE,   /* not counted (status items, sweeps, officers without a limit) */
    STORE_RATE_COUNT,  /* count the message */
    STORE_RATE_LIMITED /* over the limit: count it; the replies go out only if the window's
                          notice was not sent yet (exactly one notice per window) */
};

struct store_commit {
    const char *channel;
    const char *sender;
    const char *provider_id;    /* dedupe key with channel; required */
    long long expected_version; /* version the step started from; -1 = leave session alone */
    const char *session;        /* new session JSON; NULL = clear session (and its expiry) */
    size_t session_len;
    int64_t expires_at_ms;     /* with a session: register for idle expiry (0 = don't) */
    const char *const *events; /* event JSON strings -> <p>events */
    size_t n_events;
    const char *const *replies; /* reply JSON strings (sr_reply_to_json) -> <p>outbox */
    size_t n_replies;
    const struct store_complaint_write
        *complaint;          /* NULL: none; version-checked like the session */
    const char *const *feed; /* JSON strings PUBLISHed on <p>feed after the writes */
    size_t n_feed;
    enum store_rate_mode rate_mode; /* with rate_id; NONE (0) by default */
    const char *rate_id;            /* "<citizen pseudonym>:<window>", never a raw number */
    int rate_ttl_s;                 /* the window's key lives this long (two windows) */
};

enum store_commit_result {
    STORE_COMMITTED, /* everything written atomically */
    STORE_DUPLICATE, /* provider id already committed: nothing written */
    STORE_CONFLICT   /* session version moved on: nothing written; reload and step again */
};
typedef void store_commit_cb(void *ud, enum sr_err err, enum store_commit_result r,
                             long long new_version);
/* One Lua script (loaded once with SCRIPT LOAD, run with EVALSHA, reloaded on NOSCRIPT):
 * dedupe check, version check, session write with TTL, expiry index, XADD of events and replies,
 * dedupe key set — all or nothing. */
void store_commit(struct store *s, const struct store_commit *c, store_commit_cb *cb, void *ud);

/* ---- complaints ---- */

struct store_complaint {
    const char *record; /* NULL if the ticket is unknown */
    size_t len;
    long long version;
    const char *const *open; /* records of the open tickets of list_unit (at most 50) */
    const size_t *open_lens;
    size_t n_open;
};
typedef void store_complaint_cb(void *ud, enum sr_err err, const struct store_complaint *c);
/* Loads one complaint (ticket may be NULL/"") and the open complaints of a unit (list_unit may be
 * NULL/""), in one round trip. */
void store_complaint_load(struct store *s, const char *ticket, const char *list_unit,
                          store_complaint_cb *cb, void *ud);

struct store_sla_due {
    const char *ticket;
    const char *kind; /* "first_response" | "resolution" */
    const char *record;
    size_t len;
    long long version;
    int64_t due_ms;
};
typedef void store_sla_cb(void *ud, enum sr_err err, const struct store_sla_due *items, size_t n);
/* Claims SLA timers due at now_ms like store_claim_expired (lease, then the breach commit, with
 * provider id "sla:<ticket>:<kind>" and the complaint write, disarms it). Survives restarts:
 * the timers live in Redis. */
void store_claim_sla(struct store *s, int64_t now_ms, int lease_ms, size_t max, store_sla_cb *cb,
                     void *ud);

/* The live feed: a third connection SUBSCRIBEs to <p>feed (re-subscribing after reconnects) and
 * calls cb for every message, on the loop. One subscription per store; cb NULL unsubscribes. */
typedef void store_feed_cb(void *ud, const char *json, size_t len);
void store_feed_subscribe(struct store *s, store_feed_cb *cb, void *ud);

/* ---- idle expiry ---- */

struct store_expired {
    const char *channel;
    const char *sender;
    const char *session; /* JSON */
    size_t len;
    long long version;
    int64_t expires_at_ms;
};
typedef void store_expired_cb(void *ud, enum sr_err err, const struct store_expired *items,
                              size_t n);
/* Claims up to max sessions whose expiry passed at now_ms: atomically moves their score to
 * now_ms + lease_ms (so a crashed claimer's work is retried by another worker later) and returns
 * them. The caller commits the expiry step with expected_version (provider id
 * "expire:<expires_at_ms>"); that commit's session = NULL removes the index entry. */
void store_claim_expired(struct store *s, int64_t now_ms, int lease_ms, size_t max,
                         store_expired_cb *cb, void *ud);

/* ---- outbox consumer (the sender) ---- */

struct store_outbox_entry {
    const char *id;   /* stream entry id */
    const char *json; /* reply JSON */
    size_t len;
    int already_sent; /* 1 if a <p>sent: marker exists (sent before a crash): just ack it */
};
typedef void store_outbox_cb(void *ud, enum sr_err err, const struct store_outbox_entry *e,
                             size_t n);
/* On the block connection: first this consumer's own pending entries (once per connection),
 * then entries idle longer than claim_idle_ms in any consumer (XAUTOCLAIM; whether one may be
 * worked on is the lease's decision, store_outbox_lease), then new ones (XREADGROUP ... BLOCK
 * block_ms). Creates the group if missing. n = 0 after a timeout. */
void store_outbox_read(struct store *s, const char *consumer, size_t max, int block_ms,
                       int claim_idle_ms, store_outbox_cb *cb, void *ud);

typedef void store_done_cb(void *ud, enum sr_err err);
/* Atomically (Lua): sets the sent marker (if sent), XACKs and deletes the entry, XADDs the
 * outcome event, removes the entry's lease and sending mark. The outbox thus holds only replies
 * not yet done. */
void store_outbox_done(struct store *s, const char *entry_id, int sent, const char *event_json,
                       store_done_cb *cb, void *ud);
/* The same step for a reply given up while still worth sending (its useful window closed): the
 * reply JSON is also XADDed to <p>outbox:dead with reason (borrowed strings). */
void store_outbox_dead(struct store *s, const char *entry_id, const char *reply_json,
                       const char *reason, const char *event_json, store_done_cb *cb, void *ud);

/* ---- the one job per reply: leases ---- */

enum store_lease_mode {
    STORE_LEASE_ACQUIRE, /* take a free, expired or own lease */
    STORE_LEASE_RENEW,   /* extend it while waiting for the next attempt */
    STORE_LEASE_SEND,    /* extend it and write the durable sending mark: a request follows */
    STORE_LEASE_CLEAR    /* extend it and remove the sending mark: the attempt surely failed */
};
enum store_lease_result {
    STORE_LEASE_OK,    /* the lease is the owner's for lease_ms */
    STORE_LEASE_SENT,  /* the owner's, but a sent marker exists: only ack it */
    STORE_LEASE_OTHER, /* another owner's live lease: leave the entry alone */
    STORE_LEASE_GONE   /* the entry left the outbox (done elsewhere): drop the job */
};
/* was_sending: whether a sending mark existed before this call, and whose (with ACQUIRE: a
 * previous owner may have sent the reply and not recorded it yet, or died before it could). */
enum { STORE_MARK_NONE, STORE_MARK_OWN, STORE_MARK_OTHER };
typedef void store_lease_cb(void *ud, enum sr_err err, enum store_lease_result r, int was_sending);
/* One Lua step on <p>lease:<entry_id> (see enum store_lease_mode); also XCLAIMs the entry for
 * consumer so its idle time in the group restarts. owner and consumer are borrowed. */
void store_outbox_lease(struct store *s, const char *entry_id, const char *owner,
                        const char *consumer, int lease_ms, enum store_lease_mode mode,
                        store_lease_cb *cb, void *ud);

/* ---- the dead-letter stream (store_dead.c) ---- */

struct store_dead_item {
    const char *id;   /* dead-letter entry id */
    const char *json; /* reply JSON */
    size_t len;
    const char *from; /* the outbox entry id it had */
    const char *why;  /* reason given by the sender */
    int64_t at_ms;
};
typedef void store_dead_cb(void *ud, enum sr_err err, const struct store_dead_item *items,
                           size_t n);
/* Up to max dead letters, oldest first, from after_id (exclusive; NULL/"" = the start). */
void store_dead_list(struct store *s, const char *after_id, size_t max, store_dead_cb *cb,
                     void *ud);
/* new_id: the new outbox entry id, or NULL when the dead letter did not exist (n = 0). */
typedef void store_dead_retry_cb(void *ud, enum sr_err err, const char *new_id);
/* Queues a dead letter again: its reply goes to the outbox as a new entry with a fresh useful
 * window ("in_at" removed), and leaves the dead-letter stream, in one step. */
void store_dead_retry(struct store *s, const char *dead_id, store_dead_retry_cb *cb, void *ud);
/* Removes a dead letter for good. new_id is unused (NULL); err SR_E_NOT_FOUND if absent. */
void store_dead_drop(struct store *s, const char *dead_id, store_dead_retry_cb *cb, void *ud);

/* ---- privacy retention (store_privacy.c) ---- */

struct store_scrub_due {
    const char *ticket;
    const char *record; /* complaint JSON */
    size_t len;
    long long version;
};
typedef void store_scrub_cb(void *ud, enum sr_err err, const struct store_scrub_due *items,
                            size_t n);
/* Claims up to max complaints whose number retention ended at now_ms (scores in <p>scrub), with
 * a lease like store_claim_expired; members whose record is gone are dropped. */
void store_claim_scrub(struct store *s, int64_t now_ms, int lease_ms, size_t max,
                       store_scrub_cb *cb, void *ud);
/* Removes the raw number from one claimed record: the record without "to" (store_record_forget)
 * is written if the version still matches, the ticket leaves <p>scrub and the record expires
 * within complaint_record_ttl_s. A version that moved on changes nothing (the member is claimed
 * again after its lease). */
void store_complaint_scrub(struct store *s, const struct store_scrub_due *item, store_done_cb *cb,
                           void *ud);

/* The record JSON without its raw address "to" and, when tombstone is given, with "citizen"
 * replaced by it. Heap string (caller frees); NULL when the record is not a JSON object or
 * nothing would change. */
char *store_record_forget(const char *record, size_t len, const char *tombstone);

typedef void store_aof_cb(void *ud, enum sr_err err, int started);
/* The AOF schedule: SET <p>aof-rewrite NX EX interval_s; only when that key was absent (so once
 * per interval across all workers and hosts) BGREWRITEAOF is sent. started = 1 when Redis
 * accepted it (started or scheduled after a running save). */
void store_aof_rewrite_due(struct store *s, int interval_s, store_aof_cb *cb, void *ud);

/* ---- observability ---- */
struct store_backlog {
    long long outbox_len, outbox_pending, outbox_lag;
    long long events_len, events_pending, events_lag;
    long long outbox_dead; /* entries in <p>outbox:dead */
};
typedef void store_backlog_cb(void *ud, enum sr_err err, const struct store_backlog *b);
void store_backlog(struct store *s, store_backlog_cb *cb, void *ud);

/* ---- start-up durability check (store_check.c; blocking, before the workers start) ---- */

struct store_durability {
    int appendonly;            /* 1 yes, 0 no, -1 unreadable */
    char maxmemory_policy[32]; /* "" when unreadable */
    char appendfsync[32];      /* "" when unreadable (INFO does not say) */
    const char *source;        /* "CONFIG GET", "INFO" or "none": where appendonly came from */
};
/* Reads Redis' persistence and eviction settings. SR_E_UNAVAILABLE when Redis cannot be reached
 * (eb filled); unreadable settings are SR_E_OK with the fields left unknown. */
enum sr_err store_check_durability(const struct store_conf *conf, struct store_durability *d,
                                   struct sr_errbuf *eb);

#endif
