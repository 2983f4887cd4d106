/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for dialogs/survey.c: whole surveys in Indonesian (digits, words, button payloads) and
 * English, click-to-chat openings, re-asking unclear answers, other media, cancelling, help and
 * language switch mid-survey, switching officer, and the comment cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dialog_fixture.h"

#include <jansson.h>
#include <stdbool.h>
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

/* The last result is one question reply: n of 4, with the expected first / last labels. */
static void assert_question(struct fx *f, const char *n_of, const char *first, const char *last)
{
    assert_int_equal(f->r.n_replies, 1);
    const struct sr_reply *r = &f->r.replies[0];
    assert_non_null(strstr(r->text, n_of));
    assert_int_equal(r->style, SR_REPLY_LIST);
    assert_non_null(r->list_button);
    assert_int_equal(r->n_options, 4);
    for (size_t i = 0; i < 4; i++) {
        char id[2] = {(char)('1' + i), 0};
        assert_string_equal(r->options[i].id, id);
        assert_true(strlen(r->options[i].title) <= 24);
    }
    assert_string_equal(r->options[0].title, first);
    assert_string_equal(r->options[3].title, last);
    assert_true(strlen(r->text) <= 1024); /* WhatsApp interactive body */
    assert_non_null(f->session);
}

static void start_bmk017(struct fx *f, const char *text)
{
    assert_int_equal(fx_text(f, text)->outcome, DIALOG_SURVEY_STARTED);
    json_t *ev = fx_event(f, 0, "survey_started");
    assert_int_equal(f->r.n_events, 1);
    assert_string_equal(json_string_value(json_object_get(ev, "officer")), "BMK017");
    assert_string_equal(json_string_value(json_object_get(ev, "unit")), "DISDUKCAPIL");
    assert_string_equal(json_string_value(json_object_get(ev, "survey")), "ikm-petugas");
    assert_string_equal(json_string_value(json_object_get(ev, "channel")), "wa");
    assert_string_equal(json_string_value(json_object_get(ev, "citizen")), FX_CITIZEN);
    assert_non_null(json_string_value(json_object_get(ev, "session")));
    json_decref(ev);
    assert_non_null(strstr(f->r.replies[0].text, "Sri Wahyuni"));
    assert_non_null(strstr(f->r.replies[0].text, "Dinas Kependudukan"));
}

/* Answers four questions with the given texts (or payloads when kind is BUTTON / LIST). */
static void answer_all(struct fx *f, enum sr_inbound_kind kind, const char *const *answers,
                       const char *lang)
{
    const char *n_of_id[] = {"2 dari 4", "3 dari 4", "4 dari 4"};
    const char *n_of_en[] = {"2 of 4", "3 of 4", "4 of 4"};
    bool en = strcmp(lang, "en") == 0;
    for (size_t i = 0; i < 4; i++) {
        f->now += FX_MIN;
        if (kind == SR_IN_TEXT)
            fx_text(f, answers[i]);
        else
            fx_send(f, kind, "Sangat baik", answers[i]);
        assert_int_equal(f->r.outcome, DIALOG_SURVEY_ANSWERED);
        assert_int_equal(f->r.n_events, 0);
        if (i < 2)
            assert_question(f, en ? n_of_en[i] : n_of_id[i], en ? "Poor" : "Tidak baik",
                            en ? "Very good" : "Sangat baik");
        else if (i == 2)
            assert_question(f, en ? n_of_en[i] : n_of_id[i], en ? "Not satisfied" : "Tidak puas",
                            en ? "Very satisfied" : "Sangat puas");
        else
            assert_int_equal(f->r.replies[0].style, SR_REPLY_TEXT); /* the comment prompt */
    }
}

