/*  check_ruled_pool.c — the worker pool that evaluates rule groups (ruled/ruled_pool.c).

    Groups evaluate through a fake query function that sleeps for the expression `slow`
    (a query tsdb takes long to answer) and answers at once otherwise: with two workers the
    quick groups finish while the slow one still runs, the wake-up descriptor becomes
    readable, wait_idle returns only once every job is done, and destroy waits for a job in
    progress. One worker shows the opposite: the quick groups wait behind the slow one.
*/
#include <check.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_mem.h"
#include "fw_time.h"
#include "../ruled/ruled_pool.h"

Suite *ruled_pool_suite(void);

#define T0 1800000000000LL
#define S_SLOW_MS 400

static atomic_int s_queries;

static int
s_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out, fw_err_t *err)
{
    (void)arg;
    (void)err;
    fw_vector_clear(out);
    atomic_fetch_add(&s_queries, 1);
    if (strcmp(expr, "slow") == 0)
        usleep(S_SLOW_MS * 1000);
    fw_mem_grow((void **)&out->items, &out->cap, 1, sizeof(*out->items));
    memset(&out->items[0], 0, sizeof(out->items[0]));
    fw_labels_set(&out->items[0].labels, "job", "j");
    out->items[0].t_ms = t_ms;
    out->items[0].v = 1;
    out->len = 1;
    return 0;
}

struct s_groups {
    struct ruled_rulefile rf;
    ruled_group_t *g[4]; // g[0] reads `slow`, the others `fast`
    struct ruled_pool_job jobs[4];
};

static void
s_groups_new(struct s_groups *gs)
{
    memset(gs, 0, sizeof(*gs));
    static const char text[] = "groups:\n"
                               "  - {name: slow, rules: [{record: r0, expr: slow}]}\n"
                               "  - {name: f1, rules: [{record: r1, expr: fast}]}\n"
                               "  - {name: f2, rules: [{record: r2, expr: fast}]}\n"
                               "  - {name: f3, rules: [{record: r3, expr: fast}]}\n";
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(ruled_rules_load("p.yml", text, &gs->rf, errs), 0);
    free(errs);
    struct ruled_group_env env = {NULL, "", 15000, 0, 0};
    for (int i = 0; i < 4; i++) {
        gs->g[i] = ruled_group_new("p.yml", &gs->rf.groups[i], &env);
        gs->jobs[i] = (struct ruled_pool_job){.group = gs->g[i], .t_ms = T0, .arg = &gs->jobs[i]};
    }
}

static void
s_groups_free(struct s_groups *gs)
{
    for (int i = 0; i < 4; i++)
        ruled_group_destroy(&gs->g[i]);
    ruled_rules_free(&gs->rf);
}

// Submit all four (slow first) and return the order in which they come back, as indices,
// and when the third came back if that was a quick one (else -1).
static void
s_run(size_t workers, int order[4], int64_t *fast_done_ms)
{
    struct s_groups gs;
    s_groups_new(&gs);
    fw_err_t err = {0};
    ruled_pool_t *pool = ruled_pool_new_fn(workers, s_query, NULL, &err);
    ck_assert_ptr_nonnull(pool);
    int64_t start = fw_time_mono_ms();
    for (int i = 0; i < 4; i++)
        ruled_pool_submit(pool, &gs.jobs[i]);
    ck_assert_uint_eq(ruled_pool_outstanding(pool), 4);
    int got = 0;
    *fast_done_ms = -1;
    for (int spins = 0; got < 4 && spins < 100; spins++) {
        struct pollfd p = {ruled_pool_fd(pool), POLLIN, 0};
        ck_assert_int_ge(poll(&p, 1, 100), 0);
        struct ruled_pool_job *job;
        while ((job = ruled_pool_take(pool))) {
            int idx = (int)(job - gs.jobs);
            ck_assert_uint_eq(job->res.batch->len, 1); // the record was evaluated
            ruled_group_result_clear(&job->res);
            order[got++] = idx;
            if (got == 3 && idx != 0)
                *fast_done_ms = fw_time_mono_ms() - start;
        }
    }
    ck_assert_int_eq(got, 4);
    ck_assert_uint_eq(ruled_pool_outstanding(pool), 0);
    ruled_pool_destroy(&pool);
    ruled_pool_destroy(&pool); // twice is fine
    s_groups_free(&gs);
}

START_TEST(test_ruled_pool_slow_group_does_not_stall_others)
{
    int order[4];
    int64_t fast_ms;
    s_run(2, order, &fast_ms);
    ck_assert_int_eq(order[3], 0); // the slow group comes back last
    ck_assert_msg(fast_ms >= 0 && fast_ms < S_SLOW_MS / 2, "quick groups took %lld ms",
                  (long long)fast_ms);
    // With one worker the quick groups wait behind the slow one.
    s_run(1, order, &fast_ms);
    ck_assert_int_eq(order[0], 0);
    ck_assert_int_ge(fast_ms, S_SLOW_MS);
}
END_TEST

START_TEST(test_ruled_pool_wait_idle_and_destroy_busy)
{
    struct s_groups gs;
    s_groups_new(&gs);
    fw_err_t err = {0};
    ruled_pool_t *pool = ruled_pool_new_fn(3, s_query, NULL, &err);
    for (int i = 0; i < 4; i++)
        ruled_pool_submit(pool, &gs.jobs[i]);
    int64_t start = fw_time_mono_ms();
    ruled_pool_wait_idle(pool);
    ck_assert_int_ge(fw_time_mono_ms() - start, S_SLOW_MS - 50); // waited for the slow one
    struct ruled_pool_job *job;
    int n = 0;
    while ((job = ruled_pool_take(pool))) {
        ruled_group_result_clear(&job->res);
        n++;
    }
    ck_assert_int_eq(n, 4);
    // Destroy while the slow group is being evaluated: waits for it, drops its result.
    ruled_pool_submit(pool, &gs.jobs[0]);
    usleep(50 * 1000);
    ruled_pool_destroy(&pool);
    ck_assert_ptr_null(pool);
    s_groups_free(&gs);
}
END_TEST

START_TEST(test_ruled_pool_refuses_bad_sizes)
{
    fw_err_t err = {0};
    ck_assert_ptr_null(ruled_pool_new_fn(0, s_query, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "--rules.group-workers must be 1..256"));
    ck_assert_ptr_null(ruled_pool_new_fn(RULED_POOL_MAX + 1, s_query, NULL, &err));
}
END_TEST

Suite *
ruled_pool_suite(void)
{
    Suite *s = suite_create("ruled_pool");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_ruled_pool_slow_group_does_not_stall_others);
    tcase_add_test(tc, test_ruled_pool_wait_idle_and_destroy_busy);
    tcase_add_test(tc, test_ruled_pool_refuses_bad_sizes);
    suite_add_tcase(s, tc);
    return s;
}
