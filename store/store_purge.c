/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `suara privacy purge` on the Redis side: SCANs the key families that can hold a citizen's
 * address (sessions, complaint records, the outbox, rate-limit windows), matches by pseudonym,
 * and removes what matches. Record rewrites go through the same version-checked script as the
 * retention scrub (store_lua.c, lua_forget), so a concurrent commit is never overwritten: a
 * record that moved on is read and tried again.
 */
#include "store_purge.h"

#include "store_int.h"

#include "sr_mem.h"
#include "sr_pseudo.h"
#include "sr_types.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_COUNT "500"
#define FORGET_TRIES 5

struct purge {
    redisContext *rc;
    const struct store_conf *conf;
    const char *key, *pseudonym, *tombstone;
    struct store_purge_report *rep;
    struct sr_errbuf *eb;
    enum sr_err err; /* the first failure */
};

static int matches(const struct purge *p, const char *address)
{
    char h[SR_PSEUDO_LEN];
    sr_pseudo_citizen(p->key, address, h);
    return strcmp(h, p->pseudonym) == 0;
}

static redisReply *cmd(struct purge *p, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(p->rc, argc, argv, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        p->err = sr_errf(p->eb, SR_E_UNAVAILABLE, "redis %s: %s", argv[0],
                         r                  ? r->str
                         : p->rc->errstr[0] ? p->rc->errstr
                                            : "no reply");
        if (r)
            freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Calls fn for every key matching pattern (SCAN ... MATCH). -1 on a Redis error. */
static int scan_keys(struct purge *p, const char *pattern,
                     int (*fn)(struct purge *p, const char *k, size_t len))
{
    char *cursor = sr_strdup("0");
    int rc = 0;
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT};
        redisReply *r = cmd(p, 6, argv);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            rc = -1;
            if (r)
                freeReplyObject(r);
            break;
        }
        free(cursor);
        cursor = sr_strdup(r->element[0]->str);
        for (size_t i = 0; rc == 0 && i < r->element[1]->elements; i++)
            rc = fn(p, r->element[1]->element[i]->str, r->element[1]->element[i]->len);
        freeReplyObject(r);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    free(cursor);
    return rc;
}

/* ---- sessions: <p>sess:<channel>:<address> ---- */

static int purge_session(struct purge *p, const char *k, size_t len)
{
    size_t pre = strlen(p->conf->prefix) + strlen("sess:");
    const char *rest = k + pre, *colon = len > pre ? strchr(rest, ':') : NULL;
    if (!colon || !matches(p, colon + 1))
        return 0;
    char *member = sr_asprintf("%.*s\x1f%s", (int)(colon - rest), rest, colon + 1);
    char *expiry = sr_asprintf("%sexpiry", p->conf->prefix);
    const char *zrem[] = {"ZREM", expiry, member};
    const char *del[] = {"DEL", k};
    redisReply *a = cmd(p, 3, zrem), *b = a ? cmd(p, 2, del) : NULL;
    int rc = b ? 0 : -1;
    if (b && b->type == REDIS_REPLY_INTEGER && b->integer > 0)
        p->rep->sessions++;
    if (a)
        freeReplyObject(a);
    if (b)
        freeReplyObject(b);
    free(member);
    free(expiry);
    return rc;
}

/* ---- complaint records ---- */

/* 1 if the record belongs to the citizen: its pseudonym, or its raw address hashing to it. */
static int record_is_citizens(const struct purge *p, const char *rec, size_t len)
{
    json_t *o = json_loadb(rec, len, 0, NULL);
    const char *c = json_string_value(json_object_get(o, "citizen"));
    const char *to = json_string_value(json_object_get(o, "to"));
    int mine = (c && strcmp(c, p->pseudonym) == 0) || (to && matches(p, to));
    json_decref(o);
    return mine;
}

/* One version-checked attempt: 1 done (or not the citizen's), 0 conflict, -1 error. */
static int forget_once(struct purge *p, const char *k)
{
    const char *hm[] = {"HMGET", k, "v", "s"};
    redisReply *r = cmd(p, 4, hm);
    if (!r)
        return -1;
    int rc = 1;
    redisReply *v = r->element[0], *s = r->element[1];
    if (r->elements == 2 && v->type == REDIS_REPLY_STRING && s->type == REDIS_REPLY_STRING &&
        record_is_citizens(p, s->str, s->len)) {
        char *rec = store_record_forget(s->str, s->len, p->tombstone);
        char *scrub = sr_asprintf("%sscrub", p->conf->prefix);
        const char *ev[] = {
            "EVAL", store_lua_src[STORE_LUA_FORGET], "2", k, scrub, v->str, rec ? rec : "", "-",
            "0"};
        redisReply *w = cmd(p, 9, ev);
        rc = !w ? -1 : w->type == REDIS_REPLY_INTEGER && w->integer == 1 ? 1 : 0;
        if (rc == 1 && rec)
            p->rep->complaints++;
        if (w)
            freeReplyObject(w);
        free(rec);
        free(scrub);
    }
    freeReplyObject(r);
    return rc;
}

