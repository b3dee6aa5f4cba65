/*  fuzz_util.h — what every fuzz target in test/fuzz/ shares: the libFuzzer entry point's
    prototype, quiet logging, and the input as a C string.

    Static inline so that each target stays one translation unit, linked either with
    replay.c (make check-fuzz) or with libFuzzer (make fuzz), with no extra object.
*/
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

// Log errors only, in logfmt: what the targets write otherwise is noise to the fuzzer.
static inline void
fuzz_util_init(void)
{
    fw_log_init("fuzz", FW_LOG_ERROR, FW_LOG_LOGFMT);
}

// Call fuzz_util_init, then return data[0..size) as a new NUL-terminated string (caller
// frees; NUL bytes inside the input are kept and end the string early for C callers).
static inline char *
fuzz_util_text(const uint8_t *data, size_t size)
{
    fuzz_util_init();
    char *text = fw_malloc(size + 1);
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

#endif
