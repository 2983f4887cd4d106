/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dead-letter stream <p>outbox:dead: replies the sender gave up on while they were still
 * undelivered (their useful window closed, or [sender] max_attempts ran out). An operator lists
 * them and either queues one again (store_dead_retry: a new outbox entry with a fresh useful
 * window, the dead letter removed in the same Lua step) or drops it (XDEL). Used by
 * `suara outbox` and the admin API; both go through these functions.
 */
#include "store_int.h"

#include "sr_mem.h"
#include "sr_types.h"

#include <stdlib.h>
#include <string.h>

struct dead_state {
    struct store_dead_item *items;
    size_t n;
    char *id;   /* retry: the dead letter's id */
    char *json; /* retry: the reply to queue again */
};

static void dead_state_free(void *p)
{
    struct dead_state *st = p;
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++) {
        free((char *)st->items[i].id);
        free((char *)st->items[i].json);
        free((char *)st->items[i].from);
        free((char *)st->items[i].why);
    }
    free(st->items);
    free(st->id);
    free(st->json);
    free(st);
}

static char *dead_key(struct store *s)
{
    return sr_asprintf("%soutbox:dead", s->prefix);
}

/* One XRANGE element [id, [field, value, ...]] into it; 0 if it is not one. */
static int dead_take(struct store_dead_item *it, const redisReply *en)
{
    if (en->type != REDIS_REPLY_ARRAY || en->elements < 2 ||
        en->element[0]->type != REDIS_REPLY_STRING || en->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    const redisReply *f = en->element[1];
    memset(it, 0, sizeof(*it));
    for (size_t k = 0; k + 1 < f->elements; k += 2) {
        const redisReply *name = f->element[k], *val = f->element[k + 1];
        if (name->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(name->str, "r") == 0 && !it->json) {
            it->json = sr_strndup(val->str, val->len);
            it->len = val->len;
        } else if (strcmp(name->str, "from") == 0 && !it->from) {
            it->from = sr_strndup(val->str, val->len);
        } else if (strcmp(name->str, "why") == 0 && !it->why) {
            it->why = sr_strndup(val->str, val->len);
        } else if (strcmp(name->str, "at") == 0) {
            it->at_ms = strtoll(val->str, NULL, 10);
        }
    }
    if (!it->json) {
        free((char *)it->from);
        free((char *)it->why);
        return 0;
    }
    it->id = sr_strndup(en->element[0]->str, en->element[0]->len);
    if (!it->from)
        it->from = sr_strdup("");
    if (!it->why)
        it->why = sr_strdup("");
    return 1;
}

static void dead_take_all(struct dead_state *st, const redisReply *r)
{
    st->items = sr_calloc(r->elements + 1, sizeof(*st->items));
    for (size_t i = 0; i < r->elements; i++)
        st->n += (size_t)dead_take(&st->items[st->n], r->element[i]);
}

/* ---- list ---- */

static void list_fail(struct store_req *q, enum sr_err err)
{
    q->cb.dead(q->ud, err, NULL, 0);
    store_req_finish(q);
}

static void list_reply(struct store_req *q, const redisReply *r)
{
    struct dead_state *st = q->state;
    if (r->type == REDIS_REPLY_ERROR) {
        list_fail(q, store_reply_err(q, r));
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        list_fail(q, SR_E_INTERNAL);
        return;
    }
    dead_take_all(st, r);
    q->cb.dead(q->ud, SR_E_OK, st->items, st->n);
    store_req_finish(q);
}

static const struct store_req_ops list_ops = {"dead_list", list_reply, list_fail};

void store_dead_list(struct store *s, const char *after_id, size_t max, store_dead_cb *cb, void *ud)
{
    struct store_req *q = store_req_new(s, &list_ops, STORE_CONN_CMD, ud);
    q->cb.dead = cb;
    if (max == 0) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    q->state = sr_calloc(1, sizeof(struct dead_state));
    q->free_state = dead_state_free;
    store_req_arg_str(q, "XRANGE");
    store_req_arg_take(q, dead_key(s));
    if (after_id && after_id[0])
        store_req_arg_take(q, sr_asprintf("(%s", after_id));
    else
        store_req_arg_str(q, "-");
    store_req_arg_str(q, "+");
    store_req_arg_str(q, "COUNT");
    store_req_arg_ll(q, (long long)max);
    store_req_send(q);
}

/* ---- retry and drop ---- */

static void one_fail(struct store_req *q, enum sr_err err)
{
    q->cb.dead_retry(q->ud, err, NULL);
    store_req_finish(q);
}

/* The reply without its old "in_at": a fresh useful window from the new entry's time. */
static char *fresh_reply(const char *json, size_t len)
{
    struct sr_reply r;
    if (sr_reply_from_json(&r, json, len) != 0)
        return sr_strndup(json, len); /* queued as it was; the sender fails it as malformed */
    r.in_at_ms = 0;
    char *out = sr_reply_to_json(&r);
    sr_reply_clear(&r);
    return out;
}

static void retry_send_move(struct store_req *q)
{
    struct dead_state *st = q->state;
    store_req_clear_args(q);
    q->script = STORE_LUA_DEAD_RETRY;
    store_req_arg_str(q, "2");
    store_req_arg_take(q, dead_key(q->s));
    store_req_arg_take(q, sr_asprintf("%soutbox", q->s->prefix));
    store_req_arg_str(q, st->id);
    store_req_arg_str(q, st->json);
    store_req_send(q);
}

static void retry_reply(struct store_req *q, const redisReply *r)
{
    struct dead_state *st = q->state;
    if (r->type == REDIS_REPLY_ERROR) {
        one_fail(q, store_reply_err(q, r));
        return;
    }
    if (!st->json) { /* the XRANGE of the one dead letter */
        struct store_dead_item it;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 || !dead_take(&it, r->element[0])) {
            one_fail(q, SR_E_NOT_FOUND);
            return;
        }
        st->json = fresh_reply(it.json, it.len);
        free((char *)it.id);
        free((char *)it.json);
        free((char *)it.from);
        free((char *)it.why);
        retry_send_move(q);
        return;
    }
    if (r->type != REDIS_REPLY_STRING) { /* removed meanwhile by someone else */
        one_fail(q, SR_E_NOT_FOUND);
        return;
    }
    q->cb.dead_retry(q->ud, SR_E_OK, r->str);
    store_req_finish(q);
}

