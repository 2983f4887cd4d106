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
    X(OFFICER_PUT, "INSERT INTO officers(code, nip, name, unit_code, phone, active, updated_at) "  \
                   "VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6) "                                           \
                   "ON CONFLICT(code) DO UPDATE SET nip = excluded.nip, name = excluded.name, "    \
                   "unit_code = excluded.unit_code, phone = excluded.phone, active = 1, "          \
                   "updated_at = excluded.updated_at")                                             \
    X(REGISTRY_ALL, "SELECT o.code, o.nip, o.name, o.unit_code, u.name, o.phone "                  \
                    "FROM officers o JOIN units u ON u.code = o.unit_code WHERE o.active = 1")     \
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
};

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
