/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to the evaluation store (evalstore*.c only, not part of the module's API): the
 * connection struct, the table of cached prepared statements and small SQLite helpers shared by
 * the schema, event and officer files.
 */
#ifndef EVALSTORE_INT_H
#define EVALSTORE_INT_H

#include "evalstore.h"

#include <sqlite3.h>
#include <stdint.h>

/* Every statement the store runs more than once; prepared lazily, cached on the struct. */
#define ES_STMTS(X)                                                                                \
    X(EVENT_INSERT, "INSERT OR IGNORE INTO events(id, type, at, channel, citizen, body) "          \
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                             \
    X(SURVEY_START, "INSERT OR IGNORE INTO surveys(session, survey, officer_code, unit_code, "     \
                    "channel, citizen, language, started_at, status) "                             \
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'started')")                          \
    X(SURVEY_COMPLETE,                                                                             \
      "INSERT INTO surveys(session, survey, officer_code, unit_code, channel, citizen, language, " \
      "started_at, completed_at, ended_at, status, comment) "                                      \
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 'completed', ?10) "                         \
      "ON CONFLICT(session) DO UPDATE SET status = 'completed', "                                  \
      "survey = coalesce(excluded.survey, survey), "                                               \
      "officer_code = coalesce(excluded.officer_code, officer_code), "                             \
      "unit_code = coalesce(excluded.unit_code, unit_code), "                                      \
      "channel = coalesce(excluded.channel, channel), "                                            \
      "citizen = coalesce(excluded.citizen, citizen), "                                            \
      "language = coalesce(excluded.language, language), "                                         \
      "started_at = coalesce(started_at, excluded.started_at), "                                   \
      "completed_at = excluded.completed_at, ended_at = excluded.ended_at, "                       \
      "comment = excluded.comment")                                                                \
    X(ANSWER_PUT, "INSERT OR REPLACE INTO survey_answers(session, element, value) "                \
                  "VALUES (?1, ?2, ?3)")                                                           \
    X(SURVEY_END,                                                                                  \
      "INSERT INTO surveys(session, survey, officer_code, unit_code, channel, citizen, "           \
      "started_at, ended_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "                 \
      "ON CONFLICT(session) DO UPDATE SET status = excluded.status, "                              \
      "ended_at = excluded.ended_at WHERE surveys.status <> 'completed'")                          \
    X(STATUS_PUT, "INSERT OR IGNORE INTO message_statuses(provider_id, status, at, error_code, "   \
                  "channel) VALUES (?1, ?2, ?3, ?4, ?5)")                                          \
    X(DELIVERY_PUT,                                                                                \
      "INSERT INTO deliveries(outbox_id, channel, provider_id, outcome, attempts, http_status, "   \
      "error, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "                                        \
      "ON CONFLICT(outbox_id) DO UPDATE SET channel = excluded.channel, "                          \
      "provider_id = excluded.provider_id, outcome = excluded.outcome, "                           \
      "attempts = excluded.attempts, http_status = excluded.http_status, "                         \
      "error = excluded.error, at = excluded.at WHERE excluded.at >= deliveries.at")               \
    X(UNIT_GET, "SELECT 1 FROM units WHERE code = ?1")                                             \
    X(UNIT_PUT, "INSERT INTO units(code, name) VALUES (?1, ?2) "                                   \
                "ON CONFLICT(code) DO UPDATE SET name = excluded.name")                            \
    X(OFFICER_GET, "SELECT 1 FROM officers WHERE code = ?1")                                       \
    X(OFFICER_NIP_OWNER, "SELECT code FROM officers WHERE nip = ?1 AND code <> ?2")                \
    X(OFFICER_PUT, "INSERT INTO officers(code, nip, name, unit_code, phone, active, updated_at, "  \
                   "role) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7) "                                 \
                   "ON CONFLICT(code) DO UPDATE SET nip = excluded.nip, name = excluded.name, "    \
                   "unit_code = excluded.unit_code, phone = excluded.phone, active = 1, "          \
                   "updated_at = excluded.updated_at, role = excluded.role")                       \
    X(REGISTRY_ALL, "SELECT o.code, o.nip, o.name, o.unit_code, u.name, o.phone, o.role "          \
                    "FROM officers o JOIN units u ON u.code = o.unit_code WHERE o.active = 1")     \
    X(UNITS_ALL, "SELECT code, name FROM units ORDER BY code")                                     \
    X(CX_EVENT, "INSERT OR IGNORE INTO complaint_events(id, ticket, type, at, officer_code, "      \
                "wall_ms, work_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                           \
    X(CX_ENSURE, "INSERT OR IGNORE INTO complaints(ticket, unit_code) VALUES (?1, ?2)")            \
    X(CX_OPENED,                                                                                   \
      "UPDATE complaints SET unit_code = coalesce(?2, unit_code), category = ?3, "                 \
      "officer_code = ?4, citizen = ?5, channel = ?6, language = ?7, opened_at = ?8, "             \
      "due_first_response = ?9, due_resolution = coalesce(due_resolution, ?10), "                  \
      "sla_first_response_met = CASE WHEN first_response_at IS NULL OR ?9 IS NULL "                \
      "THEN sla_first_response_met ELSE first_response_at <= ?9 END, "                             \
      "sla_resolution_met = CASE WHEN resolved_at IS NULL OR ?10 IS NULL OR reopen_count > 0 "     \
      "THEN sla_resolution_met ELSE resolved_at <= ?10 END WHERE ticket = ?1")                     \
    X(CX_ACKNOWLEDGED, "UPDATE complaints SET first_response_at = ?2, first_response_by = ?3, "    \
                       "first_response_wall_ms = ?4, first_response_work_ms = ?5, "                \
                       "sla_first_response_met = CASE WHEN due_first_response IS NULL THEN NULL "  \
                       "ELSE ?2 <= due_first_response END, "                                       \
                       "state = CASE WHEN state = 'open' THEN 'acknowledged' ELSE state END "      \
                       "WHERE ticket = ?1 AND first_response_at IS NULL")                          \
    X(CX_RESOLVED,                                                                                 \
      "UPDATE complaints SET resolved_at = ?2, resolved_by = ?3, resolution_wall_ms = ?4, "        \
      "resolution_work_ms = ?5, sla_resolution_met = CASE WHEN due_resolution IS NULL "            \
      "THEN NULL ELSE ?2 <= due_resolution END, "                                                  \
      "state = CASE WHEN state = 'closed' THEN state ELSE 'resolved' END WHERE ticket = ?1")       \
    X(CX_REOPENED,                                                                                 \
      "UPDATE complaints SET state = CASE WHEN state = 'closed' THEN state ELSE 'open' END, "      \
      "reopen_count = reopen_count + 1, resolved_at = NULL, resolved_by = NULL, "                  \
      "resolution_wall_ms = NULL, resolution_work_ms = NULL, sla_resolution_met = NULL, "          \
      "due_resolution = coalesce(?2, due_resolution) WHERE ticket = ?1")                           \
    X(CX_CLOSED, "UPDATE complaints SET state = 'closed', closed_at = ?2 WHERE ticket = ?1")       \
    X(CX_RATED, "UPDATE complaints SET rating = ?2 WHERE ticket = ?1")                             \
    X(CX_BREACHED,                                                                                 \
      "UPDATE complaints SET "                                                                     \
      "breached_first_response = breached_first_response OR ?2 = 'first_response', "               \
      "breached_resolution = breached_resolution OR ?2 = 'resolution', "                           \
      "sla_first_response_met = CASE WHEN ?2 = 'first_response' "                                  \
      "THEN coalesce(sla_first_response_met, 0) ELSE sla_first_response_met END, "                 \
      "sla_resolution_met = CASE WHEN ?2 = 'resolution' "                                          \
      "THEN coalesce(sla_resolution_met, 0) ELSE sla_resolution_met END WHERE ticket = ?1")        \
    X(RATING_SURVEYS, "SELECT session, coalesce(started_at, completed_at) AS t FROM surveys "      \
                      "WHERE citizen = ?1 AND officer_code = ?2 AND status = 'completed' "         \
                      "ORDER BY t, session")                                                       \
    X(RATING_VISITS, "SELECT id, at FROM visits WHERE citizen = ?1 AND officer_code = ?2 "         \
                     "ORDER BY at, id")                                                            \
    X(RATING_MARK, "UPDATE surveys SET counted = ?2, verified_by = ?3 WHERE session = ?1 "         \
                   "AND (counted IS NOT ?2 OR verified_by IS NOT ?3)")                             \
    X(SURVEY_PAIR, "SELECT citizen, officer_code FROM surveys WHERE session = ?1")                 \
    X(PING, "SELECT 1")

enum es_stmt_id {
#define ES_STMT_ENUM(name, sql) ES_##name,
    ES_STMTS(ES_STMT_ENUM)
#undef ES_STMT_ENUM
        ES__STMT_COUNT
};

/* One SQLite connection. Not shareable between threads at the same time. */
struct evalstore {
    sqlite3 *db;
    enum evalstore_mode mode;
    sqlite3_stmt *stmt[ES__STMT_COUNT]; /* owned, finalized by evalstore_close */
    int64_t rating_period_ms;           /* evalstore_set_rating_period; 30 days by default */
    char *id_key; /* owned copy of the provider-id HMAC key, NULL if none was given */
};

/* A recorded visit verifies a rating started this long after it at most. */
#define ES_VISIT_WINDOW_MS (7 * 86400000LL)
#define ES_RATING_PERIOD_DEFAULT_DAYS 30

/* ---- counted ratings (evalstore_ratings.c); inside the caller's transaction ---- */
/* Recomputes counted / verified_by of every completed survey of one citizen and officer. */
enum sr_err es_ratings_recount(struct evalstore *es, const char *citizen, const char *officer,
                               struct sr_errbuf *eb);
/* The same for the pair of one survey (nothing if it has no citizen or officer). */
enum sr_err es_ratings_recount_session(struct evalstore *es, const char *session,
                                       struct sr_errbuf *eb);
/* The same for every pair (the schema migration that introduced the marks). */
enum sr_err es_ratings_recount_all(struct evalstore *es, struct sr_errbuf *eb);

/* ---- privacy (evalstore_privacy.c) ---- */
/* The schema 5 migration step: provider ids hashed (uses the functions below). */
extern const char es_migration_hash_provider_ids[];
/* Registers suara_id_hash(id) and suara_event_id(id, channel) on the connection, keyed with
 * es->id_key (without a key they fail on any value they would have to hash). */
enum sr_err es_register_privacy(struct evalstore *es, struct sr_errbuf *eb);

/* The cached statement, reset and with bindings cleared; NULL with eb filled on error. The
 * statement stays owned by es. */
sqlite3_stmt *es_stmt(struct evalstore *es, enum es_stmt_id id, struct sr_errbuf *eb);
/* Runs SQL without results; SR_E_IO with the SQLite message in eb on error. */
enum sr_err es_exec(struct evalstore *es, const char *sql, struct sr_errbuf *eb);
/* Fills eb with "<what>: <sqlite message>" and returns SR_E_IO. */
enum sr_err es_sql_err(struct evalstore *es, const char *what, struct sr_errbuf *eb);
/* Steps a write statement to completion: SR_E_OK or SR_E_IO. */
enum sr_err es_step_done(struct evalstore *es, sqlite3_stmt *st, const char *what,
                         struct sr_errbuf *eb);
/* Binds a string, or NULL when s is NULL. */
int es_bind_str(sqlite3_stmt *st, int idx, const char *s);
/* Rolls back the open transaction, if any (errors ignored: the caller reports the first one). */
void es_rollback(struct evalstore *es);
/* Wall time in unix ms, for record timestamps (updated_at), never for logic. */
int64_t es_now_ms(void);

#endif
