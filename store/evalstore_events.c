/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying events to the evaluation store. A batch is one transaction; each event is first
 * inserted into the events table by id (INSERT OR IGNORE) and only a new row gets its
 * type-specific effect, from a table of {type, check, apply}. That makes redelivery harmless.
 * An event that cannot be understood (not JSON, no id/type/at, a known type missing what it
 * needs) is kept under type "invalid" with an id made from the SHA-256 of its bytes, so a poison
 * entry never blocks the stream and is still there to look at. Event bodies are never logged.
 */
#include "evalstore_int.h"

#include "sr_log.h"
#include "sr_mem.h"

#include <jansson.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

/* One decoded event, borrowed from its JSON object for the duration of the apply. */
struct ev {
    json_t *o;
    const char *id, *type, *channel, *citizen;
    int64_t at;
    int has_at; /* 0 only for an invalid event */
};

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key)); /* NULL if absent or not a string */
}

/* Binds an integer member, or NULL when absent / not an integer. */
static void bind_jint(sqlite3_stmt *st, int idx, json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        sqlite3_bind_int64(st, idx, (sqlite3_int64)json_integer_value(v));
    else
        sqlite3_bind_null(st, idx);
}

/* --- checks: 0 if the event has what its effect needs ----------------------------------- */

static int check_session(const struct ev *e)
{
    return jstr(e->o, "session") ? 0 : -1;
}

static int check_completed(const struct ev *e)
{
    json_t *answers = json_object_get(e->o, "answers");
    json_t *c = json_object_get(e->o, "comment");
    if (check_session(e) || !json_is_object(answers) ||
        (c && !json_is_string(c) && !json_is_null(c)))
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach(answers, k, v)
    {
        if (!*k || !json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 4)
            return -1;
    }
    return 0;
}

static int check_status(const struct ev *e)
{
    return jstr(e->o, "provider_id") && jstr(e->o, "status") ? 0 : -1;
}

static int check_delivery(const struct ev *e)
{
    return jstr(e->o, "outbox_id") ? 0 : -1;
}

/* --- effects ------------------------------------------------------------------------------ */

/* Binds ?1..?6: session survey officer unit channel citizen. */
static void bind_survey_head(sqlite3_stmt *st, const struct ev *e)
{
    es_bind_str(st, 1, jstr(e->o, "session"));
    es_bind_str(st, 2, jstr(e->o, "survey"));
    es_bind_str(st, 3, jstr(e->o, "officer"));
    es_bind_str(st, 4, jstr(e->o, "unit"));
    es_bind_str(st, 5, e->channel);
    es_bind_str(st, 6, e->citizen);
}

static enum sr_err apply_started(struct evalstore *es, const struct ev *e, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(es, ES_SURVEY_START, eb);
    if (!st)
        return SR_E_IO;
    bind_survey_head(st, e);
    es_bind_str(st, 7, jstr(e->o, "language"));
    sqlite3_bind_int64(st, 8, e->at);
    return es_step_done(es, st, "survey_started", eb);
}

static enum sr_err put_answers(struct evalstore *es, const struct ev *e, struct sr_errbuf *eb)
{
    const char *session = jstr(e->o, "session"), *k;
    json_t *v;
    json_object_foreach(json_object_get(e->o, "answers"), k, v)
    {
        sqlite3_stmt *st = es_stmt(es, ES_ANSWER_PUT, eb);
        if (!st)
            return SR_E_IO;
        es_bind_str(st, 1, session);
        es_bind_str(st, 2, k);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)json_integer_value(v));
        if (es_step_done(es, st, "survey_answers", eb) != SR_E_OK)
            return SR_E_IO;
    }
    return SR_E_OK;
}

static enum sr_err apply_completed(struct evalstore *es, const struct ev *e, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(es, ES_SURVEY_COMPLETE, eb);
    if (!st)
        return SR_E_IO;
    bind_survey_head(st, e);
    es_bind_str(st, 7, jstr(e->o, "language"));
    bind_jint(st, 8, e->o, "started_at");
    sqlite3_bind_int64(st, 9, e->at);
    es_bind_str(st, 10, jstr(e->o, "comment"));
    if (es_step_done(es, st, "survey_completed", eb) != SR_E_OK ||
        put_answers(es, e, eb) != SR_E_OK)
        return SR_E_IO;
    return es_ratings_recount_session(es, jstr(e->o, "session"), eb);
}

