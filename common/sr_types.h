/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The types that cross module borders: a channel's configuration, a raw HTTP request as the
 * gateway saw it, a normalised inbound message, an outbound reply, and an outbound HTTP request
 * built by a handler. Handlers and dialogs see only these (plus sr_error.h and sr_mem.h).
 *
 * Ownership: every char * inside sr_inbound, sr_reply, sr_http_out and sr_http_answer is owned
 * by the struct and released by its *_clear / *_free function. sr_http_in only borrows.
 */
#ifndef SR_TYPES_H
#define SR_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* One configured channel ([channel.<name>] in the config file). Borrowed, read-only, lives as
 * long as the loaded config. Unused fields are NULL / 0 for a channel type that has no use. */
struct sr_channel_conf {
    const char *name;     /* route: /webhooks/<name> */
    const char *type;     /* handler type: "whatsapp", "twilio" */
    const char *language; /* default catalog language, "id" or "en" */
    size_t body_limit;    /* bytes; larger bodies get 413 */
    /* inbound verification */
    const char *app_secret;   /* whatsapp: HMAC-SHA256 key for X-Hub-Signature-256 */
    const char *verify_token; /* whatsapp: hub.verify_token for the GET handshake */
    const char *auth_token;   /* twilio: HMAC-SHA1 key for X-Twilio-Signature; basic auth */
    const char *public_url;   /* twilio: the exact URL configured at the provider ("" = rebuild
                                 from Host / X-Forwarded-* headers) */
    /* outbound */
    const char *api_base;        /* whatsapp: graph base, e.g. https://graph.facebook.com/v19.0;
                                    twilio: https://api.twilio.com */
    const char *access_token;    /* whatsapp: Bearer token */
    const char *phone_number_id; /* whatsapp: sender id in /<id>/messages */
    const char *account_sid;     /* twilio: basic-auth user and path element */
    const char *from_number;     /* twilio: From of outbound SMS */
};

/* A header as received; names are lower-case. */
struct sr_header {
    const char *name;
    const char *value;
};

/* The request as the gateway received it. Everything borrowed for the duration of the call. */
struct sr_http_in {
    const char *method; /* "GET" / "POST" */
    const char *path;   /* "/webhooks/wa" (no query) */
    const char *query;  /* raw query string without '?', "" if none */
    const struct sr_header *headers;
    size_t n_headers;
    const unsigned char *body; /* raw bytes exactly as received */
    size_t body_len;
};

/* Case-insensitive header lookup; NULL if absent. */
const char *sr_http_in_header(const struct sr_http_in *req, const char *name);

#define SR_INBOUND_KINDS(X)                                                                        \
    X(TEXT, "text")                                                                                \
    X(BUTTON, "button") /* interactive button_reply or template quick-reply button */              \
    X(LIST, "list")     /* interactive list_reply */                                               \
    X(STATUS, "status") /* delivery status of something we sent */                                 \
    X(OTHER, "other")   /* media, location, ... : answered with a hint, never dropped silently */

enum sr_inbound_kind {
#define SR_IK_ENUM(name, text) SR_IN_##name,
    SR_INBOUND_KINDS(SR_IK_ENUM)
#undef SR_IK_ENUM
};
const char *sr_inbound_kind_name(enum sr_inbound_kind k);

/* One normalised inbound item. */
struct sr_inbound {
    enum sr_inbound_kind kind;
    char *provider_id;    /* provider message id (wamid..., SM...), the dedupe key; for STATUS the
                             id of the message the status is about */
    char *sender;         /* citizen address as the provider gives it, digits only for phones
                             ("6281234567890"); for STATUS the recipient of our message */
    char *recipient;      /* our address (phone_number_id / To) */
    char *text;           /* TEXT: body; BUTTON/LIST: the title shown */
    char *payload;        /* BUTTON/LIST: the reply id / payload we set */
    char *profile_name;   /* optional display name; never logged */
    int64_t timestamp_ms; /* provider timestamp, 0 if none */
    char *status;         /* STATUS: "sent", "delivered", "read", "failed" */
    char *error_code;     /* STATUS failed: provider error code */
};

/* Why one item of a provider's batch was set aside while the rest of the batch is processed. */
#define SR_INBOUND_REJECTS(X)                                                                      \
    X(FOREIGN, "foreign_recipient") /* addressed to another number than this channel's */          \
    X(MALFORMED, "malformed")       /* not an object, a field of the wrong type */                 \
    X(MISSING_FIELD, "missing_field")                                                              \
    X(BAD_SENDER, "bad_sender") /* "from" is not a phone number */                                 \
    X(UNKNOWN_TYPE, "unknown_type")                                                                \
    X(TOO_LONG, "too_long") /* text beyond the channel's cap */

