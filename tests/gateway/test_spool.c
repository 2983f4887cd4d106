/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for gateway/spool.c on a real file in a fresh folder: records come back whole and in
 * order, survive a reopen, are given back only once done, and the file is emptied when every
 * record is replayed; a torn or corrupted tail is cut off at open without losing the records
 * before it; the size bound refuses with SR_E_UNAVAILABLE; a second process (flock) and a
 * second claimant are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "spool.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256], file[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/suara-spool-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    strcat(dir, "/spool"); /* spool_open makes the last level itself */
    snprintf(file, sizeof(file), "%s/inbound.spool", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(file);
    rmdir(dir);
    *strrchr(dir, '/') = '\0';
    rmdir(dir);
    return 0;
}

static long long file_size(void)
{
    struct stat st;
    return stat(file, &st) == 0 ? (long long)st.st_size : -1;
}

/* A Twilio-shaped request; body "n=<i>" with a NUL inside to prove bodies are binary-safe. */
static void append(struct spool *s, int i)
{
    char body[32];
    int n = snprintf(body, sizeof(body), "n=%d", i);
    body[n] = '\0';
    struct sr_header h[] = {{"Content-Type", "application/x-www-form-urlencoded"},
                            {"X-Twilio-Signature", "c2lnbmF0dXJl"}};
    struct sr_http_in in = {"POST", "/webhooks/sms",       "a=1",        h,
                            2,      (unsigned char *)body, (size_t)n + 1};
    struct sr_errbuf eb = {{0}};
    assert_int_equal(spool_append(s, "sms", 1000 + i, &in, &eb), SR_E_OK);
}

/* Peeks the next record and checks it is number i. */
static void expect(struct spool *s, int i)
{
    struct spool_record r;
    struct sr_errbuf eb = {{0}};
    assert_int_equal(spool_peek(s, &r, &eb), SR_E_OK);
    char body[32];
    int n = snprintf(body, sizeof(body), "n=%d", i);
    assert_string_equal(r.channel, "sms");
    assert_int_equal(r.received_ms, 1000 + i);
    assert_string_equal(r.in.method, "POST");
    assert_string_equal(r.in.path, "/webhooks/sms");
    assert_string_equal(r.in.query, "a=1");
    assert_int_equal(r.in.n_headers, 2);
    assert_string_equal(r.in.headers[1].name, "X-Twilio-Signature");
    assert_string_equal(r.in.headers[1].value, "c2lnbmF0dXJl");
    assert_int_equal(r.in.body_len, (size_t)n + 1);
    assert_memory_equal(r.in.body, body, (size_t)n + 1);
    spool_record_clear(&r);
}

static struct spool *open_spool(uint64_t max, struct spool_open_report *rep)
{
    struct sr_errbuf eb = {{0}};
    struct spool *s = spool_open(dir, max, rep, &eb);
    if (!s)
        fail_msg("spool_open: %s", eb.msg);
    return s;
}

static void test_in_order_across_reopen_then_emptied(void **state)
{
    (void)state;
    struct spool_open_report rep;
    struct spool *s = open_spool(1 << 20, &rep);
    assert_int_equal(rep.records, 0);
    for (int i = 0; i < 5; i++)
        append(s, i);
    assert_int_equal(spool_records(s), 5);
    assert_true(spool_claim(s));
    expect(s, 0);
    spool_done(s);
    expect(s, 1); /* not done: a restart gives it back */
    spool_release(s);
    spool_close(s);

    s = open_spool(1 << 20, &rep);
    assert_int_equal(rep.records, 5); /* from the start: the store's dedupe covers record 0 */
    assert_int_equal(rep.dropped_bytes, 0);
    assert_true(spool_claim(s));
    assert_false(spool_claim(s)); /* one claimant at a time */
    struct sr_errbuf eb = {{0}};
    struct spool_record r;
    for (int i = 0; i < 5; i++) {
        expect(s, i);
        if (i == 2)
            append(s, 5); /* appended during the replay: replayed after the others */
        spool_done(s);
    }
    expect(s, 5);
    assert_true(file_size() > 0);
    spool_done(s);
    assert_int_equal(spool_peek(s, &r, &eb), SR_E_NOT_FOUND);
    assert_int_equal(spool_records(s), 0);
    assert_int_equal(file_size(), 0); /* all replayed: the file starts again */
    spool_release(s);
    assert_false(spool_claim(s)); /* nothing waits */
    spool_close(s);
}

static void test_torn_and_corrupt_tails_are_cut(void **state)
{
    (void)state;
    struct spool_open_report rep;
    struct spool *s = open_spool(1 << 20, &rep);
    append(s, 0);
    append(s, 1);
    spool_close(s);
    long long whole = file_size();
    /* a crash mid-append: the frame says 1024 bytes, 3 arrived */
    int fd = open(file, O_WRONLY | O_APPEND);
    const unsigned char torn[] = {'S', 'P', 'R', '1', 0, 4, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9};
    assert_int_equal(write(fd, torn, sizeof(torn)), (ssize_t)sizeof(torn));
    close(fd);
    s = open_spool(1 << 20, &rep);
    assert_int_equal(rep.records, 2);
    assert_int_equal(rep.dropped_bytes, sizeof(torn));
    assert_int_equal(file_size(), whole);
    spool_close(s);
    /* a flipped byte in the last record's body: its checksum fails, the first one stays */
    fd = open(file, O_RDWR);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, whole - 2), 1);
    b ^= 0x55;
    assert_int_equal(pwrite(fd, &b, 1, whole - 2), 1);
    close(fd);
    s = open_spool(1 << 20, &rep);
    assert_int_equal(rep.records, 1);
    assert_true(rep.dropped_bytes > 0);
    assert_true(spool_claim(s));
    expect(s, 0);
    spool_done(s);
    spool_release(s);
    spool_close(s);
}

static void test_bound_refuses_and_second_process_is_locked_out(void **state)
{
    (void)state;
    struct spool *s = open_spool(400, NULL);
    struct sr_errbuf eb = {{0}};
    append(s, 0);
    long long one = file_size();
    assert_true(one > 0 && one < 200);
    int n = 1;
    struct sr_http_in in = {"POST", "/webhooks/sms", "", NULL, 0, (const unsigned char *)"x", 1};
    enum sr_err e = SR_E_OK;
    for (; n < 20 && (e = spool_append(s, "sms", 1, &in, &eb)) == SR_E_OK; n++)
        ;
    assert_int_equal(e, SR_E_UNAVAILABLE);
    assert_non_null(strstr(eb.msg, "spool_max_bytes"));
    assert_true(file_size() <= 400);
    assert_int_equal(spool_records(s), (size_t)n);
    /* flock is per open file description: a second open stands for a second process */
    struct sr_errbuf eb2 = {{0}};
    assert_null(spool_open(dir, 400, NULL, &eb2));
    assert_non_null(strstr(eb2.msg, "in use by another suara process"));
    spool_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_order_across_reopen_then_emptied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_and_corrupt_tails_are_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bound_refuses_and_second_process_is_locked_out, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
