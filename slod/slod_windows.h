/*  slod_windows.h — Sloth's alert window catalogs (AlertWindows, sloth.slok.dev/v1).

    Sloth reads its SLO period catalog from --slo-period-windows-path: one file per period,

        apiVersion: sloth.slok.dev/v1
        kind: AlertWindows
        spec:
          sloPeriod: 7d
          page:   {quick: <window>, slow: <window>}
          ticket: {quick: <window>, slow: <window>}
        <window> = {errorBudgetPercent: 8, shortWindow: 5m, longWindow: 1h}

    and an SLO of that period alerts when the error ratio over longWindow and shortWindow both
    exceed burn x (1 - objective/100), burn = errorBudgetPercent / 100 x sloPeriod / longWindow
    (Sloth's factor: the share of the budget the long window may spend). slod reads the same
    files from its top-level `alert_windows_files` list (globs, relative to the configuration
    file) and turns each into four alert windows (slod_cfg.h struct slod_window_cfg); an SLO
    whose window equals a catalog's sloPeriod, and that has no alerting.windows of its own,
    takes them. Other SLOs keep the SRE Workbook defaults. Every window must be one slod
    evaluates (5m, 30m, 1h, 2h, 6h, 1d, 3d or the sloPeriod), shorter than the period, and
    the short window shorter than the long one; two files with one sloPeriod are an error.
*/
#ifndef SLOD_WINDOWS_H
#define SLOD_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "slod_cfg.h"

#define SLOD_CATALOG_WINDOWS 4 // page quick, page slow, ticket quick, ticket slow

struct slod_period_windows {
    char *file; // owned: where it was read
    int64_t period_ms;
    struct slod_window_cfg windows[SLOD_CATALOG_WINDOWS];
};

struct slod_catalog {
    struct slod_period_windows *items; // owned
    size_t len;
};

// Load every file matching the patterns (relative ones against config_file's directory;
// config_file NULL: the working directory) into out (zeroed by the callee). pos[i] is where
// patterns[i] was written in config_file (may be NULL). Problems go to errs with the catalog
// file's line:column (or the pattern's, for a pattern matching nothing).
void slod_catalog_load(const char *config_file, char *const *patterns, const struct fw_cfg_pos *pos,
                       size_t n, struct slod_catalog *out, struct fw_cfg_errors *errs);
void slod_catalog_free(struct slod_catalog *c);

// The catalog's windows for a period, or NULL.
const struct slod_period_windows *slod_catalog_find(const struct slod_catalog *c,
                                                    int64_t period_ms);

#endif
