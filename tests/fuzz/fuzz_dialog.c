/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the dialog engine (dialogs/) on arbitrary text, loaded from the repository's
 * dialogs/data as the dialog tests do. One input is a short conversation: a sequence of steps,
 * each "<op byte><text>" ended by a NUL byte (or the end). The op byte picks
 *   bits 0-1  the sender: citizen, another citizen, complaint officer ADU01, supervisor SPV01
 *   bits 2-4  what happens: text, button, list, media, "the stored session is <text>",
 *             "the stored record of the last ticket is <text>", idle expiry, SLA breach
 *   bits 5-6  the clock first moves by 0, 1 minute, 1 hour or 1 day
 * so every state (survey, complaint, officer commands) is reachable and the session and
 * complaint codecs see arbitrary stored JSON too. The harness plays the store as
 * tests/dialogs/dialog_fixture.c does: sessions per sender, complaint records with versions.
 * Checked: every step succeeds, events and feed entries are JSON objects with id/type/at, a new
 * session is JSON, and no citizen's number reaches an event unless the input typed it.
 */
#include "fuzz.h"

#include "dialog.h"
#include "roster.h"
#include "sr_mem.h"
#include "worktime.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FD_MAX_STEPS 24
#define FD_MAX_RECS 8
#define FD_T0 1767348000000LL /* 2026-01-02T10:00:00Z, a Friday, inside office hours */

static const struct sr_officer officers[] = {
    {"BMK017", "197001012000031001", "Sri Wahyuni", "DISDUKCAPIL", "Dinas Kependudukan",
     "6281200000900", "officer"},
    {"PTSP-02", "198502022010011002", "Budi Santoso", "DPMPTSP", "Dinas PTSP", "6281200000901",
     "officer"},
    {"ADU01", "198001012005011004", "Rina Kartika", "DISDUKCAPIL", "Dinas Kependudukan",
     "6281200000910", "complaint"},
    {"PTSP-ADU", "198201012005011006", "Lina Marlina", "DPMPTSP", "Dinas PTSP", "6281200000912",
     "complaint"},
    {"SPV01", "197501012000011007", "Hendra Wijaya", "DISDUKCAPIL", "Dinas Kependudukan",
     "6281200000919", "supervisor"},
};
#define N_OFFICERS (sizeof(officers) / sizeof(officers[0]))

static const struct sr_unit units[] = {
    {"DISDUKCAPIL", "Dinas Kependudukan"},
    {"DPMPTSP", "Dinas PTSP"},
};

/* The four senders an op byte can pick; the first two are citizens. */
static const char *const senders[] = {"6281200000001", "6281200000002", "6281200000910",
                                      "6281200000919"};

static const struct sr_officer *fd_lookup(void *ud, const char *code)
{
    (void)ud;
    for (size_t i = 0; i < N_OFFICERS; i++)
        if (strcasecmp(officers[i].code, code) == 0)
            return &officers[i];
    return NULL;
}

static const struct sr_officer *fd_by_phone(void *ud, const char *phone)
{
    (void)ud;
    for (size_t i = 0; i < N_OFFICERS; i++)
        if (strcmp(officers[i].phone, phone) == 0 && strcmp(officers[i].role, "officer") != 0)
            return &officers[i];
    return NULL;
}

static size_t fd_units(void *ud, const struct sr_unit **out)
{
    (void)ud;
    *out = units;
    return sizeof(units) / sizeof(units[0]);
}

static size_t fd_with_role(const char *unit, const char *role, const struct sr_officer **out,
                           size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < N_OFFICERS && n < max; i++)
        if (strcasecmp(officers[i].unit_code, unit) == 0 && strcmp(officers[i].role, role) == 0)
            out[n++] = &officers[i];
    return n;
}

static size_t fd_handlers(void *ud, const char *unit, const struct sr_officer **out, size_t max)
{
    (void)ud;
    return fd_with_role(unit, "complaint", out, max);
}

static const struct sr_officer *fd_supervisor(void *ud, const char *unit)
{
    (void)ud;
    const struct sr_officer *o = NULL;
    return fd_with_role(unit, "supervisor", &o, 1) ? o : NULL;
}

/* ---- the store the harness plays ---------------------------------------------------- */

struct fd_rec {
    char *ticket, *json, *unit;
    long long version;
    int open;
};

struct fd_world {
    char *session[4]; /* per sender */
    struct fd_rec recs[FD_MAX_RECS];
    size_t n_recs;
    char last_ticket[24];
    unsigned tickets; /* counter for new ticket ids */
    int64_t now;
    const uint8_t *input;
    size_t input_len;
};

static struct fd_rec *fd_rec(struct fd_world *w, const char *ticket)
{
    for (size_t i = 0; ticket && *ticket && i < w->n_recs; i++)
        if (strcmp(w->recs[i].ticket, ticket) == 0)
            return &w->recs[i];
    return NULL;
}

/* The store's commit of a complaint write: version check, then write (a stale one is dropped,
 * as the real store refuses it). */
