/*  check_fw_gojson.c — Go's json.Decoder's words for a body it cannot read (Go 1.19's
    scanner, as Alertmanager 0.25 answers them: test/it/api_compare.sh asks both). */
#include <check.h>
#include <string.h>

#include "fw_gojson.h"

START_TEST(test_fw_gojson_errors)
{
    static const struct {
        const char *in, *err; // err NULL: Go reads the first value whole
    } cases[] = {
        {"[{\"labels\":", "unexpected EOF"},
        {"{\"comment\":", "unexpected EOF"},
        {"  \n", "EOF"},
        {"", "EOF"},
        {"x", "invalid character 'x' looking for beginning of value"},
        {"[1,]", "invalid character ']' looking for beginning of value"},
        {"[1 2]", "invalid character '2' after array element"},
        {"[0123]", "invalid character '1' after array element"},
        {"{\"a\" 1}", "invalid character '1' after object key"},
        {"{\"a\":1 \"b\"}", "invalid character '\"' after object key:value pair"},
        {"{1:2}", "invalid character '1' looking for beginning of object key string"},
        {"{\"a\":1,}", "invalid character '}' looking for beginning of object key string"},
        {"[\"\\q\"]", "invalid character 'q' in string escape code"},
        {"[\"\\u12g4\"]", "invalid character 'g' in \\u hexadecimal character escape"},
        {"[\"a\tb\"]", "invalid character '\\t' in string literal"},
        {"[-x]", "invalid character 'x' in numeric literal"},
        {"[1.x]", "invalid character 'x' after decimal point in numeric literal"},
        {"[1e+x]", "invalid character 'x' in exponent of numeric literal"},
        {"[tru]", "invalid character ']' in literal true (expecting 'e')"},
        {"[fals]", "invalid character ']' in literal false (expecting 'e')"},
        {"[nul]", "invalid character ']' in literal null (expecting 'l')"},
        {"[\x01]", "invalid character '\\x01' looking for beginning of value"},
        {"[']", "invalid character '\\'' looking for beginning of value"},
        {"[\\]", "invalid character '\\\\' looking for beginning of value"},
        {"[\xe9]", "invalid character '\xc3\xa9' looking for beginning of value"},
        {"[\xa0]", "invalid character '\\u00a0' looking for beginning of value"},
        {"[\x85]", "invalid character '\\u0085' looking for beginning of value"},
        {"[] trailing", NULL},    // the Decoder stops after the first value
        {"[\"\xff\xfe\"]", NULL}, // any byte in a string (Go replaces it)
        {"[1, 2.5e-3, true, null, {}]", NULL},
        {"12", NULL}, // a number at the end of the input is whole
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char msg[128] = "untouched";
        int rc = fw_gojson_decode_error(cases[i].in, strlen(cases[i].in), msg, sizeof msg);
        if (!cases[i].err) {
            ck_assert_msg(rc == 0, "%s: %s", cases[i].in, msg);
            ck_assert_str_eq(msg, "untouched");
        } else {
            ck_assert_msg(rc == 1, "%s read", cases[i].in);
            ck_assert_str_eq(msg, cases[i].err);
        }
    }
}
END_TEST

START_TEST(test_fw_gojson_depth)
{
    // Go's maxNestingDepth is 10000: the 10001st bracket is refused.
    static char deep[10002];
    memset(deep, '[', 10001);
    char msg[128];
    ck_assert_int_eq(fw_gojson_decode_error(deep, 10001, msg, sizeof msg), 1);
    ck_assert_str_eq(msg, "invalid character '[' exceeded max depth");
    ck_assert_int_eq(fw_gojson_decode_error(deep, 10000, msg, sizeof msg), 1);
    ck_assert_str_eq(msg, "unexpected EOF");
}
END_TEST

Suite *
fw_gojson_suite(void)
{
    Suite *s = suite_create("fw_gojson");
    TCase *tc = tcase_create("decoder");
    tcase_add_test(tc, test_fw_gojson_errors);
    tcase_add_test(tc, test_fw_gojson_depth);
    suite_add_tcase(s, tc);
    return s;
}
