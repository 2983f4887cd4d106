/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to the API (api*.c): the route table and the hand-over between the loop (api.c) and
 * the thread pool (api_work.c).
 */
#ifndef API_INT_H
#define API_INT_H

#include "server.h"

enum api_op {
    API_OP_OPENAPI,
    API_OP_RESPONSE_TIMES,
    API_OP_SATISFACTION,
    API_OP_COMPLAINTS,
    API_OP_OPEN,
    API_OP_ACKNOWLEDGE,
    API_OP_REPLY,
    API_OP_RESOLVE,
    API_OP_VISIT,
    API_OP_DEAD_LIST, /* the outbox's dead letters: run on the loop (outbox_admin.c) */
    API_OP_DEAD_RETRY,
    API_OP_DEAD_DROP,
};

enum { API_ADMIN = 1, API_SUPERVISOR = 2, API_OFFICER = 4 }; /* role bits */

struct api_route {
    const char *method, *path;
    enum api_op op;
    unsigned roles; /* 0: no token needed */
    int csv;        /* a ".csv" suffix is accepted */
};
extern const struct api_route api_route_table[];

/* Queues the request on the loop's thread pool (token check, scope, query) and answers it when
 * the work comes back. Borrowed: everything (copied). */
void api_work_start(struct gw_request *r, const struct api_route *rt, const char *token,
                    const char *ticket, int csv, const char *idem_key);

/* A path parameter: a ticket ({ticket}) or a stream entry id ({id}). */
#define API_PARAM_MAX 48

/* 401 with WWW-Authenticate: Bearer. */
void api_respond_unauthorized(struct gw_request *r, const char *detail);

#endif
