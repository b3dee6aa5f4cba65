/*  alertd_cfg_fields.h — private to alertd's receiver config files (alertd_cfg_receivers.c,
    alertd_cfg_teams.c, alertd_cfg_<integration>.c): the fw_cfg field-table entries they all
    write, and the two one-liners each of them uses, once.
*/
#ifndef ALERTD_CFG_FIELDS_H
#define ALERTD_CFG_FIELDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "fw_cfg.h"

// A config string that is given and not empty: Alertmanager's `!= ""` (a key written as ""
// is as good as absent).
static inline bool
alertd_cfg_set(const char *s)
{
    return s && *s;
}

// o[key] = value for NOTIFY's JSON, left out when value is NULL (an empty string is kept).
static inline void
alertd_cfg_put(json_t *o, const char *key, const char *value)
{
    if (value)
        json_object_set_new(o, key, json_string(value));
}

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
