/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Privacy in the evaluation store: the SQL functions that hash provider message ids with the
 * [privacy] key (registered on every connection, used by the schema 5 migration that hashes the
 * ids older versions stored raw), pruning of statuses and sent-reply ids past their retention,
 * and the erasure of a citizen on request: their rows are re-keyed to a random tombstone and
 * their free-text comments erased (see the README, "Privacy", for why).
 */
#include "evalstore_int.h"

#include "sr_mem.h"
#include "sr_pseudo.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* Schema 4: provider message ids (WhatsApp ids encode the citizen's number) are kept only as
 * their keyed hash, also inside event ids and bodies. Data only, no DDL besides an index for the
 * retention prune, so it is safe to run on a database of any size in one transaction. */
const char es_migration_hash_provider_ids[] =
    "UPDATE OR REPLACE message_statuses SET provider_id = suara_id_hash(provider_id);"
    "UPDATE deliveries SET provider_id = suara_id_hash(provider_id) WHERE provider_id IS NOT NULL;"
    "UPDATE events SET body = json_set(body, '$.provider_id', "
    "  suara_id_hash(json_extract(body, '$.provider_id'))) "
    "  WHERE json_valid(body) AND json_type(body, '$.provider_id') = 'text';"
    "UPDATE OR REPLACE complaint_events SET id = suara_event_id(id, "
    "  (SELECT e.channel FROM events e WHERE e.id = complaint_events.id));"
    "UPDATE OR REPLACE events SET id = suara_event_id(id, channel), body = CASE "
    "  WHEN json_valid(body) AND json_type(body, '$.id') = 'text' "
    "  THEN json_set(body, '$.id', suara_event_id(json_extract(body, '$.id'), channel)) "
    "  ELSE body END WHERE channel IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS message_statuses_at ON message_statuses(at);"
    "CREATE INDEX IF NOT EXISTS deliveries_provider ON deliveries(provider_id);";

/* suara_id_hash(id): the stored form of a provider id; NULL stays NULL, a hashed id stays. */
static void fn_id_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *key = sqlite3_user_data(ctx);
    const char *id = (const char *)sqlite3_value_text(argv[0]);
    if (!id || sr_pseudo_is_provider_id(id)) {
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    if (!key) {
        sqlite3_result_error(ctx, "hashing provider ids needs [privacy] citizen_hash_key", -1);
        return;
    }
    char h[SR_PSEUDO_ID_LEN];
    sr_pseudo_provider_id(key, id, h);
    sqlite3_result_text(ctx, h, -1, SQLITE_TRANSIENT);
}

/* The event id with its provider id part hashed, as the gateway makes them now:
 * "<ch>:status:<pid>:<status>" and "<ch>:<pid>#<n>"; sweep ids ("<ch>:expire:...") and ids
 * already hashed are returned unchanged. Heap string or NULL (unchanged). */
static char *rekey_event_id(const char *key, const char *id, const char *ch)
{
    size_t cl = strlen(ch);
    if (strncmp(id, ch, cl) != 0 || id[cl] != ':')
        return NULL;
    const char *rest = id + cl + 1, *status = "status:", *cut;
    int is_status = strncmp(rest, status, strlen(status)) == 0;
    if (is_status)
        rest += strlen(status);
    else if (strncmp(rest, "expire:", 7) == 0)
        return NULL;
    cut = strrchr(rest, is_status ? ':' : '#');
    if (!cut || cut == rest)
        return NULL;
    char *pid = sr_strndup(rest, (size_t)(cut - rest)), h[SR_PSEUDO_ID_LEN];
    int done = sr_pseudo_is_provider_id(pid);
    sr_pseudo_provider_id(key, pid, h);
    free(pid);
    return done ? NULL : sr_asprintf("%s:%s%s%s", ch, is_status ? status : "", h, cut);
}

/* suara_event_id(id, channel) */
static void fn_event_id(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *key = sqlite3_user_data(ctx);
    const char *id = (const char *)sqlite3_value_text(argv[0]);
    const char *ch = (const char *)sqlite3_value_text(argv[1]);
    char *out = id && ch && key ? rekey_event_id(key, id, ch) : NULL;
    if (!out && id && ch && !key && rekey_event_id("", id, ch)) {
        sqlite3_result_error(ctx, "hashing provider ids needs [privacy] citizen_hash_key", -1);
        return;
    }
    if (out)
        sqlite3_result_text(ctx, out, -1, free);
    else
        sqlite3_result_value(ctx, argv[0]);
}

