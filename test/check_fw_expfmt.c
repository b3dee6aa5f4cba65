/*  check_fw_expfmt.c — the exposition parser: valid corpus, exact error positions,
    OpenMetrics leniency, buffer reuse, and random garbage that must never crash it.
*/
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_expfmt.h"

Suite *fw_expfmt_suite(void);

static fw_expfmt_t *parser;

static void
s_setup(void)
{
    parser = fw_expfmt_new();
}

static void
s_teardown(void)
{
    fw_expfmt_destroy(&parser);
    ck_assert_ptr_null(parser);
}

static ssize_t
s_run(const char *text, fw_err_t *err)
{
    return fw_expfmt_parse(parser, text, strlen(text), FW_EXPFMT_TEXT, err);
}

static const char *
s_label(const struct fw_expfmt_sample *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++) {
        if (strcmp(s->label_names[i], name) == 0)
            return s->label_values[i];
    }
    return NULL;
}

// Prometheus 3's UTF-8 names: a quoted metric name first inside the braces, quoted label
// names, quoted names in HELP and TYPE, in the text format and OpenMetrics alike.
static void
s_meta_count(void *arg, char kind, const char *name, size_t name_len, const char *text,
             size_t text_len)
{
    (void)text, (void)text_len;
    if (kind == 'T' && name_len == 9 && memcmp(name, "my.metric", 9) == 0)
        (*(int *)arg)++;
}

START_TEST(test_fw_expfmt_utf8_names)
{
    const char *text = "# HELP \"my.metric\" A metric with a dot.\n"
                       "# TYPE \"my.metric\" gauge\n"
                       "{\"my.metric\",\"a.b\"=\"c\",job=\"x\"} 1\n"
                       "{\"my.metric\"} 2\n"
                       "{ \"my.metric\" , \"sp ace\"=\"v\" } 3 1000\n"
                       "plain{\"http.status\"=\"200\"} 4\n"
                       "{\"caf\xc3\xa9\"} 5\n";
    int metas = 0;
    fw_expfmt_set_meta(parser, s_meta_count, &metas);
    fw_err_t err;
    ck_assert_msg(s_run(text, &err) == 5, "%s", err.msg);
    ck_assert_int_eq(metas, 1);
    struct fw_expfmt_sample s;
    fw_expfmt_get(parser, 0, &s);
    ck_assert_str_eq(s.name, "my.metric");
    ck_assert_uint_eq(s.n_labels, 2);
    ck_assert_str_eq(s_label(&s, "a.b"), "c");
    ck_assert_str_eq(s_label(&s, "job"), "x");
    fw_expfmt_get(parser, 1, &s);
    ck_assert_str_eq(s.name, "my.metric");
    ck_assert_uint_eq(s.n_labels, 0);
    fw_expfmt_get(parser, 2, &s);
    ck_assert_str_eq(s_label(&s, "sp ace"), "v");
    ck_assert(s.has_t && s.t_ms == 1000);
    fw_expfmt_get(parser, 3, &s);
    ck_assert_str_eq(s.name, "plain");
    ck_assert_str_eq(s_label(&s, "http.status"), "200");
    fw_expfmt_get(parser, 4, &s);
    ck_assert_str_eq(s.name, "caf\xc3\xa9");
    fw_expfmt_set_meta(parser, NULL, NULL);
    const char *om = "# TYPE \"my.counter\" counter\n"
                     "# HELP \"my.counter\" Counted.\n"
                     "{\"my.counter_total\",\"a.b\"=\"c\"} 1\n"
                     "{\"my.counter_total\",\"a.b\"=\"d\"} 2\n"
                     "# EOF\n";
    ck_assert_msg(fw_expfmt_parse(parser, om, strlen(om), FW_EXPFMT_OPENMETRICS, &err) == 2, "%s",
                  err.msg);
    fw_expfmt_get(parser, 1, &s);
    ck_assert_str_eq(s.name, "my.counter_total");
    ck_assert_str_eq(s_label(&s, "a.b"), "d");
    // the family rules still hold: a counter's sample must end in _total
    const char *om_bad = "# TYPE \"my.counter\" counter\n{\"my.counter\"} 1\n# EOF\n";
    ck_assert_int_eq(fw_expfmt_parse(parser, om_bad, strlen(om_bad), FW_EXPFMT_OPENMETRICS, &err),
                     -1);
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"{a=\"b\"} 1\n", "line 1: expected metric name at column 1"},
        {"{\"\"} 1\n", "line 1: empty quoted name at column 2"},
        {"{\"a\xff\"} 1\n", "line 1: invalid UTF-8 in quoted name at column 2"},
        {"{\"a} 1\n", "line 1: unterminated quoted name at column 2"},
        {"x{\"a.b\"} 1\n", "line 1: expected '=' after label name at column 8"},
        {"{a=\"b\",\"m.n\"} 1\n", "line 1: expected '=' after label name at column 13"},
        {"{\"m\",\"__name__\"=\"x\"} 1\n", "line 1: reserved label name \"__name__\" at column 6"},
        {"# TYPE \"a counter\n", "line 1: invalid quoted metric name in comment at column 8"},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        ck_assert_int_eq(s_run(bad[k].text, &err), -1);
        ck_assert_msg(strcmp(err.msg, bad[k].msg) == 0, "%s: got '%s', want '%s'", bad[k].text,
                      err.msg, bad[k].msg);
    }
}
END_TEST

