/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for store/evalstore*.c without Redis: the schema, applying events (idempotence, survey
 * state rules, poison events), the officers CSV import (good, bad, upsert) and the registry.
 * Each test works on its own SQLite file in a fresh temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "evalstore.h"
#include "sr_mem.h"
#include "sr_types.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
    char dir[64];
    char *db;
    struct evalstore *es;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/suara-evalstore-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->db = sr_asprintf("%s/eval.db", f->dir);
    struct sr_errbuf eb = {{0}};
    f->es = evalstore_open(f->db, EVALSTORE_WRITE, &eb);
    if (!f->es) {
        fprintf(stderr, "open: %s\n", eb.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    evalstore_close(f->es);
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char *p = sr_asprintf("%s%s", f->db, suffix[i]);
        unlink(p);
        free(p);
    }
    rmdir(f->dir);
    free(f->db);
    free(f);
    return 0;
}

/* The first column of the first row of sql, as an integer (-1 if no row). Own connection. */
static long long q_int(struct fx *f, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The same as text, copied into out ("" for NULL, "<none>" if no row). */
static const char *q_text(struct fx *f, const char *sql, char *out, size_t n)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *s = sqlite3_column_text(st, 0);
        snprintf(out, n, "%s", s ? (const char *)s : "");
    } else {
        snprintf(out, n, "<none>");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

static size_t apply(struct fx *f, const char *const *ev, size_t n)
{
    struct sr_errbuf eb = {{0}};
    size_t applied = 99;
    enum sr_err e = evalstore_apply(f->es, ev, NULL, n, &applied, &eb);
    if (e != SR_E_OK)
        fail_msg("apply: %s", eb.msg);
    return applied;
}

#define STARTED                                                                                    \
    "{\"id\":\"ev-1\",\"type\":\"survey_started\",\"at\":1700000000000,\"channel\":\"wa\","        \
    "\"citizen\":\"h:abc\",\"session\":\"s-1\",\"survey\":\"ikm\",\"officer\":\"BMK017\","         \
    "\"unit\":\"DPMPTSP\",\"language\":\"id\"}"
#define COMPLETED                                                                                  \
    "{\"id\":\"ev-2\",\"type\":\"survey_completed\",\"at\":1700000090000,\"channel\":\"wa\","      \
    "\"citizen\":\"h:abc\",\"session\":\"s-1\",\"survey\":\"ikm\",\"officer\":\"BMK017\","         \
    "\"unit\":\"DPMPTSP\",\"language\":\"id\",\"started_at\":1700000000000,"                       \
    "\"answers\":{\"U1\":4,\"U2\":3,\"U3\":4,\"U4\":1},\"comment\":\"ramah, cepat\"}"
#define CANCELLED(id, session, at)                                                                 \
    "{\"id\":\"" id "\",\"type\":\"survey_cancelled\",\"at\":" at ",\"channel\":\"wa\","           \
    "\"citizen\":\"h:abc\",\"session\":\"" session "\",\"survey\":\"ikm\","                        \
    "\"officer\":\"BMK017\",\"unit\":\"DPMPTSP\",\"started_at\":1700000000000}"

static void test_schema(void **state)
{
    struct fx *f = *state;
    char buf[64];
    assert_int_equal(q_int(f, "PRAGMA user_version"), 5);
    assert_string_equal(q_text(f, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
    assert_int_equal(q_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name "
                              "IN ('units','officers','events','surveys','survey_answers',"
                              "'message_statuses','deliveries')"),
                     7);
    assert_int_equal(q_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name "
                              "IN ('surveys_officer','surveys_unit')"),
                     2);
    assert_int_equal(q_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name "
                              "IN ('complaints','complaint_events','tokens','audit_log','visits')"),
                     5);
    assert_int_equal(q_int(f, "SELECT count(*) FROM pragma_table_info('officers') WHERE name = "
                              "'role' AND dflt_value = '''officer'''"),
                     1);
    assert_int_equal(evalstore_ping(f->es), 0);
    /* reopening migrates nothing; a reader opens the same file; a missing file fails */
    struct sr_errbuf eb = {{0}};
    struct evalstore *again = evalstore_open(f->db, EVALSTORE_WRITE, &eb);
    assert_non_null(again);
    evalstore_close(again);
    struct evalstore *ro = evalstore_open(f->db, EVALSTORE_READ, &eb);
    assert_non_null(ro);
    assert_int_equal(evalstore_ping(ro), 0);
    size_t applied = 7;
    const char *ev[] = {STARTED};
    assert_int_not_equal(evalstore_apply(ro, ev, NULL, 1, &applied, &eb), SR_E_OK);
    evalstore_close(ro);
    char *missing = sr_asprintf("%s/missing.db", f->dir);
    assert_null(evalstore_open(missing, EVALSTORE_READ, &eb));
    assert_true(strstr(eb.msg, "missing.db") != NULL);
    free(missing);
    assert_int_equal(evalstore_ping(NULL), -1);
}

