/* SPDX-License-Identifier: Apache-2.0 */
/*
 * roster.json: {"format": 1, "shifts": [{"officer": "BMK002", "days": ["mon", "tue"],
 * "from": "08:00", "to": "12:00"}, ...]}. Shifts are kept as (officer, weekday mask, minutes);
 * lookups are a linear scan: a district has tens of complaint officers, not thousands.
 */
#include "roster.h"

#include "sr_mem.h"
#include "worktime.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_SHIFTS 4096
#define DAY_MS 86400000LL

struct shift {
    char *officer;
    unsigned days; /* bit 0 = Monday ... bit 6 = Sunday */
    int from_min, to_min;
};

struct roster {
    struct shift *shifts; /* owned */
    size_t n;
    int64_t offset_ms;
};

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

void roster_free(struct roster *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->shifts[i].officer);
    free(r->shifts);
    free(r);
}

size_t roster_count(const struct roster *r)
{
    return r ? r->n : 0;
}

/* A shift bound: "HH:MM" within the day (no "24:00": a shift to midnight ends at "00:00"). */
static int parse_hhmm(const char *s)
{
    int t = worktime_parse_hhmm(s);
    return t >= 24 * 60 ? -1 : t;
}

static unsigned parse_days(const json_t *arr)
{
    unsigned mask = 0;
    size_t i;
    json_t *d;
    if (!json_is_array(arr))
        return 0;
    json_array_foreach(arr, i, d)
    {
        const char *s = json_string_value(d);
        size_t k = 0;
        while (k < 7 && !(s && strcmp(s, day_names[k]) == 0))
            k++;
        if (k == 7)
            return 0;
        mask |= 1u << k;
    }
    return mask;
}

static enum sr_err parse_shift(const json_t *o, size_t i, struct shift *out, struct sr_errbuf *eb)
{
    const char *officer = json_string_value(json_object_get(o, "officer"));
    unsigned days = parse_days(json_object_get(o, "days"));
    int from = parse_hhmm(json_string_value(json_object_get(o, "from")));
    int to = parse_hhmm(json_string_value(json_object_get(o, "to")));
    if (!json_is_object(o) || !officer || !officer[0])
        return sr_errf(eb, SR_E_CONFIG, "roster.json: shifts[%zu].officer: want an officer code",
                       i);
    if (!days)
        return sr_errf(eb, SR_E_CONFIG,
                       "roster.json: shifts[%zu].days: want a list of mon tue wed thu fri sat sun",
                       i);
    if (from < 0 || to < 0 || from == to)
        return sr_errf(eb, SR_E_CONFIG,
                       "roster.json: shifts[%zu].from/to: want two different \"HH:MM\" times", i);
    *out = (struct shift){sr_strdup(officer), days, from, to};
    return SR_E_OK;
}

struct roster *roster_load(const char *data_dir, int utc_offset_minutes, struct sr_errbuf *eb)
{
    struct roster *r = sr_calloc(1, sizeof(*r));
    r->offset_ms = (int64_t)utc_offset_minutes * 60000;
    char *path = sr_asprintf("%s/roster.json", data_dir);
    FILE *f = fopen(path, "r");
    if (!f) { /* no roster: everybody is on duty */
        free(path);
        return r;
    }
    fclose(f);
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    free(path);
    json_t *list = json_object_get(root, "shifts");
    enum sr_err err = SR_E_OK;
    if (!root)
        err = sr_errf(eb, SR_E_CONFIG, "roster.json: line %d: %s", je.line, je.text);
    else if (!json_is_array(list) || json_array_size(list) > MAX_SHIFTS)
        err =
            sr_errf(eb, SR_E_CONFIG, "roster.json: shifts: want an array (at most %d)", MAX_SHIFTS);
    size_t n = err == SR_E_OK ? json_array_size(list) : 0;
    r->shifts = sr_calloc(n ? n : 1, sizeof(*r->shifts));
    for (size_t i = 0; err == SR_E_OK && i < n; i++)
        if ((err = parse_shift(json_array_get(list, i), i, &r->shifts[r->n], eb)) == SR_E_OK)
            r->n++;
    json_decref(root);
    if (err != SR_E_OK) {
        roster_free(r);
        return NULL;
    }
    return r;
}

/* Is local (weekday, minute) inside the shift? A shift past midnight belongs to the day it
 * starts on. */
static int in_shift(const struct shift *s, int wday, int minute)
{
    if (s->from_min < s->to_min)
        return (s->days >> wday & 1) && minute >= s->from_min && minute < s->to_min;
    int yesterday = (wday + 6) % 7;
    return ((s->days >> wday & 1) && minute >= s->from_min) ||
           ((s->days >> yesterday & 1) && minute < s->to_min);
}

int roster_on_duty(const struct roster *r, const char *officer_code, int64_t t_ms)
{
    if (!r || !officer_code)
        return 1;
    int64_t local = t_ms + r->offset_ms;
    int64_t day = local >= 0 ? local / DAY_MS : (local - DAY_MS + 1) / DAY_MS;
    int minute = (int)((local - day * DAY_MS) / 60000);
    int wday = (int)(((day % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday: Monday = 0 */
    int listed = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (strcasecmp(r->shifts[i].officer, officer_code) != 0)
            continue;
        listed = 1;
        if (in_shift(&r->shifts[i], wday, minute))
            return 1;
    }
    return !listed;
}
