/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for the evaluation store's privacy side (store/evalstore_privacy.c) on a real SQLite
 * file: the schema 5 migration hashes the provider ids an older database holds raw (statuses,
 * sent-reply ids, event ids and bodies, complaint event ids) and refuses to run without the key;
 * a hashed status still joins its sent reply; the retention prune; and the erasure of a citizen:
 * rows re-keyed to the tombstone (the figures keep counting them), comments erased, nothing
 * left under the pseudonym, a second purge changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "evalstore.h"
#include "sr_mem.h"
#include "sr_pseudo.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY "test-citizen-hash-key-0123456789"
#define WAMID_IN "wamid.HBgNNjI4MDAwMDAwNzAwMRUCABIYFDNBQ0ZBRjE2" /* fake, number-like */
#define WAMID_OUT "wamid.HBgNNjI4MDAwMDAwNzAwMRUCABEYEjVGNkE0"

struct fx {
    char dir[64];
    char *db;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/suara-esprivacy-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->db = sr_asprintf("%s/eval.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
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

static void exec_sql(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("sql: %s", err);
    sqlite3_close(h);
}

static long long q_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void q_text(const char *db, const char *sql, char *out, size_t n)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static void create(const char *db)
{
    struct sr_errbuf eb = {{0}};
    struct evalstore *es = evalstore_open_keyed(db, EVALSTORE_WRITE, KEY, &eb);
    assert_non_null(es);
    evalstore_close(es);
}

/* A database as version 3 left it: raw provider ids everywhere, and no counted-rating marks
 * (migration 4 adds them). */
static void make_v3_with_raw_ids(const char *db)
{
    create(db);
    exec_sql(
        db,
        "DROP INDEX surveys_pair; DROP INDEX surveys_set_aside;"
        "ALTER TABLE surveys DROP COLUMN counted; ALTER TABLE surveys DROP COLUMN verified_by;");
    exec_sql(
        db, "INSERT INTO message_statuses VALUES ('" WAMID_OUT "', 'delivered', 10, NULL, 'wa'),"
            " ('" WAMID_OUT "', 'read', 11, NULL, 'wa');"
            "INSERT INTO deliveries VALUES ('1-0', 'wa', '" WAMID_OUT "', 'sent', 1, 200, NULL, 9);"
            "INSERT INTO events VALUES ('wa:status:" WAMID_OUT ":read', 'message_status', 11, "
            " 'wa', NULL, '{\"id\":\"wa:status:" WAMID_OUT ":read\",\"type\":\"message_status\","
            "\"provider_id\":\"" WAMID_OUT "\",\"status\":\"read\"}'),"
            " ('sent:1-0', 'reply_sent', 9, 'wa', NULL, '{\"provider_id\":\"" WAMID_OUT "\"}'),"
            " ('wa:" WAMID_IN "#0', 'complaint_opened', 5, 'wa', 'c1', '{\"ticket\":\"K1\"}'),"
            " ('wa:expire:100:c1#0', 'survey_abandoned', 6, 'wa', 'c1', '{}');"
            "INSERT INTO complaint_events(id, ticket, type, at) VALUES "
            " ('wa:" WAMID_IN "#0', 'K1', 'complaint_opened', 5);"
            "PRAGMA user_version = 3;");
}

static void test_migration_hashes_old_ids(void **state)
{
    struct fx *f = *state;
    make_v3_with_raw_ids(f->db);
    create(f->db); /* migrates 3 -> 4 -> 5 */
    assert_int_equal(q_int(f->db, "PRAGMA user_version"), 5);
    char out_h[SR_PSEUDO_ID_LEN], in_h[SR_PSEUDO_ID_LEN], want[256], got[256];
    sr_pseudo_provider_id(KEY, WAMID_OUT, out_h);
    sr_pseudo_provider_id(KEY, WAMID_IN, in_h);
    /* no raw id is left anywhere */
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM message_statuses WHERE provider_id "
                                  "LIKE 'wamid%'"),
                     0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events WHERE id LIKE '%wamid%' OR "
                                  "body LIKE '%wamid%'"),
                     0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM complaint_events WHERE id LIKE "
                                  "'%wamid%'"),
                     0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM deliveries WHERE provider_id LIKE "
                                  "'%wamid%'"),
                     0);
    /* ...and each was replaced by the same hash the gateway now writes */
    q_text(f->db, "SELECT provider_id FROM deliveries", got, sizeof(got));
    assert_string_equal(got, out_h);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM message_statuses s JOIN deliveries d "
                                  "USING (provider_id)"),
                     2); /* statuses still match their sent reply */
    snprintf(want, sizeof(want), "wa:status:%s:read", out_h);
    q_text(f->db, "SELECT id FROM events WHERE type = 'message_status'", got, sizeof(got));
    assert_string_equal(got, want);
    snprintf(want, sizeof(want), "wa:%s#0", in_h);
    q_text(f->db, "SELECT id FROM complaint_events", got, sizeof(got));
    assert_string_equal(got, want);
    q_text(f->db, "SELECT id FROM events WHERE type = 'complaint_opened'", got, sizeof(got));
    assert_string_equal(got, want);
    q_text(f->db, "SELECT id FROM events WHERE type = 'survey_abandoned'", got, sizeof(got));
    assert_string_equal(got, "wa:expire:100:c1#0"); /* not a provider id: unchanged */
    q_text(f->db, "SELECT json_extract(body, '$.provider_id') FROM events WHERE id = 'sent:1-0'",
           got, sizeof(got));
    assert_string_equal(got, out_h);
}

