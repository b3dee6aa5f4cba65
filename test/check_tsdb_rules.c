/*  check_tsdb_rules.c — tsdb's /api/v1/rules and /api/v1/alerts asked of ruled: the merge of
    several ruled answers (groups concatenated, a failed one in warnings, a 4xx passed on),
    and the routes end to end against a fake ruled (an fw_http server on loopback answering
    fixed JSON and echoing the filters it was given) and an address where nothing listens.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_http.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "../tsdb/tsdb_rules.h"

Suite *tsdb_rules_suite(void);

#define S_G1 "{\"name\":\"g1\",\"file\":\"a.yml\",\"rules\":[],\"interval\":15}"
#define S_G2 "{\"name\":\"g2\",\"file\":\"b.yml\",\"rules\":[],\"interval\":30}"

START_TEST(test_tsdb_rules_merge)
{
    struct tsdb_rules_answer ans[] = {
        {"http://r0", 200, "{\"status\":\"success\",\"data\":{\"groups\":[" S_G1 "]}}", ""},
        {"http://r1", 0, NULL, "Couldn't connect to server"},
        {"http://r2", 200, "{\"status\":\"success\",\"data\":{\"groups\":[" S_G2 "]}}", ""},
        {"http://r3", 500, "oops", ""},
    };
    int status;
    char *text = tsdb_rules_merge(ans, 4, "groups", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(text, "{\"status\":\"success\",\"data\":{\"groups\":[" S_G1 "," S_G2
                           "]},\"warnings\":[\"ruled http://r1: Couldn't connect to server\","
                           "\"ruled http://r3: HTTP status 500: answer is not JSON\"]}");
    free(text);
    // a refused filter is passed on whole
    struct tsdb_rules_answer bad[] = {
        {"http://r0", 400, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"x\"}", ""},
    };
    text = tsdb_rules_merge(bad, 1, "groups", &status);
    ck_assert_int_eq(status, 400);
    ck_assert_str_eq(text, bad[0].body);
    free(text);
    text = tsdb_rules_merge(NULL, 0, "alerts", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(text, "{\"status\":\"success\",\"data\":{\"alerts\":[]}}");
    free(text);
}
END_TEST

// The fake ruled: groups naming the query string it was asked with, and one alert.
static int
s_fake_rules(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)arg;
    const char *type = fw_http_arg(req, "type");
    const char *groups[4];
    size_t n = fw_http_args(req, "rule_group[]", groups, 4);
    resp->body =
        fw_asprintf("{\"status\":\"success\",\"data\":{\"groups\":[{\"name\":\"%s/%zu/%s\"}]}}",
                    type ? type : "-", n, n ? groups[n - 1] : "-");
    resp->content_type = "application/json";
    return 0;
}

static int
s_fake_alerts(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    (void)arg;
    fw_http_respond(resp, 200, "application/json",
                    "{\"status\":\"success\",\"data\":{\"alerts\":[{\"labels\":{\"alertname\":"
                    "\"A\"},\"state\":\"firing\"}]}}");
    return 0;
}

START_TEST(test_tsdb_rules_routes)
{
    fw_metrics_t *m = fw_metrics_new();
    fw_http_t *ruled = fw_http_new("ruled", m), *tsdb = fw_http_new("tsdb", m);
    fw_http_route(ruled, "GET,POST", "/api/v1/rules", s_fake_rules, NULL);
    fw_http_route(ruled, "GET,POST", "/api/v1/alerts", s_fake_alerts, NULL);
    fw_err_t err;
    ck_assert_msg(fw_http_start(ruled, "127.0.0.1:0", &err) == 0, "%s", err.msg);
    // a port nobody listens on: a closed listener's
    fw_http_t *gone = fw_http_new("gone", m);
    ck_assert_int_eq(fw_http_start(gone, "127.0.0.1:0", &err), 0);
    int dead = fw_http_port(gone);
    fw_http_destroy(&gone);
    char *urls = fw_asprintf("127.0.0.1:%d, http://127.0.0.1:%d/", fw_http_port(ruled), dead);
    tsdb_rules_t *rules = tsdb_rules_new(urls, 1000, &err);
    ck_assert_msg(rules, "%s", err.msg);
    free(urls);
    tsdb_rules_routes(rules, tsdb);
    ck_assert_int_eq(fw_http_start(tsdb, "127.0.0.1:0", &err), 0);
    char url[256];
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%d/api/v1/"
             "rules?type=alert&rule_group%%5B%%5D=a&rule_group%%5B%%5D=b%%20c",
             fw_http_port(tsdb));
    struct check_util_http r = check_util_http_get(url);
    ck_assert_int_eq(r.status, 200);
    char want[512];
    snprintf(want, sizeof(want),
             "{\"status\":\"success\",\"data\":{\"groups\":[{\"name\":\"alert/2/b c\"}]},"
             "\"warnings\":[\"ruled http://127.0.0.1:%d: ",
             dead);
    ck_assert_msg(strncmp(r.body, want, strlen(want)) == 0, "%s", r.body);
    check_util_http_clear(&r);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/alerts", fw_http_port(tsdb));
    r = check_util_http_post(url, "", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body,
                         "{\"status\":\"success\",\"data\":{\"alerts\":[{\"labels\":{"
                         "\"alertname\":\"A\"},\"state\":\"firing\"}]},\"warnings\":[") == r.body,
                  "%s", r.body);
    check_util_http_clear(&r);
    fw_http_destroy(&tsdb);
    tsdb_rules_destroy(&rules);
    fw_http_destroy(&ruled);
    // a bad list is refused with the flag's name
    ck_assert_ptr_null(tsdb_rules_new("ftp://x", 1000, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "--ruled.url: \"ftp://x\""));
    fw_metrics_destroy(&m);
}
END_TEST

Suite *
tsdb_rules_suite(void)
{
    Suite *s = suite_create("tsdb_rules");
    TCase *tc = tcase_create("rules");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_tsdb_rules_merge);
    tcase_add_test(tc, test_tsdb_rules_routes);
    suite_add_tcase(s, tc);
    return s;
}
