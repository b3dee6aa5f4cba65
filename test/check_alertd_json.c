/*  check_alertd_json.c — alertd's jansson-free JSON (alertd_json.h): every alert it reads
    equals what the jansson path (alertd_alert_parse) makes of the same text, it gives up on
    everything outside the plain form (so the jansson path answers as before), and the
    stored form it writes reads back as the jansson-built one did; a re-sent alert read as a
    view is refreshed in place without one allocation.
*/
#include <check.h>
#include <limits.h>
#include <jansson.h>
#include <string.h>

#include "../alertd/alertd_json.h"
#include "../alertd/alertd_store.h"
#include "fw_mem.h"

#define NOW 1800000000000LL
#define RESOLVE (5 * 60 * 1000LL)

static void
s_assert_same(const struct alertd_alert *a, const struct alertd_alert *b)
{
    ck_assert_int_eq(fw_labels_cmp(&a->labels, &b->labels), 0);
    ck_assert(json_equal(a->annotations, b->annotations));
    // Same keys in the same order (the webhook body shows them in order).
    char *x = json_dumps(a->annotations, JSON_COMPACT),
         *y = json_dumps(b->annotations, JSON_COMPACT);
    ck_assert_str_eq(x, y);
    free(x);
    free(y);
    ck_assert_int_eq(a->starts_at, b->starts_at);
    ck_assert_int_eq(a->ends_at, b->ends_at);
    ck_assert_int_eq(a->updated_at, b->updated_at);
    ck_assert_int_eq(a->timeout, b->timeout);
    ck_assert_uint_eq(a->fp, b->fp);
    ck_assert_int_eq(!a->generator_url, !b->generator_url);
    if (a->generator_url)
        ck_assert_str_eq(a->generator_url, b->generator_url);
}

// Parse text both ways and compare; message: text is an ALERTS body.
static void
s_check_equal(const char *text, bool message, size_t want)
{
    struct alertd_json_alerts v = {0};
    ck_assert_int_eq(alertd_json_alerts_parse(text, strlen(text), message, NOW, RESOLVE, &v),
                     (ssize_t)want);
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    ck_assert_msg(doc != NULL, "%s", text);
    json_t *arr = message ? json_object_get(doc, "alerts") : doc;
    ck_assert_uint_eq(json_array_size(arr), want);
    for (size_t i = 0; i < want; i++) {
        struct alertd_alert slow;
        fw_err_t err;
        fw_err_clear(&err);
        ck_assert_int_eq(alertd_alert_parse(json_array_get(arr, i), NOW, RESOLVE, &slow, &err), 0);
        s_assert_same(&v.items[i], &slow);
        alertd_alert_clear(&slow);
    }
    json_decref(doc);
    alertd_json_alerts_free(&v);
}

START_TEST(test_alertd_json_same_as_jansson)
{
    s_check_equal("[]", false, 0);
    s_check_equal(" [ ] ", false, 0);
    s_check_equal("[{\"labels\":{\"alertname\":\"A\"}}]", false, 1);
    // What am-load.py and Prometheus send: the order of keys, whitespace, annotations.
    s_check_equal("[{\"labels\": {\"alertname\": \"OEELow\", \"line\": \"line-01\", \"id\": \"7\"},"
                  " \"annotations\": {\"summary\": \"OEE on line 1\", \"runbook\": \"r.md\"},"
                  " \"startsAt\": \"2026-11-30T12:00:00.123456Z\","
                  " \"generatorURL\": \"http://x/graph?g0.expr=up\"},\n"
                  "\t{\"generatorURL\":\"\",\"endsAt\":\"2026-11-30T13:00:00+01:00\","
                  "\"startsAt\":\"2026-11-30T11:00:00Z\",\"labels\":{\"b\":\"2\",\"a\":\"1\"}}]",
                  false, 2);
    // Escapes: quotes, backslash, control characters, \u escapes with a surrogate pair, and
    // raw UTF-8.
    s_check_equal("[{\"labels\":{\"alertname\":\"q\\\"b\\\\s\\/\\n\\t\\b\\f\\r\","
                  "\"x\":\"\\u00e9\\u20ac\\ud83d\\ude00\",\"y\":\"caf\xc3\xa9 \xe2\x82\xac\"},"
                  "\"annotations\":{\"d\":\"line1\\nline2 \\u0041\"}}]",
                  false, 1);
    // An empty value is no label; Go's zero time and "" are unset; an endsAt in the past
    // makes startsAt that time.
    s_check_equal("[{\"labels\":{\"alertname\":\"A\",\"empty\":\"\"},"
                  "\"startsAt\":\"0001-01-01T00:00:00Z\",\"endsAt\":\"\"},"
                  "{\"labels\":{\"alertname\":\"B\"},\"endsAt\":\"2020-01-01T00:00:00Z\"}]",
                  false, 2);
    // The later of two equal label names with an empty first value wins, as in jansson.
    s_check_equal("[{\"labels\":{\"a\":\"\",\"a\":\"x\"}}]", false, 1);
    // ALERTS message bodies, keys in either order.
    s_check_equal("{\"source\":\"ruled\",\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
                  "\"annotations\":{},\"startsAt\":\"2026-11-30T12:00:00Z\","
                  "\"endsAt\":\"2026-11-30T12:04:00Z\"}]}",
                  true, 1);
    s_check_equal("{\"alerts\":[],\"source\":\"slod\"}", true, 0);
}
END_TEST

