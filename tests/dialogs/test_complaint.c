/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for dialogs/complaint*.c: the citizen's intake step by step and in one message, units by
 * number and code, cancelling, STATUS by the filer and by a stranger, the officers' commands
 * with durations through the working-time calendar of dialogs/data, another unit's officer
 * denied, duplicate commands, closing the loop (YA + rating, BELUM reopening), and the SLA
 * breach step firing once. The clock is injected; the "store" is the fixture's record table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dialog_fixture.h"
#include "roster.h"
#include "worktime.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MONDAY_0900 1796004000000LL              /* 30 Nov 2026 09:00 WIB */
#define FRIDAY_1500 (MONDAY_0900 - 66 * FX_HOUR) /* 27 Nov 2026 15:00 WIB */
#define TICKET "K7M4QX"

static int setup(void **state)
{
    struct fx *f = fx_new();
    f->any_recipient = true;
    f->now = MONDAY_0900;
    f->next_ticket = TICKET;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static long long jint(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void as(struct fx *f, const char *sender)
{
    f->sender = strcmp(sender, FX_PHONE) == 0 ? NULL : sender;
}

/* The one-message form for DISDUKCAPIL; asserts the opening and returns nothing. */
static void open_quick(struct fx *f)
{
    as(f, FX_PHONE);
    assert_int_equal(fx_text(f, "ADUAN disdukcapil KTP saya belum jadi sejak tiga minggu")->outcome,
                     DIALOG_COMPLAINT_OPENED);
}

static void assert_nothing_changed(const struct fx *f)
{
    assert_int_equal(f->r.n_events, 0);
    assert_null(f->r.complaint);
    assert_int_equal(f->r.n_feed, 0);
}

static void test_intake_step_by_step(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_text(f, "aduan")->outcome, DIALOG_COMPLAINT_STARTED);
    assert_non_null(strstr(f->r.replies[0].text, "isi pengaduan"));
    assert_non_null(f->session);
    assert_int_equal(f->r.n_events, 0);

    fx_text(f, "ok"); /* too short */
    assert_non_null(strstr(f->r.replies[0].text, "terlalu singkat"));
    fx_text(f, "Petugas loket meminta biaya tambahan untuk legalisir akta.");
    const struct sr_reply *r = &f->r.replies[0];
    assert_int_equal(r->style, SR_REPLY_LIST);
    assert_int_equal(r->n_options, 3);
    assert_string_equal(r->options[0].id, "DISDUKCAPIL");
    assert_true(strlen(r->options[0].title) <= 24);
    assert_non_null(strstr(r->text, "1. Dinas Kependudukan"));

    fx_text(f, "9"); /* out of range: asked again */
    assert_non_null(strstr(f->r.replies[0].text, "tidak kami kenali"));
    fx_text(f, "1"); /* by number */
    r = &f->r.replies[0];
    assert_int_equal(r->n_options, 6);
    assert_string_equal(r->options[2].id, "biaya");
    assert_non_null(strstr(r->text, "Biaya / pungutan"));

    fx_send(f, SR_IN_LIST, "Biaya / pungutan", "biaya");
    assert_non_null(strstr(f->r.replies[0].text, "kode petugas"));
    fx_text(f, "adu01");
    r = &f->r.replies[0];
    assert_int_equal(r->style, SR_REPLY_BUTTONS);
    assert_non_null(strstr(r->text, "ADU01"));
    assert_non_null(strstr(r->text, "Biaya / pungutan"));
    assert_non_null(strstr(r->text, "legalisir"));
    assert_int_equal(f->r.n_events, 0);
    assert_null(f->r.complaint);

    assert_int_equal(fx_text(f, "Ya")->outcome, DIALOG_COMPLAINT_OPENED);
    /* the event */
    assert_int_equal(f->r.n_events, 1);
    json_t *ev = fx_event(f, 0, "complaint_opened");
    assert_string_equal(jstr(ev, "ticket"), TICKET);
    assert_string_equal(jstr(ev, "unit"), "DISDUKCAPIL");
    assert_string_equal(jstr(ev, "category"), "biaya");
    assert_string_equal(jstr(ev, "officer"), "ADU01");
    assert_string_equal(jstr(ev, "citizen"), FX_CITIZEN);
    assert_string_equal(jstr(ev, "channel"), "wa");
    assert_string_equal(jstr(ev, "language"), "id");
    struct worktime_sla sla = worktime_sla_for(f->wt, "DISDUKCAPIL", "biaya");
    int64_t due1 = worktime_add(f->wt, f->now, sla.first_response_ms);
    int64_t due2 = worktime_add_days(f->wt, f->now, sla.resolution_days);
    assert_int_equal(jint(ev, "due_first_response"), due1);
    assert_int_equal(jint(ev, "due_resolution"), due2);
    json_decref(ev);
    /* the write */
    const struct dialog_complaint_write *w = f->r.complaint;
    assert_non_null(w);
    assert_string_equal(w->ticket, TICKET);
    assert_int_equal(w->expected_version, 0);
    assert_string_equal(w->unit, "DISDUKCAPIL");
    assert_int_equal(w->open, 1);
    assert_int_equal(w->due_first_response_ms, due1);
    assert_int_equal(w->due_resolution_ms, due2);
    json_t *rec = fx_rec_json(f, TICKET);
    assert_string_equal(jstr(rec, "state"), "open");
    assert_string_equal(jstr(rec, "to"), FX_PHONE);
    assert_string_equal(jstr(rec, "lang"), "id");
    assert_int_equal(jint(rec, "opened_at"), f->now);
    assert_true(json_is_null(json_object_get(rec, "first_response_at")));
    assert_true(json_is_false(json_object_get(json_object_get(rec, "escalated"), "resolution")));
    json_decref(rec);
    /* the answers: the citizen (ticket + deadline), both complaint officers of the unit on sms */
    const char *text = NULL;
    char when[96];
    worktime_format(f->wt, due2, "id", when, sizeof(when));
    assert_int_equal(fx_replies_to(f, FX_PHONE, &text), 1);
    assert_non_null(strstr(text, TICKET));
    assert_non_null(strstr(text, when));
    assert_int_equal(f->r.n_replies, 3);
    assert_int_equal(fx_replies_to(f, FX_OFFICER1, &text), 1);
    assert_non_null(strstr(text, "TERIMA " TICKET));
    assert_null(strstr(text, FX_PHONE)); /* masked */
    assert_non_null(strstr(text, "6281"));
    assert_int_equal(fx_replies_to(f, FX_OFFICER2, NULL), 1);
    assert_int_equal(fx_replies_to(f, FX_SUPERVISOR, NULL), 0);
    for (size_t i = 0; i < f->r.n_replies; i++)
        if (strcmp(f->r.replies[i].to, FX_PHONE) != 0)
            assert_string_equal(f->r.replies[i].channel, "sms");
    /* the feed */
    assert_int_equal(f->r.n_feed, 1);
    json_t *item = json_loads(f->r.feed[0], 0, NULL);
    assert_string_equal(jstr(item, "type"), "complaint_opened");
    assert_string_equal(jstr(item, "ticket"), TICKET);
    assert_string_equal(jstr(item, "unit"), "DISDUKCAPIL");
    assert_int_equal(jint(item, "at"), f->now);
    assert_int_equal(jint(item, "due_resolution"), due2);
    assert_non_null(strstr(jstr(item, "description"), "legalisir"));
    json_decref(item);
    assert_non_null(f->session); /* keeps the ticket for the closing question */
}

/* With a roster, a new complaint is told to the unit's complaint officers on duty; when nobody
 * is on duty, to all of them. ADU01 works Monday mornings, ADU02 Monday afternoons. */
static void test_roster_limits_the_notice(void **state)
{
    struct fx *f = *state;
    char dir[] = "/tmp/roster-cx-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/roster.json", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{\"format\":1,\"shifts\":["
          "{\"officer\":\"ADU01\",\"days\":[\"mon\"],\"from\":\"08:00\",\"to\":\"12:00\"},"
          "{\"officer\":\"ADU02\",\"days\":[\"mon\"],\"from\":\"12:00\",\"to\":\"16:00\"}]}",
          fp);
    fclose(fp);
    struct roster *r = roster_load(dir, 420, NULL);
    unlink(path);
    rmdir(dir);
    assert_non_null(r);
    f->env.roster = r;
    open_quick(f); /* Monday 09:00 */
    assert_int_equal(fx_replies_to(f, FX_OFFICER1, NULL), 1);
    assert_int_equal(fx_replies_to(f, FX_OFFICER2, NULL), 0);
    f->now = MONDAY_0900 + 4 * FX_HOUR;
    f->next_ticket = "ABCDEF";
    as(f, FX_OTHER);
    assert_int_equal(fx_text(f, "ADUAN disdukcapil Loket tutup")->outcome, DIALOG_COMPLAINT_OPENED);
    assert_int_equal(fx_replies_to(f, FX_OFFICER1, NULL), 0);
    assert_int_equal(fx_replies_to(f, FX_OFFICER2, NULL), 1);
    f->now = MONDAY_0900 + 24 * FX_HOUR; /* Tuesday: nobody on duty, so everybody is told */
    f->next_ticket = "GHJKLM";
    as(f, "6280000000777");
    assert_int_equal(fx_text(f, "ADUAN disdukcapil Formulir habis")->outcome,
                     DIALOG_COMPLAINT_OPENED);
    assert_int_equal(fx_replies_to(f, FX_OFFICER1, NULL), 1);
    assert_int_equal(fx_replies_to(f, FX_OFFICER2, NULL), 1);
    f->env.roster = NULL;
    roster_free(r);
}

static void test_one_message_form(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_text(f, "LAPOR dpmptsp Antrean izin usaha tidak bergerak dua jam")->outcome,
                     DIALOG_COMPLAINT_OPENED);
    json_t *rec = fx_rec_json(f, TICKET);
    assert_string_equal(jstr(rec, "unit"), "DPMPTSP");
    assert_string_equal(jstr(rec, "category"), "lainnya");
    assert_true(json_is_null(json_object_get(rec, "officer")));
    assert_string_equal(jstr(rec, "description"), "Antrean izin usaha tidak bergerak dua jam");
    json_decref(rec);
    assert_int_equal(fx_replies_to(f, FX_OFFICER3, NULL), 1);
    assert_int_equal(fx_replies_to(f, FX_OFFICER1, NULL), 0);
    /* English keyword: English answers and record language */
    f->next_ticket = "ABCDEF";
    as(f, FX_OTHER);
    assert_int_equal(fx_text(f, "COMPLAINT KEC-SMG The counter closed at noon")->outcome,
                     DIALOG_COMPLAINT_OPENED);
    const char *text = NULL;
    assert_int_equal(fx_replies_to(f, FX_OTHER, &text), 1);
    assert_non_null(strstr(text, "ticket number ABCDEF"));
    rec = fx_rec_json(f, "ABCDEF");
    assert_string_equal(jstr(rec, "lang"), "en");
    json_decref(rec);
}

