/*  check_fw_tmpl_fmt.c — printf as Go 1.19's fmt.Sprintf (common/fw_tmpl_fmt.c) and nil
    []string arguments, over Alertmanager's data.

    Every expected text is what the real Debian amtool 0.25 rendered for the same template
    and the same payload (amtool template render --template.data=<s_payload as a file>);
    template_diff.sh found these differences at seeds 2, 5, 6, 7, 9 to 12, 14, 16 and 19.
*/
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fw_tmpl.h"

Suite *fw_tmpl_fmt_suite(void);

static const char *const s_payload =
    "{\"receiver\":\"team-x\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
    "\"labels\":{\"alertname\":\"LineDown\",\"severity\":\"page\"},\"annotations\":"
    "{\"summary\":\"line <down>\"},\"startsAt\":\"2026-01-02T03:04:05.5Z\",\"endsAt\":"
    "\"0001-01-01T00:00:00Z\",\"generatorURL\":\"http://prom/g\",\"fingerprint\":\"abc\"}],"
    "\"groupLabels\":{\"alertname\":\"LineDown\"},\"commonLabels\":{\"alertname\":\"LineDown\","
    "\"severity\":\"page\"},\"commonAnnotations\":{},\"externalURL\":\"http://am:9093\"}";

static fw_tmpl_set_t *s_set;
static json_t *s_data;

static void
s_setup(void)
{
    s_set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(s_set);
    json_error_t je;
    json_t *payload = json_loads(s_payload, 0, &je);
    ck_assert_ptr_nonnull(payload);
    s_data = fw_tmpl_am_data(payload);
    json_decref(payload);
}

static void
s_teardown(void)
{
    fw_tmpl_set_destroy(&s_set);
    json_decref(s_data);
}

static void
s_expect(const char *text, const char *want)
{
    fw_err_t err = {0};
    char *out = NULL;
    int rc = fw_tmpl_exec_text(s_set, "x", text, s_data, &out, &err);
    ck_assert_msg(rc == 0, "%s: %s", text, err.msg);
    ck_assert_msg(strcmp(out, want) == 0, "%s: got \"%s\" want \"%s\"", text, out, want);
    free(out);
}

// The usage example: printf of a label.
START_TEST(test_fw_tmpl_fmt_new_use_destroy)
{
    s_expect("{{ printf \"%s/%d\" .CommonLabels.alertname 3 }}", "LineDown/3");
}
END_TEST

// fmt's printValue: a slice's or a map's verb and flags apply to each element, each padded
// on its own (seeds 2, 7, 9, 10, 11: the whole slice was one bad verb or one string).
START_TEST(test_fw_tmpl_fmt_elements)
{
    s_expect("{{ printf \"%8.3q|%t|%d|%x|%s|%-4v|%.2s|\" .CommonLabels.Names .CommonLabels.Names "
             "(stringSlice \"a\") (stringSlice \"ab\" \"c\") .CommonLabels .GroupLabels.Names "
             ".GroupLabels }}",
             "[   \"ale\"    \"sev\"]|[%!t(string=alertname) %!t(string=severity)]|"
             "[%!d(string=a)]|[6162 63]|map[alertname:LineDown severity:page]|[alertname]|"
             "map[al:Li]|");
}
END_TEST

// fmt's badVerb prints the value as %v under the verb's width, precision and flags (seeds 6,
// 9, 11, 12); %x of a float is hexadecimal.
START_TEST(test_fw_tmpl_fmt_bad_verb_flags)
{
    s_expect("{{ printf \"%-6s|%06.1f|%.3s|%5.2f|%+d|%05t|%x\" true true 97 \"tab\\tq\" \"x\" -3 "
             "1.5 }}",
             "%!s(bool=true  )|%!f(bool=00true)|%!s(int=097)|%!f(string=   ta)|%!d(string=x)|"
             "%!t(int=-0003)|0x1.8p+00");
}
END_TEST

