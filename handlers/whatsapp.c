/* SPDX-License-Identifier: Apache-2.0 */
/*
 * WhatsApp Cloud API channel ("whatsapp"): the GET hub.challenge handshake, the
 * X-Hub-Signature-256 check (HMAC-SHA256 of the raw body with the app secret), parsing of the
 * whatsapp_business_account webhook (several entries / changes / messages / statuses per POST)
 * and the immediate answer. The send side (/<phone_number_id>/messages) is in whatsapp_send.c.
 */
#include "handler.h"

#include "hutil.h"
#include "sr_mem.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static const char *jstr2(json_t *o, const char *a, const char *b)
{
    return jstr(json_object_get(o, a), b);
}

/* ---- GET handshake ------------------------------------------------------------------- */

/* Fills ans for every outcome: 200 + challenge, or 403 (400 for an undecodable query). */
static enum sr_err wa_handshake(const struct sr_channel_conf *c, const struct sr_http_in *req,
                                struct sr_http_answer *ans, struct sr_errbuf *eb)
{
    struct hutil_form q = {0};
    const char *query = req->query ? req->query : "";
    if (hutil_form_parse(query, strlen(query), &q) != 0) {
        hutil_answer(ans, 400, "text/plain", "bad request\n");
        return sr_errf(eb, SR_E_INVALID, "query: invalid percent escape");
    }
    const char *mode = hutil_form_get(&q, "hub.mode");
    const char *challenge = hutil_form_get(&q, "hub.challenge");
    enum sr_err err = SR_E_OK;
    if (!mode || strcmp(mode, "subscribe") != 0)
        err = sr_errf(eb, SR_E_FORBIDDEN, "hub.mode is not \"subscribe\"");
    else if (!c->verify_token || !*c->verify_token)
        err = sr_errf(eb, SR_E_FORBIDDEN, "channel has no verify_token configured");
    else if (!hutil_secret_equal(hutil_form_get(&q, "hub.verify_token"), c->verify_token))
        err = sr_errf(eb, SR_E_FORBIDDEN, "hub.verify_token does not match");
    else if (!challenge)
        err = sr_errf(eb, SR_E_FORBIDDEN, "missing hub.challenge");
    if (err == SR_E_OK)
        hutil_answer(ans, 200, "text/plain", challenge);
    else
        hutil_answer(ans, 403, "text/plain", "forbidden\n");
    hutil_form_free(&q);
    return err;
}

/* ---- signature ----------------------------------------------------------------------- */

void handler_sign_whatsapp(const char *app_secret, const unsigned char *body, size_t len,
                           char hex_out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    HMAC(EVP_sha256(), app_secret, (int)strlen(app_secret), body ? body : (const unsigned char *)"",
         len, mac, &mlen);
    hutil_hex_encode(mac, 32, hex_out);
}

static enum sr_err wa_verify(const struct sr_channel_conf *c, const struct sr_http_in *req,
                             struct sr_errbuf *eb)
{
    const char *h = sr_http_in_header(req, "x-hub-signature-256");
    if (!c->app_secret || !*c->app_secret)
        return sr_errf(eb, SR_E_SIGNATURE, "channel has no app_secret configured");
    if (!h)
        return sr_errf(eb, SR_E_SIGNATURE, "missing X-Hub-Signature-256 header");
    unsigned char got[32];
    if (strncmp(h, "sha256=", 7) != 0 || strlen(h + 7) != 64 || hutil_hex_decode(h + 7, got, 32))
        return sr_errf(eb, SR_E_SIGNATURE, "X-Hub-Signature-256 is not sha256=<64 hex digits>");
    char hex[65];
    unsigned char want[32];
    handler_sign_whatsapp(c->app_secret, req->body, req->body_len, hex);
    hutil_hex_decode(hex, want, 32);
    if (CRYPTO_memcmp(got, want, sizeof(want)) != 0)
        return sr_errf(eb, SR_E_SIGNATURE, "X-Hub-Signature-256 does not match the body");
    return SR_E_OK;
}

/* ---- parse ---------------------------------------------------------------------------- */

