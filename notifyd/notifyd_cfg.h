/*  notifyd_cfg.h — notifyd's own small config: timeouts, retries and concurrency.

    Loaded through fw_cfg tables (file:line:col errors). Everything about receivers comes
    with each NOTIFY message, so notifyd needs no copy of alertmanager.yml.
*/
#ifndef NOTIFYD_CFG_H
#define NOTIFYD_CFG_H

#include <stdint.h>

#include "fw_cfg.h"

struct notifyd_cfg_retry {
    int64_t initial_backoff; // ms, default 500ms
    int64_t max_backoff;     // ms, default 30s
    int64_t max_attempts;    // default 8
};

struct notifyd_cfg {
    int64_t timeout; // ms per HTTP attempt, default 10s
    struct notifyd_cfg_retry retry;
    int64_t max_in_flight; // concurrent requests, default 64
};

// Load file (or the embedded default when NULL) into a new config; NULL with errs filled.
struct notifyd_cfg *notifyd_cfg_load(const char *file, struct fw_cfg_errors *errs);
// As notifyd_cfg_load from text, named `name` in messages.
struct notifyd_cfg *notifyd_cfg_load_text(const char *name, const char *text,
                                          struct fw_cfg_errors *errs);
void notifyd_cfg_destroy(struct notifyd_cfg **self_p);

#endif
