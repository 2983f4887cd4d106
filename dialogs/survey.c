/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The survey flow. Definitions come from data/surveys/<id>.json (elements with code, scale and
 * question per language; scales with option labels per language; whether a comment is asked).
 * A live survey is in one of the states of the table below; each inbound message is first
 * classified (other media, cancel, help, language switch, or text) and dispatched through the
 * input table, text going to the state's own handler. Events follow store/evalstore.h.
 */
#include "dialog_int.h"

#include "sr_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNCLEAR_REPEAT 3 /* from this many unclear answers in a row, the longer hint */
#define CODE_MAX 32      /* element codes */

/* ---------------------------------------------------------------- definitions */

static enum sr_err load_labels(const struct dialog_engine *e, struct dlg_scale *sc,
                               const json_t *def, const char *rel, struct sr_errbuf *eb)
{
    for (size_t l = 0; l < e->n_langs; l++) {
        const json_t *arr = json_object_get(def, e->langs[l]);
        size_t n = json_array_size(arr);
        if (l == 0)
            sc->n = n;
        if (n < 2 || n > DLG_MAX_OPTIONS || n != sc->n)
            return sr_errf(eb, SR_E_CONFIG, "%s: scale %s.%s needs 2..%d labels, as many as %s",
                           rel, sc->name, e->langs[l], DLG_MAX_OPTIONS, e->langs[0]);
        size_t max = n <= DLG_MAX_BUTTONS ? DLG_BUTTON_TITLE_MAX : DLG_LIST_TITLE_MAX;
        for (size_t i = 0; i < n; i++) {
            const char *lab = json_string_value(json_array_get(arr, i));
            if (!lab || !lab[0] || dlg_utf8_len(lab) > max)
                return sr_errf(eb, SR_E_CONFIG, "%s: scale %s.%s label %zu empty or over %zu chars",
                               rel, sc->name, e->langs[l], i + 1, max);
            sc->labels[l][i] = sr_strdup(lab);
        }
    }
    return SR_E_OK;
}

static enum sr_err load_scales(const struct dialog_engine *e, struct dlg_survey *s,
                               const json_t *scales, const char *rel, struct sr_errbuf *eb)
{
    if (!json_is_object(scales) || json_object_size(scales) == 0)
        return sr_errf(eb, SR_E_CONFIG, "%s: no \"scales\" object", rel);
    s->scales = sr_calloc(json_object_size(scales), sizeof(*s->scales));
    const char *name;
    json_t *def;
    json_object_foreach((json_t *)scales, name, def)
    {
        struct dlg_scale *sc = &s->scales[s->n_scales++];
        sc->name = sr_strdup(name);
        enum sr_err err = load_labels(e, sc, def, rel, eb);
        if (err != SR_E_OK)
            return err;
    }
    return SR_E_OK;
}

static const struct dlg_scale *scale_find(const struct dlg_survey *s, const char *name)
{
    for (size_t i = 0; name && i < s->n_scales; i++)
        if (strcmp(s->scales[i].name, name) == 0)
            return &s->scales[i];
    return NULL;
}

static enum sr_err load_element(const struct dialog_engine *e, struct dlg_survey *s,
                                struct dlg_element *el, const json_t *def, const char *rel,
                                struct sr_errbuf *eb)
{
    const char *code = json_string_value(json_object_get(def, "code"));
    if (!code || !code[0] || strlen(code) > CODE_MAX)
        return sr_errf(eb, SR_E_CONFIG, "%s: element without a valid \"code\"", rel);
    el->code = sr_strdup(code);
    el->scale = scale_find(s, json_string_value(json_object_get(def, "scale")));
    if (!el->scale)
        return sr_errf(eb, SR_E_CONFIG, "%s: element %s names no known scale", rel, code);
    for (size_t l = 0; l < e->n_langs; l++) {
        const char *q =
            json_string_value(json_object_get(json_object_get(def, "question"), e->langs[l]));
        if (!q || !q[0])
            return sr_errf(eb, SR_E_CONFIG, "%s: element %s has no question in %s", rel, code,
                           e->langs[l]);
        el->question[l] = sr_strdup(q);
    }
    return SR_E_OK;
}

