/*  fuzz_tsdb_rwproto.c — the remote-write request reader on every input, as 1.0 and 2.0.

    The input is a decompressed request. tsdb_rwproto_check must accept it or refuse it with
    a reason, never reading past the input. When it accepts, the iterators must find exactly
    the series and samples it counted (1.0: labels too; 2.0: never more labels than refs
    pairs), every view inside the input; and each 1.0 series whose names and values hold no
    NUL, written again with tsdb_rwproto_put_series, must read back as the same labels and
    sample bits.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_err.h"
#include "fw_json_out.h"
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

// A metadata entry's strings inside the input (or the empty literal).
static bool
s_meta_inside(const struct tsdb_rwproto_meta *m, const uint8_t *data, size_t size)
{
    return s_inside(m->name, m->name_len, data, size) &&
           s_inside(m->help, m->help_len, data, size) && s_inside(m->unit, m->unit_len, data, size);
}

// Write s's labels and samples (when few and NUL-free) again and compare.
static void
s_roundtrip(const struct tsdb_rwproto_series *s)
{
    char *names[S_LABELS_MAX], *values[S_LABELS_MAX];
    struct fw_sample smp[S_SAMPLES_MAX];
    size_t nl = 0, ns = 0, off = 0;
    struct tsdb_rwproto_cursor cur = {0};
    struct tsdb_rwproto_label l;
    bool ok = true;
    while (ok && tsdb_rwproto_next_label(s, NULL, &cur, &l) == 1) {
        ok =
            nl < S_LABELS_MAX && !memchr(l.name, 0, l.name_len) && !memchr(l.value, 0, l.value_len);
        if (ok) {
            names[nl] = strndup(l.name, l.name_len);
            values[nl] = strndup(l.value, l.value_len);
            nl++;
        }
    }
    struct fw_sample x;
    while (ok && tsdb_rwproto_next_sample(s, &off, &x))
        if (ns++ < S_SAMPLES_MAX)
            smp[ns - 1] = x;
    if (ok && ns <= S_SAMPLES_MAX) {
        struct fw_json_out b = {0};
        tsdb_rwproto_put_series(&b, (const char *const *)names, (const char *const *)values, nl,
                                smp, ns);
        struct tsdb_rwproto_counts c;
        struct tsdb_rwproto_series t;
        size_t so = 0, k = 0;
        if (tsdb_rwproto_check((const unsigned char *)b.p, b.len, TSDB_RWPROTO_V1, &c, NULL) != 0 ||
            c.series != 1 || c.labels != nl || c.samples != ns ||
            !tsdb_rwproto_next_series((const unsigned char *)b.p, b.len, TSDB_RWPROTO_V1, &so, &t))
            abort();
        struct tsdb_rwproto_cursor lc = {0};
        for (; tsdb_rwproto_next_label(&t, NULL, &lc, &l) == 1; k++)
            if (l.name_len != strlen(names[k]) || memcmp(l.name, names[k], l.name_len) != 0 ||
                l.value_len != strlen(values[k]) || memcmp(l.value, values[k], l.value_len) != 0)
                abort();
        size_t j = 0;
        for (size_t lo = 0; tsdb_rwproto_next_sample(&t, &lo, &x); j++)
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

static void
s_one(const uint8_t *data, size_t size, int version)
{
    struct tsdb_rwproto_counts c;
    fw_err_t err;
    if (tsdb_rwproto_check(data, size, version, &c, &err) != 0) {
        if (!err.msg[0])
            abort();
        return;
    }
    struct tsdb_rwproto_symbols sym = {0};
    if (version == TSDB_RWPROTO_V2) {
        tsdb_rwproto_symbols(data, size, &sym);
        if (sym.n != c.symbols)
            abort();
        for (size_t i = 0; i < sym.n; i++)
            if (!s_inside(sym.p[i], sym.len[i], data, size))
                abort();
    }
    struct tsdb_rwproto_series s;
    size_t off = 0, series = 0, labels = 0, samples = 0, metas = 0;
    while (tsdb_rwproto_next_series(data, size, version, &off, &s)) {
        if (!s_inside(s.p, s.len, data, size))
            abort();
        struct tsdb_rwproto_label l;
        struct tsdb_rwproto_cursor cur = {0};
        struct fw_sample x;
        size_t so = 0;
        int rc;
        while ((rc = tsdb_rwproto_next_label(&s, version == TSDB_RWPROTO_V2 ? &sym : NULL, &cur,
                                             &l)) == 1) {
            if (!s_inside(l.name, l.name_len, data, size) ||
                !s_inside(l.value, l.value_len, data, size))
                abort();
            labels++;
        }
        if (rc == -1 && version != TSDB_RWPROTO_V2)
            abort();
        while (tsdb_rwproto_next_sample(&s, &so, &x))
            samples++;
        if (version == TSDB_RWPROTO_V1)
            s_roundtrip(&s);
        struct tsdb_rwproto_meta m;
        if (version == TSDB_RWPROTO_V2 && tsdb_rwproto_series_meta(&s, &sym, &m) == 1) {
            if (!s_meta_inside(&m, data, size))
                abort();
            metas++;
        }
        series++;
    }
    if (series != c.series || samples != c.samples ||
        (version == TSDB_RWPROTO_V1 ? labels != c.labels : 2 * labels > c.refs))
        abort();
    if (version == TSDB_RWPROTO_V1) {
        struct tsdb_rwproto_meta m;
        for (off = 0; tsdb_rwproto_next_meta(data, size, &off, &m); metas++)
            if (!s_meta_inside(&m, data, size))
                abort();
        if (metas != c.metadata)
            abort();
    } else if (metas > c.metadata) {
        abort();
    }
    tsdb_rwproto_symbols_free(&sym);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_one(data, size, TSDB_RWPROTO_V1);
    s_one(data, size, TSDB_RWPROTO_V2);
    return 0;
}
