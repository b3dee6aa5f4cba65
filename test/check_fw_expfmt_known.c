/*  check_fw_expfmt_known.c — the exposition parser's shortcuts for series a scraper has
    seen before: the known-series callback (fw_expfmt_set_known) and the expectation
    callback (fw_expfmt_set_expect), whose samples come tagged, without labels.
*/
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "fw_expfmt.h"

Suite *fw_expfmt_known_suite(void);

// The known-series callback: it answers for the texts it lists, by index; those samples
// come tagged, with their name, value and timestamp but no labels (braces and escaped
// quotes inside values skipped right); other samples parse as always; a text that would not
// parse is never skipped into a different error; and strict OpenMetrics never asks.
static const char *const s_known_texts[] = {"a{x=\"}\\\"{\"}", "b", "c {y=\"1\"}"};
static size_t s_known_asked;
static void *
s_known_fn(void *arg, size_t i, const char *series, size_t len)
{
    (void)arg;
    s_known_asked++;
    for (size_t k = 0; k < 3; k++)
        if (strlen(s_known_texts[k]) == len && memcmp(s_known_texts[k], series, len) == 0)
            return (void *)(s_known_texts + k + (i > 99 ? 1 : 0));
    return NULL;
}

START_TEST(test_fw_expfmt_known_series_skip_labels)
{
    fw_expfmt_t *p = fw_expfmt_new();
    fw_err_t err;
    fw_expfmt_set_known(p, s_known_fn, NULL);
    const char *body = "a{x=\"}\\\"{\"} 1 1000\nb 2\nc {y=\"1\"}  3\nd{z=\"}\"} 4\n";
    s_known_asked = 0;
    ck_assert_int_eq(
        fw_expfmt_parse_flags(p, body, strlen(body), FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, &err),
        4);
    ck_assert_uint_eq(s_known_asked, 4);
    struct fw_expfmt_sample s;
    for (size_t i = 0; i < 3; i++) {
        fw_expfmt_get(p, i, &s);
        ck_assert_ptr_eq(s.tag, s_known_texts + i);
        ck_assert_uint_eq(s.n_labels, 0);
        ck_assert_str_eq(s.name, i == 0 ? "a" : i == 1 ? "b" : "c");
        ck_assert_uint_eq(s.series_len, strlen(s_known_texts[i]));
        ck_assert(s.v == (double)(i + 1));
    }
    fw_expfmt_get(p, 0, &s);
    ck_assert(s.has_t);
    ck_assert_int_eq(s.t_ms, 1000);
    fw_expfmt_get(p, 3, &s); // not known: parsed in full
    ck_assert_ptr_null(s.tag);
    ck_assert_uint_eq(s.n_labels, 1);
    ck_assert_str_eq(s.label_values[0], "}");

    // "b" is known, but "b$ 1" does not parse: the parser's own error, not a value error.
    const char *bad = "b$ 1\n";
    ck_assert_int_eq(
        fw_expfmt_parse_flags(p, bad, strlen(bad), FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "invalid character in metric name"));
    // Without FW_EXPFMT_PROMETHEUS (every OpenMetrics family rule) nobody is asked.
    s_known_asked = 0;
    const char *om = "b 2\n# EOF\n";
    ck_assert_int_eq(fw_expfmt_parse_flags(p, om, strlen(om), FW_EXPFMT_OPENMETRICS, 0, &err), 1);
    ck_assert_uint_eq(s_known_asked, 0);
    // OpenMetrics as Prometheus reads it asks, and keeps the value and exemplar.
    const char *omp = "b_total 2 # {t=\"x\"} 1\n# EOF\n";
    ck_assert_int_eq(fw_expfmt_parse_flags(p, omp, strlen(omp), FW_EXPFMT_OPENMETRICS,
                                           FW_EXPFMT_PROMETHEUS, &err),
                     1);
    ck_assert_uint_eq(s_known_asked, 1);
    fw_expfmt_set_known(p, NULL, NULL);
    fw_expfmt_destroy(&p);
}
END_TEST

