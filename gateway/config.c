/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration loader. Every key lives in ONE table (keys[] below): section, name, type,
 * bounds, default, flags (secret, required), the field it fills and its help text. Loading is:
 * defaults from the table -> the INI file (inih, through our own line reader so every error can
 * name file:line) -> SUARA_<SECTION>_<KEY> environment overrides -> cross-key validation
 * (required keys, per channel type rules, at least one channel).
 *
 * Values are never copied into an error message, so a secret cannot leak through one; errors
 * name the place (file:line or the environment variable), the section and the key.
 *
 * Ownership: config_load returns a struct config that owns every string in it (including the
 * channel array and its strings); config_free releases it all.
 */
#include "config.h"

#include "netaddr.h"
#include "sr_mem.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum key_type { KT_STRING, KT_INT, KT_BOOL, KT_BYTES, KT_ENUM };
enum { KF_SECRET = 1, KF_REQUIRED = 2 };

/* Channel keys use this section pattern; their field is in struct sr_channel_conf. */
#define CHANNEL_SECTION "channel.*"
#define CHANNEL_PREFIX "channel."
#define CHANNEL_NAME_MAX 32

struct key {
    const char *section;
    const char *name;
    enum key_type type;
    long long min, max;  /* numbers: value bounds; strings: length bounds in bytes */
    const char *def;     /* default, parsed like a file value; NULL = none or derived (see help) */
    const char *allowed; /* KT_ENUM: "a|b|c" */
    unsigned flags;
    size_t off, size; /* the field in struct config, or in struct sr_channel_conf */
    const char *help;
};

#define CF(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define CH(f) offsetof(struct sr_channel_conf, f), sizeof(((struct sr_channel_conf *)0)->f)
#define MB (1024LL * 1024)

