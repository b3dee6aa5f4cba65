/*  fuzz_fw_gotime.c — a date-time as alertd's API reads it (fw_gotime_parse_strfmt: Go's
    time.Parse over strfmt's ten layouts) on arbitrary text. A refusal must say why, in a
    NUL-terminated text; a time taken must be one that Go's four-digit years allow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_gotime.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_util_text(data, size);
    char err[300];
    memset(err, 'x', sizeof err);
    int64_t ms = 0;
    if (fw_gotime_parse_strfmt(text, &ms, err, sizeof err) == 0) {
        // 0000-01-01 less 99:99 of offset, 9999-12-31T23:59:59.999 plus as much.
        if (ms < -62167219200000LL - 362340000LL || ms > 253402300799999LL + 362340000LL)
            abort();
    } else if (!memchr(err, '\0', sizeof err) || !err[0]) {
        abort();
    }
    free(text);
    return 0;
}
