/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for dialogs/worktime.c: working time between two instants and its inverse across
 * weekends, holidays and collective leave, close-of-business deadlines, SLA rule precedence,
 * date formatting in Indonesian and English, load errors that name the file and the field, and
 * the repository's real dialogs/data files. Instants are written as local WIB wall-clock times
 * and converted with a loop-based calendar independent of the one under test. No clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "worktime.h"

#include "sr_mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN 60000LL
#define HOUR 3600000LL
#define MONDAY_0900 1796004000000LL /* Monday 30 November 2026 09:00 WIB (as in the e2e test) */

/* ---------------------------------------------------------------- helpers */

/* Local WIB (UTC+07:00) wall-clock time to UTC milliseconds, by counting days (years >= 1970). */
static int64_t at(int y, int m, int d, int hh, int mm)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t days = 0;
    for (int yy = 1970; yy < y; yy++)
        days += ((yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0) ? 366 : 365;
    for (int mo = 1; mo < m; mo++)
        days += mdays[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    days += d - 1;
    return (days * 1440 + hh * 60 + mm - 420) * MIN;
}

static char data_dir[64];

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_files(const char *dir)
{
    static const char *const names[] = {"worktime.json", "holidays.json", "sla.json"};
    char path[256];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
}

#define WEEK_STD                                                                                   \
    "\"week\": {\"mon\": [\"08:00\",\"16:00\"], \"tue\": [\"08:00\",\"16:00\"], "                  \
    "\"wed\": [\"08:00\",\"16:00\"], \"thu\": [\"08:00\",\"16:00\"], "                             \
    "\"fri\": [\"08:00\",\"16:00\"], \"sat\": null, \"sun\": null}"

static const char *const WORKTIME = "{\"format\": 1, \"utc_offset_minutes\": 420, " WEEK_STD "}";

/* Monday 7 December 2026 is a holiday, Wednesday 9 December collective leave. */
static const char *const HOLIDAYS =
    "{\"format\": 1, \"source\": \"test\", \"holidays\": ["
    "{\"date\": \"2026-12-07\", \"name\": \"Test holiday\", \"kind\": \"national\"},"
    "{\"date\": \"2026-12-09\", \"name\": \"Test leave\", \"kind\": \"collective_leave\"},"
    "{\"date\": \"2026-12-07\", \"name\": \"Listed twice\"}]}";

/* Deliberately least specific first: precedence must not depend on order. */
static const char *const SLA =
    "{\"format\": 1, \"default\": {\"first_response_hours\": 8, \"resolution_days\": 5},"
    " \"rules\": ["
    "{\"category\": \"c1\", \"first_response_hours\": 1.5, \"resolution_days\": 3},"
    "{\"category\": \"c3\", \"first_response_hours\": 3, \"resolution_days\": 4},"
    "{\"unit\": \"U1\", \"first_response_hours\": 2, \"resolution_days\": 2},"
    "{\"unit\": \"U1\", \"category\": \"c1\", \"first_response_hours\": 1, "
    "\"resolution_days\": 1}]}";

static void write_set(const char *wt, const char *hol, const char *sla)
{
    write_file(data_dir, "worktime.json", wt);
    write_file(data_dir, "holidays.json", hol);
    write_file(data_dir, "sla.json", sla);
}

static struct worktime *load_std(void)
{
    write_set(WORKTIME, HOLIDAYS, SLA);
    struct sr_errbuf eb = {{0}};
    struct worktime *w = worktime_load(data_dir, &eb);
    if (!w)
        fail_msg("load: %s", eb.msg);
    return w;
}

/* ---------------------------------------------------------------- working time */

static void test_between(void **state)
{
    (void)state;
    const struct {
        const char *what;
        int64_t a, b, want;
    } cases[] = {
        {"inside one day", at(2026, 11, 30, 9, 0), at(2026, 11, 30, 12, 0), 3 * HOUR},
        {"across a weekend", at(2026, 11, 27, 14, 0), at(2026, 11, 30, 10, 0), 4 * HOUR},
        {"across a holiday", at(2026, 12, 4, 14, 0), at(2026, 12, 8, 10, 0), 4 * HOUR},
        {"across collective leave", at(2026, 12, 8, 15, 0), at(2026, 12, 10, 9, 0), 2 * HOUR},
        {"starts before opening", at(2026, 11, 30, 6, 0), at(2026, 11, 30, 9, 0), HOUR},
        {"starts after closing", at(2026, 11, 30, 17, 0), at(2026, 12, 1, 9, 0), HOUR},
        {"starts on a Sunday", at(2026, 11, 29, 10, 0), at(2026, 11, 30, 10, 0), 2 * HOUR},
        {"both outside hours", at(2026, 11, 30, 17, 0), at(2026, 11, 30, 23, 0), 0},
        {"a whole week", at(2026, 11, 30, 0, 0), at(2026, 12, 7, 0, 0), 40 * HOUR},
        {"a week with holiday and leave", at(2026, 12, 7, 0, 0), at(2026, 12, 14, 0, 0), 24 * HOUR},
        {"minutes", at(2026, 11, 30, 15, 59), at(2026, 12, 1, 8, 1), 2 * MIN},
        {"b before a", at(2026, 11, 30, 12, 0), at(2026, 11, 30, 9, 0), 0},
        {"empty", MONDAY_0900, MONDAY_0900, 0},
    };
    struct worktime *w = load_std();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = worktime_between(w, cases[i].a, cases[i].b);
        if (got != cases[i].want)
            fail_msg("%s: got %lld ms, want %lld", cases[i].what, (long long)got,
                     (long long)cases[i].want);
    }
    worktime_free(w);
}

