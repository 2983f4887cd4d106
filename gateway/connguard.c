/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The connection guard (see connguard.h): a process-wide count of open connections per address
 * key, kept in a chained hash table whose entries exist only while their count is above zero (so
 * its size is bounded by max_total), and the per-phase deadline rule.
 *
 * Ownership: the guard owns its table and entries; a struct connguard_conn is made by
 * connguard_admit and freed by connguard_release.
 */
#include "connguard.h"

#include "netaddr.h"
#include "sr_mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *next;
    unsigned char key[16];
    size_t count;
};

struct connguard {
    struct connguard_conf conf;
    pthread_mutex_t mu;
    struct entry **buckets;
    size_t n_buckets; /* a power of two */
    size_t open;
};

static const char *const verdict_names[] = {
#define CG_V_NAME(name, text) text,
    CONNGUARD_REFUSALS(CG_V_NAME)
#undef CG_V_NAME
};

static const char *const phase_names[] = {
#define CG_P_NAME(name, text) text,
    CONNGUARD_PHASES(CG_P_NAME)
#undef CG_P_NAME
};

const char *connguard_verdict_name(enum connguard_verdict v)
{
    return (size_t)v < sizeof(verdict_names) / sizeof(verdict_names[0]) ? verdict_names[v] : "?";
}

const char *connguard_phase_name(enum connguard_phase p)
{
    return (size_t)p < sizeof(phase_names) / sizeof(phase_names[0]) ? phase_names[p] : "?";
}

struct connguard *connguard_new(const struct connguard_conf *conf)
{
    struct connguard *g = sr_calloc(1, sizeof(*g));
    g->conf = *conf;
    g->n_buckets = 64;
    while (g->n_buckets < conf->max_total && g->n_buckets < (1u << 16))
        g->n_buckets *= 2;
    g->buckets = sr_calloc(g->n_buckets, sizeof(*g->buckets));
    pthread_mutex_init(&g->mu, NULL);
    return g;
}

void connguard_free(struct connguard *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_buckets; i++)
        while (g->buckets[i]) {
            struct entry *e = g->buckets[i];
            g->buckets[i] = e->next;
            free(e);
        }
    free(g->buckets);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

/* FNV-1a over the key. */
static size_t bucket_of(const struct connguard *g, const unsigned char key[16])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h & (g->n_buckets - 1);
}

static struct entry **find(struct connguard *g, const unsigned char key[16])
{
    struct entry **pe = &g->buckets[bucket_of(g, key)];
    while (*pe && memcmp((*pe)->key, key, 16) != 0)
        pe = &(*pe)->next;
    return pe;
}

/* Locked: checks both caps and, when they allow it, counts the connection. */
static enum connguard_verdict count_in(struct connguard *g, const unsigned char key[16], int proxy)
{
    size_t cap = proxy ? g->conf.max_per_proxy : g->conf.max_per_address;
    if (g->open >= g->conf.max_total)
        return CONNGUARD_TOTAL;
    struct entry **pe = find(g, key);
    if (*pe && cap && (*pe)->count >= cap)
        return CONNGUARD_PER_ADDRESS;
    if (!*pe) {
        *pe = sr_calloc(1, sizeof(**pe));
        memcpy((*pe)->key, key, 16);
    }
    (*pe)->count++;
    g->open++;
    return CONNGUARD_OK;
}

enum connguard_verdict connguard_admit(struct connguard *g, const struct sockaddr *sa,
                                       int64_t now_ms, struct connguard_conn **out)
{
    unsigned char key[16];
    *out = NULL;
    unsigned char a[16];
    if (netaddr_from_sockaddr(sa, a) == 0)
        netaddr_throttle_net(a, key); /* the same identity the request throttles use */
    else
        memset(key, 0, sizeof(key)); /* not an IP peer: only the total applies, under key :: */
    int proxy = g->conf.is_proxy && g->conf.is_proxy(sa, g->conf.is_proxy_ud);
    pthread_mutex_lock(&g->mu);
    enum connguard_verdict v = count_in(g, key, proxy);
    pthread_mutex_unlock(&g->mu);
    if (v != CONNGUARD_OK)
        return v;
    struct connguard_conn *c = sr_calloc(1, sizeof(*c));
    memcpy(c->key, key, sizeof(key));
    c->proxy = proxy;
    connguard_set_phase(c, CONNGUARD_P_HEADER, now_ms);
    *out = c;
    return CONNGUARD_OK;
}

void connguard_release(struct connguard *g, struct connguard_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&g->mu);
    struct entry **pe = find(g, c->key);
    struct entry *e = *pe;
    if (e && --e->count == 0) {
        *pe = e->next;
        free(e);
    }
    g->open--;
    pthread_mutex_unlock(&g->mu);
    free(c);
}

size_t connguard_open(struct connguard *g)
{
    pthread_mutex_lock(&g->mu);
    size_t n = g->open;
    pthread_mutex_unlock(&g->mu);
    return n;
}

void connguard_set_phase(struct connguard_conn *c, enum connguard_phase p, int64_t now_ms)
{
    c->phase = p;
    c->phase_start_ms = now_ms;
    c->body_bytes = 0;
}

void connguard_body(struct connguard_conn *c, size_t n)
{
    c->body_bytes += n;
}

void connguard_silent(const struct connguard *g, struct connguard_conn *c, int64_t now_ms)
{
    int64_t grace = CONNGUARD_SILENT_GRACE_MS < g->conf.header_ms ? CONNGUARD_SILENT_GRACE_MS
                                                                  : g->conf.header_ms;
    connguard_set_phase(c, CONNGUARD_P_HEADER, now_ms - g->conf.header_ms + grace);
}

int connguard_expired(const struct connguard *g, const struct connguard_conn *c, int64_t now_ms)
{
    int64_t t = now_ms - c->phase_start_ms;
    switch (c->phase) {
    case CONNGUARD_P_HEADER:
        return t >= g->conf.header_ms;
    case CONNGUARD_P_IDLE:
        return t >= g->conf.idle_ms;
    case CONNGUARD_P_BODY:
        /* below the minimum average rate once the grace period is over */
        return g->conf.body_min_rate && t >= g->conf.body_grace_ms &&
               c->body_bytes * 1000u < g->conf.body_min_rate * (uint64_t)t;
    default:
        return 0;
    }
}