/* survey_cancelled / survey_abandoned: the status is the type without its "survey_" prefix. */
static enum sr_err apply_ended(struct evalstore *es, const struct ev *e, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(es, ES_SURVEY_END, eb);
    if (!st)
        return SR_E_IO;
    bind_survey_head(st, e);
    bind_jint(st, 7, e->o, "started_at");
    sqlite3_bind_int64(st, 8, e->at);
    es_bind_str(st, 9, e->type + strlen("survey_"));
    return es_step_done(es, st, e->type, eb);
}

static enum sr_err apply_status(struct evalstore *es, const struct ev *e, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(es, ES_STATUS_PUT, eb);
    if (!st)
        return SR_E_IO;
    es_bind_str(st, 1, jstr(e->o, "provider_id"));
    es_bind_str(st, 2, jstr(e->o, "status"));
    sqlite3_bind_int64(st, 3, e->at);
    es_bind_str(st, 4, jstr(e->o, "error_code"));
    es_bind_str(st, 5, e->channel);
    return es_step_done(es, st, "message_status", eb);
}

/* reply_sent / reply_failed: the outcome is the type without its "reply_" prefix. */
static enum sr_err apply_delivery(struct evalstore *es, const struct ev *e, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(es, ES_DELIVERY_PUT, eb);
    if (!st)
        return SR_E_IO;
    es_bind_str(st, 1, jstr(e->o, "outbox_id"));
    es_bind_str(st, 2, e->channel);
    es_bind_str(st, 3, jstr(e->o, "provider_id"));
    es_bind_str(st, 4, e->type + strlen("reply_"));
    bind_jint(st, 5, e->o, "attempts");
    bind_jint(st, 6, e->o, "http_status");
    es_bind_str(st, 7, jstr(e->o, "error"));
    sqlite3_bind_int64(st, 8, e->at);
    return es_step_done(es, st, e->type, eb);
}

/* --- complaints ----------------------------------------------------------------------------- */

static int check_ticket(const struct ev *e)
{
    return jstr(e->o, "ticket") && *jstr(e->o, "ticket") ? 0 : -1;
}

static int check_rated(const struct ev *e)
{
    json_t *v = json_object_get(e->o, "value");
    if (check_ticket(e) || !json_is_integer(v))
        return -1;
    return json_integer_value(v) >= 1 && json_integer_value(v) <= 4 ? 0 : -1;
}

static int check_breached(const struct ev *e)
{
    const char *kind = jstr(e->o, "kind");
    if (check_ticket(e) || !kind)
        return -1;
    return strcmp(kind, "first_response") == 0 || strcmp(kind, "resolution") == 0 ? 0 : -1;
}

/* Every complaint event: a complaint_events row, and the complaints row made if missing (an
 * event applied before its complaint_opened still lands somewhere). */
static enum sr_err cx_common(struct evalstore *es, const struct ev *e, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(es, ES_CX_EVENT, eb);
    if (!st)
        return SR_E_IO;
    es_bind_str(st, 1, e->id);
    es_bind_str(st, 2, jstr(e->o, "ticket"));
    es_bind_str(st, 3, e->type);
    sqlite3_bind_int64(st, 4, e->at);
    es_bind_str(st, 5, jstr(e->o, "officer"));
    bind_jint(st, 6, e->o, "wall_ms");
    bind_jint(st, 7, e->o, "work_ms");
    if (es_step_done(es, st, "complaint_events", eb) != SR_E_OK)
        return SR_E_IO;
    st = es_stmt(es, ES_CX_ENSURE, eb);
    if (!st)
        return SR_E_IO;
    es_bind_str(st, 1, jstr(e->o, "ticket"));
    es_bind_str(st, 2, jstr(e->o, "unit"));
    return es_step_done(es, st, "complaints", eb);
}

/* The type's UPDATE with ?1 = ticket; bind fills the rest. */
static enum sr_err cx_update(struct evalstore *es, const struct ev *e, enum es_stmt_id id,
                             void (*bind)(sqlite3_stmt *st, const struct ev *e),
                             struct sr_errbuf *eb)
{
    if (cx_common(es, e, eb) != SR_E_OK)
        return SR_E_IO;
    sqlite3_stmt *st = es_stmt(es, id, eb);
    if (!st)
        return SR_E_IO;
    es_bind_str(st, 1, jstr(e->o, "ticket"));
    bind(st, e);
    return es_step_done(es, st, e->type, eb);
}

