/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `suara stats` command (see cli_stats.h): flags become the API's parameter names
 * (--group-by -> group_by), parsed by the same stats_filter_parse, printed by the same renderer
 * as the API's CSV export (stats_render.c).
 */
#include "cli_stats.h"

#include "app.h"
#include "evalstore.h"
#include "stats.h"
#include "stats_render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *flag, *param;
} flags[] = {
    {"--from", "from"},         {"--to", "to"},
    {"--unit", "unit"},         {"--officer", "officer"},
    {"--category", "category"}, {"--group-by", "group_by"},
    {"--clock", "clock"},       {"--compare", "compare"},
};

static int usage(void)
{
    fprintf(stderr,
            "usage: suara stats response-times|satisfaction|complaints -c FILE\n"
            "         [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--unit CODE] [--officer CODE]\n"
            "         [--category CODE] [--group-by none|officer|unit|category|month|quarter]\n"
            "         [--clock wall|working] [--compare previous] [--csv]\n");
    return 2;
}

/* -1 on an unknown flag or a missing value. */
static int parse_flags(int argc, char **argv, struct stats_params *p, int *csv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--csv") == 0) {
            *csv = 1;
            continue;
        }
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            i++;
            continue;
        }
        size_t k = 0, n = sizeof(flags) / sizeof(flags[0]);
        while (k < n && strcmp(argv[i], flags[k].flag) != 0)
            k++;
        if (k == n || i + 1 >= argc || p->n == STATS_MAX_PARAMS)
            return -1;
        p->name[p->n] = flags[k].param;
        p->value[p->n++] = argv[++i];
    }
    return 0;
}

/* "Now" as the gateway sees it: the drill clock file (server.clock_file) when set. */
static int64_t domain_now(const struct config *cfg)
{
    struct app a;
    memset(&a, 0, sizeof(a));
    a.cfg = cfg;
    return app_domain_now(&a);
}

int cli_stats(const struct config *cfg, int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "stats") == 0)
        argc--, argv++;
    if (argc < 1 || !cfg)
        return usage();
    enum stats_kind kind;
    if (stats_parse_kind(argv[0], &kind) < 0)
        return usage();
    struct stats_params p = {0};
    int csv = 0;
    if (parse_flags(argc - 1, argv + 1, &p, &csv) < 0)
        return usage();
    struct stats_filter f;
    int64_t now_ms = domain_now(cfg);
    const char *bad = stats_filter_parse(&f, stats_params_get, &p, now_ms);
    if (bad) {
        for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
            if (strcmp(flags[k].param, bad) == 0)
                fprintf(stderr, "suara: bad %s\n", flags[k].flag);
        return 2;
    }
    struct sr_errbuf eb = {{0}};
    /* the schema may predate the statistics: migrate it first, as the gateway would */
    struct evalstore *es = evalstore_open_keyed(cfg->store.sqlite_path, EVALSTORE_WRITE,
                                                cfg->privacy.citizen_hash_key, &eb);
    evalstore_close(es);
    struct stats *s = es ? stats_open(cfg->store.sqlite_path, &eb) : NULL;
    struct stats_result *res = NULL;
    if (!s || stats_query(s, kind, &f, now_ms, &res, &eb) != SR_E_OK) {
        fprintf(stderr, "suara: %s\n", eb.msg);
        stats_close(s);
        return 1;
    }
    if (csv)
        stats_render_csv(stdout, res);
    else
        stats_render_table(stdout, res);
    stats_result_free(res);
    stats_close(s);
    return 0;
}