static void test_add(void **state)
{
    (void)state;
    const struct {
        const char *what;
        int64_t start, d, want;
    } cases[] = {
        {"inside one day", at(2026, 11, 30, 9, 0), 3 * HOUR, at(2026, 11, 30, 12, 0)},
        {"exactly to closing", at(2026, 11, 30, 8, 0), 8 * HOUR, at(2026, 11, 30, 16, 0)},
        {"into the next day", at(2026, 11, 30, 15, 0), 2 * HOUR, at(2026, 12, 1, 9, 0)},
        {"over weekend and holiday", at(2026, 12, 4, 15, 0), 2 * HOUR, at(2026, 12, 8, 9, 0)},
        {"over collective leave", at(2026, 12, 8, 15, 0), 2 * HOUR, at(2026, 12, 10, 9, 0)},
        {"from a Sunday", at(2026, 11, 29, 10, 0), HOUR, at(2026, 11, 30, 9, 0)},
        {"from after closing", at(2026, 11, 30, 17, 0), 8 * HOUR, at(2026, 12, 1, 16, 0)},
        {"from before opening", at(2026, 11, 30, 6, 0), 30 * MIN, at(2026, 11, 30, 8, 30)},
        {"zero", at(2026, 11, 29, 10, 0), 0, at(2026, 11, 29, 10, 0)},
        {"e2e first response", MONDAY_0900, 8 * HOUR, MONDAY_0900 + 24 * HOUR},
    };
    struct worktime *w = load_std();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = worktime_add(w, cases[i].start, cases[i].d);
        if (got != cases[i].want)
            fail_msg("%s: got %lld, want %lld", cases[i].what, (long long)got,
                     (long long)cases[i].want);
    }
    worktime_free(w);
}

