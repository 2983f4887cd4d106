/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inbound spool (see spool.h): one append-only file, inbound.spool, in [server] spool_dir.
 * Appends and the replay cursor share one mutex; the file is written with one write() per
 * record and fdatasync'd before spool_append returns, so a 200 is never sent for a record that
 * is not on disk. Only the claimant moves the cursor; appends go on meanwhile at the end.
 */
#include "spool.h"

#include "sr_log.h"
#include "sr_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_FILE "inbound.spool"
#define MAGIC "SPR1"
#define HEAD_LEN 16             /* magic, u32 length, 8 checksum bytes */
#define MAX_PAYLOAD (64u << 20) /* a request body is at most 64 MiB ([server] body_limit) */
#define MAX_HEADERS 64

struct spool {
    pthread_mutex_t mu;
    int fd;
    uint64_t max_bytes;
    uint64_t size;   /* end of the last whole record */
    uint64_t cursor; /* start of the next record to replay */
    uint64_t peeked; /* length of the record handed out by spool_peek, 0 if none */
    size_t records;  /* records after the cursor */
    int claimed;
};

/* ---- encoding ---- */

struct enc {
    unsigned char *p;
    size_t len, cap;
};

static void enc_raw(struct enc *e, const void *src, size_t n)
{
    if (e->len + n > e->cap) {
        e->cap = (e->len + n) * 2;
        e->p = sr_realloc(e->p, e->cap);
    }
    memcpy(e->p + e->len, src, n);
    e->len += n;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void enc_u32(struct enc *e, uint32_t v)
{
    unsigned char b[4];
    put_u32(b, v);
    enc_raw(e, b, 4);
}

static void enc_bytes(struct enc *e, const void *p, size_t n)
{
    enc_u32(e, (uint32_t)n);
    enc_raw(e, p, n);
}

static void enc_str(struct enc *e, const char *s)
{
    enc_bytes(e, s ? s : "", s ? strlen(s) : 0);
}

/* The whole framed record of one request. */
static struct enc encode(const char *channel, int64_t received_ms, const struct sr_http_in *in)
{
    struct enc e = {sr_malloc(256 + in->body_len), HEAD_LEN, 256 + in->body_len};
    uint64_t t = (uint64_t)received_ms;
    enc_u32(&e, (uint32_t)t);
    enc_u32(&e, (uint32_t)(t >> 32));
    enc_str(&e, channel);
    enc_str(&e, in->method);
    enc_str(&e, in->path);
    enc_str(&e, in->query);
    enc_u32(&e, (uint32_t)in->n_headers);
    for (size_t i = 0; i < in->n_headers; i++) {
        enc_str(&e, in->headers[i].name);
        enc_str(&e, in->headers[i].value);
    }
    enc_bytes(&e, in->body, in->body_len);
    unsigned char sum[SHA256_DIGEST_LENGTH];
    SHA256(e.p + HEAD_LEN, e.len - HEAD_LEN, sum);
    memcpy(e.p, MAGIC, 4);
    put_u32(e.p + 4, (uint32_t)(e.len - HEAD_LEN));
    memcpy(e.p + 8, sum, 8);
    return e;
}

/* ---- decoding ---- */

struct dec {
    unsigned char *p;
    size_t len, at;
    int bad;
};

static uint32_t dec_u32(struct dec *d)
{
    if (d->bad || d->len - d->at < 4) {
        d->bad = 1;
        return 0;
    }
    uint32_t v = get_u32(d->p + d->at);
    d->at += 4;
    return v;
}

/* A length-prefixed field, NUL-terminated in place by moving it one byte left over its own
 * length prefix (the prefix is no longer needed). */
static char *dec_str(struct dec *d, size_t *n)
{
    uint32_t len = dec_u32(d);
    if (d->bad || d->len - d->at < len) {
        d->bad = 1;
        return NULL;
    }
    char *s = (char *)d->p + d->at - 1;
    memmove(s, d->p + d->at, len);
    s[len] = '\0';
    d->at += len;
    if (n)
        *n = len;
    return s;
}

static enum sr_err decode(unsigned char *payload, size_t len, struct spool_record *r)
{
    struct dec d = {payload, len, 0, 0};
    uint64_t lo = dec_u32(&d), hi = dec_u32(&d);
    r->storage = payload;
    r->received_ms = (int64_t)(lo | hi << 32);
    r->channel = dec_str(&d, NULL);
    r->in.method = dec_str(&d, NULL);
    r->in.path = dec_str(&d, NULL);
    r->in.query = dec_str(&d, NULL);
    uint32_t nh = dec_u32(&d);
    if (d.bad || nh > MAX_HEADERS)
        return SR_E_INVALID;
    r->headers = sr_calloc(nh ? nh : 1, sizeof(*r->headers));
    for (uint32_t i = 0; i < nh; i++) {
        r->headers[i].name = dec_str(&d, NULL);
        r->headers[i].value = dec_str(&d, NULL);
    }
    r->in.headers = r->headers;
    r->in.n_headers = nh;
    r->in.body = (const unsigned char *)dec_str(&d, &r->in.body_len);
    return d.bad || d.at != len ? SR_E_INVALID : SR_E_OK;
}

void spool_record_clear(struct spool_record *r)
{
    if (!r)
        return;
    free(r->headers);
    free(r->storage);
    memset(r, 0, sizeof(*r));
}

/* ---- file ---- */

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    return 0;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads the record at off: its payload (malloc'ed) and its framed length. -1 when there is no
 * whole, intact record there. */
static int read_record(int fd, uint64_t off, uint64_t end, unsigned char **payload,
                       uint64_t *framed)
{
    unsigned char h[HEAD_LEN];
    if (end - off < HEAD_LEN || read_at(fd, h, HEAD_LEN, off) != 0 || memcmp(h, MAGIC, 4) != 0)
        return -1;
    uint32_t len = get_u32(h + 4);
    if (len > MAX_PAYLOAD || end - off - HEAD_LEN < len)
        return -1;
    unsigned char *p = sr_malloc(len ? len : 1);
    unsigned char sum[SHA256_DIGEST_LENGTH];
    if (read_at(fd, p, len, off + HEAD_LEN) != 0 || !SHA256(p, len, sum) ||
        memcmp(sum, h + 8, 8) != 0) {
        free(p);
        return -1;
    }
    *payload = p;
    *framed = HEAD_LEN + (uint64_t)len;
    return 0;
}

/* Counts the whole records from the start; cuts off whatever follows the last one. */
static int scan(struct spool *s, struct spool_open_report *rep, struct sr_errbuf *eb)
{
    struct stat st;
    if (fstat(s->fd, &st) != 0)
        return sr_errf(eb, SR_E_IO, "spool: stat: %s", strerror(errno)), -1;
    uint64_t end = (uint64_t)st.st_size, off = 0, framed = 0;
    unsigned char *p = NULL;
    while (off < end && read_record(s->fd, off, end, &p, &framed) == 0) {
        free(p);
        off += framed;
        s->records++;
    }
    if (off < end && (ftruncate(s->fd, (off_t)off) != 0 || fdatasync(s->fd) != 0))
        return sr_errf(eb, SR_E_IO, "spool: cutting a torn record: %s", strerror(errno)), -1;
    s->size = off;
    *rep = (struct spool_open_report){s->records, off, end - off};
    return 0;
}

/* mkdir dir (one level) and open the file; *created when the file is new. */
static int open_file(const char *dir, int *created, struct sr_errbuf *eb)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return sr_errf(eb, SR_E_IO, "[server] spool_dir %s: %s", dir, strerror(errno)), -1;
    char *path = sr_asprintf("%s/" SPOOL_FILE, dir);
    struct stat st;
    *created = stat(path, &st) != 0;
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0)
        return sr_errf(eb, SR_E_IO, "[server] spool_dir %s: %s", dir, strerror(errno)), -1;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return sr_errf(eb, SR_E_IO, "[server] spool_dir %s: in use by another suara process", dir),
               -1;
    }
    return fd;
}

