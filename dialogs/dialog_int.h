/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Module-internal declarations of the dialog engine, shared by dialog.c (engine, step dispatch,
 * result building), session.c (session JSON), catalog.c (message catalogs), intent.c (PCRE2
 * intents and answers), survey.c (survey definitions and the survey state table) and text.c
 * (UTF-8 helpers). Nothing here is part of the public API (dialog.h).
 *
 * Everything reachable from struct dialog_engine is read-only after dialog_engine_load().
 */
#ifndef DIALOG_INT_H
#define DIALOG_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include "dialog.h"

#include <jansson.h>
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DLG_MAX_LANGS 4
#define DLG_MAX_OPTIONS SR_REPLY_MAX_OPTIONS
#define DLG_FORMAT 1 /* format version of every data file and of the session JSON */
#define DLG_DEFAULT_IDLE_MS (30 * 60 * 1000)
#define DLG_BUTTON_TITLE_MAX 20 /* WhatsApp reply button title */
#define DLG_LIST_TITLE_MAX 24   /* WhatsApp list row title */
#define DLG_MAX_BUTTONS 3

/* Whole-message intents (the start command is searched separately, see dlg_find_start). */
#define DLG_INTENTS(X)                                                                             \
    X(CANCEL, "cancel")                                                                            \
    X(HELP, "help")                                                                                \
    X(SKIP, "skip")                                                                                \
    X(LANGUAGE, "language")

enum dlg_intent {
#define DLG_INTENT_ENUM(name, text) DLG_INTENT_##name,
    DLG_INTENTS(DLG_INTENT_ENUM)
#undef DLG_INTENT_ENUM
        DLG_INTENT__COUNT
};

struct dlg_limits {
    size_t input_max_chars;   /* inbound text is cut to this many code points before matching */
    size_t comment_max_chars; /* stored comment length */
    size_t code_max_len;      /* officer code candidates longer than this are not looked up */
    size_t code_tokens;       /* how many words after the start keyword are searched for a code */
    size_t match_limit;       /* PCRE2 match limit */
    size_t depth_limit;       /* PCRE2 depth limit */
};

/* Compiled patterns; NULL where a language has no phrases for an intent or value. */
struct dlg_patterns {
    pcre2_code *core;                                     /* first..last letter or digit */
    pcre2_code *digit;                                    /* leading answer digit */
    pcre2_code *token;                                    /* officer-code-shaped word */
    pcre2_code *start[DLG_MAX_LANGS];                     /* NILAI / RATE keyword, anywhere */
    pcre2_code *intent[DLG_INTENT__COUNT][DLG_MAX_LANGS]; /* whole message */
    pcre2_code *answer[DLG_MAX_LANGS][DLG_MAX_OPTIONS];   /* [lang][value - 1], anywhere */
    pcre2_match_context *mctx;                            /* match and depth limits */
};

struct dlg_scale {
    char *name;
    size_t n; /* options, values 1..n */
    char *labels[DLG_MAX_LANGS][DLG_MAX_OPTIONS];
};

struct dlg_element {
    char *code; /* "U3", "KEPUASAN" */
    const struct dlg_scale *scale;
    char *question[DLG_MAX_LANGS];
};

struct dlg_survey {
    char *id;
    struct dlg_scale *scales;
    size_t n_scales;
    struct dlg_element *elements;
    size_t n_elements;
    bool ask_comment;
};

struct dialog_engine {
    char *langs[DLG_MAX_LANGS];
    size_t n_langs;
    json_t *catalog[DLG_MAX_LANGS]; /* "texts" object per language; only read */
    struct dlg_survey *surveys;
    size_t n_surveys;
    size_t default_survey;
    struct dlg_limits lim;
    struct dlg_patterns pat;
};

/* Survey states: enum, name stored in the session JSON, and the (static, survey.c) functions
 * that ask the state's prompt and take a text answer in it. */
#define DLG_STATES(X)                                                                              \
    X(QUESTION, "question", ask_question, take_question)                                           \
    X(COMMENT, "comment", ask_comment, take_comment)

enum dlg_state {
#define DLG_STATE_ENUM(name, text, ask, take) DLG_ST_##name,
    DLG_STATES(DLG_STATE_ENUM)
#undef DLG_STATE_ENUM
        DLG_ST__COUNT
};

/* A decoded, live survey session. Strings are owned (heap) and freed by dlg_session_free. */
struct dlg_session {
    const struct dlg_survey *survey; /* borrowed from the engine */
    enum dlg_state state;
    size_t q;    /* current element index in QUESTION */
    size_t lang; /* index into engine->langs */
    char *id, *officer, *officer_name, *unit, *unit_name;
    char *channel, *to, *citizen; /* for the expiry notice; `to` is operational state only */
    int64_t started_at, expires_at;
    int *answers; /* n_elements entries, 0 = not answered */
    int unclear;  /* unclear answers in a row */
};

