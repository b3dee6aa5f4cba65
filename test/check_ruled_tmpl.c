/*  check_ruled_tmpl.c — unit tests for alert templates (common/fw_tmpl_alert.c over
    common/fw_tmpl), as ruled and slod use them.

    Expected strings are what Prometheus's Go templates produce for the same input
    ({{ $value }} is Go's %v; humanize* as in Prometheus's template package).
*/
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_tmpl_alert.h"
#include "check_util.h"

Suite *ruled_tmpl_suite(void);

static char *
s_expand(const char *text, double value)
{
    struct fw_labels l = FW_LABELS_INIT, ext = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "up");
    fw_labels_set(&l, "instance", "host:9100");
    fw_labels_set(&l, "line", "line-1");
    fw_labels_set(&ext, "site", "plant-1");
    struct fw_tmpl_alert_data d = {
        .labels = &l, .external_labels = &ext, .external_url = "http://prom:9090", .value = value};
    fw_err_t err = {0};
    char *out = fw_tmpl_alert_expand(text, &d, &err);
    fw_labels_clear(&l);
    fw_labels_clear(&ext);
    return out;
}

static void
s_expect(const char *text, double value, const char *want)
{
    char *got = s_expand(text, value);
    ck_assert_msg(got != NULL, "expansion of \"%s\" failed", text);
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(test_fw_tmpl_alert_expand_labels_value)
{
    s_expect("OEE on {{ $labels.line }} is below 60%", 0, "OEE on line-1 is below 60%");
    s_expect("OEE is {{ $value }}", 0.45, "OEE is 0.45");
    s_expect("{{$labels.instance}}/{{ .Labels.line }}", 0, "host:9100/line-1");
    s_expect("{{ $labels.nope }}", 0, ""); // missingkey=zero, as promtool 2.42 expands it
    s_expect("{{ $externalLabels.site }} {{ $externalURL }}", 0, "plant-1 http://prom:9090");
    s_expect("no actions", 0, "no actions");
    s_expect("a  {{- \" b \" -}}  c", 0, "a b c");
    s_expect("x{{/* note */}}y", 0, "xy");
    s_expect("{{ \"lit\" | toUpper }}", 0, "LIT");
}
END_TEST

START_TEST(test_ruled_tmpl_value_format)
{
    char buf[64];
    ck_assert_str_eq(fw_tmpl_alert_format_value(1, buf, sizeof(buf)), "1");
    ck_assert_str_eq(fw_tmpl_alert_format_value(0.1, buf, sizeof(buf)), "0.1");
    ck_assert_str_eq(fw_tmpl_alert_format_value(123456, buf, sizeof(buf)), "123456");
    ck_assert_str_eq(fw_tmpl_alert_format_value(1e6, buf, sizeof(buf)), "1e+06");
    ck_assert_str_eq(fw_tmpl_alert_format_value(1234567, buf, sizeof(buf)), "1.234567e+06");
    ck_assert_str_eq(fw_tmpl_alert_format_value(0.00001, buf, sizeof(buf)), "1e-05");
    ck_assert_str_eq(fw_tmpl_alert_format_value(-2.5, buf, sizeof(buf)), "-2.5");
    ck_assert_str_eq(fw_tmpl_alert_format_value(NAN, buf, sizeof(buf)), "NaN");
    ck_assert_str_eq(fw_tmpl_alert_format_value(INFINITY, buf, sizeof(buf)), "+Inf");
    ck_assert_str_eq(fw_tmpl_alert_format_value(0.1 + 0.2, buf, sizeof(buf)),
                     "0.30000000000000004");
    // Go's shortest digits above a power of two (the old search wrote 5.9604644775390625e-08)
    ck_assert_str_eq(fw_tmpl_alert_format_value(0x1p-24, buf, sizeof(buf)),
                     "5.960464477539063e-08");
}
END_TEST

START_TEST(test_fw_tmpl_alert_humanize)
{
    s_expect("{{ $value | humanize }}", 1234567, "1.235M");
    s_expect("{{ humanize $value }}", 0.0012, "1.2m");
    s_expect("{{ $value | humanize }}", 0, "0");
    s_expect("{{ $value | humanizePercentage }}", 0.4567, "45.67%");
    s_expect("{{ $value | humanizeDuration }}", 3725, "1h 2m 5s");
    s_expect("{{ $value | humanizeDuration }}", 90061, "1d 1h 1m 1s");
    s_expect("{{ $value | humanizeDuration }}", 1.5, "1.5s");
    s_expect("{{ $value | humanizeDuration }}", 0.25, "250ms");
    s_expect("{{ $value | humanize1024 }}", 2048, "2ki");
    s_expect("{{ printf \"%.2f\" $value }}", 0.456, "0.46");
    s_expect("{{ $value | printf \"%.1f%%\" }}", 12.34, "12.3%");
}
END_TEST

// Control actions, variables and functions that the old subset refused at run time while
// --check-config said OK (issue 8): expected strings are Go's for Prometheus's data.
START_TEST(test_ruled_tmpl_control)
{
    s_expect("{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}mid{{ else }}low{{ end }}", 0.3,
             "mid");
    s_expect("{{ if $value }}x{{ end }}", 1, "x");
    s_expect("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}", 0,
             "__name__=up;instance=host:9100;line=line-1;");
    s_expect("{{ with $labels.line }}on {{ . }}{{ else }}no line{{ end }}", 0, "on line-1");
    s_expect("{{ with $labels.nope }}x{{ else }}none{{ end }}", 0, "none");
    s_expect("{{ $x := printf \"%.1f\" $value }}{{ $x }}!", 2.25, "2.2!");
    s_expect("{{ define \"d\" }}[{{ . }}]{{ end }}{{ template \"d\" $labels.line }}", 0,
             "[line-1]");
    s_expect("{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance | toUpper }}", 0, "HOST");
    s_expect("{{ $labels.instance | stripPort }} {{ .ExternalLabels.site }}", 0, "host plant-1");
    s_expect("{{ len $labels }} {{ index $labels \"line\" }}", 0, "3 line-1");
    s_expect("{{ humanizeTimestamp 0 }}", 0, "1970-01-01 00:00:00 +0000 UTC");

    struct fw_labels l = FW_LABELS_INIT;
    struct fw_tmpl_alert_data d = {.labels = &l, .value = 1, .rule_name = "HighLoad"};
    fw_err_t err = {0};
    ck_assert_ptr_null(fw_tmpl_alert_expand("{{ index $labels 1 }}", &d, &err));
    ck_assert_str_eq(err.msg, "error executing template __alert_HighLoad: template: "
                              "__alert_HighLoad:1:115: executing \"__alert_HighLoad\" at <index "
                              "$labels 1>: error calling index: value has type int; should be "
                              "string");
    // without a query function (slod) query fails when run
    ck_assert_ptr_null(fw_tmpl_alert_expand("{{ query \"up\" }}", &d, &err));
    ck_assert(strstr(err.msg, "query is not supported") != NULL);
    // the load-time check now parses: bad syntax and unknown functions are caught there
    ck_assert_int_eq(fw_tmpl_alert_check("{{ if $value }}x", &err), -1);
    ck_assert_str_eq(err.msg, "unexpected EOF");
    ck_assert_int_eq(fw_tmpl_alert_check("a\n{{ nosuch 1 }}", &err), -1);
    ck_assert_str_eq(err.msg, "function \"nosuch\" not defined");
    ck_assert_int_eq(err.line, 2);
    ck_assert_int_eq(err.col, 6);
    ck_assert_int_eq(
        fw_tmpl_alert_check("{{ range $labels }}{{ . }}{{ end }}{{ query \"up\" }}", &err), 0);
}
END_TEST

// A query function for templates: answers "up" with two samples (job b first), "none" with
// nothing, anything else with a timeout; records each call.
struct s_q {
    int calls;
    char expr[64];
    int64_t t_ms;
};

static int
s_fake_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out, fw_err_t *err)
{
    struct s_q *q = arg;
    q->calls++;
    snprintf(q->expr, sizeof q->expr, "%s", expr);
    q->t_ms = t_ms;
    fw_vector_clear(out);
    if (strcmp(expr, "none") == 0)
        return 0;
    if (strcmp(expr, "up") != 0) {
        fw_err_set(err, "query timed out");
        return -1;
    }
    out->items = calloc(2, sizeof(struct fw_vsample));
    out->len = out->cap = 2;
    fw_labels_set(&out->items[0].labels, "__name__", "up");
    fw_labels_set(&out->items[0].labels, "job", "b");
    fw_labels_set(&out->items[0].labels, "instance", "h2:9100");
    out->items[0].v = 0.5;
    fw_labels_set(&out->items[1].labels, "__name__", "up");
    fw_labels_set(&out->items[1].labels, "job", "a");
    fw_labels_set(&out->items[1].labels, "instance", "h1:9100");
    out->items[1].v = 1;
    return 0;
}