static enum sr_err load_survey(const struct dialog_engine *e, struct dlg_survey *s,
                               const json_t *root, const char *rel, struct sr_errbuf *eb)
{
    enum sr_err err = load_scales(e, s, json_object_get(root, "scales"), rel, eb);
    const json_t *els = json_object_get(root, "elements");
    if (err == SR_E_OK && json_array_size(els) == 0)
        err = sr_errf(eb, SR_E_CONFIG, "%s: no \"elements\"", rel);
    if (err == SR_E_OK)
        s->elements = sr_calloc(json_array_size(els), sizeof(*s->elements));
    for (size_t i = 0; err == SR_E_OK && i < json_array_size(els); i++) {
        err = load_element(e, s, &s->elements[i], json_array_get(els, i), rel, eb);
        s->n_elements++;
    }
    s->ask_comment = json_is_true(json_object_get(root, "comment"));
    return err;
}

enum sr_err dlg_surveys_load(struct dialog_engine *e, const char *dir, const json_t *ids,
                             struct sr_errbuf *eb)
{
    if (json_array_size(ids) == 0)
        return sr_errf(eb, SR_E_CONFIG, "dialogs.json: \"surveys\" lists no survey");
    e->surveys = sr_calloc(json_array_size(ids), sizeof(*e->surveys));
    for (size_t i = 0; i < json_array_size(ids); i++) {
        const char *id = json_string_value(json_array_get(ids, i));
        if (!id || !id[0] || strchr(id, '/') || id[0] == '.')
            return sr_errf(eb, SR_E_CONFIG, "dialogs.json: bad survey id at %zu", i);
        struct dlg_survey *s = &e->surveys[e->n_surveys++];
        s->id = sr_strdup(id);
        char *rel = sr_asprintf("surveys/%s.json", id);
        json_t *root = dlg_load_json(dir, rel, eb);
        enum sr_err err = root ? SR_E_OK : SR_E_CONFIG;
        const char *file_id = root ? json_string_value(json_object_get(root, "id")) : NULL;
        if (root && (!file_id || strcmp(file_id, id) != 0))
            err = sr_errf(eb, SR_E_CONFIG, "%s: \"id\" must be \"%s\"", rel, id);
        if (err == SR_E_OK)
            err = load_survey(e, s, root, rel, eb);
        json_decref(root);
        free(rel);
        if (err != SR_E_OK)
            return err;
    }
    return SR_E_OK;
}

void dlg_surveys_free(struct dialog_engine *e)
{
    for (size_t i = 0; i < e->n_surveys; i++) {
        struct dlg_survey *s = &e->surveys[i];
        for (size_t j = 0; j < s->n_elements; j++) {
            free(s->elements[j].code);
            for (size_t l = 0; l < DLG_MAX_LANGS; l++)
                free(s->elements[j].question[l]);
        }
        for (size_t j = 0; j < s->n_scales; j++) {
            free(s->scales[j].name);
            for (size_t l = 0; l < DLG_MAX_LANGS; l++)
                for (size_t k = 0; k < DLG_MAX_OPTIONS; k++)
                    free(s->scales[j].labels[l][k]);
        }
        free(s->elements);
        free(s->scales);
        free(s->id);
    }
    free(e->surveys);
    e->surveys = NULL;
    e->n_surveys = 0;
}

const struct dlg_survey *dlg_survey_find(const struct dialog_engine *e, const char *id)
{
    for (size_t i = 0; id && i < e->n_surveys; i++)
        if (strcmp(e->surveys[i].id, id) == 0)
            return &e->surveys[i];
    return NULL;
}

/* ---------------------------------------------------------------- events */

/* The fields every survey event carries. */
static json_t *event_fields(const struct dlg_ctx *c, const struct dlg_session *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "channel", c->channel, "citizen", c->citizen,
                     "session", s->id, "survey", s->survey->id, "officer", s->officer, "unit",
                     s->unit);
}

