/* SPDX-License-Identifier: Apache-2.0 */
/* JSON-lines logger. One write(2) per line so lines from worker threads never interleave. */
#include "sr_log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_min = SR_LOG_INFO;
static atomic_int log_fd = 2;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void sr_log_set_level(enum sr_log_level min)
{
    atomic_store(&log_min, (int)min);
}

void sr_log_set_fd(int fd)
{
    atomic_store(&log_fd, fd);
}

int sr_log_parse_level(const char *name, enum sr_log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum sr_log_level)i;
            return 0;
        }
    return -1;
}

static void format_ts(char *out, size_t n)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t len = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + len, n - len, ".%03dZ", (int)(tv.tv_usec / 1000));
}

void sr_log_write(enum sr_log_level lvl, const char *module, const char *req_id, const char *fmt,
                  ...)
{
    if ((int)lvl < atomic_load(&log_min))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char ts[40];
    format_ts(ts, sizeof(ts));
    json_t *o = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level_names[lvl], "module",
                          module ? module : "-");
    if (req_id)
        json_object_set_new(o, "req", json_string(req_id));
    /* json_stringn replaces nothing: invalid UTF-8 is rejected, so fall back to a marker */
    json_t *m = json_string(msg);
    json_object_set_new(o, "msg", m ? m : json_string("(message not valid UTF-8)"));
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!line)
        return;
    size_t len = strlen(line);
    line[len] = '\n'; /* overwrite the terminator: write the line and newline in one call */
    ssize_t w = write(atomic_load(&log_fd), line, len + 1);
    (void)w;
    line[len] = '\0';
    free(line);
}

const char *sr_mask_phone(const char *addr, char out[SR_MASK_MAX])
{
    size_t n = addr ? strlen(addr) : 0;
    if (n >= SR_MASK_MAX)
        n = SR_MASK_MAX - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (n > 8 && (i < 4 || i >= n - 2)) ? addr[i] : '*';
    out[n] = '\0';
    return out;
}
