/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Working-time calendar and SLA rules (see worktime.h for the definitions). Local time is UTC
 * plus a fixed offset (Indonesia has no daylight saving), so calendar dates come from integer
 * arithmetic on "local milliseconds" (days-from-civil, H. Hinnant), never localtime() or TZ.
 * Days are numbered from 1970-01-01 (local); weekdays are 0 = Monday .. 6 = Sunday.
 * All data comes from three JSON files read once by worktime_load(); afterwards the struct is
 * read-only. Each file's format is described in the comment above its loader below; every
 * error names the file and the field. Object keys starting with '_' are comments.
 */
#include "worktime.h"

#include "sr_mem.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
#define MAX_HOLIDAYS 10000
#define MAX_RULES 10000

struct sla_rule {
    char *unit;     /* owned; NULL = any unit */
    char *category; /* owned; NULL = any category */
    struct worktime_sla sla;
};

struct worktime {
    int64_t offset_ms;
    int open_min[7], close_min[7]; /* minutes after local midnight; open == close: day off */
    int64_t *holidays;             /* owned; sorted local day numbers, no duplicates */
    size_t n_holidays;
    struct worktime_sla def;
    struct sla_rule *rules; /* owned */
    size_t n_rules;
};

static const char *const day_keys[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* ---------------------------------------------------------------- calendar arithmetic */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int weekday(int64_t day)
{
    return (int)(day + 3 - floor_div(day + 3, 7) * 7); /* 1970-01-01 was a Thursday (3) */
}

static int64_t local_day(const struct worktime *w, int64_t t_ms)
{
    return floor_div(t_ms + w->offset_ms, DAY_MS);
}

static int is_holiday(const struct worktime *w, int64_t day)
{
    size_t lo = 0, hi = w->n_holidays;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->holidays[mid] == day)
            return 1;
        if (w->holidays[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int day_is_off(const struct worktime *w, int64_t day)
{
    int wd = weekday(day);
    return w->open_min[wd] >= w->close_min[wd] || is_holiday(w, day);
}

/* The working window of a working day as UTC instants [*open, *close). */
static void day_window(const struct worktime *w, int64_t day, int64_t *open, int64_t *close)
{
    int wd = weekday(day);
    int64_t base = day * DAY_MS - w->offset_ms;
    *open = base + w->open_min[wd] * MIN_MS;
    *close = base + w->close_min[wd] * MIN_MS;
}

/* ---------------------------------------------------------------- public calendar functions */

int worktime_utc_offset_minutes(const struct worktime *w)
{
    return (int)(w->offset_ms / 60000);
}

int worktime_is_day_off(const struct worktime *w, int64_t t_ms)
{
    return day_is_off(w, local_day(w, t_ms));
}

int64_t worktime_between(const struct worktime *w, int64_t a_ms, int64_t b_ms)
{
    int64_t total = 0;
    if (b_ms <= a_ms)
        return 0;
    for (int64_t day = local_day(w, a_ms), last = local_day(w, b_ms); day <= last; day++) {
        if (day_is_off(w, day))
            continue;
        int64_t open, close;
        day_window(w, day, &open, &close);
        int64_t from = open > a_ms ? open : a_ms;
        int64_t to = close < b_ms ? close : b_ms;
        if (to > from)
            total += to - from;
    }
    return total;
}

/* Walks day by day; the loader guarantees at least one working weekday, so this ends. */
int64_t worktime_add(const struct worktime *w, int64_t start_ms, int64_t working_ms)
{
    int64_t left = working_ms;
    if (left <= 0)
        return start_ms;
    for (int64_t day = local_day(w, start_ms);; day++) {
        if (day_is_off(w, day))
            continue;
        int64_t open, close;
        day_window(w, day, &open, &close);
        int64_t from = open > start_ms ? open : start_ms;
        if (close <= from)
            continue;
        if (close - from >= left)
            return from + left;
        left -= close - from;
    }
}

/* days <= 0 (not used by the SLA data, which requires >= 1): the close of the start's own day
 * if it is a working day, else of the next working day; never earlier than start. */
int64_t worktime_add_days(const struct worktime *w, int64_t start_ms, int days)
{
    int64_t day = local_day(w, start_ms);
    if (days <= 0) {
        while (day_is_off(w, day))
            day++;
    } else {
        for (int counted = 0; counted < days;) {
            day++;
            if (!day_is_off(w, day))
                counted++;
        }
    }
    int64_t open, close;
    day_window(w, day, &open, &close);
    return close > start_ms ? close : start_ms;
}

/* ---------------------------------------------------------------- SLA lookup */

static int field_eq(const char *rule, const char *want)
{
    return rule && want && strcasecmp(rule, want) == 0;
}

/* Most specific first: unit+category, unit only, category only, then the default. */
struct worktime_sla worktime_sla_for(const struct worktime *w, const char *unit_code,
                                     const char *category)
{
    const struct sla_rule *best = NULL;
    int best_rank = 0;
    for (size_t i = 0; i < w->n_rules; i++) {
        const struct sla_rule *r = &w->rules[i];
        int unit_ok = !r->unit || field_eq(r->unit, unit_code);
        int cat_ok = !r->category || field_eq(r->category, category);
        if (!unit_ok || !cat_ok)
            continue;
        int rank = (r->unit ? 2 : 0) + (r->category ? 1 : 0); /* 3 > 2 > 1 */
        if (rank > best_rank) {
            best = r;
            best_rank = rank;
        }
    }
    return best ? best->sla : w->def;
}

/* ---------------------------------------------------------------- formatting */

struct lang_names {
    const char *code;
    const char *days[7]; /* Monday first */
    const char *months[12];
};

static const struct lang_names lang_table[] = {
    {"id",
     {"Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"},
     {"Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
      "Oktober", "November", "Desember"}},
    {"en",
     {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"},
     {"January", "February", "March", "April", "May", "June", "July", "August", "September",
      "October", "November", "December"}},
};

/* Exact code or its primary subtag ("en-US" -> "en"); Indonesian otherwise. */
static const struct lang_names *find_lang(const char *lang)
{
    for (size_t i = 0; lang && i < sizeof(lang_table) / sizeof(lang_table[0]); i++) {
        size_t n = strlen(lang_table[i].code);
        if (strncasecmp(lang, lang_table[i].code, n) == 0 && (lang[n] == '\0' || lang[n] == '-'))
            return &lang_table[i];
    }
    return &lang_table[0];
}

const char *worktime_format(const struct worktime *w, int64_t t_ms, const char *lang, char *out,
                            size_t n)
{
    if (!out || n == 0)
        return out;
    const struct lang_names *names = find_lang(lang);
    int64_t local = t_ms + w->offset_ms;
    int64_t day = floor_div(local, DAY_MS);
    int64_t min_of_day = (local - day * DAY_MS) / MIN_MS;
    int64_t y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(out, n, "%s, %d %s %lld %02d:%02d", names->days[weekday(day)], d, names->months[m - 1],
             (long long)y, (int)(min_of_day / 60), (int)(min_of_day % 60));
    return out;
}

/* ---------------------------------------------------------------- loading helpers */

static json_t *load_file(const char *dir, const char *name, struct sr_errbuf *eb)
{
    char *path = sr_asprintf("%s/%s", dir, name);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    free(path);
    if (!root) {
        sr_errf(eb, SR_E_CONFIG, "%s: line %d: %s", name, jerr.line, jerr.text);
        return NULL;
    }
    json_t *fmt = json_object_get(root, "format");
    if (!json_is_object(root) || !json_is_integer(fmt) || json_integer_value(fmt) != 1) {
        sr_errf(eb, SR_E_CONFIG, "%s: format: want an object with \"format\": 1", name);
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Rejects keys not in allowed (NULL-terminated); keys starting with '_' are comments. */
static enum sr_err check_keys(const json_t *obj, const char *const *allowed, const char *file,
                              const char *where, struct sr_errbuf *eb)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], key) != 0)
            i++;
        if (!allowed[i] && key[0] != '_')
            return sr_errf(eb, SR_E_CONFIG, "%s: %s: unknown field \"%s\"", file, where, key);
    }
    return SR_E_OK;
}

int worktime_parse_hhmm(const char *s)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0');
    int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0))
        return -1;
    return h * 60 + m;
}

