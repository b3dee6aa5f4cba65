/*  fw_mem.c — allocation that aborts on failure (Redis zmalloc).

    The failure hook counts allocations down so a test can drive the abort path; it is a
    process-wide counter, which is fine because only tests set it.
*/
#include "fw_mem.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long s_fail_after = -1;
static atomic_ulong s_allocations;

static void *
s_check(void *p, size_t size)
{
    if (!p && size > 0) {
        fprintf(stderr, "level=error event=oom bytes=%zu\n", size);
        abort();
    }
    return p;
}

static void
s_maybe_fail(size_t size)
{
    atomic_fetch_add_explicit(&s_allocations, 1, memory_order_relaxed);
    if (s_fail_after < 0)
        return;
    if (s_fail_after-- == 0)
        s_check(NULL, size ? size : 1);
}

void
fw_mem_fail_after(long n)
{
    s_fail_after = n;
}

unsigned long
fw_mem_allocations(void)
{
    return atomic_load_explicit(&s_allocations, memory_order_relaxed);
}

void *
fw_malloc(size_t size)
{
    s_maybe_fail(size);
    return s_check(malloc(size ? size : 1), size ? size : 1);
}

void *
fw_calloc(size_t nmemb, size_t size)
{
    s_maybe_fail(size);
    if (nmemb == 0 || size == 0)
        nmemb = size = 1;
    return s_check(calloc(nmemb, size), nmemb * size);
}

void *
fw_realloc(void *ptr, size_t size)
{
    s_maybe_fail(size);
    return s_check(realloc(ptr, size ? size : 1), size ? size : 1);
}

char *
fw_strdup(const char *s)
{
    return fw_strndup(s, strlen(s));
}

char *
fw_strndup(const char *s, size_t n)
{
    char *p = fw_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
fw_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *p = fw_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void
fw_mem_grow(void **items, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    *items = fw_realloc(*items, ncap * elem_size);
    memset((char *)*items + *cap * elem_size, 0, (ncap - *cap) * elem_size);
    *cap = ncap;
}
