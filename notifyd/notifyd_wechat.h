/*  notifyd_wechat.h — WeChat Work application messages, as Alertmanager's
    notify/wechat/wechat.go sends them.

    One notification is up to two requests. Without a cached access token for (api_url,
    corp_id, secret): GET {api_url}gettoken?corpid=..&corpsecret=.. (the secret read from
    api_secret_file at that moment when the config names a file); a 2xx answer's
    access_token is cached for two hours, as Alertmanager caches it, and the message goes
    out at once in the same attempt (NOTIFYD_ANSWER_NEXT); an answer without access_token
    fails the notification ("invalid APISecret for CorpID: .."), as Alertmanager does.
    Then POST {api_url}message/send?access_token=.. with {"text"|"markdown":{"content":..},
    "touser","toparty","totag","agentid" (each omitted when empty),"safe":"0","msgtype"}:
    an answer's errcode 0 is delivered; 42001 (the token expired) drops the cached token and
    is retried from the token step; any other errcode fails without a retry, with errmsg as
    the detail; an answer that is not JSON is retried. Every non-2xx answer is retried (4xx
    too: Alertmanager retries any status but 200). The errcode/errmsg names are WeChat's
    documented ones, which Alertmanager reads from 0.26 on (0.25 read "code"/"error", so it
    counted every refused message as sent).

    The secret and the token travel in URLs: the deliverer logs only a URL's origin, and
    nothing here logs either. Not thread-safe (the token cache): notifyd's loop only.
*/
#ifndef NOTIFYD_WECHAT_H
#define NOTIFYD_WECHAT_H

#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

// Build the first request of a delivery for data (a payload as notifyd_tmpl_data returns
// it) from config (one element of NOTIFY's wechat_configs). 0, or -1 with err (no api_url,
// or api_secret_file unreadable).
int notifyd_wechat_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                         fw_err_t *err);

// Forget every cached access token (tests; notifyd's exit).
void notifyd_wechat_forget(void);

#endif
