/*  notifyd_mattermost.h — Mattermost incoming-webhook requests, as Alertmanager's mattermost
    notifier (notify/mattermost, 0.30 and later) builds them: a POST to the webhook URL with
    text, channel, username, icon_url, icon_emoji, attachments, type, props and priority.
    Without `attachments` in the config the message has one attachment made of the
    top-level texts (text among them) and no top-level text; with them, each configured
    attachment and the top-level text. The top-level text is cut at 16383 runes; a
    priority other than urgent, important or standard (any case) becomes standard,
    requested_ack only with a priority not standard, persistent_notifications only with
    urgent, as upstream's sanitizeRequest.

    `config` is one element of NOTIFY's mattermost_configs (alertd_cfg_mattermost builds
    it): webhook_url, or webhook_url_file read now (as upstream reads it at each
    notification), texts absent for the defaults.
*/
#ifndef NOTIFYD_MATTERMOST_H
#define NOTIFYD_MATTERMOST_H

#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

// Build the request for data (a payload as notifyd_tmpl_data returns it). 0, or -1 with err
// (no URL, or its file unreadable or empty).
int notifyd_mattermost_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                             fw_err_t *err);

#endif
