/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The officers' side of complaints: chat commands of a unit's complaint officers (TERIMA,
 * BALAS, SELESAI, DAFTAR, STATUS; English aliases in complaints.json), the notifications that
 * tell a unit's officers of a new or reopened complaint (chat replies on the officers' channel
 * plus a feed item for the live WebSocket feed), and the SLA breach step that escalates once to
 * the unit's supervisor. An officer acts only on complaints of their own unit; a duplicate
 * command changes nothing a second time. Citizens' numbers reach officers only masked.
 */
#include "dialog_int.h"

#include "sr_log.h"
#include "sr_mem.h"
#include "roster.h"
#include "worktime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HANDLERS 32

static size_t officer_lang(const struct dlg_ctx *c)
{
    int l = dlg_lang_index(c->e, c->env->default_language);
    return l >= 0 ? (size_t)l : 0;
}

static size_t rec_lang(const struct dlg_ctx *c, const json_t *rec)
{
    int l = dlg_lang_index(c->e, dlg_rec_str(rec, "lang"));
    return l >= 0 ? (size_t)l : officer_lang(c);
}

static const char *officer_channel(const struct dlg_ctx *c, const json_t *rec)
{
    return c->env->officer_channel ? c->env->officer_channel : dlg_rec_str(rec, "channel");
}

static const char *category_label(const struct dlg_ctx *c, const json_t *rec, size_t lang)
{
    const struct dlg_category *cat = dlg_category_find(c->e, dlg_rec_str(rec, "category"));
    return cat ? cat->label[lang] : dlg_rec_str(rec, "category");
}

/* ---------------------------------------------------------------- notifications */

static char *officer_text(const struct dlg_ctx *c, const json_t *rec, const char *key, size_t lang)
{
    char masked[SR_MASK_MAX], due1[96], due2[96];
    char *desc = dlg_excerpt(dlg_rec_str(rec, "description"), c->e->cmp->excerpt_chars);
    const char *vars[] = {
        "ticket",
        dlg_rec_str(rec, "ticket"),
        "unit",
        dlg_rec_str(rec, "unit"),
        "category",
        category_label(c, rec, lang),
        "citizen",
        sr_mask_phone(dlg_rec_str(rec, "to"), masked),
        "description",
        desc,
        "due_first",
        dlg_when(c, dlg_rec_int(rec, "due_first_response"), lang, due1, sizeof(due1)),
        "due",
        dlg_when(c, dlg_rec_int(rec, "due_resolution"), lang, due2, sizeof(due2)),
    };
    char *s = dlg_render(c->e, lang, key, vars, 7);
    free(desc);
    return s;
}

/* The unit's complaint officers on duty now (roster.h); all of them when nobody is. */
static size_t handlers_on_duty(const struct dlg_ctx *c, const char *unit,
                               const struct sr_officer **h)
{
    size_t n = c->env->unit_handlers ? c->env->unit_handlers(c->env->ud, unit, h, MAX_HANDLERS) : 0;
    n = n < MAX_HANDLERS ? n : MAX_HANDLERS;
    size_t on = 0;
    for (size_t i = 0; i < n; i++)
        on += h[i] && roster_on_duty(c->env->roster, h[i]->code, c->now);
    if (on == 0 || on == n)
        return n;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (h[i] && roster_on_duty(c->env->roster, h[i]->code, c->now))
            h[k++] = h[i];
    return k;
}

void dlg_notify_unit(struct dlg_ctx *c, const json_t *rec, const char *key, const char *feed_type)
{
    const struct sr_officer *h[MAX_HANDLERS];
    size_t lang = officer_lang(c);
    size_t n = handlers_on_duty(c, dlg_rec_str(rec, "unit"), h);
    for (size_t i = 0; i < n; i++)
        if (h[i] && h[i]->phone && h[i]->phone[0])
            dlg_reply_to(c, officer_channel(c, rec), h[i]->phone, officer_text(c, rec, key, lang));
    json_t *item = json_pack("{s:s, s:O, s:O, s:s}", "category", dlg_rec_str(rec, "category"),
                             "due_first_response", json_object_get(rec, "due_first_response"),
                             "due_resolution", json_object_get(rec, "due_resolution"),
                             "description", dlg_rec_str(rec, "description"));
    dlg_rec_feed(c, rec, feed_type, item);
}

