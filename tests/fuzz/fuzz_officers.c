/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the officer CSV import (store/evalstore_officers.c: the RFC 4180 reader, the
 * per-column checks, all-or-nothing upsert) on arbitrary bytes, into an in-memory SQLite
 * evaluation store emptied before each input (opening one per input made the target ~30 exec/s),
 * then the registry built from what was imported. An accepted file
 * must give a registry holding exactly the officers and units the report counted.
 */
#include "fuzz.h"

#include "evalstore.h"
#include "evalstore_int.h" /* es_exec, to empty the registry between inputs */
#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void check_registry(struct evalstore *es, const struct evalstore_import_report *rep)
{
    struct evalstore_registry *reg = NULL;
    struct sr_errbuf eb = {{0}};
    if (evalstore_registry_load(es, &reg, &eb) != SR_E_OK)
        abort();
    const struct sr_unit *units = NULL;
    size_t n_units = evalstore_registry_units(reg, &units);
    for (size_t i = 0; i < n_units; i++) {
        const struct sr_officer *h[4];
        evalstore_registry_unit_handlers(reg, units[i].code, h, 4);
        evalstore_registry_unit_supervisor(reg, units[i].code);
    }
    /* A fresh store: every imported row is one officer of the registry. */
    if (evalstore_registry_count(reg) != rep->officers_added + rep->officers_updated ||
        n_units != rep->units_added)
        abort();
    evalstore_registry_free(reg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init++)
        sr_mem_init();
    char path[64];
    if (fuzz_memfile(data, size, path) != 0)
        abort();
    static struct evalstore *es;
    struct sr_errbuf eb = {{0}};
    if (!es && !(es = evalstore_open(":memory:", EVALSTORE_WRITE, &eb)))
        abort();
    if (es_exec(es, "DELETE FROM officers; DELETE FROM units", &eb) != SR_E_OK)
        abort();
    struct evalstore_import_report rep;
    enum sr_err e = evalstore_import_officers(es, path, &rep, &eb);
    if (e == SR_E_OK)
        check_registry(es, &rep);
    else if (!eb.msg[0] || rep.officers_added || rep.units_added)
        abort(); /* all rows or none, and a reason */
    return 0;
}
