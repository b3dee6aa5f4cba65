/*  fw_labels_pack.h — a label set copied into one allocation.

    fw_labels_copy() allocates the items array and every name and value apart: 11
    allocations for a set of 5 labels, scattered over the heap. A table that keeps a copy per
    series (the scraper's staleness memory, the metric relabeling cache) pays that in memory
    (malloc overhead per string) and in time (a comparison chases a pointer per string). A
    packed set is the items array followed by its strings in one block: one allocation, and
    a comparison reads one contiguous run of memory.

    Read a packed set through a struct fw_labels view ({items, len, len}): fw_labels_cmp,
    fw_labels_hash, fw_batch_add_series (which copies) all work on it. Never
    fw_labels_set/del/clear it: free the block with free(items).
*/
#ifndef FW_LABELS_PACK_H
#define FW_LABELS_PACK_H

#include "fw_labels.h"

// A packed copy of src (src->len items): the block to free(). Never NULL, also for an
// empty set.
struct fw_label *fw_labels_pack(const struct fw_labels *src);

// The bytes a packed copy of src takes (at least 1), for fw_labels_pack_into.
size_t fw_labels_pack_size(const struct fw_labels *src);
// Pack src into buf, fw_labels_pack_size(src) bytes aligned for a pointer: the items, at buf
// (borrowed from the caller's block: never free() them alone).
struct fw_label *fw_labels_pack_into(void *buf, const struct fw_labels *src);

// The view of a packed block of len items.
static inline struct fw_labels
fw_labels_pack_view(struct fw_label *items, size_t len)
{
    return (struct fw_labels){items, len, len};
}

#endif
