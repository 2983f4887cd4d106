/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the WhatsApp Cloud API handler (handlers/whatsapp.c) on one framed request
 * (fuzz.h): the GET hub.challenge handshake for "!GET", otherwise the X-Hub-Signature-256 check
 * and the webhook parse. "!sign" adds the correct signature so the fuzzer also reaches the
 * verified path; parse runs whatever verify said, as it must be safe on any bytes. Checks that
 * a successful parse yields items with the fields every caller relies on.
 */
#include "fuzz.h"

#include "handler.h"
#include "sr_mem.h"

#include <stdlib.h>

static const struct sr_channel_conf conf = {
    .name = "wa",
    .type = "whatsapp",
    .language = "id",
    .body_limit = 65536,
    .app_secret = "fuzz-app-secret",
    .verify_token = "fuzz-verify-token",
    .api_base = "http://127.0.0.1:9/v19.0",
    .access_token = "fuzz-access-token",
    .phone_number_id = "100000000000001",
};

static void check_batch(const struct sr_inbound_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct sr_inbound *it = &b->items[i];
        if (!it->provider_id || (it->kind == SR_IN_STATUS && !it->status))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct handler *h;
    if (!h) {
        sr_mem_init();
        h = handler_find("whatsapp");
    }
    struct fuzz_req r;
    fuzz_req_parse(&r, data, size);
    struct sr_errbuf eb = {{0}};
    if (r.in.method[0] == 'G') {
        struct sr_http_answer ans = {0};
        h->handshake(&conf, &r.in, &ans, &eb);
        if (ans.status != 200 && ans.status != 400 && ans.status != 403)
            abort();
        sr_http_answer_clear(&ans);
        fuzz_req_free(&r);
        return 0;
    }
    char sig[7 + 65] = "sha256=";
    if (r.sign) {
        handler_sign_whatsapp(conf.app_secret, r.in.body, r.in.body_len, sig + 7);
        fuzz_req_set_header(&r, "x-hub-signature-256", sig);
    }
    enum sr_err v = h->verify(&conf, &r.in, &eb);
    if (r.sign && v != SR_E_OK)
        abort(); /* a correct signature must verify */
    struct sr_inbound_batch b = {0};
    if (h->parse(&conf, &r.in, &b, &eb) == SR_E_OK) {
        check_batch(&b);
        fuzz_echo(h, &conf, &b, &r.in);
        struct sr_http_answer ans = {0};
        h->format_answer(&conf, &b, &ans, &eb);
        sr_http_answer_clear(&ans);
    }
    sr_inbound_batch_clear(&b);
    fuzz_req_free(&r);
    return 0;
}
