/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for dialogs/dialog.c and dialogs/session.c: engine loading, help and unknown input,
 * unknown officers, idle expiry on the next message and through dialog_expire(), undecodable
 * sessions, argument checks and outcome names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dialog_fixture.h"

#include "sr_mem.h"

#include <jansson.h>
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

static void test_engine_load_errors(void **state)
{
    (void)state;
    struct sr_errbuf eb = {{0}};
    assert_null(dialog_engine_load("/nonexistent/suara-data", &eb));
    assert_non_null(strstr(eb.msg, "dialogs.json"));
    assert_null(dialog_engine_load(NULL, &eb));
    dialog_engine_free(NULL);
    dialog_result_clear(NULL);
}

static void test_outcome_names(void **state)
{
    (void)state;
    assert_string_equal(dialog_outcome_name(DIALOG_SURVEY_STARTED), "survey_started");
    assert_string_equal(dialog_outcome_name(DIALOG_HELP), "help");
    assert_string_equal(dialog_outcome_name(DIALOG__OUTCOME_COUNT), "unknown");
}

static void test_help(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *text, *expect;
    } cases[] = {
        {"HELP", "RATE <officer code>"},      {"bantuan", "NILAI <kode petugas>"},
        {"apa ini?", "NILAI <kode petugas>"}, {"", "NILAI <kode petugas>"},
        {"4", "NILAI <kode petugas>"},        {"English", "RATE <officer code>"},
        {"🙏", "NILAI <kode petugas>"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(fx_text(f, cases[i].text)->outcome, DIALOG_HELP);
        assert_int_equal(f->r.n_replies, 1);
        assert_int_equal(f->r.n_events, 0);
        assert_null(f->session);
        assert_non_null(strstr(f->r.replies[0].text, cases[i].expect));
    }
    assert_int_equal(fx_send(f, SR_IN_OTHER, NULL, NULL)->outcome, DIALOG_HELP);
    f->env.default_language = "en";
    assert_int_equal(fx_text(f, "halo")->outcome, DIALOG_HELP);
    assert_non_null(strstr(f->r.replies[0].text, "RATE <officer code>"));
}

static void test_unknown_officer(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_text(f, "NILAI xyz-999!")->outcome, DIALOG_UNKNOWN_OFFICER);
    assert_int_equal(f->r.n_events, 0);
    assert_null(f->session);
    assert_non_null(strstr(f->r.replies[0].text, "XYZ-999"));
    assert_non_null(strstr(f->r.replies[0].text, "papan nama"));
    assert_int_equal(fx_text(f, "RATE QQ1")->outcome, DIALOG_UNKNOWN_OFFICER);
    assert_non_null(strstr(f->r.replies[0].text, "could not find the officer code QQ1"));
    assert_int_equal(fx_text(f, "NILAI")->outcome, DIALOG_UNKNOWN_OFFICER);
    assert_non_null(strstr(f->r.replies[0].text, "Mohon sertakan kode petugas"));
    assert_null(f->session);
}

static void test_no_lookup_is_unknown(void **state)
{
    struct fx *f = *state;
    f->env.officer_lookup = NULL;
    assert_int_equal(fx_text(f, "NILAI BMK017")->outcome, DIALOG_UNKNOWN_OFFICER);
}

/* Starts a survey and answers one question at FX_T0. */
static void start_one_answer(struct fx *f)
{
    assert_int_equal(fx_text(f, "NILAI BMK017")->outcome, DIALOG_SURVEY_STARTED);
    f->now += FX_MIN;
    assert_int_equal(fx_text(f, "4")->outcome, DIALOG_SURVEY_ANSWERED);
    assert_int_equal(f->expires_at, FX_T0 + 31 * FX_MIN);
}

static void test_expiry_on_next_message(void **state)
{
    struct fx *f = *state;
    start_one_answer(f);
    f->now = f->expires_at - 1; /* still alive */
    assert_int_equal(fx_text(f, "3")->outcome, DIALOG_SURVEY_ANSWERED);
    f->now = f->expires_at; /* idle expiry reached */
    assert_int_equal(fx_text(f, "4")->outcome, DIALOG_SURVEY_EXPIRED);
    assert_null(f->session);
    assert_int_equal(f->r.n_events, 1);
    json_t *ev = fx_event(f, 0, "survey_abandoned");
    assert_int_equal(json_integer_value(json_object_get(ev, "started_at")), FX_T0);
    assert_string_equal(json_string_value(json_object_get(ev, "officer")), "BMK017");
    json_decref(ev);
    assert_non_null(strstr(f->r.replies[0].text, "telah berakhir"));
    assert_non_null(strstr(f->r.replies[0].text, "NILAI BMK017"));
}

static void test_expiry_then_fresh_start(void **state)
{
    struct fx *f = *state;
    start_one_answer(f);
    f->now += 2 * 60 * FX_MIN;
    assert_int_equal(fx_text(f, "NILAI BMK017")->outcome, DIALOG_SURVEY_STARTED);
    assert_int_equal(f->r.n_events, 2);
    json_t *old = fx_event(f, 0, "survey_abandoned");
    json_t *neu = fx_event(f, 1, "survey_started");
    assert_string_not_equal(json_string_value(json_object_get(old, "session")),
                            json_string_value(json_object_get(neu, "session")));
    json_decref(old);
    json_decref(neu);
    assert_non_null(strstr(f->r.replies[0].text, "1 dari 4"));
    assert_int_equal(f->expires_at, f->now + 30 * FX_MIN);
}