// The expectation callback (fw_expfmt_set_expect): sample i is expected written as
// s_expect_texts[i]; a line that starts with that text and a blank that ends it is tagged
// without asking known, with its name, value and timestamp; a text that only starts the
// line, a name followed by a label set, or a line with nothing after the text parse as
// always (known asked); without known, or in strict OpenMetrics, nothing is expected.
static const struct {
    const char *text;
    size_t name_len;
} s_expect_texts[] = {
    {"a{x=\"1\"}", 1}, {"b", 1}, {"c{y=\"}\"}", 1}, {"d", 1}, {"e{z=\"1\"}", 1}, {"f", 1},
};
static size_t s_expect_asked;
static bool
s_expect_fn(void *arg, size_t i, struct fw_expfmt_expect *x)
{
    (void)arg;
    s_expect_asked++;
    if (i >= sizeof(s_expect_texts) / sizeof(s_expect_texts[0]))
        return false;
    *x = (struct fw_expfmt_expect){s_expect_texts[i].text, strlen(s_expect_texts[i].text),
                                   s_expect_texts[i].name_len, (void *)(s_expect_texts + i)};
    return true;
}
static void *
s_known_none(void *arg, size_t i, const char *series, size_t len)
{
    (void)arg, (void)i, (void)series, (void)len;
    s_known_asked++;
    return NULL;
}

START_TEST(test_fw_expfmt_expected_series)
{
    fw_expfmt_t *p = fw_expfmt_new();
    fw_err_t err;
    fw_expfmt_set_known(p, s_known_none, NULL);
    fw_expfmt_set_expect(p, s_expect_fn);
    // 0, 1 and 2 as expected; 3 a longer name; 4 more labels; 5 a name, then a label set
    const char *body = "a{x=\"1\"} 1 1000\nb\t2\nc{y=\"}\"}  3\ndd 4\ne{z=\"1\",w=\"2\"} 5\n"
                       "f {v=\"6\"} 6\n";
    s_known_asked = s_expect_asked = 0;
    ck_assert_int_eq(
        fw_expfmt_parse_flags(p, body, strlen(body), FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, &err),
        6);
    ck_assert_uint_eq(s_expect_asked, 6);
    ck_assert_uint_eq(s_known_asked, 3);
    struct fw_expfmt_sample s;
    for (size_t i = 0; i < 3; i++) {
        fw_expfmt_get(p, i, &s);
        ck_assert_ptr_eq(s.tag, s_expect_texts + i);
        ck_assert_uint_eq(s.n_labels, 0);
        ck_assert_str_eq(s.name, i == 0 ? "a" : i == 1 ? "b" : "c");
        ck_assert_uint_eq(s.series_len, strlen(s_expect_texts[i].text));
        ck_assert(s.v == (double)(i + 1));
        ck_assert(s.has_t == (i == 0));
    }
    fw_expfmt_get(p, 0, &s);
    ck_assert_int_eq(s.t_ms, 1000);
    static const char *const names[] = {"dd", "e", "f"};
    static const size_t labels[] = {0, 2, 1};
    for (size_t i = 3; i < 6; i++) {
        fw_expfmt_get(p, i, &s);
        ck_assert_ptr_null(s.tag);
        ck_assert_str_eq(s.name, names[i - 3]);
        ck_assert_uint_eq(s.n_labels, labels[i - 3]);
        ck_assert(s.v == (double)(i + 1));
    }
    // The expected text and nothing after it: the parser's own error.
    const char *bare = "a{x=\"1\"}\n";
    ck_assert_int_eq(
        fw_expfmt_parse_flags(p, bare, strlen(bare), FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, &err),
        -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "expected value"));
    // OpenMetrics as Prometheus reads it: one space ends the text.
    const char *omp = "a{x=\"1\"} 1 # {t=\"x\"} 1\nb  2\n# EOF\n";
    s_known_asked = s_expect_asked = 0;
    ck_assert_int_eq(fw_expfmt_parse_flags(p, omp, strlen(omp), FW_EXPFMT_OPENMETRICS,
                                           FW_EXPFMT_PROMETHEUS, &err),
                     -1); // "b  2": two spaces, refused as without an expectation
    ck_assert_ptr_nonnull(strstr(err.msg, "line 2"));
    const char *omok = "a{x=\"1\"} 1 # {t=\"x\"} 1\n# EOF\n";
    ck_assert_int_eq(fw_expfmt_parse_flags(p, omok, strlen(omok), FW_EXPFMT_OPENMETRICS,
                                           FW_EXPFMT_PROMETHEUS, &err),
                     1);
    fw_expfmt_get(p, 0, &s);
    ck_assert_ptr_eq(s.tag, s_expect_texts);
    ck_assert(s.has_exemplar);
    // Strict OpenMetrics, and no known callback: nothing expected.
    s_expect_asked = 0;
    const char *strict = "a{x=\"1\"} 1\n# EOF\n";
    ck_assert_int_eq(
        fw_expfmt_parse_flags(p, strict, strlen(strict), FW_EXPFMT_OPENMETRICS, 0, &err), 1);
    fw_expfmt_set_known(p, NULL, NULL);
    ck_assert_int_eq(
        fw_expfmt_parse_flags(p, body, strlen(body), FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, &err),
        6);
    fw_expfmt_get(p, 0, &s);
    ck_assert_ptr_null(s.tag);
    ck_assert_uint_eq(s_expect_asked, 0);
    fw_expfmt_set_expect(p, NULL);
    fw_expfmt_destroy(&p);
}
END_TEST

