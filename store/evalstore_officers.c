/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The officer registry: importing officers and units from an administrator's CSV file (RFC 4180
 * quoting, UTF-8, CRLF or LF, all rows or none) and loading the active officers and the units
 * into a read-only, sorted, thread-shareable lookup structure for the dialogs (by code, by
 * notification phone, a unit's complaint handlers and supervisor).
 */
#include "evalstore_int.h"

#include "sr_mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSV_MAX_FIELDS 32
#define CSV_MAX_BYTES (32u << 20)

/* ---- a small RFC 4180 reader over an in-memory file ---------------------------------------- */

struct csv {
    const char *p, *end;
    size_t line; /* line number of *p, 1-based */
    char *buf;   /* field bytes of the current row, NUL-separated; owned */
    size_t len, cap;
};

struct csv_row {
    size_t line; /* where the row starts */
    size_t n;
    char *f[CSV_MAX_FIELDS]; /* point into csv.buf, valid until the next row */
};

static void csv_put(struct csv *c, char ch)
{
    if (c->len == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->buf = sr_realloc(c->buf, c->cap);
    }
    c->buf[c->len++] = ch;
}

/* Reads one quoted field body (after the opening quote); NULL or an error message. */
static const char *csv_quoted(struct csv *c)
{
    for (;;) {
        if (c->p == c->end)
            return "unterminated quoted field";
        char ch = *c->p++;
        if (ch == '"') {
            if (c->p == c->end || *c->p != '"')
                break;
            c->p++;
        } else if (ch == '\n') {
            c->line++;
        }
        csv_put(c, ch);
    }
    if (c->p != c->end && *c->p != ',' && *c->p != '\r' && *c->p != '\n')
        return "text after a closing quote";
    return NULL;
}

static const char *csv_field(struct csv *c)
{
    if (c->p != c->end && *c->p == '"') {
        c->p++;
        return csv_quoted(c);
    }
    while (c->p != c->end && *c->p != ',' && *c->p != '\r' && *c->p != '\n') {
        if (*c->p == '"')
            return "quote inside an unquoted field";
        csv_put(c, *c->p++);
    }
    return NULL;
}

/* Next non-blank row: 1 row, 0 end of file, -1 error (*err set, r->line names the line). */
static int csv_row(struct csv *c, struct csv_row *r, const char **err)
{
    size_t off[CSV_MAX_FIELDS];
    while (c->p != c->end && (*c->p == '\n' || *c->p == '\r')) /* blank lines */
        c->line += *c->p++ == '\n';
    r->line = c->line;
    r->n = 0;
    c->len = 0;
    if (c->p == c->end)
        return 0;
    for (;;) {
        if (r->n == CSV_MAX_FIELDS)
            return *err = "too many fields", -1;
        off[r->n++] = c->len;
        if ((*err = csv_field(c)) != NULL)
            return -1;
        csv_put(c, '\0');
        if (c->p == c->end || *c->p != ',')
            break;
        c->p++;
    }
    if (c->p != c->end && *c->p == '\r')
        c->p++;
    if (c->p != c->end && *c->p == '\n') {
        c->p++;
        c->line++;
    }
    for (size_t i = 0; i < r->n; i++)
        r->f[i] = c->buf + off[i];
    return 1;
}

/* ---- field validation, one table row per column -------------------------------------------- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static int utf8_ok(const unsigned char *s)
{
    while (*s) {
        int n = *s < 0x80             ? 0
                : (*s & 0xE0) == 0xC0 ? 1
                : (*s & 0xF0) == 0xE0 ? 2
                : (*s & 0xF8) == 0xF0 ? 3
                                      : -1;
        if (n < 0 || (n == 1 && *s < 0xC2) || (n == 3 && *s > 0xF4))
            return 0;
        if (n == 0 && *s < 0x20)
            return 0; /* control characters, including line breaks inside quotes */
        for (int i = 1; i <= n; i++)
            if ((s[i] & 0xC0) != 0x80)
                return 0;
        s += n + 1;
    }
    return 1;
}

static const char *check_nip(char *v)
{
    size_t n = strlen(v);
    if (n != 18 || strspn(v, "0123456789") != n)
        return "must be 18 digits";
    return NULL;
}

