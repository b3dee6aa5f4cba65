/*  fuzz_notifyd_answers.c — what a receiver answers, as notifyd reads it: the input's first
    byte picks the integration, the rest is the 2xx answer's body (NUL-terminated, cut at
    NOTIFYD_REQ_MAX_ANSWER as the deliverer cuts it). Covered: Azure SMS's per-recipient
    results, Rocket.Chat's and Slack's Web API answers, Telegram's sendMessage answer,
    WeChat's gettoken and message/send answers (the token one leads to the send step, which
    reads the same body again), and an OAuth 2.0 token endpoint's answer. A receiver is
    anyone the config names: nothing it answers may crash notifyd or leave the request
    unusable for a retry.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notifyd_azuresms.h"
#include "notifyd_oauth2.h"
#include "notifyd_req.h"
#include "notifyd_rocketchat.h"
#include "notifyd_slack.h"
#include "notifyd_telegram.h"
#include "notifyd_wechat.h"
#include "fuzz_util.h"

#define S_PAYLOAD                                                                                  \
    "{\"receiver\":\"r\",\"status\":\"firing\",\"externalURL\":\"http://am:9093\","                \
    "\"groupKey\":\"{}:{alertname=\\\"LineStopped\\\"}\","                                         \
    "\"groupLabels\":{\"alertname\":\"LineStopped\"},"                                             \
    "\"commonLabels\":{\"alertname\":\"LineStopped\",\"line\":\"L1\"},"                            \
    "\"commonAnnotations\":{},\"alerts\":[{\"status\":\"firing\",\"labels\":{\"line\":\"L1\","     \
    "\"alertname\":\"LineStopped\"},\"annotations\":{\"summary\":\"one\"},"                        \
    "\"generatorURL\":\"http://g/1\"}]}"

enum { S_AZURESMS, S_ROCKETCHAT, S_SLACK_APP, S_TELEGRAM, S_WECHAT, S_OAUTH2, S_COUNT };

// The request integration `which` builds for S_PAYLOAD, 0; -1 when it refused (a bug here).
static int
s_build(int which, const json_t *data, struct notifyd_req *r)
{
    json_t *c = NULL;
    int rc = -1;
    fw_err_t err;
    fw_err_clear(&err);
    switch (which) {
    case S_AZURESMS:
        c = json_pack("{s:b, s:s, s:s, s:s, s:[s,s,s]}", "send_resolved", 1, "endpoint",
                      "http://127.0.0.1:9/", "access_key",
                      "Zmxvb3J3YXRjaC10ZXN0LWFjY2Vzcy1rZXktMzJieSE=", "from", "+18005550100", "to",
                      "+15555550101", "+15555550102", "+15555550103");
        rc = notifyd_azuresms_build(c, data, r, &err);
        break;
    case S_ROCKETCHAT:
        c = json_pack("{s:b, s:s, s:s, s:s}", "send_resolved", 0, "url",
                      "http://127.0.0.1:9/api/v1/chat.postMessage", "token", "tok-1", "token_id",
                      "uid-1");
        rc = notifyd_rocketchat_build(c, data, r, &err);
        break;
    case S_SLACK_APP:
        c = json_pack("{s:s}", "api_url", "http://127.0.0.1:9/api/chat.postMessage");
        rc = notifyd_slack_build(c, data, r, &err);
        break;
    case S_TELEGRAM:
        c = json_pack("{s:b, s:s, s:s, s:s, s:s}", "send_resolved", 1, "bot_token", "123:tok",
                      "api_url", "http://127.0.0.1:9/tg", "chat_id", "-1001234", "parse_mode",
                      "HTML");
        rc = notifyd_telegram_build(c, data, r, &err);
        break;
    case S_WECHAT:
        c = json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "send_resolved", 0, "message", "hello",
                      "api_url", "http://127.0.0.1:9/cgi-bin/", "api_secret", "s3cret", "corp_id",
                      "corp-1", "message_type", "text");
        rc = notifyd_wechat_build(c, data, r, &err);
        break;
    }
    json_decref(c);
    return rc;
}

// An OAuth 2.0 token endpoint answering body with a 200.
static void
s_oauth2(const char *body, size_t len)
{
    notifyd_oauth2_t *cache = notifyd_oauth2_new();
    json_t *o = json_pack("{s:s, s:s, s:s}", "client_id", "id", "client_secret", "secret",
                          "token_url", "http://127.0.0.1:9/token");
    char *auth = NULL;
    fw_err_t err;
    fw_err_clear(&err);
    const char *type = len % 2 ? "application/json" : "application/x-www-form-urlencoded";
    if (notifyd_oauth2_answer(cache, o, NOTIFYD_OAUTH2_HEADER, true, CURLE_OK, 200, body, false,
                              type, 1000, &auth, &err) == 0) {
        if (!auth)
            abort(); // 0 promises an Authorization value
        free(auth);
    }
    json_decref(o);
    notifyd_oauth2_destroy(&cache);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    fuzz_util_init();
    int which = data[0] % S_COUNT;
    size_t len = size - 1 < NOTIFYD_REQ_MAX_ANSWER ? size - 1 : NOTIFYD_REQ_MAX_ANSWER;
    char *body = fw_malloc(len + 1);
    if (len)
        memcpy(body, data + 1, len);
    body[len] = '\0';
    if (which == S_OAUTH2) {
        s_oauth2(body, len);
        free(body);
        return 0;
    }
    json_t *payload = json_loads(S_PAYLOAD, 0, NULL);
    struct notifyd_req r;
    if (s_build(which, payload, &r) != 0)
        abort(); // the fixed config must build
    // Answers in turn, as the deliverer hands them: a NEXT step (WeChat's send after its
    // token) reads the next answer, a RESEND keeps what is left; at most 3 rounds.
    for (int round = 0; round < 3 && r.answer; round++) {
        struct notifyd_answer an;
        memset(&an, 0, sizeof an);
        r.answer(&r, body, &an);
        if (an.verdict == NOTIFYD_ANSWER_DELIVERED || an.verdict == NOTIFYD_ANSWER_FAILED)
            break;
        if (!r.url)
            abort(); // a request to send again must have somewhere to go
    }
    notifyd_req_clear(&r);
    json_decref(payload);
    free(body);
    return 0;
}
