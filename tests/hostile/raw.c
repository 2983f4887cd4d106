/* SPDX-License-Identifier: Apache-2.0 */
/* Raw client connections, plain or TLS (see raw.h). */
#include "raw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
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

static void set_timeouts(int fd, int timeout_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int tcp_connect(const struct raw_target *t, int timeout_ms)
{
    char port[8];
    snprintf(port, sizeof(port), "%d", t->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(t->host, port, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        set_timeouts(fd, timeout_ms); /* bounds connect(), the handshake and every write */
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

struct raw_conn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

void raw_close(struct raw_conn *c)
{
    if (!c)
        return;
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->ctx)
        SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

/* TLS on c->fd: ALPN http/1.1 (the hostile requests are HTTP/1.1 text), SNI only for a host
 * name (RFC 6066 has no SNI for address literals). */
static int tls_start(struct raw_conn *c, const char *host)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    unsigned char addr[16];
    c->ctx = SSL_CTX_new(TLS_client_method());
    c->ssl = c->ctx ? SSL_new(c->ctx) : NULL;
    if (!c->ssl)
        return -1;
    SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
    if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
        SSL_set_tlsext_host_name(c->ssl, host);
    SSL_set_alpn_protos(c->ssl, alpn, sizeof(alpn) - 1);
    SSL_set_fd(c->ssl, c->fd);
    return SSL_connect(c->ssl) == 1 ? 0 : -1;
}

struct raw_conn *raw_open(const struct raw_target *t, int timeout_ms)
{
    struct raw_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = tcp_connect(t, timeout_ms);
    if (c->fd < 0 || (t->tls && tls_start(c, t->host) < 0)) {
        raw_close(c);
        return NULL;
    }
    return c;
}

int raw_write(struct raw_conn *c, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = c->ssl ? SSL_write(c->ssl, p, (int)len) : send(c->fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

long raw_read(struct raw_conn *c, void *buf, size_t cap, int wait_ms)
{
    if (!(c->ssl && SSL_pending(c->ssl))) {
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, wait_ms) <= 0)
            return -1;
    }
    if (!c->ssl) {
        ssize_t n = recv(c->fd, buf, cap, 0);
        return n < 0 && (errno == EAGAIN || errno == EINTR) ? -1 : n < 0 ? 0 : (long)n;
    }
    int n = SSL_read(c->ssl, buf, (int)cap);
    if (n > 0)
        return n;
    /* a partial record (WANT_READ, or the receive timeout) is "nothing yet"; the rest is an end */
    int e = SSL_get_error(c->ssl, n);
    return e == SSL_ERROR_WANT_READ || (e == SSL_ERROR_SYSCALL && errno == EAGAIN) ? -1 : 0;
}

int raw_exchange(const struct raw_target *t, const char *req, size_t len, int deadline_ms,
                 struct raw_result *out)
{
    memset(out, 0, sizeof(*out));
    out->data = calloc(1, 1);
    struct raw_conn *c = raw_open(t, deadline_ms);
    long long start = now_ms(); /* the answer's time, not the TLS handshake's */
    if (!c || raw_write(c, req, len) < 0) {
        raw_close(c);
        return -1;
    }
    long long end = now_ms() + deadline_ms;
    char buf[16384];
    for (long long left; (left = end - now_ms()) > 0;) {
        long n = raw_read(c, buf, sizeof(buf), (int)left);
        if (n < 0)
            continue;
        if (n == 0) {
            out->closed = 1;
            break;
        }
        out->data = realloc(out->data, out->len + (size_t)n + 1);
        memcpy(out->data + out->len, buf, (size_t)n);
        out->len += (size_t)n;
        out->data[out->len] = '\0';
    }
    out->took_ms = now_ms() - start;
    raw_close(c);
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
