/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A complaint's whole life, end to end against real processes: a citizen files it on WhatsApp,
 * the unit's complaint officer is told on SMS, acknowledges, answers and resolves it by SMS
 * commands, the citizen confirms and rates the handling. Then the SLA: with the gateway's clock
 * moved past a deadline (the [server] clock_file drill), the unit's supervisor is told exactly
 * once although two workers sweep, and a restart between arming and reaching a deadline still
 * escalates. Another number asking STATUS learns nothing.
 *
 * The clock starts on Monday 30 November 2026, 09:00 WIB (02:00 UTC), a working day.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "e2e_client.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MONDAY_0900 1796004000000LL
#define HOUR 3600000LL
#define CITIZEN "6280000002001"
#define OFFICER "+6280000000102"   /* BMK002, role complaint, unit PATEN-BMK */
#define SUPERVISOR "6280000000109" /* SPV001, supervisor of PATEN-BMK */
#define MARKER "6280000002901"     /* a survey whose idle expiry marks a sweep */
#define IDLE_MS (1800 * 1000LL)    /* [dialog] session_idle_s, its default */

static void set_clock(long long ms)
{
    e2e_set_clock(ms);
}

static int setup(void **state)
{
    return e2e_setup_clock(state, MONDAY_0900, "[dialog]\nofficer_channel = sms\n");
}

/* The newest ticket opened for a unit at the current drill time, from the evaluation store
 * (earlier tests may have filed others at an earlier drill time, or at the same one). */
static int wait_ticket(const char *unit, const char *not_this, char out[16], int timeout_ms)
{
    long long end = harness_mono_ms() + timeout_ms;
    char sql[320];
    snprintf(sql, sizeof(sql),
             "SELECT ticket FROM complaints WHERE unit_code = '%s' AND ticket <> '%s' "
             "AND opened_at >= %lld ORDER BY opened_at DESC LIMIT 1",
             unit, not_this ? not_this : "", e2e_clock_ms);
    while (harness_mono_ms() < end) {
        if (db_text(sql, out, 16) == 0)
            return 0;
        harness_sleep_ms(100);
    }
    return -1;
}

/* Texts of every provider call to a number, joined (to look for what a person was told). */
static char *told(const char *number)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "%s/_requests", E.mock_base);
    assert_int_equal(http_get(url, &body), 200);
    json_t *arr = json_loads(body, 0, NULL);
    free(body);
    size_t cap = 1, len = 0, i;
    char *all = calloc(1, 1);
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        const char *b = json_string_value(json_object_get(it, "body"));
        if (!b || !strstr(b, number))
            continue;
        size_t n = strlen(b);
        if (len + n + 2 > cap) {
            cap = (len + n + 2) * 2;
            all = realloc(all, cap);
        }
        memcpy(all + len, b, n);
        len += n;
        all[len++] = '\n';
        all[len] = '\0';
    }
    json_decref(arr);
    return all;
}

/* How many provider calls to number mention needle (after the mock has settled). */
static int told_count(const char *number, const char *needle)
{
    mock_settled_count(number);
    char *all = told(number);
    int n = 0;
    for (char *line = all, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n'); /* told() ends every body with one */
        *nl = '\0';
        n += strstr(line, needle) != NULL;
    }
    free(all);
    return n;
}