static void event_with_start(struct dlg_ctx *c, const struct dlg_session *s, const char *type)
{
    json_t *ev = event_fields(c, s);
    json_object_set_new(ev, "started_at", json_integer(s->started_at));
    dlg_event(c, type, ev);
}

void dlg_survey_abandon(struct dlg_ctx *c, const struct dlg_session *s)
{
    event_with_start(c, s, "survey_abandoned");
}

static void event_completed(struct dlg_ctx *c, const struct dlg_session *s, const char *comment)
{
    json_t *ev = event_fields(c, s), *answers = json_object();
    for (size_t i = 0; i < s->survey->n_elements; i++)
        if (s->answers[i])
            json_object_set_new(answers, s->survey->elements[i].code, json_integer(s->answers[i]));
    json_object_set_new(ev, "started_at", json_integer(s->started_at));
    json_object_set_new(ev, "answers", answers);
    json_object_set_new(ev, "comment", comment ? json_string(comment) : json_null());
    json_object_set_new(ev, "language", json_string(c->e->langs[s->lang]));
    dlg_event(c, "survey_completed", ev);
}

/* ---------------------------------------------------------------- asking */

/* Joins prefix (may be NULL, taken) and body (taken) with a blank line. */
static char *join(char *prefix, char *body)
{
    if (!prefix)
        return body;
    char *s = sr_asprintf("%s\n\n%s", prefix, body);
    free(prefix);
    free(body);
    return s;
}

static void ask_question(struct dlg_ctx *c, const struct dlg_session *s, char *prefix)
{
    const struct dlg_element *el = &s->survey->elements[s->q];
    char n[24], total[24];
    snprintf(n, sizeof(n), "%zu", s->q + 1);
    snprintf(total, sizeof(total), "%zu", s->survey->n_elements);
    const char *qv[] = {"officer", s->officer_name, "unit", s->unit_name};
    char *question = dlg_format(el->question[s->lang], qv, 2);
    const char *vars[] = {"n", n, "total", total, "question", question};
    char *body = dlg_render(c->e, s->lang, "question", vars, 3);
    free(question);
    struct sr_reply *r = dlg_reply(c, join(prefix, body));
    const struct dlg_scale *sc = el->scale;
    r->style = sc->n <= DLG_MAX_BUTTONS ? SR_REPLY_BUTTONS : SR_REPLY_LIST;
    if (r->style == SR_REPLY_LIST)
        r->list_button = sr_strdup(dlg_text(c->e, s->lang, "list_button"));
    for (size_t i = 0; i < sc->n; i++) {
        r->options[i].id = sr_asprintf("%zu", i + 1);
        r->options[i].title = sr_strdup(sc->labels[s->lang][i]);
    }
    r->n_options = sc->n;
}

static void ask_comment(struct dlg_ctx *c, const struct dlg_session *s, char *prefix)
{
    const char *vars[] = {"officer", s->officer_name, "unit", s->unit_name};
    dlg_reply(c, join(prefix, dlg_render(c->e, s->lang, "comment_prompt", vars, 2)));
}

/* A catalog text with the current scale size as {max}. */
static char *hint(const struct dlg_ctx *c, const struct dlg_session *s, const char *key)
{
    char max[24];
    size_t n = s->state == DLG_ST_QUESTION ? s->survey->elements[s->q].scale->n : 0;
    snprintf(max, sizeof(max), "%zu", n);
    const char *vars[] = {"max", max};
    return dlg_render(c->e, s->lang, key, vars, 1);
}

/* ---------------------------------------------------------------- the state table */

static void take_question(struct dlg_ctx *c, struct dlg_session *s);
static void take_comment(struct dlg_ctx *c, struct dlg_session *s);

static const struct state_def {
    const char *name;
    void (*ask)(struct dlg_ctx *c, const struct dlg_session *s, char *prefix_taken);
    void (*take)(struct dlg_ctx *c, struct dlg_session *s_taken); /* a text answer */
} states[DLG_ST__COUNT] = {
#define DLG_STATE_ROW(name, text, ask_fn, take_fn) [DLG_ST_##name] = {text, ask_fn, take_fn},
    DLG_STATES(DLG_STATE_ROW)
#undef DLG_STATE_ROW
};

