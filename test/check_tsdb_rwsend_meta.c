/*  check_tsdb_rwsend_meta.c — metadata_config's encoding: tsdb's metadata table written as
    WriteRequest.metadata fields that read back family for family (type numbers, names,
    help and unit), each distinct triple once, and any run of them a WriteRequest of its own
    (how the sender cuts requests of max_samples_per_send families).
*/
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fw_err.h"
#include "../tsdb/tsdb_metadata.h"
#include "../tsdb/tsdb_rwproto.h"
#include "../tsdb/tsdb_rwsend_meta.h"

#define S_FAM(m, t, u, h)                                                                          \
    {                                                                                              \
        (m), (t), (u), (h), strlen(m), strlen(u), strlen(h)                                        \
    }

static bool
s_is(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(p, want, n) == 0;
}

START_TEST(test_tsdb_rwsend_meta_collect)
{
    tsdb_metadata_t *md = tsdb_metadata_new();
    struct tsdb_metadata_family f[] = {
        S_FAM("b_seconds", "histogram", "seconds", "Cycle time."),
        S_FAM("a_total", "counter", "", "Parts \"made\"."),
        S_FAM("c", "stateset", "", ""),
    };
    ck_assert_uint_eq(tsdb_metadata_put(md, f, 3, 1000, NULL), 3);
    struct fw_json_out all = {0};
    size_t *ends = NULL, cap = 0;
    ck_assert_uint_eq(tsdb_rwsend_meta_collect(md, &all, &ends, &cap), 3);
    struct tsdb_rwproto_counts c;
    fw_err_t err;
    ck_assert_msg(tsdb_rwproto_check((unsigned char *)all.p, all.len, TSDB_RWPROTO_V1, &c, &err) ==
                      0,
                  "%s", err.msg);
    ck_assert_uint_eq(c.metadata, 3);
    ck_assert_uint_eq(c.series, 0);
    size_t off = 0;
    struct tsdb_rwproto_meta m;
    ck_assert(tsdb_rwproto_next_meta((unsigned char *)all.p, all.len, &off, &m));
    ck_assert(m.type == 1 && s_is(m.name, m.name_len, "a_total"));
    ck_assert(s_is(m.help, m.help_len, "Parts \"made\".") && m.unit_len == 0);
    ck_assert(tsdb_rwproto_next_meta((unsigned char *)all.p, all.len, &off, &m));
    ck_assert(m.type == 3 && s_is(m.name, m.name_len, "b_seconds"));
    ck_assert(s_is(m.unit, m.unit_len, "seconds") && s_is(m.help, m.help_len, "Cycle time."));
    ck_assert(tsdb_rwproto_next_meta((unsigned char *)all.p, all.len, &off, &m));
    ck_assert(m.type == 7 && s_is(m.name, m.name_len, "c") && !m.help_len && !m.unit_len);
    ck_assert(!tsdb_rwproto_next_meta((unsigned char *)all.p, all.len, &off, &m));
    ck_assert_uint_eq(ends[2], all.len);
    // the last two alone: a request of its own
    const unsigned char *tail = (unsigned char *)all.p + ends[0];
    ck_assert_int_eq(tsdb_rwproto_check(tail, all.len - ends[0], TSDB_RWPROTO_V1, &c, &err), 0);
    ck_assert_uint_eq(c.metadata, 2);
    off = 0;
    ck_assert(tsdb_rwproto_next_meta(tail, all.len - ends[0], &off, &m));
    ck_assert(s_is(m.name, m.name_len, "b_seconds"));
    // an empty table: nothing
    tsdb_metadata_expire(md, 2000 + TSDB_METADATA_TTL_MS);
    ck_assert_uint_eq(tsdb_rwsend_meta_collect(md, &all, &ends, &cap), 0);
    ck_assert_uint_eq(all.len, 0);
    free(all.p);
    free(ends);
    tsdb_metadata_destroy(&md);
}
END_TEST

Suite *
tsdb_rwsend_meta_suite(void)
{
    Suite *s = suite_create("tsdb_rwsend_meta");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tsdb_rwsend_meta_collect);
    suite_add_tcase(s, tc);
    return s;
}
