/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading Redis replies, in one place for every store operation: string and integer fields, and
 * the state of a "claim" request (a script that hands back due items in fixed-size groups: expired
 * sessions, SLA deadlines, complaint numbers due for removal). The claimed items point into the
 * reply or into name copies that live as long as the request.
 */
#include "store_int.h"

#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>

int store_reply_is_str(const redisReply *r)
{
    return r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS;
}

long long store_reply_ll(const redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type != REDIS_REPLY_STRING || !r->str)
        return 0;
    char *end = NULL;
    long long v = strtoll(r->str, &end, 10);
    if (end && *end) /* a score like "1.7e+12" */
        v = (long long)strtod(r->str, NULL);
    return v;
}

static void claimed_free(void *p)
{
    struct store_claimed *c = p;
    if (!c)
        return;
    for (size_t i = 0; i < c->n_names; i++)
        free(c->names[i]);
    free(c->names);
    free(c->items);
    free(c);
}

struct store_claimed *store_claimed_start(struct store_req *q, const redisReply *r, size_t group,
                                          size_t item_size, size_t names_per_item)
{
    if (r->type == REDIS_REPLY_ERROR) {
        q->ops->fail(q, store_reply_err(q, r));
        return NULL;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements % group) {
        q->ops->fail(q, SR_E_INTERNAL);
        return NULL;
    }
    struct store_claimed *c = sr_calloc(1, sizeof(*c));
    size_t groups = r->elements / group;
    c->items = sr_calloc(groups + 1, item_size);
    c->names = sr_calloc(groups * names_per_item + 1, sizeof(*c->names));
    q->state = c;
    q->free_state = claimed_free;
    return c;
}

const char *store_claimed_name(struct store_claimed *c, const char *s, size_t len)
{
    c->names[c->n_names] = sr_strndup(s, len);
    return c->names[c->n_names++];
}