// The expectation list (fw_expfmt_set_expect_list) does what the callback does, without a
// call per sample: a sample that matches its text is tagged with the text's own address
// (known not asked), a NULL slot, a mismatch and a sample past the list's end parse as
// always (known asked), a text whose name length is 0 is never expected, and a list set
// wins over a callback (which is then never asked).
static const struct fw_expfmt_text s_list_texts[] = {
    {"a{x=\"1\"}", 8, 1}, {"b", 1, 1}, {"c{y=\"}\"}", 8, 1}, {"dd", 2, 0}};
START_TEST(test_fw_expfmt_expected_list)
{
    fw_expfmt_t *p = fw_expfmt_new();
    fw_err_t err;
    fw_expfmt_set_known(p, s_known_none, NULL);
    fw_expfmt_set_expect(p, s_expect_fn);
    const struct fw_expfmt_text *list[] = {&s_list_texts[0], NULL, &s_list_texts[2],
                                           &s_list_texts[3], &s_list_texts[1]};
    fw_expfmt_set_expect_list(p, list, 5);
    // 0 and 2 as expected; 1 none; 3 a name never expected; 4 another text; 5 past the end
    const char *body = "a{x=\"1\"} 1 1000\nb 2\nc{y=\"}\"}  3\ndd 4\ne 5\nb 6\n";
    s_known_asked = s_expect_asked = 0;
    ck_assert_int_eq(
        fw_expfmt_parse_flags(p, body, strlen(body), FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, &err),
        6);
    ck_assert_uint_eq(s_expect_asked, 0);
    ck_assert_uint_eq(s_known_asked, 4);
    struct fw_expfmt_sample s;
    static const char *const names[] = {"a", "b", "c", "dd", "e", "b"};
    for (size_t i = 0; i < 6; i++) {
        fw_expfmt_get(p, i, &s);
        if (i == 0 || i == 2)
            ck_assert_ptr_eq(s.tag, list[i]);
        else
            ck_assert_ptr_null(s.tag);
        ck_assert_str_eq(s.name, names[i]);
        ck_assert(s.v == (double)(i + 1));
        ck_assert(s.has_t == (i == 0));
    }
    struct fw_expfmt_tagged q;
    ck_assert(fw_expfmt_get_tagged(p, 2, &q));
    ck_assert_ptr_eq(q.tag, list[2]);
    ck_assert(q.v == 3.0);
    ck_assert(!fw_expfmt_get_tagged(p, 1, &q));
    // Unset: the callback again.
    fw_expfmt_set_expect_list(p, NULL, 0);
    s_expect_asked = 0;
    ck_assert_int_eq(
        fw_expfmt_parse_flags(p, body, strlen(body), FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, &err),
        6);
    ck_assert_uint_eq(s_expect_asked, 6);
    fw_expfmt_get(p, 0, &s);
    ck_assert_ptr_eq(s.tag, s_expect_texts);
    fw_expfmt_set_known(p, NULL, NULL);
    fw_expfmt_set_expect(p, NULL);
    fw_expfmt_destroy(&p);
}
END_TEST

