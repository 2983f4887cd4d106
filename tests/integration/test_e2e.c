/* SPDX-License-Identifier: Apache-2.0 */
/*
 * End to end, against real processes: a private redis-server, the mock provider (real HTTP)
 * and the suara binary with two workers. Citizens complete surveys over a signed WhatsApp
 * webhook sequence and a signed Twilio sequence; the replies must reach the mock provider and
 * the responses must land in SQLite with the right officer, unit and four ratings. Then the
 * failure paths: duplicates (also concurrent), bad signatures, malformed bodies, unknown
 * channels, oversized bodies, idle expiry on the drill clock ([server] clock_file, held still
 * at T0 and moved past the default session_idle_s), and Redis stopped (503, never 200). Finally
 * SIGTERM must drain and exit 0 (under ASan that also means no leaks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "e2e_client.h"
#include "handler.h"

#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1796004000000LL      /* the drill clock's start: a Monday 09:00 in Jakarta */
#define IDLE_MS (1800 * 1000LL) /* [dialog] session_idle_s, its default */

static int setup(void **state)
{
    return e2e_setup_clock(state, T0, NULL);
}

static long long answer_of(const char *officer, const char *element)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "SELECT a.value FROM survey_answers a JOIN surveys s ON s.session = a.session "
             "WHERE s.officer_code = '%s' AND a.element = '%s'",
             officer, element);
    return db_int(sql);
}

/* ---- the tests ---- */

static void test_whatsapp_verification_handshake(void **state)
{
    (void)state;
    char url[256], *body = NULL;
    snprintf(
        url, sizeof(url),
        "%s/webhooks/wa?hub.mode=subscribe&hub.verify_token=e2e-verify&hub.challenge=1158201444",
        E.base);
    assert_int_equal(http_get(url, &body), 200);
    assert_string_equal(body, "1158201444");
    free(body);
    snprintf(url, sizeof(url),
             "%s/webhooks/wa?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", E.base);
    assert_int_equal(http_get(url, NULL), 403);
}

static void test_whatsapp_survey_completes(void **state)
{
    (void)state;
    const char *from = "6280000001001";
    assert_int_equal(wa_send(from, "NILAI BMK001", NULL), 200);
    assert_int_equal(wa_send(from, "4", NULL), 200);
    assert_int_equal(wa_send(from, "Baik", "3"), 200); /* a reply button */
    assert_int_equal(wa_send(from, "sangat baik", NULL), 200);
    assert_int_equal(wa_send(from, "puas", NULL), 200);
    assert_int_equal(wa_send(from, "Pelayanan cepat, terima kasih", NULL), 200);
    assert_int_equal(wait_db("SELECT count(*) FROM surveys WHERE officer_code = 'BMK001' AND "
                             "unit_code = 'PATEN-BMK' AND status = 'completed'",
                             1, 15000),
                     1);
    assert_int_equal(answer_of("BMK001", "U3"), 4);
    assert_int_equal(answer_of("BMK001", "U6"), 3);
    assert_int_equal(answer_of("BMK001", "U7"), 4);
    assert_int_equal(answer_of("BMK001", "KEPUASAN"), 3);
    /* the number itself is nowhere in the evaluation store */
    assert_int_equal(db_int("SELECT count(*) FROM events WHERE body LIKE '%6280000001001%'"), 0);
    assert_int_equal(db_int("SELECT count(*) FROM surveys WHERE citizen LIKE '%6280000001001%'"),
                     0);
    /* every step was answered through the provider API */
    assert_true(mock_settled_count(from) >= 6);
}

static void test_twilio_survey_completes_in_english(void **state)
{
    (void)state;
    const char *from = "+6280000001002";
    const char *steps[] = {"RATE SRW001", "4", "good", "excellent", "satisfied", "SKIP"};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(sms_send_as(from, steps[i], SMS_TOKEN), 200);
    assert_int_equal(wait_db("SELECT count(*) FROM surveys WHERE officer_code = 'SRW001' AND "
                             "unit_code = 'KEL-SRW' AND status = 'completed' AND language = 'en'",
                             1, 15000),
                     1);
    assert_int_equal(answer_of("SRW001", "U3"), 4);
    assert_int_equal(answer_of("SRW001", "U6"), 3);
    assert_int_equal(answer_of("SRW001", "U7"), 4);
    assert_int_equal(answer_of("SRW001", "KEPUASAN"), 3);
    assert_true(mock_settled_count("6280000001002") >= 6);
}

