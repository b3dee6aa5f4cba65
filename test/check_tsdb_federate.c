/*  check_tsdb_federate.c — /federate: the scenarios of Prometheus's web/federate_test.go
    (its TestFederation data, its `now` and its expected bodies, byte for byte) through
    tsdb_federate_body, plus the HTTP answers (codes, content types, error texts) from a real
    fw_http server on a free port.
*/
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_http.h"
#include "fw_labels.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_promql.h"
#include "fw_sample.h"
#include "check_util.h"
#include "../tsdb/tsdb_federate.h"
#include "../tsdb/tsdb_store.h"

#define S_MIN 60000
#define S_NOW (101 * S_MIN) // federate_test.go: 101 min after the epoch

static char s_dir[128];
static tsdb_store_t *s_st;
static tsdb_federate_t *s_fed;

// name{labels as "k","v",...} with n samples every minute from 0: first + k * step, the
// last one a stale marker when stale.
static void
s_load(struct fw_batch *b, const char *name, const char *const *kv, size_t n_kv, double first,
       double step, int n, bool stale)
{
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", name);
    for (size_t k = 0; k + 1 < n_kv; k += 2)
        fw_labels_set(&l, kv[k], kv[k + 1]);
    struct fw_series *s = fw_batch_add_series(b, &l);
    for (int k = 0; k < n; k++)
        fw_series_add(s, (int64_t)k * S_MIN, first + k * step);
    if (stale)
        fw_series_add(s, (int64_t)n * S_MIN, fw_stale_nan());
    fw_labels_clear(&l);
}

static void
s_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_federate");
    s_st = check_util_store_open(s_dir, 0);
    struct fw_batch *b = fw_batch_new();
    // load 1m: 0+100x100, 1+0x100, 1+0x100, 1+10x100, 1+10x99 stale, 1+10x98
    s_load(b, "test_metric1", (const char *[]){"foo", "bar", "instance", "i"}, 4, 0, 100, 101,
           false);
    s_load(b, "test_metric1", (const char *[]){"foo", "boo", "instance", "i"}, 4, 1, 0, 101, false);
    s_load(b, "test_metric2", (const char *[]){"foo", "boo", "instance", "i"}, 4, 1, 0, 101, false);
    s_load(b, "test_metric_without_labels", NULL, 0, 1, 10, 101, false);
    s_load(b, "test_metric_stale", NULL, 0, 1, 10, 100, true);
    s_load(b, "test_metric_old", NULL, 0, 1, 10, 99, false);
    fw_err_t err;
    for (size_t k = 0; k < b->len; k++)
        ck_assert_int_eq(tsdb_store_append_series(s_st, &b->series[k].labels, b->series[k].samples,
                                                  b->series[k].len, NULL, &err),
                         0);
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "commit: %s", err.msg);
    fw_batch_destroy(&b);
    s_fed = tsdb_federate_new(s_st);
}

