/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `suara stats ...`: the administrators' statistics in the terminal (or as CSV), read from the
 * evaluation store named by the config ([store] sqlite_path) — the same figures as the API.
 */
#ifndef CLI_STATS_H
#define CLI_STATS_H

#include "config.h"

/* argv holds the words after "suara" (a leading "stats" is skipped, "-c FILE" pairs ignored):
 *   response-times|satisfaction|complaints [--from D] [--to D] [--unit U] [--officer O]
 *     [--category C] [--group-by G] [--clock wall|working] [--compare previous] [--csv]
 * Returns the process exit status: 0 ok, 1 failed, 2 usage. Borrowed: cfg, argv. */
int cli_stats(const struct config *cfg, int argc, char **argv);

#endif
