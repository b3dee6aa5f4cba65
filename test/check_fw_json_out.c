/*  check_fw_json_out.c — the JSON buffer and escaper: jansson's bytes, Go's dialect, the
    template `js` dialect, the log's, and the fixed buffer's cut. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fw_json_out.h"

START_TEST(test_fw_json_out_new_use_free)
{
    struct fw_json_out b = {0};
    fw_json_out_puts(&b, "{");
    fw_json_out_str(&b, "k", FW_JSON_OUT_GO);
    fw_json_out_put(&b, ":", 1);
    fw_json_out_str(&b, "a \"v\"", FW_JSON_OUT_GO);
    fw_json_out_puts(&b, "}");
    ck_assert_str_eq(b.p, "{\"k\":\"a \\\"v\\\"\"}");
    ck_assert_uint_eq(b.len, strlen(b.p));
    free(b.p);
}
END_TEST

// Valid UTF-8 inputs: each is escaped as jansson's json_dumps escapes it, byte for byte.
static const char *const s_valid[] = {
    "",
    "plain",
    "quote\" backslash\\ slash/ end",
    "\b\f\n\r\t",
    "\x01\x02\x1b\x1f\x7f",
    "<html>&'=",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    "line\xe2\x80\xa8sep\xe2\x80\xa9para",
    "\xef\xbf\xbf\xf4\x8f\xbf\xbf", // U+FFFF, U+10FFFF
};

static char *
s_dump(const char *s)
{
    json_t *j = json_string(s);
    ck_assert_ptr_nonnull(j);
    char *d = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    ck_assert_ptr_nonnull(d);
    return d;
}

START_TEST(test_fw_json_out_jansson_bytes)
{
    char all[128]; // every ASCII byte but NUL
    for (int c = 1; c < 128; c++)
        all[c - 1] = (char)c;
    all[127] = '\0';
    for (size_t i = 0; i <= sizeof(s_valid) / sizeof(s_valid[0]); i++) {
        const char *s = i < sizeof(s_valid) / sizeof(s_valid[0]) ? s_valid[i] : all;
        struct fw_json_out b = {0};
        fw_json_out_str(&b, s, FW_JSON_OUT_JANSSON);
        char *want = s_dump(s);
        ck_assert_str_eq(b.p, want);
        free(want);
        free(b.p);
    }
    // jansson refuses invalid UTF-8, so its callers vouch for their input
    ck_assert_ptr_null(json_string("\xff"));
}
END_TEST

// Go's encoding/json (HTML-safe), as tsdb's API answers: literal bytes, and JSON that
// jansson reads back to the input for valid input.
static const struct {
    const char *in, *out;
} s_go[] = {
    {"a<b>&c", "\"a\\u003cb\\u003e\\u0026c\""},
    {"\b\f\n\r\t\x01", "\"\\u0008\\u000c\\n\\r\\t\\u0001\""},
    {"q\"b\\/'=", "\"q\\\"b\\\\/'=\""},
    {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
    {"a\xe2\x80\xa8"
     "b\xe2\x80\xa9",
     "\"a\\u2028b\\u2029\""},
    {"\xff", "\"\\ufffd\""},
    {"x\xe2\x82", "\"x\\ufffd\\ufffd\""},                     // cut short at the end
    {"\xc0\xaf", "\"\\ufffd\\ufffd\""},                       // overlong '/'
    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},            // a surrogate
    {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, // past U+10FFFF
    {"\x80ok", "\"\\ufffdok\""},                              // a lone continuation byte
};

START_TEST(test_fw_json_out_go_dialect)
{
    for (size_t i = 0; i < sizeof(s_go) / sizeof(s_go[0]); i++) {
        struct fw_json_out b = {0};
        fw_json_out_str(&b, s_go[i].in, FW_JSON_OUT_GO);
        ck_assert_str_eq(b.p, s_go[i].out);
        json_error_t err;
        json_t *j = json_loads(b.p, JSON_DECODE_ANY, &err);
        ck_assert_msg(j != NULL, "%s: %s", b.p, err.text);
        json_decref(j);
        free(b.p);
    }
    for (size_t i = 0; i < sizeof(s_valid) / sizeof(s_valid[0]); i++) {
        struct fw_json_out b = {0};
        fw_json_out_str(&b, s_valid[i], FW_JSON_OUT_GO);
        json_t *j = json_loads(b.p, JSON_DECODE_ANY, NULL);
        ck_assert_ptr_nonnull(j);
        ck_assert_str_eq(json_string_value(j), s_valid[i]);
        json_decref(j);
        free(b.p);
    }
}
END_TEST

START_TEST(test_fw_json_out_js_and_log_dialects)
{
    struct fw_json_out b = {0};
    const char *js = "a'b\"c\\<=>&\n\x1f\xc3\xa9";
    fw_json_out_esc(&b, js, strlen(js), FW_JSON_OUT_GOJS);
    ck_assert_str_eq(b.p, "a\\'b\\\"c\\\\\\u003C\\u003D\\u003E\\u0026\\u000A\\u001F\xc3\xa9");
    b.len = 0;
    fw_json_out_str(&b, "\b\x1b\x7f\xff\n", 0); // fw_log: lower case, no \b, bytes copied
    ck_assert_str_eq(b.p, "\"\\u0008\\u001b\x7f\xff\\n\"");
    b.len = 0;
    fw_json_out_strn(&b, "a\"b", 2, FW_JSON_OUT_GO); // only n bytes
    ck_assert_str_eq(b.p, "\"a\\\"\"");
    free(b.p);
}
END_TEST

START_TEST(test_fw_json_out_fixed_cuts)
{
    char buf[10];
    memset(buf, 'X', sizeof buf);
    struct fw_json_out b = fw_json_out_fixed(buf, 8);
    ck_assert_str_eq(b.p, "");
    fw_json_out_str(&b, "abc\ndef", 0); // "abc\ndef" quoted is 11 bytes: 7 fit
    ck_assert_uint_eq(b.len, 7);
    ck_assert_str_eq(buf, "\"abc\\nd");
    fw_json_out_puts(&b, "more"); // full: nothing more, still terminated
    ck_assert_uint_eq(b.len, 7);
    ck_assert_str_eq(buf, "\"abc\\nd");
    ck_assert_int_eq(buf[8], 'X'); // nothing past cap
    ck_assert_ptr_eq(b.p, buf);
}
END_TEST

Suite *
fw_json_out_suite(void)
{
    Suite *s = suite_create("fw_json_out");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_json_out_new_use_free);
    tcase_add_test(tc, test_fw_json_out_jansson_bytes);
    tcase_add_test(tc, test_fw_json_out_go_dialect);
    tcase_add_test(tc, test_fw_json_out_js_and_log_dialects);
    tcase_add_test(tc, test_fw_json_out_fixed_cuts);
    suite_add_tcase(s, tc);
    return s;
}
