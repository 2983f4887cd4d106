/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The citizen's side of complaints: the intake dialog (description, unit, category, optional
 * officer code, confirmation; or the one-message form "ADUAN <unit code> <text>"), opening the
 * complaint with its SLA deadlines, STATUS / CEK of one's own ticket, and closing the loop after
 * an officer resolved it (YA -> closed and a rating of the handling, BELUM -> reopened).
 *
 * Button payloads carry the ticket ("YA:K7M4QX", "BELUM:K7M4QX", "RATE:K7M4QX:4") so the
 * gateway can load the record without any session; typed answers use the ticket kept in the
 * citizen's complaint session ("filed" / "rate"). A ticket is only ever shown or changed for the
 * address and channel that filed it; anyone else gets the same answer as for an unknown ticket.
 */
#include "dialog_int.h"

#include "sr_mem.h"
#include "worktime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PAYLOAD_CONFIRM "CONFIRM"
#define PAYLOAD_CANCEL "CANCEL"

static size_t default_lang(const struct dlg_ctx *c)
{
    int l = dlg_lang_index(c->e, c->env->default_language);
    return l >= 0 ? (size_t)l : 0;
}

static const char *payload_of(const struct dlg_ctx *c)
{
    const struct sr_inbound *m = c->msg;
    return m && (m->kind == SR_IN_BUTTON || m->kind == SR_IN_LIST) ? m->payload : NULL;
}

/* ---------------------------------------------------------------- what a message asks */

enum caction { CA_NONE, CA_STATUS, CA_YES, CA_NOT_YET, CA_RATE };

struct cparse {
    enum caction act;
    size_t lang;
    int rating;
    char ticket[DLG_TICKET_LEN];
};

/* "YA:T", "BELUM:T", "RATE:T:v": the closing buttons. */
static bool parse_payload(const char *pl, struct cparse *p)
{
    static const struct {
        const char *prefix;
        enum caction act;
    } kinds[] = {{"YA:", CA_YES}, {"BELUM:", CA_NOT_YET}, {"RATE:", CA_RATE}};
    for (size_t i = 0; pl && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t n = strlen(kinds[i].prefix);
        const char *rest;
        if (strncmp(pl, kinds[i].prefix, n) != 0 || !dlg_ticket_word(pl + n, p->ticket, &rest))
            continue;
        p->act = kinds[i].act;
        if (p->act == CA_RATE) {
            p->rating =
                rest[0] >= '1' && rest[0] < '1' + DLG_RATING_MAX && !rest[1] ? rest[0] - '0' : 0;
            if (!p->rating)
                p->act = CA_NONE;
        }
        return p->act != CA_NONE;
    }
    return false;
}

static void parse_citizen(const struct dialog_engine *e, const struct sr_inbound *msg,
                          const char *text, const struct dlg_csession *cs, struct cparse *p)
{
    memset(p, 0, sizeof(*p));
    const char *rest;
    bool button = msg && (msg->kind == SR_IN_BUTTON || msg->kind == SR_IN_LIST);
    if (button && parse_payload(msg->payload, p))
        return;
    const char *last =
        cs && (cs->state == DLG_CS_FILED || cs->state == DLG_CS_RATE) ? cs->ticket : NULL;
    if (dlg_cmd_match(e, DLG_CMD_STATUS, text, &p->lang, &rest)) {
        p->act = CA_STATUS;
        if (!dlg_ticket_word(rest, p->ticket, NULL))
            p->ticket[0] = '\0';
        return;
    }
    static const struct {
        enum dlg_cmd cmd;
        enum caction act;
    } closing[] = {{DLG_CMD_YES, CA_YES}, {DLG_CMD_NOT_YET, CA_NOT_YET}};
    for (size_t i = 0; i < sizeof(closing) / sizeof(closing[0]); i++) {
        if (!dlg_cmd_match(e, closing[i].cmd, text, &p->lang, &rest))
            continue;
        const char *after = rest;
        bool named =
            dlg_ticket_word(rest, p->ticket, &after) && strlen(p->ticket) == 6 && !after[0];
        if (!named)
            p->ticket[0] = '\0';
        if (named || (last && !rest[0])) {
            if (!p->ticket[0])
                snprintf(p->ticket, sizeof(p->ticket), "%s", last);
            p->act = closing[i].act;
        }
        return;
    }
}