static const char *check_code(char *v)
{
    size_t n = strlen(v);
    if (n < 2 || n > 16 ||
        strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") != n)
        return "must be 2-16 of A-Z, 0-9 and -";
    for (char *p = v; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return NULL;
}

static const char *check_text(char *v)
{
    if (!*v)
        return "must not be empty";
    return utf8_ok((const unsigned char *)v) ? NULL : "must be UTF-8 text on one line";
}

/* Digits with an optional leading '+', stored digits-only (moved in place). */
static const char *check_phone(char *v)
{
    char *d = v + (*v == '+');
    size_t n = strlen(d);
    if (n < 6 || n > 15 || strspn(d, "0123456789") != n)
        return "must be 6-15 digits with an optional leading +";
    memmove(v, d, n + 1);
    return NULL;
}

/* officer | complaint | supervisor, case-insensitive, stored lower-case; empty = officer. */
static const char *check_role(char *v)
{
    static const char *const roles[] = {"officer", "complaint", "supervisor"};
    if (!*v)
        return NULL; /* the import substitutes the default */
    for (char *p = v; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(v, roles[i]) == 0)
            return NULL;
    return "must be officer, complaint or supervisor";
}

enum col {
    COL_NIP,
    COL_CODE,
    COL_NAME,
    COL_UNIT_CODE,
    COL_UNIT_NAME,
    COL_PHONE,
    COL_ROLE,
    COL__COUNT
};

#define COL_ABSENT ((size_t)-1) /* an optional column the file does not have */

static const struct {
    const char *name;
    const char *(*check)(char *v); /* may normalise v in place */
    const char *dflt;              /* optional column: value when absent or empty; NULL: required */
} cols[COL__COUNT] = {
    [COL_NIP] = {"nip", check_nip, NULL},
    [COL_CODE] = {"code", check_code, NULL},
    [COL_NAME] = {"name", check_text, NULL},
    [COL_UNIT_CODE] = {"unit_code", check_text, NULL},
    [COL_UNIT_NAME] = {"unit_name", check_text, NULL},
    [COL_PHONE] = {"phone", check_phone, NULL},
    [COL_ROLE] = {"role", check_role, "officer"},
};

/* ---- the import ---------------------------------------------------------------------------- */

struct import {
    struct evalstore *es;
    const char *file; /* base name for messages */
    struct csv csv;
    size_t idx[COL__COUNT]; /* column -> field index */
    size_t n_fields;        /* fields per row, from the header */
    char **seen;            /* sorted upper-case codes of this file; owned */
    size_t n_seen;
    int64_t now;
    struct evalstore_import_report rep;
};

static enum sr_err bad(struct import *im, size_t line, const char *field, const char *why,
                       struct sr_errbuf *eb)
{
    return sr_errf(eb, SR_E_INVALID, "%s:%zu: %s: %s", im->file, line, field, why);
}

static enum sr_err read_header(struct import *im, struct sr_errbuf *eb)
{
    struct csv_row r;
    const char *err = "empty file";
    if (csv_row(&im->csv, &r, &err) != 1)
        return bad(im, r.line, "header", err, eb);
    im->n_fields = r.n;
    for (size_t c = 0; c < COL__COUNT; c++) {
        size_t i = 0;
        while (i < r.n && strcasecmp(trim(r.f[i]), cols[c].name) != 0)
            i++;
        if (i == r.n && cols[c].dflt) {
            im->idx[c] = COL_ABSENT;
            continue;
        }
        if (i == r.n) {
            char *why = sr_asprintf("missing column %s", cols[c].name);
            enum sr_err e = bad(im, r.line, "header", why, eb);
            free(why);
            return e;
        }
        im->idx[c] = i;
    }
    return SR_E_OK;
}

/* Records the code as seen in this file; -1 if it already was. */
static int mark_seen(struct import *im, const char *code)
{
    size_t lo = 0, hi = im->n_seen;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(im->seen[mid], code);
        if (c == 0)
            return -1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    im->seen = sr_realloc(im->seen, (im->n_seen + 1) * sizeof(*im->seen));
    memmove(im->seen + lo + 1, im->seen + lo, (im->n_seen - lo) * sizeof(*im->seen));
    im->seen[lo] = sr_strdup(code);
    im->n_seen++;
    return 0;
}

/* 1 if the statement with its single text parameter returns a row, 0 if not, -1 on error. */
static int exists(struct import *im, enum es_stmt_id id, const char *key, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(im->es, id, eb);
    if (!st)
        return -1;
    es_bind_str(st, 1, key);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return es_sql_err(im->es, "officers", eb), -1;
    return rc == SQLITE_ROW;
}

static enum sr_err check_row(struct import *im, struct csv_row *r, char **v, struct sr_errbuf *eb)
{
    if (r->n != im->n_fields) {
        char *why = sr_asprintf("expected %zu fields, got %zu", im->n_fields, r->n);
        enum sr_err e = bad(im, r->line, "row", why, eb);
        free(why);
        return e;
    }
    for (size_t c = 0; c < COL__COUNT; c++) {
        v[c] = im->idx[c] == COL_ABSENT ? (char *)"" : trim(r->f[im->idx[c]]);
        const char *why = cols[c].check(v[c]);
        if (why)
            return bad(im, r->line, cols[c].name, why, eb);
        if (!*v[c] && cols[c].dflt)
            v[c] = (char *)cols[c].dflt;
    }
    if (mark_seen(im, v[COL_CODE]) != 0)
        return bad(im, r->line, "code", "appears twice in the file", eb);
    sqlite3_stmt *st = es_stmt(im->es, ES_OFFICER_NIP_OWNER, eb);
    if (!st)
        return SR_E_IO;
    es_bind_str(st, 1, v[COL_NIP]);
    es_bind_str(st, 2, v[COL_CODE]);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return bad(im, r->line, "nip", "already belongs to another officer code", eb);
    return rc == SQLITE_DONE ? SR_E_OK : es_sql_err(im->es, "officers", eb);
}

static enum sr_err put_unit(struct import *im, char **v, struct sr_errbuf *eb)
{
    int had = exists(im, ES_UNIT_GET, v[COL_UNIT_CODE], eb);
    sqlite3_stmt *st = had < 0 ? NULL : es_stmt(im->es, ES_UNIT_PUT, eb);
    if (!st)
        return SR_E_IO;
    es_bind_str(st, 1, v[COL_UNIT_CODE]);
    es_bind_str(st, 2, v[COL_UNIT_NAME]);
    im->rep.units_added += !had;
    return es_step_done(im->es, st, "units", eb);
}

static enum sr_err put_officer(struct import *im, char **v, struct sr_errbuf *eb)
{
    int had = exists(im, ES_OFFICER_GET, v[COL_CODE], eb);
    sqlite3_stmt *st = had < 0 ? NULL : es_stmt(im->es, ES_OFFICER_PUT, eb);
    if (!st)
        return SR_E_IO;
    es_bind_str(st, 1, v[COL_CODE]);
    es_bind_str(st, 2, v[COL_NIP]);
    es_bind_str(st, 3, v[COL_NAME]);
    es_bind_str(st, 4, v[COL_UNIT_CODE]);
    es_bind_str(st, 5, v[COL_PHONE]);
    sqlite3_bind_int64(st, 6, im->now);
    es_bind_str(st, 7, v[COL_ROLE]);
    if (had)
        im->rep.officers_updated++;
    else
        im->rep.officers_added++;
    return es_step_done(im->es, st, "officers", eb);
}

static enum sr_err import_rows(struct import *im, struct sr_errbuf *eb)
{
    enum sr_err e = read_header(im, eb);
    struct csv_row r;
    const char *err = NULL;
    int got;
    while (e == SR_E_OK && (got = csv_row(&im->csv, &r, &err)) != 0) {
        char *v[COL__COUNT];
        if (got < 0)
            return bad(im, r.line, "row", err, eb);
        e = check_row(im, &r, v, eb);
        if (e == SR_E_OK)
            e = put_unit(im, v, eb);
        if (e == SR_E_OK)
            e = put_officer(im, v, eb);
    }
    return e;
}

/* Reads the whole file (bounded) into a heap buffer owned by the caller. */
static enum sr_err slurp(const char *path, char **out, size_t *len, struct sr_errbuf *eb)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return sr_errf(eb, SR_E_IO, "%s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = sr_malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n > CSV_MAX_BYTES)
            break;
        if (n == cap)
            buf = sr_realloc(buf, cap *= 2);
    }
    int failed = ferror(f);
    fclose(f);
    if (failed || n > CSV_MAX_BYTES) {
        free(buf);
        return sr_errf(eb, failed ? SR_E_IO : SR_E_TOO_LARGE, "%s: %s", path,
                       failed ? "read error" : "file too large");
    }
    *out = buf;
    *len = n;
    return SR_E_OK;
}

enum sr_err evalstore_import_officers(struct evalstore *es, const char *csv_path,
                                      struct evalstore_import_report *rep, struct sr_errbuf *eb)
{
    struct import im = {.es = es, .now = es_now_ms()};
    char *data = NULL;
    size_t len = 0;
    if (rep)
        *rep = (struct evalstore_import_report){0};
    if (!es || es->mode != EVALSTORE_WRITE || !csv_path)
        return sr_errf(eb, SR_E_INTERNAL, "import: store not open for writing");
    enum sr_err e = slurp(csv_path, &data, &len, eb);
    if (e != SR_E_OK)
        return e;
    const char *slash = strrchr(csv_path, '/');
    im.file = slash ? slash + 1 : csv_path;
    size_t bom = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    im.csv = (struct csv){.p = data + bom, .end = data + len, .line = 1};
    e = es_exec(es, "BEGIN IMMEDIATE", eb);
    if (e == SR_E_OK)
        e = import_rows(&im, eb);
    if (e == SR_E_OK)
        e = es_exec(es, "COMMIT", eb);
    if (e != SR_E_OK) {
        es_rollback(es);
        im.rep = (struct evalstore_import_report){.rows_rejected = e == SR_E_INVALID};
    }
    if (rep)
        *rep = im.rep;
    for (size_t i = 0; i < im.n_seen; i++)
        free(im.seen[i]);
    free(im.seen);
    free(im.csv.buf);
    free(data);
    return e;
}

/* ---- the registry -------------------------------------------------------------------------- */

struct evalstore_registry {
    struct sr_officer *o; /* sorted by code, case-insensitively; strings owned */
    size_t n;
    const struct sr_officer **by_phone; /* officers with a phone, sorted by phone */
    size_t n_phone;
    struct sr_unit *units; /* sorted by code; strings owned */
    size_t n_units;
};

static int officer_cmp(const void *a, const void *b)
{
    return strcasecmp(((const struct sr_officer *)a)->code, ((const struct sr_officer *)b)->code);
}

static int phone_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct sr_officer *const *)a)->phone,
                  (*(const struct sr_officer *const *)b)->phone);
}