/* "YYYY-MM-DD" (a real calendar date) into a day number; 0 on success, -1 if malformed. */
static int parse_date(const char *s, int64_t *day)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return -1;
    *day = days_from_civil(y, m, d);
    return 0;
}

/* ---------------------------------------------------------------- worktime.json */

/* One weekday: null (day off) or ["HH:MM", "HH:MM"] with open < close. */
static enum sr_err load_day(struct worktime *w, int wd, const json_t *v, struct sr_errbuf *eb)
{
    const char *f = "worktime.json";
    if (json_is_null(v)) {
        w->open_min[wd] = w->close_min[wd] = 0;
        return SR_E_OK;
    }
    if (!json_is_array(v) || json_array_size(v) != 2)
        return sr_errf(eb, SR_E_CONFIG, "%s: week.%s: want [\"HH:MM\", \"HH:MM\"] or null", f,
                       day_keys[wd]);
    for (size_t i = 0; i < 2; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        int min = worktime_parse_hhmm(s);
        if (min < 0)
            return sr_errf(eb, SR_E_CONFIG, "%s: week.%s[%zu]: bad time \"%s\" (want HH:MM)", f,
                           day_keys[wd], i, s ? s : "(not a string)");
        *(i == 0 ? &w->open_min[wd] : &w->close_min[wd]) = min;
    }
    if (w->close_min[wd] <= w->open_min[wd])
        return sr_errf(eb, SR_E_CONFIG, "%s: week.%s: close is not after open", f, day_keys[wd]);
    return SR_E_OK;
}

