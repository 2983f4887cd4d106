/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for dialogs/intent.c, table-driven: answer phrasings (digits, Indonesian and English
 * words, negations, punctuation, emoji, contradictions), whole-message intents, and the start
 * command with officer-code candidates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dialog_fixture.h"
#include "dialog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int setup(void **state)
{
    *state = fx_new();
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

static int answer(const struct fx *f, const char *text)
{
    char *clean = dlg_utf8_clean(text, 2000);
    char *norm = dlg_normalize(f->e, clean);
    int v = dlg_match_answer(f->e, norm, 4);
    free(norm);
    free(clean);
    return v;
}

static void test_answers(void **state)
{
    const struct fx *f = *state;
    static const struct {
        const char *text;
        int value;
    } cases[] = {
        /* digits */
        {"4", 4},
        {"4.", 4},
        {" 4 ", 4},
        {"1", 1},
        {"(2)", 2},
        {"3!!", 3},
        {"4️⃣", 4},
        {"4. Sangat baik", 4},
        {"2 - kurang baik", 2},
        {"5", 0},
        {"0", 0},
        {"10", 0},
        {"44", 0},
        {"4x", 0},
        {"2 tapi baik", 0},
        /* Indonesian */
        {"sangat baik", 4},
        {"Sangat Baik", 4},
        {"SANGAT   BAIK", 4},
        {"sangat-baik", 4},
        {"baik", 3},
        {"Baik.", 3},
        {"baik sekali", 4},
        {"kurang", 2},
        {"kurang baik", 2},
        {"kurang-baik", 2},
        {"tidak baik", 1},
        {"tdk baik", 1},
        {"buruk", 1},
        {"jelek", 1},
        {"puas", 3},
        {"sangat puas", 4},
        {"tidak puas", 1},
        {"kurang puas", 2},
        {"sangat tidak puas", 1},
        {"tidak buruk", 3},
        {"cukup baik", 3},
        {"biasa saja", 2},
        {"mantap", 4},
        {"luar biasa!", 4},
        {"pelayanannya sangat baik sekali pak", 4},
        {"👍 baik", 3},
        {"Sangat baik 👍👍", 4},
        {"*sangat puas*", 4},
        {"sgt baik", 4},
        /* English */
        {"good", 3},
        {"Very good", 4},
        {"very good!", 4},
        {"excellent", 4},
        {"great", 4},
        {"poor", 1},
        {"bad", 1},
        {"very bad", 1},
        {"not good", 1},
        {"not bad", 3},
        {"not very good", 2},
        {"fair", 2},
        {"satisfied", 3},
        {"very satisfied", 4},
        {"dissatisfied", 1},
        {"OK", 3},
        {"okay", 3},
        /* unclear or contradictory */
        {"", 0},
        {"???", 0},
        {"🙏", 0},
        {"mungkin", 0},
        {"baik tapi lambat", 0},
        {"good but bad", 0},
        {"tidak tahu", 0},
        {"sebaiknya", 0},
        {"rating", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = answer(f, cases[i].text);
        if (got != cases[i].value)
            fail_msg("answer \"%s\": got %d, want %d", cases[i].text, got, cases[i].value);
    }
}

static void test_answer_limited_by_scale(void **state)
{
    const struct fx *f = *state;
    assert_int_equal(dlg_match_answer(f->e, "4", 3), 0);
    assert_int_equal(dlg_match_answer(f->e, "sangat baik", 3), 0);
    assert_int_equal(dlg_match_answer(f->e, "3", 3), 3);
}

static void test_intents(void **state)
{
    const struct fx *f = *state;
    static const struct {
        const char *text;
        enum dlg_intent intent;
        bool match;
        const char *lang;
    } cases[] = {
        {"BATAL", DLG_INTENT_CANCEL, true, "id"},
        {"batal!!", DLG_INTENT_CANCEL, true, "id"},
        {"Cancel", DLG_INTENT_CANCEL, true, "en"},
        {"batalkan survei", DLG_INTENT_CANCEL, true, "id"},
        {"saya batal datang", DLG_INTENT_CANCEL, false, NULL},
        {"HELP", DLG_INTENT_HELP, true, "en"},
        {"bantuan", DLG_INTENT_HELP, true, "id"},
        {"helpful", DLG_INTENT_HELP, false, NULL},
        {"LEWATI", DLG_INTENT_SKIP, true, "id"},
        {"skip", DLG_INTENT_SKIP, true, "en"},
        {"tidak ada", DLG_INTENT_SKIP, true, "id"},
        {"tidak ada komentar", DLG_INTENT_SKIP, true, "id"},
        {"tidak ada yang kurang", DLG_INTENT_SKIP, false, NULL},
        {"ENGLISH", DLG_INTENT_LANGUAGE, true, "en"},
        {"Bahasa", DLG_INTENT_LANGUAGE, true, "id"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *norm = dlg_normalize(f->e, cases[i].text);
        size_t lang = 99;
        bool got = dlg_match_intent(f->e, cases[i].intent, norm, &lang);
        free(norm);
        if (got != cases[i].match)
            fail_msg("intent \"%s\": got %d", cases[i].text, got);
        if (got)
            assert_string_equal(f->e->langs[lang], cases[i].lang);
    }
}

static void test_start(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *text;
        bool found;
        const char *officer, *code, *lang;
    } cases[] = {
        {"NILAI BMK017", true, "BMK017", NULL, "id"},
        {"nilai  bmk-017!!", true, "BMK017", NULL, "id"},
        {"Nilai BMK 017", true, "BMK017", NULL, "id"},
        {"👍 Nilai BMK017", true, "BMK017", NULL, "id"},
        {"Halo, saya ingin menilai pelayanan petugas BMK017", true, "BMK017", NULL, "id"},
        {"RATE bmk017 please", true, "BMK017", NULL, "en"},
        {"I would like to rate officer BMK017", true, "BMK017", NULL, "en"},
        {"nilai ptsp-02", true, "PTSP-02", NULL, "id"},
        {"NILAI andi", true, "ANDI", NULL, "id"},
        {"NILAI XYZ999", true, NULL, "XYZ999", "id"},
        {"NILAI saya XYZ999", true, NULL, "XYZ999", "id"},
        {"nilai", true, NULL, NULL, "id"},
        {"penilaian", true, NULL, NULL, "id"},
        {"pelayanan bagus", false, NULL, NULL, NULL},
        {"ternilai", false, NULL, NULL, NULL},
        {"BMK017", false, NULL, NULL, NULL},
        {"separate", false, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *norm = dlg_normalize(f->e, cases[i].text);
        struct dlg_start st;
        bool got = dlg_find_start(f->e, &f->env, norm, &st);
        free(norm);
        if (got != cases[i].found)
            fail_msg("start \"%s\": got %d", cases[i].text, got);
        if (got) {
            if (cases[i].officer) {
                if (!st.officer)
                    fail_msg("start \"%s\": no officer", cases[i].text);
                assert_string_equal(st.officer->code, cases[i].officer);
            } else {
                assert_null(st.officer);
            }
            if (cases[i].code)
                assert_string_equal(st.code, cases[i].code);
            else if (!cases[i].officer)
                assert_null(st.code);
            assert_string_equal(f->e->langs[st.lang], cases[i].lang);
        }
        free(st.code);
    }
}

static void test_normalize_and_clean(void **state)
{
    const struct fx *f = *state;
    char *n = dlg_normalize(f->e, "  👍 Nilai BMK017!! 🙏 ");
    assert_string_equal(n, "Nilai BMK017");
    free(n);
    n = dlg_normalize(f->e, "!!!");
    assert_string_equal(n, "");
    free(n);
    char *c = dlg_utf8_clean("ab\xff"
                             "c\xc3",
                             100);
    assert_string_equal(c, "ab\xEF\xBF\xBD"
                           "c\xEF\xBF\xBD");
    free(c);
    c = dlg_utf8_clean("\xC3\xA9\xC3\xA9\xC3\xA9", 2);
    assert_string_equal(c, "\xC3\xA9\xC3\xA9");
    free(c);
    c = dlg_utf8_clean("\xED\xA0\x80 \xF4\x90\x80\x80 \xC0\xAF",
                       100); /* surrogate, >U+10FFFF, overlong */
    assert_null(strstr(c, "\xED\xA0\x80"));
    assert_null(strstr(c, "\xC0\xAF"));
    free(c);
}

/* Pathological input stays bounded (match limits) and answers nothing. */
static void test_long_input(void **state)
{
    const struct fx *f = *state;
    size_t n = 100000;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (i % 7 == 0) ? ' ' : 'a';
    s[n] = '\0';
    assert_int_equal(answer(f, s), 0);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_limited_by_scale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_normalize_and_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
