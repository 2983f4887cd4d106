/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test harness for integration tests and benchmarks: start and stop real processes (a private
 * redis-server, the mock provider, the suara binary) by PID, make HTTP requests with libcurl,
 * and poll for conditions with a bound. Loopback and unix sockets only.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <stddef.h>
#include <sys/types.h>

/* fork/exec argv with stdout+stderr appended to log_path; returns the PID or -1. */
pid_t harness_spawn(char *const argv[], const char *log_path);
/* Sends sig, waits up to timeout_ms; returns the exit status (0..255), 128+signal if killed by a
 * signal, or -1 if it did not end in time (then it is SIGKILLed). */
int harness_stop(pid_t pid, int sig, int timeout_ms);
/* Runs argv to completion (bounded); returns its exit status or -1. */
int harness_run(char *const argv[], const char *log_path, int timeout_ms);

/* A free TCP port on 127.0.0.1 (bound and released: good enough on a test machine). */
int harness_free_port(void);
/* Makes a fresh temporary directory; returns a heap path. */
char *harness_tmpdir(const char *tag);
/* rm -rf of a directory made by harness_tmpdir. */
void harness_rmdir(const char *path);

/* Private redis-server on DIR/redis.sock (AOF in DIR); returns its PID. */
pid_t harness_redis_start(const char *dir);
/* The mock provider (tests/support/mock_provider.py) on a free port; *port set. */
pid_t harness_mock_start(const char *dir, int *port);

struct harness_response {
    long status;
    char *body; /* heap, NUL-terminated */
    size_t len;
};
/* One HTTP request. headers: NULL-terminated "Name: value" strings. Returns 0 if a response
 * arrived (any status), -1 on a transport error. */
int harness_http(const char *method, const char *url, const char *const *headers, const char *body,
                 size_t len, struct harness_response *out);
void harness_response_free(struct harness_response *r);

/* Milliseconds on a monotonic clock (for bounds only, never for logic under test). */
long long harness_mono_ms(void);
void harness_sleep_ms(int ms);

#endif
