/* SPDX-License-Identifier: Apache-2.0 */
/* Allocation wrappers: the abort-on-OOM policy, in one place. */
#include "sr_mem.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr,
            "{\"level\":\"fatal\",\"module\":\"mem\",\"msg\":\"out of memory (%zu bytes)\"}\n", n);
    abort();
}

void *sr_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *sr_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *sr_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *sr_strdup(const char *s)
{
    return s ? sr_strndup(s, strlen(s)) : NULL;
}

char *sr_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = sr_malloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *sr_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(0);
    char *s = sr_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

void sr_mem_init(void)
{
    json_set_alloc_funcs(sr_malloc, free);
}
