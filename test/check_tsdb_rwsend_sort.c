/*  check_tsdb_rwsend_sort.c — the remote-write shards' radix sorts against qsort: random
    windows (one sample per series and timestamp, gathered series by series in time order)
    sorted by time and by series give what a comparison sort gives, and keep the order of
    equal keys (by time: series order; by series: time order); keys needing 1 to 4 passes.
*/
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "../tsdb/tsdb_rwsend_sort.h"

static uint64_t s_rng = 88172645463325252ULL;

static uint64_t
s_rand(void)
{
    return check_util_rand(&s_rng);
}

static int
s_by_t(const void *a, const void *b)
{
    const struct tsdb_rwsend_entry *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->series > y->series) - (x->series < y->series);
}

static int
s_by_series(const void *a, const void *b)
{
    const struct tsdb_rwsend_entry *x = a, *y = b;
    if (x->series != y->series)
        return x->series < y->series ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

START_TEST(test_tsdb_rwsend_sort_like_qsort)
{
    const int64_t spans[] = {1, 200, 60000, 1LL << 26};
    const uint32_t series[] = {1, 250, 70000, 1u << 25};
    for (int round = 0; round < 40; round++) {
        size_t n = 0, cap = 5000;
        struct tsdb_rwsend_entry *e = calloc(cap, sizeof(*e)), *tmp = calloc(cap, sizeof(*e));
        struct tsdb_rwsend_entry *want = calloc(cap, sizeof(*e));
        int64_t span = spans[round % 4], base = 1767225600000LL + (int64_t)(s_rand() % 1000);
        uint32_t ns = series[(round / 4) % 4];
        // series in increasing index, each with increasing distinct timestamps
        for (uint32_t sid = (uint32_t)(s_rand() % 3); n < cap - 10 && sid < ns;
             sid += 1 + (uint32_t)(s_rand() % (ns / 200 + 1))) {
            int64_t t = base + (int64_t)(s_rand() % (uint64_t)span);
            for (int k = (int)(s_rand() % 4); k >= 0 && t < base + span; k--) {
                e[n++] = (struct tsdb_rwsend_entry){sid, t, (double)n};
                t += 1 + (int64_t)(s_rand() % (uint64_t)(span / 8 + 1));
            }
        }
        for (int by_series = 0; by_series < 2; by_series++) {
            memcpy(want, e, n * sizeof(*e));
            qsort(want, n, sizeof(*want), by_series ? s_by_series : s_by_t);
            struct tsdb_rwsend_entry *got = calloc(n + 1, sizeof(*got));
            memcpy(got, e, n * sizeof(*e));
            tsdb_rwsend_sort(got, tmp, n, by_series);
            for (size_t i = 0; i < n; i++) {
                ck_assert_int_eq(got[i].t, want[i].t);
                ck_assert_uint_eq(got[i].series, want[i].series);
                ck_assert(got[i].v == want[i].v);
            }
            free(got);
        }
        free(e);
        free(tmp);
        free(want);
    }
}
END_TEST

Suite *
tsdb_rwsend_sort_suite(void)
{
    Suite *s = suite_create("tsdb_rwsend_sort");
    TCase *tc = tcase_create("sort");
    tcase_add_test(tc, test_tsdb_rwsend_sort_like_qsort);
    suite_add_tcase(s, tc);
    return s;
}
