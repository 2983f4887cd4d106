/* SPDX-License-Identifier: Apache-2.0 */
/* The fuzz inputs' request framing and in-memory files (see fuzz.h). */
#include "fuzz.h"

#include "sr_mem.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void frame_line(struct fuzz_req *r, char *line)
{
    if (line[0] == '?') {
        r->in.query = line + 1;
    } else if (strcmp(line, "!GET") == 0 || strcmp(line, "!POST") == 0) {
        r->in.method = line + 1;
    } else if (strcmp(line, "!sign") == 0) {
        r->sign = 1;
    } else {
        char *colon = strchr(line, ':');
        if (!colon || r->in.n_headers == FUZZ_MAX_HEADERS - 2)
            return; /* two slots stay free for the signature headers a target adds */
        *colon = '\0';
        for (char *p = line; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        char *v = colon + 1;
        v += strspn(v, " \t");
        r->h[r->in.n_headers].name = line;
        r->h[r->in.n_headers++].value = v;
    }
}

void fuzz_req_parse(struct fuzz_req *r, const uint8_t *data, size_t size)
{
    memset(r, 0, sizeof(*r));
    r->text = sr_malloc(size + 1);
    if (size)
        memcpy(r->text, data, size);
    r->text[size] = '\0';
    r->in.method = "POST";
    r->in.path = "/webhooks/fuzz";
    r->in.query = "";
    r->in.headers = r->h;
    const char *blank = size ? memmem(r->text, size, "\n\n", 2) : NULL;
    size_t head = blank ? (size_t)(blank - r->text) + 1 : 0;
    r->in.body = (const unsigned char *)r->text + (blank ? head + 1 : 0);
    r->in.body_len = size - (blank ? head + 1 : 0);
    /* The head: NUL-terminate each line in place (the body keeps its bytes). */
    for (char *line = r->text; blank && line < r->text + head;) {
        char *nl = memchr(line, '\n', (size_t)(r->text + head - line));
        *nl = '\0';
        if (memchr(line, '\0', (size_t)(nl - line)) == NULL)
            frame_line(r, line);
        line = nl + 1;
    }
}

void fuzz_req_set_header(struct fuzz_req *r, const char *name, const char *value)
{
    for (size_t i = 0; i < r->in.n_headers; i++)
        if (strcmp(r->h[i].name, name) == 0) {
            r->h[i].value = value;
            return;
        }
    if (r->in.n_headers < FUZZ_MAX_HEADERS) {
        r->h[r->in.n_headers].name = name;
        r->h[r->in.n_headers++].value = value;
    }
}

void fuzz_req_free(struct fuzz_req *r)
{
    free(r->text);
    memset(r, 0, sizeof(*r));
}

int fuzz_memfile(const uint8_t *data, size_t size, char path[64])
{
    static int fd = -1;
    if (fd < 0 && (fd = memfd_create("suara-fuzz", 0)) < 0)
        return -1;
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return -1;
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return 0;
}
