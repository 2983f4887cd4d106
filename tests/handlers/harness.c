/* SPDX-License-Identifier: Apache-2.0 */
/* The shared handler test harness (see harness.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *th_read(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", SUARA_TESTDATA, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    assert_true(n >= 0);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

void th_req_init(struct th_req *r, const char *method, const char *path, const char *query,
                 const void *body, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->in.method = method;
    r->in.path = path;
    r->in.query = query ? query : "";
    r->in.headers = r->h;
    r->in.body = body;
    r->in.body_len = len;
}

void th_req_header(struct th_req *r, const char *name, const char *value)
{
    assert_true(r->in.n_headers < TH_MAX_HEADERS);
    r->h[r->in.n_headers].name = name;
    r->h[r->in.n_headers].value = value;
    r->in.n_headers++;
}

static void check_str(const char *field, const char *got, const char *want)
{
    if (!want && !got)
        return;
    if (!want || !got || strcmp(want, got) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", field, got ? got : "(null)",
                 want ? want : "(null)");
}

void th_check_item(const struct sr_inbound *got, const struct th_item *want)
{
    assert_string_equal(sr_inbound_kind_name(got->kind), sr_inbound_kind_name(want->kind));
    check_str("provider_id", got->provider_id, want->provider_id);
    check_str("sender", got->sender, want->sender);
    check_str("recipient", got->recipient, want->recipient);
    check_str("text", got->text, want->text);
    check_str("payload", got->payload, want->payload);
    check_str("profile_name", got->profile_name, want->profile_name);
    check_str("status", got->status, want->status);
    check_str("error_code", got->error_code, want->error_code);
    assert_int_equal(got->timestamp_ms, want->timestamp_ms);
}

void th_check_reject(const struct sr_inbound_reject *got, const struct th_reject *want)
{
    assert_string_equal(sr_inbound_reject_name(got->reason), sr_inbound_reject_name(want->reason));
    assert_non_null(got->detail);
    if (!strstr(got->detail, want->detail))
        fail_msg("reject detail \"%s\" lacks \"%s\"", got->detail, want->detail);
    static const char *const numbers[] = {"628", "15550000000", NULL};
    th_assert_clean(got->detail, numbers);
}

void th_assert_clean(const char *msg, const char *const *needles)
{
    for (size_t i = 0; needles[i]; i++)
        if (strstr(msg, needles[i]))
            fail_msg("error detail \"%s\" leaks \"%s\"", msg, needles[i]);
}
