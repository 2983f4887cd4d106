/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An LD_PRELOAD allocation counter for bench/cost.sh: counts malloc, calloc, realloc, the
 * aligned allocators and free per thread, and labels each thread with the function it was started
 * with (pthread_create is wrapped), so a report splits the event-loop workers from the writer and
 * libuv's thread pool. Counting only: every call is passed on to glibc's own allocator.
 *
 * Control, when MALLOCCOUNT_FIFO names a FIFO: a helper thread (all signals blocked) reads lines
 *   mark          remember every thread's counts (the start of the measured window)
 *   dump PATH     write every thread's counts since the last mark to PATH
 * and MALLOCCOUNT_OUT=PATH writes the counts since start at exit (for a quick look at any
 * program). One line per thread:
 *   thread tid=.. start=SYMBOL|FILE+0xOFFSET malloc=.. calloc=.. realloc=.. aligned=.. free=..
 *   bytes=..
 * start is "-" for the main thread; an offset in the executable resolves with
 * `addr2line -f -e EXE 0xOFFSET`. Build: cc -O2 -shared -fPIC -pthread -o malloccount.so
 * malloccount.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

enum { MC_MALLOC, MC_CALLOC, MC_REALLOC, MC_ALIGNED, MC_FREE, MC_BYTES, MC_KINDS };
static const char *const mc_names[MC_KINDS] = {"malloc",  "calloc", "realloc",
                                               "aligned", "free",   "bytes"};

#define MC_SLOTS 256
struct mc_slot {
    void *start;
    long tid;
    uint64_t n[MC_KINDS];
    uint64_t mark[MC_KINDS];
};

static struct mc_slot mc_slots[MC_SLOTS + 1]; /* the last one is shared once the rest are taken */
static unsigned mc_used;
static __thread struct mc_slot *mc_mine __attribute__((tls_model("initial-exec")));
static __thread void *mc_start __attribute__((tls_model("initial-exec")));

static struct mc_slot *mc_slot(void)
{
    if (mc_mine)
        return mc_mine;
    unsigned i = __atomic_fetch_add(&mc_used, 1, __ATOMIC_RELAXED);
    struct mc_slot *s = &mc_slots[i < MC_SLOTS ? i : MC_SLOTS];
    if (i < MC_SLOTS) {
        s->start = mc_start;
        s->tid = syscall(SYS_gettid);
    }
    mc_mine = s;
    return s;
}

/* One thread writes its own slot; the shared overflow slot and the control thread's reads need
 * atomics, relaxed is enough for counters. */
