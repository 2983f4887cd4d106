/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Dead letters for operators: the JSON form of an item, and the admin API's list / retry / drop
 * run on the worker's loop through store_dead_*. The request is held while Redis answers.
 */
#include "outbox_admin.h"

#include "sr_log.h"
#include "sr_mem.h"
#include "sr_types.h"

#include <string.h>

#define OUTBOX_ADMIN_LIST_MAX 1000

json_t *outbox_admin_item_json(const struct store_dead_item *it)
{
    struct sr_reply r;
    char masked[SR_MASK_MAX] = "?";
    int ok = sr_reply_from_json(&r, it->json, it->len) == 0;
    if (ok)
        sr_mask_phone(r.to, masked);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "id", it->id, "outbox_id", it->from,
                          "channel", ok ? r.channel : "?", "to", masked, "at_ms",
                          (json_int_t)it->at_ms, "why", it->why);
    if (ok)
        sr_reply_clear(&r);
    return o;
}

static void respond_json(struct gw_request *r, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    gw_respond(r, 200, "application/json", s, strlen(s));
    free(s);
    json_decref(o);
}

static void on_list(void *ud, enum sr_err err, const struct store_dead_item *items, size_t n)
{
    struct gw_request *r = ud;
    if (err != SR_E_OK) {
        gw_respond_error(r, SR_E_UNAVAILABLE, "Redis unavailable");
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, outbox_admin_item_json(&items[i]));
        respond_json(r, json_pack("{s:o}", "dead", arr));
    }
    gw_request_release(r);
}

static void on_one(void *ud, enum sr_err err, const char *new_id)
{
    struct gw_request *r = ud;
    if (err == SR_E_NOT_FOUND)
        gw_respond_error(r, SR_E_NOT_FOUND, "no such dead letter");
    else if (err != SR_E_OK)
        gw_respond_error(r, SR_E_UNAVAILABLE, "Redis unavailable");
    else if (new_id)
        respond_json(r, json_pack("{s:s}", "outbox_id", new_id));
    else
        respond_json(r, json_pack("{s:b}", "dropped", 1));
    gw_request_release(r);
}

void outbox_admin_api(struct gw_request *r, enum outbox_admin_op op, const char *id)
{
    struct store *s = r->w->store;
    gw_request_hold(r);
    if (op == OUTBOX_ADMIN_LIST)
        store_dead_list(s, NULL, OUTBOX_ADMIN_LIST_MAX, on_list, r);
    else if (op == OUTBOX_ADMIN_RETRY)
        store_dead_retry(s, id, on_one, r);
    else
        store_dead_drop(s, id, on_one, r);
}
