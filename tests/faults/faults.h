/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fault harness's world (see README.md): one scenario = a private redis-server, the recording
 * provider (recording_provider.py), the real gateway with two workers, a paced load of signed
 * WhatsApp webhooks from distinct fake senders (each expecting exactly one reply), one fault in
 * the middle of it, then a bounded wait for quiescence and exact counts of what happened.
 */
#ifndef FAULTS_H
#define FAULTS_H

#include <stddef.h>

enum faults_kind {
    FK_PROVIDER_DOWN,   /* the provider process stopped, started again after the duration */
    FK_PROVIDER_STATUS, /* every send answered `status` (+ Retry-After) for the duration */
    FK_PROVIDER_SLOW,   /* every send answered only after delay_ms for the duration */
    FK_GATEWAY_KILL,    /* gateway SIGKILLed, started again after the duration */
    FK_GATEWAY_TERM,    /* gateway SIGTERMed (drains), started again at once */
    FK_REDIS_KILL,      /* redis-server SIGKILLed, started again (same AOF) after the duration */
};

/* One scenario. Durations are the full-size ones; the run's scale multiplies them. */
struct faults_scenario {
    const char *name;
    enum faults_kind kind;
    int duration_ms;
    int status, retry_after_s, delay_ms;
};

/* Parameters of a run, from the environment (FAULTS_SIZE=small|full and overrides). */
struct faults_params {
    int messages;              /* distinct senders, one webhook each */
    int rate;                  /* webhooks per second (paced: open loop) */
    int threads;               /* concurrent posters */
    double scale;              /* multiplies every duration, the sender's timeout and backoff */
    int settle_ms;             /* quiet time (nothing moving) that counts as quiescent */
    int quiesce_ms;            /* bound of the wait for quiescence after the load */
    const char *repeat_metric; /* the gateway's counter of possible repeats */
    const char *extra_ini;     /* appended to the generated config (FAULTS_EXTRA_INI), or NULL */
};

/* What a scenario measured. */
struct faults_result {
    int messages, acked, delivered, lost, duplicates, extra_sends;
    long long db_surveys, db_distinct, db_started_events;
    long long pending, undelivered, dead;
    double repeats_metric;
    long long fault_ms; /* the fault's measured length */
    long long
        recovery_ms;    /* its end -> quiescent (the last change), the rest of the load included */
    long long drain_ms; /* the end of both load and fault -> quiescent (the last change) */
    int quiescent, gateway_exit;
};

const struct faults_scenario *faults_find(const char *name);
void faults_params_load(struct faults_params *p);
/* Runs one scenario end to end; 0 if it ran (whatever it measured), -1 if the world could not
 * be set up. Everything started is stopped by PID before returning. */
int faults_run(const struct faults_scenario *sc, const struct faults_params *p,
               struct faults_result *out);
/* One line "FAULTS name=... lost=... ..." on stdout (run.sh collects them). */
void faults_print(const struct faults_scenario *sc, const struct faults_result *r);

#endif