static void test_unit_by_code_officer_elsewhere_and_cancel(void **state)
{
    struct fx *f = *state;
    assert_int_equal(fx_text(f, "KELUHAN Toilet umum di kantor kecamatan rusak")->outcome,
                     DIALOG_COMPLAINT_STARTED); /* text after the keyword is the description */
    assert_int_equal(f->r.replies[0].style, SR_REPLY_LIST);
    fx_text(f, "kec-smg"); /* by code */
    fx_text(f, "5");       /* fasilitas */
    fx_text(f, "ADU01");   /* an officer of another unit: left out with a note */
    assert_non_null(strstr(f->r.replies[0].text, "tidak kami cantumkan"));
    assert_non_null(strstr(f->r.replies[0].text, "Sarana dan prasarana"));
    assert_int_equal(fx_send(f, SR_IN_BUTTON, "Batal", "CANCEL")->outcome, DIALOG_NONE);
    assert_non_null(strstr(f->r.replies[0].text, "dibatalkan"));
    assert_null(f->session);
    assert_nothing_changed(f);
    assert_int_equal(f->n_recs, 0);
    /* cancel at the first step, and skipping the officer */
    fx_text(f, "ADUAN");
    assert_int_equal(fx_text(f, "batal")->outcome, DIALOG_NONE);
    assert_null(f->session);
    fx_text(f, "ADUAN DPMPTSP");
    assert_non_null(strstr(f->r.replies[0].text, "isi pengaduan")); /* unit given, text asked */
    fx_text(f, "Berkas saya hilang di loket");
    fx_text(f, "informasi");
    fx_text(f, "-");
    assert_int_equal(f->r.replies[0].style, SR_REPLY_BUTTONS);
    assert_int_equal(fx_send(f, SR_IN_BUTTON, "Ya, kirim", "CONFIRM")->outcome,
                     DIALOG_COMPLAINT_OPENED);
    json_t *rec = fx_rec_json(f, TICKET);
    assert_string_equal(jstr(rec, "category"), "informasi");
    assert_true(json_is_null(json_object_get(rec, "officer")));
    json_decref(rec);
}

