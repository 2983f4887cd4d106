/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for handlers/twilio.c, driven by recorded webhook bodies in tests/testdata/twilio/.
 *
 * Signature vectors, computed independently with python3 (urllib.parse.parse_qsl, sorted,
 * hmac/hashlib sha1, base64):
 *   Twilio's documented example: token "12345", URL https://mycompany.com/myapp.php?foo=1&bar=2,
 *   CallSid=CA1234567890ABCDE Caller=+12349013030 Digits=1234 From=+12349013030 To=+18005551212
 *     -> "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
 *   token "test-auth-token", twilio/sms.txt:
 *     https://suara.example.org/webhooks/sms           -> "Amx5d4PmERtaHY5cDFI7Uk/wrHA="
 *     http://gw.internal:8080/webhooks/sms?x=1          -> "8E4xWPmmDqRvqoDTnaPuz8+iyiQ="
 *   token "test-auth-token", twilio/status_callback.txt:
 *     https://suara.example.org/webhooks/sms           -> "8q+JydBYwN0KYjbbixbFzS0RcNE="
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "handler.h"
#include "harness.h"
#include "sr_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "test-auth-token"
#define PUBLIC "https://suara.example.org/webhooks/sms"
#define FORM "application/x-www-form-urlencoded"

static const struct sr_channel_conf conf = {
    .name = "sms",
    .type = "twilio",
    .auth_token = TOKEN,
    .public_url = PUBLIC,
    .api_base = "https://api.twilio.example.test",
    .account_sid = "AC00000000000000000000000000000000",
    .from_number = "+15005550006",
};

static const struct handler *tw(void)
{
    const struct handler *h = handler_find("twilio");
    assert_non_null(h);
    return h;
}

static void test_documented_vector(void **state)
{
    (void)state;
    /* fields deliberately out of order: the signature sorts them */
    const char *form = "To=%2B18005551212&Digits=1234&From=%2B12349013030&CallSid=CA1234567890ABCDE"
                       "&Caller=%2B12349013030";
    char sig[29];
    assert_int_equal(handler_sign_twilio("12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
                                         form, strlen(form), sig),
                     0);
    assert_string_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    assert_int_equal(handler_sign_twilio("12345", "https://x", "a=%zz", 5, sig), -1);
    assert_int_equal(handler_sign_twilio("12345", "https://x", "a=%4", 4, sig), -1);
}

static void post(struct th_req *r, const char *body, size_t len, const char *sig)
{
    th_req_init(r, "POST", "/webhooks/sms", "", body, len);
    th_req_header(r, "content-type", FORM);
    if (sig)
        th_req_header(r, "x-twilio-signature", sig);
}

/* The URL rebuilt from Host / X-Forwarded-* when public_url is empty. */
static void test_url_rebuild(void **state)
{
    (void)state;
    size_t len;
    char *body = th_read("twilio/sms.txt", &len);
    struct sr_channel_conf c = conf;
    c.public_url = "";
    static const struct {
        const char *proto, *fhost, *host, *query, *sig;
        enum sr_err want;
    } t[] = {
        {NULL, NULL, "gw.internal:8080", "x=1", "8E4xWPmmDqRvqoDTnaPuz8+iyiQ=", SR_E_OK},
        {"https", "suara.example.org", "gw.internal:8080", "",
         "Amx5d4PmERtaHY5cDFI7Uk/wrHA=", SR_E_OK},
        {"https, http", "suara.example.org, proxy.local", NULL, "",
         "Amx5d4PmERtaHY5cDFI7Uk/wrHA=", SR_E_OK},
        {NULL, NULL, "suara.example.org", "", "Amx5d4PmERtaHY5cDFI7Uk/wrHA=", SR_E_SIGNATURE},
        {"https", NULL, "gw.internal:8080", "", "Amx5d4PmERtaHY5cDFI7Uk/wrHA=", SR_E_SIGNATURE},
        {"https", NULL, NULL, "", "Amx5d4PmERtaHY5cDFI7Uk/wrHA=", SR_E_SIGNATURE},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct th_req r;
        th_req_init(&r, "POST", "/webhooks/sms", t[i].query, body, len);
        th_req_header(&r, "Content-Type", FORM);
        th_req_header(&r, "X-Twilio-Signature", t[i].sig);
        if (t[i].proto)
            th_req_header(&r, "X-Forwarded-Proto", t[i].proto);
        if (t[i].fhost)
            th_req_header(&r, "X-Forwarded-Host", t[i].fhost);
        if (t[i].host)
            th_req_header(&r, "Host", t[i].host);
        struct sr_errbuf eb = {{0}};
        if (tw()->verify(&c, &r.in, &eb) != t[i].want)
            fail_msg("case %zu: %s", i, eb.msg);
    }
    free(body);
}