static enum sr_err load_week(struct worktime *w, const json_t *week, struct sr_errbuf *eb)
{
    const char *f = "worktime.json";
    if (!json_is_object(week))
        return sr_errf(eb, SR_E_CONFIG, "%s: week: want an object", f);
    const char *allowed[8];
    memcpy(allowed, day_keys, sizeof(day_keys));
    allowed[7] = NULL;
    enum sr_err err = check_keys(week, allowed, f, "week", eb);
    int working = 0;
    for (int wd = 0; err == SR_E_OK && wd < 7; wd++) {
        json_t *v = json_object_get(week, day_keys[wd]);
        if (!v)
            return sr_errf(eb, SR_E_CONFIG, "%s: week.%s: missing (use null for a day off)", f,
                           day_keys[wd]);
        err = load_day(w, wd, v, eb);
        working += w->open_min[wd] < w->close_min[wd];
    }
    if (err == SR_E_OK && working == 0)
        return sr_errf(eb, SR_E_CONFIG, "%s: week: no working day at all", f);
    return err;
}

/* {"format":1, "utc_offset_minutes": 420, "collective_leave_off": true, "week": {...}}.
 * utc_offset_minutes defaults to 420 (WIB), week to Monday-Friday 08:00-16:00;
 * collective_leave_off (default true) says whether cuti bersama days are days off. */
static enum sr_err load_worktime(struct worktime *w, const char *dir, int *collective_off,
                                 struct sr_errbuf *eb)
{
    static const char *const allowed[] = {"format", "utc_offset_minutes", "collective_leave_off",
                                          "week", NULL};
    const char *f = "worktime.json";
    json_t *root = load_file(dir, f, eb);
    if (!root)
        return SR_E_CONFIG;
    enum sr_err err = check_keys(root, allowed, f, "top level", eb);
    json_t *off = json_object_get(root, "utc_offset_minutes");
    json_t *cl = json_object_get(root, "collective_leave_off");
    json_t *week = json_object_get(root, "week");
    if (err == SR_E_OK && off &&
        (!json_is_integer(off) || json_integer_value(off) < -720 || json_integer_value(off) > 840))
        err = sr_errf(eb, SR_E_CONFIG, "%s: utc_offset_minutes: want an integer -720..840", f);
    if (err == SR_E_OK && cl && !json_is_boolean(cl))
        err = sr_errf(eb, SR_E_CONFIG, "%s: collective_leave_off: want true or false", f);
    if (err == SR_E_OK && week)
        err = load_week(w, week, eb);
    if (off)
        w->offset_ms = json_integer_value(off) * MIN_MS;
    *collective_off = cl ? json_is_true(cl) : 1;
    json_decref(root);
    return err;
}

/* ---------------------------------------------------------------- holidays.json */

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* One entry {"date": "YYYY-MM-DD", "name": "...", "kind": "national"|"collective_leave"};
 * *keep is 0 for a collective-leave day when those are working days. */
