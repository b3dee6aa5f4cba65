/*  check_fw_regex.c — the RE2 module: anchoring per dialect, Go's error texts, Go's
    ExpandString, and the hostile patterns that made PCRE2 give up and answer "no match".
*/
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw_labels.h"
#include "fw_mem.h"
#include "fw_regex.h"
#include "../alertd/alertd_matcher.h"

START_TEST(test_fw_regex_usage)
{
    fw_err_t err;
    fw_regex_t *re = fw_regex_new("line[0-9]+", FW_REGEX_PROMETHEUS, &err);
    ck_assert_ptr_nonnull(re);
    ck_assert_str_eq(fw_regex_source(re), "line[0-9]+");
    ck_assert(fw_regex_match(re, "line12"));
    ck_assert(!fw_regex_match(re, "line12x")); // anchored at the end
    ck_assert(!fw_regex_match(re, "xline12")); // and at the start
    ck_assert(!fw_regex_match(re, NULL));      // NULL is the empty string
    ck_assert(fw_regex_match_n(re, "line7 and more", 5));
    fw_regex_destroy(&re);
    ck_assert_ptr_null(re);
    fw_regex_destroy(&re); // twice is fine
}
END_TEST

START_TEST(test_fw_regex_dialects)
{
    fw_err_t err;
    // Prometheus 3 wraps as ^(?s:re)$: `.` matches a newline; Alertmanager's ^(?:re)$ not.
    fw_regex_t *prom = fw_regex_new("a.b", FW_REGEX_PROMETHEUS, &err);
    fw_regex_t *am = fw_regex_new("a.b", FW_REGEX_ALERTMANAGER, &err);
    ck_assert(fw_regex_match(prom, "a\nb"));
    ck_assert(!fw_regex_match(am, "a\nb"));
    ck_assert(fw_regex_match(am, "axb"));
    fw_regex_destroy(&prom);
    fw_regex_destroy(&am);

    // The source is wrapped literally, as upstream does: `a)|(b` becomes ^(?:a)|(b)$,
    // whose first branch is anchored only at the start.
    fw_regex_t *odd = fw_regex_new("a)|(b", FW_REGEX_ALERTMANAGER, &err);
    ck_assert_ptr_nonnull(odd);
    ck_assert(fw_regex_match(odd, "a-anything"));
    ck_assert(fw_regex_match(odd, "xb"));
    ck_assert(!fw_regex_match(odd, "xa"));
    fw_regex_destroy(&odd);

    // RE2 syntax that POSIX lacks: \d, (?i), non-greedy, Unicode classes.
    fw_regex_t *re = fw_regex_new("(?i)LINE\\d+?\\pL*", FW_REGEX_PROMETHEUS, &err);
    ck_assert_ptr_nonnull(re);
    ck_assert(fw_regex_match(re, "line42é"));
    fw_regex_destroy(&re);
}
END_TEST