/* ---------------------------------------------------------------- commands */

/* The loaded record if it is ticket and belongs to the officer's unit; NULL otherwise. */
static json_t *unit_record(const struct dlg_ctx *c, const struct sr_officer *o, const char *ticket)
{
    json_t *rec = dlg_rec_parse(c->in->complaint, c->in->complaint_len);
    const char *t = dlg_rec_str(rec, "ticket"), *unit = dlg_rec_str(rec, "unit");
    if (rec && strcmp(t, ticket) == 0 && o->unit_code && strcasecmp(unit, o->unit_code) == 0)
        return rec;
    json_decref(rec);
    return NULL;
}

static void say(struct dlg_ctx *c, size_t lang, const char *key, const char *ticket)
{
    const char *vars[] = {"ticket", ticket};
    dlg_reply(c, dlg_render(c->e, lang, key, vars, 1));
}

/* The first officer answer: recorded once, with wall and working durations since opening. */
static void first_response(struct dlg_ctx *c, json_t *rec, const struct sr_officer *o)
{
    int64_t opened = dlg_rec_int(rec, "opened_at");
    json_object_set_new(rec, "first_response_at", json_integer(c->now));
    json_object_set_new(rec, "first_response_by", json_string(o->code));
    if (dlg_rec_state_is(rec, "open"))
        json_object_set_new(rec, "state", json_string("acknowledged"));
    dlg_rec_event(c, rec, "complaint_acknowledged",
                  json_pack("{s:s, s:I, s:I}", "officer", o->code, "wall_ms",
                            (json_int_t)(c->now - opened), "work_ms",
                            (json_int_t)worktime_between(c->env->worktime, opened, c->now)));
}

static bool answered(const json_t *rec)
{
    return json_is_integer(json_object_get(rec, "first_response_at"));
}

/* Tells the citizen (in the complaint's language, on its channel). */
static void tell_citizen(struct dlg_ctx *c, const json_t *rec, char *text_taken)
{
    dlg_reply_to(c, dlg_rec_str(rec, "channel"), dlg_rec_str(rec, "to"), text_taken);
}

/* Closed / resolved complaints refuse further work with a short note; true when refused. */
static bool finished(struct dlg_ctx *c, const json_t *rec, size_t lang, bool resolved_ok)
{
    const char *t = dlg_rec_str(rec, "ticket");
    if (dlg_rec_state_is(rec, "closed"))
        say(c, lang, "complaint_officer_closed", t);
    else if (dlg_rec_state_is(rec, "resolved") && !resolved_ok)
        say(c, lang, "complaint_officer_already_resolved", t);
    else
        return false;
    c->out->outcome = DIALOG_NONE;
    return true;
}

static void on_ack(struct dlg_ctx *c, const struct sr_officer *o, json_t *rec, size_t lang,
                   const char *rest)
{
    (void)rest;
    const char *t = dlg_rec_str(rec, "ticket");
    if (finished(c, rec, lang, false))
        return;
    if (answered(rec)) {
        say(c, lang, "complaint_officer_already_acknowledged", t);
        c->out->outcome = DIALOG_NONE;
        return;
    }
    first_response(c, rec, o);
    size_t cl = rec_lang(c, rec);
    char when[96];
    const char *vars[] = {
        "ticket", t,
        "unit",   dlg_rec_str(rec, "unit"),
        "due",    dlg_when(c, dlg_rec_int(rec, "due_resolution"), lang, when, sizeof(when))};
    dlg_reply(c, dlg_render(c->e, lang, "complaint_officer_acknowledged", vars, 3));
    tell_citizen(c, rec, dlg_render(c->e, cl, "complaint_citizen_acknowledged", vars, 2));
    dlg_rec_write(c, rec, c->in->complaint_version);
    c->out->outcome = DIALOG_COMPLAINT_ACKNOWLEDGED;
}

