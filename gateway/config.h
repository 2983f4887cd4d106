/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration: one INI file (parsed by inih), described by ONE table of keys in config.c
 * (section, key, type, bounds, default, secret?, help). Every key can be overridden by an
 * environment variable derived from its name: SUARA_<SECTION>_<KEY>, upper-cased, '.' and '-'
 * as '_' (e.g. [channel.wa] app_secret -> SUARA_CHANNEL_WA_APP_SECRET). Errors name the file,
 * line and key. The loaded config is const and passed explicitly.
 *
 * Sections: [server] [redis] [store] [privacy] [dialog] [limits] [sender] and one [channel.<name>]
 * per channel (keys: the fields of struct sr_channel_conf; type is required).
 */
#ifndef CONFIG_H
#define CONFIG_H

#include "sr_error.h"
#include "sr_log.h"
#include "sr_types.h"

#include <stdio.h>

struct netaddr_net;

struct config {
    const char *path; /* file it came from */
    struct {
        const char *listen;          /* address, "127.0.0.1" default */
        int port;                    /* 8080 */
        int workers;                 /* 0 = one per core */
        int max_header_bytes;        /* 8192 */
        int body_limit;              /* default per-channel body limit, 65536 */
        int idle_timeout_s;          /* 30: idle / slow clients are dropped */
        const char *log_level;       /* "info" */
        const char *data_dir;        /* dialogs data folder */
        const char *clock_file;      /* tests and drills only: file holding "now" in unix ms */
        const char *trust_proxy;     /* "no", "yes" (loopback) or addresses / CIDR networks */
        struct netaddr_net *proxies; /* trust_proxy parsed (netaddr.h); owned */
        size_t n_proxies;
        int throttle_failures; /* guessed-secret failures per address before 429 */
        int throttle_window_s; /* ... counted within this window */
        int throttle_block_s;  /* ... then refused this long */

        /* connection guard (connguard.h); idle_timeout_s above is its keep-alive wait */
        int header_timeout_s;            /* 10: first request head complete after the accept */
        int body_min_rate_bytes;         /* 1024 bytes/s average after body_grace_s; 0 off */
        int body_grace_s;                /* 5 */
        int max_connections;             /* 4096 open in the process (all workers) */
        int max_connections_per_address; /* 64 per IPv4 address / IPv6 /64 */
        int max_connections_per_proxy;   /* 0: trusted proxies only count against the total */

        /* the inbound spool (spool.h) */
        const char *spool_dir;  /* "" = "spool" beside [store] sqlite_path */
        size_t spool_max_bytes; /* 256 MiB */
    } server;
    struct {
        const char *host;   /* "127.0.0.1" */
        int port;           /* 6379 */
        const char *socket; /* "" = use host:port */
        int db;
        const char *prefix;     /* "suara:" */
        int session_ttl_s;      /* 86400 */
        int dedupe_ttl_s;       /* 604800, minimum 604800 */
        int command_timeout_ms; /* 2000 */
        int allow_unsafe;       /* start against a Redis without AOF / noeviction (warned) */
    } redis;
    struct {
        const char *sqlite_path; /* "var/suara.db" */
    } store;
    struct {
        const char *citizen_hash_key; /* secret, >= 16 bytes; HMAC key for citizen pseudonyms */
        int number_retention_s;       /* 604800: raw number kept after a complaint's resolution */
        int complaint_record_ttl_s;   /* 2592000: complaint record expiry after that */
        int provider_id_retention_s;  /* 7776000: statuses / hashed provider ids in SQLite */
        int aof_rewrite_interval_s;   /* 86400: BGREWRITEAOF schedule; 0 = never */
    } privacy;
    struct {
        int session_idle_s;           /* 1800 */
        const char *default_language; /* "id" */
        const char *officer_channel;  /* channel officers are messaged on; "" = first */
        int rating_period_days;       /* 30: one counted rating per citizen, officer, period */
    } dialog;
    struct {
        int messages_per_window;         /* 20 per citizen number; 0 = no limit */
        int window_s;                    /* 60 */
        int officer_messages_per_window; /* registry officers' numbers; 0 = no limit */
    } limits;
    struct {
        int timeout_ms;         /* 30000 per attempt */
        int max_attempts;       /* 0: no cap, the useful window decides */
        int max_in_flight;      /* 64 per worker */
        int backoff_min_ms;     /* 500 */
        int backoff_max_ms;     /* 30000 */
        int retry_after_max_ms; /* 600000 */
        int retry_window_s;     /* 86400: non-WhatsApp replies */
        int lease_ms;           /* 15000 */
        int breaker_failures;   /* 5 */
        int breaker_open_ms;    /* 5000 */
    } sender;
    struct sr_channel_conf *channels;
    size_t n_channels;
};

/* Loads and validates path, then applies environment overrides. On error returns SR_E_CONFIG
 * with eb like "suara.ini:12: [redis] port: must be between 1 and 65535". */
enum sr_err config_load(const char *path, struct config **out, struct sr_errbuf *eb);
void config_free(struct config *c); /* NULL is fine */

const struct sr_channel_conf *config_channel(const struct config *c, const char *name);

/* Prints every key with type, default, bounds and help (for `suara config-help`). Secrets are
 * marked, their values never printed. */
void config_print_help(FILE *out);

#endif
