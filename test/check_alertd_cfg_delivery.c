/*  check_alertd_cfg_delivery.c — floorwatch's per-receiver delivery extensions fw_timeout
    and fw_rate_limit: loaded, carried in NOTIFY's `delivery`, refused with file:line:col
    when wrong, and absent from NOTIFY when not configured.
*/
#include <check.h>
#include <jansson.h>
#include <string.h>

#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_cfg_receivers.h"
#include "fw_msg.h"

static struct alertd_cfg *
s_load(const char *text, struct fw_cfg_errors *errs)
{
    memset(errs, 0, sizeof *errs);
    return alertd_cfg_load("d.yml", text, errs);
}

START_TEST(test_alertd_cfg_delivery_notify)
{
    struct fw_cfg_errors errs;
    struct alertd_cfg *cfg = s_load("route: {receiver: a}\n"
                                    "receivers:\n"
                                    "  - name: a\n"
                                    "    fw_timeout: 2500ms\n"
                                    "    fw_rate_limit: {requests: 5, interval: 1m}\n"
                                    "  - name: b\n"
                                    "    fw_rate_limit: {requests: 1, interval: 2s, queue: 0}\n"
                                    "  - name: plain\n",
                                    &errs);
    ck_assert_msg(cfg != NULL, "%s", errs.len ? errs.items[0].msg : "?");
    json_t *n = json_object();
    alertd_cfg_receivers_notify(alertd_cfg_receiver(cfg, "a"), n);
    json_t *want = json_loads("{\"timeout_ms\": 2500, \"rate_limit\": {\"requests\": 5, "
                              "\"interval_ms\": 60000, \"queue\": 100}}",
                              0, NULL);
    ck_assert_msg(json_equal(json_object_get(n, "delivery"), want), "%s",
                  json_dumps(json_object_get(n, "delivery"), JSON_COMPACT));
    json_decref(want);
    json_object_clear(n);
    alertd_cfg_receivers_notify(alertd_cfg_receiver(cfg, "b"), n);
    want = json_loads("{\"rate_limit\": {\"requests\": 1, \"interval_ms\": 2000, \"queue\": 0}}", 0,
                      NULL);
    ck_assert(json_equal(json_object_get(n, "delivery"), want));
    json_decref(want);
    json_object_clear(n);
    alertd_cfg_receivers_notify(alertd_cfg_receiver(cfg, "plain"), n);
    ck_assert_ptr_null(json_object_get(n, "delivery"));
    // The decoder takes a NOTIFY carrying it (fw_msg.def).
    json_object_set_new(n, "receiver", json_string("a"));
    json_object_set_new(n, "webhook_configs", json_array());
    json_object_set_new(n, "payload", json_object());
    json_object_set_new(n, "delivery", json_pack("{s:i}", "timeout_ms", 1000));
    struct fw_msg *m = fw_msg_new_json(FW_MSG_NOTIFY, json_incref(n));
    fw_err_t err;
    zmsg_t *z = fw_msg_encode(m, &err);
    ck_assert_ptr_nonnull(z);
    struct fw_msg *back = NULL;
    ck_assert_msg(fw_msg_decode(z, &back, &err) == 0, "%s", err.msg);
    fw_msg_destroy(&back);
    zmsg_destroy(&z);
    fw_msg_destroy(&m);
    json_decref(n);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_alertd_cfg_delivery_refused)
{
    static const char *const want[] = {
        "d.yml:4:17: error: value 0s out of range [1ms, 1h] for key 'fw_timeout'",
        "d.yml:5:34: error: unknown key 'burst' in receivers[0].fw_rate_limit",
        "d.yml:5:20: error: fw_rate_limit: interval must be configured",
        "d.yml:7:20: error: fw_rate_limit: requests must be configured",
        "d.yml:9:55: error: value 200000 out of range [0, 100000] for key 'queue'",
    };
    struct fw_cfg_errors errs;
    struct alertd_cfg *cfg = s_load("route: {receiver: a}\n"                       // 1
                                    "receivers:\n"                                 // 2
                                    "  - name: a\n"                                // 3
                                    "    fw_timeout: 0s\n"                         // 4
                                    "    fw_rate_limit: {requests: 5, burst: 3}\n" // 5
                                    "  - name: b\n"                                // 6
                                    "    fw_rate_limit: {interval: 1s}\n"          // 7
                                    "  - name: c\n"                                // 8
                                    "    fw_rate_limit: {requests: 1, interval: 1s, queue: "
                                    "200000}\n", // 9
                                    &errs);
    ck_assert_ptr_null(cfg);
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        bool found = false;
        for (size_t j = 0; j < errs.len && !found; j++) {
            char buf[600];
            found = strcmp(fw_err_format(&errs.items[j], buf, sizeof buf), want[i]) == 0;
        }
        ck_assert_msg(found, "missing error: %s", want[i]);
    }
}
END_TEST

Suite *
alertd_cfg_delivery_suite(void)
{
    Suite *s = suite_create("alertd_cfg_delivery");
    TCase *tc = tcase_create("delivery");
    tcase_add_test(tc, test_alertd_cfg_delivery_notify);
    tcase_add_test(tc, test_alertd_cfg_delivery_refused);
    suite_add_tcase(s, tc);
    return s;
}