// The '+' and '#' of %v (field names, Go syntax), '+' of %q (ASCII), runes for %c, %q and
// %U, zero padding of strings.
START_TEST(test_fw_tmpl_fmt_flags)
{
    s_expect("{{ printf \"%+v|%+v|%#v|%#v|%#v|%+q|%c|%q|%05s|%U|%#U|% v|%#q|%08.3f|%-8.3e|%+.2g|\" "
             "5 (index .CommonLabels.SortedPairs 0) .GroupLabels .CommonLabels.Names \"a\\\"\\n\" "
             "\"é\" 233 233 \"ab\" 233 233 5 \"r\" -1.5 1500.0 0.5 }}",
             "5|{Name:alertname Value:LineDown}|template.KV{\"alertname\":\"LineDown\"}|"
             "[]string{\"alertname\", \"severity\"}|\"a\\\"\\n\"|\"\\u00e9\"|é|'é'|000ab|U+00E9|"
             "U+00E9 'é'| 5|`r`|-001.500|1.500e+03|+0.5|");
}
END_TEST

// A []string parameter takes nil, and no value (a field of the nil data a template called
// without data sees), as Go's nil slice (seed 5: "invalid value; expected []string").
START_TEST(test_fw_tmpl_fmt_nil_slice)
{
    s_expect("{{ define \"d\" }}{{ join \",\" .A }}|{{ $.B.C | join \"-\" }}|{{ .A }}{{ end }}"
             "{{ template \"d\" }}|{{ join \",\" nil }}|{{ .CommonLabels.Remove nil }}",
             "||<no value>||map[alertname:LineDown severity:page]");
}
END_TEST

// template.Alert's StartsAt and EndsAt are Go time.Time values: a verb their String method
// does not serve prints the struct (wall, ext, a nil loc), %#v their GoString (seed 14).
START_TEST(test_fw_tmpl_fmt_time_fields)
{
    s_expect("{{ printf \"%d|%t\" (index .Alerts 0) (index .Alerts 0) }}",
             "{%!d(string=firing) map[%!d(string=alertname):%!d(string=LineDown) "
             "%!d(string=severity):%!d(string=page)] map[%!d(string=summary):%!d(string=line "
             "<down>)] {500000000 63902919845 0} {0 0 0} %!d(string=http://prom/g) "
             "%!d(string=abc)}|{%!t(string=firing) map[%!t(string=alertname):%!t(string=LineDown) "
             "%!t(string=severity):%!t(string=page)] map[%!t(string=summary):%!t(string=line "
             "<down>)] {%!t(uint64=500000000) %!t(int64=63902919845) %!t(*time.Location=<nil>)} "
             "{%!t(uint64=0) %!t(int64=0) %!t(*time.Location=<nil>)} %!t(string=http://prom/g) "
             "%!t(string=abc)}");
    s_expect("{{ printf \"%#v\" (index .Alerts 0) }}",
             "template.Alert{Status:\"firing\", Labels:template.KV{\"alertname\":\"LineDown\", "
             "\"severity\":\"page\"}, Annotations:template.KV{\"summary\":\"line <down>\"}, "
             "StartsAt:time.Date(2026, time.January, 2, 3, 4, 5, 500000000, time.UTC), "
             "EndsAt:time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC), "
             "GeneratorURL:\"http://prom/g\", Fingerprint:\"abc\"}");
}
END_TEST

// Sprint puts no space next to a template.HTML (a Go string kind), and a range's variables
// are declared, with the range's value, in its {{else}} too (seeds 16, 19).
START_TEST(test_fw_tmpl_fmt_sprint_range_else)
{
    s_expect("{{ print 3.14159 (safeHtml \"\") 1 2 (safeHtml \"a\") }}|{{ range $k, $x := "
             ".CommonAnnotations }}-{{ else }}{{ printf \"%v\" $x }}{{ $k }}{{ end }}|{{ range $v "
             ":= (stringSlice) }}{{ else }}{{ $v }}{{ end }}",
             "3.141591 2a|map[]map[]|[]");
}
END_TEST

Suite *
fw_tmpl_fmt_suite(void)
{
    Suite *s = suite_create("fw_tmpl_fmt");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_fw_tmpl_fmt_new_use_destroy);
    tcase_add_test(tc, test_fw_tmpl_fmt_elements);
    tcase_add_test(tc, test_fw_tmpl_fmt_bad_verb_flags);
    tcase_add_test(tc, test_fw_tmpl_fmt_flags);
    tcase_add_test(tc, test_fw_tmpl_fmt_nil_slice);
    tcase_add_test(tc, test_fw_tmpl_fmt_time_fields);
    tcase_add_test(tc, test_fw_tmpl_fmt_sprint_range_else);
    suite_add_tcase(s, tc);
    return s;
}
