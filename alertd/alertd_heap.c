/*  alertd_heap.c — fault in the main heap's next pages before the loop needs them.

    perf record -e page-faults on alertd under tools/bench-first-notify.sh put three
    quarters of its faults in _int_malloc carving blocks from the top chunk (the flush's
    payload, the log entries, the NOTIFY's text): the heap grows a little with every new
    group and each fresh page faults on the path to the NOTIFY. The range populated is the
    top chunk's first `bytes`, the top grown to that first. mallinfo2's keepcost is the main
    arena's top chunk, which ends at the break; malloc carves blocks from its start. The
    range is page-aligned and lies in the heap's mapping; pages already present are left as
    they are, and MADV_POPULATE_WRITE never changes data.
*/
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alertd_heap.h"

#define S_GROW_TRIES 8

// The top chunk's size (0 without one, e.g. under a sanitizer's allocator).
static size_t
s_top(void)
{
    struct mallinfo2 mi = mallinfo2(); // walks the free lists: housekeeping, not the path
    return mi.keepcost;
}

ssize_t
alertd_heap_prefault(size_t bytes)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (bytes > ALERTD_HEAP_PREFAULT_MAX)
        bytes = ALERTD_HEAP_PREFAULT_MAX;
    size_t top = s_top();
    // Blocks of `bytes` held until one is carved from the top, which extends the break by
    // it and glibc's 128 KiB pad (earlier ones may come from free chunks, already paged
    // in), then all given back: the top is then at least `bytes`. Nothing is written but
    // headers.
    void *held[S_GROW_TRIES];
    size_t n = 0;
    while (top > 0 && top < bytes && n < S_GROW_TRIES) {
        held[n++] = malloc(bytes);
        top = s_top();
    }
    while (n > 0)
        free(held[--n]);
    top = s_top();
    // The top chunk ends at the break, and malloc carves blocks from its start upwards.
    void *brk = sbrk(0);
    uintptr_t end = (uintptr_t)brk & ~(page - 1); // the page at the break is not mapped
    if (brk == (void *)-1 || top < page || end < top)
        return 0;
    uintptr_t start = ((uintptr_t)brk - top) & ~(page - 1); // its first page is held already
    if (end - start > bytes)
        end = (start + bytes) & ~(page - 1);
    if (start >= end)
        return 0;
    if (madvise((void *)start, end - start, MADV_POPULATE_WRITE) < 0)
        return -1;
    return (ssize_t)(end - start);
}
