/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The trust boundary of a request (trust.h): the peer from the socket (getpeername on the
 * connection's fd, once per request), the trusted-proxy decision, the client address from
 * X-Forwarded-For, dropping forwarded headers of untrusted peers, and the glue between a
 * secret check and the process-wide throttle with its metrics.
 */
#include "trust.h"

#include "netaddr.h"
#include "server.h"
#include "sr_log.h"
#include "throttle.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static const char *const forwarded[] = {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"};

const char *trust_secret_name(enum trust_secret s)
{
    static const char *const names[] = {
#define TRUST_SECRET_NAME(name, text) text,
        TRUST_SECRETS(TRUST_SECRET_NAME)
#undef TRUST_SECRET_NAME
    };
    return (size_t)s < sizeof(names) / sizeof(names[0]) ? names[s] : "other";
}

/* The peer of r's connection; -1 when the socket does not say (then nothing is trusted). */
static int peer_of(const struct gw_request *r, unsigned char out[16])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    lws_sockfd_type fd = r->wsi ? lws_get_socket_fd(lws_get_network_wsi(r->wsi)) : -1;
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    return netaddr_from_sockaddr((struct sockaddr *)&ss, out);
}

static int is_proxy(const struct config *c, const unsigned char a[16])
{
    return netaddr_list_contains(c->server.proxies, c->server.n_proxies, a);
}

/* Behind trusted proxies: walks X-Forwarded-For from the right past trusted hops; the first
 * other address is the client. A malformed entry ends the walk at the last good hop. */
static void client_from_xff(const struct config *c, const char *xff, unsigned char client[16])
{
    size_t end = strlen(xff);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        const char *item = xff + start;
        size_t len = end - start;
        while (len && (*item == ' ' || *item == '\t'))
            item++, len--;
        while (len && (item[len - 1] == ' ' || item[len - 1] == '\t'))
            len--;
        unsigned char a[16];
        if (netaddr_parse(item, len, a) != 0)
            return;
        memcpy(client, a, 16);
        if (!is_proxy(c, a))
            return;
        end = start ? start - 1 : 0;
    }
}

static void drop_header(struct gw_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        if (strcasecmp(r->headers[i].name, name) != 0)
            continue;
        free(r->header_store[i]);
        for (size_t k = i + 1; k < r->n_headers; k++) {
            r->headers[k - 1] = r->headers[k];
            r->header_store[k - 1] = r->header_store[k];
        }
        r->n_headers--;
        return;
    }
}

static const char *header_of(const struct gw_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void trust_screen(struct gw_request *r)
{
    const struct config *c = r->w->app->cfg;
    unsigned char peer[16], client[16];
    int known = peer_of(r, peer) == 0;
    r->via_proxy = known && is_proxy(c, peer);
    if (!r->via_proxy)
        for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
            drop_header(r, forwarded[i]);
    snprintf(r->peer, sizeof(r->peer), "?");
    snprintf(r->client, sizeof(r->client), "?");
    snprintf(r->client_key, sizeof(r->client_key), "?");
    if (!known)
        return;
    memcpy(client, peer, 16);
    const char *xff = header_of(r, "x-forwarded-for");
    if (r->via_proxy && xff)
        client_from_xff(c, xff, client);
    netaddr_format(peer, r->peer, sizeof(r->peer));
    netaddr_format(client, r->client, sizeof(r->client));
    netaddr_throttle_key(client, r->client_key, sizeof(r->client_key));
}

const char *trust_client_addr(const struct gw_request *r)
{
    return r->client;
}

int trust_refused_or_reply(struct gw_request *r, enum trust_secret s)
{
    struct app *a = r->w->app;
    unsigned wait_s = throttle_wait_s(a->throttle, r->client_key, (uint64_t)app_now_ms());
    if (!wait_s)
        return 0;
    char v[16];
    snprintf(v, sizeof(v), "%u", wait_s);
    metrics_auth(a->metrics, trust_secret_name(s), 1);
    gw_respond_header(r, "retry-after:", v);
    gw_respond_error(r, SR_E_RATE_LIMITED, "too many failed attempts from this address; wait");
    return 1;
}

void trust_record(struct gw_request *r, enum trust_secret s, int failed)
{
    struct app *a = r->w->app;
    if (failed)
        metrics_auth(a->metrics, trust_secret_name(s), 0);
    if (throttle_record(a->throttle, r->client_key, failed, (uint64_t)app_now_ms()))
        SR_LOG(WARN, "trust", r->id,
               "%d failed attempts (last: %s) from one address: refused for %d s",
               a->cfg->server.throttle_failures, trust_secret_name(s),
               a->cfg->server.throttle_block_s);
}
