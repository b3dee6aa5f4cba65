/*  check_notifyd_wechat.c — the WeChat request builder and its two answer functions, after
    Alertmanager's notify/wechat/wechat.go: the token step (GET gettoken, query escaped as
    Go's url.Values.Encode escapes it), the cached token (the next build goes straight to
    message/send), the body (weChatMessage's fields; text and markdown never omitted, the
    others omitted when empty, safe "0", json.Encoder's trailing newline), errcode 0
    delivered, 42001 back to the token step with the cached token dropped, any other
    errcode failed with errmsg, an answer that is not JSON retried, an answer without
    access_token failed; and api_secret_file read when the token is fetched.
*/
#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../notifyd/notifyd_tmpl.h"
#include "../notifyd/notifyd_wechat.h"

static json_t *
s_payload(void)
{
    return json_loads(
        "{\"receiver\":\"w\",\"status\":\"firing\",\"externalURL\":\"http://am:9093\","
        "\"groupKey\":\"{}:{alertname=\\\"LineStopped\\\"}\","
        "\"groupLabels\":{\"alertname\":\"LineStopped\"},"
        "\"commonLabels\":{\"alertname\":\"LineStopped\",\"plant\":\"P\"},"
        "\"commonAnnotations\":{},"
        "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"plant\":\"P\",\"line\":\"L1\","
        "\"alertname\":\"LineStopped\"},\"annotations\":{\"summary\":\"one\"},"
        "\"generatorURL\":\"http://g/1\"}]}",
        0, NULL);
}

static json_t *
s_config(void)
{
    return json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "send_resolved", 0, "message", "hello",
                     "api_url", "http://wx.example/cgi-bin/", "api_secret", "s&c r+t/\u00e9",
                     "corp_id", "corp 1", "message_type", "text");
}

static void
s_answer(struct notifyd_req *r, const char *body, struct notifyd_answer *an)
{
    memset(an, 0, sizeof *an);
    ck_assert(r->answer != NULL);
    r->answer(r, body, an);
}

START_TEST(test_notifyd_wechat_token_then_send)
{
    notifyd_wechat_forget();
    json_t *p = s_payload(), *cfg = s_config();
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, NULL), 0);
    // url.Values{"corpsecret","corpid"}.Encode(): keys sorted, QueryEscape (space '+').
    ck_assert_str_eq(r.url, "http://wx.example/cgi-bin/gettoken?corpid=corp+1&corpsecret="
                            "s%26c+r%2Bt%2F%C3%A9");
    ck_assert(r.get);
    ck_assert(r.retry_4xx);
    // The message, built now and sent after the token.
    ck_assert_str_eq(r.body, "{\"text\":{\"content\":\"hello\"},\"safe\":\"0\","
                             "\"msgtype\":\"text\",\"markdown\":{\"content\":\"\"}}\n");
    struct notifyd_answer an;
    s_answer(&r,
             "{\"errcode\":0,\"errmsg\":\"ok\",\"access_token\":\"TOK/1\","
             "\"expires_in\":7200}",
             &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_NEXT);
    ck_assert_str_eq(r.url, "http://wx.example/cgi-bin/message/send?access_token=TOK%2F1");
    ck_assert(!r.get);
    s_answer(&r, "{\"errcode\":0,\"errmsg\":\"ok\",\"msgid\":\"m\"}", &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_DELIVERED);
    notifyd_req_clear(&r);
    // The token is cached: the next notification goes straight to message/send.
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.url, "http://wx.example/cgi-bin/message/send?access_token=TOK%2F1");
    ck_assert(!r.get);
    // 42001: the token expired; dropped, and the retry starts from the token step.
    s_answer(&r, "{\"errcode\":42001,\"errmsg\":\"access_token expired\"}", &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_RESEND);
    ck_assert_str_eq(an.reason, "token_expired");
    ck_assert(r.get);
    ck_assert_ptr_nonnull(strstr(r.url, "/gettoken?corpid=corp+1&corpsecret="));
    notifyd_req_clear(&r);
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, NULL), 0);
    ck_assert(r.get); // no cached token any more
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

// A notification to corp `corp`: true when its token was cached (the request goes straight to
// message/send); else the token step, answered with a token, so that it is cached now.
static bool
s_notify_corp(json_t *p, int corp)
{
    json_t *cfg = s_config();
    char id[16];
    snprintf(id, sizeof id, "c%d", corp);
    json_object_set_new(cfg, "corp_id", json_string(id));
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, NULL), 0);
    bool cached = !r.get;
    if (!cached) {
        struct notifyd_answer an;
        s_answer(&r, "{\"errcode\":0,\"access_token\":\"T\"}", &an);
        ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_NEXT);
    }
    notifyd_req_clear(&r);
    json_decref(cfg);
    usleep(2000); // each token fetched in its own millisecond: "oldest" is well defined
    return cached;
}

START_TEST(test_notifyd_wechat_cache_evicts_oldest)
{
    notifyd_wechat_forget();
    json_t *p = s_payload();
    for (int c = 0; c < 16; c++) // the cache's 16 slots, c0 in the first
        ck_assert(!s_notify_corp(p, c));
    ck_assert(s_notify_corp(p, 0));
    // c0's token expires: dropped, then fetched again, into the first slot, the newest now.
    json_t *cfg = s_config();
    json_object_set_new(cfg, "corp_id", json_string("c0"));
    struct notifyd_req r;
    struct notifyd_answer an;
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, NULL), 0);
    s_answer(&r, "{\"errcode\":42001,\"errmsg\":\"access_token expired\"}", &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_RESEND);
    s_answer(&r, "{\"errcode\":0,\"access_token\":\"T2\"}", &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_NEXT);
    notifyd_req_clear(&r);
    json_decref(cfg);
    usleep(2000);
    // A 17th corp takes the slot of the oldest token, c1's, not the first slot's.
    ck_assert(!s_notify_corp(p, 16));
    ck_assert(s_notify_corp(p, 0));
    ck_assert(s_notify_corp(p, 2));
    ck_assert(!s_notify_corp(p, 1));
    json_decref(p);
    notifyd_wechat_forget();
}
END_TEST

