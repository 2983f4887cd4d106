/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests for gateway/config.c: a full config loads with the right values and defaults; every
 * kind of error gives SR_E_CONFIG naming file:line and key; environment overrides apply and bad
 * ones name the variable; secrets never appear in an error message nor in the help text.
 * Fixtures are in tests/testdata/config/; all their secrets contain "Sekr1t", which is what the
 * leak checks look for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config.h"
#include "netaddr.h"
#include "sr_mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG_DIR SUARA_TESTDATA "/config/"

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("\"%s\" not found in \"%s\"", needle, hay);
}

static void assert_no_secret(const char *text)
{
    if (strstr(text, "Sekr1t"))
        fail_msg("a secret leaked: \"%s\"", text);
}

static struct config *load_ok(const char *file)
{
    struct config *c = NULL;
    struct sr_errbuf eb = {{0}};
    enum sr_err e = config_load(file, &c, &eb);
    if (e != SR_E_OK)
        fail_msg("%s: %s", file, eb.msg);
    assert_non_null(c);
    return c;
}

/* Loads a file that must fail; returns the message (static buffer). */
static const char *load_bad(const char *file)
{
    static struct sr_errbuf eb;
    struct config *c = (struct config *)1;
    memset(&eb, 0, sizeof(eb));
    assert_int_equal(config_load(file, &c, &eb), SR_E_CONFIG);
    assert_null(c);
    assert_no_secret(eb.msg);
    return eb.msg;
}

static void test_full(void **state)
{
    (void)state;
    struct config *c = load_ok(CFG_DIR "full.ini");
    assert_string_equal(c->server.listen, "0.0.0.0");
    assert_int_equal(c->server.port, 9090);
    assert_int_equal(c->server.workers, 4);
    assert_int_equal(c->server.max_header_bytes, 16384);
    assert_int_equal(c->server.body_limit, 32768);
    assert_int_equal(c->server.idle_timeout_s, 15);
    assert_string_equal(c->server.log_level, "debug");
    assert_string_equal(c->server.data_dir, "/srv/suara/dialogs");
    assert_string_equal(c->redis.host, "10.0.0.5");
    assert_int_equal(c->redis.port, 6380);
    assert_string_equal(c->redis.socket, "var/redis.sock");
    assert_int_equal(c->redis.db, 3);
    assert_string_equal(c->redis.prefix, "test:");
    assert_int_equal(c->redis.session_ttl_s, 3600);
    assert_int_equal(c->redis.dedupe_ttl_s, 1209600);
    assert_int_equal(c->redis.command_timeout_ms, 1500);
    assert_string_equal(c->store.sqlite_path, "/var/lib/suara/eval.db");
    assert_string_equal(c->privacy.citizen_hash_key, "Sekr1t-hash-key-0123456789");
    assert_int_equal(c->dialog.session_idle_s, 900);
    assert_string_equal(c->dialog.default_language, "en");
    assert_int_equal(c->sender.timeout_ms, 5000);
    assert_int_equal(c->sender.max_attempts, 7);
    assert_int_equal(c->sender.max_in_flight, 32);
    assert_int_equal(c->sender.backoff_min_ms, 250);
    assert_int_equal(c->sender.backoff_max_ms, 60000);
    assert_int_equal(c->n_channels, 2);
    config_free(c);
}

