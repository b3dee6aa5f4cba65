/*  check_tsdb_exemplars.c — the in-memory exemplar ring: bounds and eviction of the oldest,
    Prometheus's duplicate / out-of-order / length rules, selection by matcher sets and time,
    the JSON of /api/v1/query_exemplars, resize, and readers beside a writer.
*/
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_labels.h"
#include "fw_matcher.h"
#include "../tsdb/tsdb_exemplars.h"

static void
s_series(struct fw_labels *l, const char *name, const char *job)
{
    fw_labels_clear(l);
    fw_labels_set(l, "__name__", name);
    fw_labels_set(l, "job", job);
}

static void
s_ex(struct fw_labels *l, const char *trace)
{
    fw_labels_clear(l);
    fw_labels_set(l, "trace_id", trace);
}

// Everything in [start, end] matching {__name__=~re}.
static char *
s_select(tsdb_exemplars_t *x, const char *re, int64_t start, int64_t end)
{
    struct fw_matcher m;
    fw_err_t err;
    ck_assert_int_eq(fw_matcher_init(&m, FW_MATCH_RE, "__name__", re, FW_REGEX_PROMETHEUS, &err),
                     0);
    struct tsdb_exemplars_sel sel = {&m, 1};
    char *json = tsdb_exemplars_select_json(x, &sel, 1, start, end);
    fw_matcher_clear(&m);
    return json;
}

START_TEST(test_tsdb_exemplars_json_and_rules)
{
    tsdb_exemplars_t *x = tsdb_exemplars_new(10);
    struct fw_labels s = FW_LABELS_INIT, e = FW_LABELS_INIT;
    s_series(&s, "rq_bucket", "api");
    fw_labels_set(&s, "le", "0.5");
    s_ex(&e, "4bf9<&>");
    ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 0.25, 1700000000500), TSDB_EXEMPLARS_ADDED);
    // The same exemplar scraped again: nothing new; an older one: out of order.
    ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 0.25, 1700000000500), TSDB_EXEMPLARS_DUPLICATE);
    ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 0.25, 1700000000000),
                     TSDB_EXEMPLARS_OUT_OF_ORDER);
    ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 0.1, 1700000000500),
                     TSDB_EXEMPLARS_OUT_OF_ORDER);
    s_ex(&e, "b");
    ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 2, 1700000001000), TSDB_EXEMPLARS_ADDED);
    // Labels over 128 characters are refused.
    char longv[140];
    memset(longv, 'x', 130);
    longv[130] = '\0';
    s_ex(&e, longv);
    ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 1, 1700000002000), TSDB_EXEMPLARS_TOO_LONG);
    ck_assert_uint_eq(tsdb_exemplars_len(x), 2);
    char *j = s_select(x, "rq_.*", 0, INT64_MAX);
    ck_assert_str_eq(j, "[{\"seriesLabels\":{\"__name__\":\"rq_bucket\",\"job\":\"api\","
                        "\"le\":\"0.5\"},\"exemplars\":[{\"labels\":{\"trace_id\":"
                        "\"4bf9\\u003c\\u0026\\u003e\"},\"value\":\"0.25\",\"timestamp\":"
                        "1700000000.500},{\"labels\":{\"trace_id\":\"b\"},\"value\":\"2\","
                        "\"timestamp\":1700000001}]}]");
    free(j);
    // Time bounds are inclusive; nothing in range gives [].
    j = s_select(x, "rq_.*", 1700000001000, 1700000001000);
    ck_assert_ptr_nonnull(strstr(j, "\"b\""));
    ck_assert_ptr_null(strstr(j, "0.25"));
    free(j);
    j = s_select(x, "rq_.*", 0, 1700000000000);
    ck_assert_str_eq(j, "[]");
    free(j);
    tsdb_exemplars_destroy(&x);
    ck_assert_ptr_null(x);
    // max 0: exemplars are off.
    x = tsdb_exemplars_new(0);
    s_ex(&e, "a");
    ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 1, 1), TSDB_EXEMPLARS_DISABLED);
    tsdb_exemplars_destroy(&x);
    fw_labels_clear(&s);
    fw_labels_clear(&e);
}
END_TEST

