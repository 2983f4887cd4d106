/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small text helpers of the dialog engine: UTF-8 cleaning and counting (so every string that
 * reaches jansson or PCRE2 is valid UTF-8 and bounded), trimming, {placeholder} formatting, and
 * loading a JSON data file.
 */
#include "dialog_int.h"

#include "sr_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if it is invalid. */
static size_t utf8_seq(const unsigned char *p)
{
    static const struct {
        unsigned char mask, lead;
        size_t len;
        uint32_t min;
    } forms[] = {{0x80, 0x00, 1, 0},
                 {0xE0, 0xC0, 2, 0x80},
                 {0xF0, 0xE0, 3, 0x800},
                 {0xF8, 0xF0, 4, 0x10000}};
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        if ((p[0] & forms[f].mask) != forms[f].lead)
            continue;
        uint32_t cp = p[0] & (unsigned char)~forms[f].mask;
        for (size_t i = 1; i < forms[f].len; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < forms[f].min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        return forms[f].len;
    }
    return 0;
}

char *dlg_utf8_clean(const char *s, size_t max_chars)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t cap = strlen((const char *)p) * 3 + 1;
    char *out = sr_malloc(cap);
    size_t n = 0;
    for (size_t chars = 0; *p && chars < max_chars; chars++) {
        size_t len = utf8_seq(p);
        if (len == 0) {
            memcpy(out + n, replacement, 3);
            n += 3;
            p++;
            continue;
        }
        memcpy(out + n, p, len);
        n += len;
        p += len;
    }
    out[n] = '\0';
    return out;
}

size_t dlg_utf8_len(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n++;
    return n;
}

char *dlg_trim(const char *s)
{
    static const char ws[] = " \t\r\n\v\f";
    s += strspn(s, ws);
    size_t len = strlen(s);
    while (len > 0 && strchr(ws, s[len - 1]))
        len--;
    return sr_strndup(s, len);
}

void dlg_buf_add(struct dlg_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = sr_realloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void dlg_buf_str(struct dlg_buf *b, const char *s)
{
    dlg_buf_add(b, s, strlen(s));
}

/* The value of placeholder name[0..n) or NULL. */
static const char *var_find(const char *const *vars, size_t n_vars, const char *name, size_t n)
{
    for (size_t i = 0; i + 1 < n_vars * 2; i += 2)
        if (strlen(vars[i]) == n && memcmp(vars[i], name, n) == 0)
            return vars[i + 1] ? vars[i + 1] : "";
    return NULL;
}

char *dlg_format(const char *tmpl, const char *const *vars, size_t n_vars)
{
    struct dlg_buf b = {0};
    dlg_buf_add(&b, "", 0);
    const char *p = tmpl;
    while (*p) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            dlg_buf_str(&b, p);
            break;
        }
        dlg_buf_add(&b, p, (size_t)(open - p));
        const char *val = var_find(vars, n_vars, open + 1, (size_t)(close - open - 1));
        if (val)
            dlg_buf_str(&b, val);
        else
            dlg_buf_add(&b, open, (size_t)(close - open + 1));
        p = close + 1;
    }
    return b.s;
}

json_t *dlg_load_json(const char *dir, const char *rel, struct sr_errbuf *eb)
{
    char *path = sr_asprintf("%s/%s", dir, rel);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        sr_errf(eb, SR_E_CONFIG, "%s:%d: %s", path, jerr.line, jerr.text);
    else if (!json_is_object(root) ||
             json_integer_value(json_object_get(root, "format")) != DLG_FORMAT) {
        sr_errf(eb, SR_E_CONFIG, "%s: not an object with \"format\": %d", path, DLG_FORMAT);
        json_decref(root);
        root = NULL;
    }
    free(path);
    return root;
}
