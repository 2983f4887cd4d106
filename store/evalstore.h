/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The evaluation store: SQLite (WAL) holding the registry (units, officers) and everything that
 * happened (events, surveys and their answers, message statuses, send outcomes). Citizens appear
 * only as the keyed hash the gateway computed. Synchronous: call it from the writer thread, the
 * CLI or a worker thread, never from an event loop.
 *
 * Event JSON (written by dialogs/ and the gateway; every event has "id", "type", "at" unix ms):
 *   survey_started    channel citizen session survey officer unit language
 *   survey_completed  ... + started_at answers {element: 1..4} comment (string|null); marks
 *                     the citizen's surveys of that officer counted or set aside (see
 *                     evalstore_set_rating_period)
 *   survey_cancelled  channel citizen session survey officer unit started_at
 *   survey_abandoned  channel citizen session survey officer unit started_at (idle expiry)
 *   message_status    channel provider_id status error_code (string|null)
 *   reply_sent        channel outbox_id provider_id attempts http_status
 *   reply_failed      channel outbox_id attempts http_status error
 * Complaint events (every one also has "ticket" and "unit"; each gets a complaint_events row
 * {id, ticket, type, at, officer, wall_ms, work_ms} and updates the one complaints row):
 *   complaint_opened        category officer(code|null) citizen channel language
 *                           due_first_response due_resolution (unix ms)
 *   complaint_acknowledged  officer wall_ms work_ms: the first response; sets first_response_*
 *                           only if unset, sla_first_response_met = at <= due_first_response,
 *                           state open -> acknowledged
 *   complaint_replied       officer (history only)
 *   complaint_resolved      officer wall_ms work_ms note?: sets resolved_*, resolution_*_ms,
 *                           sla_resolution_met = at <= due_resolution, state resolved
 *   complaint_reopened      [due_resolution]: state open, reopen_count + 1, and the resolution
 *                           columns (resolved_at/by, resolution_*_ms, sla_resolution_met) are
 *                           CLEARED so the row always holds the resolution that stuck, measured
 *                           from opened_at (an early "resolved" cannot stop the clock); earlier
 *                           resolutions stay in complaint_events. The first response is kept.
 *                           A given due_resolution (the recomputed deadline) replaces the old.
 *   complaint_closed        -: state closed, closed_at
 *   complaint_rated         value 1..4 (element U8): rating
 *   sla_breached            kind "first_response"|"resolution", due: breached_<kind> = 1 (sticky:
 *                           "ever breached", also across a reopen), sla_<kind>_met = 0 if unset
 * Out of order is tolerated: any complaint event creates a minimal row (ticket, unit, state open)
 * when complaint_opened has not been applied yet; complaint_opened then fills it in and
 * evaluates an already recorded first response against its deadline. Durations are the
 * producer's (dialogs: opened -> event, wall clock and working time).
 * Unknown types are kept in the events table only (forward compatible).
 */
#ifndef EVALSTORE_H
#define EVALSTORE_H

#include "sr_error.h"
#include "sr_types.h"

#include <stddef.h>
#include <stdint.h>

struct evalstore;

enum evalstore_mode { EVALSTORE_READ, EVALSTORE_WRITE };

/* Opens (and in WRITE mode creates / migrates the schema of) the database at path; WAL,
 * busy_timeout, foreign keys on. NULL on error with eb filled. */
struct evalstore *evalstore_open(const char *path, enum evalstore_mode mode, struct sr_errbuf *eb);
/* The same with the [privacy] citizen_hash_key (copied), which the schema 5 migration needs to
 * hash the provider ids an older database holds raw. The gateway and CLI always open this way;
 * without a key, migrating a database that holds raw ids fails and says so. */
struct evalstore *evalstore_open_keyed(const char *path, enum evalstore_mode mode,
                                       const char *id_key, struct sr_errbuf *eb);
void evalstore_close(struct evalstore *es); /* NULL is fine */

/* Applies a batch of event JSON strings in ONE transaction, idempotent by event id (an event
 * already present changes nothing). *applied counts the new ones. A malformed event is
 * recorded in the events table with type "invalid" and skipped, never blocking the batch. */
enum sr_err evalstore_apply(struct evalstore *es, const char *const *events, const size_t *lens,
                            size_t n, size_t *applied, struct sr_errbuf *eb);