START_TEST(test_fw_regex_go_errors)
{
    static const struct {
        const char *pattern;
        const char *msg;
    } cases[] = {
        {"(", "error parsing regexp: missing closing ): `^(?:()$`"},
        {"[a", "error parsing regexp: missing closing ]: `[a)$`"},
        {"a**", "error parsing regexp: invalid nested repetition operator: `**`"},
        {"*", "error parsing regexp: missing argument to repetition operator: `*`"},
        {"\\8", "error parsing regexp: invalid escape sequence: `\\8`"},
        {"(?<name>a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"},
        {"a{1001}", "error parsing regexp: invalid repeat count: `{1001}`"},
        {"\xff", "error parsing regexp: invalid UTF-8: `\xff)$`"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        fw_err_t err = {0};
        fw_regex_t *re = fw_regex_new(cases[i].pattern, FW_REGEX_ALERTMANAGER, &err);
        ck_assert_msg(re == NULL, "%s compiled", cases[i].pattern);
        ck_assert_msg(strcmp(err.msg, cases[i].msg) == 0, "%s:\n got %s\nwant %s", cases[i].pattern,
                      err.msg, cases[i].msg);
    }
    // A pattern whose program exceeds RE2's memory budget is refused, not run.
    char *big = fw_malloc(50 * 11 + 1);
    for (size_t i = 0; i < 50; i++)
        memcpy(big + 11 * i, "(\\pL{1000})", 11);
    big[50 * 11] = '\0';
    fw_err_t err = {0};
    fw_regex_t *re = fw_regex_new(big, FW_REGEX_PROMETHEUS, &err);
    ck_assert_ptr_null(re);
    ck_assert_msg(
        strncmp(err.msg, "error parsing regexp: expression too large: `^(?s:(\\pL{1000})", 60) == 0,
        "%s", err.msg);
    free(big);
}
END_TEST

// The issue's case: with PCRE2's match limit, `(a+)+b|a+` gave up on a long run of `a`
// and the matcher answered "no match", so `!~` returned a series it should have dropped and
// a silence failed to mute. RE2 decides it, in time linear in the value.
START_TEST(test_fw_regex_hostile_patterns_decide)
{
    fw_err_t err;
    fw_regex_t *re = fw_regex_new("(a+)+b|a+", FW_REGEX_PROMETHEUS, &err);
    ck_assert_ptr_nonnull(re);
    size_t n = 1 << 20;
    char *subject = fw_malloc(n + 2);
    memset(subject, 'a', n);
    subject[n] = '\0';
    clock_t t0 = clock();
    ck_assert(fw_regex_match(re, subject));
    subject[n] = 'c';
    subject[n + 1] = '\0';
    ck_assert(!fw_regex_match(re, subject));
    subject[n] = 'b';
    ck_assert(fw_regex_match(re, subject));
    // Linear: a megabyte three times is well under a second even under sanitizers; the
    // exponential engine would not finish. (A bound on runaway, not a speed assertion.)
    ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < 30.0, "not linear");
    free(subject);
    fw_regex_destroy(&re);

    // Nested quantifiers that blow up backtracking engines.
    const char *evil[] = {"(a|aa)+c", "(a*)*c", "(.*a){20}c", "((a?){30})a{30}c"};
    for (size_t i = 0; i < sizeof evil / sizeof *evil; i++) {
        re = fw_regex_new(evil[i], FW_REGEX_PROMETHEUS, &err);
        ck_assert_msg(re != NULL, "%s: %s", evil[i], err.msg);
        ck_assert(!fw_regex_match(re, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        ck_assert(fw_regex_match(re, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac"));
        fw_regex_destroy(&re);
    }
}
END_TEST

// alertd's matchers (routes, silences, inhibit rules) go through the same engine: the
// silence `v=~"(a+)+b|a+"` matches a long run of `a`, as in Alertmanager.
START_TEST(test_fw_regex_alertd_matcher_decides)
{
    struct alertd_matchers ms = {0};
    fw_err_t err;
    ck_assert_int_eq(alertd_matchers_parse(&ms, "v=~\"(a+)+b|a+\"", &err), 0);
    struct fw_labels l = FW_LABELS_INIT;
    char value[64];
    memset(value, 'a', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    fw_labels_set(&l, "v", value);
    ck_assert(alertd_matchers_match(&ms, &l));
    fw_labels_set(&l, "v", "aaab");
    ck_assert(alertd_matchers_match(&ms, &l));
    fw_labels_set(&l, "v", "aaabc");
    ck_assert(!alertd_matchers_match(&ms, &l));
    fw_labels_clear(&l);
    alertd_matchers_clear(&ms);
}
END_TEST

START_TEST(test_fw_regex_replace_go_expand)
{
    fw_err_t err;
    fw_regex_t *re = fw_regex_new("(?P<host>[a-z]+):(\\d+)(x)?", FW_REGEX_PROMETHEUS, &err);
    ck_assert_ptr_nonnull(re);
    static const struct {
        const char *tmpl, *want;
    } cases[] = {
        {"$1", "node"},
        {"${1}", "node"},
        {"$host-${2}", "node-9100"},
        {"${host}_$2", "node_9100"},
        {"$$1", "$1"},
        {"$1x", ""}, // Go reads the name "1x": no such group
        {"${1}x", "nodex"},
        {"$3", ""},   // did not take part
        {"$7", ""},   // does not exist
        {"$01", ""},  // a leading zero is a name, not a number
        {"a$", "a$"}, // malformed references are plain text
        {"${1", "${1"},
        {"$-", "$-"},
        {"plain", "plain"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *out = NULL;
        ck_assert(fw_regex_replace(re, "node:9100", cases[i].tmpl, &out));
        ck_assert_msg(strcmp(out, cases[i].want) == 0, "%s: got %s want %s", cases[i].tmpl, out,
                      cases[i].want);
        free(out);
    }
    char *out = NULL;
    ck_assert(!fw_regex_replace(re, "node:x", "$1", &out));
    ck_assert_ptr_null(out);
    fw_regex_destroy(&re);

    // Go allows a name twice; a reference takes the first group of that name.
    re = fw_regex_new("(?P<n>a+)(?P<n>b+)", FW_REGEX_PROMETHEUS, &err);
    ck_assert_ptr_nonnull(re);
    ck_assert(fw_regex_replace(re, "aabbb", "${n}", &out));
    ck_assert_str_eq(out, "aa");
    free(out);
    fw_regex_destroy(&re);

    // More groups than the stack array holds.
    re = fw_regex_new("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)(m)(n)(o)(p)(q)(r)(s)",
                      FW_REGEX_PROMETHEUS, &err);
    ck_assert(fw_regex_replace(re, "abcdefghijklmnopqrs", "$19$18$1", &out));
    ck_assert_str_eq(out, "sra");
    free(out);
    fw_regex_destroy(&re);
}
END_TEST

Suite *
fw_regex_suite(void)
{
    Suite *s = suite_create("fw_regex");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fw_regex_usage);
    tcase_add_test(tc, test_fw_regex_dialects);
    tcase_add_test(tc, test_fw_regex_go_errors);
    tcase_add_test(tc, test_fw_regex_hostile_patterns_decide);
    tcase_add_test(tc, test_fw_regex_alertd_matcher_decides);
    tcase_add_test(tc, test_fw_regex_replace_go_expand);
    suite_add_tcase(s, tc);
    return s;
}
