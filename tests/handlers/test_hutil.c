/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for handlers/hutil.c: form decoding / encoding, UTF-8 cutting, hex, small parsers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hutil.h"
#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>

static void test_form_parse(void **state)
{
    (void)state;
    struct hutil_form f = {0};
    const char *s = "b=2&a=x+y%21&&a=%C3%A9&flag&b=1&=v";
    assert_int_equal(hutil_form_parse(s, strlen(s), &f), 0);
    assert_int_equal(f.n, 6);
    assert_string_equal(hutil_form_get(&f, "a"), "x y!");
    assert_string_equal(hutil_form_get(&f, "flag"), "");
    assert_null(hutil_form_get(&f, "c"));
    hutil_form_sort(&f);
    static const char *const want[][2] = {{"", "v"},  {"a", "x y!"}, {"a", "\xc3\xa9"},
                                          {"b", "1"}, {"b", "2"},    {"flag", ""}};
    for (size_t i = 0; i < 6; i++) {
        assert_string_equal(f.f[i].name, want[i][0]);
        assert_string_equal(f.f[i].value, want[i][1]);
    }
    hutil_form_free(&f);
    hutil_form_free(&f); /* a freed form is a zeroed form */
    static const char *const bad[] = {"a=%", "a=%4", "a=%4g", "%zz=1", "a=%00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(hutil_form_parse(bad[i], strlen(bad[i]), &f), -1);
        assert_int_equal(f.n, 0);
    }
    /* not NUL-terminated at len: the escape at the cut is incomplete */
    assert_int_equal(hutil_form_parse("a=%41", 4, &f), -1);
    assert_int_equal(hutil_form_parse("", 0, &f), 0);
    assert_int_equal(f.n, 0);
}

static void test_pct_encode(void **state)
{
    (void)state;
    struct hutil_buf b = {0};
    const char *s = "a b+c&d=e/\xc3\xa9~-._";
    hutil_buf_add_pct(&b, s, strlen(s));
    size_t len;
    char *out = hutil_buf_take(&b, &len);
    assert_string_equal(out, "a%20b%2Bc%26d%3De%2F%C3%A9~-._");
    assert_int_equal(len, strlen(out));
    free(out);
    out = hutil_buf_take(&b, NULL);
    assert_string_equal(out, "");
    free(out);
}

static void test_utf8_prefix(void **state)
{
    (void)state;
    assert_int_equal(hutil_utf8_prefix("abc", 2), 2);
    assert_int_equal(hutil_utf8_prefix("abc", 5), 3);
    assert_int_equal(hutil_utf8_prefix("abc", 0), 0);
    assert_int_equal(hutil_utf8_prefix("\xc3\xa9\xc3\xa9", 1), 2);
    assert_int_equal(hutil_utf8_prefix("a\xf0\x9f\x91\x8d"
                                       "b",
                                       2),
                     5);
    assert_int_equal(hutil_utf8_prefix("a\xf0\x9f\x91\x8d"
                                       "b",
                                       1),
                     1);
    assert_int_equal(hutil_utf8_prefix("", 3), 0);
}

static void test_small_parsers(void **state)
{
    (void)state;
    unsigned char raw[2];
    assert_int_equal(hutil_hex_decode("aF", raw, 1), 0);
    assert_int_equal(raw[0], 0xaf);
    assert_int_equal(hutil_hex_decode("ag", raw, 1), -1);
    char hex[5];
    hutil_hex_encode((const unsigned char *)"\x01\xfe", 2, hex);
    assert_string_equal(hex, "01fe");
    assert_true(hutil_secret_equal("abc", "abc"));
    assert_false(hutil_secret_equal("abc", "abd"));
    assert_false(hutil_secret_equal("abc", "abcd"));
    assert_false(hutil_secret_equal(NULL, "abc"));
    assert_true(hutil_content_type_is(" text/xml;charset=x", "text/xml"));
    assert_false(hutil_content_type_is("text/xmlx", "text/xml"));
    assert_false(hutil_content_type_is(NULL, "text/xml"));
    char *d = hutil_digits("whatsapp:+62 812-0000-0001");
    assert_string_equal(d, "6281200000001");
    free(d);
    assert_null(hutil_digits("+"));
    assert_null(hutil_digits(NULL));
    assert_int_equal(hutil_seconds_to_ms("1700000000"), 1700000000000LL);
    assert_int_equal(hutil_seconds_to_ms("17x"), 0);
    assert_int_equal(hutil_seconds_to_ms("-1"), 0);
    assert_int_equal(hutil_seconds_to_ms("99999999999999999999"), 0);
    assert_int_equal(hutil_seconds_to_ms(NULL), 0);
    char *u = hutil_join_url("https://h/v1//", "/p/m");
    assert_string_equal(u, "https://h/v1/p/m");
    free(u);
}

static void test_classify(void **state)
{
    (void)state;
    static const struct hutil_code t[] = {{7, SR_SEND_OPTED_OUT}};
    assert_int_equal(hutil_classify(204, 1, 7, t, 1), SR_SEND_OK);
    assert_int_equal(hutil_classify(400, 1, 7, t, 1), SR_SEND_OPTED_OUT);
    assert_int_equal(hutil_classify(400, 0, 7, t, 1), SR_SEND_FAILED);
    assert_int_equal(hutil_classify(400, 1, 8, t, 1), SR_SEND_FAILED);
    assert_int_equal(hutil_classify(502, 1, 7, t, 1), SR_SEND_RETRY);
    assert_int_equal(hutil_classify(429, 0, 0, t, 1), SR_SEND_RETRY);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_parse),  cmocka_unit_test(test_pct_encode),
        cmocka_unit_test(test_utf8_prefix), cmocka_unit_test(test_small_parsers),
        cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
