/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_outbox_read: the sender's read of the outbox stream, on the block connection, as a
 * small state machine over one request: create the group (once per connection), then this
 * consumer's own pending entries (on the first read after each connect of the block connection:
 * a read lost with a connection leaves its entries pending here), else entries idle in other
 * consumers (XAUTOCLAIM; the sender takes them only when their lease expired), else new entries
 * (XREADGROUP BLOCK); finally one MGET of the <p>sent: markers of the batch. Entries are copied out
 * of each reply (hiredis frees a reply when its callback returns).
 */
#include "store_int.h"

#include "sr_log.h"
#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>

enum ob_stage { OB_GROUP, OB_OWN, OB_CLAIM, OB_NEW, OB_SENT };

struct ob_state {
    enum ob_stage stage;
    char *consumer;
    size_t max;
    int block_ms, claim_idle_ms;
    int regrouped; /* NOGROUP seen once: group created again */
    struct store_outbox_entry *e;
    size_t n;
};

static void ob_state_free(void *p)
{
    struct ob_state *st = p;
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++) {
        free((char *)st->e[i].id);
        free((char *)st->e[i].json);
    }
    free(st->e);
    free(st->consumer);
    free(st);
}

static void ob_fail(struct store_req *q, enum sr_err err)
{
    q->cb.outbox(q->ud, err, NULL, 0);
    store_req_finish(q);
}

static void ob_done(struct store_req *q)
{
    struct ob_state *st = q->state;
    q->cb.outbox(q->ud, SR_E_OK, st->e, st->n);
    store_req_finish(q);
}

static char *outbox_key(struct store *s)
{
    return sr_asprintf("%soutbox", s->prefix);
}

/* Builds and sends the command of the current stage. */
static void ob_send(struct store_req *q)
{
    struct ob_state *st = q->state;
    struct store *s = q->s;
    static const char *const ids[] = {[OB_OWN] = "0", [OB_NEW] = ">"};
    store_req_clear_args(q);
    q->extra_ms = 0;
    if (st->stage == OB_GROUP) {
        const char *a[] = {"XGROUP", "CREATE"};
        for (size_t i = 0; i < 2; i++)
            store_req_arg_str(q, a[i]);
        store_req_arg_take(q, outbox_key(s));
        store_req_arg_str(q, "sender");
        store_req_arg_str(q, "0");
        store_req_arg_str(q, "MKSTREAM");
    } else if (st->stage == OB_CLAIM) {
        store_req_arg_str(q, "XAUTOCLAIM");
        store_req_arg_take(q, outbox_key(s));
        store_req_arg_str(q, "sender");
        store_req_arg_str(q, st->consumer);
        store_req_arg_ll(q, st->claim_idle_ms);
        store_req_arg_str(q, s->claim_cursor ? s->claim_cursor : "0-0");
        store_req_arg_str(q, "COUNT");
        store_req_arg_ll(q, (long long)st->max);
    } else if (st->stage == OB_SENT) {
        store_req_arg_str(q, "MGET");
        for (size_t i = 0; i < st->n; i++)
            store_req_arg_take(q, sr_asprintf("%ssent:%s", s->prefix, st->e[i].id));
    } else {
        store_req_arg_str(q, "XREADGROUP");
        store_req_arg_str(q, "GROUP");
        store_req_arg_str(q, "sender");
        store_req_arg_str(q, st->consumer);
        store_req_arg_str(q, "COUNT");
        store_req_arg_ll(q, (long long)st->max);
        if (st->stage == OB_NEW && st->block_ms > 0) {
            store_req_arg_str(q, "BLOCK");
            store_req_arg_ll(q, st->block_ms);
            q->extra_ms = st->block_ms;
        }
        store_req_arg_str(q, "STREAMS");
        store_req_arg_take(q, outbox_key(s));
        store_req_arg_str(q, ids[st->stage]);
    }
    store_req_send(q);
}

/* Copies entries [[id, [field, value, ...]], ...]; deleted entries (nil fields) are skipped. */
static void ob_take_entries(struct ob_state *st, const redisReply *arr)
{
    if (!arr || arr->type != REDIS_REPLY_ARRAY)
        return;
    st->e = sr_calloc(arr->elements + 1, sizeof(*st->e));
    for (size_t i = 0; i < arr->elements; i++) {
        const redisReply *en = arr->element[i];
        if (en->type != REDIS_REPLY_ARRAY || en->elements < 2 ||
            en->element[0]->type != REDIS_REPLY_STRING || en->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        const redisReply *f = en->element[1];
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            const redisReply *name = f->element[k], *val = f->element[k + 1];
            if (name->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING ||
                name->len != 1 || name->str[0] != 'r')
                continue;
            struct store_outbox_entry *e = &st->e[st->n++];
            e->id = sr_strndup(en->element[0]->str, en->element[0]->len);
            e->json = sr_strndup(val->str, val->len);
            e->len = val->len;
            break;
        }
    }
}

