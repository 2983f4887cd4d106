/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An officer's complaint command over the HTTP API (webhook_officer_api, server.h): the same turn
 * (turn.h) as the chat command, on the officer channel, as if the officer had typed it. What the
 * dialog tells the officer on their own channel becomes the HTTP answer instead of a chat
 * message; replies to anybody else (the citizen) go out as usual. The Idempotency-Key makes the
 * command's dedupe key, so a retried call changes nothing twice.
 */
#include "turn.h"

#include "sr_mem.h"

#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void api_free(struct turn_job *j)
{
    json_decref(j->caller_data);
    turn_job_free(j);
}

static void api_fail(struct turn_job *j, enum sr_err e, const char *detail)
{
    gw_respond_error(j->r, e, detail);
    api_free(j);
}

static void api_store_failed(struct turn_job *j)
{
    api_fail(j, SR_E_UNAVAILABLE, "state store unavailable; message not accepted");
}

/* What the dialog tells the officer on their own channel is kept for the HTTP answer. */
static void api_take_own_replies(struct turn_job *j, struct dialog_result *res)
{
    const struct sr_inbound *m = &j->batch.items[j->idx];
    size_t kept = 0;
    for (size_t i = 0; i < res->n_replies; i++) {
        struct sr_reply *rp = &res->replies[i];
        if (strcmp(rp->channel, j->ch->conf->name) == 0 && strcmp(rp->to, m->sender) == 0) {
            json_array_append_new(j->caller_data, json_string(rp->text ? rp->text : ""));
            sr_reply_clear(rp);
        } else {
            if (kept != i)
                res->replies[kept] = *rp;
            kept++;
        }
    }
    res->n_replies = kept;
}

static void api_finish(struct turn_job *j)
{
    const char *text = j->batch.items[0].text;
    const char *sp = strchr(text, ' ');
    size_t n = sp ? strcspn(sp + 1, " ") : 0;
    json_t *o = json_pack("{s:s%, s:O, s:b}", "ticket", sp ? sp + 1 : "", n, "replies",
                          (json_t *)j->caller_data, "duplicate", j->duplicates > 0);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    gw_respond(j->r, 200, "application/json", s, strlen(s));
    free(s);
    api_free(j);
}

static const struct turn_caller api_caller = {
    .finish = api_finish,
    .fail = api_fail,
    .store_failed = api_store_failed,
    .take_replies = api_take_own_replies,
    .unlimited = 1,
};

/* "api:<officer>:<key>": the dedupe key of the command, so a retried call changes nothing twice.
 * Without an Idempotency-Key every call is new. NULL for an unusable key. */
static char *api_provider_id(const char *officer_code, const char *idem_key)
{
    char rnd[33];
    if (!idem_key || !*idem_key) {
        unsigned char b[16];
        if (RAND_bytes(b, sizeof(b)) != 1)
            return NULL;
        for (size_t i = 0; i < sizeof(b); i++)
            snprintf(rnd + 2 * i, 3, "%02x", b[i]);
        idem_key = rnd;
    }
    size_t n = strlen(idem_key);
    if (n > 128 || strspn(idem_key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789-_.:") != n)
        return NULL;
    return sr_asprintf("api:%s:%s", officer_code, idem_key);
}

void webhook_officer_api(struct gw_request *r, const char *officer_code, const char *text,
                         const char *idem_key)
{
    struct app *a = r->w->app;
    const struct sr_officer *o = evalstore_registry_lookup(a->registry, officer_code);
    const struct app_channel *ch =
        app_channel_find(a, a->officer_channel, strlen(a->officer_channel));
    if (!o || !o->phone || !ch) {
        gw_respond_error(r, SR_E_NOT_FOUND, "no such officer, or no officer channel");
        return;
    }
    char *pid = api_provider_id(o->code, idem_key);
    if (!pid) {
        gw_respond_error(r, SR_E_INVALID, "Idempotency-Key: at most 128 of A-Z a-z 0-9 - _ . :");
        return;
    }
    if (r->w->draining) {
        free(pid);
        gw_respond_error(r, SR_E_UNAVAILABLE, "shutting down");
        return;
    }
    struct turn_job *j = turn_job_new(r->w, ch, &api_caller, r);
    struct sr_inbound *m = sr_inbound_batch_add(&j->batch);
    m->kind = SR_IN_TEXT;
    m->provider_id = pid;
    m->sender = sr_strdup(o->phone[0] == '+' ? o->phone + 1 : o->phone);
    m->text = sr_strdup(text);
    j->caller_data = json_array();
    turn_job_run(j);
}
