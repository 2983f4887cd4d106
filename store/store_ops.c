/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's public operations: each builds one request (store_int.h) with its keys and
 * arguments, and parses the reply into the borrowed view its callback receives. Every user
 * callback is called exactly once: from the op's reply function or from its fail function.
 * User data never goes into a command string: arguments travel as hiredis argv elements.
 */
#include "store_int.h"

#include "sr_log.h"
#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "<prefix><a><b>[:<c>]" in one allocation (no printf: keys are built ~8 times a message). */
static char *key(struct store *s, const char *a, const char *b, const char *c)
{
    const char *part[5] = {s->prefix, a, b ? b : "", c ? ":" : "", c ? c : ""};
    size_t len[5], total = 0;
    for (int i = 0; i < 5; i++)
        total += len[i] = strlen(part[i]);
    char *k = sr_malloc(total + 1), *p = k;
    for (int i = 0; i < 5; i++) {
        memcpy(p, part[i], len[i]);
        p += len[i];
    }
    *p = '\0';
    return k;
}

static int reply_is(const redisReply *r, const char *s)
{
    return store_reply_is_str(r) && r->len == strlen(s) && memcmp(r->str, s, r->len) == 0;
}

/* ---- session load ---- */

static void load_fail(struct store_req *q, enum sr_err err)
{
    q->cb.load(q->ud, err, NULL);
    store_req_finish(q);
}

static void load_reply(struct store_req *q, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        load_fail(q, store_reply_err(q, r));
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 5 || !store_reply_is_str(r->element[1])) {
        load_fail(q, SR_E_INTERNAL);
        return;
    }
    struct store_session ss = {0};
    ss.version = store_reply_ll(r->element[0]);
    if (r->element[1]->len > 0) {
        ss.data = r->element[1]->str;
        ss.len = r->element[1]->len;
    }
    ss.seen = store_reply_ll(r->element[2]) == 1;
    ss.rate_n = store_reply_ll(r->element[3]);
    ss.rate_told = store_reply_ll(r->element[4]) == 1;
    q->cb.load(q->ud, SR_E_OK, &ss);
    store_req_finish(q);
}

static const struct store_req_ops load_ops = {"session_load", load_reply, load_fail};

void store_session_load(struct store *s, const char *channel, const char *sender,
                        const char *provider_id, store_load_cb *cb, void *ud)
{
    store_session_load_rated(s, channel, sender, provider_id, NULL, cb, ud);
}

void store_session_load_rated(struct store *s, const char *channel, const char *sender,
                              const char *provider_id, const char *rate_id, store_load_cb *cb,
                              void *ud)
{
    struct store_req *q = store_req_new(s, &load_ops, STORE_CONN_CMD, ud);
    q->cb.load = cb;
    if (!channel || !sender) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    q->script = STORE_LUA_LOAD;
    store_req_arg_str(q, rate_id ? "3" : provider_id ? "2" : "1");
    store_req_arg_take(q, key(s, "sess:", channel, sender));
    if (provider_id)
        store_req_arg_take(q, key(s, "dedupe:", channel, provider_id));
    else if (rate_id)
        store_req_arg(q, "", 0);
    if (rate_id)
        store_req_arg_take(q, key(s, "rate:", rate_id, NULL));
    store_req_send(q);
}

/* ---- commit ---- */

static void commit_fail(struct store_req *q, enum sr_err err)
{
    q->cb.commit(q->ud, err, STORE_CONFLICT, 0);
    store_req_finish(q);
}

struct result_name {
    const char *name;
    enum store_commit_result r;
};
static const struct result_name commit_results[] = {
    {"ok", STORE_COMMITTED}, {"dup", STORE_DUPLICATE}, {"conflict", STORE_CONFLICT}};

static void commit_reply(struct store_req *q, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        commit_fail(q, store_reply_err(q, r));
        return;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        for (size_t i = 0; i < sizeof(commit_results) / sizeof(commit_results[0]); i++) {
            if (reply_is(r->element[0], commit_results[i].name)) {
                q->cb.commit(q->ud, SR_E_OK, commit_results[i].r, store_reply_ll(r->element[1]));
                store_req_finish(q);
                return;
            }
        }
    }
    commit_fail(q, SR_E_INTERNAL);
}

static const struct store_req_ops commit_ops = {"commit", commit_reply, commit_fail};

static int complaint_valid(const struct store_complaint_write *w)
{
    return !w ||
           (w->ticket && w->ticket[0] && w->record && w->unit && w->unit[0] &&
            w->expected_version >= 0 && w->due_first_response_ms >= 0 && w->due_resolution_ms >= 0);
}