START_TEST(test_fw_expfmt_new_run_destroy)
{
    fw_expfmt_t *p = fw_expfmt_new();
    ck_assert_ptr_nonnull(p);
    fw_err_t err;
    const char *text = "up 1\n";
    ck_assert_int_eq(fw_expfmt_parse(p, text, strlen(text), FW_EXPFMT_TEXT, &err), 1);
    struct fw_expfmt_sample s;
    fw_expfmt_get(p, 0, &s);
    ck_assert_str_eq(s.name, "up");
    ck_assert_uint_eq(s.n_labels, 0);
    ck_assert(s.v == 1.0);
    ck_assert(!s.has_t);
    fw_expfmt_destroy(&p);
    fw_expfmt_destroy(&p); // twice is fine
    ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_fw_expfmt_valid_corpus)
{
    const char *text =
        "# HELP http_requests_total The total number of HTTP requests.\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
        "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
        "\n"
        "# Escaping in label values:\n"
        "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find "
        "file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
        "# Minimalistic line:\n"
        "metric_without_timestamp_and_labels 12.47\n"
        "something_weird{problem=\"division by zero\"} +Inf -3982045\n"
        "neg_inf -Inf\n"
        "not_a_number NaN\n"
        "# TYPE http_request_duration_seconds histogram\n"
        "http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n"
        "http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n"
        "trailing_comma{a=\"1\",} 2   \r\n"
        "  spaced { a = \"x\" , b=\"y\" }  3  \n"
        "empty_labels{} 4\n"
        "colons:in:name 5\n"
        "unknown_escape{a=\"\\t\"} 6\n"
        "utf8{a=\"caf\xc3\xa9\"} 7\n"
        "no_newline_at_end 8";
    fw_err_t err = {0};
    ssize_t n = s_run(text, &err);
    ck_assert_msg(n == 16, "n=%zd err=%s", n, err.msg);
    struct fw_expfmt_sample s;

    fw_expfmt_get(parser, 0, &s);
    ck_assert_str_eq(s.name, "http_requests_total");
    ck_assert_uint_eq(s.n_labels, 2);
    ck_assert_str_eq(s.label_names[0], "method");
    ck_assert_str_eq(s_label(&s, "code"), "200");
    ck_assert(s.v == 1027);
    ck_assert(s.has_t);
    ck_assert(s.t_ms == 1395066363000LL);

    fw_expfmt_get(parser, 2, &s);
    ck_assert_str_eq(s_label(&s, "path"), "C:\\DIR\\FILE.TXT");
    ck_assert_str_eq(s_label(&s, "error"), "Cannot find file:\n\"FILE.TXT\"");
    ck_assert(s.v == 1.458255915e9);

    fw_expfmt_get(parser, 3, &s);
    ck_assert_str_eq(s.name, "metric_without_timestamp_and_labels");
    ck_assert(s.v == 12.47);
    ck_assert(!s.has_t);

    fw_expfmt_get(parser, 4, &s);
    ck_assert(isinf(s.v) && s.v > 0);
    ck_assert(s.t_ms == -3982045);

    fw_expfmt_get(parser, 5, &s);
    ck_assert(isinf(s.v) && s.v < 0);
    fw_expfmt_get(parser, 6, &s);
    ck_assert(isnan(s.v));

    fw_expfmt_get(parser, 8, &s);
    ck_assert_str_eq(s_label(&s, "le"), "+Inf");

    fw_expfmt_get(parser, 9, &s);
    ck_assert_str_eq(s.name, "trailing_comma");
    ck_assert(s.v == 2);

    fw_expfmt_get(parser, 10, &s);
    ck_assert_str_eq(s.name, "spaced");
    ck_assert_str_eq(s_label(&s, "a"), "x");
    ck_assert_str_eq(s_label(&s, "b"), "y");
    ck_assert(s.v == 3);

    fw_expfmt_get(parser, 11, &s);
    ck_assert_uint_eq(s.n_labels, 0);
    fw_expfmt_get(parser, 12, &s);
    ck_assert_str_eq(s.name, "colons:in:name");
    fw_expfmt_get(parser, 13, &s);
    ck_assert_str_eq(s_label(&s, "a"), "\\t"); // kept verbatim, as Prometheus does
    fw_expfmt_get(parser, 14, &s);
    ck_assert_str_eq(s_label(&s, "a"), "caf\xc3\xa9");
    fw_expfmt_get(parser, 15, &s);
    ck_assert_str_eq(s.name, "no_newline_at_end");
    ck_assert(s.v == 8);
}
END_TEST

START_TEST(test_fw_expfmt_values)
{
    const char *text = "a 1e3\nb -0.5\nc +inf\nd nan\ne 0x1p-2\nf 1E-2\ng Infinity\n";
    fw_err_t err = {0};
    ck_assert_int_eq(s_run(text, &err), 7);
    struct fw_expfmt_sample s;
    double want[] = {1000, -0.5, INFINITY, NAN, 0.25, 0.01, INFINITY};
    for (size_t i = 0; i < 7; i++) {
        fw_expfmt_get(parser, i, &s);
        if (isnan(want[i]))
            ck_assert(isnan(s.v));
        else
            ck_assert_msg(s.v == want[i], "sample %zu: %g", i, s.v);
    }
    // Random decimals, in both formats: accepted exactly when strtod takes the whole text
    // without overflow, and then the same double bit for bit (the parser's fast path for
    // short decimals must not differ from the full conversion).
    unsigned seed = 7;
    for (int i = 0; i < 100000; i++) {
        char num[80], body[128];
        size_t k = 0;
        if (rand_r(&seed) % 4 == 0)
            num[k++] = "+-"[rand_r(&seed) % 2];
        for (int j = rand_r(&seed) % 22; j > 0; j--)
            num[k++] = (char)(j > 16 && rand_r(&seed) % 2 ? '0' : '0' + rand_r(&seed) % 10);
        if (rand_r(&seed) % 2) {
            num[k++] = '.';
            for (int j = rand_r(&seed) % 22; j > 0; j--)
                num[k++] = (char)('0' + rand_r(&seed) % 10);
        }
        if (rand_r(&seed) % 3 == 0) {
            num[k++] = "eE"[rand_r(&seed) % 2];
            if (rand_r(&seed) % 2)
                num[k++] = "+-"[rand_r(&seed) % 2];
            for (int j = rand_r(&seed) % 4; j > 0; j--)
                num[k++] = (char)('0' + rand_r(&seed) % 10);
        }
        num[k] = '\0';
        char *end;
        double want_v = strtod(num, &end);
        bool valid = k > 0 && end == num + k && !isinf(want_v);
        for (int om = 0; om < 2; om++) {
            snprintf(body, sizeof(body), "a %s\n%s", num, om ? "# EOF\n" : "");
            fw_err_t e = {0};
            ssize_t n = fw_expfmt_parse(parser, body, strlen(body),
                                        om ? FW_EXPFMT_OPENMETRICS : FW_EXPFMT_TEXT, &e);
            // Plain ifs, not ck_assert: a passing ck_assert writes to Check's pipe, and
            // 300,000 of them took this test near its timeout under ASan.
            if (n != (valid ? 1 : -1))
                ck_abort_msg("\"%s\": %zd (%s)", num, n, e.msg);
            if (n == 1) {
                fw_expfmt_get(parser, 0, &s);
                if (memcmp(&s.v, &want_v, sizeof(double)) != 0)
                    ck_abort_msg("\"%s\": %.17g, not %.17g", num, s.v, want_v);
            }
        }
    }
}
END_TEST