void dlg_complaint_citizen_refs(const struct dialog_engine *e, const struct dialog_env *env,
                                const struct sr_inbound *msg, const char *text,
                                const struct dlg_csession *cs, struct dialog_refs *out)
{
    (void)env;
    struct cparse p;
    if (cs && cs->state < DLG_CS_FILED)
        return; /* intake: nothing to load */
    parse_citizen(e, msg, text, cs, &p);
    if (p.act != CA_NONE && p.ticket[0])
        snprintf(out->ticket, sizeof(out->ticket), "%s", p.ticket);
    else if (cs && cs->ticket)
        snprintf(out->ticket, sizeof(out->ticket), "%s", cs->ticket);
}

/* The loaded record if it is `ticket` and belongs to the sender; NULL otherwise. A record whose
 * raw number the retention removed ("to" gone) is matched by the citizen's pseudonym. */
static json_t *own_record(const struct dlg_ctx *c, const char *ticket)
{
    const struct dialog_input *in = c->in;
    json_t *rec = dlg_rec_parse(in->complaint, in->complaint_len);
    const char *t = dlg_rec_str(rec, "ticket"), *to = dlg_rec_str(rec, "to"),
               *ch = dlg_rec_str(rec, "channel"), *who = dlg_rec_str(rec, "citizen");
    int mine = to ? strcmp(to, c->to) == 0 : who && c->citizen && strcmp(who, c->citizen) == 0;
    if (rec && t && strcmp(t, ticket) == 0 && mine && ch && strcmp(ch, c->channel) == 0)
        return rec;
    json_decref(rec);
    return NULL;
}

static size_t rec_lang(const struct dlg_ctx *c, const json_t *rec)
{
    int l = dlg_lang_index(c->e, dlg_rec_str(rec, "lang"));
    return l >= 0 ? (size_t)l : default_lang(c);
}

/* The same answer for an unknown ticket and for someone else's. */
static void deny(struct dlg_ctx *c, const char *ticket, size_t lang)
{
    const char *vars[] = {"ticket", ticket};
    dlg_reply(c, dlg_render(c->e, lang, "complaint_status_unknown", vars, 1));
    c->out->outcome = DIALOG_COMPLAINT_DENIED;
}

/* ---------------------------------------------------------------- units */

static const struct sr_unit *unit_find(const struct dlg_ctx *c, const char *code, size_t n)
{
    const struct sr_unit *units = NULL;
    size_t count = c->env->unit_list(c->env->ud, &units);
    for (size_t i = 0; code && i < count; i++)
        if (units[i].code && strlen(units[i].code) == n && strncasecmp(units[i].code, code, n) == 0)
            return &units[i];
    return NULL;
}

static const char *unit_name(const struct dlg_ctx *c, const char *code)
{
    const struct sr_unit *u = code ? unit_find(c, code, strlen(code)) : NULL;
    return u && u->name ? u->name : code;
}

/* ---------------------------------------------------------------- asking */

static char *join(char *prefix, char *body)
{
    if (!prefix)
        return body;
    char *s = sr_asprintf("%s\n\n%s", prefix, body);
    free(prefix);
    free(body);
    return s;
}

static void ask_description(struct dlg_ctx *c, const struct dlg_csession *s, char *prefix)
{
    char max[24];
    snprintf(max, sizeof(max), "%zu", c->e->cmp->description_max);
    const char *vars[] = {"max", max};
    dlg_reply(c, join(prefix, dlg_render(c->e, s->lang, "complaint_ask_description", vars, 1)));
}

static void ask_unit(struct dlg_ctx *c, const struct dlg_csession *s, char *prefix)
{
    const struct sr_unit *units = NULL;
    size_t n = c->env->unit_list(c->env->ud, &units);
    struct dlg_buf lines = {0};
    dlg_buf_add(&lines, "", 0);
    for (size_t i = 0; i < n; i++) {
        char num[24];
        snprintf(num, sizeof(num), "%zu", i + 1);
        const char *vars[] = {"n", num, "name", units[i].name, "code", units[i].code};
        char *line = dlg_render(c->e, s->lang, "complaint_unit_line", vars, 3);
        dlg_buf_str(&lines, i ? "\n" : "");
        dlg_buf_str(&lines, line);
        free(line);
    }
    const char *vars[] = {"units", lines.s};
    struct sr_reply *r =
        dlg_reply(c, join(prefix, dlg_render(c->e, s->lang, "complaint_ask_unit", vars, 1)));
    free(lines.s);
    if (n == 0 || n > DLG_MAX_OPTIONS)
        return; /* too many rows for a list: the numbered text does it */
    r->style = SR_REPLY_LIST;
    r->list_button = sr_strdup(dlg_text(c->e, s->lang, "complaint_unit_button"));
    for (size_t i = 0; i < n; i++) {
        r->options[i].id = sr_strdup(units[i].code);
        r->options[i].title =
            dlg_excerpt(units[i].name ? units[i].name : units[i].code, DLG_LIST_TITLE_MAX);
    }
    r->n_options = n;
}