static int commit_valid(const struct store_commit *c)
{
    return c && c->channel && c->sender && c->provider_id && (c->events || !c->n_events) &&
           (c->replies || !c->n_replies) && (c->feed || !c->n_feed) && c->n_events < 100000 &&
           c->n_replies < 100000 && c->n_feed < 100000 && complaint_valid(c->complaint) &&
           (unsigned)c->rate_mode <= STORE_RATE_LIMITED &&
           (c->rate_mode == STORE_RATE_NONE || (c->rate_id && c->rate_ttl_s > 0));
}

/* ARGV 12..18 (complaint expected version, record, open, dues, ticket, number retention ms);
 * placeholders without a complaint so the layout stays fixed. */
static void commit_complaint_args(struct store_req *q, const struct store_complaint_write *w)
{
    if (!w) {
        for (int i = 0; i < 7; i++)
            store_req_arg(q, "0", 1);
        return;
    }
    store_req_arg_ll(q, w->expected_version);
    store_req_arg(q, w->record, w->record_len ? w->record_len : strlen(w->record));
    store_req_arg_str(q, w->open ? "1" : "0");
    store_req_arg_ll(q, (long long)w->due_first_response_ms);
    store_req_arg_ll(q, (long long)w->due_resolution_ms);
    store_req_arg_str(q, w->ticket);
    store_req_arg_ll(q, (long long)q->s->conf.number_retention_s * 1000);
}

static const char *const rate_mode_names[] = {
    [STORE_RATE_NONE] = "none", [STORE_RATE_COUNT] = "count", [STORE_RATE_LIMITED] = "limited"};

static void commit_args(struct store_req *q, const struct store_commit *c)
{
    struct store *s = q->s;
    const char *mode = c->expected_version < 0 ? "keep" : c->session ? "set" : "clear";
    const struct store_complaint_write *w = c->complaint;
    int rated = c->rate_mode != STORE_RATE_NONE;
    store_req_arg_ll(q, (w ? 9 : 5) + rated);
    store_req_arg_take(q, key(s, "sess:", c->channel, c->sender));
    store_req_arg_take(q, key(s, "dedupe:", c->channel, c->provider_id));
    store_req_arg_take(q, key(s, "expiry", NULL, NULL));
    store_req_arg_take(q, key(s, "events", NULL, NULL));
    store_req_arg_take(q, key(s, "outbox", NULL, NULL));
    if (w) {
        store_req_arg_take(q, key(s, "complaint:", w->ticket, NULL));
        store_req_arg_take(q, key(s, "open:", w->unit, NULL));
        store_req_arg_take(q, key(s, "sla", NULL, NULL));
        store_req_arg_take(q, key(s, "scrub", NULL, NULL));
    }
    if (rated)
        store_req_arg_take(q, key(s, "rate:", c->rate_id, NULL));
    store_req_arg_ll(q, c->expected_version < 0 ? -1 : c->expected_version);
    store_req_arg_str(q, mode);
    if (c->session)
        store_req_arg(q, c->session, c->session_len ? c->session_len : strlen(c->session));
    else
        store_req_arg(q, "", 0);
    store_req_arg_ll(q, s->conf.session_ttl_s);
    store_req_arg_ll(q, c->session && c->expires_at_ms > 0 ? (long long)c->expires_at_ms : 0);
    store_req_arg_take(q, sr_asprintf("%s\x1f%s", c->channel, c->sender));
    store_req_arg_ll(q, s->conf.dedupe_ttl_s);
    store_req_arg_ll(q, (long long)c->n_events);
    store_req_arg_ll(q, (long long)c->n_replies);
    store_req_arg_ll(q, (long long)c->n_feed);
    store_req_arg_take(q, key(s, "feed", NULL, NULL));
    commit_complaint_args(q, w);
    store_req_arg_str(q, rate_mode_names[c->rate_mode]);
    store_req_arg_ll(q, rated ? c->rate_ttl_s : 0);
    for (size_t i = 0; i < c->n_events; i++)
        store_req_arg_str(q, c->events[i] ? c->events[i] : "");
    for (size_t i = 0; i < c->n_replies; i++)
        store_req_arg_str(q, c->replies[i] ? c->replies[i] : "");
    for (size_t i = 0; i < c->n_feed; i++)
        store_req_arg_str(q, c->feed[i] ? c->feed[i] : "");
}

void store_commit(struct store *s, const struct store_commit *c, store_commit_cb *cb, void *ud)
{
    struct store_req *q = store_req_new(s, &commit_ops, STORE_CONN_CMD, ud);
    q->cb.commit = cb;
    if (!commit_valid(c)) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    q->script = STORE_LUA_COMMIT;
    commit_args(q, c);
    store_req_send(q);
}