static void test_dialog_expire(void **state)
{
    struct fx *f = *state;
    start_one_answer(f);
    struct dialog_result r;
    const char *s = f->session;
    /* not yet expired: the session comes back unchanged */
    assert_int_equal(dialog_expire(f->e, &f->env, "wa", FX_CITIZEN, s, strlen(s), f->expires_at - 1,
                                   "sweep:1", &r),
                     SR_E_OK);
    assert_string_equal(r.session, s);
    assert_int_equal(r.expires_at_ms, f->expires_at);
    assert_int_equal(r.n_events, 0);
    dialog_result_clear(&r);
    /* expired: abandoned event, a short notice to the stored address, no session */
    assert_int_equal(
        dialog_expire(f->e, &f->env, "wa", NULL, s, strlen(s), f->expires_at, "sweep:2", &r),
        SR_E_OK);
    assert_int_equal(r.outcome, DIALOG_SURVEY_EXPIRED);
    assert_null(r.session);
    assert_int_equal(r.n_events, 1);
    json_t *ev = json_loads(r.events[0], 0, NULL);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), "survey_abandoned");
    assert_string_equal(json_string_value(json_object_get(ev, "id")), "sweep:2#0");
    assert_string_equal(json_string_value(json_object_get(ev, "citizen")), FX_CITIZEN);
    assert_int_equal(json_integer_value(json_object_get(ev, "at")), f->expires_at);
    assert_null(strstr(r.events[0], FX_PHONE));
    json_decref(ev);
    assert_int_equal(r.n_replies, 1);
    assert_string_equal(r.replies[0].to, FX_PHONE);
    assert_string_equal(r.replies[0].channel, "wa");
    dialog_result_clear(&r);
    /* garbage: nothing */
    assert_int_equal(dialog_expire(f->e, &f->env, "wa", FX_CITIZEN, "{x", 2, 1, "sweep:3", &r),
                     SR_E_OK);
    assert_int_equal(r.n_events + r.n_replies, 0);
    assert_null(r.session);
    dialog_result_clear(&r);
}

/* Replaces key in the live session JSON and returns the new text (heap). */
static char *tamper(const char *session, const char *key, json_t *value)
{
    json_t *o = json_loads(session, 0, NULL);
    assert_non_null(o);
    if (value)
        json_object_set_new(o, key, value);
    else
        json_object_del(o, key);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static void test_garbage_session(void **state)
{
    struct fx *f = *state;
    start_one_answer(f);
    char *good = strdup(f->session);
    char *cases[] = {
        strdup("{"),
        strdup("null"),
        strdup("[]"),
        strdup("\xff\xfe\x00garbage"),
        strdup("{\"v\":1}"),
        tamper(good, "v", json_integer(2)),
        tamper(good, "survey", json_string("nope")),
        tamper(good, "state", json_string("x")),
        tamper(good, "q", json_integer(99)),
        tamper(good, "q", json_integer(-1)),
        tamper(good, "lang", json_string("fr")),
        tamper(good, "officer", NULL),
        tamper(good, "answers", json_pack("{s:i}", "U3", 9)),
        tamper(good, "expires_at", json_string("soon")),
        tamper(good, "flow", json_integer(1)),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        free(f->session);
        f->session = cases[i];
        assert_int_equal(fx_text(f, "4")->outcome, DIALOG_HELP);
        assert_int_equal(f->r.n_events, 0);
        free(f->session);
        f->session = strdup(good);
        fx_text(f, "NILAI BMK017"); /* still a live survey: restart needs a known officer */
    }
    /* and a garbage session does not stop a fresh start */
    free(f->session);
    f->session = strdup("{not json");
    assert_int_equal(fx_text(f, "NILAI BMK017")->outcome, DIALOG_SURVEY_STARTED);
    free(good);
}

static void test_session_roundtrip(void **state)
{
    struct fx *f = *state;
    start_one_answer(f);
    json_t *o = json_loads(f->session, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "v")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "question");
    assert_int_equal(json_integer_value(json_object_get(o, "q")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "answers"), "U3")), 4);
    assert_string_equal(json_string_value(json_object_get(o, "citizen")), FX_CITIZEN);
    json_decref(o);
}

static void test_bad_arguments(void **state)
{
    struct fx *f = *state;
    struct dialog_result r;
    struct sr_inbound st = {.kind = SR_IN_STATUS, .sender = (char *)FX_PHONE};
    struct dialog_input in = {.msg = &st, .channel = "wa", .now_ms = 1, .event_id_base = "x"};
    assert_int_equal(dialog_step(f->e, &f->env, &in, &r), SR_E_INVALID);
    assert_int_equal(r.n_replies, 0);
    in.msg = NULL;
    assert_int_equal(dialog_step(f->e, &f->env, &in, &r), SR_E_INVALID);
    assert_int_equal(dialog_step(f->e, &f->env, NULL, &r), SR_E_INVALID);
    assert_int_equal(dialog_step(f->e, &f->env, &in, NULL), SR_E_INVALID);
    /* NULL text, channel and citizen are tolerated */
    struct sr_inbound m = {.kind = SR_IN_TEXT, .sender = (char *)FX_PHONE};
    struct dialog_input in2 = {.msg = &m, .now_ms = 1, .event_id_base = "y"};
    assert_int_equal(dialog_step(f->e, &f->env, &in2, &r), SR_E_OK);
    assert_int_equal(r.outcome, DIALOG_HELP);
    dialog_result_clear(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_load_errors),
        cmocka_unit_test(test_outcome_names),
        cmocka_unit_test_setup_teardown(test_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_officer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_lookup_is_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_on_next_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_then_fresh_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dialog_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
