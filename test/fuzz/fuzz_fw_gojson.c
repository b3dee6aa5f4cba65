/*  fuzz_fw_gojson.c — Go's json.Decoder's verdict (fw_gojson_decode_error) on arbitrary
    bytes, against jansson's as alertd's API parses a body (the first value, what follows
    unread): whatever Go refuses jansson refuses, but for a NUL byte between tokens (jansson
    passes over it; alertd then takes Go's verdict). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_gojson.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_util_init();
    char msg[160];
    memset(msg, 'x', sizeof msg);
    int go_refuses = fw_gojson_decode_error((const char *)data, size, msg, sizeof msg);
    if (go_refuses && (!memchr(msg, '\0', sizeof msg) || !msg[0]))
        abort(); // a refusal says why, NUL-terminated
    json_error_t jerr;
    json_t *j =
        json_loadb((const char *)data, size, JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
    // jansson took what Go refuses: only where alertd_api_body_json asks Go again (a NUL byte
    // between tokens, which jansson passes over)
    if (j && go_refuses && !memchr(data, '\0', size))
        abort();
    json_decref(j);
    return 0;
}
