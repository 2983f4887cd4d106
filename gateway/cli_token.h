/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `suara token ...`: create, list and revoke API / feed tokens on the evaluation store named by
 * the config ([store] sqlite_path). Plain text; the only secret ever printed is a new token, once.
 */
#ifndef CLI_TOKEN_H
#define CLI_TOKEN_H

#include "config.h"

/* argv holds the words after "suara" minus "-c FILE" (a leading "token" is skipped, and any
 * "-c FILE" / "--config FILE" pair left in is ignored):
 *   create --role admin|supervisor|officer [--officer CODE] [--unit CODE] [--label TEXT]
 *   list
 *   revoke ID
 * create prints the token alone on stdout (so `T=$(suara token create ...)` works) and what it
 * is on stderr. Returns the process exit status: 0 ok, 1 failed, 2 usage. Borrowed: cfg, argv. */
int cli_token(const struct config *cfg, int argc, char **argv);

#endif