/* Sends the comment and checks the completed event; returns it (caller decrefs). */
static json_t *finish(struct fx *f, const char *comment, const int expect[4])
{
    f->now += FX_MIN;
    assert_int_equal(fx_text(f, comment)->outcome, DIALOG_SURVEY_COMPLETED);
    assert_null(f->session);
    assert_int_equal(f->r.n_replies, 1);
    json_t *ev = fx_event(f, 0, "survey_completed");
    json_t *answers = json_object_get(ev, "answers");
    const char *codes[] = {"U3", "U6", "U7", "KEPUASAN"};
    assert_int_equal(json_object_size(answers), 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(json_integer_value(json_object_get(answers, codes[i])), expect[i]);
    assert_int_equal(json_integer_value(json_object_get(ev, "started_at")), FX_T0);
    assert_string_equal(json_string_value(json_object_get(ev, "officer")), "BMK017");
    return ev;
}

static void test_survey_digits_id(void **state)
{
    struct fx *f = *state;
    start_bmk017(f, "NILAI BMK017");
    assert_question(f, "1 dari 4", "Tidak baik", "Sangat baik");
    assert_non_null(strstr(f->r.replies[0].text, "Bapak/Ibu"));
    const char *answers[] = {"4", "3.", " 4 ", "4️⃣"};
    answer_all(f, SR_IN_TEXT, answers, "id");
    assert_non_null(strstr(f->r.replies[0].text, "LEWATI"));
    json_t *ev = finish(f, "  Petugasnya ramah dan cepat, terima kasih!  ", (int[]){4, 3, 4, 4});
    assert_string_equal(json_string_value(json_object_get(ev, "comment")),
                        "Petugasnya ramah dan cepat, terima kasih!");
    assert_string_equal(json_string_value(json_object_get(ev, "language")), "id");
    assert_string_equal(json_string_value(json_object_get(ev, "unit")), "DISDUKCAPIL");
    json_decref(ev);
    assert_non_null(strstr(f->r.replies[0].text, "Terima kasih"));
}

static void test_survey_words_id(void **state)
{
    struct fx *f = *state;
    start_bmk017(f, "nilai bmk017");
    const char *answers[] = {"Sangat baik 👍", "kurang baik", "tidak baik...", "SANGAT PUAS!!"};
    answer_all(f, SR_IN_TEXT, answers, "id");
    json_t *ev = finish(f, "-", (int[]){4, 2, 1, 4});
    assert_true(json_is_null(json_object_get(ev, "comment")));
    json_decref(ev);
}

static void test_survey_buttons(void **state)
{
    struct fx *f = *state;
    start_bmk017(f, "NILAI BMK017");
    const char *payloads[] = {"4", "2", "1", "3"};
    answer_all(f, SR_IN_LIST, payloads, "id");
    json_t *ev = finish(f, "LEWATI", (int[]){4, 2, 1, 3});
    assert_true(json_is_null(json_object_get(ev, "comment")));
    json_decref(ev);
}

static void test_survey_english(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_text(f, "RATE bmk017")->outcome, DIALOG_SURVEY_STARTED);
    assert_question(f, "Question 1 of 4", "Poor", "Very good");
    json_t *ev = fx_event(f, 0, "survey_started");
    assert_string_equal(json_string_value(json_object_get(ev, "language")), "en");
    json_decref(ev);
    const char *answers[] = {"very good", "Good.", "poor", "Very satisfied"};
    answer_all(f, SR_IN_TEXT, answers, "en");
    assert_non_null(strstr(f->r.replies[0].text, "SKIP"));
    ev = finish(f, "skip", (int[]){4, 3, 1, 4});
    assert_string_equal(json_string_value(json_object_get(ev, "language")), "en");
    json_decref(ev);
    assert_non_null(strstr(f->r.replies[0].text, "Thank you"));
}

static void test_click_to_chat(void **state)
{
    const char *texts[] = {"Halo, saya ingin menilai pelayanan petugas BMK017",
                           "👍 Nilai BMK017",
                           "nilai  bmk-017!!",
                           "NILAI BMK 017",
                           "Selamat siang. NILAI: bmk017 🙏",
                           "*NILAI* _BMK017_"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct fx *f = fx_new();
        start_bmk017(f, texts[i]);
        fx_free(f);
    }
    (void)state;
}

static void test_code_with_dash_and_letters(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_text(f, "nilai ptsp-02")->outcome, DIALOG_SURVEY_STARTED);
    json_t *ev = fx_event(f, 0, "survey_started");
    assert_string_equal(json_string_value(json_object_get(ev, "officer")), "PTSP-02");
    json_decref(ev);
    free(f->session);
    f->session = NULL;
    assert_int_equal(fx_text(f, "Nilai Andi")->outcome, DIALOG_SURVEY_STARTED);
    assert_non_null(strstr(f->r.replies[0].text, "Andi Pratama"));
}

static void test_unclear_reasked(void **state)
{
    struct fx *f = *state;
    start_bmk017(f, "NILAI BMK017");
    char *before = strdup(f->session);
    const char *unclear[] = {"mungkin", "baik tapi lambat", "7", "???"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(fx_text(f, unclear[i])->outcome, DIALOG_SURVEY_REASKED);
        assert_int_equal(f->r.n_events, 0);
        assert_question(f, "1 dari 4", "Tidak baik", "Sangat baik");
        const char *hint = i >= 2 ? "masih belum dapat kami pahami" : "belum dapat kami pahami";
        assert_non_null(strstr(f->r.replies[0].text, hint));
    }
    assert_string_not_equal(before, f->session); /* only the counter moved */
    free(before);
    assert_int_equal(fx_text(f, "4")->outcome, DIALOG_SURVEY_ANSWERED);
    assert_question(f, "2 dari 4", "Tidak baik", "Sangat baik");
}