enum sr_inbound_reject_reason {
#define SR_IR_ENUM(name, text) SR_REJECT_##name,
    SR_INBOUND_REJECTS(SR_IR_ENUM)
#undef SR_IR_ENUM
};
const char *sr_inbound_reject_name(enum sr_inbound_reject_reason r);

/* One item set aside. detail names its place and problem ("entry[0].changes[0].value.messages[1]:
 * missing \"from\""), never a phone number, a text or a secret: it is logged. */
struct sr_inbound_reject {
    enum sr_inbound_reject_reason reason;
    char *detail;
};

struct sr_inbound_batch {
    struct sr_inbound *items;
    size_t n, cap;
    struct sr_inbound_reject *rejects;
    size_t n_rejects, cap_rejects;
};

/* Appends a zeroed item and returns it (never NULL: OOM aborts). */
struct sr_inbound *sr_inbound_batch_add(struct sr_inbound_batch *b);
/* Records an item set aside; detail is printf-style. */
void sr_inbound_batch_reject(struct sr_inbound_batch *b, enum sr_inbound_reject_reason reason,
                             const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sr_inbound_batch_clear(struct sr_inbound_batch *b); /* frees items, keeps b reusable */

#define SR_REPLY_MAX_OPTIONS 10

enum sr_reply_style {
    SR_REPLY_TEXT,    /* plain text */
    SR_REPLY_BUTTONS, /* up to 3 reply buttons (titles <= 20 chars) */
    SR_REPLY_LIST     /* up to 10 list rows */
};

struct sr_reply_option {
    char *id;    /* payload returned when chosen, e.g. "4" */
    char *title; /* shown text */
};

/* One outbound message, as a dialog produced it. Channels without buttons render options as
 * numbered text lines (the handler does it). */
struct sr_reply {
    char *channel; /* channel name */
    char *to;      /* recipient address on that channel */
    char *text;
    enum sr_reply_style style;
    char *list_button; /* SR_REPLY_LIST: label of the button that opens the list */
    size_t n_options;
    struct sr_reply_option options[SR_REPLY_MAX_OPTIONS];
    /* When the recipient's last inbound message (the one this reply answers) arrived, epoch ms;
     * 0 if unknown. WhatsApp allows free-form replies until 24 h after it, so the sender retries
     * a reply no longer than that. */
    int64_t in_at_ms;
};
void sr_reply_clear(struct sr_reply *r);

/* JSON form used on the outbox stream: {"channel","to","text","style","list_button","options":
 * [{"id","title"}],"in_at"} ("in_at" only when in_at_ms > 0). Encode returns a heap string; decode
 * fills r (cleared first). */
char *sr_reply_to_json(const struct sr_reply *r);
int sr_reply_from_json(struct sr_reply *r, const char *json, size_t len);

/* An outbound HTTP request built by a handler; the gateway's sender executes it. */
struct sr_http_out {
    char *method; /* "POST" (or "GET") */
    char *url;
    char *content_type; /* NULL for none */
    char *body;
    size_t body_len;
    char *bearer;     /* Authorization: Bearer ... or NULL */
    char *basic_user; /* HTTP basic auth, or NULL */
    char *basic_pass;
};
void sr_http_out_clear(struct sr_http_out *o);

/* The immediate answer to the provider. */
struct sr_http_answer {
    int status;
    char *content_type;
    char *body;
    size_t body_len;
};
void sr_http_answer_clear(struct sr_http_answer *a);

/* What came back from an outbound send, classified by the handler. */
enum sr_send_outcome {
    SR_SEND_OK,       /* accepted by the provider */
    SR_SEND_RETRY,    /* transient: timeout, 5xx, 429 */
    SR_SEND_FAILED,   /* permanent: 4xx other than 429 */
    SR_SEND_OPTED_OUT /* the provider says the recipient opted out / blocked us */
};

/* An officer from the registry (imported from CSV into the evaluation store, loaded read-only
 * at start-up). Strings owned by the registry that handed it out. */
struct sr_officer {
    const char *code; /* short code citizens type, e.g. "BMK017"; unique, case-insensitive */
    const char *nip;  /* 18 digits */
    const char *name;
    const char *unit_code;
    const char *unit_name;
    const char *phone; /* notification number (officer's own, not a citizen's) */
    const char *role;  /* "officer" (rated only), "complaint" (handles complaints of the
                          unit), "supervisor" (escalations of the unit) */
};

/* A unit (office) from the registry. */
struct sr_unit {
    const char *code;
    const char *name;
};

#endif