/* Each webhook delivered three times: twice in a row, then three at once. */
static void deliver_thrice(const char *from, const char *text)
{
    char *id = next_id("wamid.dup.");
    char *body = wa_body(from, id, text, NULL);
    assert_int_equal(post_wa_signed(body, WA_SECRET, NULL), 200);
    assert_int_equal(post_wa_signed(body, WA_SECRET, NULL), 200);
    assert_int_equal(post_wa_concurrently(body, 3), 3);
    free(body);
    free(id);
}

static void test_duplicates_change_nothing_twice(void **state)
{
    (void)state;
    const char *once = "6280000001003", *thrice = "6280000001004";
    const char *a[] = {"NILAI BMK002", "3", "3", "3", "3", "-"};
    const char *b[] = {"NILAI PDL001", "3", "3", "3", "3", "-"};
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(wa_send(once, a[i], NULL), 200);
        deliver_thrice(thrice, b[i]);
    }
    assert_int_equal(wait_db("SELECT count(*) FROM surveys WHERE officer_code = 'PDL001' AND "
                             "status = 'completed'",
                             1, 15000),
                     1);
    assert_int_equal(wait_db("SELECT count(*) FROM surveys WHERE officer_code = 'BMK002' AND "
                             "status = 'completed'",
                             1, 15000),
                     1);
    /* every delivery was answered 200, so each was committed or deduplicated: once the gateway
     * has drained, a duplicate processed twice would be in the store */
    assert_int_equal(e2e_wait_drained(20000), 0);
    assert_int_equal(db_int("SELECT count(*) FROM surveys WHERE officer_code = 'PDL001'"), 1);
    assert_int_equal(db_int("SELECT count(*) FROM survey_answers a JOIN surveys s USING (session) "
                            "WHERE s.officer_code = 'PDL001'"),
                     4);
    int n_once = mock_settled_count(once), n_thrice = mock_settled_count(thrice);
    assert_true(n_once >= 6);
    assert_int_equal(n_thrice, n_once);
}

static void test_bad_signature_writes_nothing(void **state)
{
    (void)state;
    const char *from = "6280000001005";
    long long events = db_int("SELECT count(*) FROM events");
    char *id = next_id("wamid.bad.");
    char *body = wa_body(from, id, "NILAI BMK001", NULL);
    char *resp = NULL;
    assert_int_equal(post_wa_signed(body, "not-the-secret", &resp), 401);
    assert_non_null(strstr(resp, "\"error\""));
    free(resp);
    assert_int_equal(post_raw("wa", "application/json", "X-Other: 1", body, strlen(body), NULL),
                     401);
    assert_int_equal(sms_send_as("+6280000001005", "NILAI BMK001", "wrong-token"), 401);
    free(body);
    free(id);
    assert_int_equal(e2e_wait_drained(20000), 0); /* anything committed is in the store now */
    assert_int_equal(db_int("SELECT count(*) FROM events"), events);
    assert_int_equal(mock_count("6280000001005"), 0);
}

static void test_malformed_unknown_and_oversized(void **state)
{
    (void)state;
    char *resp = NULL;
    const char *broken = "{\"object\":\"whatsapp_business_account\",\"entry\":[{";
    assert_int_equal(post_wa_signed(broken, WA_SECRET, &resp), 400);
    json_t *o = json_loads(resp, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "invalid");
    assert_true(strlen(json_string_value(json_object_get(o, "detail"))) > 0);
    json_decref(o);
    free(resp);
    const char *no_entry = "{\"object\":\"whatsapp_business_account\"}";
    assert_int_equal(post_wa_signed(no_entry, WA_SECRET, &resp), 400);
    assert_non_null(strstr(resp, "entry"));
    free(resp);
    assert_int_equal(post_raw("nope", "application/json", "X-A: b", "{}", 2, NULL), 404);
    size_t big = 100 * 1024;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = '\0';
    huge[0] = '{';
    huge[big - 1] = '}';
    assert_int_equal(post_wa_signed(huge, WA_SECRET, NULL), 413);
    free(huge);
}

static void test_probes(void **state)
{
    (void)state;
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "%s/healthz", E.base);
    assert_int_equal(http_get(url, NULL), 200);
    snprintf(url, sizeof(url), "%s/metrics", E.base);
    assert_int_equal(http_get(url, &body), 200);
    assert_non_null(strstr(body, "suara_http_requests_total"));
    assert_non_null(strstr(body, "suara_redis_rtt_seconds_bucket"));
    free(body);
    snprintf(url, sizeof(url), "%s/nowhere", E.base);
    assert_int_equal(http_get(url, NULL), 404);
}