static enum sr_err load_holiday(const json_t *h, size_t i, int collective_off, int64_t *day,
                                int *keep, struct sr_errbuf *eb)
{
    static const char *const allowed[] = {"date", "name", "kind", NULL};
    const char *f = "holidays.json";
    char where[48];
    snprintf(where, sizeof(where), "holidays[%zu]", i);
    if (!json_is_object(h))
        return sr_errf(eb, SR_E_CONFIG, "%s: %s: want an object", f, where);
    enum sr_err err = check_keys(h, allowed, f, where, eb);
    if (err != SR_E_OK)
        return err;
    const char *date = json_string_value(json_object_get(h, "date"));
    if (parse_date(date, day) != 0)
        return sr_errf(eb, SR_E_CONFIG, "%s: %s.date: bad date \"%s\" (want YYYY-MM-DD)", f, where,
                       date ? date : "(missing)");
    if (!json_is_string(json_object_get(h, "name")))
        return sr_errf(eb, SR_E_CONFIG, "%s: %s.name: missing", f, where);
    json_t *kind = json_object_get(h, "kind");
    const char *k = kind ? json_string_value(kind) : "national";
    int collective = k && strcmp(k, "collective_leave") == 0;
    if (!k || (!collective && strcmp(k, "national") != 0))
        return sr_errf(eb, SR_E_CONFIG, "%s: %s.kind: want \"national\" or \"collective_leave\"", f,
                       where);
    *keep = !collective || collective_off;
    return SR_E_OK;
}

/* {"format":1, "source": "...", "holidays": [entry, ...]}. */
static enum sr_err load_holidays(struct worktime *w, const char *dir, int collective_off,
                                 struct sr_errbuf *eb)
{
    static const char *const allowed[] = {"format", "source", "holidays", NULL};
    const char *f = "holidays.json";
    json_t *root = load_file(dir, f, eb);
    if (!root)
        return SR_E_CONFIG;
    enum sr_err err = check_keys(root, allowed, f, "top level", eb);
    json_t *list = json_object_get(root, "holidays");
    if (err == SR_E_OK && (!json_is_array(list) || json_array_size(list) > MAX_HOLIDAYS))
        err = sr_errf(eb, SR_E_CONFIG, "%s: holidays: want an array (at most %d)", f, MAX_HOLIDAYS);
    size_t n = err == SR_E_OK ? json_array_size(list) : 0;
    w->holidays = sr_calloc(n ? n : 1, sizeof(*w->holidays));
    for (size_t i = 0; err == SR_E_OK && i < n; i++) {
        int64_t day = 0;
        int keep = 0;
        err = load_holiday(json_array_get(list, i), i, collective_off, &day, &keep, eb);
        if (err == SR_E_OK && keep)
            w->holidays[w->n_holidays++] = day;
    }
    json_decref(root);
    qsort(w->holidays, w->n_holidays, sizeof(*w->holidays), cmp_day);
    size_t out = 0; /* the same date may be listed twice (two observances): keep one */
    for (size_t i = 0; i < w->n_holidays; i++)
        if (out == 0 || w->holidays[out - 1] != w->holidays[i])
            w->holidays[out++] = w->holidays[i];
    w->n_holidays = out;
    return err;
}

/* ---------------------------------------------------------------- sla.json */

/* first_response_hours (number, working hours, 0 < h <= 10000) and resolution_days
 * (integer 1..3650) of an object, both required. */
static enum sr_err load_sla_values(const json_t *o, const char *where, struct worktime_sla *out,
                                   struct sr_errbuf *eb)
{
    const char *f = "sla.json";
    json_t *h = json_object_get(o, "first_response_hours");
    json_t *d = json_object_get(o, "resolution_days");
    if (!json_is_number(h) || json_number_value(h) <= 0 || json_number_value(h) > 10000)
        return sr_errf(eb, SR_E_CONFIG, "%s: %s.first_response_hours: want a number of hours > 0",
                       f, where);
    if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > 3650)
        return sr_errf(eb, SR_E_CONFIG, "%s: %s.resolution_days: want an integer 1..3650", f,
                       where);
    out->first_response_ms = (int64_t)(json_number_value(h) * (double)HOUR_MS + 0.5);
    out->resolution_days = (int)json_integer_value(d);
    return SR_E_OK;
}

