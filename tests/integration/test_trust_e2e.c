/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trust boundary end to end (issue 8, build item 4), against the real suara binary (two
 * workers), a real redis-server and the mock provider, all on loopback:
 *  - X-Forwarded-Proto / -Host from a peer that is not in [server] trust_proxy do not change
 *    the URL a Twilio signature is checked against; from a trusted proxy they do (the gateway
 *    is restarted with loopback in the list), and X-Forwarded-For then names the client;
 *  - guessing the WhatsApp verify_token and webhook signatures is throttled per client: 429
 *    with Retry-After once over the limit, even for the right secret, counted in /metrics, and
 *    the right secret works again after the refusal; a spoofed X-Forwarded-For does not help;
 *  - a WhatsApp batch with malformed messages and another number's change commits its valid
 *    messages, answers 200, and counts the rest by reason; a redelivery changes nothing twice.
 * Test numbers are fake (62800000080xx) and must never reach the log.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FAILURES 4 /* [server] throttle_failures below */
#define UNTRUSTED "10.0.0.0/8, 2001:db8::/32"
#define TRUSTED "10.0.0.0/8, 127.0.0.1, ::1"
#define OUR_PNID "100000000000001" /* the e2e config's channel wa */
#define OTHER_PNID "100000000000099"

struct resp {
    long status;
    char *body, *headers;
};

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
    char **buf = ud;
    size_t old = *buf ? strlen(*buf) : 0, add = size * n;
    *buf = realloc(*buf, old + add + 1);
    memcpy(*buf + old, p, add);
    (*buf)[old + add] = '\0';
    return add;
}

/* One request to path with the given "Name: value" headers (NULL-terminated) and body. */
static struct resp call(const char *method, const char *path, const char *const *hdrs,
                        const char *body)
{
    struct resp r = {0};
    char url[512];
    snprintf(url, sizeof(url), "%s%s", E.base, path);
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (size_t i = 0; hdrs && hdrs[i]; i++)
        hl = curl_slist_append(hl, hdrs[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (!r.body)
        r.body = strdup("");
    if (!r.headers)
        r.headers = strdup("");
    return r;
}

static long status_of(struct resp r)
{
    long s = r.status;
    free(r.body);
    free(r.headers);
    return s;
}

/* A Twilio SMS from `from`, signed for signed_url, sent with the extra headers (may be NULL). */
static long sms_signed_for(const char *signed_url, const char *from, const char *text,
                           const char *const *extra)
{
    char *sid = next_id("SMtrust"), *ef = form_escape(from), *et = form_escape(text);
    char *form = NULL, b64[29], sig[96];
    if (asprintf(&form,
                 "AccountSid=ACe2e00000000000000000000000000000&Body=%s&From=%s"
                 "&MessageSid=%s&NumMedia=0&To=%%2B6280000000000",
                 et, ef, sid) < 0)
        abort();
    assert_int_equal(handler_sign_twilio(SMS_TOKEN, signed_url, form, strlen(form), b64), 0);
    snprintf(sig, sizeof(sig), "X-Twilio-Signature: %s", b64);
    const char *hdrs[8] = {"Content-Type: application/x-www-form-urlencoded", sig};
    for (size_t i = 0; extra && extra[i] && i < 5; i++)
        hdrs[2 + i] = extra[i];
    long st = status_of(call("POST", "/webhooks/sms", hdrs, form));
    free(form);
    free(ef);
    free(et);
    free(sid);
    return st;
}

/* A WhatsApp POST signed with secret, from X-Forwarded-For xff (NULL: none). */
static struct resp wa_post(const char *body, const char *secret, const char *xff)
{
    char hex[65], sig[128], fwd[128];
    handler_sign_whatsapp(secret, (const unsigned char *)body, strlen(body), hex);
    snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=%s", hex);
    snprintf(fwd, sizeof(fwd), "X-Forwarded-For: %s", xff ? xff : "");
    const char *hdrs[] = {"Content-Type: application/json", sig, xff ? fwd : NULL, NULL};
    return call("POST", "/webhooks/wa", hdrs, body);
}

static long wa_status(const char *secret, const char *xff)
{
    char *id = next_id("wamid.trust.");
    char *body = wa_body("6280000008009", id, "halo", NULL);
    long st = status_of(wa_post(body, secret, xff));
    free(body);
    free(id);
    return st;
}

static struct resp handshake(const char *token)
{
    char path[256];
    snprintf(path, sizeof(path),
             "/webhooks/wa?hub.mode=subscribe&hub.verify_token=%s&hub.challenge=4242", token);
    return call("GET", path, NULL, NULL);
}

/* The value of the /metrics line that starts with series (name{labels}), or -1. */
static long long metric(const char *series)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "%s/metrics", E.base);
    assert_int_equal(http_get(url, &body), 200);
    long long v = -1;
    for (char *line = body; line && *line;) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, series, strlen(series)) == 0 && line[strlen(series)] == ' ')
            v = strtoll(line + strlen(series) + 1, NULL, 10);
        line = nl ? nl + 1 : NULL;
    }
    free(body);
    return v;
}

