/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one throttle on guessed secrets: failed attempts (a wrong API token, a wrong WhatsApp
 * verify_token, a bad webhook signature) are counted per client key (netaddr_throttle_key);
 * `failures` of them within `window` refuse the key for `block`, during which every request
 * of the key that needs a secret gets 429 with Retry-After, even with a correct secret. A
 * success clears the count. One table for the whole process, shared by every worker (thread-
 * safe), holding the THROTTLE_SLOTS most recently failing keys.
 */
#ifndef THROTTLE_H
#define THROTTLE_H

#include <stdint.h>

#define THROTTLE_SLOTS 256

struct throttle;

/* Limits as in [server] throttle_failures / throttle_window_s / throttle_block_s. */
struct throttle *throttle_new(int failures, uint64_t window_ms, uint64_t block_ms);
void throttle_free(struct throttle *t); /* NULL is fine */

/* Seconds key must still wait (rounded up), 0 if it may try. Any thread. */
unsigned throttle_wait_s(struct throttle *t, const char *key, uint64_t now_ms);
/* Counts a failure of key (failed = 1) or clears its count after a success (failed = 0).
 * Returns 1 when this failure starts a refusal. Any thread. */
int throttle_record(struct throttle *t, const char *key, int failed, uint64_t now_ms);

#endif
