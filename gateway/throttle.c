/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guessed-secret throttle (throttle.h): a fixed table of slots behind one mutex. A new
 * failing key takes the slot whose window started longest ago, so the table never grows; the
 * lock is held for one scan of THROTTLE_SLOTS short strings.
 */
#include "throttle.h"

#include "sr_mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
    char key[64];
    int failures;
    uint64_t window_start, blocked_until;
};

struct throttle {
    pthread_mutex_t mu;
    int failures;
    uint64_t window_ms, block_ms;
    struct slot slot[THROTTLE_SLOTS];
};

struct throttle *throttle_new(int failures, uint64_t window_ms, uint64_t block_ms)
{
    struct throttle *t = sr_calloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    t->failures = failures > 0 ? failures : 1;
    t->window_ms = window_ms;
    t->block_ms = block_ms;
    return t;
}

void throttle_free(struct throttle *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* The slot of key (creating it, evicting the stalest, if asked), or NULL. Lock held. */
static struct slot *slot_of(struct throttle *t, const char *key, int create)
{
    size_t oldest = 0;
    for (size_t i = 0; i < THROTTLE_SLOTS; i++) {
        if (strcmp(t->slot[i].key, key) == 0)
            return &t->slot[i];
        if (t->slot[i].window_start < t->slot[oldest].window_start)
            oldest = i;
    }
    if (!create)
        return NULL;
    struct slot *s = &t->slot[oldest];
    memset(s, 0, sizeof(*s));
    snprintf(s->key, sizeof(s->key), "%s", key);
    return s;
}

unsigned throttle_wait_s(struct throttle *t, const char *key, uint64_t now_ms)
{
    pthread_mutex_lock(&t->mu);
    struct slot *s = slot_of(t, key, 0);
    unsigned wait =
        s && s->blocked_until > now_ms ? (unsigned)((s->blocked_until - now_ms + 999) / 1000) : 0;
    pthread_mutex_unlock(&t->mu);
    return wait;
}

int throttle_record(struct throttle *t, const char *key, int failed, uint64_t now_ms)
{
    int started = 0;
    pthread_mutex_lock(&t->mu);
    struct slot *s = slot_of(t, key, failed);
    if (s && !failed) {
        s->failures = 0;
    } else if (s) {
        if (s->failures == 0 || now_ms - s->window_start > t->window_ms) {
            s->window_start = now_ms;
            s->failures = 0;
        }
        if (++s->failures >= t->failures) {
            s->blocked_until = now_ms + t->block_ms;
            s->failures = 0;
            started = 1;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return started;
}
