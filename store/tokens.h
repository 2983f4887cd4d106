/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API and feed tokens: 256 random bits shown once as "sua_" + 64 hex digits, stored only as the
 * hex SHA-256 of that text (table tokens of the evaluation store, migration 2), with a role and
 * a scope: admin (everything), supervisor (one unit), officer (one officer, and through the
 * registry their unit). Revocation takes effect at once: every verify reads the row again.
 * Changes are written to audit_log. Synchronous SQLite on its own connection: use it from the
 * CLI, a worker thread or — for the once-per-connection check of the live feed — a worker's loop.
 * Times are unix milliseconds passed in by the caller (tests control the clock).
 */
#ifndef TOKENS_H
#define TOKENS_H

#include "sr_error.h"

#include <stdint.h>

struct tokens; /* one SQLite connection; not shared between threads */

#define TOKENS_ROLES(X) X(ADMIN, "admin") X(SUPERVISOR, "supervisor") X(OFFICER, "officer")
enum tokens_role {
#define TOKENS_ROLE_ENUM(name, text) TOKENS_##name,
    TOKENS_ROLES(TOKENS_ROLE_ENUM)
#undef TOKENS_ROLE_ENUM
        TOKENS__ROLE_COUNT
};
const char *tokens_role_name(enum tokens_role r);
/* 0 and *out set, or -1 for an unknown name. */
int tokens_role_parse(const char *name, enum tokens_role *out);

/* Opens the database at path read-write; the schema must exist (evalstore_open in WRITE mode
 * migrates it). NULL with eb filled on error. */
struct tokens *tokens_open(const char *path, struct sr_errbuf *eb);
void tokens_close(struct tokens *t); /* NULL is fine */

#define TOKENS_TEXT_MAX 72 /* "sua_" + 64 hex + NUL fits */
#define TOKENS_CODE_MAX 32
#define TOKENS_LABEL_MAX 128

struct tokens_new {
    enum tokens_role role;
    const char *officer_code; /* officer tokens: required, must exist in officers */
    const char *unit_code;    /* supervisor tokens: required, must exist in units */
    const char *label;        /* optional, at most TOKENS_LABEL_MAX - 1 bytes */
    int64_t now_ms;
};
/* Creates a token. The text goes to token_out (shown once, never stored or logged); *id_out
 * gets the row id. SR_E_INVALID (eb says why) for a bad role/scope combination or an unknown
 * officer or unit. Borrowed: everything. */
enum sr_err tokens_create(struct tokens *t, const struct tokens_new *req,
                          char token_out[TOKENS_TEXT_MAX], long long *id_out, struct sr_errbuf *eb);

/* One row as listed: never the token, nor its hash. Times 0 when unset. */
struct tokens_info {
    long long id;
    enum tokens_role role;
    char officer[TOKENS_CODE_MAX]; /* "" if none */
    char unit[TOKENS_CODE_MAX];    /* the scope's unit (an officer's current unit), "" if none */
    char label[TOKENS_LABEL_MAX];
    int64_t created_at, revoked_at, last_used_at;
};
/* Calls cb for every token in id order; cb returning non-zero stops the walk. */
typedef int tokens_list_cb(void *ud, const struct tokens_info *ti);
enum sr_err tokens_list(struct tokens *t, tokens_list_cb *cb, void *ud, struct sr_errbuf *eb);

/* Revokes token id at now_ms. SR_E_NOT_FOUND if there is no such token; revoking a revoked
 * token is SR_E_OK and keeps the first revocation time. */
enum sr_err tokens_revoke(struct tokens *t, long long id, int64_t now_ms, struct sr_errbuf *eb);

/* Checks a presented token. SR_E_OK with *out filled; SR_E_NOT_FOUND for a malformed or
 * unknown token; SR_E_FORBIDDEN for a revoked one, or an officer token whose officer is no
 * longer active; SR_E_IO on a database error. With touch_ms > 0 the token's last_used_at is set
 * (best effort: a busy database does not fail the check). The token is never logged. */
enum sr_err tokens_verify(struct tokens *t, const char *token, int64_t touch_ms,
                          struct tokens_info *out, struct sr_errbuf *eb);

/* Sets token id's last_used_at to ms (a write: may wait for the database lock, so not from an
 * event loop). */
enum sr_err tokens_touch(struct tokens *t, long long id, int64_t ms, struct sr_errbuf *eb);

/* Appends to audit_log (token_id 0 = none, e.g. the command line). detail may be NULL. */
enum sr_err tokens_audit(struct tokens *t, int64_t now_ms, long long token_id, const char *action,
                         const char *detail, struct sr_errbuf *eb);

#endif