struct s_bad {
    const char *text;
    const char *msg;
    int line, col;
};

START_TEST(test_fw_expfmt_errors_have_line_and_column)
{
    static const struct s_bad cases[] = {
        {"a 1\nb 2\nhttp_total{code \"200\"} 1\n",
         "line 3: expected '=' after label name at column 17", 3, 17},
        {"foo{a=\"b\"", "line 1: expected ',' or '}' after label value at column 10", 1, 10},
        {"foo{a=\"b} 1\n", "line 1: unterminated label value at column 7", 1, 7},
        {"foo bar\n", "line 1: invalid value at column 5", 1, 5},
        {"foo 1 abc\n", "line 1: invalid timestamp at column 7", 1, 7},
        {"foo 1 2 3\n", "line 1: unexpected text after sample at column 9", 1, 9},
        {"foo{1a=\"x\"} 1\n", "line 1: expected label name at column 5", 1, 5},
        {"foo{a=\"x\",a=\"y\"} 1\n", "line 1: duplicate label name at column 11", 1, 11},
        {"\n# TYPE foo gauges\n", "line 2: invalid metric type at column 12", 2, 12},
        {"foo\n", "line 1: expected value at column 4", 1, 4},
        {"foo-bar 1\n", "line 1: invalid character in metric name at column 4", 1, 4},
        {"1foo 1\n", "line 1: expected metric name at column 1", 1, 1},
        {"foo{a=\"\xff\"} 1\n", "line 1: invalid UTF-8 in label value at column 7", 1, 7},
        {"  foo 1 99999999999999999999\n", "line 1: invalid timestamp at column 9", 1, 9},
        {"foo{a=x} 1\n", "line 1: expected '\"' to open label value at column 7", 1, 7},
        {"foo{a=\"x\" b=\"y\"} 1\n", "line 1: expected ',' or '}' after label value at column 11",
         1, 11},
        {"foo 1.2.3\n", "line 1: invalid value at column 5", 1, 5},
        {"foo 1e999\n", "line 1: invalid value at column 5", 1, 5},
        {"ok 1\r\nbad{\r\n", "line 2: expected label name or '}' at column 5", 2, 5},
        {"# HELP\n", "line 1: expected metric name after HELP at column 7", 1, 7},
        {"# TYPE 9x counter\n", "line 1: invalid metric name in comment at column 8", 1, 8},
        {"# TYPE x counter extra\n", "line 1: unexpected text after metric type at column 18", 1,
         18},
        {"foo{__name__=\"x\"} 1\n", "line 1: reserved label name \"__name__\" at column 5", 1, 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fw_err_t err = {0};
        ssize_t n = s_run(cases[i].text, &err);
        ck_assert_msg(n == -1, "case %zu parsed: %s", i, cases[i].text);
        ck_assert_msg(strcmp(err.msg, cases[i].msg) == 0, "case %zu: got \"%s\" want \"%s\"", i,
                      err.msg, cases[i].msg);
        ck_assert_int_eq(err.line, cases[i].line);
        ck_assert_int_eq(err.col, cases[i].col);
        ck_assert_uint_eq(fw_expfmt_count(parser), 0);
    }
}
END_TEST

START_TEST(test_fw_expfmt_comments_and_eof)
{
    // Text format: plain comments, "#HELP" without a blank, "# EOF" are all comments.
    fw_err_t err = {0};
    ck_assert_int_eq(s_run("#no blank\n# some comment\n#HELP x\n# EOF\nafter_eof 1\n", &err), 1);
    // OpenMetrics: float-second timestamps, UNIT (the name's suffix), exemplars, EOF ends
    // the body and nothing may follow it.
    const char *om = "# TYPE foo_seconds counter\n# UNIT foo_seconds seconds\n"
                     "# HELP foo_seconds Help.\n"
                     "foo_seconds_total{a=\"b\"} 17 1520879607.789 # {trace_id=\"x\"} 1\n"
                     "foo_seconds_created 1520430000.123\n# TYPE i info\ni_info{v=\"1\"} 1\n"
                     "# EOF\n";
    ssize_t n = fw_expfmt_parse(parser, om, strlen(om), FW_EXPFMT_OPENMETRICS, &err);
    ck_assert_msg(n == 3, "n=%zd err=%s", n, err.msg);
    struct fw_expfmt_sample s;
    fw_expfmt_get(parser, 0, &s);
    ck_assert_str_eq(s.name, "foo_seconds_total");
    ck_assert(s.has_t);
    ck_assert(s.t_ms == 1520879607789LL);
    ck_assert(s.has_exemplar);
    fw_expfmt_get(parser, 1, &s);
    ck_assert(!s.has_exemplar);
    char after[512];
    snprintf(after, sizeof(after), "%signored garbage {{{\n", om);
    ck_assert_int_eq(fw_expfmt_parse(parser, after, strlen(after), FW_EXPFMT_OPENMETRICS, &err),
                     -1);
    ck_assert_str_eq(err.msg, "line 9: unexpected data after \"# EOF\" at column 1");
    ck_assert_uint_eq(fw_expfmt_count(parser), 0);
    ck_assert_int_eq(fw_expfmt_format("application/openmetrics-text; version=1.0.0"),
                     FW_EXPFMT_OPENMETRICS);
    ck_assert_int_eq(fw_expfmt_format("text/plain; version=0.0.4"), FW_EXPFMT_TEXT);
    ck_assert_int_eq(fw_expfmt_format(NULL), FW_EXPFMT_TEXT);
}
END_TEST

START_TEST(test_fw_expfmt_reuses_buffers)
{
    fw_err_t err = {0};
    ck_assert_int_eq(s_run("a{x=\"1\"} 1\nb{y=\"2\"} 2\nc 3\n", &err), 3);
    ck_assert_int_eq(s_run("garbage{\n", &err), -1);
    ck_assert_int_eq(s_run("z{k=\"v\"} 9\n", &err), 1);
    struct fw_expfmt_sample s;
    fw_expfmt_get(parser, 0, &s);
    ck_assert_str_eq(s.name, "z");
    ck_assert_str_eq(s_label(&s, "k"), "v");
    ck_assert(s.v == 9);
    // A body that is not NUL-terminated: only len bytes are read.
    const char buf[] = {'q', ' ', '4', '2'};
    ck_assert_int_eq(fw_expfmt_parse(parser, buf, sizeof(buf), FW_EXPFMT_TEXT, &err), 1);
    fw_expfmt_get(parser, 0, &s);
    ck_assert(s.v == 42);
}
END_TEST

START_TEST(test_fw_expfmt_random_garbage_never_crashes)
{
    static const char alphabet[] = "ab_:{}=\",\\n# \t\r\n019.+-eEInfNaTYPEHLP\xc3\xa9\xff";
    static const char *const seeds[] = {
        "# TYPE a counter\na{b=\"c\",d=\"e\\\"f\"} 1.5 123\n",
        "x 1\ny{z=\"\\n\"} -Inf\n# HELP x help\n",
    };
    char buf[512];
    unsigned seed = 12345;
    size_t ok = 0, bad = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len;
        if (iter % 2 == 0) {
            len = (size_t)(rand_r(&seed) % (sizeof(buf) - 1));
            for (size_t i = 0; i < len; i++) {
                buf[i] = rand_r(&seed) % 4 == 0 ? (char)(rand_r(&seed) % 256)
                                                : alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
            }
        } else {
            // Mutate a valid body: flip, drop or duplicate a few bytes.
            const char *src = seeds[iter % 2 == 1 ? (iter / 2) % 2 : 0];
            len = strlen(src);
            memcpy(buf, src, len);
            for (int m = 0; m < 3 && len > 0; m++) {
                size_t at = (size_t)rand_r(&seed) % len;
                buf[at] = alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
            }
        }
        fw_err_t err = {0};
        fw_expfmt_fmt_t fmt = iter % 5 == 0 ? FW_EXPFMT_OPENMETRICS : FW_EXPFMT_TEXT;
        ssize_t n = fw_expfmt_parse(parser, buf, len, fmt, &err);
        if (n < 0) {
            ck_assert_int_eq(n, -1);
            ck_assert_msg(strncmp(err.msg, "line ", 5) == 0, "err=%s", err.msg);
            ck_assert_int_ge(err.line, 1);
            ck_assert_int_ge(err.col, 1);
            bad++;
        } else {
            struct fw_expfmt_sample s;
            for (ssize_t i = 0; i < n; i++) {
                fw_expfmt_get(parser, (size_t)i, &s);
                ck_assert(strlen(s.name) > 0);
            }
            ok++;
        }
    }
    ck_assert_uint_gt(ok, 0);
    ck_assert_uint_gt(bad, 0);
}
END_TEST

