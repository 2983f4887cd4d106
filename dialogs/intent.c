/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intents and answers, through PCRE2. The phrases live in data files (intents.json, answers/
 * <lang>.json); at load each phrase list becomes one pattern (longest phrase first, words joined
 * by "any run of non-letters", so "kurang-baik" and "kurang  baik" match "kurang baik"),
 * compiled once with UTF, UCP and CASELESS and JIT-compiled when the JIT is available. Every
 * match runs under the engine's match context (match and depth limits) with match data
 * allocated per call, so the compiled patterns are shared read-only by all threads.
 *
 * Answers: the vocabulary of every language is searched; where two phrases overlap the longer
 * one wins ("tidak baik" is 1, not 3), and phrases of different values that do not overlap make
 * the answer unclear, as does a leading digit that disagrees with the words.
 */
#include "dialog_int.h"

#include "sr_mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define RE_FLAGS                                                                                   \
    (PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS | PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY |                \
     PCRE2_MATCH_INVALID_UTF)
#define RE_WORD_BEFORE "(?<![\\p{L}\\p{N}])"
#define RE_WORD_AFTER "(?![\\p{L}\\p{N}])"
#define MAX_HITS 64
#define MAX_TOKENS 16

/* Structural patterns (no vocabulary): the core of a message, a leading number, a code word. */
static const char RE_CORE[] = "[\\p{L}\\p{N}](?:.*[\\p{L}\\p{N}])?";
static const char RE_DIGIT[] = "^([0-9]{1,3})" RE_WORD_AFTER;
static const char RE_TOKEN[] = "[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*";

static pcre2_code *re_compile(const char *src, const char *what, struct sr_errbuf *eb)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED, RE_FLAGS, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof(msg));
        sr_errf(eb, SR_E_CONFIG, "%s: pattern error at offset %zu: %s", what, (size_t)off,
                (const char *)msg);
        return NULL;
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* no JIT: the interpreter is used */
    return re;
}

/* One match of re in s from off: true with ov = {start, end, group1 start, group1 end}. */
static bool re_find(const struct dialog_engine *e, const pcre2_code *re, const char *s, size_t off,
                    size_t ov[4])
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md)
        return false;
    int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), off, 0, md, e->pat.mctx);
    if (rc > 0) {
        const PCRE2_SIZE *v = pcre2_get_ovector_pointer(md);
        ov[0] = v[0];
        ov[1] = v[1];
        ov[2] = rc > 1 ? v[2] : PCRE2_UNSET;
        ov[3] = rc > 1 ? v[3] : PCRE2_UNSET;
    }
    pcre2_match_data_free(md);
    return rc > 0; /* no match, match limit and other errors all mean "not found" */
}

/* Appends phrase as a regex: ASCII punctuation escaped, separators become a non-letter run. */
static bool phrase_regex(struct dlg_buf *b, const char *phrase)
{
    size_t start = b->len;
    for (const char *p = phrase; *p;) {
        unsigned char ch = (unsigned char)*p;
        if (ch == ' ' || ch == '-' || ch == '_') {
            p += strspn(p, " -_");
            if (b->len > start && *p)
                dlg_buf_str(b, "[^\\p{L}\\p{N}]+");
            continue;
        }
        if (ch < 0x80 && !isalnum(ch))
            dlg_buf_add(b, "\\", 1);
        dlg_buf_add(b, p, 1);
        p++;
    }
    return b->len > start;
}

