/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process: what every worker shares read-only (config, channels with their handlers, the
 * dialog engine, the officer registry, metrics, the writer) and the workers themselves. A worker
 * is one thread with one libuv loop, one libwebsockets context listening on the shared port
 * (SO_REUSEPORT), one Redis store, one sender and the idle-expiry sweeper.
 */
#ifndef APP_H
#define APP_H

#include "config.h"
#include "connguard.h"
#include "dialog.h"
#include "evalstore.h"
#include "handler.h"
#include "metrics.h"
#include "store.h"
#include "writer.h"

#include <stddef.h>
#include <stdint.h>

/* A configured channel with its handler resolved once at start-up. */
struct app_channel {
    size_t index; /* position in the config, for metrics */
    const struct sr_channel_conf *conf;
    const struct handler *handler;
};

struct app {
    const struct config *cfg;
    struct app_channel *channels;
    size_t n_channels;
    const struct dialog_engine *dialogs;
    struct evalstore_registry *registry;
    struct metrics *metrics;
    struct writer *writer; /* NULL when the writer is off (tests) */
    int n_workers;
    const struct worktime *worktime; /* calendar and SLA rules */
    const struct roster *roster;     /* on-duty shifts of complaint officers (may be empty) */
    struct throttle *throttle;       /* failed guesses of secrets by client (throttle.h) */
    struct connguard *conns;         /* connection caps and deadlines (connguard.h) */
    const char *officer_channel;     /* channel name officers are messaged on */
    struct spool *spool;             /* the inbound spool (spool.h); NULL in some tests */
    const char *redis_unsafe; /* why Redis is not durable, when [redis] allow_unsafe let us start */
};

/* Finds a channel by its route name; NULL if unknown. */
const struct app_channel *app_channel_find(const struct app *a, const char *name, size_t len);

/* Pseudonym of a citizen address: hex HMAC-SHA256(citizen_hash_key, address). */
void app_citizen_hash(const struct app *a, const char *address, char out[65]);
/* A provider message id as stored everywhere (events, dedupe of statuses, SQLite): its keyed
 * hash "h:<64 hex>" (sr_pseudo_provider_id). out: SR_PSEUDO_ID_LEN bytes. */
void app_provider_id_hash(const struct app *a, const char *id, char out[67]);

/* The Redis connection settings of cfg ([redis], and the [privacy] retention the commit script
 * applies), on store_conf_defaults: the one mapping for the gateway, the sweeps and the commands.
 */
void app_store_conf(const struct config *cfg, struct store_conf *sc);
/* Wall-clock unix milliseconds (timeouts, lags). */
int64_t app_now_ms(void);
/* "Now" for the domain: dialog steps, idle expiry, SLA deadlines. The real clock, or the time
 * held in [server] clock_file (tests and drills move it to reach deadlines on purpose). */
int64_t app_domain_now(const struct app *a);
/* A fresh complaint ticket: 6 characters from an alphabet without 0/O/1/I. out: 7 bytes. */
void app_new_ticket(char out[7]);
/* The dialog environment: registry lookups, idle time, calendar, officer channel. */
struct dialog_env app_dialog_env(const struct app *a);

struct worker;

/* Starts worker thread idx. NULL on failure (eb filled: e.g. the port is taken). */
struct worker *worker_start(struct app *a, int idx, struct sr_errbuf *eb);
/* Asks a worker to drain (finish in-flight requests and sends, then close). Thread-safe. */
void worker_request_stop(struct worker *w);
/* Joins the thread and frees the worker. NULL is fine. */
void worker_join(struct worker *w);

#endif
