/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Suara's one out-of-memory policy: allocation failure is not recoverable in a gateway that must
 * never half-commit, so these wrappers log one line to stderr and abort(). Every module allocates
 * through them (jansson is pointed at them too, see sr_mem_init).
 */
#ifndef SR_MEM_H
#define SR_MEM_H

#include <stddef.h>

void *sr_malloc(size_t n);
void *sr_calloc(size_t n, size_t size);
void *sr_realloc(void *p, size_t n);
char *sr_strdup(const char *s);            /* NULL in, NULL out */
char *sr_strndup(const char *s, size_t n); /* copies at most n bytes, always terminated */
/* Formats into a new heap string (caller frees). */
char *sr_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sr_mem_init(void); /* installs the policy into jansson; call once from main / tests */

#endif
