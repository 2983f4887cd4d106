/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's complaint operations: loading a complaint and a unit's open list in one script,
 * claiming due SLA timers with a lease (like idle expiry), and the officers' live feed: a third
 * connection (SUB) that SUBSCRIBEs to <p>feed while a callback is set and subscribes again on
 * every reconnect (store.c calls store_feed_ready once SELECT is answered). The complaint write
 * itself rides on store_commit (store_ops.c, the commit script in store_lua.c).
 */
#include "store_int.h"

#include "sr_log.h"
#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>

#define COMPLAINT_LIST_MAX 50

static char *pkey(struct store *s, const char *a, const char *b)
{
    return sr_asprintf("%s%s%s", s->prefix, a, b ? b : "");
}

/* ---- complaint load ---- */

struct cl_state {
    const char **recs;
    size_t *lens;
};

static void cl_state_free(void *p)
{
    struct cl_state *st = p;
    if (!st)
        return;
    free(st->recs);
    free(st->lens);
    free(st);
}

static void cl_fail(struct store_req *q, enum sr_err err)
{
    q->cb.complaint(q->ud, err, NULL);
    store_req_finish(q);
}

/* Reply {v, s, open records...}: the view borrows the reply's strings. */
static void cl_reply(struct store_req *q, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        cl_fail(q, store_reply_err(q, r));
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || !store_reply_is_str(r->element[1])) {
        cl_fail(q, SR_E_INTERNAL);
        return;
    }
    struct cl_state *st = sr_calloc(1, sizeof(*st));
    q->state = st;
    q->free_state = cl_state_free;
    size_t n = r->elements - 2;
    st->recs = sr_calloc(n + 1, sizeof(*st->recs));
    st->lens = sr_calloc(n + 1, sizeof(*st->lens));
    struct store_complaint c = {.version = store_reply_ll(r->element[0])};
    if (r->element[1]->len > 0) {
        c.record = r->element[1]->str;
        c.len = r->element[1]->len;
    }
    for (size_t i = 0; i < n; i++) {
        if (!store_reply_is_str(r->element[2 + i]))
            continue;
        st->recs[c.n_open] = r->element[2 + i]->str;
        st->lens[c.n_open++] = r->element[2 + i]->len;
    }
    c.open = st->recs;
    c.open_lens = st->lens;
    q->cb.complaint(q->ud, SR_E_OK, &c);
    store_req_finish(q);
}

static const struct store_req_ops cl_ops = {"complaint_load", cl_reply, cl_fail};

void store_complaint_load(struct store *s, const char *ticket, const char *list_unit,
                          store_complaint_cb *cb, void *ud)
{
    struct store_req *q = store_req_new(s, &cl_ops, STORE_CONN_CMD, ud);
    q->cb.complaint = cb;
    int has_t = ticket && ticket[0], has_u = list_unit && list_unit[0];
    q->script = STORE_LUA_COMPLAINT;
    store_req_arg_str(q, "2");
    store_req_arg_take(q, pkey(s, "complaint:", has_t ? ticket : ""));
    store_req_arg_take(q, pkey(s, "open:", has_u ? list_unit : ""));
    store_req_arg_str(q, has_t ? "1" : "0");
    store_req_arg_str(q, has_u ? "1" : "0");
    store_req_arg_take(q, pkey(s, "complaint:", NULL));
    store_req_arg_ll(q, COMPLAINT_LIST_MAX);
    store_req_send(q);
}

/* ---- SLA timers ---- */

static void sla_fail(struct store_req *q, enum sr_err err)
{
    q->cb.sla(q->ud, err, NULL, 0);
    store_req_finish(q);
}

/* Adds one {ticket, kind, due, v, s} group; ticket and kind are NUL-terminated by hiredis. */
static void sla_add(struct store_claimed *c, redisReply **g)
{
    for (int i = 0; i < 5; i++)
        if (!store_reply_is_str(g[i]))
            return;
    struct store_sla_due *d = (struct store_sla_due *)c->items + c->n++;
    d->ticket = store_claimed_name(c, g[0]->str, g[0]->len);
    d->kind = g[1]->str;
    d->due_ms = store_reply_ll(g[2]);
    d->version = store_reply_ll(g[3]);
    d->record = g[4]->str;
    d->len = g[4]->len;
}

static void sla_reply(struct store_req *q, const redisReply *r)
{
    struct store_claimed *c = store_claimed_start(q, r, 5, sizeof(struct store_sla_due), 1);
    if (!c)
        return;
    for (size_t i = 0; i < r->elements; i += 5)
        sla_add(c, &r->element[i]);
    q->cb.sla(q->ud, SR_E_OK, c->items, c->n);
    store_req_finish(q);
}

static const struct store_req_ops sla_ops = {"claim_sla", sla_reply, sla_fail};

void store_claim_sla(struct store *s, int64_t now_ms, int lease_ms, size_t max, store_sla_cb *cb,
                     void *ud)
{
    struct store_req *q = store_req_new(s, &sla_ops, STORE_CONN_CMD, ud);
    q->cb.sla = cb;
    if (lease_ms < 0) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    q->script = STORE_LUA_CLAIM_SLA;
    store_req_arg_str(q, "1");
    store_req_arg_take(q, pkey(s, "sla", NULL));
    store_req_arg_ll(q, (long long)now_ms);
    store_req_arg_ll(q, (long long)now_ms + lease_ms);
    store_req_arg_ll(q, (long long)max);
    store_req_arg_take(q, pkey(s, "complaint:", NULL));
    store_req_send(q);
}

/* ---- the live feed ---- */

/* Called by hiredis for the SUBSCRIBE confirmation and every message; with NULL when the
 * context goes away (disconnect, drop, close): the reconnect subscribes again. */
static void on_feed(redisAsyncContext *ac, void *reply, void *priv)
{
    struct store *s = priv;
    const redisReply *r = reply;
    (void)ac;
    if (!r || s->closing || !s->feed_cb || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    const redisReply *kind = r->element[0], *msg = r->element[2];
    if (!store_reply_is_str(kind) || strcmp(kind->str, "message") != 0 || !store_reply_is_str(msg))
        return;
    s->feed_cb(s->feed_ud, msg->str, msg->len);
}

void store_feed_ready(struct store_conn *c)
{
    struct store *s = c->s;
    if (!c->ac || !s->feed_cb)
        return;
    char *ch = pkey(s, "feed", NULL);
    if (redisAsyncCommand(c->ac, on_feed, s, "SUBSCRIBE %b", ch, strlen(ch)) != REDIS_OK)
        store_conn_drop(c, "SUBSCRIBE failed");
    free(ch);
}

void store_feed_subscribe(struct store *s, store_feed_cb *cb, void *ud)
{
    if (!s || s->closing)
        return;
    struct store_conn *c = &s->conn[STORE_CONN_SUB];
    int had = s->feed_cb != NULL;
    s->feed_cb = cb;
    s->feed_ud = ud;
    if (!cb) {
        if (c->ac)
            store_conn_drop(c, "feed unsubscribed"); /* no reconnect: not wanted any more */
        uv_timer_stop(&c->retry);
        return;
    }
    if (!had)
        store_conn_start(c);
}