static void
s_teardown(void)
{
    tsdb_federate_destroy(&s_fed);
    tsdb_federate_destroy(&s_fed); // twice is fine
    tsdb_store_destroy(&s_st);
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

// The body for the selectors sel[0..n) with external labels ext ("k","v",...; NULL: none).
static void
s_expect(const char *const *sel, size_t n, const char *const *ext, size_t n_ext, const char *want)
{
    struct fw_labels l = FW_LABELS_INIT;
    for (size_t k = 0; k + 1 < n_ext; k += 2)
        fw_labels_set(&l, ext[k], ext[k + 1]);
    tsdb_federate_set_external_labels(s_fed, &l);
    fw_labels_clear(&l);
    fw_promql_expr_t *sets[8];
    for (size_t k = 0; k < n; k++) {
        fw_err_t err;
        sets[k] = fw_promql_parse_match(sel[k], &err);
        ck_assert_msg(sets[k] != NULL, "%s: %s", sel[k], err.msg);
    }
    fw_err_t err;
    char *got = NULL;
    size_t len = 0;
    ck_assert_int_eq(tsdb_federate_body(s_fed, sets, n, S_NOW, false, &got, &len, &err), 0);
    ck_assert_msg(strcmp(got, want) == 0, "%s...\n got:\n%s\nwant:\n%s", sel[0], got, want);
    free(got);
    for (size_t k = 0; k < n; k++)
        fw_promql_expr_destroy(&sets[k]);
}

#define S_M1                                                                                       \
    "# TYPE test_metric1 untyped\n"                                                                \
    "test_metric1{foo=\"bar\",instance=\"i\"} 10000 6000000\n"                                     \
    "test_metric1{foo=\"boo\",instance=\"i\"} 1 6000000\n"
#define S_M2                                                                                       \
    "# TYPE test_metric2 untyped\n"                                                                \
    "test_metric2{foo=\"boo\",instance=\"i\"} 1 6000000\n"
#define S_OLD_NOLABELS                                                                             \
    "# TYPE test_metric_old untyped\n"                                                             \
    "test_metric_old{instance=\"\"} 981 5880000\n"                                                 \
    "# TYPE test_metric_without_labels untyped\n"                                                  \
    "test_metric_without_labels{instance=\"\"} 1001 6000000\n"

START_TEST(test_tsdb_federate_scenarios)
{
    s_expect((const char *[]){"does_not_match_anything"}, 1, NULL, 0, "");
    s_expect((const char *[]){"test_metric1"}, 1, NULL, 0, S_M1);
    s_expect((const char *[]){"test_metric2"}, 1, NULL, 0, S_M2);
    s_expect((const char *[]){"test_metric_without_labels"}, 1, NULL, 0,
             "# TYPE test_metric_without_labels untyped\n"
             "test_metric_without_labels{instance=\"\"} 1001 6000000\n");
    s_expect((const char *[]){"test_metric_stale"}, 1, NULL, 0, "");
    s_expect((const char *[]){"test_metric_old"}, 1, NULL, 0,
             "# TYPE test_metric_old untyped\ntest_metric_old{instance=\"\"} 981 5880000\n");
    s_expect((const char *[]){"{foo='boo'}"}, 1, NULL, 0,
             "# TYPE test_metric1 untyped\n"
             "test_metric1{foo=\"boo\",instance=\"i\"} 1 6000000\n" S_M2);
    s_expect((const char *[]){"test_metric1", "test_metric2"}, 2, NULL, 0, S_M1 S_M2);
    s_expect((const char *[]){"{__name__=~'test_metric1'}", "{foo='bar'}"}, 2, NULL, 0, S_M1);
    s_expect((const char *[]){"{__name__=~'.+'}"}, 1, NULL, 0, S_M1 S_M2 S_OLD_NOLABELS);
    s_expect((const char *[]){"{foo='',__name__=~'.+'}"}, 1, NULL, 0, S_OLD_NOLABELS);
    s_expect((const char *[]){"{bar='',__name__=~'.+'}"}, 1, NULL, 0, S_M1 S_M2 S_OLD_NOLABELS);
    s_expect((const char *[]){"{__name__=~'.+'}"}, 1, (const char *[]){"foo", "baz", "zone", "ie"},
             4,
             "# TYPE test_metric1 untyped\n"
             "test_metric1{foo=\"bar\",instance=\"i\",zone=\"ie\"} 10000 6000000\n"
             "test_metric1{foo=\"boo\",instance=\"i\",zone=\"ie\"} 1 6000000\n"
             "# TYPE test_metric2 untyped\n"
             "test_metric2{foo=\"boo\",instance=\"i\",zone=\"ie\"} 1 6000000\n"
             "# TYPE test_metric_old untyped\n"
             "test_metric_old{foo=\"baz\",instance=\"\",zone=\"ie\"} 981 5880000\n"
             "# TYPE test_metric_without_labels untyped\n"
             "test_metric_without_labels{foo=\"baz\",instance=\"\",zone=\"ie\"} 1001 6000000\n");
    s_expect((const char *[]){"{__name__=~'.+'}"}, 1, (const char *[]){"instance", "baz"}, 2,
             S_M1 S_M2 "# TYPE test_metric_old untyped\n"
                       "test_metric_old{instance=\"baz\"} 981 5880000\n"
                       "# TYPE test_metric_without_labels untyped\n"
                       "test_metric_without_labels{instance=\"baz\"} 1001 6000000\n");
    s_expect((const char *[]){"{}"}, 1, NULL, 0, ""); // Select without matchers: nothing
}
END_TEST

// Values as expfmt writes them, and label values escaped.
START_TEST(test_tsdb_federate_values)
{
    struct fw_batch *b = fw_batch_new();
    static const double v[] = {-0.0, -1, 1e6, 1.5e-7, NAN, INFINITY, -INFINITY, 0.1};
    static const char *const name[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
        struct fw_series *s;
        struct fw_labels l = FW_LABELS_INIT;
        fw_labels_set(&l, "__name__", "v");
        fw_labels_set(&l, "k", name[k]);
        if (k == 0)
            fw_labels_set(&l, "msg", "say \"hi\" \\ now\nand");
        s = fw_batch_add_series(b, &l);
        fw_series_add(s, S_NOW - 1, v[k]);
        fw_labels_clear(&l);
    }
    fw_err_t err;
    for (size_t k = 0; k < b->len; k++)
        ck_assert_int_eq(tsdb_store_append_series(s_st, &b->series[k].labels, b->series[k].samples,
                                                  b->series[k].len, NULL, &err),
                         0);
    ck_assert_int_eq(tsdb_store_commit(s_st, &err), 0);
    fw_batch_destroy(&b);
    s_expect((const char *[]){"v"}, 1, NULL, 0,
             "# TYPE v untyped\n"
             "v{k=\"a\",msg=\"say \\\"hi\\\" \\\\ now\\nand\",instance=\"\"} 0 6059999\n"
             "v{k=\"b\",instance=\"\"} -1 6059999\n"
             "v{k=\"c\",instance=\"\"} 1e+06 6059999\n"
             "v{k=\"d\",instance=\"\"} 1.5e-07 6059999\n"
             "v{k=\"e\",instance=\"\"} NaN 6059999\n"
             "v{k=\"f\",instance=\"\"} +Inf 6059999\n"
             "v{k=\"g\",instance=\"\"} -Inf 6059999\n"
             "v{k=\"h\",instance=\"\"} 0.1 6059999\n");
}
END_TEST

// method path (with the header line accept, or none) answers status, ctype and body.
static void
s_http_expect_accept(const char *base, const char *method, const char *path, const char *accept,
                     long status, const char *ctype, const char *body)
{
    char url[2048], hdr[256];
    snprintf(url, sizeof(url), "%s%s", base, path);
    snprintf(hdr, sizeof(hdr), "Accept: %s", accept ? accept : "");
    const char *const headers[] = {hdr, NULL};
    struct check_util_http r;
    ck_assert_int_eq(
        check_util_http_request(method, url, NULL, 0, NULL, accept ? headers : NULL, 0, &r), 0);
    ck_assert_msg(r.status == status, "%s: %ld, want %ld (%s)", path, r.status, status, r.body);
    ck_assert_str_eq(r.ctype, ctype);
    ck_assert_str_eq(r.body, body);
    check_util_http_clear(&r);
}

static void
s_http_expect(const char *base, const char *method, const char *path, long status,
              const char *ctype, const char *body)
{
    s_http_expect_accept(base, method, path, NULL, status, ctype, body);
}

// Prometheus 3's UTF-8 names: written quoted when the Accept header asks for
// escaping=allow-utf-8, else escaped (underscores by default, as Prometheus 3; values).
static void
s_expect_esc(fw_names_escaping_t esc, const char *want)
{
    fw_err_t err;
    fw_promql_expr_t *sel = fw_promql_parse_match("{\"my.metric\"}", &err);
    ck_assert_ptr_nonnull(sel);
    char *got = NULL;
    size_t len = 0;
    ck_assert_int_eq(tsdb_federate_body_esc(s_fed, &sel, 1, S_NOW, false, esc, &got, &len, &err),
                     0);
    ck_assert_msg(strcmp(got, want) == 0, "got:\n%s\nwant:\n%s", got, want);
    free(got);
    fw_promql_expr_destroy(&sel);
}

START_TEST(test_tsdb_federate_utf8_names)
{
    struct fw_batch *b = fw_batch_new();
    s_load(b, "my.metric", (const char *[]){"a.b", "c", "instance", "i"}, 4, 5, 0, 101, false);
    fw_err_t err;
    ck_assert_int_eq(tsdb_store_append_series(s_st, &b->series[0].labels, b->series[0].samples,
                                              b->series[0].len, NULL, &err),
                     0);
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "commit: %s", err.msg);
    fw_batch_destroy(&b);
    s_expect_esc(FW_NAMES_ESC_NONE, "# TYPE \"my.metric\" untyped\n"
                                    "{\"my.metric\",\"a.b\"=\"c\",instance=\"i\"} 5 6000000\n");
    s_expect_esc(FW_NAMES_ESC_UNDERSCORES,
                 "# TYPE my_metric untyped\nmy_metric{a_b=\"c\",instance=\"i\"} 5 6000000\n");
    s_expect_esc(FW_NAMES_ESC_VALUES,
                 "# TYPE U__my_2e_metric untyped\n"
                 "U__my_2e_metric{U__a_2e_b=\"c\",instance=\"i\"} 5 6000000\n");
    s_expect_esc(FW_NAMES_ESC_DOTS, "# TYPE my_dot_metric untyped\n"
                                    "my_dot_metric{a_dot_b=\"c\",instance=\"i\"} 5 6000000\n");
}
END_TEST