static void test_survey_pair_idempotent(void **state)
{
    struct fx *f = *state;
    char buf[128];
    const char *ev[] = {STARTED, COMPLETED};
    assert_int_equal(apply(f, ev, 2), 2);
    assert_string_equal(q_text(f,
                               "SELECT status || '|' || officer_code || '|' || unit_code || "
                               "'|' || comment || '|' || language FROM surveys",
                               buf, sizeof(buf)),
                        "completed|BMK017|DPMPTSP|ramah, cepat|id");
    assert_int_equal(q_int(f, "SELECT completed_at FROM surveys WHERE session = 's-1'"),
                     1700000090000LL);
    assert_int_equal(q_int(f, "SELECT started_at FROM surveys WHERE session = 's-1'"),
                     1700000000000LL);
    assert_int_equal(q_int(f, "SELECT count(*) FROM survey_answers WHERE session = 's-1'"), 4);
    assert_int_equal(q_int(f, "SELECT sum(value) FROM survey_answers"), 12);
    assert_string_equal(q_text(f, "SELECT citizen FROM events WHERE id = 'ev-2'", buf, sizeof(buf)),
                        "h:abc");
    /* the same batch again: nothing new */
    assert_int_equal(apply(f, ev, 2), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 2);
    assert_int_equal(q_int(f, "SELECT count(*) FROM surveys"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM survey_answers"), 4);
    /* completion arriving before its start: the late start changes nothing */
    const char *rev[] = {
        "{\"id\":\"ev-4\",\"type\":\"survey_completed\",\"at\":20,\"session\":\"s-2\","
        "\"officer\":\"X1\",\"unit\":\"U\",\"answers\":{\"U1\":2},\"comment\":null}",
        "{\"id\":\"ev-3\",\"type\":\"survey_started\",\"at\":10,\"session\":\"s-2\","
        "\"officer\":\"X1\",\"unit\":\"U\"}"};
    assert_int_equal(apply(f, rev, 2), 2);
    assert_string_equal(
        q_text(f, "SELECT status FROM surveys WHERE session = 's-2'", buf, sizeof(buf)),
        "completed");
    assert_int_equal(q_int(f, "SELECT comment IS NULL FROM surveys WHERE session = 's-2'"), 1);
}

static void test_cancel_rules(void **state)
{
    struct fx *f = *state;
    char buf[64];
    const char *ev[] = {STARTED, COMPLETED};
    assert_int_equal(apply(f, ev, 2), 2);
    const char *late[] = {CANCELLED("ev-c1", "s-1", "1700000100000")};
    assert_int_equal(apply(f, late, 1), 1); /* stored as an event, but no downgrade */
    assert_string_equal(
        q_text(f, "SELECT status FROM surveys WHERE session = 's-1'", buf, sizeof(buf)),
        "completed");
    assert_int_equal(q_int(f, "SELECT ended_at FROM surveys WHERE session = 's-1'"),
                     1700000090000LL);
    /* a started survey is cancelled; an abandoned one without a start still gets a row */
    const char *st2[] = {
        "{\"id\":\"ev-5\",\"type\":\"survey_started\",\"at\":1,\"session\":\"s-3\"}",
        CANCELLED("ev-6", "s-3", "5"),
        "{\"id\":\"ev-7\",\"type\":\"survey_abandoned\",\"at\":9,\"session\":\"s-4\"}"};
    assert_int_equal(apply(f, st2, 3), 3);
    assert_string_equal(
        q_text(f, "SELECT status FROM surveys WHERE session = 's-3'", buf, sizeof(buf)),
        "cancelled");
    assert_int_equal(q_int(f, "SELECT ended_at FROM surveys WHERE session = 's-3'"), 5);
    assert_string_equal(
        q_text(f, "SELECT status FROM surveys WHERE session = 's-4'", buf, sizeof(buf)),
        "abandoned");
}

static void test_invalid_does_not_block(void **state)
{
    struct fx *f = *state;
    const char *ev[] = {
        STARTED,
        "this is not json",
        "{\"type\":\"survey_started\",\"at\":1}",                 /* no id */
        "{\"id\":\"ev-x\",\"type\":\"survey_started\",\"at\":1}", /* no session */
        "{\"id\":\"ev-y\",\"type\":\"survey_completed\",\"at\":1,\"session\":\"s-9\","
        "\"answers\":{\"U1\":5}}",                              /* rating out of range */
        "{\"id\":\"ev-z\",\"type\":\"future_event\",\"at\":3}", /* unknown: kept */
        "{\"id\":\"ev-8\",\"type\":\"message_status\",\"at\":2,\"channel\":\"wa\","
        "\"provider_id\":\"wamid.1\",\"status\":\"read\",\"error_code\":null}",
    };
    size_t lens[7];
    for (size_t i = 0; i < 7; i++)
        lens[i] = strlen(ev[i]);
    struct sr_errbuf eb = {{0}};
    size_t applied = 0;
    assert_int_equal(evalstore_apply(f->es, ev, lens, 7, &applied, &eb), SR_E_OK);
    assert_int_equal(applied, 3);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events WHERE type = 'invalid' AND id LIKE "
                              "'invalid:%' AND length(id) = 72"),
                     4);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events WHERE type = 'future_event'"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM surveys"), 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM message_statuses"), 1);
    /* redelivered poison is recognised by its hash */
    assert_int_equal(evalstore_apply(f->es, ev, lens, 7, &applied, &eb), SR_E_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 7);
}