// Samples in a corpus file by a naive count: lines that are neither blank nor comments, up
// to "# EOF".
static ssize_t
s_count_lines(const char *text)
{
    ssize_t n = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len >= 5 && strncmp(p, "# EOF", 5) == 0)
            break;
        if (len > 0 && p[0] != '#')
            n++;
        p += len + (nl ? 1 : 0);
    }
    return n;
}

static char *
s_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repository root)", path);
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 4096 + 1 > cap) {
            cap = (*len + 4096 + 1) * 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        size_t got = fread(buf + *len, 1, 4096, f);
        *len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

START_TEST(test_fw_expfmt_real_exporter_corpus)
{
    static const struct {
        const char *path;
        fw_expfmt_fmt_t fmt;
    } files[] = {
        {"test/data/scrape/node_exporter.txt", FW_EXPFMT_TEXT},
        {"test/data/scrape/prometheus.txt", FW_EXPFMT_TEXT},
        {"test/data/scrape/openmetrics.om", FW_EXPFMT_OPENMETRICS},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        char *text = s_slurp(files[i].path, &len);
        fw_err_t err = {0};
        ssize_t n = fw_expfmt_parse(parser, text, len, files[i].fmt, &err);
        ck_assert_msg(n == s_count_lines(text), "%s: %zd samples (want %zd): %s", files[i].path, n,
                      s_count_lines(text), err.msg);
        free(text);
    }
    // The OpenMetrics escapes and float-second timestamps of the last sample.
    struct fw_expfmt_sample s;
    fw_expfmt_get(parser, fw_expfmt_count(parser) - 1, &s);
    ck_assert_str_eq(s.name, "mystery");
    ck_assert_str_eq(s_label(&s, "escaped"), "a\"b\\c\nd");
    ck_assert(isnan(s.v));
    ck_assert(s.t_ms == 1520879607500LL);
}
END_TEST

// Feed text line by line; returns the samples seen, the first error in *err (line set).
static int
s_lines(const char *text, fw_expfmt_fmt_t fmt, unsigned flags, struct fw_expfmt_sample *last,
        int *errors, fw_err_t *first_err)
{
    fw_expfmt_begin(parser, fmt, flags);
    int n = 0;
    *errors = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        fw_err_t err = {0};
        struct fw_expfmt_sample s;
        int rc = fw_expfmt_line(parser, p, len, &s, &err);
        if (rc == 1) {
            n++;
            *last = s;
        } else if (rc < 0) {
            if ((*errors)++ == 0)
                *first_err = err;
        }
        p += len + (nl ? 1 : 0);
    }
    fw_err_t err = {0};
    if (fw_expfmt_end(parser, &err) != 0 && (*errors)++ == 0)
        *first_err = err;
    return n;
}

