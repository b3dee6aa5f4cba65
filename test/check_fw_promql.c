/*  check_fw_promql.c — the PromQL parser: accepted expressions, their tree shape, and
    rejected ones with the exact 1-based position Prometheus would point at.
*/
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_promql.h"
#include "fw_promql_ast.h"
#include "check_util.h"

// Parse, render back, compare.
static void
s_roundtrip(const char *in, const char *want)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(in, &err);
    ck_assert_msg(e != NULL, "parse of '%s' failed: %d: %s", in, err.col, err.msg);
    char *got = fw_promql_format(e);
    ck_assert_str_eq(got, want);
    free(got);
    fw_promql_expr_destroy(&e);
    ck_assert_ptr_null(e);
}

static void
s_bad(const char *in, int col, const char *msg_part)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(in, &err);
    ck_assert_msg(e == NULL, "'%s' parsed but should not", in);
    ck_assert_msg(err.col == col, "'%s': col %d, want %d (%s)", in, err.col, col, err.msg);
    ck_assert_msg(strstr(err.msg, msg_part) != NULL, "'%s': message '%s' lacks '%s'", in, err.msg,
                  msg_part);
}

START_TEST(test_fw_promql_parse_destroy)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse("up", &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->kind, FW_PQ_SELECTOR);
    ck_assert_int_eq(e->type, FW_PQ_VECTOR);
    ck_assert_str_eq(e->metric, "up");
    ck_assert_uint_eq(e->n_matchers, 1);
    fw_promql_expr_destroy(&e);
    fw_promql_expr_destroy(&e); // twice is fine
}
END_TEST

START_TEST(test_fw_promql_selectors)
{
    s_roundtrip("up", "up");
    s_roundtrip("start_timestamp( (x) )", "start_timestamp((x))"); // stored start times now
    s_roundtrip("up{job=\"a\",instance!=\"b\"}", "up{job=\"a\", instance!=\"b\"}");
    s_roundtrip("{job=~\"a.*\"}", "{job=~\"a.*\"}");
    s_roundtrip("http_requests_total{code!~'5..'}[5m]", "http_requests_total{code!~\"5..\"}[5m]");
    s_roundtrip("foo offset 1h", "foo offset 1h");
    s_roundtrip("foo[1h30m] offset 5m", "foo[1h30m] offset 5m");
    s_roundtrip("foo @ 100", "foo @ 100.000");
    s_roundtrip("foo[5m] offset 1m @ -1.5", "foo[5m] offset 1m @ -1.500");
    s_roundtrip("foo[5m:] @ end()", "foo[5m:] @ end()");
    s_roundtrip("foo @ start() offset 1m", "foo offset 1m @ start()");
    // duration expressions: constant ones fold, step()/range() ones stay for the evaluator
    s_roundtrip("foo[2m*(10+5)]", "foo[30m]");
    s_roundtrip("foo[-5m+35m] offset -(1m+1m)", "foo[30m] offset -2m");
    s_roundtrip("foo[step()+1ms]", "foo[step() + 0.001]");
    s_roundtrip("foo[5m:min_of(STEP(), 1m)] offset range()",
                "foo[5m:min_of(step(), 60)] offset range()");
    s_roundtrip("foo offset 100 + 2", "foo offset 1m40s + 2");
    s_roundtrip("foo offset -2 ^ 2", "foo offset -2s ^ 2");
    // fill modifiers; "fill" alone stays a metric name
    s_roundtrip("a + fill(0) b", "a + fill(0) b");
    s_roundtrip("a + on (x) group_left fill_right(-1) fill_left(5m) b",
                "a + on (x) group_left () fill_left(300) fill_right(-1) b");
    s_roundtrip("a + fill", "a + fill");
    s_roundtrip("rate(x[5m] offset 1m anchored)", "rate(x[5m] offset 1m anchored)");
    s_roundtrip("x smoothed", "x smoothed");
    s_roundtrip("a + fill(1) fill", "a + fill(1) fill");
    s_roundtrip("foo:bar:rate5m", "foo:bar:rate5m");
    s_roundtrip("up{on=\"x\"}", "up{on=\"x\"}"); // keywords are fine as label names
    s_roundtrip("{__name__=\"up\"}", "{__name__=\"up\"}");
    s_roundtrip("up # a comment", "up");
}
END_TEST

