/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for dialogs/catalog.c and the data folder: every catalog key exists in every language
 * with the same {placeholders}, survey texts and labels exist in every language and fit
 * WhatsApp's limits, rendering fills placeholders, and a tampered data folder fails to load
 * with a message naming the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dialog_fixture.h"
#include "dialog_int.h"

#include "sr_mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static json_t *load(const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", fx_data_dir(), rel);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fail_msg("%s: %s", path, err.text);
    return j;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The placeholders of a template, sorted and joined ("code,officer"). */
static void placeholders(const char *s, char *out, size_t cap)
{
    char names[16][32];
    size_t n = 0;
    for (const char *p = strchr(s, '{'); p && n < 16; p = strchr(p + 1, '{')) {
        const char *q = strchr(p, '}');
        if (!q || (size_t)(q - p) > 31)
            break;
        snprintf(names[n++], 32, "%.*s", (int)(q - p - 1), p + 1);
    }
    qsort(names, n, sizeof(names[0]), cmp_name);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        strncat(out, names[i], cap - strlen(out) - 1);
        strncat(out, ",", cap - strlen(out) - 1);
    }
}

static void test_catalog_keys_match(void **state)
{
    (void)state;
    json_t *id = load("catalog/id.json"), *en = load("catalog/en.json");
    json_t *tid = json_object_get(id, "texts"), *ten = json_object_get(en, "texts");
    assert_true(json_object_size(tid) >= 10);
    assert_int_equal(json_object_size(tid), json_object_size(ten));
    const char *key;
    json_t *v;
    json_object_foreach(tid, key, v)
    {
        const char *other = json_string_value(json_object_get(ten, key));
        if (!other)
            fail_msg("catalog key \"%s\" missing in en", key);
        char pa[256], pb[256];
        placeholders(json_string_value(v), pa, sizeof(pa));
        placeholders(other, pb, sizeof(pb));
        if (strcmp(pa, pb) != 0)
            fail_msg("catalog key \"%s\": placeholders {%s} in id, {%s} in en", key, pa, pb);
    }
    json_object_foreach(ten, key, v)
    {
        if (!json_object_get(tid, key))
            fail_msg("catalog key \"%s\" missing in id", key);
    }
    assert_true(dlg_utf8_len(json_string_value(json_object_get(tid, "list_button"))) <= 20);
    assert_true(dlg_utf8_len(json_string_value(json_object_get(ten, "list_button"))) <= 20);
    json_decref(id);
    json_decref(en);
}

static void test_survey_definition(void **state)
{
    (void)state;
    json_t *s = load("surveys/ikm-petugas.json");
    json_t *els = json_object_get(s, "elements");
    const char *codes[] = {"U3", "U6", "U7", "KEPUASAN"};
    assert_int_equal(json_array_size(els), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *el = json_array_get(els, i);
        assert_string_equal(json_string_value(json_object_get(el, "code")), codes[i]);
        assert_non_null(json_string_value(json_object_get(json_object_get(el, "question"), "id")));
        assert_non_null(json_string_value(json_object_get(json_object_get(el, "question"), "en")));
    }
    assert_true(json_is_true(json_object_get(s, "comment")));
    json_decref(s);
    json_t *cfg = load("dialogs.json");
    assert_string_equal(json_string_value(json_object_get(cfg, "default_survey")), "ikm-petugas");
    json_decref(cfg);
}

