/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The session JSON: the whole state of a live survey, stored by the store between messages.
 *   {"v":1,"flow":"survey","survey":"ikm-petugas","state":"question","q":1,"lang":"id",
 *    "id":"sv-...","officer":"BMK017","officer_name":..,"unit":..,"unit_name":..,
 *    "channel":"wa","to":"6281200000001","citizen":"<hash>","started_at":..,"expires_at":..,
 *    "unclear":0,"answers":{"U3":4}}
 * Decoding trusts nothing: anything missing, of the wrong type, out of range or naming an
 * unknown survey / state / language gives NULL, which the engine treats as "no session".
 */
#include "dialog_int.h"

#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>

#define SESSION_MAX_BYTES 65536
#define UNCLEAR_MAX 1000

void dlg_session_free(struct dlg_session *s)
{
    if (!s)
        return;
    free(s->id);
    free(s->officer);
    free(s->officer_name);
    free(s->unit);
    free(s->unit_name);
    free(s->channel);
    free(s->to);
    free(s->citizen);
    free(s->answers);
    free(s);
}

char *dlg_session_encode(const struct dialog_engine *e, const struct dlg_session *s)
{
    json_t *answers = json_object();
    for (size_t i = 0; i < s->survey->n_elements; i++)
        if (s->answers[i])
            json_object_set_new(answers, s->survey->elements[i].code, json_integer(s->answers[i]));
    json_t *o = json_pack(
        "{s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i, "
        "s:o}",
        "v", DLG_FORMAT, "flow", "survey", "survey", s->survey->id, "state",
        dlg_state_name(s->state), "q", (json_int_t)s->q, "lang", e->langs[s->lang], "id", s->id,
        "officer", s->officer, "officer_name", s->officer_name, "unit", s->unit, "unit_name",
        s->unit_name, "channel", s->channel, "to", s->to, "citizen", s->citizen, "started_at",
        (json_int_t)s->started_at, "expires_at", (json_int_t)s->expires_at, "unclear", s->unclear,
        "answers", answers);
    char *out = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return out;
}

/* A required string member, copied; false when absent or not a string. */
static bool take_str(const json_t *o, const char *key, char **dst)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v)
        return false;
    *dst = sr_strdup(v);
    return true;
}

/* A required integer member within [lo, hi]. */
static bool take_int(const json_t *o, const char *key, json_int_t lo, json_int_t hi,
                     json_int_t *dst)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return false;
    *dst = json_integer_value(v);
    return true;
}

/* answers: only element codes, each within its scale; none beyond the current question. */
static bool take_answers(const json_t *o, struct dlg_session *s)
{
    const json_t *answers = json_object_get(o, "answers");
    if (!json_is_object(answers))
        return false;
    s->answers = sr_calloc(s->survey->n_elements, sizeof(*s->answers));
    for (size_t i = 0; i < s->survey->n_elements; i++) {
        const struct dlg_element *el = &s->survey->elements[i];
        const json_t *v = json_object_get(answers, el->code);
        if (!v)
            continue;
        json_int_t n = json_integer_value(v);
        if (!json_is_integer(v) || n < 1 || n > (json_int_t)el->scale->n || i >= s->q)
            return false;
        s->answers[i] = (int)n;
    }
    return true;
}

static bool decode_fields(const struct dialog_engine *e, const json_t *o, struct dlg_session *s)
{
    json_int_t v, q, unclear, started, expires;
    int state, lang;
    const char *flow = json_string_value(json_object_get(o, "flow"));
    if (!take_int(o, "v", DLG_FORMAT, DLG_FORMAT, &v) || !flow || strcmp(flow, "survey") != 0)
        return false;
    s->survey = dlg_survey_find(e, json_string_value(json_object_get(o, "survey")));
    state = dlg_state_from_name(json_string_value(json_object_get(o, "state")));
    lang = dlg_lang_index(e, json_string_value(json_object_get(o, "lang")));
    if (!s->survey || state < 0 || lang < 0)
        return false;
    s->state = (enum dlg_state)state;
    s->lang = (size_t)lang;
    json_int_t n = (json_int_t)s->survey->n_elements;
    if (!take_int(o, "q", 0, s->state == DLG_ST_QUESTION ? n - 1 : n, &q) ||
        (s->state == DLG_ST_COMMENT && (q != n || !s->survey->ask_comment)))
        return false;
    s->q = (size_t)q;
    if (!take_int(o, "unclear", 0, UNCLEAR_MAX, &unclear))
        return false;
    s->unclear = (int)unclear;
    if (!take_int(o, "started_at", 0, INT64_MAX, &started) ||
        !take_int(o, "expires_at", 0, INT64_MAX, &expires))
        return false;
    s->started_at = started;
    s->expires_at = expires;
    return take_str(o, "id", &s->id) && take_str(o, "officer", &s->officer) &&
           take_str(o, "officer_name", &s->officer_name) && take_str(o, "unit", &s->unit) &&
           take_str(o, "unit_name", &s->unit_name) && take_str(o, "channel", &s->channel) &&
           take_str(o, "to", &s->to) && take_str(o, "citizen", &s->citizen) && take_answers(o, s);
}

struct dlg_session *dlg_session_decode(const struct dialog_engine *e, const char *json, size_t len)
{
    if (!json || len == 0 || len > SESSION_MAX_BYTES)
        return NULL;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    struct dlg_session *s = sr_calloc(1, sizeof(*s));
    bool ok = json_is_object(o) && decode_fields(e, o, s);
    json_decref(o);
    if (!ok) {
        dlg_session_free(s);
        return NULL;
    }
    return s;
}