START_TEST(test_fw_promql_matchers_compiled)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse("x{a=~\"b|c\",d!~\"e.*\",f!=\"g\"}", &err);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->n_matchers, 4);
    const struct fw_matcher *re = &e->matchers[1], *nre = &e->matchers[2];
    ck_assert(fw_matcher_matches(re, "b"));
    ck_assert(fw_matcher_matches(re, "c"));
    ck_assert(!fw_matcher_matches(re, "bc")); // anchored
    ck_assert(!fw_matcher_matches(re, "xb"));
    ck_assert(!fw_matcher_matches(nre, "eee"));
    ck_assert(fw_matcher_matches(nre, "xe"));
    ck_assert(fw_matcher_matches(&e->matchers[3], NULL)); // absent != "g"
    fw_promql_expr_destroy(&e);
}
END_TEST

START_TEST(test_fw_promql_precedence)
{
    s_roundtrip("1 + 2 * 3", "1 + 2 * 3");
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse("1 + 2 * 3", &err);
    ck_assert_int_eq(e->kind, FW_PQ_BINARY);
    ck_assert_int_eq(e->op, FW_PQ_ADD);
    ck_assert_int_eq(e->args[1]->op, FW_PQ_MUL);
    fw_promql_expr_destroy(&e);
    // ^ is right-associative and binds tighter than unary minus
    e = fw_promql_parse("-2 ^ 3 ^ 2", &err);
    ck_assert_int_eq(e->kind, FW_PQ_NEG);
    ck_assert_int_eq(e->args[0]->op, FW_PQ_POW);
    ck_assert_int_eq(e->args[0]->args[1]->op, FW_PQ_POW);
    fw_promql_expr_destroy(&e);
    // a - b - c is (a - b) - c
    e = fw_promql_parse("a - b - c", &err);
    ck_assert_int_eq(e->args[0]->kind, FW_PQ_BINARY);
    fw_promql_expr_destroy(&e);
    // or < and < comparison
    e = fw_promql_parse("a or b and c > 1", &err);
    ck_assert_int_eq(e->op, FW_PQ_OR);
    ck_assert_int_eq(e->args[1]->op, FW_PQ_AND);
    ck_assert_int_eq(e->args[1]->args[1]->op, FW_PQ_GTR);
    fw_promql_expr_destroy(&e);
    e = fw_promql_parse("-1", &err);
    ck_assert_int_eq(e->kind, FW_PQ_NUMBER);
    ck_assert(e->num == -1);
    fw_promql_expr_destroy(&e);
}
END_TEST

START_TEST(test_fw_promql_aggregations_and_calls)
{
    s_roundtrip("sum by (job) (rate(x[5m]))", "sum by (job) (rate(x[5m]))");
    s_roundtrip("sum(rate(x[5m])) by (job)", "sum by (job) (rate(x[5m]))");
    s_roundtrip("avg without (instance) (x)", "avg without (instance) (x)");
    s_roundtrip("count(x) without (a, b)", "count without (a, b) (x)");
    s_roundtrip("topk(3, x)", "topk (3, x)");
    s_roundtrip("SUM(x)", "sum (x)");
    s_roundtrip("abs(-x)", "abs(-x)");
    s_roundtrip("time()", "time()");
    s_roundtrip("vector(1)", "vector(1)");
    s_roundtrip("scalar(sum(x))", "scalar(sum (x))");
    s_roundtrip("irate(x[1m])", "irate(x[1m])");
    s_roundtrip("increase(x[1h])", "increase(x[1h])");
    s_roundtrip("max_over_time(x[10m])", "max_over_time(x[10m])");
    s_roundtrip("round(x, 0.5)", "round(x, 0.5)");
    s_roundtrip("max_over_time(rate(x[5m])[1h:])", "max_over_time(rate(x[5m])[1h:])");
    s_roundtrip("min_over_time(x[10m:1m] offset 5m)", "min_over_time(x[10m:1m] offset 5m)");
    s_roundtrip("histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))",
                "histogram_quantile(0.9, sum by (le) (rate(h_bucket[5m])))");
    s_roundtrip("label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")",
                "label_join(x, \"d\", \",\", \"a\", \"b\", \"c\")");
}
END_TEST