static void fd_apply(struct fd_world *w, const struct dialog_complaint_write *cw)
{
    if (!cw || !cw->ticket || !cw->record)
        return;
    struct fd_rec *r = fd_rec(w, cw->ticket);
    if ((r ? r->version : 0) != cw->expected_version)
        return;
    if (!r) {
        if (w->n_recs == FD_MAX_RECS)
            return;
        r = &w->recs[w->n_recs++];
        r->ticket = sr_strdup(cw->ticket);
    }
    free(r->json);
    free(r->unit);
    r->json = sr_strdup(cw->record);
    r->unit = sr_strdup(cw->unit ? cw->unit : "");
    r->version++;
    r->open = cw->open;
    snprintf(w->last_ticket, sizeof(w->last_ticket), "%s", cw->ticket);
}

static void fd_world_free(struct fd_world *w)
{
    for (size_t i = 0; i < 4; i++)
        free(w->session[i]);
    for (size_t i = 0; i < w->n_recs; i++) {
        free(w->recs[i].ticket);
        free(w->recs[i].json);
        free(w->recs[i].unit);
    }
}

/* ---- checks ------------------------------------------------------------------------- */

static int typed_a_number(const struct fd_world *w)
{
    return memmem(w->input, w->input_len, "62812", 5) != NULL;
}

static void check_json_list(const struct fd_world *w, char **list, size_t n, int event)
{
    for (size_t i = 0; i < n; i++) {
        json_t *j = json_loads(list[i], 0, NULL);
        if (!json_is_object(j) || !json_is_string(json_object_get(j, "type")))
            abort();
        if (event && (!json_is_string(json_object_get(j, "id")) ||
                      !json_is_integer(json_object_get(j, "at"))))
            abort();
        json_decref(j);
        if (event && !typed_a_number(w) &&
            (strstr(list[i], senders[0]) || strstr(list[i], senders[1])))
            abort(); /* a citizen's number in an event */
    }
}

static void check_result(struct fd_world *w, const struct dialog_result *r)
{
    check_json_list(w, r->events, r->n_events, 1);
    check_json_list(w, r->feed, r->n_feed, 0);
    if (r->session) {
        json_t *j = json_loads(r->session, 0, NULL);
        if (!j)
            abort();
        json_decref(j);
    }
    for (size_t i = 0; i < r->n_replies; i++)
        if (!r->replies[i].to || !r->replies[i].text || !r->replies[i].channel)
            abort();
}

/* ---- steps -------------------------------------------------------------------------- */

struct fd_ctx {
    const struct dialog_engine *e;
    const struct dialog_env *env;
    struct fd_world *w;
    unsigned seq;
    char base[64];
    int debug;
};

static void fd_message(struct fd_ctx *x, unsigned who, enum sr_inbound_kind kind, const char *text)
{
    struct fd_world *w = x->w;
    struct sr_inbound msg = {
        .kind = kind,
        .provider_id = (char *)"wamid.FUZZ",
        .sender = (char *)senders[who],
        .recipient = (char *)"100000000000001",
        .text = (char *)text,
        .payload = kind == SR_IN_BUTTON || kind == SR_IN_LIST ? (char *)text : NULL,
    };
    char ticket[16];
    snprintf(ticket, sizeof(ticket), "KFZ%03u", w->tickets % 1000);
    struct dialog_input in = {
        .msg = &msg,
        .channel = "wa",
        .citizen = who < 2 ? "c0ffee00hash" : "0ff1ce00hash",
        .session = w->session[who],
        .session_len = w->session[who] ? strlen(w->session[who]) : 0,
        .now_ms = w->now,
        .event_id_base = x->base,
        .new_ticket = ticket,
    };
    struct dialog_refs refs;
    if (dialog_refs(x->e, x->env, &in, &refs) != SR_E_OK)
        return;
    struct fd_rec *rec = fd_rec(w, refs.ticket);
    if (rec) {
        in.complaint = rec->json;
        in.complaint_len = strlen(rec->json);
        in.complaint_version = rec->version;
    }
    const char *open[FD_MAX_RECS];
    size_t lens[FD_MAX_RECS], n_open = 0;
    for (size_t i = 0; refs.list_unit[0] && i < w->n_recs; i++)
        if (w->recs[i].open && strcasecmp(w->recs[i].unit, refs.list_unit) == 0) {
            open[n_open] = w->recs[i].json;
            lens[n_open++] = strlen(w->recs[i].json);
        }
    in.open_list = open;
    in.open_lens = lens;
    in.n_open = n_open;
    struct dialog_result r = {0};
    if (dialog_step(x->e, x->env, &in, &r) == SR_E_OK) {
        if (x->debug) /* FUZZ_DEBUG=1: what each step did, for writing seeds */
            fprintf(stderr, "fuzz_dialog: %s \"%.40s\" -> %s, %zu replies%s%s\n", senders[who],
                    text, dialog_outcome_name(r.outcome), r.n_replies, r.n_replies ? ": " : "",
                    r.n_replies ? r.replies[0].text : "");
        check_result(w, &r);
        if (r.complaint && r.complaint->expected_version == 0)
            w->tickets++;
        fd_apply(w, r.complaint);
        free(w->session[who]);
        w->session[who] = sr_strdup(r.session);
    }
    dialog_result_clear(&r);
}

