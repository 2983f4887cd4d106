/* SPDX-License-Identifier: Apache-2.0 */
/*
 * WhatsApp Cloud API, send side: builds POST <api_base>/<phone_number_id>/messages (Bearer
 * token, JSON through jansson) for a text, reply buttons (1-3 options) or a list (more options,
 * or SR_REPLY_LIST), cutting texts at UTF-8 character boundaries to Meta's limits, and
 * classifies the Graph API's answer. The channel table itself is in whatsapp.c.
 */
#include "handler.h"

#include "hutil.h"
#include "sr_mem.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Meta's limits, in characters. */
#define WA_TEXT_MAX 4096
#define WA_BODY_MAX 1024
#define WA_BUTTON_TITLE_MAX 20
#define WA_BUTTON_ID_MAX 256
#define WA_BUTTONS_MAX 3
#define WA_LIST_BUTTON_MAX 20
#define WA_ROW_TITLE_MAX 24
#define WA_ROW_ID_MAX 200
#define WA_ROWS_MAX 10

/* ---- outbound ------------------------------------------------------------------------ */

/* Sets o[key] to s cut to max characters; nonzero if s is missing or not UTF-8. */
static int wa_set_cut(json_t *o, const char *key, const char *s, size_t max)
{
    if (!s)
        return 1;
    return json_object_set_new(o, key, json_stringn(s, hutil_utf8_prefix(s, max))) != 0;
}

static json_t *wa_action_buttons(const struct sr_reply *r, int *bad)
{
    json_t *buttons = json_array();
    for (size_t i = 0; i < r->n_options && i < WA_BUTTONS_MAX; i++) {
        json_t *reply = json_object();
        *bad |= wa_set_cut(reply, "id", r->options[i].id, WA_BUTTON_ID_MAX);
        *bad |= wa_set_cut(reply, "title", r->options[i].title, WA_BUTTON_TITLE_MAX);
        json_array_append_new(buttons, json_pack("{s:s, s:o}", "type", "reply", "reply", reply));
    }
    return json_pack("{s:o}", "buttons", buttons);
}

static json_t *wa_action_list(const struct sr_reply *r, int *bad)
{
    json_t *rows = json_array(), *action = json_object();
    for (size_t i = 0; i < r->n_options && i < WA_ROWS_MAX; i++) {
        json_t *row = json_object();
        *bad |= wa_set_cut(row, "id", r->options[i].id, WA_ROW_ID_MAX);
        *bad |= wa_set_cut(row, "title", r->options[i].title, WA_ROW_TITLE_MAX);
        json_array_append_new(rows, row);
    }
    const char *label = r->list_button && *r->list_button ? r->list_button : "Pilih";
    *bad |= wa_set_cut(action, "button", label, WA_LIST_BUTTON_MAX);
    json_object_set_new(action, "sections", json_pack("[{s:o}]", "rows", rows));
    return action;
}

/* The message object: text, or interactive buttons (1-3 options) / list (more, or a list). */
static json_t *wa_message_json(const struct sr_reply *r, int *bad)
{
    json_t *m =
        json_pack("{s:s, s:s}", "messaging_product", "whatsapp", "recipient_type", "individual");
    *bad |= wa_set_cut(m, "to", r->to, 64);
    int buttons = r->style == SR_REPLY_BUTTONS && r->n_options <= WA_BUTTONS_MAX;
    if (r->style == SR_REPLY_TEXT || r->n_options == 0) {
        json_t *text = json_pack("{s:b}", "preview_url", 0);
        *bad |= wa_set_cut(text, "body", r->text, WA_TEXT_MAX);
        json_object_set_new(m, "type", json_string("text"));
        json_object_set_new(m, "text", text);
        return m;
    }
    json_t *body = json_object();
    *bad |= wa_set_cut(body, "text", r->text, WA_BODY_MAX);
    json_t *action = buttons ? wa_action_buttons(r, bad) : wa_action_list(r, bad);
    json_object_set_new(m, "type", json_string("interactive"));
    json_object_set_new(m, "interactive",
                        json_pack("{s:s, s:o, s:o}", "type", buttons ? "button" : "list", "body",
                                  body, "action", action));
    return m;
}

enum sr_err hutil_whatsapp_format_outbound(const struct sr_channel_conf *c,
                                           const struct sr_reply *r, struct sr_http_out *out,
                                           struct sr_errbuf *eb)
{
    sr_http_out_clear(out);
    if (!c->api_base || !c->phone_number_id || !c->access_token)
        return sr_errf(eb, SR_E_CONFIG, "channel needs api_base, phone_number_id, access_token");
    if (!r->to || !r->text)
        return sr_errf(eb, SR_E_INVALID, "reply has no recipient or no text");
    int bad = 0;
    json_t *m = wa_message_json(r, &bad);
    out->body = bad ? NULL : json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (!out->body)
        return sr_errf(eb, SR_E_INVALID, "reply text or an option is missing or not UTF-8");
    out->body_len = strlen(out->body);
    char *path = sr_asprintf("%s/messages", c->phone_number_id);
    out->url = hutil_join_url(c->api_base, path);
    free(path);
    out->method = sr_strdup("POST");
    out->content_type = sr_strdup("application/json");
    out->bearer = sr_strdup(c->access_token);
    return SR_E_OK;
}

/* Graph API error codes with a meaning beyond "permanent failure". */
static const struct hutil_code wa_codes[] = {
    {131050, SR_SEND_OPTED_OUT}, /* the user stopped marketing messages */
    {131047, SR_SEND_FAILED},    /* re-engagement: over 24 h since the user wrote, template */
    {131026, SR_SEND_FAILED},    /* undeliverable (not on WhatsApp, old app, ...) */
    {130429, SR_SEND_RETRY},     /* throughput rate limit */
    {131056, SR_SEND_RETRY},     /* pair rate limit: too many messages to one user */
    {80007, SR_SEND_RETRY},      /* business account rate limit */
};

/* 2xx: OK, provider id from messages[0].id; 4xx: the Graph error code decides. */
enum sr_send_outcome hutil_whatsapp_classify_send(const struct sr_channel_conf *c, long http_status,
                                                  const char *body, size_t body_len,
                                                  char **provider_id)
{
    (void)c;
    json_t *root = body ? json_loadb(body, body_len, 0, NULL) : NULL;
    json_t *code = json_object_get(json_object_get(root, "error"), "code");
    enum sr_send_outcome o =
        hutil_classify(http_status, json_is_integer(code), json_integer_value(code), wa_codes,
                       sizeof(wa_codes) / sizeof(wa_codes[0]));
    const char *id = json_string_value(
        json_object_get(json_array_get(json_object_get(root, "messages"), 0), "id"));
    if (o == SR_SEND_OK && id && provider_id)
        *provider_id = sr_strdup(id);
    json_decref(root);
    return o;
}