START_TEST(test_fw_expfmt_line_at_a_time)
{
    struct fw_expfmt_sample s = {0};
    fw_err_t err = {0};
    int errors;
    // OpenMetrics backfill input: float seconds, families interleaved by time (promtool
    // accepts this, so the lax mode must too), "# EOF" last.
    const char *om = "# TYPE a gauge\n# TYPE b counter\na{x=\"1\"} 1 100\nb_total 5 100\n"
                     "a{x=\"1\"} 2 115.5\nb_total 6 115.5\n# EOF\n";
    ck_assert_int_eq(s_lines(om, FW_EXPFMT_OPENMETRICS, FW_EXPFMT_LAX_FAMILIES, &s, &errors, &err),
                     4);
    ck_assert_msg(errors == 0, "%s", err.msg);
    ck_assert_str_eq(s.name, "b_total");
    ck_assert(s.v == 6 && s.has_t && s.t_ms == 115500);
    ck_assert_uint_eq(s.series_len, 7);
    ck_assert(strncmp(s.series, "b_total", 7) == 0);
    // Strict families reject the same stream at line 3 (family a after b's metadata), as a
    // whole-body parse does; b's samples still parse.
    ck_assert_int_eq(s_lines(om, FW_EXPFMT_OPENMETRICS, 0, &s, &errors, &err), 2);
    ck_assert_int_eq(errors, 2);
    ck_assert_int_eq(err.line, 3);
    ck_assert_str_eq(err.msg, "metric family appears again after another family");
    // Text with millisecond timestamps: the series text is the name and labels as written.
    const char *text = "# HELP m x\nm{a=\"1\", b=\"2\"}  7 1700000000123\n\n";
    ck_assert_int_eq(s_lines(text, FW_EXPFMT_TEXT, 0, &s, &errors, &err), 1);
    ck_assert_int_eq(errors, 0);
    ck_assert(s.t_ms == 1700000000123LL);
    ck_assert_uint_eq(s.n_labels, 2);
    ck_assert_str_eq(s.label_values[1], "2");
    ck_assert_uint_eq(s.series_len, strlen("m{a=\"1\", b=\"2\"}"));
}
END_TEST

START_TEST(test_fw_expfmt_line_errors_and_eof)
{
    struct fw_expfmt_sample s = {0};
    fw_err_t err = {0};
    int errors;
    // Every bad line is reported with its own number and a bare reason; good lines between
    // them still parse.
    const char *text = "ok 1 1\nbad{ 1 2\nok 2 3\nworse 1 x\nok 3 4\n";
    ck_assert_int_eq(s_lines(text, FW_EXPFMT_TEXT, 0, &s, &errors, &err), 3);
    ck_assert_int_eq(errors, 2);
    ck_assert_int_eq(err.line, 2);
    ck_assert_int_eq(err.col, 6);
    ck_assert_str_eq(err.msg, "expected label name");
    // OpenMetrics: nothing after "# EOF", and "# EOF" is required.
    ck_assert_int_eq(s_lines("a 1 1\n# EOF\na 2 2\n", FW_EXPFMT_OPENMETRICS, FW_EXPFMT_LAX_FAMILIES,
                             &s, &errors, &err),
                     1);
    ck_assert_int_eq(errors, 1);
    ck_assert_int_eq(err.line, 3);
    ck_assert_str_eq(err.msg, "unexpected data after \"# EOF\"");
    ck_assert_int_eq(
        s_lines("a 1 1\na 2 2\n", FW_EXPFMT_OPENMETRICS, FW_EXPFMT_LAX_FAMILIES, &s, &errors, &err),
        2);
    ck_assert_int_eq(errors, 1);
    ck_assert_int_eq(err.line, 2);
    ck_assert_str_eq(err.msg, "missing \"# EOF\" at the end of an OpenMetrics file");
    // Text mode needs no "# EOF".
    ck_assert_int_eq(s_lines("a 1 1\n", FW_EXPFMT_TEXT, 0, &s, &errors, &err), 1);
    ck_assert_int_eq(errors, 0);
}
END_TEST

START_TEST(test_fw_expfmt_om_timestamps_truncate_as_prometheus)
{
    // Prometheus makes int64(seconds * 1000): toward zero, never rounded up.
    const char *om = "a 1 1.0006\nb 1 -1.0006\nc 1 1520879607.789\n# EOF\n";
    fw_err_t err = {0};
    ck_assert_int_eq(fw_expfmt_parse(parser, om, strlen(om), FW_EXPFMT_OPENMETRICS, &err), 3);
    struct fw_expfmt_sample s;
    fw_expfmt_get(parser, 0, &s);
    ck_assert(s.t_ms == 1000);
    fw_expfmt_get(parser, 1, &s);
    ck_assert(s.t_ms == -1000);
    fw_expfmt_get(parser, 2, &s);
    ck_assert(s.t_ms == 1520879607789LL);
}
END_TEST

static ssize_t
s_om(const char *text, fw_err_t *err)
{
    return fw_expfmt_parse(parser, text, strlen(text), FW_EXPFMT_OPENMETRICS, err);
}