/* Every item is judged on its own: a malformed message or status is set aside (a reject in the
 * batch, with its place and reason) and the rest of the batch goes on, because Meta redelivers
 * a whole POST for days when it is not answered 200. Only a body whose structure cannot be
 * walked (not JSON, no entry array, a change without value, a list that is not an array) is
 * refused as a whole. Changes for another phone_number_id than the channel's (one Meta app may
 * carry several numbers) are not processed: each of their items is a FOREIGN reject. */

#define WA_TEXT_MAX 4096 /* characters, Cloud API's cap on a text body */

/* Where the parser is, for details; the batch it appends to. */
struct wa_ctx {
    const struct sr_channel_conf *conf;
    struct sr_inbound_batch *out;
    struct sr_errbuf *eb;
    size_t e, c;           /* entry and change index */
    const char *list;      /* "messages" or "statuses" */
    size_t i;              /* index in list */
    const char *recipient; /* metadata.phone_number_id, borrowed from the JSON */
    json_t *contacts;
};

/* Sets the current item aside with its place and problem; returns -1. */
static int wa_reject(const struct wa_ctx *x, enum sr_inbound_reject_reason r, const char *problem)
{
    sr_inbound_batch_reject(x->out, r, "entry[%zu].changes[%zu].value.%s[%zu]: %s", x->e, x->c,
                            x->list, x->i, problem);
    return -1;
}

static int wa_missing(const struct wa_ctx *x, const char *field)
{
    char problem[96];
    snprintf(problem, sizeof(problem), "missing \"%s\"", field);
    return wa_reject(x, SR_REJECT_MISSING_FIELD, problem);
}

static int wa_fill_text(const struct wa_ctx *x, json_t *m, struct sr_inbound *it)
{
    const char *body = jstr2(m, "text", "body");
    if (!body)
        return wa_missing(x, "text.body");
    if (body[hutil_utf8_prefix(body, WA_TEXT_MAX)] != '\0')
        return wa_reject(x, SR_REJECT_TOO_LONG, "text.body longer than 4096 characters");
    it->kind = SR_IN_TEXT;
    it->text = sr_strdup(body);
    return 0;
}

static int wa_fill_interactive(const struct wa_ctx *x, json_t *m, struct sr_inbound *it)
{
    static const struct {
        const char *type;
        enum sr_inbound_kind kind;
    } replies[] = {{"button_reply", SR_IN_BUTTON}, {"list_reply", SR_IN_LIST}};
    json_t *ia = json_object_get(m, "interactive");
    const char *type = jstr(ia, "type");
    for (size_t k = 0; type && k < sizeof(replies) / sizeof(replies[0]); k++) {
        if (strcmp(type, replies[k].type) != 0)
            continue;
        json_t *reply = json_object_get(ia, type);
        const char *id = jstr(reply, "id");
        if (!id) {
            char field[48];
            snprintf(field, sizeof(field), "interactive.%s.id", type);
            return wa_missing(x, field);
        }
        it->kind = replies[k].kind;
        it->payload = sr_strdup(id);
        it->text = sr_strdup(jstr(reply, "title"));
        return 0;
    }
    return 0; /* another interactive type (flows, ...): stays SR_IN_OTHER */
}

static int wa_fill_button(const struct wa_ctx *x, json_t *m, struct sr_inbound *it)
{
    const char *payload = jstr2(m, "button", "payload");
    if (!payload)
        return wa_missing(x, "button.payload");
    it->kind = SR_IN_BUTTON;
    it->payload = sr_strdup(payload);
    it->text = sr_strdup(jstr2(m, "button", "text"));
    return 0;
}

typedef int (*wa_fill_fn)(const struct wa_ctx *, json_t *, struct sr_inbound *);
/* Every message type of the Cloud API; a NULL fill stays SR_IN_OTHER (answered with a hint).
 * A type not listed here is set aside as UNKNOWN_TYPE. */
static const struct {
    const char *type;
    wa_fill_fn fill;
} wa_types[] = {
    {"text", wa_fill_text},
    {"interactive", wa_fill_interactive},
    {"button", wa_fill_button},
    {"image", NULL},
    {"audio", NULL},
    {"video", NULL},
    {"document", NULL},
    {"sticker", NULL},
    {"location", NULL},
    {"contacts", NULL},
    {"reaction", NULL},
    {"order", NULL},
    {"system", NULL},
    {"unsupported", NULL},
    {"request_welcome", NULL},
};