static void test_full_life(void **state)
{
    (void)state;
    char ticket[16];
    assert_int_equal(
        wa_send(CITIZEN, "ADUAN PATEN-BMK Pengurusan KTP sudah tiga minggu belum selesai", NULL),
        200);
    assert_int_equal(wait_ticket("PATEN-BMK", NULL, ticket, 15000), 0);
    assert_int_equal(strlen(ticket), 6);
    assert_null(strpbrk(ticket, "01IO"));
    /* the officer was told on SMS, and never sees the citizen's number */
    assert_true(mock_settled_count("6280000000102") >= 1);
    char *o = told("6280000000102");
    assert_non_null(strstr(o, ticket));
    assert_null(strstr(o, CITIZEN));
    free(o);

    set_clock(MONDAY_0900 + HOUR); /* one working hour later */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "TERIMA %s", ticket);
    assert_int_equal(sms_send_as(OFFICER, cmd, SMS_TOKEN), 200);
    snprintf(cmd, sizeof(cmd), "BALAS %s Berkas Bapak sudah kami proses", ticket);
    assert_int_equal(sms_send_as(OFFICER, cmd, SMS_TOKEN), 200);
    set_clock(MONDAY_0900 + 3 * HOUR);
    snprintf(cmd, sizeof(cmd), "SELESAI %s KTP sudah jadi", ticket);
    assert_int_equal(sms_send_as(OFFICER, cmd, SMS_TOKEN), 200);
    assert_true(mock_settled_count(CITIZEN) >= 4);
    char *c = told(CITIZEN);
    assert_non_null(strstr(c, "Berkas Bapak sudah kami proses")); /* the answer was relayed */
    free(c);

    char payload[32];
    snprintf(payload, sizeof(payload), "YA:%s", ticket);
    assert_int_equal(wa_send(CITIZEN, "Ya", payload), 200);
    assert_int_equal(wa_send(CITIZEN, "4", NULL), 200);

    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM complaints WHERE ticket = '%s' AND state = 'closed' AND "
             "rating = 4 AND first_response_wall_ms = %lld AND first_response_work_ms = %lld AND "
             "resolution_wall_ms = %lld AND sla_first_response_met = 1",
             ticket, HOUR, HOUR, 3 * HOUR);
    assert_int_equal(wait_db(sql, 1, 15000), 1);
    snprintf(sql, sizeof(sql),
             "SELECT count(DISTINCT type) FROM complaint_events WHERE ticket = '%s'", ticket);
    assert_true(wait_db(sql, 6, 15000) >=
                6); /* opened acknowledged replied resolved rated closed */

    /* somebody else asking learns nothing about it */
    snprintf(cmd, sizeof(cmd), "STATUS %s", ticket);
    assert_int_equal(wa_send("6280000002999", cmd, NULL), 200);
    assert_true(mock_settled_count("6280000002999") >= 1);
    char *x = told("6280000002999");
    assert_null(strstr(x, "KTP"));
    assert_null(strstr(x, "proses"));
    free(x);
}

static void test_duplicate_officer_command_changes_nothing(void **state)
{
    (void)state;
    char ticket[16], prev[16] = "";
    db_text("SELECT ticket FROM complaints ORDER BY opened_at DESC LIMIT 1", prev, sizeof(prev));
    assert_int_equal(wa_send("6280000002002", "ADUAN PATEN-BMK Antrean terlalu lama", NULL), 200);
    assert_int_equal(wait_ticket("PATEN-BMK", prev, ticket, 15000), 0);
    char cmd[64], sql[256];
    snprintf(cmd, sizeof(cmd), "TERIMA %s", ticket);
    assert_int_equal(sms_send_as(OFFICER, cmd, SMS_TOKEN), 200);
    assert_int_equal(sms_send_as(OFFICER, cmd, SMS_TOKEN), 200);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM complaint_events WHERE ticket = '%s' AND type = "
             "'complaint_acknowledged'",
             ticket);
    assert_int_equal(wait_db(sql, 1, 15000), 1);
    /* both commands were answered 200 (committed or deduplicated): once drained, a second
     * acknowledgement would be in the store */
    assert_int_equal(e2e_wait_drained(20000), 0);
    assert_int_equal(db_int(sql), 1);
}

/* One intake webhook delivered five times (twice in a row, then three at once): one ticket, one
 * confirmation to the citizen, one notification to the officer. */
