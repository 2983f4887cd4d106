/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Working time and complaint deadlines (SLA rules). Pure: no clock, no I/O after loading.
 *
 * A calendar is a fixed UTC offset (Asia/Jakarta: +07:00, no daylight saving), working hours per
 * weekday (default Monday-Friday 08:00-16:00, none at weekends) and a list of national holidays
 * (whole days off). SLA rules give, per unit and complaint category, the first-response deadline
 * in working hours and the resolution deadline in working days; the most specific rule wins
 * (unit+category, then unit, then category, then the default). All of it is data
 * (dialogs/data/worktime.json, dialogs/data/holidays.json, dialogs/data/sla.json), not code.
 *
 * Definitions (documented for users in the README):
 *  - working time between a and b: the part of [a, b) inside working hours on working days;
 *  - worktime_add(start, d): the earliest instant t with working time [start, t) == d (start
 *    outside working hours counts from the next opening);
 *  - worktime_add_days(start, n): the close of business of the n-th working day after the day
 *    of start (a complaint filed on Monday with n = 1 is due Tuesday 16:00; filed on Friday
 *    evening with n = 1 it is due Monday 16:00, or Tuesday if Monday is a holiday).
 */
#ifndef WORKTIME_H
#define WORKTIME_H

#include "sr_error.h"

#include <stdint.h>

struct worktime;

/* Loads worktime.json, holidays.json and sla.json from data_dir. NULL on error (eb names the
 * file and the problem). Read-only afterwards; shareable between threads. */
struct worktime *worktime_load(const char *data_dir, struct sr_errbuf *eb);
void worktime_free(struct worktime *w); /* NULL is fine */

int64_t worktime_add(const struct worktime *w, int64_t start_ms, int64_t working_ms);
int64_t worktime_add_days(const struct worktime *w, int64_t start_ms, int days);
int64_t worktime_between(const struct worktime *w, int64_t a_ms, int64_t b_ms);
/* "HH:MM" with HH 00-23 (or exactly "24:00") into minutes after midnight; -1 if malformed. The
 * time-of-day form of every calendar file (worktime.json, roster.json). */
int worktime_parse_hhmm(const char *s);
/* The calendar's fixed UTC offset in minutes (420 for WIB). */
int worktime_utc_offset_minutes(const struct worktime *w);
/* 1 if the local calendar day containing t is a holiday or has no working hours. */
int worktime_is_day_off(const struct worktime *w, int64_t t_ms);

struct worktime_sla {
    int64_t first_response_ms; /* working time allowed for the first officer answer */
    int resolution_days;       /* working days allowed for resolution */
};
/* The rule for (unit, category); either may be NULL. Never fails: the default always exists. */
struct worktime_sla worktime_sla_for(const struct worktime *w, const char *unit_code,
                                     const char *category);

/* Formats t as local time "Senin, 30 November 2026 16:00" (lang "id") or
 * "Monday, 30 November 2026 16:00" (lang "en") into out; returns out. */
const char *worktime_format(const struct worktime *w, int64_t t_ms, const char *lang, char *out,
                            size_t n);

#endif