/* The input of one step, after sanitising. */
struct dlg_ctx {
    const struct dialog_engine *e;
    const struct dialog_env *env;
    const struct sr_inbound *msg; /* NULL in dialog_expire */
    const char *channel, *to, *citizen, *event_base;
    int64_t now;
    char *text; /* sanitised, capped message text (heap; NULL only in dialog_expire) */
    char *norm; /* text between first and last letter/digit (heap; NULL in dialog_expire) */
    struct dialog_result *out;
};

/* --- text.c: UTF-8 helpers --- */
/* A growing heap string; zero-initialise, read .s (NULL until something was added). */
struct dlg_buf {
    char *s;
    size_t len, cap;
};
void dlg_buf_add(struct dlg_buf *b, const char *s, size_t n);
void dlg_buf_str(struct dlg_buf *b, const char *s);
/* Copies s (NULL = "") replacing invalid UTF-8 with U+FFFD and cutting at max_chars code
 * points. Returns a heap string. */
char *dlg_utf8_clean(const char *s, size_t max_chars);
size_t dlg_utf8_len(const char *s); /* code points of valid UTF-8 */
/* Heap copy of s without leading/trailing ASCII whitespace. */
char *dlg_trim(const char *s);
/* Replaces {name} placeholders from the vars[] pairs (name, value); unknown ones are kept.
 * Returns a heap string. */
char *dlg_format(const char *tmpl, const char *const *vars, size_t n_vars);
/* Reads a whole file into a jansson value; NULL and eb filled on error. */
json_t *dlg_load_json(const char *dir, const char *rel, struct sr_errbuf *eb);

/* --- catalog.c --- */
enum sr_err dlg_catalog_load(struct dialog_engine *e, const char *dir, struct sr_errbuf *eb);
void dlg_catalog_free(struct dialog_engine *e);
/* The template of key in lang, falling back to the first language, then to the key itself. */
const char *dlg_text(const struct dialog_engine *e, size_t lang, const char *key);
/* dlg_text + dlg_format. Heap string. */
char *dlg_render(const struct dialog_engine *e, size_t lang, const char *key,
                 const char *const *vars, size_t n_vars);
/* Index of a language code, or -1. */
int dlg_lang_index(const struct dialog_engine *e, const char *code);

/* --- intent.c --- */
enum sr_err dlg_patterns_load(struct dialog_engine *e, const char *dir, struct sr_errbuf *eb);
void dlg_patterns_free(struct dlg_patterns *p);
/* The message text between its first and last letter/digit (heap; "" when none). */
char *dlg_normalize(const struct dialog_engine *e, const char *text);
/* Whole-message intent: returns true and the language index whose phrase matched. */
bool dlg_match_intent(const struct dialog_engine *e, enum dlg_intent it, const char *norm,
                      size_t *lang);
/* Answer value 1..max from a digit or the vocabulary; 0 when unclear or contradictory. */
int dlg_match_answer(const struct dialog_engine *e, const char *norm, int max);

/* A start command found in a message. */
struct dlg_start {
    size_t lang;
    const struct sr_officer *officer; /* NULL when no candidate was known */
    char *code;                       /* heap: the code to show when unknown; NULL when none */
};
/* Searches norm for a start keyword; false when there is none. When true, tries officer-code
 * candidates after the keyword through env->officer_lookup. st->code must be freed. */
bool dlg_find_start(const struct dialog_engine *e, const struct dialog_env *env, const char *norm,
                    struct dlg_start *st);

/* --- survey.c --- */
enum sr_err dlg_surveys_load(struct dialog_engine *e, const char *dir, const json_t *ids,
                             struct sr_errbuf *eb);
void dlg_surveys_free(struct dialog_engine *e);
const struct dlg_survey *dlg_survey_find(const struct dialog_engine *e, const char *id);
const char *dlg_state_name(enum dlg_state s);
int dlg_state_from_name(const char *name); /* -1 if unknown */
/* Starts the default survey for an officer: event, greeting + first question, new session. */
void dlg_survey_start(struct dlg_ctx *c, const struct sr_officer *o, size_t lang);
/* Handles one message for a live session (taken: freed or stored by the call). */
void dlg_survey_step(struct dlg_ctx *c, struct dlg_session *s);
/* The survey_abandoned event of s (idle expiry or replaced by a new start). */
void dlg_survey_abandon(struct dlg_ctx *c, const struct dlg_session *s);

/* --- session.c --- */
/* NULL for no session or anything undecodable. */
struct dlg_session *dlg_session_decode(const struct dialog_engine *e, const char *json, size_t len);
char *dlg_session_encode(const struct dialog_engine *e, const struct dlg_session *s);
void dlg_session_free(struct dlg_session *s);

/* --- dialog.c: building the result --- */
/* Appends a reply to the citizen (channel/to from the context); returns it for options. */
struct sr_reply *dlg_reply(struct dlg_ctx *c, char *text_taken);
/* Appends an event: adds "id", "type", "at" to obj and takes it. */
void dlg_event(struct dlg_ctx *c, const char *type, json_t *obj_taken);
/* Stores s as the result's session (encoded, expiry = now + idle) and frees it. */
void dlg_keep_session(struct dlg_ctx *c, struct dlg_session *s_taken);
/* Help text in lang. */
void dlg_help(struct dlg_ctx *c, size_t lang);

#endif