static void test_full_channels(void **state)
{
    (void)state;
    struct config *c = load_ok(CFG_DIR "full.ini");
    const struct sr_channel_conf *wa = config_channel(c, "wa");
    const struct sr_channel_conf *sms = config_channel(c, "sms-1");
    assert_ptr_equal(wa, &c->channels[0]);
    assert_ptr_equal(sms, &c->channels[1]);
    assert_null(config_channel(c, "nope"));
    assert_string_equal(wa->type, "whatsapp");
    assert_string_equal(wa->language, "en"); /* from [dialog] default_language */
    assert_int_equal(wa->body_limit, 32768); /* from [server] body_limit */
    assert_string_equal(wa->app_secret, "Sekr1t-wa-app-secret");
    assert_string_equal(wa->verify_token, "Sekr1t-wa-verify-token");
    assert_string_equal(wa->access_token, "Sekr1t-wa-access-token");
    assert_string_equal(wa->phone_number_id, "100000000000001");
    assert_string_equal(wa->api_base, "https://graph.facebook.com/v19.0");
    assert_null(wa->auth_token);
    assert_null(wa->public_url);
    assert_null(wa->account_sid);
    assert_string_equal(sms->type, "twilio");
    assert_string_equal(sms->language, "id");
    assert_int_equal(sms->body_limit, 131072);
    assert_string_equal(sms->auth_token, "Sekr1t-sms-auth-token"); /* quotes stripped */
    assert_string_equal(sms->account_sid, "ACtest0000000000000000000000000000");
    assert_string_equal(sms->from_number, "+6280000000000");
    assert_string_equal(sms->api_base, "http://127.0.0.1:8090/twilio");
    assert_string_equal(sms->public_url, "");
    assert_null(sms->app_secret);
    assert_null(sms->phone_number_id);
    config_free(c);
}

static void test_defaults(void **state)
{
    (void)state;
    struct config *c = load_ok(CFG_DIR "minimal.ini");
    assert_string_equal(c->path, CFG_DIR "minimal.ini");
    assert_string_equal(c->server.listen, "127.0.0.1");
    assert_int_equal(c->server.workers, 0);
    assert_int_equal(c->server.max_header_bytes, 8192);
    assert_int_equal(c->server.body_limit, 65536);
    assert_int_equal(c->server.idle_timeout_s, 30);
    assert_string_equal(c->server.log_level, "info");
    assert_string_equal(c->server.spool_dir, ""); /* "spool" beside sqlite_path */
    assert_int_equal(c->server.spool_max_bytes, 268435456);
    assert_int_equal(c->redis.allow_unsafe, 0);
    assert_string_equal(c->server.data_dir, "dialogs/data");
    assert_string_equal(c->server.trust_proxy, "no");
    assert_int_equal(c->server.n_proxies, 0);
    assert_int_equal(c->server.throttle_failures, 10);
    assert_int_equal(c->server.throttle_window_s, 60);
    assert_int_equal(c->server.throttle_block_s, 60);
    assert_string_equal(c->redis.host, "127.0.0.1");
    assert_int_equal(c->redis.port, 6379);
    assert_int_equal(c->redis.db, 0);
    assert_string_equal(c->redis.prefix, "suara:");
    assert_int_equal(c->redis.session_ttl_s, 86400);
    assert_int_equal(c->redis.dedupe_ttl_s, 604800);
    assert_int_equal(c->redis.command_timeout_ms, 2000);
    assert_string_equal(c->store.sqlite_path, "var/suara.db");
    assert_int_equal(c->dialog.session_idle_s, 1800);
    assert_string_equal(c->dialog.default_language, "id");
    assert_int_equal(c->sender.timeout_ms, 20000); /* above a slow provider's answer */
    assert_int_equal(c->sender.max_attempts, 0);   /* no cap: retried while useful */
    assert_int_equal(c->sender.retry_window_s, 86400);
    assert_int_equal(c->sender.lease_ms, 30000);
    assert_int_equal(c->sender.breaker_failures, 5);
    assert_int_equal(c->sender.max_in_flight, 64);
    assert_int_equal(c->sender.backoff_min_ms, 500);
    assert_int_equal(c->sender.backoff_max_ms, 30000);
    assert_int_equal(c->n_channels, 1);
    assert_string_equal(c->channels[0].name, "wa");
    assert_string_equal(c->channels[0].language, "id");
    assert_int_equal(c->channels[0].body_limit, 65536);
    config_free(c);
    config_free(NULL);
}