static int by_length_desc(const void *a, const void *b)
{
    size_t la = strlen(*(const char *const *)a), lb = strlen(*(const char *const *)b);
    return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Compiles prefix (?:phrase|...) suffix from a JSON array of phrases; NULL arr gives NULL. */
static enum sr_err compile_list(const json_t *arr, const char *prefix, const char *suffix,
                                const char *what, pcre2_code **out, struct sr_errbuf *eb)
{
    *out = NULL;
    if (!arr)
        return SR_E_OK;
    size_t n = json_array_size(arr);
    if (!json_is_array(arr) || n == 0)
        return sr_errf(eb, SR_E_CONFIG, "%s: not a non-empty array of phrases", what);
    const char **ph = sr_calloc(n, sizeof(*ph));
    for (size_t i = 0; i < n; i++)
        ph[i] = json_string_value(json_array_get(arr, i));
    struct dlg_buf b = {0};
    dlg_buf_str(&b, prefix);
    dlg_buf_str(&b, "(?:");
    enum sr_err err = SR_E_OK;
    for (size_t i = 0; i < n && err == SR_E_OK; i++)
        if (!ph[i] || !ph[i][0])
            err = sr_errf(eb, SR_E_CONFIG, "%s: phrase %zu is not a non-empty string", what, i);
    if (err == SR_E_OK)
        qsort(ph, n, sizeof(*ph), by_length_desc);
    for (size_t i = 0; i < n && err == SR_E_OK; i++) {
        if (i > 0)
            dlg_buf_str(&b, "|");
        if (!phrase_regex(&b, ph[i]))
            err = sr_errf(eb, SR_E_CONFIG, "%s: phrase \"%s\" has no letters", what, ph[i]);
    }
    dlg_buf_str(&b, ")");
    dlg_buf_str(&b, suffix);
    if (err == SR_E_OK && !(*out = re_compile(b.s, what, eb)))
        err = SR_E_CONFIG;
    free(b.s);
    free(ph);
    return err;
}

static const char *const intent_names[] = {
#define DLG_INTENT_NAME(name, text) text,
    DLG_INTENTS(DLG_INTENT_NAME)
#undef DLG_INTENT_NAME
};

static enum sr_err load_intents(struct dialog_engine *e, const char *dir, struct sr_errbuf *eb)
{
    json_t *root = dlg_load_json(dir, "intents.json", eb);
    if (!root)
        return SR_E_CONFIG;
    enum sr_err err = SR_E_OK;
    for (size_t l = 0; l < e->n_langs && err == SR_E_OK; l++) {
        char *what = sr_asprintf("intents.json start.%s", e->langs[l]);
        json_t *start = json_object_get(json_object_get(root, "start"), e->langs[l]);
        err = compile_list(start, RE_WORD_BEFORE, RE_WORD_AFTER, what, &e->pat.start[l], eb);
        free(what);
        for (size_t i = 0; i < DLG_INTENT__COUNT && err == SR_E_OK; i++) {
            what = sr_asprintf("intents.json %s.%s", intent_names[i], e->langs[l]);
            json_t *arr = json_object_get(json_object_get(root, intent_names[i]), e->langs[l]);
            err = compile_list(arr, "^", "$", what, &e->pat.intent[i][l], eb);
            free(what);
        }
    }
    json_decref(root);
    return err;
}

/* answers/<lang>.json: {"values": {"1": [phrases], ...}} */
static enum sr_err load_answers(struct dialog_engine *e, size_t l, const char *dir,
                                struct sr_errbuf *eb)
{
    char *rel = sr_asprintf("answers/%s.json", e->langs[l]);
    json_t *root = dlg_load_json(dir, rel, eb);
    enum sr_err err = root ? SR_E_OK : SR_E_CONFIG;
    json_t *values = root ? json_object_get(root, "values") : NULL;
    if (root && !json_is_object(values))
        err = sr_errf(eb, SR_E_CONFIG, "%s: no \"values\" object", rel);
    for (size_t v = 1; v <= DLG_MAX_OPTIONS && err == SR_E_OK; v++) {
        char key[8], *what = sr_asprintf("%s values.%zu", rel, v);
        snprintf(key, sizeof(key), "%zu", v);
        err = compile_list(json_object_get(values, key), RE_WORD_BEFORE, RE_WORD_AFTER, what,
                           &e->pat.answer[l][v - 1], eb);
        free(what);
    }
    json_decref(root);
    free(rel);
    return err;
}

enum sr_err dlg_patterns_load(struct dialog_engine *e, const char *dir, struct sr_errbuf *eb)
{
    struct dlg_patterns *p = &e->pat;
    p->mctx = pcre2_match_context_create(NULL);
    if (!p->mctx)
        return sr_errf(eb, SR_E_NOMEM, "pcre2 match context");
    pcre2_set_match_limit(p->mctx, (uint32_t)e->lim.match_limit);
    pcre2_set_depth_limit(p->mctx, (uint32_t)e->lim.depth_limit);
    if (!(p->core = re_compile(RE_CORE, "core", eb)) ||
        !(p->digit = re_compile(RE_DIGIT, "digit", eb)) ||
        !(p->token = re_compile(RE_TOKEN, "token", eb)))
        return SR_E_CONFIG;
    enum sr_err err = load_intents(e, dir, eb);
    for (size_t l = 0; l < e->n_langs && err == SR_E_OK; l++)
        err = load_answers(e, l, dir, eb);
    return err;
}

void dlg_patterns_free(struct dlg_patterns *p)
{
    pcre2_code_free(p->core);
    pcre2_code_free(p->digit);
    pcre2_code_free(p->token);
    for (size_t l = 0; l < DLG_MAX_LANGS; l++) {
        pcre2_code_free(p->start[l]);
        for (size_t i = 0; i < DLG_INTENT__COUNT; i++)
            pcre2_code_free(p->intent[i][l]);
        for (size_t v = 0; v < DLG_MAX_OPTIONS; v++)
            pcre2_code_free(p->answer[l][v]);
    }
    pcre2_match_context_free(p->mctx);
    memset(p, 0, sizeof(*p));
}

char *dlg_normalize(const struct dialog_engine *e, const char *text)
{
    size_t ov[4];
    if (!re_find(e, e->pat.core, text, 0, ov))
        return sr_strdup("");
    return sr_strndup(text + ov[0], ov[1] - ov[0]);
}

bool dlg_match_intent(const struct dialog_engine *e, enum dlg_intent it, const char *norm,
                      size_t *lang)
{
    size_t ov[4];
    for (size_t l = 0; l < e->n_langs; l++) {
        const pcre2_code *re = e->pat.intent[it][l];
        if (re && re_find(e, re, norm, 0, ov)) {
            *lang = l;
            return true;
        }
    }
    return false;
}

struct hit {
    size_t so, eo;
    int value;
};

/* Every vocabulary match of every value in every language. */
static size_t collect_hits(const struct dialog_engine *e, const char *norm, struct hit *hits)
{
    size_t n = 0, ov[4];
    for (size_t l = 0; l < e->n_langs; l++)
        for (int v = 1; v <= DLG_MAX_OPTIONS; v++) {
            const pcre2_code *re = e->pat.answer[l][v - 1];
            for (size_t off = 0; re && n < MAX_HITS && re_find(e, re, norm, off, ov);) {
                hits[n++] = (struct hit){ov[0], ov[1], v};
                if (ov[1] <= off)
                    break;
                off = ov[1];
            }
        }
    return n;
}

/* The value of the vocabulary in norm: 0 for none, for contradicting phrases, or beyond the
 * scale ("sangat baik" on a 3-point scale is not "baik"). */
static int vocabulary_value(const struct dialog_engine *e, const char *norm, int max)
{
    struct hit hits[MAX_HITS];
    size_t n = collect_hits(e, norm, hits);
    int value = 0;
    for (size_t i = 0; i < n; i++) {
        bool beaten = false;
        for (size_t j = 0; j < n && !beaten; j++)
            beaten = hits[j].so < hits[i].eo && hits[i].so < hits[j].eo &&
                     hits[j].eo - hits[j].so > hits[i].eo - hits[i].so;
        if (beaten)
            continue;
        if (value != 0 && value != hits[i].value)
            return 0;
        value = hits[i].value;
    }
    return value <= max ? value : 0;
}

int dlg_match_answer(const struct dialog_engine *e, const char *norm, int max)
{
    size_t ov[4];
    int digit = 0;
    if (re_find(e, e->pat.digit, norm, 0, ov)) {
        for (size_t i = ov[2]; i < ov[3]; i++)
            digit = digit * 10 + (norm[i] - '0');
        if (digit < 1 || digit > max)
            return 0;
    }
    int words = vocabulary_value(e, norm, max);
    if (digit && words && digit != words)
        return 0;
    return digit ? digit : words;
}

/* Upper-case copy of s[0..n) with dashes removed when strip_dash. */
static char *code_upper(const char *s, size_t n, bool strip_dash)
{
    char *out = sr_malloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!(strip_dash && s[i] == '-'))
            out[k++] = (char)toupper((unsigned char)s[i]);
    out[k] = '\0';
    return out;
}

