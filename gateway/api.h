/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin and officer API under /api/v1/ (bearer tokens, see store/tokens.h). The route table
 * is exported so the OpenAPI test can compare it with docs/openapi.json. Hooks into the HTTP
 * server (api_request) is declared in server.h.
 */
#ifndef API_H
#define API_H

#include <stddef.h>

struct api_route_info {
    const char *method; /* "GET" or "POST" */
    const char *path;   /* as in the OpenAPI document, "{ticket}" for a path parameter */
    const char *roles;  /* who may call it: "admin supervisor officer", "" = no token */
};

/* Every route served, in a fixed order; *n gets the count. */
const struct api_route_info *api_routes(size_t *n);

/* The OpenAPI 3 document served at GET /api/v1/openapi.json (docs/openapi.json, built in). */
extern const char api_openapi_json[];
extern const size_t api_openapi_json_len;

#endif