// An exemplar label that is not UTF-8 (the parser passes its bytes) is written as the query
// API writes labels: \ufffd a bad byte, U+2028 escaped, so the answer stays JSON.
START_TEST(test_tsdb_exemplars_json_invalid_utf8)
{
    tsdb_exemplars_t *x = tsdb_exemplars_new(10);
    struct fw_labels s = FW_LABELS_INIT, e = FW_LABELS_INIT;
    s_series(&s, "rq_bucket", "api");
    s_ex(&e, "a\xff\xe2\x80\xa8z");
    ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 1, 1000), TSDB_EXEMPLARS_ADDED);
    char *j = s_select(x, "rq_.*", 0, INT64_MAX);
    ck_assert_ptr_nonnull(strstr(j, "{\"trace_id\":\"a\\ufffd\\u2028z\"}"));
    json_t *o = json_loads(j, 0, NULL);
    ck_assert_msg(o != NULL, "not JSON: %s", j);
    json_decref(o);
    free(j);
    tsdb_exemplars_destroy(&x);
    fw_labels_clear(&s);
    fw_labels_clear(&e);
}
END_TEST

START_TEST(test_tsdb_exemplars_ring_evicts_oldest)
{
    tsdb_exemplars_t *x = tsdb_exemplars_new(5);
    struct fw_labels s = FW_LABELS_INIT, e = FW_LABELS_INIT;
    char name[32], trace[32];
    // 3 series, 20 exemplars in turn: the ring keeps the newest 5 of all.
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "m%d", i % 3);
        snprintf(trace, sizeof(trace), "t%d", i);
        s_series(&s, name, "j");
        s_ex(&e, trace);
        ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, i, 1000 * i), TSDB_EXEMPLARS_ADDED);
        ck_assert_uint_le(tsdb_exemplars_len(x), 5);
    }
    ck_assert_uint_eq(tsdb_exemplars_len(x), 5);
    ck_assert_uint_eq(tsdb_exemplars_series(x), 3);
    char *j = s_select(x, ".+", 0, INT64_MAX);
    for (int i = 0; i < 20; i++) {
        snprintf(trace, sizeof(trace), "\"t%d\"", i);
        ck_assert_msg((strstr(j, trace) != NULL) == (i >= 15), "%s in %s", trace, j);
    }
    // Series sorted by labels, each one's exemplars oldest first: m0 has t15 and t18.
    ck_assert_ptr_nonnull(strstr(j, "[{\"seriesLabels\":{\"__name__\":\"m0\",\"job\":\"j\"},"
                                    "\"exemplars\":[{\"labels\":{\"trace_id\":\"t15\"}"));
    ck_assert_ptr_nonnull(strstr(j, "\"t15\"},\"value\":\"15\",\"timestamp\":15},"
                                    "{\"labels\":{\"trace_id\":\"t18\"}"));
    ck_assert(strstr(j, "\"m0\"") < strstr(j, "\"m1\""));
    ck_assert(strstr(j, "\"m1\"") < strstr(j, "\"m2\""));
    free(j);
    // One series whose exemplars are all evicted goes: series m9 fills, then m0..m4 push it out.
    s_series(&s, "m9", "j");
    for (int i = 0; i < 5; i++) {
        snprintf(trace, sizeof(trace), "u%d", i);
        s_ex(&e, trace);
        ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, i, 100000 + i), TSDB_EXEMPLARS_ADDED);
    }
    ck_assert_uint_eq(tsdb_exemplars_series(x), 1);
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        s_series(&s, name, "j");
        ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 1, 200000), TSDB_EXEMPLARS_ADDED);
    }
    ck_assert_uint_eq(tsdb_exemplars_series(x), 5);
    j = s_select(x, "m9", 0, INT64_MAX);
    ck_assert_str_eq(j, "[]");
    free(j);
    // A series seen again after it went starts afresh (no out-of-order against the old one).
    s_series(&s, "m9", "j");
    ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 0, 1), TSDB_EXEMPLARS_ADDED);
    tsdb_exemplars_destroy(&x);
    fw_labels_clear(&s);
    fw_labels_clear(&e);
}
END_TEST