// query returns Prometheus's queryResult (a list of {Labels, Value}) for first, label, value,
// strvalue, sortByLabel, range and with, evaluated at the time the caller gives; its errors
// fail the expansion. Fails if query is refused or answers anything else.
START_TEST(test_fw_tmpl_alert_query)
{
    struct fw_labels l = FW_LABELS_INIT;
    struct s_q q = {0};
    struct fw_tmpl_alert_data d = {.labels = &l,
                                   .value = 1,
                                   .rule_name = "Q",
                                   .query = s_fake_query,
                                   .query_arg = &q,
                                   .query_t_ms = 1700000000123};
    static const char *const cases[][2] = {
        {"{{ with query \"up\" }}{{ . | first | value }}{{ end }}", "0.5"},
        {"{{ range query \"up\" }}{{ .Labels.job }}={{ .Value }} {{ end }}", "b=0.5 a=1 "},
        {"{{ range query \"up\" | sortByLabel \"job\" }}{{ label \"instance\" . }} {{ end }}",
         "h1:9100 h2:9100 "},
        {"{{ query \"up\" | first | label \"__name__\" }}", "up"},
        {"[{{ query \"up\" | first | strvalue }}]", "[]"},
        {"{{ len (query \"up\") }}", "2"},
        {"{{ with query \"none\" }}x{{ else }}empty{{ end }}", "empty"},
        {"{{ with printf \"u%s\" \"p\" | query }}{{ (index . 1).Value | humanize }}{{ end }}", "1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fw_err_t err = {0};
        char *out = fw_tmpl_alert_expand(cases[i][0], &d, &err);
        ck_assert_msg(out != NULL, "%s: %s", cases[i][0], err.msg);
        ck_assert_str_eq(out, cases[i][1]);
        free(out);
    }
    ck_assert_int_eq(q.t_ms, 1700000000123);
    ck_assert_str_eq(q.expr, "up");
    fw_err_t err = {0};
    ck_assert_ptr_null(fw_tmpl_alert_expand("{{ query \"slow\" }}", &d, &err));
    ck_assert_msg(strstr(err.msg, "error calling query: query timed out") != NULL, "%s", err.msg);
    ck_assert_ptr_null(fw_tmpl_alert_expand("{{ query 1 }}", &d, &err));
    ck_assert_msg(strstr(err.msg, "expected string") != NULL, "%s", err.msg);
    ck_assert_int_eq(
        fw_tmpl_alert_check("{{ with query \"up\" }}{{ . | first | value }}{{ end }}", &err), 0);
}
END_TEST

// test/data/ruled_tmpl/rules.yml's templates expand as the real promtool 2.42 expands them
// (test/it/ruled_tmpl_promtool.sh runs promtool on the same strings).
START_TEST(test_ruled_tmpl_promtool)
{
    static const char *const cases[][2] = {
        {"{{ if gt $value 0.5 }}high{{ else if gt $value 0.1 }}mid{{ else }}low{{ end }}", "mid"},
        {"{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}",
         "__name__=load;instance=host:9100;line=line-1;"},
        {"{{ with $labels.line }}on {{ . }}{{ else }}no line{{ end }}", "on line-1"},
        {"{{ with $labels.nope }}x{{ else }}none{{ end }}", "none"},
        {"{{ $x := printf \"%.1f\" $value }}{{ $x }}!", "0.3!"},
        {"{{ define \"d\" }}[{{ . }}]{{ end }}{{ template \"d\" $labels.line }}", "[line-1]"},
        {"{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance | toUpper }}", "HOST"},
        {"{{ $labels.instance | stripPort }} {{ .ExternalLabels.site }}|{{ $externalURL }}",
         "host |"},
        {"{{ len $labels }} {{ index $labels \"line\" }} {{ $labels.nope }}", "3 line-1 "},
        {"{{ humanizeTimestamp 0 }} {{ $value }} {{ humanize 1234567.0 }} {{ title \"hELLO\" }}",
         "1970-01-01 00:00:00 +0000 UTC 0.3 1.235M HELLO"},
    };
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "load");
    fw_labels_set(&l, "instance", "host:9100");
    fw_labels_set(&l, "line", "line-1");
    struct fw_tmpl_alert_data d = {
        .labels = &l, .external_url = "", .value = 0.3, .rule_name = "HighLoad"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fw_err_t err = {0};
        char *out = fw_tmpl_alert_expand(cases[i][0], &d, &err);
        ck_assert_msg(out != NULL, "%s: %s", cases[i][0], err.msg);
        ck_assert_str_eq(out, cases[i][1]);
        free(out);
    }
    fw_labels_clear(&l);
}
END_TEST

