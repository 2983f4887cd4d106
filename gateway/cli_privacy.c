/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `suara privacy purge` (see cli_privacy.h): resolves the citizen to their pseudonym, makes one
 * random tombstone, purges Redis and then the evaluation store with it, and prints the counts per
 * kind as text or JSON. Both halves are idempotent, so after a failure it is simply run again.
 */
#include "cli_privacy.h"

#include "app.h"

#include "evalstore.h"
#include "store_purge.h"

#include "sr_log.h"
#include "sr_mem.h"
#include "sr_pseudo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct purge_args {
    int by_pseudonym, json;
    const char *who;
};

static int usage(void)
{
    fprintf(stderr, "usage: suara privacy purge [--pseudonym] [--json] NUMBER|PSEUDONYM -c FILE\n");
    return 2;
}

static int parse(int argc, char **argv, struct purge_args *a)
{
    int i = argc > 0 && strcmp(argv[0], "privacy") == 0 ? 1 : 0;
    if (i >= argc || strcmp(argv[i], "purge") != 0)
        return -1;
    for (i++; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            i++;
        else if (strcmp(argv[i], "--pseudonym") == 0)
            a->by_pseudonym = 1;
        else if (strcmp(argv[i], "--json") == 0)
            a->json = 1;
        else if (argv[i][0] != '-' && !a->who)
            a->who = argv[i];
        else
            return -1;
    }
    return a->who ? 0 : -1;
}

/* Fills the pseudonym and how the citizen is shown (masked number or the pseudonym's start). */
static int resolve(const struct config *cfg, const struct purge_args *a, char pseudo[SR_PSEUDO_LEN],
                   char shown[SR_MASK_MAX + 16])
{
    if (a->by_pseudonym) {
        if (strlen(a->who) != 64 || strspn(a->who, "0123456789abcdef") != 64)
            return -1;
        memcpy(pseudo, a->who, SR_PSEUDO_LEN);
        snprintf(shown, SR_MASK_MAX + 16, "pseudonym %.8s...", a->who);
        return 0;
    }
    char *digits = sr_calloc(strlen(a->who) + 1, 1);
    int rc = sr_pseudo_citizen_number(cfg->privacy.citizen_hash_key, a->who, pseudo, digits);
    char masked[SR_MASK_MAX];
    if (rc == 0)
        snprintf(shown, SR_MASK_MAX + 16, "%s", sr_mask_phone(digits, masked));
    free(digits);
    return rc;
}

static void print_report(const char *shown, const struct store_purge_report *r,
                         const struct evalstore_purge_report *e, int as_json)
{
    if (as_json) {
        json_t *o = json_pack("{s:s, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I}}",
                              "citizen", shown, "redis", "sessions", (json_int_t)r->sessions,
                              "complaint_numbers", (json_int_t)r->complaints, "outbox_replies",
                              (json_int_t)r->outbox, "rate_limit_keys", (json_int_t)r->limits,
                              "sqlite", "surveys", (json_int_t)e->surveys, "comments",
                              (json_int_t)e->comments, "complaints", (json_int_t)e->complaints,
                              "visits", (json_int_t)e->visits, "events", (json_int_t)e->events);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
        return;
    }
    printf("purged %s\n", shown);
    printf("redis   sessions %lld, complaint numbers %lld, outbox replies %lld, "
           "rate-limit keys %lld\n",
           r->sessions, r->complaints, r->outbox, r->limits);
    printf("sqlite  surveys %lld, comments %lld, complaints %lld, visits %lld, events %lld\n",
           e->surveys, e->comments, e->complaints, e->visits, e->events);
}

int cli_privacy(const struct config *cfg, int argc, char **argv)
{
    struct purge_args a = {0};
    char pseudo[SR_PSEUDO_LEN], shown[SR_MASK_MAX + 16];
    if (parse(argc, argv, &a) != 0)
        return usage();
    if (resolve(cfg, &a, pseudo, shown) != 0) {
        fprintf(stderr, "suara: %s\n",
                a.by_pseudonym ? "a pseudonym is 64 lowercase hex digits"
                               : "a number needs at least 8 digits");
        return 2;
    }
    char tomb[EVALSTORE_TOMBSTONE_LEN];
    evalstore_new_tombstone(tomb);
    struct store_conf sc;
    app_store_conf(cfg, &sc);
    struct store_purge_report rr;
    struct evalstore_purge_report er = {0};
    struct sr_errbuf eb = {{0}};
    if (store_purge_citizen(&sc, cfg->privacy.citizen_hash_key, pseudo, tomb, &rr, &eb) !=
        SR_E_OK) {
        fprintf(stderr, "suara: purge (redis): %s\n", eb.msg);
        return 1;
    }
    struct evalstore *es = evalstore_open_keyed(cfg->store.sqlite_path, EVALSTORE_WRITE,
                                                cfg->privacy.citizen_hash_key, &eb);
    if (!es || evalstore_purge_citizen(es, pseudo, tomb, &er, &eb) != SR_E_OK) {
        fprintf(stderr, "suara: purge (evaluation store): %s\n", eb.msg);
        evalstore_close(es);
        return 1;
    }
    evalstore_close(es);
    print_report(shown, &rr, &er, a.json);
    return 0;
}
