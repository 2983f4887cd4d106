/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inbound spool: verified webhooks that cannot be made durable in Redis (it is unreachable,
 * or a commit came back "not durable") are appended to one local file and fsync'd before the
 * provider gets its 200, then replayed in order through the same pipeline once Redis is back.
 *
 * One spool per process, shared by every worker (a mutex); the file is locked with flock so a
 * second process cannot use the same folder. Records are appended whole, each framed as
 *   "SPR1" | u32 payload length | 8 bytes of SHA-256(payload) | payload
 * (little-endian), the payload being the receive time and the request as the handler parses it
 * (channel, method, path, query, headers, body). A torn or corrupt tail (a crash mid-write: it
 * was never answered 200) is found by the framing or the checksum at open and cut off.
 *
 * Replay: one claimant at a time (spool_claim) reads the next record (spool_peek), runs it, and
 * only after its commit is acknowledged calls spool_done, which moves past it; when every
 * record is replayed the file is truncated to zero. A crash mid-replay replays from the start
 * of the file at the next start: the store's dedupe makes a second run of a committed message
 * change nothing.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include "sr_error.h"
#include "sr_types.h"

#include <stddef.h>
#include <stdint.h>

struct spool;

/* What open found: records kept and bytes cut off (a torn or corrupt tail). */
struct spool_open_report {
    size_t records;
    uint64_t bytes;
    uint64_t dropped_bytes;
};

/* Opens (creating dir and file as needed, fsyncing the folder on creation) and scans the spool.
 * max_bytes bounds the file. NULL on failure (eb names the folder and the reason). */
struct spool *spool_open(const char *dir, uint64_t max_bytes, struct spool_open_report *rep,
                         struct sr_errbuf *eb);
void spool_close(struct spool *s); /* NULL is fine */

/* Appends one request and fsyncs it. SR_E_UNAVAILABLE when the spool is full, SR_E_IO on a
 * write or fsync error (nothing is kept then). Borrowed: everything. Thread-safe. */
enum sr_err spool_append(struct spool *s, const char *channel, int64_t received_ms,
                         const struct sr_http_in *in, struct sr_errbuf *eb);

/* Records not yet replayed, and the file's size in bytes. Thread-safe. */
size_t spool_records(struct spool *s);
uint64_t spool_bytes(struct spool *s);

/* A record read back; owns its memory (spool_record_clear). */
struct spool_record {
    char *channel;
    int64_t received_ms;
    struct sr_http_in in; /* points into storage */
    struct sr_header *headers;
    unsigned char *storage;
};
void spool_record_clear(struct spool_record *r);

/* Takes the replay role: 1 if this caller has it now (and must end with spool_release), 0 if
 * another worker has it or nothing is waiting. */
int spool_claim(struct spool *s);
void spool_release(struct spool *s);
/* The next record to replay (claimant only): SR_E_OK, SR_E_NOT_FOUND when every record is
 * replayed, SR_E_INVALID for an unreadable record (skip it with spool_done), SR_E_IO. */
enum sr_err spool_peek(struct spool *s, struct spool_record *out, struct sr_errbuf *eb);
/* The peeked record is durable elsewhere (or given up): move past it (claimant only). */
void spool_done(struct spool *s);

#endif