static const struct key keys[] = {
    {"server", "listen", KT_STRING, 1, 255, "127.0.0.1", NULL, 0, CF(server.listen),
     "address to listen on (IPv4 or IPv6 literal)"},
    {"server", "port", KT_INT, 1, 65535, "8080", NULL, 0, CF(server.port), "TCP port"},
    {"server", "workers", KT_INT, 0, 64, "0", NULL, 0, CF(server.workers),
     "worker threads, each with its own event loop; 0 = one per CPU core"},
    {"server", "max_header_bytes", KT_BYTES, 1024, 65535, "8192", NULL, 0,
     CF(server.max_header_bytes), "largest accepted request header block"},
    {"server", "body_limit", KT_BYTES, 1024, 64 * MB, "65536", NULL, 0, CF(server.body_limit),
     "default largest request body per channel (larger bodies get 413)"},
    {"server", "idle_timeout_s", KT_INT, 1, 3600, "30", NULL, 0, CF(server.idle_timeout_s),
     "keep-alive: a connection is closed when the next request's head is not complete this many "
     "seconds after the previous answer"},
    {"server", "header_timeout_s", KT_INT, 1, 3600, "10", NULL, 0, CF(server.header_timeout_s),
     "a new connection is closed when its first request head is not complete after this many "
     "seconds (slowloris); the kernel holds a connection that has sent nothing this long before "
     "handing it over (TCP_DEFER_ACCEPT), and one still silent then gets 1 s more"},
    {"server", "body_min_rate_bytes", KT_BYTES, 0, 64 * MB, "1024", NULL, 0,
     CF(server.body_min_rate_bytes),
     "a request body must arrive at this average rate in bytes/s (counted from the end of the "
     "head, checked after body_grace_s) or the connection is closed; 0 = no rate check"},
    {"server", "body_grace_s", KT_INT, 1, 3600, "5", NULL, 0, CF(server.body_grace_s),
     "seconds a request body may take before body_min_rate_bytes is enforced"},
    {"server", "max_connections", KT_INT, 16, 1000000, "4096", NULL, 0, CF(server.max_connections),
     "open client connections in the process (all workers); more are closed at once. Keep the "
     "open-files limit (LimitNOFILE) above it"},
    {"server", "max_connections_per_address", KT_INT, 1, 1000000, "64", NULL, 0,
     CF(server.max_connections_per_address),
     "open connections per client address (an IPv4 address or an IPv6 /64), loopback included; "
     "more are closed at once. Behind a reverse proxy every connection comes from the proxy: see "
     "max_connections_per_proxy"},
    {"server", "max_connections_per_proxy", KT_INT, 0, 1000000, "0", NULL, 0,
     CF(server.max_connections_per_proxy),
     "open connections from a proxy trusted by trust_proxy (127.0.0.1 / ::1 when it is on), "
     "instead of max_connections_per_address; 0 = only max_connections applies (the proxy "
     "limits its own clients)"},
    {"server", "log_level", KT_ENUM, 0, 0, "info", "debug|info|warn|error", 0, CF(server.log_level),
     "lowest level written to the log"},
    {"server", "data_dir", KT_STRING, 1, 4096, "dialogs/data", NULL, 0, CF(server.data_dir),
     "dialog data folder (catalogs, surveys, patterns); relative to the working directory"},

    {"server", "spool_dir", KT_STRING, 0, 4096, "", NULL, 0, CF(server.spool_dir),
     "folder of the inbound spool: verified webhooks that arrive while Redis is unreachable are "
     "appended there (fsync'd) before the 200 and replayed in order when Redis returns; empty = "
     "\"spool\" beside [store] sqlite_path; relative to the working directory; one gateway "
     "process per folder"},
    {"server", "spool_max_bytes", KT_BYTES, 65536, 1LL << 40, "268435456", NULL, 0,
     CF(server.spool_max_bytes),
     "largest size of the inbound spool file; when full, webhooks get 503 again"},

    {"redis", "host", KT_STRING, 1, 255, "127.0.0.1", NULL, 0, CF(redis.host),
     "Redis host (ignored when socket is set)"},
    {"redis", "port", KT_INT, 1, 65535, "6379", NULL, 0, CF(redis.port), "Redis TCP port"},
    {"redis", "socket", KT_STRING, 0, 107, "", NULL, 0, CF(redis.socket),
     "Redis unix socket path; empty = use host:port; relative to the working directory"},
    {"redis", "db", KT_INT, 0, 255, "0", NULL, 0, CF(redis.db), "Redis database number"},
    {"redis", "prefix", KT_STRING, 0, 64, "suara:", NULL, 0, CF(redis.prefix),
     "prefix of every Redis key Suara uses"},
    {"redis", "session_ttl_s", KT_INT, 60, 30 * 86400, "86400", NULL, 0, CF(redis.session_ttl_s),
     "operational state (sessions, raw numbers) expires after this many seconds"},
    {"redis", "dedupe_ttl_s", KT_INT, 604800, 90 * 86400, "604800", NULL, 0, CF(redis.dedupe_ttl_s),
     "how long provider message ids are remembered (providers redeliver "
     "for days: at least 7 days)"},
    {"redis", "allow_unsafe", KT_BOOL, 0, 1, "no", NULL, 0, CF(redis.allow_unsafe),
     "start even when Redis runs without appendonly yes or with a maxmemory-policy other than "
     "noeviction (then an acknowledged message can be lost); logs a warning at start and every "
     "hour. Never in production"},
    {"redis", "command_timeout_ms", KT_INT, 10, 60000, "2000", NULL, 0,
     CF(redis.command_timeout_ms), "a Redis command not answered in time counts as failed"},

    {"store", "sqlite_path", KT_STRING, 1, 4096, "var/suara.db", NULL, 0, CF(store.sqlite_path),
     "evaluation store (SQLite file); relative to the working directory"},

    {"privacy", "citizen_hash_key", KT_STRING, 16, 1024, NULL, NULL, KF_SECRET | KF_REQUIRED,
     CF(privacy.citizen_hash_key),
     "HMAC key for citizen pseudonyms (at least 16 bytes); keep it outside Redis and the "
     "database, set it through the environment"},
    {"privacy", "number_retention_s", KT_INT, 3600, 365 * 86400, "604800", NULL, 0,
     CF(privacy.number_retention_s),
     "a resolved complaint keeps the citizen's raw number this long after resolution (for the "
     "YA / BELUM answer and the rating), then only the pseudonym"},
    {"privacy", "complaint_record_ttl_s", KT_INT, 3600, 365 * 86400, "2592000", NULL, 0,
     CF(privacy.complaint_record_ttl_s),
     "after the number is removed, the Redis complaint record itself expires after this long "
     "(the evaluation store keeps the history)"},
    {"privacy", "provider_id_retention_s", KT_INT, 86400, 3650 * 86400, "7776000", NULL, 0,
     CF(privacy.provider_id_retention_s),
     "delivery statuses and the (hashed) provider message ids of sent replies are deleted "
     "from the evaluation store after this long"},
    {"privacy", "aof_rewrite_interval_s", KT_INT, 0, 30 * 86400, "86400", NULL, 0,
     CF(privacy.aof_rewrite_interval_s),
     "one worker asks Redis for BGREWRITEAOF this often, so deleted numbers leave the disk; "
     "0 = never"},

    {"dialog", "session_idle_s", KT_INT, 1, 86400, "1800", NULL, 0, CF(dialog.session_idle_s),
     "a conversation idle this long expires"},
    {"dialog", "default_language", KT_ENUM, 0, 0, "id", "id|en", 0, CF(dialog.default_language),
     "language of channels that set none"},
    {"dialog", "officer_channel", KT_STRING, 0, 32, "", NULL, 0, CF(dialog.officer_channel),
     "channel officers and supervisors are messaged on (complaint notifications, escalations); "
     "empty = the first channel"},
    {"dialog", "rating_period_days", KT_INT, 1, 3650, "30", NULL, 0, CF(dialog.rating_period_days),
     "one rating per citizen per officer counts in the statistics per this many days (a recorded "
     "visit counts its own first rating); repeats are kept but set aside"},
    {"limits", "messages_per_window", KT_INT, 0, 100000, "20", NULL, 0,
     CF(limits.messages_per_window),
     "messages one citizen number may send per window; the excess gets one slow-down reply and "
     "is then ignored (still acknowledged) until the window passes; 0 = no limit"},
    {"limits", "window_s", KT_INT, 1, 86400, "60", NULL, 0, CF(limits.window_s),
     "length of the fixed message-rate window in seconds (on the domain clock)"},
    {"limits", "officer_messages_per_window", KT_INT, 0, 100000, "0", NULL, 0,
     CF(limits.officer_messages_per_window),
     "the same limit for numbers of registry officers; 0 = no limit"},
    {"server", "clock_file", KT_STRING, 0, 4096, "", NULL, 0, CF(server.clock_file),
     "FOR TESTS AND DRILLS ONLY: a file holding the unix time in ms that Suara takes as now "
     "(read at each use); empty = the real clock"},
    {"server", "trust_proxy", KT_STRING, 0, 1024, "no", NULL, 0, CF(server.trust_proxy),
     "peers whose X-Forwarded-For / -Proto / -Host headers are believed (reverse proxies): "
     "\"no\" = none, \"yes\" = loopback (127.0.0.0/8, ::1), or IPv4 / IPv6 addresses and "
     "CIDR networks separated by commas; from any other peer those headers are dropped"},
    {"server", "throttle_failures", KT_INT, 1, 1000, "10", NULL, 0, CF(server.throttle_failures),
     "failed guesses of a secret (API token, WhatsApp verify_token, webhook signature) from one "
     "client address (IPv6: its /64) before it is refused with 429"},
    {"server", "throttle_window_s", KT_INT, 1, 86400, "60", NULL, 0, CF(server.throttle_window_s),
     "the failures are counted within this many seconds"},
    {"server", "throttle_block_s", KT_INT, 1, 86400, "60", NULL, 0, CF(server.throttle_block_s),
     "how long a refused address gets 429 (Retry-After), even with a correct secret"},

    {"sender", "timeout_ms", KT_INT, 100, 120000, "20000", NULL, 0, CF(sender.timeout_ms),
     "timeout of one outbound request attempt; keep it above the provider's slowest answer (an "
     "attempt that times out may still have been delivered, and is sent again)"},
    {"sender", "max_attempts", KT_INT, 0, 100000, "0", NULL, 0, CF(sender.max_attempts),
     "attempts before an outbound message goes to the dead-letter stream; 0 = no cap, it is "
     "retried while still useful (WhatsApp 24 h after the citizen's message, else retry_window_s)"},
    {"sender", "max_in_flight", KT_INT, 1, 10000, "64", NULL, 0, CF(sender.max_in_flight),
     "concurrent outbound requests per worker"},
    {"sender", "backoff_min_ms", KT_INT, 1, 3600000, "500", NULL, 0, CF(sender.backoff_min_ms),
     "first retry delay (doubles per attempt, jittered)"},
    {"sender", "backoff_max_ms", KT_INT, 1, 3600000, "30000", NULL, 0, CF(sender.backoff_max_ms),
     "largest retry delay (>= backoff_min_ms)"},
    {"sender", "retry_after_max_ms", KT_INT, 1000, 3600000, "600000", NULL, 0,
     CF(sender.retry_after_max_ms),
     "longest provider Retry-After honoured (it holds the whole channel that long)"},
    {"sender", "retry_window_s", KT_INT, 60, 2592000, "86400", NULL, 0, CF(sender.retry_window_s),
     "SMS (non-WhatsApp) replies are retried this long after they were committed, then go to the "
     "dead-letter stream"},
    {"sender", "lease_ms", KT_INT, 1000, 600000, "30000", NULL, 0, CF(sender.lease_ms),
     "a reply's lease: one worker owns it and renews it every lease_ms/3; after a crash another "
     "worker takes it over once it expired; at least timeout_ms + 5000"},
    {"sender", "breaker_failures", KT_INT, 1, 10000, "5", NULL, 0, CF(sender.breaker_failures),
     "consecutive transient failures of a channel that open its circuit breaker"},
    {"sender", "breaker_open_ms", KT_INT, 100, 3600000, "5000", NULL, 0, CF(sender.breaker_open_ms),
     "first open period of a breaker; then one probe; doubles per failed probe up to "
     "backoff_max_ms"},

    {CHANNEL_SECTION, "type", KT_ENUM, 0, 0, NULL, "whatsapp|twilio", KF_REQUIRED, CH(type),
     "handler type; the section name <name> gives the route /webhooks/<name>"},
    {CHANNEL_SECTION, "language", KT_ENUM, 0, 0, NULL, "id|en", 0, CH(language),
     "catalog language; default [dialog] default_language"},
    {CHANNEL_SECTION, "body_limit", KT_BYTES, 1024, 64 * MB, NULL, NULL, 0, CH(body_limit),
     "largest request body on this route; default [server] body_limit"},
    {CHANNEL_SECTION, "app_secret", KT_STRING, 1, 1024, NULL, NULL, KF_SECRET, CH(app_secret),
     "whatsapp: app secret, key of X-Hub-Signature-256"},
    {CHANNEL_SECTION, "verify_token", KT_STRING, 1, 1024, NULL, NULL, KF_SECRET, CH(verify_token),
     "whatsapp: hub.verify_token expected in the GET handshake"},
    {CHANNEL_SECTION, "auth_token", KT_STRING, 1, 1024, NULL, NULL, KF_SECRET, CH(auth_token),
     "twilio: auth token, key of X-Twilio-Signature and basic-auth password"},
    {CHANNEL_SECTION, "public_url", KT_STRING, 0, 2048, "", NULL, 0, CH(public_url),
     "twilio: the exact webhook URL configured at the provider; empty = rebuild it from Host / "
     "X-Forwarded-* headers"},
    {CHANNEL_SECTION, "api_base", KT_STRING, 1, 2048, NULL, NULL, 0, CH(api_base),
     "outbound API base; default whatsapp https://graph.facebook.com/v19.0, twilio "
     "https://api.twilio.com"},
    {CHANNEL_SECTION, "access_token", KT_STRING, 1, 4096, NULL, NULL, KF_SECRET, CH(access_token),
     "whatsapp: Bearer token for outbound messages"},
    {CHANNEL_SECTION, "phone_number_id", KT_STRING, 1, 64, NULL, NULL, 0, CH(phone_number_id),
     "whatsapp: sender id used in /<id>/messages"},
    {CHANNEL_SECTION, "account_sid", KT_STRING, 1, 64, NULL, NULL, 0, CH(account_sid),
     "twilio: account SID (basic-auth user and path element)"},
    {CHANNEL_SECTION, "from_number", KT_STRING, 1, 32, NULL, NULL, 0, CH(from_number),
     "twilio: From number of outbound SMS"},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* Which channel keys each type uses (besides type, language, body_limit), which it requires,
 * and its api_base default. Keys a type does not use stay NULL and may not be set. */
static const struct chan_type {
    const char *type;
    const char *api_base;
    const char *required; /* space-separated */
    const char *optional;
} chan_types[] = {
    {"whatsapp", "https://graph.facebook.com/v19.0",
     "app_secret verify_token access_token phone_number_id", "api_base"},
    {"twilio", "https://api.twilio.com", "auth_token account_sid from_number",
     "api_base public_url"},
};

enum { ORIGIN_UNSET = 0, ORIGIN_ENV = -1 }; /* > 0: the file line that set it */

struct chan_meta {
    int line; /* of the section header */
    int origin[N_KEYS];
};

struct loader {
    struct config *c;
    const char *path;
    FILE *f;
    int lineno;
    int origin[N_KEYS];      /* global keys */
    struct chan_meta *chans; /* parallel to c->channels */
    int failed;
    struct sr_errbuf *eb;
};

/* Records the first error only; returns 0 (inih's "stop" value) for convenience. */
static int fail(struct loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct loader *ld, const char *fmt, ...)
{
    if (ld->failed++)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->eb->msg, sizeof(ld->eb->msg), fmt, ap);
    va_end(ap);
    return 0;
}

