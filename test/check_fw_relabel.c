/*  check_fw_relabel.c — unit tests for relabeling (common/fw_relabel.c).

    Table-driven: each case is a label set, rules as they would be written in
    prometheus.yml, and the set Prometheus makes of it (or a drop). The cases are those of
    Prometheus's model/relabel/relabel_test.go TestRelabel and of its documentation
    (configuration.md, <relabel_config>), written again here as data; hashmod's expected
    values (976, 734) come from that test, so they pin md5 and the byte order. The
    validation cases check Prometheus's error texts at the rule's line:column.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_cfg.h"
#include "fw_md5.h"
#include "fw_mem.h"
#include "fw_relabel.h"

Suite *fw_relabel_suite(void);

// "a=foo|b=bar" into l.
static void
s_parse(const char *spec, struct fw_labels *l)
{
    char *copy = strdup(spec);
    for (char *save = NULL, *p = strtok_r(copy, "|", &save); p; p = strtok_r(NULL, "|", &save)) {
        char *eq = strchr(p, '=');
        ck_assert_ptr_nonnull(eq);
        *eq = '\0';
        fw_labels_set(l, p, eq + 1);
    }
    free(copy);
}

// l as "a=foo|b=bar" (sorted), into buf.
static const char *
s_show(const struct fw_labels *l, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->len && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s=%s", i ? "|" : "", l->items[i].name,
                              l->items[i].value);
    return buf;
}

struct t_case {
    const char *name;
    const char *in;
    const char *rules; // YAML flow sequence of rules
    const char *out;   // NULL: dropped
};
// A case named "legacy: ..." is prepared under metric_name_validation_scheme legacy, any
// other under utf8.

static const struct t_case s_cases[] = {
    {"replace with ${1}", "a=foo|b=bar|c=baz",
     "[{source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch${1}-ch${1}'}]",
     "a=foo|b=bar|c=baz|d=choo-choo"},
    {"two sources, two rules", "a=foo|b=bar|c=baz",
     "[{source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: a, replacement: 'b${1}${2}m'},"
     " {source_labels: [c, a], regex: '(b).*b(.*)ba(.*)', target_label: d, "
     "replacement: '$1$2$2$3'}]",
     "a=boobam|b=bar|c=baz|d=boooom"},
    {"drop stops the rest", "a=foo",
     "[{source_labels: [a], regex: '.*o.*', action: drop},"
     " {source_labels: [a], regex: 'f(.*)', target_label: d, replacement: 'ch$1-ch$1'}]",
     NULL},
    {"drop, then keep", "a=foo|b=bar",
     "[{source_labels: [a], regex: '.*o.*', action: drop},"
     " {source_labels: [b], regex: 'f(.*)', action: keep}]",
     NULL},
    {"anchored group", "a=abc", "[{source_labels: [a], regex: '.*(b).*', target_label: d}]",
     "a=abc|d=b"},
    {"drop without a match", "a=foo", "[{source_labels: [a], regex: no-match, action: drop}]",
     "a=foo"},
    {"drop is anchored", "a=foo", "[{source_labels: [a], regex: 'f|o', action: drop}]", "a=foo"},
    {"keep without a match", "a=foo", "[{source_labels: [a], regex: no-match, action: keep}]",
     NULL},
    {"keep with a match", "a=foo", "[{source_labels: [a], regex: 'f.*', action: keep}]", "a=foo"},
    {"no match, no replacement", "a=boo",
     "[{source_labels: [a], regex: f, target_label: b, replacement: bar}]", "a=boo"},
    {"blank replacement deletes", "a=foo|f=baz",
     "[{source_labels: [a], regex: '(f).*', target_label: '$1', replacement: '$2'}]", "a=foo"},
    {"hashmod 1000 of baz", "a=foo|b=bar|c=baz",
     "[{source_labels: [c], target_label: d, action: hashmod, modulus: 1000}]",
     "a=foo|b=bar|c=baz|d=976"},
    {"hashmod 1000 with a newline", "a=foo\nbar",
     "[{source_labels: [a], target_label: b, action: hashmod, modulus: 1000}]", "a=foo\nbar|b=734"},
    {"labelmap", "a=foo|b1=bar|b2=baz",
     "[{regex: '(b.*)', replacement: 'bar_${1}', action: labelmap}]",
     "a=foo|b1=bar|b2=baz|bar_b1=bar|bar_b2=baz"},
    {"labelmap of __meta", "a=foo|__meta_my_bar=aaa|__meta_my_baz=bbb|__meta_other=ccc",
     "[{regex: '__meta_(my.*)', replacement: '${1}', action: labelmap}]",
     "__meta_my_bar=aaa|__meta_my_baz=bbb|__meta_other=ccc|a=foo|my_bar=aaa|my_baz=bbb"},
    {"target from a group", "a=some-name-value",
     "[{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${2}', "
     "target_label: '${1}'}]",
     "a=some-name-value|name=value"},
    {"replacement of a missing group", "a=some-name-value",
     "[{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${3}', "
     "target_label: '${1}'}]",
     "a=some-name-value"},
    {"empty target after expansion writes nothing", "a=some-name-0",
     "[{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', "
     "target_label: '${3}'},"
     " {source_labels: [a], regex: 'some-([^-]+)(-[^,]+)', replacement: '${1}', "
     "target_label: '${3}'}]",
     "a=some-name-0"},
    // Prometheus 2's TestRelabel case; Prometheus 3 (utf8) writes the label "0".
    {"legacy: invalid target after expansion writes nothing", "a=some-name-0",
     "[{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', "
     "target_label: '${2}'}]",
     "a=some-name-0"},
    {"utf8: a digit target after expansion is a name", "a=some-name-0",
     "[{source_labels: [a], regex: 'some-([^-]+)-([^,]+)', replacement: '${1}', "
     "target_label: '${2}'}]",
     "0=name|a=some-name-0"},
    {"real-life tags", "__meta_sd_tags=path:/secret,job:some-job,label:foo=bar",
     "[{source_labels: [__meta_sd_tags], regex: '(?:.+,|^)path:(/[^,]+).*', "
     "target_label: __metrics_path__, replacement: '${1}'},"
     " {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)job:([^,]+).*', target_label: job},"
     " {source_labels: [__meta_sd_tags], regex: '(?:.+,|^)label:([^=]+)=([^,]+).*', "
     "target_label: '${1}', replacement: '${2}'}]",
     "__meta_sd_tags=path:/secret,job:some-job,label:foo=bar|__metrics_path__=/secret|foo=bar|"
     "job=some-job"},
    {"lowercase, uppercase", "foo=bAr123Foo",
     "[{source_labels: [foo], target_label: foo_uppercase, action: Uppercase},"
     " {source_labels: [foo], target_label: foo_lowercase, action: lowercase}]",
     "foo=bAr123Foo|foo_lowercase=bar123foo|foo_uppercase=BAR123FOO"},
    {"keepequal equal", "__tmp_port=1234|__port1=1234|__port2=5678",
     "[{source_labels: [__tmp_port], target_label: __port1, action: keepequal}]",
     "__port1=1234|__port2=5678|__tmp_port=1234"},
    {"dropequal equal", "__tmp_port=1234|__port1=1234|__port2=5678",
     "[{source_labels: [__tmp_port], target_label: __port1, action: dropequal}]", NULL},
    {"dropequal different", "__tmp_port=1234|__port1=1234|__port2=5678",
     "[{source_labels: [__tmp_port], target_label: __port2, action: dropequal}]",
     "__port1=1234|__port2=5678|__tmp_port=1234"},
    {"keepequal different", "__tmp_port=1234|__port1=1234|__port2=5678",
     "[{source_labels: [__tmp_port], target_label: __port2, action: keepequal}]", NULL},
    {"dot matches a newline", "a=line1\nline2|b=bar|c=baz",
     "[{source_labels: [a], regex: 'line1.*line2', target_label: d, replacement: 'match${1}'}]",
     "a=line1\nline2|b=bar|c=baz|d=match"},
    {"named groups, $name and ${name}", "a=line1\nline2",
     "[{source_labels: [a], regex: '(line1).*(?P<second>line2)', target_label: 'label1_${1}', "
     "replacement: 'val_${second}'},"
     " {source_labels: [a], regex: '(line1).*(?P<second>line2)', target_label: 'label2_$1', "
     "replacement: 'val_$second'}]",
     "a=line1\nline2|label1_line1=val_line2|label2_line1=val_line2"},
    {"__name__ to __type__", "__name__=http_requests_total",
     "[{source_labels: [__name__], regex: '.*_total$', target_label: __type__, "
     "replacement: counter}]",
     "__name__=http_requests_total|__type__=counter"},
    // The documentation's examples (configuration.md and the relabeling guide).
    {"docs: labeldrop", "a=1|__meta_x=2|instance=h:1", "[{regex: '__meta_.*', action: labeldrop}]",
     "a=1|instance=h:1"},
    {"docs: labelkeep", "a=1|b=2|instance=h:1", "[{regex: 'a|instance', action: labelkeep}]",
     "a=1|instance=h:1"},
    {"docs: default replace copies the joined value", "a=x|b=y",
     "[{source_labels: [a, b], separator: '-', target_label: c}]", "a=x|b=y|c=x-y"},
    {"docs: absent source labels join as empty", "a=x",
     "[{source_labels: [a, missing], target_label: c}]", "a=x|c=x;"},
    {"docs: a constant", "a=x", "[{target_label: env, replacement: prod}]", "a=x|env=prod"},
    {"docs: address to port 9100", "__address__=10.0.0.1:8080",
     "[{source_labels: [__address__], regex: '(.*):\\d+', target_label: __address__, "
     "replacement: '${1}:9100'}]",
     "__address__=10.0.0.1:9100"},
    {"docs: drop a metric by name", "__name__=go_gc_duration_seconds|job=j",
     "[{source_labels: [__name__], regex: 'go_.*', action: drop}]", NULL},
    {"docs: hashmod shards", "__address__=a:1",
     "[{source_labels: [__address__], modulus: 3, target_label: __tmp_hash, action: hashmod},"
     " {source_labels: [__tmp_hash], regex: '^1$', action: keep}]",
     "__address__=a:1|__tmp_hash=1"},
    {"empty value does not set", "a=x", "[{source_labels: [b], target_label: c}]", "a=x"},
    {"action any case", "a=x", "[{source_labels: [a], regex: x, action: DROP}]", NULL},
    // Prometheus 3's UTF-8 names (utf8 scheme, its default) and the legacy scheme's limits.
    {"utf8: UTF-8 target and source", "a.b=x",
     "[{source_labels: ['a.b'], target_label: 'c.d'}, {target_label: '1x', replacement: y}]",
     "1x=y|a.b=x|c.d=x"},
    {"utf8: template expanding to a UTF-8 name", "a=k8s.io/zone:eu",
     "[{source_labels: [a], regex: '(.*):(.*)', target_label: '${1}', replacement: '$2'},"
     " {source_labels: [a], regex: '(.*):(.*)', target_label: 'x.${2}', replacement: '$2'}]",
     "a=k8s.io/zone:eu|k8s.io/zone=eu|x.eu=eu"},
    {"utf8: '${1' and '1$1' targets ($1 expands, '${1' stays)", "a=v",
     "[{target_label: '${1', replacement: p}, {source_labels: [a], target_label: '1$1'}]",
     "${1=p|1v=v|a=v"},
    {"utf8: labelmap to UTF-8 names", "__meta_k8s.app=web|__meta_x=1|a=2",
     "[{regex: '__meta_(.*)', replacement: 'meta.${1}', action: labelmap}]",
     "__meta_k8s.app=web|__meta_x=1|a=2|meta.k8s.app=web|meta.x=1"},
    {"utf8: expanded empty target writes nothing", "a=v",
     "[{source_labels: [a], regex: '(v)(.*)', target_label: '$2', replacement: z}]", "a=v"},
    {"utf8: hashmod and lowercase to UTF-8 targets", "a=X",
     "[{source_labels: [a], target_label: 'h.m', modulus: 1000, action: hashmod},"
     " {source_labels: [a], target_label: 'l.c', action: lowercase}]",
     "a=X|h.m=27|l.c=x"},
    {"legacy: template expanding to a UTF-8 name writes nothing", "a=k8s.io:eu|b=zone",
     "[{source_labels: [a], regex: '(.*):(.*)', target_label: '${1}', replacement: '$2'},"
     " {source_labels: [b], target_label: 'x_${1}'}]",
     "a=k8s.io:eu|b=zone|x_zone=zone"},
    {"legacy: UTF-8 source labels still read", "a.b=x",
     "[{source_labels: ['a.b'], target_label: c}]", "a.b=x|c=x"},
    {"legacy: labelmap writes what it makes (Prometheus does not check it)", "a.b=x",
     "[{regex: '(a.*)', replacement: '${1}_2', action: labelmap}]", "a.b=x|a.b_2=x"},
};

START_TEST(test_fw_relabel_cases)
{
    const struct t_case *c = &s_cases[_i];
    char yaml[2048];
    snprintf(yaml, sizeof(yaml), "r: %s\n", c->rules);
    struct check_util_rules t;
    struct fw_cfg_errors errs;
    bool legacy = strncmp(c->name, "legacy:", 7) == 0;
    int rc =
        check_util_rules_load_scheme(yaml, legacy ? FW_NAMES_LEGACY : FW_NAMES_UTF8, &t, &errs);
    ck_assert_msg(rc == 0, "%s: %s", c->name, errs.len ? errs.items[0].msg : "?");
    struct fw_labels l = FW_LABELS_INIT;
    s_parse(c->in, &l);
    bool keep = fw_relabel_process(t.r, t.n, &l);
    char got[1024];
    if (!c->out)
        ck_assert_msg(!keep, "%s: kept %s", c->name, s_show(&l, got, sizeof(got)));
    else
        ck_assert_msg(keep && strcmp(s_show(&l, got, sizeof(got)), c->out) == 0, "%s: %s, want %s",
                      c->name, keep ? got : "dropped", c->out);

    fw_labels_clear(&l);
    check_util_rules_free(&t);
}
END_TEST

// Prometheus's Config.Validate texts, at the rule's line:column.
struct t_bad {
    const char *rules;
    const char *msg;
    int line, col;
};

static const struct t_bad s_bad[] = {
    {"r:\n  - {action: hashmod, target_label: x}\n",
     "relabel configuration for hashmod requires non-zero modulus", 2, 5},
    {"r:\n  - source_labels: [a]\n    action: lowercase\n",
     "relabel configuration for lowercase action requires 'target_label' value", 2, 5},
    // Still invalid under utf8: empty names.
    {"r:\n  - {action: labelmap, replacement: ''}\n",
     "\"\" is invalid 'replacement' for labelmap action", 2, 5},
    {"r:\n  - {target_label: ''}\n",
     "relabel configuration for replace action requires 'target_label' value", 2, 5},
    {"r:\n  - source_labels: [a, '']\n", "\"\" is not a valid label name", 2, 24},
    {"r:\n  - {target_label: x, action: uppercase, replacement: y}\n",
     "'replacement' can not be set for uppercase action", 2, 5},
    {"r:\n  - {action: keepequal, target_label: x, regex: 'a'}\n",
     "keepequal action requires only 'source_labels' and `target_label`, and no other fields", 2,
     5},
    {"r:\n  - {action: labeldrop, regex: a, target_label: x}\n",
     "labeldrop action requires only 'regex', and no other fields", 2, 5},
    {"r:\n  - {action: labelkeep, source_labels: [a]}\n",
     "labelkeep action requires only 'regex', and no other fields", 2, 5},
    {"r:\n  - action: nope\n", "unknown relabel action \"nope\"", 2, 13},
    {"r:\n  - regex: '(a'\n", "error parsing regexp: missing closing ): `^(?s:(a)$`", 2, 12},
    {"r:\n  - {action: hashmod, target_label: x, modulus: -1}\n", "out of range", 2, 49},
};

// Under metric_name_validation_scheme legacy: legacy names only (utf8 takes these).
static const struct t_bad s_bad_legacy[] = {
    {"r:\n  - {target_label: '1x'}\n", "\"1x\" is invalid 'target_label' for replace action", 2, 5},
    {"r:\n  - {target_label: '${1'}\n", "\"${1\" is invalid 'target_label' for replace action", 2,
     5},
    {"r:\n  - {target_label: 'a.b'}\n", "\"a.b\" is invalid 'target_label' for replace action", 2,
     5},
    {"r:\n  - {target_label: 'a.${1}'}\n",
     "\"a.${1}\" is invalid 'target_label' for replace action", 2, 5},
    {"r:\n  - {target_label: 'a.b', action: hashmod, modulus: 2}\n",
     "\"a.b\" is invalid 'target_label' for hashmod action", 2, 5},
    {"r:\n  - {target_label: 'a.b', action: keepequal}\n",
     "\"a.b\" is invalid 'target_label' for keepequal action", 2, 5},
    {"r:\n  - {action: labelmap, replacement: '1$1'}\n",
     "\"1$1\" is invalid 'replacement' for labelmap action", 2, 5},
};

static void
s_assert_bad(const struct t_bad *b, fw_names_scheme_t scheme)
{
    struct check_util_rules t;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(check_util_rules_load_scheme(b->rules, scheme, &t, &errs), -1);
    check_util_cfg_error_assert(&errs, "r.yml", b->msg, b->line, b->col);
    check_util_rules_free(&t);
}

START_TEST(test_fw_relabel_validation)
{
    s_assert_bad(&s_bad[_i], FW_NAMES_UTF8);
}
END_TEST

START_TEST(test_fw_relabel_validation_legacy)
{
    s_assert_bad(&s_bad_legacy[_i], FW_NAMES_LEGACY);
}
END_TEST

// Rules Prometheus 2 refused that Prometheus 3 takes under utf8 (its default) and still
// refuses under legacy (NULL: legacy takes it too).
static const struct {
    const char *rules;
    const char *legacy_msg;
} s_scheme_cases[] = {
    {"r: [{target_label: '1x'}]\n", "\"1x\" is invalid 'target_label' for replace action"},
    {"r: [{target_label: '${1'}]\n", "\"${1\" is invalid 'target_label' for replace action"},
    {"r: [{action: labelmap, replacement: '1$1'}]\n",
     "\"1$1\" is invalid 'replacement' for labelmap action"},
    {"r: [{target_label: 'k8s.io/app', action: uppercase}]\n",
     "\"k8s.io/app\" is invalid 'target_label' for uppercase action"},
    {"r: [{target_label: 'é', action: dropequal}]\n",
     "\"é\" is invalid 'target_label' for dropequal action"},
    {"r: [{source_labels: [a, '1b'], target_label: c}]\n", NULL},
    {"r: [{source_labels: ['k8s.io/app'], regex: web, action: keep}]\n", NULL},
};

START_TEST(test_fw_relabel_schemes)
{
    const char *rules = s_scheme_cases[_i].rules, *msg = s_scheme_cases[_i].legacy_msg;
    struct check_util_rules t;
    struct fw_cfg_errors errs;
    int rc = check_util_rules_load_scheme(rules, FW_NAMES_UTF8, &t, &errs);
    ck_assert_msg(rc == 0, "utf8 %s: %s", rules, errs.len ? errs.items[0].msg : "?");
    check_util_rules_free(&t);
    rc = check_util_rules_load_scheme(rules, FW_NAMES_LEGACY, &t, &errs);
    if (msg)
        check_util_cfg_error_assert(&errs, "r.yml", msg, 1, 5);
    else
        ck_assert_msg(rc == 0, "legacy %s: %s", rules, errs.len ? errs.items[0].msg : "?");
    check_util_rules_free(&t);
}
END_TEST

// md5 against RFC 1321's test suite, and the byte order hashmod takes from it.
START_TEST(test_fw_relabel_md5)
{
    static const struct {
        const char *in, *hex;
    } v[] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t d[16];
        char hex[33];
        fw_md5(v[i].in, strlen(v[i].in), d);
        for (int j = 0; j < 16; j++)
            snprintf(hex + 2 * j, 3, "%02x", d[j]);
        ck_assert_str_eq(hex, v[i].hex);
    }
}
END_TEST

// fw_relabel_describe: a rule as text for logs.
START_TEST(test_fw_relabel_describe)
{
    struct check_util_rules t;
    struct fw_cfg_errors errs;
    ck_assert_int_eq(
        check_util_rules_load("r: [{source_labels: [a], regex: '1.*', action: drop}]\n", &t, &errs),
        0);
    char *d = fw_relabel_describe(&t.r[0]);
    ck_assert_ptr_nonnull(strstr(d, "action=drop"));
    ck_assert_ptr_nonnull(strstr(d, "source_labels=a"));
    free(d);
    check_util_rules_free(&t);
}
END_TEST

Suite *
fw_relabel_suite(void)
{
    Suite *s = suite_create("fw_relabel");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_fw_relabel_cases, 0, (int)(sizeof(s_cases) / sizeof(s_cases[0])));
    tcase_add_loop_test(tc, test_fw_relabel_validation, 0, (int)(sizeof(s_bad) / sizeof(s_bad[0])));
    tcase_add_loop_test(tc, test_fw_relabel_validation_legacy, 0,
                        (int)(sizeof(s_bad_legacy) / sizeof(s_bad_legacy[0])));
    tcase_add_loop_test(tc, test_fw_relabel_schemes, 0,
                        (int)(sizeof(s_scheme_cases) / sizeof(s_scheme_cases[0])));
    tcase_add_test(tc, test_fw_relabel_md5);
    tcase_add_test(tc, test_fw_relabel_describe);
    suite_add_tcase(s, tc);
    return s;
}
