/* SPDX-License-Identifier: Apache-2.0 */
/* Shared helpers of the dialog tests (see dialog_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dialog_fixture.h"

#include "sr_mem.h"
#include "worktime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct sr_officer officers[] = {
    {"BMK017", "197001012000031001", "Sri Wahyuni", "DISDUKCAPIL",
     "Dinas Kependudukan dan Pencatatan Sipil", "6281200000900", "officer"},
    {"PTSP-02", "198502022010011002", "Budi Santoso", "DPMPTSP", "Dinas Penanaman Modal dan PTSP",
     "6281200000901", "officer"},
    {"ANDI", "199003032015031003", "Andi Pratama", "KEC-SMG", "Kecamatan Semarang Tengah",
     "6281200000902", "officer"},
    {"ADU01", "198001012005011004", "Rina Kartika", "DISDUKCAPIL",
     "Dinas Kependudukan dan Pencatatan Sipil", FX_OFFICER1, "complaint"},
    {"ADU02", "198101012005011005", "Dedi Kurniawan", "DISDUKCAPIL",
     "Dinas Kependudukan dan Pencatatan Sipil", FX_OFFICER2, "complaint"},
    {"PTSP-ADU", "198201012005011006", "Lina Marlina", "DPMPTSP", "Dinas Penanaman Modal dan PTSP",
     FX_OFFICER3, "complaint"},
    {"SPV01", "197501012000011007", "Hendra Wijaya", "DISDUKCAPIL",
     "Dinas Kependudukan dan Pencatatan Sipil", FX_SUPERVISOR, "supervisor"},
};
#define N_OFFICERS (sizeof(officers) / sizeof(officers[0]))

static const struct sr_unit units[] = {
    {"DISDUKCAPIL", "Dinas Kependudukan dan Pencatatan Sipil"},
    {"DPMPTSP", "Dinas Penanaman Modal dan PTSP"},
    {"KEC-SMG", "Kecamatan Semarang Tengah"},
};

static const struct sr_officer *by_phone(void *ud, const char *phone)
{
    (void)ud;
    for (size_t i = 0; i < N_OFFICERS; i++)
        if (strcmp(officers[i].phone, phone) == 0 && strcmp(officers[i].role, "officer") != 0)
            return &officers[i];
    return NULL;
}

static size_t unit_list(void *ud, const struct sr_unit **out)
{
    (void)ud;
    *out = units;
    return sizeof(units) / sizeof(units[0]);
}

static size_t with_role(const char *unit, const char *role, const struct sr_officer **out,
                        size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < N_OFFICERS && n < max; i++)
        if (strcasecmp(officers[i].unit_code, unit) == 0 && strcmp(officers[i].role, role) == 0)
            out[n++] = &officers[i];
    return n;
}

static size_t unit_handlers(void *ud, const char *unit, const struct sr_officer **out, size_t max)
{
    (void)ud;
    return with_role(unit, "complaint", out, max);
}

static const struct sr_officer *unit_supervisor(void *ud, const char *unit)
{
    (void)ud;
    const struct sr_officer *o = NULL;
    return with_role(unit, "supervisor", &o, 1) ? o : NULL;
}

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
    f->wt = worktime_load(fx_data_dir(), &eb);
    if (!f->wt)
        fprintf(stderr, "worktime: %s\n", eb.msg);
    assert_non_null(f->wt);
    f->env.officer_by_phone = by_phone;
    f->env.unit_list = unit_list;
    f->env.unit_handlers = unit_handlers;
    f->env.unit_supervisor = unit_supervisor;
    f->env.officer_channel = "sms";
    f->env.worktime = f->wt;
    f->now = FX_T0;
    return f;
}

void fx_free(struct fx *f)
{
    if (!f)
        return;
    dialog_result_clear(&f->r);
    free(f->session);
    for (size_t i = 0; i < f->n_recs; i++) {
        free(f->recs[i].ticket);
        free(f->recs[i].json);
        free(f->recs[i].unit);
    }
    for (size_t i = 0; i < f->n_others; i++) {
        free(f->others[i].sender);
        free(f->others[i].session);
    }
    worktime_free(f->wt);
    dialog_engine_free(f->e);
    free(f);
}

struct fx_rec *fx_rec(struct fx *f, const char *ticket)
{
    for (size_t i = 0; ticket && i < f->n_recs; i++)
        if (strcmp(f->recs[i].ticket, ticket) == 0)
            return &f->recs[i];
    return NULL;
}

json_t *fx_rec_json(struct fx *f, const char *ticket)
{
    struct fx_rec *r = fx_rec(f, ticket);
    assert_non_null(r);
    json_t *j = json_loads(r->json, 0, NULL);
    assert_non_null(j);
    return j;
}

/* The store's side of a commit: version check, then write. */
static void apply_write(struct fx *f)
{
    const struct dialog_complaint_write *w = f->r.complaint;
    if (!w)
        return;
    struct fx_rec *r = fx_rec(f, w->ticket);
    if (w->expected_version == 0) {
        assert_null(r);
        assert_true(f->n_recs < sizeof(f->recs) / sizeof(f->recs[0]));
        r = &f->recs[f->n_recs++];
        r->ticket = sr_strdup(w->ticket);
    } else {
        assert_non_null(r);
        assert_int_equal(r->version, w->expected_version);
        free(r->json);
        free(r->unit);
    }
    r->json = sr_strdup(w->record);
    r->unit = sr_strdup(w->unit);
    r->version++;
    r->open = w->open;
    r->due_first = w->due_first_response_ms;
    r->due_resolution = w->due_resolution_ms;
}

