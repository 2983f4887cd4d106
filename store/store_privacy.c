/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The privacy retention operations of the Redis store: claiming complaints whose raw number has
 * been kept long enough after resolution (<p>scrub, filled by the commit script), removing that
 * number from the record (version-checked, then the record expires), and the AOF rewrite
 * schedule, so numbers deleted from memory also leave the append-only file on disk.
 */
#include "store_int.h"

#include "sr_mem.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char *pkey(struct store *s, const char *a, const char *b)
{
    return sr_asprintf("%s%s%s", s->prefix, a, b ? b : "");
}

char *store_record_forget(const char *record, size_t len, const char *tombstone)
{
    json_t *o = json_loadb(record ? record : "", record ? len : 0, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    int changed = json_object_del(o, "to") == 0;
    if (tombstone) {
        const char *c = json_string_value(json_object_get(o, "citizen"));
        if (!c || strcmp(c, tombstone) != 0) {
            json_object_set_new(o, "citizen", json_string(tombstone));
            changed = 1;
        }
    }
    char *out = changed ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return out;
}

/* ---- claim ---- */

static void claim_fail(struct store_req *q, enum sr_err err)
{
    q->cb.scrub(q->ud, err, NULL, 0);
    store_req_finish(q);
}

/* Reply: flat {ticket, v, s} groups; the records are borrowed from the reply. */
static void claim_reply(struct store_req *q, const redisReply *r)
{
    struct store_claimed *c = store_claimed_start(q, r, 3, sizeof(struct store_scrub_due), 1);
    if (!c)
        return;
    for (size_t i = 0; i < r->elements; i += 3) {
        redisReply **g = &r->element[i];
        if (!store_reply_is_str(g[0]) || !store_reply_is_str(g[1]) || !store_reply_is_str(g[2]))
            continue;
        struct store_scrub_due *d = (struct store_scrub_due *)c->items + c->n++;
        d->ticket = store_claimed_name(c, g[0]->str, g[0]->len);
        d->version = strtoll(g[1]->str, NULL, 10);
        d->record = g[2]->str;
        d->len = g[2]->len;
    }
    q->cb.scrub(q->ud, SR_E_OK, c->items, c->n);
    store_req_finish(q);
}

static const struct store_req_ops claim_ops = {"claim_scrub", claim_reply, claim_fail};

void store_claim_scrub(struct store *s, int64_t now_ms, int lease_ms, size_t max,
                       store_scrub_cb *cb, void *ud)
{
    struct store_req *q = store_req_new(s, &claim_ops, STORE_CONN_CMD, ud);
    q->cb.scrub = cb;
    if (lease_ms < 0) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    q->script = STORE_LUA_CLAIM_SCRUB;
    store_req_arg_str(q, "1");
    store_req_arg_take(q, pkey(s, "scrub", NULL));
    store_req_arg_ll(q, (long long)now_ms);
    store_req_arg_ll(q, (long long)now_ms + lease_ms);
    store_req_arg_ll(q, (long long)max);
    store_req_arg_take(q, pkey(s, "complaint:", NULL));
    store_req_send(q);
}

/* ---- scrub one record ---- */

static void done_fail(struct store_req *q, enum sr_err err)
{
    q->cb.done(q->ud, err);
    store_req_finish(q);
}

static void done_reply(struct store_req *q, const redisReply *r)
{
    done_fail(q, r->type == REDIS_REPLY_ERROR ? store_reply_err(q, r) : SR_E_OK);
}

static const struct store_req_ops scrub_ops = {"complaint_scrub", done_reply, done_fail};

void store_complaint_scrub(struct store *s, const struct store_scrub_due *item, store_done_cb *cb,
                           void *ud)
{
    struct store_req *q = store_req_new(s, &scrub_ops, STORE_CONN_CMD, ud);
    q->cb.done = cb;
    if (!item || !item->ticket || !item->ticket[0]) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    char *rec = store_record_forget(item->record, item->len, NULL);
    q->script = STORE_LUA_FORGET;
    store_req_arg_str(q, "2");
    store_req_arg_take(q, pkey(s, "complaint:", item->ticket));
    store_req_arg_take(q, pkey(s, "scrub", NULL));
    store_req_arg_ll(q, item->version);
    store_req_arg_take(q, rec ? rec : sr_strdup(""));
    store_req_arg_str(q, item->ticket);
    store_req_arg_ll(q, s->conf.complaint_record_ttl_s > 0 ? s->conf.complaint_record_ttl_s : 1);
    store_req_send(q);
}

/* ---- AOF rewrite schedule ---- */

static void aof_fail(struct store_req *q, enum sr_err err)
{
    q->cb.aof(q->ud, err, 0);
    store_req_finish(q);
}

/* Two steps on one request: the SET NX answer (aux 0), then BGREWRITEAOF's (aux 1). */
static void aof_reply(struct store_req *q, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        aof_fail(q, store_reply_err(q, r));
        return;
    }
    if (q->aux == 0 && r->type == REDIS_REPLY_NIL) {
        q->cb.aof(q->ud, SR_E_OK, 0); /* not due yet */
        store_req_finish(q);
        return;
    }
    if (q->aux == 0) {
        q->aux = 1;
        store_req_clear_args(q);
        store_req_arg_str(q, "BGREWRITEAOF");
        store_req_send(q);
        return;
    }
    q->cb.aof(q->ud, SR_E_OK, 1);
    store_req_finish(q);
}

static const struct store_req_ops aof_ops = {"aof_rewrite", aof_reply, aof_fail};

void store_aof_rewrite_due(struct store *s, int interval_s, store_aof_cb *cb, void *ud)
{
    struct store_req *q = store_req_new(s, &aof_ops, STORE_CONN_CMD, ud);
    q->cb.aof = cb;
    if (interval_s <= 0) {
        store_req_fail_later(q, SR_E_INVALID);
        return;
    }
    store_req_arg_str(q, "SET");
    store_req_arg_take(q, pkey(s, "aof-rewrite", NULL));
    store_req_arg_str(q, "1");
    store_req_arg_str(q, "NX");
    store_req_arg_str(q, "EX");
    store_req_arg_ll(q, interval_s);
    store_req_send(q);
}