START_TEST(test_ruled_tmpl_errors)
{
    ck_assert_ptr_null(s_expand("{{ $labels.a", 1));
    ck_assert_ptr_null(s_expand("{{ nosuchfunc $value }}", 1));
    ck_assert_ptr_null(s_expand("{{ \"abc\" | humanize }}", 1));

    fw_err_t err = {0};
    ck_assert_int_eq(fw_tmpl_alert_check("Instance {{ $label.foo }} down", &err), -1);
    ck_assert(strstr(err.msg, "undefined variable \"$label\"") != NULL);
    ck_assert_int_eq(err.col, 13);
    ck_assert_int_eq(fw_tmpl_alert_check("{{ $labels.a", &err), -1);
    ck_assert_int_eq(fw_tmpl_alert_check("{{ $labels.a }} {{ $value | humanize }} "
                                         "{{ $externalLabels.x }} {{ $.labels.y }}",
                                         &err),
                     0);
    ck_assert_int_eq(fw_tmpl_alert_check("{{ $x := 1 }}{{ $x }}", &err), 0);
    ck_assert_int_eq(fw_tmpl_alert_check("plain text", &err), 0);
}
END_TEST

// prefix n times, then mid, then suffix n times; caller frees.
static char *
s_nest(const char *prefix, int n, const char *mid, const char *suffix)
{
    return check_util_nest(NULL, prefix, n, mid, suffix, NULL);
}

