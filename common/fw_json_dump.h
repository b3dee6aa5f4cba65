/*  fw_json_dump.h — a jansson value as compact JSON text, faster than json_dumpb.

    The same bytes as json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) (jansson 2.14: keys in
    insertion order, strings escaped as FW_JSON_OUT_JANSSON, integers as %lld, reals through
    jansson itself), written with one pass over each string into a growing or fixed
    fw_json_out. json_dumpb spent about 120 instructions a byte (its dumper checks every
    value for loops in a hash table and hands out text a few bytes at a time); messages,
    webhook bodies and the notification log are dumped on the daemons' loops
    (docs/benchmarks.md).
*/
#ifndef FW_JSON_DUMP_H
#define FW_JSON_DUMP_H

#include <jansson.h>

#include "fw_json_out.h"

// Append v's text to b. -1 when jansson would refuse it (a string that is not UTF-8, a
// value nested in itself), with b as it was; 0 otherwise. A fixed b that fills stops the
// dump there (its text is cut, and what follows is not checked).
int fw_json_dump(struct fw_json_out *b, const json_t *v);

// v's text, NUL-terminated: in stack (cap bytes) when it fits, else in a new string that
// *heap owns (caller frees; NULL when stack held it). *len its length; NULL as -1 above.
const char *fw_json_dump_buf(const json_t *v, char *stack, size_t cap, size_t *len, char **heap);

// v's text in a new NUL-terminated string of its length (caller frees; one allocation when
// it fits in 8 KiB), *len (may be NULL) its length; NULL as -1 above.
char *fw_json_dumps(const json_t *v, size_t *len);

#endif