static void test_other_media_reasked(void **state)
{
    struct fx *f = *state;
    start_bmk017(f, "NILAI BMK017");
    assert_int_equal(fx_send(f, SR_IN_OTHER, NULL, NULL)->outcome, DIALOG_SURVEY_REASKED);
    assert_question(f, "1 dari 4", "Tidak baik", "Sangat baik");
    assert_non_null(strstr(f->r.replies[0].text, "hanya dapat membaca pesan teks"));
    fx_text(f, "4");
    fx_text(f, "4");
    fx_text(f, "4");
    fx_text(f, "4");
    assert_int_equal(fx_send(f, SR_IN_OTHER, NULL, NULL)->outcome, DIALOG_SURVEY_REASKED);
    assert_non_null(strstr(f->r.replies[0].text, "LEWATI")); /* the comment prompt again */
}

static void test_cancel(void **state)
{
    const char *words[] = {"BATAL", "cancel", "batal!!"};
    for (size_t i = 0; i < 3; i++) {
        struct fx *f = fx_new();
        start_bmk017(f, "NILAI BMK017");
        fx_text(f, "4");
        f->now += 2 * FX_MIN;
        assert_int_equal(fx_text(f, words[i])->outcome, DIALOG_SURVEY_CANCELLED);
        assert_null(f->session);
        assert_int_equal(f->r.n_replies, 1);
        assert_non_null(strstr(f->r.replies[0].text, "dibatalkan"));
        json_t *ev = fx_event(f, 0, "survey_cancelled");
        assert_int_equal(json_integer_value(json_object_get(ev, "started_at")), FX_T0);
        assert_string_equal(json_string_value(json_object_get(ev, "officer")), "BMK017");
        json_decref(ev);
        fx_free(f);
    }
    (void)state;
}

static void test_help_and_language_mid_survey(void **state)
{
    struct fx *f = *state;
    start_bmk017(f, "NILAI BMK017");
    assert_int_equal(fx_text(f, "BANTUAN")->outcome, DIALOG_HELP);
    assert_int_equal(f->r.n_replies, 2);
    assert_non_null(strstr(f->r.replies[0].text, "NILAI <kode petugas>"));
    assert_non_null(strstr(f->r.replies[1].text, "1 dari 4"));
    assert_non_null(f->session);
    fx_text(f, "ENGLISH");
    assert_int_equal(f->r.n_replies, 1);
    assert_question(f, "Question 1 of 4", "Poor", "Very good");
    assert_int_equal(fx_text(f, "excellent")->outcome, DIALOG_SURVEY_ANSWERED);
    assert_question(f, "Question 2 of 4", "Poor", "Very good");
    fx_text(f, "bahasa");
    assert_question(f, "2 dari 4", "Tidak baik", "Sangat baik");
}

static void test_switch_officer_mid_survey(void **state)
{
    struct fx *f = *state;
    start_bmk017(f, "NILAI BMK017");
    fx_text(f, "3");
    assert_int_equal(fx_text(f, "NILAI PTSP-02")->outcome, DIALOG_SURVEY_STARTED);
    assert_int_equal(f->r.n_events, 2);
    json_decref(fx_event(f, 0, "survey_abandoned"));
    json_t *ev = fx_event(f, 1, "survey_started");
    assert_string_equal(json_string_value(json_object_get(ev, "officer")), "PTSP-02");
    json_decref(ev);
}

static void test_comment_capped(void **state)
{
    struct fx *f = *state;
    start_bmk017(f, "NILAI BMK017");
    for (int i = 0; i < 4; i++)
        fx_text(f, "4");
    size_t n = 1500;
    char *long_text = malloc(n * 2 + 8);
    for (size_t i = 0; i < n; i++)
        memcpy(long_text + i * 2, "\xC3\xA9", 2); /* é */
    memcpy(long_text + n * 2, "\xFF\xFE!", 4);    /* and invalid UTF-8 */
    assert_int_equal(fx_text(f, long_text)->outcome, DIALOG_SURVEY_COMPLETED);
    free(long_text);
    json_t *ev = fx_event(f, 0, "survey_completed");
    const char *c = json_string_value(json_object_get(ev, "comment"));
    assert_non_null(c);
    assert_int_equal(strlen(c), 2000); /* 1000 code points of 2 bytes */
    json_decref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_survey_digits_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_survey_words_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_survey_buttons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_survey_english, setup, teardown),
        cmocka_unit_test(test_click_to_chat),
        cmocka_unit_test_setup_teardown(test_code_with_dash_and_letters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unclear_reasked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_media_reasked, setup, teardown),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test_setup_teardown(test_help_and_language_mid_survey, setup, teardown),
        cmocka_unit_test_setup_teardown(test_switch_officer_mid_survey, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comment_capped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
