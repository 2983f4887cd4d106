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

/* ---- complaints (complaint_data.c) ---- */
/* Command keywords in complaints.json "commands": matched at the start of a message. */
#define DLG_CMDS(X)                                                                                \
    X(COMPLAINT, "complaint")                                                                      \
    X(STATUS, "status")                                                                            \
    X(ACK, "acknowledge")                                                                          \
    X(REPLY, "reply")                                                                              \
    X(RESOLVE, "resolve")                                                                          \
    X(LIST, "list")                                                                                \
    X(YES, "yes")                                                                                  \
    X(NOT_YET, "not_yet")

enum dlg_cmd {
#define DLG_CMD_ENUM(name, text) DLG_CMD_##name,
    DLG_CMDS(DLG_CMD_ENUM)
#undef DLG_CMD_ENUM
        DLG_CMD__COUNT
};

#define DLG_RATING_MAX 4
#define DLG_TICKET_LEN 24 /* buffer size of a ticket (struct dialog_refs.ticket) */

struct dlg_category {
    char *code;
    char *title[DLG_MAX_LANGS]; /* list row title, <= 24 chars */
    char *label[DLG_MAX_LANGS]; /* full label in prompts and notifications */
};

struct dlg_complaints {
    struct dlg_category *cats;
    size_t n_cats, default_cat;
    size_t description_max, description_min, excerpt_chars, list_max, list_excerpt_chars;
    char *rating_element; /* "U8" */
    char *rating_labels[DLG_MAX_LANGS][DLG_RATING_MAX];
    json_t *commands; /* {cmd: {lang: [phrases]}}; only read */
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
    struct dlg_complaints *cmp; /* complaints.json */
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
    const struct dialog_input *in; /* NULL in dialog_expire and dialog_sla_breach */
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

/* --- complaint_data.c: complaints.json, commands, the citizen's complaint session, records --- */
enum sr_err dlg_complaints_load(struct dialog_engine *e, const char *dir, struct sr_errbuf *eb);
void dlg_complaints_free(struct dialog_engine *e);
/* 1 when the engine and env allow complaints (data loaded, worktime and units given). */
bool dlg_complaints_on(const struct dialog_engine *e, const struct dialog_env *env);
/* Does text start with a keyword of cmd (any language)? Sets *lang and *rest (after the
 * keyword and separators, borrowed from text). */
bool dlg_cmd_match(const struct dialog_engine *e, enum dlg_cmd cmd, const char *text, size_t *lang,
                   const char **rest);
/* The first word of s as a ticket (upper case, 4..20 letters/digits) into out; *rest after it. */
bool dlg_ticket_word(const char *s, char out[DLG_TICKET_LEN], const char **rest);
const struct dlg_category *dlg_category_find(const struct dialog_engine *e, const char *code);
/* The officer whose phone is the sender (digits compared), or NULL. */
const struct sr_officer *dlg_officer_of(const struct dialog_env *env, const char *sender);

/* The citizen's complaint session: intake states, then "filed" (last ticket) and "rate". */
#define DLG_CSTATES(X)                                                                             \
    X(DESCRIPTION, "description")                                                                  \
    X(UNIT, "unit")                                                                                \
    X(CATEGORY, "category")                                                                        \
    X(OFFICER, "officer")                                                                          \
    X(CONFIRM, "confirm")                                                                          \
    X(FILED, "filed")                                                                              \
    X(RATE, "rate")

enum dlg_cstate {
#define DLG_CSTATE_ENUM(name, text) DLG_CS_##name,
    DLG_CSTATES(DLG_CSTATE_ENUM)
#undef DLG_CSTATE_ENUM
        DLG_CS__COUNT
};

/* A decoded complaint session; strings owned (NULL = not given yet). */
struct dlg_csession {
    enum dlg_cstate state;
    size_t lang;
    char *description, *unit, *category, *officer, *ticket;
    bool officer_asked;
    int64_t started_at, expires_at;
};
struct dlg_csession *dlg_csession_decode(const struct dialog_engine *e, const char *json,
                                         size_t len);
void dlg_csession_free(struct dlg_csession *s);
/* Stores s as the result's session (expiry = now + idle) and frees it. */
void dlg_keep_csession(struct dlg_ctx *c, struct dlg_csession *s_taken);

/* Complaint records (format in data/README-events.md). */
json_t *dlg_rec_parse(const char *json, size_t len);         /* NULL when absent or invalid */
const char *dlg_rec_str(const json_t *rec, const char *key); /* NULL when absent / null */
int64_t dlg_rec_int(const json_t *rec, const char *key);     /* 0 when absent / null */
bool dlg_rec_state_is(const json_t *rec, const char *state);
/* Sets out->complaint from rec (borrowed): open flag and timers derived from its state. */
void dlg_rec_write(struct dlg_ctx *c, const json_t *rec, long long expected_version);
/* A complaint event: adds "ticket" and "unit" of rec to obj (taken). */
void dlg_rec_event(struct dlg_ctx *c, const json_t *rec, const char *type, json_t *obj_taken);
/* A feed item: adds "type", "ticket", "unit", "at" to obj (taken). */
void dlg_rec_feed(struct dlg_ctx *c, const json_t *rec, const char *type, json_t *obj_taken);
/* A reply to someone other than the sender. */
struct sr_reply *dlg_reply_to(struct dlg_ctx *c, const char *channel, const char *to,
                              char *text_taken);
/* worktime_format of t in lang (static buffer of the caller's size). */
const char *dlg_when(const struct dlg_ctx *c, int64_t t, size_t lang, char *buf, size_t n);
/* Heap copy of s cut to max code points ("..." appended when cut). */
char *dlg_excerpt(const char *s, size_t max);

/* --- complaint.c: the citizen's side --- */
/* Handles the message if it belongs to the complaint flows; false leaves c->out untouched.
 * cs (may be NULL) is the live complaint session, taken in every case. */
bool dlg_complaint_citizen(struct dlg_ctx *c, struct dlg_csession *cs);
/* The ticket a citizen's message refers to (refs). */
void dlg_complaint_citizen_refs(const struct dialog_engine *e, const struct dialog_env *env,
                                const struct sr_inbound *msg, const char *text,
                                const struct dlg_csession *cs, struct dialog_refs *out);

/* --- complaint_officer.c: officers, notifications, SLA --- */
void dlg_officer_step(struct dlg_ctx *c, const struct sr_officer *o);
void dlg_officer_refs(const struct dialog_engine *e, const struct sr_officer *o, const char *text,
                      struct dialog_refs *out);
/* Tells the unit's complaint officers (replies + feed) of a new (key "complaint_officer_new") or
 * reopened complaint. */
void dlg_notify_unit(struct dlg_ctx *c, const json_t *rec, const char *key, const char *feed_type);
void dlg_sla_step(struct dlg_ctx *c, json_t *rec, long long version, const char *kind);
/* The status text of rec in lang (heap). */
char *dlg_status_text(const struct dlg_ctx *c, const json_t *rec, size_t lang);

#endif