static const struct store_req_ops retry_ops = {"dead_retry", retry_reply, one_fail};

void store_dead_retry(struct store *s, const char *dead_id, store_dead_retry_cb *cb, void *ud)
{
    struct store_req *q = store_req_new(s, &retry_ops, STORE_CONN_CMD, ud);
    q->cb.dead_retry = cb;
    if (!dead_id || !dead_id[0]) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    struct dead_state *st = sr_calloc(1, sizeof(*st));
    st->id = sr_strdup(dead_id);
    q->state = st;
    q->free_state = dead_state_free;
    store_req_arg_str(q, "XRANGE");
    store_req_arg_take(q, dead_key(s));
    store_req_arg_str(q, dead_id);
    store_req_arg_str(q, dead_id);
    store_req_send(q);
}

static void drop_reply(struct store_req *q, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR)
        one_fail(q, store_reply_err(q, r));
    else
        one_fail(q, r->type == REDIS_REPLY_INTEGER && r->integer == 1 ? SR_E_OK : SR_E_NOT_FOUND);
}

static const struct store_req_ops drop_ops = {"dead_drop", drop_reply, one_fail};

void store_dead_drop(struct store *s, const char *dead_id, store_dead_retry_cb *cb, void *ud)
{
    struct store_req *q = store_req_new(s, &drop_ops, STORE_CONN_CMD, ud);
    q->cb.dead_retry = cb;
    if (!dead_id || !dead_id[0]) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    store_req_arg_str(q, "XDEL");
    store_req_arg_take(q, dead_key(s));
    store_req_arg_str(q, dead_id);
    store_req_send(q);
}
