/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trust boundary of one HTTP request. Once per request (trust_screen, right after its
 * headers are captured) the gateway learns the TCP peer from the socket, decides whether it is
 * a trusted reverse proxy ([server] trust_proxy), derives the client address, and DROPS the
 * X-Forwarded-For / -Proto / -Host headers of any other peer, so nothing downstream (the
 * Twilio URL rebuild in handler_request_url, the throttle) can be steered by a client's
 * headers. Then every check of a secret an outsider can guess goes through the one throttle
 * (throttle.h) keyed by that client address: trust_refused_or_reply before the check,
 * trust_record after it.
 */
#ifndef TRUST_H
#define TRUST_H

struct gw_request;

/*      name          metric label */
#define TRUST_SECRETS(X)                                                                           \
    X(API_TOKEN, "api_token")         /* Authorization: Bearer on /api/v1/ */                      \
    X(VERIFY_TOKEN, "verify_token")   /* WhatsApp GET hub.verify_token */                          \
    X(SIGNATURE, "webhook_signature") /* X-Hub-Signature-256, X-Twilio-Signature */

enum trust_secret {
#define TRUST_SECRET_ENUM(name, text) TRUST_##name,
    TRUST_SECRETS(TRUST_SECRET_ENUM)
#undef TRUST_SECRET_ENUM
};
const char *trust_secret_name(enum trust_secret s);

/* Fills r->peer, r->client, r->client_key and r->via_proxy, and removes the forwarded headers
 * of an untrusted peer from r->headers. Behind a trusted proxy the client is the right-most
 * X-Forwarded-For address that is not itself a trusted proxy (nginx's real_ip_recursive). */
void trust_screen(struct gw_request *r);

/* The client address of this request (borrowed from r): "192.0.2.7", "2001:db8::5" or "?". */
const char *trust_client_addr(const struct gw_request *r);

/* 1 if r's client is refused right now: r has been answered 429 with Retry-After and the
 * refusal counted. 0: go on and check the secret. */
int trust_refused_or_reply(struct gw_request *r, enum trust_secret s);

/* The outcome of a secret check for r's client: a failure is counted (and may start a
 * refusal), a success clears the count. */
void trust_record(struct gw_request *r, enum trust_secret s, int failed);

#endif
