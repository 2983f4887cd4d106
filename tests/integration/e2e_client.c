/* SPDX-License-Identifier: Apache-2.0 */
/* The shared client side of the end-to-end tests (see e2e_client.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "e2e_client.h"

#include "handler.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct e2e E;

/* ---- set-up ---- */

static void write_config(void)
{
    snprintf(E.config, sizeof(E.config), "%s/suara.ini", E.dir);
    FILE *f = fopen(E.config, "w");
    assert_non_null(f);
    fprintf(f,
            "[server]\nlisten = 127.0.0.1\nport = %d\nworkers = 2\nlog_level = info\n"
            "data_dir = %s/dialogs/data\n"
            "[redis]\nsocket = %s/redis.sock\nprefix = e2e:\ncommand_timeout_ms = 1000\n"
            "[store]\nsqlite_path = %s\n"
            "[privacy]\ncitizen_hash_key = e2e-citizen-hash-key-0123456789\n"
            "[sender]\ntimeout_ms = 3000\nmax_attempts = 3\nbackoff_min_ms = 100\n"
            "backoff_max_ms = 1000\n"
            "[channel.wa]\ntype = whatsapp\napp_secret = " WA_SECRET "\n"
            "verify_token = e2e-verify\naccess_token = e2e-access-token\n"
            "phone_number_id = 100000000000001\napi_base = http://127.0.0.1:%d/graph\n"
            "body_limit = 65536\n"
            "[channel.sms]\ntype = twilio\nauth_token = " SMS_TOKEN "\n"
            "account_sid = ACe2e00000000000000000000000000000\nfrom_number = +6280000000000\n"
            "api_base = http://127.0.0.1:%d/twilio\n",
            E.port, SUARA_SOURCE_DIR, E.dir, E.db, E.mock_port, E.mock_port);
    if (E.extra_ini) /* a repeated [section] adds keys to it */
        fputs(E.extra_ini, f);
    fclose(f);
}

long http_get(const char *url, char **body)
{
    struct harness_response r;
    long status = harness_http("GET", url, NULL, NULL, 0, &r) == 0 ? r.status : -1;
    if (body)
        *body = strdup(r.body ? r.body : "");
    harness_response_free(&r);
    return status;
}

/* "ready": Redis connected and nothing left in the inbound spool (200 "spooling" means webhooks
 * are accepted, not yet that Redis is there) */
static int is_ready(void *ud)
{
    (void)ud;
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "%s/readyz", E.base);
    int ready = http_get(url, &body) == 200 && strstr(body, "\"status\":\"ready\"");
    free(body);
    return ready;
}

int wait_ready(int timeout_ms)
{
    return harness_wait_until(is_ready, NULL, timeout_ms);
}

int start_suara(void)
{
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/gateway/suara", SUARA_BINARY_DIR);
    char *imp[] = {
        bin, "import-officers", "-c", E.config, SUARA_SOURCE_DIR "/deploy/demo/officers.csv", NULL};
    if (harness_run(imp, E.log, 30000) != 0)
        return -1;
    char *argv[] = {bin, "serve", "-c", E.config, NULL};
    E.suara = harness_spawn(argv, E.log);
    return E.suara > 0 ? wait_ready(20000) : -1;
}

int e2e_setup(void **state)
{
    (void)state;
    E.dir = harness_tmpdir("e2e");
    snprintf(E.db, sizeof(E.db), "%s/suara.db", E.dir);
    snprintf(E.log, sizeof(E.log), "%s/suara.log", E.dir);
    E.redis = harness_redis_start(E.dir);
    E.mock = harness_mock_start(E.dir, &E.mock_port);
    E.port = harness_free_port();
    snprintf(E.base, sizeof(E.base), "http://127.0.0.1:%d", E.port);
    snprintf(E.mock_base, sizeof(E.mock_base), "http://127.0.0.1:%d", E.mock_port);
    if (E.redis <= 0 || E.mock <= 0)
        return -1;
    write_config();
    if (start_suara() != 0) {
        fprintf(stderr, "suara did not become ready; log in %s\n", E.log);
        return -1;
    }
    return 0;
}

