/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the dialog tests (see dialog_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dialog_fixture.h"

#include "sr_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct sr_officer officers[] = {
    {"BMK017", "197001012000031001", "Sri Wahyuni", "DISDUKCAPIL",
     "Dinas Kependudukan dan Pencatatan Sipil", "6281200000900"},
    {"PTSP-02", "198502022010011002", "Budi Santoso", "DPMPTSP", "Dinas Penanaman Modal dan PTSP",
     "6281200000901"},
    {"ANDI", "199003032015031003", "Andi Pratama", "KEC-SMG", "Kecamatan Semarang Tengah",
     "6281200000902"},
};

static const struct sr_officer *lookup(void *ud, const char *code)
{
    (void)ud;
    for (size_t i = 0; i < sizeof(officers) / sizeof(officers[0]); i++)
        if (strcasecmp(officers[i].code, code) == 0)
            return &officers[i];
    return NULL;
}

const char *fx_data_dir(void)
{
    return SUARA_SOURCE_DIR "/dialogs/data";
}

struct fx *fx_new(void)
{
    sr_mem_init();
    struct fx *f = sr_calloc(1, sizeof(*f));
    struct sr_errbuf eb = {{0}};
    f->e = dialog_engine_load(fx_data_dir(), &eb);
    if (!f->e)
        fprintf(stderr, "load: %s\n", eb.msg);
    assert_non_null(f->e);
    f->env.officer_lookup = lookup;
    f->env.session_idle_ms = 30 * FX_MIN;
    f->env.default_language = "id";
    f->now = FX_T0;
    return f;
}

void fx_free(struct fx *f)
{
    if (!f)
        return;
    dialog_result_clear(&f->r);
    free(f->session);
    dialog_engine_free(f->e);
    free(f);
}

const struct dialog_result *fx_send(struct fx *f, enum sr_inbound_kind kind, const char *text,
                                    const char *payload)
{
    struct sr_inbound msg = {
        .kind = kind,
        .provider_id = (char *)"wamid.TEST",
        .sender = (char *)FX_PHONE,
        .recipient = (char *)"100000000000001",
        .text = (char *)text,
        .payload = (char *)payload,
    };
    snprintf(f->base, sizeof(f->base), "wa:wamid.TEST%04u", f->seq++);
    struct dialog_input in = {
        .msg = &msg,
        .channel = "wa",
        .citizen = FX_CITIZEN,
        .session = f->session,
        .session_len = f->session ? strlen(f->session) : 0,
        .now_ms = f->now,
        .event_id_base = f->base,
    };
    dialog_result_clear(&f->r);
    assert_int_equal(dialog_step(f->e, &f->env, &in, &f->r), SR_E_OK);
    free(f->session);
    f->session = sr_strdup(f->r.session);
    f->expires_at = f->r.expires_at_ms;
    if (f->r.session)
        assert_int_equal(f->r.expires_at_ms, f->now + f->env.session_idle_ms);
    else
        assert_int_equal(f->r.expires_at_ms, 0);
    for (size_t i = 0; i < f->r.n_replies; i++) {
        assert_string_equal(f->r.replies[i].channel, "wa");
        assert_string_equal(f->r.replies[i].to, FX_PHONE);
    }
    for (size_t i = 0; i < f->r.n_events; i++) /* the phone number never reaches an event */
        assert_null(strstr(f->r.events[i], FX_PHONE));
    return &f->r;
}

const struct dialog_result *fx_text(struct fx *f, const char *text)
{
    return fx_send(f, SR_IN_TEXT, text, NULL);
}

json_t *fx_event(struct fx *f, size_t i, const char *type)
{
    assert_true(i < f->r.n_events);
    json_t *ev = json_loads(f->r.events[i], 0, NULL);
    assert_non_null(ev);
    assert_string_equal(json_string_value(json_object_get(ev, "type")), type);
    char id[96];
    snprintf(id, sizeof(id), "%s#%zu", f->base, i);
    assert_string_equal(json_string_value(json_object_get(ev, "id")), id);
    assert_int_equal(json_integer_value(json_object_get(ev, "at")), f->now);
    return ev;
}
