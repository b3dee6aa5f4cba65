/*  check_tsdb_rwpartial.c — the answer to a partly refused remote write 2.0 request: lines
    joined as Go's errors.Join and http.Error write them, bounded with a count of what was
    left out; labels refs outside the symbols worded as Prometheus 3.7+'s desymbolizeLabels
    (floats as Go's %g writes them: check_fw_gofloat.c).
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tsdb/tsdb_pb.h"
#include "../tsdb/tsdb_rwpartial.h"
#include "../tsdb/tsdb_rwproto.h"

START_TEST(test_tsdb_rwpartial_lines)
{
    struct tsdb_rwpartial p = {0};
    ck_assert_ptr_null(tsdb_rwpartial_text(&p)); // nothing refused
    tsdb_rwpartial_add(&p, "out of order sample for series %s", "{__name__=\"a\"}");
    tsdb_rwpartial_add(&p, "too old sample for series %s", "{__name__=\"b\"}");
    char *t = tsdb_rwpartial_text(&p);
    ck_assert_str_eq(t, "out of order sample for series {__name__=\"a\"}\n"
                        "too old sample for series {__name__=\"b\"}\n");
    free(t);
    tsdb_rwpartial_clear(&p);
    ck_assert_uint_eq(p.lines, 0);
}
END_TEST

START_TEST(test_tsdb_rwpartial_bounded)
{
    struct tsdb_rwpartial p = {0};
    for (int i = 0; i < 5000; i++)
        tsdb_rwpartial_add(&p, "out of order sample for series {__name__=\"x%d\"}", i);
    char *t = tsdb_rwpartial_text(&p);
    size_t len = strlen(t), lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += t[i] == '\n';
    ck_assert_uint_le(len, TSDB_RWPARTIAL_MAX_TEXT + 2048 + 64);
    ck_assert_uint_gt(p.omitted, 0);
    ck_assert_uint_eq(lines, 5000 - p.omitted + 1); // the kept ones and the count
    char last[64];
    snprintf(last, sizeof(last), "(%zu more errors left out)\n", p.omitted);
    ck_assert_str_eq(t + len - strlen(last), last);
    free(t);
    tsdb_rwpartial_clear(&p);
}
END_TEST

// A 2.0 TimeSeries holding labels_refs refs[0..n) (packed), its line for n_symbols symbols.
static char *
s_refs_line(const uint64_t *refs, size_t n, size_t n_symbols)
{
    struct fw_json_out packed = {0}, ts = {0};
    for (size_t i = 0; i < n; i++)
        tsdb_pb_put_varint(&packed, refs[i]);
    tsdb_pb_put_bytes(&ts, 1, packed.p ? packed.p : "", packed.len);
    struct tsdb_rwproto_series s = {(const unsigned char *)ts.p, ts.len};
    struct tsdb_rwpartial p = {0};
    tsdb_rwpartial_add_refs(&p, &s, n_symbols);
    char *t = tsdb_rwpartial_text(&p);
    tsdb_rwpartial_clear(&p);
    free(packed.p);
    free(ts.p);
    return t;
}

START_TEST(test_tsdb_rwpartial_refs)
{
    char *t = s_refs_line((const uint64_t[]){1, 2, 3, 40}, 4, 6);
    ck_assert_str_eq(t, "parsing labels for series [1 2 3 40]: labelRefs 3 (name) = 40 (value) "
                        "outside of symbols table (size 6)\n");
    free(t);
    t = s_refs_line((const uint64_t[]){9, 2}, 2, 6); // the name ref outside
    ck_assert_str_eq(t, "parsing labels for series [9 2]: labelRefs 9 (name) = 2 (value) "
                        "outside of symbols table (size 6)\n");
    free(t);
    t = s_refs_line((const uint64_t[]){1, 2, 3}, 3, 6); // odd: refused before any lookup
    ck_assert_str_eq(t, "parsing labels for series [1 2 3]: invalid labelRefs length 3\n");
    free(t);
}
END_TEST

Suite *
tsdb_rwpartial_suite(void)
{
    Suite *s = suite_create("tsdb_rwpartial");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tsdb_rwpartial_lines);
    tcase_add_test(tc, test_tsdb_rwpartial_bounded);
    tcase_add_test(tc, test_tsdb_rwpartial_refs);
    suite_add_tcase(s, tc);
    return s;
}
