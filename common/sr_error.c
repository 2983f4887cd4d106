/* SPDX-License-Identifier: Apache-2.0 */
/* The error table behind sr_error.h. */
#include "sr_error.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    const char *name;
    int http;
    const char *text;
} errors[] = {
#define SR_ERR_ROW(name, http, text) {#name, http, text},
    SR_ERRORS(SR_ERR_ROW)
#undef SR_ERR_ROW
};

const char *sr_strerror(enum sr_err e)
{
    return (unsigned)e < SR_E__COUNT ? errors[e].text : "unknown error";
}

const char *sr_errname(enum sr_err e)
{
    return (unsigned)e < SR_E__COUNT ? errors[e].name : "UNKNOWN";
}

int sr_http_status(enum sr_err e)
{
    return (unsigned)e < SR_E__COUNT ? errors[e].http : 500;
}

enum sr_err sr_errf(struct sr_errbuf *eb, enum sr_err e, const char *fmt, ...)
{
    if (eb) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
        va_end(ap);
    }
    return e;
}
