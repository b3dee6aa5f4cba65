/*  fw_err.c — the caller-supplied error record.

    Kept deliberately tiny: formatting into a fixed buffer so that reporting an error never
    allocates (an out-of-memory path may be what is being reported).
*/
#include "fw_err.h"

#include <stdio.h>
#include <string.h>

void
fw_err_clear(fw_err_t *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

static void s_vset(fw_err_t *err, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
s_vset(fw_err_t *err, const char *fmt, va_list ap)
{
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

void
fw_err_set(fw_err_t *err, const char *fmt, ...)
{
    if (!err)
        return;
    fw_err_clear(err);
    va_list ap;
    va_start(ap, fmt);
    s_vset(err, fmt, ap);
    va_end(ap);
}

void
fw_err_set_at(fw_err_t *err, const char *file, int line, int col, const char *fmt, ...)
{
    if (!err)
        return;
    fw_err_clear(err);
    if (file)
        snprintf(err->file, sizeof(err->file), "%s", file);
    err->line = line;
    err->col = col;
    va_list ap;
    va_start(ap, fmt);
    s_vset(err, fmt, ap);
    va_end(ap);
}

const char *
fw_err_format(const fw_err_t *err, char *buf, size_t size)
{
    if (!err || size == 0)
        return "";
    if (err->file[0] && err->line > 0)
        snprintf(buf, size, "%s:%d:%d: error: %s", err->file, err->line, err->col, err->msg);
    else if (err->file[0])
        snprintf(buf, size, "%s: error: %s", err->file, err->msg);
    else
        snprintf(buf, size, "%s", err->msg);
    return buf;
}

const char *
fw_strerror(int code)
{
    switch (code) {
    case FW_EPARSE: return "malformed input";
    case FW_ETRUNC: return "input truncated";
    case FW_ETYPE: return "unknown or unexpected message type";
    case FW_EVERSION: return "unsupported message version";
    case FW_ETIMEOUT: return "timed out";
    case FW_ESTORE: return "storage failure";
    default: break;
    }
    if (code < 0 && code > FW_EFIRST)
        return strerror(-code);
    return "unknown error";
}