/* A new file's name is durable only once its folder is synced. */
static int sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    int rc = fsync(dfd);
    close(dfd);
    return rc;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, struct spool_open_report *rep,
                         struct sr_errbuf *eb)
{
    int created = 0;
    int fd = open_file(dir, &created, eb);
    if (fd < 0)
        return NULL;
    if (created && (fsync(fd) != 0 || sync_dir(dir) != 0)) {
        sr_errf(eb, SR_E_IO, "[server] spool_dir %s: fsync: %s", dir, strerror(errno));
        close(fd);
        return NULL;
    }
    struct spool *s = sr_calloc(1, sizeof(*s));
    s->fd = fd;
    s->max_bytes = max_bytes;
    pthread_mutex_init(&s->mu, NULL);
    struct spool_open_report r0;
    if (scan(s, rep ? rep : &r0, eb) != 0) {
        spool_close(s);
        return NULL;
    }
    return s;
}

void spool_close(struct spool *s)
{
    if (!s)
        return;
    close(s->fd); /* releases the flock */
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- appending ---- */

static enum sr_err append_locked(struct spool *s, const struct enc *e, struct sr_errbuf *eb)
{
    if (s->size + e->len > s->max_bytes)
        return sr_errf(eb, SR_E_UNAVAILABLE, "inbound spool full ([server] spool_max_bytes)");
    if (write_all(s->fd, e->p, e->len) != 0 || fdatasync(s->fd) != 0) {
        int err = errno;
        if (ftruncate(s->fd, (off_t)s->size) != 0) /* keep the file whole records only */
            SR_LOG(ERROR, "spool", NULL, "cutting a failed append: %s", strerror(errno));
        return sr_errf(eb, SR_E_IO, "inbound spool write: %s", strerror(err));
    }
    s->size += e->len;
    s->records++;
    return SR_E_OK;
}

enum sr_err spool_append(struct spool *s, const char *channel, int64_t received_ms,
                         const struct sr_http_in *in, struct sr_errbuf *eb)
{
    struct enc e = encode(channel, received_ms, in);
    pthread_mutex_lock(&s->mu);
    enum sr_err err = append_locked(s, &e, eb);
    pthread_mutex_unlock(&s->mu);
    free(e.p);
    return err;
}

size_t spool_records(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->records;
    pthread_mutex_unlock(&s->mu);
    return n;
}

uint64_t spool_bytes(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->size;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- replaying ---- */

int spool_claim(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    int got = !s->claimed && s->records > 0;
    if (got)
        s->claimed = 1;
    pthread_mutex_unlock(&s->mu);
    return got;
}

void spool_release(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    s->claimed = 0;
    s->peeked = 0;
    pthread_mutex_unlock(&s->mu);
}

enum sr_err spool_peek(struct spool *s, struct spool_record *out, struct sr_errbuf *eb)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->mu);
    uint64_t off = s->cursor, end = s->size, framed = 0;
    pthread_mutex_unlock(&s->mu);
    if (off >= end)
        return SR_E_NOT_FOUND;
    unsigned char *p = NULL;
    if (read_record(s->fd, off, end, &p, &framed) != 0)
        return sr_errf(eb, SR_E_IO, "inbound spool: cannot read the record at %llu",
                       (unsigned long long)off);
    s->peeked = framed; /* claimant only */
    enum sr_err e = decode(p, framed - HEAD_LEN, out);
    if (e != SR_E_OK) {
        spool_record_clear(out);
        return sr_errf(eb, e, "inbound spool: undecodable record at %llu", (unsigned long long)off);
    }
    return SR_E_OK;
}

/* Every record replayed and nothing appended meanwhile: start the file again from zero. */
static void reset_if_drained(struct spool *s)
{
    if (s->cursor < s->size)
        return;
    if (ftruncate(s->fd, 0) != 0 || fdatasync(s->fd) != 0) {
        SR_LOG(ERROR, "spool", NULL, "truncating the replayed spool: %s", strerror(errno));
        return; /* the records stay: a restart replays them again, deduplicated */
    }
    s->size = s->cursor = 0;
}

void spool_done(struct spool *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->peeked) {
        s->cursor += s->peeked;
        s->peeked = 0;
        if (s->records > 0)
            s->records--;
        reset_if_drained(s);
    }
    pthread_mutex_unlock(&s->mu);
}
