/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The data side of complaints: complaints.json (categories, limits, the rating labels and the
 * command keywords), matching a command keyword at the start of a message, the citizen's
 * complaint session JSON, and the complaint record helpers shared by the citizen's and the
 * officers' flows (reading fields, building the record write, events and feed items).
 *
 * Complaint session JSON (the same session slot as surveys, told apart by "flow"):
 *   {"v":1,"flow":"complaint","state":"unit","lang":"id","description":..|null,"unit":..|null,
 *    "category":..|null,"officer":..|null,"officer_asked":false,"ticket":..|null,
 *    "started_at":..,"expires_at":..}
 */
#include "dialog_int.h"

#include "sr_mem.h"
#include "worktime.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TICKET_MIN 4
#define TICKET_MAX 20
#define MAX_CATEGORIES 10

/* ---------------------------------------------------------------- complaints.json */

static const struct climit {
    const char *name;
    size_t offset, min, max, def;
} climits[] = {
    {"description_max_chars", offsetof(struct dlg_complaints, description_max), 16, 4000, 1000},
    {"description_min_chars", offsetof(struct dlg_complaints, description_min), 1, 100, 5},
    {"excerpt_chars", offsetof(struct dlg_complaints, excerpt_chars), 20, 1000, 300},
    {"list_max", offsetof(struct dlg_complaints, list_max), 1, 100, 20},
    {"list_excerpt_chars", offsetof(struct dlg_complaints, list_excerpt_chars), 10, 200, 40},
};

static enum sr_err load_climits(struct dlg_complaints *m, const json_t *obj, struct sr_errbuf *eb)
{
    for (size_t i = 0; i < sizeof(climits) / sizeof(climits[0]); i++) {
        const struct climit *d = &climits[i];
        const json_t *v = json_object_get(obj, d->name);
        size_t *dst = (size_t *)((char *)m + d->offset);
        *dst = d->def;
        if (!v)
            continue;
        json_int_t n = json_integer_value(v);
        if (!json_is_integer(v) || n < (json_int_t)d->min || n > (json_int_t)d->max)
            return sr_errf(eb, SR_E_CONFIG, "complaints.json: limits.%s must be %zu..%zu", d->name,
                           d->min, d->max);
        *dst = (size_t)n;
    }
    return SR_E_OK;
}

/* A {lang: text} object into out[lang], each non-empty and at most max chars (0 = no cap). */
static enum sr_err load_texts(const struct dialog_engine *e, const json_t *obj, size_t max,
                              char **out, const char *what, struct sr_errbuf *eb)
{
    for (size_t l = 0; l < e->n_langs; l++) {
        const char *s = json_string_value(json_object_get(obj, e->langs[l]));
        if (!s || !s[0] || (max && dlg_utf8_len(s) > max))
            return sr_errf(eb, SR_E_CONFIG, "complaints.json: %s.%s empty or over %zu chars", what,
                           e->langs[l], max);
        out[l] = sr_strdup(s);
    }
    return SR_E_OK;
}

static enum sr_err load_categories(const struct dialog_engine *e, struct dlg_complaints *m,
                                   const json_t *root, struct sr_errbuf *eb)
{
    const json_t *arr = json_object_get(root, "categories");
    size_t n = json_array_size(arr);
    if (n == 0 || n > MAX_CATEGORIES)
        return sr_errf(eb, SR_E_CONFIG, "complaints.json: \"categories\" needs 1..%d entries",
                       MAX_CATEGORIES);
    m->cats = sr_calloc(n, sizeof(*m->cats));
    for (size_t i = 0; i < n; i++) {
        const json_t *def = json_array_get(arr, i);
        const char *code = json_string_value(json_object_get(def, "code"));
        if (!code || !code[0] || strlen(code) > 32)
            return sr_errf(eb, SR_E_CONFIG, "complaints.json: category %zu has no code", i);
        struct dlg_category *cat = &m->cats[m->n_cats++];
        cat->code = sr_strdup(code);
        enum sr_err err =
            load_texts(e, json_object_get(def, "title"), DLG_LIST_TITLE_MAX, cat->title, code, eb);
        if (err == SR_E_OK)
            err = load_texts(e, json_object_get(def, "label"), 0, cat->label, code, eb);
        if (err != SR_E_OK)
            return err;
    }
    const char *def = json_string_value(json_object_get(root, "default_category"));
    for (m->default_cat = 0; m->default_cat < n; m->default_cat++)
        if (def && strcmp(m->cats[m->default_cat].code, def) == 0)
            return SR_E_OK;
    return sr_errf(eb, SR_E_CONFIG, "complaints.json: \"default_category\" is not a category");
}