static void test_status_and_deliveries(void **state)
{
    struct fx *f = *state;
    char buf[128];
    const char *ev[] = {
        "{\"id\":\"m1\",\"type\":\"message_status\",\"at\":10,\"channel\":\"wa\","
        "\"provider_id\":\"wamid.A\",\"status\":\"delivered\",\"error_code\":null}",
        "{\"id\":\"m2\",\"type\":\"message_status\",\"at\":5,\"channel\":\"wa\","
        "\"provider_id\":\"wamid.A\",\"status\":\"sent\",\"error_code\":null}",
        "{\"id\":\"m3\",\"type\":\"message_status\",\"at\":11,\"channel\":\"wa\","
        "\"provider_id\":\"wamid.B\",\"status\":\"failed\",\"error_code\":\"131026\"}",
        "{\"id\":\"r1\",\"type\":\"reply_sent\",\"at\":4,\"channel\":\"wa\","
        "\"outbox_id\":\"1700-0\",\"provider_id\":\"wamid.A\",\"attempts\":2,\"http_status\":200}",
        "{\"id\":\"r2\",\"type\":\"reply_failed\",\"at\":6,\"channel\":\"sms\","
        "\"outbox_id\":\"1700-1\",\"attempts\":5,\"http_status\":400,\"error\":\"bad number\"}",
    };
    assert_int_equal(apply(f, ev, 5), 5);
    assert_int_equal(q_int(f, "SELECT count(*) FROM message_statuses WHERE provider_id = "
                              "'wamid.A'"),
                     2);
    assert_string_equal(q_text(f,
                               "SELECT error_code FROM message_statuses WHERE status = "
                               "'failed'",
                               buf, sizeof(buf)),
                        "131026");
    assert_string_equal(q_text(f,
                               "SELECT outcome || '|' || provider_id || '|' || attempts || '|' "
                               "|| http_status FROM deliveries WHERE outbox_id = '1700-0'",
                               buf, sizeof(buf)),
                        "sent|wamid.A|2|200");
    assert_string_equal(q_text(f,
                               "SELECT outcome || '|' || error || '|' || channel FROM "
                               "deliveries WHERE outbox_id = '1700-1'",
                               buf, sizeof(buf)),
                        "failed|bad number|sms");
    assert_int_equal(apply(f, ev, 5), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM deliveries"), 2);
}

static enum sr_err import(struct fx *f, const char *name, struct evalstore_import_report *rep,
                          struct sr_errbuf *eb)
{
    char *path = sr_asprintf("%s/officers/%s", SUARA_TESTDATA, name);
    enum sr_err e = evalstore_import_officers(f->es, path, rep, eb);
    free(path);
    return e;
}

static struct evalstore_registry *load(struct fx *f)
{
    struct evalstore_registry *r = NULL;
    struct sr_errbuf eb = {{0}};
    assert_int_equal(evalstore_registry_load(f->es, &r, &eb), SR_E_OK);
    return r;
}

static void test_import_good(void **state)
{
    struct fx *f = *state;
    struct evalstore_import_report rep;
    struct sr_errbuf eb = {{0}};
    assert_int_equal(import(f, "good.csv", &rep, &eb), SR_E_OK);
    assert_int_equal(rep.units_added, 2);
    assert_int_equal(rep.officers_added, 3);
    assert_int_equal(rep.officers_updated, 0);
    assert_int_equal(rep.rows_rejected, 0);
    struct evalstore_registry *r = load(f);
    assert_int_equal(evalstore_registry_count(r), 3);
    const struct sr_officer *o = evalstore_registry_lookup(r, "bmk017");
    assert_non_null(o);
    assert_string_equal(o->code, "BMK017");
    assert_string_equal(o->name, "Siti Aminah, S.Kom.");
    assert_string_equal(o->nip, "198501012010011001");
    assert_string_equal(o->unit_code, "DPMPTSP");
    assert_string_equal(o->unit_name, "Dinas Penanaman Modal dan PTSP");
    assert_string_equal(o->phone, "6281200000001");
    o = evalstore_registry_lookup(r, "BMK018");
    assert_non_null(o);
    assert_string_equal(o->name, "Budi \"Ucok\" Santoso, S.H.");
    o = evalstore_registry_lookup(r, "duk-01");
    assert_non_null(o);
    assert_string_equal(o->unit_name, "Dinas Kependudukan dan Pencatatan Sipil, Kota");
    assert_null(evalstore_registry_lookup(r, "BMK019"));
    assert_null(evalstore_registry_lookup(r, "BMK 017"));
    assert_null(evalstore_registry_lookup(r, ""));
    assert_null(evalstore_registry_lookup(NULL, "BMK017"));
    evalstore_registry_free(r);
    evalstore_registry_free(NULL);
}

static void test_import_bad(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *file, *msg;
    } cases[] = {
        {"bad_nip_short.csv", "bad_nip_short.csv:3: nip: must be 18 digits"},
        {"bad_nip_letters.csv", "bad_nip_letters.csv:4: nip: must be 18 digits"},
        {"bad_code.csv", "bad_code.csv:2: code: "},
        {"missing_column.csv", "missing_column.csv:1: header: missing column phone"},
        {"short_row.csv", "short_row.csv:3: row: expected 6 fields, got 5"},
        {"unterminated_quote.csv", "unterminated_quote.csv:2: row: unterminated quoted field"},
        {"bad_phone.csv", "bad_phone.csv:3: phone: "},
        {"no_such_file.csv", "no_such_file.csv"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct evalstore_import_report rep = {1, 1, 1, 0};
        struct sr_errbuf eb = {{0}};
        enum sr_err e = import(f, cases[i].file, &rep, &eb);
        if (strcmp(cases[i].file, "no_such_file.csv") == 0) {
            assert_int_equal(e, SR_E_IO);
        } else {
            assert_int_equal(e, SR_E_INVALID);
            assert_int_equal(rep.rows_rejected, 1);
        }
        if (strncmp(eb.msg, cases[i].msg, strlen(cases[i].msg)) != 0 &&
            !strstr(eb.msg, cases[i].msg))
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].file, eb.msg, cases[i].msg);
        assert_int_equal(rep.officers_added, 0);
        assert_int_equal(q_int(f, "SELECT count(*) FROM officers"), 0);
        assert_int_equal(q_int(f, "SELECT count(*) FROM units"), 0);
    }
}

