/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Twilio-style SMS channel ("twilio"): X-Twilio-Signature verification over the public URL and
 * the sorted POST fields, parsing of inbound SMS and status callbacks
 * (application/x-www-form-urlencoded), the Messages.json send request (buttons and lists become
 * numbered text lines) and the empty TwiML answer. No GET handshake: the gateway answers 405.
 *
 * Field order for the signature: sorted by name, then by value, byte-wise (Twilio documents only
 * the sort by name; its libraries sort repeated names' values too). Repeated fields are all
 * signed, none dropped.
 */
#include "handler.h"

#include "hutil.h"
#include "sr_mem.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define TW_TEXT_MAX 1600
#define TW_SIG_LEN 28 /* base64 of a 20-byte SHA-1 MAC */
#define TW_FORM "application/x-www-form-urlencoded"

/* ---- signature ----------------------------------------------------------------------- */

int handler_sign_twilio(const char *auth_token, const char *url, const char *form, size_t len,
                        char b64_out[29])
{
    struct hutil_form f = {0};
    if (hutil_form_parse(form ? form : "", form ? len : 0, &f) != 0)
        return -1;
    hutil_form_sort(&f);
    struct hutil_buf b = {0};
    hutil_buf_adds(&b, url);
    for (size_t i = 0; i < f.n; i++) {
        hutil_buf_adds(&b, f.f[i].name);
        hutil_buf_adds(&b, f.f[i].value);
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    HMAC(EVP_sha1(), auth_token, (int)strlen(auth_token), (const unsigned char *)b.p, b.len, mac,
         &mlen);
    EVP_EncodeBlock((unsigned char *)b64_out, mac, 20);
    hutil_buf_free(&b);
    hutil_form_free(&f);
    return 0;
}

/* The first item of a possibly comma-separated proxy header, trimmed: start and length. */
static const char *first_item(const char *v, size_t *len)
{
    while (*v == ' ' || *v == '\t')
        v++;
    *len = strcspn(v, ", \t");
    return v;
}

char *handler_request_url(const struct sr_http_in *req)
{
    const char *proto = sr_http_in_header(req, "x-forwarded-proto");
    const char *host = sr_http_in_header(req, "x-forwarded-host");
    if (!host)
        host = sr_http_in_header(req, "host");
    size_t plen = 0, hlen = 0;
    proto = proto ? first_item(proto, &plen) : "";
    host = host ? first_item(host, &hlen) : "";
    if (hlen == 0)
        return NULL;
    struct hutil_buf b = {0};
    hutil_buf_add(&b, plen ? proto : "http", plen ? plen : 4);
    hutil_buf_adds(&b, "://");
    hutil_buf_add(&b, host, hlen);
    hutil_buf_adds(&b, req->path ? req->path : "/");
    if (req->query && *req->query) {
        hutil_buf_adds(&b, "?");
        hutil_buf_adds(&b, req->query);
    }
    return hutil_buf_take(&b, NULL);
}

/* The URL the provider called: conf->public_url, or this request's public URL. */
static char *tw_request_url(const struct sr_channel_conf *c, const struct sr_http_in *req)
{
    if (c->public_url && *c->public_url)
        return sr_strdup(c->public_url);
    return handler_request_url(req);
}

static enum sr_err tw_verify(const struct sr_channel_conf *c, const struct sr_http_in *req,
                             struct sr_errbuf *eb)
{
    if (!c->auth_token || !*c->auth_token)
        return sr_errf(eb, SR_E_SIGNATURE, "channel has no auth_token configured");
    const char *sig = sr_http_in_header(req, "x-twilio-signature");
    if (!sig)
        return sr_errf(eb, SR_E_SIGNATURE, "missing X-Twilio-Signature header");
    if (strlen(sig) != TW_SIG_LEN)
        return sr_errf(eb, SR_E_SIGNATURE, "X-Twilio-Signature is not a base64 SHA-1 MAC");
    char *url = tw_request_url(c, req);
    if (!url)
        return sr_errf(eb, SR_E_SIGNATURE, "cannot rebuild the request URL: no Host header");
    /* Only form bodies are signed field by field; parse() refuses any other type later. */
    int form = hutil_content_type_is(sr_http_in_header(req, "content-type"), TW_FORM);
    char want[TW_SIG_LEN + 1];
    int rc = handler_sign_twilio(c->auth_token, url, form ? (const char *)req->body : "",
                                 form ? req->body_len : 0, want);
    free(url);
    if (rc != 0)
        return sr_errf(eb, SR_E_SIGNATURE, "body is not valid form data: cannot verify");
    if (CRYPTO_memcmp(want, sig, TW_SIG_LEN) != 0)
        return sr_errf(eb, SR_E_SIGNATURE, "X-Twilio-Signature does not match the request");
    return SR_E_OK;
}

/* ---- parse --------------------------------------------------------------------------- */

static const char *tw_sid(const struct hutil_form *f)
{
    const char *sid = hutil_form_get(f, "MessageSid");
    if (!sid || !*sid)
        sid = hutil_form_get(f, "SmsSid");
    return sid && *sid ? sid : NULL;
}

static enum sr_err tw_message(const struct hutil_form *f, struct sr_inbound_batch *out,
                              struct sr_errbuf *eb)
{
    static const char *const required[] = {"From", "To", "Body"};
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        if (!hutil_form_get(f, required[i]))
            return sr_errf(eb, SR_E_INVALID, "missing field \"%s\"", required[i]);
    const char *sid = tw_sid(f);
    if (!sid)
        return sr_errf(eb, SR_E_INVALID, "missing field \"MessageSid\"");
    char *sender = hutil_digits(hutil_form_get(f, "From"));
    if (!sender)
        return sr_errf(eb, SR_E_INVALID, "field \"From\" is not a phone number");
    struct sr_inbound *it = sr_inbound_batch_add(out);
    it->kind = SR_IN_TEXT;
    it->provider_id = sr_strdup(sid);
    it->sender = sender;
    it->recipient = sr_strdup(hutil_form_get(f, "To"));
    it->text = sr_strdup(hutil_form_get(f, "Body"));
    it->profile_name = sr_strdup(hutil_form_get(f, "ProfileName"));
    return SR_E_OK;
}

/* A status callback: the status of a message we sent to To. */
static enum sr_err tw_status(const struct hutil_form *f, struct sr_inbound_batch *out,
                             struct sr_errbuf *eb)
{
    const char *sid = tw_sid(f);
    if (!sid)
        return sr_errf(eb, SR_E_INVALID, "missing field \"MessageSid\"");
    const char *code = hutil_form_get(f, "ErrorCode");
    struct sr_inbound *it = sr_inbound_batch_add(out);
    it->kind = SR_IN_STATUS;
    it->provider_id = sr_strdup(sid);
    it->status = sr_strdup(hutil_form_get(f, "MessageStatus"));
    it->sender = hutil_digits(hutil_form_get(f, "To"));
    it->recipient = sr_strdup(hutil_form_get(f, "From"));
    it->error_code = code && *code ? sr_strdup(code) : NULL;
    return SR_E_OK;
}

static enum sr_err tw_parse(const struct sr_channel_conf *c, const struct sr_http_in *req,
                            struct sr_inbound_batch *out, struct sr_errbuf *eb)
{
    (void)c;
    if (!hutil_content_type_is(sr_http_in_header(req, "content-type"), TW_FORM))
        return sr_errf(eb, SR_E_UNSUPPORTED, "Content-Type must be " TW_FORM);
    struct hutil_form f = {0};
    if (hutil_form_parse((const char *)req->body, req->body ? req->body_len : 0, &f) != 0)
        return sr_errf(eb, SR_E_INVALID, "body: invalid percent escape");
    int is_status = hutil_form_get(&f, "MessageStatus") && !hutil_form_get(&f, "Body");
    enum sr_err err = is_status ? tw_status(&f, out, eb) : tw_message(&f, out, eb);
    hutil_form_free(&f);
    return err;
}

/* ---- outbound ------------------------------------------------------------------------ */

/* The SMS text: the reply text, then "<id>. <title>" lines for any options; cut to 1600. */
static char *tw_text(const struct sr_reply *r)
{
    struct hutil_buf b = {0};
    hutil_buf_adds(&b, r->text);
    for (size_t i = 0; r->style != SR_REPLY_TEXT && i < r->n_options; i++) {
        hutil_buf_adds(&b, "\n");
        hutil_buf_adds(&b, r->options[i].id ? r->options[i].id : "");
        hutil_buf_adds(&b, ". ");
        hutil_buf_adds(&b, r->options[i].title ? r->options[i].title : "");
    }
    char *s = hutil_buf_take(&b, NULL);
    s[hutil_utf8_prefix(s, TW_TEXT_MAX)] = '\0';
    return s;
}

static enum sr_err tw_format_outbound(const struct sr_channel_conf *c, const struct sr_reply *r,
                                      struct sr_http_out *out, struct sr_errbuf *eb)
{
    sr_http_out_clear(out);
    if (!c->api_base || !c->account_sid || !c->auth_token || !c->from_number)
        return sr_errf(eb, SR_E_CONFIG,
                       "channel needs api_base, account_sid, auth_token, "
                       "from_number");
    char *to = r->text ? hutil_digits(r->to) : NULL;
    if (!to)
        return sr_errf(eb, SR_E_INVALID, "reply has no text or no phone-number recipient");
    char *text = tw_text(r);
    struct hutil_buf b = {0};
    hutil_buf_adds(&b, "To=%2B");
    hutil_buf_adds(&b, to);
    hutil_buf_adds(&b, "&From=");
    hutil_buf_add_pct(&b, c->from_number, strlen(c->from_number));
    hutil_buf_adds(&b, "&Body=");
    hutil_buf_add_pct(&b, text, strlen(text));
    out->body = hutil_buf_take(&b, &out->body_len);
    free(text);
    free(to);
    char *path = sr_asprintf("2010-04-01/Accounts/%s/Messages.json", c->account_sid);
    out->url = hutil_join_url(c->api_base, path);
    free(path);
    out->method = sr_strdup("POST");
    out->content_type = sr_strdup(TW_FORM);
    out->basic_user = sr_strdup(c->account_sid);
    out->basic_pass = sr_strdup(c->auth_token);
    return SR_E_OK;
}

/* Twilio REST error codes with a meaning beyond "permanent failure". */
static const struct hutil_code tw_codes[] = {
    {21610, SR_SEND_OPTED_OUT}, /* recipient replied STOP: unsubscribed */
    {20429, SR_SEND_RETRY},     /* too many requests */
    {21611, SR_SEND_RETRY},     /* the From number's queue is full */
};

/* 2xx: OK, provider id from "sid"; 4xx: Twilio's "code" decides. */
static enum sr_send_outcome tw_classify_send(const struct sr_channel_conf *c, long http_status,
                                             const char *body, size_t body_len, char **provider_id)
{
    (void)c;
    json_t *root = body ? json_loadb(body, body_len, 0, NULL) : NULL;
    json_t *code = json_object_get(root, "code");
    enum sr_send_outcome o =
        hutil_classify(http_status, json_is_integer(code), json_integer_value(code), tw_codes,
                       sizeof(tw_codes) / sizeof(tw_codes[0]));
    const char *sid = json_string_value(json_object_get(root, "sid"));
    if (o == SR_SEND_OK && sid && provider_id)
        *provider_id = sr_strdup(sid);
    json_decref(root);
    return o;
}

static enum sr_err tw_format_answer(const struct sr_channel_conf *c,
                                    const struct sr_inbound_batch *batch,
                                    struct sr_http_answer *ans, struct sr_errbuf *eb)
{
    (void)c, (void)batch, (void)eb;
    hutil_answer(ans, 200, "text/xml",
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response></Response>");
    return SR_E_OK;
}

const struct handler hutil_twilio_handler = {
    .type = "twilio",
    .handshake = NULL,
    .verify = tw_verify,
    .parse = tw_parse,
    .format_outbound = tw_format_outbound,
    .classify_send = tw_classify_send,
    .format_answer = tw_format_answer,
};