static int is_channel_key(const struct key *k)
{
    return strcmp(k->section, CHANNEL_SECTION) == 0;
}

static const struct key *find_key(const char *section, const char *name, int channel)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *k = &keys[i];
        if (channel ? is_channel_key(k) : strcmp(k->section, section) == 0)
            if (strcmp(k->name, name) == 0)
                return k;
    }
    return NULL;
}

static int in_list(const char *list, const char *word, char sep)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, sep);
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0)
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* ---- values ---- */

static int parse_ll(const char *v, long long *out)
{
    if (!*v || !(isdigit((unsigned char)*v) || *v == '-'))
        return -1;
    errno = 0;
    char *end;
    *out = strtoll(v, &end, 10);
    return errno || *end ? -1 : 0;
}

/* "65536", "64k", "1m" (k and m are 1024 and 1024*1024). */
static int parse_bytes(const char *v, long long *out)
{
    if (!isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    long long mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1024;
    else if (*end == 'm' || *end == 'M')
        mult = MB;
    if (mult > 1)
        end++;
    if (errno || *end || n > (1LL << 40))
        return -1;
    *out = n * mult;
    return 0;
}

static int parse_bool(const char *v, long long *out)
{
    static const struct {
        const char *text;
        int value;
    } words[] = {{"1", 1}, {"yes", 1}, {"true", 1},  {"on", 1},
                 {"0", 0}, {"no", 0},  {"false", 0}, {"off", 0}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcasecmp(v, words[i].text) == 0) {
            *out = words[i].value;
            return 0;
        }
    }
    return -1;
}

