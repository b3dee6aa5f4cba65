/*  fw_err.h — a caller-supplied error record: what went wrong and where.

    Every function that can fail for a reason the user must see takes an `fw_err_t *err` as
    its last argument (Redis anetSetError). It may be NULL: fw_err_set() is NULL-safe. The
    position fields are 1-based and 0 when unknown; `file` is a config file or a query
    source name ("query" for PromQL), and `col` doubles as the 1-based byte position in a
    query string.
*/
#ifndef FW_ERR_H
#define FW_ERR_H

#include <stdarg.h>
#include <stddef.h>

typedef struct fw_err {
    char msg[256];
    char file[192];
    int line;
    int col;
} fw_err_t;

// Error codes from the reserved range below -30000, next to negated errno values (LMDB).
enum {
    FW_EFIRST = -30999,
    FW_EPARSE = FW_EFIRST, // malformed input (message, exposition text, query)
    FW_ETRUNC,             // input ended early
    FW_ETYPE,              // unknown or wrong message type
    FW_EVERSION,           // unsupported message version
    FW_ETIMEOUT,           // a peer did not answer in time
    FW_ESTORE,             // the storage layer failed (details logged)
    FW_ELAST
};

// Set err's message (printf format); position fields are cleared. NULL err is ignored.
void fw_err_set(fw_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Set err's message and position. file may be NULL.
void fw_err_set_at(fw_err_t *err, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

// Clear err to "no error".
void fw_err_clear(fw_err_t *err);

// Format err in the compiler style "file:line:col: error: msg" (or just "msg" when it has
// no position) into buf; returns buf.
const char *fw_err_format(const fw_err_t *err, char *buf, size_t size);

// Describe an FW_E* code or a negated errno value. Returns a static string.
const char *fw_strerror(int code);

#endif
