/*  check_tsdb_ingest.c — the exactly-once table: accept, duplicate, gap, the sender's
    drops, commits, restarts through the blob, idleness and the bound on senders; and the
    store's series refs of SAMPLES v3 senders (tsdb_store.h "Series refs").
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tsdb/tsdb_ingest.h"
#include "../tsdb/tsdb_store.h"
#include "check_util.h"

#define A TSDB_INGEST_ACCEPT
#define D TSDB_INGEST_DUPLICATE
#define G TSDB_INGEST_GAP

START_TEST(test_tsdb_ingest_new_offer_destroy)
{
    tsdb_ingest_t *in = tsdb_ingest_new(0, 0);
    ck_assert_int_eq(tsdb_ingest_offer(in, "scraper/h/1.2", 1, 1, 1000), A);
    ck_assert(tsdb_ingest_pending(in));
    ck_assert_uint_eq(tsdb_ingest_acked(in, "scraper/h/1.2"), 0); // not committed yet
    tsdb_ingest_committed(in);
    ck_assert(!tsdb_ingest_pending(in));
    ck_assert_uint_eq(tsdb_ingest_acked(in, "scraper/h/1.2"), 1);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "nobody"), 0);
    ck_assert_uint_eq(tsdb_ingest_count(in), 1);
    tsdb_ingest_destroy(&in);
    tsdb_ingest_destroy(&in);
    ck_assert_ptr_null(in);
}
END_TEST

START_TEST(test_tsdb_ingest_duplicates_and_gaps)
{
    tsdb_ingest_t *in = tsdb_ingest_new(0, 0);
    for (uint64_t s = 1; s <= 3; s++)
        ck_assert_int_eq(tsdb_ingest_offer(in, "s", s, 1, 10), A);
    ck_assert_uint_eq(tsdb_ingest_pending_batches(in), 3);
    // a resend of a pending batch is a duplicate even before its commit
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 2, 1, 10), D);
    tsdb_ingest_committed(in);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "s"), 3);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 1, 1, 10), D);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 3, 1, 10), D);
    // 4 lost on the way: 5 and 6 are gaps, stored never
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 5, 4, 10), G);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 6, 4, 10), G);
    ck_assert(!tsdb_ingest_pending(in));
    // Go-Back-N: 4, 5, 6 again, in order
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 4, 4, 10), A);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 5, 4, 10), A);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 6, 4, 10), A);
    tsdb_ingest_committed(in);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "s"), 6);
    // senders are independent
    ck_assert_int_eq(tsdb_ingest_offer(in, "t", 1, 1, 10), A);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "t"), 0);
    tsdb_ingest_destroy(&in);
}
END_TEST

START_TEST(test_tsdb_ingest_sender_dropped_oldest)
{
    tsdb_ingest_t *in = tsdb_ingest_new(0, 0);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 1, 1, 10), A);
    tsdb_ingest_committed(in);
    // tsdb was away; the sender dropped 2..9 on overflow and holds 10..20
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 10, 10, 20), A);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 11, 10, 20), A);
    // a batch past a gap the sender can still fill is not accepted, even after a drop
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 15, 12, 20), G);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 12, 12, 20), A);
    tsdb_ingest_committed(in);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "s"), 12);
    tsdb_ingest_destroy(&in);
}
END_TEST

// A sender tsdb does not know (first contact, or after tsdb lost an uncommitted first
// batch) starts at its oldest: batches it still holds before seq are waited for.
START_TEST(test_tsdb_ingest_unknown_sender_starts_at_oldest)
{
    tsdb_ingest_t *in = tsdb_ingest_new(0, 0);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 5, 1, 10), G);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 1, 1, 10), A);
    ck_assert_int_eq(tsdb_ingest_offer(in, "new", 7, 7, 10), A);
    tsdb_ingest_committed(in);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "new"), 7);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "s"), 1);
    tsdb_ingest_destroy(&in);
}
END_TEST

START_TEST(test_tsdb_ingest_invalid_headers)
{
    tsdb_ingest_t *in = tsdb_ingest_new(0, 0);
    char longid[TSDB_INGEST_SENDER_MAX + 2];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    ck_assert_int_eq(tsdb_ingest_offer(in, "", 1, 1, 0), TSDB_INGEST_INVALID);
    ck_assert_int_eq(tsdb_ingest_offer(in, longid, 1, 1, 0), TSDB_INGEST_INVALID);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 1, 0, 0), TSDB_INGEST_INVALID);
    ck_assert_int_eq(tsdb_ingest_offer(in, "s", 1, 2, 0), TSDB_INGEST_INVALID);
    ck_assert_uint_eq(tsdb_ingest_count(in), 0);
    tsdb_ingest_destroy(&in);
}
END_TEST

// What a commit wrote is what a restarted tsdb knows: the blob carries next, so resent
// batches stay duplicates and a failed (never written) commit's batches are accepted again.
START_TEST(test_tsdb_ingest_survives_restart_through_blob)
{
    tsdb_ingest_t *in = tsdb_ingest_new(0, 0);
    for (uint64_t s = 1; s <= 4; s++)
        ck_assert_int_eq(tsdb_ingest_offer(in, "a", s, 1, 100), A);
    ck_assert_int_eq(tsdb_ingest_offer(in, "b", 9, 9, 200), A);
    size_t len;
    void *blob = tsdb_ingest_save(in, &len); // what the commit writes with the samples
    tsdb_ingest_committed(in);
    ck_assert_int_eq(tsdb_ingest_offer(in, "a", 5, 5, 300), A); // pending, never committed
    tsdb_ingest_destroy(&in);

    tsdb_ingest_t *again = tsdb_ingest_new(0, 0);
    fw_err_t err;
    ck_assert_int_eq(tsdb_ingest_load(again, blob, len, &err), 0);
    free(blob);
    ck_assert_uint_eq(tsdb_ingest_count(again), 2);
    ck_assert_uint_eq(tsdb_ingest_acked(again, "a"), 4);
    ck_assert_uint_eq(tsdb_ingest_acked(again, "b"), 9);
    ck_assert_int_eq(tsdb_ingest_offer(again, "a", 3, 3, 400), D);
    ck_assert_int_eq(tsdb_ingest_offer(again, "a", 5, 3, 400), A); // lost with the kill
    tsdb_ingest_destroy(&again);
}
END_TEST

START_TEST(test_tsdb_ingest_load_rejects_damage)
{
    tsdb_ingest_t *in = tsdb_ingest_new(0, 0);
    ck_assert_int_eq(tsdb_ingest_offer(in, "sender-1", 3, 3, 100), A);
    ck_assert_int_eq(tsdb_ingest_offer(in, "sender-2", 3, 3, 100), A);
    size_t len;
    unsigned char *blob = tsdb_ingest_save(in, &len);
    tsdb_ingest_t *other = tsdb_ingest_new(0, 0);
    fw_err_t err;
    // every strict prefix is refused, and leaves an empty table
    for (size_t cut = 1; cut < len; cut++) {
        fw_err_clear(&err);
        ck_assert_int_eq(tsdb_ingest_load(other, blob, cut, &err), -1);
        ck_assert_ptr_nonnull(strstr(err.msg, "ingest state"));
        ck_assert_uint_eq(tsdb_ingest_count(other), 0);
    }
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, blob, len);
    longer[len] = 0;
    ck_assert_int_eq(tsdb_ingest_load(other, longer, len + 1, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "trailing"));
    memcpy(longer, blob, len);
    longer[4] = 9; // another version
    ck_assert_int_eq(tsdb_ingest_load(other, longer, len, &err), -1);
    memcpy(longer, blob, len);
    memcpy(longer + 10, longer + 10 + 8 + 16 + 1, 8); // the second id replaces the first
    ck_assert_int_eq(tsdb_ingest_load(other, longer, len, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "repeated"));
    ck_assert_int_eq(tsdb_ingest_load(other, NULL, 0, &err), 0); // nothing: empty table
    ck_assert_int_eq(tsdb_ingest_load(other, blob, len, &err), 0);
    ck_assert_uint_eq(tsdb_ingest_count(other), 2);
    free(longer);
    free(blob);
    tsdb_ingest_destroy(&other);
    tsdb_ingest_destroy(&in);
}
END_TEST

START_TEST(test_tsdb_ingest_idle_senders_expire)
{
    tsdb_ingest_t *in = tsdb_ingest_new(0, 1000);
    ck_assert_int_eq(tsdb_ingest_offer(in, "old", 1, 1, 0), A);
    tsdb_ingest_committed(in);
    ck_assert_int_eq(tsdb_ingest_offer(in, "busy", 1, 1, 0), A); // pending: kept
    ck_assert_int_eq(tsdb_ingest_offer(in, "recent", 1, 1, 1500), A);
    ck_assert_uint_eq(tsdb_ingest_expire(in, 2000), 1);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "old"), 0);
    tsdb_ingest_committed(in);
    ck_assert_uint_eq(tsdb_ingest_expire(in, 2000), 1); // busy, now committed and idle
    ck_assert_uint_eq(tsdb_ingest_count(in), 1);
    // a forgotten sender is unknown again and starts at its oldest
    ck_assert_int_eq(tsdb_ingest_offer(in, "old", 2, 2, 3000), A);
    tsdb_ingest_destroy(&in);
}
END_TEST

START_TEST(test_tsdb_ingest_bounded_table_evicts_oldest)
{
    tsdb_ingest_t *in = tsdb_ingest_new(3, 0);
    ck_assert_int_eq(tsdb_ingest_offer(in, "a", 1, 1, 10), A);
    ck_assert_int_eq(tsdb_ingest_offer(in, "b", 1, 1, 30), A);
    ck_assert_int_eq(tsdb_ingest_offer(in, "c", 1, 1, 20), A);
    tsdb_ingest_committed(in);
    ck_assert_int_eq(tsdb_ingest_offer(in, "d", 1, 1, 40), A); // evicts a (seen at 10)
    ck_assert_uint_eq(tsdb_ingest_count(in), 3);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "a"), 0);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "b"), 1);
    // d is pending: a new sender evicts c (seen at 20), never d
    ck_assert_int_eq(tsdb_ingest_offer(in, "e", 1, 1, 50), A);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "c"), 0);
    // everything pending: the table grows until the commit
    ck_assert_int_eq(tsdb_ingest_offer(in, "b", 2, 2, 60), A);
    ck_assert_int_eq(tsdb_ingest_offer(in, "f", 1, 1, 70), A);
    ck_assert_uint_eq(tsdb_ingest_count(in), 4);
    tsdb_ingest_committed(in);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "d"), 1);
    ck_assert_uint_eq(tsdb_ingest_acked(in, "f"), 1);
    // 10,000 senders by default: the bound holds at scale
    tsdb_ingest_t *big = tsdb_ingest_new(0, 0);
    char id[32];
    for (int i = 0; i < TSDB_INGEST_MAX_SENDERS + 50; i++) {
        snprintf(id, sizeof(id), "s%d", i);
        ck_assert_int_eq(tsdb_ingest_offer(big, id, 1, 1, i), A);
        if (i % 100 == 99)
            tsdb_ingest_committed(big);
    }
    tsdb_ingest_committed(big);
    ck_assert_uint_le(tsdb_ingest_count(big), TSDB_INGEST_MAX_SENDERS + 100);
    ck_assert_uint_eq(tsdb_ingest_acked(big, "s0"), 0);
    ck_assert_uint_eq(tsdb_ingest_acked(big, "s10049"), 1);
    tsdb_ingest_destroy(&big);
    tsdb_ingest_destroy(&in);
}
END_TEST

static const char *
s_ref_name(const tsdb_store_refs_t *r, uint32_t ref)
{
    struct fw_labels view = FW_LABELS_INIT;
    const struct fw_labels *l = tsdb_store_refs_labels(r, ref, &view);
    const char *name = l ? fw_labels_get(l, "__name__") : NULL; // the series' own text
    free(view.items);
    return name;
}

static int
s_define(tsdb_store_t *st, tsdb_store_refs_t *r, uint32_t ref, const char *name, int64_t t,
         struct tsdb_store_stats *stats)
{
    struct fw_labels l = FW_LABELS_INIT;
    if (name)
        fw_labels_set(&l, "__name__", name);
    fw_err_t err;
    int rc =
        tsdb_store_append_series_ref(st, r, ref, &l, &(struct fw_sample){t, 1}, 1, stats, &err);
    fw_labels_clear(&l);
    return rc;
}

// A ref names the series of its last definition, per sender; once the head frees that
// series the ref is unknown (never a stale pointer, never another series); a refused
// definition makes its uses refused, not unknown.
START_TEST(test_tsdb_ingest_store_refs)
{
    char dir[128];
    check_util_tmpdir_new(dir, sizeof(dir), "refs");
    tsdb_store_t *st = check_util_store_open(dir, (size_t)64 << 20);
    tsdb_store_refs_t *r = tsdb_store_refs(st, "s/1", 1000);
    ck_assert(!tsdb_store_refs_known(r, 1));
    struct tsdb_store_stats stats = {0};
    ck_assert_int_eq(s_define(st, r, 1, "a", 1000, &stats), 0);
    ck_assert(tsdb_store_refs_known(r, 1));
    ck_assert_str_eq(s_ref_name(r, 1), "a");
    tsdb_store_hold(st);
    ck_assert_int_eq(tsdb_store_append_ref_held(st, r, 1, &(struct fw_sample){2000, 2}, 1, &stats),
                     0);
    tsdb_store_release(st);
    ck_assert_uint_eq(stats.samples, 2);
    ck_assert_uint_eq(stats.new_series, 1);
    // another sender's refs are its own
    tsdb_store_refs_t *r2 = tsdb_store_refs(st, "s/2", 1000);
    ck_assert(!tsdb_store_refs_known(r2, 1));
    // a definition replaces the last one
    ck_assert_int_eq(s_define(st, r, 1, "b", 1000, &stats), 0);
    ck_assert_str_eq(s_ref_name(r, 1), "b");
    ck_assert_uint_eq(stats.new_series, 2);
    // the head frees the series: the refs find out when next looked up
    fw_err_t err;
    ck_assert_int_eq(tsdb_store_commit(st, &err), 0);
    ck_assert_uint_eq(tsdb_store_head_gc(st, INT64_MAX), 2);
    r = tsdb_store_refs(st, "s/1", 2000);
    ck_assert(!tsdb_store_refs_known(r, 1));
    struct fw_labels view = FW_LABELS_INIT;
    ck_assert_ptr_null(tsdb_store_refs_labels(r, 1, &view));
    // a refused definition (no labels at all) refuses its uses
    ck_assert_int_eq(s_define(st, r, 3, NULL, 3000, &stats), -1);
    ck_assert(tsdb_store_refs_known(r, 3));
    tsdb_store_hold(st);
    ck_assert_int_eq(tsdb_store_append_ref_held(st, r, 3, &(struct fw_sample){3000, 3}, 1, &stats),
                     -1);
    tsdb_store_release(st);
    ck_assert_int_eq(s_define(st, r, TSDB_STORE_REF_MAX + 1, "c", 3000, &stats), -1);
    // forgotten when unused
    ck_assert_uint_eq(tsdb_store_refs_expire(st, 1500), 1); // s/2
    ck_assert_uint_eq(tsdb_store_refs_expire(st, INT64_MAX), 1);
    // the tables' slots are bounded together: growing past the budget evicts the table used
    // longest ago (its sender defines its refs again); a table that cannot fit is refused
    tsdb_store_refs_set_budget(st, 4096);
    r = tsdb_store_refs(st, "s/a", 5000);
    ck_assert_int_eq(s_define(st, r, 1, "a", 5000, &stats), 0); // 1024 slots
    r2 = tsdb_store_refs(st, "s/b", 6000);
    ck_assert_int_eq(s_define(st, r2, 3000, "b", 6000, &stats), 0); // 3456 more: s/a goes
    ck_assert(tsdb_store_refs_known(r2, 3000));
    r = tsdb_store_refs(st, "s/a", 7000);
    ck_assert(!tsdb_store_refs_known(r, 1));
    tsdb_store_refs_t *r3 = tsdb_store_refs(st, "s/c", 8000);
    ck_assert_int_eq(s_define(st, r3, 5000, "c", 8000, &stats), -1);
    ck_assert(tsdb_store_refs_known(tsdb_store_refs(st, "s/b", 9000), 3000)); // not evicted
    tsdb_store_destroy(&st);
    ck_assert_int_eq(check_util_tmpdir_remove(dir), 0);
}
END_TEST

Suite *
tsdb_ingest_suite(void)
{
    Suite *s = suite_create("tsdb_ingest");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tsdb_ingest_new_offer_destroy);
    tcase_add_test(tc, test_tsdb_ingest_duplicates_and_gaps);
    tcase_add_test(tc, test_tsdb_ingest_sender_dropped_oldest);
    tcase_add_test(tc, test_tsdb_ingest_unknown_sender_starts_at_oldest);
    tcase_add_test(tc, test_tsdb_ingest_invalid_headers);
    tcase_add_test(tc, test_tsdb_ingest_survives_restart_through_blob);
    tcase_add_test(tc, test_tsdb_ingest_load_rejects_damage);
    tcase_add_test(tc, test_tsdb_ingest_idle_senders_expire);
    tcase_add_test(tc, test_tsdb_ingest_bounded_table_evicts_oldest);
    suite_add_tcase(s, tc);
    tc = tcase_create("refs");
    tcase_add_test(tc, test_tsdb_ingest_store_refs);
    suite_add_tcase(s, tc);
    return s;
}