/* Writes a problem description into why; returns -1. */
static int bad(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return -1;
}

static int check_number(const struct key *k, const char *v, long long *num, char *why, size_t n)
{
    if (k->type == KT_BOOL)
        return parse_bool(v, num) ? bad(why, n, "must be yes or no") : 0;
    if (k->type == KT_INT && parse_ll(v, num) != 0)
        return bad(why, n, "must be an integer");
    if (k->type == KT_BYTES && parse_bytes(v, num) != 0)
        return bad(why, n, "must be a size in bytes (65536, 64k, 1m)");
    if (*num < k->min || *num > k->max)
        return bad(why, n, "must be between %lld and %lld", k->min, k->max);
    return 0;
}

/* Checks v against k; on failure writes the problem (never the value) into why. */
static int check_value(const struct key *k, const char *v, long long *num, char *why, size_t n)
{
    long long len = (long long)strlen(v);
    if (k->type == KT_ENUM)
        return in_list(k->allowed, v, '|') ? 0 : bad(why, n, "must be one of %s", k->allowed);
    if (k->type != KT_STRING)
        return check_number(k, v, num, why, n);
    if (len < k->min && k->min == 1)
        return bad(why, n, "must not be empty");
    if (len < k->min)
        return bad(why, n, "must be at least %lld bytes", k->min);
    if (len > k->max)
        return bad(why, n, "must be at most %lld bytes", k->max);
    return 0;
}

