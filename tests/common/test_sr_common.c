/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for common/: error table, phone masking, the JSON log line, the reply JSON form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sr_error.h"
#include "sr_log.h"
#include "sr_mem.h"
#include "sr_types.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_error_table(void **state)
{
    (void)state;
    assert_int_equal(sr_http_status(SR_E_SIGNATURE), 401);
    assert_int_equal(sr_http_status(SR_E_TOO_LARGE), 413);
    assert_int_equal(sr_http_status(SR_E_UNAVAILABLE), 503);
    assert_string_equal(sr_errname(SR_E_INVALID), "INVALID");
    assert_string_equal(sr_strerror(SR_E_NOT_FOUND), "not found");
    struct sr_errbuf eb;
    assert_int_equal(sr_errf(&eb, SR_E_INVALID, "field %s", "From"), SR_E_INVALID);
    assert_string_equal(eb.msg, "field From");
}

static void test_mask_phone(void **state)
{
    (void)state;
    char out[SR_MASK_MAX];
    assert_string_equal(sr_mask_phone("6281234567890", out), "6281*******90");
    assert_string_equal(sr_mask_phone("12345", out), "*****");
    assert_string_equal(sr_mask_phone(NULL, out), "");
}

static char *read_log_line(void (*emit)(void))
{
    char path[] = "/tmp/suara-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    sr_log_set_fd(fd);
    emit();
    sr_log_set_fd(2);
    lseek(fd, 0, SEEK_SET);
    char *buf = calloc(1, 4096);
    ssize_t n = read(fd, buf, 4095);
    assert_true(n > 0);
    close(fd);
    unlink(path);
    return buf;
}

static void emit_masked(void)
{
    char m[SR_MASK_MAX];
    SR_LOG(INFO, "test", "req-1", "from %s says \"hi\"", sr_mask_phone("6281234567890", m));
}

static void test_log_is_json_and_masked(void **state)
{
    (void)state;
    char *line = read_log_line(emit_masked);
    assert_non_null(strchr(line, '\n'));
    json_t *o = json_loads(line, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
    assert_string_equal(json_string_value(json_object_get(o, "req")), "req-1");
    assert_string_equal(json_string_value(json_object_get(o, "msg")),
                        "from 6281*******90 says \"hi\"");
    assert_null(strstr(line, "6281234567890"));
    json_decref(o);
    free(line);
}

static void test_reply_json_roundtrip(void **state)
{
    (void)state;
    struct sr_reply r = {0};
    r.channel = sr_strdup("wa");
    r.to = sr_strdup("6281234567890");
    r.text = sr_strdup("Bagaimana pelayanan petugas?");
    r.style = SR_REPLY_BUTTONS;
    r.n_options = 2;
    r.options[0].id = sr_strdup("4");
    r.options[0].title = sr_strdup("Sangat baik");
    r.options[1].id = sr_strdup("1");
    r.options[1].title = sr_strdup("Tidak baik");
    char *js = sr_reply_to_json(&r);
    struct sr_reply back;
    assert_int_equal(sr_reply_from_json(&back, js, strlen(js)), 0);
    assert_string_equal(back.text, r.text);
    assert_int_equal(back.style, SR_REPLY_BUTTONS);
    assert_int_equal(back.n_options, 2);
    assert_string_equal(back.options[1].title, "Tidak baik");
    sr_reply_clear(&back);
    assert_int_equal(sr_reply_from_json(&back, "{\"to\":1}", 8), -1);
    sr_reply_clear(&r);
    free(js);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_table),
        cmocka_unit_test(test_mask_phone),
        cmocka_unit_test(test_log_is_json_and_masked),
        cmocka_unit_test(test_reply_json_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
