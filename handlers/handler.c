/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The channel registry: one row per handler type. Adding a channel means adding its file and
 * one row here; nothing else in the gateway changes.
 */
#include "handler.h"

#include "hutil.h"

#include <string.h>

static const struct handler *const registry[] = {
    &hutil_whatsapp_handler,
    &hutil_twilio_handler,
};

const struct handler *handler_find(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
        if (strcmp(registry[i]->type, type) == 0)
            return registry[i];
    return NULL;
}
