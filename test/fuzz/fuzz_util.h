/*  fuzz_util.h — what every fuzz target in test/fuzz/ shares: the libFuzzer entry point's
    prototype, quiet logging, the input as a C string, and the check every message target
    makes (what decodes must encode again).

    Static inline so that each target stays one translation unit, linked either with
    replay.c (make check-fuzz) or with libFuzzer (make fuzz), with no extra object.
*/
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_msg.h"

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

// Decode z with fw_msg_decode, then destroy it (*z NULL). A message that decodes must
// encode again (abort otherwise, so the fuzzer reports it) and render as JSON. The decoded
// message (caller fw_msg_destroys it), or NULL when z did not decode.
static inline struct fw_msg *
fuzz_util_msg_roundtrip(zmsg_t **z)
{
    struct fw_msg *m = NULL;
    if (fw_msg_decode(*z, &m, NULL) == 0) {
        zmsg_t *again = fw_msg_encode(m, NULL);
        if (!again)
            abort(); // whatever decodes must encode
        zmsg_destroy(&again);
        free(fw_msg_to_json(m));
    } else {
        m = NULL;
    }
    zmsg_destroy(z);
    return m;
}

// fuzz_util_init, then a message of `type` (version 1) whose JSON body is data[0..size),
// through fuzz_util_msg_roundtrip: the decoded message (caller fw_msg_destroys it), or NULL.
static inline struct fw_msg *
fuzz_util_msg_with_body(const char *type, const uint8_t *data, size_t size)
{
    fuzz_util_init();
    zmsg_t *z = zmsg_new();
    zmsg_addstr(z, type);
    zmsg_addstr(z, "1");
    zmsg_addmem(z, data, size);
    return fuzz_util_msg_roundtrip(&z);
}

#endif