/* ---- idle expiry ---- */

static void claim_fail(struct store_req *q, enum sr_err err)
{
    q->cb.expired(q->ud, err, NULL, 0);
    store_req_finish(q);
}

/* Adds one {member, expires_at, v, s} group; members without the separator are skipped. */
static void claim_add(struct store_claimed *c, redisReply **g)
{
    if (!store_reply_is_str(g[0]) || !store_reply_is_str(g[3]))
        return;
    const char *sep = memchr(g[0]->str, '\x1f', g[0]->len);
    if (!sep)
        return;
    struct store_expired *e = (struct store_expired *)c->items + c->n++;
    e->channel = store_claimed_name(c, g[0]->str, (size_t)(sep - g[0]->str));
    e->sender = store_claimed_name(c, sep + 1, g[0]->len - (size_t)(sep - g[0]->str) - 1);
    e->expires_at_ms = store_reply_ll(g[1]);
    e->version = store_reply_ll(g[2]);
    e->session = g[3]->str;
    e->len = g[3]->len;
}

static void claim_reply(struct store_req *q, const redisReply *r)
{
    struct store_claimed *c = store_claimed_start(q, r, 4, sizeof(struct store_expired), 2);
    if (!c)
        return;
    for (size_t i = 0; i < r->elements; i += 4)
        claim_add(c, &r->element[i]);
    q->cb.expired(q->ud, SR_E_OK, c->items, c->n);
    store_req_finish(q);
}

static const struct store_req_ops claim_ops = {"claim_expired", claim_reply, claim_fail};

void store_claim_expired(struct store *s, int64_t now_ms, int lease_ms, size_t max,
                         store_expired_cb *cb, void *ud)
{
    struct store_req *q = store_req_new(s, &claim_ops, STORE_CONN_CMD, ud);
    q->cb.expired = cb;
    if (lease_ms < 0) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    q->script = STORE_LUA_CLAIM;
    store_req_arg_str(q, "1");
    store_req_arg_take(q, key(s, "expiry", NULL, NULL));
    store_req_arg_ll(q, (long long)now_ms);
    store_req_arg_ll(q, (long long)now_ms + lease_ms);
    store_req_arg_ll(q, (long long)max);
    store_req_arg_take(q, key(s, "sess:", NULL, NULL));
    store_req_send(q);
}

/* ---- outbox done ---- */

static void done_fail(struct store_req *q, enum sr_err err)
{
    q->cb.done(q->ud, err);
    store_req_finish(q);
}

static void done_reply(struct store_req *q, const redisReply *r)
{
    done_fail(q, r->type == REDIS_REPLY_ERROR ? store_reply_err(q, r) : SR_E_OK);
}

static const struct store_req_ops done_ops = {"outbox_done", done_reply, done_fail};

/* Common part of done and dead: see lua_done for the layout. reply_json NULL = not dead. */
static void outbox_finish(struct store *s, const char *entry_id, int sent, const char *event_json,
                          const char *reply_json, const char *reason, store_done_cb *cb, void *ud)
{
    struct store_req *q = store_req_new(s, &done_ops, STORE_CONN_CMD, ud);
    q->cb.done = cb;
    if (!entry_id || !entry_id[0]) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    q->script = STORE_LUA_DONE;
    store_req_arg_str(q, reply_json ? "6" : "5");
    store_req_arg_take(q, key(s, "sent:", entry_id, NULL));
    store_req_arg_take(q, key(s, "outbox", NULL, NULL));
    store_req_arg_take(q, key(s, "events", NULL, NULL));
    store_req_arg_take(q, key(s, "lease:", entry_id, NULL));
    store_req_arg_take(q, key(s, "sending:", entry_id, NULL));
    if (reply_json)
        store_req_arg_take(q, key(s, "outbox:dead", NULL, NULL));
    store_req_arg_str(q, sent ? "1" : "0");
    store_req_arg_ll(q, s->conf.dedupe_ttl_s);
    store_req_arg_str(q, entry_id);
    store_req_arg_str(q, event_json ? "1" : "0");
    store_req_arg_str(q, event_json ? event_json : "");
    if (reply_json) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        store_req_arg_str(q, reply_json);
        store_req_arg_str(q, reason ? reason : "");
        store_req_arg_ll(q, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    }
    store_req_send(q);
}