/* ---- recorded payloads ----------------------------------------------------------------- */

struct tw_case {
    const char *file;
    const char *sig; /* independent vector, or NULL */
    struct th_item item;
};

static const struct tw_case cases[] = {
    {"sms.txt",
     "Amx5d4PmERtaHY5cDFI7Uk/wrHA=",
     {SR_IN_TEXT, "SM00000000000000000000000000000001", "6281200000001", "+15005550006",
      "Halo petugas, layanan bagus! \xf0\x9f\x91\x8d", NULL, NULL, 0}},
    {"status_callback.txt",
     "8q+JydBYwN0KYjbbixbFzS0RcNE=",
     {SR_IN_STATUS, "SM00000000000000000000000000000002", "6281200000002", "+15005550006", NULL,
      NULL, NULL, 0, "undelivered", "30003"}},
    {"status_delivered.txt",
     NULL,
     {SR_IN_STATUS, "SM00000000000000000000000000000003", "6281200000002", "+15005550006", NULL,
      NULL, NULL, 0, "delivered", NULL}},
    {"empty_body.txt",
     NULL,
     {SR_IN_TEXT, "SM00000000000000000000000000000004", "6281200000001", "whatsapp:+15005550006",
      "", NULL, "Budi Tester", 0}},
};

static void check_case(const struct tw_case *c)
{
    size_t len;
    char path[128], sig[29];
    snprintf(path, sizeof(path), "twilio/%s", c->file);
    char *body = th_read(path, &len);
    assert_int_equal(handler_sign_twilio(TOKEN, PUBLIC, body, len, sig), 0);
    if (c->sig)
        assert_string_equal(sig, c->sig);
    struct th_req r;
    struct sr_errbuf eb = {{0}};
    post(&r, body, len, sig);
    assert_int_equal(tw()->verify(&conf, &r.in, &eb), SR_E_OK);
    struct sr_inbound_batch b = {0};
    if (tw()->parse(&conf, &r.in, &b, &eb) != SR_E_OK)
        fail_msg("%s: %s", c->file, eb.msg);
    assert_int_equal(b.n, 1);
    th_check_item(&b.items[0], &c->item);
    sr_inbound_batch_clear(&b);

    /* bad-signature variants: wrong token, other URL, tampered body, missing header */
    char bad[29];
    assert_int_equal(handler_sign_twilio("another-token", PUBLIC, body, len, bad), 0);
    post(&r, body, len, bad);
    assert_int_equal(tw()->verify(&conf, &r.in, &eb), SR_E_SIGNATURE);
    assert_int_equal(handler_sign_twilio(TOKEN, PUBLIC "x", body, len, bad), 0);
    post(&r, body, len, bad);
    assert_int_equal(tw()->verify(&conf, &r.in, &eb), SR_E_SIGNATURE);
    char *eq = strchr(body, '=');
    eq[1] = eq[1] == 'A' ? 'B' : 'A';
    post(&r, body, len, sig);
    assert_int_equal(tw()->verify(&conf, &r.in, &eb), SR_E_SIGNATURE);
    post(&r, body, len, NULL);
    assert_int_equal(tw()->verify(&conf, &r.in, &eb), SR_E_SIGNATURE);
    assert_non_null(strstr(eb.msg, "missing"));
    free(body);
}