static void on_reply(struct dlg_ctx *c, const struct sr_officer *o, json_t *rec, size_t lang,
                     const char *rest)
{
    const char *t = dlg_rec_str(rec, "ticket");
    if (finished(c, rec, lang, true))
        return;
    char *answer = dlg_trim(rest);
    if (!answer[0]) {
        say(c, lang, "complaint_officer_missing_text", t);
        c->out->outcome = DIALOG_HELP;
        free(answer);
        return;
    }
    char *cut = dlg_utf8_clean(answer, c->e->cmp->description_max);
    free(answer);
    if (!answered(rec))
        first_response(c, rec, o);
    json_object_set_new(rec, "last_answer", json_string(cut));
    dlg_rec_event(c, rec, "complaint_replied", json_pack("{s:s}", "officer", o->code));
    const char *vars[] = {"ticket", t, "unit", dlg_rec_str(rec, "unit"), "answer", cut};
    tell_citizen(c, rec, dlg_render(c->e, rec_lang(c, rec), "complaint_citizen_answer", vars, 3));
    say(c, lang, "complaint_officer_replied", t);
    dlg_rec_write(c, rec, c->in->complaint_version);
    c->out->outcome = DIALOG_COMPLAINT_REPLIED;
    free(cut);
}

/* The citizen's closing question, with buttons that carry the ticket. */
static void ask_solved(struct dlg_ctx *c, const json_t *rec, const char *note)
{
    size_t cl = rec_lang(c, rec);
    const char *t = dlg_rec_str(rec, "ticket");
    const char *nv[] = {"note", note};
    char *note_text = note ? dlg_render(c->e, cl, "complaint_resolved_note", nv, 1) : sr_strdup("");
    const char *vars[] = {"ticket", t, "unit", dlg_rec_str(rec, "unit"), "note", note_text};
    char *text = dlg_render(c->e, cl, "complaint_citizen_resolved", vars, 3);
    free(note_text);
    struct sr_reply *r = dlg_reply_to(c, dlg_rec_str(rec, "channel"), dlg_rec_str(rec, "to"), text);
    r->style = SR_REPLY_BUTTONS;
    r->options[0].id = sr_asprintf("YA:%s", t);
    r->options[0].title = sr_strdup(dlg_text(c->e, cl, "complaint_button_yes"));
    r->options[1].id = sr_asprintf("BELUM:%s", t);
    r->options[1].title = sr_strdup(dlg_text(c->e, cl, "complaint_button_not_yet"));
    r->n_options = 2;
}

static void on_resolve(struct dlg_ctx *c, const struct sr_officer *o, json_t *rec, size_t lang,
                       const char *rest)
{
    if (finished(c, rec, lang, false))
        return;
    char *trimmed = dlg_trim(rest);
    char *note = trimmed[0] ? dlg_utf8_clean(trimmed, c->e->cmp->description_max) : NULL;
    free(trimmed);
    if (!answered(rec))
        first_response(c, rec, o);
    int64_t opened = dlg_rec_int(rec, "opened_at");
    json_object_set_new(rec, "state", json_string("resolved"));
    json_object_set_new(rec, "resolved_at", json_integer(c->now));
    json_object_set_new(rec, "resolved_by", json_string(o->code));
    json_object_set_new(rec, "resolution_note", note ? json_string(note) : json_null());
    dlg_rec_event(c, rec, "complaint_resolved",
                  json_pack("{s:s, s:I, s:I, s:o}", "officer", o->code, "wall_ms",
                            (json_int_t)(c->now - opened), "work_ms",
                            (json_int_t)worktime_between(c->env->worktime, opened, c->now), "note",
                            note ? json_string(note) : json_null()));
    ask_solved(c, rec, note);
    say(c, lang, "complaint_officer_resolved", dlg_rec_str(rec, "ticket"));
    dlg_rec_write(c, rec, c->in->complaint_version);
    c->out->outcome = DIALOG_COMPLAINT_RESOLVED;
    free(note);
}

