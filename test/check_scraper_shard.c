/*  check_scraper_shard.c — the shard flags (--shard=I/N, --shard.count with a StatefulSet
    pod name) and the shard hash: its documented byte layout, its stability, and that N
    shards split a set of targets into disjoint parts that cover it, roughly evenly.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_labels.h"
#include "../scraper/scraper_shard.h"

Suite *scraper_shard_suite(void);

START_TEST(test_scraper_shard_setup_spec)
{
    struct scraper_shard s;
    fw_err_t err = {0};
    ck_assert_int_eq(scraper_shard_setup(NULL, NULL, 0, &s, &err), 0);
    ck_assert(s.index == 0 && s.count == 1);
    ck_assert_int_eq(scraper_shard_setup("", "", 0, &s, &err), 0);
    ck_assert(s.count == 1);
    ck_assert_int_eq(scraper_shard_setup("2/3", NULL, 0, &s, &err), 0);
    ck_assert(s.index == 2 && s.count == 3);
    ck_assert_int_eq(scraper_shard_setup("0/1", NULL, 0, &s, &err), 0);
    ck_assert(s.index == 0 && s.count == 1);
    const char *bad[] = {"3/3", "1/0", "a/3", "1/", "/3", "1", "-1/3", "1/3x", " 1/3", "1/+3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fw_err_clear(&err);
        ck_assert_msg(scraper_shard_setup(bad[i], NULL, 0, &s, &err) == -1, "%s", bad[i]);
        ck_assert_msg(err.msg[0], "%s: no reason", bad[i]);
    }
    fw_err_clear(&err);
    ck_assert_int_eq(scraper_shard_setup("1/3", "scraper-1", 3, &s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "exclusive"));
}
END_TEST

START_TEST(test_scraper_shard_setup_pod_name)
{
    struct scraper_shard s;
    fw_err_t err = {0};
    ck_assert_int_eq(scraper_shard_setup(NULL, "scraper-2", 3, &s, &err), 0);
    ck_assert(s.index == 2 && s.count == 3);
    ck_assert_int_eq(scraper_shard_setup(NULL, "my-floor-scraper-0", 4, &s, &err), 0);
    ck_assert(s.index == 0 && s.count == 4);
    ck_assert_int_eq(scraper_shard_setup(NULL, "scraper-3", 3, &s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "below the count"));
    ck_assert_int_eq(scraper_shard_setup(NULL, "scraper", 3, &s, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "-<ordinal>"));
    ck_assert_int_eq(scraper_shard_setup(NULL, "scraper-7d9f8-x2k4p", 3, &s, &err), -1);
    ck_assert_int_eq(scraper_shard_setup(NULL, "x", -1, &s, &err), -1);
    // the pod name defaults to HOSTNAME, as a StatefulSet's pods have it
    const char *old = getenv("HOSTNAME");
    char *saved = old ? strdup(old) : NULL;
    setenv("HOSTNAME", "scraper-1", 1);
    ck_assert_int_eq(scraper_shard_setup(NULL, NULL, 2, &s, &err), 0);
    ck_assert(s.index == 1 && s.count == 2);
    ck_assert_int_eq(scraper_shard_setup(NULL, "scraper-0", 2, &s, &err), 0); // flag wins
    ck_assert(s.index == 0);
    unsetenv("HOSTNAME");
    ck_assert_int_eq(scraper_shard_setup(NULL, NULL, 2, &s, &err), -1);
    if (saved)
        setenv("HOSTNAME", saved, 1);
    free(saved);
}
END_TEST

// The hash is XXH3-64 of name 0xff value 0xff ... in name order, as scraper.8 documents;
// the pinned value fails the test if the function or its input layout ever changes (XXH3's
// output is frozen since xxHash 0.8.0).
START_TEST(test_scraper_shard_hash_layout)
{
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "job", "node");
    fw_labels_set(&l, "instance", "10.0.0.1:9100");
    const char bytes[] = "instance\xff"
                         "10.0.0.1:9100\xff"
                         "job\xff"
                         "node\xff";
    uint64_t want = fw_hash64(bytes, sizeof(bytes) - 1);
    ck_assert_uint_eq(scraper_shard_hash(&l), want);
    ck_assert_uint_eq(scraper_shard_hash(&l), 0x64c72dd929f993eaULL);
    // ("ab","c") and ("a","bc") differ; a long set (past the stack buffer) hashes too
    struct fw_labels a = FW_LABELS_INIT, b = FW_LABELS_INIT;
    fw_labels_set(&a, "a", "bc");
    fw_labels_set(&b, "ab", "c");
    ck_assert_uint_ne(scraper_shard_hash(&a), scraper_shard_hash(&b));
    char big[3000];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    fw_labels_set(&a, "z", big);
    uint64_t h1 = scraper_shard_hash(&a);
    ck_assert_uint_eq(h1, scraper_shard_hash(&a));
    struct fw_labels e = FW_LABELS_INIT;
    ck_assert_uint_eq(scraper_shard_hash(&e), fw_hash64("", 0));
    fw_labels_clear(&l);
    fw_labels_clear(&a);
    fw_labels_clear(&b);
}
END_TEST

// 3000 targets over N = 1..5 shards: each owned by exactly one shard, each shard within
// 15% of an even share.
START_TEST(test_scraper_shard_split)
{
    for (uint64_t n = 1; n <= 5; n++) {
        size_t owned[5] = {0};
        for (int i = 0; i < 3000; i++) {
            struct fw_labels l = FW_LABELS_INIT;
            char inst[64];
            snprintf(inst, sizeof(inst), "10.0.%d.%d:9100", i / 250, i % 250);
            fw_labels_set(&l, "job", i % 2 ? "node" : "plc");
            fw_labels_set(&l, "instance", inst);
            int owners = 0;
            for (uint64_t k = 0; k < n; k++) {
                struct scraper_shard s = {k, n};
                if (scraper_shard_owns(&s, &l)) {
                    owners++;
                    owned[k]++;
                }
            }
            ck_assert_int_eq(owners, 1);
            fw_labels_clear(&l);
        }
        for (uint64_t k = 0; k < n; k++)
            ck_assert_msg(owned[k] > 3000 / n * 85 / 100 && owned[k] < 3000 / n * 115 / 100,
                          "shard %llu of %llu owns %zu", (unsigned long long)k,
                          (unsigned long long)n, owned[k]);
    }
}
END_TEST

Suite *
scraper_shard_suite(void)
{
    Suite *s = suite_create("scraper_shard");
    TCase *tc = tcase_create("shard");
    tcase_add_test(tc, test_scraper_shard_setup_spec);
    tcase_add_test(tc, test_scraper_shard_setup_pod_name);
    tcase_add_test(tc, test_scraper_shard_hash_layout);
    tcase_add_test(tc, test_scraper_shard_split);
    suite_add_tcase(s, tc);
    return s;
}
