/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/ on the event loop: the route table, the client-address throttle, the bearer token,
 * and handing each request to the libuv thread pool (api_work.c), where the token is verified,
 * the scope checked and SQLite queried — the loop never waits on the database. Officer commands
 * come back to the loop and run through the same dialog step as chat commands
 * (webhook_officer_api).
 */
#include "api.h"
#include "api_int.h"

#include "sr_log.h"
#include "sr_mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct api_route api_route_table[] = {
    {"GET", "/api/v1/openapi.json", API_OP_OPENAPI, 0, 0},
    {"GET", "/api/v1/stats/response-times", API_OP_RESPONSE_TIMES, API_ADMIN | API_SUPERVISOR, 1},
    {"GET", "/api/v1/stats/satisfaction", API_OP_SATISFACTION, API_ADMIN | API_SUPERVISOR, 1},
    {"GET", "/api/v1/complaints", API_OP_COMPLAINTS, API_ADMIN | API_SUPERVISOR | API_OFFICER, 1},
    {"GET", "/api/v1/complaints/open", API_OP_OPEN, API_OFFICER, 0},
    {"POST", "/api/v1/complaints/{ticket}/acknowledge", API_OP_ACKNOWLEDGE, API_OFFICER, 0},
    {"POST", "/api/v1/complaints/{ticket}/reply", API_OP_REPLY, API_OFFICER, 0},
    {"POST", "/api/v1/complaints/{ticket}/resolve", API_OP_RESOLVE, API_OFFICER, 0},
    {"POST", "/api/v1/visits", API_OP_VISIT, API_ADMIN | API_OFFICER, 0},
};
#define N_ROUTES (sizeof(api_route_table) / sizeof(api_route_table[0]))

const struct api_route_info *api_routes(size_t *n)
{
    static struct api_route_info info[N_ROUTES];
    static const char *const role_text[] = {
        "",        "admin",         "supervisor",         "admin supervisor",
        "officer", "admin officer", "supervisor officer", "admin supervisor officer"};
    for (size_t i = 0; i < N_ROUTES; i++)
        info[i] = (struct api_route_info){api_route_table[i].method, api_route_table[i].path,
                                          role_text[api_route_table[i].roles & 7]};
    *n = N_ROUTES;
    return info;
}

/* ---------------------------------------------------------------- routing */

/* Does path (without a ".csv" already stripped) match pattern? A "{ticket}" segment takes 4-12
 * of [A-Za-z0-9] into ticket. */
static int path_matches(const char *pattern, const char *path, char ticket[16])
{
    while (*pattern && *path) {
        if (strncmp(pattern, "{ticket}", 8) == 0) {
            size_t n =
                strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
            if (n < 4 || n > 12)
                return 0;
            memcpy(ticket, path, n);
            ticket[n] = '\0';
            pattern += 8;
            path += n;
            continue;
        }
        if (*pattern++ != *path++)
            return 0;
    }
    return *pattern == '\0' && *path == '\0';
}

/* The route for r's path, or NULL; *wrong_method when the path exists for another method. */
static const struct api_route *find(const struct gw_request *r, char ticket[16], int *csv,
                                    int *wrong_method)
{
    size_t n = strlen(r->path);
    char *path = sr_strdup(r->path);
    *csv = n > 4 && strcmp(path + n - 4, ".csv") == 0;
    if (*csv)
        path[n - 4] = '\0';
    const struct api_route *hit = NULL;
    *wrong_method = 0;
    for (size_t i = 0; i < N_ROUTES && !hit; i++) {
        const struct api_route *rt = &api_route_table[i];
        if ((*csv && !rt->csv) || !path_matches(rt->path, path, ticket))
            continue;
        if (strcmp(rt->method, r->method) == 0)
            hit = rt;
        else
            *wrong_method = 1;
    }
    free(path);
    return hit;
}

