/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `suara outbox ...`: the operator's view of the dead-letter stream in Redis (replies the sender
 * gave up on while undelivered): list them, queue one again, or drop it. The same store
 * functions serve the admin API (/api/outbox/dead).
 */
#ifndef CLI_OUTBOX_H
#define CLI_OUTBOX_H

#include "config.h"

/* argv holds the words after "suara" (a leading "outbox" is skipped, "-c FILE" pairs ignored):
 *   list [--json] | retry ID | drop ID
 * Returns the process exit status: 0 ok, 1 failed (also: no such dead letter), 2 usage.
 * Borrowed: cfg, argv. */
int cli_outbox(const struct config *cfg, int argc, char **argv);

#endif
