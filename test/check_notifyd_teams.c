/*  check_notifyd_teams.c — the Microsoft Teams request builders (msteams_configs,
    msteamsv2_configs) and floorwatch's Azure Communication Services SMS builder and signer.

    Debian's Alertmanager 0.25 has no Teams receiver, so the Teams bodies are checked against
    the payload Alertmanager's notify/msteams/msteams.go and notify/msteamsv2/msteamsv2.go
    encode (their structs and constants; the upstream tests assert no body) with the texts of
    template/default.tmpl written out by hand here. The SMS signature was computed
    independently with python3's hmac (Microsoft's documented string to sign):
        key = base64.b64encode(b"floorwatch-test-access-key-32by!")
        date = email.utils.formatdate(1796032800, usegmt=True)
        h = b64(sha256(body)); sts = f"POST\n/sms?api-version=2021-03-07\n{date};{host};{h}"
        sig = b64(hmac.new(b64decode(key), sts.encode(), hashlib.sha256).digest())
*/
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../notifyd/notifyd_azuresms.h"
#include "../notifyd/notifyd_msteams.h"
#include "../notifyd/notifyd_tmpl.h"

#define S_KEY "Zmxvb3J3YXRjaC10ZXN0LWFjY2Vzcy1rZXktMzJieSE="

static json_t *
s_payload(void)
{
    return json_loads(
        "{\"receiver\":\"team a\",\"status\":\"firing\",\"externalURL\":\"http://am:9093\","
        "\"groupKey\":\"{}:{alertname=\\\"LineStopped\\\"}\","
        "\"groupLabels\":{\"alertname\":\"LineStopped\"},"
        "\"commonLabels\":{\"alertname\":\"LineStopped\",\"plant\":\"P\"},"
        "\"commonAnnotations\":{},"
        "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"plant\":\"P\",\"line\":\"L1\","
        "\"alertname\":\"LineStopped\"},\"annotations\":{\"summary\":\"one\"},"
        "\"generatorURL\":\"http://g/1\"},"
        "{\"status\":\"firing\",\"labels\":{\"alertname\":\"LineStopped\",\"line\":\"L2\","
        "\"plant\":\"P\"},\"annotations\":{},\"generatorURL\":\"http://g/2\"}]}",
        0, NULL);
}

// msteams.default.text / msteamsv2.default.text for s_payload(), from default.tmpl.
static const char s_text[] = "\n"
                             "\n# Alerts Firing:\n"
                             "\nLabels:\n  - alertname = LineStopped\n  - line = L1\n"
                             "  - plant = P\n\nAnnotations:\n  - summary = one\n\n"
                             "Source: http://g/1\n"
                             "\nLabels:\n  - alertname = LineStopped\n  - line = L2\n"
                             "  - plant = P\n\nAnnotations:\n\nSource: http://g/2\n"
                             "\n"  // end of __text_alert_list_markdown
                             "\n"  // after the template call
                             "\n"  // after the firing {{ end }}
                             "\n"; // after the resolved {{ end }}

static void
s_assert_json_eq(const char *got, json_t *want)
{
    json_error_t e;
    json_t *g = json_loads(got, 0, &e);
    ck_assert_msg(g != NULL, "not JSON: %s", got);
    char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
    char *gs = json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(g, want), "got  %s\nwant %s", gs, w);
    free(w);
    free(gs);
    json_decref(g);
    json_decref(want);
}

