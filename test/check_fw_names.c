/*  check_fw_names.c — Prometheus 3's name validation schemes and name escaping
    (common/fw_names.c), with the cases of prometheus/common's model/metric_test.go shape:
    escape then unescape gives the name back for "values", the others as documented.
*/
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fw_names.h"

Suite *fw_names_suite(void);

static void
s_esc(const char *in, fw_names_escaping_t e, const char *want)
{
    char *got = fw_names_escape(in, e);
    ck_assert_msg(strcmp(got, want) == 0, "escape(%s, %s): got %s, want %s", in,
                  fw_names_escaping_str(e), got, want);
    free(got);
}

static void
s_unesc(const char *in, const char *want)
{
    char *got = fw_names_unescape(in);
    ck_assert_msg(strcmp(got, want) == 0, "unescape(%s): got %s, want %s", in, got, want);
    free(got);
}

START_TEST(test_fw_names_valid)
{
    ck_assert(fw_names_metric_valid("my.metric", FW_NAMES_UTF8));
    ck_assert(fw_names_label_valid("caf\xc3\xa9 \xf0\x9f\x93\x88", FW_NAMES_UTF8));
    ck_assert(fw_names_label_valid("0x", FW_NAMES_UTF8));
    ck_assert(!fw_names_label_valid("", FW_NAMES_UTF8));
    ck_assert(!fw_names_label_valid("a\xff", FW_NAMES_UTF8));
    ck_assert(!fw_names_valid("a\0b", 3));
    ck_assert(!fw_names_label_valid("0x", FW_NAMES_LEGACY));
    ck_assert(!fw_names_metric_valid("my.metric", FW_NAMES_LEGACY));
    ck_assert(fw_names_metric_valid("a:b", FW_NAMES_LEGACY));
    ck_assert(!fw_names_label_valid("a:b", FW_NAMES_LEGACY));
    fw_names_scheme_t s;
    ck_assert_int_eq(fw_names_scheme_parse("", &s), 0);
    ck_assert_int_eq(s, FW_NAMES_UTF8);
    ck_assert_int_eq(fw_names_scheme_parse("legacy", &s), 0);
    ck_assert_int_eq(s, FW_NAMES_LEGACY);
    ck_assert_int_eq(fw_names_scheme_parse("strict", &s), -1);
    fw_names_escaping_t e;
    ck_assert_int_eq(fw_names_escaping_parse("values", &e), 0);
    ck_assert_int_eq(e, FW_NAMES_ESC_VALUES);
    ck_assert_int_eq(fw_names_escaping_parse("allow-utf-8", &e), 0);
    ck_assert_int_eq(e, FW_NAMES_ESC_NONE);
    ck_assert_int_eq(fw_names_escaping_parse("Values", &e), -1);
}
END_TEST

START_TEST(test_fw_names_escape_unescape)
{
    // legacy names stay as they are (dots escapes '_' even then)
    s_esc("no:escaping_required", FW_NAMES_ESC_UNDERSCORES, "no:escaping_required");
    s_esc("no:escaping_required", FW_NAMES_ESC_VALUES, "no:escaping_required");
    s_esc("no:escaping_required", FW_NAMES_ESC_DOTS, "no:escaping__required");
    s_esc("my.metric", FW_NAMES_ESC_NONE, "my.metric");
    s_esc("mysystem.prod.west.cpu.load", FW_NAMES_ESC_UNDERSCORES, "mysystem_prod_west_cpu_load");
    s_esc("mysystem.prod.west.cpu.load_total", FW_NAMES_ESC_DOTS,
          "mysystem_dot_prod_dot_west_dot_cpu_dot_load__total");
    s_esc("mysystem.prod.west.cpu.load_total", FW_NAMES_ESC_VALUES,
          "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load__total");
    s_esc("http.status:sum", FW_NAMES_ESC_VALUES, "U__http_2e_status:sum");
    s_esc("1label", FW_NAMES_ESC_UNDERSCORES, "_label");
    s_esc("1label", FW_NAMES_ESC_VALUES, "U___31_label");
    s_esc("label with \xf0\x9f\x98\xb1", FW_NAMES_ESC_UNDERSCORES, "label_with__");
    s_esc("label with \xf0\x9f\x98\xb1", FW_NAMES_ESC_VALUES, "U__label_20_with_20__1f631_");
    s_esc("a\xff", FW_NAMES_ESC_VALUES, "U__a_FFFD_");
    s_esc("a\xef\xbf\xbd", FW_NAMES_ESC_VALUES, "U__a_fffd_"); // U+FFFD itself
    // "values" comes back; anything that does not decode stays as written
    s_unesc("U__mysystem_2e_prod_2e_west_2e_cpu_2e_load__total",
            "mysystem.prod.west.cpu.load_total");
    s_unesc("U__label_20_with_20__1f631_", "label with \xf0\x9f\x98\xb1");
    s_unesc("U___31_label", "1label");
    s_unesc("plain_name", "plain_name");
    s_unesc("U__bad_zz_", "U__bad_zz_");
    s_unesc("U__open_2e", "U__open_2e");
    s_unesc("U__trailing_", "U__trailing_");
    s_unesc("U__surrogate_d800_", "U__surrogate_d800_");
    s_unesc("U__nul_0_", "U__nul_0_");
    s_unesc("U__toolong_1234567_", "U__toolong_1234567_");
}
END_TEST

Suite *
fw_names_suite(void)
{
    Suite *s = suite_create("fw_names");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_names_valid);
    tcase_add_test(tc, test_fw_names_escape_unescape);
    suite_add_tcase(s, tc);
    return s;
}