static const char *header(const struct gw_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* The token of "Authorization: Bearer <token>", or NULL. */
static const char *bearer(const struct gw_request *r)
{
    const char *h = header(r, "authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h ? h : NULL;
}

/* ---------------------------------------------------------------- throttle */

#define THROTTLE_SLOTS 256

struct throttle_slot {
    char addr[64];
    int failures;
    uint64_t window_start, blocked_until;
};

/* Shared by every worker: a client cannot double its tries by landing on another worker. */
struct api_throttle {
    pthread_mutex_t mu;
    struct throttle_slot slot[THROTTLE_SLOTS];
};

struct api_throttle *api_throttle_new(void)
{
    struct api_throttle *t = sr_calloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void api_throttle_free(struct api_throttle *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* The slot of addr (creating it, evicting the stalest, if asked), or -1. Lock held. */
static int slot_of(struct api_throttle *t, const char *addr, int create)
{
    int oldest = 0;
    for (int i = 0; i < THROTTLE_SLOTS; i++) {
        if (strcmp(t->slot[i].addr, addr) == 0)
            return i;
        if (t->slot[i].window_start < t->slot[oldest].window_start)
            oldest = i;
    }
    if (!create)
        return -1;
    memset(&t->slot[oldest], 0, sizeof(t->slot[oldest]));
    snprintf(t->slot[oldest].addr, sizeof(t->slot[oldest].addr), "%s", addr);
    return oldest;
}

/* Seconds the address must still wait, 0 if it may try. */
static unsigned throttled_for(struct api_throttle *t, const char *addr, uint64_t now)
{
    pthread_mutex_lock(&t->mu);
    int i = slot_of(t, addr, 0);
    unsigned wait = i >= 0 && t->slot[i].blocked_until > now
                        ? (unsigned)((t->slot[i].blocked_until - now + 999) / 1000)
                        : 0;
    pthread_mutex_unlock(&t->mu);
    return wait;
}

void api_throttle_record(struct api_throttle *t, const char *addr, int failed, uint64_t now)
{
    pthread_mutex_lock(&t->mu);
    int i = slot_of(t, addr, failed);
    struct throttle_slot *s = i >= 0 ? &t->slot[i] : NULL;
    if (s && !failed) { /* a good token clears the count */
        s->failures = 0;
    } else if (s) {
        if (s->failures == 0 || now - s->window_start > API_THROTTLE_WINDOW_MS) {
            s->window_start = now;
            s->failures = 0;
        }
        if (++s->failures >= API_THROTTLE_FAILURES) {
            s->blocked_until = now + API_THROTTLE_BLOCK_MS;
            s->failures = 0;
            SR_LOG(WARN, "api", NULL,
                   "%d failed authentications from one address: refused for %d s",
                   API_THROTTLE_FAILURES, API_THROTTLE_BLOCK_MS / 1000);
        }
    }
    pthread_mutex_unlock(&t->mu);
}

void api_respond_unauthorized(struct gw_request *r, const char *detail)
{
    gw_respond_header(r, "www-authenticate:", "Bearer realm=\"suara\"");
    gw_respond_error(r, SR_E_UNAUTHORIZED, detail);
}

/* ---------------------------------------------------------------- entry */

static int wants_csv(const struct gw_request *r, int suffix)
{
    const char *accept = header(r, "accept");
    return suffix || (accept && strstr(accept, "text/csv"));
}

/* The client's address for throttling: the peer, or behind a trusted local proxy the last
 * X-Forwarded-For entry (the one that proxy added). */
static void client_addr(const struct gw_request *r, char *out, size_t n)
{
    snprintf(out, n, "?");
    if (r->wsi)
        lws_get_peer_simple(r->wsi, out, n);
    const char *xff = header(r, "x-forwarded-for");
    int local = strcmp(out, "127.0.0.1") == 0 || strcmp(out, "::1") == 0 ||
                strcmp(out, "::ffff:127.0.0.1") == 0;
    if (!r->w->app->cfg->server.trust_proxy || !local || !xff)
        return;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ')
        last++;
    size_t len = strcspn(last, " ");
    if (len > 0 && len < n)
        snprintf(out, n, "%.*s", (int)len, last);
}

void api_request(struct gw_request *r)
{
    char ticket[16] = "";
    int csv = 0, wrong_method = 0;
    const struct api_route *rt = find(r, ticket, &csv, &wrong_method);
    if (!rt) {
        gw_respond_error(r, wrong_method ? SR_E_METHOD : SR_E_NOT_FOUND,
                         wrong_method ? "method not allowed on this route" : "no such route");
        return;
    }
    if (rt->op == API_OP_OPENAPI) {
        gw_respond(r, 200, "application/json", api_openapi_json, api_openapi_json_len);
        return;
    }
    char addr[64];
    client_addr(r, addr, sizeof(addr));
    uint64_t now = (uint64_t)app_now_ms();
    unsigned wait_s = throttled_for(r->w->app->throttle, addr, now);
    if (wait_s) {
        char v[16];
        snprintf(v, sizeof(v), "%u", wait_s);
        gw_respond_header(r, "retry-after:", v);
        gw_respond_error(r, SR_E_RATE_LIMITED, "too many failed authentications; wait");
        return;
    }
    const char *token = bearer(r);
    if (!token) {
        api_throttle_record(r->w->app->throttle, addr, 1, now);
        api_respond_unauthorized(r, "Authorization: Bearer <token> is required");
        return;
    }
    api_work_start(r, rt, token, ticket, wants_csv(r, csv), header(r, "idempotency-key"), addr);
}