static void mc_count(int kind, size_t bytes)
{
    struct mc_slot *s = mc_slot();
    __atomic_fetch_add(&s->n[kind], 1, __ATOMIC_RELAXED);
    if (bytes)
        __atomic_fetch_add(&s->n[MC_BYTES], bytes, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
    mc_count(MC_MALLOC, n);
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    mc_count(MC_CALLOC, n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    mc_count(MC_REALLOC, n);
    return __libc_realloc(p, n);
}

void free(void *p)
{
    if (p)
        mc_count(MC_FREE, 0);
    __libc_free(p);
}

void *memalign(size_t align, size_t n)
{
    mc_count(MC_ALIGNED, n);
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return 22; /* EINVAL */
    void *p = memalign(align, n);
    if (!p && n)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *valloc(size_t n)
{
    return memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

struct mc_tramp {
    void *(*fn)(void *);
    void *arg;
};

static void *mc_trampoline(void *p)
{
    struct mc_tramp t = *(struct mc_tramp *)p;
    __libc_free(p);
    mc_start = (void *)t.fn;
    if (mc_mine && mc_mine != &mc_slots[MC_SLOTS])
        mc_mine->start = mc_start;
    return t.fn(t.arg);
}

typedef int (*mc_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static mc_create_fn mc_real_create(void)
{
    static mc_create_fn real;
    if (!real)
        real = (mc_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    return real;
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    struct mc_tramp *tr = __libc_malloc(sizeof(*tr));
    if (!tr)
        return 11; /* EAGAIN */
    tr->fn = fn;
    tr->arg = arg;
    int rc = mc_real_create()(t, attr, mc_trampoline, tr);
    if (rc != 0)
        __libc_free(tr);
    return rc;
}

/* How many slots hold counts (the overflow slot included once it is in use). */
static unsigned mc_slots_used(void)
{
    unsigned used = __atomic_load_n(&mc_used, __ATOMIC_RELAXED);
    return used < MC_SLOTS ? used : MC_SLOTS + 1;
}

static void mc_label(void *start, char *buf, size_t len)
{
    Dl_info di;
    if (!start) {
        snprintf(buf, len, "-");
    } else if (!dladdr(start, &di) || !di.dli_fname) {
        snprintf(buf, len, "%p", start);
    } else if (di.dli_sname && di.dli_saddr == start) {
        snprintf(buf, len, "%s", di.dli_sname);
    } else {
        snprintf(buf, len, "%s+0x%lx", di.dli_fname,
                 (unsigned long)((uintptr_t)start - (uintptr_t)di.dli_fbase));
    }
}

/* Writes one line per thread with the counts since the mark (since start if mark is 0). */
static void mc_dump(const char *path, int since_mark)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return;
    for (unsigned i = 0; i < mc_slots_used(); i++) {
        struct mc_slot *s = &mc_slots[i];
        char label[512], line[1024];
        mc_label(s->start, label, sizeof(label));
        int off = snprintf(line, sizeof(line), "thread tid=%ld start=%s", s->tid, label);
        for (int k = 0; k < MC_KINDS; k++) {
            uint64_t v = __atomic_load_n(&s->n[k], __ATOMIC_RELAXED);
            off += snprintf(line + off, sizeof(line) - (size_t)off, " %s=%llu", mc_names[k],
                            (unsigned long long)(v - (since_mark ? s->mark[k] : 0)));
        }
        line[off++] = '\n';
        if (write(fd, line, (size_t)off) != off)
            break;
    }
    close(fd);
}

static void mc_mark(void)
{
    for (unsigned i = 0; i < mc_slots_used(); i++)
        for (int k = 0; k < MC_KINDS; k++)
            mc_slots[i].mark[k] = __atomic_load_n(&mc_slots[i].n[k], __ATOMIC_RELAXED);
}

static void mc_command(char *cmd)
{
    if (strcmp(cmd, "mark") == 0)
        mc_mark();
    else if (strncmp(cmd, "dump ", 5) == 0)
        mc_dump(cmd + 5, 1);
}

/* Reads commands from the FIFO, one per line, reopening it after each writer. */
static void *mc_control(void *fifo)
{
    char buf[1024];
    mc_start = (void *)mc_control;
    for (;;) {
        int fd = open(fifo, O_RDONLY);
        if (fd < 0)
            return NULL;
        size_t got = 0;
        ssize_t r;
        while ((r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
            got += (size_t)r;
            buf[got] = 0;
            char *nl;
            while ((nl = strchr(buf, '\n'))) {
                *nl = 0;
                mc_command(buf);
                got -= (size_t)(nl + 1 - buf);
                memmove(buf, nl + 1, got + 1);
            }
            if (got == sizeof(buf) - 1)
                got = 0;
        }
        close(fd);
    }
}

static void mc_at_exit(void)
{
    const char *out = getenv("MALLOCCOUNT_OUT");
    if (out)
        mc_dump(out, 0);
}

__attribute__((constructor)) static void mc_init(void)
{
    atexit(mc_at_exit);
    char *fifo = getenv("MALLOCCOUNT_FIFO");
    if (!fifo)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits it: no signal lands there */
    pthread_t t;
    if (mc_real_create()(&t, NULL, mc_control, fifo) == 0)
        pthread_detach(t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}
