/*  notifyd_msteams.h — Microsoft Teams requests, as Alertmanager builds them:

    - msteams_configs (notify/msteams/msteams.go, the Office 365 connector's MessageCard):
      {"@context":"http://schema.org/extensions","type":"MessageCard","title":..,
      "summary":..,"text":..,"themeColor":"8C1A1A" firing | "2DC72D" resolved}. Alertmanager
      names the card's type "type", not MessageCard's documented "@type"; sent as it does.
    - msteamsv2_configs (notify/msteamsv2/msteamsv2.go, Workflows / Power Automate): a
      "message" with one Adaptive Card 1.2 attachment (contentUrl null) whose body is the
      title TextBlock (Bolder, Medium, wrap, heading, color "Attention" firing | "Good"
      resolved) and the text TextBlock (wrap), msteams.width "full".

    `config` is one element of NOTIFY's msteams_configs / msteamsv2_configs (alertd_cfg_teams
    builds it): webhook_url resolved, texts absent for default.tmpl's defaults or literal.
*/
#ifndef NOTIFYD_MSTEAMS_H
#define NOTIFYD_MSTEAMS_H

#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

// Build the request for data (a payload as notifyd_tmpl_data returns it). 0, or -1 with err
// (no webhook_url).
int notifyd_msteams_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                          fw_err_t *err);
int notifyd_msteamsv2_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                            fw_err_t *err);

#endif
