/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared client side of the end-to-end tests: starts a private redis-server, the mock provider
 * and the suara binary (two workers) on a generated config, sends provider-shaped signed
 * webhooks, and observes the world (the mock's recorded calls, the SQLite evaluation store).
 */
#ifndef E2E_CLIENT_H
#define E2E_CLIENT_H

#include "harness.h"

#include <sys/types.h>

#define WA_SECRET "e2e-app-secret-0123"
#define SMS_TOKEN "e2e-auth-token-0123"

struct e2e {
    char *dir;
    pid_t redis, mock, suara;
    int port, mock_port;
    char base[64], mock_base[64], db[512], config[512], log[512];
    int seq;
    const char *extra_ini; /* appended to the generated config, set before setup */
};
extern struct e2e E;

/* cmocka group setup / teardown: everything started in setup is stopped in teardown; teardown
 * fails unless suara drains and exits 0 on SIGTERM. */
int e2e_setup(void **state);
int e2e_teardown(void **state);
int start_suara(void);
/* Waits (bounded) for /readyz "ready": Redis connected, the writer healthy, the spool empty. */
int wait_ready(int timeout_ms);

long http_get(const char *url, char **body);
char *next_id(const char *prefix);
char *wa_body(const char *from, const char *id, const char *text, const char *payload);
long post_raw(const char *channel, const char *ctype, const char *sig_header, const char *body,
              size_t len, char **resp);
long post_wa_signed(const char *body, const char *secret, char **resp);
long wa_send(const char *from, const char *text, const char *payload);
char *form_escape(const char *s);
long sms_send_as(const char *from, const char *text, const char *token);

/* The [server] clock_file drill. e2e_setup_clock writes the clock file at start_ms, appends
 * its [server] line and more_ini (may be NULL) to the config, and runs e2e_setup.
 * e2e_set_clock replaces the file atomically (write + rename, so the gateway never reads a
 * half-written time); e2e_clock_ms is the time last set. */
int e2e_setup_clock(void **state, long long start_ms, const char *more_ini);
void e2e_set_clock(long long ms);
extern long long e2e_clock_ms;
/* Posts one signed WhatsApp body from n threads at once (n <= 8); returns how many got 200. */
int post_wa_concurrently(const char *body, int n);

int mock_count(const char *number);
/* The count once the gateway has drained (e2e_wait_drained, bounded): every reply committed so far
 * has been answered by the mock. */
int mock_settled_count(const char *number);
/* 1 when the gateway has nothing committed left to do: <p>outbox (replies still to send) and
 * <p>events (events the writer has not yet put in the evaluation store) are both empty, read
 * atomically in the private Redis. A webhook answered 200 was committed, so after every answer a
 * test has seen, this is the positive marker that its replies reached the mock and its events the
 * store, and that a duplicate, were one processed twice, would be visible now. */
int e2e_drained(void);
/* Waits (bounded) for e2e_drained; 0 once it holds, -1 on timeout. */
int e2e_wait_drained(int timeout_ms);
long long db_int(const char *sql);
/* First column of the first row as text into out; 0, or -1 if no row. */
int db_text(const char *sql, char *out, size_t n);
long long wait_db(const char *sql, long long want, int timeout_ms);

#endif
