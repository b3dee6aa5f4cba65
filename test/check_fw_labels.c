/*  check_fw_labels.c — label sets: order, equality, hashing, validation, formatting. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_labels.h"

START_TEST(test_fw_labels_set_get_clear)
{
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "job", "node");
    fw_labels_set(&l, "__name__", "up");
    fw_labels_set(&l, "instance", "h:9100");
    ck_assert_uint_eq(l.len, 3);
    ck_assert_str_eq(l.items[0].name, "__name__"); // kept sorted
    ck_assert_str_eq(l.items[2].name, "job");
    ck_assert_str_eq(fw_labels_get(&l, "instance"), "h:9100");
    ck_assert_ptr_null(fw_labels_get(&l, "nope"));
    fw_labels_set(&l, "job", "other");
    ck_assert_uint_eq(l.len, 3);
    ck_assert_str_eq(fw_labels_get(&l, "job"), "other");
    fw_labels_set(&l, "job", ""); // empty value removes, as in Prometheus
    ck_assert_uint_eq(l.len, 2);
    fw_labels_clear(&l);
    ck_assert_uint_eq(l.len, 0);
    fw_labels_clear(&l); // twice is fine
}
END_TEST

START_TEST(test_fw_labels_equal_sets_compare_and_hash_alike)
{
    struct fw_labels a = FW_LABELS_INIT, b = FW_LABELS_INIT, c = FW_LABELS_INIT;
    fw_labels_set(&a, "x", "1");
    fw_labels_set(&a, "y", "2");
    fw_labels_set(&b, "y", "2");
    fw_labels_set(&b, "x", "1");
    fw_labels_set(&c, "x", "12");
    ck_assert_int_eq(fw_labels_cmp(&a, &b), 0);
    ck_assert_uint_eq(fw_labels_hash(&a), fw_labels_hash(&b));
    ck_assert_int_ne(fw_labels_cmp(&a, &c), 0);
    ck_assert_uint_ne(fw_labels_hash(&a), fw_labels_hash(&c));
    // ("ab","c") and ("a","bc") must not collide through concatenation
    struct fw_labels d = FW_LABELS_INIT, e = FW_LABELS_INIT;
    fw_labels_set(&d, "ab", "c");
    fw_labels_set(&e, "a", "bc");
    ck_assert_uint_ne(fw_labels_hash(&d), fw_labels_hash(&e));
    struct fw_labels copy = FW_LABELS_INIT;
    fw_labels_copy(&copy, &a);
    ck_assert_int_eq(fw_labels_cmp(&copy, &a), 0);
    fw_labels_clear(&a);
    fw_labels_clear(&b);
    fw_labels_clear(&c);
    fw_labels_clear(&d);
    fw_labels_clear(&e);
    fw_labels_clear(&copy);
}
END_TEST

// Each length's first and last code point encodes as the standard says and validates.
START_TEST(test_fw_labels_utf8_put_boundaries)
{
    static const struct {
        uint32_t cp;
        const char *want;
    } cases[] = {
        {0x0, "\x00"},
        {0x7f, "\x7f"},
        {0x80, "\xc2\x80"},
        {0x7ff, "\xdf\xbf"},
        {0x800, "\xe0\xa0\x80"},
        {0xffff, "\xef\xbf\xbf"},
        {0x10000, "\xf0\x90\x80\x80"},
        {0x10ffff, "\xf4\x8f\xbf\xbf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[4];
        size_t n = fw_utf8_put(cases[i].cp, out);
        size_t want = cases[i].cp ? strlen(cases[i].want) : 1;
        ck_assert_uint_eq(n, want);
        ck_assert_msg(memcmp(out, cases[i].want, n) == 0, "U+%X", (unsigned)cases[i].cp);
        ck_assert(fw_utf8_valid(out, n));
    }
}
END_TEST

START_TEST(test_fw_labels_validate_follows_prometheus_rules)
{
    ck_assert(fw_label_name_valid("_a1"));
    ck_assert(!fw_label_name_valid("1a"));
    ck_assert(!fw_label_name_valid("a-b"));
    ck_assert(!fw_label_name_valid(""));
    ck_assert(fw_metric_name_valid("line:oee:ratio"));
    ck_assert(!fw_label_name_valid("line:oee"));
    ck_assert(!fw_metric_name_valid("9x"));
    ck_assert(fw_utf8_valid("caf\xc3\xa9", 5));
    ck_assert(!fw_utf8_valid("\xc3", 1));
    ck_assert(!fw_utf8_valid("\xc0\xaf", 2)); // overlong
    struct fw_labels l = FW_LABELS_INIT;
    fw_err_t err;
    fw_labels_set(&l, "__name__", "up");
    ck_assert_int_eq(fw_labels_validate(&l, &err), 0);
    // Prometheus 3: any UTF-8 name (and metric name) is valid, invalid UTF-8 is not
    fw_labels_set(&l, "good-name.\xc3\xa9", "x");
    fw_labels_set(&l, "__name__", "my.metric");
    ck_assert_int_eq(fw_labels_validate(&l, &err), 0);
    fw_labels_set(&l, "bad\xffname", "x");
    ck_assert_int_eq(fw_labels_validate(&l, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "bad\xffname"));
    fw_labels_clear(&l);
}
END_TEST

START_TEST(test_fw_labels_format_like_prometheus)
{
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "up");
    char *s = fw_labels_format(&l);
    ck_assert_str_eq(s, "up");
    free(s);
    fw_labels_set(&l, "job", "a\"b");
    fw_labels_set(&l, "instance", "h");
    s = fw_labels_format(&l);
    ck_assert_str_eq(s, "up{instance=\"h\", job=\"a\\\"b\"}");
    free(s);
    fw_labels_clear(&l);
}
END_TEST

// Names that are not legacy names quoted as Prometheus 3 prints them: labels.String quotes
// a label name failing the legacy check; a UTF-8 metric name goes first inside the braces.
START_TEST(test_fw_labels_format_utf8_names)
{
    static const struct {
        const char *in, *want;
    } c[] = {
        {"__name__=my.metric,a.b=c", "{\"my.metric\", \"a.b\"=\"c\"}"},
        {"__name__=my.metric", "{\"my.metric\"}"},
        {"__name__=up,k8s.io/app=web,job=j", "up{job=\"j\", \"k8s.io/app\"=\"web\"}"},
        {"1x=v,__name__=a:b", "a:b{\"1x\"=\"v\"}"},
        {"__name__=r\u00e9el,\u00e9t\"at=o\\k", "{\"r\u00e9el\", \"\u00e9t\\\"at\"=\"o\\\\k\"}"},
        {"a.b=c,d=e", "{\"a.b\"=\"c\", d=\"e\"}"},
        {"", "{}"},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        struct fw_labels l = FW_LABELS_INIT;
        check_util_labels(&l, c[i].in);
        char *s = fw_labels_format(&l);
        ck_assert_msg(strcmp(s, c[i].want) == 0, "%s: %s, want %s", c[i].in, s, c[i].want);
        free(s);
        fw_labels_clear(&l);
    }
}
END_TEST

Suite *
fw_labels_suite(void)
{
    Suite *s = suite_create("fw_labels");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_labels_set_get_clear);
    tcase_add_test(tc, test_fw_labels_equal_sets_compare_and_hash_alike);
    tcase_add_test(tc, test_fw_labels_validate_follows_prometheus_rules);
    tcase_add_test(tc, test_fw_labels_format_like_prometheus);
    tcase_add_test(tc, test_fw_labels_format_utf8_names);
    tcase_add_test(tc, test_fw_labels_utf8_put_boundaries);
    suite_add_tcase(s, tc);
    return s;
}