START_TEST(test_fw_expfmt_om_exemplars)
{
    // Exemplars are handed out with their sample: labels unescaped, value, optional time.
    const char *om = "# TYPE rq_seconds histogram\n# UNIT rq_seconds seconds\n"
                     "rq_seconds_bucket{le=\"0.5\"} 3 # {trace_id=\"a\\\"b\",span=\"\"} 0.25\n"
                     "rq_seconds_bucket{le=\"+Inf\"} 4 # {} 9.5 1520879607.7891\n"
                     "rq_seconds_count 4\nrq_seconds_sum 10.25\n# EOF\n";
    fw_err_t err = {0};
    ck_assert_msg(s_om(om, &err) == 4, "%s", err.msg);
    struct fw_expfmt_sample s;
    fw_expfmt_get(parser, 0, &s);
    ck_assert(s.has_exemplar);
    ck_assert_uint_eq(s.n_labels, 1);
    ck_assert_str_eq(s.label_values[0], "0.5");
    ck_assert_uint_eq(s.exemplar.n_labels, 2);
    ck_assert_str_eq(s.exemplar.label_names[0], "trace_id");
    ck_assert_str_eq(s.exemplar.label_values[0], "a\"b");
    ck_assert_str_eq(s.exemplar.label_names[1], "span");
    ck_assert_str_eq(s.exemplar.label_values[1], "");
    ck_assert(s.exemplar.v == 0.25 && !s.exemplar.has_t);
    fw_expfmt_get(parser, 1, &s);
    ck_assert(s.has_exemplar && s.exemplar.n_labels == 0 && s.exemplar.v == 9.5);
    ck_assert(s.exemplar.has_t && s.exemplar.t_ms == 1520879607789LL);
    fw_expfmt_get(parser, 2, &s);
    ck_assert(!s.has_exemplar);

    // Bad exemplars fail the body, with the column of the fault.
    static const struct s_bad bad[] = {
        {"# TYPE a counter\na_total 1 #{} 1\n# EOF\n",
         "line 2: expected \"# {\" to start an exemplar at column 11", 2, 11},
        {"# TYPE a counter\na_total 1 # {}1\n# EOF\n",
         "line 2: expected a single space before the exemplar value at column 15", 2, 15},
        {"# TYPE a counter\na_total 1 # {} 0x1\n# EOF\n",
         "line 2: invalid exemplar value at column 16", 2, 16},
        {"# TYPE a counter\na_total 1 # {} 1 NaN\n# EOF\n",
         "line 2: invalid exemplar timestamp at column 18", 2, 18},
        {"# TYPE a counter\na_total 1 # {} 1 1 \n# EOF\n",
         "line 2: unexpected text after exemplar at column 19", 2, 19},
        {"# TYPE a counter\na_total 1 # {a=\"1\",a=\"2\"} 1\n# EOF\n",
         "line 2: duplicate label name at column 20", 2, 20},
        {"# TYPE a gauge\na 1 # {} 1\n# EOF\n",
         "line 2: gauge family \"a\": an exemplar on a sample other than _total or _bucket at "
         "column 1",
         2, 1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fw_err_t e = {0};
        ck_assert_int_eq(s_om(bad[i].text, &e), -1);
        ck_assert_str_eq(e.msg, bad[i].msg);
        ck_assert_int_eq(e.line, bad[i].line);
        ck_assert_int_eq(e.col, bad[i].col);
    }
    // 128 characters of label names and values, counted in code points, not bytes: "é" is
    // two bytes. One more character fails.
    char big[512], val[300];
    size_t n = 0;
    n += (size_t)snprintf(val + n, sizeof(val) - n, "\xc3\xa9");
    for (int i = 0; i < 126; i++)
        val[n++] = 'x';
    val[n] = '\0';
    snprintf(big, sizeof(big), "# TYPE a counter\na_total 1 # {a=\"%s\"} 1\n# EOF\n", val);
    ck_assert_msg(s_om(big, &err) == 1, "%s", err.msg);
    snprintf(big, sizeof(big), "# TYPE a counter\na_total 1 # {a=\"%sx\"} 1\n# EOF\n", val);
    ck_assert_int_eq(s_om(big, &err), -1);
    ck_assert_str_eq(err.msg, "line 2: exemplar labels longer than 128 characters at column 13");

    // Line at a time, lax families (tsdb import): syntax still checked, any sample may have
    // one, and the exemplar comes with the sample.
    struct fw_expfmt_sample last = {0};
    int errors;
    ck_assert_int_eq(s_lines("g 1 # {t=\"x\"} 2 3\nh 1 # {}\n# EOF\n", FW_EXPFMT_OPENMETRICS,
                             FW_EXPFMT_LAX_FAMILIES, &last, &errors, &err),
                     1);
    ck_assert_int_eq(errors, 1);
    ck_assert_int_eq(err.line, 2);
    ck_assert_str_eq(err.msg, "expected a single space before the exemplar value");
    fw_expfmt_begin(parser, FW_EXPFMT_OPENMETRICS, FW_EXPFMT_LAX_FAMILIES);
    const char *line = "g 1 # {t=\"x\"} 2 3";
    ck_assert_int_eq(fw_expfmt_line(parser, line, strlen(line), &last, &err), 1);
    ck_assert(last.has_exemplar && last.exemplar.n_labels == 1 && last.exemplar.t_ms == 3000);
    ck_assert_str_eq(last.exemplar.label_values[0], "x");
    // The text format has no exemplars.
    ck_assert_int_eq(s_run("a_total 1 # {} 1\n", &err), -1);
}
END_TEST

// One OpenMetrics body per rule of the metric families, valid and invalid; the text format
// takes every one of them (as Prometheus does).
START_TEST(test_fw_expfmt_om_family_rules)
{
    static const struct {
        const char *text; // without "# EOF\n"
        const char *msg;  // NULL: valid
    } cases[] = {
        {"# TYPE a counter\na_total NaN\n", "line 2: counter family \"a\": a NaN counter, count, "
                                            "sum or bucket at column 1"},
        {"# TYPE a counter\na_total -1\n", "line 2: counter family \"a\": a negative counter, "
                                           "count, sum or bucket at column 1"},
        {"# TYPE a counter\na_total 1\na_created 1.5\n", NULL},
        {"# TYPE a_created gauge\n# TYPE a counter\n",
         "line 3: counter family \"a\": a sample name of the family clashes with another family "
         "at column 1"},
        {"# TYPE a counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 1\na_total{x=\"1\"} 1\n",
         "line 4: counter family \"a\": a group's samples are not together at column 1"},
        {"# TYPE a counter\na_total 1\n# TYPE b gauge\na_total 1\n",
         "line 4: metric family name clashes with an earlier family's samples at column 1"},
        {"# UNIT a seconds\n",
         "line 1: the metric name does not end with '_' and the unit at column 10"},
        {"# UNIT a_b b\n# TYPE a_b info\n",
         "line 2: info family \"a_b\": a unit on an info or stateset family at column 1"},
        {"# TYPE a histogram\na_bucket{le=\"1\"} 0\na_bucket{le=\"+Inf\"} 2\na_count 2\n"
         "a_sum 1.5\na_created 1\n",
         NULL},
        {"# TYPE a histogram\na_bucket{le=\"1\"} 0\n",
         "line 3: histogram family \"a\": a point without a +Inf bucket at column 1"},
        {"# TYPE a histogram\na_bucket{le=\"2\"} 0\na_bucket{le=\"1\"} 0\n",
         "line 3: histogram family \"a\": buckets out of order at column 1"},
        {"# TYPE a histogram\na_bucket{le=\"1\"} 2\na_bucket{le=\"+Inf\"} 1\n",
         "line 3: histogram family \"a\": a bucket smaller than the one before at column 1"},
        {"# TYPE a histogram\na_bucket{le=\"+Inf\"} 1.5\n",
         "line 2: histogram family \"a\": a count or bucket that is not an integer at column 1"},
        {"# TYPE a histogram\na_bucket{le=\"+inf\"} 1\n",
         "line 2: histogram family \"a\": a bucket without a valid le label at column 1"},
        {"# TYPE a histogram\na_bucket{le=\"+Inf\"} 1\na_count 2\na_sum 1\n",
         "line 5: histogram family \"a\": the count differs from the +Inf bucket at column 1"},
        {"# TYPE a histogram\na_bucket{le=\"-1\"} 1\na_bucket{le=\"+Inf\"} 1\na_count 1\n"
         "a_sum 1\n",
         "line 6: histogram family \"a\": _sum with negative buckets at column 1"},
        // Two points of one group, each with its own timestamp: checked one by one.
        {"# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 1 1\na_gcount 1 1\na_gsum 1 1\n"
         "a_bucket{le=\"+Inf\"} 2 2\na_gcount 2 2\na_gsum 2 2\n",
         NULL},
        {"# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 1 1\na_gcount 1 1\na_gsum 1 1\n"
         "a_bucket{le=\"+Inf\"} 2 2\na_gcount 2 2\n",
         "line 7: gaugehistogram family \"a\": a count without a sum at column 1"},
        {"# TYPE a summary\na{quantile=\"0.5\"} NaN\na{quantile=\"1\"} 2\na_sum 3\na_count 2\n",
         NULL},
        {"# TYPE a summary\na{quantile=\"1.5\"} 1\n",
         "line 2: summary family \"a\": a quantile label missing, invalid or not in [0, 1] at "
         "column 1"},
        {"# TYPE a summary\na_count 1.5\n",
         "line 2: summary family \"a\": a count or bucket that is not an integer at column 1"},
        {"# TYPE a stateset\na{a=\"x\"} 1\na{a=\"y\"} 0\n", NULL},
        {"# TYPE a stateset\na{a=\"x\"} 0.5\n",
         "line 2: stateset family \"a\": a value other than 0 or 1 at column 1"},
        {"# TYPE a info\na_info{v=\"1\"} 1 2\na_info{v=\"2\"} 1 1\n", NULL},
        {"# TYPE a info\na_info{v=\"1\"} 2\n",
         "line 2: info family \"a\": a value other than 1 at column 1"},
        // A series' points in time order (labels in any order); none without a timestamp.
        {"a{x=\"1\",y=\"2\"} 1 1\na{y=\"2\",x=\"1\"} 1 1\na{x=\"1\",y=\"2\"} 1 2\n", NULL},
        {"a{x=\"1\",y=\"2\"} 1 2\na{y=\"2\",x=\"1\"} 1 1\n",
         "line 2: unknown family \"a\": a group's timestamps go back at column 1"},
        {"a 1 2\na 1\n", "line 2: unknown family \"a\": a group with and without timestamps at "
                         "column 1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[1024];
        snprintf(body, sizeof(body), "%s# EOF\n", cases[i].text);
        fw_err_t err = {0};
        ssize_t n = s_om(body, &err);
        if (cases[i].msg) {
            ck_assert_msg(n == -1, "case %zu accepted", i);
            ck_assert_str_eq(err.msg, cases[i].msg);
        } else {
            ck_assert_msg(n >= 0, "case %zu: %s", i, err.msg);
        }
        bool text_type = !strstr(body, " info\n") && !strstr(body, " stateset\n") &&
                         !strstr(body, " gaugehistogram\n");
        ck_assert_msg(!text_type || s_run(body, &err) >= 0, "case %zu in text: %s", i, err.msg);
    }
    // The same families, line at a time: errors at the same lines, lax mode takes them all.
    struct fw_expfmt_sample last;
    int errors;
    fw_err_t err = {0};
    const char *bad = "# TYPE a counter\na_total -1\n# TYPE s stateset\ns 3\n# EOF\n";
    ck_assert_int_eq(s_lines(bad, FW_EXPFMT_OPENMETRICS, 0, &last, &errors, &err), 0);
    ck_assert_int_eq(errors, 2);
    ck_assert_int_eq(err.line, 2);
    ck_assert_int_eq(
        s_lines(bad, FW_EXPFMT_OPENMETRICS, FW_EXPFMT_LAX_FAMILIES, &last, &errors, &err), 2);
    ck_assert_int_eq(errors, 0);
}
END_TEST

// FW_EXPFMT_PROMETHEUS reads OpenMetrics as Prometheus 3's scrape does (checked against the
// Debian prometheus 2.42 scraping the same bodies; the 2.42-only refusals noted).
START_TEST(test_fw_expfmt_om_prometheus_mode)
{
    static const struct {
        const char *body;
        ssize_t n;       // samples, or -1
        const char *msg; // the error (a prefix), or NULL
    } cases[] = {
        // Family rules Prometheus does not make: accepted.
        {"# TYPE a counter\na_total NaN\n# EOF\n", 1, NULL},
        {"# TYPE a counter\na_total -1\n# EOF\n", 1, NULL},
        {"# TYPE a histogram\na_bucket{le=\"1\"} 2\na_bucket{le=\"+Inf\"} 1\n# EOF\n", 2, NULL},
        {"a 1\nb 1\na 2\n# EOF\n", 3, NULL},
        {"a 1\n# TYPE a gauge\n# TYPE a counter\n# EOF\n", 1, NULL},
        {"# TYPE x_u info\n# UNIT x_u u\n# EOF\n", 0, NULL},
        // Exemplars on any sample (Prometheus >= 2.43; 2.42 refused them).
        {"# TYPE g gauge\ng 1 # {t=\"x\"} 2 3\n# EOF\n", 1, NULL},
        // Prometheus 3 allows a trailing comma (2.42 did not).
        {"a{b=\"1\",} 1\n# EOF\n", 1, NULL},
        // What Prometheus refuses, with its texts where they are not the lexer's.
        {"a 1\n", -1, "data does not end with # EOF"},
        {"a 1\n# EOF\n\n", -1, "unexpected data after # EOF"},
        {"# UNIT a_x seconds\na_x 1\n# EOF\n", -1,
         "line 1: unit \"seconds\" not a suffix of metric \"a_x\""},
        {"# HELP a x\377y\na 1\n# EOF\n", -1, "line 1: help text"},
        {"# TYPE a untyped\n# EOF\n", -1, "line 1: invalid metric type"},
        {"a{ b=\"1\"} 1\n# EOF\n", -1, "line 1: expected label name"},
        {"a{b = \"1\"} 1\n# EOF\n", -1, "line 1: expected '='"},
        {"a 1\r\n# EOF\n", -1, "line 1: invalid value"},
        {"a{b=\"1\",b=\"2\"} 1\n# EOF\n", -1, "line 1: duplicate label name"},
        {"a 1 NaN\n# EOF\n", -1, "line 1: invalid timestamp"},
        {"a 1\n\n# EOF\n", -1, "line 2: blank line"},
        {"# hello\na 1\n# EOF\n", -1, "line 1: unknown metadata keyword"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fw_err_t err = {0};
        ssize_t n = fw_expfmt_parse_flags(parser, cases[i].body, strlen(cases[i].body),
                                          FW_EXPFMT_OPENMETRICS, FW_EXPFMT_PROMETHEUS, &err);
        ck_assert_msg(n == cases[i].n, "case %zu: %zd samples (%s)", i, n, err.msg);
        if (cases[i].msg)
            ck_assert_msg(strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)) == 0, "case %zu: %s",
                          i, err.msg);
    }
    // The strict mode refuses the family-rule breaches and the trailing comma.
    fw_err_t err = {0};
    const char *nan = "# TYPE a counter\na_total NaN\n# EOF\n";
    ck_assert_int_eq(fw_expfmt_parse(parser, nan, strlen(nan), FW_EXPFMT_OPENMETRICS, &err), -1);
    const char *comma = "a{b=\"1\",} 1\n# EOF\n";
    ck_assert_int_eq(fw_expfmt_parse(parser, comma, strlen(comma), FW_EXPFMT_OPENMETRICS, &err),
                     -1);
    // An exemplar Prometheus's storage refuses (labels over 128 characters, a repeated name)
    // is dropped and counted; its sample stays.
    char body[512];
    snprintf(body, sizeof(body),
             "a_total 1 # {t=\"%0130d\"} 2\nb_total 1 # {t=\"x\",t=\"y\"} 2\n"
             "c_total 1 # {t=\"x\"} 2 5.5\n# EOF\n",
             0);
    ck_assert_int_eq(fw_expfmt_parse_flags(parser, body, strlen(body), FW_EXPFMT_OPENMETRICS,
                                           FW_EXPFMT_PROMETHEUS, &err),
                     3);
    ck_assert_uint_eq(fw_expfmt_exemplars_dropped(parser), 2);
    struct fw_expfmt_sample s;
    fw_expfmt_get(parser, 0, &s);
    ck_assert(!s.has_exemplar);
    fw_expfmt_get(parser, 1, &s);
    ck_assert(!s.has_exemplar);
    fw_expfmt_get(parser, 2, &s);
    ck_assert(s.has_exemplar);
    ck_assert_uint_eq(s.exemplar.n_labels, 1);
    ck_assert_str_eq(s.exemplar.label_values[0], "x");
    ck_assert_int_eq(s.exemplar.t_ms, 5500);
    ck_assert_int_eq(fw_expfmt_parse(parser, body, strlen(body), FW_EXPFMT_OPENMETRICS, &err), -1);
}
END_TEST

Suite *
fw_expfmt_suite(void)
{
    Suite *s = suite_create("fw_expfmt");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_fw_expfmt_new_run_destroy);
    tcase_add_test(tc, test_fw_expfmt_valid_corpus);
    tcase_add_test(tc, test_fw_expfmt_values);
    tcase_add_test(tc, test_fw_expfmt_errors_have_line_and_column);
    tcase_add_test(tc, test_fw_expfmt_comments_and_eof);
    tcase_add_test(tc, test_fw_expfmt_reuses_buffers);
    tcase_add_test(tc, test_fw_expfmt_real_exporter_corpus);
    tcase_add_test(tc, test_fw_expfmt_random_garbage_never_crashes);
    tcase_add_test(tc, test_fw_expfmt_line_at_a_time);
    tcase_add_test(tc, test_fw_expfmt_line_errors_and_eof);
    tcase_add_test(tc, test_fw_expfmt_om_timestamps_truncate_as_prometheus);
    tcase_add_test(tc, test_fw_expfmt_om_exemplars);
    tcase_add_test(tc, test_fw_expfmt_om_family_rules);
    tcase_add_test(tc, test_fw_expfmt_om_prometheus_mode);
    tcase_add_test(tc, test_fw_expfmt_utf8_names);
    suite_add_tcase(s, tc);
    return s;
}