static void test_recorded_payloads(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i]);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *body, *detail;
    } t[] = {
        {"To=%2B1500&Body=hi&MessageSid=SM1", "missing field \"From\""},
        {"From=%2B6281200000001&Body=hi&MessageSid=SM1", "missing field \"To\""},
        {"From=%2B6281200000001&To=%2B1500&MessageSid=SM1", "missing field \"Body\""},
        {"From=%2B6281200000001&To=%2B1500&Body=hi", "missing field \"MessageSid\""},
        {"From=%2B6281200000001&To=%2B1500&Body=hi&MessageSid=", "missing field \"MessageSid\""},
        {"From=anonymous&To=%2B1500&Body=hi&MessageSid=SM1", "\"From\" is not a phone number"},
        {"From=%2B6281200000001&To=%2B1500&Body=100%&MessageSid=SM1", "invalid percent escape"},
        {"From=%2B6281200000001&To=%2B1500&Body=%G1&MessageSid=SM1", "invalid percent escape"},
        {"From=%2B6281200000001&To=%2B1500&Body=a%00b&MessageSid=SM1", "invalid percent escape"},
        {"MessageStatus=sent&To=%2B6281200000002", "missing field \"MessageSid\""},
        {"", "missing field \"From\""},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct th_req r;
        post(&r, t[i].body, strlen(t[i].body), NULL);
        struct sr_inbound_batch b = {0};
        struct sr_errbuf eb = {{0}};
        assert_int_equal(tw()->parse(&conf, &r.in, &b, &eb), SR_E_INVALID);
        if (!strstr(eb.msg, t[i].detail))
            fail_msg("case %zu: detail \"%s\" lacks \"%s\"", i, eb.msg, t[i].detail);
        assert_int_equal(b.n, 0);
    }
}

static void test_content_type(void **state)
{
    (void)state;
    static const struct {
        const char *ctype;
        enum sr_err err;
    } t[] = {{FORM "; charset=UTF-8", SR_E_OK},
             {FORM, SR_E_OK},
             {"application/json", SR_E_UNSUPPORTED},
             {"multipart/form-data; boundary=x", SR_E_UNSUPPORTED},
             {NULL, SR_E_UNSUPPORTED}};
    const char *body = "From=%2B6281200000001&To=%2B1500&Body=a+b&SmsSid=SM9";
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct th_req r;
        th_req_init(&r, "POST", "/webhooks/sms", "", body, strlen(body));
        if (t[i].ctype)
            th_req_header(&r, "content-type", t[i].ctype);
        struct sr_inbound_batch b = {0};
        struct sr_errbuf eb;
        assert_int_equal(tw()->parse(&conf, &r.in, &b, &eb), t[i].err);
        if (t[i].err == SR_E_OK) {
            assert_string_equal(b.items[0].text, "a b");
            assert_string_equal(b.items[0].provider_id, "SM9");
        }
        sr_inbound_batch_clear(&b);
    }
}

/* ---- outbound -------------------------------------------------------------------------- */

/* A small independent decoder for the produced form: the value of name (heap) or NULL. */
static char *form_value(const char *body, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = body; p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, n) != 0 || p[n] != '=')
            continue;
        const char *v = p + n + 1;
        size_t vlen = strcspn(v, "&");
        char *out = malloc(vlen + 1), *o = out;
        for (size_t i = 0; i < vlen; i++) {
            unsigned int byte;
            if (v[i] == '%' && sscanf(v + i + 1, "%2x", &byte) == 1) {
                *o++ = (char)byte;
                i += 2;
            } else {
                *o++ = v[i] == '+' ? ' ' : v[i];
            }
        }
        *o = '\0';
        return out;
    }
    return NULL;
}

