/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for gateway/metrics.c: concurrent updates from two threads add up, the rendered text is
 * valid Prometheus exposition with the expected samples, histogram buckets are cumulative with
 * _count equal to the observations, unknown label values fall into "other", and label values
 * are escaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "metrics.h"
#include "sr_mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value of the sample whose line starts with "series " (exactly); fails if absent. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    fail_msg("sample %s not found", series);
    return -1;
}

static void assert_has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return;
    fail_msg("line \"%s\" not found", line);
}

#define N_PER_THREAD 20000

static void *hammer(void *arg)
{
    struct metrics *m = arg;
    for (int i = 0; i < N_PER_THREAD; i++) {
        metrics_request(m, "webhook", 200);
        metrics_message_in(m, 0, "text");
        metrics_message_out(m, 1, "ok");
        metrics_dialog_outcome(m, "help");
        metrics_redis_rtt(m, 0.002);
    }
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    const char *names[] = {"wa", "sms"};
    struct metrics *m = metrics_new(names, 2);
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, hammer, m), 0);
    assert_int_equal(pthread_create(&t2, NULL, hammer, m), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    size_t len = 0;
    char *text = metrics_render(m, &len);
    assert_int_equal(len, strlen(text));
    const double total = 2.0 * N_PER_THREAD;
    assert_true(sample(text, "suara_http_requests_total{route=\"webhook\",status=\"200\"}") ==
                total);
    assert_true(sample(text, "suara_messages_in_total{channel=\"wa\",kind=\"text\"}") == total);
    assert_true(sample(text, "suara_messages_in_total{channel=\"sms\",kind=\"text\"}") == 0);
    assert_true(sample(text, "suara_messages_out_total{channel=\"sms\",outcome=\"ok\"}") == total);
    assert_true(sample(text, "suara_dialog_outcomes_total{outcome=\"help\"}") == total);
    assert_true(sample(text, "suara_redis_rtt_seconds_count") == total);
    assert_true(sample(text, "suara_redis_rtt_seconds_bucket{le=\"0.0025\"}") == total);
    assert_true(sample(text, "suara_redis_rtt_seconds_bucket{le=\"0.001\"}") == 0);
    assert_has_line(text, "suara_redis_rtt_seconds_sum 80.000000000"); /* 40000 x 2 ms, exact */
    free(text);
    metrics_free(m);
}