/* between(start, add(start, d)) == d, and add() is the earliest such instant. */
static void test_add_round_trip(void **state)
{
    (void)state;
    static const int64_t durations[] = {1,
                                        MIN,
                                        37 * MIN,
                                        HOUR,
                                        7 * HOUR + 59 * MIN,
                                        8 * HOUR,
                                        9 * HOUR,
                                        40 * HOUR,
                                        123 * HOUR + 17 * MIN};
    struct worktime *w = load_std();
    for (int64_t s = at(2026, 11, 26, 0, 0); s < at(2026, 12, 14, 0, 0); s += 37 * MIN) {
        for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
            int64_t t = worktime_add(w, s, durations[i]);
            assert_int_equal(worktime_between(w, s, t), durations[i]);
            assert_true(worktime_between(w, s, t - 1) < durations[i]);
            assert_false(worktime_is_day_off(w, t - 1)); /* it ends inside working hours */
        }
    }
    worktime_free(w);
}

static void test_add_days(void **state)
{
    (void)state;
    const struct {
        const char *what;
        int64_t start;
        int days;
        int64_t want;
    } cases[] = {
        {"Monday + 1", at(2026, 11, 30, 9, 0), 1, at(2026, 12, 1, 16, 0)},
        {"Monday before opening + 1", at(2026, 11, 30, 6, 0), 1, at(2026, 12, 1, 16, 0)},
        {"Friday evening + 1", at(2026, 11, 27, 19, 0), 1, at(2026, 11, 30, 16, 0)},
        {"Friday evening + 1, Monday holiday", at(2026, 12, 4, 19, 0), 1, at(2026, 12, 8, 16, 0)},
        {"over collective leave", at(2026, 12, 8, 10, 0), 1, at(2026, 12, 10, 16, 0)},
        {"Saturday + 1", at(2026, 11, 28, 11, 0), 1, at(2026, 11, 30, 16, 0)},
        {"Monday + 5 over a holiday", at(2026, 11, 30, 9, 0), 5, at(2026, 12, 8, 16, 0)},
        {"zero days: today's close", at(2026, 11, 30, 9, 0), 0, at(2026, 11, 30, 16, 0)},
        {"zero days after closing", at(2026, 11, 30, 17, 0), 0, at(2026, 11, 30, 17, 0)},
        {"zero days on a holiday", at(2026, 12, 7, 9, 0), 0, at(2026, 12, 8, 16, 0)},
    };
    struct worktime *w = load_std();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = worktime_add_days(w, cases[i].start, cases[i].days);
        if (got != cases[i].want)
            fail_msg("%s: got %lld, want %lld", cases[i].what, (long long)got,
                     (long long)cases[i].want);
    }
    worktime_free(w);
}

static void test_day_off(void **state)
{
    (void)state;
    const struct {
        int64_t t;
        int want;
    } cases[] = {
        {at(2026, 11, 28, 12, 0), 1},  /* Saturday */
        {at(2026, 11, 29, 23, 30), 1}, /* Sunday late evening WIB (16:30 UTC) */
        {at(2026, 11, 30, 0, 30), 0},  /* Monday 00:30 WIB is still Sunday in UTC */
        {at(2026, 11, 30, 20, 0), 0},  /* a working day, even after closing */
        {at(2026, 12, 7, 12, 0), 1},   /* holiday */
        {at(2026, 12, 9, 12, 0), 1},   /* collective leave */
    };
    struct worktime *w = load_std();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (worktime_is_day_off(w, cases[i].t) != cases[i].want)
            fail_msg("case %zu: want %d", i, cases[i].want);
    worktime_free(w);
}

/* collective_leave_off false: cuti bersama days are working days, national holidays are not. */
static void test_collective_leave_worked(void **state)
{
    (void)state;
    write_set("{\"format\": 1, \"collective_leave_off\": false, " WEEK_STD "}", HOLIDAYS, SLA);
    struct sr_errbuf eb = {{0}};
    struct worktime *w = worktime_load(data_dir, &eb);
    assert_non_null(w);
    assert_false(worktime_is_day_off(w, at(2026, 12, 9, 12, 0)));
    assert_true(worktime_is_day_off(w, at(2026, 12, 7, 12, 0)));
    assert_int_equal(worktime_between(w, at(2026, 12, 8, 15, 0), at(2026, 12, 10, 9, 0)),
                     10 * HOUR);
    worktime_free(w);
}