static int purge_complaint(struct purge *p, const char *k, size_t len)
{
    (void)len;
    for (int i = 0; i < FORGET_TRIES; i++) {
        int rc = forget_once(p, k);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
    }
    p->err = sr_errf(p->eb, SR_E_CONFLICT, "a complaint record kept changing; run the purge again");
    return -1;
}

/* ---- the outbox: pending replies addressed to the citizen ---- */

static int purge_outbox_entry(struct purge *p, const char *stream, const redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
        return 0;
    const redisReply *kv = e->element[1];
    int mine = 0;
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        struct sr_reply rp = {0};
        if (strcmp(kv->element[i]->str, "r") == 0 &&
            sr_reply_from_json(&rp, kv->element[i + 1]->str, kv->element[i + 1]->len) == 0)
            mine = rp.to && matches(p, rp.to);
        sr_reply_clear(&rp);
    }
    if (!mine)
        return 0;
    const char *ack[] = {"XACK", stream, "sender", e->element[0]->str};
    const char *del[] = {"XDEL", stream, e->element[0]->str};
    redisReply *a = redisCommandArgv(p->rc, 4, ack, NULL); /* no group yet: an error, harmless */
    if (a)
        freeReplyObject(a);
    redisReply *d = cmd(p, 3, del);
    if (!d)
        return -1;
    p->rep->outbox += d->type == REDIS_REPLY_INTEGER ? d->integer : 0;
    freeReplyObject(d);
    return 0;
}

static int purge_outbox(struct purge *p)
{
    char *stream = sr_asprintf("%soutbox", p->conf->prefix);
    char *from = sr_strdup("-");
    int rc = 0;
    for (;;) {
        const char *argv[] = {"XRANGE", stream, from, "+", "COUNT", SCAN_COUNT};
        redisReply *r = cmd(p, 6, argv);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            rc = r ? 0 : -1;
            if (r)
                freeReplyObject(r);
            break;
        }
        size_t n = r->elements;
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = purge_outbox_entry(p, stream, r->element[i]);
        if (n > 0) {
            free(from);
            from = sr_asprintf("(%s", r->element[n - 1]->element[0]->str); /* exclusive */
        }
        freeReplyObject(r);
        if (rc != 0 || n == 0)
            break;
    }
    free(from);
    free(stream);
    return rc;
}

/* ---- per-citizen keys named by pseudonym ---- */

static int purge_plain_key(struct purge *p, const char *k, size_t len)
{
    (void)len;
    const char *del[] = {"DEL", k};
    redisReply *r = cmd(p, 2, del);
    if (!r)
        return -1;
    p->rep->limits += r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return 0;
}

redisContext *store_connect_sync(const struct store_conf *c, struct sr_errbuf *eb)
{
    struct timeval t = {2, 0};
    redisContext *rc = c->unix_socket && c->unix_socket[0]
                           ? redisConnectUnixWithTimeout(c->unix_socket, t)
                           : redisConnectWithTimeout(c->host, c->port, t);
    if (!rc || rc->err) {
        sr_errf(eb, SR_E_UNAVAILABLE, "redis connect: %s", rc ? rc->errstr : "no memory");
        redisFree(rc);
        return NULL;
    }
    redisSetTimeout(rc, t);
    redisReply *r = c->db ? redisCommand(rc, "SELECT %d", c->db) : NULL;
    int bad = c->db && (!r || r->type == REDIS_REPLY_ERROR);
    if (r)
        freeReplyObject(r);
    if (bad) {
        sr_errf(eb, SR_E_UNAVAILABLE, "redis: SELECT %d failed", c->db);
        redisFree(rc);
        return NULL;
    }
    return rc;
}

enum sr_err store_purge_citizen(const struct store_conf *conf, const char *key,
                                const char *pseudonym, const char *tombstone,
                                struct store_purge_report *rep, struct sr_errbuf *eb)
{
    *rep = (struct store_purge_report){0};
    if (!conf || !conf->prefix || !key || !pseudonym || strlen(pseudonym) != 64 || !tombstone)
        return sr_errf(eb, SR_E_INVALID, "purge: a key, a 64-hex pseudonym and a tombstone");
    struct purge p = {
        store_connect_sync(conf, eb), conf, key, pseudonym, tombstone, rep, eb, SR_E_OK};
    if (!p.rc)
        return SR_E_UNAVAILABLE;
    char *sess = sr_asprintf("%ssess:*", conf->prefix);
    char *cx = sr_asprintf("%scomplaint:*", conf->prefix);
    char *rate = sr_asprintf("%srate:%s:*", conf->prefix, pseudonym);
    int rc = scan_keys(&p, sess, purge_session);
    if (rc == 0)
        rc = scan_keys(&p, cx, purge_complaint);
    if (rc == 0)
        rc = purge_outbox(&p);
    if (rc == 0)
        rc = scan_keys(&p, rate, purge_plain_key);
    free(sess);
    free(cx);
    free(rate);
    redisFree(p.rc);
    return rc == 0 ? SR_E_OK : p.err != SR_E_OK ? p.err : SR_E_INTERNAL;
}
