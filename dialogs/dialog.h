/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dialog engine. dialog_step() is pure: given the stored session (or none), one inbound
 * message and the time, it returns the new session, the replies to send and the events to record.
 * It does no I/O and reads no clock. Flows (survey now; complaint, status, officer commands,
 * opt-out, help later) are tables of states; texts come from message catalogs and survey
 * definitions in data files (dialogs/data/), Indonesian first, English second.
 *
 * Thread safety: a struct dialog_engine is read-only after dialog_engine_load() and may be shared
 * by all worker threads; dialog_step() allocates its own PCRE2 match data.
 */
#ifndef DIALOG_H
#define DIALOG_H

#include "sr_error.h"
#include "sr_types.h"

struct worktime;

#include <stdint.h>

struct dialog_engine;

/* Read-only view of the registry the dialog may consult. lookup returns NULL if unknown; the
 * code is matched case-insensitively by the implementation behind it. */
struct dialog_env {
    const struct sr_officer *(*officer_lookup)(void *ud, const char *code);
    void *ud;
    int64_t session_idle_ms;      /* idle expiry, default 30 min */
    const char *default_language; /* "id" */
    /* ---- complaints (all optional: NULL disables complaint handling) ---- */
    /* The officer whose notification phone is this sender (digits only), or NULL. */
    const struct sr_officer *(*officer_by_phone)(void *ud, const char *phone);
    /* Units a citizen may choose, in display order; returns the count, *out borrowed. */
    size_t (*unit_list)(void *ud, const struct sr_unit **out);
    /* Officers with role "complaint" in the unit (on duty); fills out[0..max), returns count. */
    size_t (*unit_handlers)(void *ud, const char *unit_code, const struct sr_officer **out,
                            size_t max);
    /* The unit's supervisor (role "supervisor"), or NULL. */
    const struct sr_officer *(*unit_supervisor)(void *ud, const char *unit_code);
    const char *officer_channel;     /* channel name officers are messaged on */
    const struct worktime *worktime; /* calendar and SLA rules (worktime.h) */
    const struct roster *roster;     /* on-duty shifts (roster.h); NULL: everybody on duty */
};

struct dialog_input {
    const struct sr_inbound *msg; /* the citizen's message (never a STATUS) */
    const char *channel;          /* channel name, copied into replies and events */
    const char *citizen;          /* keyed hash of the sender (hex), for events; never the number */
    const char *session;          /* stored session JSON, NULL or "" for none */
    size_t session_len;
    int64_t now_ms;            /* injected time, unix ms */
    const char *event_id_base; /* unique and stable per inbound message, e.g.
                                  "wa:wamid.HBg..."; event i gets id "<base>#<i>" */
    /* ---- complaints: what dialog_refs() asked the gateway to load ---- */
    const char *complaint; /* record JSON of refs.ticket; NULL if none or unknown */
    size_t complaint_len;
    long long complaint_version;  /* its store version (0 if none) */
    const char *const *open_list; /* DAFTAR: open complaint records of refs.list_unit */
    const size_t *open_lens;
    size_t n_open;
    const char *new_ticket; /* a fresh random ticket id (alphabet without 0/O/1/I), used if
                               this step opens a complaint */
};

/* What a step needs loaded before it runs (pure, cheap; called before dialog_step). */
struct dialog_refs {
    char ticket[24];    /* a complaint the message refers to ("STATUS K7M4QX", "TERIMA ..."),
                           or the citizen's own last ticket for the closing question; "" if none */
    char list_unit[40]; /* DAFTAR: the unit whose open complaints to load; "" if none */
};
enum sr_err dialog_refs(const struct dialog_engine *e, const struct dialog_env *env,
                        const struct dialog_input *in, struct dialog_refs *out);