static void test_render_lines(void **state)
{
    (void)state;
    const char *names[] = {"wa"};
    struct metrics *m = metrics_new(names, 1);
    metrics_request(m, "healthz", 200);
    metrics_request(m, "webhook", 401);
    metrics_request(m, "webhook", 418); /* not a column: "other" */
    metrics_request(m, "/secret", 404); /* not a route: "other" */
    metrics_message_in(m, 0, "button");
    metrics_message_in(m, 0, "sticker"); /* unknown kind: "other" */
    metrics_message_in(m, 7, "text");    /* unknown channel index: ignored */
    metrics_message_out(m, 0, "opted_out");
    metrics_message_out(m, 0, "weird");
    metrics_dialog_outcome(m, "survey_completed");
    metrics_dialog_outcome(m, "not_an_outcome");
    metrics_set_backlog(m, 3, 4, 5, 6);
    metrics_set_writer(m, 1234567ULL, -1);
    metrics_connection_refused(m, "per_address");
    metrics_connection_timed_out(m, "body");
    metrics_connection_timed_out(m, "sideways"); /* not a phase: "other" */
    metrics_connections_open(m, 1);
    metrics_connections_open(m, 1);
    metrics_connections_open(m, -1);
    char *text = metrics_render(m, NULL);
    static const char *const lines[] = {
        "# HELP suara_http_requests_total HTTP requests answered, by route and status.",
        "# TYPE suara_http_requests_total counter",
        "suara_http_requests_total{route=\"healthz\",status=\"200\"} 1",
        "suara_http_requests_total{route=\"webhook\",status=\"401\"} 1",
        "suara_http_requests_total{route=\"webhook\",status=\"other\"} 1",
        "suara_http_requests_total{route=\"other\",status=\"404\"} 1",
        "suara_http_requests_total{route=\"metrics\",status=\"503\"} 0",
        "# TYPE suara_messages_in_total counter",
        "suara_messages_in_total{channel=\"wa\",kind=\"button\"} 1",
        "suara_messages_in_total{channel=\"wa\",kind=\"other\"} 1",
        "suara_messages_in_total{channel=\"wa\",kind=\"text\"} 0",
        "suara_messages_out_total{channel=\"wa\",outcome=\"opted_out\"} 1",
        "suara_messages_out_total{channel=\"wa\",outcome=\"other\"} 1",
        "# TYPE suara_dialog_outcomes_total counter",
        "suara_dialog_outcomes_total{outcome=\"survey_completed\"} 1",
        "suara_dialog_outcomes_total{outcome=\"none\"} 0",
        "suara_dialog_outcomes_total{outcome=\"other\"} 1",
        "# TYPE suara_redis_rtt_seconds histogram",
        "# TYPE suara_outbox_pending gauge",
        "suara_outbox_pending 3",
        "suara_outbox_lag 4",
        "suara_events_pending 5",
        "suara_events_lag 6",
        "suara_writer_applied_total 1234567",
        "suara_writer_lag_ms -1",
        "# TYPE suara_connections_refused_total counter",
        "suara_connections_refused_total{reason=\"per_address\"} 1",
        "suara_connections_refused_total{reason=\"total\"} 0",
        "suara_connections_timed_out_total{phase=\"body\"} 1",
        "suara_connections_timed_out_total{phase=\"header\"} 0",
        "suara_connections_timed_out_total{phase=\"other\"} 1",
        "# TYPE suara_connections_open gauge",
        "suara_connections_open 1",
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        assert_has_line(text, lines[i]);
    assert_null(strstr(text, "/secret"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
    metrics_free(m);
}

/* Every sample belongs to a metric announced by a # TYPE line before it. */
static void test_exposition_shape(void **state)
{
    (void)state;
    const char *names[] = {"wa", "sms"};
    struct metrics *m = metrics_new(names, 2);
    char *text = metrics_render(m, NULL);
    char current[128] = "";
    size_t samples = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_true(sscanf(line + 7, "%127s", current) == 1);
        } else if (line[0] != '#') {
            assert_true(current[0] != '\0');
            assert_int_equal(strncmp(line, current, strlen(current)), 0);
            samples++;
        }
        line = nl + 1;
    }
    assert_true(samples > 100);
    free(text);
    metrics_free(m);
}

static void test_histogram(void **state)
{
    (void)state;
    struct metrics *m = metrics_new(NULL, 0);
    static const double obs[] = {0.00005, 0.0001, 0.0003, 0.002, 0.7, 5.0, -1.0};
    for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
        metrics_redis_rtt(m, obs[i]);
    char *text = metrics_render(m, NULL);
    assert_true(sample(text, "suara_redis_rtt_seconds_bucket{le=\"0.0001\"}") == 3); /* incl. -1 */
    assert_true(sample(text, "suara_redis_rtt_seconds_bucket{le=\"0.0005\"}") == 4);
    assert_true(sample(text, "suara_redis_rtt_seconds_bucket{le=\"0.0025\"}") == 5);
    assert_true(sample(text, "suara_redis_rtt_seconds_bucket{le=\"0.5\"}") == 5);
    assert_true(sample(text, "suara_redis_rtt_seconds_bucket{le=\"1\"}") == 6);
    assert_true(sample(text, "suara_redis_rtt_seconds_bucket{le=\"+Inf\"}") == 7);
    assert_true(sample(text, "suara_redis_rtt_seconds_count") == 7);
    assert_has_line(text, "suara_redis_rtt_seconds_sum 5.702450000");
    /* cumulative: never decreasing, in order */
    double prev = -1;
    size_t n = 0;
    const char *key = "suara_redis_rtt_seconds_bucket{le=\"";
    for (const char *p = strstr(text, key); p; p = strstr(p + 1, key)) {
        double v = strtod(strchr(p, '}') + 2, NULL);
        assert_true(v >= prev);
        prev = v;
        n++;
    }
    assert_true(n >= 10);
    free(text);
    metrics_free(m);
}

static void test_label_escaping(void **state)
{
    (void)state;
    const char *names[] = {"a\"b", "c\\d", "e\nf"};
    struct metrics *m = metrics_new(names, 3);
    metrics_message_in(m, 2, "text");
    char *text = metrics_render(m, NULL);
    assert_has_line(text, "suara_messages_in_total{channel=\"a\\\"b\",kind=\"text\"} 0");
    assert_has_line(text, "suara_messages_in_total{channel=\"c\\\\d\",kind=\"text\"} 0");
    assert_has_line(text, "suara_messages_in_total{channel=\"e\\nf\",kind=\"text\"} 1");
    free(text);
    metrics_free(m);
    metrics_free(NULL);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_threads),      cmocka_unit_test(test_render_lines),
        cmocka_unit_test(test_exposition_shape), cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_label_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
