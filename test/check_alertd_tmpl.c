/*  check_alertd_tmpl.c — alertd_tmpl: a receiver's texts rendered with sample alerts (what
    `alertd template render` and POST /api/v2/template/render answer); test/it/template_render.sh
    compares the CLI with amtool and drives the API.
*/
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_cfg_email.h"
#include "../alertd/alertd_cfg_receivers.h"
#include "../alertd/alertd_tmpl.h"

Suite *alertd_tmpl_suite(void);

static const char *const s_cfg =
    "global: {smtp_smarthost: 'h:25', smtp_from: 'f@x'}\n"
    "route: {receiver: a}\n"
    "receivers:\n"
    "  - name: a\n"
    "    slack_configs: [{api_url: 'http://s/', text: '{{ len .Alerts }} {{ template \"t\" . "
    "}}'}]\n"
    "    msteams_configs: [{webhook_url: 'http://t/'}]\n"
    "    email_configs: [{to: 'o@x', html: '<i>{{ .CommonLabels.commonlabelkey1 }}</i>'}]\n";

// The text of integration[index].key in texts, or NULL.
static const char *
s_find(const json_t *texts, const char *integration, int index, const char *key)
{
    size_t i;
    json_t *t;
    json_array_foreach(texts, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "integration")), integration) == 0 &&
            json_integer_value(json_object_get(t, "index")) == index &&
            strcmp(json_string_value(json_object_get(t, "key")), key) == 0)
            return json_string_value(json_object_get(t, "text"));
    }
    return NULL;
}

START_TEST(test_alertd_tmpl_receiver_texts)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("t.yml", s_cfg, &errs);
    ck_assert_msg(cfg != NULL, "%s", errs.len ? errs.items[0].msg : "?");
    json_t *notify = json_object();
    alertd_cfg_receivers_notify(alertd_cfg_receiver(cfg, "a"), notify);
    alertd_cfg_email_notify(alertd_cfg_receiver(cfg, "a"), notify);
    json_t *files = json_pack("[{s:s, s:s}]", "name", "t.tmpl", "text",
                              "{{ define \"t\" }}T<{{ .Receiver }}>{{ end }}"
                              "{{ define \"__subject\" }}S{{ end }}");
    fw_tmpl_set_t *set = alertd_tmpl_set(files);
    json_t *payload = alertd_tmpl_sample("a");
    fw_err_t err = {0};
    json_t *texts = alertd_tmpl_render_receiver(set, notify, payload, &err);
    ck_assert_msg(texts != NULL, "%s", err.msg);
    ck_assert_str_eq(s_find(texts, "slack", 0, "text"), "2 T<a>");
    ck_assert_str_eq(s_find(texts, "slack", 0, "title"), "S"); // the file's __subject
    ck_assert_str_eq(s_find(texts, "slack", 0, "fallback"),
                     "S | https://example.com/#/alerts?receiver=a");
    ck_assert_str_eq(s_find(texts, "msteams", 0, "summary"), "S");
    ck_assert_str_eq(s_find(texts, "email", 0, "html"), "<i>commonlabelvalue1</i>");
    ck_assert_str_eq(s_find(texts, "email", 0, "headers.Subject"), "S");
    ck_assert_str_eq(s_find(texts, "email", 0, "headers.To"), "o@x");
    ck_assert_ptr_null(s_find(texts, "slack", 0, "channel")); // no default, not set
    json_decref(texts);
    // a text that fails names its config and key
    json_object_set_new(json_array_get(json_object_get(notify, "slack_configs"), 0), "text",
                        json_string("{{ template \"nope\" . }}"));
    ck_assert_ptr_null(alertd_tmpl_render_receiver(set, notify, payload, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "slack_configs[0].text: template: "));
    // one text, text and HTML mode
    char *out = NULL;
    ck_assert_int_eq(
        alertd_tmpl_render(set, "{{ .Status }} & <{{ .Receiver }}>", false, payload, &out, &err),
        0);
    ck_assert_str_eq(out, "alertstatus & <a>");
    free(out);
    ck_assert_int_eq(alertd_tmpl_render(set, "<b>{{ \"<&>\" }}</b>", true, payload, &out, &err), 0);
    ck_assert_str_eq(out, "<b>&lt;&amp;&gt;</b>");
    free(out);
    json_decref(payload);
    fw_tmpl_set_destroy(&set);
    json_decref(files);
    json_decref(notify);
    alertd_cfg_destroy(&cfg);
}
END_TEST