START_TEST(test_fw_promql_binary_modifiers)
{
    s_roundtrip("a + on(job) b", "a + on (job) b");
    s_roundtrip("a / ignoring(code) b", "a / ignoring (code) b");
    s_roundtrip("a > bool 1", "a > bool 1");
    s_roundtrip("a * on(x) group_left(y) b", "a * on (x) group_left (y) b");
    s_roundtrip("a unless b", "a unless b");
    s_roundtrip("1 == bool 2", "1 == bool 2");
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse("a and on(job) b", &err);
    ck_assert_int_eq(e->card, FW_PQ_CARD_MANY_TO_MANY);
    ck_assert(e->on);
    fw_promql_expr_destroy(&e);
}
END_TEST

START_TEST(test_fw_promql_literals)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse("0x1F", &err);
    ck_assert(e->num == 31);
    fw_promql_expr_destroy(&e);
    e = fw_promql_parse("1.5e3", &err);
    ck_assert(e->num == 1500);
    fw_promql_expr_destroy(&e);
    e = fw_promql_parse("Inf", &err);
    ck_assert(isinf(e->num));
    fw_promql_expr_destroy(&e);
    e = fw_promql_parse("NaN", &err);
    ck_assert(isnan(e->num));
    fw_promql_expr_destroy(&e);
    e = fw_promql_parse("\"a\\n\\u00e9\\x41\"", &err);
    ck_assert_int_eq(e->type, FW_PQ_STRING);
    ck_assert_str_eq(e->str, "a\n\xc3\xa9"
                             "A");
    fw_promql_expr_destroy(&e);
    e = fw_promql_parse("`raw\\n`", &err);
    ck_assert_str_eq(e->str, "raw\\n");
    fw_promql_expr_destroy(&e);
}
END_TEST

