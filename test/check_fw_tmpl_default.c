/*  check_fw_tmpl_default.c — floorwatch's default notification templates
    (common/fw_tmpl_default.tmpl, fw_tmpl_set_use_am_defaults) against Alertmanager 0.25's.

    Every template name that the Debian prometheus-alertmanager 0.25 package's default.tmpl
    and email.tmpl define is executed through both files for a set of payloads chosen to
    reach every branch (firing, resolved, both; no group labels; group labels sorting before
    alertname; no annotations; HTML-special and non-ASCII values; a receiver needing URL
    escaping), text mode and, for email.default.html, HTML mode: the outputs must be equal
    byte for byte. email.default.html must also equal the HTML part the real Alertmanager
    0.25 sent (test/data/fw_tmpl/am025_email.html). Without the Debian files the comparison
    prints that it was skipped; the fixed expectations still run.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/fw_tmpl.h"
#include "check_util.h"

Suite *fw_tmpl_default_suite(void);

static const char *const s_am_files[] = {"/usr/share/prometheus/alertmanager/default.tmpl",
                                         "/usr/share/prometheus/alertmanager/email.tmpl"};

static char *
s_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = calloc(1, 1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static fw_tmpl_set_t *
s_fw_set(void)
{
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(set);
    fw_tmpl_set_use_am_defaults(set);
    return set;
}

// Alertmanager 0.25's files in a set, or NULL when they are absent; *names gets every
// {{ define "NAME" }} of them.
static fw_tmpl_set_t *
s_am_set(json_t **names)
{
    fw_tmpl_set_t *set = fw_tmpl_set_new();
    fw_tmpl_set_use_alertmanager(set);
    *names = json_array();
    for (size_t i = 0; i < 2; i++) {
        char *text = s_read(s_am_files[i]);
        if (!text) {
            check_util_skip("check_fw_tmpl_default: %s absent, comparison with Alertmanager's "
                            "templates",
                            s_am_files[i]);
            fw_tmpl_set_destroy(&set);
            json_decref(*names);
            *names = NULL;
            return NULL;
        }
        fw_err_t err = {0};
        ck_assert_msg(fw_tmpl_parse(set, s_am_files[i] + 35, text, &err) == 0, "%s", err.msg);
        for (const char *p = text; (p = strstr(p, "define \"")) != NULL;) {
            p += 8;
            size_t n = strcspn(p, "\"");
            json_array_append_new(*names, json_stringn(p, n));
        }
        free(text);
    }
    return set;
}

// An alert of the webhook payload.
static json_t *
s_alert(const char *status, json_t *labels, json_t *annotations, const char *url)
{
    return json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:s}", "status", status, "labels", labels,
                     "annotations", annotations, "startsAt", "2026-01-02T03:04:05Z", "endsAt",
                     strcmp(status, "resolved") == 0 ? "2026-01-02T04:00:00Z"
                                                     : "0001-01-01T00:00:00Z",
                     "generatorURL", url, "fingerprint", "0123456789abcdef");
}

// The payloads: template data through fw_tmpl_am_data (new references in out[]).
static size_t
s_payloads(json_t *out[8])
{
    size_t n = 0;
    json_t *p;
    // two firing alerts of one group, common labels beyond the group's
    p = json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s}, s:{s:s}, s:[o, o]}", "receiver", "team-x",
                  "status", "firing", "externalURL", "http://am.example:9093", "groupLabels",
                  "alertname", "LineDown", "commonLabels", "alertname", "LineDown", "severity",
                  "page", "commonAnnotations", "summary", "line down", "alerts",
                  s_alert("firing",
                          json_pack("{s:s,s:s,s:s}", "alertname", "LineDown", "line", "1",
                                    "severity", "page"),
                          json_pack("{s:s}", "summary", "line down"), "http://prom/g1"),
                  s_alert("firing",
                          json_pack("{s:s,s:s,s:s}", "alertname", "LineDown", "line", "2",
                                    "severity", "page"),
                          json_pack("{s:s, s:s}", "summary", "line down", "runbook", "r"),
                          "http://prom/g2"));
    out[n++] = p;
    // firing and resolved; group labels sorting before alertname; a receiver with a blank
    p = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:{}, s:[o, o]}", "receiver",
                  "ops team/β", "status", "firing", "externalURL", "http://am/sub", "groupLabels",
                  "alertname", "Hot", "Zone", "z1", "commonLabels", "alertname", "Hot", "Zone",
                  "z1", "commonAnnotations", "alerts",
                  s_alert("firing",
                          json_pack("{s:s,s:s,s:s}", "alertname", "Hot", "Zone", "z1", "a",
                                    "<b> & \"c\" 'd' +e ü"),
                          json_pack("{s:s}", "description", "too <hot> & \"dry\""),
                          "http://prom/graph?g0.expr=a%3Db+c&g0.tab=1"),
                  s_alert("resolved", json_pack("{s:s,s:s}", "alertname", "Hot", "Zone", "z1"),
                          json_object(), "https://prom/x y"));
    out[n++] = p;
    // resolved only, no group labels, one alert without annotations
    p = json_pack("{s:s, s:s, s:s, s:{}, s:{s:s}, s:{}, s:[o]}", "receiver", "r", "status",
                  "resolved", "externalURL", "http://am", "groupLabels", "commonLabels",
                  "alertname", "Cold", "commonAnnotations", "alerts",
                  s_alert("resolved", json_pack("{s:s}", "alertname", "Cold"), json_object(), ""));
    out[n++] = p;
    // firing, no group labels and no common labels beyond them
    p = json_pack("{s:s, s:s, s:s, s:{}, s:{}, s:{}, s:[o]}", "receiver", "r", "status", "firing",
                  "externalURL", "javascript:alert(1)", "groupLabels", "commonLabels",
                  "commonAnnotations", "alerts",
                  s_alert("firing", json_pack("{s:s}", "x", "1"), json_object(), "ftp://x"));
    out[n++] = p;
    for (size_t i = 0; i < n; i++) {
        json_t *d = fw_tmpl_am_data(out[i]);
        json_decref(out[i]);
        out[i] = d;
    }
    return n;
}

static char *
s_exec(const fw_tmpl_set_t *set, const char *name, json_t *data, bool html)
{
    char *out = NULL;
    fw_err_t err = {0};
    int rc = html ? fw_tmpl_exec_html(set, name, NULL, data, &out, &err)
                  : fw_tmpl_exec(set, name, data, &out, &err);
    ck_assert_msg(rc == 0, "%s: %s", name, err.msg);
    return out;
}

// The dot of the *_alert_list templates is a list of alerts; of the others the data.
static json_t *
s_dot(const char *name, json_t *data)
{
    if (strncmp(name, "__text_alert_list", 17) == 0 ||
        strcmp(name, "pagerduty.default.instances") == 0)
        return json_object_get(data, "Alerts");
    return data;
}

START_TEST(test_fw_tmpl_default_same_as_am025)
{
    json_t *names;
    fw_tmpl_set_t *am = s_am_set(&names);
    if (!am)
        return;
    fw_tmpl_set_t *fw = s_fw_set();
    json_t *payloads[8];
    size_t np = s_payloads(payloads), compared = 0;
    size_t i;
    json_t *jn;
    json_array_foreach(names, i, jn)
    {
        const char *name = json_string_value(jn);
        ck_assert_msg(fw_tmpl_has(fw, name), "floorwatch's defaults lack \"%s\"", name);
        for (size_t k = 0; k < np; k++) {
            bool html = strcmp(name, "email.default.html") == 0;
            json_t *dot = s_dot(name, payloads[k]);
            char *a = s_exec(am, name, dot, html), *b = s_exec(fw, name, dot, html);
            ck_assert_msg(strcmp(a, b) == 0,
                          "%s, payload %zu:\nAlertmanager: \"%s\"\nfloorwatch:   \"%s\"", name, k,
                          a, b);
            free(a);
            free(b);
            compared++;
        }
    }
    ck_assert_uint_ge(json_array_size(names), 40); // 0.25 defines 41
    fprintf(stderr,
            "check_fw_tmpl_default: %zu names, %zu renderings equal to Alertmanager 0.25's\n",
            json_array_size(names), compared);
    for (size_t k = 0; k < np; k++)
        json_decref(payloads[k]);
    json_decref(names);
    fw_tmpl_set_destroy(&am);
    fw_tmpl_set_destroy(&fw);
}
END_TEST

// The HTML part the real Alertmanager 0.25 sent for test/data/fw_tmpl/am025_email_payload.json.
START_TEST(test_fw_tmpl_default_email_html_am025)
{
    fw_tmpl_set_t *fw = s_fw_set();
    json_error_t je;
    json_t *payload = json_load_file("test/data/fw_tmpl/am025_email_payload.json", 0, &je);
    ck_assert_ptr_nonnull(payload);
    json_t *d = fw_tmpl_am_data(payload);
    char *out = s_exec(fw, "email.default.html", d, true);
    char *want = s_read("test/data/fw_tmpl/am025_email.html");
    ck_assert_ptr_nonnull(want);
    ck_assert_str_eq(out, want);
    // a config text calling it, in HTML mode (Alertmanager's ExecuteHTMLString)
    char *wrapped = NULL;
    fw_err_t err = {0};
    ck_assert_int_eq(fw_tmpl_exec_html(fw, "html",
                                       "<p>{{ .CommonLabels.severity }}</p>"
                                       "{{ template \"email.default.html\" . }}",
                                       d, &wrapped, &err),
                     0);
    ck_assert_int_eq(strncmp(wrapped, "<p>page</p>", 11), 0);
    ck_assert_str_eq(wrapped + 11, want);
    free(wrapped);
    free(want);
    free(out);
    json_decref(d);
    json_decref(payload);
    fw_tmpl_set_destroy(&fw);
}
END_TEST

// Fixed texts (they hold without the Debian files), floorwatch's own names, and a
// `templates:` file parsed after the defaults: it calls them and redefines them.
START_TEST(test_fw_tmpl_default_texts_and_overrides)
{
    fw_tmpl_set_t *fw = s_fw_set();
    json_t *payloads[8];
    size_t np = s_payloads(payloads);
    ck_assert_uint_eq(np, 4);
    static const struct {
        size_t payload;
        const char *name, *want;
    } want[] = {
        {0, "__subject", "[FIRING:2] LineDown (page)"},
        {0, "slack.default.fallback",
         "[FIRING:2] LineDown (page) | http://am.example:9093/#/alerts?receiver=team-x"},
        {1, "__subject", "[FIRING:1] Hot z1 "},
        {1, "__alertmanagerURL", "http://am/sub/#/alerts?receiver=ops+team%2F%CE%B2"},
        {2, "__subject", "[RESOLVED]  (Cold)"},
        {3, "__subject", "[FIRING:1]  "},
        {0, "slack.default.color", "danger"},
        {2, "slack.default.color", "good"},
        {0, "pagerduty.details.num_firing", "2"},
        {0, "pagerduty.details.num_resolved", "0"},
        {1, "pagerduty.details.resolved",
         "Labels:\n - alertname = Hot\n - Zone = z1\nAnnotations:\nSource: https://prom/x y\n"},
        {0, "azuresms.default.message", "[FIRING:2] LineDown (page)"},
        {1, "azuresms.default.message", "[FIRING:1] Hot z1"},
        {2, "azuresms.default.message", "[RESOLVED]  (Cold)"},
        {3, "azuresms.default.message", "[FIRING:1]"},
        {2, "msteams.default.text",
         "\n\n\n# Alerts Resolved:\n\nLabels:\n  - alertname = Cold\n\nAnnotations:\n\n"
         "Source: \n\n\n\n"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char *out = s_exec(fw, want[i].name, payloads[want[i].payload], false);
        ck_assert_msg(strcmp(out, want[i].want) == 0, "%s #%zu: got \"%s\"", want[i].name, i, out);
        free(out);
    }
    // a config text calling a default; then a user file redefining __subject, which every
    // default built on it follows, and adding its own
    fw_err_t err = {0};
    char *out = NULL;
    ck_assert_int_eq(fw_tmpl_exec_text(fw, "title", "<{{ template \"slack.default.title\" . }}>",
                                       payloads[0], &out, &err),
                     0);
    ck_assert_str_eq(out, "<[FIRING:2] LineDown (page)>");
    free(out);
    ck_assert_int_eq(fw_tmpl_parse(fw, "plant.tmpl",
                                   "{{ define \"__subject\" }}{{ .CommonLabels.alertname }} is "
                                   "{{ .Status }}{{ end }}{{ define \"plant\" }}P1{{ end }}",
                                   &err),
                     0);
    static const char *const follows[] = {"slack.default.title", "email.default.subject",
                                          "pagerduty.default.description", "msteams.default.title"};
    for (size_t i = 0; i < sizeof follows / sizeof follows[0]; i++) {
        out = s_exec(fw, follows[i], payloads[0], false);
        ck_assert_msg(strcmp(out, "LineDown is firing") == 0, "%s: %s", follows[i], out);
        free(out);
    }
    out = s_exec(fw, "email.default.html", payloads[0], true);
    ck_assert_ptr_nonnull(strstr(out, "<title>LineDown is firing</title>"));
    free(out);
    out = s_exec(fw, "plant", payloads[0], false);
    ck_assert_str_eq(out, "P1");
    free(out);
    for (size_t k = 0; k < np; k++)
        json_decref(payloads[k]);
    fw_tmpl_set_destroy(&fw);
}
END_TEST

// Every default of fw_tmpl_am_keys (what notifyd renders a key with) is defined.
START_TEST(test_fw_tmpl_default_keys_defined)
{
    fw_tmpl_set_t *fw = s_fw_set();
    size_t n = 0;
    for (const struct fw_tmpl_am_key *k = fw_tmpl_am_keys; k->array; k++, n++)
        ck_assert_msg(!k->def || fw_tmpl_has(fw, k->def), "%s %s: no template \"%s\"", k->array,
                      k->key, k->def);
    ck_assert_uint_gt(n, 30);
    ck_assert_str_eq(fw_tmpl_am_key_default("slack_configs", "title"), "slack.default.title");
    ck_assert_ptr_null(fw_tmpl_am_key_default("slack_configs", "channel"));
    ck_assert_ptr_null(fw_tmpl_am_key_default(NULL, "title"));
    fw_tmpl_set_destroy(&fw);
}
END_TEST

// Render cost of the defaults one notification needs (Slack's seven texts and PagerDuty's
// six), to compare with the C functions they replace: printed, and bounded loosely so a
// pathological slowdown fails.
START_TEST(test_fw_tmpl_default_render_cost)
{
    fw_tmpl_set_t *fw = s_fw_set();
    json_t *payloads[8];
    size_t np = s_payloads(payloads);
    static const char *const names[] = {
        "slack.default.title",          "slack.default.titlelink",
        "slack.default.fallback",       "slack.default.username",
        "slack.default.color",          "slack.default.text",
        "slack.default.footer",         "pagerduty.default.description",
        "pagerduty.default.client",     "pagerduty.default.clientURL",
        "pagerduty.details.firing",     "pagerduty.details.resolved",
        "pagerduty.details.num_firing",
    };
    struct timespec t0, t1;
    const int rounds = 200;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char *out = s_exec(fw, names[i], payloads[0], false);
            free(out);
        }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us =
        ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / rounds;
    fprintf(stderr, "check_fw_tmpl_default: %zu default texts of one notification in %.1f us\n",
            sizeof names / sizeof names[0], us);
    ck_assert_msg(us < 20000, "%.1f us per notification", us);
    for (size_t k = 0; k < np; k++)
        json_decref(payloads[k]);
    fw_tmpl_set_destroy(&fw);
}
END_TEST

Suite *
fw_tmpl_default_suite(void)
{
    Suite *s = suite_create("fw_tmpl_default");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fw_tmpl_default_same_as_am025);
    tcase_add_test(tc, test_fw_tmpl_default_email_html_am025);
    tcase_add_test(tc, test_fw_tmpl_default_texts_and_overrides);
    tcase_add_test(tc, test_fw_tmpl_default_keys_defined);
    tcase_add_test(tc, test_fw_tmpl_default_render_cost);
    suite_add_tcase(s, tc);
    return s;
}
