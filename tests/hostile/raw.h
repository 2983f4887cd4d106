/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw client connections for the hostile HTTP tests and the nginx front test, the one home for
 * hand-written HTTP/1.1 over a socket: connect to {host, port, tls} (TLS through OpenSSL's libssl
 * with ALPN "http/1.1", SNI for a host name, no certificate check: the tests talk to a proxy they
 * started), write bytes exactly as given, read with a bound. raw_exchange does one whole
 * request: write, then read until the peer closes or a deadline passes.
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
    int closed;        /* the peer closed (FIN or reset) before the deadline */
    long long took_ms; /* from the write of the request (after any TLS handshake) to the end */
};

/* Fills t from "host:port" (tls as given); 0, or -1 if spec is malformed. */
int raw_target_parse(struct raw_target *t, const char *spec, int tls);

/* One open connection. Every blocking step (connect, TLS handshake, a write) is bounded by the
 * timeout given to raw_open. */
struct raw_conn;
/* Connects (and shakes hands, for TLS); NULL if that fails or takes longer than timeout_ms. */
struct raw_conn *raw_open(const struct raw_target *t, int timeout_ms);
/* Writes all len bytes: 0, or -1. */
int raw_write(struct raw_conn *c, const void *buf, size_t len);
/* Reads what arrives within wait_ms (up to cap bytes): the count, 0 when the peer closed (FIN,
 * reset, TLS close), -1 when nothing came in time. */
long raw_read(struct raw_conn *c, void *buf, size_t cap, int wait_ms);
void raw_close(struct raw_conn *c); /* NULL is fine */

/* One connection: writes req (len bytes, in one write), then reads until close or deadline_ms
 * after the write. 0, or -1 if it could not connect or write. */
int raw_exchange(const struct raw_target *t, const char *req, size_t len, int deadline_ms,
                 struct raw_result *out);
void raw_result_free(struct raw_result *r);
/* The status code of the first HTTP/1.x status line in r, 0 if none. */
int raw_status(const struct raw_result *r);

#endif
