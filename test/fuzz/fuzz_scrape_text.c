/*  fuzz_scrape_text.c — the scraper's exposition parser on arbitrary bodies, in both the
    text and OpenMetrics modes (the first byte picks the mode). Every sample handed out must
    have a name; every run either succeeds or fails with a line number.
*/
#include <stdint.h>
#include <stdlib.h>

#include "fw_log.h"
#include "scraper_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fw_log_init("fuzz", FW_LOG_ERROR, FW_LOG_LOGFMT);
    if (size == 0)
        return 0;
    scraper_fmt_t fmt = data[0] & 1 ? SCRAPER_FMT_OPENMETRICS : SCRAPER_FMT_TEXT;
    scraper_parse_t *p = scraper_parse_new();
    fw_err_t err;
    ssize_t n = scraper_parse_run(p, (const char *)data + 1, size - 1, fmt, &err);
    if (n < 0 && err.line <= 0)
        abort(); // a parse error must say where
    for (ssize_t i = 0; i < n; i++) {
        struct scraper_sample s;
        scraper_parse_get(p, (size_t)i, &s);
        if (!s.name || !s.name[0])
            abort();
    }
    scraper_parse_destroy(&p);
    return 0;
}