enum sr_err es_register_privacy(struct evalstore *es, struct sr_errbuf *eb)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    if (sqlite3_create_function(es->db, "suara_id_hash", 1, flags, es->id_key, fn_id_hash, NULL,
                                NULL) != SQLITE_OK ||
        sqlite3_create_function(es->db, "suara_event_id", 2, flags, es->id_key, fn_event_id, NULL,
                                NULL) != SQLITE_OK)
        return es_sql_err(es, "register privacy functions", eb);
    return SR_E_OK;
}

/* Runs one counted write; adds its changes to *n. */
static enum sr_err run_count(struct evalstore *es, const char *sql, const char *a, const char *b,
                             long long *n, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(es->db, sql, -1, &st, NULL) != SQLITE_OK)
        return es_sql_err(es, "prepare", eb);
    es_bind_str(st, 1, a);
    if (b)
        es_bind_str(st, 2, b);
    enum sr_err e = es_step_done(es, st, "privacy", eb);
    if (e == SR_E_OK && n)
        *n += sqlite3_changes(es->db);
    sqlite3_finalize(st);
    return e;
}

enum sr_err evalstore_prune_provider_ids(struct evalstore *es, int64_t before_ms, long long *n,
                                         struct sr_errbuf *eb)
{
    char cut[24];
    snprintf(cut, sizeof(cut), "%lld", (long long)before_ms);
    long long count = 0;
    enum sr_err e = es_exec(es, "BEGIN IMMEDIATE", eb);
    if (e == SR_E_OK)
        e = run_count(es, "DELETE FROM message_statuses WHERE at < CAST(?1 AS INTEGER)", cut, NULL,
                      &count, eb);
    if (e == SR_E_OK)
        e = run_count(es,
                      "UPDATE deliveries SET provider_id = NULL "
                      "WHERE provider_id IS NOT NULL AND at < CAST(?1 AS INTEGER)",
                      cut, NULL, &count, eb);
    if (e == SR_E_OK)
        e = es_exec(es, "COMMIT", eb);
    if (e != SR_E_OK)
        es_rollback(es);
    if (n)
        *n = e == SR_E_OK ? count : 0;
    return e;
}

void evalstore_new_tombstone(char out[EVALSTORE_TOMBSTONE_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char r[16];
    if (RAND_bytes(r, sizeof(r)) != 1)
        abort(); /* no randomness: a guessable tombstone would undo the erasure */
    memcpy(out, "erased:", 7);
    for (int i = 0; i < 16; i++) {
        out[7 + 2 * i] = hex[r[i] >> 4];
        out[8 + 2 * i] = hex[r[i] & 15];
    }
    out[39] = '\0';
}

/* The erasure statements, in order: comments first (they are found by the pseudonym), then
 * every link from the pseudonym to a row. ?1 = pseudonym, ?2 = tombstone. */
static const struct {
    size_t off; /* counter in struct evalstore_purge_report */
    const char *sql;
} purge_steps[] = {
    {offsetof(struct evalstore_purge_report, comments),
     "UPDATE surveys SET comment = NULL WHERE citizen = ?1 AND comment IS NOT NULL"},
    {offsetof(struct evalstore_purge_report, surveys),
     "UPDATE surveys SET citizen = ?2 WHERE citizen = ?1"},
    {offsetof(struct evalstore_purge_report, complaints),
     "UPDATE complaints SET citizen = ?2 WHERE citizen = ?1"},
    {offsetof(struct evalstore_purge_report, visits),
     "UPDATE visits SET citizen = ?2 WHERE citizen = ?1"},
    {offsetof(struct evalstore_purge_report, events),
     "UPDATE events SET citizen = ?2, body = CASE WHEN json_valid(body) THEN "
     "json_replace(json_set(body, '$.citizen', ?2), '$.comment', NULL) ELSE body END "
     "WHERE citizen = ?1"},
};

enum sr_err evalstore_purge_citizen(struct evalstore *es, const char *pseudonym,
                                    const char *tombstone, struct evalstore_purge_report *rep,
                                    struct sr_errbuf *eb)
{
    *rep = (struct evalstore_purge_report){0};
    if (!pseudonym || !*pseudonym || !tombstone || !*tombstone)
        return sr_errf(eb, SR_E_INVALID, "purge: a pseudonym and a tombstone are required");
    enum sr_err e = es_exec(es, "BEGIN IMMEDIATE", eb);
    for (size_t i = 0; e == SR_E_OK && i < sizeof(purge_steps) / sizeof(purge_steps[0]); i++)
        e = run_count(es, purge_steps[i].sql, pseudonym, tombstone,
                      (long long *)((char *)rep + purge_steps[i].off), eb);
    if (e == SR_E_OK)
        e = es_exec(es, "COMMIT", eb);
    if (e != SR_E_OK) {
        es_rollback(es);
        *rep = (struct evalstore_purge_report){0};
    }
    return e;
}