static enum sr_err load_rating(const struct dialog_engine *e, struct dlg_complaints *m,
                               const json_t *root, struct sr_errbuf *eb)
{
    const json_t *r = json_object_get(root, "rating");
    const char *el = json_string_value(json_object_get(r, "element"));
    if (!el || !el[0])
        return sr_errf(eb, SR_E_CONFIG, "complaints.json: rating.element missing");
    m->rating_element = sr_strdup(el);
    for (size_t l = 0; l < e->n_langs; l++) {
        const json_t *arr = json_object_get(json_object_get(r, "labels"), e->langs[l]);
        for (size_t i = 0; i < DLG_RATING_MAX; i++) {
            const char *s = json_string_value(json_array_get(arr, i));
            if (json_array_size(arr) != DLG_RATING_MAX || !s || !s[0] ||
                dlg_utf8_len(s) > DLG_LIST_TITLE_MAX)
                return sr_errf(eb, SR_E_CONFIG, "complaints.json: rating.labels.%s needs %d labels",
                               e->langs[l], DLG_RATING_MAX);
            m->rating_labels[l][i] = sr_strdup(s);
        }
    }
    return SR_E_OK;
}

static const char *const cmd_names[] = {
#define DLG_CMD_NAME(name, text) text,
    DLG_CMDS(DLG_CMD_NAME)
#undef DLG_CMD_NAME
};

static enum sr_err check_commands(const json_t *cmds, struct sr_errbuf *eb)
{
    for (size_t i = 0; i < DLG_CMD__COUNT; i++)
        if (!json_is_object(json_object_get(cmds, cmd_names[i])))
            return sr_errf(eb, SR_E_CONFIG, "complaints.json: commands.%s missing", cmd_names[i]);
    return SR_E_OK;
}

enum sr_err dlg_complaints_load(struct dialog_engine *e, const char *dir, struct sr_errbuf *eb)
{
    json_t *root = dlg_load_json(dir, "complaints.json", eb);
    if (!root)
        return SR_E_CONFIG;
    struct dlg_complaints *m = sr_calloc(1, sizeof(*m));
    e->cmp = m;
    m->commands = json_incref(json_object_get(root, "commands"));
    enum sr_err err = load_climits(m, json_object_get(root, "limits"), eb);
    if (err == SR_E_OK)
        err = load_categories(e, m, root, eb);
    if (err == SR_E_OK)
        err = load_rating(e, m, root, eb);
    if (err == SR_E_OK)
        err = check_commands(m->commands, eb);
    json_decref(root);
    return err;
}

void dlg_complaints_free(struct dialog_engine *e)
{
    struct dlg_complaints *m = e->cmp;
    if (!m)
        return;
    for (size_t i = 0; i < m->n_cats; i++) {
        free(m->cats[i].code);
        for (size_t l = 0; l < DLG_MAX_LANGS; l++) {
            free(m->cats[i].title[l]);
            free(m->cats[i].label[l]);
        }
    }
    for (size_t l = 0; l < DLG_MAX_LANGS; l++)
        for (size_t i = 0; i < DLG_RATING_MAX; i++)
            free(m->rating_labels[l][i]);
    free(m->cats);
    free(m->rating_element);
    json_decref(m->commands);
    free(m);
    e->cmp = NULL;
}

bool dlg_complaints_on(const struct dialog_engine *e, const struct dialog_env *env)
{
    return e->cmp && env->worktime && env->unit_list;
}

const struct dlg_category *dlg_category_find(const struct dialog_engine *e, const char *code)
{
    for (size_t i = 0; code && i < e->cmp->n_cats; i++)
        if (strcasecmp(e->cmp->cats[i].code, code) == 0)
            return &e->cmp->cats[i];
    return NULL;
}

/* ---------------------------------------------------------------- commands */

static bool is_sep(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == ':' || ch == ',' ||
           ch == '.' || ch == '!' || ch == '?';
}

/* Length of phrase matched case-insensitively at the start of text (a space in the phrase
 * matches any run of separators), 0 when it does not match as whole words. */
static size_t phrase_at(const char *text, const char *phrase)
{
    size_t i = 0;
    for (const char *p = phrase; *p; p++) {
        if (*p == ' ') {
            if (!is_sep(text[i]))
                return 0;
            while (is_sep(text[i]))
                i++;
            continue;
        }
        if (tolower((unsigned char)text[i]) != tolower((unsigned char)*p))
            return 0;
        i++;
    }
    return text[i] == '\0' || is_sep(text[i]) ? i : 0;
}