/* The row of type in wa_types, or -1. */
static long wa_type_index(const char *type)
{
    for (size_t k = 0; type && k < sizeof(wa_types) / sizeof(wa_types[0]); k++)
        if (strcmp(type, wa_types[k].type) == 0)
            return (long)k;
    return -1;
}

static const char *wa_profile_name(json_t *contacts, const char *wa_id)
{
    size_t i;
    json_t *ct;
    json_array_foreach(contacts, i, ct)
    {
        const char *id = jstr(ct, "wa_id");
        if (id && strcmp(id, wa_id) == 0)
            return jstr2(ct, "profile", "name");
    }
    return NULL;
}

static void wa_message(const struct wa_ctx *x, json_t *m)
{
    if (!json_is_object(m)) {
        wa_reject(x, SR_REJECT_MALFORMED, "not an object");
        return;
    }
    const char *id = jstr(m, "id"), *from = jstr(m, "from"), *type = jstr(m, "type");
    long t = wa_type_index(type);
    char *sender = NULL;
    if (!id || !*id)
        wa_missing(x, "id");
    else if (!from)
        wa_missing(x, "from");
    else if (!type)
        wa_missing(x, "type");
    else if (t < 0)
        wa_reject(x, SR_REJECT_UNKNOWN_TYPE, "\"type\" is not a WhatsApp message type");
    else if (!(sender = hutil_digits(from)))
        wa_reject(x, SR_REJECT_BAD_SENDER, "\"from\" is not a phone number");
    if (!sender)
        return;
    size_t n0 = x->out->n;
    struct sr_inbound *it = sr_inbound_batch_add(x->out);
    it->kind = SR_IN_OTHER;
    it->provider_id = sr_strdup(id);
    it->sender = sender;
    it->recipient = sr_strdup(x->recipient);
    it->profile_name = sr_strdup(wa_profile_name(x->contacts, from));
    it->timestamp_ms = hutil_seconds_to_ms(jstr(m, "timestamp"));
    if (wa_types[t].fill && wa_types[t].fill(x, m, it) != 0)
        hutil_batch_truncate(x->out, n0, x->out->n_rejects);
}

static void wa_status(const struct wa_ctx *x, json_t *s)
{
    const char *id = jstr(s, "id"), *status = jstr(s, "status");
    if (!json_is_object(s)) {
        wa_reject(x, SR_REJECT_MALFORMED, "not an object");
        return;
    }
    if (!id || !*id || !status) {
        wa_missing(x, !id || !*id ? "id" : "status");
        return;
    }
    struct sr_inbound *it = sr_inbound_batch_add(x->out);
    it->kind = SR_IN_STATUS;
    it->provider_id = sr_strdup(id);
    it->status = sr_strdup(status);
    it->sender = hutil_digits(jstr(s, "recipient_id"));
    it->recipient = sr_strdup(x->recipient);
    it->timestamp_ms = hutil_seconds_to_ms(jstr(s, "timestamp"));
    json_t *code = json_object_get(json_array_get(json_object_get(s, "errors"), 0), "code");
    if (json_is_integer(code))
        it->error_code = sr_asprintf("%lld", (long long)json_integer_value(code));
    else if (json_is_string(code))
        it->error_code = sr_strdup(json_string_value(code));
}

static void wa_foreign(const struct wa_ctx *x, json_t *item)
{
    (void)item;
    wa_reject(x, SR_REJECT_FOREIGN, "metadata.phone_number_id is not this channel's");
}

/* Runs fn over value[list] (absent is fine). */
static void wa_each(struct wa_ctx *x, json_t *v, const char *list,
                    void (*fn)(const struct wa_ctx *, json_t *))
{
    json_t *item;
    x->list = list;
    json_array_foreach(json_object_get(v, list), x->i, item) fn(x, item);
}

/* value.messages and value.statuses must be arrays when present. */
static enum sr_err wa_check_lists(const struct wa_ctx *x, json_t *v)
{
    static const char *const lists[] = {"messages", "statuses"};
    for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
        json_t *arr = json_object_get(v, lists[k]);
        if (arr && !json_is_array(arr))
            return sr_errf(x->eb, SR_E_INVALID, "entry[%zu].changes[%zu].value.%s: not an array",
                           x->e, x->c, lists[k]);
    }
    return SR_E_OK;
}