/* file, then substrings the message must hold (file:line, section/key, problem) */
static const struct bad_case {
    const char *file;
    const char *expect[3];
} bad_cases[] = {
    {"bad_unknown_key.ini", {"bad_unknown_key.ini:5: ", "[redis] sokcet", "unknown key"}},
    {"bad_unknown_section.ini", {"bad_unknown_section.ini:4: ", "[redsi]", "unknown section"}},
    {"bad_int.ini", {"bad_int.ini:3: ", "[server] port", "must be an integer"}},
    {"bad_bounds.ini", {"bad_bounds.ini:3: [server] port: must be between 1 and 65535"}},
    {"bad_missing_channel_key.ini",
     {"bad_missing_channel_key.ini:8: ", "[channel.wa] access_token",
      "required for type whatsapp"}},
    {"bad_channel_name.ini", {"bad_channel_name.ini:8: ", "[channel.WA!]", "channel name"}},
    {"bad_duplicate.ini", {"bad_duplicate.ini:4: ", "[server] port", "duplicate key"}},
    {"bad_short_hash.ini",
     {"bad_short_hash.ini:7: ", "[privacy] citizen_hash_key", "at least 16 bytes"}},
    {"bad_missing_type.ini", {"bad_missing_type.ini:8: ", "[channel.wa] type", "required"}},
    {"bad_type.ini", {"bad_type.ini:9: ", "[channel.wa] type", "must be one of whatsapp|twilio"}},
    {"bad_unused_key.ini",
     {"bad_unused_key.ini:14: ", "[channel.wa] public_url", "not used by type whatsapp"}},
    {"bad_no_channel.ini", {"bad_no_channel.ini: ", "no channel"}},
    {"bad_syntax.ini", {"bad_syntax.ini:5: ", "syntax error"}},
    {"bad_long_line.ini", {"bad_long_line.ini:10: ", "line longer than"}},
    {"bad_no_section.ini", {"bad_no_section.ini:2: ", "workers", "outside any section"}},
    {"bad_bytes.ini", {"bad_bytes.ini:4: ", "[server] body_limit", "size in bytes"}},
    {"bad_missing_hash.ini",
     {"[privacy] citizen_hash_key", "required", "SUARA_PRIVACY_CITIZEN_HASH_KEY"}},
    {"bad_empty_secret.ini",
     {"bad_empty_secret.ini:10: ", "[channel.wa] app_secret", "must not be empty"}},
    {"does_not_exist.ini", {"does_not_exist.ini", "cannot open"}},
    {"bad_trust_proxy.ini",
     {"bad_trust_proxy.ini:4: ", "[server] trust_proxy", "item 2: prefix length must be 0-32"}},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        char *path = sr_asprintf(CFG_DIR "%s", bad_cases[i].file);
        const char *msg = load_bad(path);
        for (size_t j = 0; j < 3 && bad_cases[i].expect[j]; j++)
            assert_contains(msg, bad_cases[i].expect[j]);
        free(path);
    }
}

static void test_env_overrides(void **state)
{
    (void)state;
    setenv("SUARA_REDIS_PORT", "6390", 1);
    setenv("SUARA_SERVER_LOG_LEVEL", "warn", 1);
    setenv("SUARA_CHANNEL_WA_APP_SECRET", "Sekr1t-from-env", 1);
    setenv("SUARA_CHANNEL_SMS_1_PUBLIC_URL", "https://gw.example.invalid/webhooks/sms-1", 1);
    setenv("SUARA_CHANNEL_GHOST_TYPE", "twilio", 1); /* not in the file: ignored */
    setenv("SUARA_PRIVACY_CITIZEN_HASH_KEY", "Sekr1t-env-hash-key-abcdef", 1);
    struct config *c = load_ok(CFG_DIR "full.ini");
    assert_int_equal(c->redis.port, 6390);
    assert_string_equal(c->server.log_level, "warn");
    assert_string_equal(config_channel(c, "wa")->app_secret, "Sekr1t-from-env");
    assert_string_equal(config_channel(c, "sms-1")->public_url,
                        "https://gw.example.invalid/webhooks/sms-1");
    assert_string_equal(c->privacy.citizen_hash_key, "Sekr1t-env-hash-key-abcdef");
    assert_int_equal(c->n_channels, 2);
    config_free(c);
    unsetenv("SUARA_REDIS_PORT");
    unsetenv("SUARA_SERVER_LOG_LEVEL");
    unsetenv("SUARA_CHANNEL_WA_APP_SECRET");
    unsetenv("SUARA_CHANNEL_SMS_1_PUBLIC_URL");
    unsetenv("SUARA_CHANNEL_GHOST_TYPE");
    unsetenv("SUARA_PRIVACY_CITIZEN_HASH_KEY");
}

