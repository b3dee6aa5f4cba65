/*  fw_mem.h — allocation that never returns NULL.

    Out of memory is not an error a daemon can recover from one call site at a time, so the
    fw_ allocators log and abort() (Redis zmalloc); callers never check for NULL. Tests may
    make the Nth allocation fail with fw_mem_fail_after() to drive the abort path under a
    forked Check test.
*/
#ifndef FW_MEM_H
#define FW_MEM_H

#include <stddef.h>

void *fw_malloc(size_t size);
void *fw_calloc(size_t nmemb, size_t size);
void *fw_realloc(void *ptr, size_t size);
char *fw_strdup(const char *s);
char *fw_strndup(const char *s, size_t n);
// printf into a new string; the caller frees it.
char *fw_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Make the allocation after `n` more succeed... fail (abort). n < 0 disables. Tests only.
void fw_mem_fail_after(long n);

// Allocations made through fw_malloc/fw_calloc/fw_realloc (and so fw_strdup...) since the
// process started, in all threads: tests and benchmarks compare it before and after a call.
unsigned long fw_mem_allocations(void);

// Grow *items (of *cap elements of elem_size) so that it holds at least need elements.
void fw_mem_grow(void **items, size_t *cap, size_t need, size_t elem_size);

#endif
