/*  check_notifyd_retryq.c — the heap of jobs waiting out their backoff: items come out
    earliest first, ties in seq order, and only once due. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "../notifyd/notifyd_retryq.h"

START_TEST(test_notifyd_retryq_order_and_due)
{
    notifyd_retryq_t *q = notifyd_retryq_new();
    ck_assert_int_eq(notifyd_retryq_next_at(q), INT64_MAX);
    ck_assert_ptr_null(notifyd_retryq_pop_due(q, INT64_MAX, NULL));
    enum { N = 500 };
    static int items[N];
    unsigned r = 7;
    for (int i = 0; i < N; i++) { // at in 0..49: many ties, broken by seq (i)
        r = r * 1103515245u + 12345u;
        items[i] = (int)((r >> 8) % 50);
        notifyd_retryq_push(q, items[i], (uint64_t)i, &items[i]);
    }
    ck_assert_uint_eq(notifyd_retryq_size(q), N);
    int64_t last_at = -1;
    uint64_t last_seq = 0, seq;
    size_t taken = 0;
    for (int64_t now = 0; now < 50; now += 10) {
        int *it;
        while ((it = notifyd_retryq_pop_due(q, now, &seq))) {
            ck_assert_int_le(*it, now); // only due ones
            ck_assert_uint_eq(seq, (uint64_t)(it - items));
            ck_assert_msg(*it > last_at || (*it == last_at && seq > last_seq),
                          "(%d, %llu) after (%lld, %llu)", *it, (unsigned long long)seq,
                          (long long)last_at, (unsigned long long)last_seq);
            last_at = *it;
            last_seq = seq;
            taken++;
        }
        ck_assert(notifyd_retryq_next_at(q) > now);
    }
    ck_assert_ptr_nonnull(notifyd_retryq_pop_due(q, INT64_MAX, NULL)); // 41..49 are left
    while (notifyd_retryq_pop_due(q, INT64_MAX, NULL))
        taken++;
    ck_assert_uint_eq(taken + 1, N);
    ck_assert_uint_eq(notifyd_retryq_size(q), 0);
    notifyd_retryq_destroy(&q);
    ck_assert_ptr_null(q);
}
END_TEST

Suite *
notifyd_retryq_suite(void)
{
    Suite *s = suite_create("notifyd_retryq");
    TCase *tc = tcase_create("heap");
    tcase_add_test(tc, test_notifyd_retryq_order_and_due);
    suite_add_tcase(s, tc);
    return s;
}