/* A required key missing from the file may come from the environment. */
static void test_env_supplies_required(void **state)
{
    (void)state;
    setenv("SUARA_PRIVACY_CITIZEN_HASH_KEY", "Sekr1t-env-hash-key-abcdef", 1);
    struct config *c = load_ok(CFG_DIR "bad_missing_hash.ini");
    assert_string_equal(c->privacy.citizen_hash_key, "Sekr1t-env-hash-key-abcdef");
    config_free(c);
    unsetenv("SUARA_PRIVACY_CITIZEN_HASH_KEY");

    setenv("SUARA_CHANNEL_WA_ACCESS_TOKEN", "Sekr1t-env-access", 1);
    c = load_ok(CFG_DIR "bad_missing_channel_key.ini");
    assert_string_equal(config_channel(c, "wa")->access_token, "Sekr1t-env-access");
    config_free(c);
    unsetenv("SUARA_CHANNEL_WA_ACCESS_TOKEN");
}

static const struct {
    const char *var, *value, *expect;
} bad_env[] = {
    {"SUARA_REDIS_PORT", "abc", "SUARA_REDIS_PORT: [redis] port: must be an integer"},
    {"SUARA_REDIS_PORT", "0", "SUARA_REDIS_PORT: [redis] port: must be between 1 and 65535"},
    {"SUARA_SERVER_WORKERS", "65", "SUARA_SERVER_WORKERS: [server] workers: must be between 0"},
    {"SUARA_REDIS_DEDUPE_TTL_S", "3600", "SUARA_REDIS_DEDUPE_TTL_S: [redis] dedupe_ttl_s"},
    {"SUARA_SERVER_LOG_LEVEL", "loud", "SUARA_SERVER_LOG_LEVEL: [server] log_level: must be one"},
    {"SUARA_PRIVACY_CITIZEN_HASH_KEY", "Sekr1t-tiny", "SUARA_PRIVACY_CITIZEN_HASH_KEY: [privacy]"},
    {"SUARA_CHANNEL_WA_APP_SECRET", "", "SUARA_CHANNEL_WA_APP_SECRET: [channel.wa] app_secret"},
    {"SUARA_CHANNEL_WA_AUTH_TOKEN", "Sekr1t-not-for-wa",
     "SUARA_CHANNEL_WA_AUTH_TOKEN: [channel.wa] auth_token: not used by type whatsapp"},
    {"SUARA_SERVER_TRUST_PROXY", "nginx.local",
     "SUARA_SERVER_TRUST_PROXY: [server] trust_proxy: item 1 is not an IPv4 / IPv6 address"},
    {"SUARA_SERVER_TRUST_PROXY", "::1/129",
     "SUARA_SERVER_TRUST_PROXY: [server] trust_proxy: item 1: prefix length must be 0-128"},
    {"SUARA_SERVER_SPOOL_MAX_BYTES", "1k",
     "SUARA_SERVER_SPOOL_MAX_BYTES: [server] spool_max_bytes: must be between 65536"},
    {"SUARA_REDIS_ALLOW_UNSAFE", "maybe",
     "SUARA_REDIS_ALLOW_UNSAFE: [redis] allow_unsafe: must be yes or no"},
    {"SUARA_SERVER_THROTTLE_FAILURES", "0", "[server] throttle_failures: must be between 1"},
    {"SUARA_SENDER_BACKOFF_MAX_MS", "100",
     "SUARA_SENDER_BACKOFF_MAX_MS: [sender] backoff_max_ms: backoff_min_ms must not exceed"},
};

static void test_env_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_env) / sizeof(bad_env[0]); i++) {
        setenv(bad_env[i].var, bad_env[i].value, 1);
        assert_contains(load_bad(CFG_DIR "minimal.ini"), bad_env[i].expect);
        unsetenv(bad_env[i].var);
    }
}

/* [server] trust_proxy: "no", "yes" (loopback, both families) or a list of addresses and CIDR
 * networks; which peers it trusts. */