static void on_status(struct dlg_ctx *c, const struct sr_officer *o, json_t *rec, size_t lang,
                      const char *rest)
{
    (void)o;
    (void)rest;
    dlg_reply(c, dlg_status_text(c, rec, lang));
    c->out->outcome = DIALOG_COMPLAINT_STATUS;
}

/* One line of DAFTAR, or NULL when the record is not an open complaint of unit. */
static char *list_line(const struct dlg_ctx *c, const json_t *rec, const char *unit, size_t lang)
{
    const char *u = dlg_rec_str(rec, "unit");
    bool open = dlg_rec_state_is(rec, "open") || dlg_rec_state_is(rec, "acknowledged");
    if (!open || !u || strcasecmp(u, unit) != 0)
        return NULL;
    char key[48];
    snprintf(key, sizeof(key), "complaint_short_%s", dlg_rec_str(rec, "state"));
    char *ex = dlg_excerpt(dlg_rec_str(rec, "description"), c->e->cmp->list_excerpt_chars);
    const char *vars[] = {
        "ticket",   dlg_rec_str(rec, "ticket"),   "state",   dlg_text(c->e, lang, key),
        "category", category_label(c, rec, lang), "excerpt", ex};
    char *line = dlg_render(c->e, lang, "complaint_officer_list_line", vars, 4);
    free(ex);
    return line;
}

static void on_list(struct dlg_ctx *c, const struct sr_officer *o, size_t lang)
{
    const struct dialog_input *in = c->in;
    struct dlg_buf lines = {0};
    size_t shown = 0, total = 0;
    dlg_buf_add(&lines, "", 0);
    for (size_t i = 0; i < in->n_open && in->open_list; i++) {
        json_t *rec = dlg_rec_parse(in->open_list[i],
                                    in->open_lens ? in->open_lens[i] : strlen(in->open_list[i]));
        char *line = rec ? list_line(c, rec, o->unit_code, lang) : NULL;
        json_decref(rec);
        if (!line)
            continue;
        if (total++ < c->e->cmp->list_max) {
            dlg_buf_str(&lines, shown++ ? "\n" : "");
            dlg_buf_str(&lines, line);
        }
        free(line);
    }
    char n[24], more[24];
    snprintf(n, sizeof(n), "%zu", total);
    snprintf(more, sizeof(more), "%zu", total - shown);
    if (total > shown) {
        const char *mv[] = {"n", more};
        char *m = dlg_render(c->e, lang, "complaint_officer_list_more", mv, 1);
        dlg_buf_str(&lines, "\n");
        dlg_buf_str(&lines, m);
        free(m);
    }
    const char *vars[] = {"unit", o->unit_code, "n", n, "lines", lines.s};
    dlg_reply(c, dlg_render(c->e, lang,
                            total ? "complaint_officer_list" : "complaint_officer_list_empty", vars,
                            3));
    free(lines.s);
    c->out->outcome = DIALOG_COMPLAINT_LISTED;
}

/* Commands that name a ticket, in matching order. */
static const struct ticket_cmd {
    enum dlg_cmd cmd;
    void (*run)(struct dlg_ctx *c, const struct sr_officer *o, json_t *rec, size_t lang,
                const char *rest);
} ticket_cmds[] = {
    {DLG_CMD_ACK, on_ack},
    {DLG_CMD_REPLY, on_reply},
    {DLG_CMD_RESOLVE, on_resolve},
    {DLG_CMD_STATUS, on_status},
};

void dlg_officer_refs(const struct dialog_engine *e, const struct sr_officer *o, const char *text,
                      struct dialog_refs *out)
{
    size_t lang;
    const char *rest;
    if (dlg_cmd_match(e, DLG_CMD_LIST, text, &lang, &rest)) {
        snprintf(out->list_unit, sizeof(out->list_unit), "%s", o->unit_code ? o->unit_code : "");
        return;
    }
    for (size_t i = 0; i < sizeof(ticket_cmds) / sizeof(ticket_cmds[0]); i++)
        if (dlg_cmd_match(e, ticket_cmds[i].cmd, text, &lang, &rest)) {
            if (!dlg_ticket_word(rest, out->ticket, NULL))
                out->ticket[0] = '\0';
            return;
        }
}