START_TEST(test_alertd_json_gives_up)
{
    static const char *const arrays[] = {
        "",
        "{}",
        "[",
        "[{\"labels\":{\"a\":\"1\"}}] x",
        "[{\"labels\":{\"a\":\"1\"}},]",
        "[{\"labels\":{\"a\":\"1\"}}",
        "[{\"labels\":{\"a\":1}}]",
        "[{\"labels\":{\"a\":null}}]",
        "[{\"labels\":null}]",
        "[{\"labels\":{\"a\":\"1\"},\"annotations\":null}]",
        "[{\"labels\":{\"a\":\"1\"},\"startsAt\":null}]",
        "[{\"labels\":{\"a\":\"1\"},\"status\":\"firing\"}]",
        "[{\"labels\":{\"a\":\"1\",\"a\":\"2\"}}]",
        "[{\"labels\":{\"a\":\"1\"},\"labels\":{\"b\":\"2\"}}]",
        "[{\"labels\":{\"a\":\"1\"},\"annotations\":{\"s\":\"1\",\"s\":\"2\"}}]",
        "[{\"labels\":{\"\":\"1\"}}]",
        "[{\"labels\":{\"\xff\":\"1\"}}]",
        "[{\"labels\":{\"a\":\"1\"},\"annotations\":{\"\":\"1\"}}]",
        "[{\"labels\":{\"a\":\"1\"},\"startsAt\":\"yesterday\"}]",
        "[{\"labels\":{\"a\":\"1\"},\"startsAt\":\"1700000000\"}]",
        "[{\"labels\":{\"a\":\"1\"},\"startsAt\":\"2026-11-30T12:00:00Z\","
        "\"endsAt\":\"2026-11-30T11:00:00Z\"}]",
        "[{\"labels\":{}}]",
        "[{\"labels\":{\"a\":\"\"}}]",
        "[{}]",
        "[{\"labels\":{\"a\":\"x\\u0000y\"}}]",
        "[{\"labels\":{\"a\":\"\\ud83d\"}}]",
        "[{\"labels\":{\"a\":\"\\ude00\"}}]",
        "[{\"labels\":{\"a\":\"\\x\"}}]",
        "[{\"labels\":{\"a\":\"\xff\"}}]",
        "[{\"labels\":{\"a\":\"line\nbreak\"}}]",
        "[{\"labels\":{\"a\":\"1\"}}, 5]",
        "[{\"labels\":{\"a\":\"1\"}}, {\"labels\":{\"a\":\"1\"},\"generatorURL\":7}]",
    };
    static const char *const messages[] = {
        "{\"alerts\":[]}",
        "{\"source\":\"ruled\"}",
        "{\"source\":\"ruled\",\"alerts\":[],\"x\":1}",
        "{\"source\":\"ruled\",\"alerts\":{}}",
        "{\"source\":7,\"alerts\":[]}",
        "{\"source\":\"a\",\"source\":\"b\",\"alerts\":[]}",
        "[]",
    };
    struct alertd_json_alerts v = {0};
    // What the parser already holds stays as it was.
    const char *one = "[{\"labels\":{\"a\":\"1\"}}]";
    ck_assert_int_eq(alertd_json_alerts_parse(one, strlen(one), false, NOW, RESOLVE, &v), 1);
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        ck_assert_msg(
            alertd_json_alerts_parse(arrays[i], strlen(arrays[i]), false, NOW, RESOLVE, &v) == -1,
            "array %zu: %s", i, arrays[i]);
        ck_assert_uint_eq(v.len, 1);
    }
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
        ck_assert_msg(alertd_json_alerts_parse(messages[i], strlen(messages[i]), true, NOW, RESOLVE,
                                               &v) == -1,
                      "message %zu: %s", i, messages[i]);
        ck_assert_uint_eq(v.len, 1);
    }
    ck_assert_str_eq(fw_labels_get(&v.items[0].labels, "a"), "1");
    alertd_json_alerts_free(&v);
}
END_TEST