static void test_import_upsert(void **state)
{
    struct fx *f = *state;
    struct evalstore_import_report rep;
    struct sr_errbuf eb = {{0}};
    assert_int_equal(import(f, "good.csv", &rep, &eb), SR_E_OK);
    assert_int_equal(import(f, "update.csv", &rep, &eb), SR_E_OK);
    assert_int_equal(rep.units_added, 1);
    assert_int_equal(rep.officers_added, 1);
    assert_int_equal(rep.officers_updated, 1);
    /* a bad file after a good one changes nothing */
    assert_int_equal(import(f, "bad_nip_letters.csv", &rep, &eb), SR_E_INVALID);
    struct evalstore_registry *r = load(f);
    assert_int_equal(evalstore_registry_count(r), 4);
    const struct sr_officer *o = evalstore_registry_lookup(r, "BMK017");
    assert_non_null(o);
    assert_string_equal(o->name, "Siti Aminah, S.Kom., M.T.");
    assert_string_equal(o->phone, "6281200000011");
    o = evalstore_registry_lookup(r, "kec-05");
    assert_non_null(o);
    assert_string_equal(o->unit_name, "Kecamatan Tengah");
    assert_string_equal(evalstore_registry_lookup(r, "BMK018")->name,
                        "Budi \"Ucok\" Santoso, S.H.");
    evalstore_registry_free(r);
    /* a reader connection loads the same registry */
    struct evalstore *ro = evalstore_open(f->db, EVALSTORE_READ, &eb);
    assert_non_null(ro);
    assert_int_equal(evalstore_registry_load(ro, &r, &eb), SR_E_OK);
    assert_int_equal(evalstore_registry_count(r), 4);
    evalstore_registry_free(r);
    evalstore_close(ro);
}

