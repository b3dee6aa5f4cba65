/*  slod_cfg.h — slod's configuration: service level objectives and their indicators.

        evaluation_interval: 30s              how often every SLO is evaluated
        slos:
          - name: <string, required, unique>  the `slo` label
            service: <string>                 the `service` label
            objective: <percent, 0 < x < 100> e.g. 99.5
            window: <duration, required>      the SLO's compliance window, e.g. 30d
            sli:
              good:  <PromQL, required>       rate of good events over {{.window}}
              total: <PromQL, required>       rate of all events over {{.window}}
            labels: {<name>: <value>}         added to every series and alert
            alerting:
              page: <bool>                    multi-window burn-rate page alert
              burn_rate: <float, default 14.4> threshold for both the 1h and 5m windows

    `{{.window}}` (spaces inside the braces allowed) in the SLI queries is replaced by each
    evaluated window: 5m, 1h, 6h and the SLO window. Loading checks the objective range, the
    window, unique names, and that both queries parse (with a window substituted), each
    problem at its file:line:col.
*/
#ifndef SLOD_CFG_H
#define SLOD_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "fw_labels.h"

struct slod_sli_cfg {
    char *good;  // owned
    char *total; // owned
};

struct slod_alerting_cfg {
    bool page;
    double burn_rate;
};

struct slod_slo_cfg {
    char *name;        // owned
    char *service;     // owned; may be ""
    double objective;  // percent
    char *window;      // owned: the duration as written ("30d")
    int64_t window_ms; // parsed from window after loading
    struct slod_sli_cfg sli;
    struct fw_labels labels; // owned
    struct slod_alerting_cfg alerting;
    struct fw_cfg_pos pos;
};

struct slod_cfg {
    int64_t evaluation_interval_ms;
    struct slod_slo_cfg *slos; // owned
    size_t n_slos;
};

// Load from `name` (or text, name used in messages) into out (zeroed by the callee) and
// validate. 0, or -1 with every problem in errs (cleared first). Free out with
// slod_cfg_free() either way.
int slod_cfg_load(const char *name, const char *text, struct slod_cfg *out,
                  struct fw_cfg_errors *errs);
void slod_cfg_free(struct slod_cfg *cfg);

// query with every {{.window}} replaced by window. Returns a new string (caller frees).
char *slod_cfg_expand(const char *query, const char *window);

#endif