bool dlg_cmd_match(const struct dialog_engine *e, enum dlg_cmd cmd, const char *text, size_t *lang,
                   const char **rest)
{
    if (!e->cmp || !text)
        return false;
    const json_t *def = json_object_get(e->cmp->commands, cmd_names[cmd]);
    size_t best = 0;
    while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')
        text++;
    for (size_t l = 0; l < e->n_langs; l++) {
        const json_t *arr = json_object_get(def, e->langs[l]);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            const char *ph = json_string_value(json_array_get(arr, i));
            size_t n = ph ? phrase_at(text, ph) : 0;
            if (n > best) {
                best = n;
                *lang = l;
            }
        }
    }
    if (!best)
        return false;
    const char *r = text + best;
    while (is_sep(*r))
        r++;
    *rest = r;
    return true;
}

bool dlg_ticket_word(const char *s, char out[DLG_TICKET_LEN], const char **rest)
{
    size_t n = 0;
    while (*s == ' ' || *s == '#' || *s == ':')
        s++;
    while (isalnum((unsigned char)s[n]))
        n++;
    if (n < TICKET_MIN || n > TICKET_MAX || (s[n] && !is_sep(s[n])))
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)toupper((unsigned char)s[i]);
    out[n] = '\0';
    s += n;
    while (is_sep(*s))
        s++;
    if (rest)
        *rest = s;
    return true;
}

const struct sr_officer *dlg_officer_of(const struct dialog_env *env, const char *sender)
{
    if (!env->officer_by_phone || !sender)
        return NULL;
    char digits[40];
    size_t n = 0;
    for (const char *p = sender; *p && n + 1 < sizeof(digits); p++)
        if (isdigit((unsigned char)*p))
            digits[n++] = *p;
    digits[n] = '\0';
    return n ? env->officer_by_phone(env->ud, digits) : NULL;
}

/* ---------------------------------------------------------------- session */

static const char *const cstate_names[] = {
#define DLG_CSTATE_NAME(name, text) text,
    DLG_CSTATES(DLG_CSTATE_NAME)
#undef DLG_CSTATE_NAME
};

void dlg_csession_free(struct dlg_csession *s)
{
    if (!s)
        return;
    free(s->description);
    free(s->unit);
    free(s->category);
    free(s->officer);
    free(s->ticket);
    free(s);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

void dlg_keep_csession(struct dlg_ctx *c, struct dlg_csession *s)
{
    int64_t idle = c->env->session_idle_ms > 0 ? c->env->session_idle_ms : DLG_DEFAULT_IDLE_MS;
    s->expires_at = c->now + idle;
    json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:I, s:I}", "v",
                          DLG_FORMAT, "flow", "complaint", "state", cstate_names[s->state], "lang",
                          c->e->langs[s->lang], "description", str_or_null(s->description), "unit",
                          str_or_null(s->unit), "category", str_or_null(s->category), "officer",
                          str_or_null(s->officer), "officer_asked", s->officer_asked, "ticket",
                          str_or_null(s->ticket), "started_at", (json_int_t)s->started_at,
                          "expires_at", (json_int_t)s->expires_at);
    free(c->out->session);
    c->out->session = o ? json_dumps(o, JSON_COMPACT) : NULL;
    c->out->expires_at_ms = c->out->session ? s->expires_at : 0;
    json_decref(o);
    dlg_csession_free(s);
}

/* An optional string member: absent or null leaves *dst NULL; false for another type. */
static bool opt_str(const json_t *o, const char *key, char **dst)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return false;
    *dst = sr_strdup(json_string_value(v));
    return true;
}

static int cstate_from_name(const char *name)
{
    for (size_t i = 0; name && i < DLG_CS__COUNT; i++)
        if (strcmp(cstate_names[i], name) == 0)
            return (int)i;
    return -1;
}

static bool cdecode(const struct dialog_engine *e, const json_t *o, struct dlg_csession *s)
{
    const char *flow = json_string_value(json_object_get(o, "flow"));
    const json_t *st = json_object_get(o, "started_at"), *ex = json_object_get(o, "expires_at");
    int state = cstate_from_name(json_string_value(json_object_get(o, "state")));
    int lang = dlg_lang_index(e, json_string_value(json_object_get(o, "lang")));
    if (json_integer_value(json_object_get(o, "v")) != DLG_FORMAT || !flow ||
        strcmp(flow, "complaint") != 0 || state < 0 || lang < 0 || !json_is_integer(st) ||
        !json_is_integer(ex))
        return false;
    s->state = (enum dlg_cstate)state;
    s->lang = (size_t)lang;
    s->started_at = json_integer_value(st);
    s->expires_at = json_integer_value(ex);
    s->officer_asked = json_is_true(json_object_get(o, "officer_asked"));
    return opt_str(o, "description", &s->description) && opt_str(o, "unit", &s->unit) &&
           opt_str(o, "category", &s->category) && opt_str(o, "officer", &s->officer) &&
           opt_str(o, "ticket", &s->ticket) &&
           ((s->state != DLG_CS_FILED && s->state != DLG_CS_RATE) || s->ticket);
}

