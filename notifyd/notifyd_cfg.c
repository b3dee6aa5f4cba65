/*  notifyd_cfg.c — notifyd's field tables. */
#include <stdlib.h>

#include "fw_mem.h"
#include "notifyd_cfg.h"

extern const char fw_embed_notifyd_default[];

static const struct fw_cfg_field s_retry_fields[] = {
    {.key = "initial_backoff",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct notifyd_cfg_retry, initial_backoff),
     .def = "500ms",
     .min = 1,
     .max = 3600000},
    {.key = "max_backoff",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct notifyd_cfg_retry, max_backoff),
     .def = "30s",
     .min = 1,
     .max = 86400000},
    {.key = "max_attempts",
     .type = FW_CFG_INT,
     .off = offsetof(struct notifyd_cfg_retry, max_attempts),
     .def = "8",
     .min = 1,
     .max = 100},
    {NULL},
};

static const struct fw_cfg_field s_fields[] = {
    {.key = "timeout",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct notifyd_cfg, timeout),
     .def = "10s",
     .min = 1,
     .max = 600000},
    {.key = "retry",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct notifyd_cfg, retry),
     .child = s_retry_fields},
    {.key = "max_in_flight",
     .type = FW_CFG_INT,
     .off = offsetof(struct notifyd_cfg, max_in_flight),
     .def = "64",
     .min = 1,
     .max = 10000},
    {NULL},
};

struct notifyd_cfg *
notifyd_cfg_load_text(const char *name, const char *text, struct fw_cfg_errors *errs)
{
    struct notifyd_cfg *cfg = fw_calloc(1, sizeof *cfg);
    if (fw_cfg_load(name, text, s_fields, cfg, errs) < 0) {
        notifyd_cfg_destroy(&cfg);
        return NULL;
    }
    return cfg;
}

struct notifyd_cfg *
notifyd_cfg_load(const char *file, struct fw_cfg_errors *errs)
{
    if (file)
        return notifyd_cfg_load_text(file, NULL, errs);
    return notifyd_cfg_load_text("notifyd.example.yml (embedded)", fw_embed_notifyd_default, errs);
}

void
notifyd_cfg_destroy(struct notifyd_cfg **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_cfg_free(s_fields, *self_p);
    free(*self_p);
    *self_p = NULL;
}