static void ask_category(struct dlg_ctx *c, const struct dlg_csession *s, char *prefix)
{
    const struct dlg_complaints *m = c->e->cmp;
    struct dlg_buf lines = {0};
    dlg_buf_add(&lines, "", 0);
    for (size_t i = 0; i < m->n_cats; i++) {
        char num[24];
        snprintf(num, sizeof(num), "%zu", i + 1);
        const char *vars[] = {"n", num, "label", m->cats[i].label[s->lang]};
        char *line = dlg_render(c->e, s->lang, "complaint_category_line", vars, 2);
        dlg_buf_str(&lines, i ? "\n" : "");
        dlg_buf_str(&lines, line);
        free(line);
    }
    const char *vars[] = {"categories", lines.s};
    struct sr_reply *r =
        dlg_reply(c, join(prefix, dlg_render(c->e, s->lang, "complaint_ask_category", vars, 1)));
    free(lines.s);
    r->style = SR_REPLY_LIST;
    r->list_button = sr_strdup(dlg_text(c->e, s->lang, "complaint_category_button"));
    for (size_t i = 0; i < m->n_cats; i++) {
        r->options[i].id = sr_strdup(m->cats[i].code);
        r->options[i].title = sr_strdup(m->cats[i].title[s->lang]);
    }
    r->n_options = m->n_cats;
}

static void ask_officer(struct dlg_ctx *c, const struct dlg_csession *s, char *prefix)
{
    dlg_reply(c, join(prefix, dlg_render(c->e, s->lang, "complaint_ask_officer", NULL, 0)));
}

static void ask_confirm(struct dlg_ctx *c, const struct dlg_csession *s, char *prefix)
{
    const struct dlg_category *cat = dlg_category_find(c->e, s->category);
    char *desc = dlg_excerpt(s->description, c->e->cmp->excerpt_chars);
    const char *officer = s->officer ? s->officer : dlg_text(c->e, s->lang, "complaint_no_officer");
    const char *vars[] = {
        "unit",  unit_name(c, s->unit), "category", cat->label[s->lang], "officer",
        officer, "description",         desc};
    struct sr_reply *r =
        dlg_reply(c, join(prefix, dlg_render(c->e, s->lang, "complaint_confirm", vars, 4)));
    free(desc);
    r->style = SR_REPLY_BUTTONS;
    r->options[0].id = sr_strdup(PAYLOAD_CONFIRM);
    r->options[0].title = sr_strdup(dlg_text(c->e, s->lang, "complaint_confirm_yes"));
    r->options[1].id = sr_strdup(PAYLOAD_CANCEL);
    r->options[1].title = sr_strdup(dlg_text(c->e, s->lang, "complaint_confirm_cancel"));
    r->n_options = 2;
}

static void take_description(struct dlg_ctx *c, struct dlg_csession *s);
static void take_unit(struct dlg_ctx *c, struct dlg_csession *s);
static void take_category(struct dlg_ctx *c, struct dlg_csession *s);
static void take_officer(struct dlg_ctx *c, struct dlg_csession *s);
static void take_confirm(struct dlg_ctx *c, struct dlg_csession *s);

/* The intake states: the prompt and the handler of an answer (both take s). */
static const struct intake_state {
    void (*ask)(struct dlg_ctx *c, const struct dlg_csession *s, char *prefix_taken);
    void (*take)(struct dlg_ctx *c, struct dlg_csession *s_taken);
} intake[DLG_CS_FILED] = {
    [DLG_CS_DESCRIPTION] = {ask_description, take_description},
    [DLG_CS_UNIT] = {ask_unit, take_unit},
    [DLG_CS_CATEGORY] = {ask_category, take_category},
    [DLG_CS_OFFICER] = {ask_officer, take_officer},
    [DLG_CS_CONFIRM] = {ask_confirm, take_confirm},
};

