/*  alertd_cfg_delivery.c — see alertd_cfg_delivery.h. */
#include "alertd_cfg_delivery.h"
#include "alertd_cfg.h"
#include "alertd_cfg_fields.h"

#define T struct alertd_cfg_rate_limit
const struct fw_cfg_field alertd_cfg_rate_limit_fields[] = {
    F_POS(T, pos),
    {.key = "requests", .type = FW_CFG_INT, .off = offsetof(T, requests), .min = 1, .max = 1e6},
    {.key = "interval",
     .type = FW_CFG_DURATION,
     .off = offsetof(T, interval),
     .min = 1,
     .max = 86400000},
    {.key = "queue", .type = FW_CFG_INT, .off = offsetof(T, queue), .def = "100", .max = 1e5},
    {NULL},
};
#undef T

void
alertd_cfg_delivery_check(const struct alertd_cfg_receiver *r, const char *file,
                          struct fw_cfg_errors *errs)
{
    const struct alertd_cfg_rate_limit *l = &r->fw_rate_limit;
    // An absent struct's position is its receiver's (fw_cfg gives the enclosing mapping's).
    if (l->pos.line == 0 || (l->pos.line == r->pos.line && l->pos.col == r->pos.col))
        return;
    if (l->requests == 0)
        fw_cfg_errors_add(errs, file, l->pos, "fw_rate_limit: requests must be configured");
    if (l->interval == 0)
        fw_cfg_errors_add(errs, file, l->pos, "fw_rate_limit: interval must be configured");
}

void
alertd_cfg_delivery_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r || (r->fw_timeout == 0 && r->fw_rate_limit.requests == 0))
        return;
    json_t *d = json_object();
    if (r->fw_timeout > 0)
        json_object_set_new(d, "timeout_ms", json_integer(r->fw_timeout)); // steals
    const struct alertd_cfg_rate_limit *l = &r->fw_rate_limit;
    if (l->requests > 0)
        json_object_set_new(d, "rate_limit", // steals the packed object
                            json_pack("{s:I, s:I, s:I}", "requests", (json_int_t)l->requests,
                                      "interval_ms", (json_int_t)l->interval, "queue",
                                      (json_int_t)l->queue));
    json_object_set_new(notify, "delivery", d); // steals
}