START_TEST(test_fw_promql_errors_have_positions)
{
    s_bad("", 1, "no expression found in input");
    s_bad("sum(up) by", 11, "unexpected end of input");
    s_bad("up{job=}", 8, "unexpected \"}\"");
    s_bad("1 +", 4, "unexpected end of input");
    s_bad("rate(up)", 6, "expected type range vector in call to function \"rate\"");
    s_bad("foo(up)", 1, "unknown function with name \"foo\"");
    s_bad("up{job=~\"(\"}", 9, "error parsing regexp: missing closing ): `^(?s:()$`");
    s_bad("up[5x]", 4, "bad number or duration syntax");
    s_bad("1 == 1", 1, "comparisons between scalars must use BOOL modifier");
    s_bad("{job=\"\"}", 1, "at least one non-empty matcher");
    s_bad("up + ", 6, "unexpected end of input");
    s_bad("sum(x) by (a", 13, "unclosed left parenthesis");
    s_bad("x[5m] + 1", 1, "binary expression must contain only scalar and instant vector");
    s_bad("1 and x", 1, "set operator \"and\" not allowed in binary scalar expression");
    s_bad("(x) offset 5m", 5, "offset modifier must be preceded by");
    s_bad("up up", 4, "unexpected identifier \"up\"");
    s_bad("\"abc", 1, "unterminated quoted string");
    s_bad("up{a=\"b\"", 9, "unexpected end of input inside braces");
    // the end of input as Prometheus's lexer names it (2.42 and 3 alike)
    s_bad("sum(", 5, "unclosed left parenthesis");
    s_bad("x[5m", 5, "unclosed left bracket");
    s_bad("rate(x[5m]", 11, "unclosed left parenthesis");
    s_bad("x\n  + by", 7, "unexpected identifier \"by\"");
    s_bad("abs(x, 1)", 1, "expected 1 argument(s) in call to \"abs\", got 2");
    s_bad("x[1m/0]", 5, "division by zero");
    s_bad("x[5m:] anchored", 1, "anchored modifier is not supported for subqueries");
    s_bad("x[5m] anchored smoothed", 1, "anchored and smoothed modifiers cannot be used together");
    s_bad("sum(x) smoothed", 1, "smoothed modifier not implemented");
    s_bad("info(x, y)", 9, "expected label selectors only, got vector selector instead");
    s_bad("info(x, sum(y))", 9, "expected label selectors only");
    s_bad("start_timestamp(x[5m])", 17, "expected type instant vector in call to function");
    s_bad("a and fill(0) b", 7, "filling in missing series not allowed for set operators");
    s_bad("1 + fill(0) b", 1, "filling in missing series only allowed between instant vectors");
    s_bad("a + fill(x) b", 10, "unexpected identifier \"x\" in fill modifier");
    s_bad("x[1m-1m]", 2, "range selector must be positive");
    s_bad("x offset foo", 10,
          "unexpected identifier \"foo\" in offset, expected number, "
          "duration, step(), or range()");
    s_bad("x @ foo", 5, "unexpected identifier \"foo\" in @, expected timestamp");
    s_bad("sum(x) @ 100", 1, "@ modifier must be preceded by an instant vector selector");
    s_bad("x @ 1 @ 2", 1, "@ <timestamp> may not be set multiple times");
    s_bad("x @ Inf", 1, "timestamp out of bounds for @ modifier: +Inf");
    s_bad("x @ 100 [5m]", 9, "no @ modifiers allowed before range");
    s_bad("x[5m][1m:]", 1, "subquery is only allowed on instant vector, got range vector");
    s_bad("x offset 1m [5m]", 13, "no offset modifiers allowed before range");
    s_bad("sum(x)[5m]", 7, "ranges only allowed for vector selectors");
    s_bad("x[5m:1m] + 1", 1, "binary expression must contain only scalar and instant vector");
    fw_err_t err;
    ck_assert_ptr_null(fw_promql_parse("x\n  + by", &err));
    ck_assert_int_eq(err.line, 2);
}
END_TEST

// prefix n times, then mid, then suffix n times; caller frees.
static char *
s_nest(const char *prefix, int n, const char *mid, const char *suffix)
{
    return check_util_nest(NULL, prefix, n, mid, suffix, NULL);
}

// s_bad for a long input (named by its first bytes in messages), which it frees.
static void
s_bad_owned(char *in, int col)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(in, &err);
    ck_assert_msg(e == NULL, "'%.20s...' parsed but should not", in);
    ck_assert_msg(err.col == col, "'%.20s...': col %d, want %d (%s)", in, err.col, col, err.msg);
    ck_assert_str_eq(err.msg, "expression nests too deeply (more than 1000 levels)");
    free(in);
}

