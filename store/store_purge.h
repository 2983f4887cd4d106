/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Erasure of one citizen's operational state in Redis on request (UU 27/2022), for the
 * `suara privacy purge` command. Synchronous (its own hiredis connection): call it from the
 * command line, never from an event loop. The citizen is named by their pseudonym only; every
 * raw address found (session keys, complaint records, outbox entries) is hashed with the same
 * key and compared, so the number itself is never needed here nor printed.
 */
#ifndef STORE_PURGE_H
#define STORE_PURGE_H

#include "store.h"

struct store_purge_report {
    long long sessions;   /* <p>sess:<channel>:<address> keys deleted (with their expiry entry) */
    long long complaints; /* complaint records that lost the number and were re-keyed */
    long long outbox;     /* pending replies to the citizen deleted from <p>outbox */
    long long limits;     /* per-citizen rate-limit keys deleted (<p>rate:<pseudonym>:...) */
};

/* Removes the citizen's sessions, the raw number from their complaint records (whose citizen
 * becomes tombstone), pending outbox entries to them and their rate-limit keys. key: the
 * citizen_hash_key; pseudonym: 64 hex digits; tombstone: what replaces the pseudonym (the same
 * one the evaluation store gets). Idempotent: a second run finds nothing. */
enum sr_err store_purge_citizen(const struct store_conf *conf, const char *key,
                                const char *pseudonym, const char *tombstone,
                                struct store_purge_report *rep, struct sr_errbuf *eb);

#endif
