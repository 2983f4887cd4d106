/* SPDX-License-Identifier: Apache-2.0 */
/* Constructors, destructors and the JSON form of the cross-module types. */
#include "sr_types.h"

#include "sr_mem.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *sr_http_in_header(const struct sr_http_in *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

const char *sr_inbound_kind_name(enum sr_inbound_kind k)
{
    static const char *const names[] = {
#define SR_IK_NAME(name, text) text,
        SR_INBOUND_KINDS(SR_IK_NAME)
#undef SR_IK_NAME
    };
    return (size_t)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

struct sr_inbound *sr_inbound_batch_add(struct sr_inbound_batch *b)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4;
        b->items = sr_realloc(b->items, b->cap * sizeof(*b->items));
    }
    struct sr_inbound *it = &b->items[b->n++];
    memset(it, 0, sizeof(*it));
    return it;
}

const char *sr_inbound_reject_name(enum sr_inbound_reject_reason r)
{
    static const char *const names[] = {
#define SR_IR_NAME(name, text) text,
        SR_INBOUND_REJECTS(SR_IR_NAME)
#undef SR_IR_NAME
    };
    return (size_t)r < sizeof(names) / sizeof(names[0]) ? names[r] : "other";
}

void sr_inbound_batch_reject(struct sr_inbound_batch *b, enum sr_inbound_reject_reason reason,
                             const char *fmt, ...)
{
    if (b->n_rejects == b->cap_rejects) {
        b->cap_rejects = b->cap_rejects ? b->cap_rejects * 2 : 4;
        b->rejects = sr_realloc(b->rejects, b->cap_rejects * sizeof(*b->rejects));
    }
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    b->rejects[b->n_rejects++] = (struct sr_inbound_reject){reason, sr_strdup(detail)};
}

void sr_inbound_batch_clear(struct sr_inbound_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct sr_inbound *it = &b->items[i];
        free(it->provider_id);
        free(it->sender);
        free(it->recipient);
        free(it->text);
        free(it->payload);
        free(it->profile_name);
        free(it->status);
        free(it->error_code);
    }
    for (size_t i = 0; i < b->n_rejects; i++)
        free(b->rejects[i].detail);
    free(b->rejects);
    free(b->items);
    memset(b, 0, sizeof(*b));
}

void sr_reply_clear(struct sr_reply *r)
{
    if (!r)
        return;
    free(r->channel);
    free(r->to);
    free(r->text);
    free(r->list_button);
    for (size_t i = 0; i < r->n_options; i++) {
        free(r->options[i].id);
        free(r->options[i].title);
    }
    memset(r, 0, sizeof(*r));
}

static const char *const reply_styles[] = {"text", "buttons", "list"};

char *sr_reply_to_json(const struct sr_reply *r)
{
    json_t *opts = json_array();
    for (size_t i = 0; i < r->n_options; i++)
        json_array_append_new(
            opts, json_pack("{s:s, s:s}", "id", r->options[i].id, "title", r->options[i].title));
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "channel", r->channel, "to", r->to, "text",
                          r->text, "style", reply_styles[r->style], "options", opts);
    if (r->list_button)
        json_object_set_new(o, "list_button", json_string(r->list_button));
    if (r->in_at_ms > 0)
        json_object_set_new(o, "in_at", json_integer(r->in_at_ms));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *dup_member(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? sr_strdup(s) : NULL;
}

int sr_reply_from_json(struct sr_reply *r, const char *json, size_t len)
{
    memset(r, 0, sizeof(*r));
    json_t *o = json_loadb(json, len, 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return -1;
    }
    r->channel = dup_member(o, "channel");
    r->to = dup_member(o, "to");
    r->text = dup_member(o, "text");
    r->list_button = dup_member(o, "list_button");
    json_t *in_at = json_object_get(o, "in_at");
    r->in_at_ms =
        json_is_integer(in_at) && json_integer_value(in_at) > 0 ? json_integer_value(in_at) : 0;
    const char *style = json_string_value(json_object_get(o, "style"));
    for (size_t i = 0; style && i < 3; i++)
        if (strcmp(style, reply_styles[i]) == 0)
            r->style = (enum sr_reply_style)i;
    json_t *opts = json_object_get(o, "options");
    size_t i;
    json_t *opt;
    json_array_foreach(opts, i, opt)
    {
        if (r->n_options == SR_REPLY_MAX_OPTIONS)
            break;
        r->options[r->n_options].id = dup_member(opt, "id");
        r->options[r->n_options].title = dup_member(opt, "title");
        r->n_options++;
    }
    json_decref(o);
    if (!r->channel || !r->to || !r->text) {
        sr_reply_clear(r);
        return -1;
    }
    return 0;
}

void sr_http_out_clear(struct sr_http_out *o)
{
    if (!o)
        return;
    free(o->method);
    free(o->url);
    free(o->content_type);
    free(o->body);
    free(o->bearer);
    free(o->basic_user);
    free(o->basic_pass);
    memset(o, 0, sizeof(*o));
}

void sr_http_answer_clear(struct sr_http_answer *a)
{
    if (!a)
        return;
    free(a->content_type);
    free(a->body);
    memset(a, 0, sizeof(*a));
}