/* Asks the first thing still missing and keeps the session. */
static void ask_next(struct dlg_ctx *c, struct dlg_csession *s, char *prefix)
{
    s->state = !s->description     ? DLG_CS_DESCRIPTION
               : !s->unit          ? DLG_CS_UNIT
               : !s->category      ? DLG_CS_CATEGORY
               : !s->officer_asked ? DLG_CS_OFFICER
                                   : DLG_CS_CONFIRM;
    intake[s->state].ask(c, s, prefix);
    dlg_keep_csession(c, s);
}

/* ---------------------------------------------------------------- opening */

static json_t *new_record(const struct dlg_ctx *c, const struct dlg_csession *s, const char *ticket,
                          int64_t due1, int64_t due2)
{
    json_t *rec = json_pack(
        "{s:i, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:I, s:n, s:n, s:n, s:n, s:n, "
        "s:I, s:I, s:{s:b, s:b}, s:n, s:n, s:i, s:n}",
        "v", 1, "ticket", ticket, "state", "open", "unit", s->unit, "category", s->category,
        "officer", s->officer ? json_string(s->officer) : json_null(), "citizen", c->citizen,
        "channel", c->channel, "to", c->to, "lang", c->e->langs[s->lang], "description",
        s->description, "opened_at", (json_int_t)c->now, "first_response_at", "first_response_by",
        "resolved_at", "resolved_by", "closed_at", "due_first_response", (json_int_t)due1,
        "due_resolution", (json_int_t)due2, "escalated", "first_response", 0, "resolution", 0,
        "last_answer", "resolution_note", "reopened", 0, "rating");
    return rec;
}

static void open_event(struct dlg_ctx *c, const json_t *rec)
{
    json_t *ev = json_pack(
        "{s:s, s:O, s:s, s:s, s:s, s:O, s:O}", "category", dlg_rec_str(rec, "category"), "officer",
        json_object_get(rec, "officer"), "citizen", c->citizen, "channel", c->channel, "language",
        dlg_rec_str(rec, "lang"), "due_first_response", json_object_get(rec, "due_first_response"),
        "due_resolution", json_object_get(rec, "due_resolution"));
    dlg_rec_event(c, rec, "complaint_opened", ev);
}

/* Opens the complaint described by s (taken): record, event, answers, notifications. */
static void open_complaint(struct dlg_ctx *c, struct dlg_csession *s, char *prefix)
{
    char ticket[DLG_TICKET_LEN];
    const char *nt = c->in->new_ticket;
    if (!nt || !dlg_ticket_word(nt, ticket, NULL) || strcmp(ticket, nt) != 0) {
        s->officer_asked = true; /* confirm again once the gateway can give a ticket */
        s->state = DLG_CS_CONFIRM;
        dlg_reply(c, join(prefix, dlg_render(c->e, s->lang, "complaint_failed", NULL, 0)));
        dlg_keep_csession(c, s);
        return;
    }
    free(prefix);
    const struct worktime *wt = c->env->worktime;
    struct worktime_sla sla = worktime_sla_for(wt, s->unit, s->category);
    int64_t due1 = worktime_add(wt, c->now, sla.first_response_ms);
    int64_t due2 = worktime_add_days(wt, c->now, sla.resolution_days);
    json_t *rec = new_record(c, s, ticket, due1, due2);
    open_event(c, rec);
    char when[96];
    const char *vars[] = {"ticket", ticket,
                          "unit",   unit_name(c, s->unit),
                          "due",    dlg_when(c, due2, s->lang, when, sizeof(when))};
    dlg_reply(c, dlg_render(c->e, s->lang, "complaint_opened", vars, 3));
    dlg_notify_unit(c, rec, "complaint_officer_new", "complaint_opened");
    dlg_rec_write(c, rec, 0);
    json_decref(rec);
    struct dlg_csession *filed = sr_calloc(1, sizeof(*filed));
    filed->state = DLG_CS_FILED;
    filed->lang = s->lang;
    filed->ticket = sr_strdup(ticket);
    filed->started_at = c->now;
    dlg_csession_free(s);
    dlg_keep_csession(c, filed);
    c->out->outcome = DIALOG_COMPLAINT_OPENED;
}