/* Another week shape: Saturday half day, Friday closing early, midnight close. */
static void test_custom_week(void **state)
{
    (void)state;
    write_set("{\"format\": 1, \"_note\": \"x\", \"week\": {\"mon\": [\"07:30\",\"15:30\"], "
              "\"tue\": null, \"wed\": null, \"thu\": null, \"fri\": [\"07:30\",\"11:00\"], "
              "\"sat\": [\"20:00\",\"24:00\"], \"sun\": null}}",
              "{\"format\": 1, \"holidays\": []}", SLA);
    struct sr_errbuf eb = {{0}};
    struct worktime *w = worktime_load(data_dir, &eb);
    if (!w)
        fail_msg("%s", eb.msg);
    assert_int_equal(worktime_between(w, at(2026, 11, 27, 0, 0), at(2026, 11, 30, 8, 0)),
                     (3 * 60 + 30) * MIN + 4 * HOUR + 30 * MIN);
    assert_int_equal(worktime_add(w, at(2026, 11, 28, 23, 0), 2 * HOUR), at(2026, 11, 30, 8, 30));
    assert_int_equal(worktime_add(w, at(2026, 11, 28, 20, 0), 4 * HOUR), at(2026, 11, 29, 0, 0));
    assert_int_equal(worktime_add_days(w, at(2026, 11, 27, 9, 0), 1), at(2026, 11, 29, 0, 0));
    worktime_free(w);
}

/* ---------------------------------------------------------------- SLA */

static void test_sla_precedence(void **state)
{
    (void)state;
    const struct {
        const char *unit, *category;
        int64_t first;
        int days;
    } cases[] = {
        {"U1", "c1", HOUR, 1},     /* unit + category */
        {"u1", "C1", HOUR, 1},     /* codes compare case-insensitively */
        {"U1", "c2", 2 * HOUR, 2}, /* unit only */
        {"U1", NULL, 2 * HOUR, 2},     {"U1", "c3", 2 * HOUR, 2}, /* unit beats category */
        {"U2", "c3", 3 * HOUR, 4},                                /* no category given */
        {"U2", "c1", 90 * MIN, 3},                                /* category only (1.5 hours) */
        {NULL, "c1", 90 * MIN, 3},                                /* no unit given */
        {"U2", "c2", 8 * HOUR, 5},                                /* default */
        {NULL, NULL, 8 * HOUR, 5},                                /* default */
        {"U1-X", "c1-x", 8 * HOUR, 5},                            /* no prefix matching */
    };
    struct worktime *w = load_std();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct worktime_sla s = worktime_sla_for(w, cases[i].unit, cases[i].category);
        if (s.first_response_ms != cases[i].first || s.resolution_days != cases[i].days)
            fail_msg("%s/%s: got %lld ms %d days", cases[i].unit ? cases[i].unit : "NULL",
                     cases[i].category ? cases[i].category : "NULL", (long long)s.first_response_ms,
                     s.resolution_days);
    }
    worktime_free(w);
}

/* ---------------------------------------------------------------- formatting */

