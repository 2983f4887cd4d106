/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: one printf-checked macro, JSON lines on stderr:
 *   {"ts":"2026-11-28T04:41:21.123Z","level":"info","module":"gateway","req":"9f2c...","msg":"..."}
 * Phone numbers are masked with sr_mask_phone() before they are formatted; secrets are never
 * passed to the log at all (tests/common/test_log.c and the handler tests check it).
 */
#ifndef SR_LOG_H
#define SR_LOG_H

#include <stddef.h>

enum sr_log_level { SR_LOG_DEBUG, SR_LOG_INFO, SR_LOG_WARN, SR_LOG_ERROR };

/* The threshold is set once at start-up, before any thread starts. */
void sr_log_set_level(enum sr_log_level min);
int sr_log_parse_level(const char *name, enum sr_log_level *out); /* 0 ok, -1 unknown */
/* Redirects output (tests); fd 2 by default. */
void sr_log_set_fd(int fd);

void sr_log_write(enum sr_log_level lvl, const char *module, const char *req_id, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

#define SR_LOG(lvl, module, req_id, ...) sr_log_write(SR_LOG_##lvl, module, req_id, __VA_ARGS__)

/* Masks a phone number or other citizen address for display: keeps the first 4 and last 2
 * characters, stars in between ("6281******90"); short inputs become all stars. out must hold
 * at least SR_MASK_MAX bytes. Returns out. */
#define SR_MASK_MAX 40
const char *sr_mask_phone(const char *addr, char out[SR_MASK_MAX]);

#endif
