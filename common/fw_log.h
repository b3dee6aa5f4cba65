/*  fw_log.h — structured logging to stderr, one line per event.

    A log call names an event (dotted lowercase: "scrape.fail") and gives its fields as a
    printf template of `key=%conv` pairs separated by spaces:

        fw_warn("scrape.fail", "target=%s err=%s dur_ms=%lld", url, msg, (long long)ms);

    prints, in logfmt (the default):

        ts=2026-11-27T00:29:01.123Z level=warn daemon=scraper pid=812 event=scrape.fail
            target="http://h:9100/metrics" err="timeout" dur_ms=5000        (one line)

    or, with fw_log_init(..., FW_LOG_JSON), the same fields as one JSON object. Values are
    quoted and escaped as needed, so no entry spans lines. The macros check the level before
    formatting (Redis serverLog). The log context is the one global of the project.
*/
#ifndef FW_LOG_H
#define FW_LOG_H

#include <stdbool.h>

typedef enum { FW_LOG_DEBUG, FW_LOG_INFO, FW_LOG_WARN, FW_LOG_ERROR } fw_log_level_t;
typedef enum { FW_LOG_LOGFMT, FW_LOG_JSON } fw_log_format_t;

// Set the daemon name (borrowed: pass a string literal), minimum level and format.
void fw_log_init(const char *daemon, fw_log_level_t level, fw_log_format_t format);
// Parse "debug", "info", "warn", "error"; returns 0 or -1.
int fw_log_level_parse(const char *s, fw_log_level_t *out);
// Parse "logfmt" or "json"; returns 0 or -1.
int fw_log_format_parse(const char *s, fw_log_format_t *out);
bool fw_log_enabled(fw_log_level_t level);

// The worker behind the macros. kvfmt is "key=%conv ..."; conversions are printf's
// (%s %d %u %ld %lu %lld %llu %zu %zd %g %f %.Nf %x %c). A NULL %s prints as "".
// Values are quoted and escaped here as the format needs; a value written in kvfmt between
// double quotes (key=\"%s\", key=\"two words\") is the text between them, spaces included,
// quoted once. A bare word is a key with an empty value; one holding a conversion (a "%s"
// without "key=") is printed as _=<value>, so that it still takes its argument.
void fw_log(fw_log_level_t level, const char *event, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4)));
// As fw_log, adding err="<strerror(errno)>".
void fw_log_errno(fw_log_level_t level, const char *event, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4)));
// Log at error level and exit(code).
void fw_fatal(int code, const char *event, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#define fw_debug(ev, ...)                                                                          \
    do {                                                                                           \
        if (fw_log_enabled(FW_LOG_DEBUG))                                                          \
            fw_log(FW_LOG_DEBUG, ev, __VA_ARGS__);                                                 \
    } while (0)
#define fw_info(ev, ...)                                                                           \
    do {                                                                                           \
        if (fw_log_enabled(FW_LOG_INFO))                                                           \
            fw_log(FW_LOG_INFO, ev, __VA_ARGS__);                                                  \
    } while (0)
#define fw_warn(ev, ...)                                                                           \
    do {                                                                                           \
        if (fw_log_enabled(FW_LOG_WARN))                                                           \
            fw_log(FW_LOG_WARN, ev, __VA_ARGS__);                                                  \
    } while (0)
#define fw_error(ev, ...) fw_log(FW_LOG_ERROR, ev, __VA_ARGS__)

// Test hook: send log lines to fd instead of stderr (2). Returns the previous fd.
int fw_log_set_fd(int fd);

#endif
