/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway/stats_render.c on hand-built results (no database): the exact JSON, CSV and table of a
 * response-times result with a comparison, a satisfaction group with its three slices, and a
 * complaint row with null columns. Null figures are JSON null and empty cells, reals have four
 * decimals in the CSV, a key with a comma and a quote is quoted (RFC 4180), the table's columns
 * are as wide as their widest cell, and the CSV written to a stream equals the CSV as text. The
 * expected strings were written out by hand from the structs below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "stats_render.h"

#include "sr_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUL_I                                                                                      \
    {                                                                                              \
        0, true                                                                                    \
    }
#define NUL_R                                                                                      \
    {                                                                                              \
        0, true                                                                                    \
    }
#define I(v)                                                                                       \
    {                                                                                              \
        v, false                                                                                   \
    }
#define R(v)                                                                                       \
    {                                                                                              \
        v, false                                                                                   \
    }
#define EMPTY(open)                                                                                \
    {                                                                                              \
        0, NUL_I, NUL_I, NUL_I, NUL_I, NUL_R, open                                                 \
    }

static const struct stats_filter filter = {.from_ms = 1000,
                                           .to_ms = 2000,
                                           .officer = "BMK002",
                                           .group = STATS_GROUP_OFFICER,
                                           .clock = STATS_CLOCK_WORKING,
                                           .compare_previous = 1};

static struct stats_rt_group rt_now[] = {
    {NULL, EMPTY(2), {1, I(100), I(100), I(100), I(100), R(0.5), 0}},
    {"a,\"b", {2, I(15), I(10), I(20), I(20), R(1.0), 0}, EMPTY(0)},
};
static struct stats_rt_group rt_prev[] = {
    {NULL, {1, I(30), I(30), I(30), I(30), R(0.0), 0}, EMPTY(0)},
};
static struct stats_rt_change rt_change[] = {{
    NULL,
    {I(-15), NUL_I, NUL_I, NUL_I, R(0.5), NUL_R, NUL_R, NUL_R, R(0.25)},
    {NUL_I, NUL_I, NUL_I, NUL_I, NUL_R, NUL_R, NUL_R, NUL_R, NUL_R},
}};

static struct stats_result rt_result(void)
{
    struct stats_filter prev = filter;
    prev.from_ms = 0;
    prev.to_ms = 1000;
    prev.compare_previous = 0;
    return (struct stats_result){.kind = STATS_RESPONSE_TIMES,
                                 .now = {.filter = filter, .n = 2, .rt = rt_now},
                                 .previous = {.filter = prev, .n = 1, .rt = rt_prev},
                                 .n_change = 1,
                                 .rt_change = rt_change};
}

/* The CSV as text and as written to a stream: the same bytes. */
static char *csv_of(const struct stats_result *r)
{
    size_t len = 0, n = 0;
    char *text = stats_render_csv_text(r, &len), *streamed = NULL;
    assert_int_equal(strlen(text), len);
    FILE *f = open_memstream(&streamed, &n);
    assert_non_null(f);
    stats_render_csv(f, r);
    fclose(f);
    assert_int_equal(n, len);
    assert_memory_equal(streamed, text, len);
    free(streamed);
    return text;
}

static void expect_json(const struct stats_result *r, const char *want)
{
    json_t *o = stats_render_json(r);
    char *got = json_dumps(o, JSON_COMPACT);
    assert_string_equal(got, want);
    free(got);
    json_decref(o);
}

#define SUMMARY_NULL                                                                               \
    "\"mean_ms\":null,\"p50_ms\":null,\"p90_ms\":null,\"max_ms\":null,\"within_sla\":null"
#define FILTER_RT                                                                                  \
    "\"unit\":null,\"officer\":\"BMK002\",\"category\":null,\"group_by\":\"officer\","             \
    "\"clock\":\"working\"}"