static void test_format(void **state)
{
    (void)state;
    const struct {
        int64_t t;
        const char *lang, *want;
    } cases[] = {
        {MONDAY_0900 + 7 * HOUR, "id", "Senin, 30 November 2026 16:00"},
        {MONDAY_0900 + 7 * HOUR, "en", "Monday, 30 November 2026 16:00"},
        {MONDAY_0900 + 7 * HOUR, "en-GB", "Monday, 30 November 2026 16:00"},
        {MONDAY_0900 + 7 * HOUR, "fr", "Senin, 30 November 2026 16:00"},
        {MONDAY_0900 + 7 * HOUR, NULL, "Senin, 30 November 2026 16:00"},
        {at(2027, 1, 3, 0, 5), "id", "Minggu, 3 Januari 2027 00:05"},
        {at(2026, 8, 17, 23, 59), "id", "Senin, 17 Agustus 2026 23:59"},
        {at(2026, 5, 1, 7, 0), "en", "Friday, 1 May 2026 07:00"},
        {at(2028, 2, 29, 12, 0), "id", "Selasa, 29 Februari 2028 12:00"},
        {at(2026, 12, 2, 10, 0), "id", "Rabu, 2 Desember 2026 10:00"},
        {at(2026, 12, 3, 10, 0), "en", "Thursday, 3 December 2026 10:00"},
        {at(2026, 12, 5, 10, 0), "id", "Sabtu, 5 Desember 2026 10:00"},
        {-8 * HOUR, "id", "Rabu, 31 Desember 1969 23:00"}, /* before the epoch */
        {-8 * HOUR, "en", "Wednesday, 31 December 1969 23:00"},
    };
    struct worktime *w = load_std();
    char buf[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = worktime_format(w, cases[i].t, cases[i].lang, buf, sizeof(buf));
        assert_ptr_equal(got, buf);
        assert_string_equal(got, cases[i].want);
    }
    char small[8];
    assert_string_equal(worktime_format(w, MONDAY_0900, "id", small, sizeof(small)), "Senin, ");
    worktime_free(w);
}

/* ---------------------------------------------------------------- load errors */

