/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A slowloris burst against the real gateway (the guard's event-loop side in worker.c): a few
 * hundred connections from one loopback address arrive at once and trickle request heads, more
 * than the per-address cap. Asserts that the excess is refused at once and counted, that the
 * refusals make one log line per worker at most (not one per connection), that a legitimate
 * request is answered quickly while they are held, and that when they all reach the header
 * deadline together they are all closed in one short burst of slices (CONN_CLOSE_BATCH per loop
 * turn, the rest 1 ms later), not one slice per 250 ms scan. Every wait is a bounded poll.
 */
#include "e2e_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define HOLD 300 /* connections opened */
#define PER_ADDRESS 250
#define HEADER_S 2

static const char ini[] = "[server]\n"
                          "max_connections = 400\n"
                          "max_connections_per_address = 250\n"
                          "header_timeout_s = 2\n";

static int connect_from(int host)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000000u | host)};
    assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
    struct sockaddr_in dst = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)E.port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&dst, sizeof(dst)), 0);
    return fd;
}

/* 1 if the peer has closed fd (EOF or reset); whatever else arrives is discarded. */
static int peer_closed(int fd)
{
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static long long metric(const char *line)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "%s/metrics", E.base);
    long long v = -1;
    if (http_get(url, &body) == 200) {
        const char *p = strstr(body, line);
        if (p)
            v = strtoll(p + strlen(line), NULL, 10);
    }
    free(body);
    return v;
}

static long long wait_metric(const char *line, long long want, int timeout_ms)
{
    long long end = harness_mono_ms() + timeout_ms, v = -1;
    while (harness_mono_ms() < end && (v = metric(line)) != want)
        harness_sleep_ms(50);
    return v;
}

/* Lines of the gateway's log that contain s. */
static int log_lines_with(const char *s)
{
    FILE *f = fopen(E.log, "r");
    assert_non_null(f);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, s) != NULL;
    fclose(f);
    return n;
}

static int setup(void **state)
{
    E.extra_ini = ini;
    return e2e_setup(state);
}

static void test_burst(void **state)
{
    (void)state;
    static const char refused[] = "suara_connections_refused_total{reason=\"per_address\"} ";
    static const char timed_out[] = "suara_connections_timed_out_total{phase=\"header\"} ";
    long long refused0 = metric(refused), timed_out0 = metric(timed_out);
    int log0 = log_lines_with("over the per-address cap");
    int fd[HOLD];
    for (int i = 0; i < HOLD; i++) {
        fd[i] = connect_from(2);
        (void)send(fd[i], "GET /healthz HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
    }
    assert_int_equal(wait_metric(refused, refused0 + HOLD - PER_ADDRESS, 5000),
                     refused0 + HOLD - PER_ADDRESS);
    /* the refused ones are closed at the accept, long before the header deadline */
    char gone[HOLD] = {0};
    int open = HOLD;
    for (long long end = harness_mono_ms() + 1000; open > PER_ADDRESS && harness_mono_ms() < end;)
        for (int i = 0; i < HOLD; i++)
            if (!gone[i] && peer_closed(fd[i]))
                gone[i] = 1, open--;
    assert_int_equal(open, PER_ADDRESS);
    /* a legitimate request from another address is answered at once */
    char url[128];
    snprintf(url, sizeof(url), "%s/healthz", E.base);
    long long t0 = harness_mono_ms();
    assert_int_equal(http_get(url, NULL), 200);
    assert_true(harness_mono_ms() - t0 < 500); /* generous for ASan; typically ~1 ms */
    /* the held ones reach the header deadline together and are closed in one burst */
    long long first = -1, last = -1, end = harness_mono_ms() + (HEADER_S + 5) * 1000;
    while (open > 0 && harness_mono_ms() < end) {
        struct pollfd p[HOLD];
        for (int i = 0; i < HOLD; i++)
            p[i] = (struct pollfd){.fd = gone[i] ? -1 : fd[i], .events = POLLIN};
        if (poll(p, HOLD, 50) <= 0)
            continue;
        long long now = harness_mono_ms();
        for (int i = 0; i < HOLD; i++) {
            if (gone[i] || !p[i].revents || !peer_closed(fd[i]))
                continue;
            gone[i] = 1;
            open--;
            first = first < 0 ? now : first;
            last = now;
        }
    }
    for (int i = 0; i < HOLD; i++)
        close(fd[i]);
    assert_int_equal(open, 0);
    /* one 250 ms scan per slice of CONN_CLOSE_BATCH would take >= 1.75 s for ~125 per worker */
    assert_true(last - first < 1000);
    assert_int_equal(wait_metric(timed_out, timed_out0 + PER_ADDRESS, 3000),
                     timed_out0 + PER_ADDRESS);
    /* the refusals were logged as one line per worker, not one per connection */
    int lines = log_lines_with("over the per-address cap") - log0;
    assert_true(lines >= 1 && lines <= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst),
    };
    return cmocka_run_group_tests(tests, setup, e2e_teardown);
}
