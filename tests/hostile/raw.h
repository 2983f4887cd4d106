/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw client connections for the hostile HTTP tests: connect to {host, port, tls} (TLS through
 * OpenSSL's libssl with SNI and no certificate check: the tests talk to a proxy they started),
 * write bytes exactly as given, read until the peer closes or a deadline passes.
 */
#ifndef RAW_H
#define RAW_H

#include <stddef.h>

struct raw_target {
    char host[128];
    int port;
    int tls;
};

struct raw_result {
    char *data; /* everything read, NUL-terminated (heap) */
    size_t len;
    int closed; /* the peer closed (FIN or reset) before the deadline */
    long long took_ms;
};

/* Fills t from "host:port" (tls as given); 0, or -1 if spec is malformed. */
int raw_target_parse(struct raw_target *t, const char *spec, int tls);
/* One connection: writes req (len bytes, in one write), then reads until close or deadline_ms
 * after the write. 0, or -1 if it could not connect or write. */
int raw_exchange(const struct raw_target *t, const char *req, size_t len, int deadline_ms,
                 struct raw_result *out);
void raw_result_free(struct raw_result *r);
/* The status code of the first HTTP/1.x status line in r, 0 if none. */
int raw_status(const struct raw_result *r);

#endif
