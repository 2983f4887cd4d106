/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `suara outbox list|retry|drop`: one store on a private libuv loop, connected to the config's
 * Redis; one dead-letter operation (store_dead_list / _retry / _drop), then the store is closed
 * and the loop run to its end. Numbers are printed masked, reply texts never.
 */
#include "cli_outbox.h"

#include "app.h"

#include "outbox_admin.h"
#include "sr_log.h"
#include "sr_mem.h"
#include "sr_types.h"
#include "store.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define CLI_OUTBOX_CONNECT_MS 5000
#define CLI_OUTBOX_LIST_MAX 1000

struct cli_run {
    uv_loop_t loop;
    uv_timer_t tick;
    struct store *store;
    int json;
    int called;
    int rc;
};

static void print_item(const struct store_dead_item *it, json_t *arr)
{
    json_t *o = outbox_admin_item_json(it);
    if (arr) {
        json_array_append_new(arr, o);
        return;
    }
    char when[32] = "-";
    time_t t = (time_t)(it->at_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%-17s %-10s %-16s %-20s %s\n", it->id, json_string_value(json_object_get(o, "channel")),
           json_string_value(json_object_get(o, "to")), when, it->why);
    json_decref(o);
}

static void on_list(void *ud, enum sr_err err, const struct store_dead_item *items, size_t n)
{
    struct cli_run *c = ud;
    c->called = 1;
    if (err != SR_E_OK) {
        fprintf(stderr, "suara: outbox list: %s\n", sr_strerror(err));
        c->rc = 1;
        return;
    }
    json_t *arr = c->json ? json_array() : NULL;
    if (!arr)
        printf("%-17s %-10s %-16s %-20s %s\n", "ID", "CHANNEL", "TO", "DEAD SINCE", "WHY");
    for (size_t i = 0; i < n; i++)
        print_item(&items[i], arr);
    if (arr) {
        char *s = json_dumps(arr, JSON_COMPACT);
        puts(s);
        free(s);
        json_decref(arr);
    }
}

static void on_one(void *ud, enum sr_err err, const char *new_id)
{
    struct cli_run *c = ud;
    c->called = 1;
    if (err != SR_E_OK) {
        fprintf(stderr, "suara: outbox: %s\n",
                err == SR_E_NOT_FOUND ? "no such dead letter" : sr_strerror(err));
        c->rc = 1;
    } else if (new_id) {
        printf("queued again as outbox entry %s\n", new_id);
    } else {
        printf("dropped\n");
    }
}

static void on_tick(uv_timer_t *t)
{
    struct cli_run *c = t->data;
    if (c->called || store_is_connected(c->store))
        uv_stop(&c->loop);
}

static struct store *cli_store(struct cli_run *c, const struct config *cfg)
{
    struct sr_errbuf eb = {{0}};
    struct store_conf sc;
    app_store_conf(cfg, &sc);
    struct store *s = store_new(&c->loop, &sc, &eb);
    if (!s)
        fprintf(stderr, "suara: %s\n", eb.msg);
    return s;
}

/* Runs the loop until the store connects (or CLI_OUTBOX_CONNECT_MS pass), then the op to its
 * callback. */
static int cli_run_op(struct cli_run *c, const char *verb, const char *id)
{
    uint64_t deadline = uv_hrtime() + (uint64_t)CLI_OUTBOX_CONNECT_MS * 1000000;
    while (!store_is_connected(c->store) && uv_hrtime() < deadline)
        uv_run(&c->loop, UV_RUN_DEFAULT);
    if (!store_is_connected(c->store)) {
        fprintf(stderr, "suara: outbox: Redis unreachable\n");
        return 1;
    }
    if (strcmp(verb, "list") == 0)
        store_dead_list(c->store, NULL, CLI_OUTBOX_LIST_MAX, on_list, c);
    else if (strcmp(verb, "retry") == 0)
        store_dead_retry(c->store, id, on_one, c);
    else
        store_dead_drop(c->store, id, on_one, c);
    while (!c->called)
        uv_run(&c->loop, UV_RUN_DEFAULT);
    return c->rc;
}

static int cli_usage(void)
{
    fprintf(stderr, "usage: suara outbox list [--json] -c FILE\n"
                    "       suara outbox retry|drop ID -c FILE\n");
    return 2;
}

int cli_outbox(const struct config *cfg, int argc, char **argv)
{
    const char *verb = NULL, *id = NULL;
    struct cli_run c = {0};
    int i = argc > 0 && strcmp(argv[0], "outbox") == 0 ? 1 : 0;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)
            i++;
        else if (strcmp(argv[i], "--json") == 0)
            c.json = 1;
        else if (!verb)
            verb = argv[i];
        else if (!id)
            id = argv[i];
        else
            return cli_usage();
    }
    int is_list = verb && strcmp(verb, "list") == 0;
    int is_one = verb && (strcmp(verb, "retry") == 0 || strcmp(verb, "drop") == 0);
    if (!(is_list && !id) && !(is_one && id))
        return cli_usage();
    uv_loop_init(&c.loop);
    c.store = cli_store(&c, cfg);
    int rc = 1;
    if (c.store) {
        uv_timer_init(&c.loop, &c.tick);
        c.tick.data = &c;
        uv_timer_start(&c.tick, on_tick, 20, 20);
        rc = cli_run_op(&c, verb, id);
        uv_close((uv_handle_t *)&c.tick, NULL);
        store_close(c.store);
    }
    uv_run(&c.loop, UV_RUN_DEFAULT);
    uv_loop_close(&c.loop);
    return rc;
}