static void test_response_times(void **state)
{
    (void)state;
    struct stats_result r = rt_result();
    expect_json(
        &r,
        "{\"statistic\":\"response-times\",\"filter\":{\"from\":1000,\"to\":2000," FILTER_RT
        ",\"groups\":[{\"key\":null,\"first_response\":{\"count\":0," SUMMARY_NULL
        ",\"open_past_deadline\":2},\"resolution\":{\"count\":1,\"mean_ms\":100,\"p50_ms\":100,"
        "\"p90_ms\":100,\"max_ms\":100,\"within_sla\":0.5,\"open_past_deadline\":0}},"
        "{\"key\":\"a,\\\"b\",\"first_response\":{\"count\":2,\"mean_ms\":15,\"p50_ms\":10,"
        "\"p90_ms\":20,\"max_ms\":20,\"within_sla\":1.0,\"open_past_deadline\":0},"
        "\"resolution\":{\"count\":0," SUMMARY_NULL ",\"open_past_deadline\":0}}],"
        "\"change\":[{\"key\":null,\"first_response\":{\"mean_ms_diff\":-15,\"mean_ms_ratio\":0.5,"
        "\"p50_ms_diff\":null,\"p50_ms_ratio\":null,\"p90_ms_diff\":null,\"p90_ms_ratio\":null,"
        "\"max_ms_diff\":null,\"max_ms_ratio\":null,\"within_sla_diff\":0.25},"
        "\"resolution\":{\"mean_ms_diff\":null,\"mean_ms_ratio\":null,\"p50_ms_diff\":null,"
        "\"p50_ms_ratio\":null,\"p90_ms_diff\":null,\"p90_ms_ratio\":null,\"max_ms_diff\":null,"
        "\"max_ms_ratio\":null,\"within_sla_diff\":null}}],"
        "\"previous\":{\"filter\":{\"from\":0,\"to\":1000," FILTER_RT
        ",\"groups\":[{\"key\":null,\"first_response\":{\"count\":1,\"mean_ms\":30,\"p50_ms\":30,"
        "\"p90_ms\":30,\"max_ms\":30,\"within_sla\":0.0,\"open_past_deadline\":0},"
        "\"resolution\":{\"count\":0," SUMMARY_NULL ",\"open_past_deadline\":0}}]}}");
    char *csv = csv_of(&r);
    assert_string_equal(
        csv,
        "period,key,measure,count,mean_ms,p50_ms,p90_ms,max_ms,within_sla,open_past_deadline\r\n"
        "current,,first_response,0,,,,,,2\r\n"
        "current,,resolution,1,100,100,100,100,0.5000,0\r\n"
        "current,\"a,\"\"b\",first_response,2,15,10,20,20,1.0000,0\r\n"
        "current,\"a,\"\"b\",resolution,0,,,,,,0\r\n"
        "previous,,first_response,1,30,30,30,30,0.0000,0\r\n"
        "previous,,resolution,0,,,,,,0\r\n"
        "ratio,,first_response,,0.5000,,,,0.2500,\r\n"
        "ratio,,resolution,,,,,,,\r\n");
    free(csv);
}

static void test_table(void **state)
{
    (void)state;
    struct stats_result r = rt_result();
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    assert_non_null(f);
    stats_render_table(f, &r);
    fclose(f);
    assert_string_equal(
        text,
        "period    key   measure         count  mean_ms  p50_ms  p90_ms  max_ms  within_sla  "
        "open_past_deadline\n"
        "current         first_response  0                                                   2    "
        "             \n"
        "current         resolution      1      100      100     100     100     0.5000      0    "
        "             \n"
        "current   a,\"b  first_response  2      15       10      20      20      1.0000      0    "
        "             \n"
        "current   a,\"b  resolution      0                                                   0    "
        "             \n"
        "previous        first_response  1      30       30      30      30      0.0000      0    "
        "             \n"
        "previous        resolution      0                                                   0    "
        "             \n"
        "ratio           first_response         0.5000                           0.2500           "
        "             \n"
        "ratio           resolution                                                               "
        "             \n");
    free(text);
}

