/*  notifyd_slack.h — Slack incoming-webhook requests, as Alertmanager's slack notifier
    builds them (notify/slack/slack.go): one attachment with title, title_link, pretext,
    text, fallback, callback_id, fields, actions, image_url, thumb_url, footer, color and
    mrkdwn_in; channel, username, icon_emoji, icon_url and link_names on the message.

    `config` is one element of NOTIFY's slack_configs (alertd_cfg_receivers builds it): the
    keys of alertmanager.yml's slack_config with api_url resolved (inline, api_url_file or
    global.slack_api_url; with a bot token, app_url, the token being http_config's Bearer
    authorization); a text key absent means default.tmpl's default, a present one is
    a literal text (alertd refuses templates the C defaults cannot render).
*/
#ifndef NOTIFYD_SLACK_H
#define NOTIFYD_SLACK_H

#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

// A 2xx answer's verdict, as Alertmanager's slackResponseHandler (0.28+) gives it for a JSON
// answer: {"ok": false, "error": E} (what chat.postMessage answers a bad token or channel
// with, in a 200) fails, not retried, as "error response from Slack: E"; anything else is a
// delivery: a text answer whatever it says, as in Alertmanager 0.25 (0.28+ also fails a
// text other than an incoming webhook's "ok").
void notifyd_slack_answer(struct notifyd_req *req, const char *body, struct notifyd_answer *out);

// Build the request for data (a payload as notifyd_tmpl_data returns it). 0, or -1 with err
// (no api_url).
int notifyd_slack_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                        fw_err_t *err);

#endif