static void
s_expand_fails(char *text, const char *why)
{
    struct fw_tmpl_alert_data d = {.value = 1};
    fw_err_t err = {0};
    char *out = fw_tmpl_alert_expand(text, &d, &err);
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(err.msg, why) != NULL, "error \"%s\" lacks \"%s\"", err.msg, why);
    free(text);
}

// Issue 5: templates come from rule files, so 100,000 nested blocks, parentheses or piped
// commands must fail (or expand) cleanly: the parser stops nesting at FW_TMPL_MAX_DEPTH.
START_TEST(test_ruled_tmpl_deep_nesting)
{
    s_expand_fails(s_nest("{{ if true }}", 100000, "x", "{{ end }}"),
                   "max expression depth exceeded");
    s_expand_fails(s_nest("{{ range $labels }}", 100000, "x", "{{ end }}"),
                   "max expression depth exceeded");
    s_expand_fails(s_nest("{{ with $value }}", 100000, "x", "{{ end }}"),
                   "max expression depth exceeded");
    char *inner = s_nest("(", 100000, "1", ")");
    s_expand_fails(s_nest("{{ ", 1, inner, " }}"), "max expression depth exceeded");
    s_expand_fails(s_nest("{{ printf \"%s\" ", 1, inner, " }}"), "max expression depth exceeded");
    free(inner);
    s_expand_fails(s_nest("{{", 100000, "", ""), "error parsing template");
    fw_err_t err;
    char *blocks = s_nest("{{ range $labels }}", 500, "x", "{{ end }}");
    ck_assert_int_eq(fw_tmpl_alert_check(blocks, &err), 0);
    free(blocks);
    blocks = s_nest("{{ range $labels }}", 10000, "x", "{{ end }}");
    ck_assert_int_eq(fw_tmpl_alert_check(blocks, &err), -1);
    free(blocks);
    char *chain = s_nest(" | toUpper", 100000, "", "");
    char *pipe = s_nest("{{ \"abc\"", 1, chain, " }}");
    s_expect(pipe, 0, "ABC");
    free(pipe);
    free(chain);
}
END_TEST

Suite *
ruled_tmpl_suite(void)
{
    Suite *s = suite_create("ruled_tmpl");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_tmpl_alert_expand_labels_value);
    tcase_add_test(tc, test_ruled_tmpl_value_format);
    tcase_add_test(tc, test_fw_tmpl_alert_humanize);
    tcase_add_test(tc, test_ruled_tmpl_control);
    tcase_add_test(tc, test_ruled_tmpl_promtool);
    tcase_add_test(tc, test_ruled_tmpl_errors);
    tcase_add_test(tc, test_ruled_tmpl_deep_nesting);
    tcase_add_test(tc, test_fw_tmpl_alert_query);
    suite_add_tcase(s, tc);
    return s;
}
