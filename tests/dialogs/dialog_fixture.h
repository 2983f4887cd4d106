/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared helpers of the dialog tests: the engine loaded from the repository's dialogs/data, a
 * tiny officer table behind dialog_env.officer_lookup, and a conversation driver that feeds one
 * message at a time and keeps the session between steps, as the store would. Time is injected.
 */
#ifndef DIALOG_FIXTURE_H
#define DIALOG_FIXTURE_H

#include "dialog.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define FX_CITIZEN "c0ffee00hash"
#define FX_PHONE "6281200000001"
#define FX_T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define FX_MIN 60000LL
#define FX_HOUR 3600000LL
/* Complaint people (fake numbers): the unit DISDUKCAPIL has two complaint officers and a
 * supervisor; DPMPTSP has one complaint officer. */
#define FX_OFFICER1 "6281200000910"   /* ADU01, complaint, DISDUKCAPIL */
#define FX_OFFICER2 "6281200000911"   /* ADU02, complaint, DISDUKCAPIL */
#define FX_OFFICER3 "6281200000912"   /* PTSP-ADU, complaint, DPMPTSP */
#define FX_SUPERVISOR "6281200000919" /* SPV01, supervisor, DISDUKCAPIL */
#define FX_OTHER "6281200000002"      /* another citizen */

/* A complaint record as the store would hold it. */
struct fx_rec {
    char *ticket, *json, *unit;
    long long version;
    int open;
    int64_t due_first, due_resolution; /* armed timers */
};

struct fx_sess {
    char *sender, *session;
};

struct fx {
    struct dialog_engine *e;
    struct dialog_env env;
    char *session; /* as the store holds it; NULL for none */
    int64_t expires_at;
    int64_t now;
    unsigned seq; /* message counter for event_id_base */
    char base[64];
    struct dialog_result r; /* result of the last step */
    /* ---- complaints ---- */
    struct worktime *wt;     /* from the repository's data folder */
    const char *sender;      /* NULL: FX_PHONE */
    bool any_recipient;      /* replies may go to others than the sender (complaints) */
    const char *next_ticket; /* dialog_input.new_ticket */
    struct dialog_refs refs; /* what the last step asked to load */
    struct fx_rec recs[16];  /* the "store" of complaint records */
    size_t n_recs;
    struct fx_sess others[8]; /* sessions of senders other than FX_PHONE */
    size_t n_others;
};

struct fx *fx_new(void);
void fx_free(struct fx *f);
/* One message of the given kind; asserts SR_E_OK and returns the result (owned by f). */
const struct dialog_result *fx_send(struct fx *f, enum sr_inbound_kind kind, const char *text,
                                    const char *payload);
const struct dialog_result *fx_text(struct fx *f, const char *text);
/* Event i of the last result, parsed (caller decrefs); asserts its type, id, at. */
json_t *fx_event(struct fx *f, size_t i, const char *type);
/* The stored record of ticket, or NULL. */
struct fx_rec *fx_rec(struct fx *f, const char *ticket);
/* The stored record of ticket, parsed (caller decrefs); asserts it exists. */
json_t *fx_rec_json(struct fx *f, const char *ticket);
/* fx_send calls dialog_refs first, hands the record / open list it asks for to dialog_step and
 * applies the result's complaint write to the fixture's store (version-checked). fx_sla does
 * the same for dialog_sla_breach on the stored record. */
const struct dialog_result *fx_sla(struct fx *f, const char *ticket, const char *kind);
/* Number of replies of the last result sent to `to`; the first one's text in *text. */
size_t fx_replies_to(const struct fx *f, const char *to, const char **text);
/* The data folder of the repository. */
const char *fx_data_dir(void);

#endif