struct evalstore_import_report {
    size_t units_added, officers_added, officers_updated, rows_rejected;
};
/* Imports officers from CSV with a header row:
 *   nip,code,name,unit_code,unit_name,phone[,role]
 * NIP must be exactly 18 digits, code 2-16 of [A-Za-z0-9-], name and unit non-empty, phone
 * digits (optionally +), role officer | complaint | supervisor (optional column; absent or empty
 * = officer). Columns may come in any order. All rows or none: any rejected row aborts with
 * SR_E_INVALID and eb naming the line and field. Upsert by code. */
enum sr_err evalstore_import_officers(struct evalstore *es, const char *csv_path,
                                      struct evalstore_import_report *rep, struct sr_errbuf *eb);

/* The officer registry, loaded once, read-only, shareable between threads. */
struct evalstore_registry;
enum sr_err evalstore_registry_load(struct evalstore *es, struct evalstore_registry **out,
                                    struct sr_errbuf *eb);
void evalstore_registry_free(struct evalstore_registry *r);
size_t evalstore_registry_count(const struct evalstore_registry *r);
/* Case-insensitive lookup by code; has the shape of dialog_env.officer_lookup (ud = registry). */
const struct sr_officer *evalstore_registry_lookup(void *registry, const char *code);
/* The shapes of dialog_env's complaint members (ud = registry); results borrowed from it.
 * by_phone compares digits only ("+62 800-00" finds "6280000"). units: every unit, sorted by
 * code. unit_handlers: the unit's role "complaint" officers, sorted by code, at most max.
 * unit_supervisor: the unit's first role "supervisor" officer by code, or NULL. */
const struct sr_officer *evalstore_registry_by_phone(void *registry, const char *phone);
size_t evalstore_registry_units(void *registry, const struct sr_unit **out);
size_t evalstore_registry_unit_handlers(void *registry, const char *unit,
                                        const struct sr_officer **out, size_t max);
const struct sr_officer *evalstore_registry_unit_supervisor(void *registry, const char *unit);

/* Records a service visit of a citizen (pseudonym) to an officer at at_ms: the first rating of
 * that officer by that citizen started in the 7 days after is verified (one visit verifies one
 * rating) and counted; the pair's marks are recomputed in the same transaction. */
enum sr_err evalstore_record_visit(struct evalstore *es, const char *officer_code,
                                   const char *citizen, int64_t at_ms, struct sr_errbuf *eb);

/* Ratings: one completed survey per citizen per officer counts in the statistics per period of
 * this many days (30 by default; a survey verified by a visit always counts); the repeats are
 * kept with surveys.counted = 0 and reported as set aside (evalstore_ratings.c has the rule).
 * Applies to marks computed from now on (the schema migration used the default). */
void evalstore_set_rating_period(struct evalstore *es, int days);
/* ---- privacy (evalstore_privacy.c) ---- */

/* Retention of provider ids: deletes message statuses recorded before before_ms and clears the
 * (hashed) provider id of replies sent before it. *n = rows changed. */
enum sr_err evalstore_prune_provider_ids(struct evalstore *es, int64_t before_ms, long long *n,
                                         struct sr_errbuf *eb);

/* A fresh random tombstone "erased:<32 hex>" that replaces an erased citizen's pseudonym. */
#define EVALSTORE_TOMBSTONE_LEN 40
void evalstore_new_tombstone(char out[EVALSTORE_TOMBSTONE_LEN]);

struct evalstore_purge_report {
    long long surveys, comments, complaints, visits, events; /* rows changed per kind */
};
/* Erasure on request, in one transaction: every row linked to pseudonym (surveys, complaints,
 * visits, events) is re-keyed to tombstone, so the rows still count in the period's figures as
 * one anonymous respondent but nobody can find them from the number; free-text survey comments
 * are erased (also from event bodies). Idempotent: a second run changes nothing. */
enum sr_err evalstore_purge_citizen(struct evalstore *es, const char *pseudonym,
                                    const char *tombstone, struct evalstore_purge_report *rep,
                                    struct sr_errbuf *eb);

/* SELECT 1 on the connection: 0 if reachable. */
int evalstore_ping(struct evalstore *es);

#endif