START_TEST(test_notifyd_wechat_answers)
{
    notifyd_wechat_forget();
    json_t *p = s_payload(), *cfg = s_config();
    struct notifyd_req r;
    struct notifyd_answer an;
    // A token answer without access_token fails (Alertmanager: "invalid APISecret ...").
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, NULL), 0);
    s_answer(&r, "{\"errcode\":40001,\"errmsg\":\"invalid credential\"}", &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_FAILED);
    ck_assert_str_eq(an.detail, "invalid APISecret for CorpID: corp 1: invalid credential");
    ck_assert_ptr_null(strstr(an.detail, "s&c"));
    notifyd_req_clear(&r);
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, NULL), 0);
    s_answer(&r, "<html>", &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_FAILED);
    notifyd_req_clear(&r);
    // Send answers: another errcode fails with errmsg; not JSON is retried.
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, NULL), 0);
    s_answer(&r, "{\"access_token\":\"T2\"}", &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_NEXT);
    s_answer(&r, "{\"errcode\":81013,\"errmsg\":\"user & party & tag all invalid\"}", &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_FAILED);
    ck_assert_str_eq(an.reason, "errcode");
    ck_assert_str_eq(an.detail, "errcode 81013: user & party & tag all invalid");
    s_answer(&r, "oops", &an);
    ck_assert_int_eq(an.verdict, NOTIFYD_ANSWER_RESEND);
    ck_assert_str_eq(r.url, "http://wx.example/cgi-bin/message/send?access_token=T2");
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_wechat_body)
{
    notifyd_wechat_forget();
    json_t *p = s_payload(), *cfg = s_config();
    json_object_del(cfg, "message");
    json_object_set_new(cfg, "message_type", json_string("markdown"));
    json_object_set_new(cfg, "to_user", json_string("{{ .CommonLabels.plant }}-ops"));
    json_object_set_new(cfg, "to_party", json_string("2"));
    json_object_set_new(cfg, "to_tag", json_string(""));
    json_object_set_new(cfg, "agent_id", json_string("1000002"));
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, NULL), 0);
    json_t *b = json_loads(r.body, 0, NULL);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(b, "text"), "content")), "");
    const char *md = json_string_value(json_object_get(json_object_get(b, "markdown"), "content"));
    // wechat.default.message: the subject, the (empty) common annotations, the list.
    ck_assert_msg(strncmp(md, "[FIRING:1] LineStopped (P)\n\nAlerts Firing:\nLabels:\n", 49) == 0,
                  "%s", md);
    ck_assert_ptr_nonnull(strstr(md, "AlertmanagerUrl:\nhttp://am:9093"));
    ck_assert_str_eq(json_string_value(json_object_get(b, "touser")), "P-ops");
    ck_assert_str_eq(json_string_value(json_object_get(b, "toparty")), "2");
    ck_assert_ptr_null(json_object_get(b, "totag"));
    ck_assert_str_eq(json_string_value(json_object_get(b, "agentid")), "1000002");
    ck_assert_str_eq(json_string_value(json_object_get(b, "msgtype")), "markdown");
    ck_assert_ptr_nonnull(strstr(r.body, "{\"text\":{\"content\":\"\"},\"touser\":\"P-ops\","
                                         "\"toparty\":\"2\",\"agentid\":\"1000002\","
                                         "\"safe\":\"0\",\"msgtype\":\"markdown\",\"markdown\":"));
    json_decref(b);
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_wechat_secret_file)
{
    notifyd_wechat_forget();
    const char *path = "test/tmp/wechat_secret";
    (void)mkdir("test/tmp", 0755);
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: run from the repository root", path);
    fputs("  from-file\n", f);
    fclose(f);
    json_t *p = s_payload(), *cfg = s_config();
    json_object_del(cfg, "api_secret");
    json_object_set_new(cfg, "api_secret_file", json_string(path));
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.url,
                     "http://wx.example/cgi-bin/gettoken?corpid=corp+1&corpsecret=from-file");
    notifyd_req_clear(&r);
    unlink(path);
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "api_secret_file"));
    json_object_del(cfg, "api_url");
    ck_assert_int_eq(notifyd_wechat_build(cfg, p, &r, &err), -1);
    json_decref(cfg);
    json_decref(p);
    notifyd_wechat_forget();
}
END_TEST

Suite *
notifyd_wechat_suite(void)
{
    Suite *s = suite_create("notifyd_wechat");
    TCase *tc = tcase_create("wechat");
    tcase_add_test(tc, test_notifyd_wechat_token_then_send);
    tcase_add_test(tc, test_notifyd_wechat_answers);
    tcase_add_test(tc, test_notifyd_wechat_body);
    tcase_add_test(tc, test_notifyd_wechat_secret_file);
    tcase_add_test(tc, test_notifyd_wechat_cache_evicts_oldest);
    suite_add_tcase(s, tc);
    return s;
}