/* Stores an already checked value into the field of k inside base (struct config or channel). */
static void store_value(void *base, const struct key *k, const char *v, long long num)
{
    char *field = (char *)base + k->off;
    if (k->type == KT_STRING || k->type == KT_ENUM) {
        char **slot = (char **)field;
        free(*slot);
        *slot = sr_strdup(v);
    } else if (k->size == sizeof(int)) {
        *(int *)field = (int)num;
    } else {
        *(size_t *)field = (size_t)num;
    }
}

static void free_strings(void *base, int channel)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *k = &keys[i];
        if (is_channel_key(k) == channel && (k->type == KT_STRING || k->type == KT_ENUM)) {
            char **slot = (char **)((char *)base + k->off);
            free(*slot);
            *slot = NULL;
        }
    }
}

/* ---- sections and channels ---- */

static int valid_channel_name(const char *s, size_t len)
{
    if (len < 1 || len > CHANNEL_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_' ||
              s[i] == '-'))
            return 0;
    return 1;
}

static long channel_index(const struct config *c, const char *name)
{
    for (size_t i = 0; i < c->n_channels; i++)
        if (strcmp(c->channels[i].name, name) == 0)
            return (long)i;
    return -1;
}

static void channel_add(struct loader *ld, const char *name, int line)
{
    struct config *c = ld->c;
    c->channels = sr_realloc(c->channels, (c->n_channels + 1) * sizeof(*c->channels));
    ld->chans = sr_realloc(ld->chans, (c->n_channels + 1) * sizeof(*ld->chans));
    memset(&c->channels[c->n_channels], 0, sizeof(*c->channels));
    memset(&ld->chans[c->n_channels], 0, sizeof(*ld->chans));
    c->channels[c->n_channels].name = sr_strdup(name);
    ld->chans[c->n_channels].line = line;
    c->n_channels++;
}

static int known_section(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].section, name) == 0)
            return 1;
    return 0;
}

/* A "[name]" header seen by the reader on the current line: check it, register channels. */
static void on_section(struct loader *ld, const char *name, size_t len)
{
    char *s = sr_strndup(name, len);
    if (strncmp(s, CHANNEL_PREFIX, strlen(CHANNEL_PREFIX)) == 0) {
        const char *cn = s + strlen(CHANNEL_PREFIX);
        if (!valid_channel_name(cn, strlen(cn)))
            fail(ld, "%s:%d: [%s]: channel name must be 1-%d characters of a-z 0-9 _ -", ld->path,
                 ld->lineno, s, CHANNEL_NAME_MAX);
        else if (channel_index(ld->c, cn) < 0)
            channel_add(ld, cn, ld->lineno);
    } else if (!known_section(s) || strcmp(s, CHANNEL_SECTION) == 0) {
        fail(ld, "%s:%d: [%s]: unknown section", ld->path, ld->lineno, s);
    }
    free(s);
}