/* The session slot of the current sender. */
static char **session_slot(struct fx *f, const char *sender)
{
    if (strcmp(sender, FX_PHONE) == 0)
        return &f->session;
    for (size_t i = 0; i < f->n_others; i++)
        if (strcmp(f->others[i].sender, sender) == 0)
            return &f->others[i].session;
    assert_true(f->n_others < sizeof(f->others) / sizeof(f->others[0]));
    f->others[f->n_others].sender = sr_strdup(sender);
    return &f->others[f->n_others++].session;
}

const struct dialog_result *fx_sla(struct fx *f, const char *ticket, const char *kind)
{
    struct fx_rec *r = fx_rec(f, ticket);
    assert_non_null(r);
    snprintf(f->base, sizeof(f->base), "sla:%s:%s:%04u", ticket, kind, f->seq++);
    dialog_result_clear(&f->r);
    assert_int_equal(dialog_sla_breach(f->e, &f->env, r->json, strlen(r->json), r->version, kind,
                                       f->now, f->base, &f->r),
                     SR_E_OK);
    apply_write(f);
    for (size_t i = 0; i < f->r.n_events; i++)
        assert_null(strstr(f->r.events[i], FX_PHONE));
    return &f->r;
}

size_t fx_replies_to(const struct fx *f, const char *to, const char **text)
{
    size_t n = 0;
    for (size_t i = 0; i < f->r.n_replies; i++)
        if (strcmp(f->r.replies[i].to, to) == 0 && n++ == 0 && text)
            *text = f->r.replies[i].text;
    return n;
}

const struct dialog_result *fx_send(struct fx *f, enum sr_inbound_kind kind, const char *text,
                                    const char *payload)
{
    struct sr_inbound msg = {
        .kind = kind,
        .provider_id = (char *)"wamid.TEST",
        .sender = (char *)(f->sender ? f->sender : FX_PHONE),
        .recipient = (char *)"100000000000001",
        .text = (char *)text,
        .payload = (char *)payload,
    };
    snprintf(f->base, sizeof(f->base), "wa:wamid.TEST%04u", f->seq++);
    char **slot = session_slot(f, msg.sender);
    struct dialog_input in = {
        .msg = &msg,
        .channel = "wa",
        .citizen = FX_CITIZEN,
        .session = *slot,
        .session_len = *slot ? strlen(*slot) : 0,
        .now_ms = f->now,
        .event_id_base = f->base,
        .new_ticket = f->next_ticket,
    };
    assert_int_equal(dialog_refs(f->e, &f->env, &in, &f->refs), SR_E_OK);
    struct fx_rec *rec = fx_rec(f, f->refs.ticket);
    if (rec) {
        in.complaint = rec->json;
        in.complaint_len = strlen(rec->json);
        in.complaint_version = rec->version;
    }
    const char *open[16];
    size_t open_lens[16], n_open = 0;
    for (size_t i = 0; f->refs.list_unit[0] && i < f->n_recs; i++)
        if (f->recs[i].open && strcmp(f->recs[i].unit, f->refs.list_unit) == 0) {
            open[n_open] = f->recs[i].json;
            open_lens[n_open++] = strlen(f->recs[i].json);
        }
    in.open_list = open;
    in.open_lens = open_lens;
    in.n_open = n_open;
    dialog_result_clear(&f->r);
    assert_int_equal(dialog_step(f->e, &f->env, &in, &f->r), SR_E_OK);
    apply_write(f);
    free(*slot);
    *slot = sr_strdup(f->r.session);
    f->expires_at = f->r.expires_at_ms;
    if (f->r.session)
        assert_int_equal(f->r.expires_at_ms, f->now + f->env.session_idle_ms);
    else
        assert_int_equal(f->r.expires_at_ms, 0);
    for (size_t i = 0; i < f->r.n_replies && !f->any_recipient; i++) {
        assert_string_equal(f->r.replies[i].channel, "wa");
        assert_string_equal(f->r.replies[i].to, msg.sender);
    }
    for (size_t i = 0; i < f->r.n_events; i++) /* the phone number never reaches an event */
        assert_null(strstr(f->r.events[i], FX_PHONE));
    for (size_t i = 0; i < f->r.n_feed; i++)
        assert_null(strstr(f->r.feed[i], FX_PHONE));
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
