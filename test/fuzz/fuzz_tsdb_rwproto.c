/*  fuzz_tsdb_rwproto.c — the remote-write WriteRequest reader on every input.

    The input is a decompressed WriteRequest. tsdb_rwproto_check must accept it or refuse
    it with a reason, never reading past the input. When it accepts, the iterators must
    find exactly the series, labels and samples it counted, every view inside the input;
    and each series whose names and values hold no NUL, written again with
    tsdb_rwproto_put_series, must read back as the same labels and sample bits.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_err.h"
#include "tsdb_json.h"
#include "tsdb_rwproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_LABELS_MAX 64
#define S_SAMPLES_MAX 64

static bool
s_inside(const void *p, size_t n, const uint8_t *data, size_t size)
{
    const uint8_t *q = p;
    return n == 0 || (q >= data && q + n <= data + size);
}

// Write s's labels and samples (when few and NUL-free) again and compare.
static void
s_roundtrip(const struct tsdb_rwproto_series *s)
{
    char *names[S_LABELS_MAX], *values[S_LABELS_MAX];
    struct fw_sample smp[S_SAMPLES_MAX];
    size_t nl = 0, ns = 0, off = 0;
    struct tsdb_rwproto_label l;
    bool ok = true;
    while (ok && tsdb_rwproto_next_label(s, &off, &l)) {
        ok =
            nl < S_LABELS_MAX && !memchr(l.name, 0, l.name_len) && !memchr(l.value, 0, l.value_len);
        if (ok) {
            names[nl] = strndup(l.name, l.name_len);
            values[nl] = strndup(l.value, l.value_len);
            nl++;
        }
    }
    off = 0;
    while (ok && ns <= S_SAMPLES_MAX &&
           tsdb_rwproto_next_sample(s, &off, &smp[ns < S_SAMPLES_MAX ? ns : 0]))
        ns++;
    if (ok && ns <= S_SAMPLES_MAX) {
        struct tsdb_json b = {0};
        tsdb_rwproto_put_series(&b, (const char *const *)names, (const char *const *)values, nl,
                                smp, ns);
        struct tsdb_rwproto_counts c;
        struct tsdb_rwproto_series t;
        size_t so = 0, lo = 0, k = 0;
        if (tsdb_rwproto_check((const unsigned char *)b.p, b.len, &c, NULL) != 0 || c.series != 1 ||
            c.labels != nl || c.samples != ns ||
            !tsdb_rwproto_next_series((const unsigned char *)b.p, b.len, &so, &t))
            abort();
        for (; tsdb_rwproto_next_label(&t, &lo, &l); k++)
            if (l.name_len != strlen(names[k]) || memcmp(l.name, names[k], l.name_len) != 0 ||
                l.value_len != strlen(values[k]) || memcmp(l.value, values[k], l.value_len) != 0)
                abort();
        struct fw_sample x;
        size_t j = 0;
        for (lo = 0; tsdb_rwproto_next_sample(&t, &lo, &x); j++)
            if (x.t_ms != smp[j].t_ms || memcmp(&x.v, &smp[j].v, sizeof(double)) != 0)
                abort();
        if (k != nl || j != ns)
            abort();
        free(b.p);
    }
    for (size_t i = 0; i < nl; i++) {
        free(names[i]);
        free(values[i]);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tsdb_rwproto_counts c;
    fw_err_t err;
    if (tsdb_rwproto_check(data, size, &c, &err) != 0) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    struct tsdb_rwproto_series s;
    size_t off = 0, series = 0, labels = 0, samples = 0;
    while (tsdb_rwproto_next_series(data, size, &off, &s)) {
        if (!s_inside(s.p, s.len, data, size))
            abort();
        struct tsdb_rwproto_label l;
        struct fw_sample x;
        size_t lo = 0, so = 0;
        while (tsdb_rwproto_next_label(&s, &lo, &l)) {
            if (!s_inside(l.name, l.name_len, data, size) ||
                !s_inside(l.value, l.value_len, data, size))
                abort();
            labels++;
        }
        while (tsdb_rwproto_next_sample(&s, &so, &x))
            samples++;
        s_roundtrip(&s);
        series++;
    }
    if (series != c.series || labels != c.labels || samples != c.samples)
        abort();
    return 0;
}
