/* SPDX-License-Identifier: Apache-2.0 */
/* Small process-wide helpers: channel lookup, citizen pseudonyms, the clock. */
#include "app.h"

#include "sr_pseudo.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct app_channel *app_channel_find(const struct app *a, const char *name, size_t len)
{
    for (size_t i = 0; i < a->n_channels; i++) {
        const char *n = a->channels[i].conf->name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return &a->channels[i];
    }
    return NULL;
}

void app_citizen_hash(const struct app *a, const char *address, char out[65])
{
    sr_pseudo_citizen(a->cfg->privacy.citizen_hash_key, address, out);
}

void app_provider_id_hash(const struct app *a, const char *id, char out[SR_PSEUDO_ID_LEN])
{
    sr_pseudo_provider_id(a->cfg->privacy.citizen_hash_key, id, out);
}

int64_t app_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t app_domain_now(const struct app *a)
{
    const char *path = a->cfg->server.clock_file;
    if (!path || !path[0])
        return app_now_ms();
    FILE *f = fopen(path, "r");
    char buf[32] = "";
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = '\0';
        fclose(f);
    }
    char *end = NULL;
    long long v = strtoll(buf, &end, 10);
    return end != buf && v > 0 ? (int64_t)v : app_now_ms();
}

void app_new_ticket(char out[7])
{
    static const char alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"; /* 32: no 0/O/1/I */
    unsigned char r[6];
    if (RAND_bytes(r, sizeof(r)) != 1)
        abort(); /* no randomness: nothing safe to hand out */
    for (int i = 0; i < 6; i++)
        out[i] = alphabet[r[i] & 31];
    out[6] = '\0';
}

struct dialog_env app_dialog_env(const struct app *a)
{
    return (struct dialog_env){
        .officer_lookup = evalstore_registry_lookup,
        .ud = a->registry,
        .session_idle_ms = (int64_t)a->cfg->dialog.session_idle_s * 1000,
        .default_language = a->cfg->dialog.default_language,
        .officer_by_phone = evalstore_registry_by_phone,
        .unit_list = evalstore_registry_units,
        .unit_handlers = evalstore_registry_unit_handlers,
        .unit_supervisor = evalstore_registry_unit_supervisor,
        .officer_channel = a->officer_channel,
        .worktime = a->worktime,
        .roster = a->roster,
    };
}

/* Takes v when it is set: a loaded config always is (the key table's bounds), a config built by
 * hand for a command's test may leave it 0, and then the store's default stands. */
static void set_if(int *dst, int v)
{
    if (v > 0)
        *dst = v;
}

void app_store_conf(const struct config *cfg, struct store_conf *sc)
{
    store_conf_defaults(sc);
    sc->host = cfg->redis.host;
    sc->port = cfg->redis.port;
    sc->unix_socket = cfg->redis.socket;
    sc->db = cfg->redis.db;
    sc->prefix = cfg->redis.prefix;
    set_if(&sc->session_ttl_s, cfg->redis.session_ttl_s);
    set_if(&sc->dedupe_ttl_s, cfg->redis.dedupe_ttl_s);
    set_if(&sc->number_retention_s, cfg->privacy.number_retention_s);
    set_if(&sc->complaint_record_ttl_s, cfg->privacy.complaint_record_ttl_s);
    set_if(&sc->command_timeout_ms, cfg->redis.command_timeout_ms);
}