static void test_trust_proxy(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        size_t n;
        const char *trusted[4], *untrusted[4];
    } t[] = {
        {"no", 0, {NULL}, {"127.0.0.1", "::1", NULL}},
        {"yes",
         2,
         {"127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"},
         {"10.0.0.1", "::2", "128.0.0.1", NULL}},
        {"10.0.0.0/8, 2001:db8::/32",
         2,
         {"10.255.0.1", "2001:db8:ffff::1", "::ffff:10.0.0.1", NULL},
         {"127.0.0.1", "11.0.0.1", "2001:db9::1", "::1"}},
        {" 192.0.2.7 ,, 198.51.100.0/25\t[2001:db8::1]",
         3,
         {"192.0.2.7", "198.51.100.127", "2001:db8::1", NULL},
         {"192.0.2.8", "198.51.100.128", "2001:db8::2", NULL}},
        {"0.0.0.0/0", 1, {"203.0.113.1", "::ffff:1.2.3.4", NULL}, {"2001:db8::1", NULL}},
        {"10.1.2.3/8", 1, {"10.9.9.9", NULL}, {"11.0.0.0", NULL}}, /* host bits ignored */
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        setenv("SUARA_SERVER_TRUST_PROXY", t[i].value, 1);
        struct config *c = load_ok(CFG_DIR "minimal.ini");
        unsetenv("SUARA_SERVER_TRUST_PROXY");
        assert_string_equal(c->server.trust_proxy, t[i].value);
        assert_int_equal(c->server.n_proxies, t[i].n);
        unsigned char a[16];
        for (size_t k = 0; k < 4 && t[i].trusted[k]; k++) {
            assert_int_equal(netaddr_parse(t[i].trusted[k], strlen(t[i].trusted[k]), a), 0);
            if (!netaddr_list_contains(c->server.proxies, c->server.n_proxies, a))
                fail_msg("\"%s\" should trust %s", t[i].value, t[i].trusted[k]);
        }
        for (size_t k = 0; k < 4 && t[i].untrusted[k]; k++) {
            assert_int_equal(netaddr_parse(t[i].untrusted[k], strlen(t[i].untrusted[k]), a), 0);
            if (netaddr_list_contains(c->server.proxies, c->server.n_proxies, a))
                fail_msg("\"%s\" should not trust %s", t[i].value, t[i].untrusted[k]);
        }
        config_free(c);
    }
}

static void test_help_no_secrets(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_print_help(f);
    fclose(f);
    assert_no_secret(text);
    static const char *const expect[] = {
        "[server]",
        "[redis]",
        "[privacy]",
        "[channel.<name>",
        "port",
        "int [1..65535]",
        "dedupe_ttl_s",
        "SUARA_REDIS_PORT",
        "default \"8080\"",
        "log_level",
        "debug|info|warn|error",
        "citizen_hash_key",
        "SUARA_CHANNEL_<NAME>_APP_SECRET",
        "backoff_max_ms",
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
        assert_contains(text, expect[i]);
    size_t n_secret = 0;
    for (const char *p = text; (p = strstr(p, "(secret)")); p++)
        n_secret++;
    assert_int_equal(n_secret, 5); /* hash key, app_secret, verify/auth/access tokens */
    free(text);
}

/* The shipped example and demo configs stay loadable. */
static void test_deploy_files(void **state)
{
    (void)state;
    struct config *c = load_ok(SUARA_SOURCE_DIR "/deploy/suara.example.ini");
    assert_int_equal(c->n_channels, 2);
    config_free(c);
    c = load_ok(SUARA_SOURCE_DIR "/deploy/demo.ini");
    assert_int_equal(c->server.port, 8080);
    assert_int_equal(c->server.workers, 0);
    assert_string_equal(config_channel(c, "wa")->api_base, "http://127.0.0.1:8090/graph");
    assert_string_equal(config_channel(c, "sms")->public_url, "");
    config_free(c);
}

int main(void)
{
    sr_mem_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),          cmocka_unit_test(test_full_channels),
        cmocka_unit_test(test_defaults),      cmocka_unit_test(test_errors),
        cmocka_unit_test(test_env_overrides), cmocka_unit_test(test_env_supplies_required),
        cmocka_unit_test(test_env_errors),    cmocka_unit_test(test_help_no_secrets),
        cmocka_unit_test(test_deploy_files),  cmocka_unit_test(test_trust_proxy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