static struct sr_http_out format(struct sr_reply *r)
{
    struct sr_http_out out = {0};
    struct sr_errbuf eb;
    if (tw()->format_outbound(&conf, r, &out, &eb) != SR_E_OK)
        fail_msg("format_outbound: %s", eb.msg);
    assert_string_equal(out.method, "POST");
    assert_string_equal(out.url, "https://api.twilio.example.test/2010-04-01/Accounts/"
                                 "AC00000000000000000000000000000000/Messages.json");
    assert_string_equal(out.content_type, FORM);
    assert_string_equal(out.basic_user, "AC00000000000000000000000000000000");
    assert_string_equal(out.basic_pass, TOKEN);
    assert_null(out.bearer);
    assert_int_equal(out.body_len, strlen(out.body));
    return out;
}

static void test_outbound_options(void **state)
{
    (void)state;
    struct sr_reply r = {.to = sr_strdup("whatsapp:+6281200000001"),
                         .text = sr_strdup("Nilai layanan kami? (1-4) & terima kasih \xe2\x9c\x85"),
                         .style = SR_REPLY_BUTTONS,
                         .n_options = 2};
    r.options[0].id = sr_strdup("1");
    r.options[0].title = sr_strdup("Buruk");
    r.options[1].id = sr_strdup("2");
    r.options[1].title = sr_strdup("Baik \xf0\x9f\x91\x8d");
    struct sr_http_out out = format(&r);
    /* expected encoding from python3 urllib.parse.quote(text, safe="-._~") */
    assert_string_equal(out.body, "To=%2B6281200000001&From=%2B15005550006&Body=Nilai%20layanan%20"
                                  "kami%3F%20%281-4%29%20%26%20terima%20kasih%20%E2%9C%85%0A1.%"
                                  "20Buruk%0A2.%20Baik%20%F0%9F%91%8D");
    sr_http_out_clear(&out);
    r.style = SR_REPLY_TEXT; /* plain text ignores options */
    out = format(&r);
    char *body = form_value(out.body, "Body");
    assert_string_equal(body, "Nilai layanan kami? (1-4) & terima kasih \xe2\x9c\x85");
    free(body);
    sr_http_out_clear(&out);
    sr_reply_clear(&r);
}

static void test_outbound_cut(void **state)
{
    (void)state;
    struct sr_reply r = {.to = sr_strdup("+6281200000001"), .text = malloc(2000 * 3 + 1)};
    for (size_t i = 0; i < 2000; i++)
        memcpy(r.text + 3 * i, "\xe2\x82\xac", 3); /* the euro sign, 3 bytes */
    r.text[6000] = '\0';
    struct sr_http_out out = format(&r);
    char *body = form_value(out.body, "Body");
    assert_int_equal(strlen(body), 1600 * 3);
    char *to = form_value(out.body, "To");
    assert_string_equal(to, "+6281200000001");
    free(to);
    free(body);
    sr_http_out_clear(&out);
    sr_reply_clear(&r);
}

static void test_outbound_errors(void **state)
{
    (void)state;
    struct sr_http_out out = {0};
    struct sr_errbuf eb;
    struct sr_reply r = {.to = sr_strdup("no number"), .text = sr_strdup("hi")};
    assert_int_equal(tw()->format_outbound(&conf, &r, &out, &eb), SR_E_INVALID);
    struct sr_channel_conf bare = conf;
    bare.from_number = NULL;
    assert_int_equal(tw()->format_outbound(&bare, &r, &out, &eb), SR_E_CONFIG);
    assert_null(out.body);
    sr_reply_clear(&r);
}