// Alertmanager 0.27+ takes any non-empty valid UTF-8 label name (its utf8 validation, the
// default); ruled sends Prometheus 3's UTF-8 names in ALERTS messages.
START_TEST(test_alertd_json_utf8_names)
{
    const char *text = "{\"source\":\"ruled\",\"alerts\":[{\"labels\":{\"k8s.io/app\":\"web\","
                       "\"1a\":\"x\",\"caf\u00e9\":\"y\"},\"annotations\":{\"bad name\":\"1\"}}]}";
    struct alertd_json_alerts v = {0};
    ck_assert_int_eq(alertd_json_alerts_parse(text, strlen(text), true, NOW, RESOLVE, &v), 1);
    ck_assert_str_eq(fw_labels_get(&v.items[0].labels, "k8s.io/app"), "web");
    ck_assert_str_eq(fw_labels_get(&v.items[0].labels, "1a"), "x");
    ck_assert_str_eq(fw_labels_get(&v.items[0].labels, "caf\u00e9"), "y");
    alertd_json_alerts_free(&v);
    s_check_equal(text, true, 1); // the API's decoder takes the same names
}
END_TEST

START_TEST(test_alertd_json_record)
{
    struct alertd_json_alerts v = {0};
    const char *text = "[{\"labels\":{\"alertname\":\"q\\\"\\\\\\n\\u0001\",\"z\":\"\xc3\xa9\"},"
                       "\"annotations\":{\"s\":\"a\\tb\",\"d\":\"\"},"
                       "\"generatorURL\":\"http://x/?a=1&b=\\\"2\\\"\"},"
                       "{\"labels\":{\"a\":\"1\"},\"endsAt\":\"2030-01-01T00:00:00Z\"}]";
    ck_assert_int_eq(alertd_json_alerts_parse(text, strlen(text), false, NOW, RESOLVE, &v), 2);
    char *buf = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < v.len; i++) {
        const struct alertd_alert *a = &v.items[i];
        size_t len = alertd_json_alert_record(a, &buf, &cap);
        ck_assert_uint_eq(len, strlen(buf));
        // The form alertd stored before alertd_json wrote it.
        json_t *want = json_pack(
            "{s:o, s:O, s:I, s:I, s:I, s:b}", "labels", fw_labels_json(&a->labels), "annotations",
            a->annotations, "startsAt", (json_int_t)a->starts_at, "endsAt", (json_int_t)a->ends_at,
            "updatedAt", (json_int_t)a->updated_at, "timeout", a->timeout);
        if (a->generator_url)
            json_object_set_new(want, "generatorURL", json_string(a->generator_url));
        json_error_t jerr;
        json_t *got = json_loadb(buf, len, 0, &jerr);
        ck_assert_msg(got != NULL, "%s: %s", buf, jerr.text);
        ck_assert_msg(json_equal(got, want), "%s", buf);
        json_decref(got);
        json_decref(want);
    }
    // The times' digits at the ends of their range, as jansson writes them.
    static const long long edges[] = {0, -1, 9, 10, -10, 1800000000000LL, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        struct alertd_alert a = v.items[1];
        a.starts_at = edges[i];
        a.ends_at = -edges[i] / 2;
        a.updated_at = edges[(i + 1) % (sizeof edges / sizeof edges[0])];
        size_t len = alertd_json_alert_record(&a, &buf, &cap);
        ck_assert_uint_eq(len, strlen(buf));
        json_t *got = json_loadb(buf, len, 0, NULL);
        ck_assert_msg(got != NULL, "%s", buf);
        ck_assert_msg(json_integer_value(json_object_get(got, "startsAt")) == a.starts_at &&
                          json_integer_value(json_object_get(got, "endsAt")) == a.ends_at &&
                          json_integer_value(json_object_get(got, "updatedAt")) == a.updated_at,
                      "%s", buf);
        json_decref(got);
    }
    free(buf);
    alertd_json_alerts_free(&v);
}
END_TEST

