/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For the handler targets: the send side on outsiders' text. Each parsed item's text and payload
 * come back as a reply in the three styles (text, buttons, list) through format_outbound, whose
 * request body must be JSON (WhatsApp) or a form (Twilio) when it succeeds; the raw request body
 * also goes through classify_send as a provider answer.
 */
#include "fuzz.h"

#include "handler.h"
#include "sr_mem.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void echo_one(const struct handler *h, const struct sr_channel_conf *c,
                     const struct sr_inbound *it, enum sr_reply_style style)
{
    struct sr_reply r = {.style = style, .n_options = style == SR_REPLY_TEXT ? 0 : 2};
    r.channel = sr_strdup(c->name);
    r.to = sr_strdup(it->sender ? it->sender : "6281200000001");
    r.text = sr_strdup(it->text ? it->text : "");
    r.list_button = sr_strdup(it->payload);
    for (size_t i = 0; i < r.n_options; i++) {
        r.options[i].id = sr_strdup(it->payload ? it->payload : "1");
        r.options[i].title = sr_strdup(it->text ? it->text : "");
    }
    struct sr_http_out out = {0};
    struct sr_errbuf eb = {{0}};
    if (h->format_outbound(c, &r, &out, &eb) == SR_E_OK) {
        if (!out.body || !out.url || strlen(out.body) != out.body_len)
            abort();
        json_t *j = strcmp(h->type, "whatsapp") == 0 ? json_loads(out.body, 0, NULL) : NULL;
        if (strcmp(h->type, "whatsapp") == 0 && !j)
            abort(); /* the request body must be JSON */
        json_decref(j);
    }
    sr_http_out_clear(&out);
    sr_reply_clear(&r);
}

void fuzz_echo(const struct handler *h, const struct sr_channel_conf *c,
               const struct sr_inbound_batch *b, const struct sr_http_in *req)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->items[i].kind != SR_IN_STATUS)
            for (int s = SR_REPLY_TEXT; s <= SR_REPLY_LIST; s++)
                echo_one(h, c, &b->items[i], (enum sr_reply_style)s);
    static const long statuses[] = {0, 200, 400, 429, 503};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        char *id = NULL;
        h->classify_send(c, statuses[i], (const char *)req->body, req->body_len, &id);
        free(id);
    }
}
