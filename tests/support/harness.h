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
    long http_version;      /* 1 (HTTP/1.x) or 2 (HTTP/2) */
    char content_type[128]; /* "" if none */
};
/* One HTTP request. headers: NULL-terminated "Name: value" strings. Returns 0 if a response
 * arrived (any status), -1 on a transport error. */
int harness_http(const char *method, const char *url, const char *const *headers, const char *body,
                 size_t len, struct harness_response *out);

/* The same with the options a test through a TLS front needs. */
struct harness_request {
    const char *method, *url;
    const char *const *headers; /* NULL-terminated "Name: value" strings, or NULL */
    const char *body;           /* NULL: no body */
    size_t len;
    const char *local_addr; /* source address, e.g. "127.0.0.2" (any loopback address); NULL: any */
    int insecure;           /* 1: TLS without certificate or host name checks (test certificates) */
    int http2;              /* 1: offer HTTP/2 by ALPN (CURL_HTTP_VERSION_2TLS); 0: HTTP/1.1 */
    int chunked; /* 1: send the body with Transfer-Encoding: chunked, no Content-Length */
};
int harness_http_req(const struct harness_request *q, struct harness_response *out);
void harness_response_free(struct harness_response *r);

/* ---- a real nginx in front: deploy/nginx/suara.conf rendered by deploy/nginx/render.sh ---- */
struct harness_nginx {
    pid_t pid;
    int tls_port;  /* HTTPS on 127.0.0.1 (HTTP/2 by ALPN, else HTTP/1.1): the site under test */
    int http_port; /* plain HTTP on 127.0.0.1: the redirect-to-HTTPS server */
    char dir[512]; /* config, self-signed certificate, logs and temp files */
};
/* 1 if nginx is installed (/usr/sbin/nginx or on PATH); tests skip without it. */
int harness_nginx_available(void);
/* Makes a self-signed certificate (openssl) in dir, renders the production site with listen
 * ports on 127.0.0.1 and the upstream 127.0.0.1:upstream_port, writes a main config whose paths
 * all lie in dir, and starts nginx in the foreground (daemon off, a child of this process).
 * Returns 0 once the TLS port accepts, -1 otherwise (then nothing is left running). */
int harness_nginx_start(struct harness_nginx *n, const char *dir, int upstream_port);
/* Stops it by PID (SIGTERM); returns harness_stop's status. */
int harness_nginx_stop(struct harness_nginx *n);

/* Milliseconds on a monotonic clock (for bounds only, never for logic under test). */
long long harness_mono_ms(void);
/* A poll step inside harness_wait_until, or a pause that is itself the thing under test (a slow
 * client, a fault's duration); never a test's only reason to believe something happened. */
void harness_sleep_ms(int ms);

/* The one way a test waits: polls cond(ud) (true = done) every few milliseconds until it holds
 * or timeout_ms has passed on the monotonic clock. cond runs at least once, and once more at the
 * deadline. Returns 0 if cond held, -1 on timeout. */
typedef int (*harness_cond_fn)(void *ud);
int harness_wait_until(harness_cond_fn cond, void *ud, int timeout_ms);

/* Runs a command-line entry point fn(ctx, argc, argv) (argv NULL-terminated) with stdout sent to
 * a temporary file; *out gets what it printed (heap, NUL-terminated; NULL if capturing failed).
 * Returns fn's exit code. */
int harness_capture_cli(int (*fn)(const void *ctx, int argc, char **argv), const void *ctx,
                        char **argv, char **out);

#endif