static void run_ticket_cmd(struct dlg_ctx *c, const struct sr_officer *o,
                           const struct ticket_cmd *tc, size_t lang, const char *rest)
{
    char ticket[DLG_TICKET_LEN];
    if (!dlg_ticket_word(rest, ticket, &rest)) {
        say(c, lang, "complaint_officer_missing_ticket", "");
        c->out->outcome = DIALOG_HELP;
        return;
    }
    json_t *rec = unit_record(c, o, ticket);
    if (!rec) {
        say(c, lang, "complaint_officer_denied", ticket);
        c->out->outcome = DIALOG_COMPLAINT_DENIED;
        return;
    }
    tc->run(c, o, rec, lang, rest);
    json_decref(rec);
}

void dlg_officer_step(struct dlg_ctx *c, const struct sr_officer *o)
{
    size_t lang = officer_lang(c);
    const char *rest;
    if (c->msg->kind != SR_IN_OTHER) {
        if (dlg_cmd_match(c->e, DLG_CMD_LIST, c->text, &lang, &rest)) {
            on_list(c, o, lang);
            return;
        }
        for (size_t i = 0; i < sizeof(ticket_cmds) / sizeof(ticket_cmds[0]); i++)
            if (dlg_cmd_match(c->e, ticket_cmds[i].cmd, c->text, &lang, &rest)) {
                run_ticket_cmd(c, o, &ticket_cmds[i], lang, rest);
                return;
            }
    }
    dlg_reply(c, dlg_render(c->e, lang, "complaint_officer_help", NULL, 0));
    c->out->outcome = DIALOG_HELP;
}

/* ---------------------------------------------------------------- SLA */

static bool deadline_unmet(const json_t *rec, bool first)
{
    bool open = dlg_rec_state_is(rec, "open") || dlg_rec_state_is(rec, "acknowledged");
    return open && (!first || !answered(rec));
}

void dlg_sla_step(struct dlg_ctx *c, json_t *rec, long long version, const char *kind)
{
    bool first = strcmp(kind, "first_response") == 0;
    json_t *esc = json_object_get(rec, "escalated");
    char due_key[40];
    snprintf(due_key, sizeof(due_key), "due_%s", kind);
    int64_t due = dlg_rec_int(rec, due_key);
    if (!deadline_unmet(rec, first) || json_is_true(json_object_get(esc, kind)) || c->now < due)
        return;
    json_object_set_new(esc, kind, json_true());
    dlg_rec_event(c, rec, "sla_breached", json_pack("{s:s, s:I}", "kind", kind, "due", due));
    const struct sr_officer *sup =
        c->env->unit_supervisor ? c->env->unit_supervisor(c->env->ud, dlg_rec_str(rec, "unit"))
                                : NULL;
    size_t lang = officer_lang(c);
    if (sup && sup->phone && sup->phone[0]) {
        char when[96], kind_key[48];
        snprintf(kind_key, sizeof(kind_key), "complaint_kind_%s", kind);
        char *desc = dlg_excerpt(dlg_rec_str(rec, "description"), c->e->cmp->excerpt_chars);
        const char *vars[] = {"kind",        dlg_text(c->e, lang, kind_key),
                              "ticket",      dlg_rec_str(rec, "ticket"),
                              "unit",        dlg_rec_str(rec, "unit"),
                              "due",         dlg_when(c, due, lang, when, sizeof(when)),
                              "category",    category_label(c, rec, lang),
                              "description", desc};
        dlg_reply_to(c, officer_channel(c, rec), sup->phone,
                     dlg_render(c->e, lang, "complaint_supervisor_breach", vars, 6));
        free(desc);
    }
    dlg_rec_feed(c, rec, "sla_breached", json_pack("{s:s, s:I}", "kind", kind, "due", due));
    dlg_rec_write(c, rec, version);
    c->out->outcome = DIALOG_SLA_BREACHED;
}