// An expected sample's name is not copied while parsing (it stays in the body): asked for,
// it comes whole and NUL-terminated, as often as asked, while the label strings handed out
// before stay where they were (the room for the names is kept when the run ends); and an
// OpenMetrics _created line gives its start time to an expected sample of its family.
static const char *const s_deferred_texts[] = {"c_total{a=\"1\"}", "g{b=\"2\"}", "h"};
static bool
s_expect_deferred(void *arg, size_t i, struct fw_expfmt_expect *x)
{
    (void)arg;
    static const size_t name_lens[] = {7, 1, 1};
    if (i >= 3)
        return false;
    *x = (struct fw_expfmt_expect){s_deferred_texts[i], strlen(s_deferred_texts[i]), name_lens[i],
                                   (void *)(s_deferred_texts + i)};
    return true;
}

START_TEST(test_fw_expfmt_expected_names_deferred)
{
    fw_expfmt_t *p = fw_expfmt_new();
    fw_err_t err;
    fw_expfmt_set_known(p, s_known_none, NULL);
    fw_expfmt_set_expect(p, s_expect_deferred);
    // 0..2 expected (0 with a start time), then x with 40 labels parsed in full
    char body[4096];
    size_t len = (size_t)snprintf(body, sizeof(body),
                                  "# TYPE c counter\nc_total{a=\"1\"} 5\nc_created{a=\"1\"} 17\n"
                                  "# TYPE g gauge\ng{b=\"2\"} 6\nh 7\nx{");
    for (int k = 0; k < 40; k++)
        len += (size_t)snprintf(body + len, sizeof(body) - len, "%sl%02d=\"v%02d\"", k ? "," : "",
                                k, k);
    len += (size_t)snprintf(body + len, sizeof(body) - len, "} 8\n# EOF\n");
    ck_assert_int_eq(fw_expfmt_parse_flags(p, body, len, FW_EXPFMT_OPENMETRICS,
                                           FW_EXPFMT_PROMETHEUS | FW_EXPFMT_START_TIMES, &err),
                     4);
    struct fw_expfmt_sample x, s;
    fw_expfmt_get(p, 3, &x); // its label pointers first
    ck_assert_ptr_null(x.tag);
    ck_assert_uint_eq(x.n_labels, 40);
    const char *v39 = x.label_values[39], *n0 = x.label_names[0], *name = x.name;
    static const char *const names[] = {"c_total", "g", "h"};
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < 3; i++) {
            fw_expfmt_get(p, i, &s);
            ck_assert_ptr_eq(s.tag, s_deferred_texts + i);
            ck_assert_str_eq(s.name, names[i]);
            ck_assert(s.v == (double)(i + 5));
            ck_assert_int_eq(s.st_ms, i == 0 ? 17000 : 0);
        }
    ck_assert_str_eq(v39, "v39"); // where they were
    ck_assert_str_eq(n0, "l00");
    ck_assert_str_eq(name, "x");
    fw_expfmt_get(p, 3, &s);
    ck_assert_ptr_eq(s.label_values[39], v39);
    // the next run starts afresh: names copied, deferred or not, all right again
    ck_assert_int_eq(fw_expfmt_parse_flags(p, body, len, FW_EXPFMT_OPENMETRICS,
                                           FW_EXPFMT_PROMETHEUS | FW_EXPFMT_START_TIMES, &err),
                     4);
    fw_expfmt_get(p, 2, &s);
    ck_assert_str_eq(s.name, "h");
    fw_expfmt_get(p, 3, &s);
    ck_assert_str_eq(s.name, "x");
    ck_assert_str_eq(s.label_values[39], "v39");
    fw_expfmt_set_known(p, NULL, NULL);
    fw_expfmt_set_expect(p, NULL);
    fw_expfmt_destroy(&p);
}
END_TEST

// A line that is exactly its expected text, blanks and a plain decimal is read whole at once
// (fw_expfmt_fast_lines counts it); every other line is scanned as before. Either way the
// run gives what the expectation callback (which never takes that path) gives for the same
// texts: the same count or error, and each sample's tag, name, value, timestamp, series and
// labels. The texts come from parsing `learn` once; then each body is parsed both ways.
#define S_FAST_MAX 16
static struct fw_expfmt_text s_fast_texts[S_FAST_MAX];
static const struct fw_expfmt_text *s_fast_list[S_FAST_MAX];
static size_t s_fast_n;
static char s_fast_store[S_FAST_MAX][64];