static void bind_opened(sqlite3_stmt *st, const struct ev *e)
{
    es_bind_str(st, 2, jstr(e->o, "unit"));
    es_bind_str(st, 3, jstr(e->o, "category"));
    es_bind_str(st, 4, jstr(e->o, "officer"));
    es_bind_str(st, 5, e->citizen);
    es_bind_str(st, 6, e->channel);
    es_bind_str(st, 7, jstr(e->o, "language"));
    sqlite3_bind_int64(st, 8, e->at);
    bind_jint(st, 9, e->o, "due_first_response");
    bind_jint(st, 10, e->o, "due_resolution");
}

/* acknowledged / resolved: ?2 at, ?3 officer, ?4 wall_ms, ?5 work_ms. */
static void bind_answer(sqlite3_stmt *st, const struct ev *e)
{
    sqlite3_bind_int64(st, 2, e->at);
    es_bind_str(st, 3, jstr(e->o, "officer"));
    bind_jint(st, 4, e->o, "wall_ms");
    bind_jint(st, 5, e->o, "work_ms");
}

static void bind_reopened(sqlite3_stmt *st, const struct ev *e)
{
    bind_jint(st, 2, e->o, "due_resolution"); /* optional: the recomputed deadline */
}

static void bind_at(sqlite3_stmt *st, const struct ev *e)
{
    sqlite3_bind_int64(st, 2, e->at);
}

static void bind_value(sqlite3_stmt *st, const struct ev *e)
{
    bind_jint(st, 2, e->o, "value");
}

static void bind_kind(sqlite3_stmt *st, const struct ev *e)
{
    es_bind_str(st, 2, jstr(e->o, "kind"));
}

#define CX_APPLY(fn, id, binder)                                                                   \
    static enum sr_err fn(struct evalstore *es, const struct ev *e, struct sr_errbuf *eb)          \
    {                                                                                              \
        return cx_update(es, e, id, binder, eb);                                                   \
    }
CX_APPLY(apply_cx_opened, ES_CX_OPENED, bind_opened)
CX_APPLY(apply_cx_acknowledged, ES_CX_ACKNOWLEDGED, bind_answer)
CX_APPLY(apply_cx_resolved, ES_CX_RESOLVED, bind_answer)
CX_APPLY(apply_cx_reopened, ES_CX_REOPENED, bind_reopened)
CX_APPLY(apply_cx_closed, ES_CX_CLOSED, bind_at)
CX_APPLY(apply_cx_rated, ES_CX_RATED, bind_value)
CX_APPLY(apply_cx_breached, ES_CX_BREACHED, bind_kind)
#undef CX_APPLY

/* complaint_replied changes no column: its complaint_events row is the record. */
static enum sr_err apply_cx_event(struct evalstore *es, const struct ev *e, struct sr_errbuf *eb)
{
    return cx_common(es, e, eb);
}

static const struct ev_kind {
    const char *type;
    int (*check)(const struct ev *e);
    enum sr_err (*apply)(struct evalstore *es, const struct ev *e, struct sr_errbuf *eb);
} ev_kinds[] = {
    {"survey_started", check_session, apply_started},
    {"survey_completed", check_completed, apply_completed},
    {"survey_cancelled", check_session, apply_ended},
    {"survey_abandoned", check_session, apply_ended},
    {"message_status", check_status, apply_status},
    {"reply_sent", check_delivery, apply_delivery},
    {"reply_failed", check_delivery, apply_delivery},
    {"complaint_opened", check_ticket, apply_cx_opened},
    {"complaint_acknowledged", check_ticket, apply_cx_acknowledged},
    {"complaint_replied", check_ticket, apply_cx_event},
    {"complaint_resolved", check_ticket, apply_cx_resolved},
    {"complaint_reopened", check_ticket, apply_cx_reopened},
    {"complaint_closed", check_ticket, apply_cx_closed},
    {"complaint_rated", check_rated, apply_cx_rated},
    {"sla_breached", check_breached, apply_cx_breached},
};

static const struct ev_kind *find_kind(const char *type)
{
    for (size_t i = 0; i < sizeof(ev_kinds) / sizeof(ev_kinds[0]); i++)
        if (strcmp(ev_kinds[i].type, type) == 0)
            return &ev_kinds[i];
    return NULL; /* unknown: kept in events only */
}

/* --- one event ---------------------------------------------------------------------------- */