static void test_satisfaction(void **state)
{
    (void)state;
    static const struct stats_element all[] = {{"KEPUASAN", 3.0, 2}, {"U3", 3.5, 2}};
    static const struct stats_element verified[] = {{"U3", 4.0, 1}};
    struct stats_sat_group g = {.key = "BMK002",
                                .all = {all, 2, R(87.5), "B"},
                                .verified = {verified, 1, R(100.0), "A"},
                                .unverified = {NULL, 0, NUL_R, NULL},
                                .surveys_started = 4,
                                .surveys_completed = 2,
                                .response_rate = R(0.5),
                                .set_aside = 1};
    struct stats_filter f = {.from_ms = 1000, .to_ms = 2000, .unit = "PATEN"};
    f.group = STATS_GROUP_OFFICER;
    struct stats_result r = {.kind = STATS_SATISFACTION, .now = {.filter = f, .n = 1, .sat = &g}};
    expect_json(&r,
                "{\"statistic\":\"satisfaction\",\"filter\":{\"from\":1000,\"to\":2000,"
                "\"unit\":\"PATEN\",\"officer\":null,\"category\":null,\"group_by\":\"officer\"},"
                "\"groups\":[{\"elements\":[{\"element\":\"KEPUASAN\",\"nrr\":3.0,"
                "\"respondents\":2},{\"element\":\"U3\",\"nrr\":3.5,\"respondents\":2}],"
                "\"ikm\":87.5,\"grade\":\"B\",\"key\":\"BMK002\",\"verified\":{\"elements\":"
                "[{\"element\":\"U3\",\"nrr\":4.0,\"respondents\":1}],\"ikm\":100.0,"
                "\"grade\":\"A\"},\"unverified\":{\"elements\":[],\"ikm\":null,\"grade\":null},"
                "\"surveys_started\":4,\"surveys_completed\":2,\"response_rate\":0.5,"
                "\"set_aside\":1}]}");
    char *csv = csv_of(&r);
    assert_string_equal(
        csv, "period,key,ratings,element,value,respondents,grade,response_rate,set_aside\r\n"
             "current,BMK002,all,KEPUASAN,3.0000,2,,,\r\n"
             "current,BMK002,all,U3,3.5000,2,,,\r\n"
             "current,BMK002,all,IKM,87.5000,2,B,0.5000,1\r\n"
             "current,BMK002,verified,U3,4.0000,1,,,\r\n"
             "current,BMK002,verified,IKM,100.0000,,A,,\r\n"
             "current,BMK002,unverified,IKM,,,,,\r\n");
    free(csv);
}

static void test_complaints(void **state)
{
    (void)state;
    struct stats_complaint c = {.ticket = "T1",
                                .unit = "PATEN",
                                .category = "biaya",
                                .citizen = "h:x",
                                .state = "open",
                                .opened_at = I(5),
                                .first_response_at = NUL_I,
                                .resolved_at = NUL_I,
                                .first_response_wall_ms = NUL_I,
                                .first_response_work_ms = NUL_I,
                                .resolution_wall_ms = NUL_I,
                                .resolution_work_ms = NUL_I,
                                .sla_first_response_met = NUL_I,
                                .sla_resolution_met = I(0),
                                .rating = I(3)};
    struct stats_filter f = {.from_ms = 1000, .to_ms = 2000};
    struct stats_result r = {
        .kind = STATS_COMPLAINTS, .now.filter = f, .n_complaints = 1, .complaints = &c};
    expect_json(&r, "{\"statistic\":\"complaints\",\"filter\":{\"from\":1000,\"to\":2000,"
                    "\"unit\":null,\"officer\":null,\"category\":null,\"group_by\":\"none\"},"
                    "\"complaints\":[{\"ticket\":\"T1\",\"unit\":\"PATEN\",\"officer\":null,"
                    "\"category\":\"biaya\",\"citizen\":\"h:x\",\"state\":\"open\","
                    "\"opened_at\":5,\"first_response_at\":null,\"resolved_at\":null,"
                    "\"first_response_wall_ms\":null,\"first_response_work_ms\":null,"
                    "\"resolution_wall_ms\":null,\"resolution_work_ms\":null,"
                    "\"sla_first_response_met\":null,\"sla_resolution_met\":0,\"rating\":3}]}");
    char *csv = csv_of(&r);
    assert_string_equal(csv, "ticket,unit,officer,category,citizen,state,opened_at,"
                             "first_response_at,resolved_at,first_response_wall_ms,"
                             "first_response_work_ms,resolution_wall_ms,resolution_work_ms,"
                             "sla_first_response_met,sla_resolution_met,rating\r\n"
                             "T1,PATEN,,biaya,h:x,open,5,,,,,,,,0,3\r\n");
    free(csv);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_times),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_satisfaction),
        cmocka_unit_test(test_complaints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
