/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dialog engine: loading the data folder (dialogs.json names the languages, surveys, default
 * survey and limits), the step dispatch (session expiry, live survey or fresh input), the idle
 * expiry step, and the helpers that build a struct dialog_result (replies, events, session).
 * Pure: no I/O after load, no clock (time comes in), nothing mutated in the shared engine.
 */
#include "dialog_int.h"

#include "sr_mem.h"

#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

const char *dialog_outcome_name(enum dialog_outcome o)
{
    static const char *const names[] = {
#define DIALOG_OUTCOME_NAME(name, text) text,
        DIALOG_OUTCOMES(DIALOG_OUTCOME_NAME)
#undef DIALOG_OUTCOME_NAME
    };
    return (size_t)o < DIALOG__OUTCOME_COUNT ? names[o] : "unknown";
}

void dialog_result_clear(struct dialog_result *r)
{
    if (!r)
        return;
    free(r->session);
    for (size_t i = 0; i < r->n_replies; i++)
        sr_reply_clear(&r->replies[i]);
    free(r->replies);
    for (size_t i = 0; i < r->n_events; i++)
        free(r->events[i]);
    free(r->events);
    if (r->complaint) {
        free(r->complaint->ticket);
        free(r->complaint->record);
        free(r->complaint->unit);
        free(r->complaint);
    }
    for (size_t i = 0; i < r->n_feed; i++)
        free(r->feed[i]);
    free(r->feed);
    memset(r, 0, sizeof(*r));
}

/* ---------------------------------------------------------------- loading */

/* The limits in dialogs.json "limits": name, bounds, default. */
static const struct limit_def {
    const char *name;
    size_t offset, min, max, def;
} limit_defs[] = {
    {"input_max_chars", offsetof(struct dlg_limits, input_max_chars), 16, 100000, 2000},
    {"comment_max_chars", offsetof(struct dlg_limits, comment_max_chars), 16, 100000, 1000},
    {"code_max_len", offsetof(struct dlg_limits, code_max_len), 2, 64, 16},
    {"code_tokens", offsetof(struct dlg_limits, code_tokens), 1, 16, 8},
    {"match_limit", offsetof(struct dlg_limits, match_limit), 1000, 10000000, 100000},
    {"depth_limit", offsetof(struct dlg_limits, depth_limit), 50, 100000, 250},
};

static enum sr_err load_limits(struct dlg_limits *lim, const json_t *obj, struct sr_errbuf *eb)
{
    for (size_t i = 0; i < sizeof(limit_defs) / sizeof(limit_defs[0]); i++) {
        const struct limit_def *d = &limit_defs[i];
        const json_t *v = json_object_get(obj, d->name);
        size_t *dst = (size_t *)((char *)lim + d->offset);
        *dst = d->def;
        if (!v)
            continue;
        json_int_t n = json_integer_value(v);
        if (!json_is_integer(v) || n < (json_int_t)d->min || n > (json_int_t)d->max)
            return sr_errf(eb, SR_E_CONFIG, "dialogs.json: limits.%s must be %zu..%zu", d->name,
                           d->min, d->max);
        *dst = (size_t)n;
    }
    return SR_E_OK;
}

static enum sr_err load_languages(struct dialog_engine *e, const json_t *arr, struct sr_errbuf *eb)
{
    size_t n = json_array_size(arr);
    if (n == 0 || n > DLG_MAX_LANGS)
        return sr_errf(eb, SR_E_CONFIG, "dialogs.json: \"languages\" needs 1..%d entries",
                       DLG_MAX_LANGS);
    for (size_t i = 0; i < n; i++) {
        const char *code = json_string_value(json_array_get(arr, i));
        if (!code || !code[0] || strlen(code) > 8 || strchr(code, '/') || code[0] == '.')
            return sr_errf(eb, SR_E_CONFIG, "dialogs.json: bad language at %zu", i);
        e->langs[e->n_langs++] = sr_strdup(code);
    }
    return SR_E_OK;
}

static bool has_file(const char *dir, const char *rel)
{
    char *path = sr_asprintf("%s/%s", dir, rel);
    struct stat st;
    bool ok = stat(path, &st) == 0;
    free(path);
    return ok;
}

static enum sr_err load_all(struct dialog_engine *e, const char *dir, const json_t *root,
                            struct sr_errbuf *eb)
{
    enum sr_err err = load_languages(e, json_object_get(root, "languages"), eb);
    if (err == SR_E_OK)
        err = load_limits(&e->lim, json_object_get(root, "limits"), eb);
    if (err == SR_E_OK)
        err = dlg_catalog_load(e, dir, eb);
    if (err == SR_E_OK)
        err = dlg_patterns_load(e, dir, eb);
    if (err == SR_E_OK)
        err = dlg_surveys_load(e, dir, json_object_get(root, "surveys"), eb);
    if (err == SR_E_OK && has_file(dir, "complaints.json")) /* optional: no file, no complaints */
        err = dlg_complaints_load(e, dir, eb);
    if (err != SR_E_OK)
        return err;
    const struct dlg_survey *def =
        dlg_survey_find(e, json_string_value(json_object_get(root, "default_survey")));
    if (!def)
        return sr_errf(eb, SR_E_CONFIG, "dialogs.json: \"default_survey\" is not in \"surveys\"");
    e->default_survey = (size_t)(def - e->surveys);
    return SR_E_OK;
}

