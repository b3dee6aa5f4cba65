/*  fw_cfg_int.h — what fw_cfg.c and fw_cfg_vpos.c share, not for other modules. */
#ifndef FW_CFG_INT_H
#define FW_CFG_INT_H

#include <stddef.h>
#include <yaml.h>

#include "fw_cfg.h"

// A document's source text (borrowed) and the byte offset of each of its lines (owned,
// built at the first literal block value recorded; libyaml's marks count characters).
struct fw_cfg_src {
    const char *text;
    size_t len;
    size_t *lines;
    size_t n_lines;
};

// Append to l (NULL: nothing) where scalar value v of key sits ("KEY.NAME" when name is
// not NULL: a value of the STR_MAP key), with how its text maps back to src.
void fw_cfg_vpos_add(struct fw_cfg_src *src, struct fw_cfg_vpos_list *l, const char *key,
                     const char *name, const yaml_node_t *v);
// Free l's items and zero it.
void fw_cfg_vpos_list_free(struct fw_cfg_vpos_list *l);
// Free src's line offsets (not its text).
void fw_cfg_src_free(struct fw_cfg_src *src);

#endif