static void test_status_only_for_the_filer(void **state)
{
    struct fx *f = *state;
    as(f, FX_OTHER);
    assert_int_equal(fx_text(f, "STATUS " TICKET)->outcome, DIALOG_COMPLAINT_DENIED);
    char *unknown = strdup(f->r.replies[0].text);
    open_quick(f);
    as(f, FX_OTHER);
    assert_int_equal(fx_text(f, "status k7m4qx")->outcome, DIALOG_COMPLAINT_DENIED);
    assert_string_equal(f->r.replies[0].text, unknown); /* learns nothing */
    assert_int_equal(f->r.n_replies, 1);
    assert_nothing_changed(f);
    free(unknown);
    as(f, FX_PHONE);
    assert_int_equal(fx_text(f, "CEK " TICKET)->outcome, DIALOG_COMPLAINT_STATUS);
    assert_non_null(strstr(f->r.replies[0].text, "menunggu tanggapan"));
    assert_nothing_changed(f);
}

static void test_officer_commands_and_durations(void **state)
{
    struct fx *f = *state;
    f->now = FRIDAY_1500;
    open_quick(f);
    /* DAFTAR */
    as(f, FX_OFFICER2);
    assert_int_equal(fx_text(f, "daftar")->outcome, DIALOG_COMPLAINT_LISTED);
    assert_string_equal(f->refs.list_unit, "DISDUKCAPIL");
    assert_non_null(strstr(f->r.replies[0].text, TICKET " [baru]"));
    /* TERIMA on Monday 09:00: 66 h wall, 2 working hours */
    f->now = MONDAY_0900;
    as(f, FX_OFFICER1);
    assert_int_equal(fx_text(f, "TERIMA " TICKET)->outcome, DIALOG_COMPLAINT_ACKNOWLEDGED);
    assert_string_equal(f->refs.ticket, TICKET);
    json_t *ev = fx_event(f, 0, "complaint_acknowledged");
    assert_string_equal(jstr(ev, "ticket"), TICKET);
    assert_string_equal(jstr(ev, "officer"), "ADU01");
    assert_int_equal(jint(ev, "wall_ms"), 66 * FX_HOUR);
    assert_int_equal(jint(ev, "work_ms"), 2 * FX_HOUR);
    json_decref(ev);
    assert_int_equal(fx_replies_to(f, FX_PHONE, NULL), 1);
    assert_int_equal(fx_replies_to(f, FX_OFFICER1, NULL), 1);
    assert_int_equal(f->r.complaint->due_first_response_ms, 0);
    assert_true(f->r.complaint->due_resolution_ms > f->now);
    assert_int_equal(f->r.complaint->expected_version, 1);
    /* the same command again changes nothing */
    f->now += FX_MIN;
    assert_int_equal(fx_text(f, "terima " TICKET)->outcome, DIALOG_NONE);
    assert_non_null(strstr(f->r.replies[0].text, "sudah diterima"));
    assert_int_equal(f->r.n_replies, 1);
    assert_nothing_changed(f);
    /* BALAS is relayed */
    as(f, FX_OFFICER2);
    assert_int_equal(fx_text(f, "BALAS " TICKET " Berkas Bapak sudah kami proses")->outcome,
                     DIALOG_COMPLAINT_REPLIED);
    ev = fx_event(f, 0, "complaint_replied");
    assert_string_equal(jstr(ev, "officer"), "ADU02");
    json_decref(ev);
    const char *text = NULL;
    assert_int_equal(fx_replies_to(f, FX_PHONE, &text), 1);
    assert_non_null(strstr(text, "Berkas Bapak sudah kami proses"));
    assert_string_equal(f->r.replies[0].channel, "wa");
    /* SELESAI at 11:00 */
    f->now = MONDAY_0900 + 2 * FX_HOUR;
    assert_int_equal(fx_text(f, "SELESAI " TICKET " KTP sudah jadi")->outcome,
                     DIALOG_COMPLAINT_RESOLVED);
    ev = fx_event(f, 0, "complaint_resolved");
    assert_int_equal(jint(ev, "wall_ms"), 68 * FX_HOUR);
    assert_int_equal(jint(ev, "work_ms"), 4 * FX_HOUR);
    assert_string_equal(jstr(ev, "note"), "KTP sudah jadi");
    json_decref(ev);
    const struct sr_reply *q = NULL;
    for (size_t i = 0; i < f->r.n_replies; i++)
        if (strcmp(f->r.replies[i].to, FX_PHONE) == 0)
            q = &f->r.replies[i];
    assert_non_null(q);
    assert_int_equal(q->style, SR_REPLY_BUTTONS);
    assert_string_equal(q->options[0].id, "YA:" TICKET);
    assert_string_equal(q->options[1].id, "BELUM:" TICKET);
    assert_non_null(strstr(q->text, "Apakah masalah Bapak/Ibu sudah selesai?"));
    assert_int_equal(f->r.complaint->open, 0);
    assert_int_equal(f->r.complaint->due_resolution_ms, 0);
    /* a second SELESAI changes nothing; DAFTAR is empty now; unknown text gets help */
    assert_int_equal(fx_text(f, "SELESAI " TICKET)->outcome, DIALOG_NONE);
    assert_nothing_changed(f);
    assert_int_equal(fx_text(f, "DAFTAR")->outcome, DIALOG_COMPLAINT_LISTED);
    assert_non_null(strstr(f->r.replies[0].text, "Tidak ada pengaduan terbuka"));
    assert_int_equal(fx_text(f, "halo")->outcome, DIALOG_HELP);
    assert_non_null(strstr(f->r.replies[0].text, "TERIMA <tiket>"));
}