/* Retries `ok` until it returns 200 (bounded); returns the milliseconds it took, or -1. */
static long long wait_for_200(long (*ok)(void), int timeout_ms)
{
    long long t0 = harness_mono_ms();
    while (harness_mono_ms() - t0 < timeout_ms) {
        if (ok() == 200)
            return harness_mono_ms() - t0;
        harness_sleep_ms(100);
    }
    return -1;
}

static long right_token(void)
{
    return status_of(handshake("e2e-verify"));
}

static long right_signature(void)
{
    return wa_status(WA_SECRET, NULL);
}

/* Restarts suara with [server] trust_proxy = list (the config's line is replaced). */
static void restart_with_trust(const char *from, const char *to)
{
    assert_int_equal(harness_stop(E.suara, SIGTERM, 20000), 0);
    FILE *f = fopen(E.config, "r");
    assert_non_null(f);
    static char text[16384];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *at = strstr(text, from);
    assert_non_null(at);
    f = fopen(E.config, "w");
    assert_non_null(f);
    fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    fclose(f);
    assert_int_equal(start_suara(), 0);
}

/* ---- the tests ---- */

static void test_forwarded_headers_ignored_from_untrusted_peer(void **state)
{
    (void)state;
    char real[128];
    snprintf(real, sizeof(real), "%s/webhooks/sms", E.base);
    const char *spoof[] = {"X-Forwarded-Proto: https", "X-Forwarded-Host: evil.example",
                           "X-Forwarded-For: 10.9.9.9", NULL};
    /* signed for the URL really called: the spoofed headers are not believed */
    assert_int_equal(sms_signed_for(real, "+6280000008001", "halo", spoof), 200);
    /* signed for the URL the headers claim: refused */
    assert_int_equal(
        sms_signed_for("https://evil.example/webhooks/sms", "+6280000008001", "halo", spoof), 401);
}

static void test_verify_token_guessing_is_throttled(void **state)
{
    (void)state;
    long long failed0 = metric("suara_auth_failures_total{secret=\"verify_token\"}");
    long long refused0 = metric("suara_auth_refused_total{secret=\"verify_token\"}");
    assert_int_equal(right_token(), 200); /* a success clears earlier failures */
    for (int i = 0; i < FAILURES; i++)
        assert_int_equal(status_of(handshake("guess")), 403);
    struct resp r = handshake("e2e-verify"); /* over the limit: even the right token waits */
    assert_int_equal(r.status, 429);
    assert_non_null(strstr(r.headers, "retry-after: "));
    assert_non_null(strstr(r.body, "\"error\":\"rate_limited\""));
    status_of(r);
    assert_int_equal(status_of(handshake("guess")), 429);
    assert_int_equal(metric("suara_auth_failures_total{secret=\"verify_token\"}"),
                     failed0 + FAILURES);
    assert_int_equal(metric("suara_auth_refused_total{secret=\"verify_token\"}"), refused0 + 2);
    /* after the refusal ([server] throttle_block_s = 2) the right token works again */
    long long waited = wait_for_200(right_token, 10000);
    assert_true(waited >= 0);
    struct resp ok = handshake("e2e-verify");
    assert_int_equal(ok.status, 200);
    assert_string_equal(ok.body, "4242");
    status_of(ok);
}