/* ---- the file ---- */

/* inih line reader: counts lines (for file:line errors), refuses lines longer than inih's fixed
 * buffer (inih would silently split them), and spots section headers. */
static char *read_line(char *str, int num, void *stream)
{
    struct loader *ld = stream;
    if (ld->failed || !fgets(str, num, ld->f))
        return NULL;
    ld->lineno++;
    size_t len = strlen(str);
    if (len == (size_t)num - 1 && str[len - 1] != '\n') {
        int ch = getc(ld->f);
        if (ch != EOF) {
            fail(ld,
                 "%s:%d: line longer than %d bytes (give long values such as tokens through "
                 "the environment)",
                 ld->path, ld->lineno, num - 2);
            return NULL;
        }
    }
    const char *p = str;
    if (ld->lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    p += strspn(p, " \t");
    const char *end = *p == '[' ? strchr(p, ']') : NULL;
    if (end)
        on_section(ld, p + 1, (size_t)(end - p - 1));
    return str;
}

/* Sets one key from the file; origin is the slot that remembers where it was set. */
static int set_from_file(struct loader *ld, void *base, int *origin, const char *section,
                         const struct key *k, const char *value)
{
    size_t i = (size_t)(k - keys);
    if (origin[i] > 0)
        return fail(ld, "%s:%d: [%s] %s: duplicate key (first set on line %d)", ld->path,
                    ld->lineno, section, k->name, origin[i]);
    size_t len = strlen(value);
    char *v = len >= 2 && value[0] == '"' && value[len - 1] == '"' ? sr_strndup(value + 1, len - 2)
                                                                   : sr_strdup(value);
    char why[96];
    long long num = 0;
    int ok = check_value(k, v, &num, why, sizeof(why)) == 0;
    if (ok) {
        store_value(base, k, v, num);
        origin[i] = ld->lineno;
    } else {
        fail(ld, "%s:%d: [%s] %s: %s", ld->path, ld->lineno, section, k->name, why);
    }
    free(v);
    return ok;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
    struct loader *ld = user;
    if (ld->failed)
        return 0;
    if (!*section)
        return fail(ld, "%s:%d: %s: key outside any section", ld->path, ld->lineno, name);
    int channel = strncmp(section, CHANNEL_PREFIX, strlen(CHANNEL_PREFIX)) == 0;
    const struct key *k = find_key(section, name, channel);
    if (!k)
        return fail(ld, "%s:%d: [%s] %s: unknown key", ld->path, ld->lineno, section, name);
    if (!value)
        return fail(ld, "%s:%d: [%s] %s: missing value", ld->path, ld->lineno, section, name);
    if (!channel)
        return set_from_file(ld, ld->c, ld->origin, section, k, value);
    long ci = channel_index(ld->c, section + strlen(CHANNEL_PREFIX));
    if (ci < 0) /* the reader registers every valid header; this is a safety net */
        return fail(ld, "%s:%d: [%s]: unknown section", ld->path, ld->lineno, section);
    return set_from_file(ld, &ld->c->channels[ci], ld->chans[ci].origin, section, k, value);
}

static void parse_file(struct loader *ld)
{
    ld->f = fopen(ld->path, "r");
    if (!ld->f) {
        fail(ld, "%s: cannot open: %s", ld->path, strerror(errno));
        return;
    }
    int r = ini_parse_stream(read_line, ld, on_entry, ld);
    if (r > 0)
        fail(ld, "%s:%d: syntax error (expected [section] or key = value)", ld->path, r);
    else if (r < 0)
        fail(ld, "%s: cannot parse", ld->path);
    fclose(ld->f);
    ld->f = NULL;
}

/* ---- environment ---- */

/* SUARA_<SECTION>_<KEY>, upper-cased, '.' and '-' as '_'. Heap string. */
static char *env_name(const char *section, const char *name)
{
    char *s = sr_asprintf("SUARA_%s_%s", section, name);
    for (char *p = s; *p; p++)
        *p = *p == '.' || *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    return s;
}

static void env_apply(struct loader *ld, void *base, int *origin, const char *section,
                      const struct key *k)
{
    char *var = env_name(section, k->name);
    const char *v = getenv(var);
    char why[96];
    long long num = 0;
    if (v && check_value(k, v, &num, why, sizeof(why)) != 0)
        fail(ld, "%s: [%s] %s: %s", var, section, k->name, why);
    else if (v) {
        store_value(base, k, v, num);
        origin[k - keys] = ORIGIN_ENV;
    }
    free(var);
}

static void apply_env(struct loader *ld)
{
    struct config *c = ld->c;
    for (size_t i = 0; i < N_KEYS && !ld->failed; i++)
        if (!is_channel_key(&keys[i]))
            env_apply(ld, c, ld->origin, keys[i].section, &keys[i]);
    for (size_t ci = 0; ci < c->n_channels && !ld->failed; ci++) {
        char *section = sr_asprintf(CHANNEL_PREFIX "%s", c->channels[ci].name);
        for (size_t i = 0; i < N_KEYS && !ld->failed; i++)
            if (is_channel_key(&keys[i]))
                env_apply(ld, &c->channels[ci], ld->chans[ci].origin, section, &keys[i]);
        free(section);
    }
}

/* ---- validation ---- */

static void set_defaults(struct config *c)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const struct key *k = &keys[i];
        long long num = 0;
        char why[96];
        if (is_channel_key(k) || !k->def)
            continue;
        if (check_value(k, k->def, &num, why, sizeof(why)) != 0)
            abort(); /* a bad default in the table is a programming error */
        store_value(c, k, k->def, num);
    }
}