static void test_officer_of_another_unit_denied(void **state)
{
    struct fx *f = *state;
    open_quick(f);
    as(f, FX_OFFICER3);
    assert_int_equal(fx_text(f, "TERIMA " TICKET)->outcome, DIALOG_COMPLAINT_DENIED);
    assert_nothing_changed(f);
    assert_int_equal(f->r.n_replies, 1);
    assert_string_equal(f->r.replies[0].to, FX_OFFICER3);
    assert_int_equal(fx_text(f, "BALAS " TICKET " halo")->outcome, DIALOG_COMPLAINT_DENIED);
    assert_int_equal(fx_text(f, "TERIMA ZZZZZZ")->outcome, DIALOG_COMPLAINT_DENIED);
    json_t *rec = fx_rec_json(f, TICKET);
    assert_string_equal(jstr(rec, "state"), "open");
    json_decref(rec);
}

static void resolve(struct fx *f)
{
    open_quick(f);
    f->now += FX_HOUR;
    as(f, FX_OFFICER1);
    assert_int_equal(fx_text(f, "SELESAI " TICKET)->outcome, DIALOG_COMPLAINT_RESOLVED);
    assert_int_equal(f->r.n_events, 2); /* counts as the first response too */
    json_decref(fx_event(f, 0, "complaint_acknowledged"));
    json_decref(fx_event(f, 1, "complaint_resolved"));
    f->now += 2 * FX_HOUR; /* the citizen's session with the ticket went idle */
    as(f, FX_PHONE);
}