static void test_signature_guessing_is_throttled(void **state)
{
    (void)state;
    long long refused0 = metric("suara_auth_refused_total{secret=\"webhook_signature\"}");
    assert_int_equal(right_signature(), 200);
    /* from an untrusted peer X-Forwarded-For is dropped: changing it gives no fresh budget */
    static const char *const xff[] = {"198.51.100.1", "198.51.100.2", "198.51.100.3",
                                      "198.51.100.4"};
    for (int i = 0; i < FAILURES; i++)
        assert_int_equal(wa_status("not-the-secret", xff[i % 4]), 401);
    struct resp r = wa_post("{}", WA_SECRET, "198.51.100.99");
    assert_int_equal(r.status, 429);
    assert_non_null(strstr(r.headers, "retry-after: "));
    status_of(r);
    assert_int_equal(right_signature(), 429);
    assert_true(metric("suara_auth_refused_total{secret=\"webhook_signature\"}") >= refused0 + 2);
    assert_true(metric("suara_auth_failures_total{secret=\"webhook_signature\"}") >= FAILURES);
    assert_true(wait_for_200(right_signature, 10000) >= 0);
    /* an unknown channel is a 404 before any throttle or signature check */
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    assert_int_equal(status_of(call("POST", "/webhooks/nope", hdrs, "{}")), 404);
}

/* Builds a WhatsApp POST: one change for our number with the given messages, one change for
 * another number with a valid text. Heap string. */
