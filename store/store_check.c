/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The start-up check that Redis keeps what it acknowledges: "200 means durable" holds only with
 * appendonly yes (every write in the AOF) and maxmemory-policy noeviction (nothing evicted to
 * make room). Read with CONFIG GET; where CONFIG is renamed or disabled (managed Redis), from
 * INFO persistence (aof_enabled) and INFO memory (maxmemory_policy). The verdict is the
 * caller's (main.c): refuse to start, or warn under [redis] allow_unsafe.
 */
#include "store_int.h"

#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>

/* CONFIG GET name -> its value into out; -1 when CONFIG is not usable. */
static int config_get(redisContext *rc, const char *name, char *out, size_t n)
{
    redisReply *r = redisCommand(rc, "CONFIG GET %s", name);
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
             r->element[1]->type == REDIS_REPLY_STRING;
    if (ok)
        snprintf(out, n, "%s", r->element[1]->str);
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

/* The value of "field:" in INFO section into out; -1 when not there. */
static int info_field(redisContext *rc, const char *section, const char *field, char *out, size_t n)
{
    redisReply *r = redisCommand(rc, "INFO %s", section);
    int found = -1;
    size_t fl = strlen(field);
    for (const char *p = r && r->type == REDIS_REPLY_STRING ? r->str : NULL; p && *p;) {
        size_t line = strcspn(p, "\r\n");
        if (line > fl && strncmp(p, field, fl) == 0 && p[fl] == ':') {
            size_t vl = line - fl - 1;
            snprintf(out, n, "%.*s", (int)(vl < n ? vl : n - 1), p + fl + 1);
            found = 0;
            break;
        }
        p += line;
        p += strspn(p, "\r\n");
    }
    if (r)
        freeReplyObject(r);
    return found;
}

static void read_appendonly(redisContext *rc, struct store_durability *d)
{
    char v[32];
    if (config_get(rc, "appendonly", v, sizeof(v)) == 0) {
        d->appendonly = strcmp(v, "yes") == 0;
        d->source = "CONFIG GET";
    } else if (info_field(rc, "persistence", "aof_enabled", v, sizeof(v)) == 0) {
        d->appendonly = strcmp(v, "1") == 0;
        d->source = "INFO";
    }
    if (config_get(rc, "appendfsync", v, sizeof(v)) == 0)
        snprintf(d->appendfsync, sizeof(d->appendfsync), "%s", v);
}

static void read_policy(redisContext *rc, struct store_durability *d)
{
    char v[sizeof(d->maxmemory_policy)];
    if (config_get(rc, "maxmemory-policy", v, sizeof(v)) == 0 ||
        info_field(rc, "memory", "maxmemory_policy", v, sizeof(v)) == 0)
        snprintf(d->maxmemory_policy, sizeof(d->maxmemory_policy), "%s", v);
}

enum sr_err store_check_durability(const struct store_conf *conf, struct store_durability *d,
                                   struct sr_errbuf *eb)
{
    *d = (struct store_durability){.appendonly = -1, .source = "none"};
    redisContext *rc = store_connect_sync(conf, eb);
    if (!rc)
        return SR_E_UNAVAILABLE;
    read_appendonly(rc, d);
    read_policy(rc, d);
    redisFree(rc);
    return SR_E_OK;
}
