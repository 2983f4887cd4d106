/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `suara privacy purge` (gateway/cli_privacy.c) end to end against the suite's real
 * redis-server and a real SQLite file: a citizen's session, complaint number, pending reply and
 * rate-limit key in Redis and their survey, comment, complaint, visit and event rows in SQLite
 * are removed (or re-keyed), the report counts each kind as text or JSON with the number
 * masked, and a second purge reports zero everywhere. stdout is captured into a temp file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cli_privacy.h"
#include "config.h"
#include "harness.h"
#include "evalstore.h"

#include "sr_mem.h"
#include "sr_pseudo.h"

#include <hiredis/hiredis.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY "test-citizen-hash-key-0123456789"
#define NUMBER "6280000008001" /* fake */

static char dir[64], db_path[96], prefix[64], pseudo[SR_PSEUDO_LEN];

static void redis_do(const char *fmt, const char *a, const char *b)
{
    redisContext *rc = redisConnectUnix(getenv("SUARA_TEST_REDIS_SOCKET"));
    assert_true(rc && !rc->err);
    redisReply *r = redisCommand(rc, fmt, a, b);
    assert_non_null(r);
    freeReplyObject(r);
    redisFree(rc);
}

static int setup(void **state)
{
    (void)state;
    if (!getenv("SUARA_TEST_REDIS_SOCKET"))
        fail_msg("SUARA_TEST_REDIS_SOCKET is not set (run through ctest)");
    snprintf(dir, sizeof(dir), "/tmp/suara-cliprivacy-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(db_path, sizeof(db_path), "%s/suara.db", dir);
    snprintf(prefix, sizeof(prefix), "t:cliprivacy:%d:", (int)getpid());
    sr_pseudo_citizen(KEY, NUMBER, pseudo);
    struct evalstore *es = evalstore_open_keyed(db_path, EVALSTORE_WRITE, KEY, NULL);
    assert_non_null(es);
    evalstore_close(es);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    char *sql =
        sr_asprintf("INSERT INTO surveys(session, officer_code, citizen, status, comment) VALUES "
                    "('s1', 'BMK001', '%s', 'completed', 'lambat sekali');"
                    "INSERT INTO complaints(ticket, citizen) VALUES ('K1', '%s');"
                    "INSERT INTO visits(officer_code, citizen, at) VALUES ('BMK001', '%s', 1);"
                    "INSERT INTO events VALUES ('e1', 'survey_completed', 1, 'wa', '%s', '{}');",
                    pseudo, pseudo, pseudo, pseudo);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    free(sql);
    sqlite3_close(db);
    char *k = sr_asprintf("%ssess:wa:%s", prefix, NUMBER);
    redis_do("HSET %s v 1 s %s", k, "{}");
    free(k);
    k = sr_asprintf("%scomplaint:K1", prefix);
    char *rec = sr_asprintf("{\"ticket\":\"K1\",\"citizen\":\"%s\",\"to\":\"%s\"}", pseudo, NUMBER);
    redis_do("HSET %s v 1 s %s", k, rec);
    free(rec);
    free(k);
    k = sr_asprintf("%soutbox", prefix);
    redis_do("XADD %s * r %s", k, "{\"channel\":\"wa\",\"to\":\"" NUMBER "\",\"text\":\"x\"}");
    free(k);
    k = sr_asprintf("%srate:%s:1", prefix, pseudo);
    redis_do("SET %s %s", k, "3");
    free(k);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[128];
    static const char *const suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", db_path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
    return 0;
}

static int call_cli(const void *cfg, int argc, char **argv)
{
    return cli_privacy(cfg, argc, argv);
}

static int run(char **argv, char **out)
{
    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.store.sqlite_path = db_path;
    cfg.redis.socket = getenv("SUARA_TEST_REDIS_SOCKET");
    cfg.redis.host = "127.0.0.1";
    cfg.redis.port = 6379;
    cfg.redis.prefix = prefix;
    cfg.privacy.citizen_hash_key = KEY;
    int rc = harness_capture_cli(call_cli, &cfg, argv, out);
    assert_non_null(*out);
    return rc;
}

static void test_purge_reports_then_finds_nothing(void **state)
{
    (void)state;
    char *out = NULL;
    char *argv[] = {"privacy", "purge", "+62 800-0000-8001", "-c", "ignored.ini", NULL};
    assert_int_equal(run(argv, &out), 0);
    assert_string_equal(out, "purged 6280*******01\n"
                             "redis   sessions 1, complaint numbers 1, outbox replies 1, "
                             "rate-limit keys 1\n"
                             "sqlite  surveys 1, comments 1, complaints 1, visits 1, events 1\n");
    free(out);
    char *again[] = {"privacy", "purge", "--json", NUMBER, NULL};
    assert_int_equal(run(again, &out), 0);
    assert_null(strstr(out, NUMBER)); /* never the number itself */
    assert_string_equal(out, "{\"citizen\":\"6280*******01\",\"redis\":{\"sessions\":0,"
                             "\"complaint_numbers\":0,\"outbox_replies\":0,\"rate_limit_keys\":0},"
                             "\"sqlite\":{\"surveys\":0,\"comments\":0,\"complaints\":0,"
                             "\"visits\":0,\"events\":0}}\n");
    free(out);
}

static void test_purge_by_pseudonym(void **state)
{
    (void)state;
    char *out = NULL;
    char *argv[] = {"privacy", "purge", "--pseudonym", pseudo, NULL};
    assert_int_equal(run(argv, &out), 0);
    assert_non_null(strstr(out, "sessions 1,"));
    assert_non_null(strstr(out, "surveys 1,"));
    assert_null(strstr(out, NUMBER));
    free(out);
}

static void test_usage_errors(void **state)
{
    (void)state;
    char *out = NULL;
    char *none[] = {"privacy", "purge", NULL};
    assert_int_equal(run(none, &out), 2);
    free(out);
    char *shortnum[] = {"privacy", "purge", "12345", NULL};
    assert_int_equal(run(shortnum, &out), 2);
    free(out);
    char *badpseudo[] = {"privacy", "purge", "--pseudonym", "XYZ", NULL};
    assert_int_equal(run(badpseudo, &out), 2);
    free(out);
    char *other[] = {"privacy", "export", NUMBER, NULL};
    assert_int_equal(run(other, &out), 2);
    free(out);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_purge_reports_then_finds_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge_by_pseudonym, setup, teardown),
        cmocka_unit_test(test_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