/* Where a key was set, for error messages: "file:line" or the variable name. Heap string. */
static char *origin_text(struct loader *ld, int origin, const char *section, const char *key,
                         int fallback_line)
{
    if (origin == ORIGIN_ENV)
        return env_name(section, key);
    return sr_asprintf("%s:%d", ld->path, origin > 0 ? origin : fallback_line);
}

static const struct chan_type *chan_type_find(const char *type)
{
    for (size_t i = 0; i < sizeof(chan_types) / sizeof(chan_types[0]); i++)
        if (type && strcmp(chan_types[i].type, type) == 0)
            return &chan_types[i];
    return NULL;
}

/* Checks one channel key against the channel's type and fills its type default. */
static void channel_key_finish(struct loader *ld, size_t ci, const struct chan_type *t,
                               const struct key *k, const char *section)
{
    struct sr_channel_conf *ch = &ld->c->channels[ci];
    struct chan_meta *cm = &ld->chans[ci];
    int origin = cm->origin[k - keys];
    int required = in_list(t->required, k->name, ' ');
    char **slot = (char **)((char *)ch + k->off);
    if (!required && !in_list(t->optional, k->name, ' ')) {
        if (origin != ORIGIN_UNSET) {
            char *where = origin_text(ld, origin, section, k->name, cm->line);
            fail(ld, "%s: [%s] %s: not used by type %s", where, section, k->name, t->type);
            free(where);
        }
        return;
    }
    if (required && (!*slot || !**slot)) {
        fail(ld, "%s:%d: [%s] %s: required for type %s", ld->path, cm->line, section, k->name,
             t->type);
        return;
    }
    if (!*slot && strcmp(k->name, "api_base") == 0)
        *slot = sr_strdup(t->api_base);
    else if (!*slot && k->def)
        *slot = sr_strdup(k->def);
}

static void channel_finish(struct loader *ld, size_t ci)
{
    struct config *c = ld->c;
    struct sr_channel_conf *ch = &c->channels[ci];
    char *section = sr_asprintf(CHANNEL_PREFIX "%s", ch->name);
    const struct chan_type *t = chan_type_find(ch->type);
    if (!t) {
        fail(ld, "%s:%d: [%s] type: required (one of %s)", ld->path, ld->chans[ci].line, section,
             find_key(NULL, "type", 1)->allowed);
        free(section);
        return;
    }
    if (!ch->language)
        ch->language = sr_strdup(c->dialog.default_language);
    if (!ch->body_limit)
        ch->body_limit = (size_t)c->server.body_limit;
    for (size_t i = 0; i < N_KEYS && !ld->failed; i++) {
        const struct key *k = &keys[i];
        if (is_channel_key(k) && k->type == KT_STRING)
            channel_key_finish(ld, ci, t, k, section);
    }
    free(section);
}

/* [server] trust_proxy: the list form is checked here, where its origin is known. */
static void parse_trust_proxy(struct loader *ld)
{
    struct config *c = ld->c;
    char why[96];
    if (netaddr_list_parse(c->server.trust_proxy, &c->server.proxies, &c->server.n_proxies, why,
                           sizeof(why)) == 0)
        return;
    const struct key *k = find_key("server", "trust_proxy", 0);
    char *where = origin_text(ld, ld->origin[k - keys], "server", k->name, 0);
    fail(ld, "%s: [server] trust_proxy: %s", where, why);
    free(where);
}