struct dlg_csession *dlg_csession_decode(const struct dialog_engine *e, const char *json,
                                         size_t len)
{
    if (!e->cmp || !json || len == 0 || len > 65536)
        return NULL;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    struct dlg_csession *s = sr_calloc(1, sizeof(*s));
    bool ok = json_is_object(o) && cdecode(e, o, s);
    json_decref(o);
    if (!ok) {
        dlg_csession_free(s);
        return NULL;
    }
    return s;
}

/* ---------------------------------------------------------------- records */

static const char *const rec_states[] = {"open", "acknowledged", "resolved", "closed"};

json_t *dlg_rec_parse(const char *json, size_t len)
{
    if (!json || len == 0)
        return NULL;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    const char *state = json_string_value(json_object_get(o, "state"));
    bool ok = json_is_object(o) && json_integer_value(json_object_get(o, "v")) == 1 &&
              dlg_rec_str(o, "ticket") && dlg_rec_str(o, "unit") && state &&
              json_is_object(json_object_get(o, "escalated"));
    bool known = false;
    for (size_t i = 0; ok && i < sizeof(rec_states) / sizeof(rec_states[0]); i++)
        known = known || strcmp(state, rec_states[i]) == 0;
    if (!ok || !known) {
        json_decref(o);
        return NULL;
    }
    return o;
}

const char *dlg_rec_str(const json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

int64_t dlg_rec_int(const json_t *rec, const char *key)
{
    return json_integer_value(json_object_get(rec, key));
}

bool dlg_rec_state_is(const json_t *rec, const char *state)
{
    const char *s = dlg_rec_str(rec, "state");
    return s && strcmp(s, state) == 0;
}

static bool escalated(const json_t *rec, const char *kind)
{
    return json_is_true(json_object_get(json_object_get(rec, "escalated"), kind));
}

void dlg_rec_write(struct dlg_ctx *c, const json_t *rec, long long expected_version)
{
    struct dialog_complaint_write *w = c->out->complaint;
    if (!w)
        w = c->out->complaint = sr_calloc(1, sizeof(*w));
    free(w->ticket);
    free(w->record);
    free(w->unit);
    bool open = dlg_rec_state_is(rec, "open") || dlg_rec_state_is(rec, "acknowledged");
    w->ticket = sr_strdup(dlg_rec_str(rec, "ticket"));
    w->record = json_dumps(rec, JSON_COMPACT);
    w->unit = sr_strdup(dlg_rec_str(rec, "unit"));
    w->expected_version = expected_version;
    w->open = open;
    bool answered = json_is_integer(json_object_get(rec, "first_response_at"));
    w->due_first_response_ms = open && !answered && !escalated(rec, "first_response")
                                   ? dlg_rec_int(rec, "due_first_response")
                                   : 0;
    w->due_resolution_ms =
        open && !escalated(rec, "resolution") ? dlg_rec_int(rec, "due_resolution") : 0;
}

void dlg_rec_event(struct dlg_ctx *c, const json_t *rec, const char *type, json_t *obj)
{
    json_object_set_new(obj, "ticket", json_string(dlg_rec_str(rec, "ticket")));
    json_object_set_new(obj, "unit", json_string(dlg_rec_str(rec, "unit")));
    dlg_event(c, type, obj);
}

void dlg_rec_feed(struct dlg_ctx *c, const json_t *rec, const char *type, json_t *obj)
{
    json_object_set_new(obj, "type", json_string(type));
    json_object_set_new(obj, "ticket", json_string(dlg_rec_str(rec, "ticket")));
    json_object_set_new(obj, "unit", json_string(dlg_rec_str(rec, "unit")));
    json_object_set_new(obj, "at", json_integer(c->now));
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!s)
        return;
    struct dialog_result *out = c->out;
    out->feed = sr_realloc(out->feed, (out->n_feed + 1) * sizeof(*out->feed));
    out->feed[out->n_feed++] = s;
}

struct sr_reply *dlg_reply_to(struct dlg_ctx *c, const char *channel, const char *to,
                              char *text_taken)
{
    struct sr_reply *r = dlg_reply(c, text_taken);
    free(r->channel);
    free(r->to);
    r->channel = sr_strdup(channel ? channel : "");
    r->to = sr_strdup(to ? to : "");
    return r;
}

const char *dlg_when(const struct dlg_ctx *c, int64_t t, size_t lang, char *buf, size_t n)
{
    return worktime_format(c->env->worktime, t, c->e->langs[lang], buf, n);
}

char *dlg_excerpt(const char *s, size_t max)
{
    if (!s)
        return sr_strdup("");
    if (dlg_utf8_len(s) <= max)
        return sr_strdup(s);
    char *cut = dlg_utf8_clean(s, max > 3 ? max - 3 : max);
    char *out = sr_asprintf("%s...", cut);
    free(cut);
    return out;
}
