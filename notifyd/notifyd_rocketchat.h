/*  notifyd_rocketchat.h — Rocket.Chat chat.postMessage requests, as Alertmanager's rocketchat
    notifier (notify/rocketchat, 0.28 and later) sends them: POST {api_url}api/v1/chat.postMessage
    with X-Auth-Token and X-User-Id, a message with channel, emoji, avatar (icon_url) and one
    attachment (title cut at 1024 runes, title_link, text, image_url, thumb_url, color, fields,
    actions of type "button").

    `config` is one element of NOTIFY's rocketchat_configs (alertd_cfg_rocketchat builds it):
    url (the chat.postMessage URL), token / token_file, token_id / token_id_file (a file is
    read now and wins, as Alertmanager reads it), texts absent for the defaults.

    Rocket.Chat may answer 200 with {"success": false, "error": ...}: the answer function
    counts that failed and not retried; a 2xx whose body is not JSON is retried, as
    Alertmanager's checkResponseError decides.
*/
#ifndef NOTIFYD_ROCKETCHAT_H
#define NOTIFYD_ROCKETCHAT_H

#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

// Build the request for data (a payload as notifyd_tmpl_data returns it). 0, or -1 with err
// (no URL, a token or token id missing, unreadable or not fit for a header).
int notifyd_rocketchat_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                             fw_err_t *err);

// Judge a 2xx answer's body (notifyd_req_answer_fn).
void notifyd_rocketchat_answer(struct notifyd_req *req, const char *body,
                               struct notifyd_answer *out);

#endif