// Allocations through jansson, beside fw_mem_allocations().
static unsigned long s_json_allocs;

static void *
s_json_malloc(size_t n)
{
    s_json_allocs++;
    return malloc(n);
}

// New alerts of one rule (same annotations, in the same order) built from the loop's views
// share one annotations object: 100 such alerts cost jansson the first one's allocations,
// not 100 times them (an object, its table and three a pair). Different or reordered
// annotations get their own object, equal to what was sent; a view set without the table
// (a POST on a connection's thread) builds each as before.
START_TEST(test_alertd_json_annotations_shared)
{
    enum { N = 100 };
    json_set_alloc_funcs(s_json_malloc, free);
    char *text = NULL;
    size_t cap = 0, len = 0;
    fw_mem_grow((void **)&text, &cap, 160 * (N + 3), 1); // each alert under 130 bytes
    len += (size_t)sprintf(text + len, "[");
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(text + len,
                               "%s{\"labels\":{\"alertname\":\"Hot\",\"id\":\"%d\"},"
                               "\"annotations\":{\"summary\":\"hot\",\"runbook\":\"r/hot\"}}",
                               i ? "," : "", i);
    len += (size_t)sprintf(text + len,
                           ",{\"labels\":{\"alertname\":\"Hot\",\"id\":\"r\"},"
                           "\"annotations\":{\"runbook\":\"r/hot\",\"summary\":\"hot\"}}"
                           ",{\"labels\":{\"alertname\":\"Hot\",\"id\":\"o\"},"
                           "\"annotations\":{\"summary\":\"hot\",\"runbook\":\"r/hot2\"}}]");
    for (int shared = 1; shared >= 0; shared--) {
        struct alertd_json_views vs = {0};
        if (shared)
            alertd_json_views_share_annotations(&vs);
        ck_assert_int_eq(alertd_json_views_parse(text, len, false, NOW, RESOLVE, &vs), N + 2);
        struct alertd_alert a[N + 2];
        unsigned long j0 = s_json_allocs;
        for (int i = 0; i < N; i++)
            alertd_json_view_build(&vs, &vs.items[i], &a[i]);
        unsigned long built = s_json_allocs - j0;
        fprintf(stderr, "alertd_json: %lu jansson allocations for %d alerts' annotations (%s)\n",
                built, N, shared ? "shared" : "not shared");
        if (shared) {
            ck_assert_uint_le(built, 10); // the first alert's, then none
            for (int i = 1; i < N; i++)
                ck_assert_ptr_eq(a[i].annotations, a[0].annotations);
        } else {
            ck_assert_uint_ge(built, 7 * N);
            ck_assert_ptr_ne(a[1].annotations, a[0].annotations);
        }
        alertd_json_view_build(&vs, &vs.items[N], &a[N]);
        alertd_json_view_build(&vs, &vs.items[N + 1], &a[N + 1]);
        ck_assert_ptr_ne(a[N].annotations, a[0].annotations);
        ck_assert_ptr_ne(a[N + 1].annotations, a[0].annotations);
        ck_assert_str_eq(json_object_iter_key(json_object_iter(a[N].annotations)), "runbook");
        ck_assert_uint_eq(json_string_length(json_object_get(a[N + 1].annotations, "runbook")), 6);
        ck_assert(json_equal(a[N].annotations, a[0].annotations));
        for (int i = 0; i < N + 2; i++) {
            ck_assert_str_eq(json_string_value(json_object_get(a[i].annotations, "summary")),
                             "hot");
            alertd_alert_clear(&a[i]);
        }
        alertd_json_views_free(&vs);
    }
    free(text);
    json_set_alloc_funcs(malloc, free);
}
END_TEST

