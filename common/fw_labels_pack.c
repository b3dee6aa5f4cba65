/*  fw_labels_pack.c — a label set copied into one allocation (see fw_labels_pack.h).
 */
#include "fw_labels_pack.h"

#include <string.h>

#include "fw_mem.h"

size_t
fw_labels_pack_size(const struct fw_labels *src)
{
    size_t bytes = src->len * sizeof(struct fw_label);
    for (size_t i = 0; i < src->len; i++)
        bytes += strlen(src->items[i].name) + strlen(src->items[i].value) + 2;
    return bytes ? bytes : 1;
}

struct fw_label *
fw_labels_pack_into(void *buf, const struct fw_labels *src)
{
    struct fw_label *items = buf;
    char *p = (char *)(items + src->len);
    for (size_t i = 0; i < src->len; i++) {
        const char *parts[2] = {src->items[i].name, src->items[i].value};
        for (int j = 0; j < 2; j++) {
            size_t n = strlen(parts[j]) + 1;
            memcpy(p, parts[j], n);
            if (j == 0)
                items[i].name = p;
            else
                items[i].value = p;
            p += n;
        }
    }
    return items;
}

struct fw_label *
fw_labels_pack(const struct fw_labels *src)
{
    return fw_labels_pack_into(fw_malloc(fw_labels_pack_size(src)), src);
}