static void test_closing_yes_and_rating(void **state)
{
    struct fx *f = *state;
    resolve(f);
    assert_int_equal(fx_send(f, SR_IN_BUTTON, "Ya, sudah", "YA:" TICKET)->outcome,
                     DIALOG_COMPLAINT_CLOSED);
    assert_string_equal(f->refs.ticket, TICKET);
    json_decref(fx_event(f, 0, "complaint_closed"));
    const struct sr_reply *r = &f->r.replies[0];
    assert_int_equal(r->style, SR_REPLY_LIST);
    assert_int_equal(r->n_options, 4);
    assert_string_equal(r->options[3].id, "RATE:" TICKET ":4");
    assert_non_null(strstr(r->text, "Penanganan Pengaduan"));
    assert_int_equal(f->r.complaint->open, 0);
    /* a typed rating uses the ticket kept in the session */
    assert_int_equal(fx_text(f, "4")->outcome, DIALOG_NONE);
    assert_string_equal(f->refs.ticket, TICKET);
    json_t *ev = fx_event(f, 0, "complaint_rated");
    assert_int_equal(jint(ev, "value"), 4);
    json_decref(ev);
    assert_null(f->session);
    json_t *rec = fx_rec_json(f, TICKET);
    assert_string_equal(jstr(rec, "state"), "closed");
    assert_int_equal(jint(rec, "rating"), 4);
    assert_int_equal(jint(rec, "closed_at"), f->now);
    json_decref(rec);
    /* the same button again changes nothing */
    fx_send(f, SR_IN_LIST, "Baik", "RATE:" TICKET ":3");
    assert_nothing_changed(f);
    assert_non_null(strstr(f->r.replies[0].text, "sudah kami terima"));
    /* nor can a stranger press it */
    as(f, FX_OTHER);
    assert_int_equal(fx_send(f, SR_IN_BUTTON, "Belum", "BELUM:" TICKET)->outcome,
                     DIALOG_COMPLAINT_DENIED);
    assert_nothing_changed(f);
}

