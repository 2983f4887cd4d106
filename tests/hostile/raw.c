/* SPDX-License-Identifier: Apache-2.0 */
/* Raw client connections, plain or TLS (see raw.h). */
#include "raw.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int raw_target_parse(struct raw_target *t, const char *spec, int tls)
{
    const char *colon = spec ? strrchr(spec, ':') : NULL;
    if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(t->host))
        return -1;
    memcpy(t->host, spec, (size_t)(colon - spec));
    t->host[colon - spec] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || p <= 0 || p > 65535)
        return -1;
    t->port = (int)p;
    t->tls = tls;
    return 0;
}

static int tcp_connect(const struct raw_target *t)
{
    char port[8];
    snprintf(port, sizeof(port), "%d", t->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(t->host, port, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

struct conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

static void conn_close(struct conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->ctx)
        SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
}

static int conn_open(struct conn *c, const struct raw_target *t)
{
    memset(c, 0, sizeof(*c));
    c->fd = tcp_connect(t);
    if (c->fd < 0 || !t->tls)
        return c->fd < 0 ? -1 : 0;
    c->ctx = SSL_CTX_new(TLS_client_method());
    c->ssl = c->ctx ? SSL_new(c->ctx) : NULL;
    if (!c->ssl)
        return -1;
    SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
    SSL_set_tlsext_host_name(c->ssl, t->host);
    SSL_set_fd(c->ssl, c->fd);
    return SSL_connect(c->ssl) == 1 ? 0 : -1;
}

static int conn_write(struct conn *c, const char *p, size_t len)
{
    while (len) {
        ssize_t n = c->ssl ? SSL_write(c->ssl, p, (int)len) : send(c->fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* >0 bytes, 0 closed, -1 nothing yet (timeout), -2 reset */
static ssize_t conn_read(struct conn *c, char *buf, size_t cap, int wait_ms)
{
    if (!(c->ssl && SSL_pending(c->ssl))) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, wait_ms) <= 0)
            return -1;
    }
    ssize_t n = c->ssl ? SSL_read(c->ssl, buf, (int)cap) : recv(c->fd, buf, cap, 0);
    if (n < 0 && c->ssl)
        return SSL_get_error(c->ssl, (int)n) == SSL_ERROR_WANT_READ ? -1 : 0;
    return n < 0 ? -2 : n;
}

int raw_exchange(const struct raw_target *t, const char *req, size_t len, int deadline_ms,
                 struct raw_result *out)
{
    memset(out, 0, sizeof(*out));
    out->data = calloc(1, 1);
    struct conn c;
    long long start = now_ms();
    if (conn_open(&c, t) < 0 || conn_write(&c, req, len) < 0) {
        conn_close(&c);
        return -1;
    }
    long long end = now_ms() + deadline_ms;
    char buf[16384];
    for (long long left; (left = end - now_ms()) > 0;) {
        ssize_t n = conn_read(&c, buf, sizeof(buf), (int)left);
        if (n == -1)
            continue;
        if (n <= 0) {
            out->closed = 1;
            break;
        }
        out->data = realloc(out->data, out->len + (size_t)n + 1);
        memcpy(out->data + out->len, buf, (size_t)n);
        out->len += (size_t)n;
        out->data[out->len] = '\0';
    }
    out->took_ms = now_ms() - start;
    conn_close(&c);
    return 0;
}

void raw_result_free(struct raw_result *r)
{
    free(r->data);
    r->data = NULL;
}

int raw_status(const struct raw_result *r)
{
    int code = 0;
    if (r->data && (sscanf(r->data, "HTTP/1.%*1d %3d", &code) != 1))
        return 0;
    return code;
}