static void test_load_errors(void **state)
{
    (void)state;
    const struct {
        const char *file, *text, *want1, *want2;
    } cases[] = {
        {"worktime.json",
         "{\"format\":1,\"week\":{\"mon\":[\"25:00\",\"16:00\"],\"tue\":null,\"wed\":null,"
         "\"thu\":null,\"fri\":null,\"sat\":null,\"sun\":null}}",
         "worktime.json: week.mon[0]", "25:00"},
        {"worktime.json",
         "{\"format\":1,\"week\":{\"mon\":null,\"tue\":[\"08:00\",\"8:30\"],\"wed\":null,"
         "\"thu\":null,\"fri\":null,\"sat\":null,\"sun\":null}}",
         "worktime.json: week.tue[1]", "8:30"},
        {"worktime.json",
         "{\"format\":1,\"week\":{\"mon\":[\"16:00\",\"08:00\"],\"tue\":null,\"wed\":null,"
         "\"thu\":null,\"fri\":null,\"sat\":null,\"sun\":null}}",
         "worktime.json: week.mon", "close"},
        {"worktime.json",
         "{\"format\":1,\"week\":{\"mon\":null,\"tue\":null,\"wed\":null,\"thu\":null,"
         "\"fry\":[\"08:00\",\"16:00\"],\"sat\":null,\"sun\":null}}",
         "worktime.json: week", "\"fry\""},
        {"worktime.json",
         "{\"format\":1,\"week\":{\"mon\":[\"08:00\",\"16:00\"],\"tue\":null,\"wed\":null,"
         "\"thu\":null,\"fri\":null,\"sun\":null}}",
         "worktime.json: week.sat", "missing"},
        {"worktime.json",
         "{\"format\":1,\"week\":{\"mon\":null,\"tue\":null,\"wed\":null,\"thu\":null,"
         "\"fri\":null,\"sat\":null,\"sun\":null}}",
         "worktime.json: week", "no working day"},
        {"worktime.json", "{\"format\":1,\"utc_offset_minutes\":\"+07:00\"}",
         "worktime.json: utc_offset_minutes", "integer"},
        {"worktime.json", "{\"format\":1,\"utc_ofset_minutes\":420}", "worktime.json: top level",
         "utc_ofset_minutes"},
        {"worktime.json", "{\"format\":2}", "worktime.json: format", "\"format\": 1"},
        {"worktime.json", "{\"format\":1,", "worktime.json: line", ""},
        {"holidays.json",
         "{\"format\":1,\"holidays\":[{\"date\":\"2026-01-01\",\"name\":\"a\"},"
         "{\"date\":\"2026-02-30\",\"name\":\"b\"}]}",
         "holidays.json: holidays[1].date", "2026-02-30"},
        {"holidays.json",
         "{\"format\":1,\"holidays\":[{\"date\":\"2027-02-29\",\"name\":\"not a leap year\"}]}",
         "holidays.json: holidays[0].date", "2027-02-29"},
        {"holidays.json", "{\"format\":1,\"holidays\":[{\"date\":\"1/1/2026\",\"name\":\"a\"}]}",
         "holidays.json: holidays[0].date", "1/1/2026"},
        {"holidays.json",
         "{\"format\":1,\"holidays\":[{\"date\":\"2026-01-01\",\"name\":\"a\",\"kind\":\"cuti\"}]}",
         "holidays.json: holidays[0].kind", "collective_leave"},
        {"holidays.json", "{\"format\":1,\"holidays\":[{\"date\":\"2026-01-01\"}]}",
         "holidays.json: holidays[0].name", "missing"},
        {"holidays.json", "{\"format\":1}", "holidays.json: holidays", "array"},
        {"sla.json", "{\"format\":1,\"rules\":[]}", "sla.json: default", "object"},
        {"sla.json", "{\"format\":1,\"default\":{\"first_response_hours\":8}}",
         "sla.json: default.resolution_days", "integer"},
        {"sla.json",
         "{\"format\":1,\"default\":{\"first_response_hours\":8,\"resolution_days\":5},"
         "\"rules\":[{\"first_response_hours\":4,\"resolution_days\":3}]}",
         "sla.json: rules[0]", "unit"},
        {"sla.json",
         "{\"format\":1,\"default\":{\"first_response_hours\":8,\"resolution_days\":5},"
         "\"rules\":[{\"unit\":\"A\",\"first_response_hours\":-4,\"resolution_days\":3}]}",
         "sla.json: rules[0].first_response_hours", "> 0"},
        {"sla.json",
         "{\"format\":1,\"default\":{\"first_response_hours\":8,\"resolution_days\":5},"
         "\"rules\":[{\"unit\":\"A\",\"first_response_hours\":4,\"resolution_days\":3},"
         "{\"unit\":\"a\",\"first_response_hours\":2,\"resolution_days\":1}]}",
         "sla.json: rules[1]", "rules[0]"},
        {"sla.json",
         "{\"format\":1,\"default\":{\"first_response_hours\":8,\"resolution_days\":5},"
         "\"rules\":[{\"unit\":\"A\",\"categori\":\"x\",\"first_response_hours\":4,"
         "\"resolution_days\":3}]}",
         "sla.json: rules[0]", "categori"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_set(WORKTIME, HOLIDAYS, SLA);
        write_file(data_dir, cases[i].file, cases[i].text);
        struct sr_errbuf eb = {{0}};
        struct worktime *w = worktime_load(data_dir, &eb);
        if (w)
            fail_msg("case %zu (%s) loaded", i, cases[i].want1);
        if (!strstr(eb.msg, cases[i].want1) || !strstr(eb.msg, cases[i].want2))
            fail_msg("case %zu: message \"%s\" lacks \"%s\" / \"%s\"", i, eb.msg, cases[i].want1,
                     cases[i].want2);
    }
    remove_files(data_dir);
    struct sr_errbuf eb = {{0}};
    assert_null(worktime_load(data_dir, &eb));
    assert_non_null(strstr(eb.msg, "worktime.json"));
    worktime_free(NULL);
}

/* ---------------------------------------------------------------- the real data files */

static void test_real_data(void **state)
{
    (void)state;
    struct sr_errbuf eb = {{0}};
    struct worktime *w = worktime_load(SUARA_SOURCE_DIR "/dialogs/data", &eb);
    if (!w)
        fail_msg("dialogs/data: %s", eb.msg);
    const int64_t off[] = {
        at(2026, 1, 1, 12, 0),   at(2026, 3, 20, 12, 0),  at(2026, 3, 23, 12, 0),
        at(2026, 3, 24, 12, 0),  at(2026, 8, 17, 12, 0),  at(2026, 12, 24, 12, 0),
        at(2026, 12, 25, 12, 0), at(2026, 12, 26, 12, 0), at(2027, 1, 1, 12, 0),
    };
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
        if (!worktime_is_day_off(w, off[i]))
            fail_msg("day %zu should be off", i);
    assert_false(worktime_is_day_off(w, MONDAY_0900));
    assert_false(worktime_is_day_off(w, at(2026, 3, 25, 12, 0)));
    /* the e2e test's drill: Monday 30 November 2026 is an ordinary working week */
    assert_int_equal(worktime_add(w, MONDAY_0900, 8 * HOUR), MONDAY_0900 + 24 * HOUR);
    assert_int_equal(worktime_add_days(w, MONDAY_0900, 1), at(2026, 12, 1, 16, 0));
    /* Nyepi and Idul Fitri 2026: 18-24 March are all off, so Thursday 26 is day 2 */
    assert_int_equal(worktime_add_days(w, at(2026, 3, 17, 10, 0), 2), at(2026, 3, 26, 16, 0));
    struct worktime_sla s = worktime_sla_for(w, "PATEN-BMK", "layanan");
    assert_int_equal(s.first_response_ms, 4 * HOUR);
    assert_int_equal(s.resolution_days, 3);
    s = worktime_sla_for(w, "UNKNOWN", NULL);
    assert_int_equal(s.first_response_ms, 8 * HOUR);
    assert_int_equal(s.resolution_days, 5);
    static const char *const units[] = {"PATEN-BMK", "KEL-SRW", "KEL-PDL", "PKM-PDS"};
    for (size_t i = 0; i < 4; i++) {
        s = worktime_sla_for(w, units[i], NULL);
        assert_true(s.first_response_ms > 0 && s.resolution_days >= 1);
    }
    worktime_free(w);
}

/* Every category an SLA rule names is one the complaint dialog offers: a rule for a category
 * nobody can file would silently never apply. */
static void test_sla_categories_exist(void **state)
{
    (void)state;
    json_error_t je;
    json_t *sla = json_load_file(SUARA_SOURCE_DIR "/dialogs/data/sla.json", 0, &je);
    json_t *cp = json_load_file(SUARA_SOURCE_DIR "/dialogs/data/complaints.json", 0, &je);
    assert_non_null(sla);
    assert_non_null(cp);
    size_t i, k;
    json_t *rule, *cat;
    json_array_foreach(json_object_get(sla, "rules"), i, rule)
    {
        const char *want = json_string_value(json_object_get(rule, "category"));
        int found = want == NULL;
        json_array_foreach(json_object_get(cp, "categories"), k, cat)
        {
            const char *code = json_string_value(json_object_get(cat, "code"));
            found |= want && code && strcmp(code, want) == 0;
        }
        if (!found)
            fail_msg("sla.json rule %zu: category \"%s\" is not in complaints.json", i, want);
    }
    json_decref(sla);
    json_decref(cp);
}

int main(void)
{
    sr_mem_init();
    snprintf(data_dir, sizeof(data_dir), "/tmp/worktime-test-XXXXXX");
    if (!mkdtemp(data_dir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_between),        cmocka_unit_test(test_add),
        cmocka_unit_test(test_add_round_trip), cmocka_unit_test(test_add_days),
        cmocka_unit_test(test_day_off),        cmocka_unit_test(test_collective_leave_worked),
        cmocka_unit_test(test_custom_week),    cmocka_unit_test(test_sla_precedence),
        cmocka_unit_test(test_format),         cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_real_data),      cmocka_unit_test(test_sla_categories_exist),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    remove_files(data_dir);
    rmdir(data_dir);
    return rc;
}
