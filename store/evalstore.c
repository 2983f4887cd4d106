/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The evaluation store's connection: opening SQLite with the pragmas the writer and the readers
 * rely on (WAL, synchronous=NORMAL, busy_timeout, foreign keys), the schema as a table of
 * migration steps versioned with PRAGMA user_version, the prepared-statement cache and the small
 * helpers shared by evalstore_events.c and evalstore_officers.c.
 */
#include "evalstore_int.h"

#include "sr_mem.h"

#include <stdlib.h>
#include <time.h>

/* Migration steps: step i brings the schema from user_version i to i + 1. Append only. */
static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE units ("
    "  code TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL);"
    "CREATE TABLE officers ("
    "  code TEXT PRIMARY KEY COLLATE NOCASE,"
    "  nip TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  unit_code TEXT NOT NULL REFERENCES units(code),"
    "  phone TEXT,"
    "  active INTEGER NOT NULL DEFAULT 1,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX officers_unit ON officers(unit_code);"
    "CREATE TABLE events ("
    "  id TEXT PRIMARY KEY,"
    "  type TEXT NOT NULL,"
    "  at INTEGER,"
    "  channel TEXT,"
    "  citizen TEXT,"
    "  body TEXT NOT NULL);"
    "CREATE INDEX events_type_at ON events(type, at);"
    "CREATE TABLE surveys ("
    "  session TEXT PRIMARY KEY,"
    "  survey TEXT,"
    "  officer_code TEXT COLLATE NOCASE,"
    "  unit_code TEXT,"
    "  channel TEXT,"
    "  citizen TEXT,"
    "  language TEXT,"
    "  started_at INTEGER,"
    "  completed_at INTEGER,"
    "  ended_at INTEGER,"
    "  status TEXT NOT NULL"
    "    CHECK (status IN ('started', 'completed', 'cancelled', 'abandoned')),"
    "  comment TEXT);"
    "CREATE INDEX surveys_officer ON surveys(officer_code, completed_at);"
    "CREATE INDEX surveys_unit ON surveys(unit_code, completed_at);"
    "CREATE INDEX surveys_status ON surveys(status, started_at);"
    "CREATE TABLE survey_answers ("
    "  session TEXT NOT NULL REFERENCES surveys(session) ON DELETE CASCADE,"
    "  element TEXT NOT NULL,"
    "  value INTEGER NOT NULL CHECK (value BETWEEN 1 AND 4),"
    "  PRIMARY KEY (session, element));"
    "CREATE TABLE message_statuses ("
    "  provider_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  at INTEGER,"
    "  error_code TEXT,"
    "  channel TEXT,"
    "  PRIMARY KEY (provider_id, status));"
    "CREATE TABLE deliveries ("
    "  outbox_id TEXT PRIMARY KEY,"
    "  channel TEXT,"
    "  provider_id TEXT,"
    "  outcome TEXT NOT NULL,"
    "  attempts INTEGER,"
    "  http_status INTEGER,"
    "  error TEXT,"
    "  at INTEGER);"
    "CREATE INDEX deliveries_at ON deliveries(at);",
    /* 2: complaints (one row per ticket, its timed life; every step in complaint_events), the
     * officers' role, and the API / feed tokens with their audit log */
    "ALTER TABLE officers ADD COLUMN role TEXT NOT NULL DEFAULT 'officer'"
    "  CHECK (role IN ('officer', 'complaint', 'supervisor'));"
    "CREATE INDEX officers_unit_role ON officers(unit_code, role);"
    "CREATE TABLE complaints ("
    "  ticket TEXT PRIMARY KEY,"
    "  unit_code TEXT,"
    "  category TEXT,"
    "  officer_code TEXT COLLATE NOCASE,"
    "  citizen TEXT,"
    "  channel TEXT,"
    "  language TEXT,"
    "  opened_at INTEGER,"
    "  due_first_response INTEGER,"
    "  due_resolution INTEGER,"
    "  first_response_at INTEGER,"
    "  first_response_by TEXT COLLATE NOCASE,"
    "  first_response_wall_ms INTEGER,"
    "  first_response_work_ms INTEGER,"
    "  resolved_at INTEGER,"
    "  resolved_by TEXT COLLATE NOCASE,"
    "  resolution_wall_ms INTEGER,"
    "  resolution_work_ms INTEGER,"
    "  closed_at INTEGER,"
    "  state TEXT NOT NULL DEFAULT 'open'"
    "    CHECK (state IN ('open', 'acknowledged', 'resolved', 'closed')),"
    "  reopen_count INTEGER NOT NULL DEFAULT 0,"
    "  rating INTEGER CHECK (rating BETWEEN 1 AND 4),"
    "  sla_first_response_met INTEGER,"
    "  sla_resolution_met INTEGER,"
    "  breached_first_response INTEGER NOT NULL DEFAULT 0,"
    "  breached_resolution INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX complaints_unit ON complaints(unit_code, opened_at);"
    "CREATE INDEX complaints_category ON complaints(category, opened_at);"
    "CREATE INDEX complaints_opened ON complaints(opened_at);"
    "CREATE INDEX complaints_state ON complaints(state, opened_at);"
    "CREATE INDEX complaints_fr_by ON complaints(first_response_by, first_response_at);"
    "CREATE INDEX complaints_res_by ON complaints(resolved_by, resolved_at);"
    "CREATE TABLE complaint_events ("
    "  id TEXT PRIMARY KEY,"
    "  ticket TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  officer_code TEXT COLLATE NOCASE,"
    "  wall_ms INTEGER,"
    "  work_ms INTEGER);"
    "CREATE INDEX complaint_events_ticket ON complaint_events(ticket, at);"
    "CREATE INDEX complaint_events_officer ON complaint_events(officer_code, type, at);"
    "CREATE INDEX complaint_events_type ON complaint_events(type, at);"
    "CREATE TABLE tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  hash TEXT UNIQUE NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'officer')),"
    "  officer_code TEXT,"
    "  unit_code TEXT,"
    "  label TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER,"
    "  last_used_at INTEGER);"
    "CREATE TABLE audit_log ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  token_id INTEGER,"
    "  action TEXT NOT NULL,"
    "  detail TEXT);"
    "CREATE INDEX audit_log_at ON audit_log(at);",
    /* 3: recorded service visits (verified ratings); indexes for the statistics */
    "CREATE TABLE visits ("
    "  id INTEGER PRIMARY KEY,"
    "  officer_code TEXT NOT NULL COLLATE NOCASE,"
    "  citizen TEXT NOT NULL,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX visits_citizen ON visits(citizen, officer_code, at);"
    "CREATE INDEX surveys_completed ON surveys(completed_at);"
    "CREATE INDEX surveys_started ON surveys(started_at);",
    /* 4: one counted rating per citizen per officer per visit or period (issue 8): repeats are
     * kept but set aside (counted = 0); verified_by is the one visit that verified a rating.
     * Existing rows are marked by the fixup below. */
    "ALTER TABLE surveys ADD COLUMN counted INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE surveys ADD COLUMN verified_by INTEGER;"
    "CREATE INDEX surveys_pair ON surveys(citizen, officer_code, started_at);"
    "CREATE INDEX surveys_set_aside ON surveys(counted, completed_at);",
    /* 5: provider message ids only as keyed hashes (evalstore_privacy.c) */
    es_migration_hash_provider_ids,
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Data steps run after migration step i's SQL, in its transaction (NULL: none). */
typedef enum sr_err migration_fixup(struct evalstore *es, struct sr_errbuf *eb);
static migration_fixup *const fixups[SCHEMA_VERSION] = {[3] = es_ratings_recount_all};

static const char *const stmt_sql[ES__STMT_COUNT] = {
#define ES_STMT_SQL(name, sql) [ES_##name] = sql,
    ES_STMTS(ES_STMT_SQL)
#undef ES_STMT_SQL
};

enum sr_err es_sql_err(struct evalstore *es, const char *what, struct sr_errbuf *eb)
{
    return sr_errf(eb, SR_E_IO, "%s: %s", what, es && es->db ? sqlite3_errmsg(es->db) : "no db");
}

enum sr_err es_exec(struct evalstore *es, const char *sql, struct sr_errbuf *eb)
{
    char *msg = NULL;
    if (sqlite3_exec(es->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return SR_E_OK;
    enum sr_err e = sr_errf(eb, SR_E_IO, "sqlite: %s", msg ? msg : sqlite3_errmsg(es->db));
    sqlite3_free(msg);
    return e;
}

sqlite3_stmt *es_stmt(struct evalstore *es, enum es_stmt_id id, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es->stmt[id];
    if (!st) {
        if (sqlite3_prepare_v3(es->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
            SQLITE_OK) {
            es_sql_err(es, "prepare", eb);
            return NULL;
        }
        es->stmt[id] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

enum sr_err es_step_done(struct evalstore *es, sqlite3_stmt *st, const char *what,
                         struct sr_errbuf *eb)
{
    int rc = sqlite3_step(st);
    enum sr_err e = rc == SQLITE_DONE || rc == SQLITE_ROW ? SR_E_OK : es_sql_err(es, what, eb);
    sqlite3_reset(st);
    return e;
}

int es_bind_str(sqlite3_stmt *st, int idx, const char *s)
{
    return s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, idx);
}

void es_rollback(struct evalstore *es)
{
    if (!sqlite3_get_autocommit(es->db))
        sqlite3_exec(es->db, "ROLLBACK", NULL, NULL, NULL);
}

int64_t es_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int user_version(struct evalstore *es)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(es->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Applies the missing migration steps, each in its own transaction with its version bump. */
static enum sr_err migrate(struct evalstore *es, struct sr_errbuf *eb)
{
    for (;;) {
        if (es_exec(es, "BEGIN IMMEDIATE", eb) != SR_E_OK)
            return SR_E_IO;
        int v = user_version(es); /* re-read under the write lock: another process may migrate */
        if (v < 0 || v > SCHEMA_VERSION) {
            es_rollback(es);
            return sr_errf(eb, SR_E_IO, "evalstore: schema version %d unknown (this build: %d)", v,
                           SCHEMA_VERSION);
        }
        if (v == SCHEMA_VERSION)
            return es_exec(es, "COMMIT", eb);
        char *bump = sr_asprintf("PRAGMA user_version = %d", v + 1);
        enum sr_err e = es_exec(es, migrations[v], eb);
        if (e == SR_E_OK && fixups[v])
            e = fixups[v](es, eb);
        if (e == SR_E_OK)
            e = es_exec(es, bump, eb);
        if (e == SR_E_OK)
            e = es_exec(es, "COMMIT", eb);
        free(bump);
        if (e != SR_E_OK) {
            es_rollback(es);
            return e;
        }
    }
}

static enum sr_err check_version(struct evalstore *es, struct sr_errbuf *eb)
{
    int v = user_version(es);
    if (v == SCHEMA_VERSION)
        return SR_E_OK;
    return sr_errf(eb, SR_E_IO, "evalstore: schema version %d, this build needs %d", v,
                   SCHEMA_VERSION);
}

static enum sr_err configure(struct evalstore *es, struct sr_errbuf *eb)
{
    sqlite3_busy_timeout(es->db, 5000);
    if (es_exec(es, "PRAGMA foreign_keys = ON", eb) != SR_E_OK ||
        es_register_privacy(es, eb) != SR_E_OK)
        return SR_E_IO;
    if (es->mode == EVALSTORE_READ)
        return check_version(es, eb);
    if (es_exec(es, "PRAGMA journal_mode = WAL", eb) != SR_E_OK ||
        es_exec(es, "PRAGMA synchronous = NORMAL", eb) != SR_E_OK)
        return SR_E_IO;
    return migrate(es, eb);
}

struct evalstore *evalstore_open(const char *path, enum evalstore_mode mode, struct sr_errbuf *eb)
{
    return evalstore_open_keyed(path, mode, NULL, eb);
}

struct evalstore *evalstore_open_keyed(const char *path, enum evalstore_mode mode,
                                       const char *id_key, struct sr_errbuf *eb)
{
    struct evalstore *es = sr_calloc(1, sizeof(*es));
    es->mode = mode;
    es->rating_period_ms = ES_RATING_PERIOD_DEFAULT_DAYS * 86400000LL;
    es->id_key = id_key ? sr_strdup(id_key) : NULL;
    int flags =
        mode == EVALSTORE_WRITE ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (!path || sqlite3_open_v2(path, &es->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sr_errf(eb, SR_E_IO, "evalstore: cannot open %s: %s", path ? path : "(null)",
                es->db ? sqlite3_errmsg(es->db) : "no path");
        goto fail;
    }
    sqlite3_extended_result_codes(es->db, 1);
    if (configure(es, eb) != SR_E_OK)
        goto fail;
    return es;
fail:
    evalstore_close(es);
    return NULL;
}

void evalstore_close(struct evalstore *es)
{
    if (!es)
        return;
    for (int i = 0; i < ES__STMT_COUNT; i++)
        sqlite3_finalize(es->stmt[i]);
    sqlite3_close(es->db);
    free(es->id_key);
    free(es);
}

static enum sr_err insert_visit(struct evalstore *es, const char *officer_code, const char *citizen,
                                int64_t at_ms, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(es->db,
                           "INSERT INTO visits (officer_code, citizen, at) VALUES (?1, ?2, ?3)", -1,
                           &st, NULL) != SQLITE_OK)
        return es_sql_err(es, "prepare visit", eb);
    es_bind_str(st, 1, officer_code);
    es_bind_str(st, 2, citizen);
    sqlite3_bind_int64(st, 3, at_ms);
    enum sr_err e = es_step_done(es, st, "insert visit", eb);
    sqlite3_finalize(st);
    return e;
}

enum sr_err evalstore_record_visit(struct evalstore *es, const char *officer_code,
                                   const char *citizen, int64_t at_ms, struct sr_errbuf *eb)
{
    if (!officer_code || !*officer_code || !citizen || !*citizen || at_ms <= 0)
        return sr_errf(eb, SR_E_INVALID, "a visit needs an officer, a citizen and a time");
    if (es_exec(es, "BEGIN IMMEDIATE", eb) != SR_E_OK)
        return SR_E_IO;
    enum sr_err e = insert_visit(es, officer_code, citizen, at_ms, eb);
    if (e == SR_E_OK)
        e = es_ratings_recount(es, citizen, officer_code, eb);
    if (e == SR_E_OK)
        e = es_exec(es, "COMMIT", eb);
    if (e != SR_E_OK)
        es_rollback(es);
    return e;
}

void evalstore_set_rating_period(struct evalstore *es, int days)
{
    if (es && days > 0)
        es->rating_period_ms = (int64_t)days * 86400000LL;
}

int evalstore_ping(struct evalstore *es)
{
    if (!es)
        return -1;
    sqlite3_stmt *st = es_stmt(es, ES_PING, NULL);
    int ok = st && sqlite3_step(st) == SQLITE_ROW;
    if (st)
        sqlite3_reset(st);
    return ok ? 0 : -1;
}
