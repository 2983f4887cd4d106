/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for store/tokens.c on a fresh evaluation store with the officers of
 * testdata/officers/good.csv: a token is shown once and stored only as its hash (its text is
 * nowhere in the database files), listing never shows it, revocation stops it at once, and bad
 * roles, scopes and unknown officers or units are refused. The clock is a parameter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "evalstore.h"
#include "sr_mem.h"
#include "tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1796004000000LL

struct fx {
    char dir[64];
    char *db;
    struct tokens *tk;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/suara-tokens-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->db = sr_asprintf("%s/eval.db", f->dir);
    struct sr_errbuf eb = {{0}};
    struct evalstore_import_report rep = {0};
    struct evalstore *es = evalstore_open(f->db, EVALSTORE_WRITE, &eb);
    if (!es || evalstore_import_officers(es, SUARA_TESTDATA "/officers/good.csv", &rep, &eb)) {
        fprintf(stderr, "setup: %s\n", eb.msg);
        evalstore_close(es);
        return -1;
    }
    evalstore_close(es);
    f->tk = tokens_open(f->db, &eb);
    if (!f->tk) {
        fprintf(stderr, "tokens_open: %s\n", eb.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tokens_close(f->tk);
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char *p = sr_asprintf("%s%s", f->db, suffix[i]);
        unlink(p);
        free(p);
    }
    rmdir(f->dir);
    free(f->db);
    free(f);
    return 0;
}

static long long create(struct fx *f, enum tokens_role role, const char *officer, const char *unit,
                        const char *label, char tok[TOKENS_TEXT_MAX])
{
    struct sr_errbuf eb = {{0}};
    long long id = 0;
    struct tokens_new req = {role, officer, unit, label, T0};
    enum sr_err e = tokens_create(f->tk, &req, tok, &id, &eb);
    if (e != SR_E_OK)
        fprintf(stderr, "create: %s\n", eb.msg);
    assert_int_equal(e, SR_E_OK);
    assert_true(id > 0);
    return id;
}

/* 1 if needle occurs anywhere in the file's bytes. */
static int file_contains(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    size_t cap = 1 << 16, len = 0, n;
    char *buf = malloc(cap);
    while ((n = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += n;
        if (len == cap)
            buf = realloc(buf, cap *= 2);
    }
    fclose(fp);
    int found = len >= strlen(needle) && memmem(buf, len, needle, strlen(needle)) != NULL;
    free(buf);
    return found;
}

static void test_create_shows_once_stores_hash(void **state)
{
    struct fx *f = *state;
    char tok[TOKENS_TEXT_MAX], tok2[TOKENS_TEXT_MAX];
    create(f, TOKENS_OFFICER, "BMK017", NULL, "desk 3", tok);
    create(f, TOKENS_OFFICER, "BMK017", NULL, NULL, tok2);
    assert_int_equal(strlen(tok), 4 + 64);
    assert_memory_equal(tok, "sua_", 4);
    assert_string_not_equal(tok, tok2); /* random, not derived from the scope */
    /* close every connection so the WAL is checkpointed, then look at the raw files */
    tokens_close(f->tk);
    f->tk = NULL;
    static const char *const suffix[] = {"", "-wal", "-journal"};
    for (size_t i = 0; i < 3; i++) {
        char *p = sr_asprintf("%s%s", f->db, suffix[i]);
        assert_false(file_contains(p, tok));
        assert_false(file_contains(p, tok + 4)); /* not even the random part */
        assert_false(file_contains(p, tok2 + 4));
        free(p);
    }
    struct sr_errbuf eb = {{0}};
    f->tk = tokens_open(f->db, &eb);
    assert_non_null(f->tk);
    struct tokens_info ti;
    assert_int_equal(tokens_verify(f->tk, tok, 0, &ti, &eb), SR_E_OK);
    assert_int_equal(ti.role, TOKENS_OFFICER);
    assert_string_equal(ti.officer, "BMK017");
    assert_string_equal(ti.unit, "DPMPTSP"); /* the officer's unit, from the registry */
    assert_string_equal(ti.label, "desk 3");
}

struct listing {
    int n;
    char text[4096];
    size_t len;
};

static int collect(void *ud, const struct tokens_info *ti)
{
    struct listing *l = ud;
    l->n++;
    l->len += (size_t)snprintf(
        l->text + l->len, sizeof(l->text) - l->len, "%lld %s %s %s %s %lld %lld %lld\n", ti->id,
        tokens_role_name(ti->role), ti->officer, ti->unit, ti->label, (long long)ti->created_at,
        (long long)ti->revoked_at, (long long)ti->last_used_at);
    return 0;
}

static void test_list_hides_tokens(void **state)
{
    struct fx *f = *state;
    char a[TOKENS_TEXT_MAX], b[TOKENS_TEXT_MAX], c[TOKENS_TEXT_MAX];
    long long ia = create(f, TOKENS_ADMIN, NULL, NULL, "ops", a);
    create(f, TOKENS_SUPERVISOR, NULL, "DISDUK", NULL, b);
    create(f, TOKENS_OFFICER, "DUK-01", NULL, NULL, c);
    struct tokens_info ti;
    struct sr_errbuf eb = {{0}};
    assert_int_equal(tokens_verify(f->tk, b, T0 + 5000, &ti, &eb), SR_E_OK);
    struct listing l = {0};
    assert_int_equal(tokens_list(f->tk, collect, &l, &eb), SR_E_OK);
    assert_int_equal(l.n, 3);
    assert_null(strstr(l.text, a + 4));
    assert_null(strstr(l.text, b + 4));
    assert_null(strstr(l.text, c + 4));
    char want[128];
    snprintf(want, sizeof(want), "%lld admin   ops %lld 0 0\n", ia, T0);
    assert_non_null(strstr(l.text, want));
    assert_non_null(strstr(l.text, "supervisor  DISDUK  1796004000000 0 1796004005000\n"));
    assert_non_null(strstr(l.text, "officer DUK-01 DISDUK  1796004000000 0 0\n"));
}

static void test_revoke_stops_verify_at_once(void **state)
{
    struct fx *f = *state;
    char tok[TOKENS_TEXT_MAX];
    long long id = create(f, TOKENS_SUPERVISOR, NULL, "DPMPTSP", NULL, tok);
    struct tokens_info ti;
    struct sr_errbuf eb = {{0}};
    assert_int_equal(tokens_verify(f->tk, tok, 0, &ti, &eb), SR_E_OK);
    assert_int_equal(ti.role, TOKENS_SUPERVISOR);
    assert_string_equal(ti.unit, "DPMPTSP");
    /* revoked through another connection (the CLI), seen by this one on the next check */
    struct tokens *cli = tokens_open(f->db, &eb);
    assert_non_null(cli);
    assert_int_equal(tokens_revoke(cli, id, T0 + 1000, &eb), SR_E_OK);
    assert_int_equal(tokens_verify(f->tk, tok, 0, &ti, &eb), SR_E_FORBIDDEN);
    /* a second revoke keeps the first time; an unknown id is not found */
    assert_int_equal(tokens_revoke(cli, id, T0 + 9000, &eb), SR_E_OK);
    assert_int_equal(tokens_revoke(cli, id + 100, T0, &eb), SR_E_NOT_FOUND);
    tokens_close(cli);
    struct listing l = {0};
    assert_int_equal(tokens_list(f->tk, collect, &l, &eb), SR_E_OK);
    assert_non_null(strstr(l.text, "1796004000000 1796004001000 0\n"));
}

static void test_verify_rejects_unknown_and_malformed(void **state)
{
    struct fx *f = *state;
    char tok[TOKENS_TEXT_MAX];
    create(f, TOKENS_ADMIN, NULL, NULL, NULL, tok);
    struct tokens_info ti;
    struct sr_errbuf eb = {{0}};
    char other[TOKENS_TEXT_MAX];
    memcpy(other, tok, sizeof(other));
    other[10] = other[10] == 'a' ? 'b' : 'a';
    assert_int_equal(tokens_verify(f->tk, other, 0, &ti, &eb), SR_E_NOT_FOUND);
    assert_null(strstr(eb.msg, other)); /* the presented token is never echoed */
    const char *bad[] = {"", "sua_", "sua_xyz", "Bearer abc", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(tokens_verify(f->tk, bad[i], 0, &ti, &eb), SR_E_NOT_FOUND);
    char upper[TOKENS_TEXT_MAX];
    snprintf(upper, sizeof(upper), "SUA_%s", tok + 4);
    assert_int_equal(tokens_verify(f->tk, upper, 0, &ti, &eb), SR_E_NOT_FOUND);
}

static void test_bad_role_and_scope_rejected(void **state)
{
    struct fx *f = *state;
    char tok[TOKENS_TEXT_MAX] = "";
    struct sr_errbuf eb = {{0}};
    enum tokens_role r;
    assert_int_equal(tokens_role_parse("root", &r), -1);
    assert_int_equal(tokens_role_parse("supervisor", &r), 0);
    assert_int_equal(r, TOKENS_SUPERVISOR);
    static const struct {
        int role;
        const char *officer, *unit, *why;
    } cases[] = {
        {TOKENS__ROLE_COUNT, NULL, NULL, "role"},
        {TOKENS_OFFICER, "XYZ999", NULL, "unknown or inactive officer"},
        {TOKENS_OFFICER, NULL, NULL, "needs --officer"},
        {TOKENS_OFFICER, "BMK017", "DPMPTSP", "needs --officer"},
        {TOKENS_SUPERVISOR, NULL, "NOPE", "unknown unit"},
        {TOKENS_SUPERVISOR, NULL, NULL, "needs --unit"},
        {TOKENS_ADMIN, "BMK017", NULL, "admin token"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tokens_new req = {(enum tokens_role)cases[i].role, cases[i].officer, cases[i].unit,
                                 NULL, T0};
        assert_int_equal(tokens_create(f->tk, &req, tok, NULL, &eb), SR_E_INVALID);
        assert_non_null(strstr(eb.msg, cases[i].why));
        assert_string_equal(tok, ""); /* nothing shown */
    }
    char label[300];
    memset(label, 'x', sizeof(label) - 1);
    label[sizeof(label) - 1] = '\0';
    struct tokens_new req = {TOKENS_ADMIN, NULL, NULL, label, T0};
    assert_int_equal(tokens_create(f->tk, &req, tok, NULL, &eb), SR_E_INVALID);
    struct listing l = {0};
    assert_int_equal(tokens_list(f->tk, collect, &l, &eb), SR_E_OK);
    assert_int_equal(l.n, 0); /* nothing half-written */
}

static void test_codes_case_insensitive_and_audit(void **state)
{
    struct fx *f = *state;
    char tok[TOKENS_TEXT_MAX];
    create(f, TOKENS_OFFICER, "BMK018", NULL, NULL, tok); /* imported as "bmk018" */
    struct tokens_info ti;
    struct sr_errbuf eb = {{0}};
    assert_int_equal(tokens_verify(f->tk, tok, 0, &ti, &eb), SR_E_OK);
    assert_string_equal(ti.unit, "DPMPTSP");
    assert_int_equal(tokens_audit(f->tk, T0, ti.id, "stats.read", "unit=DPMPTSP", &eb), SR_E_OK);
    assert_int_equal(tokens_audit(f->tk, T0, ti.id, "", NULL, &eb), SR_E_INVALID);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_shows_once_stores_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_hides_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_stops_verify_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_rejects_unknown_and_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_role_and_scope_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_codes_case_insensitive_and_audit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