START_TEST(test_tsdb_exemplars_matcher_sets)
{
    tsdb_exemplars_t *x = tsdb_exemplars_new(100);
    struct fw_labels s = FW_LABELS_INIT, e = FW_LABELS_INIT;
    const char *jobs[] = {"api", "db", "web"};
    for (int i = 0; i < 3; i++) {
        s_series(&s, "lat", jobs[i]);
        s_ex(&e, jobs[i]);
        ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 1, 10), TSDB_EXEMPLARS_ADDED);
    }
    fw_err_t err;
    struct fw_matcher a[2], b[1];
    ck_assert_int_eq(fw_matcher_init(&a[0], FW_MATCH_EQ, "__name__", "lat", 0, &err), 0);
    ck_assert_int_eq(fw_matcher_init(&a[1], FW_MATCH_EQ, "job", "api", 0, &err), 0);
    ck_assert_int_eq(fw_matcher_init(&b[0], FW_MATCH_NRE, "job", "api|db", 0, &err), 0);
    // Two sets: {lat, job=api} or {job!~api|db}: api and web, not db.
    struct tsdb_exemplars_sel sets[2] = {{a, 2}, {b, 1}};
    char *j = tsdb_exemplars_select_json(x, sets, 2, 0, 100);
    ck_assert_ptr_nonnull(strstr(j, "\"job\":\"api\""));
    ck_assert_ptr_nonnull(strstr(j, "\"job\":\"web\""));
    ck_assert_ptr_null(strstr(j, "\"job\":\"db\""));
    free(j);
    j = tsdb_exemplars_select_json(x, sets, 1, 0, 100);
    ck_assert_ptr_null(strstr(j, "\"job\":\"web\""));
    free(j);
    fw_matcher_clear(&a[0]);
    fw_matcher_clear(&a[1]);
    fw_matcher_clear(&b[0]);
    tsdb_exemplars_destroy(&x);
    fw_labels_clear(&s);
    fw_labels_clear(&e);
}
END_TEST

START_TEST(test_tsdb_exemplars_resize_keeps_newest)
{
    tsdb_exemplars_t *x = tsdb_exemplars_new(8);
    struct fw_labels s = FW_LABELS_INIT, e = FW_LABELS_INIT;
    char trace[32];
    for (int i = 0; i < 12; i++) { // wraps: t4..t11 held
        s_series(&s, i % 2 ? "odd" : "even", "j");
        snprintf(trace, sizeof(trace), "t%d", i);
        s_ex(&e, trace);
        ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, i, i), TSDB_EXEMPLARS_ADDED);
    }
    tsdb_exemplars_resize(x, 3);
    ck_assert_int_eq(tsdb_exemplars_max(x), 3);
    ck_assert_uint_eq(tsdb_exemplars_len(x), 3);
    char *j = s_select(x, ".+", 0, INT64_MAX);
    for (int i = 0; i < 12; i++) {
        snprintf(trace, sizeof(trace), "\"t%d\"", i);
        ck_assert_msg((strstr(j, trace) != NULL) == (i >= 9), "%s in %s", trace, j);
    }
    free(j);
    tsdb_exemplars_resize(x, 50);
    ck_assert_uint_eq(tsdb_exemplars_len(x), 3);
    s_series(&s, "odd", "j");
    s_ex(&e, "new");
    ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 1, 100), TSDB_EXEMPLARS_ADDED);
    ck_assert_uint_eq(tsdb_exemplars_len(x), 4);
    tsdb_exemplars_resize(x, 0);
    ck_assert_uint_eq(tsdb_exemplars_len(x), 0);
    ck_assert_int_eq(tsdb_exemplars_add(x, &s, &e, 1, 200), TSDB_EXEMPLARS_DISABLED);
    tsdb_exemplars_destroy(&x);
    fw_labels_clear(&s);
    fw_labels_clear(&e);
}
END_TEST

static void *
s_reader(void *arg)
{
    tsdb_exemplars_t *x = arg;
    for (int i = 0; i < 200; i++)
        free(s_select(x, ".+", 0, INT64_MAX));
    return NULL;
}

START_TEST(test_tsdb_exemplars_readers_beside_writer)
{
    tsdb_exemplars_t *x = tsdb_exemplars_new(64);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, s_reader, x), 0);
    struct fw_labels s = FW_LABELS_INIT, e = FW_LABELS_INIT;
    char name[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof(name), "m%d", i % 97);
        s_series(&s, name, "j");
        s_ex(&e, "t");
        tsdb_exemplars_add(x, &s, &e, i, i);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert_uint_eq(tsdb_exemplars_len(x), 64);
    ck_assert_uint_le(tsdb_exemplars_series(x), 64);
    tsdb_exemplars_destroy(&x);
    fw_labels_clear(&s);
    fw_labels_clear(&e);
}
END_TEST

Suite *
tsdb_exemplars_suite(void)
{
    Suite *s = suite_create("tsdb_exemplars");
    TCase *tc = tcase_create("ring");
    tcase_add_test(tc, test_tsdb_exemplars_json_and_rules);
    tcase_add_test(tc, test_tsdb_exemplars_json_invalid_utf8);
    tcase_add_test(tc, test_tsdb_exemplars_ring_evicts_oldest);
    tcase_add_test(tc, test_tsdb_exemplars_matcher_sets);
    tcase_add_test(tc, test_tsdb_exemplars_resize_keeps_newest);
    tcase_add_test(tc, test_tsdb_exemplars_readers_beside_writer);
    suite_add_tcase(s, tc);
    return s;
}
