/*  alertd_cfg_delivery.h — floorwatch's per-receiver delivery extensions in alertmanager.yml
    (Alertmanager has neither; amtool check-config refuses both keys by name):

        receivers:
          - name: pager
            fw_timeout: 5s          # each delivery attempt of this receiver's integrations
            fw_rate_limit:          # at most `requests` requests per `interval`; more wait
              requests: 10          #   (token bucket, bursts up to `requests`) ...
              interval: 1m
              queue: 100            #   ... at most `queue` notifications at a time; beyond
                                    #   that a new one fails at once (reason rate_limited)

    fw_timeout replaces notifyd's `timeout` for this receiver (1ms to 1h). fw_rate_limit
    counts every request (first attempts and retries); requests 1 to 1000000, interval 1ms
    to 24h, queue 0 to 100000 (default 100). alertd checks them at load and sends them with
    each NOTIFY as `delivery` (docs/wire.md); notifyd's delivery actor enforces them.
*/
#ifndef ALERTD_CFG_DELIVERY_H
#define ALERTD_CFG_DELIVERY_H

#include <jansson.h>
#include <stdint.h>

#include "fw_cfg.h"

struct alertd_cfg_receiver;

struct alertd_cfg_rate_limit {
    struct fw_cfg_pos pos; // the receiver's own when the key is absent
    int64_t requests;
    int64_t interval; // ms
    int64_t queue;
};

// The table of fw_rate_limit's keys.
extern const struct fw_cfg_field alertd_cfg_rate_limit_fields[];

// Cross-field checks of r's extensions (fw_rate_limit needs requests and interval); errors
// at file:line:col into errs.
void alertd_cfg_delivery_check(const struct alertd_cfg_receiver *r, const char *file,
                               struct fw_cfg_errors *errs);

// Set notify's "delivery" ({"timeout_ms", "rate_limit": {"requests", "interval_ms",
// "queue"}}, each only when configured) for r; nothing when r has neither.
void alertd_cfg_delivery_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
