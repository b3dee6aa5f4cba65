/*  fuzz_tsdb_rread.c — remote read's readers on every input: the server's ReadRequest
    decoder, and the client's frame, ChunkedReadResponse and XOR chunk readers.

    tsdb_rread_request_decode must accept the input or refuse it with a reason, never
    reading past it; when it accepts, every query's matchers hold names and values copied
    out. The same bytes are read as a frame (uvarint size, CRC-32C, message) and as a
    ChunkedReadResponse: every series' labels and chunks are walked, each chunk's bytes
    inside the input, and each chunk decoded as XOR to its end or its error, never reading
    past its bytes, never returning more samples than its count says.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_err.h"
#include "tsdb_rread_proto.h"
#include "tsdb_xor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
s_chunked(const uint8_t *msg, size_t len)
{
    int64_t qi;
    fw_err_t err;
    if (tsdb_rread_chunked_check(msg, len, &qi, &err) != 0)
        return;
    size_t off = 0;
    struct tsdb_rread_series s;
    struct fw_labels l = FW_LABELS_INIT;
    while (tsdb_rread_next_series(msg, len, &off, &s)) {
        if (s.p < msg || s.p + s.len > msg + len)
            abort();
        (void)tsdb_rread_series_labels(&s, &l, &err);
        size_t co = 0;
        struct tsdb_rread_chunk c;
        while (tsdb_rread_next_chunk(&s, &co, &c)) {
            if (c.len && (c.data < msg || c.data + c.len > msg + len))
                abort();
            struct tsdb_xor_iter it;
            size_t n = 0;
            if (tsdb_xor_iter_init(&it, c.data, c.len))
                while (tsdb_xor_iter_next(&it))
                    n++;
            if (n > it.total)
                abort();
        }
    }
    fw_labels_clear(&l);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tsdb_rread_request req;
    fw_err_t err;
    if (tsdb_rread_request_decode(data, size, &req, &err) == 0) {
        for (size_t k = 0; k < req.n; k++)
            for (size_t i = 0; i < req.queries[k].n_matchers; i++)
                if (!req.queries[k].matchers[i].name || !req.queries[k].matchers[i].value)
                    abort();
    }
    tsdb_rread_request_clear(&req);
    const unsigned char *msg;
    size_t ml, used;
    if (tsdb_rread_frame(data, size, 1 << 20, &msg, &ml, &used, &err) == 1)
        s_chunked(msg, ml);
    s_chunked(data, size);
    return 0;
}