struct dialog_engine *dialog_engine_load(const char *data_dir, struct sr_errbuf *eb)
{
    if (!data_dir) {
        sr_errf(eb, SR_E_CONFIG, "no dialog data folder");
        return NULL;
    }
    json_t *root = dlg_load_json(data_dir, "dialogs.json", eb);
    if (!root)
        return NULL;
    struct dialog_engine *e = sr_calloc(1, sizeof(*e));
    enum sr_err err = load_all(e, data_dir, root, eb);
    json_decref(root);
    if (err != SR_E_OK) {
        dialog_engine_free(e);
        return NULL;
    }
    return e;
}

void dialog_engine_free(struct dialog_engine *e)
{
    if (!e)
        return;
    dlg_surveys_free(e);
    dlg_complaints_free(e);
    dlg_patterns_free(&e->pat);
    dlg_catalog_free(e);
    for (size_t i = 0; i < e->n_langs; i++)
        free(e->langs[i]);
    free(e);
}

/* ---------------------------------------------------------------- result helpers */

/* When the recipient's service window opened: the inbound message's time when the reply goes
 * back to its sender (the provider's timestamp, never later than now), else 0 (unknown). */
static int64_t reply_in_at(const struct dlg_ctx *c)
{
    const struct sr_inbound *m = c->msg;
    if (!m || !m->sender || !c->to || strcmp(m->sender, c->to) != 0)
        return 0;
    return m->timestamp_ms > 0 && m->timestamp_ms < c->now ? m->timestamp_ms : c->now;
}

struct sr_reply *dlg_reply(struct dlg_ctx *c, char *text_taken)
{
    struct dialog_result *out = c->out;
    out->replies = sr_realloc(out->replies, (out->n_replies + 1) * sizeof(*out->replies));
    struct sr_reply *r = &out->replies[out->n_replies++];
    memset(r, 0, sizeof(*r));
    r->channel = sr_strdup(c->channel);
    r->to = sr_strdup(c->to);
    r->text = text_taken;
    r->style = SR_REPLY_TEXT;
    r->in_at_ms = reply_in_at(c);
    return r;
}

void dlg_event(struct dlg_ctx *c, const char *type, json_t *obj_taken)
{
    struct dialog_result *out = c->out;
    char *id = sr_asprintf("%s#%zu", c->event_base, out->n_events);
    json_object_set_new(obj_taken, "id", json_string(id));
    json_object_set_new(obj_taken, "type", json_string(type));
    json_object_set_new(obj_taken, "at", json_integer(c->now));
    free(id);
    char *ev = json_dumps(obj_taken, JSON_COMPACT);
    json_decref(obj_taken);
    if (!ev)
        return; /* only on invalid UTF-8, which dlg_utf8_clean rules out */
    out->events = sr_realloc(out->events, (out->n_events + 1) * sizeof(*out->events));
    out->events[out->n_events++] = ev;
}

void dlg_keep_session(struct dlg_ctx *c, struct dlg_session *s_taken)
{
    int64_t idle = c->env->session_idle_ms > 0 ? c->env->session_idle_ms : DLG_DEFAULT_IDLE_MS;
    s_taken->expires_at = c->now + idle;
    free(c->out->session);
    c->out->session = dlg_session_encode(c->e, s_taken);
    c->out->expires_at_ms = c->out->session ? s_taken->expires_at : 0;
    dlg_session_free(s_taken);
}

void dlg_help(struct dlg_ctx *c, size_t lang)
{
    char *help = dlg_render(c->e, lang, "help", NULL, 0);
    if (dlg_complaints_on(c->e, c->env)) { /* complaints are mentioned only when they work */
        char *more = dlg_render(c->e, lang, "help_complaint", NULL, 0);
        char *both = sr_asprintf("%s\n\n%s", help, more);
        free(help);
        free(more);
        help = both;
    }
    dlg_reply(c, help);
}

/* ---------------------------------------------------------------- steps */

static size_t default_lang(const struct dlg_ctx *c)
{
    int l = dlg_lang_index(c->e, c->env->default_language);
    return l >= 0 ? (size_t)l : 0;
}

