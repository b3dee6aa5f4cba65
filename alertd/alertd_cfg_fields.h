/*  alertd_cfg_fields.h — private to alertd's receiver config files (alertd_cfg_receivers.c,
    alertd_cfg_teams.c): the fw_cfg field-table entries they all write, once.
*/
#ifndef ALERTD_CFG_FIELDS_H
#define ALERTD_CFG_FIELDS_H

#include <stddef.h>

#include "fw_cfg.h"

#define F_STR(k, T, m)                                                                             \
    {                                                                                              \
        .key = k, .type = FW_CFG_STR, .off = offsetof(T, m)                                        \
    }
#define F_POS(T, m)                                                                                \
    {                                                                                              \
        .key = "", .type = FW_CFG_POS, .off = offsetof(T, m)                                       \
    }
#define F_VPOS(T, m)                                                                               \
    {                                                                                              \
        .key = "", .type = FW_CFG_VALUE_POS, .off = offsetof(T, m)                                 \
    }
#define F_BOOL(k, T, m, d)                                                                         \
    {                                                                                              \
        .key = k, .type = FW_CFG_BOOL, .off = offsetof(T, m), .def = d                             \
    }
// A key floorwatch refuses: file:line:col, "not supported by floorwatch (why)".
#define F_WHY(k, why)                                                                              \
    {                                                                                              \
        .key = (k), .type = FW_CFG_UNSUPPORTED, .note = (why)                                      \
    }

#endif
