/*  check_notifyd_results.c — outcomes kept until acknowledged: re-published with a doubling
    interval, silent once acknowledged, asked for again, forgotten after their time, and at
    most NOTIFYD_RESULTS_MAX kept.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../notifyd/notifyd_results.h"

#define T0 1700000000000LL

struct s_sent {
    char ids[8][32];
    size_t n;
};

static void
s_send(void *arg, const json_t *body)
{
    struct s_sent *s = arg;
    if (s->n < 8)
        snprintf(s->ids[s->n], sizeof s->ids[0], "%s",
                 json_string_value(json_object_get(body, "id")));
    s->n++;
}

static json_t *
s_result(const char *id)
{
    return json_pack("{s:s, s:s, s:s}", "id", id, "receiver", "r", "result", "delivered");
}

// Re-published after 1 s, 2 s, 4 s... until acknowledged; then never again.
START_TEST(test_notifyd_results_resend_until_acked)
{
    notifyd_results_t *r = notifyd_results_new();
    notifyd_results_add(r, s_result("a"), T0);
    notifyd_results_add(r, s_result("b"), T0);
    ck_assert_int_eq(notifyd_results_unacked(r), 2);
    struct s_sent s = {0};
    ck_assert_int_eq(notifyd_results_due(r, T0 + 999, s_send, &s, NULL), 0);
    ck_assert_int_eq(notifyd_results_due(r, T0 + 1000, s_send, &s, NULL), 2);
    ck_assert_str_eq(s.ids[0], "a");
    ck_assert_int_eq(notifyd_results_due(r, T0 + 2999, s_send, &s, NULL), 0);
    ck_assert_int_eq(notifyd_results_due(r, T0 + 3000, s_send, &s, NULL), 2); // +2 s
    ck_assert_int_eq(notifyd_results_ack(r, "a", T0 + 3500), 0);
    ck_assert_int_eq(notifyd_results_ack(r, "zz", T0 + 3500), -1);
    ck_assert_int_eq(notifyd_results_unacked(r), 1);
    s.n = 0;
    ck_assert_int_eq(notifyd_results_due(r, T0 + 7000, s_send, &s, NULL), 1); // +4 s
    ck_assert_str_eq(s.ids[0], "b");
    // Still known after the acknowledgement (dedup, questions).
    ck_assert_ptr_nonnull(notifyd_results_get(r, "a"));
    // Asked for again: published again from 1 s on, until acknowledged again.
    ck_assert_int_eq(notifyd_results_unack(r, "a", T0 + 8000), 0);
    ck_assert_int_eq(notifyd_results_unacked(r), 2);
    s.n = 0;
    ck_assert_int_eq(notifyd_results_due(r, T0 + 9000, s_send, &s, NULL), 1);
    ck_assert_str_eq(s.ids[0], "a");
    // The interval stops doubling at NOTIFYD_RESULTS_RESEND_MAX_MS.
    int64_t t = T0 + 9000;
    for (int i = 0; i < 20; i++) {
        t += NOTIFYD_RESULTS_RESEND_MAX_MS;
        s.n = 0;
        (void)notifyd_results_due(r, t, s_send, &s, NULL);
        ck_assert_int_ge(s.n, 1);
    }
    notifyd_results_destroy(&r);
    notifyd_results_destroy(&r);
}
END_TEST

// Acknowledged outcomes go after an hour, unacknowledged ones after a day (counted).
START_TEST(test_notifyd_results_expire)
{
    notifyd_results_t *r = notifyd_results_new();
    notifyd_results_add(r, s_result("a"), T0);
    notifyd_results_add(r, s_result("b"), T0);
    ck_assert_int_eq(notifyd_results_ack(r, "a", T0), 0);
    struct s_sent s = {0};
    size_t expired = 9;
    (void)notifyd_results_due(r, T0 + NOTIFYD_RESULTS_KEEP_ACKED_MS, s_send, &s, &expired);
    ck_assert_int_eq(expired, 0);
    ck_assert_ptr_null(notifyd_results_get(r, "a"));
    ck_assert_ptr_nonnull(notifyd_results_get(r, "b"));
    (void)notifyd_results_due(r, T0 + NOTIFYD_RESULTS_KEEP_MS, s_send, &s, &expired);
    ck_assert_int_eq(expired, 1);
    ck_assert_int_eq(notifyd_results_size(r), 0);
    ck_assert_int_eq(notifyd_results_unacked(r), 0);
    notifyd_results_destroy(&r);
}
END_TEST

// At most NOTIFYD_RESULTS_MAX: the oldest go first; one burst re-publishes at most
// NOTIFYD_RESULTS_BURST; an id added again replaces its outcome.
START_TEST(test_notifyd_results_bounded)
{
    notifyd_results_t *r = notifyd_results_new();
    char id[32];
    for (int i = 0; i < NOTIFYD_RESULTS_MAX + 5; i++) {
        snprintf(id, sizeof id, "n%d", i);
        notifyd_results_add(r, s_result(id), T0);
    }
    ck_assert_int_eq(notifyd_results_size(r), NOTIFYD_RESULTS_MAX);
    ck_assert_int_eq(notifyd_results_unacked(r), NOTIFYD_RESULTS_MAX);
    ck_assert_ptr_null(notifyd_results_get(r, "n4"));
    ck_assert_ptr_nonnull(notifyd_results_get(r, "n5"));
    struct s_sent s = {0};
    ck_assert_int_eq(notifyd_results_due(r, T0 + 1000, s_send, &s, NULL), NOTIFYD_RESULTS_BURST);
    ck_assert_str_eq(s.ids[0], "n5");
    json_t *f = json_pack("{s:s, s:s, s:s}", "id", "n5", "receiver", "r", "result", "failed");
    notifyd_results_add(r, f, T0 + 2000);
    ck_assert_int_eq(notifyd_results_size(r), NOTIFYD_RESULTS_MAX);
    ck_assert_str_eq(json_string_value(json_object_get(notifyd_results_get(r, "n5"), "result")),
                     "failed");
    notifyd_results_add(r, json_pack("{s:s}", "result", "no id"), T0); // ignored
    ck_assert_int_eq(notifyd_results_size(r), NOTIFYD_RESULTS_MAX);
    notifyd_results_destroy(&r);
}
END_TEST

// Remove the environment notifyd_results_open made under dir.
static void
s_rm_env(const char *dir)
{
    char f[200];
    snprintf(f, sizeof f, "%s/data.mdb", dir);
    unlink(f);
    snprintf(f, sizeof f, "%s/lock.mdb", dir);
    unlink(f);
    rmdir(dir);
}

// With a storage path, a restarted notifyd has the outcomes it made: acknowledged ones stay
// acknowledged, the others are published again; forgotten ones stay forgotten.
START_TEST(test_notifyd_results_persist)
{
    char dir[64];
    (void)mkdir("test/tmp", 0755);
    snprintf(dir, sizeof dir, "test/tmp/notifyd-results-%d", (int)getpid());
    fw_err_t err;
    fw_err_clear(&err);
    notifyd_results_t *r = notifyd_results_new();
    ck_assert_int_eq(notifyd_results_open(r, dir, T0, &err), 0);
    notifyd_results_add(r, s_result("a"), T0);
    notifyd_results_add(r, s_result("b"), T0);
    json_t *f = s_result("c");
    json_object_set_new(f, "result", json_string("failed"));
    json_object_set_new(f, "reason", json_string("HTTP 500"));
    notifyd_results_add(r, f, T0);
    ck_assert_int_eq(notifyd_results_ack(r, "a", T0 + 10), 0);
    notifyd_results_destroy(&r);
    r = notifyd_results_new();
    ck_assert_int_eq(notifyd_results_open(r, dir, T0 + 20, &err), 0);
    ck_assert_uint_eq(notifyd_results_size(r), 3);
    ck_assert_uint_eq(notifyd_results_unacked(r), 2);
    ck_assert_str_eq(json_string_value(json_object_get(notifyd_results_get(r, "c"), "reason")),
                     "HTTP 500");
    struct s_sent sent = {0};
    ck_assert_uint_eq(
        notifyd_results_due(r, T0 + 20 + NOTIFYD_RESULTS_RESEND_MS, s_send, &sent, NULL),
        2); // b and c, not the acknowledged a
    size_t expired = 0;
    (void)notifyd_results_due(r, T0 + NOTIFYD_RESULTS_KEEP_MS + 30, s_send, &sent, &expired);
    ck_assert_uint_eq(expired, 2); // forgotten outcomes leave the disk too
    notifyd_results_destroy(&r);
    r = notifyd_results_new();
    ck_assert_int_eq(notifyd_results_open(r, dir, T0 + NOTIFYD_RESULTS_KEEP_MS + 40, &err), 0);
    ck_assert_uint_eq(notifyd_results_size(r), 0); // a went an hour after its ack
    ck_assert_ptr_null(notifyd_results_get(r, "b"));
    notifyd_results_destroy(&r);
    s_rm_env(dir);
}
END_TEST

Suite *
notifyd_results_suite(void)
{
    Suite *s = suite_create("notifyd_results");
    TCase *tc = tcase_create("notifyd_results");
    tcase_add_test(tc, test_notifyd_results_resend_until_acked);
    tcase_add_test(tc, test_notifyd_results_expire);
    tcase_add_test(tc, test_notifyd_results_bounded);
    tcase_add_test(tc, test_notifyd_results_persist);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