static const char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return sr_strdup(s ? (const char *)s : "");
}

/* Officers into r->o (unsorted); SQLITE_DONE on success. */
static int load_officers(struct evalstore *es, sqlite3_stmt *st, struct evalstore_registry *r)
{
    size_t cap = 0;
    int rc;
    (void)es;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->n == cap)
            r->o = sr_realloc(r->o, (cap = cap ? 2 * cap : 64) * sizeof(*r->o));
        r->o[r->n++] = (struct sr_officer){
            .code = col_dup(st, 0),
            .nip = col_dup(st, 1),
            .name = col_dup(st, 2),
            .unit_code = col_dup(st, 3),
            .unit_name = col_dup(st, 4),
            .phone = col_dup(st, 5),
            .role = col_dup(st, 6),
        };
    }
    sqlite3_reset(st);
    return rc;
}

/* Units (already ordered by code in SQL) into r->units; SQLITE_DONE on success. */
static int load_units(sqlite3_stmt *st, struct evalstore_registry *r)
{
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->n_units == cap)
            r->units = sr_realloc(r->units, (cap = cap ? 2 * cap : 16) * sizeof(*r->units));
        r->units[r->n_units++] = (struct sr_unit){.code = col_dup(st, 0), .name = col_dup(st, 1)};
    }
    sqlite3_reset(st);
    return rc;
}

