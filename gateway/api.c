/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /api/v1/ on the event loop: the route table, the guessed-secret throttle (trust.h), the bearer
 * token, and handing each request to the libuv thread pool (api_work.c), where the token is
 * verified, the scope checked and SQLite queried — the loop never waits on the database. Officer
 * commands come back to the loop and run through the same dialog step as chat commands
 * (webhook_officer_api).
 */
#include "api.h"
#include "api_int.h"

#include "sr_log.h"
#include "sr_mem.h"
#include "trust.h"

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
    {"GET", "/api/v1/outbox/dead", API_OP_DEAD_LIST, API_ADMIN, 0},
    {"POST", "/api/v1/outbox/dead/{id}/retry", API_OP_DEAD_RETRY, API_ADMIN, 0},
    {"POST", "/api/v1/outbox/dead/{id}/drop", API_OP_DEAD_DROP, API_ADMIN, 0},
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

/* A "{name}" segment of a pattern: its characters and length bounds. */
static const struct {
    const char *name, *chars;
    size_t min, max;
} path_params[] = {
    {"{ticket}", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 4, 12},
    {"{id}", "0123456789-", 3, API_PARAM_MAX - 1}, /* a stream entry id "<ms>-<seq>" */
};

/* Matches one parameter segment at *pattern / *path; -1: not a parameter, 0: no match. */
static int param_matches(const char **pattern, const char **path, char param[API_PARAM_MAX])
{
    for (size_t i = 0; i < sizeof(path_params) / sizeof(path_params[0]); i++) {
        size_t k = strlen(path_params[i].name);
        if (strncmp(*pattern, path_params[i].name, k) != 0)
            continue;
        size_t n = strspn(*path, path_params[i].chars);
        if (n < path_params[i].min || n > path_params[i].max)
            return 0;
        memcpy(param, *path, n);
        param[n] = '\0';
        *pattern += k;
        *path += n;
        return 1;
    }
    return -1;
}

/* Does path (without a ".csv" already stripped) match pattern? A "{ticket}" segment takes 4-12
 * of [A-Za-z0-9], an "{id}" a stream entry id, into param. */
static int path_matches(const char *pattern, const char *path, char param[API_PARAM_MAX])
{
    while (*pattern && *path) {
        int p = *pattern == '{' ? param_matches(&pattern, &path, param) : -1;
        if (p == 0)
            return 0;
        if (p == 1)
            continue;
        if (*pattern++ != *path++)
            return 0;
    }
    return *pattern == '\0' && *path == '\0';
}

/* The route for r's path, or NULL; *wrong_method when the path exists for another method. */
static const struct api_route *find(const struct gw_request *r, char ticket[API_PARAM_MAX],
                                    int *csv, int *wrong_method)
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

/* ---------------------------------------------------------------- answers */

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

void api_request(struct gw_request *r)
{
    char ticket[API_PARAM_MAX] = "";
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
    if (trust_refused_or_reply(r, TRUST_API_TOKEN))
        return;
    const char *token = bearer(r);
    if (!token) {
        trust_record(r, TRUST_API_TOKEN, 1);
        api_respond_unauthorized(r, "Authorization: Bearer <token> is required");
        return;
    }
    api_work_start(r, rt, token, ticket, wants_csv(r, csv), header(r, "idempotency-key"));
}