/* ---------------------------------------------------------------- intake answers */

/* The first word of norm and its length. */
static size_t first_word(const char *norm, const char **w)
{
    *w = norm;
    return strcspn(norm, " \t\r\n,.:;");
}

static void take_description(struct dlg_ctx *c, struct dlg_csession *s)
{
    const struct dlg_complaints *m = c->e->cmp;
    char *trimmed = dlg_trim(c->text), *prefix = NULL;
    if (!c->norm[0] || dlg_utf8_len(trimmed) < m->description_min) {
        free(trimmed);
        ask_next(c, s, dlg_render(c->e, s->lang, "complaint_description_short", NULL, 0));
        return;
    }
    if (dlg_utf8_len(trimmed) > m->description_max) {
        char max[24];
        snprintf(max, sizeof(max), "%zu", m->description_max);
        const char *vars[] = {"max", max};
        prefix = dlg_render(c->e, s->lang, "complaint_description_cut", vars, 1);
    }
    s->description = dlg_utf8_clean(trimmed, m->description_max);
    free(trimmed);
    ask_next(c, s, prefix);
}

/* A unit by button payload, list number or typed code. */
static const struct sr_unit *chosen_unit(const struct dlg_ctx *c)
{
    const char *pl = payload_of(c), *w;
    if (pl)
        return unit_find(c, pl, strlen(pl));
    const struct sr_unit *units = NULL;
    size_t count = c->env->unit_list(c->env->ud, &units);
    char *end;
    long n = strtol(c->norm, &end, 10);
    if (end != c->norm && *end == '\0')
        return n >= 1 && (size_t)n <= count ? &units[n - 1] : NULL;
    const struct sr_unit *u = unit_find(c, c->norm, strlen(c->norm));
    return u ? u : unit_find(c, c->norm, first_word(c->norm, &w));
}

static void take_unit(struct dlg_ctx *c, struct dlg_csession *s)
{
    const struct sr_unit *u = chosen_unit(c);
    if (!u) {
        ask_next(c, s, dlg_render(c->e, s->lang, "complaint_unit_unknown", NULL, 0));
        return;
    }
    s->unit = sr_strdup(u->code);
    ask_next(c, s, NULL);
}

static const struct dlg_category *chosen_category(const struct dlg_ctx *c, size_t lang)
{
    const struct dlg_complaints *m = c->e->cmp;
    const char *pl = payload_of(c);
    if (pl)
        return dlg_category_find(c->e, pl);
    char *end;
    long n = strtol(c->norm, &end, 10);
    if (end != c->norm && *end == '\0')
        return n >= 1 && (size_t)n <= m->n_cats ? &m->cats[n - 1] : NULL;
    for (size_t i = 0; i < m->n_cats; i++)
        if (strcasecmp(m->cats[i].label[lang], c->norm) == 0 ||
            strcasecmp(m->cats[i].title[lang], c->norm) == 0)
            return &m->cats[i];
    return dlg_category_find(c->e, c->norm);
}

static void take_category(struct dlg_ctx *c, struct dlg_csession *s)
{
    const struct dlg_category *cat = chosen_category(c, s->lang);
    if (!cat) {
        ask_next(c, s, dlg_render(c->e, s->lang, "complaint_category_unknown", NULL, 0));
        return;
    }
    s->category = sr_strdup(cat->code);
    ask_next(c, s, NULL);
}

/* The officer named by a typed code: as typed, then without spaces and dashes. */
static const struct sr_officer *typed_officer(const struct dlg_ctx *c)
{
    const struct dialog_env *env = c->env;
    if (!env->officer_lookup || strlen(c->norm) > c->e->lim.code_max_len * 2)
        return NULL;
    const struct sr_officer *o = env->officer_lookup(env->ud, c->norm);
    if (o)
        return o;
    char *packed = sr_strdup(c->norm);
    size_t k = 0;
    for (const char *p = c->norm; *p; p++)
        if (*p != ' ' && *p != '-')
            packed[k++] = *p;
    packed[k] = '\0';
    o = env->officer_lookup(env->ud, packed);
    free(packed);
    return o;
}

