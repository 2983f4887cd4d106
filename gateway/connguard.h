/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Connection guard: what keeps a slowloris from one address (or many) from taking every
 * connection slot. Two halves, both pure (no sockets, no event loop, time is passed in):
 *   admission: caps on open connections per client address (an IPv4 address, an IPv6 /64) and
 *     in total across every worker thread of the process, checked before a connection is
 *     adopted; a trusted proxy's address may get its own (higher) cap;
 *   deadlines: each admitted connection is in one phase at a time and each phase has one
 *     deadline: the request head (header_ms from the accept, or less: connguard_silent), the
 *     body (an average of at least body_min_rate bytes/s once body_grace_ms have passed since
 *     the head), the keep-alive idle wait (idle_ms from the previous answer until the next
 *     request's head is complete). While a request is being answered, or once the connection is
 *     a WebSocket, it has none.
 * The worker (worker.c) owns the event-loop side: it admits in on_accept, moves phases from the
 * libwebsockets callbacks, scans its connections from a timer and closes the expired ones.
 *
 * Thread safety: connguard_admit and connguard_release lock the guard; a struct connguard_conn
 * is used by the one worker thread that admitted it.
 */
#ifndef CONNGUARD_H
#define CONNGUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONNGUARD_REFUSALS(X)                                                                      \
    X(OK, "ok")                                                                                    \
    X(PER_ADDRESS, "per_address") /* this address (or /64) has its cap of connections */           \
    X(TOTAL, "total")             /* the process has max_connections open */

enum connguard_verdict {
#define CG_V_ENUM(name, text) CONNGUARD_##name,
    CONNGUARD_REFUSALS(CG_V_ENUM)
#undef CG_V_ENUM
};
const char *connguard_verdict_name(enum connguard_verdict v);

#define CONNGUARD_PHASES(X)                                                                        \
    X(HEADER, "header") /* waiting for a request head */                                           \
    X(BODY, "body")     /* receiving a request body */                                             \
    X(BUSY, "busy")     /* the request is complete and being answered: no deadline */              \
    X(IDLE, "idle")     /* keep-alive between an answer and the next request's head */             \
    X(OPEN, "open")     /* upgraded (WebSocket, h2): no deadline of ours */

enum connguard_phase {
#define CG_P_ENUM(name, text) CONNGUARD_P_##name,
    CONNGUARD_PHASES(CG_P_ENUM)
#undef CG_P_ENUM
};
const char *connguard_phase_name(enum connguard_phase p);

struct connguard_conf {
    size_t max_total;       /* connections open in the process */
    size_t max_per_address; /* per client address (IPv4) or /64 (IPv6) */
    size_t max_per_proxy;   /* per trusted proxy address; 0 = only max_total applies */
    int64_t header_ms;      /* whole request head, from the accept */
    int64_t idle_ms;        /* keep-alive: from an answer to the next complete head */
    uint64_t body_min_rate; /* bytes/s averaged over the body so far; 0 = no rate check */
    int64_t body_grace_ms;  /* the rate is not checked before this */
    /* Is this peer a trusted reverse proxy ([server] trust_proxy)? NULL = none is. */
    int (*is_proxy)(const struct sockaddr *sa, void *ud);
    void *is_proxy_ud;
};

/* One admitted connection. Fields are the guard's; list and owner are the worker's. */
struct connguard_conn {
    struct connguard_conn *prev, *next; /* the worker's list of its connections */
    void *owner;                        /* the worker's handle (the lws wsi) */
    unsigned char key[16];              /* the address or /64 it counts against */
    int proxy;                          /* counted against max_per_proxy */
    enum connguard_phase phase;
    int64_t phase_start_ms;
    uint64_t body_bytes;
    unsigned flags; /* the worker's bookkeeping (adopting, destroyed, expired) */
};

/* conf: copied. */
struct connguard *connguard_new(const struct connguard_conf *conf);
void connguard_free(struct connguard *g); /* NULL is fine */

/* Admits a connection from sa (AF_INET / AF_INET6; an IPv4-mapped IPv6 address counts as the
 * IPv4 address) or refuses it. On CONNGUARD_OK *out is a new connection in the HEADER phase
 * (owned by the caller until connguard_release). Thread-safe. */
enum connguard_verdict connguard_admit(struct connguard *g, const struct sockaddr *sa,
                                       int64_t now_ms, struct connguard_conn **out);
/* Gives back c's slot and frees c. NULL is fine. Thread-safe. */
void connguard_release(struct connguard *g, struct connguard_conn *c);
/* Connections open in the process (admitted, not yet released). */
size_t connguard_open(struct connguard *g);

/* Moves c to phase p as of now_ms (a new phase restarts its clock and body count). */
void connguard_set_phase(struct connguard_conn *c, enum connguard_phase p, int64_t now_ms);
/* Counts n body bytes received. */
void connguard_body(struct connguard_conn *c, size_t n);
/* The listening socket defers accepts until the peer sends (TCP_DEFER_ACCEPT of at least
 * header_ms), yet c arrived with nothing to read: its peer has been silent since the handshake
 * for header_ms or more (the kernel gave up waiting), or the kernel could not defer (SYN cookies
 * under a SYN flood). Either way c's head deadline becomes CONNGUARD_SILENT_GRACE_MS (at most
 * header_ms) from now_ms, instead of header_ms. */
#define CONNGUARD_SILENT_GRACE_MS 1000
void connguard_silent(const struct connguard *g, struct connguard_conn *c, int64_t now_ms);
/* Has c's current phase run out of time at now_ms? */
int connguard_expired(const struct connguard *g, const struct connguard_conn *c, int64_t now_ms);

#endif
