/*  check_tsdb_head.c — the in-memory head: lookups by labels and id through growth and
    removal, Prometheus's rules for out-of-order and duplicate samples, chunk cutting at
    TSDB_CHUNK_MAX_SAMPLES and TSDB_CHUNK_MAX_SPAN_MS with sealed chunks queued for the commit,
    the out-of-order window (into the open chunk, into the late list), and what a commit
    finds pending. No LMDB here: the head is pure memory.
*/
#include <check.h>
#include <malloc.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_labels.h"
#include "../tsdb/tsdb_head.h"
#include "../tsdb/tsdb_store.h"

static void
s_lbl(struct fw_labels *l, int i)
{
    char v[32];
    snprintf(v, sizeof(v), "%d", i);
    fw_labels_clear(l);
    fw_labels_set(l, "__name__", "m");
    fw_labels_set(l, "i", v);
}

static struct tsdb_head_series *
s_add(tsdb_head_t *h, int i, bool is_new)
{
    struct fw_labels l = FW_LABELS_INIT;
    s_lbl(&l, i);
    struct tsdb_head_series *s = tsdb_head_add(h, &l, fw_labels_hash(&l), (uint64_t)i + 1, is_new);
    fw_labels_clear(&l);
    return s;
}

static void
s_app(tsdb_head_t *h, struct tsdb_head_series *s, int64_t t, double v, struct tsdb_store_stats *st)
{
    struct fw_sample smp = {t, v};
    tsdb_head_append(h, s, &smp, 1, st);
}

// The samples of the open chunk.
static size_t
s_open_samples(const struct tsdb_head_series *s, struct fw_sample *out, size_t max)
{
    size_t len, n = 0;
    const unsigned char *p = tsdb_chunk_app_bytes(&s->app, &len);
    if (len == 0)
        return 0;
    struct tsdb_chunk_iter it;
    ck_assert_int_eq(tsdb_chunk_iter_init(&it, p, len), 0);
    while (n < max && tsdb_chunk_iter_next(&it))
        out[n++] = (struct fw_sample){it.t, it.v};
    ck_assert_int_eq(tsdb_chunk_iter_err(&it), 0);
    return n;
}

START_TEST(test_tsdb_head_new_add_find_destroy)
{
    tsdb_head_t *h = tsdb_head_new();
    struct tsdb_head_series *s = s_add(h, 7, true);
    struct fw_labels l = FW_LABELS_INIT;
    s_lbl(&l, 7);
    ck_assert_ptr_eq(tsdb_head_find(h, &l, fw_labels_hash(&l)), s);
    ck_assert_ptr_eq(tsdb_head_find_id(h, 8), s);
    s_lbl(&l, 8);
    ck_assert_ptr_null(tsdb_head_find(h, &l, fw_labels_hash(&l)));
    ck_assert_uint_eq(tsdb_head_count(h), 1);
    size_t n;
    tsdb_head_pending(h, &n);
    ck_assert_uint_eq(n, 1); // new: the commit adds it to the index
    fw_labels_clear(&l);
    tsdb_head_destroy(&h);
    ck_assert_ptr_null(h);
    tsdb_head_destroy(&h);
}
END_TEST

