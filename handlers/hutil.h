/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Handler-internal helpers shared by the channel files (not part of the module's public API):
 * application/x-www-form-urlencoded decoding and encoding, a growable byte buffer, UTF-8
 * cutting by characters, hex, constant-time string comparison, phone-address normalising and
 * the const channel tables the registry in handler.c lists. Pure: no I/O, no logging.
 */
#ifndef HUTIL_H
#define HUTIL_H

#include "handler.h"

#include <stddef.h>
#include <stdint.h>

/* The channel tables (one per file) that handler.c registers. */
extern const struct handler hutil_whatsapp_handler;
extern const struct handler hutil_twilio_handler;

/* The WhatsApp send side (whatsapp_send.c), used by the table in whatsapp.c. */
enum sr_err hutil_whatsapp_format_outbound(const struct sr_channel_conf *c,
                                           const struct sr_reply *r, struct sr_http_out *out,
                                           struct sr_errbuf *eb);
enum sr_send_outcome hutil_whatsapp_classify_send(const struct sr_channel_conf *c, long http_status,
                                                  const char *body, size_t body_len,
                                                  char **provider_id);

/* A provider error code with a meaning beyond "permanent failure". */
struct hutil_code {
    long long code;
    enum sr_send_outcome outcome;
};
/* 2xx OK; 429, 5xx and no HTTP status at all (< 100) RETRY; any other status FAILED unless the
 * provider's error code (has_code) is in the table. */
enum sr_send_outcome hutil_classify(long http_status, int has_code, long long code,
                                    const struct hutil_code *table, size_t n);

/* A decoded form / query string. Names and values are heap strings owned by the form. */
struct hutil_field {
    char *name;
    char *value;
};
struct hutil_form {
    struct hutil_field *f;
    size_t n, cap;
};

/* Decodes "a=1&b=x+y%21" (s borrowed, need not be terminated) into form (zeroed by the caller
 * or freshly freed). '+' is a space, %XX a byte; a bad escape or %00 gives -1 (form is then
 * freed). Empty pairs are skipped; a pair without '=' has the value "". */
int hutil_form_parse(const char *s, size_t len, struct hutil_form *form);
/* The first value for name, or NULL. Borrowed from form. */
const char *hutil_form_get(const struct hutil_form *form, const char *name);
/* Sorts by name, then by value (byte order): a total order, so repeated names are stable. */
void hutil_form_sort(struct hutil_form *form);
void hutil_form_free(struct hutil_form *form); /* accepts a zeroed form */

/* A growable buffer, always NUL-terminated once anything was added. */
struct hutil_buf {
    char *p;
    size_t len, cap;
};
void hutil_buf_add(struct hutil_buf *b, const char *s, size_t n);
void hutil_buf_adds(struct hutil_buf *b, const char *s);
/* Appends s percent-encoded for a form body: unreserved bytes as-is, the rest %XX. */
void hutil_buf_add_pct(struct hutil_buf *b, const char *s, size_t n);
/* Returns the heap string (caller frees; "" if nothing was added) and resets b. */
char *hutil_buf_take(struct hutil_buf *b, size_t *len);
void hutil_buf_free(struct hutil_buf *b);

/* Byte length of the longest prefix of s holding at most max_chars UTF-8 characters; never
 * splits a multi-byte character. */
size_t hutil_utf8_prefix(const char *s, size_t max_chars);

/* Decodes exactly 2*n hex digits (either case) into out; -1 on any other character. */
int hutil_hex_decode(const char *hex, unsigned char *out, size_t n);
void hutil_hex_encode(const unsigned char *in, size_t n, char *out); /* writes 2n+1 bytes */

/* 1 if a and b are equal, compared in time independent of their contents (SHA-256 of both,
 * then CRYPTO_memcmp). NULL never equals anything. */
int hutil_secret_equal(const char *a, const char *b);

/* 1 if the Content-Type value names mime (case-insensitive), parameters allowed. */
int hutil_content_type_is(const char *value, const char *mime);

/* A citizen address as digits only: drops a "whatsapp:" prefix and every non-digit. Heap;
 * NULL if no digit remains. */
char *hutil_digits(const char *addr);

/* "1700000000" (seconds) -> milliseconds; 0 if not a plain decimal number or out of range. */
int64_t hutil_seconds_to_ms(const char *s);

/* A heap string "<base>/<rest>" without doubling the '/'. */
char *hutil_join_url(const char *base, const char *rest);

/* Frees items [n, b->n) and rejects [n_rejects, b->n_rejects) and shrinks b to n and n_rejects:
 * undoes a partial parse. */
void hutil_batch_truncate(struct sr_inbound_batch *b, size_t n, size_t n_rejects);

/* Fills ans with a heap copy of the given status, content type and body. */
void hutil_answer(struct sr_http_answer *ans, int status, const char *ctype, const char *body);

#endif