/* Looks up one candidate: as typed (upper case), then without dashes. */
static const struct sr_officer *try_code(const struct dialog_engine *e,
                                         const struct dialog_env *env, const char *s, size_t n)
{
    if (!env->officer_lookup || n < 2 || n > e->lim.code_max_len)
        return NULL;
    const struct sr_officer *o = NULL;
    for (int strip = 0; strip < 2 && !o; strip++) {
        if (strip && !memchr(s, '-', n))
            break;
        char *code = code_upper(s, n, strip);
        o = env->officer_lookup(env->ud, code);
        free(code);
    }
    return o;
}

struct span {
    size_t so, eo;
};

static bool has_digit(const char *s, size_t so, size_t eo)
{
    for (size_t i = so; i < eo; i++)
        if (isdigit((unsigned char)s[i]))
            return true;
    return false;
}

/* Tries the candidates (one word, or two words joined: "BMK 017") with or without a digit. */
static const struct sr_officer *try_tokens(const struct dialog_engine *e,
                                           const struct dialog_env *env, const char *norm,
                                           const struct span *t, size_t n, bool digits)
{
    const struct sr_officer *o = NULL;
    for (size_t i = 0; i < n && !o; i++) {
        if (has_digit(norm, t[i].so, t[i].eo) == digits)
            o = try_code(e, env, norm + t[i].so, t[i].eo - t[i].so);
        if (o || i + 1 == n || has_digit(norm, t[i].so, t[i + 1].eo) != digits)
            continue;
        size_t l1 = t[i].eo - t[i].so, l2 = t[i + 1].eo - t[i + 1].so;
        char *joined = sr_malloc(l1 + l2 + 1);
        memcpy(joined, norm + t[i].so, l1);
        memcpy(joined + l1, norm + t[i + 1].so, l2);
        o = try_code(e, env, joined, l1 + l2);
        free(joined);
    }
    return o;
}