static void index_phones(struct evalstore_registry *r)
{
    r->by_phone = sr_calloc(r->n + 1, sizeof(*r->by_phone));
    for (size_t i = 0; i < r->n; i++)
        if (r->o[i].phone[0])
            r->by_phone[r->n_phone++] = &r->o[i];
    if (r->n_phone)
        qsort(r->by_phone, r->n_phone, sizeof(*r->by_phone), phone_cmp);
}

enum sr_err evalstore_registry_load(struct evalstore *es, struct evalstore_registry **out,
                                    struct sr_errbuf *eb)
{
    *out = NULL;
    sqlite3_stmt *st = es ? es_stmt(es, ES_REGISTRY_ALL, eb) : NULL;
    if (!st)
        return es ? SR_E_IO : sr_errf(eb, SR_E_INTERNAL, "registry: no store");
    struct evalstore_registry *r = sr_calloc(1, sizeof(*r));
    int rc = load_officers(es, st, r);
    if (rc == SQLITE_DONE) {
        st = es_stmt(es, ES_UNITS_ALL, eb);
        rc = st ? load_units(st, r) : SQLITE_ERROR;
    }
    if (rc != SQLITE_DONE) {
        evalstore_registry_free(r);
        return es_sql_err(es, "registry", eb);
    }
    if (r->n)
        qsort(r->o, r->n, sizeof(*r->o), officer_cmp);
    index_phones(r);
    *out = r;
    return SR_E_OK;
}