static void test_closing_not_yet_reopens(void **state)
{
    struct fx *f = *state;
    resolve(f);
    assert_int_equal(fx_text(f, "belum " TICKET)->outcome, DIALOG_COMPLAINT_REOPENED);
    json_decref(fx_event(f, 0, "complaint_reopened"));
    assert_int_equal(fx_replies_to(f, FX_OFFICER1, NULL), 1);
    assert_int_equal(fx_replies_to(f, FX_OFFICER2, NULL), 1);
    assert_int_equal(fx_replies_to(f, FX_PHONE, NULL), 1);
    assert_int_equal(f->r.n_feed, 1);
    assert_non_null(strstr(f->r.feed[0], "\"complaint_reopened\""));
    struct worktime_sla sla = worktime_sla_for(f->wt, "DISDUKCAPIL", "lainnya");
    int64_t due = worktime_add_days(f->wt, f->now, sla.resolution_days);
    assert_int_equal(f->r.complaint->open, 1);
    assert_int_equal(f->r.complaint->due_resolution_ms, due);
    assert_int_equal(f->r.complaint->due_first_response_ms, 0);
    json_t *rec = fx_rec_json(f, TICKET);
    assert_string_equal(jstr(rec, "state"), "acknowledged");
    assert_int_equal(jint(rec, "reopened"), 1);
    json_decref(rec);
    /* BELUM again while it is being handled changes nothing */
    assert_int_equal(fx_text(f, "BELUM")->outcome, DIALOG_NONE); /* the session's ticket */
    assert_nothing_changed(f);
}

