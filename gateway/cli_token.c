/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `suara token` command (see cli_token.h): argument parsing by a table of options, then one
 * call into store/tokens.c. The schema is migrated first, so a fresh install can make its first
 * admin token before the gateway ever ran.
 */
#include "cli_token.h"

#include "app.h"
#include "evalstore.h"
#include "tokens.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct create_opts {
    const char *role, *officer, *unit, *label;
};

static const struct {
    const char *name;
    size_t offset;
} create_flags[] = {
    {"--role", offsetof(struct create_opts, role)},
    {"--officer", offsetof(struct create_opts, officer)},
    {"--unit", offsetof(struct create_opts, unit)},
    {"--label", offsetof(struct create_opts, label)},
};

static int usage(void)
{
    fprintf(stderr, "usage: suara token create --role admin|supervisor|officer [--officer CODE]\n"
                    "                          [--unit CODE] [--label TEXT] -c FILE\n"
                    "       suara token list -c FILE\n"
                    "       suara token revoke ID -c FILE\n");
    return 2;
}

/* Opens the token store, migrating the schema first. */
static struct tokens *open_tokens(const struct config *cfg)
{
    struct sr_errbuf eb = {{0}};
    struct evalstore *es = evalstore_open_keyed(cfg->store.sqlite_path, EVALSTORE_WRITE,
                                                cfg->privacy.citizen_hash_key, &eb);
    struct tokens *t = es ? tokens_open(cfg->store.sqlite_path, &eb) : NULL;
    evalstore_close(es);
    if (!t)
        fprintf(stderr, "suara: %s\n", eb.msg);
    return t;
}

static int parse_create(int argc, char **argv, struct create_opts *o)
{
    for (int i = 0; i < argc; i++) {
        size_t k = 0, n = sizeof(create_flags) / sizeof(create_flags[0]);
        while (k < n && strcmp(argv[i], create_flags[k].name) != 0)
            k++;
        if (k == n || i + 1 >= argc)
            return -1;
        *(const char **)((char *)o + create_flags[k].offset) = argv[++i];
    }
    return o->role ? 0 : -1;
}

static int cmd_create(struct tokens *t, int argc, char **argv)
{
    struct create_opts o = {0};
    struct tokens_new req = {0};
    if (parse_create(argc, argv, &o) < 0)
        return usage();
    if (tokens_role_parse(o.role, &req.role) < 0) {
        fprintf(stderr, "suara: role must be admin, supervisor or officer\n");
        return 1;
    }
    req.officer_code = o.officer;
    req.unit_code = o.unit;
    req.label = o.label;
    req.now_ms = app_now_ms();
    char tok[TOKENS_TEXT_MAX];
    long long id = 0;
    struct sr_errbuf eb = {{0}};
    if (tokens_create(t, &req, tok, &id, &eb) != SR_E_OK) {
        fprintf(stderr, "suara: token not created: %s\n", eb.msg);
        return 1;
    }
    printf("%s\n", tok);
    fprintf(stderr, "created token %lld (%s%s%s%s%s); it is shown only this once\n", id, o.role,
            o.officer ? ", officer " : "", o.officer ? o.officer : "", o.unit ? ", unit " : "",
            o.unit ? o.unit : "");
    return 0;
}

static const char *fmt_time(int64_t ms, char *buf, size_t n)
{
    if (!ms)
        return "-";
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static int print_row(void *ud, const struct tokens_info *ti)
{
    (void)ud;
    char c[32], r[32], u[32];
    printf("%-5lld %-10s %-10s %-12s %-20s %-20s %-20s %s\n", ti->id, tokens_role_name(ti->role),
           *ti->officer ? ti->officer : "-", *ti->unit ? ti->unit : "-",
           fmt_time(ti->created_at, c, sizeof(c)), fmt_time(ti->revoked_at, r, sizeof(r)),
           fmt_time(ti->last_used_at, u, sizeof(u)), ti->label);
    return 0;
}

static int cmd_list(struct tokens *t)
{
    struct sr_errbuf eb = {{0}};
    printf("%-5s %-10s %-10s %-12s %-20s %-20s %-20s %s\n", "ID", "ROLE", "OFFICER", "UNIT",
           "CREATED", "REVOKED", "LAST USED", "LABEL");
    if (tokens_list(t, print_row, NULL, &eb) != SR_E_OK) {
        fprintf(stderr, "suara: %s\n", eb.msg);
        return 1;
    }
    return 0;
}

static int cmd_revoke(struct tokens *t, int argc, char **argv)
{
    if (argc != 1)
        return usage();
    char *end = NULL;
    errno = 0;
    long long id = strtoll(argv[0], &end, 10);
    if (errno || end == argv[0] || *end || id <= 0) {
        fprintf(stderr, "suara: token id must be a positive number\n");
        return 2;
    }
    struct sr_errbuf eb = {{0}};
    if (tokens_revoke(t, id, app_now_ms(), &eb) != SR_E_OK) {
        fprintf(stderr, "suara: %s\n", eb.msg);
        return 1;
    }
    printf("revoked token %lld\n", id);
    return 0;
}

/* Copies argv without "-c FILE" / "--config FILE" pairs. */
static int strip_config(int argc, char **argv, char **out)
{
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            i++;
        else
            out[n++] = argv[i];
    }
    return n;
}

int cli_token(const struct config *cfg, int argc, char **argv)
{
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    int n = args ? strip_config(argc, argv, args) : 0;
    char **a = args;
    if (n > 0 && strcmp(a[0], "token") == 0)
        a++, n--;
    int rc = 2;
    struct tokens *t = NULL;
    if (n < 1 || !cfg) {
        rc = usage();
    } else if (!(t = open_tokens(cfg))) {
        rc = 1;
    } else if (strcmp(a[0], "create") == 0) {
        rc = cmd_create(t, n - 1, a + 1);
    } else if (strcmp(a[0], "list") == 0 && n == 1) {
        rc = cmd_list(t);
    } else if (strcmp(a[0], "revoke") == 0) {
        rc = cmd_revoke(t, n - 1, a + 1);
    } else {
        rc = usage();
    }
    tokens_close(t);
    free(args);
    return rc;
}