int e2e_teardown(void **state)
{
    (void)state;
    int rc = harness_stop(E.suara, SIGTERM, 20000);
    harness_stop(E.mock, SIGTERM, 5000);
    harness_stop(E.redis, SIGTERM, 5000);
    if (rc != 0)
        fprintf(stderr, "suara exited with %d after SIGTERM; log in %s\n", rc, E.log);
    else
        harness_rmdir(E.dir);
    free(E.dir);
    return rc == 0 ? 0 : -1;
}

/* ---- provider-shaped requests ---- */

char *next_id(const char *prefix)
{
    char *s = NULL;
    if (asprintf(&s, "%s%d%08d", prefix, getpid(), ++E.seq) < 0)
        abort();
    return s;
}

char *wa_body(const char *from, const char *id, const char *text, const char *payload)
{
    json_t *msg;
    if (payload)
        msg = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:{s:s, s:s}}}", "from", from, "id", id,
                        "timestamp", "1790000000", "type", "interactive", "interactive", "type",
                        "button_reply", "button_reply", "id", payload, "title", text);
    else
        msg = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "from", from, "id", id, "timestamp",
                        "1790000000", "type", "text", "text", "body", text);
    json_t *root = json_pack(
        "{s:s, s:[{s:s, s:[{s:s, s:{s:s, s:{s:s, s:s}, s:[{s:{s:s}, s:s}], s:[o]}}]}]}", "object",
        "whatsapp_business_account", "entry", "id", "100000000000000", "changes", "field",
        "messages", "value", "messaging_product", "whatsapp", "metadata", "display_phone_number",
        "6280000000000", "phone_number_id", "100000000000001", "contacts", "profile", "name",
        "Warga Uji", "wa_id", from, "messages", msg);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

long post_raw(const char *channel, const char *ctype, const char *sig_header, const char *body,
              size_t len, char **resp)
{
    char url[160], ct[128];
    snprintf(url, sizeof(url), "%s/webhooks/%s", E.base, channel);
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
    const char *hdrs[] = {ct, sig_header, NULL};
    struct harness_response r;
    long status = harness_http("POST", url, hdrs, body, len, &r) == 0 ? r.status : -1;
    if (resp)
        *resp = strdup(r.body ? r.body : "");
    harness_response_free(&r);
    return status;
}

long post_wa_signed(const char *body, const char *secret, char **resp)
{
    char hex[65], hdr[128];
    handler_sign_whatsapp(secret, (const unsigned char *)body, strlen(body), hex);
    snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: sha256=%s", hex);
    return post_raw("wa", "application/json", hdr, body, strlen(body), resp);
}

long wa_send(const char *from, const char *text, const char *payload)
{
    char *id = next_id("wamid.e2e.");
    char *body = wa_body(from, id, text, payload);
    long st = post_wa_signed(body, WA_SECRET, NULL);
    free(body);
    free(id);
    return st;
}

char *form_escape(const char *s)
{
    CURL *c = curl_easy_init();
    char *e = curl_easy_escape(c, s, 0);
    char *out = strdup(e);
    curl_free(e);
    curl_easy_cleanup(c);
    return out;
}

long sms_send_as(const char *from, const char *text, const char *token)
{
    char *sid = next_id("SMe2e");
    char *ef = form_escape(from), *et = form_escape(text);
    char *form = NULL;
    if (asprintf(&form,
                 "AccountSid=ACe2e00000000000000000000000000000&Body=%s&From=%s"
                 "&MessageSid=%s&NumMedia=0&To=%%2B6280000000000",
                 et, ef, sid) < 0)
        abort();
    char url[160], b64[29], hdr[96];
    snprintf(url, sizeof(url), "%s/webhooks/sms", E.base);
    assert_int_equal(handler_sign_twilio(token, url, form, strlen(form), b64), 0);
    snprintf(hdr, sizeof(hdr), "X-Twilio-Signature: %s", b64);
    long st = post_raw("sms", "application/x-www-form-urlencoded", hdr, form, strlen(form), NULL);
    free(form);
    free(ef);
    free(et);
    free(sid);
    return st;
}

/* ---- observing the world ---- */