static void test_duplicate_intake_webhook_files_once(void **state)
{
    (void)state;
    const char *citizen = "6280000002005";
    const char *count = "SELECT count(*) FROM complaints WHERE unit_code = 'PATEN-BMK'";
    long long before = db_int(count);
    int officer_before = mock_settled_count("6280000000102");
    char *id = next_id("wamid.dupc.");
    char *body = wa_body(citizen, id, "ADUAN PATEN-BMK Nomor antrean dilompati", NULL);
    assert_int_equal(post_wa_signed(body, WA_SECRET, NULL), 200);
    assert_int_equal(post_wa_signed(body, WA_SECRET, NULL), 200);
    assert_int_equal(post_wa_concurrently(body, 3), 3);
    free(body);
    free(id);
    assert_int_equal(wait_db(count, before + 1, 15000), before + 1);
    assert_int_equal(mock_settled_count(citizen), 1);
    /* five answers of 200, and drained: a duplicate filed twice would be in the store now */
    assert_int_equal(e2e_wait_drained(20000), 0);
    assert_int_equal(db_int(count), before + 1);
    assert_int_equal(mock_settled_count(citizen), 1);
    assert_int_equal(mock_settled_count("6280000000102"), officer_before + 1);
}

static long long breaches(const char *ticket)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM complaint_events WHERE ticket = '%s' AND type = 'sla_breached'",
             ticket);
    return db_int(sql);
}

static void test_escalation_once_across_workers(void **state)
{
    (void)state;
    char ticket[16], prev[16] = "";
    db_text("SELECT ticket FROM complaints ORDER BY opened_at DESC LIMIT 1", prev, sizeof(prev));
    set_clock(MONDAY_0900 + 4 * HOUR);
    assert_int_equal(wa_send("6280000002003", "ADUAN PATEN-BMK Petugas tidak ada di loket", NULL),
                     200);
    assert_int_equal(wait_ticket("PATEN-BMK", prev, ticket, 15000), 0);
    set_clock(MONDAY_0900 + 4 * 24 * HOUR); /* Friday: the first-response deadline is long gone */
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM complaint_events WHERE ticket = '%s' AND type = 'sla_breached'",
             ticket);
    assert_true(wait_db(sql, 1, 15000) >= 1);
    /* The sweeps must run again and escalate nothing more. A positive marker that they did: a
     * survey session started now expires on the drill clock, and the idle sweep runs in the same
     * tick as the SLA sweep (gateway/worker.c), so once it is abandoned at least one more sweep
     * (of either worker) has claimed whatever was due; drained, its commit is in the store. No
     * deadline of this ticket lies in the half hour the clock moves. */
    const char *marker = "SELECT count(*) FROM surveys WHERE officer_code = 'BMK001' AND "
                         "status = 'abandoned'";
    long long markers = db_int(marker);
    assert_int_equal(wa_send(MARKER, "NILAI BMK001", NULL), 200);
    assert_true(mock_settled_count(MARKER) >= 1);
    set_clock(e2e_clock_ms + IDLE_MS + 1000);
    assert_int_equal(wait_db(marker, markers + 1, 15000), markers + 1);
    assert_int_equal(e2e_wait_drained(20000), 0);
    assert_int_equal(breaches(ticket), 1);
    assert_int_equal(told_count(SUPERVISOR, ticket), 1); /* the supervisor was told once */
}

static void test_escalation_survives_restart(void **state)
{
    (void)state;
    char ticket[16], prev[16] = "";
    db_text("SELECT ticket FROM complaints ORDER BY opened_at DESC LIMIT 1", prev, sizeof(prev));
    set_clock(MONDAY_0900 + 7 * 24 * HOUR); /* the next Monday 09:00 */
    assert_int_equal(wa_send("6280000002004", "ADUAN PATEN-BMK Formulir hilang", NULL), 200);
    assert_int_equal(wait_ticket("PATEN-BMK", prev, ticket, 15000), 0);
    assert_int_equal(harness_stop(E.suara, SIGTERM, 20000), 0);
    set_clock(MONDAY_0900 + 10 * 24 * HOUR); /* Thursday */
    assert_int_equal(start_suara(), 0);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM complaint_events WHERE ticket = '%s' AND type = 'sla_breached'",
             ticket);
    assert_true(wait_db(sql, 1, 15000) >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_life),
        cmocka_unit_test(test_duplicate_officer_command_changes_nothing),
        cmocka_unit_test(test_duplicate_intake_webhook_files_once),
        cmocka_unit_test(test_escalation_once_across_workers),
        cmocka_unit_test(test_escalation_survives_restart),
    };
    return cmocka_run_group_tests(tests, setup, e2e_teardown);
}
