/*  check_alertd_api_order.c — Alertmanager 0.25's orders for API v2 answers
    (alertd_api_order.h): alerts by fingerprint, silences by state and time, alert groups
    filtered by receiver, emptied groups dropped, receivers per alert from the groups kept,
    alerts by job/instance/labels and groups by labels then receiver.
*/
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../alertd/alertd_api_order.h"
#include "../alertd/alertd_matcher.h"

// The values of key in each object of arr, joined by ','. Caller frees.
static char *
s_list(const json_t *arr, const char *key)
{
    char *out = calloc(1, 512);
    size_t i;
    const json_t *o;
    json_array_foreach(arr, i, o)
    {
        if (i)
            strcat(out, ",");
        strncat(out, json_string_value(json_object_get(o, key)), 64);
    }
    return out;
}

START_TEST(test_alertd_api_order_alerts_by_fingerprint)
{
    json_t *a = json_loads("[{\"fingerprint\":\"f0\"},{\"fingerprint\":\"0a\"},"
                           "{\"fingerprint\":\"5b\"}]",
                           0, NULL);
    ck_assert_ptr_nonnull(a);
    alertd_api_order_alerts(a);
    char *got = s_list(a, "fingerprint");
    ck_assert_str_eq(got, "0a,5b,f0");
    free(got);
    json_decref(a);
}
END_TEST

START_TEST(test_alertd_api_order_silences_by_state_and_time)
{
    json_t *s = json_loads("[{\"id\":\"exp-old\",\"status\":{\"state\":\"expired\"},\"endsAt\":"
                           "\"2030-01-01T00:00:00.000Z\"},"
                           "{\"id\":\"pend-late\",\"status\":{\"state\":\"pending\"},\"startsAt\":"
                           "\"2030-01-03T00:00:00.000Z\"},"
                           "{\"id\":\"act-late\",\"status\":{\"state\":\"active\"},\"endsAt\":"
                           "\"2030-01-05T00:00:00.000Z\"},"
                           "{\"id\":\"exp-new\",\"status\":{\"state\":\"expired\"},\"endsAt\":"
                           "\"2030-01-02T00:00:00.000Z\"},"
                           "{\"id\":\"pend-soon\",\"status\":{\"state\":\"pending\"},\"startsAt\":"
                           "\"2030-01-02T00:00:00.000Z\"},"
                           "{\"id\":\"act-soon\",\"status\":{\"state\":\"active\"},\"endsAt\":"
                           "\"2030-01-04T00:00:00.000Z\"}]",
                           0, NULL);
    ck_assert_ptr_nonnull(s);
    alertd_api_order_silences(s);
    char *got = s_list(s, "id");
    ck_assert_str_eq(got, "act-soon,act-late,pend-soon,pend-late,exp-new,exp-old");
    free(got);
    json_decref(s);
}
END_TEST

// Two groups hold alert "1" (receivers db and oncall), one group holds nothing after the
// filters, and one group's receiver is filtered out.
static const char *s_groups =
    "[{\"labels\":{\"alertname\":\"X\",\"env\":\"prod\"},\"receiver\":{\"name\":\"oncall\"},"
    "  \"alerts\":[{\"fingerprint\":\"1\",\"labels\":{\"job\":\"b\",\"instance\":\"i1\"}}]},"
    " {\"labels\":{\"alertname\":\"Y\"},\"receiver\":{\"name\":\"default\"},\"alerts\":[]},"
    " {\"labels\":{\"alertname\":\"X\"},\"receiver\":{\"name\":\"db\"},"
    "  \"alerts\":[{\"fingerprint\":\"1\",\"labels\":{\"job\":\"b\",\"instance\":\"i1\"}},"
    "             {\"fingerprint\":\"3\",\"labels\":{\"a\":\"z\"}},"
    "             {\"fingerprint\":\"2\",\"labels\":{\"job\":\"a\",\"instance\":\"i9\"}}]},"
    " {\"labels\":{\"alertname\":\"W\"},\"receiver\":{\"name\":\"tickets\"},"
    "  \"alerts\":[{\"fingerprint\":\"4\",\"labels\":{\"a\":\"b\"}}]}]";

START_TEST(test_alertd_api_order_groups)
{
    json_t *g = json_loads(s_groups, 0, NULL);
    ck_assert_ptr_nonnull(g);
    struct alertd_matchers none = {0};
    alertd_api_order_groups(g, &none);
    ck_assert_uint_eq(json_array_size(g), 3); // the empty group is gone
    // by label set: the smaller first ({alertname=W} < {alertname=X}), then receiver
    json_t *names = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(g, i, x) json_array_append(names, json_object_get(x, "receiver"));
    char *got = s_list(names, "name");
    ck_assert_str_eq(got, "tickets,db,oncall");
    free(got);
    json_decref(names);
    // in db's group: job a, then job b, then the alert without a job
    json_t *db = json_object_get(json_array_get(g, 1), "alerts");
    got = s_list(db, "fingerprint");
    ck_assert_str_eq(got, "2,1,3");
    free(got);
    // alert 1 is in db's and oncall's groups: both receivers, sorted
    got = s_list(json_object_get(json_array_get(db, 1), "receivers"), "name");
    ck_assert_str_eq(got, "db,oncall");
    free(got);
    json_decref(g);
}
END_TEST

START_TEST(test_alertd_api_order_groups_by_receiver)
{
    json_t *g = json_loads(s_groups, 0, NULL);
    struct alertd_matchers rcv = {0};
    ck_assert_int_eq(alertd_matchers_add(&rcv, FW_MATCH_RE, "receiver", "db|default", NULL), 0);
    alertd_api_order_groups(g, &rcv);
    ck_assert_uint_eq(json_array_size(g), 1); // default's group is empty, so dropped too
    json_t *alerts = json_object_get(json_array_get(g, 0), "alerts");
    // alert 1 is also in oncall's group, which the filter drops: only db is its receiver
    char *got = s_list(json_object_get(json_array_get(alerts, 1), "receivers"), "name");
    ck_assert_str_eq(got, "db");
    free(got);
    alertd_matchers_clear(&rcv);
    json_decref(g);
}
END_TEST

Suite *
alertd_api_order_suite(void)
{
    Suite *s = suite_create("alertd_api_order");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_alertd_api_order_alerts_by_fingerprint);
    tcase_add_test(tc, test_alertd_api_order_silences_by_state_and_time);
    tcase_add_test(tc, test_alertd_api_order_groups);
    tcase_add_test(tc, test_alertd_api_order_groups_by_receiver);
    suite_add_tcase(s, tc);
    return s;
}
