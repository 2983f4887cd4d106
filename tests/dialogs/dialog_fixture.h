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
#include <stdint.h>

#define FX_CITIZEN "c0ffee00hash"
#define FX_PHONE "6281200000001"
#define FX_T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define FX_MIN 60000LL

struct fx {
    struct dialog_engine *e;
    struct dialog_env env;
    char *session; /* as the store holds it; NULL for none */
    int64_t expires_at;
    int64_t now;
    unsigned seq; /* message counter for event_id_base */
    char base[64];
    struct dialog_result r; /* result of the last step */
};

struct fx *fx_new(void);
void fx_free(struct fx *f);
/* One message of the given kind; asserts SR_E_OK and returns the result (owned by f). */
const struct dialog_result *fx_send(struct fx *f, enum sr_inbound_kind kind, const char *text,
                                    const char *payload);
const struct dialog_result *fx_text(struct fx *f, const char *text);
/* Event i of the last result, parsed (caller decrefs); asserts its type, id, at. */
json_t *fx_event(struct fx *f, size_t i, const char *type);
/* The data folder of the repository. */
const char *fx_data_dir(void);

#endif