static void take_officer(struct dlg_ctx *c, struct dlg_csession *s)
{
    size_t lang;
    char *prefix = NULL;
    s->officer_asked = true;
    if (c->norm[0] && !dlg_match_intent(c->e, DLG_INTENT_SKIP, c->norm, &lang)) {
        const struct sr_officer *o = typed_officer(c);
        if (o && o->unit_code && strcasecmp(o->unit_code, s->unit) == 0) {
            s->officer = sr_strdup(o->code);
        } else {
            char *code = dlg_excerpt(c->norm, c->e->lim.code_max_len);
            const char *vars[] = {"code", code, "unit", unit_name(c, s->unit)};
            prefix = dlg_render(c->e, s->lang, "complaint_officer_ignored", vars, 2);
            free(code);
        }
    }
    ask_next(c, s, prefix);
}

static void take_confirm(struct dlg_ctx *c, struct dlg_csession *s)
{
    const char *pl = payload_of(c), *rest;
    size_t lang;
    if ((pl && strcmp(pl, PAYLOAD_CONFIRM) == 0) ||
        (!pl && dlg_cmd_match(c->e, DLG_CMD_YES, c->text, &lang, &rest) && !rest[0])) {
        open_complaint(c, s, NULL);
        return;
    }
    ask_next(c, s, NULL);
}

/* ---------------------------------------------------------------- starting */

/* ADUAN [<unit code>] [<text>]: asks what is missing, or opens at once with unit and text. */
static void start_intake(struct dlg_ctx *c, const char *rest, size_t lang)
{
    struct dlg_csession *s = sr_calloc(1, sizeof(*s));
    s->lang = lang;
    s->started_at = c->now;
    c->out->outcome = DIALOG_COMPLAINT_STARTED;
    char *r = dlg_trim(rest);
    size_t wlen = strcspn(r, " \t\r\n,:;");
    const struct sr_unit *u = wlen ? unit_find(c, r, wlen) : NULL;
    const char *text = u ? r + wlen + strspn(r + wlen, " \t\r\n,:;") : r;
    if (u)
        s->unit = sr_strdup(u->code);
    if (dlg_utf8_len(text) >= c->e->cmp->description_min)
        s->description = dlg_utf8_clean(text, c->e->cmp->description_max);
    free(r);
    if (s->unit && s->description) { /* the one-message form */
        s->category = sr_strdup(c->e->cmp->cats[c->e->cmp->default_cat].code);
        s->officer_asked = true;
        open_complaint(c, s, NULL);
        return;
    }
    ask_next(c, s, NULL);
}

static void cancel_intake(struct dlg_ctx *c, struct dlg_csession *s)
{
    dlg_reply(c, dlg_render(c->e, s->lang, "complaint_cancelled", NULL, 0));
    c->out->outcome = DIALOG_NONE;
    dlg_csession_free(s);
}

static void intake_step(struct dlg_ctx *c, struct dlg_csession *s)
{
    size_t lang;
    const char *pl = payload_of(c), *rest;
    if (c->msg->kind == SR_IN_OTHER) {
        ask_next(c, s, dlg_render(c->e, s->lang, "complaint_other_hint", NULL, 0));
        return;
    }
    if ((pl && strcmp(pl, PAYLOAD_CANCEL) == 0) ||
        dlg_match_intent(c->e, DLG_INTENT_CANCEL, c->norm, &lang)) {
        cancel_intake(c, s);
        return;
    }
    if (!pl && dlg_cmd_match(c->e, DLG_CMD_COMPLAINT, c->text, &lang, &rest)) {
        dlg_csession_free(s); /* starts over */
        start_intake(c, rest, lang);
        return;
    }
    c->out->outcome = DIALOG_NONE;
    intake[s->state].take(c, s);
}

/* ---------------------------------------------------------------- status and closing */

char *dlg_status_text(const struct dlg_ctx *c, const json_t *rec, size_t lang)
{
    char key[48], when[96];
    snprintf(key, sizeof(key), "complaint_state_%s", dlg_rec_str(rec, "state"));
    const char *last = dlg_rec_str(rec, "last_answer");
    const char *av[] = {"answer", last};
    char *answer = last ? dlg_render(c->e, lang, "complaint_status_answer", av, 1) : sr_strdup("");
    const char *vars[] = {
        "ticket", dlg_rec_str(rec, "ticket"),
        "unit",   unit_name(c, dlg_rec_str(rec, "unit")),
        "state",  dlg_text(c->e, lang, key),
        "due",    dlg_when(c, dlg_rec_int(rec, "due_resolution"), lang, when, sizeof(when)),
        "answer", answer};
    char *s = dlg_render(c->e, lang, "complaint_status", vars, 5);
    free(answer);
    return s;
}