static void test_oversized_headers_are_refused(void **state)
{
    (void)state;
    size_t n = 32 * 1024;
    char *hdr = malloc(n + 16);
    memcpy(hdr, "X-Padding: ", 11);
    memset(hdr + 11, 'a', n);
    hdr[11 + n] = '\0';
    char url[128];
    snprintf(url, sizeof(url), "%s/healthz", E.base);
    const char *hdrs[] = {hdr, NULL};
    struct harness_response r;
    int rc = harness_http("GET", url, hdrs, NULL, 0, &r);
    /* refused: an error status, or the connection closed without an answer */
    assert_true(rc != 0 || r.status >= 400);
    harness_response_free(&r);
    free(hdr);
    assert_int_equal(http_get(url, NULL), 200); /* and the server is fine */
}

/* The log must never hold a secret, a citizen's number or a message text. */
static void test_log_has_no_secrets_or_numbers(void **state)
{
    (void)state;
    FILE *f = fopen(E.log, "r");
    assert_non_null(f);
    static char buf[4 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_true(n > 0);
    const char *never[] = {
        WA_SECRET,       SMS_TOKEN,       "e2e-access-token", "e2e-citizen-hash-key",
        "6280000001001", "6280000001002", "6280000001004",    "Pelayanan cepat"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        if (strstr(buf, never[i]))
            fail_msg("the log contains \"%s\"", never[i]);
}

/* The idle sweep runs on the domain clock: the session outlives any real wait while the drill
 * clock stands still, and expires once the clock passes session_idle_s. */
static void test_idle_session_expires_as_abandoned(void **state)
{
    (void)state;
    const char *abandoned = "SELECT count(*) FROM surveys WHERE officer_code = 'PKM001' AND "
                            "status = 'abandoned'";
    assert_int_equal(wa_send("6280000001006", "NILAI PKM001", NULL), 200);
    assert_true(mock_settled_count("6280000001006") >= 1); /* the first question went out */
    assert_int_equal(db_int(abandoned), 0);
    e2e_set_clock(e2e_clock_ms + IDLE_MS + 1000); /* 1 s past the idle limit */
    assert_int_equal(wait_db(abandoned, 1, 15000), 1);
}

/* Redis stopped: the webhook is no longer refused with 503 (Twilio would not retry it) but
 * kept in the inbound spool, answered 200 once on disk, and processed once when Redis returns
 * (test_spool_e2e.c tests the spool at length). */
static void test_redis_stopped_means_spooled(void **state)
{
    (void)state;
    assert_int_equal(harness_stop(E.redis, SIGTERM, 10000), 0);
    char *id = next_id("wamid.down.");
    char *body = wa_body("6280000001007", id, "NILAI BMK001", NULL);
    long long t0 = harness_mono_ms();
    assert_int_equal(post_wa_signed(body, WA_SECRET, NULL), 200);
    assert_true(harness_mono_ms() - t0 < 10000);
    char url[128], *ready = NULL;
    snprintf(url, sizeof(url), "%s/readyz", E.base);
    assert_int_equal(http_get(url, &ready), 200);
    assert_non_null(strstr(ready, "\"status\":\"spooling\""));
    assert_non_null(strstr(ready, "\"redis\":\"down\""));
    free(ready);
    assert_int_equal(mock_count("6280000001007"), 0);
    E.redis = harness_redis_start(E.dir);
    assert_true(E.redis > 0);
    assert_int_equal(wait_ready(20000), 0);
    /* /readyz is 200 while spooling too: wait for the replay's reply itself */
    long long end = harness_mono_ms() + 20000;
    while (mock_count("6280000001007") < 1 && harness_mono_ms() < end)
        harness_sleep_ms(100);
    assert_int_equal(post_wa_signed(body, WA_SECRET, NULL), 200); /* a redelivery: deduplicated */
    assert_int_equal(mock_settled_count("6280000001007"), 1);
    free(body);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whatsapp_verification_handshake),
        cmocka_unit_test(test_whatsapp_survey_completes),
        cmocka_unit_test(test_twilio_survey_completes_in_english),
        cmocka_unit_test(test_duplicates_change_nothing_twice),
        cmocka_unit_test(test_bad_signature_writes_nothing),
        cmocka_unit_test(test_malformed_unknown_and_oversized),
        cmocka_unit_test(test_probes),
        cmocka_unit_test(test_oversized_headers_are_refused),
        cmocka_unit_test(test_idle_session_expires_as_abandoned),
        cmocka_unit_test(test_log_has_no_secrets_or_numbers),
        cmocka_unit_test(test_redis_stopped_means_spooled),
    };
    return cmocka_run_group_tests(tests, setup, e2e_teardown);
}