START_TEST(test_notifyd_msteams_default_body)
{
    json_t *p = s_payload();
    json_t *cfg = json_pack("{s:b, s:s}", "send_resolved", 1, "webhook_url",
                            "https://example.webhook.office.com/webhookb2/x");
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_msteams_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.url, "https://example.webhook.office.com/webhookb2/x");
    ck_assert_uint_eq(r.headers_len, 0);
    // Alertmanager's teamsMessage: @context, "type" (sic), title, summary, text, themeColor.
    s_assert_json_eq(r.body, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "@context",
                                       "http://schema.org/extensions", "type", "MessageCard",
                                       "title", "[FIRING:2] LineStopped (P)", "summary",
                                       "[FIRING:2] LineStopped (P)", "text", s_text, "themeColor",
                                       "8C1A1A"));
    ck_assert_ptr_nonnull(strstr(r.body, "{\"@context\":\"http://schema.org/extensions\","
                                         "\"type\":\"MessageCard\",\"title\":"));
    notifyd_req_clear(&r);
    // Resolved: green, the resolved list; literal texts sent as they are.
    json_t *a = json_object_get(p, "alerts");
    for (size_t i = 0; i < json_array_size(a); i++)
        json_object_set_new(json_array_get(a, i), "status", json_string("resolved"));
    json_object_set_new(p, "status", json_string("resolved"));
    json_object_set_new(cfg, "title", json_string("Line down"));
    json_object_set_new(cfg, "summary", json_string(""));
    ck_assert_int_eq(notifyd_msteams_build(cfg, p, &r, NULL), 0);
    json_t *got = json_loads(r.body, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(got, "themeColor")), "2DC72D");
    ck_assert_str_eq(json_string_value(json_object_get(got, "title")), "Line down");
    ck_assert_str_eq(json_string_value(json_object_get(got, "summary")), "");
    const char *text = json_string_value(json_object_get(got, "text"));
    ck_assert(strncmp(text, "\n\n\n# Alerts Resolved:\n\nLabels:\n", 31) == 0);
    json_decref(got);
    notifyd_req_clear(&r);
    json_object_del(cfg, "webhook_url");
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_msteams_build(cfg, p, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "webhook_url"));
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_msteamsv2_adaptive_card)
{
    json_t *p = s_payload();
    json_t *cfg = json_pack("{s:b, s:s}", "send_resolved", 1, "webhook_url",
                            "https://example.westeurope.logic.azure.com:443/workflows/x");
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_msteamsv2_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.url, "https://example.westeurope.logic.azure.com:443/workflows/x");
    json_t *want = json_loads(
        "{\"type\":\"message\",\"attachments\":[{"
        "\"contentType\":\"application/vnd.microsoft.card.adaptive\",\"contentUrl\":null,"
        "\"content\":{\"$schema\":\"http://adaptivecards.io/schemas/adaptive-card.json\","
        "\"type\":\"AdaptiveCard\",\"version\":\"1.2\",\"body\":["
        "{\"type\":\"TextBlock\",\"text\":\"[FIRING:2] LineStopped (P)\",\"weight\":\"Bolder\","
        "\"size\":\"Medium\",\"wrap\":true,\"style\":\"heading\",\"color\":\"Attention\"},"
        "{\"type\":\"TextBlock\",\"text\":\"\",\"wrap\":true}],"
        "\"msteams\":{\"width\":\"full\"}}}]}",
        0, NULL);
    json_t *b = json_array_get(
        json_object_get(
            json_object_get(json_array_get(json_object_get(want, "attachments"), 0), "content"),
            "body"),
        1);
    json_object_set_new(b, "text", json_string(s_text));
    s_assert_json_eq(r.body, want);
    notifyd_req_clear(&r);
    // Resolved: "Good".
    json_t *a = json_object_get(p, "alerts");
    for (size_t i = 0; i < json_array_size(a); i++)
        json_object_set_new(json_array_get(a, i), "status", json_string("resolved"));
    json_object_set_new(p, "status", json_string("resolved"));
    json_object_set_new(cfg, "text", json_string("literal"));
    ck_assert_int_eq(notifyd_msteamsv2_build(cfg, p, &r, NULL), 0);
    ck_assert_ptr_nonnull(strstr(r.body, "\"color\":\"Good\""));
    ck_assert_ptr_nonnull(strstr(r.body, "{\"type\":\"TextBlock\",\"text\":\"literal\","
                                         "\"wrap\":true}"));
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_azuresms_sign_known)
{
    char hash[45];
    const char *body = "{\"from\":\"+18005550100\",\"smsRecipients\":[{\"to\":\"+15555550101\"},"
                       "{\"to\":\"+15555550102\"}],\"message\":\"[FIRING:2] LineStopped (P)\","
                       "\"smsSendOptions\":{\"enableDeliveryReport\":false}}";
    char date[40];
    notifyd_azuresms_date(1796032800, date);
    ck_assert_str_eq(date, "Mon, 30 Nov 2026 10:00:00 GMT");
    char *auth = notifyd_azuresms_sign(S_KEY, "plant.communication.azure.com",
                                       "/sms?api-version=2021-03-07", date, body, hash);
    ck_assert_str_eq(hash, "M0lRo8e53waqSyX+BXA/46MfRuFx8OHUUdrXwtdPawE=");
    ck_assert_str_eq(auth, "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&"
                           "Signature=3PWdJ8XsUzSBLZavLAI8lhXR2mRcPoWZ0eSXLQk+nnY=");
    free(auth);
    ck_assert_ptr_null(notifyd_azuresms_sign("not base64!", "h", "/", date, body, hash));
    ck_assert_ptr_null(notifyd_azuresms_sign("", "h", "/", date, body, hash));
}
END_TEST

