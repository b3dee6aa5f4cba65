/*  check_tsdb_rwsend_shards.c — remote_write's resharding rule, on the cases Prometheus's
    calculateDesiredShards decides.
 */
#include <check.h>

#include "../tsdb/tsdb_rwsend_shards.h"

START_TEST(test_tsdb_rwsend_ewma)
{
    struct tsdb_rwsend_ewma e = {0};
    tsdb_rwsend_ewma_add(&e, 100);
    tsdb_rwsend_ewma_tick(&e, 10);
    ck_assert_double_eq_tol(e.rate, 10, 1e-9); // the first tick is the rate
    tsdb_rwsend_ewma_add(&e, 150);
    tsdb_rwsend_ewma_add(&e, 50);
    tsdb_rwsend_ewma_tick(&e, 10);
    ck_assert_double_eq_tol(e.rate, 12, 1e-9); // then 0.2 of the way to the new one
    tsdb_rwsend_ewma_tick(&e, 10);
    ck_assert_double_eq_tol(e.rate, 9.6, 1e-9);
}
END_TEST

START_TEST(test_tsdb_rwsend_desired_shards)
{
    // Nothing sent yet: no opinion.
    struct tsdb_rwsend_rates r = {.in = 5000, .out = 0, .send_s = 1};
    ck_assert_uint_eq(tsdb_rwsend_desired_shards(&r, 3, 1, 50), 3);
    // 1 ms a sample, 5000 samples/s coming in: 5 shards.
    r = (struct tsdb_rwsend_rates){.in = 5000, .out = 1000, .send_s = 1};
    ck_assert_uint_eq(tsdb_rwsend_desired_shards(&r, 1, 1, 50), 5);
    // Within 30 % of the current number: kept (4 × 1.3 = 5.2).
    ck_assert_uint_eq(tsdb_rwsend_desired_shards(&r, 4, 1, 50), 4);
    // Bounded by max_shards.
    r.in = 500000;
    ck_assert_uint_eq(tsdb_rwsend_desired_shards(&r, 1, 1, 50), 50);
    // Half the samples dropped: half the shards (4 ms a sample, 2000/s in, 1000 kept).
    r = (struct tsdb_rwsend_rates){.in = 2000, .out = 1000, .dropped = 1000, .send_s = 4};
    ck_assert_uint_eq(tsdb_rwsend_desired_shards(&r, 1, 1, 50), 4);
    // A backlog: 5 % of it a second more (20 s behind at 1000/s: 1000 more a second).
    r = (struct tsdb_rwsend_rates){.in = 1000, .out = 1000, .send_s = 2, .delay_s = 20};
    ck_assert_uint_eq(tsdb_rwsend_desired_shards(&r, 1, 1, 50), 4);
    // Fewer wanted, but more than 10 s behind: kept.
    r = (struct tsdb_rwsend_rates){.in = 1000, .out = 1000, .send_s = 0.1, .delay_s = 20};
    ck_assert_uint_eq(tsdb_rwsend_desired_shards(&r, 10, 1, 50), 10);
    // Caught up: down to what is needed, never below min_shards.
    r.delay_s = 5;
    ck_assert_uint_eq(tsdb_rwsend_desired_shards(&r, 10, 1, 50), 1);
    ck_assert_uint_eq(tsdb_rwsend_desired_shards(&r, 10, 2, 50), 2);
}
END_TEST

// A catching-up shard's windows hold about capacity samples, not a minute of every series.
START_TEST(test_tsdb_rwsend_window_span)
{
    // 60 s asked, 3000 samples read (50 series at 1/s), capacity 500: 9 s next
    ck_assert_int_eq(tsdb_rwsend_window_span(60000, 500, 3000, 60000, 60000), 9000);
    // a window that held little: up to the most
    ck_assert_int_eq(tsdb_rwsend_window_span(9000, 10000, 450, 9000, 60000), 60000);
    ck_assert_int_eq(tsdb_rwsend_window_span(9000, 500, 0, 9000, 60000), 60000);
    // at least a second, however dense
    ck_assert_int_eq(tsdb_rwsend_window_span(60000, 10, 1000000, 60000, 60000), 1000);
    ck_assert_int_eq(tsdb_rwsend_window_span(5000, 500, 10, 0, 60000), 5000);
}
END_TEST

Suite *
tsdb_rwsend_shards_suite(void)
{
    Suite *s = suite_create("tsdb_rwsend_shards");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tsdb_rwsend_ewma);
    tcase_add_test(tc, test_tsdb_rwsend_desired_shards);
    tcase_add_test(tc, test_tsdb_rwsend_window_span);
    suite_add_tcase(s, tc);
    return s;
}
