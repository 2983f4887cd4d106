/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `suara privacy purge`: erasure of one citizen's data on request (UU 27/2022), in Redis
 * (store_purge.h) and in the evaluation store (evalstore_purge_citizen), with a report of what
 * was removed. The number itself is never printed: only masked, as the logs do.
 */
#ifndef CLI_PRIVACY_H
#define CLI_PRIVACY_H

#include "config.h"

/* argv holds the words after "suara" (a leading "privacy" is skipped, "-c FILE" pairs ignored):
 *   purge [--pseudonym] [--json] NUMBER|PSEUDONYM
 * Returns the process exit status: 0 ok, 1 failed, 2 usage. Borrowed: cfg, argv. */
int cli_privacy(const struct config *cfg, int argc, char **argv);

#endif