START_TEST(test_notifyd_azuresms_build)
{
    json_t *p = s_payload();
    json_t *cfg = json_pack("{s:b, s:s, s:s, s:s, s:[s,s]}", "send_resolved", 1, "endpoint",
                            "https://plant.communication.azure.com:443/", "access_key", S_KEY,
                            "from", "+18005550100", "to", "+15555550101", "+15555550102");
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_azuresms_build_at(cfg, p, 1796032800, &r, NULL), 0);
    ck_assert_str_eq(r.url, "https://plant.communication.azure.com:443/sms?api-version=2021-03-07");
    ck_assert_str_eq(r.body,
                     "{\"from\":\"+18005550100\",\"smsRecipients\":[{\"to\":\"+15555550101\"},"
                     "{\"to\":\"+15555550102\"}],\"message\":\"[FIRING:2] LineStopped (P)\","
                     "\"smsSendOptions\":{\"enableDeliveryReport\":false}}");
    ck_assert_uint_eq(r.headers_len, 3);
    ck_assert_str_eq(r.headers[0], "x-ms-date: Mon, 30 Nov 2026 10:00:00 GMT");
    ck_assert_str_eq(r.headers[1],
                     "x-ms-content-sha256: M0lRo8e53waqSyX+BXA/46MfRuFx8OHUUdrXwtdPawE=");
    // host signed without the default port, as the service sees it.
    ck_assert_str_eq(r.headers[2], "Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;"
                                   "x-ms-content-sha256&Signature="
                                   "3PWdJ8XsUzSBLZavLAI8lhXR2mRcPoWZ0eSXLQk+nnY=");
    notifyd_req_clear(&r);
    // Resolved, no common labels beyond the group's: no trailing blank; a literal message.
    json_object_set_new(p, "status", json_string("resolved"));
    json_object_set_new(p, "commonLabels", json_pack("{s:s}", "alertname", "LineStopped"));
    char *m = notifyd_tmpl_default("azuresms.default.message", p);
    ck_assert_str_eq(m, "[RESOLVED] LineStopped");
    free(m);
    json_object_set_new(cfg, "message", json_string("Line 1 stopped"));
    json_object_set_new(cfg, "endpoint", json_string("http://127.0.0.1:8080/base"));
    ck_assert_int_eq(notifyd_azuresms_build_at(cfg, p, 1796032800, &r, NULL), 0);
    ck_assert_str_eq(r.url, "http://127.0.0.1:8080/base/sms?api-version=2021-03-07");
    ck_assert_ptr_nonnull(strstr(r.body, "\"message\":\"Line 1 stopped\""));
    notifyd_req_clear(&r);
    // Refused: a key that is not base64, an endpoint that is not a URL, no recipient.
    fw_err_t err;
    json_object_set_new(cfg, "access_key", json_string("***"));
    ck_assert_int_eq(notifyd_azuresms_build_at(cfg, p, 1796032800, &r, &err), -1);
    json_object_set_new(cfg, "access_key", json_string(S_KEY));
    json_object_set_new(cfg, "endpoint", json_string("ftp://x"));
    ck_assert_int_eq(notifyd_azuresms_build_at(cfg, p, 1796032800, &r, &err), -1);
    json_object_set_new(cfg, "endpoint", json_string("https://x.communication.azure.com"));
    json_object_set_new(cfg, "to", json_array());
    ck_assert_int_eq(notifyd_azuresms_build_at(cfg, p, 1796032800, &r, &err), -1);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