static char *mixed_batch(const char *tag)
{
    char id[4][64];
    for (int i = 0; i < 4; i++)
        snprintf(id[i], sizeof(id[i]), "wamid.mixed.%s.%d.%d", tag, (int)getpid(), i);
    json_t *msgs =
        json_pack("[{s:s, s:s, s:s, s:s, s:{s:s}},"  /* valid: starts a survey */
                  " {s:s, s:s, s:s, s:s},"           /* unknown type */
                  " {s:s, s:s, s:s, s:{s:s}},"       /* no "from" */
                  " {s:s, s:s, s:s, s:s, s:{s:s}}]", /* valid */
                  "from", "6280000008011", "id", id[0], "timestamp", "1790000000", "type", "text",
                  "text", "body", "NILAI BMK001", "from", "6280000008012", "id", id[1], "timestamp",
                  "1790000000", "type", "hologram", "id", id[2], "timestamp", "1790000000", "type",
                  "text", "text", "body", "halo", "from", "6280000008013", "id", id[3], "timestamp",
                  "1790000000", "type", "text", "text", "body", "NILAI SRW001");
    json_t *other =
        json_pack("[{s:s, s:s, s:s, s:s, s:{s:s}}]", "from", "6280000008014", "id", "wamid.other.1",
                  "timestamp", "1790000000", "type", "text", "text", "body", "NILAI BMK001");
    json_t *root = json_pack(
        "{s:s, s:[{s:s, s:[{s:s, s:{s:s, s:{s:s}, s:o}}, {s:s, s:{s:s, s:{s:s}, s:o}}]}]}",
        "object", "whatsapp_business_account", "entry", "id", "100000000000000", "changes", "field",
        "messages", "value", "messaging_product", "whatsapp", "metadata", "phone_number_id",
        OUR_PNID, "messages", msgs, "field", "messages", "value", "messaging_product", "whatsapp",
        "metadata", "phone_number_id", OTHER_PNID, "messages", other);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static long long rejected(const char *reason)
{
    char series[160];
    snprintf(series, sizeof(series), "suara_messages_rejected_total{channel=\"wa\",reason=\"%s\"}",
             reason);
    return metric(series);
}

static void test_mixed_batch_commits_the_valid_messages(void **state)
{
    (void)state;
    long long unknown0 = rejected("unknown_type"), missing0 = rejected("missing_field"),
              foreign0 = rejected("foreign_recipient");
    char *body = mixed_batch("a");
    struct resp r = wa_post(body, WA_SECRET, NULL);
    assert_int_equal(r.status, 200); /* Meta must not redeliver the valid ones */
    assert_string_equal(r.body, "{}");
    status_of(r);
    assert_true(mock_settled_count("6280000008011") >= 1); /* both valid messages answered */
    int a = mock_settled_count("6280000008011"), b = mock_settled_count("6280000008013");
    assert_true(b >= 1);
    assert_int_equal(mock_count("6280000008012"), 0); /* the unknown type: not processed */
    assert_int_equal(mock_count("6280000008014"), 0); /* another number's: not processed */
    assert_int_equal(rejected("unknown_type"), unknown0 + 1);
    assert_int_equal(rejected("missing_field"), missing0 + 1);
    assert_int_equal(rejected("foreign_recipient"), foreign0 + 1);
    /* Meta's redelivery of the same POST: 200 again, nothing twice */
    assert_int_equal(status_of(wa_post(body, WA_SECRET, NULL)), 200);
    assert_int_equal(mock_settled_count("6280000008011"), a);
    assert_int_equal(mock_settled_count("6280000008013"), b);
    free(body);
}

/* Nothing in the POST is for this channel: 200 and ignored (Meta redelivers anything else for
 * days, and the signature already proved it came from Meta), counted. */
static void test_only_another_numbers_post_is_ignored(void **state)
{
    (void)state;
    long long foreign0 = rejected("foreign_recipient");
    json_t *root =
        json_pack("{s:s, s:[{s:s, s:[{s:s, s:{s:{s:s}, s:[{s:s, s:s, s:s, s:s, s:{s:s}}]}}]}]}",
                  "object", "whatsapp_business_account", "entry", "id", "100000000000000",
                  "changes", "field", "messages", "value", "metadata", "phone_number_id",
                  OTHER_PNID, "messages", "from", "6280000008015", "id", "wamid.other.2",
                  "timestamp", "1790000000", "type", "text", "text", "body", "NILAI BMK001");
    char *body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    assert_int_equal(status_of(wa_post(body, WA_SECRET, NULL)), 200);
    assert_int_equal(rejected("foreign_recipient"), foreign0 + 1);
    /* answered 200, so a reply, were there one, was committed with it: drained, it would have
     * reached the mock */
    assert_int_equal(mock_settled_count("6280000008015"), 0);
    free(body);
}

static void test_forwarded_headers_used_from_trusted_proxy(void **state)
{
    (void)state;
    restart_with_trust("trust_proxy = " UNTRUSTED, "trust_proxy = " TRUSTED);
    const char *public_url = "https://suara.example.org/webhooks/sms";
    const char *fwd[] = {"X-Forwarded-Proto: https", "X-Forwarded-Host: suara.example.org",
                         "X-Forwarded-For: 203.0.113.50", NULL};
    assert_int_equal(sms_signed_for(public_url, "+6280000008021", "halo", fwd), 200);
    /* without the proxy's headers the URL is the one really called */
    assert_int_equal(sms_signed_for(public_url, "+6280000008021", "halo", NULL), 401);
    char real[128];
    snprintf(real, sizeof(real), "%s/webhooks/sms", E.base);
    assert_int_equal(sms_signed_for(real, "+6280000008021", "halo", NULL), 200);
}

static void test_throttle_counts_the_client_behind_a_trusted_proxy(void **state)
{
    (void)state;
    for (int i = 0; i < FAILURES; i++)
        assert_int_equal(wa_status("not-the-secret", "203.0.113.5"), 401);
    assert_int_equal(wa_status(WA_SECRET, "203.0.113.5"), 429);
    /* a hop that is itself a trusted proxy is skipped: still the same client */
    assert_int_equal(wa_status(WA_SECRET, "203.0.113.5, 10.1.1.1"), 429);
    /* another client of the same proxy, and the proxy itself, are not refused */
    assert_int_equal(wa_status(WA_SECRET, "198.51.100.7, 203.0.113.6"), 200);
    assert_int_equal(wa_status(WA_SECRET, NULL), 200);
}

/* The log must never hold a secret or a test number (rejects are logged by place and reason). */
static void test_log_has_no_secrets_or_numbers(void **state)
{
    (void)state;
    FILE *f = fopen(E.log, "r");
    assert_non_null(f);
    static char buf[4 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "item not processed (foreign_recipient)"));
    assert_non_null(strstr(buf, "item not processed (unknown_type)"));
    const char *never[] = {WA_SECRET, SMS_TOKEN, "e2e-verify", "62800000080", "NILAI SRW001"};
    for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
        if (strstr(buf, never[i]))
            fail_msg("the log contains \"%s\"", never[i]);
}

static int setup(void **state)
{
    E.extra_ini = "[server]\ntrust_proxy = " UNTRUSTED "\nthrottle_failures = 4\n"
                  "throttle_window_s = 60\nthrottle_block_s = 2\n";
    return e2e_setup(state);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forwarded_headers_ignored_from_untrusted_peer),
        cmocka_unit_test(test_verify_token_guessing_is_throttled),
        cmocka_unit_test(test_signature_guessing_is_throttled),
        cmocka_unit_test(test_mixed_batch_commits_the_valid_messages),
        cmocka_unit_test(test_only_another_numbers_post_is_ignored),
        cmocka_unit_test(test_forwarded_headers_used_from_trusted_proxy),
        cmocka_unit_test(test_throttle_counts_the_client_behind_a_trusted_proxy),
        cmocka_unit_test(test_log_has_no_secrets_or_numbers),
    };
    int rc = cmocka_run_group_tests(tests, setup, e2e_teardown);
    curl_global_cleanup();
    return rc;
}