/* ---- roles and the complaint registry functions ---- */

static void test_registry_roles(void **state)
{
    struct fx *f = *state;
    struct evalstore_import_report rep;
    struct sr_errbuf eb = {{0}};
    assert_int_equal(import(f, "roles.csv", &rep, &eb), SR_E_OK);
    assert_int_equal(rep.officers_added, 5);
    struct evalstore_registry *r = load(f);
    assert_string_equal(evalstore_registry_lookup(r, "BMK017")->role, "officer");
    assert_string_equal(evalstore_registry_lookup(r, "BMK018")->role, "complaint");
    assert_string_equal(evalstore_registry_lookup(r, "DUK-01")->role, "officer"); /* empty */
    /* by phone: digits only */
    const struct sr_officer *o = evalstore_registry_by_phone(r, "+62 812-0000-0009");
    assert_non_null(o);
    assert_string_equal(o->code, "SPV001");
    assert_string_equal(evalstore_registry_by_phone(r, "6281200000003")->code, "DUK-01");
    assert_null(evalstore_registry_by_phone(r, "6281200000099"));
    assert_null(evalstore_registry_by_phone(r, ""));
    assert_null(evalstore_registry_by_phone(r, "62812000000016281200000001628120000000"));
    assert_null(evalstore_registry_by_phone(NULL, "6281200000001"));
    /* units sorted by code */
    const struct sr_unit *u = NULL;
    assert_int_equal(evalstore_registry_units(r, &u), 2);
    assert_string_equal(u[0].code, "DISDUK");
    assert_string_equal(u[1].code, "DPMPTSP");
    assert_string_equal(u[1].name, "Dinas Penanaman Modal dan PTSP");
    /* handlers (role complaint) and supervisor */
    const struct sr_officer *h[4];
    assert_int_equal(evalstore_registry_unit_handlers(r, "DPMPTSP", h, 4), 2);
    assert_string_equal(h[0]->code, "BMK018");
    assert_string_equal(h[1]->code, "BMK020");
    assert_int_equal(evalstore_registry_unit_handlers(r, "DPMPTSP", h, 1), 1);
    assert_int_equal(evalstore_registry_unit_handlers(r, "DISDUK", h, 4), 0);
    assert_string_equal(evalstore_registry_unit_supervisor(r, "DPMPTSP")->code, "SPV001");
    assert_null(evalstore_registry_unit_supervisor(r, "DISDUK"));
    assert_null(evalstore_registry_unit_supervisor(r, NULL));
    evalstore_registry_free(r);
    /* a bad role rejects the whole file, naming line and field */
    assert_int_equal(import(f, "bad_role.csv", &rep, &eb), SR_E_INVALID);
    assert_true(strstr(eb.msg, "bad_role.csv:3: role:") != NULL);
}