START_TEST(test_tsdb_federate_http)
{
    fw_metrics_t *m = fw_metrics_new();
    fw_http_t *http = fw_http_new("tsdb", m);
    tsdb_federate_routes(s_fed, http);
    fw_err_t err;
    ck_assert_msg(fw_http_start(http, "127.0.0.1:0", &err) == 0, "%s", err.msg);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", fw_http_port(http));
    // Prometheus 3 names the escaping in the Content-Type (underscores unless asked).
    const char *text = TSDB_FEDERATE_CONTENT_TYPE "; escaping=underscores",
               *plain = "text/plain; charset=utf-8";
    s_http_expect(base, "GET", "/federate", 200, text, ""); // no match[]: nothing, as Prometheus
    s_http_expect(base, "GET", "/federate?match%5B%5D=test_metric1", 200, text, ""); // 1970
    s_http_expect(base, "GET", "/federate?match%5B%5D=-not-a-valid-metric-name", 400, plain,
                  "1:1: parse error: unexpected <op:->\n");
    s_http_expect(base, "GET", "/federate?match%5B%5D=not-a-valid-metric-name", 400, plain,
                  "1:4: parse error: unexpected <op:->\n");
    s_http_expect(base, "GET", "/federate?match%5B%5D=up&match%5B%5D=a%00b", 400, plain,
                  "1:2: parse error: unexpected character: '\\x00'\n");
    s_http_expect(base, "POST", "/federate", 405, plain, "Method Not Allowed\n");
    // The escaping asked for (or underscores) is named as Prometheus 3's expfmt.Negotiate
    // appends it: the text format stays version=0.0.4 whatever version was asked.
    static const struct {
        const char *accept, *ctype;
    } neg[] = {
        {"text/plain;version=0.0.4;escaping=allow-utf-8",
         TSDB_FEDERATE_CONTENT_TYPE "; escaping=allow-utf-8"},
        {"text/plain;version=1.0.0;escaping=allow-utf-8",
         TSDB_FEDERATE_CONTENT_TYPE "; escaping=allow-utf-8"},
        {"text/plain;escaping=values", TSDB_FEDERATE_CONTENT_TYPE "; escaping=values"},
        {"text/plain;escaping=dots", TSDB_FEDERATE_CONTENT_TYPE "; escaping=dots"},
        {"text/plain;escaping=nope", TSDB_FEDERATE_CONTENT_TYPE "; escaping=underscores"},
        {"text/plain", TSDB_FEDERATE_CONTENT_TYPE "; escaping=underscores"},
        {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
         "encoding=delimited;escaping=allow-utf-8",
         TSDB_FEDERATE_PROTO_TYPE "; escaping=allow-utf-8"},
        {"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
         "encoding=delimited",
         TSDB_FEDERATE_PROTO_TYPE "; escaping=underscores"},
    };
    for (size_t k = 0; k < sizeof(neg) / sizeof(neg[0]); k++)
        s_http_expect_accept(base, "GET", "/federate?match%5B%5D=%7B%22my.metric%22%7D",
                             neg[k].accept, 200, neg[k].ctype, "");
    char many[65 * 14 + 32] = "/federate?";
    for (int k = 0; k < 65; k++)
        strcat(many, "match%5B%5D=a&");
    s_http_expect(base, "GET", many, 400, plain, "too many match[] parameters (at most 64)\n");
    fw_http_destroy(&http);
    fw_metrics_destroy(&m);
}
END_TEST

Suite *
tsdb_federate_suite(void)
{
    Suite *s = suite_create("tsdb_federate");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_federate_scenarios);
    tcase_add_test(tc, test_tsdb_federate_values);
    tcase_add_test(tc, test_tsdb_federate_http);
    tcase_add_test(tc, test_tsdb_federate_utf8_names);
    suite_add_tcase(s, tc);
    return s;
}
