/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the config reader (gateway/config.c) on an arbitrary INI text, handed over as an
 * in-memory file since config_load takes a path. A loaded config must be usable: every channel
 * has a name and a type, and config_channel finds it by that name; a refused one must say why.
 */
#include "fuzz.h"

#include "config.h"
#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init++)
        sr_mem_init();
    char path[64];
    if (fuzz_memfile(data, size, path) != 0)
        abort();
    struct config *c = NULL;
    struct sr_errbuf eb = {{0}};
    if (config_load(path, &c, &eb) == SR_E_OK) {
        for (size_t i = 0; i < c->n_channels; i++) {
            const struct sr_channel_conf *ch = &c->channels[i];
            if (!ch->name || !ch->type || config_channel(c, ch->name) != ch)
                abort();
        }
        config_free(c);
    } else if (c || !eb.msg[0]) {
        abort();
    }
    return 0;
}