void store_outbox_done(struct store *s, const char *entry_id, int sent, const char *event_json,
                       store_done_cb *cb, void *ud)
{
    outbox_finish(s, entry_id, sent, event_json, NULL, NULL, cb, ud);
}

void store_outbox_dead(struct store *s, const char *entry_id, const char *reply_json,
                       const char *reason, const char *event_json, store_done_cb *cb, void *ud)
{
    outbox_finish(s, entry_id, 0, event_json, reply_json ? reply_json : "", reason, cb, ud);
}

/* ---- outbox leases ---- */

static void lease_fail(struct store_req *q, enum sr_err err)
{
    q->cb.lease(q->ud, err, STORE_LEASE_GONE, 0);
    store_req_finish(q);
}

static void lease_reply(struct store_req *q, const redisReply *r)
{
    static const char *const names[] = {
        [STORE_LEASE_OK] = "ok",
        [STORE_LEASE_SENT] = "sent",
        [STORE_LEASE_OTHER] = "other",
        [STORE_LEASE_GONE] = "gone",
    };
    if (r->type == REDIS_REPLY_ERROR) {
        lease_fail(q, store_reply_err(q, r));
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
        lease_fail(q, SR_E_INTERNAL);
        return;
    }
    const char *mark = r->element[1]->str, *owner = q->argv[5]; /* see store_outbox_lease */
    int was = !mark[0]                   ? STORE_MARK_NONE
              : strcmp(mark, owner) == 0 ? STORE_MARK_OWN
                                         : STORE_MARK_OTHER;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(r->element[0]->str, names[i]) == 0) {
            q->cb.lease(q->ud, SR_E_OK, (enum store_lease_result)i, was);
            store_req_finish(q);
            return;
        }
    }
    lease_fail(q, SR_E_INTERNAL);
}

static const struct store_req_ops lease_ops = {"outbox_lease", lease_reply, lease_fail};

void store_outbox_lease(struct store *s, const char *entry_id, const char *owner,
                        const char *consumer, int lease_ms, enum store_lease_mode mode,
                        store_lease_cb *cb, void *ud)
{
    static const char *const modes[] = {"a", "r", "s", "c"};
    struct store_req *q = store_req_new(s, &lease_ops, STORE_CONN_CMD, ud);
    q->cb.lease = cb;
    if (!entry_id || !entry_id[0] || !owner || !owner[0] || !consumer || !consumer[0] ||
        lease_ms <= 0 || (unsigned)mode > STORE_LEASE_CLEAR) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    q->script = STORE_LUA_LEASE;
    store_req_arg_str(q, "4");
    store_req_arg_take(q, key(s, "lease:", entry_id, NULL));
    store_req_arg_take(q, key(s, "sending:", entry_id, NULL));
    store_req_arg_take(q, key(s, "sent:", entry_id, NULL));
    store_req_arg_take(q, key(s, "outbox", NULL, NULL));
    store_req_arg_str(q, owner);
    store_req_arg_ll(q, lease_ms);
    store_req_arg_str(q, entry_id);
    store_req_arg_str(q, modes[mode]);
    store_req_arg_str(q, consumer);
    store_req_arg_ll(q, s->conf.dedupe_ttl_s);
    store_req_send(q);
}

/* ---- backlog ---- */

static void backlog_fail(struct store_req *q, enum sr_err err)
{
    q->cb.backlog(q->ud, err, NULL);
    store_req_finish(q);
}

static void backlog_reply(struct store_req *q, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        backlog_fail(q, store_reply_err(q, r));
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 7) {
        backlog_fail(q, SR_E_INTERNAL);
        return;
    }
    struct store_backlog b = {
        store_reply_ll(r->element[0]), store_reply_ll(r->element[1]), store_reply_ll(r->element[2]),
        store_reply_ll(r->element[3]), store_reply_ll(r->element[4]), store_reply_ll(r->element[5]),
        store_reply_ll(r->element[6]),
    };
    q->cb.backlog(q->ud, SR_E_OK, &b);
    store_req_finish(q);
}

static const struct store_req_ops backlog_ops = {"backlog", backlog_reply, backlog_fail};

void store_backlog(struct store *s, store_backlog_cb *cb, void *ud)
{
    struct store_req *q = store_req_new(s, &backlog_ops, STORE_CONN_CMD, ud);
    q->cb.backlog = cb;
    q->script = STORE_LUA_BACKLOG;
    store_req_arg_str(q, "3");
    store_req_arg_take(q, key(s, "outbox", NULL, NULL));
    store_req_arg_take(q, key(s, "events", NULL, NULL));
    store_req_arg_take(q, key(s, "outbox:dead", NULL, NULL));
    store_req_send(q);
}