/* The short notice that an idle survey ended, in the survey's language. */
static void expired_notice(struct dlg_ctx *c, const struct dlg_session *s)
{
    const char *vars[] = {"officer", s->officer_name, "code", s->officer, "unit", s->unit_name};
    dlg_reply(c, dlg_render(c->e, s->lang, "expired", vars, 3));
}

static void start_command(struct dlg_ctx *c, const struct dlg_start *st)
{
    if (st->officer) {
        dlg_survey_start(c, st->officer, st->lang);
        return;
    }
    const char *vars[] = {"code", st->code};
    dlg_reply(c,
              dlg_render(c->e, st->lang, st->code ? "unknown_officer" : "missing_code", vars, 1));
    c->out->outcome = DIALOG_UNKNOWN_OFFICER;
}

/* A message without a live session. expired: the survey that just went idle, or NULL. */
static void fresh_input(struct dlg_ctx *c, const struct dlg_session *expired)
{
    static const enum dlg_intent lang_hints[] = {DLG_INTENT_LANGUAGE, DLG_INTENT_HELP,
                                                 DLG_INTENT_CANCEL, DLG_INTENT_SKIP};
    struct dlg_start st;
    if (dlg_find_start(c->e, c->env, c->norm, &st)) {
        start_command(c, &st);
        free(st.code);
        return;
    }
    if (expired) {
        expired_notice(c, expired);
        c->out->outcome = DIALOG_SURVEY_EXPIRED;
        return;
    }
    size_t lang = default_lang(c);
    for (size_t i = 0; i < sizeof(lang_hints) / sizeof(lang_hints[0]); i++)
        if (dlg_match_intent(c->e, lang_hints[i], c->norm, &lang))
            break;
    dlg_help(c, lang);
    c->out->outcome = DIALOG_HELP;
}

/* The complaint flows for a citizen without a live survey; false when the message is not theirs
 * (then the survey start / help path answers it). */
static bool complaint_input(struct dlg_ctx *c, const struct dlg_session *expired_survey)
{
    if (!dlg_complaints_on(c->e, c->env))
        return false;
    struct dlg_csession *cs =
        expired_survey ? NULL : dlg_csession_decode(c->e, c->in->session, c->in->session_len);
    if (cs && c->now >= cs->expires_at) {
        dlg_csession_free(cs); /* idle: as if there were none (the sweeper told the citizen) */
        cs = NULL;
    }
    return dlg_complaint_citizen(c, cs); /* takes cs */
}

enum sr_err dialog_refs(const struct dialog_engine *e, const struct dialog_env *env,
                        const struct dialog_input *in, struct dialog_refs *out)
{
    if (!out)
        return SR_E_INVALID;
    memset(out, 0, sizeof(*out));
    if (!e || !env || !in || !in->msg || in->msg->kind == SR_IN_STATUS)
        return SR_E_INVALID;
    if (!dlg_complaints_on(e, env))
        return SR_E_OK;
    char *text = dlg_utf8_clean(in->msg->text, e->lim.input_max_chars);
    const struct sr_officer *officer = dlg_officer_of(env, in->msg->sender);
    struct dlg_session *s = officer ? NULL : dlg_session_decode(e, in->session, in->session_len);
    if (officer) {
        dlg_officer_refs(e, officer, text, out);
    } else if (!s || in->now_ms >= s->expires_at) { /* a live survey loads nothing */
        struct dlg_csession *cs = dlg_csession_decode(e, in->session, in->session_len);
        if (cs && in->now_ms >= cs->expires_at) {
            dlg_csession_free(cs);
            cs = NULL;
        }
        dlg_complaint_citizen_refs(e, env, in->msg, text, cs, out);
        dlg_csession_free(cs);
    }
    dlg_session_free(s);
    free(text);
    return SR_E_OK;
}

enum sr_err dialog_step(const struct dialog_engine *e, const struct dialog_env *env,
                        const struct dialog_input *in, struct dialog_result *out)
{
    if (!out)
        return SR_E_INVALID;
    memset(out, 0, sizeof(*out));
    if (!e || !env || !in || !in->msg || in->msg->kind == SR_IN_STATUS || !in->event_id_base)
        return SR_E_INVALID;
    struct dlg_ctx c = {
        .e = e,
        .env = env,
        .msg = in->msg,
        .now = in->now_ms,
        .out = out,
        .channel = in->channel ? in->channel : "",
        .to = in->msg->sender ? in->msg->sender : "",
        .citizen = in->citizen ? in->citizen : "",
        .event_base = in->event_id_base,
    };
    c.in = in;
    c.text = dlg_utf8_clean(in->msg->text, e->lim.input_max_chars);
    c.norm = dlg_normalize(e, c.text);
    const struct sr_officer *officer =
        dlg_complaints_on(e, env) ? dlg_officer_of(env, in->msg->sender) : NULL;
    if (officer) { /* an officer's message is an officer command (or gets the officers' help) */
        dlg_officer_step(&c, officer);
        free(c.text);
        free(c.norm);
        return SR_E_OK;
    }
    struct dlg_session *s = dlg_session_decode(e, in->session, in->session_len);
    struct dlg_session *expired = NULL;
    if (s && in->now_ms >= s->expires_at) {
        dlg_survey_abandon(&c, s);
        expired = s;
        s = NULL;
    }
    if (s)
        dlg_survey_step(&c, s); /* takes s */
    else if (!complaint_input(&c, expired))
        fresh_input(&c, expired);
    dlg_session_free(expired);
    free(c.text);
    free(c.norm);
    return SR_E_OK;
}