/* One rule {"unit": "PATEN-BMK", "category": "layanan", ...values}; unit or category or both. */
static enum sr_err load_rule(struct worktime *w, const json_t *r, size_t i, struct sr_errbuf *eb)
{
    static const char *const allowed[] = {"unit", "category", "first_response_hours",
                                          "resolution_days", NULL};
    const char *f = "sla.json";
    char where[48];
    snprintf(where, sizeof(where), "rules[%zu]", i);
    if (!json_is_object(r))
        return sr_errf(eb, SR_E_CONFIG, "%s: %s: want an object", f, where);
    enum sr_err err = check_keys(r, allowed, f, where, eb);
    json_t *unit = json_object_get(r, "unit"), *cat = json_object_get(r, "category");
    if (err == SR_E_OK &&
        ((unit && !json_is_string(unit)) || (cat && !json_is_string(cat)) || (!unit && !cat)))
        err =
            sr_errf(eb, SR_E_CONFIG, "%s: %s: want \"unit\" and/or \"category\" strings", f, where);
    struct sla_rule *rule = &w->rules[w->n_rules];
    if (err == SR_E_OK)
        err = load_sla_values(r, where, &rule->sla, eb);
    for (size_t j = 0; err == SR_E_OK && j < w->n_rules; j++) {
        const struct sla_rule *o = &w->rules[j];
        int same_unit = (!o->unit && !unit) || field_eq(o->unit, json_string_value(unit));
        int same_cat = (!o->category && !cat) || field_eq(o->category, json_string_value(cat));
        if (same_unit && same_cat)
            err = sr_errf(eb, SR_E_CONFIG, "%s: %s: same unit and category as rules[%zu]", f, where,
                          j);
    }
    if (err != SR_E_OK)
        return err;
    rule->unit = sr_strdup(json_string_value(unit));
    rule->category = sr_strdup(json_string_value(cat));
    w->n_rules++;
    return SR_E_OK;
}

/* {"format":1, "default": {values}, "rules": [rule, ...]}. */
static enum sr_err load_sla(struct worktime *w, const char *dir, struct sr_errbuf *eb)
{
    static const char *const allowed[] = {"format", "default", "rules", NULL};
    const char *f = "sla.json";
    json_t *root = load_file(dir, f, eb);
    if (!root)
        return SR_E_CONFIG;
    enum sr_err err = check_keys(root, allowed, f, "top level", eb);
    json_t *def = json_object_get(root, "default");
    json_t *rules = json_object_get(root, "rules");
    if (err == SR_E_OK && !json_is_object(def))
        err = sr_errf(eb, SR_E_CONFIG, "%s: default: want an object", f);
    if (err == SR_E_OK)
        err =
            check_keys(def, (const char *const[]){"first_response_hours", "resolution_days", NULL},
                       f, "default", eb);
    if (err == SR_E_OK)
        err = load_sla_values(def, "default", &w->def, eb);
    if (err == SR_E_OK && rules && (!json_is_array(rules) || json_array_size(rules) > MAX_RULES))
        err = sr_errf(eb, SR_E_CONFIG, "%s: rules: want an array (at most %d)", f, MAX_RULES);
    size_t n = err == SR_E_OK ? json_array_size(rules) : 0;
    w->rules = sr_calloc(n ? n : 1, sizeof(*w->rules));
    for (size_t i = 0; err == SR_E_OK && i < n; i++)
        err = load_rule(w, json_array_get(rules, i), i, eb);
    json_decref(root);
    return err;
}

/* ---------------------------------------------------------------- load / free */

struct worktime *worktime_load(const char *data_dir, struct sr_errbuf *eb)
{
    struct worktime *w = sr_calloc(1, sizeof(*w));
    w->offset_ms = 420 * MIN_MS;
    for (int wd = 0; wd < 5; wd++) {
        w->open_min[wd] = 8 * 60;
        w->close_min[wd] = 16 * 60;
    }
    int collective_off = 1;
    enum sr_err err = load_worktime(w, data_dir, &collective_off, eb);
    if (err == SR_E_OK)
        err = load_holidays(w, data_dir, collective_off, eb);
    if (err == SR_E_OK)
        err = load_sla(w, data_dir, eb);
    if (err != SR_E_OK) {
        worktime_free(w);
        return NULL;
    }
    return w;
}

void worktime_free(struct worktime *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n_rules; i++) {
        free(w->rules[i].unit);
        free(w->rules[i].category);
    }
    free(w->rules);
    free(w->holidays);
    free(w);
}