static void test_migration_without_key_refuses(void **state)
{
    struct fx *f = *state;
    make_v3_with_raw_ids(f->db);
    struct sr_errbuf eb = {{0}};
    assert_null(evalstore_open(f->db, EVALSTORE_WRITE, &eb));
    assert_non_null(strstr(eb.msg, "citizen_hash_key"));
    /* step 4 (rating marks, no key needed) is committed; step 5 is rolled back, nothing half done
     */
    assert_int_equal(q_int(f->db, "PRAGMA user_version"), 4);
    assert_int_equal(
        q_int(f->db, "SELECT count(*) FROM message_statuses WHERE provider_id = '" WAMID_OUT "'"),
        2);
}

static void test_hashed_status_updates_through_apply(void **state)
{
    struct fx *f = *state;
    create(f->db);
    char h[SR_PSEUDO_ID_LEN];
    sr_pseudo_provider_id(KEY, WAMID_OUT, h);
    char *sent = sr_asprintf("{\"id\":\"sent:2-0\",\"type\":\"reply_sent\",\"at\":20,\"channel\":"
                             "\"wa\",\"outbox_id\":\"2-0\",\"provider_id\":\"%s\"}",
                             h);
    char *st1 = sr_asprintf("{\"id\":\"wa:status:%s:delivered\",\"type\":\"message_status\","
                            "\"at\":21,\"channel\":\"wa\",\"provider_id\":\"%s\",\"status\":"
                            "\"delivered\"}",
                            h, h);
    char *st2 = sr_asprintf("{\"id\":\"wa:status:%s:read\",\"type\":\"message_status\","
                            "\"at\":22,\"channel\":\"wa\",\"provider_id\":\"%s\",\"status\":"
                            "\"read\"}",
                            h, h);
    const char *ev[] = {sent, st1, st2};
    size_t lens[] = {strlen(sent), strlen(st1), strlen(st2)}, applied = 0;
    struct sr_errbuf eb = {{0}};
    struct evalstore *es = evalstore_open_keyed(f->db, EVALSTORE_WRITE, KEY, &eb);
    assert_int_equal(evalstore_apply(es, ev, lens, 3, &applied, &eb), SR_E_OK);
    assert_int_equal(applied, 3);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM message_statuses s JOIN deliveries d "
                                  "USING (provider_id) WHERE d.outbox_id = '2-0'"),
                     2);

    /* retention: statuses before 22 go, the sent reply keeps its row but loses its id */
    long long n = 0;
    assert_int_equal(evalstore_prune_provider_ids(es, 22, &n, &eb), SR_E_OK);
    assert_int_equal(n, 2);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM message_statuses"), 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM deliveries WHERE provider_id IS NULL"), 1);
    assert_int_equal(evalstore_prune_provider_ids(es, 22, &n, &eb), SR_E_OK);
    assert_int_equal(n, 0);
    evalstore_close(es);
    free(sent);
    free(st1);
    free(st2);
}

