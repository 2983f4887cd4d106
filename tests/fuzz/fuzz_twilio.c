/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the Twilio-style SMS handler (handlers/twilio.c) on one framed request (fuzz.h):
 * X-Twilio-Signature verification (with the URL rebuilt from Host / X-Forwarded-* headers, or,
 * for "!sign", the configured public URL and a correct signature over the form fields) and the
 * parse of inbound SMS and status callbacks. Parse runs whatever verify said.
 */
#include "fuzz.h"

#include "handler.h"
#include "sr_mem.h"

#include <stdlib.h>

#define TWF_URL "https://sms.example.test/webhooks/sms?x=1"

static const struct sr_channel_conf rebuild_conf = {
    .name = "sms",
    .type = "twilio",
    .language = "id",
    .body_limit = 65536,
    .auth_token = "fuzz-auth-token",
    .public_url = "",
    .api_base = "http://127.0.0.1:9",
    .account_sid = "ACfuzz",
    .from_number = "+15550000000",
};

static void check_batch(const struct sr_inbound_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct sr_inbound *it = &b->items[i];
        if (!it->provider_id || (it->kind == SR_IN_TEXT && (!it->sender || !it->text)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct handler *h;
    static struct sr_channel_conf signed_conf;
    if (!h) {
        sr_mem_init();
        h = handler_find("twilio");
        signed_conf = rebuild_conf;
        signed_conf.public_url = TWF_URL;
    }
    struct fuzz_req r;
    fuzz_req_parse(&r, data, size);
    const struct sr_channel_conf *conf = r.sign ? &signed_conf : &rebuild_conf;
    struct sr_errbuf eb = {{0}};
    char sig[29];
    if (r.sign && handler_sign_twilio(conf->auth_token, TWF_URL, (const char *)r.in.body,
                                      r.in.body_len, sig) == 0) {
        fuzz_req_set_header(&r, "content-type", "application/x-www-form-urlencoded");
        fuzz_req_set_header(&r, "x-twilio-signature", sig);
        if (h->verify(conf, &r.in, &eb) != SR_E_OK)
            abort(); /* a correct signature must verify */
    } else {
        h->verify(conf, &r.in, &eb);
    }
    struct sr_inbound_batch b = {0};
    if (h->parse(conf, &r.in, &b, &eb) == SR_E_OK) {
        check_batch(&b);
        fuzz_echo(h, conf, &b, &r.in);
        struct sr_http_answer ans = {0};
        h->format_answer(conf, &b, &ans, &eb);
        sr_http_answer_clear(&ans);
    }
    sr_inbound_batch_clear(&b);
    fuzz_req_free(&r);
    return 0;
}