static enum sr_err wa_change(struct wa_ctx *x, json_t *ch)
{
    if (!json_is_object(ch))
        return sr_errf(x->eb, SR_E_INVALID, "entry[%zu].changes[%zu]: not an object", x->e, x->c);
    const char *field = jstr(ch, "field");
    if (!field || strcmp(field, "messages") != 0)
        return SR_E_OK; /* account updates and other subscriptions carry no messages */
    json_t *v = json_object_get(ch, "value");
    if (!json_is_object(v))
        return sr_errf(x->eb, SR_E_INVALID, "entry[%zu].changes[%zu]: missing \"value\"", x->e,
                       x->c);
    enum sr_err err = wa_check_lists(x, v);
    if (err != SR_E_OK)
        return err;
    x->recipient = jstr2(v, "metadata", "phone_number_id");
    x->contacts = json_object_get(v, "contacts");
    int ours = x->recipient && x->conf->phone_number_id &&
               strcmp(x->recipient, x->conf->phone_number_id) == 0;
    wa_each(x, v, "messages", ours ? wa_message : wa_foreign);
    wa_each(x, v, "statuses", ours ? wa_status : wa_foreign);
    return SR_E_OK;
}

static enum sr_err wa_payload(struct wa_ctx *x, json_t *root)
{
    if (!json_is_object(root))
        return sr_errf(x->eb, SR_E_INVALID, "body is not a JSON object");
    const char *object = jstr(root, "object");
    if (!object)
        return sr_errf(x->eb, SR_E_INVALID, "missing \"object\"");
    if (strcmp(object, "whatsapp_business_account") != 0)
        return sr_errf(x->eb, SR_E_INVALID, "\"object\" is not \"whatsapp_business_account\"");
    json_t *entries = json_object_get(root, "entry"), *entry, *changes, *ch;
    if (!json_is_array(entries))
        return sr_errf(x->eb, SR_E_INVALID, "missing \"entry\" array");
    json_array_foreach(entries, x->e, entry)
    {
        changes = json_object_get(entry, "changes");
        if (!json_is_object(entry) || (changes && !json_is_array(changes)))
            return sr_errf(x->eb, SR_E_INVALID,
                           "entry[%zu]: not an object with a \"changes\" array", x->e);
        json_array_foreach(changes, x->c, ch)
        {
            enum sr_err err = wa_change(x, ch);
            if (err != SR_E_OK)
                return err;
        }
    }
    return SR_E_OK;
}

static enum sr_err wa_parse(const struct sr_channel_conf *c, const struct sr_http_in *req,
                            struct sr_inbound_batch *out, struct sr_errbuf *eb)
{
    if (!hutil_content_type_is(sr_http_in_header(req, "content-type"), "application/json"))
        return sr_errf(eb, SR_E_UNSUPPORTED, "Content-Type must be application/json");
    json_error_t jerr;
    json_t *root = json_loadb((const char *)req->body, req->body_len, 0, &jerr);
    if (!root) /* jerr.text may quote the body: only the position goes into the detail */
        return sr_errf(eb, SR_E_INVALID, "invalid JSON at line %d column %d", jerr.line,
                       jerr.column);
    struct wa_ctx x = {.conf = c, .out = out, .eb = eb};
    size_t n0 = out->n, r0 = out->n_rejects;
    enum sr_err err = wa_payload(&x, root);
    if (err != SR_E_OK)
        hutil_batch_truncate(out, n0, r0);
    json_decref(root);
    return err;
}

static enum sr_err wa_format_answer(const struct sr_channel_conf *c,
                                    const struct sr_inbound_batch *batch,
                                    struct sr_http_answer *ans, struct sr_errbuf *eb)
{
    (void)c, (void)batch, (void)eb;
    hutil_answer(ans, 200, "application/json", "{}");
    return SR_E_OK;
}

const struct handler hutil_whatsapp_handler = {
    .type = "whatsapp",
    .handshake = wa_handshake,
    .verify = wa_verify,
    .parse = wa_parse,
    .format_outbound = hutil_whatsapp_format_outbound,
    .classify_send = hutil_whatsapp_classify_send,
    .format_answer = wa_format_answer,
};