static bool
s_expect_fast(void *arg, size_t i, struct fw_expfmt_expect *x)
{
    (void)arg;
    if (i >= s_fast_n)
        return false;
    const struct fw_expfmt_text *t = s_fast_list[i];
    *x = (struct fw_expfmt_expect){t->series, t->len, t->name_len, (void *)(uintptr_t)t};
    return true;
}

static void
s_fast_learn(const char *learn)
{
    fw_expfmt_t *p = fw_expfmt_new();
    fw_err_t err;
    ssize_t n =
        fw_expfmt_parse_flags(p, learn, strlen(learn), FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, &err);
    ck_assert_int_gt(n, 0);
    ck_assert_int_le(n, S_FAST_MAX);
    s_fast_n = (size_t)n;
    for (size_t i = 0; i < s_fast_n; i++) {
        struct fw_expfmt_sample s;
        fw_expfmt_get(p, i, &s);
        ck_assert_uint_lt(s.series_len, sizeof(s_fast_store[i]));
        memcpy(s_fast_store[i], s.series, s.series_len);
        s_fast_texts[i] = (struct fw_expfmt_text){s_fast_store[i], (uint32_t)s.series_len,
                                                  (uint32_t)strlen(s.name)};
        s_fast_list[i] = &s_fast_texts[i];
    }
    fw_expfmt_destroy(&p);
}

// body parsed with the list and with the callback: the same outcome; the fast lines counted
static void
s_fast_same(const char *body, fw_expfmt_fmt_t fmt, unsigned flags, size_t fast)
{
    fw_expfmt_t *a = fw_expfmt_new(), *b = fw_expfmt_new();
    fw_err_t ea = {0}, eb = {0};
    fw_expfmt_set_known(a, s_known_none, NULL);
    fw_expfmt_set_expect_list(a, s_fast_list, s_fast_n);
    fw_expfmt_set_known(b, s_known_none, NULL);
    fw_expfmt_set_expect(b, s_expect_fast);
    ssize_t na = fw_expfmt_parse_flags(a, body, strlen(body), fmt, flags, &ea);
    ssize_t nb = fw_expfmt_parse_flags(b, body, strlen(body), fmt, flags, &eb);
    ck_assert_msg(na == nb, "%s: %zd samples against %zd", body, na, nb);
    ck_assert_msg(fw_expfmt_fast_lines(a) == fast, "%s: %zu fast lines, not %zu", body,
                  fw_expfmt_fast_lines(a), fast);
    ck_assert_uint_eq(fw_expfmt_fast_lines(b), 0);
    if (na < 0)
        ck_assert_str_eq(ea.msg, eb.msg);
    for (ssize_t i = 0; i < na; i++) {
        struct fw_expfmt_sample sa, sb;
        fw_expfmt_get(a, (size_t)i, &sa);
        fw_expfmt_get(b, (size_t)i, &sb);
        ck_assert_ptr_eq(sa.tag, sb.tag);
        ck_assert_str_eq(sa.name, sb.name);
        ck_assert_msg(memcmp(&sa.v, &sb.v, sizeof(sa.v)) == 0, "%s: sample %zd", body, i);
        ck_assert(sa.has_t == sb.has_t && sa.t_ms == sb.t_ms);
        ck_assert(sa.has_exemplar == sb.has_exemplar);
        ck_assert_ptr_eq(sa.series, sb.series);
        ck_assert_uint_eq(sa.series_len, sb.series_len);
        ck_assert_uint_eq(sa.n_labels, sb.n_labels);
        for (size_t k = 0; k < sa.n_labels; k++) {
            ck_assert_str_eq(sa.label_names[k], sb.label_names[k]);
            ck_assert_str_eq(sa.label_values[k], sb.label_values[k]);
        }
    }
    fw_expfmt_set_expect_list(a, NULL, 0);
    fw_expfmt_destroy(&a);
    fw_expfmt_destroy(&b);
}

