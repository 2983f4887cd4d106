/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The small pieces every channel handler needs: form decoding / encoding, a growable buffer,
 * UTF-8 cutting, hex and constant-time comparison. See hutil.h for the contract of each.
 */
#include "hutil.h"

#include "sr_mem.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- buffer ---------------------------------------------------------------------------- */

void hutil_buf_add(struct hutil_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = sr_realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void hutil_buf_adds(struct hutil_buf *b, const char *s)
{
    hutil_buf_add(b, s, strlen(s));
}

void hutil_buf_add_pct(struct hutil_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            hutil_buf_add(b, (const char *)&s[i], 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            hutil_buf_add(b, esc, 3);
        }
    }
}

char *hutil_buf_take(struct hutil_buf *b, size_t *len)
{
    if (!b->p)
        hutil_buf_add(b, "", 0);
    char *p = b->p;
    if (len)
        *len = b->len;
    memset(b, 0, sizeof(*b));
    return p;
}

void hutil_buf_free(struct hutil_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

/* ---- forms ----------------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one name or value; NULL on a bad escape or an encoded NUL. */
static char *form_decode(const char *s, size_t n)
{
    char *out = sr_malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] != '%') {
            out[o++] = s[i];
        } else {
            int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
            int lo = hi >= 0 ? hexval(s[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        }
    }
    out[o] = '\0';
    return out;
}

static int form_add(struct hutil_form *form, const char *pair, size_t n)
{
    const char *eq = memchr(pair, '=', n);
    size_t nlen = eq ? (size_t)(eq - pair) : n;
    char *name = form_decode(pair, nlen);
    char *value = eq ? form_decode(eq + 1, n - nlen - 1) : sr_strdup("");
    if (!name || !value) {
        free(name);
        free(value);
        return -1;
    }
    if (form->n == form->cap) {
        form->cap = form->cap ? form->cap * 2 : 8;
        form->f = sr_realloc(form->f, form->cap * sizeof(*form->f));
    }
    form->f[form->n].name = name;
    form->f[form->n].value = value;
    form->n++;
    return 0;
}

int hutil_form_parse(const char *s, size_t len, struct hutil_form *form)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '&')
            continue;
        if (i > start && form_add(form, s + start, i - start) != 0) {
            hutil_form_free(form);
            return -1;
        }
        start = i + 1;
    }
    return 0;
}

const char *hutil_form_get(const struct hutil_form *form, const char *name)
{
    for (size_t i = 0; i < form->n; i++)
        if (strcmp(form->f[i].name, name) == 0)
            return form->f[i].value;
    return NULL;
}

static int field_cmp(const void *a, const void *b)
{
    const struct hutil_field *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

void hutil_form_sort(struct hutil_form *form)
{
    if (form->n > 1)
        qsort(form->f, form->n, sizeof(*form->f), field_cmp);
}

void hutil_form_free(struct hutil_form *form)
{
    for (size_t i = 0; i < form->n; i++) {
        free(form->f[i].name);
        free(form->f[i].value);
    }
    free(form->f);
    memset(form, 0, sizeof(*form));
}

/* ---- text ------------------------------------------------------------------------------ */

size_t hutil_utf8_prefix(const char *s, size_t max_chars)
{
    size_t chars = 0, i = 0;
    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) == 0x80)
            continue; /* continuation byte: belongs to the current character */
        if (chars == max_chars)
            break;
        chars++;
    }
    return i;
}

int hutil_hex_decode(const char *hex, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]);
        int lo = hi >= 0 ? hexval(hex[2 * i + 1]) : -1;
        if (lo < 0)
            return -1;
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    return 0;
}

void hutil_hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int hutil_secret_equal(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    unsigned char da[SHA256_DIGEST_LENGTH], db[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)a, strlen(a), da);
    SHA256((const unsigned char *)b, strlen(b), db);
    return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

int hutil_content_type_is(const char *value, const char *mime)
{
    if (!value)
        return 0;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(mime);
    if (strncasecmp(value, mime, n) != 0)
        return 0;
    char next = value[n];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

char *hutil_digits(const char *addr)
{
    if (!addr)
        return NULL;
    if (strncasecmp(addr, "whatsapp:", 9) == 0)
        addr += 9;
    char *out = sr_malloc(strlen(addr) + 1);
    size_t o = 0;
    for (const char *p = addr; *p; p++)
        if (*p >= '0' && *p <= '9')
            out[o++] = *p;
    out[o] = '\0';
    if (o == 0) {
        free(out);
        return NULL;
    }
    return out;
}

int64_t hutil_seconds_to_ms(const char *s)
{
    if (!s || !*s)
        return 0;
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX / 1000 - 9) / 10)
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v * 1000;
}

char *hutil_join_url(const char *base, const char *rest)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    while (*rest == '/')
        rest++;
    return sr_asprintf("%.*s/%s", (int)n, base, rest);
}

void hutil_batch_truncate(struct sr_inbound_batch *b, size_t n, size_t n_rejects)
{
    while (b->n_rejects > n_rejects)
        free(b->rejects[--b->n_rejects].detail);
    while (b->n > n) {
        struct sr_inbound *it = &b->items[--b->n];
        free(it->provider_id);
        free(it->sender);
        free(it->recipient);
        free(it->text);
        free(it->payload);
        free(it->profile_name);
        free(it->status);
        free(it->error_code);
        memset(it, 0, sizeof(*it));
    }
}

enum sr_send_outcome hutil_classify(long http_status, int has_code, long long code,
                                    const struct hutil_code *table, size_t n)
{
    if (http_status >= 200 && http_status < 300)
        return SR_SEND_OK;
    if (http_status == 429 || http_status >= 500 || http_status < 100)
        return SR_SEND_RETRY;
    for (size_t i = 0; has_code && i < n; i++)
        if (table[i].code == code)
            return table[i].outcome;
    return SR_SEND_FAILED;
}

void hutil_answer(struct sr_http_answer *ans, int status, const char *ctype, const char *body)
{
    sr_http_answer_clear(ans);
    ans->status = status;
    ans->content_type = sr_strdup(ctype);
    ans->body = sr_strdup(body);
    ans->body_len = strlen(body);
}
