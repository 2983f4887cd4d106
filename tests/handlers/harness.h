/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared table-driven harness for the channel handler tests: reads recorded payloads from
 * tests/testdata/<channel>/, builds sr_http_in requests, compares parsed items field by field
 * with expected values and checks that error details never leak a secret or a phone number.
 */
#ifndef TEST_HANDLERS_HARNESS_H
#define TEST_HANDLERS_HARNESS_H

#include "handler.h"

#include <stddef.h>
#include <stdint.h>

#define TH_MAX_HEADERS 8

/* A request under construction; every string borrowed. */
struct th_req {
    struct sr_http_in in;
    struct sr_header h[TH_MAX_HEADERS];
};

/* Reads SUARA_TESTDATA/<rel> into a heap buffer (NUL-terminated; caller frees). Fails the
 * test if the file cannot be read. */
char *th_read(const char *rel, size_t *len);

void th_req_init(struct th_req *r, const char *method, const char *path, const char *query,
                 const void *body, size_t len);
void th_req_header(struct th_req *r, const char *name, const char *value);

/* One expected normalised item; NULL strings mean "must be NULL". */
struct th_item {
    enum sr_inbound_kind kind;
    const char *provider_id, *sender, *recipient, *text, *payload, *profile_name;
    int64_t timestamp_ms;
    const char *status, *error_code;
};
void th_check_item(const struct sr_inbound *got, const struct th_item *want);

/* One expected item set aside by a parser: its reason and a substring of its detail. */
struct th_reject {
    enum sr_inbound_reject_reason reason;
    const char *detail;
};
/* Checks reason and detail, and that the detail names no phone number (no "628" digits run). */
void th_check_reject(const struct sr_inbound_reject *got, const struct th_reject *want);

/* Fails the test if msg contains any of the needles (NULL-terminated list). */
void th_assert_clean(const char *msg, const char *const *needles);

#endif
