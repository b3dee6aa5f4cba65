/*  alertd_heap.h — fault in the main heap's next pages before the loop needs them.

    glibc's main arena grows by brk and keeps up to M_TOP_PAD (128 KiB by default) of the
    break ahead of what it has handed out. Those pages are mapped but not yet touched, so
    the first block carved from each costs a page fault (11-15 us on the bench VM, about
    1.5 a first notification). alertd_heap_prefault() has the kernel populate them
    (MADV_POPULATE_WRITE: writable, zero-filled where new, contents kept where present), so
    the loop calls it from its 1 Hz housekeeping and the flush path finds them ready.
*/
#ifndef ALERTD_HEAP_H
#define ALERTD_HEAP_H

#include <stddef.h>
#include <sys/types.h>

// Most a call populates: below glibc's mmap threshold (128 KiB), so the top can be grown.
#define ALERTD_HEAP_PREFAULT_MAX (120 * 1024)

// Grow the main arena's top chunk to `bytes` (at most ALERTD_HEAP_PREFAULT_MAX) when it is
// smaller, and populate its first `bytes` (malloc carves blocks from there upwards).
// Returns the bytes asked of the kernel (0 when there is no top chunk to populate, e.g.
// under AddressSanitizer's allocator), or -1 when madvise refused (a kernel before 5.14:
// EINVAL); harmless either way. Costs a walk of malloc's free lists (mallinfo2) and the
// faults themselves: call it where a millisecond does not matter (housekeeping).
ssize_t alertd_heap_prefault(size_t bytes);

#endif