static void test_render(void **state)
{
    struct fx *f = fx_new();
    (void)state;
    const char *vars[] = {"code", "BMK017", "officer", "Sri"};
    char *s = dlg_render(f->e, 0, "expired", vars, 2);
    assert_non_null(strstr(s, "Sri"));
    assert_non_null(strstr(s, "NILAI BMK017"));
    assert_null(strchr(s, '{'));
    free(s);
    s = dlg_render(f->e, 1, "expired", vars, 2);
    assert_non_null(strstr(s, "RATE BMK017"));
    free(s);
    s = dlg_format("{a} {b} {unknown} {", (const char *[]){"a", "1", "b", NULL}, 2);
    assert_string_equal(s, "1  {unknown} {");
    free(s);
    assert_string_equal(dlg_text(f->e, 0, "no-such-key"), "no-such-key");
    assert_int_equal(dlg_lang_index(f->e, "en"), 1);
    assert_int_equal(dlg_lang_index(f->e, "fr"), -1);
    fx_free(f);
}

/* A copy of the data folder made of symlinks, with catalog/en.json and intents.json written
 * by the test. */
struct tmpdata {
    char dir[64];
};

static void link_into(const struct tmpdata *t, const char *rel)
{
    char from[512], to[512];
    snprintf(from, sizeof(from), "%s/%s", fx_data_dir(), rel);
    snprintf(to, sizeof(to), "%s/%s", t->dir, rel);
    assert_int_equal(symlink(from, to), 0);
}

static void write_json(const struct tmpdata *t, const char *rel, json_t *j)
{
    char to[512];
    snprintf(to, sizeof(to), "%s/%s", t->dir, rel);
    assert_int_equal(json_dump_file(j, to, 0), 0);
}

static void tmpdata_make(struct tmpdata *t, json_t *en, json_t *intents)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/suara-dlg-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/catalog", t->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    link_into(t, "dialogs.json");
    link_into(t, "answers");
    link_into(t, "surveys");
    link_into(t, "catalog/id.json");
    write_json(t, "catalog/en.json", en);
    write_json(t, "intents.json", intents);
}

static void tmpdata_remove(const struct tmpdata *t)
{
    const char *files[] = {"dialogs.json",    "answers",      "surveys", "catalog/id.json",
                           "catalog/en.json", "intents.json", "catalog", ""};
    char p[512];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", t->dir, files[i]);
        if (unlink(p) != 0)
            rmdir(p);
    }
}

/* Loads a tampered copy and expects failure naming `expect`. */
static void expect_load_error(json_t *en, json_t *intents, const char *expect)
{
    struct tmpdata t;
    tmpdata_make(&t, en, intents);
    struct sr_errbuf eb = {{0}};
    struct dialog_engine *e = dialog_engine_load(t.dir, &eb);
    tmpdata_remove(&t);
    if (e || !strstr(eb.msg, expect))
        fail_msg("expected load error with \"%s\", got \"%s\"", expect, eb.msg);
    dialog_engine_free(e);
}

static void test_tampered_data_fails(void **state)
{
    (void)state;
    sr_mem_init();
    json_t *en = load("catalog/en.json"), *intents = load("intents.json");
    /* untouched copy loads */
    struct tmpdata t;
    tmpdata_make(&t, en, intents);
    struct sr_errbuf eb = {{0}};
    struct dialog_engine *e = dialog_engine_load(t.dir, &eb);
    tmpdata_remove(&t);
    assert_non_null(e);
    dialog_engine_free(e);
    /* a key missing in en */
    json_t *en2 = json_deep_copy(en);
    json_object_del(json_object_get(en2, "texts"), "thanks");
    expect_load_error(en2, intents, "\"thanks\" missing");
    json_decref(en2);
    /* a phrase list that is not a list */
    json_t *in2 = json_deep_copy(intents);
    json_object_set_new(json_object_get(in2, "cancel"), "id", json_string("batal"));
    expect_load_error(en, in2, "intents.json cancel.id");
    json_decref(in2);
    /* a phrase without letters */
    in2 = json_deep_copy(intents);
    json_array_append_new(json_object_get(json_object_get(in2, "skip"), "id"), json_string("-"));
    expect_load_error(en, in2, "has no letters");
    json_decref(in2);
    json_decref(en);
    json_decref(intents);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_keys_match),
        cmocka_unit_test(test_survey_definition),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_tampered_data_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