START_TEST(test_fw_expfmt_expected_fast_lines)
{
    s_fast_learn("a{x=\"1\"} 1\nb 2\nc{y=\"}\"} 3\nd 4\ne{z=\"2\"} 5\nf 6\ng 7\nh 8\n");
    // all plain: every line fast, whatever the blanks, a '\r' before the line end, a sign,
    // a fraction, an exponent, or no line end at the body's end
    s_fast_same("a{x=\"1\"} 1\nb\t-2.5\nc{y=\"}\"}   3e2 \r\nd 0.0004\t\ne{z=\"2\"} +5\nf 6\ng "
                "7\r\nh 8",
                FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, 8);
    // the ordinary scan for: a timestamp, hex, NaN, Inf, 20 digits, a value out of the fast
    // decimal's range, a blank before the text, another text, a name then a label set, a
    // second '\r', text after the value, a comment; the others fast
    s_fast_same("a{x=\"1\"} 1 1000\nb 0x10\nc{y=\"}\"} NaN\nd +Inf\ne{z=\"2\"} "
                "12345678901234567890\nf 1e400\n g 7\nh{q=\"1\"} 8\n",
                FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, 0);
    s_fast_same("# HELP a x\na{x=\"1\"} 1\nb  {k=\"v\"} 2\nc{y=\"}\"} 3\nd 4\r\r\ne{z=\"2\"} 5\n",
                FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, 2);
    s_fast_same("a{x=\"1\"} 1\nb 2x\n", FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, 1);
    s_fast_same("a{x=\"1\"} 1\nb 2\rx\n", FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, 1);
    s_fast_same("a{x=\"1\"} 1\nb 1e\n", FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, 1);
    s_fast_same("a{x=\"1\"} 1\nb\n", FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, 1);
    s_fast_same("a{x=\"1\"} 1\nb ", FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, 1);
    s_fast_same("a{x=\"1\"}", FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, 0);
    // OpenMetrics as Prometheus reads it: one space each side, nothing else on the line
    s_fast_same("a{x=\"1\"} 1\nb 2\nc{y=\"}\"} 3 # {t=\"x\"} 1\nd 4 5\ne{z=\"2\"} 5\n# EOF\n",
                FW_EXPFMT_OPENMETRICS, FW_EXPFMT_PROMETHEUS | FW_EXPFMT_LAX_FAMILIES, 3);
    s_fast_same("a{x=\"1\"} 1\nb  2\n# EOF\n", FW_EXPFMT_OPENMETRICS,
                FW_EXPFMT_PROMETHEUS | FW_EXPFMT_LAX_FAMILIES, 1);
    s_fast_same("a{x=\"1\"} 1 \n# EOF\n", FW_EXPFMT_OPENMETRICS,
                FW_EXPFMT_PROMETHEUS | FW_EXPFMT_LAX_FAMILIES, 0);
    s_fast_same("a{x=\"1\"} 1\r\n# EOF\n", FW_EXPFMT_OPENMETRICS,
                FW_EXPFMT_PROMETHEUS | FW_EXPFMT_LAX_FAMILIES, 0);
    s_fast_same("a{x=\"1\"} 1\nb 2\n", FW_EXPFMT_OPENMETRICS,
                FW_EXPFMT_PROMETHEUS | FW_EXPFMT_LAX_FAMILIES, 2); // no # EOF: the error
    // strict OpenMetrics (no Prometheus flags) and start times: never fast
    s_fast_same("a{x=\"1\"} 1\nb 2\n# EOF\n", FW_EXPFMT_OPENMETRICS, FW_EXPFMT_LAX_FAMILIES, 0);
    s_fast_same("a{x=\"1\"} 1\nb 2\n", FW_EXPFMT_TEXT, 0, 0);
    s_fast_same("a{x=\"1\"} 1\nb 2\n# EOF\n", FW_EXPFMT_OPENMETRICS,
                FW_EXPFMT_PROMETHEUS | FW_EXPFMT_LAX_FAMILIES | FW_EXPFMT_START_TIMES, 0);
    // a text whose name length is 0 is never expected
    s_fast_texts[1].name_len = 0;
    s_fast_same("a{x=\"1\"} 1\nb 2\n", FW_EXPFMT_TEXT, FW_EXPFMT_PROMETHEUS, 1);
}
END_TEST

Suite *
fw_expfmt_known_suite(void)
{
    Suite *s = suite_create("fw_expfmt_known");
    TCase *tc = tcase_create("known");
    tcase_add_test(tc, test_fw_expfmt_known_series_skip_labels);
    tcase_add_test(tc, test_fw_expfmt_expected_series);
    tcase_add_test(tc, test_fw_expfmt_expected_list);
    tcase_add_test(tc, test_fw_expfmt_expected_names_deferred);
    tcase_add_test(tc, test_fw_expfmt_expected_fast_lines);
    suite_add_tcase(s, tc);
    return s;
}
