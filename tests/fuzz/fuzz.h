/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared pieces of the fuzz targets (tests/fuzz/fuzz_<name>.c): the libFuzzer entry point every
 * target defines, a plain-text framing that turns one fuzz input into a raw webhook request
 * (struct sr_http_in) for the channel handlers, and an in-memory file for readers that only
 * take a path. The same target files link with libFuzzer (clang, SUARA_FUZZ=ON) or with the
 * replay driver in replay.c (every build, under ctest).
 */
#ifndef FUZZ_H
#define FUZZ_H

#include "sr_types.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct handler;

#define FUZZ_MAX_HEADERS 16

/* A request framed as text:
 *   line*  "\n"  body
 * where each line before the first empty line is one of
 *   "?<query>"          the raw query string (last one wins)
 *   "!GET" / "!POST"    the method (default POST)
 *   "!sign"             the target adds a correct signature header (fuzz_req.sign = 1)
 *   "<name>: <value>"   a header; the name is lower-cased as the gateway does (at most
 *                       FUZZ_MAX_HEADERS - 2: fuzz_req_set_header always has room for two)
 * and everything after the empty line is the body, byte for byte. Without an empty line the
 * whole input is the body. Owns its strings; free with fuzz_req_free. */
struct fuzz_req {
    struct sr_http_in in;
    struct sr_header h[FUZZ_MAX_HEADERS];
    int sign;
    char *text; /* the copied input the strings point into */
};
void fuzz_req_parse(struct fuzz_req *r, const uint8_t *data, size_t size);
/* Adds (or replaces) a header; name and value borrowed for the request's life. */
void fuzz_req_set_header(struct fuzz_req *r, const char *name, const char *value);
void fuzz_req_free(struct fuzz_req *r);

/* echo.c (handler targets only): every non-status item of b back through format_outbound in
 * each reply style, and req's body through classify_send as a provider answer. */
void fuzz_echo(const struct handler *h, const struct sr_channel_conf *c,
               const struct sr_inbound_batch *b, const struct sr_http_in *req);

/* An in-memory file holding data: its path ("/proc/self/fd/N") in path; -1 on failure. The
 * same descriptor is reused between calls. */
int fuzz_memfile(const uint8_t *data, size_t size, char path[64]);

#endif
