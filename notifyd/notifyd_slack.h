/*  notifyd_slack.h — Slack incoming-webhook requests, as Alertmanager's slack notifier
    builds them (notify/slack/slack.go): one attachment with title, title_link, pretext,
    text, fallback, callback_id, fields, actions, image_url, thumb_url, footer, color and
    mrkdwn_in; channel, username, icon_emoji, icon_url and link_names on the message.

    `config` is one element of NOTIFY's slack_configs (alertd_cfg_receivers builds it): the
    keys of alertmanager.yml's slack_config with api_url resolved (inline, api_url_file or
    global.slack_api_url); a text key absent means default.tmpl's default, a present one is
    a literal text (alertd refuses templates the C defaults cannot render).
*/
#ifndef NOTIFYD_SLACK_H
#define NOTIFYD_SLACK_H

#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

// Build the request for data (a payload as notifyd_tmpl_data returns it). 0, or -1 with err
// (no api_url).
int notifyd_slack_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                        fw_err_t *err);

#endif