const char *dlg_state_name(enum dlg_state st)
{
    return (size_t)st < DLG_ST__COUNT ? states[st].name : "unknown";
}

int dlg_state_from_name(const char *name)
{
    for (size_t i = 0; name && i < DLG_ST__COUNT; i++)
        if (strcmp(states[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void ask(struct dlg_ctx *c, const struct dlg_session *s, char *prefix)
{
    states[s->state].ask(c, s, prefix);
}

/* ---------------------------------------------------------------- transitions */

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

void dlg_survey_start(struct dlg_ctx *c, const struct sr_officer *o, size_t lang)
{
    const struct dlg_survey *sv = &c->e->surveys[c->e->default_survey];
    struct dlg_session *s = sr_calloc(1, sizeof(*s));
    s->survey = sv;
    s->lang = lang;
    s->id = sr_asprintf("sv-%016llx", (unsigned long long)fnv1a64(c->event_base));
    s->officer = sr_strdup(o->code ? o->code : "");
    s->officer_name = sr_strdup(o->name ? o->name : s->officer);
    s->unit = sr_strdup(o->unit_code ? o->unit_code : "");
    s->unit_name = sr_strdup(o->unit_name ? o->unit_name : s->unit);
    s->channel = sr_strdup(c->channel);
    s->to = sr_strdup(c->to);
    s->citizen = sr_strdup(c->citizen);
    s->started_at = c->now;
    s->answers = sr_calloc(sv->n_elements, sizeof(*s->answers));

    json_t *ev = event_fields(c, s);
    json_object_set_new(ev, "language", json_string(c->e->langs[lang]));
    dlg_event(c, "survey_started", ev);

    char total[24];
    snprintf(total, sizeof(total), "%zu", sv->n_elements);
    const char *vars[] = {"officer", s->officer_name, "unit", s->unit_name, "total", total};
    ask(c, s, dlg_render(c->e, lang, "greeting", vars, 3));
    c->out->outcome = DIALOG_SURVEY_STARTED;
    dlg_keep_session(c, s);
}

static void complete(struct dlg_ctx *c, struct dlg_session *s, const char *comment)
{
    event_completed(c, s, comment);
    const char *vars[] = {"officer", s->officer_name, "unit", s->unit_name};
    dlg_reply(c, dlg_render(c->e, s->lang, "thanks", vars, 2));
    c->out->outcome = DIALOG_SURVEY_COMPLETED;
    dlg_session_free(s);
}

static void advance(struct dlg_ctx *c, struct dlg_session *s)
{
    s->q++;
    if (s->q >= s->survey->n_elements && !s->survey->ask_comment) {
        complete(c, s, NULL);
        return;
    }
    if (s->q >= s->survey->n_elements)
        s->state = DLG_ST_COMMENT;
    ask(c, s, NULL);
    c->out->outcome = DIALOG_SURVEY_ANSWERED;
    dlg_keep_session(c, s);
}

/* The value of a button / list reply whose payload is one of our option ids, else 0. */
static int payload_value(const struct dlg_ctx *c, int max)
{
    const struct sr_inbound *m = c->msg;
    if (!m || (m->kind != SR_IN_BUTTON && m->kind != SR_IN_LIST) || !m->payload)
        return 0;
    int v = 0;
    for (const char *p = m->payload; *p; p++) {
        if (*p < '0' || *p > '9' || v > max)
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v >= 1 && v <= max ? v : 0;
}

static void take_question(struct dlg_ctx *c, struct dlg_session *s)
{
    int max = (int)s->survey->elements[s->q].scale->n;
    int v = payload_value(c, max);
    if (!v)
        v = dlg_match_answer(c->e, c->norm, max);
    if (v) {
        s->answers[s->q] = v;
        s->unclear = 0;
        advance(c, s);
        return;
    }
    struct dlg_start st;
    if (dlg_find_start(c->e, c->env, c->norm, &st) && st.officer) {
        dlg_survey_abandon(c, s); /* the citizen moved on to another officer */
        dlg_session_free(s);
        dlg_survey_start(c, st.officer, st.lang);
        free(st.code);
        return;
    }
    free(st.code);
    s->unclear++;
    ask(c, s, hint(c, s, s->unclear >= UNCLEAR_REPEAT ? "reask_hint_repeat" : "reask_hint"));
    c->out->outcome = DIALOG_SURVEY_REASKED;
    dlg_keep_session(c, s);
}

static void take_comment(struct dlg_ctx *c, struct dlg_session *s)
{
    size_t lang;
    if (!c->norm[0] || dlg_match_intent(c->e, DLG_INTENT_SKIP, c->norm, &lang)) {
        complete(c, s, NULL);
        return;
    }
    char *trimmed = dlg_trim(c->text);
    char *comment = dlg_utf8_clean(trimmed, c->e->lim.comment_max_chars);
    complete(c, s, comment);
    free(comment);
    free(trimmed);
}

/* ---------------------------------------------------------------- inputs */

enum input { IN_OTHER, IN_CANCEL, IN_HELP, IN_LANGUAGE, IN_TEXT };

static enum input classify(const struct dlg_ctx *c, const struct dlg_session *s, size_t *lang)
{
    static const struct {
        enum dlg_intent intent;
        enum input input;
    } commands[] = {{DLG_INTENT_CANCEL, IN_CANCEL},
                    {DLG_INTENT_HELP, IN_HELP},
                    {DLG_INTENT_LANGUAGE, IN_LANGUAGE}};
    if (c->msg && c->msg->kind == SR_IN_OTHER)
        return IN_OTHER;
    if (s->state == DLG_ST_QUESTION && payload_value(c, DLG_MAX_OPTIONS))
        return IN_TEXT;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (dlg_match_intent(c->e, commands[i].intent, c->norm, lang))
            return commands[i].input;
    return IN_TEXT;
}

static void on_other(struct dlg_ctx *c, struct dlg_session *s, size_t lang)
{
    (void)lang;
    ask(c, s, dlg_render(c->e, s->lang, "other_hint", NULL, 0));
    c->out->outcome = DIALOG_SURVEY_REASKED;
    dlg_keep_session(c, s);
}

static void on_cancel(struct dlg_ctx *c, struct dlg_session *s, size_t lang)
{
    (void)lang;
    event_with_start(c, s, "survey_cancelled");
    dlg_reply(c, dlg_render(c->e, s->lang, "cancelled", NULL, 0));
    c->out->outcome = DIALOG_SURVEY_CANCELLED;
    dlg_session_free(s);
}

static void on_help(struct dlg_ctx *c, struct dlg_session *s, size_t lang)
{
    (void)lang;
    dlg_help(c, s->lang);
    ask(c, s, NULL);
    c->out->outcome = DIALOG_HELP;
    dlg_keep_session(c, s);
}

static void on_language(struct dlg_ctx *c, struct dlg_session *s, size_t lang)
{
    s->lang = lang;
    ask(c, s, dlg_render(c->e, s->lang, "language_switched", NULL, 0));
    c->out->outcome = DIALOG_NONE;
    dlg_keep_session(c, s);
}

static void on_text(struct dlg_ctx *c, struct dlg_session *s, size_t lang)
{
    (void)lang;
    states[s->state].take(c, s);
}

static void (*const on_input[])(struct dlg_ctx *, struct dlg_session *, size_t) = {
    [IN_OTHER] = on_other,       [IN_CANCEL] = on_cancel, [IN_HELP] = on_help,
    [IN_LANGUAGE] = on_language, [IN_TEXT] = on_text,
};

void dlg_survey_step(struct dlg_ctx *c, struct dlg_session *s)
{
    size_t lang = s->lang;
    enum input in = classify(c, s, &lang);
    on_input[in](c, s, lang);
}