void evalstore_registry_free(struct evalstore_registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free((char *)r->o[i].code);
        free((char *)r->o[i].nip);
        free((char *)r->o[i].name);
        free((char *)r->o[i].unit_code);
        free((char *)r->o[i].unit_name);
        free((char *)r->o[i].phone);
        free((char *)r->o[i].role);
    }
    for (size_t i = 0; i < r->n_units; i++) {
        free((char *)r->units[i].code);
        free((char *)r->units[i].name);
    }
    free(r->units);
    free(r->by_phone);
    free(r->o);
    free(r);
}

size_t evalstore_registry_count(const struct evalstore_registry *r)
{
    return r ? r->n : 0;
}

const struct sr_officer *evalstore_registry_lookup(void *registry, const char *code)
{
    const struct evalstore_registry *r = registry;
    if (!r || !code || !r->n)
        return NULL;
    struct sr_officer key = {.code = code};
    return bsearch(&key, r->o, r->n, sizeof(*r->o), officer_cmp);
}

const struct sr_officer *evalstore_registry_by_phone(void *registry, const char *phone)
{
    const struct evalstore_registry *r = registry;
    char digits[32];
    size_t n = 0;
    if (!r || !phone || !r->n_phone)
        return NULL;
    for (const char *p = phone; *p; p++) {
        if (*p < '0' || *p > '9')
            continue;
        if (n + 1 == sizeof(digits))
            return NULL; /* longer than any stored phone (15 digits) */
        digits[n++] = *p;
    }
    digits[n] = '\0';
    if (!n)
        return NULL;
    struct sr_officer key = {.phone = digits};
    const struct sr_officer *kp = &key;
    const struct sr_officer *const *hit =
        bsearch(&kp, r->by_phone, r->n_phone, sizeof(*r->by_phone), phone_cmp);
    return hit ? *hit : NULL;
}

size_t evalstore_registry_units(void *registry, const struct sr_unit **out)
{
    const struct evalstore_registry *r = registry;
    if (out)
        *out = r ? r->units : NULL;
    return r ? r->n_units : 0;
}

static int in_unit_as(const struct sr_officer *o, const char *unit, const char *role)
{
    return strcmp(o->unit_code, unit) == 0 && strcmp(o->role, role) == 0;
}

size_t evalstore_registry_unit_handlers(void *registry, const char *unit,
                                        const struct sr_officer **out, size_t max)
{
    const struct evalstore_registry *r = registry;
    size_t n = 0;
    for (size_t i = 0; r && unit && i < r->n && n < max; i++)
        if (in_unit_as(&r->o[i], unit, "complaint"))
            out[n++] = &r->o[i];
    return n;
}

const struct sr_officer *evalstore_registry_unit_supervisor(void *registry, const char *unit)
{
    const struct evalstore_registry *r = registry;
    for (size_t i = 0; r && unit && i < r->n; i++)
        if (in_unit_as(&r->o[i], unit, "supervisor"))
            return &r->o[i];
    return NULL;
}
