/*  fw_cfg_errors.c — the errors a config load collects (fw_cfg.h, struct fw_cfg_errors).

    Each one keeps its file:line:col and message; past FW_CFG_MAX_ERRORS they are only
    counted, so a run over a badly broken file still reports in bounded space.
*/
#include "fw_cfg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fw_log.h"

void
fw_cfg_errors_add(struct fw_cfg_errors *errs, const char *file, struct fw_cfg_pos pos,
                  const char *fmt, ...)
{
    if (!errs)
        return;
    if (errs->len >= FW_CFG_MAX_ERRORS) {
        errs->dropped++;
        return;
    }
    fw_err_t *e = &errs->items[errs->len++];
    memset(e, 0, sizeof(*e));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    if (file)
        snprintf(e->file, sizeof(e->file), "%s", file);
    e->line = pos.line;
    e->col = pos.col;
}

void
fw_cfg_errors_report(const struct fw_cfg_errors *errs, bool to_stderr)
{
    if (!errs)
        return;
    char buf[512];
    for (size_t i = 0; i < errs->len && i < FW_CFG_MAX_ERRORS; i++) {
        const fw_err_t *e = &errs->items[i];
        if (to_stderr)
            fprintf(stderr, "%s\n", fw_err_format(e, buf, sizeof(buf)));
        fw_log(FW_LOG_ERROR, "config.error", "file=%s line=%d col=%d err=%s", e->file, e->line,
               e->col, e->msg);
    }
    if (errs->dropped > 0) {
        if (to_stderr)
            fprintf(stderr, "error: %zu more errors not shown\n", errs->dropped);
        fw_log(FW_LOG_ERROR, "config.error", "dropped=%zu err=%s", errs->dropped,
               "too many errors");
    }
}