/* The code to quote back when nothing matched: the first word with a digit, else the first. */
static char *shown_code(const char *norm, const struct span *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (has_digit(norm, t[i].so, t[i].eo))
            return code_upper(norm + t[i].so, t[i].eo - t[i].so, false);
    return n ? code_upper(norm + t[0].so, t[0].eo - t[0].so, false) : NULL;
}

bool dlg_find_start(const struct dialog_engine *e, const struct dialog_env *env, const char *norm,
                    struct dlg_start *st)
{
    size_t ov[4], best = (size_t)-1, from = 0;
    memset(st, 0, sizeof(*st));
    for (size_t l = 0; l < e->n_langs; l++)
        if (e->pat.start[l] && re_find(e, e->pat.start[l], norm, 0, ov) && ov[0] < best) {
            best = ov[0];
            from = ov[1];
            st->lang = l;
        }
    if (best == (size_t)-1)
        return false;
    struct span t[MAX_TOKENS];
    size_t n = 0, max = e->lim.code_tokens < MAX_TOKENS ? e->lim.code_tokens : MAX_TOKENS;
    while (n < max && re_find(e, e->pat.token, norm, from, ov) && ov[1] > from) {
        t[n++] = (struct span){ov[0], ov[1]};
        from = ov[1];
    }
    st->officer = try_tokens(e, env, norm, t, n, true);
    if (!st->officer)
        st->officer = try_tokens(e, env, norm, t, n, false);
    if (!st->officer)
        st->code = shown_code(norm, t, n);
    return true;
}