static void test_purge_rekeys_and_erases_comments(void **state)
{
    struct fx *f = *state;
    create(f->db);
    exec_sql(
        f->db,
        "INSERT INTO surveys(session, officer_code, citizen, status, comment, completed_at) "
        "VALUES ('s1', 'BMK001', 'P', 'completed', 'Pak Budi di RT 3 lambat', 1),"
        " ('s2', 'BMK001', 'P', 'completed', NULL, 2),"
        " ('s3', 'BMK001', 'Q', 'completed', 'cepat', 3);"
        "INSERT INTO survey_answers VALUES ('s1', 'U3', 4), ('s2', 'U3', 2), ('s3', 'U3', 3);"
        "INSERT INTO complaints(ticket, citizen) VALUES ('K1', 'P'), ('K2', 'Q');"
        "INSERT INTO visits(officer_code, citizen, at) VALUES ('BMK001', 'P', 1);"
        "INSERT INTO events VALUES ('e1', 'survey_completed', 1, 'wa', 'P', "
        " '{\"citizen\":\"P\",\"comment\":\"Pak Budi di RT 3 lambat\"}'),"
        " ('e2', 'survey_completed', 3, 'wa', 'Q', '{\"citizen\":\"Q\",\"comment\":\"cepat\"}');");
    struct sr_errbuf eb = {{0}};
    struct evalstore *es = evalstore_open_keyed(f->db, EVALSTORE_WRITE, KEY, &eb);
    char tomb[EVALSTORE_TOMBSTONE_LEN];
    evalstore_new_tombstone(tomb);
    assert_int_equal(strncmp(tomb, "erased:", 7), 0);
    struct evalstore_purge_report r;
    assert_int_equal(evalstore_purge_citizen(es, "P", tomb, &r, &eb), SR_E_OK);
    assert_int_equal(r.surveys, 2);
    assert_int_equal(r.comments, 1);
    assert_int_equal(r.complaints, 1);
    assert_int_equal(r.visits, 1);
    assert_int_equal(r.events, 1);
    /* nothing is found under the pseudonym any more, and the comment text is gone */
    assert_int_equal(q_int(f->db, "SELECT (SELECT count(*) FROM surveys WHERE citizen = 'P') + "
                                  "(SELECT count(*) FROM complaints WHERE citizen = 'P') + "
                                  "(SELECT count(*) FROM visits WHERE citizen = 'P') + "
                                  "(SELECT count(*) FROM events WHERE citizen = 'P' OR body "
                                  "LIKE '%\"P\"%' OR body LIKE '%Budi%')"),
                     0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM surveys WHERE comment LIKE '%Budi%'"), 0);
    /* the figures are unchanged: the answers stay, as one anonymous respondent */
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM survey_answers"), 3);
    assert_int_equal(q_int(f->db, "SELECT count(DISTINCT citizen) FROM surveys"), 2);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM surveys WHERE comment = 'cepat'"), 1);
    /* idempotent */
    assert_int_equal(evalstore_purge_citizen(es, "P", tomb, &r, &eb), SR_E_OK);
    assert_int_equal(r.surveys + r.comments + r.complaints + r.visits + r.events, 0);
    evalstore_close(es);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migration_hashes_old_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_without_key_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hashed_status_updates_through_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_rekeys_and_erases_comments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