static void test_demo_officers(void **state)
{
    struct fx *f = *state;
    struct sr_errbuf eb = {{0}};
    struct evalstore_import_report rep;
    assert_int_equal(
        evalstore_import_officers(f->es, SUARA_SOURCE_DIR "/deploy/demo/officers.csv", &rep, &eb),
        SR_E_OK);
    struct evalstore_registry *r = load(f);
    const struct sr_officer *h[4];
    assert_int_equal(evalstore_registry_unit_handlers(r, "PATEN-BMK", h, 4), 1);
    assert_string_equal(h[0]->code, "BMK002");
    assert_string_equal(evalstore_registry_unit_supervisor(r, "PATEN-BMK")->code, "SPV001");
    assert_int_equal(evalstore_registry_unit_handlers(r, "PKM-PDS", h, 4), 1);
    assert_int_equal(evalstore_registry_unit_handlers(r, "KEL-SRW", h, 4), 1);
    assert_int_equal(evalstore_registry_unit_handlers(r, "KEL-PDL", h, 4), 1);
    evalstore_registry_free(r);
}

/* ---- complaints ---- */

#define T0 "1700000000000"
#define CX(id, type, at, rest)                                                                     \
    "{\"id\":\"" id "\",\"type\":\"" type "\",\"at\":" at ",\"ticket\":\"K7M4QX\","                \
    "\"unit\":\"PATEN-BMK\"" rest "}"
#define CX_OPENED(id, due_fr, due_res)                                                             \
    CX(id, "complaint_opened", T0,                                                                 \
       ",\"category\":\"biaya\",\"officer\":null,\"citizen\":\"h:abc\",\"channel\":\"wa\","        \
       "\"language\":\"id\",\"due_first_response\":" due_fr ",\"due_resolution\":" due_res)
#define CX_ANSWER(id, type, at, wall)                                                              \
    CX(id, type, at, ",\"officer\":\"BMK002\",\"wall_ms\":" wall ",\"work_ms\":" wall)

static long long cx_int(struct fx *f, const char *col)
{
    char *sql = sr_asprintf("SELECT coalesce(%s, -1) FROM complaints WHERE ticket = 'K7M4QX'", col);
    long long v = q_int(f, sql);
    free(sql);
    return v;
}

static const char *cx_text(struct fx *f, const char *col, char *buf, size_t n)
{
    char *sql = sr_asprintf("SELECT %s FROM complaints WHERE ticket = 'K7M4QX'", col);
    q_text(f, sql, buf, n);
    free(sql);
    return buf;
}