// Error texts of bad templates over amtool's sample data, each exactly as the Debian amtool
// 0.25 (`amtool template render --template.text=TEXT`) prints it after "amtool: error: ".
START_TEST(test_alertd_tmpl_error_texts_as_amtool)
{
    static const char *const cases[][2] = {
        {"{{ .Nope }}", "template: :1:3: executing \"\" at <.Nope>: can't evaluate field Nope in "
                        "type template.Data"},
        {"{{ .Labels.foo }}", "template: :1:10: executing \"\" at <.Labels.foo>: can't evaluate "
                              "field Labels in type template.Data"},
        {"{{ with .Alerts }}{{ .Nope }}{{ end }}",
         "template: :1:21: executing \"\" at <.Nope>: can't evaluate field Nope in type "
         "template.Alerts"},
        {"{{ range .Alerts }}{{ .Labels.SortedPairs.Nope }}{{ end }}",
         "template: :1:29: executing \"\" at <.Labels.SortedPairs.Nope>: can't evaluate field "
         "Nope in type template.Pairs"},
        {"{{ .Receiver 1 }}", "template: :1:3: executing \"\" at <.Receiver>: Receiver has "
                              "arguments but cannot be invoked as function"},
        {"{{ toUpper \"a\" \"b\" }}", "template: :1:3: executing \"\" at <toUpper>: wrong "
                                      "number of args for toUpper: want 1 got 2"},
        {"{{ stringSlice | join }}", "template: :1:17: executing \"\" at <join>: wrong number of "
                                     "args for join: want 2 got 1"},
        {"{{ nofunc }}", "template: :1: function \"nofunc\" not defined"},
        {"{{ template \"nope\" . }}", "template: :1:12: executing \"\" at <{{template \"nope\" "
                                      ".}}>: template \"nope\" not defined"},
        {"{{ 1 2 }}", "template: :1:3: executing \"\" at <1>: can't give argument to "
                      "non-function 1"},
        {"{{ reReplaceAll \"(\" \"x\" \"y\" }}",
         "template: :1:3: executing \"\" at <reReplaceAll \"(\" \"x\" \"y\">: error calling "
         "reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"},
        {"{{ title 3 }}", "template: :1:9: executing \"\" at <3>: expected string; found 3"},
        {"{{ join \",\" .Alerts }}", "template: :1:12: executing \"\" at <.Alerts>: wrong type "
                                     "for value; expected []string; got template.Alerts"},
        {"{{ toUpper .CommonLabels }}", "template: :1:11: executing \"\" at <.CommonLabels>: "
                                        "wrong type for value; expected string; got template.KV"},
        {"{{ toUpper nil }}",
         "template: :1:11: executing \"\" at <nil>: cannot assign nil to string"},
        {"{{ .CommonLabels.foo.bar }}", "template: :1:16: executing \"\" at "
                                        "<.CommonLabels.foo.bar>: can't evaluate field bar in "
                                        "type string"},
    };
    json_t *files = json_array();
    fw_tmpl_set_t *set = alertd_tmpl_set(files);
    json_t *payload = alertd_tmpl_sample(NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fw_err_t err = {0};
        char *out = NULL;
        ck_assert_msg(alertd_tmpl_render(set, cases[i][0], false, payload, &out, &err) < 0,
                      "%s: rendered \"%s\"", cases[i][0], out);
        ck_assert_msg(strcmp(err.msg, cases[i][1]) == 0, "%s:\n got  %s\n want %s", cases[i][0],
                      err.msg, cases[i][1]);
    }
    // the fields of a map (KV) are its keys: a missing one is "" (missingkey=zero)
    char *out = NULL;
    fw_err_t err = {0};
    ck_assert_int_eq(
        alertd_tmpl_render(set, "<{{ .CommonLabels.nope }}>", false, payload, &out, &err), 0);
    ck_assert_str_eq(out, "<>");
    free(out);
    json_decref(payload);
    fw_tmpl_set_destroy(&set);
    json_decref(files);
}
END_TEST

Suite *
alertd_tmpl_suite(void)
{
    Suite *s = suite_create("alertd_tmpl");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_alertd_tmpl_receiver_texts);
    tcase_add_test(tc, test_alertd_tmpl_error_texts_as_amtool);
    suite_add_tcase(s, tc);
    return s;
}
