/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Channel handlers: one const table per channel type (whatsapp, twilio; kannel and telegram
 * later). Every function is pure: it works on the buffers it is given, never does I/O, never
 * logs, and never includes libwebsockets, libcurl, hiredis or libuv. Error detail goes into the
 * caller's sr_errbuf and must never contain a secret or a full phone number.
 */
#ifndef HANDLER_H
#define HANDLER_H

#include "sr_error.h"
#include "sr_types.h"

struct handler {
    const char *type; /* "whatsapp", "twilio" */

    /* GET on the webhook route (WhatsApp's hub.challenge verification). NULL: GET is 405.
     * Fills ans (200 + challenge, or 403). Never checks a body signature. */
    enum sr_err (*handshake)(const struct sr_channel_conf *c, const struct sr_http_in *req,
                             struct sr_http_answer *ans, struct sr_errbuf *eb);

    /* Verifies the provider's signature over the raw request. SR_E_OK, or SR_E_SIGNATURE
     * (missing / malformed / wrong signature) with detail. Constant-time comparison. */
    enum sr_err (*verify)(const struct sr_channel_conf *c, const struct sr_http_in *req,
                          struct sr_errbuf *eb);

    /* Parses a verified POST into normalised items (messages and statuses, in payload order),
     * appended to out. SR_E_INVALID with a detail naming the problem for malformed payloads,
     * SR_E_UNSUPPORTED for a wrong content type. */
    enum sr_err (*parse)(const struct sr_channel_conf *c, const struct sr_http_in *req,
                         struct sr_inbound_batch *out, struct sr_errbuf *eb);

    /* Builds the provider API request that sends one reply (out is cleared first). Buttons and
     * lists degrade to numbered text on channels without them. Texts are cut to the channel's
     * cap (WhatsApp 4096 / interactive body 1024, Twilio 1600) at a UTF-8 boundary. */
    enum sr_err (*format_outbound)(const struct sr_channel_conf *c, const struct sr_reply *r,
                                   struct sr_http_out *out, struct sr_errbuf *eb);

    /* Classifies the provider's answer to a send; copies the provider message id into
     * *provider_id (heap, may stay NULL). */
    enum sr_send_outcome (*classify_send)(const struct sr_channel_conf *c, long http_status,
                                          const char *body, size_t body_len, char **provider_id);

    /* The immediate answer once the batch is durable (WhatsApp: 200 {}; Twilio: TwiML
     * <Response/>). */
    enum sr_err (*format_answer)(const struct sr_channel_conf *c,
                                 const struct sr_inbound_batch *batch, struct sr_http_answer *ans,
                                 struct sr_errbuf *eb);
};

/* The registry: NULL for an unknown type. */
const struct handler *handler_find(const char *type);

/* Signature helpers, shared by verify() and by tests / benchmarks that sign requests.
 * hex_out needs 65 bytes; b64_out needs 29 bytes. */
void handler_sign_whatsapp(const char *app_secret, const unsigned char *body, size_t len,
                           char hex_out[65]);
/* Twilio: base64(HMAC-SHA1(auth_token, url + for each POST field sorted by name: name+value)).
 * form is the raw application/x-www-form-urlencoded body. Returns 0, or -1 if form is
 * malformed. */
int handler_sign_twilio(const char *auth_token, const char *url, const char *form, size_t len,
                        char b64_out[29]);

/* The public URL of this request, as the client called it: X-Forwarded-Proto and
 * X-Forwarded-Host (their first items) when present, else "http" and Host; then the path and
 * "?query". The gateway passes the X-Forwarded-* headers on ONLY from a trusted reverse proxy
 * ([server] trust_proxy; gateway/trust.h), so a client cannot choose this URL. Heap; NULL when
 * no host is known. */
char *handler_request_url(const struct sr_http_in *req);

#endif