static void status(struct dlg_ctx *c, const struct cparse *p)
{
    if (!p->ticket[0]) {
        dlg_reply(c, dlg_render(c->e, p->lang, "complaint_status_missing", NULL, 0));
        c->out->outcome = DIALOG_HELP;
        return;
    }
    json_t *rec = own_record(c, p->ticket);
    if (!rec) {
        deny(c, p->ticket, p->lang);
        return;
    }
    dlg_reply(c, dlg_status_text(c, rec, rec_lang(c, rec)));
    c->out->outcome = DIALOG_COMPLAINT_STATUS;
    json_decref(rec);
}

static void keep_ticket(struct dlg_ctx *c, enum dlg_cstate state, size_t lang, const char *ticket)
{
    struct dlg_csession *s = sr_calloc(1, sizeof(*s));
    s->state = state;
    s->lang = lang;
    s->ticket = sr_strdup(ticket);
    s->started_at = c->now;
    dlg_keep_csession(c, s);
}

static void ask_rating(struct dlg_ctx *c, const char *ticket, size_t lang, const char *key)
{
    const char *vars[] = {"ticket", ticket};
    struct sr_reply *r = dlg_reply(c, dlg_render(c->e, lang, key, vars, 1));
    r->style = SR_REPLY_LIST;
    r->list_button = sr_strdup(dlg_text(c->e, lang, "complaint_rating_button"));
    for (size_t i = 0; i < DLG_RATING_MAX; i++) {
        r->options[i].id = sr_asprintf("RATE:%s:%zu", ticket, i + 1);
        r->options[i].title = sr_strdup(c->e->cmp->rating_labels[lang][i]);
    }
    r->n_options = DLG_RATING_MAX;
    keep_ticket(c, DLG_CS_RATE, lang, ticket);
}

static void close_it(struct dlg_ctx *c, json_t *rec, size_t lang)
{
    json_object_set_new(rec, "state", json_string("closed"));
    json_object_set_new(rec, "closed_at", json_integer(c->now));
    dlg_rec_event(c, rec, "complaint_closed", json_object());
    dlg_rec_write(c, rec, c->in->complaint_version);
    ask_rating(c, dlg_rec_str(rec, "ticket"), lang, "complaint_ask_rating");
    c->out->outcome = DIALOG_COMPLAINT_CLOSED;
}

static void reopen(struct dlg_ctx *c, json_t *rec, size_t lang)
{
    const struct worktime *wt = c->env->worktime;
    struct worktime_sla sla =
        worktime_sla_for(wt, dlg_rec_str(rec, "unit"), dlg_rec_str(rec, "category"));
    int64_t due = worktime_add_days(wt, c->now, sla.resolution_days);
    bool answered = json_is_integer(json_object_get(rec, "first_response_at"));
    json_object_set_new(rec, "state", json_string(answered ? "acknowledged" : "open"));
    json_object_set_new(rec, "resolved_at", json_null());
    json_object_set_new(rec, "resolved_by", json_null());
    json_object_set_new(rec, "due_resolution", json_integer(due));
    json_object_set_new(rec, "reopened", json_integer(dlg_rec_int(rec, "reopened") + 1));
    json_object_set_new(json_object_get(rec, "escalated"), "resolution", json_false());
    dlg_rec_event(c, rec, "complaint_reopened", json_object());
    char when[96];
    const char *vars[] = {"ticket", dlg_rec_str(rec, "ticket"),
                          "unit",   unit_name(c, dlg_rec_str(rec, "unit")),
                          "due",    dlg_when(c, due, lang, when, sizeof(when))};
    dlg_reply(c, dlg_render(c->e, lang, "complaint_reopened_citizen", vars, 3));
    dlg_notify_unit(c, rec, "complaint_officer_reopened", "complaint_reopened");
    dlg_rec_write(c, rec, c->in->complaint_version);
    keep_ticket(c, DLG_CS_FILED, lang, dlg_rec_str(rec, "ticket"));
    c->out->outcome = DIALOG_COMPLAINT_REOPENED;
}

