/*  check_tsdb_rwproto.c — the remote-write WriteRequest reader and writer: a request written
    with tsdb_rwproto_put_series reads back label for label and sample bit for sample bit
    (NaN, stale marker, negative and zero timestamps), unknown fields and groups are skipped
    as protobuf requires, exemplars, histograms and metadata are counted and left, and
    every malformed body is refused with the text gogo-protobuf's unmarshaller (Prometheus's
    receiver) gives for it.
*/
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_err.h"
#include "fw_sample.h"
#include "fw_json_out.h"
#include "../tsdb/tsdb_pb.h"
#include "../tsdb/tsdb_rwproto.h"

START_TEST(test_tsdb_rwproto_round_trip)
{
    const char *names[] = {"__name__", "job", "line"};
    const char *values[] = {"oee_ratio", "factory", "l\xc3\xa9"};
    struct fw_sample smp[] = {
        {1700000000000, 0.75}, {-5, NAN}, {0, -0.0}, {1700000001000, fw_stale_nan()}};
    struct fw_json_out b = {0};
    tsdb_rwproto_put_series(&b, names, values, 3, smp, 4);
    tsdb_rwproto_put_series(&b, names, values, 1, smp, 0);
    struct tsdb_rwproto_counts c;
    fw_err_t err;
    ck_assert_int_eq(tsdb_rwproto_check((unsigned char *)b.p, b.len, TSDB_RWPROTO_V1, &c, &err), 0);
    ck_assert_uint_eq(c.series, 2);
    ck_assert_uint_eq(c.labels, 4);
    ck_assert_uint_eq(c.samples, 4);
    struct tsdb_rwproto_series s;
    size_t off = 0, so = 0, k = 0;
    struct tsdb_rwproto_cursor lo = {0};
    ck_assert(tsdb_rwproto_next_series((unsigned char *)b.p, b.len, TSDB_RWPROTO_V1, &off, &s));
    struct tsdb_rwproto_label l;
    for (; tsdb_rwproto_next_label(&s, NULL, &lo, &l) == 1; k++) {
        ck_assert_uint_eq(l.name_len, strlen(names[k]));
        ck_assert(memcmp(l.name, names[k], l.name_len) == 0);
        ck_assert(memcmp(l.value, values[k], l.value_len) == 0);
    }
    ck_assert_uint_eq(k, 3);
    struct fw_sample x;
    for (k = 0; tsdb_rwproto_next_sample(&s, &so, &x); k++) {
        ck_assert_int_eq(x.t_ms, smp[k].t_ms);
        ck_assert(memcmp(&x.v, &smp[k].v, sizeof(double)) == 0);
    }
    ck_assert_uint_eq(k, 4);
    ck_assert(tsdb_rwproto_next_series((unsigned char *)b.p, b.len, TSDB_RWPROTO_V1, &off, &s));
    ck_assert(!tsdb_rwproto_next_series((unsigned char *)b.p, b.len, TSDB_RWPROTO_V1, &off, &s));
    free(b.p);
}
END_TEST

START_TEST(test_tsdb_rwproto_skips_unknown)
{
    // TimeSeries{labels{name "a" value "b"}, field 9 group {field 1 varint 5},
    // exemplars{}, histograms{}}, field 7 fixed32, metadata{}.
    static const unsigned char body[] = {0x0a, 0x10, 0x0a, 0x06, 0x0a, 0x01, 'a',  0x12, 0x01,
                                         'b',  0x4b, 0x08, 0x05, 0x4c, 0x1a, 0x00, 0x22, 0x00,
                                         0x3d, 1,    2,    3,    4,    0x1a, 0x00};
    struct tsdb_rwproto_counts c;
    fw_err_t err;
    ck_assert_msg(tsdb_rwproto_check(body, sizeof(body), TSDB_RWPROTO_V1, &c, &err) == 0, "%s",
                  err.msg);
    ck_assert_uint_eq(c.series, 1);
    ck_assert_uint_eq(c.labels, 1);
    ck_assert_uint_eq(c.exemplars, 1);
    ck_assert_uint_eq(c.histograms, 1);
    ck_assert_uint_eq(c.metadata, 1);
}
END_TEST