enum sr_err dialog_slow_down(const struct dialog_engine *e, const struct dialog_env *env,
                             const struct dialog_input *in, int window_s, struct dialog_result *out)
{
    if (!out)
        return SR_E_INVALID;
    memset(out, 0, sizeof(*out));
    if (!e || !env || !in || !in->msg || !in->msg->sender)
        return SR_E_INVALID;
    struct dlg_ctx c = {
        .e = e,
        .env = env,
        .out = out,
        .channel = in->channel ? in->channel : "",
        .to = in->msg->sender,
    };
    struct dlg_session *s = dlg_session_decode(e, in->session, in->session_len);
    size_t lang = s ? s->lang : default_lang(&c);
    dlg_session_free(s);
    char secs[16];
    snprintf(secs, sizeof(secs), "%d", window_s);
    const char *vars[] = {"seconds", secs};
    dlg_reply(&c, dlg_render(e, lang, "slow_down", vars, 1));
    return SR_E_OK;
}

/* Idle expiry of a complaint session (or of nothing decodable: the session is cleared). */
static enum sr_err expire_complaint(const struct dialog_engine *e, const char *session,
                                    size_t session_len, int64_t now_ms, struct dialog_result *out)
{
    struct dlg_csession *cs = dlg_csession_decode(e, session, session_len);
    if (!cs)
        return SR_E_OK; /* nothing decodable: nothing to record, the session is cleared */
    if (now_ms < cs->expires_at) { /* refreshed meanwhile: keep it */
        out->session = sr_strndup(session, session_len);
        out->expires_at_ms = cs->expires_at;
    } /* else: an unfinished intake or a kept ticket just ends (nothing was opened) */
    dlg_csession_free(cs);
    return SR_E_OK;
}

enum sr_err dialog_expire(const struct dialog_engine *e, const struct dialog_env *env,
                          const char *channel, const char *citizen, const char *session,
                          size_t session_len, int64_t now_ms, const char *event_id_base,
                          struct dialog_result *out)
{
    if (!out)
        return SR_E_INVALID;
    memset(out, 0, sizeof(*out));
    if (!e || !env || !event_id_base)
        return SR_E_INVALID;
    struct dlg_session *s = dlg_session_decode(e, session, session_len);
    if (!s)
        return expire_complaint(e, session, session_len, now_ms, out);
    if (now_ms < s->expires_at) { /* refreshed meanwhile: keep it as it is */
        out->session = sr_strndup(session, session_len);
        out->expires_at_ms = s->expires_at;
        dlg_session_free(s);
        return SR_E_OK;
    }
    struct dlg_ctx c = {
        .e = e,
        .env = env,
        .now = now_ms,
        .out = out,
        .event_base = event_id_base,
        .channel = channel ? channel : s->channel,
        .citizen = citizen ? citizen : s->citizen,
        .to = s->to,
    };
    dlg_survey_abandon(&c, s);
    if (s->to[0])
        expired_notice(&c, s);
    out->outcome = DIALOG_SURVEY_EXPIRED;
    dlg_session_free(s);
    return SR_E_OK;
}

enum sr_err dialog_sla_breach(const struct dialog_engine *e, const struct dialog_env *env,
                              const char *record, size_t len, long long version, const char *kind,
                              int64_t now_ms, const char *event_id_base, struct dialog_result *out)
{
    if (!out)
        return SR_E_INVALID;
    memset(out, 0, sizeof(*out));
    if (!e || !env || !kind || !event_id_base ||
        (strcmp(kind, "first_response") != 0 && strcmp(kind, "resolution") != 0))
        return SR_E_INVALID;
    if (!dlg_complaints_on(e, env))
        return SR_E_OK;
    json_t *rec = dlg_rec_parse(record, len);
    if (!rec)
        return SR_E_OK; /* gone or unreadable: nothing to escalate */
    struct dlg_ctx c = {
        .e = e,
        .env = env,
        .now = now_ms,
        .out = out,
        .event_base = event_id_base,
        .channel = "",
        .to = "",
        .citizen = "",
    };
    dlg_sla_step(&c, rec, version, kind);
    json_decref(rec);
    return SR_E_OK;
}
