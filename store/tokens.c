/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tokens for the admin API and the officers' live feed (see tokens.h): random text shown once,
 * its SHA-256 in the tokens table, scope checked against the registry, changes audited. Every
 * statement is prepared once on open from one table.
 */
#include "tokens.h"

#include "sr_mem.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_PREFIX "sua_"
#define TOKEN_BYTES 32 /* 256 bits */

#define TK_STMTS(X)                                                                                \
    X(OFFICER_UNIT, "SELECT unit_code FROM officers WHERE code = ?1 AND active = 1")               \
    X(UNIT_EXISTS, "SELECT 1 FROM units WHERE code = ?1")                                          \
    X(INSERT, "INSERT INTO tokens(hash, role, officer_code, unit_code, label, created_at) "        \
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                                                   \
    X(LIST, "SELECT t.id, t.role, t.officer_code, coalesce(o.unit_code, t.unit_code), t.label, "   \
            "t.created_at, t.revoked_at, t.last_used_at, o.active "                                \
            "FROM tokens t LEFT JOIN officers o ON o.code = t.officer_code ORDER BY t.id")         \
    X(VERIFY, "SELECT t.id, t.role, t.officer_code, coalesce(o.unit_code, t.unit_code), t.label, " \
              "t.created_at, t.revoked_at, t.last_used_at, o.active "                              \
              "FROM tokens t LEFT JOIN officers o ON o.code = t.officer_code WHERE t.hash = ?1")   \
    X(REVOKE, "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1")             \
    X(TOUCH, "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1")                                  \
    X(AUDIT, "INSERT INTO audit_log(at, token_id, action, detail) VALUES (?1, ?2, ?3, ?4)")        \
    X(BEGIN, "BEGIN IMMEDIATE")                                                                    \
    X(COMMIT, "COMMIT")                                                                            \
    X(ROLLBACK, "ROLLBACK")

enum tk_stmt {
#define TK_ENUM(name, sql) TK_##name,
    TK_STMTS(TK_ENUM)
#undef TK_ENUM
        TK__COUNT
};

static const char *const tk_sql[] = {
#define TK_SQL(name, sql) sql,
    TK_STMTS(TK_SQL)
#undef TK_SQL
};

struct tokens {
    sqlite3 *db;
    sqlite3_stmt *stmt[TK__COUNT]; /* owned */
};

static const char *const role_names[] = {
#define TOKENS_ROLE_NAME(name, text) text,
    TOKENS_ROLES(TOKENS_ROLE_NAME)
#undef TOKENS_ROLE_NAME
};

const char *tokens_role_name(enum tokens_role r)
{
    return (unsigned)r < TOKENS__ROLE_COUNT ? role_names[r] : "?";
}

int tokens_role_parse(const char *name, enum tokens_role *out)
{
    for (int i = 0; name && i < TOKENS__ROLE_COUNT; i++) {
        if (strcmp(name, role_names[i]) == 0) {
            *out = (enum tokens_role)i;
            return 0;
        }
    }
    return -1;
}

void tokens_close(struct tokens *t)
{
    if (!t)
        return;
    for (int i = 0; i < TK__COUNT; i++)
        sqlite3_finalize(t->stmt[i]);
    sqlite3_close(t->db);
    free(t);
}

struct tokens *tokens_open(const char *path, struct sr_errbuf *eb)
{
    struct tokens *t = sr_calloc(1, sizeof(*t));
    if (sqlite3_open_v2(path, &t->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sr_errf(eb, SR_E_IO, "cannot open %s: %s", path, sqlite3_errmsg(t->db));
        goto fail;
    }
    sqlite3_busy_timeout(t->db, 1000);
    for (int i = 0; i < TK__COUNT; i++) {
        if (sqlite3_prepare_v3(t->db, tk_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &t->stmt[i],
                               NULL) != SQLITE_OK) {
            sr_errf(eb, SR_E_IO, "%s: no token schema (%s)", path, sqlite3_errmsg(t->db));
            goto fail;
        }
    }
    return t;
fail:
    tokens_close(t);
    return NULL;
}

/* The statement, reset and unbound, ready for binding. */
static sqlite3_stmt *stmt(struct tokens *t, enum tk_stmt id)
{
    sqlite3_stmt *s = t->stmt[id];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

/* Runs a statement that returns no rows; SR_E_IO with eb on failure. */
static enum sr_err run(struct tokens *t, sqlite3_stmt *s, struct sr_errbuf *eb)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return SR_E_OK;
    return sr_errf(eb, SR_E_IO, "token store: %s", sqlite3_errmsg(t->db));
}

static void hash_hex(const char *text, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

static int well_formed(const char *token)
{
    size_t plen = strlen(TOKEN_PREFIX);
    if (!token || strncmp(token, TOKEN_PREFIX, plen) != 0 || strlen(token) != plen + 64)
        return 0;
    return strspn(token + plen, "0123456789abcdef") == 64;
}

static void copy_col(sqlite3_stmt *s, int col, char *out, size_t n)
{
    const unsigned char *v = sqlite3_column_text(s, col);
    snprintf(out, n, "%s", v ? (const char *)v : "");
}

/* Fills ti from a LIST / VERIFY row; returns the officer's active flag (-1 when no officer). */
static int read_row(sqlite3_stmt *s, struct tokens_info *ti)
{
    memset(ti, 0, sizeof(*ti));
    ti->id = sqlite3_column_int64(s, 0);
    char role[16];
    copy_col(s, 1, role, sizeof(role));
    if (tokens_role_parse(role, &ti->role) < 0)
        ti->role = TOKENS__ROLE_COUNT; /* the CHECK constraint makes this unreachable */
    copy_col(s, 2, ti->officer, sizeof(ti->officer));
    copy_col(s, 3, ti->unit, sizeof(ti->unit));
    copy_col(s, 4, ti->label, sizeof(ti->label));
    ti->created_at = sqlite3_column_int64(s, 5);
    ti->revoked_at = sqlite3_column_int64(s, 6);
    ti->last_used_at = sqlite3_column_int64(s, 7);
    return sqlite3_column_type(s, 8) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 8);
}

/* Checks the role / scope combination against the registry. */
static enum sr_err check_scope(struct tokens *t, const struct tokens_new *req, struct sr_errbuf *eb)
{
    const char *officer = req->officer_code && *req->officer_code ? req->officer_code : NULL;
    const char *unit = req->unit_code && *req->unit_code ? req->unit_code : NULL;
    if ((unsigned)req->role >= TOKENS__ROLE_COUNT)
        return sr_errf(eb, SR_E_INVALID, "role must be admin, supervisor or officer");
    if (req->label && strlen(req->label) >= TOKENS_LABEL_MAX)
        return sr_errf(eb, SR_E_INVALID, "label longer than %d bytes", TOKENS_LABEL_MAX - 1);
    if (req->role == TOKENS_ADMIN && (officer || unit))
        return sr_errf(eb, SR_E_INVALID, "an admin token has no officer or unit");
    if (req->role == TOKENS_OFFICER && (!officer || unit))
        return sr_errf(eb, SR_E_INVALID, "an officer token needs --officer (and no --unit)");
    if (req->role == TOKENS_SUPERVISOR && (!unit || officer))
        return sr_errf(eb, SR_E_INVALID, "a supervisor token needs --unit (and no --officer)");
    if (!officer && !unit)
        return SR_E_OK;
    sqlite3_stmt *s = stmt(t, officer ? TK_OFFICER_UNIT : TK_UNIT_EXISTS);
    bind_text(s, 1, officer ? officer : unit);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return SR_E_OK;
    if (rc != SQLITE_DONE)
        return sr_errf(eb, SR_E_IO, "token store: %s", sqlite3_errmsg(t->db));
    return officer ? sr_errf(eb, SR_E_INVALID, "unknown or inactive officer %.32s", officer)
                   : sr_errf(eb, SR_E_INVALID, "unknown unit %.32s", unit);
}

static enum sr_err audit(struct tokens *t, int64_t now_ms, long long token_id, const char *action,
                         const char *detail, struct sr_errbuf *eb)
{
    sqlite3_stmt *s = stmt(t, TK_AUDIT);
    sqlite3_bind_int64(s, 1, now_ms);
    if (token_id > 0)
        sqlite3_bind_int64(s, 2, token_id);
    bind_text(s, 3, action);
    bind_text(s, 4, detail);
    return run(t, s, eb);
}

enum sr_err tokens_audit(struct tokens *t, int64_t now_ms, long long token_id, const char *action,
                         const char *detail, struct sr_errbuf *eb)
{
    if (!action || !*action)
        return sr_errf(eb, SR_E_INVALID, "audit entry without an action");
    return audit(t, now_ms, token_id, action, detail, eb);
}

/* Runs body inside BEGIN IMMEDIATE ... COMMIT, rolling back on failure. */
static enum sr_err in_tx(struct tokens *t,
                         enum sr_err (*body)(struct tokens *, void *, struct sr_errbuf *),
                         void *arg, struct sr_errbuf *eb)
{
    enum sr_err e = run(t, stmt(t, TK_BEGIN), eb);
    if (e != SR_E_OK)
        return e;
    e = body(t, arg, eb);
    if (e == SR_E_OK)
        e = run(t, stmt(t, TK_COMMIT), eb);
    if (e != SR_E_OK)
        run(t, stmt(t, TK_ROLLBACK), NULL);
    return e;
}

struct create_args {
    const struct tokens_new *req;
    const char *hash;
    long long id;
};

static enum sr_err create_body(struct tokens *t, void *arg, struct sr_errbuf *eb)
{
    struct create_args *a = arg;
    const struct tokens_new *req = a->req;
    enum sr_err e = check_scope(t, req, eb);
    if (e != SR_E_OK)
        return e;
    sqlite3_stmt *s = stmt(t, TK_INSERT);
    bind_text(s, 1, a->hash);
    bind_text(s, 2, tokens_role_name(req->role));
    bind_text(s, 3, req->officer_code);
    bind_text(s, 4, req->unit_code);
    bind_text(s, 5, req->label);
    sqlite3_bind_int64(s, 6, req->now_ms);
    if ((e = run(t, s, eb)) != SR_E_OK)
        return e;
    a->id = sqlite3_last_insert_rowid(t->db);
    char *detail = sr_asprintf(
        "id=%lld role=%s officer=%.32s unit=%.32s", a->id, tokens_role_name(req->role),
        req->officer_code ? req->officer_code : "", req->unit_code ? req->unit_code : "");
    e = audit(t, req->now_ms, 0, "token.create", detail, eb);
    free(detail);
    return e;
}

enum sr_err tokens_create(struct tokens *t, const struct tokens_new *req,
                          char token_out[TOKENS_TEXT_MAX], long long *id_out, struct sr_errbuf *eb)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[TOKEN_BYTES];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return sr_errf(eb, SR_E_INTERNAL, "no random bytes");
    char text[TOKENS_TEXT_MAX], hash[65];
    size_t n = strlen(TOKEN_PREFIX);
    memcpy(text, TOKEN_PREFIX, n);
    for (size_t i = 0; i < sizeof(raw); i++) {
        text[n++] = hex[raw[i] >> 4];
        text[n++] = hex[raw[i] & 15];
    }
    text[n] = '\0';
    hash_hex(text, hash);
    struct create_args a = {.req = req, .hash = hash};
    enum sr_err e = in_tx(t, create_body, &a, eb);
    if (e == SR_E_OK) {
        memcpy(token_out, text, n + 1);
        if (id_out)
            *id_out = a.id;
    }
    OPENSSL_cleanse(raw, sizeof(raw));
    OPENSSL_cleanse(text, sizeof(text));
    return e;
}

enum sr_err tokens_list(struct tokens *t, tokens_list_cb *cb, void *ud, struct sr_errbuf *eb)
{
    sqlite3_stmt *s = stmt(t, TK_LIST);
    struct tokens_info ti;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_row(s, &ti);
        if (cb(ud, &ti) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sr_errf(eb, SR_E_IO, "token store: %s", sqlite3_errmsg(t->db));
    return SR_E_OK;
}

struct revoke_args {
    long long id;
    int64_t now_ms;
};

static enum sr_err revoke_body(struct tokens *t, void *arg, struct sr_errbuf *eb)
{
    struct revoke_args *a = arg;
    sqlite3_stmt *s = stmt(t, TK_REVOKE);
    sqlite3_bind_int64(s, 1, a->id);
    sqlite3_bind_int64(s, 2, a->now_ms);
    enum sr_err e = run(t, s, eb);
    if (e != SR_E_OK)
        return e;
    if (sqlite3_changes(t->db) == 0)
        return sr_errf(eb, SR_E_NOT_FOUND, "no token with id %lld", a->id);
    char *detail = sr_asprintf("id=%lld", a->id);
    e = audit(t, a->now_ms, 0, "token.revoke", detail, eb);
    free(detail);
    return e;
}

enum sr_err tokens_revoke(struct tokens *t, long long id, int64_t now_ms, struct sr_errbuf *eb)
{
    struct revoke_args a = {.id = id, .now_ms = now_ms};
    return in_tx(t, revoke_body, &a, eb);
}

enum sr_err tokens_verify(struct tokens *t, const char *token, int64_t touch_ms,
                          struct tokens_info *out, struct sr_errbuf *eb)
{
    if (!well_formed(token))
        return sr_errf(eb, SR_E_NOT_FOUND, "malformed token");
    char hash[65];
    hash_hex(token, hash);
    sqlite3_stmt *s = stmt(t, TK_VERIFY);
    bind_text(s, 1, hash);
    int rc = sqlite3_step(s);
    int active = rc == SQLITE_ROW ? read_row(s, out) : 0;
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return sr_errf(eb, SR_E_NOT_FOUND, "unknown token");
    if (rc != SQLITE_ROW)
        return sr_errf(eb, SR_E_IO, "token store: %s", sqlite3_errmsg(t->db));
    if (out->revoked_at)
        return sr_errf(eb, SR_E_FORBIDDEN, "token %lld is revoked", out->id);
    if (out->role == TOKENS__ROLE_COUNT || (out->role == TOKENS_OFFICER && active != 1))
        return sr_errf(eb, SR_E_FORBIDDEN, "token %lld: officer no longer active", out->id);
    if (touch_ms > 0 && tokens_touch(t, out->id, touch_ms, NULL) == SR_E_OK)
        out->last_used_at = touch_ms;
    return SR_E_OK;
}

enum sr_err tokens_touch(struct tokens *t, long long id, int64_t ms, struct sr_errbuf *eb)
{
    sqlite3_stmt *s = stmt(t, TK_TOUCH);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, ms);
    return run(t, s, eb);
}