START_TEST(test_tsdb_head_tables_through_growth_and_removal)
{
    tsdb_head_t *h = tsdb_head_new();
    enum { N = 20000 };
    for (int i = 0; i < N; i++)
        s_add(h, i, false);
    struct fw_labels l = FW_LABELS_INIT;
    // remove every third series, then everything must still be found (or not) exactly
    for (int i = 0; i < N; i += 3)
        ck_assert(tsdb_head_remove(h, tsdb_head_find_id(h, (uint64_t)i + 1)));
    ck_assert_uint_eq(tsdb_head_count(h), N - (N + 2) / 3);
    for (int i = 0; i < N; i++) {
        s_lbl(&l, i);
        struct tsdb_head_series *s = tsdb_head_find(h, &l, fw_labels_hash(&l));
        if (i % 3 == 0) {
            ck_assert_ptr_null(s);
            ck_assert_ptr_null(tsdb_head_find_id(h, (uint64_t)i + 1));
        } else {
            ck_assert_ptr_nonnull(s);
            ck_assert_uint_eq(s->id, (uint64_t)i + 1);
            ck_assert_ptr_eq(tsdb_head_find_id(h, (uint64_t)i + 1), s);
        }
    }
    // a hash collision is resolved by comparing label sets
    s_lbl(&l, 1);
    struct fw_labels other = FW_LABELS_INIT;
    s_lbl(&other, 424242);
    struct tsdb_head_series *c = tsdb_head_add(h, &other, fw_labels_hash(&l), 999999, false);
    ck_assert_ptr_eq(tsdb_head_find(h, &other, fw_labels_hash(&l)), c);
    ck_assert_uint_eq(tsdb_head_find(h, &l, fw_labels_hash(&l))->id, 2);
    fw_labels_clear(&other);
    fw_labels_clear(&l);
    tsdb_head_destroy(&h);
}
END_TEST

START_TEST(test_tsdb_head_rules_for_old_and_repeated_samples)
{
    tsdb_head_t *h = tsdb_head_new();
    struct tsdb_head_series *s = s_add(h, 1, false);
    struct tsdb_store_stats st = {0};
    s_app(h, s, 1000, 1, &st);
    s_app(h, s, 2000, -0.0, &st);
    s_app(h, s, 2000, -0.0, &st); // same bits: no-op
    s_app(h, s, 2000, 0.0, &st);  // equal as numbers, other bits: conflict
    s_app(h, s, 1500, 1, &st);    // older: out of order
    ck_assert_uint_eq(st.samples, 2);
    ck_assert_uint_eq(st.duplicates, 1);
    ck_assert_uint_eq(st.conflicts, 1);
    ck_assert_uint_eq(st.out_of_order, 1);
    ck_assert_uint_eq(st.late, 0);
    ck_assert_int_eq(tsdb_head_maxt(h), 2000);
    struct fw_sample p[4];
    ck_assert_uint_eq(s_open_samples(s, p, 4), 2);
    ck_assert(signbit(p[1].v));
    tsdb_head_destroy(&h);
}
END_TEST

