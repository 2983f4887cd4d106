/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: form / URL decoding and the small text helpers the handlers build on
 * (handlers/hutil.c): hutil_form_parse on arbitrary bytes, then a round trip (every decoded
 * field percent-encoded again and re-parsed must give the same fields, in order), sorting,
 * lookup, phone digits, seconds -> ms, UTF-8 cutting, hex and Content-Type matching.
 */
#include "fuzz.h"

#include "hutil.h"
#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Encodes form back to "n=v&n=v" and checks that it decodes to the same fields. */
static void round_trip(const struct hutil_form *form)
{
    struct hutil_buf b = {0};
    for (size_t i = 0; i < form->n; i++) {
        if (i)
            hutil_buf_adds(&b, "&");
        hutil_buf_add_pct(&b, form->f[i].name, strlen(form->f[i].name));
        hutil_buf_adds(&b, "=");
        hutil_buf_add_pct(&b, form->f[i].value, strlen(form->f[i].value));
    }
    size_t len = 0;
    char *enc = hutil_buf_take(&b, &len);
    struct hutil_form again = {0};
    if (hutil_form_parse(enc, len, &again) != 0)
        abort();
    if (again.n != form->n)
        abort();
    for (size_t i = 0; i < again.n; i++)
        if (strcmp(again.f[i].name, form->f[i].name) != 0 ||
            strcmp(again.f[i].value, form->f[i].value) != 0)
            abort();
    hutil_form_free(&again);
    free(enc);
}

static void check_form(const struct hutil_form *form)
{
    round_trip(form);
    for (size_t i = 0; i < form->n; i++) {
        const char *v = hutil_form_get(form, form->f[i].name);
        if (!v)
            abort();
        char *d = hutil_digits(form->f[i].value);
        for (const char *p = d; p && *p; p++)
            if (*p < '0' || *p > '9')
                abort();
        free(d);
        int64_t ms = hutil_seconds_to_ms(form->f[i].value);
        if (ms < 0 || ms % 1000 != 0)
            abort();
    }
}

static void check_text(const char *s, size_t len)
{
    size_t cut = hutil_utf8_prefix(s, len % 64);
    if (cut > strlen(s) || (cut < strlen(s) && ((unsigned char)s[cut] & 0xC0) == 0x80))
        abort(); /* never inside a multi-byte character */
    unsigned char bin[32];
    char hex[65];
    if (len >= 64 && hutil_hex_decode(s, bin, 32) == 0) {
        hutil_hex_encode(bin, 32, hex);
        if (strncasecmp(hex, s, 64) != 0)
            abort();
    }
    hutil_content_type_is(s, "application/x-www-form-urlencoded");
    hutil_content_type_is(s, "application/json");
    char *url = hutil_join_url(s, s + len / 2);
    free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init++)
        sr_mem_init();
    struct hutil_form form = {0};
    if (hutil_form_parse((const char *)data, size, &form) == 0) {
        check_form(&form);
        hutil_form_sort(&form);
        for (size_t i = 1; i < form.n; i++)
            if (strcmp(form.f[i - 1].name, form.f[i].name) > 0)
                abort();
    }
    hutil_form_free(&form);
    char *s = sr_strndup((const char *)data, size);
    check_text(s, strlen(s));
    free(s);
    return 0;
}
