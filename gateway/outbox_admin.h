/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dead-letter stream for operators: its items as JSON (numbers masked, texts left out) for
 * `suara outbox list --json` and the admin API, and the admin API's three operations on the
 * worker's store (GET /api/v1/outbox/dead, POST .../{id}/retry, POST .../{id}/drop).
 */
#ifndef OUTBOX_ADMIN_H
#define OUTBOX_ADMIN_H

#include "server.h"
#include "store.h"

#include <jansson.h>

/* {"id","outbox_id","channel","to" (masked),"at_ms","why"}; a new reference. */
json_t *outbox_admin_item_json(const struct store_dead_item *it);

enum outbox_admin_op { OUTBOX_ADMIN_LIST, OUTBOX_ADMIN_RETRY, OUTBOX_ADMIN_DROP };
/* On the loop, after the token and the admin role were checked: runs op on r's worker store and
 * answers r (200 JSON, 404 unknown id, 503 without Redis). id: the dead letter (RETRY, DROP).
 * Borrowed: id. */
void outbox_admin_api(struct gw_request *r, enum outbox_admin_op op, const char *id);

#endif