/* Inserts the events row; *added = 1 if it is new. */
static enum sr_err put_event(struct evalstore *es, const struct ev *e, const char *body, size_t len,
                             int *added, struct sr_errbuf *eb)
{
    sqlite3_stmt *st = es_stmt(es, ES_EVENT_INSERT, eb);
    if (!st)
        return SR_E_IO;
    es_bind_str(st, 1, e->id);
    es_bind_str(st, 2, e->type);
    if (e->has_at)
        sqlite3_bind_int64(st, 3, e->at);
    es_bind_str(st, 4, e->channel);
    es_bind_str(st, 5, e->citizen);
    sqlite3_bind_text(st, 6, body, (int)len, SQLITE_TRANSIENT);
    if (es_step_done(es, st, "events", eb) != SR_E_OK)
        return SR_E_IO;
    *added = sqlite3_changes(es->db) > 0;
    return SR_E_OK;
}

/* Keeps an event that cannot be applied, as type "invalid" with id "invalid:<sha256 hex>". */
static enum sr_err put_invalid(struct evalstore *es, const char *body, size_t len, const char *why,
                               struct sr_errbuf *eb)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)body, len, md);
    char id[8 + 2 * SHA256_DIGEST_LENGTH + 1] = "invalid:";
    for (size_t i = 0; i < sizeof(md); i++) {
        id[8 + 2 * i] = "0123456789abcdef"[md[i] >> 4];
        id[8 + 2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }
    id[sizeof(id) - 1] = '\0';
    struct ev e = {.id = id, .type = "invalid"};
    int added = 0;
    enum sr_err err = put_event(es, &e, body, len, &added, eb);
    if (err == SR_E_OK && added)
        SR_LOG(WARN, "evalstore", NULL, "event %.24s... kept as invalid: %s", id, why);
    return err;
}

/* Decodes the envelope; NULL reason if it is usable. */
static const char *decode(struct ev *e, const char *body, size_t len)
{
    json_error_t jerr;
    e->o = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!json_is_object(e->o))
        return "not a JSON object";
    e->id = jstr(e->o, "id");
    e->type = jstr(e->o, "type");
    json_t *at = json_object_get(e->o, "at");
    if (!e->id || !*e->id || !e->type || !*e->type || !json_is_integer(at))
        return "missing id, type or at";
    if (strcmp(e->type, "invalid") == 0)
        return "reserved type";
    e->at = (int64_t)json_integer_value(at);
    e->has_at = 1;
    e->channel = jstr(e->o, "channel");
    e->citizen = jstr(e->o, "citizen");
    const struct ev_kind *k = find_kind(e->type);
    return k && k->check(e) ? "fields missing for its type" : NULL;
}

static enum sr_err apply_one(struct evalstore *es, const char *body, size_t len, size_t *applied,
                             struct sr_errbuf *eb)
{
    struct ev e = {0};
    const char *why = decode(&e, body, len);
    enum sr_err err;
    if (why) {
        err = put_invalid(es, body ? body : "", body ? len : 0, why, eb);
    } else {
        int added = 0;
        err = put_event(es, &e, body, len, &added, eb);
        const struct ev_kind *k = find_kind(e.type);
        if (err == SR_E_OK && added && k)
            err = k->apply(es, &e, eb);
        if (err == SR_E_OK && added)
            (*applied)++;
    }
    json_decref(e.o);
    return err;
}

enum sr_err evalstore_apply(struct evalstore *es, const char *const *events, const size_t *lens,
                            size_t n, size_t *applied, struct sr_errbuf *eb)
{
    size_t count = 0;
    if (applied)
        *applied = 0;
    if (!es || es->mode != EVALSTORE_WRITE)
        return sr_errf(eb, SR_E_INTERNAL, "evalstore_apply: store not open for writing");
    if (es_exec(es, "BEGIN IMMEDIATE", eb) != SR_E_OK)
        return SR_E_IO;
    for (size_t i = 0; i < n; i++) {
        size_t len = events[i] ? (lens ? lens[i] : strlen(events[i])) : 0;
        if (apply_one(es, events[i], len, &count, eb) != SR_E_OK) {
            es_rollback(es);
            return SR_E_IO;
        }
    }
    if (es_exec(es, "COMMIT", eb) != SR_E_OK) {
        es_rollback(es);
        return SR_E_IO;
    }
    if (applied)
        *applied = count;
    return SR_E_OK;
}