static void test_complaint_life(void **state)
{
    struct fx *f = *state;
    char buf[64];
    const char *ev[] = {
        CX_OPENED("c-1", "1700003600000", "1700259200000"),
        CX_ANSWER("c-2", "complaint_acknowledged", "1700000600000", "600000"),
        CX("c-3", "complaint_replied", "1700000700000", ",\"officer\":\"BMK002\""),
        CX_ANSWER("c-4", "complaint_resolved", "1700007200000", "7200000"),
        CX("c-5", "complaint_closed", "1700007300000", ""),
        CX("c-6", "complaint_rated", "1700007310000", ",\"value\":4,\"element\":\"U8\""),
    };
    assert_int_equal(apply(f, ev, 6), 6);
    assert_string_equal(cx_text(f, "state", buf, sizeof(buf)), "closed");
    assert_string_equal(
        cx_text(f, "category || '|' || unit_code || '|' || citizen", buf, sizeof(buf)),
        "biaya|PATEN-BMK|h:abc");
    assert_int_equal(cx_int(f, "opened_at"), 1700000000000LL);
    assert_int_equal(cx_int(f, "first_response_at"), 1700000600000LL);
    assert_string_equal(cx_text(f, "first_response_by", buf, sizeof(buf)), "BMK002");
    assert_int_equal(cx_int(f, "first_response_wall_ms"), 600000);
    assert_int_equal(cx_int(f, "first_response_work_ms"), 600000);
    assert_int_equal(cx_int(f, "resolved_at"), 1700007200000LL);
    assert_int_equal(cx_int(f, "resolution_wall_ms"), 7200000);
    assert_int_equal(cx_int(f, "closed_at"), 1700007300000LL);
    assert_int_equal(cx_int(f, "sla_first_response_met"), 1);
    assert_int_equal(cx_int(f, "sla_resolution_met"), 1);
    assert_int_equal(cx_int(f, "breached_first_response"), 0);
    assert_int_equal(cx_int(f, "rating"), 4);
    assert_int_equal(cx_int(f, "reopen_count"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM complaint_events WHERE ticket = 'K7M4QX'"), 6);
    assert_int_equal(q_int(f, "SELECT wall_ms FROM complaint_events WHERE id = 'c-4'"), 7200000);
    /* duplicates change nothing; a second acknowledgement never moves the first response */
    assert_int_equal(apply(f, ev, 6), 0);
    const char *again[] = {
        CX_ANSWER("c-7", "complaint_acknowledged", "1700009000000", "9000000"),
        CX("c-8", "complaint_rated", "1700009000000", ",\"value\":5"), /* out of range */
    };
    assert_int_equal(apply(f, again, 2), 1);
    assert_int_equal(cx_int(f, "first_response_at"), 1700000600000LL);
    assert_int_equal(cx_int(f, "rating"), 4);
    assert_string_equal(cx_text(f, "state", buf, sizeof(buf)), "closed");
    assert_int_equal(q_int(f, "SELECT count(*) FROM complaints"), 1);
}

static void test_complaint_reopen(void **state)
{
    struct fx *f = *state;
    char buf[64];
    const char *ev[] = {
        CX_OPENED("c-1", "1700003600000", "1700010000000"),
        CX_ANSWER("c-2", "complaint_acknowledged", "1700000600000", "600000"),
        CX_ANSWER("c-3", "complaint_resolved", "1700001000000", "1000000"),
        CX("c-4", "complaint_reopened", "1700002000000", ",\"due_resolution\":1700020000000"),
    };
    assert_int_equal(apply(f, ev, 4), 4);
    assert_string_equal(cx_text(f, "state", buf, sizeof(buf)), "open");
    assert_int_equal(cx_int(f, "reopen_count"), 1);
    assert_int_equal(cx_int(f, "resolved_at"), -1); /* the final resolution is still to come */
    assert_int_equal(cx_int(f, "sla_resolution_met"), -1);
    assert_int_equal(cx_int(f, "due_resolution"), 1700020000000LL);
    assert_int_equal(cx_int(f, "first_response_at"), 1700000600000LL); /* kept */
    /* the first resolution stays in the history */
    assert_int_equal(q_int(f, "SELECT wall_ms FROM complaint_events WHERE ticket = 'K7M4QX' AND "
                              "type = 'complaint_resolved'"),
                     1000000);
    const char *ev2[] = {
        CX_ANSWER("c-5", "complaint_resolved", "1700030000000", "30000000"),
        CX("c-6", "complaint_closed", "1700030100000", ""),
    };
    assert_int_equal(apply(f, ev2, 2), 2);
    assert_string_equal(cx_text(f, "state", buf, sizeof(buf)), "closed");
    assert_int_equal(cx_int(f, "resolution_wall_ms"), 30000000);
    assert_int_equal(cx_int(f, "sla_resolution_met"), 0); /* after the new deadline */
}

static void test_complaint_breaches_and_order(void **state)
{
    struct fx *f = *state;
    char buf[64];
    /* acknowledged before opened: a minimal row first, completed when opened arrives */
    const char *early[] = {
        CX_ANSWER("c-2", "complaint_acknowledged", "1700005000000", "5000000"),
    };
    assert_int_equal(apply(f, early, 1), 1);
    assert_string_equal(cx_text(f, "state || '|' || unit_code", buf, sizeof(buf)),
                        "acknowledged|PATEN-BMK");
    assert_int_equal(cx_int(f, "sla_first_response_met"), -1); /* no deadline known yet */
    const char *ev[] = {
        CX_OPENED("c-1", "1700003600000", "1700010000000"),
        CX("c-3", "sla_breached", "1700003600000",
           ",\"kind\":\"first_response\",\"due\":1700003600000"),
        CX("c-4", "sla_breached", "1700010000000",
           ",\"kind\":\"resolution\",\"due\":1700010000000"),
        CX("c-5", "sla_breached", "1700010000000", ",\"kind\":\"lunch\",\"due\":1"), /* invalid */
    };
    assert_int_equal(apply(f, ev, 4), 3);
    assert_int_equal(cx_int(f, "opened_at"), 1700000000000LL);
    assert_int_equal(cx_int(f, "sla_first_response_met"), 0);
    assert_int_equal(cx_int(f, "breached_first_response"), 1);
    assert_int_equal(cx_int(f, "breached_resolution"), 1);
    assert_int_equal(cx_int(f, "sla_resolution_met"), 0);
    assert_string_equal(cx_text(f, "state", buf, sizeof(buf)), "acknowledged");
    assert_int_equal(q_int(f, "SELECT count(*) FROM events WHERE type = 'invalid'"), 1);
    /* a late resolution keeps the breach and is not within SLA */
    const char *late[] = {CX_ANSWER("c-6", "complaint_resolved", "1700090000000", "90000000")};
    assert_int_equal(apply(f, late, 1), 1);
    assert_int_equal(cx_int(f, "sla_resolution_met"), 0);
    assert_int_equal(cx_int(f, "breached_resolution"), 1);
    assert_string_equal(cx_text(f, "state", buf, sizeof(buf)), "resolved");
}

/* Runs sql on the fixture's file over a connection of its own. */
static void raw_exec(struct fx *f, const char *sql)
{
    sqlite3 *db = NULL;
    char *err = NULL;
    assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
    sqlite3_close(db);
}

/* A database of schema 3 (before counted ratings) with a citizen who rated BMK017 three times
 * in a day, plus a visit before the second rating, opens under this build: migration 4 adds the
 * marks and computes them for the existing rows. t1 first -> counted; t2 the first after the
 * visit -> verified and counted; t3 an hour later -> set aside. Another citizen's rating stays
 * counted. */
static void test_migration_marks_existing_ratings(void **state)
{
    struct fx *f = *state;
    evalstore_close(f->es);
    f->es = NULL;
    /* schema 3 is today's schema without migration 4's two columns and their indexes (migration
     * 5 hashes provider ids; this file has none, so it needs no key) */
    raw_exec(f, "DROP INDEX surveys_pair; DROP INDEX surveys_set_aside;"
                "ALTER TABLE surveys DROP COLUMN counted;"
                "ALTER TABLE surveys DROP COLUMN verified_by; PRAGMA user_version = 3;");
    assert_int_equal(q_int(f, "SELECT count(*) FROM pragma_table_info('surveys') WHERE name = "
                              "'counted'"),
                     0);
    raw_exec(f, "INSERT INTO surveys (session, officer_code, citizen, started_at, completed_at, "
                "status) VALUES ('m1', 'BMK017', 'h:old', 1000000, 1000100, 'completed'), "
                "('m2', 'BMK017', 'h:old', 5000000, 5000100, 'completed'), "
                "('m3', 'BMK017', 'h:old', 8600000, 8600100, 'completed'), "
                "('m4', 'bmk017', 'h:other', 5000000, 5000100, 'completed');"
                "INSERT INTO visits (officer_code, citizen, at) VALUES ('BMK017', 'h:old', "
                "4000000);");
    struct sr_errbuf eb = {{0}};
    f->es = evalstore_open(f->db, EVALSTORE_WRITE, &eb);
    if (!f->es)
        fail_msg("open: %s", eb.msg);
    assert_int_equal(q_int(f, "PRAGMA user_version"), 5);
    char buf[64];
    assert_string_equal(q_text(f,
                               "SELECT group_concat(session || ':' || counted || ':' || "
                               "(verified_by IS NOT NULL), ' ') FROM (SELECT * FROM surveys "
                               "ORDER BY session)",
                               buf, sizeof(buf)),
                        "m1:1:0 m2:1:1 m3:0:0 m4:1:0");
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_marks_existing_ratings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_survey_pair_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_does_not_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_and_deliveries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_upsert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo_officers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complaint_life, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complaint_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complaint_breaches_and_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