// The 202's per-recipient results: the notification is delivered only when every recipient
// succeeded; 429/5xx/missing recipients are sent again alone, signed anew; a 400 fails for
// good with the service's errorMessage.
START_TEST(test_notifyd_azuresms_answer)
{
    json_t *p = s_payload();
    json_t *cfg = json_pack("{s:s, s:s, s:s, s:[s,s,s]}", "endpoint",
                            "https://plant.communication.azure.com/", "access_key", S_KEY, "from",
                            "+18005550100", "to", "+15555550101", "+15555550102", "+15555550103");
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_azuresms_build_at(cfg, p, 1796032800, &r, NULL), 0);
    ck_assert(r.answer == notifyd_azuresms_answer);
    struct notifyd_answer an = {0};
    notifyd_azuresms_answer_at(&r,
                               "{\"value\":[{\"to\":\"+15555550101\",\"httpStatusCode\":202,"
                               "\"successful\":true},{\"to\":\"+15555550102\",\"httpStatusCode\":"
                               "500,\"successful\":false,\"errorMessage\":\"Busy.\"},{\"to\":\"+"
                               "15555550103\",\"httpStatusCode\":400,\"successful\":false,"
                               "\"errorMessage\":\"Invalid To phone number format.\"}]}",
                               1796032900, &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_RESEND);
    ck_assert_uint_eq(an.delivered, 1);
    ck_assert_uint_eq(an.failed, 2);
    ck_assert_str_eq(an.reason, "recipient");
    ck_assert_str_eq(an.detail, "+15555550102: Busy. (500); +15555550103: Invalid To phone number "
                                "format. (400)");
    ck_assert_str_eq(r.failed, "+15555550103: Invalid To phone number format. (400)");
    // Only the 500 is sent again, with a new date, hash and signature over the new body.
    json_t *b = json_loads(r.body, 0, NULL);
    json_t *want = json_pack("[{s:s}]", "to", "+15555550102");
    ck_assert(json_equal(json_object_get(b, "smsRecipients"), want));
    json_decref(want);
    json_decref(b);
    ck_assert_uint_eq(r.headers_len, 3);
    ck_assert_str_eq(r.headers[0], "x-ms-date: Mon, 30 Nov 2026 10:01:40 GMT");
    char hash[45];
    char *auth =
        notifyd_azuresms_sign(S_KEY, "plant.communication.azure.com", "/sms?api-version=2021-03-07",
                              "Mon, 30 Nov 2026 10:01:40 GMT", r.body, hash);
    ck_assert_str_eq(r.headers[1] + strlen("x-ms-content-sha256: "), hash);
    ck_assert_str_eq(r.headers[2] + strlen("Authorization: "), auth);
    free(auth);
    // The retry succeeds, yet the 400 recipient keeps the outcome failed (r.failed).
    memset(&an, 0, sizeof an);
    notifyd_azuresms_answer_at(
        &r, "{\"value\":[{\"to\":\"+15555550102\",\"httpStatusCode\":202,\"successful\":true}]}",
        1796032901, &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_DELIVERED);
    ck_assert_uint_eq(an.delivered, 1);
    ck_assert_ptr_nonnull(r.failed);
    notifyd_req_clear(&r);
    // An answer without per-recipient results delivers nothing: all are sent again.
    ck_assert_int_eq(notifyd_azuresms_build_at(cfg, p, 1796032800, &r, NULL), 0);
    char *first = strdup(r.body);
    memset(&an, 0, sizeof an);
    notifyd_azuresms_answer_at(&r, "accepted", 1796032800, &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_RESEND);
    ck_assert_uint_eq(an.failed, 3);
    ck_assert_str_eq(r.body, first);
    ck_assert_ptr_null(r.failed);
    free(first);
    // Only refusals: failed, nothing to send again.
    memset(&an, 0, sizeof an);
    notifyd_azuresms_answer_at(&r,
                               "{\"value\":[{\"to\":\"+15555550101\",\"httpStatusCode\":400,"
                               "\"successful\":false},{\"to\":\"+15555550102\",\"httpStatusCode\":"
                               "400,\"successful\":false},{\"to\":\"+15555550103\","
                               "\"httpStatusCode\":202,\"successful\":true}]}",
                               1796032800, &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_FAILED);
    ck_assert_str_eq(r.failed, "+15555550101: not successful (400)");
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

Suite *
notifyd_teams_suite(void)
{
    Suite *s = suite_create("notifyd_teams");
    TCase *tc = tcase_create("builders");
    tcase_add_test(tc, test_notifyd_msteams_default_body);
    tcase_add_test(tc, test_notifyd_msteamsv2_adaptive_card);
    tcase_add_test(tc, test_notifyd_azuresms_sign_known);
    tcase_add_test(tc, test_notifyd_azuresms_build);
    tcase_add_test(tc, test_notifyd_azuresms_answer);
    suite_add_tcase(s, tc);
    return s;
}