#define DIALOG_OUTCOMES(X)                                                                         \
    X(NONE, "none") /* message answered, nothing started or finished */                            \
    X(SURVEY_STARTED, "survey_started")                                                            \
    X(SURVEY_ANSWERED, "survey_answered")                                                          \
    X(SURVEY_REASKED, "survey_reasked")                                                            \
    X(SURVEY_COMPLETED, "survey_completed")                                                        \
    X(SURVEY_CANCELLED, "survey_cancelled")                                                        \
    X(SURVEY_EXPIRED, "survey_expired")                                                            \
    X(UNKNOWN_OFFICER, "unknown_officer")                                                          \
    X(HELP, "help")                                                                                \
    X(COMPLAINT_STARTED, "complaint_started")                                                      \
    X(COMPLAINT_OPENED, "complaint_opened")                                                        \
    X(COMPLAINT_ACKNOWLEDGED, "complaint_acknowledged")                                            \
    X(COMPLAINT_REPLIED, "complaint_replied")                                                      \
    X(COMPLAINT_RESOLVED, "complaint_resolved")                                                    \
    X(COMPLAINT_REOPENED, "complaint_reopened")                                                    \
    X(COMPLAINT_CLOSED, "complaint_closed")                                                        \
    X(COMPLAINT_STATUS, "complaint_status")                                                        \
    X(COMPLAINT_LISTED, "complaint_listed")                                                        \
    X(COMPLAINT_DENIED, "complaint_denied") /* not yours / unknown ticket: learns nothing */       \
    X(SLA_BREACHED, "sla_breached")

enum dialog_outcome {
#define DIALOG_OUTCOME_ENUM(name, text) DIALOG_##name,
    DIALOG_OUTCOMES(DIALOG_OUTCOME_ENUM)
#undef DIALOG_OUTCOME_ENUM
        DIALOG__OUTCOME_COUNT
};
const char *dialog_outcome_name(enum dialog_outcome o);

struct dialog_result {
    char *session;            /* new session JSON (heap); NULL means "no session" (clear it) */
    int64_t expires_at_ms;    /* when the new session goes idle-expired; 0 if no session */
    struct sr_reply *replies; /* heap array */
    size_t n_replies;
    char **events; /* heap array of heap JSON strings, see dialogs/README-events in the
                      data folder; every event has "id", "type", "at" (unix ms) */
    size_t n_events;
    enum dialog_outcome outcome;
    /* ---- complaints ---- */
    struct dialog_complaint_write *complaint; /* heap; NULL if the step changed no complaint */
    char **feed; /* heap array of heap JSON strings for the officers' live feed; each has
                    "type", "ticket", "unit", "at" */
    size_t n_feed;
};

/* A complaint record to write atomically with the step (store: <p>complaint:<ticket>). */
struct dialog_complaint_write {
    char *ticket;
    char *record;                  /* complaint JSON (format in dialogs/data/README-events.md) */
    long long expected_version;    /* dialog_input.complaint_version; 0 = new, must not exist */
    char *unit;                    /* unit code: keeps <p>open:<unit> (the DAFTAR index) right */
    int open;                      /* 1: listed as open in its unit, 0: not */
    int64_t due_first_response_ms; /* SLA timers to arm (0 = none / disarm) */
    int64_t due_resolution_ms;
};
void dialog_result_clear(struct dialog_result *r);

/* Loads catalogs, survey definitions and patterns from data_dir and compiles the patterns once
 * (JIT, UTF, UCP). On error returns NULL and fills eb naming the file and problem. */
struct dialog_engine *dialog_engine_load(const char *data_dir, struct sr_errbuf *eb);
void dialog_engine_free(struct dialog_engine *e); /* NULL is fine */

/* One step. SR_E_OK with *out filled (out is zeroed first). */
enum sr_err dialog_step(const struct dialog_engine *e, const struct dialog_env *env,
                        const struct dialog_input *in, struct dialog_result *out);

/* The notice for a sender over the message rate limit (the gateway's [limits]): one polite
 * "slow down" reply in the live survey's language (else the default language), naming the
 * window in seconds. No session change, no event, outcome NONE. */
enum sr_err dialog_slow_down(const struct dialog_engine *e, const struct dialog_env *env,
                             const struct dialog_input *in, int window_s,
                             struct dialog_result *out);

/* The idle-expiry step: called by the sweeper when a session passed expires_at_ms without a new
 * message. Emits the abandoned event and returns no session. Replies may be empty. */
enum sr_err dialog_expire(const struct dialog_engine *e, const struct dialog_env *env,
                          const char *channel, const char *citizen, const char *session,
                          size_t session_len, int64_t now_ms, const char *event_id_base,
                          struct dialog_result *out);

/* The SLA timer step: a complaint's deadline passed (kind "first_response" or "resolution").
 * Escalates once to the unit's supervisor (reply + feed event), records sla_breached, and
 * writes the record with the escalation marked so it never fires twice. If the deadline was met
 * meanwhile (answered / resolved) or already escalated, the result is empty. */
enum sr_err dialog_sla_breach(const struct dialog_engine *e, const struct dialog_env *env,
                              const char *record, size_t len, long long version, const char *kind,
                              int64_t now_ms, const char *event_id_base, struct dialog_result *out);

#endif
