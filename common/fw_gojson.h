/*  fw_gojson.h — what Go's encoding/json Decoder says of a request body it cannot read, for
    the APIs that answer as go-swagger does (alertd's API v2: "parsing alerts body from \"\"
    failed, because invalid character 'x' looking for beginning of value").

    Go's scanner is followed state by state over the first JSON value, as json.Decoder reads
    it (what follows that value is never looked at; strings may hold any byte but a control
    character). Only the error path uses it: alertd parses with jansson, and asks this for the
    words when jansson refuses.
*/
#ifndef FW_GOJSON_H
#define FW_GOJSON_H

#include <stddef.h>

// Go's error for a Decoder reading buf[0, len): 1 and msg (cap bytes, cut to fit) holding it
// ("invalid character ']' after object key", "unexpected EOF", "EOF" for nothing but white
// space); 0 when Go reads a first value whole (jansson refused for another reason: invalid
// UTF-8, text after the value, nesting deeper than jansson's limit), msg untouched.
int fw_gojson_decode_error(const char *buf, size_t len, char *msg, size_t cap);

#endif