START_TEST(test_tsdb_rwproto_errors_as_gogo)
{
    static const struct {
        const char *body;
        size_t len;
        const char *msg;
    } cases[] = {
        {"\x0a\x05"
         "abc",
         5, "unexpected EOF"},
        {"\x08\x01", 2, "proto: wrong wireType = 0 for field Timeseries"},
        {"\x0a\x02\x08\x01", 4, "proto: wrong wireType = 0 for field Labels"},
        {"\x0a\x04\x12\x02\x08\x01", 6, "proto: wrong wireType = 0 for field Value"},
        {"\x0a\x04\x12\x02\x10\x01", 6, ""}, // a Sample's timestamp: fine
        {"\x0a\x04\x12\x02\x0a\x01", 6, "proto: wrong wireType = 2 for field Value"},
        {"\x0a\x03\x12\x01\x09", 5, "unexpected EOF"},
        {"\x00", 1, "proto: WriteRequest: illegal tag 0 (wire type 0)"},
        {"\x0c", 1, "proto: WriteRequest: wiretype end group for non-group"},
        {"\x0a\x02\x0c\x00", 4, "proto: TimeSeries: wiretype end group for non-group"},
        {"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11,
         "proto: negative length found during unmarshaling"},
        {"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12, "proto: integer overflow"},
        {"\x2e", 1, "proto: illegal wireType 6"},
        {"\x2b", 1, "unexpected EOF"}, // a group never closed
        {"\x0a", 1, "unexpected EOF"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fw_err_t err;
        fw_err_clear(&err);
        int rc = tsdb_rwproto_check((const unsigned char *)cases[i].body, cases[i].len,
                                    TSDB_RWPROTO_V1, NULL, &err);
        if (!cases[i].msg[0]) {
            ck_assert_msg(rc == 0, "case %zu: %s", i, err.msg);
            continue;
        }
        ck_assert_msg(rc == -1, "case %zu accepted", i);
        ck_assert_msg(strcmp(err.msg, cases[i].msg) == 0, "case %zu: got \"%s\", want \"%s\"", i,
                      err.msg, cases[i].msg);
    }
}
END_TEST

// Remote write 2.0: symbols ["", "__name__", "up", "job", "x"], a series with packed refs
// [1 2 3 4] and one sample, a series with the same refs unpacked, a series whose value ref is
// outside the symbols, and one with an odd number of refs.
START_TEST(test_tsdb_rwproto_v2)
{
    static const unsigned char body[] = {0x22, 0x00, 0x22, 0x08, '_', '_', 'n', 'a', 'm', 'e', '_',
                                         '_', 0x22, 0x02, 'u', 'p', 0x22, 0x03, 'j', 'o', 'b', 0x22,
                                         0x01, 'x',
                                         // series 1: refs packed, sample {1.5 at 1000}
                                         0x2a, 0x14, 0x0a, 0x04, 1, 2, 3, 4, 0x12, 0x0c, 0x09, 0, 0,
                                         0, 0, 0, 0, 0xf8, 0x3f, 0x10, 0xe8, 0x07,
                                         // series 2: refs unpacked
                                         0x2a, 0x08, 0x08, 1, 0x08, 2, 0x08, 3, 0x08, 4,
                                         // series 3: value ref 9
                                         0x2a, 0x04, 0x0a, 0x02, 1, 9,
                                         // series 4: three refs
                                         0x2a, 0x05, 0x0a, 0x03, 1, 2, 3};
    struct tsdb_rwproto_counts c;
    fw_err_t err;
    ck_assert_msg(tsdb_rwproto_check(body, sizeof(body), TSDB_RWPROTO_V2, &c, &err) == 0, "%s",
                  err.msg);
    ck_assert_uint_eq(c.symbols, 5);
    ck_assert_uint_eq(c.series, 4);
    ck_assert_uint_eq(c.refs, 4 + 4 + 2 + 3);
    ck_assert_uint_eq(c.samples, 1);
    // As 1.0 it is not a WriteRequest: field 4 is unknown there and skipped, field 5 too.
    ck_assert_int_eq(tsdb_rwproto_check(body, sizeof(body), TSDB_RWPROTO_V1, &c, &err), 0);
    ck_assert_uint_eq(c.series, 0);
    struct tsdb_rwproto_symbols sym;
    tsdb_rwproto_symbols(body, sizeof(body), &sym);
    ck_assert_uint_eq(sym.n, 5);
    struct tsdb_rwproto_series s;
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        ck_assert(tsdb_rwproto_next_series(body, sizeof(body), TSDB_RWPROTO_V2, &off, &s));
        struct tsdb_rwproto_cursor cur = {0};
        struct tsdb_rwproto_label l;
        if (i >= 2) {
            int rc = tsdb_rwproto_next_label(&s, &sym, &cur, &l);
            ck_assert_int_eq(rc, i == 2 ? -1 : 1);
            if (i == 3)
                ck_assert_int_eq(tsdb_rwproto_next_label(&s, &sym, &cur, &l), -1);
            continue;
        }
        ck_assert_int_eq(tsdb_rwproto_next_label(&s, &sym, &cur, &l), 1);
        ck_assert(l.name_len == 8 && memcmp(l.name, "__name__", 8) == 0);
        ck_assert(l.value_len == 2 && memcmp(l.value, "up", 2) == 0);
        ck_assert_int_eq(tsdb_rwproto_next_label(&s, &sym, &cur, &l), 1);
        ck_assert(l.name_len == 3 && memcmp(l.name, "job", 3) == 0);
        ck_assert(l.value_len == 1 && l.value[0] == 'x');
        ck_assert_int_eq(tsdb_rwproto_next_label(&s, &sym, &cur, &l), 0);
        struct fw_sample x;
        size_t so = 0;
        if (i == 0) {
            ck_assert(tsdb_rwproto_next_sample(&s, &so, &x));
            ck_assert_int_eq(x.t_ms, 1000);
            ck_assert(x.v == 1.5);
        }
        ck_assert(!tsdb_rwproto_next_sample(&s, &so, &x));
    }
    ck_assert(!tsdb_rwproto_next_series(body, sizeof(body), TSDB_RWPROTO_V2, &off, &s));
    tsdb_rwproto_symbols_free(&sym);
    static const struct {
        const char *body;
        size_t len;
        const char *msg;
    } bad[] = {
        {"\x20\x01", 2, "proto: wrong wireType = 0 for field Symbols"},
        {"\x2a\x02\x0d\x00", 4, "proto: wrong wireType = 5 for field LabelsRefs"},
        {"\x2a\x03\x0a\x01\x80", 5, "unexpected EOF"},
        {"\x2a\x02\x30\x01", 4, ""}, // created_timestamp
        {"\x2a\x02\x32\x00", 4, "proto: wrong wireType = 2 for field CreatedTimestamp"},
        {"\x04", 1, "proto: Request: wiretype end group for non-group"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fw_err_clear(&err);
        int rc = tsdb_rwproto_check((const unsigned char *)bad[i].body, bad[i].len, TSDB_RWPROTO_V2,
                                    NULL, &err);
        if (!bad[i].msg[0]) {
            ck_assert_msg(rc == 0, "case %zu: %s", i, err.msg);
            continue;
        }
        ck_assert_msg(rc == -1 && strcmp(err.msg, bad[i].msg) == 0, "case %zu: \"%s\"", i, err.msg);
    }
}
END_TEST

// A message field f holding inner's bytes, appended to b; inner is reset.
static void
s_put_msg(struct fw_json_out *b, unsigned f, struct fw_json_out *inner)
{
    tsdb_pb_put_bytes(b, f, inner->p ? inner->p : "", inner->len);
    inner->len = 0;
}

static bool
s_is(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(p, want, n) == 0;
}

// 1.0's WriteRequest.metadata and 2.0's per-series metadata (and created_timestamp) read
// back; bad wire types refused.
START_TEST(test_tsdb_rwproto_metadata)
{
    struct fw_json_out b = {0}, m = {0}, ts = {0};
    tsdb_pb_put_uint(&m, 1, 1);
    tsdb_pb_put_bytes(&m, 2, "req", 3);
    tsdb_pb_put_bytes(&m, 4, "Requests.", 9);
    s_put_msg(&b, 3, &m);
    tsdb_pb_put_uint(&m, 1, 99); // no MetricType: read as sent, the caller refuses it
    tsdb_pb_put_bytes(&m, 2, "t", 1);
    tsdb_pb_put_bytes(&m, 5, "celsius", 7);
    s_put_msg(&b, 3, &m);
    struct tsdb_rwproto_counts c;
    fw_err_t err;
    ck_assert_msg(tsdb_rwproto_check((unsigned char *)b.p, b.len, TSDB_RWPROTO_V1, &c, &err) == 0,
                  "%s", err.msg);
    ck_assert_uint_eq(c.metadata, 2);
    size_t off = 0;
    struct tsdb_rwproto_meta md;
    ck_assert(tsdb_rwproto_next_meta((unsigned char *)b.p, b.len, &off, &md));
    ck_assert(md.type == 1 && s_is(md.name, md.name_len, "req"));
    ck_assert(s_is(md.help, md.help_len, "Requests.") && md.unit_len == 0);
    ck_assert(tsdb_rwproto_next_meta((unsigned char *)b.p, b.len, &off, &md));
    ck_assert(md.type == 99 && s_is(md.name, md.name_len, "t"));
    ck_assert(s_is(md.unit, md.unit_len, "celsius") && md.help_len == 0);
    ck_assert(!tsdb_rwproto_next_meta((unsigned char *)b.p, b.len, &off, &md));
    static const struct {
        const char *body;
        size_t len;
        const char *msg;
    } bad[] = {
        {"\x1a\x02\x0a\x00", 4, "proto: wrong wireType = 2 for field Type"},
        {"\x1a\x02\x10\x01", 4, "proto: wrong wireType = 0 for field MetricFamilyName"},
        {"\x1a\x02\x22\x05", 4, "unexpected EOF"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fw_err_clear(&err);
        int rc = tsdb_rwproto_check((const unsigned char *)bad[i].body, bad[i].len, TSDB_RWPROTO_V1,
                                    NULL, &err);
        ck_assert_msg(rc == -1 && strcmp(err.msg, bad[i].msg) == 0, "case %zu: \"%s\"", i, err.msg);
    }

    // 2.0: symbols ["", "__name__", "req_total", "Requests.", "seconds"]
    b.len = 0;
    static const char *const syms[] = {"", "__name__", "req_total", "Requests.", "seconds"};
    for (size_t i = 0; i < 5; i++)
        tsdb_pb_put_bytes(&b, 4, syms[i], strlen(syms[i]));
    static const unsigned char refs[] = {1, 2};
    tsdb_pb_put_bytes(&ts, 1, refs, 2);
    tsdb_pb_put_uint(&m, 1, 1);
    tsdb_pb_put_uint(&m, 3, 3);
    tsdb_pb_put_uint(&m, 4, 4);
    s_put_msg(&ts, 5, &m);
    s_put_msg(&b, 5, &ts); // with metadata
    tsdb_pb_put_bytes(&ts, 1, refs, 2);
    s_put_msg(&b, 5, &ts); // none
    tsdb_pb_put_bytes(&ts, 1, refs, 2);
    tsdb_pb_put_uint(&m, 3, 9);
    s_put_msg(&ts, 5, &m);
    s_put_msg(&b, 5, &ts); // help ref outside the symbols
    ck_assert_msg(tsdb_rwproto_check((unsigned char *)b.p, b.len, TSDB_RWPROTO_V2, &c, &err) == 0,
                  "%s", err.msg);
    ck_assert_uint_eq(c.metadata, 2);
    struct tsdb_rwproto_symbols sym;
    tsdb_rwproto_symbols((unsigned char *)b.p, b.len, &sym);
    struct tsdb_rwproto_series s;
    off = 0;
    ck_assert(tsdb_rwproto_next_series((unsigned char *)b.p, b.len, TSDB_RWPROTO_V2, &off, &s));
    ck_assert_int_eq(tsdb_rwproto_series_meta(&s, &sym, &md), 1);
    ck_assert(md.type == 1 && s_is(md.name, md.name_len, "req_total"));
    ck_assert(s_is(md.help, md.help_len, "Requests.") && s_is(md.unit, md.unit_len, "seconds"));
    ck_assert(tsdb_rwproto_next_series((unsigned char *)b.p, b.len, TSDB_RWPROTO_V2, &off, &s));
    ck_assert_int_eq(tsdb_rwproto_series_meta(&s, &sym, &md), 0);
    ck_assert(tsdb_rwproto_next_series((unsigned char *)b.p, b.len, TSDB_RWPROTO_V2, &off, &s));
    ck_assert_int_eq(tsdb_rwproto_series_meta(&s, &sym, &md), -1);
    ck_assert_int_eq(tsdb_rwproto_series_created(&s), 0);
    tsdb_rwproto_symbols_free(&sym);
    // created_timestamp (field 6): the last one sent
    static const unsigned char ct[] = {0x2a, 0x05, 0x30, 0x01, 0x30, 0xe8, 0x07};
    ck_assert_int_eq(tsdb_rwproto_check(ct, sizeof(ct), TSDB_RWPROTO_V2, NULL, &err), 0);
    off = 0;
    ck_assert(tsdb_rwproto_next_series(ct, sizeof(ct), TSDB_RWPROTO_V2, &off, &s));
    ck_assert_int_eq(tsdb_rwproto_series_created(&s), 1000);
    fw_err_clear(&err);
    ck_assert_int_eq(tsdb_rwproto_check((const unsigned char *)"\x2a\x04\x2a\x02\x1a\x00", 6,
                                        TSDB_RWPROTO_V2, NULL, &err),
                     -1);
    ck_assert_str_eq(err.msg, "proto: wrong wireType = 2 for field HelpRef");
    free(b.p);
    free(m.p);
    free(ts.p);
}
END_TEST

Suite *
tsdb_rwproto_suite(void)
{
    Suite *s = suite_create("tsdb_rwproto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tsdb_rwproto_round_trip);
    tcase_add_test(tc, test_tsdb_rwproto_skips_unknown);
    tcase_add_test(tc, test_tsdb_rwproto_errors_as_gogo);
    tcase_add_test(tc, test_tsdb_rwproto_v2);
    tcase_add_test(tc, test_tsdb_rwproto_metadata);
    suite_add_tcase(s, tc);
    return s;
}
