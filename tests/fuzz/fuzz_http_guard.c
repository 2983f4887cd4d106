/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the HTTP/1 framing checks (gateway/http_guard.c). The input is a request head as
 * text: the raw request line goes to http_guard_request_line; its method, target and version
 * (split on spaces) and the header lines below it fill struct http_guard_req as the server
 * would ("host", "content-length" (each one counted), "transfer-encoding"), with 8 KiB limits.
 * Checked: a request that passes has an origin-form target within the limit, no
 * Transfer-Encoding, and a length that every Content-Length value agrees on; every refusal
 * closes the connection and says why.
 */
#include "fuzz.h"

#include "http_guard.h"
#include "sr_mem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HG_MAX_CL 8
#define HG_LIMIT 8192

struct hg_head {
    struct http_guard_req q;
    const char *cl[HG_MAX_CL];
    char *method, *target, *version;
};

/* The request line "METHOD SP target SP version", split in place. */
static void hg_request_line(struct hg_head *h, char *line)
{
    h->method = line;
    char *sp = strchr(line, ' ');
    if (!sp)
        return;
    *sp = '\0';
    h->target = sp + 1;
    sp = strchr(h->target, ' ');
    if (sp) {
        *sp = '\0';
        h->version = sp + 1;
    }
}

static void hg_header(struct hg_head *h, char *line)
{
    char *colon = strchr(line, ':');
    if (!colon)
        return;
    *colon = '\0';
    const char *v = colon + 1 + strspn(colon + 1, " \t");
    h->q.header_bytes += strlen(v);
    if (strcasecmp(line, "host") == 0)
        h->q.has_host = 1;
    else if (strcasecmp(line, "transfer-encoding") == 0)
        h->q.has_transfer_encoding = 1;
    else if (strcasecmp(line, "content-length") == 0 && h->q.n_content_length < HG_MAX_CL)
        h->cl[h->q.n_content_length++] = v;
}

static void hg_check(const struct hg_head *h, const struct http_guard_verdict *v)
{
    if (v->err != SR_E_OK) {
        if (!v->close || !v->detail.msg[0])
            abort();
        return;
    }
    const struct http_guard_req *q = &h->q;
    if (!q->target || q->target[0] != '/' || q->target_len > HG_LIMIT ||
        q->header_bytes > HG_LIMIT || q->has_transfer_encoding ||
        v->has_length != (q->n_content_length > 0))
        abort();
    for (size_t i = 0; i < q->n_content_length; i++) {
        unsigned long long n;
        if (http_guard_content_length(q->content_length[i], &n) != 0 || n != v->length)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    http_guard_request_line((const char *)data, size);
    char *text = sr_strndup((const char *)data, size);
    struct hg_head h = {{0}};
    char *save = text;
    for (int first = 1; save;) {
        char *line = save, *nl = strchr(save, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        if (nl && nl > line && nl[-1] == '\r')
            nl[-1] = '\0';
        if (first)
            hg_request_line(&h, line);
        else if (!*line)
            break;
        else
            hg_header(&h, line);
        first = 0;
    }
    h.q.method = h.method;
    h.q.target = h.target;
    h.q.target_len = h.target ? strlen(h.target) : 0;
    h.q.version = h.version;
    h.q.content_length = h.cl;
    h.q.max_target = HG_LIMIT;
    h.q.max_header = HG_LIMIT;
    struct http_guard_verdict v;
    http_guard_check(&h.q, &v);
    hg_check(&h, &v);
    free(text);
    return 0;
}
