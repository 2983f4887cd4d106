/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Privacy retention end to end, against real processes (redis-server, mock provider, the suara
 * binary with two workers) and the [server] clock_file drill:
 *  - delivery statuses are recorded under the keyed hash of the provider id, never the id
 *    (WhatsApp ids encode the citizen's number), and a second status for the same message
 *    still lands beside the first;
 *  - a resolved complaint keeps the citizen's number in Redis until number_retention_s after
 *    its resolution on the drill clock, then worker 0 removes it and the record expires; the
 *    citizen can still ask STATUS about it (matched by pseudonym);
 *  - worker 0 asks Redis for BGREWRITEAOF on the aof_rewrite_interval_s schedule (INFO
 *    persistence aof_rewrites grows).
 * The clock starts on Monday 30 November 2026, 09:00 WIB, a working day.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "e2e_client.h"
#include "sr_pseudo.h"

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MONDAY_0900 1796004000000LL
#define HOUR 3600000LL
#define CITIZEN "6280000003001"                    /* fake */
#define MARKER "6280000003002"                     /* fake: the marker complaint's citizen */
#define OFFICER "+6280000000102"                   /* BMK002, role complaint, unit PATEN-BMK */
#define HASH_KEY "e2e-citizen-hash-key-0123456789" /* e2e_client.c's [privacy] key */

static int setup(void **state)
{
    return e2e_setup_clock(state, MONDAY_0900,
                           "[dialog]\nofficer_channel = sms\n"
                           "[privacy]\nnumber_retention_s = 3600\naof_rewrite_interval_s = 2\n");
}

static redisContext *redis(void)
{
    char sock[600];
    snprintf(sock, sizeof(sock), "%s/redis.sock", E.dir);
    redisContext *rc = redisConnectUnix(sock);
    assert_true(rc && !rc->err);
    return rc;
}

/* The record of a ticket in Redis ("" if gone) into out. */
static void record_of(const char *ticket, char *out, size_t n)
{
    redisContext *rc = redis();
    redisReply *r = redisCommand(rc, "HGET e2e:complaint:%s s", ticket);
    assert_non_null(r);
    snprintf(out, n, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    redisFree(rc);
}

static long long info_aof_rewrites(void)
{
    redisContext *rc = redis();
    redisReply *r = redisCommand(rc, "INFO persistence");
    assert_non_null(r);
    const char *p = strstr(r->str, "aof_rewrites:");
    long long v = p ? strtoll(p + strlen("aof_rewrites:"), NULL, 10) : -1;
    freeReplyObject(r);
    redisFree(rc);
    return v;
}

static char *status_body(const char *id, const char *status)
{
    json_t *root = json_pack(
        "{s:s, s:[{s:s, s:[{s:s, s:{s:s, s:{s:s, s:s}, s:[{s:s, s:s, s:s, s:s}]}}]}]}", "object",
        "whatsapp_business_account", "entry", "id", "1", "changes", "field", "messages", "value",
        "messaging_product", "whatsapp", "metadata", "display_phone_number", "6280000000000",
        "phone_number_id", "100000000000001", "statuses", "id", id, "status", status, "timestamp",
        "1796004000", "recipient_id", CITIZEN);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static void test_statuses_are_stored_hashed(void **state)
{
    (void)state;
    const char *id = "wamid.HBgNNjI4MDAwMDAwMzAwMRUCABEYEkU2RTJFMEE";
    char h[SR_PSEUDO_ID_LEN], sql[256];
    sr_pseudo_provider_id(HASH_KEY, id, h);
    char *b = status_body(id, "delivered");
    assert_int_equal(post_wa_signed(b, WA_SECRET, NULL), 200);
    free(b);
    b = status_body(id, "read");
    assert_int_equal(post_wa_signed(b, WA_SECRET, NULL), 200);
    free(b);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM message_statuses WHERE provider_id = '%s'", h);
    assert_int_equal(wait_db(sql, 2, 15000), 2);
    assert_int_equal(db_int("SELECT count(*) FROM message_statuses WHERE provider_id LIKE "
                            "'%wamid%'"),
                     0);
    assert_int_equal(db_int("SELECT count(*) FROM events WHERE id LIKE '%wamid%' OR body LIKE "
                            "'%wamid%'"),
                     0);
    /* sent replies too (the sender hashes the id the provider answered with) */
    assert_int_equal(wa_send(CITIZEN, "BANTUAN", NULL), 200);
    assert_int_equal(
        wait_db("SELECT count(*) > 0 FROM deliveries WHERE outcome = 'sent'", 1, 15000), 1);
    assert_int_equal(db_int("SELECT count(*) FROM deliveries WHERE provider_id NOT LIKE 'h:%'"), 0);
}

struct ticket_wait {
    const char *not_this;
    char *out;
};

static int ticket_filed(void *ud)
{
    struct ticket_wait *x = ud;
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT ticket FROM complaints WHERE unit_code = 'PATEN-BMK' AND ticket <> '%s' "
             "ORDER BY opened_at DESC LIMIT 1",
             x->not_this);
    return db_text(sql, x->out, 16) == 0;
}

/* The newest PATEN-BMK ticket other than not_this ("" for any). */
static int wait_ticket(const char *not_this, char out[16], int timeout_ms)
{
    struct ticket_wait x = {not_this, out};
    return harness_wait_until(ticket_filed, &x, timeout_ms);
}

struct number_wait {
    const char *ticket, *number;
    char rec[4096];
};

static int number_gone(void *ud)
{
    struct number_wait *x = ud;
    record_of(x->ticket, x->rec, sizeof(x->rec));
    return strstr(x->rec, x->number) == NULL;
}

/* Files a complaint from citizen, has the officer acknowledge it; its ticket into out. */
static void file_and_acknowledge(const char *citizen, const char *text, const char *not_this,
                                 char out[16])
{
    char cmd[128];
    assert_int_equal(wa_send(citizen, text, NULL), 200);
    assert_int_equal(wait_ticket(not_this, out, 15000), 0);
    snprintf(cmd, sizeof(cmd), "TERIMA %s", out);
    assert_int_equal(sms_send_as(OFFICER, cmd, SMS_TOKEN), 200);
}

static void test_resolved_complaint_forgets_the_number(void **state)
{
    (void)state;
    char ticket[16], marker[16], rec[4096], cmd[128];
    /* the marker complaint is resolved half an hour earlier: its number goes first */
    file_and_acknowledge(MARKER, "ADUAN PATEN-BMK Kursi ruang tunggu rusak", "", marker);
    file_and_acknowledge(CITIZEN, "ADUAN PATEN-BMK Lampu ruang tunggu mati", marker, ticket);
    e2e_set_clock(MONDAY_0900 + HOUR / 2);
    snprintf(cmd, sizeof(cmd), "SELESAI %s Kursi sudah diganti", marker);
    assert_int_equal(sms_send_as(OFFICER, cmd, SMS_TOKEN), 200);
    e2e_set_clock(MONDAY_0900 + HOUR);
    snprintf(cmd, sizeof(cmd), "SELESAI %s Lampu sudah diganti", ticket);
    assert_int_equal(sms_send_as(OFFICER, cmd, SMS_TOKEN), 200);
    record_of(ticket, rec, sizeof(rec));
    assert_non_null(strstr(rec, "\"state\":\"resolved\""));

    /* inside the window the number stays (the citizen may still answer YA / BELUM). The marker's
     * window ended at +1.5 h, before this time and after the clock's last value: once its
     * number is gone, worker 0's sweep has run at this time and left the ticket's alone. */
    e2e_set_clock(MONDAY_0900 + 2 * HOUR - 1000);
    struct number_wait mw = {.ticket = marker, .number = MARKER};
    assert_int_equal(harness_wait_until(number_gone, &mw, 10000), 0);
    record_of(ticket, rec, sizeof(rec));
    assert_non_null(strstr(rec, CITIZEN));

    /* past resolved_at + 1 h: worker 0 removes it (bounded wait) */
    e2e_set_clock(MONDAY_0900 + 2 * HOUR + 1000);
    struct number_wait tw = {.ticket = ticket, .number = CITIZEN};
    assert_int_equal(harness_wait_until(number_gone, &tw, 10000), 0);
    snprintf(rec, sizeof(rec), "%s", tw.rec);
    assert_null(strstr(rec, CITIZEN));
    assert_non_null(strstr(rec, ticket));
    redisContext *rc = redis();
    redisReply *r = redisCommand(rc, "TTL e2e:complaint:%s", ticket);
    assert_true(r->type == REDIS_REPLY_INTEGER && r->integer > 0);
    freeReplyObject(r);
    redisFree(rc);

    /* the citizen can still ask about it: matched by pseudonym now */
    int before = mock_settled_count(CITIZEN);
    snprintf(cmd, sizeof(cmd), "STATUS %s", ticket);
    assert_int_equal(wa_send(CITIZEN, cmd, NULL), 200);
    assert_true(mock_settled_count(CITIZEN) > before); /* its answer was committed with it */
    assert_int_equal(db_int("SELECT count(*) FROM events WHERE type = 'complaint_denied'"), 0);
}

static void test_aof_rewrite_on_schedule(void **state)
{
    (void)state;
    long long before = info_aof_rewrites();
    assert_true(before >= 0);
    long long end = harness_mono_ms() + 15000;
    while (info_aof_rewrites() <= before && harness_mono_ms() < end)
        harness_sleep_ms(100);
    assert_true(info_aof_rewrites() > before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statuses_are_stored_hashed),
        cmocka_unit_test(test_resolved_complaint_forgets_the_number),
        cmocka_unit_test(test_aof_rewrite_on_schedule),
    };
    return cmocka_run_group_tests(tests, setup, e2e_teardown);
}