static void test_sla_breach_once(void **state)
{
    struct fx *f = *state;
    open_quick(f);
    struct fx_rec *r = fx_rec(f, TICKET);
    int64_t due1 = r->due_first;
    assert_true(due1 > f->now);
    fx_sla(f, TICKET, "first_response"); /* early: not yet */
    assert_nothing_changed(f);
    f->now = due1 + FX_MIN;
    assert_int_equal(fx_sla(f, TICKET, "first_response")->outcome, DIALOG_SLA_BREACHED);
    json_t *ev = fx_event(f, 0, "sla_breached");
    assert_string_equal(jstr(ev, "kind"), "first_response");
    assert_int_equal(jint(ev, "due"), due1);
    json_decref(ev);
    assert_int_equal(f->r.n_replies, 1);
    assert_string_equal(f->r.replies[0].to, FX_SUPERVISOR);
    assert_string_equal(f->r.replies[0].channel, "sms");
    assert_non_null(strstr(f->r.replies[0].text, TICKET));
    assert_int_equal(f->r.n_feed, 1);
    json_t *item = json_loads(f->r.feed[0], 0, NULL);
    assert_string_equal(jstr(item, "type"), "sla_breached");
    assert_string_equal(jstr(item, "kind"), "first_response");
    json_decref(item);
    assert_int_equal(f->r.complaint->due_first_response_ms, 0);
    assert_true(f->r.complaint->due_resolution_ms > 0);
    assert_int_equal(fx_rec(f, TICKET)->version, 2);
    /* never twice */
    fx_sla(f, TICKET, "first_response");
    assert_nothing_changed(f);
    assert_int_equal(f->r.n_replies, 0);
    /* acknowledged: the first-response deadline is met, resolution still counts */
    as(f, FX_OFFICER1);
    fx_text(f, "TERIMA " TICKET);
    fx_sla(f, TICKET, "first_response");
    assert_nothing_changed(f);
    f->now = fx_rec(f, TICKET)->due_resolution + 1;
    assert_int_equal(fx_sla(f, TICKET, "resolution")->outcome, DIALOG_SLA_BREACHED);
    assert_int_equal(f->r.complaint->due_resolution_ms, 0);
    assert_int_equal(f->r.complaint->open, 1);
}

static void test_sla_breach_empty_when_acknowledged(void **state)
{
    struct fx *f = *state;
    open_quick(f);
    as(f, FX_OFFICER1);
    fx_text(f, "TERIMA " TICKET);
    f->now += 30 * 24 * FX_HOUR;
    fx_sla(f, TICKET, "first_response");
    assert_nothing_changed(f);
    assert_int_equal(f->r.n_replies, 0);
    struct dialog_result res;
    assert_int_equal(dialog_sla_breach(f->e, &f->env, "{}", 2, 1, "resolution", f->now, "x", &res),
                     SR_E_OK);
    assert_null(res.complaint);
    dialog_result_clear(&res);
    assert_int_equal(dialog_sla_breach(f->e, &f->env, "{}", 2, 1, "other", f->now, "x", &res),
                     SR_E_INVALID);
    dialog_result_clear(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_intake_step_by_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_message_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roster_limits_the_notice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unit_by_code_officer_elsewhere_and_cancel, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_status_only_for_the_filer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_officer_commands_and_durations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_officer_of_another_unit_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closing_yes_and_rating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closing_not_yet_reopens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sla_breach_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sla_breach_empty_when_acknowledged, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
