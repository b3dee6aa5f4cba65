/*  fuzz_fw_msg.c — fw_msg_decode on arbitrary frames.

    The input is split into frames at 0x00 0xff pairs (so the fuzzer can vary the frame
    count too); any decoded message is re-encoded, which must succeed.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_msg.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_util_init();
    zmsg_t *z = zmsg_new();
    size_t start = 0;
    for (size_t i = 0; i + 1 < size; i++)
        if (data[i] == 0x00 && data[i + 1] == 0xff) {
            zmsg_addmem(z, data + start, i - start);
            start = i + 2;
            i++;
        }
    zmsg_addmem(z, data + start, size - start);
    struct fw_msg *m = fuzz_util_msg_roundtrip(&z);
    fw_msg_destroy(&m);
    return 0;
}