static void test_classify_send(void **state)
{
    (void)state;
    static const struct {
        long status;
        const char *body;
        enum sr_send_outcome want;
        const char *id;
    } t[] = {
        {201, "{\"sid\":\"SM00000000000000000000000000000009\",\"status\":\"queued\"}", SR_SEND_OK,
         "SM00000000000000000000000000000009"},
        {201, NULL, SR_SEND_OK, NULL},
        {400, "{\"code\":21610,\"message\":\"Attempt to send to unsubscribed recipient\"}",
         SR_SEND_OPTED_OUT, NULL},
        {400, "{\"code\":21211,\"message\":\"Invalid 'To' Phone Number\"}", SR_SEND_FAILED, NULL},
        {429, "{\"code\":20429}", SR_SEND_RETRY, NULL},
        {500, "", SR_SEND_RETRY, NULL},
        {401, "{\"code\":20003}", SR_SEND_FAILED, NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char *id = NULL;
        size_t len = t[i].body ? strlen(t[i].body) : 0;
        assert_int_equal(tw()->classify_send(&conf, t[i].status, t[i].body, len, &id), t[i].want);
        if (t[i].id)
            assert_string_equal(id, t[i].id);
        else
            assert_null(id);
        free(id);
    }
}

static void test_answer_and_handshake(void **state)
{
    (void)state;
    assert_null(tw()->handshake);
    struct sr_http_answer ans = {0};
    struct sr_inbound_batch b = {0};
    assert_int_equal(tw()->format_answer(&conf, &b, &ans, NULL), SR_E_OK);
    assert_int_equal(ans.status, 200);
    assert_string_equal(ans.content_type, "text/xml");
    assert_string_equal(ans.body,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response></Response>");
    assert_int_equal(ans.body_len, strlen(ans.body));
    sr_http_answer_clear(&ans);
}

static void test_no_secret_in_errors(void **state)
{
    (void)state;
    struct sr_channel_conf s = conf;
    s.auth_token = "s3cr3t-app-secret-XYZ";
    const char *phone = "6281299999999";
    const char *body = "From=%2B6281299999999&To=%2B15005550006&Body=s3cr3t-app-secret-XYZ%";
    const char *good = "From=%2B6281299999999&To=%2B15005550006&Body=hi&MessageSid=SM1";
    char sig[29];
    assert_int_equal(handler_sign_twilio(s.auth_token, PUBLIC, good, strlen(good), sig), 0);
    const char *const needles[] = {s.auth_token,
                                   phone,
                                   "+"
                                   "6281299999999",
                                   sig,
                                   "s3cr3t",
                                   NULL};
    const char *sigs[] = {NULL, "short", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", sig};
    struct th_req r;
    struct sr_errbuf eb = {{0}};
    for (size_t i = 0; i < 4; i++) {
        post(&r, good, strlen(good) - 1, sigs[i]);
        assert_int_equal(tw()->verify(&s, &r.in, &eb), SR_E_SIGNATURE);
        th_assert_clean(eb.msg, needles);
    }
    post(&r, body, strlen(body), sig);
    assert_int_equal(tw()->verify(&s, &r.in, &eb), SR_E_SIGNATURE);
    th_assert_clean(eb.msg, needles);
    struct sr_inbound_batch b = {0};
    const char *bodies[] = {body, "From=%2B6281299999999&Body=x&MessageSid=SM1",
                            "From=%2B6281299999999&To=%2B1&Body=x"};
    for (size_t i = 0; i < 3; i++) {
        post(&r, bodies[i], strlen(bodies[i]), sig);
        assert_int_equal(tw()->parse(&s, &r.in, &b, &eb), SR_E_INVALID);
        th_assert_clean(eb.msg, needles);
    }
    sr_inbound_batch_clear(&b);
    struct sr_reply rep = {.to = sr_strdup(phone), .text = NULL};
    struct sr_http_out out = {0};
    assert_int_equal(tw()->format_outbound(&s, &rep, &out, &eb), SR_E_INVALID);
    th_assert_clean(eb.msg, needles);
    sr_reply_clear(&rep);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_vector),   cmocka_unit_test(test_url_rebuild),
        cmocka_unit_test(test_recorded_payloads),   cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_content_type),        cmocka_unit_test(test_outbound_options),
        cmocka_unit_test(test_outbound_cut),        cmocka_unit_test(test_outbound_errors),
        cmocka_unit_test(test_classify_send),       cmocka_unit_test(test_answer_and_handshake),
        cmocka_unit_test(test_no_secret_in_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