/* Provider calls recorded by the mock whose body mentions the number. */
int mock_count(const char *number)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof(url), "%s/_requests", E.mock_base);
    if (http_get(url, &body) != 200) {
        free(body);
        return -1;
    }
    json_t *arr = json_loads(body, 0, NULL);
    free(body);
    int n = 0;
    size_t i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        const char *b = json_string_value(json_object_get(it, "body"));
        if (b && strstr(b, number))
            n++;
    }
    json_decref(arr);
    return n;
}

int e2e_drained(void)
{
    char sock[600];
    snprintf(sock, sizeof(sock), "%s/redis.sock", E.dir);
    struct timeval tv = {2, 0};
    redisContext *rc = redisConnectUnixWithTimeout(sock, tv);
    if (!rc || rc->err) {
        redisFree(rc);
        return 0; /* Redis down: nothing can be said */
    }
    /* one script, so a send that finishes between two reads cannot hide its outcome event */
    redisReply *r =
        redisCommand(rc, "EVAL %s 2 e2e:outbox e2e:events",
                     "return redis.call('XLEN', KEYS[1]) + redis.call('XLEN', KEYS[2])");
    int empty = r && r->type == REDIS_REPLY_INTEGER && r->integer == 0;
    freeReplyObject(r);
    redisFree(rc);
    return empty;
}

static int drained_cond(void *ud)
{
    (void)ud;
    return e2e_drained();
}

int e2e_wait_drained(int timeout_ms)
{
    return harness_wait_until(drained_cond, NULL, timeout_ms);
}

int mock_settled_count(const char *number)
{
    if (e2e_wait_drained(20000) != 0)
        fprintf(stderr, "e2e: the gateway did not drain in 20 s (log in %s)\n", E.log);
    return mock_count(number);
}

long long db_int(const char *sql)
{
    sqlite3 *db = NULL;
    long long v = -1;
    if (sqlite3_open_v2(E.db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 2000);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

struct db_wait {
    const char *sql;
    long long want, v;
};

static int db_has(void *ud)
{
    struct db_wait *x = ud;
    x->v = db_int(x->sql);
    return x->v == x->want;
}

long long wait_db(const char *sql, long long want, int timeout_ms)
{
    struct db_wait x = {sql, want, -1};
    harness_wait_until(db_has, &x, timeout_ms);
    return x.v;
}

int db_text(const char *sql, char *out, size_t n)
{
    sqlite3 *db = NULL;
    int rc = -1;
    if (sqlite3_open_v2(E.db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 2000);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
            snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
            rc = 0;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return rc;
}

/* ---- the drill clock ---- */

static char clock_path[512];
long long e2e_clock_ms;

static int write_clock(long long ms)
{
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", clock_path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%lld\n", ms);
    if (fclose(f) != 0 || rename(tmp, clock_path) != 0)
        return -1;
    e2e_clock_ms = ms;
    return 0;
}

void e2e_set_clock(long long ms)
{
    assert_int_equal(write_clock(ms), 0);
}

int e2e_setup_clock(void **state, long long start_ms, const char *more_ini)
{
    static char extra[1024];
    char *dir = harness_tmpdir("clock");
    snprintf(clock_path, sizeof(clock_path), "%s/now", dir);
    free(dir);
    if (write_clock(start_ms) != 0)
        return -1;
    snprintf(extra, sizeof(extra), "[server]\nclock_file = %s\n%s", clock_path,
             more_ini ? more_ini : "");
    E.extra_ini = extra;
    return e2e_setup(state);
}

/* ---- concurrent deliveries ---- */

struct shot {
    const char *body;
    long status;
};

static void *fire(void *arg)
{
    struct shot *s = arg;
    s->status = post_wa_signed(s->body, WA_SECRET, NULL);
    return NULL;
}

int post_wa_concurrently(const char *body, int n)
{
    pthread_t t[8];
    struct shot s[8];
    int ok = 0;
    n = n > 8 ? 8 : n;
    for (int i = 0; i < n; i++) {
        s[i] = (struct shot){body, 0};
        if (pthread_create(&t[i], NULL, fire, &s[i]) != 0)
            s[i].status = -1, t[i] = 0;
    }
    for (int i = 0; i < n; i++) {
        if (s[i].status != -1)
            pthread_join(t[i], NULL);
        ok += s[i].status == 200;
    }
    return ok;
}
