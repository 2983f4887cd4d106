/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The optional on-duty roster of complaint officers (dialogs/data/roster.json). Without a roster,
 * or for an officer it does not list, an officer is always on duty. A listed officer is on duty
 * inside one of their shifts: weekdays and a local time range [from, to) in the working-time
 * calendar's UTC offset (to <= from runs past midnight: "22:00"-"06:00"). New complaints are told
 * to the unit's complaint officers on duty; when none is, to all of them, so no complaint goes
 * unseen. Pure after loading; read-only and shareable between threads.
 */
#ifndef ROSTER_H
#define ROSTER_H

#include "sr_error.h"

#include <stdint.h>

struct roster;

/* Loads data_dir/roster.json. A missing file is an empty roster (not an error); a malformed one
 * is SR_E_CONFIG-style NULL with eb naming the entry. utc_offset_minutes: local time (420 WIB). */
struct roster *roster_load(const char *data_dir, int utc_offset_minutes, struct sr_errbuf *eb);
void roster_free(struct roster *r);          /* NULL is fine */
size_t roster_count(const struct roster *r); /* shifts loaded */

/* 1 if the officer (code, case-insensitive) is on duty at t_ms, 0 if listed but off duty.
 * NULL roster or an unlisted officer: 1. */
int roster_on_duty(const struct roster *r, const char *officer_code, int64_t t_ms);

#endif