// A re-sent alert (only its times move) is recognised from its view and refreshed in place
// with no allocation at all, and its record is not written again so soon; any other change
// (an annotation, the generatorURL, a label, an earlier startsAt) is not a re-send.
START_TEST(test_alertd_json_resent_costs_nothing)
{
    json_set_alloc_funcs(s_json_malloc, free);
    const char *first = "[{\"labels\":{\"alertname\":\"Hot\",\"line\":\"L1\"},"
                        "\"annotations\":{\"summary\":\"hot\"},"
                        "\"startsAt\":\"2027-01-15T08:00:00Z\","
                        "\"endsAt\":\"2027-01-15T08:04:00Z\",\"generatorURL\":\"http://g/1\"}]";
    const char *again = "[{\"labels\":{\"line\":\"L1\",\"alertname\":\"Hot\"},"
                        "\"annotations\":{\"summary\":\"hot\"},"
                        "\"startsAt\":\"2027-01-15T08:00:00Z\","
                        "\"endsAt\":\"2027-01-15T08:05:00Z\",\"generatorURL\":\"http://g/1\"}]";
    int64_t t0 = 1800000000000LL; // 2027-01-15T08:00:00Z
    alertd_store_t *store = alertd_store_new();
    struct alertd_json_views vs = {0};
    ck_assert_int_eq(alertd_json_views_parse(first, strlen(first), false, t0, RESOLVE, &vs), 1);
    struct alertd_alert a;
    alertd_json_view_build(&vs, &vs.items[0], &a);
    const struct alertd_alert *stored = alertd_store_put(store, &a, t0);
    alertd_json_views_reset(&vs);
    unsigned long f0 = fw_mem_allocations(), j0 = s_json_allocs;
    ck_assert_int_eq(alertd_json_views_parse(again, strlen(again), false, t0 + 60000, RESOLVE, &vs),
                     1);
    const struct alertd_json_view *v = &vs.items[0];
    ck_assert_uint_eq(v->fp, stored->fp);
    ck_assert_ptr_eq(alertd_store_get(store, v->fp), stored);
    int64_t ends = 0;
    ck_assert(alertd_json_view_times_only(&vs, v, stored, t0 + 60000, &ends));
    ck_assert_ptr_eq(alertd_store_refresh(store, stored, ends, v->updated_at), stored);
    ck_assert_uint_eq(fw_mem_allocations() - f0, 0);
    ck_assert_uint_eq(s_json_allocs - j0, 0);
    ck_assert_int_eq(stored->ends_at, t0 + 300000);
    ck_assert_int_eq(stored->updated_at, t0 + 60000);
    // What is not a re-send.
    static const char *const others[] = {
        "[{\"labels\":{\"alertname\":\"Hot\",\"line\":\"L1\"},"
        "\"annotations\":{\"summary\":\"hotter\"},\"startsAt\":\"2027-01-15T08:00:00Z\","
        "\"generatorURL\":\"http://g/1\"}]",
        "[{\"labels\":{\"alertname\":\"Hot\",\"line\":\"L1\"},"
        "\"annotations\":{\"summary\":\"hot\"},\"startsAt\":\"2027-01-15T08:00:00Z\","
        "\"generatorURL\":\"http://g/2\"}]",
        "[{\"labels\":{\"alertname\":\"Hot\",\"line\":\"L1\"},"
        "\"annotations\":{\"summary\":\"hot\"},\"startsAt\":\"2027-01-15T08:00:00Z\"}]",
        "[{\"labels\":{\"alertname\":\"Hot\",\"line\":\"L1\"},"
        "\"annotations\":{\"summary\":\"hot\",\"x\":\"\"},"
        "\"startsAt\":\"2027-01-15T08:00:00Z\",\"generatorURL\":\"http://g/1\"}]",
        "[{\"labels\":{\"alertname\":\"Hot\",\"line\":\"L1\"},"
        "\"annotations\":{\"summary\":\"hot\"},\"startsAt\":\"2027-01-15T07:59:00Z\","
        "\"endsAt\":\"2027-01-15T07:59:30Z\",\"generatorURL\":\"http://g/1\"}]",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        alertd_json_views_reset(&vs);
        ck_assert_int_eq(
            alertd_json_views_parse(others[i], strlen(others[i]), false, t0 + 90000, RESOLVE, &vs),
            1);
        ck_assert_uint_eq(vs.items[0].fp, stored->fp);
        ck_assert_msg(!alertd_json_view_times_only(&vs, &vs.items[0], stored, t0 + 90000, &ends),
                      "%s", others[i]);
    }
    alertd_json_views_free(&vs);
    alertd_store_destroy(&store);
    json_set_alloc_funcs(malloc, free);
}
END_TEST

Suite *
alertd_json_suite(void)
{
    Suite *s = suite_create("alertd_json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, test_alertd_json_same_as_jansson);
    tcase_add_test(tc, test_alertd_json_gives_up);
    tcase_add_test(tc, test_alertd_json_utf8_names);
    tcase_add_test(tc, test_alertd_json_record);
    tcase_add_test(tc, test_alertd_json_annotations_shared);
    tcase_add_test(tc, test_alertd_json_resent_costs_nothing);
    suite_add_tcase(s, tc);
    return s;
}