// Hostile nesting (issue 5: 20,000 parentheses or 100,000 minuses overflowed the stack) is a
// parse error with a position, and what parses is never deeper than FW_PROMQL_MAX_DEPTH, so
// formatting, freeing and evaluating it cannot overflow either.
START_TEST(test_fw_promql_nesting_is_bounded)
{
    ck_assert_int_eq(FW_PROMQL_MAX_DEPTH, 1000);
    s_bad_owned(s_nest("(", 20000, "1", ")"), 1001);     // fails at the 1001st "("
    s_bad_owned(s_nest("(", 1000, "1", ")"), 1001);      // 1001 levels with the number
    s_bad_owned(s_nest("abs(", 20000, "up", ")"), 4001); // calls
    s_bad_owned(s_nest("sum(", 20000, "up", ")"), 4001); // aggregations
    s_bad_owned(s_nest("-(", 20000, "1", ")"), 1001);    // signs and parentheses
    s_bad_owned(s_nest("2^", 100000, "2", ""), 2001);    // right-associative: recursion
    // A left-associative chain builds its tree in a loop, one level per operator: it fails
    // at the operator that would make the tree too deep (the 1000th "+").
    s_bad_owned(s_nest("1+", 100000, "1", ""), 2000);
    s_bad_owned(s_nest("up or ", 20000, "up", ""), 5998);

    // Just inside the limit: parses, formats and frees.
    fw_err_t err;
    char *in = s_nest("(", 999, "1", ")");
    fw_promql_expr_t *e = fw_promql_parse(in, &err);
    ck_assert_msg(e != NULL, "%d: %s", err.col, err.msg);
    ck_assert_int_eq(e->height, 1000);
    char *text = fw_promql_format(e);
    ck_assert_str_eq(text, in);
    free(text);
    fw_promql_expr_destroy(&e);
    free(in);

    // A run of signs is a loop, not a recursion: 100,000 minuses parse as Prometheus parses
    // them, a number absorbing them all, other operands keeping one or two negations.
    in = s_nest("-", 100000, "1", "");
    e = fw_promql_parse(in, &err);
    ck_assert_msg(e != NULL, "%d: %s", err.col, err.msg);
    ck_assert_int_eq(e->kind, FW_PQ_NUMBER);
    ck_assert(e->num == 1);
    fw_promql_expr_destroy(&e);
    free(in);
    in = s_nest("-", 100001, "1", "");
    e = fw_promql_parse(in, &err);
    ck_assert_ptr_nonnull(e);
    ck_assert(e->num == -1);
    ck_assert_int_eq(e->pos, 0);
    fw_promql_expr_destroy(&e);
    free(in);
    char *even = s_nest("-", 100000, "up", ""), *odd = s_nest("-", 99999, "up", "");
    s_roundtrip(even, "--up");
    s_roundtrip(odd, "-up");
    free(even);
    free(odd);
    s_roundtrip("-+-+-up", "-up");
    s_roundtrip("+-+-up", "--up");
    s_roundtrip("- - 2 ^ 2", "--2 ^ 2");
    s_roundtrip("-2 ^ -2", "-2 ^ -2");
}
END_TEST

// fw_promql_parse_match: the match[] of /federate, with Prometheus 2.42's
// ParseMetricSelector errors (web/federate_test.go and the real prometheus, test/it/federate.sh).
static void
s_sel_bad(const char *in, int col, const char *msg)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse_match(in, &err);
    ck_assert_msg(e == NULL, "'%s' parsed as a selector but should not", in);
    ck_assert_msg(err.col == col, "'%s': col %d, want %d (%s)", in, err.col, col, err.msg);
    ck_assert_str_eq(err.msg, msg);
}

START_TEST(test_fw_promql_parse_match)
{
    static const char *const ok[] = {
        "up",  "up{job=\"a\"}", "{foo=\"\"}",         "{}",           "sum", "by",
        "and", "offset",        "{__name__=~\".+\"}", "a:b{c!~\"d\"}"};
    for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++) {
        fw_err_t err;
        fw_promql_expr_t *e = fw_promql_parse_match(ok[k], &err);
        ck_assert_msg(e != NULL, "'%s': %d: %s", ok[k], err.col, err.msg);
        ck_assert_int_eq(e->kind, FW_PQ_SELECTOR);
        fw_promql_expr_destroy(&e);
    }
    s_sel_bad("-not-a-valid-metric-name", 1, "unexpected <op:->");
    s_sel_bad("not-a-valid-metric-name", 4, "unexpected <op:->");
    s_sel_bad("sum(x)", 4, "unexpected \"(\"");
    s_sel_bad("up by", 4, "unexpected <by>");
    s_sel_bad("up and x", 4, "unexpected <op:and>");
    s_sel_bad("up sum", 4, "unexpected <aggr:sum>");
    s_sel_bad("up[5m]", 3, "unexpected \"[\"");
    s_sel_bad("up offset 5m", 4, "unexpected <offset>");
    s_sel_bad("up \"x\"", 4, "unexpected string \"\\\"x\\\"\"");
    s_sel_bad("up x:y", 4, "unexpected metric identifier \"x:y\"");
    s_sel_bad("5", 1, "unexpected number \"5\"");
    s_sel_bad("bool", 1, "unexpected <bool>");
    s_sel_bad("", 1, "unexpected end of input");
    // the full parser keeps its rule
    fw_err_t err;
    ck_assert_ptr_null(fw_promql_parse("{foo=\"\"}", &err));
}
END_TEST

