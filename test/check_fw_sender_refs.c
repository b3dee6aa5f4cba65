/*  check_fw_sender_refs.c — the sender's series refs on their own (fw_sender_refs): the
    lowest free ref first, a released ref free only once no held batch can use it, and a
    body's definitions learnt and its uses rewritten with their labels (SAMPLES v3 and v4).

    No sockets: check_fw_sender.c covers refs through a sender and its stand-in tsdb.
*/
#include <check.h>
#include <stdio.h>

#include "fw_msg.h"
#include "fw_msg_samples.h"
#include "fw_sender.h"

// A SAMPLES v3 body of series {ref, name or NULL (a use), one sample}; v4 when st (the
// start times, 0: none) is given.
static zmsg_t *
s_ref_frames_st(size_t n, const uint32_t *ref, const char *const *name, const int64_t *st)
{
    struct fw_batch *b = fw_batch_new();
    snprintf(b->sender, sizeof(b->sender), "s");
    b->seq = b->oldest = 1;
    for (size_t i = 0; i < n; i++) {
        struct fw_labels l = FW_LABELS_INIT;
        if (name[i])
            fw_labels_set(&l, "__name__", name[i]);
        struct fw_series *sr = fw_batch_add_series(b, &l);
        sr->ref = ref[i];
        fw_series_add_st(sr, 1000, st ? st[i] : 0, (double)i);
        fw_labels_clear(&l);
    }
    struct fw_msg *m = fw_msg_new_samples(&b);
    zmsg_t *z = fw_msg_encode(m, NULL);
    fw_msg_destroy(&m);
    ck_assert_ptr_nonnull(z);
    return z;
}

static zmsg_t *
s_ref_frames(size_t n, const uint32_t *ref, const char *const *name)
{
    return s_ref_frames_st(n, ref, name, NULL);
}

// SAMPLES v4 (start times) carries refs as v3: definitions are learnt from it, and a use is
// rewritten with its labels, its start times kept (the scraper's OpenMetrics _created).
START_TEST(test_fw_sender_refs_v4)
{
    fw_sender_refs_t *r = fw_sender_refs_new();
    uint32_t refs1[] = {2, 0};
    const char *names1[] = {"two", "plain"};
    int64_t st1[] = {500, 0};
    zmsg_t *z = s_ref_frames_st(2, refs1, names1, st1);
    zmsg_first(z);
    ck_assert(zframe_streq(zmsg_next(z), "4"));
    zframe_t *body = zmsg_last(z);
    ck_assert_uint_eq(fw_sender_refs_learn(r, FW_SAMPLES_V4, zframe_data(body), zframe_size(body)),
                      FW_SENDER_REFS_DEFS);
    ck_assert_uint_eq(fw_sender_refs_count(r), 1);
    zmsg_destroy(&z);
    uint32_t refs2[] = {2, 0};
    const char *names2[] = {NULL, "plain"};
    int64_t st2[] = {600, 0};
    z = s_ref_frames_st(2, refs2, names2, st2);
    size_t lost;
    zmsg_t *w = fw_sender_refs_rewrite(r, z, &lost);
    ck_assert_ptr_nonnull(w);
    ck_assert_uint_eq(lost, 0);
    struct fw_msg *d = NULL;
    fw_err_t err;
    ck_assert_msg(fw_msg_decode(w, &d, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d->batch->len, 2);
    ck_assert_str_eq(fw_labels_get(&d->batch->series[0].labels, "__name__"), "two");
    ck_assert_ptr_nonnull(d->batch->series[0].st);
    ck_assert_int_eq(d->batch->series[0].st[0], 600);
    ck_assert(!d->batch->series[1].st || d->batch->series[1].st[0] == 0);
    fw_msg_destroy(&d);
    zmsg_destroy(&w);
    zmsg_destroy(&z);
    fw_sender_refs_destroy(&r);
}
END_TEST

// Refs: the lowest free first; a released one is free only once no held batch can use it;
// definitions are learnt and a body's uses rewritten with their labels.
START_TEST(test_fw_sender_refs_reuse_and_rewrite)
{
    fw_sender_refs_t *r = fw_sender_refs_new();
    ck_assert_uint_eq(fw_sender_refs_alloc(r), 1);
    ck_assert_uint_eq(fw_sender_refs_alloc(r), 2);
    fw_sender_refs_release(r, 1);
    fw_sender_refs_settle(r, 5, 3); // batch 5 (which may use ref 1) is still held
    ck_assert_uint_eq(fw_sender_refs_pending(r), 1);
    ck_assert_uint_eq(fw_sender_refs_alloc(r), 3);
    fw_sender_refs_settle(r, 7, 5); // batches up to 4 gone; 5 still held
    ck_assert_uint_eq(fw_sender_refs_alloc(r), 4);
    fw_sender_refs_settle(r, 7, 6); // batch 5 gone: ref 1 is free again
    ck_assert_uint_eq(fw_sender_refs_pending(r), 0);
    ck_assert_uint_eq(fw_sender_refs_alloc(r), 1);

    uint32_t refs1[] = {2, 0};
    const char *names1[] = {"two", "plain"};
    zmsg_t *z = s_ref_frames(2, refs1, names1);
    zframe_t *body = zmsg_last(z);
    fw_sender_refs_learn(r, FW_SAMPLES_V3, zframe_data(body), zframe_size(body));
    ck_assert_uint_eq(fw_sender_refs_count(r), 1);
    zmsg_destroy(&z);
    uint32_t refs2[] = {2, 9, 0};
    const char *names2[] = {NULL, NULL, "plain"};
    z = s_ref_frames(3, refs2, names2);
    size_t lost;
    zmsg_t *w = fw_sender_refs_rewrite(r, z, &lost);
    ck_assert_ptr_nonnull(w);
    ck_assert_uint_eq(lost, 1); // ref 9 was never defined: left out
    struct fw_msg *d = NULL;
    fw_err_t err;
    ck_assert_msg(fw_msg_decode(w, &d, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(d->batch->len, 2);
    ck_assert_uint_eq(d->batch->series[0].ref, 2);
    ck_assert_str_eq(fw_labels_get(&d->batch->series[0].labels, "__name__"), "two");
    ck_assert_str_eq(fw_labels_get(&d->batch->series[1].labels, "__name__"), "plain");
    ck_assert(d->batch->series[1].samples[0].v == 2);
    fw_msg_destroy(&d);
    zmsg_destroy(&w);
    zmsg_destroy(&z);
    // a released ref's labels go with it
    fw_sender_refs_release(r, 2);
    fw_sender_refs_settle(r, 1, 2);
    ck_assert_uint_eq(fw_sender_refs_count(r), 0);
    fw_sender_refs_destroy(&r);
    fw_sender_refs_destroy(&r);
}
END_TEST

Suite *
fw_sender_refs_suite(void)
{
    Suite *s = suite_create("fw_sender_refs");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_sender_refs_v4);
    tcase_add_test(tc, test_fw_sender_refs_reuse_and_rewrite);
    suite_add_tcase(s, tc);
    return s;
}
