/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Message catalogs: data/catalog/<lang>.json holds {"format":1,"language":..,"texts":{key:
 * template}} for every configured language. Every language must have exactly the same keys
 * (checked at load), so a text can never be missing in one language only. Templates carry
 * {placeholders} filled by dlg_format().
 */
#include "dialog_int.h"

#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>

int dlg_lang_index(const struct dialog_engine *e, const char *code)
{
    for (size_t i = 0; code && i < e->n_langs; i++)
        if (strcmp(e->langs[i], code) == 0)
            return (int)i;
    return -1;
}

/* Every key of a must be a string in a and present in b. */
static enum sr_err same_keys(const json_t *a, const char *la, const json_t *b, const char *lb,
                             struct sr_errbuf *eb)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)a, key, val)
    {
        if (!json_is_string(val))
            return sr_errf(eb, SR_E_CONFIG, "catalog/%s.json: text \"%s\" is not a string", la,
                           key);
        if (!json_object_get(b, key))
            return sr_errf(eb, SR_E_CONFIG, "catalog/%s.json: key \"%s\" missing (present in %s)",
                           lb, key, la);
    }
    return SR_E_OK;
}

enum sr_err dlg_catalog_load(struct dialog_engine *e, const char *dir, struct sr_errbuf *eb)
{
    for (size_t i = 0; i < e->n_langs; i++) {
        char *rel = sr_asprintf("catalog/%s.json", e->langs[i]);
        json_t *root = dlg_load_json(dir, rel, eb);
        free(rel);
        if (!root)
            return SR_E_CONFIG;
        json_t *texts = json_object_get(root, "texts");
        if (!json_is_object(texts)) {
            json_decref(root);
            return sr_errf(eb, SR_E_CONFIG, "catalog/%s.json: no \"texts\" object", e->langs[i]);
        }
        e->catalog[i] = json_incref(texts);
        json_decref(root);
    }
    for (size_t i = 1; i < e->n_langs; i++) {
        enum sr_err err = same_keys(e->catalog[0], e->langs[0], e->catalog[i], e->langs[i], eb);
        if (err == SR_E_OK)
            err = same_keys(e->catalog[i], e->langs[i], e->catalog[0], e->langs[0], eb);
        if (err != SR_E_OK)
            return err;
    }
    return SR_E_OK;
}

void dlg_catalog_free(struct dialog_engine *e)
{
    for (size_t i = 0; i < DLG_MAX_LANGS; i++) {
        json_decref(e->catalog[i]);
        e->catalog[i] = NULL;
    }
}

const char *dlg_text(const struct dialog_engine *e, size_t lang, const char *key)
{
    const char *s = NULL;
    if (lang < e->n_langs)
        s = json_string_value(json_object_get(e->catalog[lang], key));
    if (!s && e->n_langs > 0)
        s = json_string_value(json_object_get(e->catalog[0], key));
    return s ? s : key;
}

char *dlg_render(const struct dialog_engine *e, size_t lang, const char *key,
                 const char *const *vars, size_t n_vars)
{
    return dlg_format(dlg_text(e, lang, key), vars, n_vars);
}