static void rate(struct dlg_ctx *c, json_t *rec, size_t lang, int value)
{
    json_object_set_new(rec, "rating", json_integer(value));
    dlg_rec_event(c, rec, "complaint_rated",
                  json_pack("{s:i, s:s}", "value", value, "element", c->e->cmp->rating_element));
    dlg_rec_write(c, rec, c->in->complaint_version);
    const char *vars[] = {"ticket", dlg_rec_str(rec, "ticket")};
    dlg_reply(c, dlg_render(c->e, lang, "complaint_rated", vars, 1));
    c->out->outcome = DIALOG_NONE;
}

/* A closing answer that does not fit the record's state: say where it stands. */
static void not_now(struct dlg_ctx *c, const json_t *rec, size_t lang)
{
    const char *key =
        dlg_rec_state_is(rec, "closed")
            ? (json_is_integer(json_object_get(rec, "rating")) ? "complaint_already_rated"
                                                               : "complaint_already_closed")
            : "complaint_still_open";
    const char *vars[] = {"ticket", dlg_rec_str(rec, "ticket")};
    dlg_reply(c, dlg_render(c->e, lang, key, vars, 1));
    c->out->outcome = DIALOG_NONE;
}

static void closing(struct dlg_ctx *c, const struct cparse *p)
{
    json_t *rec = own_record(c, p->ticket);
    if (!rec) {
        deny(c, p->ticket, p->lang);
        return;
    }
    size_t lang = rec_lang(c, rec);
    bool resolved = dlg_rec_state_is(rec, "resolved");
    bool rateable =
        dlg_rec_state_is(rec, "closed") && !json_is_integer(json_object_get(rec, "rating"));
    if (p->act == CA_YES && resolved)
        close_it(c, rec, lang);
    else if (p->act == CA_NOT_YET && resolved)
        reopen(c, rec, lang);
    else if (p->act == CA_RATE && rateable)
        rate(c, rec, lang, p->rating);
    else
        not_now(c, rec, lang);
    json_decref(rec);
}

/* In "rate": a typed 1..4 rates the session's ticket; cancel ends; else asked again. Returns
 * false when the message is something else entirely (a new command). */
static bool rate_step(struct dlg_ctx *c, const struct dlg_csession *s)
{
    size_t lang;
    const char *rest;
    struct cparse p = {.act = CA_RATE, .lang = s->lang};
    snprintf(p.ticket, sizeof(p.ticket), "%s", s->ticket);
    if ((p.rating = dlg_match_answer(c->e, c->norm, DLG_RATING_MAX)) > 0) {
        closing(c, &p);
        return true;
    }
    if (dlg_match_intent(c->e, DLG_INTENT_CANCEL, c->norm, &lang) ||
        dlg_match_intent(c->e, DLG_INTENT_SKIP, c->norm, &lang)) {
        dlg_reply(c, dlg_render(c->e, s->lang, "complaint_rating_skipped", NULL, 0));
        return true;
    }
    if (dlg_cmd_match(c->e, DLG_CMD_COMPLAINT, c->text, &lang, &rest) ||
        dlg_cmd_match(c->e, DLG_CMD_STATUS, c->text, &lang, &rest))
        return false;
    struct dlg_start st;
    bool survey = dlg_find_start(c->e, c->env, c->norm, &st);
    free(st.code);
    if (survey)
        return false;
    ask_rating(c, s->ticket, s->lang, "complaint_rating_reask");
    return true;
}

bool dlg_complaint_citizen(struct dlg_ctx *c, struct dlg_csession *cs)
{
    if (cs && cs->state < DLG_CS_FILED) {
        intake_step(c, cs);
        return true;
    }
    struct cparse p;
    const char *rest;
    bool done = true;
    parse_citizen(c->e, c->msg, c->text, cs, &p);
    if (p.act == CA_STATUS) {
        status(c, &p);
        if (cs && !c->out->session)
            keep_ticket(c, cs->state, cs->lang, cs->ticket);
    } else if (p.act != CA_NONE) {
        closing(c, &p);
    } else if (cs && cs->state == DLG_CS_RATE && c->msg->kind != SR_IN_OTHER && rate_step(c, cs)) {
        /* answered in rate_step */
    } else if (!payload_of(c) && dlg_cmd_match(c->e, DLG_CMD_COMPLAINT, c->text, &p.lang, &rest)) {
        start_intake(c, rest, p.lang);
    } else {
        done = false;
    }
    dlg_csession_free(cs);
    return done;
}