START_TEST(test_tsdb_head_cuts_full_chunks)
{
    tsdb_head_t *h = tsdb_head_new();
    struct tsdb_head_series *a = s_add(h, 1, false), *b = s_add(h, 2, false);
    struct tsdb_store_stats st = {0};
    for (int k = 0; k < 250; k++)
        s_app(h, a, (int64_t)k * 15000, k, &st); // by count: 120, 120, open 10
    s_app(h, b, 0, 1, &st);
    s_app(h, b, TSDB_CHUNK_MAX_SPAN_MS - 1, 2, &st);
    s_app(h, b, TSDB_CHUNK_MAX_SPAN_MS, 3, &st); // by span: the third sample starts a chunk
    size_t n;
    const struct tsdb_head_sealed *c = tsdb_head_sealed(h, &n);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(c[0].id, 2);
    ck_assert_int_eq(c[0].mint, 0);
    ck_assert_int_eq(c[1].mint, 120 * 15000);
    ck_assert_uint_eq(c[2].id, 3);
    struct tsdb_chunk_info info;
    ck_assert_int_eq(tsdb_chunk_info(tsdb_head_sealed_bytes(h, &c[1]), c[1].len, &info), 0);
    ck_assert_uint_eq(info.n, 120);
    ck_assert_int_eq(info.maxt, 239 * 15000);
    ck_assert_int_eq(tsdb_head_open_mint(a), 240 * 15000);
    ck_assert_uint_eq(tsdb_chunk_app_count(&a->app), 10);
    ck_assert_uint_eq(tsdb_chunk_app_count(&b->app), 1);
    struct tsdb_head_series *const *pend = tsdb_head_pending(h, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert(pend[0]->dirty && pend[1]->dirty);
    tsdb_head_committed(h, 1, true, SIZE_MAX);
    (void)tsdb_head_release(h, UINT64_MAX - 1);
    tsdb_head_pending(h, &n);
    ck_assert_uint_eq(n, 0);
    tsdb_head_sealed(h, &n);
    ck_assert_uint_eq(n, 0);
    ck_assert(!a->dirty);
    // gc drops only what is committed and idle
    s_app(h, b, TSDB_CHUNK_MAX_SPAN_MS + 1, 4, &st);
    ck_assert_uint_eq(tsdb_head_gc(h, 200 * 15000, NULL, NULL), 0); // a is newer, b pending
    tsdb_head_committed(h, 1, true, SIZE_MAX);
    (void)tsdb_head_release(h, UINT64_MAX - 1);
    ck_assert_uint_eq(tsdb_head_gc(h, INT64_MAX, NULL, NULL), 2);
    ck_assert_uint_eq(tsdb_head_count(h), 0);
    tsdb_head_destroy(&h);
}
END_TEST

START_TEST(test_tsdb_head_ooo_window)
{
    tsdb_head_t *h = tsdb_head_new();
    tsdb_head_set_ooo_window(h, 600000);
    struct tsdb_head_series *s = s_add(h, 1, false), *other = s_add(h, 2, false);
    struct tsdb_store_stats st = {0};
    for (int k = 0; k < 130; k++)
        s_app(h, s, 1000000 + (int64_t)k * 1000, k, &st); // sealed [1000s..1119s], open 10
    s_app(h, other, 1500000, 1, &st);                     // the head's newest: 1500 s
    tsdb_head_committed(h, 1, true, SIZE_MAX);
    (void)tsdb_head_release(h, UINT64_MAX - 1);
    memset(&st, 0, sizeof(st));
    s_app(h, s, 1125500, 0.5, &st); // in the open chunk: merged at once
    s_app(h, s, 1125500, 0.5, &st); // again: duplicate
    s_app(h, s, 1126000, 9, &st);   // stored value differs: conflict
    s_app(h, s, 1050500, 7, &st);   // in the window (>= 1500 s - 600 s), before the open chunk
    s_app(h, s, 1050000, 7, &st);   //   another, sorted before it in the late list
    s_app(h, s, 1050000, 8, &st);   //   conflicts with the late one
    s_app(h, s, 899999, 1, &st);    // before the window: too old
    ck_assert_uint_eq(st.samples, 3);
    ck_assert_uint_eq(st.late, 3);
    ck_assert_uint_eq(st.duplicates, 1);
    ck_assert_uint_eq(st.conflicts, 2);
    ck_assert_uint_eq(st.too_old, 1);
    struct fw_sample p[16];
    ck_assert_uint_eq(s_open_samples(s, p, 16), 11);
    ck_assert_int_eq(p[5].t_ms, 1125000);
    ck_assert_int_eq(p[6].t_ms, 1125500);
    ck_assert_uint_eq(s->late->n, 2);
    ck_assert_int_eq(s->late->v[0].t_ms, 1050000);
    ck_assert_int_eq(s->late->v[1].t_ms, 1050500);
    ck_assert_int_eq(s->last_t, 1129000); // late samples never move the newest
    size_t n;
    tsdb_head_pending(h, &n);
    ck_assert_uint_eq(n, 1);
    tsdb_head_committed(h, 1, true, SIZE_MAX);
    (void)tsdb_head_release(h, UINT64_MAX - 1);
    ck_assert_ptr_null(s->late);
    tsdb_head_destroy(&h);
}
END_TEST

START_TEST(test_tsdb_head_late_sample_fills_open_chunk)
{
    tsdb_head_t *h = tsdb_head_new();
    tsdb_head_set_ooo_window(h, 3600000);
    struct tsdb_head_series *s = s_add(h, 1, false);
    struct tsdb_store_stats st = {0};
    for (int k = 0; k < 119; k++)
        s_app(h, s, (int64_t)k * 1000, k, &st);
    size_t n;
    tsdb_head_sealed(h, &n);
    ck_assert_uint_eq(n, 0);
    s_app(h, s, 500, -1, &st); // the 120th sample, merged in: the chunk is full and sealed
    const struct tsdb_head_sealed *c = tsdb_head_sealed(h, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(c[0].mint, 0);
    struct tsdb_chunk_info info;
    ck_assert_int_eq(tsdb_chunk_info(tsdb_head_sealed_bytes(h, &c[0]), c[0].len, &info), 0);
    ck_assert_uint_eq(info.n, 120);
    ck_assert_uint_eq(tsdb_chunk_app_count(&s->app), 0);
    s_app(h, s, 200, 1, &st); // no open chunk to merge into: the late list
    ck_assert_uint_eq(s->late->n, 1);
    s_app(h, s, 119000, 1, &st);
    ck_assert_int_eq(tsdb_head_open_mint(s), 119000);
    ck_assert_uint_eq(st.late, 2);
    ck_assert_uint_eq(tsdb_head_seal_all(h), 1);
    tsdb_head_sealed(h, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(tsdb_chunk_app_count(&s->app), 0);
    tsdb_head_destroy(&h);
}
END_TEST

START_TEST(test_tsdb_head_load_open_and_last)
{
    tsdb_head_t *h = tsdb_head_new();
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    for (int k = 0; k < 5; k++)
        tsdb_chunk_app_append(&a, 1000 + k, k * 1.5);
    tsdb_chunk_app_seal(&a); // a stored chunk may be in any encoding
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
    struct tsdb_head_series *s = s_add(h, 1, false);
    ck_assert_int_eq(tsdb_head_load_open(h, s, p, len), 0);
    ck_assert(s->has_last && s->last_t == 1004 && s->last_v == 6);
    ck_assert_int_eq(tsdb_head_open_mint(s), 1000);
    ck_assert_int_eq(tsdb_head_maxt(h), 1004);
    struct tsdb_store_stats st = {0};
    s_app(h, s, 1004, 6, &st);
    s_app(h, s, 1005, 7, &st);
    ck_assert_uint_eq(st.duplicates, 1);
    ck_assert_uint_eq(tsdb_chunk_app_count(&s->app), 6);
    struct tsdb_head_series *d = s_add(h, 2, false);
    ck_assert_int_ne(tsdb_head_load_open(h, d, p, 3), 0); // damaged: unchanged
    ck_assert(!d->has_last);
    tsdb_head_load_last(h, d, 5000, 0, false);
    s_app(h, d, 5000, 0, &st); // the newest value is unknown: a conflict, never a no-op
    ck_assert_uint_eq(st.conflicts, 1);
    tsdb_chunk_app_clear(&a);
    tsdb_head_destroy(&h);
}
END_TEST

// A series is one allocation: the struct and its label text, no array of label pointers
// (at 100,000 series those were 9 MB: 16 bytes a label); the text is given back as views.
START_TEST(test_tsdb_head_series_is_its_struct_and_label_text)
{
    tsdb_head_t *h = tsdb_head_new();
    struct fw_labels l = FW_LABELS_INIT;
    // a series as the benchmark's exporter serves them: 6 labels, 115 bytes of text
    fw_labels_set(&l, "__name__", "ms5_production_oee");
    fw_labels_set(&l, "line", "line-01");
    fw_labels_set(&l, "equipment", "conveyor-03");
    fw_labels_set(&l, "job", "synth");
    fw_labels_set(&l, "instance", "127.0.0.1:23456");
    fw_labels_set(&l, "product", "widget-a");
    struct tsdb_head_series *s = tsdb_head_add(h, &l, fw_labels_hash(&l), 1, false);
    ck_assert_uint_eq(s->n_labels, 6);
    ck_assert_uint_eq(s->text_len, 115);
    // 112, and 16 for isolation (the last batch that appended, tsdb_head.h "Batches")
    ck_assert_uint_le(sizeof(*s), 128);
    // what an append touches lies in its first TSDB_HEAD_SERIES_HOT bytes: two cache lines,
    // three when the record starts 48 bytes into one (48 + 96 = 144)
    ck_assert_uint_le(TSDB_HEAD_SERIES_HOT, 96);
    ck_assert_uint_lt(offsetof(struct tsdb_head_series, iso_t), TSDB_HEAD_SERIES_HOT);
    ck_assert_uint_le(offsetof(struct tsdb_head_series, app) + sizeof(s->app),
                      TSDB_HEAD_SERIES_HOT);
    ck_assert_uint_le(offsetof(struct tsdb_head_series, last_v) + sizeof(double),
                      TSDB_HEAD_SERIES_HOT);
    ck_assert_uint_lt(offsetof(struct tsdb_head_series, has_last), TSDB_HEAD_SERIES_HOT);
    ck_assert_uint_lt(offsetof(struct tsdb_head_series, dirty), TSDB_HEAD_SERIES_HOT);
    ck_assert_uint_lt(offsetof(struct tsdb_head_series, queued), TSDB_HEAD_SERIES_HOT);
    // the allocator's size class above struct and text, at most: glibc rounds a request up
    // to 16 bytes and may hand out a free chunk up to its 32-byte minimum larger without
    // splitting it (248 for 239 was seen in a full run), still far below the 96 bytes an
    // array of six label pointers would add
    ck_assert_uint_le(malloc_usable_size(s),
                      offsetof(struct tsdb_head_series, text) + 115 + 16 + 32);

    struct fw_labels view = FW_LABELS_INIT;
    tsdb_head_labels(s, &view);
    ck_assert_int_eq(fw_labels_cmp(&view, &l), 0);
    ck_assert(tsdb_head_labels_equal(s, &l));
    ck_assert_ptr_eq(tsdb_head_find(h, &view, s->hash), s);
    // a value that is a prefix, one longer, one label fewer or more: all other sets
    fw_labels_set(&l, "product", "widget");
    ck_assert(!tsdb_head_labels_equal(s, &l));
    fw_labels_set(&l, "product", "widget-ab");
    ck_assert(!tsdb_head_labels_equal(s, &l));
    fw_labels_del(&l, "product");
    ck_assert(!tsdb_head_labels_equal(s, &l));
    fw_labels_set(&l, "product", "widget-a");
    ck_assert(tsdb_head_labels_equal(s, &l));
    fw_labels_set(&l, "zone", "z");
    ck_assert(!tsdb_head_labels_equal(s, &l));
    // the view's array is reused for another series
    struct fw_labels one = FW_LABELS_INIT;
    fw_labels_set(&one, "__name__", "up");
    struct tsdb_head_series *u = tsdb_head_add(h, &one, fw_labels_hash(&one), 2, false);
    tsdb_head_labels(u, &view);
    ck_assert_int_eq(fw_labels_cmp(&view, &one), 0);
    ck_assert_uint_ge(view.cap, 6);
    free(view.items);
    fw_labels_clear(&one);
    fw_labels_clear(&l);
    tsdb_head_destroy(&h);
}
END_TEST

Suite *
tsdb_head_suite(void)
{
    Suite *s = suite_create("tsdb_head");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_tsdb_head_new_add_find_destroy);
    tcase_add_test(tc, test_tsdb_head_series_is_its_struct_and_label_text);
    tcase_add_test(tc, test_tsdb_head_tables_through_growth_and_removal);
    tcase_add_test(tc, test_tsdb_head_rules_for_old_and_repeated_samples);
    tcase_add_test(tc, test_tsdb_head_cuts_full_chunks);
    tcase_add_test(tc, test_tsdb_head_ooo_window);
    tcase_add_test(tc, test_tsdb_head_late_sample_fills_open_chunk);
    tcase_add_test(tc, test_tsdb_head_load_open_and_last);
    suite_add_tcase(s, tc);
    return s;
}