// Parse, print as Prometheus 3's String() does, compare.
static void
s_string(const char *in, const char *want)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(in, &err);
    ck_assert_msg(e != NULL, "parse of '%s' failed: %d: %s", in, err.col, err.msg);
    char *got = fw_promql_string(e);
    ck_assert_str_eq(got, want);
    free(got);
    fw_promql_expr_destroy(&e);
}

// Prometheus 3's UTF-8 names: quoted metric names inside the braces, quoted label names in
// matchers and in by/without/on/ignoring/group_left; printed quoted when not legacy names.
START_TEST(test_fw_promql_utf8_names)
{
    s_string("{\"my.metric\"}", "{__name__=\"my.metric\"}");
    s_string("{\"my.metric\", \"a.b\"=\"c\"}", "{\"a.b\"=\"c\",__name__=\"my.metric\"}");
    s_string("{\"a.b\"=\"c\", \"my.metric\"}", "{\"a.b\"=\"c\",__name__=\"my.metric\"}");
    s_string("{\"up\"}", "{__name__=\"up\"}");
    s_string("rate({\"http.requests\"}[5m])", "rate({__name__=\"http.requests\"}[5m])");
    s_string("sum by (\"a.b\", job) ({\"m-1\"})", "sum by (\"a.b\", job) ({__name__=\"m-1\"})");
    s_string("sum without (\"ünï\") (x)", "sum without (\"ünï\") (x)");
    s_string("sum by (\"plain\") (x)", "sum by (plain) (x)");
    s_string("a * on (\"a.b\") group_left (\"c d\") b", "a * on (\"a.b\") group_left (\"c d\") b");
    s_string("label_replace(x, \"dst.label\", \"$1\", \"src\", \"(.*)\")",
             "label_replace(x, \"dst.label\", \"$1\", \"src\", \"(.*)\")");
    s_roundtrip("{\"my.metric\", \"a.b\"=~\"c\"}", "{__name__=\"my.metric\", \"a.b\"=~\"c\"}");
    s_roundtrip("sum by (\"a.b\") (x)", "sum by (\"a.b\") (x)");
    s_string("{\"a.b\", \"c.d\"}", "{__name__=\"a.b\",__name__=\"c.d\"}");
    s_bad("x{\"a.b\"}", 1, "metric name must not be set twice: \"x\" or \"a.b\"");
    s_bad("sum by (\"\") (x)", 9, "invalid label name for grouping: \"\"");
    s_bad("sum by (\"\\xff\") (x)", 9, "invalid label name for grouping: \"\\xff\"");
}
END_TEST

Suite *
fw_promql_suite(void)
{
    Suite *s = suite_create("fw_promql");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_promql_parse_destroy);
    tcase_add_test(tc, test_fw_promql_selectors);
    tcase_add_test(tc, test_fw_promql_matchers_compiled);
    tcase_add_test(tc, test_fw_promql_precedence);
    tcase_add_test(tc, test_fw_promql_aggregations_and_calls);
    tcase_add_test(tc, test_fw_promql_binary_modifiers);
    tcase_add_test(tc, test_fw_promql_literals);
    tcase_add_test(tc, test_fw_promql_errors_have_positions);
    tcase_add_test(tc, test_fw_promql_nesting_is_bounded);
    tcase_add_test(tc, test_fw_promql_parse_match);
    tcase_add_test(tc, test_fw_promql_utf8_names);
    suite_add_tcase(s, tc);
    return s;
}