static void fd_expire(struct fd_ctx *x, unsigned who)
{
    struct fd_world *w = x->w;
    if (!w->session[who])
        return;
    struct dialog_result r = {0};
    if (dialog_expire(x->e, x->env, "wa", "c0ffee00hash", w->session[who], strlen(w->session[who]),
                      w->now, x->base, &r) == SR_E_OK)
        check_result(w, &r);
    dialog_result_clear(&r);
    free(w->session[who]);
    w->session[who] = NULL;
}

static void fd_sla(struct fd_ctx *x, unsigned who)
{
    struct fd_world *w = x->w;
    struct fd_rec *rec = fd_rec(w, w->last_ticket);
    if (!rec)
        return;
    struct dialog_result r = {0};
    if (dialog_sla_breach(x->e, x->env, rec->json, strlen(rec->json), rec->version,
                          who & 1 ? "resolution" : "first_response", w->now, x->base,
                          &r) == SR_E_OK) {
        check_result(w, &r);
        fd_apply(w, r.complaint);
    }
    dialog_result_clear(&r);
}

/* Replaces the stored record of the last ticket (or makes one) with text. */
static void fd_set_record(struct fd_world *w, const char *text)
{
    struct fd_rec *rec = fd_rec(w, w->last_ticket);
    if (!rec) {
        if (w->n_recs == FD_MAX_RECS)
            return;
        rec = &w->recs[w->n_recs++];
        rec->ticket = sr_strdup("KFZ999");
        rec->unit = sr_strdup("DISDUKCAPIL");
        rec->open = 1;
        snprintf(w->last_ticket, sizeof(w->last_ticket), "KFZ999");
    }
    free(rec->json);
    rec->json = sr_strdup(text);
    rec->version++;
}

static void fd_op(struct fd_ctx *x, uint8_t op, const char *text)
{
    static const int64_t moves[] = {0, 60000LL, 3600000LL, 86400000LL};
    static const enum sr_inbound_kind kinds[] = {SR_IN_TEXT, SR_IN_BUTTON, SR_IN_LIST, SR_IN_OTHER};
    unsigned who = op & 3, what = (op >> 2) & 7;
    x->w->now += moves[(op >> 5) & 3];
    snprintf(x->base, sizeof(x->base), "wa:wamid.FUZZ%04u", x->seq++);
    if (what < 4) {
        fd_message(x, who, kinds[what], text);
    } else if (what == 4) {
        free(x->w->session[who]);
        x->w->session[who] = sr_strdup(text);
    } else if (what == 5) {
        fd_set_record(x->w, text);
    } else if (what == 6) {
        fd_expire(x, who);
    } else {
        fd_sla(x, who);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct dialog_engine *e;
    static struct dialog_env env;
    if (!e) {
        sr_mem_init();
        struct sr_errbuf eb = {{0}};
        e = dialog_engine_load(SUARA_SOURCE_DIR "/dialogs/data", &eb);
        struct worktime *wt = worktime_load(SUARA_SOURCE_DIR "/dialogs/data", &eb);
        struct roster *ro = roster_load(SUARA_SOURCE_DIR "/dialogs/data", 420, &eb);
        if (!e || !wt || !ro) {
            fprintf(stderr, "fuzz_dialog: cannot load dialogs/data: %s\n", eb.msg);
            abort();
        }
        env = (struct dialog_env){
            .officer_lookup = fd_lookup,
            .session_idle_ms = 30 * 60000LL,
            .default_language = "id",
            .officer_by_phone = fd_by_phone,
            .unit_list = fd_units,
            .unit_handlers = fd_handlers,
            .unit_supervisor = fd_supervisor,
            .officer_channel = "wa",
            .worktime = wt,
            .roster = ro,
        }; /* engine, calendar and roster live for the process, as in the gateway */
    }
    struct fd_world w = {.now = FD_T0, .input = data, .input_len = size};
    struct fd_ctx x = {.e = e, .env = &env, .w = &w, .debug = getenv("FUZZ_DEBUG") != NULL};
    size_t pos = 0;
    for (unsigned step = 0; pos < size && step < FD_MAX_STEPS; step++) {
        uint8_t op = data[pos++];
        const uint8_t *nul = memchr(data + pos, '\0', size - pos);
        size_t len = nul ? (size_t)(nul - (data + pos)) : size - pos;
        char *text = sr_strndup((const char *)data + pos, len);
        fd_op(&x, op, text);
        free(text);
        pos += len + (nul ? 1 : 0);
    }
    fd_world_free(&w);
    return 0;
}