static void validate(struct loader *ld)
{
    struct config *c = ld->c;
    for (size_t i = 0; i < N_KEYS && !ld->failed; i++) {
        const struct key *k = &keys[i];
        char **slot = (char **)((char *)c + k->off);
        if (!is_channel_key(k) && (k->flags & KF_REQUIRED) && !*slot) {
            char *var = env_name(k->section, k->name);
            fail(ld, "%s: [%s] %s: required (set it in the file or in %s)", ld->path, k->section,
                 k->name, var);
            free(var);
        }
    }
    if (!ld->failed && c->sender.lease_ms < c->sender.timeout_ms + 5000) {
        const struct key *k = find_key("sender", "lease_ms", 0);
        if (!ld->origin[k - keys])
            k = find_key("sender", "timeout_ms", 0);
        char *where = origin_text(ld, ld->origin[k - keys], "sender", k->name, 0);
        fail(ld,
             "%s: [sender] %s: lease_ms must be at least timeout_ms + 5000 (a lease never "
             "expires during a request)",
             where, k->name);
        free(where);
    }
    if (!ld->failed && c->sender.backoff_min_ms > c->sender.backoff_max_ms) {
        const struct key *k = find_key("sender", "backoff_max_ms", 0);
        if (!ld->origin[k - keys])
            k = find_key("sender", "backoff_min_ms", 0);
        char *where = origin_text(ld, ld->origin[k - keys], "sender", k->name, 0);
        fail(ld, "%s: [sender] %s: backoff_min_ms must not exceed backoff_max_ms", where, k->name);
        free(where);
    }
    if (!ld->failed)
        parse_trust_proxy(ld);
    if (!ld->failed && c->n_channels == 0)
        fail(ld, "%s: no channel configured (add a [channel.<name>] section)", ld->path);
    for (size_t ci = 0; ci < c->n_channels && !ld->failed; ci++)
        channel_finish(ld, ci);
    if (!ld->failed && c->dialog.officer_channel && c->dialog.officer_channel[0] &&
        !config_channel(c, c->dialog.officer_channel))
        fail(ld, "%s: [dialog] officer_channel: no such channel", ld->path);
}

/* ---- public ---- */

enum sr_err config_load(const char *path, struct config **out, struct sr_errbuf *eb)
{
    struct sr_errbuf local;
    struct config *c = sr_calloc(1, sizeof(*c));
    struct loader ld = {.c = c, .path = path, .eb = eb ? eb : &local};
    *out = NULL;
    c->path = sr_strdup(path);
    set_defaults(c);
    parse_file(&ld);
    if (!ld.failed)
        apply_env(&ld);
    if (!ld.failed)
        validate(&ld);
    free(ld.chans);
    if (ld.failed) {
        config_free(c);
        return SR_E_CONFIG;
    }
    *out = c;
    return SR_E_OK;
}

void config_free(struct config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_channels; i++) {
        free_strings(&c->channels[i], 1);
        free((void *)c->channels[i].name);
    }
    free(c->channels);
    free(c->server.proxies);
    free_strings(c, 0);
    free((void *)c->path);
    free(c);
}

const struct sr_channel_conf *config_channel(const struct config *c, const char *name)
{
    long i = c && name ? channel_index(c, name) : -1;
    return i < 0 ? NULL : &c->channels[i];
}

static void print_key(FILE *out, const struct key *k)
{
    static const char *const type_names[] = {"string", "int", "bool", "bytes", "enum"};
    char *var = env_name(is_channel_key(k) ? "channel.<NAME>" : k->section, k->name);
    fprintf(out, "  %-20s %s", k->name, type_names[k->type]);
    if (k->type == KT_ENUM)
        fprintf(out, " (%s)", k->allowed);
    if (k->type == KT_INT || k->type == KT_BYTES)
        fprintf(out, " [%lld..%lld]", k->min, k->max);
    if (k->type == KT_STRING && k->min == 1)
        fprintf(out, " (non-empty)");
    else if (k->type == KT_STRING && k->min > 1)
        fprintf(out, " (at least %lld bytes)", k->min);
    if (k->flags & KF_SECRET)
        fprintf(out, " (secret)");
    if (k->flags & KF_REQUIRED)
        fprintf(out, " (required)");
    if (k->def && !(k->flags & KF_SECRET))
        fprintf(out, " default \"%s\"", k->def);
    fprintf(out, "\n      %s\n      env: %s\n", k->help, var);
    free(var);
}

void config_print_help(FILE *out)
{
    const char *section = "";
    fprintf(out, "Suara configuration keys (INI file; every key can be overridden by the "
                 "environment variable shown).\nSecrets are best given through the environment.\n");
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(section, keys[i].section) != 0) {
            section = keys[i].section;
            fprintf(out, "\n[%s]%s\n", is_channel_key(&keys[i]) ? "channel.<name>" : section,
                    is_channel_key(&keys[i]) ? "  one per channel; <name>: 1-32 of a-z 0-9 _ -"
                                             : "");
        }
        print_key(out, &keys[i]);
    }
    fprintf(out, "\nChannel types and their required keys:\n");
    for (size_t i = 0; i < sizeof(chan_types) / sizeof(chan_types[0]); i++)
        fprintf(out, "  %-10s %s (optional: %s)\n", chan_types[i].type, chan_types[i].required,
                chan_types[i].optional);
}