/* XREADGROUP reply: nil, or [[stream, entries]]. */
static const redisReply *xread_entries(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        return NULL;
    const redisReply *st = r->element[0];
    if (st->type != REDIS_REPLY_ARRAY || st->elements < 2)
        return NULL;
    return st->element[1];
}

/* XAUTOCLAIM reply: [next cursor, entries, deleted ids]; keeps the cursor for the next scan. */
static const redisReply *xautoclaim_entries(struct store *s, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2)
        return NULL;
    const redisReply *next = r->element[0];
    free(s->claim_cursor);
    s->claim_cursor = NULL;
    if (next->type == REDIS_REPLY_STRING && strcmp(next->str, "0-0") != 0)
        s->claim_cursor = sr_strndup(next->str, next->len);
    return r->element[1];
}

static void ob_sent_reply(struct store_req *q, const redisReply *r)
{
    struct ob_state *st = q->state;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != st->n) {
        ob_fail(q, SR_E_INTERNAL);
        return;
    }
    for (size_t i = 0; i < st->n; i++)
        st->e[i].already_sent = r->element[i]->type == REDIS_REPLY_STRING;
    ob_done(q);
}

/* This consumer's own pending entries are read once per connection (recovery at start-up and
 * after a reconnect). Otherwise they are the caller's in-flight work; an entry handed out while
 * its done runs on the other connection is harmless: the sender skips its own jobs, and the
 * lease step answers "gone" or "sent" for an entry already done. */
static enum ob_stage after_group(struct store *s)
{
    return s->outbox_own_read ? OB_CLAIM : OB_OWN;
}

/* An error reply: BUSYGROUP means the group exists; NOGROUP (deleted or lost) retries once. */
static int ob_error(struct store_req *q, const redisReply *r)
{
    struct ob_state *st = q->state;
    struct store_conn *c = &q->s->conn[STORE_CONN_BLOCK];
    if (st->stage == OB_GROUP && r->str && strncmp(r->str, "BUSYGROUP", 9) == 0) {
        c->group_ready = 1;
        st->stage = after_group(q->s);
        return 1;
    }
    if (r->str && strncmp(r->str, "NOGROUP", 7) == 0 && !st->regrouped) {
        c->group_ready = 0;
        st->regrouped = 1;
        st->stage = OB_GROUP;
        return 1;
    }
    return 0;
}

static void ob_reply(struct store_req *q, const redisReply *r)
{
    struct ob_state *st = q->state;
    if (r->type == REDIS_REPLY_ERROR) {
        if (ob_error(q, r))
            ob_send(q);
        else
            ob_fail(q, store_reply_err(q, r));
        return;
    }
    switch (st->stage) {
    case OB_GROUP:
        q->s->conn[STORE_CONN_BLOCK].group_ready = 1;
        st->stage = after_group(q->s);
        break;
    case OB_OWN:
        q->s->outbox_own_read = 1;
        ob_take_entries(st, xread_entries(r));
        st->stage = st->n ? OB_SENT : OB_CLAIM;
        break;
    case OB_CLAIM:
        ob_take_entries(st, xautoclaim_entries(q->s, r));
        st->stage = st->n ? OB_SENT : OB_NEW;
        break;
    case OB_NEW:
        ob_take_entries(st, xread_entries(r));
        if (!st->n) {
            ob_done(q);
            return;
        }
        st->stage = OB_SENT;
        break;
    case OB_SENT:
        ob_sent_reply(q, r);
        return;
    }
    if (!st->n) {
        free(st->e);
        st->e = NULL;
    }
    ob_send(q);
}

static const struct store_req_ops ob_ops = {"outbox_read", ob_reply, ob_fail};

void store_outbox_read(struct store *s, const char *consumer, size_t max, int block_ms,
                       int claim_idle_ms, store_outbox_cb *cb, void *ud)
{
    struct store_req *q = store_req_new(s, &ob_ops, STORE_CONN_BLOCK, ud);
    q->cb.outbox = cb;
    if (!consumer || !consumer[0] || max == 0 || claim_idle_ms < 0) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    struct ob_state *st = sr_calloc(1, sizeof(*st));
    st->consumer = sr_strdup(consumer);
    st->max = max;
    st->block_ms = block_ms;
    st->claim_idle_ms = claim_idle_ms;
    st->stage = s->conn[STORE_CONN_BLOCK].group_ready ? after_group(s) : OB_GROUP;
    q->state = st;
    q->free_state = ob_state_free;
    ob_send(q);
}
